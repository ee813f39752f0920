//! The host's `host` interface: logging, host facts, granted environment variables.

use crate::bindings::alca::runtime::host as raw;

pub use raw::{HostInfo, Level};

/// Writes to alca's log (shown with `alca -v`), never to the user's stdout.
pub fn log(level: Level, message: &str) {
    raw::log(level, message);
}

pub fn debug(message: &str) {
    raw::log(Level::Debug, message);
}

pub fn warn(message: &str) {
    raw::log(Level::Warn, message);
}

/// OS, architecture and alca version.
pub fn info() -> HostInfo {
    raw::info()
}

/// An environment variable the plugin's grant lets it read; `None` when the
/// variable is unset or not granted (asking for an ungranted one is logged).
pub fn env(name: &str) -> Option<String> {
    raw::env(name)
}

/// Where the host would find a granted program; `None` if it is not granted
/// or not installed.
pub fn locate(program: &str) -> Option<String> {
    crate::bindings::alca::runtime::process::locate(program)
}
