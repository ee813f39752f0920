//! Installed plugins and the user's consent to their grants.
//!
//! ```text
//! $XDG_DATA_HOME/alca/plugins/<id>/
//!     consent.json          what the user agreed to; written last, atomically
//!     <digest>/             the installed files (manifest and component)
//! ```
//!
//! `consent.json` names the component's sha256, the manifest's sha256 and
//! the grant as the user saw it. A plugin is loaded only from the directory
//! its consent names, and only if both files still have the digests the
//! user consented to; writing `consent.json` is the one step that switches
//! from one installed version to the next, so an interrupted install leaves
//! the previous one intact. A directory dropped in by hand has no consent
//! and is never loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::plugin::Manifest;

/// The consent file in a plugin's directory.
pub const CONSENT_FILE: &str = "consent.json";
/// Staging directories of installs in progress (or interrupted).
pub const STAGING_PREFIX: &str = ".staging-";
const MAX_CONSENT_BYTES: u64 = 1024 * 1024;

/// What the user consented to when installing a plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    pub id: String,
    pub version: String,
    /// The directory (inside the plugin's) holding the installed files.
    pub dir: String,
    /// The component, relative to `dir`.
    pub component: PathBuf,
    pub component_sha256: String,
    pub manifest_sha256: String,
    /// The contract version the component implements (`0.1.0`).
    pub api: String,
    pub grant: GrantRecord,
    /// RFC 3339.
    pub consented_at: String,
    pub alca_version: String,
}

/// A grant, in a form that compares: what a plugin may run, with which
/// environment, for how long, with how much memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRecord {
    pub memory_mib: u32,
    pub cpu_ms: u32,
    pub host_env: BTreeSet<String>,
    pub programs: BTreeMap<String, ProgramRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramRecord {
    pub env: BTreeSet<String>,
    pub set_env: BTreeSet<String>,
    pub max_timeout_secs: u32,
    pub max_output_mib: usize,
    pub deny: BTreeSet<String>,
    /// Each rule as the manifest normalises it.
    pub allow: BTreeSet<String>,
}

impl GrantRecord {
    pub fn of(m: &Manifest) -> GrantRecord {
        GrantRecord {
            memory_mib: m.limits.memory_mib,
            cpu_ms: m.limits.cpu_ms,
            host_env: m.host_env.clone(),
            programs: m
                .programs
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        ProgramRecord {
                            env: p.env.clone(),
                            set_env: p.set_env.clone(),
                            max_timeout_secs: p.max_timeout_secs,
                            max_output_mib: p.max_output_bytes / (1024 * 1024),
                            deny: p.deny.iter().map(|d| d.source.clone()).collect(),
                            allow: p.allow.iter().map(|r| r.source.clone()).collect(),
                        },
                    )
                })
                .collect(),
        }
    }

    /// What `wanted` asks for beyond this grant, in words; empty when this
    /// grant covers it (the same or less).
    pub fn missing(&self, wanted: &GrantRecord) -> Vec<String> {
        let mut more = Vec::new();
        if wanted.memory_mib > self.memory_mib {
            more.push(format!("more memory ({} MiB instead of {})", wanted.memory_mib, self.memory_mib));
        }
        if wanted.cpu_ms > self.cpu_ms {
            more.push(format!("more time per call ({} ms instead of {})", wanted.cpu_ms, self.cpu_ms));
        }
        for key in wanted.host_env.difference(&self.host_env) {
            more.push(format!("to read the environment variable {key}"));
        }
        for (name, w) in &wanted.programs {
            let Some(have) = self.programs.get(name) else {
                more.push(format!("to run the program `{name}`"));
                continue;
            };
            for key in w.env.difference(&have.env) {
                more.push(format!("`{name}`: to receive {key} from your environment"));
            }
            for key in w.set_env.difference(&have.set_env) {
                more.push(format!("`{name}`: to set {key}"));
            }
            if w.max_timeout_secs > have.max_timeout_secs {
                more.push(format!(
                    "`{name}`: to run for up to {} s (instead of {})",
                    w.max_timeout_secs, have.max_timeout_secs
                ));
            }
            if w.max_output_mib > have.max_output_mib {
                more.push(format!("`{name}`: {} MiB of output (instead of {})", w.max_output_mib, have.max_output_mib));
            }
            for d in have.deny.difference(&w.deny) {
                more.push(format!("`{name}`: no longer denied: {d}"));
            }
            for r in w.allow.difference(&have.allow) {
                more.push(format!("`{name}`: a new rule {r}"));
            }
        }
        more
    }
}

/// The directory of plugin `id` under `plugins`.
pub fn plugin_dir(plugins: &Path, id: &str) -> PathBuf {
    plugins.join(id)
}

/// Reads a plugin directory's consent, if it has one.
pub fn read_consent(dir: &Path) -> Result<Option<Consent>, String> {
    let path = dir.join(CONSENT_FILE);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        Ok(_) => {}
    }
    let bytes = crate::fsutil::read_regular(&path, MAX_CONSENT_BYTES, false)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map(Some).map_err(|e| format!("{} is damaged: {e}", path.display()))
}

/// Records the consent: the step that makes an install take effect.
pub fn write_consent(dir: &Path, consent: &Consent) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(consent).map_err(std::io::Error::other)?;
    crate::fsutil::write_atomic(&dir.join(CONSENT_FILE), &json)
}

/// The name of the directory holding a version's files: the first 16 hex
/// digits of the digest of the manifest and the component together.
pub fn version_dir_name(manifest_sha256: &str, component_sha256: &str) -> String {
    let both = crate::plugin::cache::sha256_hex(format!("{manifest_sha256}{component_sha256}").as_bytes());
    both[..16].to_string()
}

/// Removes what an install leaves behind in a plugin's directory besides
/// the version its consent names: staging directories of interrupted
/// installs and replaced versions.
pub fn sweep(dir: &Path, keep: Option<&str>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == CONSENT_FILE || Some(name.as_str()) == keep {
            continue;
        }
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let ours =
            name.starts_with(STAGING_PREFIX) || (name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit()));
        if is_dir
            && ours
            && let Err(e) = std::fs::remove_dir_all(&path)
        {
            tracing::debug!("cannot remove {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(extra: &str) -> GrantRecord {
        let text = format!(
            r#"id = "x"
name = "X"
version = "1.0.0"
runtime = "x"
{extra}
[[programs]]
name = "ctr"
env = ["CONTAINERD_ADDRESS"]
deny = ["--privileged"]
allow = [{{ args = ["version"] }}]
"#
        );
        GrantRecord::of(&Manifest::parse(&text, "test").unwrap())
    }

    #[test]
    fn a_grant_covers_itself_and_less() {
        let g = grant("");
        assert!(g.missing(&g).is_empty());
        let less = GrantRecord { memory_mib: 16, ..g.clone() };
        assert!(g.missing(&less).is_empty());
    }

    #[test]
    fn asking_for_more_is_named() {
        let g = grant("");
        let more_memory = grant("[limits]\nmemory-mib = 128\n");
        assert_eq!(g.missing(&more_memory), ["more memory (128 MiB instead of 64)"]);
        let mut wider = g.clone();
        let p = wider.programs.get_mut("ctr").unwrap();
        p.env.insert("DOCKER_HOST".into());
        p.deny.clear();
        p.allow.insert("{ args = [\"run\"] }".into());
        let text = g.missing(&wider).join("\n");
        assert!(text.contains("DOCKER_HOST"), "{text}");
        assert!(text.contains("no longer denied: --privileged"), "{text}");
        assert!(text.contains("a new rule"), "{text}");
        let mut new_program = g.clone();
        new_program.programs.insert("sh".into(), g.programs["ctr"].clone());
        assert_eq!(g.missing(&new_program), ["to run the program `sh`"]);
    }
}
