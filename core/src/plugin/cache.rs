//! Compiled components on disk, so no command pays for a JIT compile twice.
//!
//! Key: the component's sha256 and the engine's compatibility hash (wasmtime
//! version, configuration, CPU features). Entries are written atomically and
//! carry a trailer (magic, length, CRC-32), so a truncated or corrupted entry
//! is detected before wasmtime sees it; anything that fails to load is
//! recompiled and rewritten silently.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"ALCACWS1";
const TRAILER: usize = 8 + 8 + 4;

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

/// Loads `bytes` through the cache in `dir` (or compiles without one).
pub fn load(
    engine: &Engine,
    bytes: &[u8],
    sha256: &str,
    dir: Option<&Path>,
) -> wasmtime::Result<(Component, CacheOutcome)> {
    let Some(dir) = dir else {
        return Ok((Component::new(engine, bytes)?, CacheOutcome::Uncached));
    };
    let path = entry_path(dir, sha256, engine);
    let mut outcome = CacheOutcome::Compiled;
    match std::fs::read(&path) {
        Ok(data) => match verify(&data) {
            // SAFETY: the entry was written by `store` below from wasmtime's own
            // serialization of this exact component (its sha256 is in the
            // name), its checksum matches, and the directory is private to the
            // user; wasmtime itself rejects other versions and configurations.
            Some(code) => match unsafe { Component::deserialize(engine, code) } {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(e) => {
                    tracing::debug!("cached {} is not loadable ({e}); recompiling", path.display());
                    outcome = CacheOutcome::Recompiled;
                }
            },
            None => {
                tracing::debug!("cached {} is corrupt; recompiling", path.display());
                outcome = CacheOutcome::Recompiled;
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::debug!("cannot read {}: {e}; recompiling", path.display());
            outcome = CacheOutcome::Recompiled;
        }
    }
    let started = std::time::Instant::now();
    let component = Component::new(engine, bytes)?;
    tracing::debug!("compiled component {sha256} in {:.0?}", started.elapsed());
    match component.serialize() {
        Ok(code) => {
            if let Err(e) = store(dir, &path, &code) {
                tracing::debug!("cannot write {}: {e}", path.display());
            }
        }
        Err(e) => tracing::debug!("cannot serialize component {sha256}: {e}"),
    }
    Ok((component, outcome))
}

/// The serialized code, if `data` is a complete, uncorrupted entry.
fn verify(data: &[u8]) -> Option<&[u8]> {
    let split = data.len().checked_sub(TRAILER)?;
    let (code, trailer) = data.split_at(split);
    let (magic, rest) = trailer.split_at(8);
    let (len, crc) = rest.split_at(8);
    let len = u64::from_le_bytes(len.try_into().ok()?);
    let crc = u32::from_le_bytes(crc.try_into().ok()?);
    (magic == MAGIC && len == code.len() as u64 && crc32fast::hash(code) == crc).then_some(code)
}

fn store(dir: &Path, path: &Path, code: &[u8]) -> std::io::Result<()> {
    let mut data = Vec::with_capacity(code.len() + TRAILER);
    data.extend_from_slice(code);
    data.extend_from_slice(MAGIC);
    data.extend_from_slice(&(code.len() as u64).to_le_bytes());
    data.extend_from_slice(&crc32fast::hash(code).to_le_bytes());
    crate::fsutil::create_private_dir(dir)?;
    crate::fsutil::write_atomic(path, &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.cwasm");
        store(dir.path(), &path, b"hello world").unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(verify(&data), Some(&b"hello world"[..]));
        let mut flipped = data.clone();
        flipped[3] ^= 1;
        assert_eq!(verify(&flipped), None);
        assert_eq!(verify(&data[..data.len() - 1]), None);
        assert_eq!(verify(&data[5..]), None);
        assert_eq!(verify(b""), None);
    }
}
