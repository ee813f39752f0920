//! `.alca.toml`: the project's sandbox configuration.
//!
//! Parsing is strict: unknown keys are errors, and every error names the
//! file, line and column. Keys the reference tool (Alcatraz) has but this
//! version of alca does not implement yet are refused by name, never silently
//! ignored (a silently ignored `caps` or `network` would leave a sandbox
//! weaker than the user believes).

mod env;
mod mounts;
mod ports;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

pub use env::{DEFAULT_ENVS, EnvValue, EnvVar};
pub use mounts::MountConfig;
pub use ports::{PortConfig, Protocol};

/// The configuration file's name.
pub const FILE_NAME: &str = ".alca.toml";
pub const DEFAULT_WORKDIR: &str = "/workspace";
/// A configuration larger than this is not one.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// A configuration error, located in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Which runtime the project asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeChoice {
    /// Whatever is available (Linux: podman, then docker; macOS: docker, then podman).
    Auto,
    /// A plugin by id (`docker`, `podman`, or an installed plugin).
    Named(String),
}

/// A command run in the container (`commands.up`, `commands.enter`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CommandConfig {
    pub command: String,
    /// Append to an inherited command instead of replacing it (for
    /// `extends`/`includes`; meaningless in a single file).
    #[serde(default)]
    pub append: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Commands {
    /// Run once after the container is created (retried by the next `up`
    /// until it succeeds).
    pub up: Option<CommandConfig>,
    /// Prefix for `alca run`: `sh -c "<enter> <quoted args>"`.
    pub enter: Option<CommandConfig>,
}

/// A loaded, validated, resolved configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub path: PathBuf,
    pub image: String,
    pub workdir: String,
    pub runtime: RuntimeChoice,
    /// User mounts, sources resolved to absolute paths.
    pub mounts: Vec<MountConfig>,
    /// User environment variables, by name.
    pub envs: Vec<EnvVar>,
    pub commands: Commands,
    /// `network.ports`, in config order.
    pub ports: Vec<PortConfig>,
}

/// Keys of the reference tool's configuration that this version does not
/// implement yet (and, in `network`, `proxy` and any `lan-access` but
/// `["*"]`).
const NOT_YET: &[&str] = &["extends", "includes", "workdir_exclude", "resources", "caps", "hooks"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    image: Option<Spanned<String>>,
    workdir: Option<Spanned<String>>,
    runtime: Option<Spanned<String>>,
    #[serde(default)]
    mounts: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    envs: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    commands: Option<Spanned<RawCommands>>,
    extends: Option<Spanned<toml::Value>>,
    includes: Option<Spanned<toml::Value>>,
    workdir_exclude: Option<Spanned<toml::Value>>,
    resources: Option<Spanned<toml::Value>>,
    network: Option<RawNetwork>,
    caps: Option<Spanned<toml::Value>>,
    hooks: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    #[serde(default)]
    ports: Vec<Spanned<toml::Value>>,
    #[serde(rename = "lan-access")]
    lan_access: Option<Spanned<toml::Value>>,
    proxy: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommands {
    up: Option<Spanned<toml::Value>>,
    enter: Option<Spanned<toml::Value>>,
}

/// Source text plus path: turns byte spans into `file:line:col` errors.
pub(crate) struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    pub fn error(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> ConfigError {
        let (line, column) = line_col(self.text, span.start);
        ConfigError { path: self.path.to_path_buf(), line, column, message: message.into() }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// A TOML parse error as `line:col: message` (for callers with their own path).
pub fn toml_error_text(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("{line}:{col}: {message}")
        }
        None => message,
    }
}

/// What a config needs from its surroundings: the project root (relative
/// mount sources) and the environment (`$VAR`, `~`).
pub struct LoadContext<'a> {
    pub project_root: &'a Path,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub home: Option<PathBuf>,
}

impl Config {
    /// Reads and validates `path`: a regular file (a FIFO never blocks
    /// alca), at most [`MAX_CONFIG_BYTES`], UTF-8 text.
    pub fn load(path: &Path, ctx: &LoadContext<'_>) -> Result<Config, ConfigError> {
        let fail = |message: String| ConfigError { path: path.to_path_buf(), line: 1, column: 1, message };
        let bytes = crate::fsutil::read_regular(path, MAX_CONFIG_BYTES, true)
            .map_err(|e| fail(format!("cannot read the file: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let (line, column) = line_col(&String::from_utf8_lossy(e.as_bytes()), e.utf8_error().valid_up_to());
            ConfigError { path: path.to_path_buf(), line, column, message: "the file is not UTF-8 text".into() }
        })?;
        if let Some(offset) = text.find('\0') {
            let (line, column) = line_col(&text, offset);
            return Err(ConfigError {
                path: path.to_path_buf(),
                line,
                column,
                message: "the file contains a NUL byte; it is not a TOML text file".into(),
            });
        }
        Config::parse(&text, path, ctx)
    }

    pub fn parse(text: &str, path: &Path, ctx: &LoadContext<'_>) -> Result<Config, ConfigError> {
        let src = Source { path, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            src.error(span, e.message().trim().to_string())
        })?;

        for (key, value) in [
            ("extends", &raw.extends),
            ("includes", &raw.includes),
            ("workdir_exclude", &raw.workdir_exclude),
            ("resources", &raw.resources),
            ("caps", &raw.caps),
            ("hooks", &raw.hooks),
        ] {
            debug_assert!(NOT_YET.contains(&key));
            if let Some(v) = value {
                return Err(src.error(
                    v.span(),
                    format!("`{key}` is not supported by this version of alca yet; remove it (alca will not ignore it silently)"),
                ));
            }
        }

        let image = match raw.image {
            Some(image) if !image.get_ref().trim().is_empty() => image.into_inner().trim().to_string(),
            Some(image) => return Err(src.error(image.span(), "`image` is empty")),
            None => {
                return Err(src.error(0..0, "`image` is required, e.g. image = \"docker.io/library/debian:bookworm\""));
            }
        };

        let workdir = match raw.workdir {
            None => DEFAULT_WORKDIR.to_string(),
            Some(w) => {
                let value = w.get_ref().trim_end_matches('/').to_string();
                if !w.get_ref().starts_with('/') {
                    return Err(src.error(
                        w.span(),
                        format!("`workdir` must be an absolute path in the container, got {:?}", w.get_ref()),
                    ));
                }
                if value.is_empty() {
                    return Err(src.error(
                        w.span(),
                        "`workdir` cannot be `/`: the project would hide the container's whole filesystem",
                    ));
                }
                if value.contains([':', ',', '\0']) {
                    return Err(src.error(w.span(), "`workdir` cannot contain `:` or `,`"));
                }
                value
            }
        };

        let runtime = match raw.runtime {
            None => RuntimeChoice::Auto,
            Some(r) => match r.get_ref().as_str() {
                "auto" | "" => RuntimeChoice::Auto,
                name if name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') => {
                    RuntimeChoice::Named(name.to_string())
                }
                other => {
                    return Err(src.error(
                        r.span(),
                        format!("`runtime` must be \"auto\", \"docker\", \"podman\" or the id of an installed plugin, got {other:?}"),
                    ));
                }
            },
        };

        let mut mounts = Vec::new();
        for (i, m) in raw.mounts.iter().enumerate() {
            let mount = mounts::parse(&src, m, ctx)
                .map_err(|e| ConfigError { message: format!("mounts[{i}]: {}", e.message), ..e })?;
            if mount.target == workdir {
                return Err(src.error(
                    m.span(),
                    format!(
                        "mounts[{i}]: target {:?} is the workdir, where the project is already mounted",
                        mount.target
                    ),
                ));
            }
            if let Some(prev) = mounts.iter().position(|p: &MountConfig| p.target == mount.target) {
                return Err(src.error(
                    m.span(),
                    format!("mounts[{i}]: target {:?} is already used by mounts[{prev}]", mount.target),
                ));
            }
            mounts.push(mount);
        }

        let mut envs = Vec::new();
        for (key, value) in &raw.envs {
            envs.push(env::parse(&src, key, value)?);
        }

        let mut commands = Commands::default();
        if let Some(c) = raw.commands {
            let c = c.into_inner();
            commands.up = c.up.map(|v| parse_command(&src, "commands.up", &v)).transpose()?.flatten();
            commands.enter = c.enter.map(|v| parse_command(&src, "commands.enter", &v)).transpose()?.flatten();
        }

        let ports = match raw.network {
            Some(network) => parse_network(&src, network)?,
            None => Vec::new(),
        };

        Ok(Config { path: path.to_path_buf(), image, workdir, runtime, mounts, envs, commands, ports })
    }

    /// The environment of the container: alca's defaults (`TERM`, locale...)
    /// with the user's variables on top.
    pub fn effective_envs(&self) -> Vec<EnvVar> {
        let mut all: Vec<EnvVar> = DEFAULT_ENVS
            .iter()
            .filter(|name| !self.envs.iter().any(|e| e.name == **name))
            .map(|name| EnvVar {
                name: name.to_string(),
                value: EnvValue::Host(name.to_string()),
                override_on_enter: true,
            })
            .collect();
        all.extend(self.envs.iter().cloned());
        all
    }
}

/// `[network]`: `ports`; `lan-access = ["*"]` (no LAN isolation, which is
/// what alca does); nothing else yet.
fn parse_network(src: &Source<'_>, network: RawNetwork) -> Result<Vec<PortConfig>, ConfigError> {
    if let Some(rules) = &network.lan_access {
        let no_isolation = match rules.get_ref() {
            toml::Value::Array(a) => matches!(&a[..], [toml::Value::String(s)] if s.trim() == "*"),
            _ => false,
        };
        if !no_isolation {
            return Err(src.error(
                rules.span(),
                "`network.lan-access` rules are not supported by this version of alca yet: it does not isolate \
                 the container from the LAN; only `lan-access = [\"*\"]` (no isolation) is accepted; remove the \
                 rules (alca will not ignore them silently)",
            ));
        }
    }
    if let Some(proxy) = &network.proxy
        && !matches!(proxy.get_ref(), toml::Value::String(s) if s.is_empty())
    {
        return Err(src.error(
            proxy.span(),
            "`network.proxy` is not supported by this version of alca yet; remove it (alca will not ignore it silently)",
        ));
    }
    let mut ports: Vec<PortConfig> = Vec::with_capacity(network.ports.len());
    for (i, v) in network.ports.iter().enumerate() {
        let port = ports::parse(src, i, v)?;
        if let Some(prev) = ports.iter().position(|p| p.clashes_with(&port)) {
            return Err(src.error(
                v.span(),
                format!("network: ports[{i}]: {port} publishes the same host port as ports[{prev}] ({})", ports[prev]),
            ));
        }
        ports.push(port);
    }
    Ok(ports)
}

fn parse_command(src: &Source<'_>, key: &str, v: &Spanned<toml::Value>) -> Result<Option<CommandConfig>, ConfigError> {
    let cmd = match v.get_ref() {
        toml::Value::String(s) => CommandConfig { command: s.clone(), append: false },
        toml::Value::Table(t) => {
            if let Some(unknown) = t.keys().find(|k| !matches!(k.as_str(), "command" | "append")) {
                return Err(
                    src.error(v.span(), format!("{key}: unknown key `{unknown}` (expected `command` and `append`)"))
                );
            }
            let command = match t.get("command") {
                Some(toml::Value::String(s)) => s.clone(),
                Some(other) => {
                    return Err(
                        src.error(v.span(), format!("{key}.command: expected a string, got {}", other.type_str()))
                    );
                }
                None => return Err(src.error(v.span(), format!("{key}: `command` is required"))),
            };
            let append = match t.get("append") {
                None => false,
                Some(toml::Value::Boolean(b)) => *b,
                Some(other) => {
                    return Err(
                        src.error(v.span(), format!("{key}.append: expected true or false, got {}", other.type_str()))
                    );
                }
            };
            CommandConfig { command, append }
        }
        other => {
            return Err(src.error(v.span(), format!("{key}: expected a string or a table, got {}", other.type_str())));
        }
    };
    Ok((!cmd.command.trim().is_empty()).then_some(cmd))
}

#[cfg(test)]
mod tests;
