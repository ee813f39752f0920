//! `alca plugin install` and `alca plugin remove`.
//!
//! Installing is two steps, so that the front end can ask the user in
//! between: [`install_prepare`] reads the plugin (a directory or a `.tar.gz`
//! archive), checks its digests and that its component implements a
//! supported contract and imports nothing unknown, compiles it into the
//! cache, and says whether the grant needs the user's consent;
//! [`install_commit`] then copies the files into a staging directory,
//! renames it into place and records the consent last, atomically. An
//! interrupted install leaves the previous one as it was.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::installed::{self, Consent, GrantRecord};
use crate::plugin::{CacheOutcome, MAX_COMPONENT_BYTES, Manifest, cache};
use crate::{Alca, Error};

/// A plugin read and checked, waiting for the user's consent.
pub struct Prepared {
    pub manifest: Arc<Manifest>,
    /// Where it was read from.
    pub source: PathBuf,
    pub component_sha256: String,
    pub component_bytes: u64,
    /// The contract version it implements (`0.1.0`).
    pub api: &'static str,
    pub grant: GrantRecord,
    /// The consent on record for this id, if it was installed before.
    pub previous: Option<Consent>,
    /// What the grant asks beyond the previous consent (all of it on a
    /// first install).
    pub wider: Vec<String>,
    pub compiled: CacheOutcome,
    pub compile_time: Duration,
    manifest_bytes: Vec<u8>,
    component: Vec<u8>,
    // Keeps an extracted archive until the install is done.
    _extracted: Option<tempfile::TempDir>,
}

impl Prepared {
    /// Must the user be asked? Yes on a first install and whenever the
    /// grant asks for more than what was consented to.
    pub fn needs_consent(&self) -> bool {
        self.previous.is_none() || !self.wider.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct InstallReport {
    pub id: String,
    pub version: String,
    pub api: String,
    pub directory: PathBuf,
    pub component_sha256: String,
    /// The version it replaced, if any.
    pub replaced: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RemoveReport {
    pub id: String,
    pub version: Option<String>,
    pub directory: PathBuf,
    /// Compiled cache entries removed.
    pub cache_entries: usize,
}

/// The most an archive may unpack to, and the most entries it may have.
const MAX_ARCHIVE_BYTES: u64 = 1024 * 1024 * 1024;
const MAX_ARCHIVE_ENTRIES: usize = 10_000;

fn install_error(source: &Path, message: impl Into<String>, hint: Option<&str>) -> Error {
    Error::PluginInstall { from: source.to_path_buf(), message: message.into(), hint: hint.map(str::to_string) }
}

/// Reads and checks the plugin at `path` (see the module's documentation).
/// `sha256` is the component digest the user expects, if they know it.
pub async fn install_prepare(alca: &Alca, path: &Path, sha256: Option<&str>) -> Result<Prepared, Error> {
    let source = alca.cwd.join(path);
    let meta = std::fs::metadata(&source).map_err(|e| install_error(&source, format!("cannot read it: {e}"), None))?;
    let (dir, extracted) = if meta.is_dir() {
        (source.clone(), None)
    } else if meta.is_file() {
        let temp = extract(&source)?;
        let root = plugin_root(temp.path()).ok_or_else(|| {
            install_error(
                &source,
                "the archive holds no alca-plugin.toml (at its top or in its single top-level directory)",
                Some("an archive of a plugin's directory holds its alca-plugin.toml and its component"),
            )
        })?;
        (root, Some(temp))
    } else {
        return Err(install_error(&source, "it is neither a directory nor a .tar.gz archive", None));
    };

    let manifest_path = dir.join("alca-plugin.toml");
    let manifest_bytes =
        crate::fsutil::read_regular(&manifest_path, crate::plugin::manifest::MAX_MANIFEST_BYTES, false).map_err(
            |e| {
                install_error(
                    &source,
                    format!("cannot read {}: {e}", manifest_path.display()),
                    Some("a plugin's directory holds its manifest, alca-plugin.toml (see docs/plugins/manifest.md)"),
                )
            },
        )?;
    let text = String::from_utf8(manifest_bytes.clone())
        .map_err(|_| install_error(&source, "its alca-plugin.toml is not UTF-8 text", None))?;
    let manifest = Manifest::parse(&text, &manifest_path.display().to_string())
        .map_err(|e| install_error(&source, e.to_string(), Some("fix the manifest (docs/plugins/manifest.md)")))?;
    if alca.registry.is_builtin(&manifest.id) {
        return Err(install_error(
            &source,
            format!("`{}` is the id of a built-in plugin", manifest.id),
            Some("give the plugin another id in its alca-plugin.toml"),
        ));
    }
    let relative = manifest.component.clone().unwrap_or_else(|| PathBuf::from("plugin.wasm"));
    let component_path = dir.join(&relative);
    if let (Ok(root), Ok(real)) = (dir.canonicalize(), component_path.canonicalize())
        && !real.starts_with(&root)
    {
        return Err(install_error(
            &source,
            format!(
                "its component {} leads outside the plugin's directory (to {})",
                component_path.display(),
                real.display()
            ),
            None,
        ));
    }
    let component = crate::fsutil::read_regular(&component_path, MAX_COMPONENT_BYTES, false).map_err(|e| {
        install_error(
            &source,
            format!("cannot read its component {}: {e}", component_path.display()),
            manifest.build.as_ref().map(|_| "build it first: `alca plugin build`"),
        )
    })?;
    let component_sha256 = cache::sha256_hex(&component);
    for (what, expected) in [("the manifest's `sha256`", manifest.sha256.as_deref()), ("--sha256", sha256)] {
        if let Some(expected) = expected
            && !expected.eq_ignore_ascii_case(&component_sha256)
        {
            return Err(install_error(
                &source,
                format!("its component's sha256 is {component_sha256}, but {what} says {expected}"),
                Some("the component is not the one you expected: get it again from its author, or check the digest"),
            ));
        }
    }

    let host = alca.host().await?;
    let started = Instant::now();
    let (api, compiled) = host.check_component(&component, &component_sha256).map_err(|message| {
        install_error(
            &source,
            format!("{} is not a plugin alca can load: {message}", component_path.display()),
            Some("build it against a supported version of the contract (docs/plugins/compatibility.md)"),
        )
    })?;
    let compile_time = started.elapsed();

    let grant = GrantRecord::of(&manifest);
    let previous = alca
        .dirs
        .plugins()
        .and_then(|p| installed::read_consent(&installed::plugin_dir(&p, &manifest.id)).ok().flatten());
    let wider = match &previous {
        Some(p) => p.grant.missing(&grant),
        None => Vec::new(),
    };
    Ok(Prepared {
        manifest: Arc::new(manifest),
        source,
        component_bytes: component.len() as u64,
        component_sha256,
        api: api.version(),
        grant,
        previous,
        wider,
        compiled,
        compile_time,
        manifest_bytes,
        component,
        _extracted: extracted,
    })
}

/// Installs what [`install_prepare`] checked; the caller has the user's
/// consent (or none is needed).
pub async fn install_commit(alca: &Alca, prepared: Prepared) -> Result<InstallReport, Error> {
    let plugins = alca.dirs.plugins().ok_or_else(|| {
        install_error(&prepared.source, "alca has no data directory to install into (HOME is not set)", None)
    })?;
    let id = &prepared.manifest.id;
    let dir = installed::plugin_dir(&plugins, id);
    let io = |what: &str, e: std::io::Error| Error::io(format!("cannot install plugin `{id}`: {what}"), e);
    crate::fsutil::create_private_dir(&plugins).map_err(|e| io(&format!("cannot create {}", plugins.display()), e))?;
    std::fs::create_dir_all(&dir).map_err(|e| io(&format!("cannot create {}", dir.display()), e))?;

    let manifest_sha256 = cache::sha256_hex(&prepared.manifest_bytes);
    let version_dir = installed::version_dir_name(&manifest_sha256, &prepared.component_sha256);
    let relative = prepared.manifest.component.clone().unwrap_or_else(|| PathBuf::from("plugin.wasm"));

    // Stage the very bytes that were checked, then move them into place.
    let staging = tempfile::Builder::new()
        .prefix(installed::STAGING_PREFIX)
        .tempdir_in(&dir)
        .map_err(|e| io("cannot create a staging directory", e))?;
    let write = |path: &Path, bytes: &[u8]| -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut f = std::fs::File::create(path)?;
        std::io::Write::write_all(&mut f, bytes)?;
        f.sync_all()
    };
    write(&staging.path().join("alca-plugin.toml"), &prepared.manifest_bytes)
        .map_err(|e| io("cannot write its manifest", e))?;
    write(&staging.path().join(&relative), &prepared.component).map_err(|e| io("cannot write its component", e))?;
    let target = dir.join(&version_dir);
    if target.exists() {
        // The same version, installed before: replace it with what was checked now.
        std::fs::remove_dir_all(&target).map_err(|e| io(&format!("cannot replace {}", target.display()), e))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, &target).map_err(|e| io(&format!("cannot move it into {}", target.display()), e))?;

    let consent = Consent {
        id: id.clone(),
        version: prepared.manifest.version.clone(),
        dir: version_dir.clone(),
        component: relative,
        component_sha256: prepared.component_sha256.clone(),
        manifest_sha256,
        api: prepared.api.to_string(),
        grant: prepared.grant.clone(),
        consented_at: jiff::Timestamp::now().to_string(),
        alca_version: crate::VERSION.to_string(),
    };
    installed::write_consent(&dir, &consent).map_err(|e| io("cannot record your consent", e))?;
    installed::sweep(&dir, Some(&version_dir));
    let replaced: Vec<String> = prepared.previous.iter().map(|p| p.component_sha256.clone()).collect();
    prune_cache(alca, &replaced).await;
    Ok(InstallReport {
        id: id.clone(),
        version: consent.version,
        api: consent.api,
        directory: target,
        component_sha256: consent.component_sha256,
        replaced: prepared.previous.map(|p| p.version),
    })
}

/// Removes an installed plugin: its consent first (from then on it is not
/// loaded), then its files and its compiled code. Also cleans a directory
/// that was never installed.
pub async fn plugin_remove(alca: &Alca, id: &str) -> Result<RemoveReport, Error> {
    let Some(plugins) = alca.dirs.plugins() else {
        return Err(Error::unknown_runtime_arg(id, alca.registry.ids()));
    };
    if alca.registry.is_builtin(id) {
        return Err(Error::PluginInstall {
            from: PathBuf::from(id),
            message: format!("`{id}` is built into alca and cannot be removed"),
            hint: Some("choose another runtime with `runtime = \"...\"` in .alca.toml".into()),
        });
    }
    let dir = installed::plugin_dir(&plugins, id);
    let is_id = !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !is_id || !dir.is_dir() {
        return Err(Error::unknown_runtime_arg(id, alca.registry.ids()));
    }
    let consent = installed::read_consent(&dir).ok().flatten();
    let consent_file = dir.join(installed::CONSENT_FILE);
    if consent_file.exists() {
        std::fs::remove_file(&consent_file)
            .map_err(|e| Error::io(format!("cannot remove {}", consent_file.display()), e))?;
    }
    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(format!("cannot remove {}", dir.display()), e))?;
    let drop: Vec<String> = consent.iter().map(|c| c.component_sha256.clone()).collect();
    let cache_entries = prune_cache(alca, &drop).await;
    Ok(RemoveReport { id: id.to_string(), version: consent.map(|c| c.version), directory: dir, cache_entries })
}

/// Removes compiled entries of other engine versions, and those of the
/// components in `drop` (a removed or replaced plugin's) unless a plugin
/// alca knows still uses them. Returns how many.
pub async fn prune_cache(alca: &Alca, drop: &[String]) -> usize {
    let Some(dir) = alca.dirs.compiled() else { return 0 };
    let Ok(host) = alca.host().await else { return 0 };
    // Installed plugins as they are on disk now, not as alca saw them when
    // it started.
    let registry = crate::registry::Registry::load(alca.dirs.plugins().as_deref());
    let used: Vec<String> =
        registry.installed().filter_map(|s| s.consent.as_ref().map(|c| c.component_sha256.clone())).collect();
    let drop: Vec<String> = drop.iter().filter(|d| !used.contains(d)).cloned().collect();
    cache::prune(&dir, &drop, host.engine())
}

/// Unpacks a `.tar.gz` into a temporary directory: regular files and
/// directories only, relative paths without `..`, bounded in size.
fn extract(archive: &Path) -> Result<tempfile::TempDir, Error> {
    let bad =
        |m: String| install_error(archive, m, Some("an archive of a plugin holds its directory's regular files only"));
    let file = std::fs::File::open(archive).map_err(|e| bad(format!("cannot open it: {e}")))?;
    let temp = tempfile::Builder::new()
        .prefix("alca-plugin-")
        .tempdir()
        .map_err(|e| Error::io("cannot create a temporary directory", e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let entries = tar.entries().map_err(|e| bad(format!("it is not a .tar.gz archive: {e}")))?;
    let mut total = 0u64;
    for (n, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| bad(format!("it is not a readable .tar.gz archive: {e}")))?;
        if n >= MAX_ARCHIVE_ENTRIES {
            return Err(bad(format!("it has more than {MAX_ARCHIVE_ENTRIES} entries")));
        }
        let path = entry.path().map_err(|e| bad(format!("an entry has an unreadable name: {e}")))?.into_owned();
        let shown = path.display().to_string();
        let relative: PathBuf = path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect();
        if relative.as_os_str().is_empty() {
            continue;
        }
        if !relative.components().all(|c| matches!(c, std::path::Component::Normal(_))) {
            return Err(bad(format!("its entry `{shown}` leads outside the archive's directory")));
        }
        let kind = entry.header().entry_type();
        let target = temp.path().join(&relative);
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| Error::io("cannot unpack the archive", e))?;
        } else if kind.is_file() {
            total += entry.header().size().unwrap_or(u64::MAX);
            if total > MAX_ARCHIVE_BYTES {
                return Err(bad(format!("it unpacks to more than {} MiB", MAX_ARCHIVE_BYTES >> 20)));
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot unpack the archive", e))?;
            }
            let mut out = std::fs::File::create(&target).map_err(|e| Error::io("cannot unpack the archive", e))?;
            let copied = std::io::copy(&mut (&mut entry).take(MAX_ARCHIVE_BYTES), &mut out)
                .map_err(|e| bad(format!("cannot unpack `{shown}`: {e}")))?;
            if copied != entry.header().size().unwrap_or(copied) {
                return Err(bad(format!("its entry `{shown}` is truncated")));
            }
        } else {
            return Err(bad(format!(
                "its entry `{shown}` is a {}, not a regular file or directory",
                match kind {
                    tar::EntryType::Symlink => "symbolic link",
                    tar::EntryType::Link => "hard link",
                    tar::EntryType::Fifo => "FIFO",
                    tar::EntryType::Char | tar::EntryType::Block => "device",
                    _ => "special entry",
                }
            )));
        }
    }
    Ok(temp)
}

/// The directory of an unpacked archive that holds the manifest: its top,
/// or its single top-level directory.
fn plugin_root(top: &Path) -> Option<PathBuf> {
    if top.join("alca-plugin.toml").is_file() {
        return Some(top.to_path_buf());
    }
    let entries: Vec<_> = std::fs::read_dir(top).ok()?.flatten().collect();
    match entries.as_slice() {
        [only] if only.path().join("alca-plugin.toml").is_file() => Some(only.path()),
        _ => None,
    }
}
