//! The plugins alca knows: the built-ins and those installed with consent
//! under the plugin directory (`$XDG_DATA_HOME/alca/plugins/<id>/`, see
//! [`crate::installed`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

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

/// The plugins alca knows. Nothing is read until asked: looking up one
/// plugin by id reads only that plugin (a built-in's manifest, or one
/// installed directory), so a command's cost does not grow with the number
/// of plugins installed; listing them all reads the plugin directory once.
pub struct Registry {
    plugin_dir: Option<PathBuf>,
    scan: OnceLock<Scan>,
}

/// Every plugin, once the plugin directory has been read.
struct Scan {
    sources: Vec<PluginSource>,
    unusable: Vec<Unusable>,
}

/// What one entry of the plugin directory is.
enum Entry {
    Loadable(PluginSource),
    Unusable(Unusable),
    /// Not a plugin directory at all.
    Nothing,
}

impl Registry {
    /// The built-ins, and the plugins installed under `plugin_dir` (read
    /// when first needed).
    pub fn load(plugin_dir: Option<&Path>) -> Registry {
        Registry { plugin_dir: plugin_dir.map(Path::to_path_buf), scan: OnceLock::new() }
    }

    fn scan(&self) -> &Scan {
        self.scan.get_or_init(|| {
            let mut scan = Scan { sources: PluginSource::builtins(), unusable: Vec::new() };
            let Some(dir) = &self.plugin_dir else { return scan };
            let Ok(entries) = std::fs::read_dir(dir) else { return scan };
            let mut ids: Vec<String> = entries
                .flatten()
                .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| !n.starts_with('.'))
                .collect();
            ids.sort();
            for id in ids {
                match entry(dir, &id) {
                    Entry::Loadable(source) => scan.sources.push(source),
                    Entry::Unusable(u) => scan.unusable.push(u),
                    Entry::Nothing => {}
                }
            }
            scan
        })
    }

    /// The installed plugin `id` alone, without reading the others.
    fn installed_entry(&self, id: &str) -> Entry {
        if let Some(scan) = self.scan.get() {
            if let Some(s) = scan.sources.iter().find(|s| s.id() == id) {
                return Entry::Loadable(s.clone());
            }
            return scan.unusable.iter().find(|u| u.id == id).cloned().map_or(Entry::Nothing, Entry::Unusable);
        }
        // Only a plain directory name can be an installed plugin's id, and
        // only a real directory (not a symlink) is one, as when listing.
        let plain = !id.is_empty() && !id.starts_with('.') && !id.contains(['/', '\\']) && id != "..";
        match &self.plugin_dir {
            Some(dir) if plain && std::fs::symlink_metadata(dir.join(id)).is_ok_and(|m| m.is_dir()) => entry(dir, id),
            _ => Entry::Nothing,
        }
    }

    /// A loadable plugin.
    pub fn get(&self, id: &str) -> Option<PluginSource> {
        if let Some(builtin) = PluginSource::builtin(id) {
            return Some(builtin);
        }
        match self.installed_entry(id) {
            Entry::Loadable(source) => Some(source),
            _ => None,
        }
    }

    /// Whether `id` names a plugin, loadable or not (one look at its
    /// directory).
    pub fn knows(&self, id: &str) -> bool {
        PluginSource::is_builtin(id) || !matches!(self.installed_entry(id), Entry::Nothing)
    }

    /// Whether `id` is a built-in plugin's (no manifest is read).
    pub fn is_builtin(&self, id: &str) -> bool {
        PluginSource::is_builtin(id)
    }

    /// Why `id` is known but not loadable.
    pub fn unusable(&self, id: &str) -> Option<Unusable> {
        if self.is_builtin(id) {
            return None;
        }
        match self.installed_entry(id) {
            Entry::Unusable(u) => Some(u),
            _ => None,
        }
    }

    /// Every plugin directory alca will not load: never installed, changed
    /// since the user consented, or named like a built-in.
    pub fn all_unusable(&self) -> &[Unusable] {
        &self.scan().unusable
    }

    pub fn all(&self) -> &[PluginSource] {
        &self.scan().sources
    }

    /// Installed (consented) plugins, in id order, after the built-ins.
    pub fn installed(&self) -> impl Iterator<Item = &PluginSource> {
        self.all().iter().filter(|s| matches!(s.origin, Origin::Installed(_)))
    }

    pub fn ids(&self) -> Vec<String> {
        self.all().iter().map(|s| s.id().to_string()).collect()
    }
}

/// What the directory `dir/id` holds.
fn entry(dir: &Path, id: &str) -> Entry {
    let d = dir.join(id);
    if PluginSource::is_builtin(id) {
        return Entry::Unusable(Unusable {
            id: id.to_string(),
            dir: d.clone(),
            installed: false,
            reason: format!("it is ignored: `{id}` is a built-in plugin's id"),
            hint: format!("remove {}", d.display()),
        });
    }
    match installed::read_consent(&d) {
        Err(why) => Entry::Unusable(Unusable {
            id: id.to_string(),
            dir: d.clone(),
            installed: true,
            reason: why,
            hint: format!("run `alca plugin remove {id}`, then install it again"),
        }),
        Ok(None) if d.join("alca-plugin.toml").exists() => Entry::Unusable(Unusable {
            id: id.to_string(),
            dir: d.clone(),
            installed: false,
            reason: "it was put there by hand and never installed: alca has no record of your consent to its grant"
                .into(),
            hint: format!(
                "install it with `alca plugin install <its source directory>` (you will be shown its grant), and remove {}",
                d.display()
            ),
        }),
        Ok(None) => Entry::Nothing,
        Ok(Some(consent)) => match from_consent(&d, id, consent) {
            Ok(source) => Entry::Loadable(source),
            Err(reason) => Entry::Unusable(Unusable {
                id: id.to_string(),
                dir: d.clone(),
                installed: true,
                reason,
                hint: format!(
                    "run `alca plugin install <its source>` again to review and consent to what it is now, or `alca plugin remove {id}`"
                ),
            }),
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        // Put there by hand (no consent record), and one named like a built-in.
        for id in ["byhand", "docker"] {
            std::fs::create_dir(dir.path().join(id)).unwrap();
            std::fs::write(dir.path().join(id).join("alca-plugin.toml"), "id = \"x\"\n").unwrap();
        }
        dir
    }

    #[test]
    fn looking_up_one_plugin_reads_no_other() {
        let dir = plugin_dir();
        let registry = Registry::load(Some(dir.path()));
        let docker = registry.get("docker").expect("the built-in");
        assert!(matches!(docker.origin, Origin::Builtin));
        assert!(registry.is_builtin("podman") && !registry.is_builtin("byhand"));
        let u = registry.unusable("byhand").expect("known, not loadable");
        assert!(u.reason.contains("never installed"), "{}", u.reason);
        assert!(registry.get("byhand").is_none());
        assert!(registry.get("nowhere").is_none() && registry.unusable("nowhere").is_none());
        assert!(registry.knows("docker") && registry.knows("byhand") && !registry.knows("nowhere"));
        assert!(registry.scan.get().is_none(), "the plugin directory was listed");
    }

    #[test]
    fn only_plain_directory_names_are_ids() {
        let outer = tempfile::tempdir().unwrap();
        let dir = outer.path().join("plugins");
        std::fs::create_dir(&dir).unwrap();
        std::fs::create_dir(outer.path().join("escaped")).unwrap();
        std::fs::write(outer.path().join("escaped/alca-plugin.toml"), "id = \"x\"\n").unwrap();
        // A symlink to a plugin directory is not one (listing skips it too).
        std::os::unix::fs::symlink(outer.path().join("escaped"), dir.join("linked")).unwrap();
        let registry = Registry::load(Some(&dir));
        for id in ["../escaped", "..", ".", "", ".hidden", "a/b", "linked"] {
            assert!(registry.get(id).is_none() && registry.unusable(id).is_none() && !registry.knows(id), "{id:?}");
        }
        assert!(registry.all_unusable().is_empty() && registry.installed().next().is_none());
    }

    #[test]
    fn listing_all_reports_what_is_not_loaded() {
        let dir = plugin_dir();
        let registry = Registry::load(Some(dir.path()));
        assert_eq!(registry.ids(), ["docker", "podman", "apple"]);
        let unusable: Vec<(&str, bool)> =
            registry.all_unusable().iter().map(|u| (u.id.as_str(), u.installed)).collect();
        assert_eq!(unusable, [("byhand", false), ("docker", false)]);
        let shadow = &registry.all_unusable()[1];
        assert!(shadow.reason.contains("built-in plugin's id"), "{}", shadow.reason);
        // After the scan, single lookups answer from it.
        assert!(registry.unusable("byhand").is_some());
        assert!(matches!(registry.get("docker").map(|s| s.origin), Some(Origin::Builtin)));
    }
}
