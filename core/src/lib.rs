//! alca's library: configuration, project state, the plugin host and the
//! operations. The `alca` binary only parses arguments, calls an operation
//! from [`ops`] and renders what it returns.

pub mod config;
pub mod container;
pub mod drift;
pub mod error;
mod fsutil;
pub mod installed;
pub mod netiso;
pub mod ops;
pub mod plugin;
pub mod preset;
pub mod project;
pub mod registry;
pub mod report;
pub mod runtime;
pub mod settings;
pub mod spec;
pub mod state;
pub mod timing;

use std::path::PathBuf;

use tokio::sync::OnceCell;

pub use error::Error;
pub use report::{Reporter, Silent};

use plugin::{PluginHost, PluginInstance};
use registry::Registry;
use settings::{Dirs, Settings};

/// alca's version, as the `alca.version` label and `--version` show it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The newest contract version (`wit/since_v0.2.0/`), which new plugins
/// target; every older released one is supported too.
pub const PLUGIN_API: &str = "alca:runtime@0.2.0";

/// `alca --version`: alca's version and every contract version it loads.
pub const LONG_VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), "\nplugin API: alca:runtime@0.1.0, alca:runtime@0.2.0 (newest)");

/// Everything an operation needs: where alca runs, its directories and
/// settings, the plugins it knows, and (created on first use) the plugin host.
pub struct Alca {
    pub cwd: PathBuf,
    pub dirs: Dirs,
    pub settings: Settings,
    pub registry: Registry,
    host: OnceCell<PluginHost>,
}

impl Alca {
    /// From the process's environment and working directory.
    pub fn from_env() -> Result<Alca, Error> {
        let cwd = std::env::current_dir().map_err(|e| Error::io("cannot determine the current directory", e))?;
        let dirs = Dirs::from_env();
        let settings = Settings::load(dirs.settings_file().as_deref())?;
        let registry = Registry::load(dirs.plugins().as_deref());
        Ok(Alca { cwd, dirs, settings, registry, host: OnceCell::new() })
    }

    pub async fn host(&self) -> Result<&PluginHost, Error> {
        Ok(self.host.get_or_try_init(|| async { PluginHost::new(self.dirs.compiled()) }).await?)
    }

    /// Loads a plugin by id into a fresh instance.
    pub async fn load_plugin(&self, id: &str) -> Result<PluginInstance, Error> {
        let Some(source) = self.registry.get(id) else {
            return Err(match self.registry.unusable(id) {
                Some(u) => Error::PluginNotInstalled { id: id.to_string(), reason: u.reason, hint: u.hint },
                None => Error::unknown_runtime(id, self.registry.ids()),
            });
        };
        let host = self.host().await?;
        Ok(host.instantiate(&source, self.settings.limits_for(id)).await?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn plugin_api_matches_the_wit_package() {
        let wit = include_str!("../../wit/since_v0.2.0/runtime.wit");
        assert!(wit.contains(&format!("package {};", super::PLUGIN_API)));
        assert!(super::LONG_VERSION.contains(super::PLUGIN_API));
        for api in crate::plugin::ApiVersion::ALL {
            assert!(super::LONG_VERSION.contains(&api.to_string()), "{api} is listed");
        }
        assert_eq!(crate::plugin::ApiVersion::NEWEST.to_string(), super::PLUGIN_API);
    }
}
