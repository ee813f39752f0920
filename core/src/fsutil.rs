//! Small filesystem helpers: atomic writes, private directories, and
//! reading files that may be hostile.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// A path with `.`, `..` and empty components resolved lexically, as an
/// absolute path (what the engines do to mount paths, and what a check
/// must do before comparing paths).
pub fn lexical(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

/// Reads a file that someone else may have prepared: it must be a regular
/// file (a FIFO, a device or a socket is refused without blocking on it),
/// at most `max` bytes (checked before reading, and again while reading, in
/// case it grows). With `follow = false` a symlink is refused too.
pub fn read_regular(path: &Path, max: u64, follow: bool) -> std::io::Result<Vec<u8>> {
    use rustix::fs::OFlags;
    let mut flags = OFlags::NONBLOCK | OFlags::NOCTTY;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    let file = std::fs::OpenOptions::new().read(true).custom_flags(flags.bits() as i32).open(path).map_err(|e| {
        if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
            std::io::Error::other("it is a symbolic link, which alca does not follow here")
        } else {
            e
        }
    })?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    if meta.len() > max {
        return Err(std::io::Error::other(format!("it is larger than {max} bytes ({} bytes)", meta.len())));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut data)?;
    if data.len() as u64 > max {
        return Err(std::io::Error::other(format!("it is larger than {max} bytes")));
    }
    Ok(data)
}

/// Why `meta` (of a directory or file alca keeps private) is not private to
/// this user: owned by someone else, or writable (for directories: usable)
/// by others. `None` when it is fine.
pub fn not_private(meta: &std::fs::Metadata) -> Option<String> {
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Some(format!("it is owned by uid {}, not by you (uid {me})", meta.uid()));
    }
    let mode = meta.mode() & 0o7777;
    let loose = if meta.is_dir() { mode & 0o077 != 0 } else { mode & 0o022 != 0 };
    loose.then(|| format!("its permissions are {mode:o}, so others can use it"))
}

/// Writes `data` to `path` atomically: a temporary file in the same
/// directory, flushed to disk, then renamed over the target. A crash leaves
/// either the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates `dir` (and parents) readable only by the user.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn read_regular_refuses_surprises() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"hello").unwrap();
        assert_eq!(read_regular(&file, 5, false).unwrap(), b"hello");
        assert!(read_regular(&file, 4, false).unwrap_err().to_string().contains("larger"));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(read_regular(&link, 5, false).unwrap_err().to_string().contains("symbolic link"));
        assert_eq!(read_regular(&link, 5, true).unwrap(), b"hello");
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, rustix::fs::Mode::from(0o600), 0)
            .unwrap();
        let started = std::time::Instant::now();
        assert!(read_regular(&fifo, 5, false).unwrap_err().to_string().contains("not a regular file"));
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "a FIFO must not block");
        assert!(read_regular(dir.path(), 5, false).unwrap_err().to_string().contains("not a regular file"));
        assert!(read_regular(Path::new("/dev/zero"), 5, true).unwrap_err().to_string().contains("not a regular file"));
    }
}
