//! Compiled components on disk, so no command pays for a JIT compile twice,
//! and the sha256 of installed component files, so no command hashes an
//! unchanged one twice: a cached plugin costs an fstat or two and a mmap.
//!
//! An entry is native code that alca runs without recompiling it, so it is
//! trusted only as far as the place it comes from:
//! * the cache directory (and its parent) must belong to the user and be
//!   private; otherwise alca compiles in memory and says how to fix it;
//! * an entry (and everything else alca reads here) must be a regular file
//!   owned by the user and writable by no one else, opened without
//!   following a symlink; otherwise it is ignored and rewritten;
//! * an entry is bound to the sha256 of the component it was compiled from
//!   (in its name and in its sidecar), so a digest pin cannot be bypassed by
//!   an entry compiled from something else.
//!
//! The directory holds, per component and engine:
//! * `<sha256>-<engine>.cwasm`: the compiled code, exactly as wasmtime
//!   serialized it, so it is mapped ([`Component::deserialize_file`]), not
//!   read and copied. `<engine>` is the engine's compatibility hash
//!   (wasmtime version, configuration, CPU features): another engine uses
//!   another name;
//! * `<sha256>-<engine>.check`: its sidecar: a magic, the component's
//!   digest, the code's length and CRC-32, and the fingerprint (device,
//!   inode, size, mtime, ctime) the code file had when its CRC was last
//!   verified against it. Loading an entry whose fingerprint is the
//!   recorded one costs an fstat; any other (a new file, or one written to
//!   since: a write changes the ctime, which user space cannot set back)
//!   is read and its CRC checked first, so a truncated or corrupted entry
//!   is detected before wasmtime sees it, on the first load after it
//!   changed;
//!
//! and per installed component file:
//! * `component-<dev>-<ino>.sha256`: the file's sha256 with the fingerprint
//!   it had when it was hashed. A file opened once and fstat'ed with that
//!   fingerprint is not read again; any other is read (from the same
//!   descriptor), hashed and remembered. The consent and pin checks compare
//!   that sha256 as if the file had been hashed now.
//!
//! A fingerprint is trusted only when the file's ctime is clearly older
//! than the moment its content was checked (file timestamps are coarse: a
//! write in the same clock tick as the check would leave the same
//! fingerprint), like git's "racily clean" index entries. What a stale
//! memory could ever cause is bounded anyway: the code loaded is the entry
//! compiled from the remembered sha256, which the consent checks compared,
//! and a compile hashes the bytes it compiles again.
//!
//! Entries and sidecars are written atomically; old-format entries (one
//! file with a trailer) have no sidecar, so they miss and are recompiled;
//! anything that fails to load is recompiled and rewritten silently.

use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The first bytes of a sidecar.
const MAGIC: &[u8; 8] = b"ALCACWS3";
/// magic, digest, length, CRC-32, fingerprint, when it was verified.
const SIDECAR: usize = 8 + 32 + 8 + 4 + FINGERPRINT + 8;
/// The first line of a remembered component sha256.
const HASH_RECORD: &str = "alca component sha256 1\n";
/// A compiled entry larger than this is not one of ours.
const MAX_ENTRY_BYTES: u64 = 1024 * 1024 * 1024;
/// A sidecar or a remembered sha256 larger than this is not one of ours.
const MAX_RECORD_BYTES: u64 = 4096;
/// A fingerprint checked less than this after the file last changed may
/// not show a write made in the same clock tick: the kernel stamps files
/// from a coarse clock (up to 10 ms), some file systems in 10 ms steps.
const RACY_NS: i64 = 50_000_000;
/// The same for file systems that keep whole seconds (or two, like FAT).
const RACY_COARSE_NS: i64 = 3_000_000_000;

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

/// Where a component's compiled code lives in `dir` (its sidecar is next
/// to it, with the extension `.check`).
pub fn entry_path(dir: &Path, sha256: &str, engine: &Engine) -> PathBuf {
    dir.join(format!("{sha256}-{}.cwasm", engine_hash(engine)))
}

fn sidecar_path(entry: &Path) -> PathBuf {
    entry.with_extension("check")
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

/// Why a component could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// Its bytes could not be read (the message says why).
    Read(String),
    /// wasmtime refused them.
    Invalid(wasmtime::Error),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Read(why) => f.write_str(why),
            LoadError::Invalid(e) => write!(f, "it is not a valid WebAssembly component: {e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// A component's bytes, or how to get them: only a compile (a cache miss)
/// needs them.
pub enum Wasm<'b> {
    Bytes(Cow<'b, [u8]>),
    Lazy(Box<dyn FnOnce() -> Result<Vec<u8>, String> + Send + 'b>),
}

impl<'b> Wasm<'b> {
    pub fn lazy(read: impl FnOnce() -> Result<Vec<u8>, String> + Send + 'b) -> Wasm<'b> {
        Wasm::Lazy(Box::new(read))
    }

    fn get(self) -> Result<Cow<'b, [u8]>, LoadError> {
        match self {
            Wasm::Bytes(b) => Ok(b),
            Wasm::Lazy(read) => read().map(Cow::Owned).map_err(LoadError::Read),
        }
    }
}

impl<'b> From<&'b [u8]> for Wasm<'b> {
    fn from(bytes: &'b [u8]) -> Wasm<'b> {
        Wasm::Bytes(Cow::Borrowed(bytes))
    }
}

impl From<Vec<u8>> for Wasm<'static> {
    fn from(bytes: Vec<u8>) -> Wasm<'static> {
        Wasm::Bytes(Cow::Owned(bytes))
    }
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

/// A file's identity and state as fstat reports them: any write to it
/// changes its ctime (and nothing in user space can set a ctime back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

const FINGERPRINT: usize = 5 * 8;

impl Fingerprint {
    pub fn of(meta: &Metadata) -> Fingerprint {
        let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
        Fingerprint {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Whether a check of the file's content that started at `checked_at`
    /// (ns since the epoch, taken before the fstat that gave this
    /// fingerprint) vouches for every file with this fingerprint: the file
    /// had last changed long enough before it that a later write cannot
    /// carry the same timestamps.
    fn settled_before(&self, checked_at: i64) -> bool {
        let coarse = self.ctime_ns % 1_000_000_000 == 0 && self.mtime_ns % 1_000_000_000 == 0;
        let margin = if coarse { RACY_COARSE_NS } else { RACY_NS };
        self.ctime_ns < checked_at.saturating_sub(margin)
    }

    fn to_bytes(self) -> [u8; FINGERPRINT] {
        let mut out = [0u8; FINGERPRINT];
        let fields = [self.dev, self.ino, self.size, self.mtime_ns as u64, self.ctime_ns as u64];
        for (chunk, field) in out.chunks_exact_mut(8).zip(fields) {
            chunk.copy_from_slice(&field.to_le_bytes());
        }
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<Fingerprint> {
        let field = |i: usize| Some(u64::from_le_bytes(bytes.get(8 * i..8 * i + 8)?.try_into().ok()?));
        Some(Fingerprint {
            dev: field(0)?,
            ino: field(1)?,
            size: field(2)?,
            mtime_ns: field(3)? as i64,
            ctime_ns: field(4)? as i64,
        })
    }
}

/// Now, in ns since the epoch, on the clock file timestamps come from.
fn now_ns() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_nanos()).unwrap_or(i64::MAX)
}

/// Opens `path` for reading without following a symlink and without
/// blocking on a FIFO; the caller checks what fstat says.
fn open_nofollow(path: &Path) -> std::io::Result<File> {
    use rustix::fs::OFlags;
    let flags = OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::NOFOLLOW;
    std::fs::OpenOptions::new().read(true).custom_flags(flags.bits() as i32).open(path).map_err(|e| {
        if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
            std::io::Error::other("it is a symbolic link, which alca does not follow here")
        } else {
            e
        }
    })
}

/// A regular file of at most `max` bytes, opened without following a
/// symlink, with its fstat; `private`: owned by the user and writable by no
/// one else, too.
fn open_checked(path: &Path, max: u64, private: bool) -> std::io::Result<(File, Metadata)> {
    let file = open_nofollow(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    if private && let Some(why) = crate::fsutil::not_private(&meta) {
        return Err(std::io::Error::other(why));
    }
    if meta.len() > max {
        return Err(std::io::Error::other(format!("it is larger than {max} bytes ({} bytes)", meta.len())));
    }
    Ok((file, meta))
}

/// All of an open file, from its start (whatever its offset), at most
/// `max` bytes.
fn read_all(file: &File, len_hint: u64, max: u64) -> std::io::Result<Vec<u8>> {
    #[cfg(test)]
    tests::READS.with(|r| r.set(r.get() + 1));
    let mut data = vec![0u8; len_hint.min(max) as usize + 1];
    let mut filled = 0;
    loop {
        if filled == data.len() {
            if filled as u64 > max {
                return Err(std::io::Error::other(format!("it is larger than {max} bytes")));
            }
            data.resize((filled * 2).max(4096).min(max as usize + 1), 0);
        }
        match file.read_at(&mut data[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    data.truncate(filled);
    Ok(data)
}

/// A component file (an installed plugin's), opened once: what alca hashes
/// and, on a cache miss, compiles is read from this descriptor, never from
/// the path again.
#[derive(Debug)]
pub struct ComponentFile {
    file: File,
    fingerprint: Fingerprint,
    /// When it was opened (ns since the epoch), before the fstat.
    opened_at: i64,
    max: u64,
}

impl ComponentFile {
    /// Opens `path`: a regular file (not a symlink, FIFO or device) of at
    /// most `max` bytes.
    pub fn open(path: &Path, max: u64) -> std::io::Result<ComponentFile> {
        let opened_at = now_ns();
        let (file, meta) = open_checked(path, max, false)?;
        Ok(ComponentFile { file, fingerprint: Fingerprint::of(&meta), opened_at, max })
    }

    pub fn len(&self) -> u64 {
        self.fingerprint.size
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::io::Result<Vec<u8>> {
        #[cfg(test)]
        tests::COMPONENT_READS.with(|r| r.set(r.get() + 1));
        read_all(&self.file, self.len(), self.max)
    }
}

/// Where the sha256 of a component file with `fp` is remembered.
fn hash_record_path(dir: &Path, fp: &Fingerprint) -> PathBuf {
    dir.join(format!("component-{:x}-{:x}.sha256", fp.dev, fp.ino))
}

fn hash_record(fp: &Fingerprint, checked_at: i64, sha256: &str) -> String {
    let Fingerprint { dev, ino, size, mtime_ns, ctime_ns } = fp;
    format!("{HASH_RECORD}{dev} {ino} {size} {mtime_ns} {ctime_ns} {checked_at} {sha256}\n")
}

/// The remembered sha256 of a component file with `fp`, if the record is
/// ours (a private regular file) and vouches for that fingerprint.
fn remembered(dir: &Path, fp: &Fingerprint) -> Option<String> {
    let (file, meta) = open_checked(&hash_record_path(dir, fp), MAX_RECORD_BYTES, true).ok()?;
    let text = String::from_utf8(read_all(&file, meta.len(), MAX_RECORD_BYTES).ok()?).ok()?;
    let mut fields = text.strip_prefix(HASH_RECORD)?.strip_suffix('\n')?.split(' ');
    let Fingerprint { dev, ino, size, mtime_ns, ctime_ns } = *fp;
    let expected = [dev.to_string(), ino.to_string(), size.to_string(), mtime_ns.to_string(), ctime_ns.to_string()];
    for want in expected {
        if fields.next()? != want {
            return None;
        }
    }
    let checked_at: i64 = fields.next()?.parse().ok()?;
    let sha256 = fields.next()?;
    let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (valid && fields.next().is_none() && fp.settled_before(checked_at)).then(|| sha256.to_string())
}

/// The sha256 of `component` and, when it had to be read to get it, its
/// bytes: remembered in `dir` (the cache directory, if it is usable) for
/// the file's fingerprint, or read, hashed and remembered.
pub fn component_sha256(dir: Option<&Path>, component: &ComponentFile) -> std::io::Result<(String, Option<Vec<u8>>)> {
    let dir = dir.filter(|d| unusable(d).is_none());
    let fp = &component.fingerprint;
    if let Some(dir) = dir
        && let Some(sha256) = remembered(dir, fp)
    {
        return Ok((sha256, None));
    }
    let bytes = component.read()?;
    let sha256 = sha256_hex(&bytes);
    // Remembered only when what was read is what the fingerprint stands
    // for: nothing changed the file while it was read, and it had last
    // changed long enough before it was opened.
    let unchanged =
        bytes.len() as u64 == fp.size && component.file.metadata().map(|m| Fingerprint::of(&m)).ok() == Some(*fp);
    if let Some(dir) = dir
        && unchanged
        && fp.settled_before(component.opened_at)
    {
        let record = hash_record(fp, component.opened_at, &sha256);
        if let Err(e) = crate::fsutil::write_atomic(&hash_record_path(dir, fp), record.as_bytes()) {
            tracing::debug!("cannot remember the sha256 of a component in {}: {e}", dir.display());
        }
    }
    Ok((sha256, Some(bytes)))
}

/// `component`'s bytes, to compile them, when its sha256 came from memory:
/// they must still hash to `sha256` (else the memory is dropped and the
/// load fails: the file changed while alca was loading it).
pub fn read_component(dir: Option<&Path>, component: &ComponentFile, sha256: &str) -> std::io::Result<Vec<u8>> {
    let bytes = component.read()?;
    if sha256_hex(&bytes) != sha256 {
        if let Some(dir) = dir {
            let _ = std::fs::remove_file(hash_record_path(dir, &component.fingerprint));
        }
        return Err(std::io::Error::other("it changed while alca was loading it; run the command again"));
    }
    Ok(bytes)
}

/// Loads a component through the cache in `dir` (or compiles it without
/// one). `wasm` is read only if it must be compiled.
pub fn load<'b>(
    engine: &Engine,
    wasm: impl Into<Wasm<'b>>,
    sha256: &str,
    dir: Option<&Path>,
) -> Result<(Component, CacheOutcome), LoadError> {
    let wasm = wasm.into();
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
        let bytes = wasm.get()?;
        return Ok((Component::new(engine, &bytes).map_err(LoadError::Invalid)?, CacheOutcome::Uncached));
    };
    let path = entry_path(dir, sha256, engine);
    let outcome = match load_entry(engine, &path, sha256) {
        Ok(component) => return Ok((component, CacheOutcome::Hit)),
        Err(Miss::Absent) => CacheOutcome::Compiled,
        Err(Miss::Unusable(why)) => {
            // Whatever is there (a FIFO, a symlink, a file of someone
            // else's, an old-format entry) is replaced by the renames in
            // `store`.
            tracing::debug!("not using {}: {why}; recompiling", path.display());
            CacheOutcome::Recompiled
        }
    };
    let bytes = wasm.get()?;
    let started = Instant::now();
    let component = Component::new(engine, &bytes).map_err(LoadError::Invalid)?;
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

/// Why an entry was not loaded.
#[derive(Debug)]
enum Miss {
    Absent,
    Unusable(String),
}

impl From<std::io::Error> for Miss {
    fn from(e: std::io::Error) -> Miss {
        Miss::Unusable(e.to_string())
    }
}

/// What a sidecar says about its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sidecar {
    digest: [u8; 32],
    len: u64,
    crc: u32,
    /// The entry's fingerprint when its CRC was last verified, and when
    /// that check started (ns since the epoch).
    verified: Option<(Fingerprint, i64)>,
}

impl Sidecar {
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SIDECAR);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.digest);
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.crc.to_le_bytes());
        let (fp, at) = match self.verified {
            Some((fp, at)) => (fp.to_bytes(), at),
            None => ([0; FINGERPRINT], 0),
        };
        out.extend_from_slice(&fp);
        out.extend_from_slice(&at.to_le_bytes());
        out
    }

    fn parse(data: &[u8]) -> Option<Sidecar> {
        if data.len() != SIDECAR || &data[..8] != MAGIC {
            return None;
        }
        let (digest, rest) = data[8..].split_at(32);
        let (len, rest) = rest.split_at(8);
        let (crc, rest) = rest.split_at(4);
        let (fp, at) = rest.split_at(FINGERPRINT);
        let at = i64::from_le_bytes(at.try_into().ok()?);
        Some(Sidecar {
            digest: digest.try_into().ok()?,
            len: u64::from_le_bytes(len.try_into().ok()?),
            crc: u32::from_le_bytes(crc.try_into().ok()?),
            verified: (at != 0).then(|| Fingerprint::from_bytes(fp)).flatten().map(|fp| (fp, at)),
        })
    }

    /// Whether an entry with fingerprint `fp` was verified as it is now.
    fn vouches_for(&self, fp: &Fingerprint) -> bool {
        matches!(self.verified, Some((seen, at)) if seen == *fp && fp.settled_before(at))
    }
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

fn read_sidecar(path: &Path) -> Result<Sidecar, Miss> {
    let (file, meta) = open_checked(path, MAX_RECORD_BYTES, true).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Miss::Unusable("it has no sidecar (an entry of an older alca?)".into()),
        _ => Miss::Unusable(format!("its sidecar cannot be used: {e}")),
    })?;
    let data = read_all(&file, meta.len(), MAX_RECORD_BYTES)?;
    Sidecar::parse(&data).ok_or_else(|| Miss::Unusable("its sidecar is corrupt".into()))
}

/// The entry at `path`, mapped, if it is ours, whole and compiled from the
/// component with digest `sha256`.
fn load_entry(engine: &Engine, path: &Path, sha256: &str) -> Result<Component, Miss> {
    let started = Instant::now();
    let checked_at = now_ns();
    let (file, meta) = match open_checked(path, MAX_ENTRY_BYTES, true) {
        Ok(opened) => opened,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Miss::Absent),
        Err(e) => return Err(e.into()),
    };
    let fp = Fingerprint::of(&meta);
    let sidecar_path = sidecar_path(path);
    let sidecar = read_sidecar(&sidecar_path)?;
    if Some(sidecar.digest) != digest_bytes(sha256) {
        return Err(Miss::Unusable("it was compiled from another component".into()));
    }
    if sidecar.len != meta.len() {
        return Err(Miss::Unusable(format!("it is {} bytes long, its sidecar says {}", meta.len(), sidecar.len)));
    }
    let verified = if sidecar.vouches_for(&fp) {
        None
    } else {
        let verifying = Instant::now();
        let code = read_all(&file, meta.len(), MAX_ENTRY_BYTES)?;
        if code.len() as u64 != sidecar.len || crc32fast::hash(&code) != sidecar.crc {
            return Err(Miss::Unusable("it is corrupt (its CRC-32 does not match its sidecar)".into()));
        }
        if fp.settled_before(checked_at) {
            let verified = Sidecar { verified: Some((fp, checked_at)), ..sidecar };
            if let Err(e) = crate::fsutil::write_atomic(&sidecar_path, &verified.to_bytes()) {
                tracing::debug!("cannot write {}: {e}", sidecar_path.display());
            }
        }
        Some(verifying.elapsed())
    };
    let component = deserialize(engine, &file, path, &fp)?;
    crate::timing::took(
        format_args!(
            "compiled code ({} KiB) mapped, {}",
            meta.len() / 1024,
            match verified {
                Some(took) => format!("its CRC-32 verified first ({:.2} ms)", crate::timing::ms(took)),
                None => "verified earlier (unchanged since)".to_string(),
            }
        ),
        started.elapsed(),
    );
    Ok(component)
}

/// Maps the entry `file` (opened from `path`, with fingerprint `fp`).
/// wasmtime opens a path itself: the open descriptor's own name under
/// /proc/self/fd (or /dev/fd) when it leads to this very file, so what is
/// mapped is what was checked; otherwise the entry's path, checked again
/// after.
fn deserialize(engine: &Engine, file: &File, path: &Path, fp: &Fingerprint) -> Result<Component, Miss> {
    use std::os::fd::AsRawFd;
    let same = |m: &Metadata| m.dev() == fp.dev && m.ino() == fp.ino;
    let by_fd = ["/proc/self/fd", "/dev/fd"]
        .iter()
        .map(|d| PathBuf::from(format!("{d}/{}", file.as_raw_fd())))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| same(&m)));
    let from = by_fd.as_deref().unwrap_or(path);
    // SAFETY: what is mapped is a regular file owned by the user and
    // writable by no one else, in a directory private to the user; it was
    // written by `store` below from wasmtime's own serialization of the
    // component whose sha256 is in its name and sidecar, and its CRC-32
    // matched the sidecar's when its fingerprint was the one it has now
    // (alca never writes to an entry in place: it renames new ones over
    // it, so a mapped entry does not change under the code running from
    // it); wasmtime itself rejects other versions and configurations.
    let component = unsafe { Component::deserialize_file(engine, from) }.map_err(|e| Miss::Unusable(e.to_string()))?;
    if by_fd.is_none() && !std::fs::symlink_metadata(path).is_ok_and(|m| same(&m)) {
        return Err(Miss::Unusable("it was replaced while it was loaded".into()));
    }
    Ok(component)
}

/// Writes the code to `path` and its sidecar next to it, each atomically.
/// The sidecar vouches for no fingerprint yet: the code file's is too new
/// to tell a later write apart, so the next load verifies its CRC-32 once.
fn store(dir: &Path, path: &Path, code: &[u8], sha256: &str) -> std::io::Result<()> {
    let digest = digest_bytes(sha256).ok_or_else(|| std::io::Error::other("not a sha256 digest"))?;
    crate::fsutil::create_private_dir(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    tmp.write_all(code)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    let sidecar = Sidecar { digest, len: code.len() as u64, crc: crc32fast::hash(code), verified: None };
    // Durable with the rename of the code file (write_atomic syncs the
    // directory).
    crate::fsutil::write_atomic(&sidecar_path(path), &sidecar.to_bytes())
}

/// Removes the entries in `dir` compiled by another engine (another
/// wasmtime version or other settings: they can never be loaded again) and
/// those of the components `drop` (sha256s of removed or replaced
/// plugins), with their sidecars, and the remembered sha256s of the
/// components `drop`. Returns how many entries.
pub fn prune(dir: &Path, drop: &[String], engine: &Engine) -> usize {
    let current = engine_hash(engine);
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let (remove, counts) = if let Some(stem) = name.strip_suffix(".cwasm").or_else(|| name.strip_suffix(".check")) {
            let Some((sha, hash)) = stem.split_once('-') else { continue };
            (drop.iter().any(|d| d == sha) || hash != current, name.ends_with(".cwasm"))
        } else if name.starts_with("component-") && name.ends_with(".sha256") {
            let record = open_checked(&path, MAX_RECORD_BYTES, true)
                .and_then(|(file, meta)| read_all(&file, meta.len(), MAX_RECORD_BYTES))
                .map(|data| String::from_utf8_lossy(&data).into_owned());
            let sha = record.as_deref().ok().and_then(|r| r.trim_end().rsplit(' ').next());
            (sha.is_none_or(|sha| drop.iter().any(|d| d == sha)), false)
        } else {
            continue;
        };
        if !remove {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => removed += usize::from(counts),
            Err(e) => tracing::debug!("cannot remove {}: {e}", path.display()),
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::os::unix::fs::PermissionsExt;

    thread_local! {
        /// Whole-file reads by this thread (components, entries, records).
        pub(super) static READS: Cell<usize> = const { Cell::new(0) };
        /// Reads of component files by this thread.
        pub(super) static COMPONENT_READS: Cell<usize> = const { Cell::new(0) };
    }

    fn reads() -> usize {
        READS.with(|r| r.get())
    }

    const SHA: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    /// The smallest component there is, and another one (the same with a
    /// custom section).
    const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";
    fn other_component() -> Vec<u8> {
        let mut bytes = EMPTY.to_vec();
        bytes.extend_from_slice(&[0, 4, 1, b'x', b'h', b'i']);
        bytes
    }

    /// Waits until `path` last changed long enough ago for a check made now
    /// to vouch for its fingerprint.
    fn settle(path: &Path) {
        let fp = Fingerprint::of(&std::fs::symlink_metadata(path).unwrap());
        while !fp.settled_before(now_ns()) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Overwrites `path` in place with `data`, until its fingerprint
    /// changed (a write within the same clock tick could leave it as it
    /// was; alca does not trust such fingerprints, and this test wants to
    /// see the change noticed, not missed).
    fn rewrite_in_place(path: &Path, data: &[u8]) {
        let before = Fingerprint::of(&std::fs::metadata(path).unwrap());
        loop {
            std::fs::OpenOptions::new().write(true).open(path).unwrap().write_all_at(data, 0).unwrap();
            if Fingerprint::of(&std::fs::metadata(path).unwrap()) != before {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    fn cache_dir() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("compiled");
        assert_eq!(unusable(&dir), None);
        (tmp, dir)
    }

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
        for p in [&current, &stale_engine, &removed_plugin] {
            std::fs::write(sidecar_path(p), b"x").unwrap();
        }
        let fp = |ino| Fingerprint { dev: 1, ino, size: 2, mtime_ns: 3, ctime_ns: 4 };
        let (kept_hash, dropped_hash) = (hash_record_path(dir.path(), &fp(1)), hash_record_path(dir.path(), &fp(2)));
        std::fs::write(&kept_hash, hash_record(&fp(1), 5, &keep)).unwrap();
        std::fs::write(&dropped_hash, hash_record(&fp(2), 5, &other)).unwrap();
        assert_eq!(prune(dir.path(), &[other], &engine), 2);
        assert!(current.exists() && unrelated.exists() && sidecar_path(&current).exists() && kept_hash.exists());
        assert!(!stale_engine.exists() && !removed_plugin.exists());
        assert!(!sidecar_path(&stale_engine).exists() && !sidecar_path(&removed_plugin).exists());
        assert!(!dropped_hash.exists());
    }

    #[test]
    fn sidecar_round_trip_and_corruption() {
        let fp = Fingerprint { dev: 1, ino: 2, size: 3, mtime_ns: -4, ctime_ns: 1_500_000_000 };
        let sidecar =
            Sidecar { digest: digest_bytes(SHA).unwrap(), len: 11, crc: 7, verified: Some((fp, 5_000_000_000)) };
        let data = sidecar.to_bytes();
        assert_eq!(data.len(), SIDECAR);
        assert_eq!(Sidecar::parse(&data), Some(sidecar.clone()));
        assert!(sidecar.vouches_for(&fp));
        assert!(!sidecar.vouches_for(&Fingerprint { ctime_ns: 1_500_000_001, ..fp }));
        assert!(!sidecar.vouches_for(&Fingerprint { ino: 9, ..fp }));
        // A check that began when the file had just changed vouches for
        // nothing: a write in the same tick would have left it as it is.
        let racy = Sidecar { verified: Some((fp, fp.ctime_ns + 1_000_000)), ..sidecar.clone() };
        assert!(!racy.vouches_for(&fp));
        let never = Sidecar { verified: None, ..sidecar.clone() };
        assert_eq!(Sidecar::parse(&never.to_bytes()), Some(never.clone()));
        assert!(!never.vouches_for(&fp));
        assert_eq!(Sidecar::parse(&data[..data.len() - 1]), None);
        assert_eq!(Sidecar::parse(&[data.as_slice(), b"x"].concat()), None);
        let mut old_magic = data.clone();
        old_magic[7] = b'2';
        assert_eq!(Sidecar::parse(&old_magic), None);
    }

    #[test]
    fn only_private_directories_and_entries_are_trusted() {
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
        for p in [&entry, &sidecar_path(&entry)] {
            assert_eq!(std::fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600, "{}", p.display());
            assert!(open_checked(p, 1 << 20, true).is_ok());
        }
        assert!(read_sidecar(&sidecar_path(&entry)).is_ok());
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(open_checked(&entry, 1 << 20, true).is_err(), "writable by others");
        std::fs::set_permissions(sidecar_path(&entry), std::fs::Permissions::from_mode(0o620)).unwrap();
        assert!(read_sidecar(&sidecar_path(&entry)).is_err(), "a sidecar writable by others");
        std::fs::remove_file(&entry).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", &entry).unwrap();
        assert!(open_checked(&entry, 1 << 20, true).is_err(), "a symlink");
    }

    /// A component file: hashed once, then known by its fingerprint
    /// without being read, until it changes.
    #[test]
    fn an_unchanged_component_file_is_not_read_again() {
        let (tmp, dir) = cache_dir();
        let file = tmp.path().join("plugin.wasm");
        std::fs::write(&file, b"hello").unwrap();
        let hash = |dir: Option<&Path>| {
            let before = COMPONENT_READS.with(|r| r.get());
            let opened = ComponentFile::open(&file, 1 << 20).unwrap();
            let (sha, bytes) = component_sha256(dir, &opened).unwrap();
            let read = COMPONENT_READS.with(|r| r.get()) - before;
            assert_eq!(read, usize::from(bytes.is_some()), "bytes are returned when they were read");
            (sha, bytes.is_some())
        };
        // Just written: its fingerprint cannot vouch for its content yet.
        assert_eq!(hash(Some(&dir)), (sha256_hex(b"hello"), true));
        assert_eq!(hash(Some(&dir)), (sha256_hex(b"hello"), true), "a racy fingerprint is not trusted");
        settle(&file);
        assert_eq!(hash(Some(&dir)), (sha256_hex(b"hello"), true), "hashed and remembered");
        assert_eq!(hash(Some(&dir)), (sha256_hex(b"hello"), false), "remembered: not read");
        assert_eq!(hash(None), (sha256_hex(b"hello"), true), "no cache directory: always hashed");

        // The same size, new content: the ctime changed, so it is hashed
        // again (and remembered once settled).
        rewrite_in_place(&file, b"world");
        assert_eq!(hash(Some(&dir)), (sha256_hex(b"world"), true));
        settle(&file);
        assert_eq!(hash(Some(&dir)), (sha256_hex(b"world"), true));
        assert_eq!(hash(Some(&dir)), (sha256_hex(b"world"), false));

        // A record that is not ours (a symlink, writable by others,
        // garbage) is not believed.
        let opened = ComponentFile::open(&file, 1 << 20).unwrap();
        let record = hash_record_path(&dir, &opened.fingerprint);
        std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(hash(Some(&dir)), (sha256_hex(b"world"), true), "writable by others");
        let text = hash_record(&opened.fingerprint, now_ns(), SHA);
        std::fs::remove_file(&record).unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::write(&elsewhere, &text).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &record).unwrap();
        assert_eq!(hash(Some(&dir)), (sha256_hex(b"world"), true), "a symlink");
        std::fs::remove_file(&record).unwrap();
        std::fs::write(&record, text.replace(SHA, "not a digest")).unwrap();
        assert_eq!(hash(Some(&dir)), (sha256_hex(b"world"), true), "garbage");

        // A memory that went stale (only possible by a write in the same
        // clock tick as the hash, which alca guards against, or by hand):
        // compiling the bytes finds it out and forgets it.
        std::fs::write(&record, hash_record(&opened.fingerprint, now_ns() + 10_000_000_000, SHA)).unwrap();
        std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (sha, bytes) = component_sha256(Some(&dir), &opened).unwrap();
        assert_eq!((sha.as_str(), bytes), (SHA, None));
        let err = read_component(Some(&dir), &opened, SHA).unwrap_err();
        assert!(err.to_string().contains("changed while alca was loading it"), "{err}");
        assert!(!record.exists(), "forgotten");
        assert_eq!(read_component(Some(&dir), &opened, &sha256_hex(b"world")).unwrap(), b"world");
    }

    #[test]
    fn component_files_are_opened_like_untrusted_files() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("plugin.wasm");
        std::fs::write(&file, b"hello").unwrap();
        assert!(ComponentFile::open(&file, 4).unwrap_err().to_string().contains("larger"));
        let link = tmp.path().join("link.wasm");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(ComponentFile::open(&link, 1 << 20).unwrap_err().to_string().contains("symbolic link"));
        let fifo = tmp.path().join("fifo.wasm");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        assert!(ComponentFile::open(&fifo, 1 << 20).unwrap_err().to_string().contains("not a regular file"));
    }

    /// Compiled entries: mapped, their CRC verified once per fingerprint;
    /// whatever is wrong with one (changed, corrupt, truncated, a FIFO, a
    /// symlink, an old-format one, another component's) is recompiled.
    #[test]
    fn entries_are_verified_once_per_fingerprint_and_recompiled_when_wrong() {
        let engine = Engine::default();
        let (_tmp, dir) = cache_dir();
        let sha = sha256_hex(EMPTY);
        let load = || {
            let before = reads();
            let outcome = super::load(&engine, EMPTY, &sha, Some(&dir)).map(|(_, o)| o).unwrap();
            (outcome, reads() - before)
        };
        let entry = entry_path(&dir, &sha, &engine);
        assert_eq!(load().0, CacheOutcome::Compiled);
        let good = std::fs::read(&entry).unwrap();
        assert!(good.starts_with(b"\x7fELF"), "the code file is wasmtime's serialization, nothing added");
        // The first load after the entry was written reads it once (its
        // fingerprint is too new to vouch for it); once settled, one more
        // verification is recorded, and from then on nothing is read.
        assert_eq!(load(), (CacheOutcome::Hit, 2), "sidecar and code read");
        settle(&entry);
        assert_eq!(load(), (CacheOutcome::Hit, 2), "verified and recorded");
        assert_eq!(load(), (CacheOutcome::Hit, 1), "only the sidecar is read");
        assert_eq!(load(), (CacheOutcome::Hit, 1));

        // One flipped bit, the same size, written in place: detected on
        // the first load after it changed.
        let mut flipped = good.clone();
        flipped[good.len() / 3] ^= 0x10;
        rewrite_in_place(&entry, &flipped);
        assert_eq!(load().0, CacheOutcome::Recompiled);
        assert_eq!(std::fs::read(&entry).unwrap(), good, "rewritten whole");
        assert_eq!(load().0, CacheOutcome::Hit);
        // Truncated, garbage, a corrupt or missing sidecar.
        std::fs::write(&entry, &good[..good.len() / 2]).unwrap();
        assert_eq!(load().0, CacheOutcome::Recompiled);
        std::fs::write(&entry, b"definitely not a compiled component").unwrap();
        assert_eq!(load().0, CacheOutcome::Recompiled);
        std::fs::write(sidecar_path(&entry), b"short").unwrap();
        assert_eq!(load().0, CacheOutcome::Recompiled);
        std::fs::remove_file(sidecar_path(&entry)).unwrap();
        assert_eq!(load().0, CacheOutcome::Recompiled);
        assert_eq!(load().0, CacheOutcome::Hit);

        // An old-format entry (the code with a trailer, no sidecar) is
        // recompiled and replaced.
        let mut old = good.clone();
        old.extend_from_slice(b"ALCACWS2");
        old.extend_from_slice(&digest_bytes(&sha).unwrap());
        old.extend_from_slice(&(good.len() as u64).to_le_bytes());
        old.extend_from_slice(&crc32fast::hash(&good).to_le_bytes());
        std::fs::remove_file(sidecar_path(&entry)).unwrap();
        std::fs::write(&entry, &old).unwrap();
        assert_eq!(load().0, CacheOutcome::Recompiled);
        assert_eq!(load().0, CacheOutcome::Hit);

        // A FIFO or a symlink where the code or the sidecar should be is
        // neither waited on nor followed nor used, and is replaced.
        let elsewhere = dir.parent().unwrap().join("elsewhere");
        std::fs::copy(&entry, &elsewhere).unwrap();
        for target in [entry.clone(), sidecar_path(&entry)] {
            std::fs::remove_file(&target).unwrap();
            assert!(std::process::Command::new("mkfifo").arg(&target).status().unwrap().success());
            assert_eq!(load().0, CacheOutcome::Recompiled, "a FIFO at {}", target.display());
            assert_eq!(load().0, CacheOutcome::Hit, "replaced by a real file");
            std::fs::copy(&target, &elsewhere).unwrap();
            std::fs::remove_file(&target).unwrap();
            std::os::unix::fs::symlink(&elsewhere, &target).unwrap();
            assert_eq!(load().0, CacheOutcome::Recompiled, "a symlink at {}", target.display());
            assert!(std::fs::symlink_metadata(&target).unwrap().is_file(), "replaced");
            assert_eq!(load().0, CacheOutcome::Hit);
        }

        // An entry (with its sidecar) compiled from another component, put
        // under this one's name, is never loaded.
        let other = other_component();
        let other_sha = sha256_hex(&other);
        let other_entry = entry_path(&dir, &other_sha, &engine);
        std::fs::copy(&entry, &other_entry).unwrap();
        std::fs::copy(sidecar_path(&entry), sidecar_path(&other_entry)).unwrap();
        let outcome = super::load(&engine, other.as_slice(), &other_sha, Some(&dir)).unwrap().1;
        assert_eq!(outcome, CacheOutcome::Recompiled);

        // Nothing is left behind but the two entries and their sidecars.
        let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names.len(), 4, "no temporaries left: {names:?}");
    }

    /// Bytes are read only to compile: a hit never calls for them.
    #[test]
    fn a_hit_does_not_read_the_component() {
        let engine = Engine::default();
        let (_tmp, dir) = cache_dir();
        let sha = sha256_hex(EMPTY);
        let asked = std::sync::atomic::AtomicUsize::new(0);
        let lazy = || {
            Wasm::lazy(|| {
                asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(EMPTY.to_vec())
            })
        };
        assert_eq!(load(&engine, lazy(), &sha, Some(&dir)).unwrap().1, CacheOutcome::Compiled);
        assert_eq!(load(&engine, lazy(), &sha, Some(&dir)).unwrap().1, CacheOutcome::Hit);
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
        let failing = Wasm::lazy(|| Err("cannot read it".to_string()));
        let err = load(&engine, failing, &"ff".repeat(32), Some(&dir)).unwrap_err();
        assert_eq!(err.to_string(), "cannot read it");
    }
}
