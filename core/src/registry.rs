//! The plugins alca knows: the built-ins and those installed in the plugin
//! directory (`$XDG_DATA_HOME/alca/plugins/<id>/alca-plugin.toml`).

use std::path::Path;

use crate::plugin::{Origin, PluginSource};

pub struct Registry {
    sources: Vec<PluginSource>,
    /// Installed plugins that could not be used, and why.
    pub problems: Vec<String>,
}

impl Registry {
    pub fn load(plugin_dir: Option<&Path>) -> Registry {
        let mut sources = PluginSource::builtins();
        let mut problems = Vec::new();
        if let Some(dir) = plugin_dir
            && let Ok(entries) = std::fs::read_dir(dir)
        {
            let mut dirs: Vec<_> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
            dirs.sort();
            for d in dirs {
                if !d.join("alca-plugin.toml").exists() {
                    continue;
                }
                match PluginSource::from_dir(&d) {
                    Err(e) => problems.push(e.to_string()),
                    Ok(s) => {
                        let dir_name = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                        if let Some(existing) = sources.iter().find(|x| x.id() == s.id()) {
                            let what = match existing.origin {
                                Origin::Builtin => "a built-in plugin",
                                Origin::Installed(_) => "another installed plugin",
                            };
                            problems.push(format!(
                                "plugin in {} is ignored: its id `{}` is already used by {what}",
                                d.display(),
                                s.id()
                            ));
                        } else if dir_name != s.id() {
                            problems.push(format!(
                                "plugin in {} is ignored: its directory must be named after its id `{}`",
                                d.display(),
                                s.id()
                            ));
                        } else {
                            sources.push(s);
                        }
                    }
                }
            }
        }
        Registry { sources, problems }
    }

    pub fn get(&self, id: &str) -> Option<&PluginSource> {
        self.sources.iter().find(|s| s.id() == id)
    }

    pub fn all(&self) -> &[PluginSource] {
        &self.sources
    }

    pub fn ids(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.id().to_string()).collect()
    }
}
