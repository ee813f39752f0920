//! The plugins alca knows: the built-ins and those installed with consent
//! under the plugin directory (`$XDG_DATA_HOME/alca/plugins/<id>/`, see
//! [`crate::installed`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::installed::{self, Consent};
use crate::plugin::{ComponentSource, Manifest, Origin, PluginSource};

/// A plugin directory alca will not load, and why.
#[derive(Debug, Clone)]
pub struct Unusable {
    pub id: String,
    pub dir: PathBuf,
    /// `true` when it was installed (with consent) but has changed since.
    pub installed: bool,
    pub reason: String,
    pub hint: String,
}

pub struct Registry {
    sources: Vec<PluginSource>,
    /// Plugin directories that are not loaded: never installed, or changed
    /// since the user consented.
    pub unusable: Vec<Unusable>,
    /// Installed plugins that could not be used, and why (shown as
    /// warnings).
    pub problems: Vec<String>,
}

impl Registry {
    pub fn load(plugin_dir: Option<&Path>) -> Registry {
        let mut registry = Registry { sources: PluginSource::builtins(), unusable: Vec::new(), problems: Vec::new() };
        let Some(dir) = plugin_dir else { return registry };
        let Ok(entries) = std::fs::read_dir(dir) else { return registry };
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .map(|e| e.path())
            .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .collect();
        dirs.sort();
        for d in dirs {
            let id = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if registry.sources.iter().any(|s| s.id() == id) {
                registry
                    .problems
                    .push(format!("the plugin directory {} is ignored: `{id}` is a built-in plugin's id", d.display()));
                continue;
            }
            match installed::read_consent(&d) {
                Err(why) => registry.unusable.push(Unusable {
                    id: id.clone(),
                    dir: d.clone(),
                    installed: true,
                    reason: why,
                    hint: format!("run `alca plugin remove {id}`, then install it again"),
                }),
                Ok(None) => {
                    if d.join("alca-plugin.toml").exists() {
                        registry.unusable.push(Unusable {
                            id: id.clone(),
                            dir: d.clone(),
                            installed: false,
                            reason: "it was put there by hand and never installed: alca has no record of your consent to its grant".into(),
                            hint: format!(
                                "install it with `alca plugin install <its source directory>` (you will be shown its grant), and remove {}",
                                d.display()
                            ),
                        });
                    }
                }
                Ok(Some(consent)) => match from_consent(&d, &id, consent) {
                    Ok(source) => registry.sources.push(source),
                    Err(reason) => {
                        registry.problems.push(format!("plugin `{id}` is not loaded: {reason}"));
                        registry.unusable.push(Unusable {
                            id: id.clone(),
                            dir: d.clone(),
                            installed: true,
                            reason,
                            hint: format!(
                                "run `alca plugin install <its source>` again to review and consent to what it is now, or `alca plugin remove {id}`"
                            ),
                        });
                    }
                },
            }
        }
        registry
    }

    /// A loadable plugin.
    pub fn get(&self, id: &str) -> Option<&PluginSource> {
        self.sources.iter().find(|s| s.id() == id)
    }

    /// Why `id` is known but not loadable.
    pub fn unusable(&self, id: &str) -> Option<&Unusable> {
        self.unusable.iter().find(|u| u.id == id)
    }

    pub fn all(&self) -> &[PluginSource] {
        &self.sources
    }

    /// Installed (consented) plugins, in id order, after the built-ins.
    pub fn installed(&self) -> impl Iterator<Item = &PluginSource> {
        self.sources.iter().filter(|s| matches!(s.origin, Origin::Installed(_)))
    }

    pub fn ids(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.id().to_string()).collect()
    }
}

/// The installed plugin `consent` describes, if its files are still what
/// the user consented to.
fn from_consent(dir: &Path, id: &str, consent: Consent) -> Result<PluginSource, String> {
    if consent.id != id {
        return Err(format!("its consent record names plugin `{}`", consent.id));
    }
    let plain =
        |p: &Path| !p.as_os_str().is_empty() && p.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if !plain(Path::new(&consent.dir)) || !plain(&consent.component) {
        return Err("its consent record names files outside its directory".into());
    }
    let version_dir = dir.join(&consent.dir);
    let manifest_path = version_dir.join("alca-plugin.toml");
    let bytes = crate::fsutil::read_regular(&manifest_path, crate::plugin::manifest::MAX_MANIFEST_BYTES, false)
        .map_err(|e| format!("cannot read {}: {e}", manifest_path.display()))?;
    if crate::plugin::cache::sha256_hex(&bytes) != consent.manifest_sha256 {
        return Err(format!(
            "its manifest {} changed after you installed it, so its grant may not be what you consented to",
            manifest_path.display()
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| "its manifest is not UTF-8".to_string())?;
    let manifest = Manifest::parse(&text, &manifest_path.display().to_string()).map_err(|e| e.to_string())?;
    if manifest.id != id {
        return Err(format!("its manifest says its id is `{}`", manifest.id));
    }
    Ok(PluginSource {
        manifest: Arc::new(manifest),
        component: ComponentSource::File(version_dir.join(&consent.component)),
        origin: Origin::Installed(manifest_path),
        consent: Some(Arc::new(consent)),
    })
}
