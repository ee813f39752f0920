//! `.alca/state.json`: what alca remembers about a project's sandbox.
//!
//! Written atomically, read leniently: a state file written by Alcatraz (the
//! Go tool) is understood (its runtime name is mapped, its config snapshot is
//! ignored), and a corrupt file is reported with its path, never panicked on.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::drift::Blueprint;
use crate::error::Error;
use crate::project::Project;

pub const FILE_NAME: &str = "state.json";
const MAX_STATE_BYTES: u64 = 1024 * 1024;
const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// State format version; 0 for a state written by Alcatraz (the Go
    /// tool), which has none.
    #[serde(default)]
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
    /// What the container was created from (drift is the difference from
    /// what the configuration asks for now).
    #[serde(default, deserialize_with = "lenient")]
    pub created_from: Option<Blueprint>,
    /// The container for which `commands.up` completed; until it matches the
    /// current container, `alca up` runs `commands.up` again.
    #[serde(default)]
    pub setup_done_for: Option<String>,
    /// The configuration snapshot of a state written by Alcatraz (read to
    /// adopt its container; never written).
    #[serde(default, rename = "config", skip_serializing)]
    pub alcatraz_config: Option<serde_json::Value>,
    /// The project's own network, while it exists (network isolation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<ProjectNetwork>,
}

/// A project network as its runtime reported it when alca created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectNetwork {
    pub name: String,
    /// The host-side bridge the firewall rules match.
    pub interface: String,
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub gateways: Vec<String>,
}

fn format_current() -> u32 {
    FORMAT
}

/// Accepts our plugin ids and Alcatraz's display names ("Docker", "Podman").
fn runtime_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v: Option<String> = Option::deserialize(d)?;
    Ok(v.map(|s| s.to_ascii_lowercase()).filter(|s| !s.is_empty()))
}

/// A record alca cannot read means "unknown", not "broken".
fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Blueprint>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// Alcatraz's configuration snapshot (Go field names, §3.2 of the
/// reference) as `.alca.toml` text, to know what its container was created
/// from. `None` when it holds something alca cannot express.
pub fn alcatraz_config_toml(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let s = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(|s| toml::Value::String(s.to_string()));
    let mut t = toml::Table::new();
    t.insert("image".into(), s(v.get("Image")?)?);
    if let Some(w) = v.get("Workdir").and_then(s) {
        t.insert("workdir".into(), w);
    }
    if v.get("WorkdirExclude").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
        return None;
    }
    let mut mounts = Vec::new();
    // Index 0 is the project (source "."), which alca mounts itself.
    for m in v.get("Mounts").and_then(Value::as_array).into_iter().flatten().skip(1) {
        if m.get("exclude").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
            return None;
        }
        let mut mt = toml::Table::new();
        mt.insert("source".into(), s(m.get("source")?)?);
        mt.insert("target".into(), s(m.get("target")?)?);
        mt.insert("readonly".into(), toml::Value::Boolean(m.get("readonly").and_then(Value::as_bool) == Some(true)));
        mounts.push(toml::Value::Table(mt));
    }
    t.insert("mounts".into(), toml::Value::Array(mounts));
    if let Some(up) = v.pointer("/Commands/up/command").or_else(|| v.pointer("/Commands/up")).and_then(s) {
        let mut c = toml::Table::new();
        c.insert("up".into(), up);
        t.insert("commands".into(), toml::Value::Table(c));
    }
    let mut res = toml::Table::new();
    if let Some(m) = v.pointer("/Resources/memory").and_then(s) {
        res.insert("memory".into(), m);
    }
    if let Some(c) = v.pointer("/Resources/cpus").and_then(Value::as_f64).filter(|c| *c > 0.0) {
        res.insert("cpus".into(), toml::Value::Float(c));
    }
    t.insert("resources".into(), toml::Value::Table(res));
    let mut envs = toml::Table::new();
    for (k, e) in v.get("Envs").and_then(Value::as_object).into_iter().flatten() {
        let value = e.get("value").and_then(Value::as_str).unwrap_or_default();
        envs.insert(k.clone(), toml::Value::String(value.to_string()));
    }
    t.insert("envs".into(), toml::Value::Table(envs));
    let mut ports = Vec::new();
    for p in v.pointer("/Network/ports").and_then(Value::as_array).into_iter().flatten() {
        let mut pt = toml::Table::new();
        pt.insert("port".into(), toml::Value::Integer(p.get("port")?.as_i64()?));
        if let Some(h) = p.get("hostPort").and_then(Value::as_i64).filter(|h| *h != 0) {
            pt.insert("hostPort".into(), toml::Value::Integer(h));
        }
        for key in ["hostIp", "protocol"] {
            if let Some(x) = p.get(key).and_then(s) {
                pt.insert(key.into(), x);
            }
        }
        ports.push(toml::Value::Table(pt));
    }
    let mut net = toml::Table::new();
    net.insert("ports".into(), toml::Value::Array(ports));
    t.insert("network".into(), toml::Value::Table(net));
    if let Some(caps) = v.get("Caps") {
        let list = |key: &str| -> Vec<toml::Value> {
            caps.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(|c| toml::Value::String(c.to_string())))
                .collect()
        };
        let mut ct = toml::Table::new();
        ct.insert("drop".into(), toml::Value::Array(list("drop")));
        ct.insert("add".into(), toml::Value::Array(list("add")));
        t.insert("caps".into(), toml::Value::Table(ct));
    }
    toml::to_string(&t).ok()
}

impl State {
    /// A fresh state with a new project id.
    pub fn new() -> State {
        let id = uuid::Uuid::new_v4();
        let simple = id.simple().to_string();
        State {
            format: format_current(),
            project_id: id.to_string(),
            container_name: format!("alca-{}", &simple[..12]),
            created_at: jiff::Timestamp::now(),
            runtime: None,
            container_id: None,
            created_from: None,
            setup_done_for: None,
            alcatraz_config: None,
            network: None,
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

    /// Was this state written by Alcatraz (the Go tool)?
    pub fn is_alcatraz(&self) -> bool {
        self.format == 0
    }

    /// Writes the state atomically (in alca's format from then on).
    pub fn save(&self, project: &Project) -> Result<(), Error> {
        project.ensure_state_dir()?;
        let path = Self::path(project);
        let current = State { format: FORMAT, ..self.clone() };
        let mut text = serde_json::to_string_pretty(&current).expect("state serializes");
        text.push('\n');
        crate::fsutil::write_atomic(&path, text.as_bytes())
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    }

    /// The name or id to find the container by.
    pub fn container_ref(&self) -> &str {
        self.container_id.as_deref().unwrap_or(&self.container_name)
    }
}

/// What `alca up` verified about a project's container (by the engine's
/// labels, in the project's directory), kept in alca's data directory where
/// the sandbox cannot write. `alca run` trusts the state's container id only
/// when this record agrees with it, so it can exec without asking the engine
/// first; anything else (no record, another id, another directory: a moved
/// project) takes the path that inspects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub project_id: String,
    pub project_root: PathBuf,
    pub runtime: String,
    pub container_id: String,
}

impl RunRecord {
    fn path(dir: &Path, project_id: &str) -> Option<PathBuf> {
        // The id comes from the (agent-writable) state: only a plain name.
        let plain = !project_id.is_empty()
            && project_id.len() <= 64
            && project_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        plain.then(|| dir.join(format!("{project_id}.json")))
    }

    /// The record for `state`'s project, if there is one that agrees with
    /// the state and the project's directory.
    pub fn trusted(dir: Option<&Path>, project: &Project, state: &State) -> Option<RunRecord> {
        let path = Self::path(dir?, &state.project_id)?;
        let bytes = crate::fsutil::read_regular(&path, 64 * 1024, false).ok()?;
        let record: RunRecord = serde_json::from_slice(&bytes).ok()?;
        let agrees = record.project_id == state.project_id
            && record.project_root == project.root
            && Some(&record.runtime) == state.runtime.as_ref()
            && Some(&record.container_id) == state.container_id.as_ref();
        agrees.then_some(record)
    }

    /// Best effort: without it, `alca run` only costs one inspect more.
    pub fn save(&self, dir: Option<&Path>) {
        let Some(path) = dir.and_then(|d| Self::path(d, &self.project_id)) else { return };
        let written = path
            .parent()
            .map_or(Ok(()), crate::fsutil::create_private_dir)
            .and_then(|()| crate::fsutil::write_atomic(&path, &serde_json::to_vec(self).expect("record serializes")));
        if let Err(e) = written {
            tracing::debug!("cannot write {}: {e}", path.display());
        }
    }

    pub fn remove(dir: Option<&Path>, project_id: &str) {
        if let Some(path) = dir.and_then(|d| Self::path(d, project_id)) {
            let _ = std::fs::remove_file(path);
        }
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
            r#"{"project_id":"550e8400-e29b-41d4-a716-446655440000","container_name":"alca-550e8400-e29","created_at":"2026-01-02T03:04:05.123456789Z","runtime":"Docker","config":{"Image":"alpine","Workdir":"/workspace","Mounts":[{"source":".","target":"/workspace"},{"source":"data","target":"/data","readonly":true}],"Commands":{"up":{"command":"apk add git"}},"Resources":{"memory":"1g","cpus":2},"Envs":{"A":{"value":"x"},"T":{"value":"${TERM}","override_on_enter":true}},"Network":{"ports":[{"port":80,"hostPort":8080,"hostIp":"127.0.0.1","protocol":"tcp"}]},"Caps":{"drop":["ALL"],"add":["CHOWN"]}}}"#,
        )
        .unwrap();
        let s = State::load(&p).unwrap().unwrap();
        assert!(s.is_alcatraz());
        assert_eq!(s.runtime.as_deref(), Some("docker"));
        assert_eq!(s.container_name, "alca-550e8400-e29");
        assert_eq!(s.created_from, None);
        // Its snapshot reads as the configuration it was made from.
        let text = alcatraz_config_toml(s.alcatraz_config.as_ref().unwrap()).unwrap();
        let env = |_: &str| None;
        let ctx = crate::config::LoadContext { project_root: &p.root, env: &env, home: None };
        let c = crate::config::Config::parse(&text, &p.config_path, &ctx).unwrap();
        assert_eq!(c.image, "alpine");
        assert_eq!(c.mounts.len(), 1);
        assert!(c.mounts[0].read_only && c.mounts[0].source == p.root.join("data"));
        assert_eq!(c.commands.up.unwrap().command, "apk add git");
        assert_eq!(c.resources.memory_bytes, Some(1 << 30));
        assert_eq!(c.resources.cpus, Some(2.0));
        assert_eq!(c.ports[0].to_string(), "127.0.0.1:8080:80");
        assert_eq!(c.caps.add, vec!["CHOWN"]);
        assert_eq!(c.envs.len(), 2);
        // Saved again, it is alca's.
        s.save(&p).unwrap();
        let again = State::load(&p).unwrap().unwrap();
        assert!(!again.is_alcatraz());
        assert_eq!(again.alcatraz_config, None);
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
