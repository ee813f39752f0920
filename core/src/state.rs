//! `.alca/state.json`: what alca remembers about a project's sandbox.
//!
//! Written atomically, read leniently: a state file written by Alcatraz (the
//! Go tool) is understood (its runtime name is mapped, its config snapshot is
//! ignored), and a corrupt file is reported with its path, never panicked on.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::config::{Config, EnvVar, MountConfig, PortConfig};
use crate::error::Error;
use crate::project::Project;

pub const FILE_NAME: &str = "state.json";
const MAX_STATE_BYTES: u64 = 1024 * 1024;
const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// State format version.
    #[serde(default = "format_one")]
    pub format: u32,
    /// Random, made once; survives moves and renames of the project.
    pub project_id: String,
    /// `alca-` and the first 12 hex digits of the project id.
    pub container_name: String,
    pub created_at: jiff::Timestamp,
    /// Id of the plugin whose runtime holds the container.
    #[serde(default, deserialize_with = "runtime_id")]
    pub runtime: Option<String>,
    /// The container's id as the runtime reported it at creation.
    #[serde(default)]
    pub container_id: Option<String>,
    /// What the container was created from (for drift detection).
    #[serde(default, deserialize_with = "lenient")]
    pub config: Option<Snapshot>,
    /// The container for which `commands.up` completed; until it matches the
    /// current container, `alca up` runs `commands.up` again.
    #[serde(default)]
    pub setup_done_for: Option<String>,
}

/// The parts of the configuration baked into a container at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub image: String,
    pub workdir: String,
    pub mounts: Vec<MountConfig>,
    pub envs: Vec<EnvVar>,
    pub up: Option<String>,
    /// `network.ports` (absent from snapshots written before alca had them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortConfig>,
}

impl Snapshot {
    pub fn of(config: &Config) -> Snapshot {
        Snapshot {
            image: config.image.clone(),
            workdir: config.workdir.clone(),
            mounts: config.mounts.clone(),
            envs: config.envs.clone(),
            up: config.commands.up.as_ref().map(|c| c.command.clone()),
            ports: config.ports.clone(),
        }
    }

    /// What differs between the container's configuration and `now`, as
    /// short human lines (empty when nothing does).
    pub fn changes(&self, now: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        if self.image != now.image {
            out.push(format!("image: {} → {}", self.image, now.image));
        }
        if self.workdir != now.workdir {
            out.push(format!("workdir: {} → {}", self.workdir, now.workdir));
        }
        if self.mounts != now.mounts {
            out.push("mounts changed".into());
        }
        if self.envs != now.envs {
            out.push("envs changed".into());
        }
        if self.up != now.up {
            out.push("commands.up changed".into());
        }
        if self.ports != now.ports {
            let list = |ports: &[PortConfig]| {
                let all: Vec<String> = ports.iter().map(|p| format!("\"{p}\"")).collect();
                format!("[{}]", all.join(", "))
            };
            out.push(format!("network.ports: {} → {}", list(&self.ports), list(&now.ports)));
        }
        out
    }
}

fn format_one() -> u32 {
    FORMAT
}

/// Accepts our plugin ids and Alcatraz's display names ("Docker", "Podman").
fn runtime_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v: Option<String> = Option::deserialize(d)?;
    Ok(v.map(|s| s.to_ascii_lowercase()).filter(|s| !s.is_empty()))
}

/// A snapshot alca cannot read (e.g. Alcatraz's) means "unknown", not "broken".
fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Snapshot>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

impl State {
    /// A fresh state with a new project id.
    pub fn new() -> State {
        let id = uuid::Uuid::new_v4();
        let simple = id.simple().to_string();
        State {
            format: FORMAT,
            project_id: id.to_string(),
            container_name: format!("alca-{}", &simple[..12]),
            created_at: jiff::Timestamp::now(),
            runtime: None,
            container_id: None,
            config: None,
            setup_done_for: None,
        }
    }

    pub fn path(project: &Project) -> PathBuf {
        project.state_dir().join(FILE_NAME)
    }

    /// The project's state, or `None` if alca never brought it up.
    pub fn load(project: &Project) -> Result<Option<State>, Error> {
        Self::load_from(&Self::path(project))
    }

    /// Reads a state file: a regular file (the project directory is the
    /// agent's to write, so a FIFO or a device may be there), at most 1 MiB.
    pub fn load_from(path: &Path) -> Result<Option<State>, Error> {
        let bytes = match crate::fsutil::read_regular(path, MAX_STATE_BYTES, true) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::State { path: path.to_path_buf(), message: format!("cannot read it: {e}") }),
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::State { path: path.to_path_buf(), message: "it is not UTF-8 text".into() })?;
        let state: State = serde_json::from_str(&text).map_err(|e| Error::State {
            path: path.to_path_buf(),
            message: if text.trim().is_empty() { "it is empty".into() } else { e.to_string() },
        })?;
        if state.project_id.is_empty() || state.container_name.is_empty() {
            return Err(Error::State {
                path: path.to_path_buf(),
                message: "it has no project id or container name".into(),
            });
        }
        Ok(Some(state))
    }

    /// Writes the state atomically.
    pub fn save(&self, project: &Project) -> Result<(), Error> {
        project.ensure_state_dir()?;
        let path = Self::path(project);
        let mut text = serde_json::to_string_pretty(self).expect("state serializes");
        text.push('\n');
        crate::fsutil::write_atomic(&path, text.as_bytes())
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    }

    /// The name or id to find the container by.
    pub fn container_ref(&self) -> &str {
        self.container_id.as_deref().unwrap_or(&self.container_name)
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, Project) {
        let tmp = tempfile::tempdir().unwrap();
        let p = Project { root: tmp.path().to_path_buf(), config_path: tmp.path().join(".alca.toml") };
        (tmp, p)
    }

    #[test]
    fn new_states_have_a_stable_name_shape() {
        let s = State::new();
        assert_eq!(s.container_name.len(), "alca-".len() + 12);
        assert!(s.container_name[5..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(s.project_id.starts_with(&s.container_name[5..13]));
    }

    #[test]
    fn round_trip_and_missing() {
        let (_tmp, p) = project();
        assert_eq!(State::load(&p).unwrap(), None);
        let mut s = State::new();
        s.runtime = Some("podman".into());
        s.container_id = Some("abc".into());
        s.save(&p).unwrap();
        assert_eq!(State::load(&p).unwrap(), Some(s));
    }

    #[test]
    fn reads_alcatraz_state_files() {
        let (_tmp, p) = project();
        std::fs::create_dir_all(p.state_dir()).unwrap();
        std::fs::write(
            State::path(&p),
            r#"{"project_id":"550e8400-e29b-41d4-a716-446655440000","container_name":"alca-550e8400-e29","created_at":"2026-01-02T03:04:05.123456789Z","runtime":"Docker","config":{"Image":"alpine","Mounts":[]}}"#,
        )
        .unwrap();
        let s = State::load(&p).unwrap().unwrap();
        assert_eq!(s.runtime.as_deref(), Some("docker"));
        assert_eq!(s.container_name, "alca-550e8400-e29");
        assert_eq!(s.config, None);
        assert_eq!(s.format, 1);
    }

    #[test]
    fn ports_are_part_of_the_snapshot() {
        let env = |_: &str| None;
        let ctx = crate::config::LoadContext { project_root: Path::new("/p"), env: &env, home: None };
        let load = |text: &str| Config::parse(text, Path::new("/p/.alca.toml"), &ctx).unwrap();
        let none = Snapshot::of(&load("image = \"i\"\n"));
        let one = Snapshot::of(&load("image = \"i\"\nnetwork.ports = [\"127.0.0.1:8080:80\"]\n"));
        let same = Snapshot::of(&load(
            "image = \"i\"\nnetwork.ports = [{ port = 80, hostPort = 8080, hostIp = \"127.0.0.1\" }]\n",
        ));
        let v6 = Snapshot::of(&load("image = \"i\"\nnetwork.ports = [\"[::1]:8080:80/udp\"]\n"));
        assert_eq!(one.changes(&same), Vec::<String>::new());
        assert_eq!(none.changes(&one), vec!["network.ports: [] → [\"127.0.0.1:8080:80\"]".to_string()]);
        assert_eq!(
            one.changes(&v6),
            vec!["network.ports: [\"127.0.0.1:8080:80\"] → [\"[::1]:8080:80/udp\"]".to_string()]
        );
        // Written and read back; a snapshot from before ports means none.
        let json = serde_json::to_string(&one).unwrap();
        assert_eq!(serde_json::from_str::<Snapshot>(&json).unwrap(), one);
        let old = serde_json::to_value(&none).unwrap();
        assert!(old.get("ports").is_none(), "{old}");
        assert_eq!(serde_json::from_value::<Snapshot>(old).unwrap(), none);
    }

    #[test]
    fn corrupt_state_is_an_error_with_the_path() {
        let (_tmp, p) = project();
        std::fs::create_dir_all(p.state_dir()).unwrap();
        std::fs::write(State::path(&p), "{ not json").unwrap();
        let e = State::load(&p).unwrap_err().to_string();
        assert!(e.contains("state.json"), "{e}");
    }
}
