//! Where alca keeps things, and the user's own alca configuration
//! (`$XDG_CONFIG_HOME/alca/config.toml`), which overrides plugin limits.
//!
//! ```toml
//! [plugins.docker]
//! memory-mib = 128        # cap on the plugin's memory
//! cpu-ms = 10000          # the plugin's own time per call (not counting the programs it runs)
//! max-timeout-secs = 60   # never wait longer than this for one program it runs
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;
use crate::plugin::LimitOverrides;

/// alca's directories: XDG variables when set, the platform's defaults
/// otherwise (Linux `~/.config`, `~/.cache`, `~/.local/share`; macOS
/// `~/Library/...`).
#[derive(Debug, Clone)]
pub struct Dirs {
    pub config: Option<PathBuf>,
    pub cache: Option<PathBuf>,
    pub data: Option<PathBuf>,
}

impl Dirs {
    pub fn from_env() -> Dirs {
        let xdg =
            |var: &str| std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_absolute()).map(|p| p.join("alca"));
        let project = directories::ProjectDirs::from("", "", "alca");
        Dirs {
            config: xdg("XDG_CONFIG_HOME").or_else(|| project.as_ref().map(|p| p.config_dir().to_path_buf())),
            cache: xdg("XDG_CACHE_HOME").or_else(|| project.as_ref().map(|p| p.cache_dir().to_path_buf())),
            data: xdg("XDG_DATA_HOME").or_else(|| project.as_ref().map(|p| p.data_dir().to_path_buf())),
        }
    }

    /// Compiled plugins.
    pub fn compiled(&self) -> Option<PathBuf> {
        self.cache.as_ref().map(|c| c.join("compiled"))
    }

    /// Installed plugins, one directory each.
    pub fn plugins(&self) -> Option<PathBuf> {
        self.data.as_ref().map(|d| d.join("plugins"))
    }

    /// The hooks the user approved, per project (outside every project:
    /// the sandbox can write the project, not this).
    pub fn approved_hooks(&self) -> Option<PathBuf> {
        self.data.as_ref().map(|d| d.join("approved-hooks.json"))
    }

    /// What `alca up` verified about each project's container, for `alca
    /// run` to use without asking the engine again (outside every project:
    /// the sandbox can write the project's own state, not this).
    pub fn run_records(&self) -> Option<PathBuf> {
        self.data.as_ref().map(|d| d.join("containers"))
    }

    pub fn settings_file(&self) -> Option<PathBuf> {
        self.config.as_ref().map(|c| c.join("config.toml"))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub plugins: BTreeMap<String, LimitOverrides>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    #[serde(default)]
    plugins: BTreeMap<String, RawPluginSettings>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPluginSettings {
    memory_mib: Option<u32>,
    cpu_ms: Option<u32>,
    max_timeout_secs: Option<u32>,
}

impl Settings {
    /// Reads the settings file; a missing file means defaults.
    pub fn load(path: Option<&Path>) -> Result<Settings, Error> {
        let Some(path) = path else { return Ok(Settings::default()) };
        let err = |message: String| Error::Settings { path: path.to_path_buf(), message };
        let bytes = match crate::fsutil::read_regular(path, 1024 * 1024, true) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(e) => return Err(err(format!("cannot read it: {e}"))),
        };
        let text = String::from_utf8(bytes).map_err(|_| err("it is not UTF-8 text".into()))?;
        let raw: RawSettings = toml::from_str(&text).map_err(|e| err(crate::config::toml_error_text(&e, &text)))?;
        let mut plugins = BTreeMap::new();
        for (id, p) in raw.plugins {
            if let Some(m) = p.memory_mib
                && !(1..=4096).contains(&m)
            {
                return Err(err(format!("plugins.{id}.memory-mib = {m} is outside 1..=4096")));
            }
            if p.cpu_ms == Some(0) {
                return Err(err(format!("plugins.{id}.cpu-ms must be positive")));
            }
            if p.max_timeout_secs == Some(0) {
                return Err(err(format!("plugins.{id}.max-timeout-secs must be positive")));
            }
            plugins.insert(
                id,
                LimitOverrides { memory_mib: p.memory_mib, cpu_ms: p.cpu_ms, max_timeout_secs: p.max_timeout_secs },
            );
        }
        Ok(Settings { plugins })
    }

    pub fn limits_for(&self, plugin: &str) -> LimitOverrides {
        self.plugins.get(plugin).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_validate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert!(Settings::load(Some(&path)).unwrap().plugins.is_empty());
        std::fs::write(&path, "[plugins.docker]\nmemory-mib = 128\n").unwrap();
        let s = Settings::load(Some(&path)).unwrap();
        assert_eq!(s.limits_for("docker").memory_mib, Some(128));
        assert_eq!(s.limits_for("podman").memory_mib, None);
        std::fs::write(&path, "[plugins.docker]\nmemory = 1\n").unwrap();
        let e = Settings::load(Some(&path)).unwrap_err().to_string();
        assert!(e.contains("config.toml") && e.contains("unknown field"), "{e}");
    }
}
