//! `alca-plugin.toml`: who a plugin is and what it may do.
//!
//! The manifest is the plugin's grant. alca checks every spawn the plugin asks
//! for against it (see [`super::grant`]); the built-in plugins ship one too and
//! get no exemption.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::grant::{OptionSpec, Pattern, ValueGlob};

/// Default memory cap for a plugin instance.
pub const DEFAULT_MEMORY_MIB: u32 = 64;
/// Default guest CPU time per exported call (time spent waiting for spawned
/// processes does not count).
pub const DEFAULT_CPU_MS: u32 = 5_000;
/// Default and ceiling of a spawn's timeout.
pub const DEFAULT_MAX_TIMEOUT_SECS: u32 = 600;
/// Default cap on captured output, per stream.
pub const DEFAULT_MAX_OUTPUT_MIB: u32 = 16;

/// A parsed and validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub id: String,
    pub name: String,
    pub version: String,
    pub runtime: String,
    pub description: String,
    /// The component file, relative to the manifest (installed plugins only).
    pub component: Option<PathBuf>,
    /// The expected sha256 of the component, if the manifest pins it.
    pub sha256: Option<String>,
    pub limits: Limits,
    pub programs: Vec<ProgramGrant>,
    /// Environment variables the plugin may read through `host.env`.
    pub host_env: BTreeSet<String>,
    /// Where the manifest came from, for messages.
    pub origin: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub memory_mib: u32,
    pub cpu_ms: u32,
}

/// What the plugin may do with one program.
#[derive(Debug, Clone)]
pub struct ProgramGrant {
    /// Logical name the plugin uses; also the executable alca looks up on PATH.
    pub name: String,
    /// Environment keys passed from alca's environment (when set) and that
    /// the plugin may set itself.
    pub env: BTreeSet<String>,
    pub max_timeout_secs: u32,
    pub max_output_bytes: usize,
    /// Arguments refused whatever the rules say (before a `--`).
    pub deny: Vec<DenyArg>,
    pub allow: Vec<AllowRule>,
}

/// A denied argument: `--flag` (in any form) or `--flag=value` (as one
/// argument or as the pair `--flag value`). A value may end in `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyArg {
    pub flag: String,
    pub value: Option<ValueGlob>,
    /// As written in the manifest, for messages.
    pub source: String,
}

/// One allowed invocation shape.
#[derive(Debug, Clone)]
pub struct AllowRule {
    /// Positional prefix: literals and `*` (any one argument); a final `**`
    /// allows any remaining arguments.
    pub args: Vec<Pattern>,
    /// When present, everything after the prefix must be one of these
    /// options, then optionally `--` and free operands.
    pub options: Option<Vec<OptionSpec>>,
    /// May this shape be returned in an `exec-plan` and run on the terminal?
    pub interactive: bool,
    pub max_timeout_secs: Option<u32>,
    /// As written in the manifest, for messages.
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid plugin manifest {origin}: {message}")]
pub struct ManifestError {
    pub origin: String,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawManifest {
    id: String,
    name: String,
    version: String,
    runtime: String,
    #[serde(default)]
    description: String,
    component: Option<PathBuf>,
    sha256: Option<String>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    programs: Vec<RawProgram>,
    #[serde(default)]
    host: RawHost,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLimits {
    memory_mib: Option<u32>,
    cpu_ms: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawHost {
    #[serde(default)]
    env: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawProgram {
    name: String,
    #[serde(default)]
    env: Vec<String>,
    max_timeout_secs: Option<u32>,
    max_output_mib: Option<u32>,
    #[serde(default)]
    deny: Vec<String>,
    #[serde(default)]
    allow: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRule {
    args: Vec<String>,
    options: Option<Vec<String>>,
    #[serde(default)]
    interactive: bool,
    max_timeout_secs: Option<u32>,
}

impl Manifest {
    /// Parses a manifest; `origin` names it in messages (a path or `built-in docker`).
    pub fn parse(text: &str, origin: &str) -> Result<Manifest, ManifestError> {
        let err = |message: String| ManifestError { origin: origin.to_string(), message };
        let raw: RawManifest = toml::from_str(text).map_err(|e| err(crate::config::toml_error_text(&e, text)))?;

        if !is_id(&raw.id) {
            return Err(err(format!("id {:?} must be 1-64 characters of a-z, 0-9 and `-`", raw.id)));
        }
        if let Some(sha) = &raw.sha256
            && (sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(err(format!("sha256 {sha:?} is not 64 hex digits")));
        }
        let memory_mib = raw.limits.memory_mib.unwrap_or(DEFAULT_MEMORY_MIB);
        if !(1..=4096).contains(&memory_mib) {
            return Err(err(format!("limits.memory-mib = {memory_mib} is outside 1..=4096")));
        }
        let cpu_ms = raw.limits.cpu_ms.unwrap_or(DEFAULT_CPU_MS);
        if cpu_ms == 0 {
            return Err(err("limits.cpu-ms must be positive".into()));
        }

        let mut programs: Vec<ProgramGrant> = Vec::new();
        for p in raw.programs {
            if !is_program_name(&p.name) {
                return Err(err(format!(
                    "program name {:?} must be a plain executable name (no path, no spaces)",
                    p.name
                )));
            }
            if programs.iter().any(|q| q.name == p.name) {
                return Err(err(format!("program {:?} is listed twice", p.name)));
            }
            for key in &p.env {
                check_env_key(key).map_err(|m| err(format!("program {:?}: {m}", p.name)))?;
            }
            let deny = p
                .deny
                .iter()
                .map(|d| DenyArg::parse(d).map_err(|m| err(format!("program {:?}: deny {d:?}: {m}", p.name))))
                .collect::<Result<Vec<_>, _>>()?;
            let max_timeout_secs = p.max_timeout_secs.unwrap_or(DEFAULT_MAX_TIMEOUT_SECS);
            let max_output_mib = p.max_output_mib.unwrap_or(DEFAULT_MAX_OUTPUT_MIB);
            if max_output_mib == 0 || max_output_mib > 1024 {
                return Err(err(format!("program {:?}: max-output-mib must be 1..=1024", p.name)));
            }
            let allow = p
                .allow
                .iter()
                .map(|r| AllowRule::parse(r).map_err(|m| err(format!("program {:?}: {m}", p.name))))
                .collect::<Result<Vec<_>, _>>()?;
            programs.push(ProgramGrant {
                name: p.name,
                env: p.env.into_iter().collect(),
                max_timeout_secs,
                max_output_bytes: max_output_mib as usize * 1024 * 1024,
                deny,
                allow,
            });
        }
        for key in &raw.host.env {
            check_env_key(key).map_err(|m| err(format!("host.env: {m}")))?;
        }

        Ok(Manifest {
            id: raw.id,
            name: raw.name,
            version: raw.version,
            runtime: raw.runtime,
            description: raw.description,
            component: raw.component,
            sha256: raw.sha256.map(|s| s.to_ascii_lowercase()),
            limits: Limits { memory_mib, cpu_ms },
            programs,
            host_env: raw.host.env.into_iter().collect(),
            origin: origin.to_string(),
        })
    }

    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ManifestError { origin: origin.clone(), message: format!("cannot read it: {e}") })?;
        Manifest::parse(&text, &origin)
    }

    pub fn program(&self, name: &str) -> Option<&ProgramGrant> {
        self.programs.iter().find(|p| p.name == name)
    }
}

impl DenyArg {
    fn parse(text: &str) -> Result<DenyArg, String> {
        if !text.starts_with('-') {
            return Err("a denied argument must be an option starting with `-`".into());
        }
        let (flag, value) = match text.split_once('=') {
            Some((flag, value)) => (flag, Some(ValueGlob::parse(value)?)),
            None => (text, None),
        };
        if flag.len() < 2 {
            return Err("the option name is empty".into());
        }
        Ok(DenyArg { flag: flag.to_string(), value, source: text.to_string() })
    }
}

impl AllowRule {
    fn parse(raw: &RawRule) -> Result<AllowRule, String> {
        let source = render_rule(raw);
        let mut args = Vec::with_capacity(raw.args.len());
        for (i, a) in raw.args.iter().enumerate() {
            let pattern = Pattern::parse(a);
            if pattern == Pattern::Rest && i + 1 != raw.args.len() {
                return Err(format!("rule {source}: `**` must be the last pattern"));
            }
            args.push(pattern);
        }
        let options = match &raw.options {
            None => None,
            Some(list) => {
                if args.last() == Some(&Pattern::Rest) {
                    return Err(format!("rule {source}: a rule with `options` cannot end in `**`"));
                }
                Some(
                    list.iter()
                        .map(|o| OptionSpec::parse(o).map_err(|m| format!("rule {source}: option {o:?}: {m}")))
                        .collect::<Result<Vec<_>, _>>()?,
                )
            }
        };
        Ok(AllowRule { args, options, interactive: raw.interactive, max_timeout_secs: raw.max_timeout_secs, source })
    }
}

fn render_rule(raw: &RawRule) -> String {
    let list = |v: &[String]| v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
    let mut s = format!("{{ args = [{}]", list(&raw.args));
    if let Some(opts) = &raw.options {
        s.push_str(&format!(", options = [{}]", list(opts)));
    }
    if raw.interactive {
        s.push_str(", interactive = true");
    }
    if let Some(t) = raw.max_timeout_secs {
        s.push_str(&format!(", max-timeout-secs = {t}"));
    }
    s.push_str(" }");
    s
}

fn is_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

fn is_program_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0']) && !s.chars().any(char::is_whitespace)
}

fn check_env_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.contains(['=', '\0']) {
        return Err(format!("environment key {key:?} is empty or contains `=`"));
    }
    if matches!(key, "PATH" | "HOME") {
        return Err(format!("environment key {key} is always set by alca and cannot be granted"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER: &str = include_str!("../../../plugins/docker/alca-plugin.toml");
    const PODMAN: &str = include_str!("../../../plugins/podman/alca-plugin.toml");

    #[test]
    fn builtin_manifests_parse() {
        for (text, id) in [(DOCKER, "docker"), (PODMAN, "podman")] {
            let m = Manifest::parse(text, id).unwrap();
            assert_eq!(m.id, id);
            let p = m.program(id).unwrap();
            assert!(p.deny.iter().any(|d| d.flag == "--privileged"));
            assert!(p.allow.iter().any(|r| r.interactive));
            assert_eq!(m.limits.memory_mib, DEFAULT_MEMORY_MIB);
        }
    }

    #[test]
    fn rejects_bad_manifests() {
        let base = "id = \"x\"\nname = \"X\"\nversion = \"1\"\nruntime = \"x\"\n";
        let bad = [
            ("id = \"X Y\"\nname = \"X\"\nversion = \"1\"\nruntime = \"x\"\n", "id"),
            (&format!("{base}[[programs]]\nname = \"/bin/sh\"\n"), "plain executable"),
            (&format!("{base}[[programs]]\nname = \"sh\"\nenv = [\"PATH\"]\n"), "always set"),
            (&format!("{base}[[programs]]\nname = \"sh\"\ndeny = [\"privileged\"]\n"), "start"),
            (&format!("{base}[[programs]]\nname = \"sh\"\nallow = [{{ args = [\"**\", \"x\"] }}]\n"), "last"),
            (
                &format!("{base}[[programs]]\nname = \"sh\"\nallow = [{{ args = [\"a\", \"**\"], options = [] }}]\n"),
                "cannot end",
            ),
            (&format!("{base}surprise = 1\n"), "unknown field"),
            (&format!("{base}[limits]\nmemory-mib = 0\n"), "memory-mib"),
        ];
        for (text, needle) in bad {
            let e = Manifest::parse(text, "test").unwrap_err().to_string();
            assert!(e.contains(needle), "{e:?} should mention {needle:?}");
        }
    }
}
