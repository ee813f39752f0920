//! alca's errors: each says what happened; [`Error::hint`] says what to do.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::plugin::PluginError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no {} in {} or any parent directory", crate::config::FILE_NAME, .cwd.display())]
    NoProject { cwd: PathBuf },

    #[error("{0}")]
    Config(#[from] ConfigError),

    #[error("the alca config file {} is invalid: {message}", .path.display())]
    Settings { path: PathBuf, message: String },

    #[error("the state file {} is unreadable: {message}", .path.display())]
    State { path: PathBuf, message: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Plugin(#[from] PluginError),

    #[error("cannot install the plugin from {}: {message}", .from.display())]
    PluginInstall { from: PathBuf, message: String, hint: Option<String> },

    #[error("plugin `{id}` cannot be used: {reason}")]
    PluginNotInstalled { id: String, reason: String, hint: String },

    #[error("installing plugin `{id}` needs your consent to its grant, and there is no terminal to ask on")]
    ConsentRequired { id: String },

    #[error("plugin `{id}` was not installed: you did not consent to its grant")]
    ConsentRefused { id: String },

    /// Made by [`Error::unknown_runtime`] (an id the project names) or
    /// [`Error::unknown_runtime_arg`] (an id given on the command line).
    #[error("unknown runtime {name:?}; known runtimes: {}", known.join(", "))]
    UnknownRuntime { name: String, known: Vec<String>, hint: &'static str },

    #[error("runtime `{id}` is not available: {reason}")]
    RuntimeUnavailable { id: String, reason: String, hint: Option<String> },

    #[error("no container runtime is available:{}", tried.iter().map(|(id, reason, _)| format!("\n  {id}: {reason}")).collect::<String>())]
    NoRuntime { tried: Vec<(String, String, Option<String>)> },

    #[error("this project has no sandbox yet")]
    NotUp,

    #[error("the sandbox container {name} does not exist")]
    ContainerMissing { name: String },

    #[error("the sandbox container {name} is not running (it is {state})")]
    NotRunning { name: String, state: String },

    #[error("the sandbox container {name} is {state}")]
    BadContainerState { name: String, state: String, hint: String },

    #[error("project directory has moved from {} to {}", .old.display(), .new.display())]
    ProjectMoved { old: PathBuf, new: PathBuf },

    #[error("the sandbox container {name} lives in runtime `{old}`, but the configuration now selects `{new}`")]
    RuntimeChanged { name: String, old: String, new: String },

    #[error("mount source {} does not exist (from {})", .path.display(), .config.display())]
    MountSource { path: PathBuf, config: PathBuf },

    #[error("mount source {} is inside the project but leads to {}, outside it (through a symbolic link)", .path.display(), .real.display())]
    MountEscapes { path: PathBuf, real: PathBuf, root: PathBuf },

    #[error("commands.up failed {}", match .code { Some(c) => format!("with exit code {c}"), None => "(killed by a signal)".into() })]
    SetupFailed { code: Option<i32>, output: String },

    /// A hook of `[hooks]` failed.
    #[error("{hook} hook failed ({}): {command}", match code { Some(c) => format!("exit status {c}"), None => "killed by a signal".into() })]
    HookFailed { hook: &'static str, command: String, code: Option<i32> },

    /// A hook the user has not approved, and no terminal to ask on.
    #[error(
        "the {hook} hook was not run: it runs on your machine, outside the sandbox, and you have not approved it: {command}"
    )]
    HookNotApproved { hook: &'static str, command: String },

    /// The runtime cannot express settings the sandbox needs (checked
    /// against its `features` before anything is pulled or created).
    #[error("runtime `{runtime}` cannot express {}; alca did not create the container", fields.join("; "))]
    Unsupported {
        runtime: String,
        fields: Vec<String>,
        /// Whether the settings come from .alca.toml (and can be removed).
        from_config: bool,
    },

    /// The configuration asks for network isolation (the default) and it
    /// cannot be applied: alca does not start an unisolated container.
    #[error("network isolation cannot be applied: {message}")]
    Isolation { message: String, hint: String },
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io { context: context.into(), source }
    }

    /// The runtime the project names (`runtime` in .alca.toml, or the one
    /// its state records) is no plugin alca has.
    pub fn unknown_runtime(name: &str, known: Vec<String>) -> Error {
        let hint = "set `runtime` in .alca.toml to one of them, or to \"auto\"";
        Error::UnknownRuntime { name: name.to_string(), known, hint }
    }

    /// A runtime named on the command line is no plugin alca has.
    pub fn unknown_runtime_arg(name: &str, known: Vec<String>) -> Error {
        let hint = "`alca plugin list` shows every plugin alca knows, and why one cannot be used";
        Error::UnknownRuntime { name: name.to_string(), known, hint }
    }

    /// What the user can do next.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NoProject { .. } => format!(
                "create a {} in your project's root, e.g. with the line: image = \"docker.io/library/debian:bookworm\"",
                crate::config::FILE_NAME
            ),
            Error::Config(_) => "fix the file and run the command again".into(),
            Error::Settings { .. } => "fix or remove the file and run the command again".into(),
            Error::State { path, .. } => format!(
                "run `alca down`: it removes the containers made for this directory and sets {} aside; then `alca up` starts afresh",
                path.display()
            ),
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied => {
                    "alca keeps its state in .alca/ in the project directory, which must be writable for `up` and `down` (`run` and `status` only read it)".into()
                }
                _ => return None,
            },
            Error::Plugin(e) => return e.hint(),
            Error::PluginInstall { hint, .. } => return hint.clone(),
            Error::PluginNotInstalled { hint, .. } => hint.clone(),
            Error::ConsentRequired { .. } => {
                "read the grant shown above; to consent, run the command again with --yes".into()
            }
            Error::ConsentRefused { .. } => return None,
            Error::UnknownRuntime { hint, .. } => (*hint).into(),
            Error::RuntimeUnavailable { hint, .. } => return hint.clone(),
            Error::NoRuntime { tried } => {
                let hints: Vec<String> = tried.iter().filter_map(|(id, _, h)| h.as_ref().map(|h| format!("{id}: {h}"))).collect();
                if hints.is_empty() {
                    return Some("install Docker or Podman".into());
                }
                hints.join("\n")
            }
            Error::NotUp => "run `alca up` first".into(),
            Error::ContainerMissing { .. } | Error::NotRunning { .. } => "run `alca up` to start it".into(),
            Error::BadContainerState { hint, .. } => hint.clone(),
            Error::ProjectMoved { .. } => {
                "the container was created in a different directory; run `alca down`, then `alca up` to recreate it here".into()
            }
            Error::RuntimeChanged { old, .. } => format!("run `alca down` to remove the container from `{old}`, then `alca up`"),
            Error::MountSource { .. } => "create it, or fix `mounts` in .alca.toml".into(),
            Error::MountEscapes { root, .. } => format!(
                "the sandboxed agent can create links in {}; alca refuses to follow one out of it. Remove the link, or name the real directory in `mounts`",
                root.display()
            ),
            Error::HookNotApproved { .. } => "check the hook in .alca.toml (the sandbox can write that file), then run the command on a terminal to approve it, or add --allow-hooks".into(),
            Error::HookFailed { hook, .. } => format!("fix hooks.{hook} in .alca.toml (it runs on the host, in the project directory); the container is up"),
            Error::SetupFailed { .. } => "fix commands.up in .alca.toml (or what it depends on) and run `alca up` again; it is retried until it succeeds".into(),
            Error::Unsupported { from_config: true, .. } => "remove these settings from .alca.toml, or set `runtime` in .alca.toml to a runtime that supports them (the built-in `docker` and `podman` support all of them)".into(),
            Error::Isolation { hint, .. } => hint.clone(),
            Error::Unsupported { from_config: false, .. } => "set `runtime` in .alca.toml to a runtime that can (the built-in `docker` and `podman` can)".into(),
        })
    }
}
