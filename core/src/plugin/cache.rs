//! Compiled components on disk, so no command pays for a JIT compile twice.
//!
//! An entry is native code that alca runs without recompiling it, so it is
//! trusted only as far as the place it comes from:
//! * the cache directory (and its parent) must belong to the user and be
//!   private; otherwise alca compiles in memory and says how to fix it;
//! * an entry must be a regular file owned by the user and writable by no
//!   one else; otherwise it is ignored and rewritten;
//! * an entry is bound to the sha256 of the component it was compiled from
//!   (in its name and in its trailer), so a digest pin cannot be bypassed by
//!   an entry compiled from something else.
//!
//! Key: the component's sha256 and the engine's compatibility hash (wasmtime
//! version, configuration, CPU features). Entries are written atomically and
//! carry a trailer (magic, the component's digest, length, CRC-32), so a
//! truncated or corrupted entry is detected before wasmtime sees it;
//! anything that fails to load is recompiled and rewritten silently.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"ALCACWS2";
const TRAILER: usize = 8 + 32 + 8 + 4;
/// A compiled entry larger than this is not one of ours.
const MAX_ENTRY_BYTES: u64 = 1024 * 1024 * 1024;

/// A std `Hasher` over sha256, so the key does not depend on Rust's
/// unspecified `DefaultHasher`.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn engine_hash(engine: &Engine) -> String {
    let mut h = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Where a component's compiled form lives in `dir`.
pub fn entry_path(dir: &Path, sha256: &str, engine: &Engine) -> PathBuf {
    dir.join(format!("{sha256}-{}.cwasm", engine_hash(engine)))
}

/// What happened when a component was loaded, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    /// Compiled; the entry was missing.
    Compiled,
    /// Compiled; the entry was unreadable, stale or corrupt.
    Recompiled,
    /// Compiled; no cache directory could be used.
    Uncached,
}

/// Why `dir` cannot hold compiled code: it (or its parent) is not the
/// user's, or not private. Creates it (mode 0700) when missing.
pub fn unusable(dir: &Path) -> Option<String> {
    if let Err(e) = crate::fsutil::create_private_dir(dir) {
        return Some(format!("it cannot be created: {e}"));
    }
    let meta = |d: &Path| match std::fs::symlink_metadata(d) {
        Ok(m) if m.is_dir() => Ok(m),
        Ok(_) => Err(format!("{} is not a directory", d.display())),
        Err(e) => Err(format!("{} cannot be read: {e}", d.display())),
    };
    match meta(dir) {
        Err(why) => return Some(why),
        Ok(m) => {
            if let Some(why) = crate::fsutil::not_private(&m) {
                return Some(why);
            }
        }
    }
    // Whoever can rename entries of the parent can swap the directory.
    if let Some(parent) = dir.parent() {
        use std::os::unix::fs::MetadataExt;
        match meta(parent) {
            Err(why) => return Some(why),
            Ok(m) => {
                let me = rustix::process::geteuid().as_raw();
                if m.uid() != me && m.uid() != 0 {
                    return Some(format!("{} is owned by uid {}", parent.display(), m.uid()));
                }
                let others_write = m.mode() & 0o022 != 0;
                let sticky = m.mode() & 0o1000 != 0;
                if others_write && !sticky {
                    return Some(format!("others can write to {}", parent.display()));
                }
            }
        }
    }
    None
}

/// Loads `bytes` through the cache in `dir` (or compiles without one).
pub fn load(
    engine: &Engine,
    bytes: &[u8],
    sha256: &str,
    dir: Option<&Path>,
) -> wasmtime::Result<(Component, CacheOutcome)> {
    let dir = dir.filter(|d| match unusable(d) {
        None => true,
        Some(why) => {
            warn_once(format!(
                "not using the compiled-plugin cache {}: {why}; plugins are compiled at every start until it is fixed (e.g. `chmod 700 {}`, or remove it)",
                d.display(),
                d.display()
            ));
            false
        }
    });
    let Some(dir) = dir else {
        return Ok((Component::new(engine, bytes)?, CacheOutcome::Uncached));
    };
    let path = entry_path(dir, sha256, engine);
    let mut outcome = CacheOutcome::Compiled;
    let reading = std::time::Instant::now();
    match read_entry(&path) {
        Ok(data) => match verify(&data, sha256) {
            Some(code) => {
                let read = reading.elapsed();
                let deserializing = std::time::Instant::now();
                // SAFETY: the entry is a regular file owned by the user and
                // writable by no one else, in a directory private to the user;
                // it was written by `store` below from wasmtime's own
                // serialization of the component whose sha256 is in its name
                // and trailer, and its checksum matches; wasmtime itself
                // rejects other versions and configurations.
                let component = unsafe { Component::deserialize(engine, code) };
                crate::timing::took(
                    format_args!(
                        "compiled code ({} KiB) read and verified in {:.2} ms, then deserialized",
                        data.len() / 1024,
                        crate::timing::ms(read)
                    ),
                    deserializing.elapsed(),
                );
                match component {
                    Ok(component) => return Ok((component, CacheOutcome::Hit)),
                    Err(e) => {
                        tracing::debug!("cached {} is not loadable ({e}); recompiling", path.display());
                        outcome = CacheOutcome::Recompiled;
                    }
                }
            }
            None => {
                tracing::debug!("cached {} is corrupt; recompiling", path.display());
                outcome = CacheOutcome::Recompiled;
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::debug!("not using {}: {e}; recompiling", path.display());
            outcome = CacheOutcome::Recompiled;
            // Whatever is there (a FIFO, a symlink, a file of someone
            // else's) is replaced by the rename in `store`.
        }
    }
    let started = std::time::Instant::now();
    let component = Component::new(engine, bytes)?;
    tracing::debug!("compiled component {sha256} ({} KiB) in {:.0?}", bytes.len() / 1024, started.elapsed());
    match component.serialize() {
        Ok(code) => {
            if let Err(e) = store(dir, &path, &code, sha256) {
                tracing::debug!("cannot write {}: {e}", path.display());
            }
        }
        Err(e) => tracing::debug!("cannot serialize component {sha256}: {e}"),
    }
    Ok((component, outcome))
}

fn warn_once(message: String) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| tracing::warn!("{message}"));
}

/// An entry's bytes, if it is a regular file of the user's that no one
/// else can write.
fn read_entry(path: &Path) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::symlink_metadata(path)?;
    if let Some(why) = crate::fsutil::not_private(&meta) {
        return Err(std::io::Error::other(why));
    }
    crate::fsutil::read_regular(path, MAX_ENTRY_BYTES, false)
}

fn digest_bytes(sha256: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if sha256.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(sha256.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The serialized code, if `data` is a complete, uncorrupted entry compiled
/// from the component with digest `sha256`.
fn verify<'a>(data: &'a [u8], sha256: &str) -> Option<&'a [u8]> {
    let split = data.len().checked_sub(TRAILER)?;
    let (code, trailer) = data.split_at(split);
    let (magic, rest) = trailer.split_at(8);
    let (digest, rest) = rest.split_at(32);
    let (len, crc) = rest.split_at(8);
    let len = u64::from_le_bytes(len.try_into().ok()?);
    let crc = u32::from_le_bytes(crc.try_into().ok()?);
    let ok = magic == MAGIC
        && Some(digest) == digest_bytes(sha256).as_ref().map(|d| &d[..])
        && len == code.len() as u64
        && crc32fast::hash(code) == crc;
    ok.then_some(code)
}

fn store(dir: &Path, path: &Path, code: &[u8], sha256: &str) -> std::io::Result<()> {
    let digest = digest_bytes(sha256).ok_or_else(|| std::io::Error::other("not a sha256 digest"))?;
    let mut data = Vec::with_capacity(code.len() + TRAILER);
    data.extend_from_slice(code);
    data.extend_from_slice(MAGIC);
    data.extend_from_slice(&digest);
    data.extend_from_slice(&(code.len() as u64).to_le_bytes());
    data.extend_from_slice(&crc32fast::hash(code).to_le_bytes());
    crate::fsutil::create_private_dir(dir)?;
    crate::fsutil::write_atomic(path, &data)
}

/// Removes the entries in `dir` compiled by another engine (another
/// wasmtime version or other settings: they can never be loaded again) and
/// those of the components `drop` (sha256s of removed or replaced
/// plugins). Returns how many.
pub fn prune(dir: &Path, drop: &[String], engine: &Engine) -> usize {
    let current = engine_hash(engine);
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((sha, hash)) = name.strip_suffix(".cwasm").and_then(|n| n.split_once('-')) else { continue };
        if !drop.iter().any(|d| d == sha) && hash == current {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed += 1,
            Err(e) => tracing::debug!("cannot remove {}: {e}", entry.path().display()),
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_only_current_entries_of_known_components() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let keep = SHA.to_string();
        let other = "ff".repeat(32);
        let current = entry_path(dir.path(), &keep, &engine);
        let stale_engine = dir.path().join(format!("{keep}-0000000000000000.cwasm"));
        let removed_plugin = entry_path(dir.path(), &other, &engine);
        let unrelated = dir.path().join("notes.txt");
        for p in [&current, &stale_engine, &removed_plugin, &unrelated] {
            std::fs::write(p, b"x").unwrap();
        }
        assert_eq!(prune(dir.path(), &[other], &engine), 2);
        assert!(current.exists() && unrelated.exists());
        assert!(!stale_engine.exists() && !removed_plugin.exists());
    }

    const SHA: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn trailer_round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.cwasm");
        store(dir.path(), &path, b"hello world", SHA).unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(verify(&data, SHA), Some(&b"hello world"[..]));
        let mut flipped = data.clone();
        flipped[3] ^= 1;
        assert_eq!(verify(&flipped, SHA), None);
        assert_eq!(verify(&data[..data.len() - 1], SHA), None);
        assert_eq!(verify(&data[5..], SHA), None);
        assert_eq!(verify(b"", SHA), None);
        // Bound to the component it was compiled from.
        let other = SHA.replace("00", "ff");
        assert_eq!(verify(&data, &other), None);
    }

    #[test]
    fn only_private_directories_and_entries_are_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("alca/compiled");
        assert_eq!(unusable(&dir), None, "created private");
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(unusable(&dir).unwrap().contains("permissions are 755"), "{:?}", unusable(&dir));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(dir.parent().unwrap(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(unusable(&dir).is_some(), "a parent writable by others");
        std::fs::set_permissions(dir.parent().unwrap(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(unusable(&dir), None, "a sticky parent like /tmp is fine");
        std::fs::set_permissions(dir.parent().unwrap(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(unusable(&dir), None, "a parent readable by others is fine");

        let entry = dir.join("e.cwasm");
        store(&dir, &entry, b"code", SHA).unwrap();
        assert!(read_entry(&entry).is_ok());
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(read_entry(&entry).is_err(), "writable by others");
        std::fs::remove_file(&entry).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", &entry).unwrap();
        assert!(read_entry(&entry).is_err(), "a symlink");
    }
}
