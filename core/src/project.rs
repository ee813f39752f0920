//! A project: the directory holding `.alca.toml`, found by walking up from
//! where alca runs, and its `.alca/` state directory.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::config::{self, Config, ConfigError, LoadContext};
use crate::error::Error;

pub const STATE_DIR: &str = ".alca";

#[derive(Debug, Clone)]
pub struct Project {
    /// The directory holding `.alca.toml`.
    pub root: PathBuf,
    pub config_path: PathBuf,
}

impl Project {
    /// Walks up from `start` to the first directory with a `.alca.toml` file
    /// (a directory of that name does not count).
    pub fn discover(start: &Path) -> Result<Project, Error> {
        for dir in start.ancestors() {
            let candidate = dir.join(config::FILE_NAME);
            if std::fs::metadata(&candidate).is_ok_and(|m| !m.is_dir()) {
                return Ok(Project { root: dir.to_path_buf(), config_path: candidate });
            }
        }
        Err(Error::NoProject { cwd: start.to_path_buf() })
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }

    /// Creates `.alca/` if needed and checks that it is a real directory:
    /// the project is the agent's to write, and a symlink there would make
    /// alca write its files wherever it points.
    pub fn ensure_state_dir(&self) -> Result<PathBuf, Error> {
        let dir = self.state_dir();
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => return Ok(dir),
            Ok(_) => {
                return Err(Error::io(
                    format!("cannot use {}", dir.display()),
                    std::io::Error::other("it is not a directory (a symbolic link or a file); remove it"),
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("cannot use {}", dir.display()), e)),
        }
        match std::fs::create_dir(&dir) {
            Ok(()) => Ok(dir),
            // Another alca made it first: check what it is.
            Err(e)
                if e.kind() == std::io::ErrorKind::AlreadyExists
                    && dir.symlink_metadata().is_ok_and(|m| m.is_dir()) =>
            {
                Ok(dir)
            }
            Err(e) => Err(Error::io(format!("cannot create {}", dir.display()), e)),
        }
    }

    /// Loads `.alca.toml`, resolving paths against this project and the
    /// process environment.
    pub fn load_config(&self) -> Result<Config, ConfigError> {
        let env = |k: &str| std::env::var(k).ok();
        let ctx = LoadContext {
            project_root: &self.root,
            env: &env,
            home: std::env::var_os("HOME").map(PathBuf::from).filter(|h| h.is_absolute()),
        };
        let config = Config::load(&self.config_path, &ctx);
        crate::timing::mark(if config.is_ok() { "config loaded" } else { "config refused" });
        config
    }

    /// Takes the project's lock, so two `alca up`/`down` on one project never
    /// interleave. Released when the returned file is dropped (or the
    /// process dies).
    pub fn lock(&self, on_wait: impl FnOnce()) -> Result<File, Error> {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = self.ensure_state_dir()?;
        let path = dir.join("lock");
        let open_err = |e: std::io::Error| {
            // What the agent may have put there: a FIFO (no reader) or a link.
            let e = match e.raw_os_error() {
                Some(code)
                    if code == rustix::io::Errno::NXIO.raw_os_error()
                        || code == rustix::io::Errno::LOOP.raw_os_error() =>
                {
                    std::io::Error::other("it is not a regular file (a FIFO or a symbolic link); remove it")
                }
                _ => e,
            };
            Error::io(format!("cannot open {}", path.display()), e)
        };
        // Never block on a FIFO, never follow a symlink out of the project.
        let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOFOLLOW;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .custom_flags(flags.bits() as i32)
            .open(&path)
            .map_err(open_err)?;
        if !file.metadata().map_err(open_err)?.is_file() {
            return Err(open_err(std::io::Error::other("it is not a regular file; remove it")));
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                on_wait();
                file.lock().map_err(|e| Error::io(format!("cannot lock {}", path.display()), e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io(format!("cannot lock {}", path.display()), e));
            }
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nearest_config_walking_up() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::write(root.join(".alca.toml"), "image = \"x\"").unwrap();
        let deep = root.join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        // A directory named .alca.toml is not a config.
        std::fs::create_dir_all(root.join("a/.alca.toml")).unwrap();
        let p = Project::discover(&deep).unwrap();
        assert_eq!(p.root, root);
        assert_eq!(p.config_path, root.join(".alca.toml"));
    }

    #[test]
    fn no_config_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let e = Project::discover(tmp.path()).unwrap_err();
        assert!(matches!(e, Error::NoProject { .. }), "{e}");
    }
}
