//! `alca-plugin.toml`: who a plugin is and what it may do.
//!
//! The manifest is the plugin's grant. alca checks every spawn the plugin asks
//! for against it (see [`super::grant`]); the built-in plugins ship one too and
//! get no exemption.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::argparse::{Flag, Name};
use super::bind::Placeholder;
use super::grant::{OperandPattern, OptionSpec, Pattern, ValuePattern};

/// Default memory cap for a plugin instance.
pub const DEFAULT_MEMORY_MIB: u32 = 64;
/// Default guest CPU time per exported call (time spent waiting for spawned
/// processes does not count).
pub const DEFAULT_CPU_MS: u32 = 5_000;
/// Default and ceiling of a spawn's timeout.
pub const DEFAULT_MAX_TIMEOUT_SECS: u32 = 600;
/// Default cap on captured output, per stream.
pub const DEFAULT_MAX_OUTPUT_MIB: u32 = 16;
/// A manifest larger than this is not a manifest.
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024;

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
    /// How `alca plugin build` builds the component (not part of the grant).
    pub build: Option<Build>,
    /// Where the manifest came from, for messages.
    pub origin: String,
}

/// The `[build]` table: the commands that turn the plugin's sources into its
/// component, run by `alca plugin build` in the plugin's directory, one after
/// the other, each split into words the way a POSIX shell would split it but
/// run without a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub commands: Vec<Vec<String>>,
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
    /// Environment keys passed from alca's environment (when set). The
    /// plugin cannot set or change them: they choose which engine the
    /// program talks to, and how.
    pub env: BTreeSet<String>,
    /// Environment keys the plugin may set itself, to values of its choice.
    pub set_env: BTreeSet<String>,
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
    pub name: Name,
    pub value: Option<ValuePattern>,
    /// As written in the manifest, for messages.
    pub source: String,
}

/// What a rule's command does, beyond running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Plain,
    /// Creates the container the request's spec describes: it must express
    /// every field whose omission would weaken the container, and the ids
    /// it prints become containers of the call.
    Creates,
    /// Lists containers: it must filter by every label selector of the
    /// request, and the ids it prints (one per line) become containers of
    /// the call.
    Lists,
    /// Lists every container of an engine that cannot filter by label
    /// (Apple's `container list --all --format json`): it prints a JSON
    /// array, and alca reads each element's id and labels at these JSON
    /// pointers itself. An entry the plugin returns is kept only if the
    /// engine printed its id with the labels alca asked for (and takes the
    /// engine's labels); these ids do not become containers of the call, so
    /// the plugin cannot act on the other containers it saw.
    ListsJson(JsonListing),
    /// Names the network of a `networks` call (an operand is
    /// `{network-name}`; not written in the manifest): what it prints
    /// vouches for what the plugin reports about that network (its bridge
    /// interface, subnets and gateways).
    Network,
}

/// Where a JSON listing holds each container's id and labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonListing {
    /// JSON pointer into each element, e.g. `/configuration/id`.
    pub id: String,
    /// JSON pointer to an object of string labels, e.g. `/configuration/labels`.
    pub labels: String,
}

/// One allowed invocation shape.
#[derive(Debug, Clone)]
pub struct AllowRule {
    /// Positional prefix: literals and `*` (any one argument); a final `**`
    /// allows any remaining arguments, unparsed.
    pub args: Vec<Pattern>,
    /// The rule ends in `**`: what follows the prefix is not parsed.
    pub free: bool,
    /// The options allowed after the prefix (the parse's option table).
    pub options: Vec<OptionSpec>,
    /// The parser's view of `options`.
    pub flags: Vec<Flag>,
    /// What the operands must be (none when empty).
    pub operands: Vec<OperandPattern>,
    /// Whether options may follow operands (cobra's default); `false` for
    /// commands that stop at the first operand (`create`, `run`, `exec`).
    pub interspersed: bool,
    pub role: Role,
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
    build: Option<RawBuild>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawBuild {
    command: OneOrMany,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
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
    #[serde(default)]
    set_env: Vec<String>,
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
    operands: Option<Vec<String>>,
    interspersed: Option<bool>,
    #[serde(default)]
    creates: bool,
    #[serde(default)]
    lists: RawLists,
    #[serde(default)]
    interactive: bool,
    max_timeout_secs: Option<u32>,
}

/// `lists = true`, or `lists = { json-id = "/…", json-labels = "/…" }`.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum RawLists {
    #[default]
    No,
    Flag(bool),
    Json(RawJsonListing),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawJsonListing {
    json_id: String,
    json_labels: String,
}

impl RawLists {
    fn any(&self) -> bool {
        !matches!(self, RawLists::No | RawLists::Flag(false))
    }
}

impl Manifest {
    /// Parses a manifest; `origin` names it in messages (a path or `built-in docker`).
    pub fn parse(text: &str, origin: &str) -> Result<Manifest, ManifestError> {
        let err = |message: String| ManifestError { origin: origin.to_string(), message };
        let raw: RawManifest = toml::from_str(text).map_err(|e| err(crate::config::toml_error_text(&e, text)))?;

        if !is_id(&raw.id) {
            return Err(err(format!("id {:?} must be 1-64 characters of a-z, 0-9 and `-`", raw.id)));
        }
        if let Some(component) = &raw.component {
            let plain = !component.as_os_str().is_empty()
                && component.components().all(|c| matches!(c, std::path::Component::Normal(_)));
            if !plain {
                return Err(err(format!(
                    "component {:?} must be a file name inside the plugin's directory (no absolute path, no `..`)",
                    component.display().to_string()
                )));
            }
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
            for key in &p.set_env {
                check_env_key(key).map_err(|m| err(format!("program {:?}: set-env: {m}", p.name)))?;
                if is_loader_key(key) {
                    return Err(err(format!(
                        "program {:?}: set-env: {key} changes how every program is loaded and cannot be granted",
                        p.name
                    )));
                }
                if p.env.contains(key) {
                    return Err(err(format!(
                        "program {:?}: {key} is in both `env` (taken from the user's environment) and `set-env` (set by the plugin); choose one",
                        p.name
                    )));
                }
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
                set_env: p.set_env.into_iter().collect(),
                max_timeout_secs,
                max_output_bytes: max_output_mib as usize * 1024 * 1024,
                deny,
                allow,
            });
        }
        for key in &raw.host.env {
            check_env_key(key).map_err(|m| err(format!("host.env: {m}")))?;
        }
        let build = match raw.build {
            None => None,
            Some(b) => {
                let lines = match b.command {
                    OneOrMany::One(line) => vec![line],
                    OneOrMany::Many(lines) => lines,
                };
                let mut commands = Vec::new();
                for line in &lines {
                    match shlex::split(line) {
                        Some(words) if !words.is_empty() => commands.push(words),
                        _ => return Err(err(format!("build.command {line:?} is not a command line"))),
                    }
                }
                if commands.is_empty() {
                    return Err(err("build.command is empty".into()));
                }
                Some(Build { commands })
            }
        };

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
            build,
            origin: origin.to_string(),
        })
    }

    /// Reads a manifest from disk: a regular file (never a FIFO, a device or
    /// a symlink), at most [`MAX_MANIFEST_BYTES`], UTF-8.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let origin = path.display().to_string();
        let err = |message: String| ManifestError { origin: origin.clone(), message };
        let bytes = crate::fsutil::read_regular(path, MAX_MANIFEST_BYTES, false)
            .map_err(|e| err(format!("cannot read it: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|_| err("it is not UTF-8 text".into()))?;
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
            Some((flag, value)) => (flag, Some(ValuePattern::parse(value)?)),
            None => (text, None),
        };
        if matches!(value, Some(ValuePattern::Bound(_))) {
            return Err("a denied value cannot be a placeholder".into());
        }
        Ok(DenyArg { name: Name::parse(flag)?, value, source: text.to_string() })
    }
}

impl AllowRule {
    fn parse(raw: &RawRule) -> Result<AllowRule, String> {
        let source = render_rule(raw);
        let fail = |m: String| format!("rule {source}: {m}");
        let mut args = Vec::with_capacity(raw.args.len());
        for (i, a) in raw.args.iter().enumerate() {
            let pattern = Pattern::parse(a);
            if pattern == Pattern::Rest && i + 1 != raw.args.len() {
                return Err(fail("`**` must be the last pattern".into()));
            }
            args.push(pattern);
        }
        let free = args.last() == Some(&Pattern::Rest);
        if free && (raw.options.is_some() || raw.operands.is_some() || raw.interspersed.is_some()) {
            return Err(fail(
                "a rule ending in `**` takes its arguments unparsed, so it cannot have `options`, `operands` or `interspersed`"
                    .into(),
            ));
        }
        let role = match (raw.creates, &raw.lists) {
            (true, lists) if lists.any() => return Err(fail("a rule cannot both create and list".into())),
            (true, _) => Role::Creates,
            (false, RawLists::Flag(true)) => Role::Lists,
            (false, RawLists::Json(j)) => {
                for (key, pointer) in [("json-id", &j.json_id), ("json-labels", &j.json_labels)] {
                    if !pointer.starts_with('/') || pointer.len() > 256 {
                        return Err(fail(format!(
                            "`lists.{key}` must be a JSON pointer such as \"/configuration/id\""
                        )));
                    }
                }
                Role::ListsJson(JsonListing { id: j.json_id.clone(), labels: j.json_labels.clone() })
            }
            (false, _) => Role::Plain,
        };
        if free && role != Role::Plain {
            return Err(fail("a rule that creates or lists containers cannot end in `**`".into()));
        }

        let mut options: Vec<OptionSpec> = Vec::new();
        for o in raw.options.iter().flatten() {
            let spec = OptionSpec::parse(o).map_err(|m| fail(format!("option {o:?}: {m}")))?;
            for name in &spec.names {
                if options.iter().any(|other| other.names.contains(name)) {
                    return Err(fail(format!("option `{name}` is listed twice")));
                }
            }
            if matches!(role, Role::Lists | Role::ListsJson(_))
                && matches!(spec.pattern, Some(ValuePattern::Any | ValuePattern::Prefix(_) | ValuePattern::Path(_)))
            {
                return Err(fail(format!(
                    "option {o:?}: a rule that lists containers may only have options with fixed or bound values (its output names the containers the plugin may then touch)"
                )));
            }
            options.push(spec);
        }

        let mut operands = Vec::new();
        let raw_operands = raw.operands.as_deref().unwrap_or_default();
        for (i, o) in raw_operands.iter().enumerate() {
            let pattern = OperandPattern::parse(o).map_err(|m| fail(format!("operand {o:?}: {m}")))?;
            let last = i + 1 == raw_operands.len();
            if matches!(pattern, OperandPattern::Rest | OperandPattern::BoundRest(_)) && !last {
                return Err(fail(format!("operand {o:?} takes the remaining operands and must be last")));
            }
            operands.push(pattern);
        }
        let names_network =
            operands.iter().any(|o| matches!(o, OperandPattern::One(ValuePattern::Bound(Placeholder::NetworkName))));
        let role = if role == Role::Plain && names_network { Role::Network } else { role };
        if role == Role::Creates {
            let has = |p: Placeholder| {
                operands.iter().any(|o| {
                    matches!(o, OperandPattern::One(ValuePattern::Bound(q)) | OperandPattern::BoundRest(q) if *q == p)
                })
            };
            if !has(Placeholder::Image) || !has(Placeholder::Command) {
                return Err(fail(
                    "a rule that creates containers needs `operands` with `{image}` and `{command...}`".into(),
                ));
            }
        }

        let flags = options.iter().map(|o| Flag { names: o.names.clone(), takes_value: o.takes_value }).collect();
        Ok(AllowRule {
            args,
            free,
            options,
            flags,
            operands,
            interspersed: raw.interspersed.unwrap_or(true),
            role,
            interactive: raw.interactive,
            max_timeout_secs: raw.max_timeout_secs,
            source,
        })
    }
}

fn render_rule(raw: &RawRule) -> String {
    let list = |v: &[String]| v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
    let mut s = format!("{{ args = [{}]", list(&raw.args));
    if let Some(false) = raw.interspersed {
        s.push_str(", interspersed = false");
    }
    if let Some(opts) = &raw.options {
        s.push_str(&format!(", options = [{}]", list(opts)));
    }
    if let Some(ops) = &raw.operands {
        s.push_str(&format!(", operands = [{}]", list(ops)));
    }
    if raw.creates {
        s.push_str(", creates = true");
    }
    match &raw.lists {
        RawLists::Flag(true) => s.push_str(", lists = true"),
        RawLists::Json(j) => {
            s.push_str(&format!(", lists = {{ json-id = {:?}, json-labels = {:?} }}", j.json_id, j.json_labels))
        }
        _ => {}
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

/// Variables that change how any program is loaded or run.
fn is_loader_key(key: &str) -> bool {
    key.starts_with("LD_")
        || key.starts_with("DYLD_")
        || matches!(key, "GCONV_PATH" | "MALLOC_CONF" | "IFS" | "ENV" | "BASH_ENV")
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
    const APPLE: &str = include_str!("../../../plugins/apple/alca-plugin.toml");

    #[test]
    fn builtin_manifests_parse() {
        for (text, id) in [(DOCKER, "docker"), (PODMAN, "podman")] {
            let m = Manifest::parse(text, id).unwrap();
            assert_eq!(m.id, id);
            let p = m.program(id).unwrap();
            assert!(p.deny.iter().any(|d| d.source == "--privileged"));
            assert!(p.allow.iter().any(|r| r.interactive));
            assert!(p.allow.iter().any(|r| r.role == Role::Creates));
            assert!(p.allow.iter().any(|r| r.role == Role::Lists));
            // `network inspect|create|rm {network-name}`: what they print vouches for the network.
            let network: Vec<&str> =
                p.allow.iter().filter(|r| r.role == Role::Network).map(|r| r.source.as_str()).collect();
            assert_eq!(network.len(), 3, "{network:?}");
            assert!(network.iter().all(|r| r.contains("\"network\"") && r.contains("{network-name}")), "{network:?}");
            assert!(p.set_env.is_empty(), "built-in plugins set no environment of their own");
            assert!(p.allow.iter().all(|r| !r.free), "built-in rules are all parsed");
            assert_eq!(m.limits.memory_mib, DEFAULT_MEMORY_MIB);
        }
        // Apple's `container`: its one program, no label filter (a JSON listing).
        let m = Manifest::parse(APPLE, "apple").unwrap();
        assert_eq!(m.id, "apple");
        assert_eq!(m.programs.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["container"]);
        let p = m.program("container").unwrap();
        assert!(p.deny.iter().any(|d| d.source == "--virtualization"));
        assert!(p.allow.iter().any(|r| r.interactive));
        assert!(p.allow.iter().any(|r| r.role == Role::Creates));
        assert!(p.allow.iter().any(|r| matches!(&r.role, Role::ListsJson(j) if j.id == "/configuration/id")));
        assert!(p.env.is_empty() && p.set_env.is_empty());
        assert!(p.allow.iter().all(|r| !r.free), "built-in rules are all parsed");
    }

    #[test]
    fn the_documented_example_is_a_valid_manifest() {
        let doc = include_str!("../../../docs/plugins/manifest.md");
        let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
        let text = doc[start..start + doc[start..].find("```").unwrap()].replace("…64 hex digits…", &"0".repeat(64));
        let m = Manifest::parse(&text, "docs/plugins/manifest.md").unwrap();
        let p = m.program("nerdctl").unwrap();
        assert!(p.allow.iter().any(|r| r.role == Role::Creates) && p.allow.iter().any(|r| r.role == Role::Lists));
    }

    #[test]
    fn json_listings_for_engines_that_cannot_filter() {
        let base = "id = \"x\"\nname = \"X\"\nversion = \"1\"\nruntime = \"x\"\n[[programs]]\nname = \"container\"\n";
        let rule = |lists: &str, options: &str| {
            format!("{base}allow = [{{ args = [\"list\"], lists = {lists}, options = [{options}] }}]\n")
        };
        let m = Manifest::parse(
            &rule(
                "{ json-id = \"/configuration/id\", json-labels = \"/configuration/labels\" }",
                "\"--all\", \"--format=json\"",
            ),
            "t",
        )
        .unwrap();
        let r = &m.program("container").unwrap().allow[0];
        assert_eq!(
            r.role,
            Role::ListsJson(JsonListing { id: "/configuration/id".into(), labels: "/configuration/labels".into() })
        );
        for (lists, options, needle) in [
            ("{ json-id = \"id\", json-labels = \"/l\" }", "", "JSON pointer"),
            ("{ json-id = \"/id\", json-labels = \"/l\" }", "\"--format=*\"", "fixed or bound values"),
        ] {
            let e = Manifest::parse(&rule(lists, options), "t").unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
        assert!(Manifest::parse(&rule("{ json-id = \"/id\" }", ""), "t").is_err());
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
                "cannot have",
            ),
            (
                &format!("{base}[[programs]]\nname = \"sh\"\nallow = [{{ args = [\"a\", \"**\"], operands = [] }}]\n"),
                "cannot have",
            ),
            (
                &format!(
                    "{base}[[programs]]\nname = \"sh\"\nallow = [{{ args = [\"a\"], options = [\"--x={{nope}}\"] }}]\n"
                ),
                "unknown placeholder",
            ),
            (
                &format!(
                    "{base}[[programs]]\nname = \"sh\"\nallow = [{{ args = [\"a\"], operands = [\"{{argv...}}\", \"x\"] }}]\n"
                ),
                "must be last",
            ),
            (
                &format!(
                    "{base}[[programs]]\nname = \"sh\"\nallow = [{{ args = [\"a\"], options = [\"--x\", \"--x=*\"] }}]\n"
                ),
                "listed twice",
            ),
            (
                &format!(
                    "{base}[[programs]]\nname = \"sh\"\nallow = [{{ args = [\"ls\"], lists = true, options = [\"--format=*\"] }}]\n"
                ),
                "fixed or bound",
            ),
            (
                &format!(
                    "{base}[[programs]]\nname = \"sh\"\nallow = [{{ args = [\"create\"], creates = true, operands = [\"{{image}}\"] }}]\n"
                ),
                "{command...}",
            ),
            (&format!("{base}[[programs]]\nname = \"sh\"\nset-env = [\"LD_PRELOAD\"]\n"), "cannot be granted"),
            (&format!("{base}[[programs]]\nname = \"sh\"\nenv = [\"A\"]\nset-env = [\"A\"]\n"), "choose one"),
            (&format!("{base}component = \"../x.wasm\"\n"), "inside the plugin's directory"),
            (&format!("{base}component = \"/tmp/x.wasm\"\n"), "inside the plugin's directory"),
            (&format!("{base}surprise = 1\n"), "unknown field"),
            (&format!("{base}[limits]\nmemory-mib = 0\n"), "memory-mib"),
        ];
        for (text, needle) in bad {
            let e = Manifest::parse(text, "test").unwrap_err().to_string();
            assert!(e.contains(needle), "{e:?} should mention {needle:?}");
        }
    }
}
