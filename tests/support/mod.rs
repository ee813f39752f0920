//! Shared pieces of alca's end-to-end suites: temporary projects with their
//! own XDG directories, the real `alca` binary, the real engines, and test
//! plugins built from source.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The image every engine test uses: a busybox rootfs that
/// `scripts/provision.sh` imports into docker and podman (no registry).
pub fn test_image() -> String {
    std::env::var("ALCA_TEST_IMAGE").unwrap_or_else(|_| "alca-test-busybox:latest".into())
}

/// Writes an executable script. Written in place by this (multi-threaded)
/// process, its write descriptor would be inherited by any child another
/// test thread forks meanwhile, and executing the script then fails with
/// "Text file busy" until that child execs. So the text goes to a plain
/// file and `install` (another process) creates the executable.
#[allow(dead_code)]
pub fn write_executable(path: &Path, text: &str) {
    let source = path.with_extension("source");
    std::fs::write(&source, text).unwrap();
    let status = Command::new("install").arg("-m").arg("755").arg(&source).arg(path).status().expect("run install");
    assert!(status.success(), "install {}", path.display());
    std::fs::remove_file(&source).unwrap();
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("cli/ is in the repository").to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"))
}

/// A scratch world: a project directory, a HOME and XDG directories.
pub struct TestEnv {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub project: PathBuf,
    pub home: PathBuf,
    pub data: PathBuf,
    pub cache: PathBuf,
    pub config: PathBuf,
    extra_env: Vec<(String, String)>,
}

impl TestEnv {
    /// A fresh world sharing the suite's compiled-plugin cache.
    pub fn new() -> TestEnv {
        let tmp = tempfile::Builder::new().prefix("alca-test-").tempdir().expect("temp dir");
        // Canonical, so it compares equal to what alca sees as its cwd.
        let root = tmp.path().canonicalize().expect("canonical temp dir");
        let project = root.join("project");
        let home = root.join("home");
        for d in [&project, &home] {
            std::fs::create_dir_all(d).expect("create test dirs");
        }
        TestEnv {
            data: root.join("data"),
            cache: target_dir().join("test-cache"),
            config: root.join("config"),
            _tmp: tmp,
            root,
            project,
            home,
            extra_env: Vec::new(),
        }
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.extra_env.push((key.into(), value.into()));
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.project.join(".alca.toml"), text).expect("write .alca.toml");
    }

    /// `alca <args>` in the project directory.
    pub fn alca(&self, args: &[&str]) -> Command {
        self.alca_in(&self.project, args)
    }

    /// `alca <args>` in `dir`.
    pub fn alca_in(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_alca"));
        cmd.args(args)
            .current_dir(dir)
            .env("HOME", &self.home)
            .env("XDG_DATA_HOME", &self.data)
            .env("XDG_CACHE_HOME", &self.cache)
            .env("XDG_CONFIG_HOME", &self.config)
            .env_remove("ALCA_LOG")
            .env_remove("HOSTILE_MODE")
            .stdin(std::process::Stdio::null());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs alca and returns its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(self.alca(args))
    }

    /// Runs alca and insists that it succeeded.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, Some(0), "alca {args:?} failed:\n{r}");
        r
    }

    /// Installs a test plugin into this world, the way a user does:
    /// `alca plugin install --yes <dir>`.
    pub fn install_plugin(&self, plugin: &Path) {
        self.ok(&["plugin", "install", "--yes", &plugin.display().to_string()]);
    }
}

/// A failed test must not leave containers behind: take the sandbox down.
impl Drop for TestEnv {
    fn drop(&mut self) {
        if self.project.join(".alca/state.json").exists() {
            let _ =
                self.alca(&["down"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).status();
        }
    }
}

/// A finished alca invocation.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(mut cmd: Command) -> Run {
        let Output { status, stdout, stderr } = cmd.output().expect("run alca");
        Run {
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
        .checked()
    }

    /// Runs `cmd`, which must finish within `limit` (it is killed and the
    /// test fails otherwise).
    pub fn within(mut cmd: Command, limit: std::time::Duration) -> Run {
        let mut child =
            cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("run alca");
        let started = std::time::Instant::now();
        while child.try_wait().expect("wait").is_none() {
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("alca did not finish within {limit:?}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let Output { status, stdout, stderr } = child.wait_with_output().expect("output");
        Run {
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
        .checked()
    }

    /// alca never panics and never prints Rust debug output, whatever happens.
    fn checked(self) -> Run {
        for bad in ["panicked at", "RUST_BACKTRACE", "stack backtrace"] {
            assert!(!self.stderr.contains(bad), "alca printed {bad:?}:\n{self}");
        }
        self
    }

    /// Runs `cmd` and also returns its peak resident memory, in KiB (from
    /// the kernel's accounting of that one child, via wait4).
    #[allow(clippy::zombie_processes, reason = "the child is reaped by wait4, which std cannot do")]
    pub fn measured(mut cmd: Command) -> (Run, u64) {
        use std::io::Read;
        let mut child =
            cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("run alca");
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let t_out = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = out.read_to_end(&mut v);
            v
        });
        let t_err = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = err.read_to_end(&mut v);
            v
        });
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value; wait4 fills it in for
        // our own child, which std has not reaped (we never call wait on it).
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let pid = child.id() as libc::pid_t;
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
        let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        let run = Run {
            code,
            stdout: String::from_utf8_lossy(&t_out.join().unwrap()).into_owned(),
            stderr: String::from_utf8_lossy(&t_err.join().unwrap()).into_owned(),
        };
        (run.checked(), usage.ru_maxrss as u64)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit: {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Is `engine` (docker or podman) usable? Missing engines fail the test
/// (scripts/provision.sh installs them) unless
/// ALCA_TEST_SKIP_MISSING_ENGINES=1 is set and CI is not.
pub fn require_engine(engine: &str) -> bool {
    let ok = Command::new(engine).args(["version"]).output().map(|o| o.status.success()).unwrap_or(false);
    if ok {
        return true;
    }
    let may_skip =
        std::env::var("ALCA_TEST_SKIP_MISSING_ENGINES").as_deref() == Ok("1") && std::env::var_os("CI").is_none();
    if may_skip {
        eprintln!("SKIPPED: the {engine} engine is not available (ALCA_TEST_SKIP_MISSING_ENGINES=1)");
        return false;
    }
    panic!(
        "the {engine} engine is not available; run scripts/provision.sh (as root) to install and start it, \
         or set ALCA_TEST_SKIP_MISSING_ENGINES=1 to skip engine tests outside CI"
    );
}

/// Runs an engine CLI and returns its stdout.
pub fn engine_out(engine: &str, args: &[&str]) -> String {
    let out = Command::new(engine).args(args).output().expect("run engine CLI");
    assert!(out.status.success(), "{engine} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds the test plugins in tests/plugins (once per test binary; cargo's
/// own lock serialises concurrent binaries) and returns the directory of
/// `name`, holding `alca-plugin.toml` and `plugin.wasm`.
pub fn test_plugin(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let staged = BUILT.get_or_init(|| {
        let target = target_dir().join("test-plugins");
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.current_dir(repo_root().join("tests/plugins"))
            .args(["build", "--release", "--locked", "--target", "wasm32-wasip2", "--target-dir"])
            .arg(&target);
        for var in [
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "RUSTC_WORKSPACE_WRAPPER",
            "CARGO_BUILD_TARGET",
            "CARGO_TARGET_DIR",
        ] {
            cmd.env_remove(var);
        }
        let out = cmd.output().expect("run cargo to build the test plugins");
        assert!(out.status.success(), "building tests/plugins failed:\n{}", String::from_utf8_lossy(&out.stderr));
        // Each test binary stages its own copy: no races with the others.
        let staged = target.join("staged").join(std::process::id().to_string());
        for entry in std::fs::read_dir(repo_root().join("tests/plugins")).expect("tests/plugins") {
            let dir = entry.expect("entry").path();
            if !dir.join("Cargo.toml").exists() {
                continue;
            }
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let out = staged.join(&name);
            std::fs::create_dir_all(&out).expect("staging dir");
            let manifest = dir.join("alca-plugin.toml");
            if manifest.exists() {
                std::fs::copy(&manifest, out.join("alca-plugin.toml")).expect("stage manifest");
            }
            let wasm = target.join("wasm32-wasip2/release").join(format!("alca_test_{name}.wasm"));
            std::fs::copy(&wasm, out.join("plugin.wasm")).expect("stage component");
        }
        staged
    });
    staged.join(name)
}

/// The rogue plugin (tests/plugins/rogue) holding the built-in `engine`
/// plugin's grant, unchanged but for its id and the three variables the
/// test steers it with. Returns the directory to install.
pub fn rogue_plugin(engine: &str) -> PathBuf {
    let built = test_plugin("rogue");
    let dir = built.with_file_name(format!("rogue-{engine}"));
    std::fs::create_dir_all(&dir).expect("rogue dir");
    let grant = std::fs::read_to_string(repo_root().join(format!("plugins/{engine}/alca-plugin.toml")))
        .expect("built-in manifest");
    let (head, programs) = grant.split_once("[[programs]]").expect("the built-in grant has programs");
    let id_line = format!("id = \"{engine}\"\n");
    assert!(head.contains(&id_line), "the built-in manifest's id line changed");
    let head = head.replace(&id_line, &format!("id = \"rogue-{engine}\"\ncomponent = \"plugin.wasm\"\n"));
    let manifest =
        format!("{head}[host]\nenv = [\"ROGUE_ENGINE\", \"ROGUE_ATTACK\", \"ROGUE_TARGET\"]\n\n[[programs]]{programs}");
    std::fs::write(dir.join("alca-plugin.toml"), manifest).expect("rogue manifest");
    std::fs::copy(built.join("plugin.wasm"), dir.join("plugin.wasm")).expect("rogue component");
    dir
}

/// Live (non-zombie) processes whose command line contains `needle`.
pub fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return found };
    for entry in entries.flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit(") ").next().is_some_and(|s| s.starts_with('Z'));
        if text.contains(needle) && !zombie {
            found.push(text);
        }
    }
    found
}

/// The sha256 of a file, as `sha256sum` prints it.
pub fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().expect("a digest").to_string()
}
