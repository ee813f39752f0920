//! The one choke point for spawning. Every process a plugin causes, captured
//! (`process.run`) or attached to the terminal (`exec-plan`), is checked here
//! against the plugin's grant and started here:
//!
//! * the program is resolved to an absolute path by alca, on alca's PATH;
//! * no shell is involved, ever;
//! * the child gets a minimal environment: PATH, HOME, the locale, the
//!   grant's `env` keys that are set in alca's environment (which the plugin
//!   cannot change), and the `set-env` keys the plugin set itself;
//! * it runs in its own process group, from `/`, with stdin closed unless the
//!   plugin supplied bytes; when the program exits, times out or the call is
//!   abandoned (Ctrl-C, a deadline), the whole group is killed, so nothing it
//!   started in the background outlives it; if alca itself dies, the kernel
//!   kills the program (parent-death signal);
//! * captured output is capped per stream;
//! * texts returned to the plugin name programs, never paths of this machine.
//!
//! With `-v`, every start is one line `spawn: <program> <args...>` (the
//! prefix is stable: tests and scripts/bench.sh count these lines) and
//! every end one line `exit N after <time>: <program> <args...>`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::bind::CallContext;
use super::grant::{self, Denial, Use};
use super::manifest::{Manifest, Role};

/// Environment variables every child gets (when alca has them).
const BASE_ENV: &[&str] = &["PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES"];
/// Added for children attached to the user's terminal.
const TERMINAL_ENV: &[&str] = &["TERM", "COLORTERM"];
/// How long to wait for a killed process group to go away.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// After the program exits (and its group is killed), how long its output
/// pipes may stay open (held by a process that left the group) before alca
/// stops reading them.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Where a child's stdout or stderr goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    Capture,
    /// To alca's stderr, so the user sees progress and stdout stays clean.
    ToUser,
    Discard,
}

#[derive(Debug, Clone)]
pub struct SpawnRequest {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Option<Vec<u8>>,
    pub timeout: Option<Duration>,
    pub stdout: OutputMode,
    pub stderr: OutputMode,
}

#[derive(Debug, Clone, Default)]
pub struct SpawnOutput {
    /// `None` when killed by a signal.
    pub exit_code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub truncated: bool,
    pub duration: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("{0}")]
    Denied(Denial),
    #[error("`{0}` was not found on PATH")]
    ProgramNotFound(String),
    #[error("timed out after {:.1}s; the process group was killed", .0.duration.as_secs_f64())]
    TimedOut(SpawnOutput),
    #[error("{0}")]
    Io(String),
}

/// A checked invocation to run attached to the user's terminal.
#[derive(Debug, Clone)]
pub struct AttachedCommand {
    pub path: PathBuf,
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, OsString)>,
}

impl AttachedCommand {
    fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.path);
        cmd.arg0(&self.program);
        cmd.args(&self.args).env_clear().envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Runs the command with stdout and stderr on the terminal (stdin
    /// closed) and waits for it.
    pub async fn run(&self) -> std::io::Result<std::process::ExitStatus> {
        let shown = self.display();
        let started = Instant::now();
        tracing::debug!("spawn: {shown} (attached to the terminal)");
        let mut cmd = tokio::process::Command::from(self.command());
        cmd.stdin(Stdio::null()).kill_on_drop(true);
        let status = cmd.status().await;
        match &status {
            Ok(status) => log_exit(None, status.code(), started.elapsed(), &shown, ""),
            Err(e) => tracing::debug!("{shown}: {e}"),
        }
        status
    }

    /// Runs the command with alca's stdin, stdout and stderr, and waits for
    /// it, as `alca run` does. Signals from the terminal (Ctrl-C...) reach
    /// the whole foreground group, the command included, so alca only
    /// outlives them; a SIGTERM or SIGHUP sent to alca alone is passed on.
    pub async fn run_in_foreground(&self) -> std::io::Result<std::process::ExitStatus> {
        use rustix::process::{Pid, Signal, kill_process};
        use tokio::signal::unix::{SignalKind, signal};
        let shown = self.display();
        let started = Instant::now();
        tracing::debug!("spawn: {shown} (attached to the terminal)");
        let mut child = tokio::process::Command::from(self.command()).spawn()?;
        let pid = child.id().and_then(|p| Pid::from_raw(p as i32));
        let (mut int, mut quit, mut term, mut hup) = (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::quit())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        );
        let forward = |sig: Signal| {
            if let Some(pid) = pid {
                let _ = kill_process(pid, sig);
            }
        };
        let status = loop {
            tokio::select! {
                status = child.wait() => break status?,
                _ = int.recv() => {}
                _ = quit.recv() => {}
                _ = term.recv() => forward(Signal::TERM),
                _ = hup.recv() => forward(Signal::HUP),
            }
        };
        log_exit(None, status.code(), started.elapsed(), &shown, "");
        Ok(status)
    }

    pub fn display(&self) -> String {
        grant::render_command(&self.program, &self.args)
    }
}

/// A plugin's spawner: its grant plus what alca resolved for it.
pub struct Broker {
    manifest: Arc<Manifest>,
    /// alca's own environment, read once.
    host_env: HashMap<String, OsString>,
    resolved: Mutex<HashMap<String, Option<PathBuf>>>,
    /// The user's own ceiling on spawn timeouts (alca's config file).
    timeout_cap: Option<Duration>,
}

impl Broker {
    pub fn new(manifest: Arc<Manifest>) -> Broker {
        Broker::with_env(manifest, process_env())
    }

    /// A broker that sees `env` as alca's environment (tests, embedding).
    pub fn with_env(manifest: Arc<Manifest>, env: HashMap<String, OsString>) -> Broker {
        Broker { manifest, host_env: env, resolved: Mutex::new(HashMap::new()), timeout_cap: None }
    }

    /// Caps every spawn's timeout at `cap` (the user's setting).
    pub fn cap_timeouts(mut self, cap: Option<Duration>) -> Broker {
        self.timeout_cap = cap;
        self
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Absolute path of a granted program; `None` if not granted or absent.
    pub fn locate(&self, program: &str) -> Option<PathBuf> {
        self.manifest.program(program)?;
        let mut cache = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(program.to_string())
            .or_insert_with(|| {
                let path = self.host_env.get("PATH")?;
                which::which_in(program, Some(path), "/").ok().filter(|p| p.is_absolute())
            })
            .clone()
    }

    /// The value of a variable the grant lets the plugin read.
    pub fn host_env(&self, name: &str) -> Option<String> {
        if !self.manifest.host_env.contains(name) {
            return None;
        }
        self.host_env.get(name).and_then(|v| v.to_str()).map(str::to_string)
    }

    /// The child's environment: the base set and the grant's pass-through
    /// keys from alca's environment, then what the plugin set (already
    /// checked against `set-env`).
    fn child_env(
        &self,
        granted: &std::collections::BTreeSet<String>,
        extra: &[(String, String)],
        terminal: bool,
    ) -> Vec<(String, OsString)> {
        let mut env: Vec<(String, OsString)> = Vec::new();
        let mut put = |k: &str, v: OsString| {
            env.retain(|(key, _)| key != k);
            env.push((k.to_string(), v));
        };
        let base = BASE_ENV.iter().chain(if terminal { TERMINAL_ENV } else { &[] });
        for key in base.copied().chain(granted.iter().map(String::as_str)) {
            if let Some(v) = self.host_env.get(key) {
                put(key, v.clone());
            }
        }
        for (k, v) in extra {
            put(k, v.into());
        }
        env
    }

    fn resolve(&self, program: &str) -> Result<PathBuf, SpawnError> {
        self.locate(program).ok_or_else(|| SpawnError::ProgramNotFound(program.to_string()))
    }

    /// Checks and runs a captured invocation in the call `ctx`. `budget` is
    /// what is left of the calling export's wall-clock budget; the spawn
    /// never outlives it. Returns the output and the role of the rule that
    /// allowed it (whose output may name containers of the call).
    pub async fn run(
        &self,
        req: SpawnRequest,
        budget: Duration,
        ctx: &CallContext,
    ) -> Result<(SpawnOutput, Role), SpawnError> {
        let keys: Vec<&str> = req.env.iter().map(|(k, _)| k.as_str()).collect();
        let allowed = grant::check(&self.manifest, &req.program, &req.args, &keys, Use::Spawn, ctx)
            .map_err(SpawnError::Denied)?;
        let path = self.resolve(&req.program)?;
        let mut max = Duration::from_secs(allowed.max_timeout_secs().into());
        if let Some(cap) = self.timeout_cap {
            max = max.min(cap);
        }
        let limit = req.timeout.unwrap_or(max).min(max).min(budget);
        let cap = allowed.program.max_output_bytes;
        let env = self.child_env(&allowed.program.env, &req.env, false);
        let shown = grant::render_command(&req.program, &req.args);
        tracing::debug!(plugin = %self.manifest.id, "spawn: {shown} (timeout {:.0?})", limit);

        let result = spawn_captured(&path, &req, env, limit, cap).await.map(|out| (out, allowed.rule.role.clone()));
        match &result {
            Ok((out, _)) => log_exit(
                Some(&self.manifest.id),
                out.exit_code,
                out.duration,
                &shown,
                if out.truncated { " (output truncated)" } else { "" },
            ),
            Err(e) => tracing::debug!(plugin = %self.manifest.id, "{shown}: {e}"),
        }
        result
    }

    /// Checks an `exec-plan` (of the call `ctx`) and prepares it to run on
    /// the user's terminal.
    pub fn plan(
        &self,
        program: &str,
        args: &[String],
        env: &[(String, String)],
        ctx: &CallContext,
    ) -> Result<AttachedCommand, SpawnError> {
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        let allowed =
            grant::check(&self.manifest, program, args, &keys, Use::Interactive, ctx).map_err(SpawnError::Denied)?;
        let path = self.resolve(program)?;
        Ok(AttachedCommand {
            path,
            program: program.to_string(),
            args: args.to_vec(),
            env: self.child_env(&allowed.program.env, env, true),
        })
    }
}

/// The `-v` line that ends a `spawn:` line: `exit N after T: <command>`
/// (or `killed by a signal after T: ...`).
fn log_exit(plugin: Option<&str>, code: Option<i32>, took: Duration, shown: &str, note: &str) {
    let outcome = match code {
        Some(code) => format!("exit {code}"),
        None => "killed by a signal".to_string(),
    };
    match plugin {
        Some(plugin) => tracing::debug!(%plugin, "{outcome} after {took:.0?}: {shown}{note}"),
        None => tracing::debug!("{outcome} after {took:.0?}: {shown}{note}"),
    }
}

/// alca's environment, as UTF-8 keys.
fn process_env() -> HashMap<String, OsString> {
    std::env::vars_os().filter_map(|(k, v)| k.into_string().ok().map(|k| (k, v))).collect()
}

/// Kills a process group when dropped (or asked to).
struct GroupGuard(Option<rustix::process::Pid>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Collected output of one stream, capped.
#[derive(Default)]
struct Capped {
    bytes: Vec<u8>,
    truncated: bool,
}

async fn pump(mut reader: impl AsyncRead + Unpin, sink: Arc<Mutex<Capped>>, cap: usize) {
    // Read into spare capacity (`read_buf`), not a zeroed buffer: only the
    // pages the program's output fills are touched.
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        match reader.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                let room = cap.saturating_sub(s.bytes.len());
                if n > room {
                    s.truncated = true;
                }
                let take = n.min(room);
                s.bytes.extend_from_slice(&buf[..take]);
            }
        }
    }
}

fn stdio_for(mode: OutputMode) -> std::io::Result<Stdio> {
    Ok(match mode {
        OutputMode::Capture => Stdio::piped(),
        OutputMode::Discard => Stdio::null(),
        OutputMode::ToUser => Stdio::from(std::io::stderr().as_fd().try_clone_to_owned()?),
    })
}

/// In the child, before exec: die with alca. If alca is killed (even with
/// SIGKILL, when no destructor runs), the kernel sends the program SIGKILL.
fn die_with_parent(cmd: &mut tokio::process::Command) {
    let parent = rustix::process::getpid();
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (prctl, getppid, exit).
    unsafe {
        cmd.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
            // alca died between fork and prctl: the signal will never come.
            if rustix::process::getppid() != Some(parent) {
                std::process::exit(1);
            }
            Ok(())
        });
    }
}

async fn spawn_captured(
    path: &Path,
    req: &SpawnRequest,
    env: Vec<(String, OsString)>,
    limit: Duration,
    cap: usize,
) -> Result<SpawnOutput, SpawnError> {
    let io = |e: std::io::Error| SpawnError::Io(format!("cannot run `{}`: {e}", req.program));
    let mut cmd = tokio::process::Command::new(path);
    cmd.arg0(&req.program)
        .args(&req.args)
        .env_clear()
        .envs(env)
        .current_dir("/")
        .process_group(0)
        .kill_on_drop(true)
        .stdin(if req.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(stdio_for(req.stdout).map_err(io)?)
        .stderr(stdio_for(req.stderr).map_err(io)?);
    die_with_parent(&mut cmd);
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(io)?;
    // Kills the child's whole process group if this future is dropped
    // (Ctrl-C, an outer timeout) before the child was waited for.
    let mut group = GroupGuard(child.id().and_then(|p| rustix::process::Pid::from_raw(p as i32)));

    let out = Arc::new(Mutex::new(Capped::default()));
    let err = Arc::new(Mutex::new(Capped::default()));
    let mut tasks = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        tasks.push(tokio::spawn(pump(stdout, out.clone(), cap)));
    }
    if let Some(stderr) = child.stderr.take() {
        tasks.push(tokio::spawn(pump(stderr, err.clone(), cap)));
    }
    if let (Some(mut stdin), Some(bytes)) = (child.stdin.take(), req.stdin.clone()) {
        tasks.push(tokio::spawn(async move {
            let _ = stdin.write_all(&bytes).await;
        }));
    }

    let finished = tokio::time::timeout(limit, child.wait()).await;
    // The program is done (or out of time): whatever it left running in its
    // group goes with it, so nothing outlives the call.
    group.kill();
    let _ = tokio::time::timeout(DRAIN_GRACE, async {
        for t in tasks.iter_mut() {
            let _ = t.await;
        }
    })
    .await;
    for t in &tasks {
        t.abort();
    }

    let collect = |exit_code: Option<i32>| {
        let take = |c: &Arc<Mutex<Capped>>| {
            let mut c = c.lock().unwrap_or_else(|p| p.into_inner());
            (std::mem::take(&mut c.bytes), c.truncated)
        };
        let (stdout, t1) = take(&out);
        let (stderr, t2) = take(&err);
        SpawnOutput { exit_code, stdout, stderr, truncated: t1 || t2, duration: started.elapsed() }
    };

    match finished {
        Ok(status) => {
            let status = status.map_err(io)?;
            Ok(collect(status.code()))
        }
        Err(_elapsed) => {
            let _ = tokio::time::timeout(KILL_GRACE, child.wait()).await;
            Err(SpawnError::TimedOut(collect(None)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(programs: &str) -> Broker {
        let text = format!(
            "id = \"t\"\nname = \"T\"\nversion = \"1\"\nruntime = \"t\"\n[host]\nenv = [\"ALCA_TEST_READABLE\"]\n{programs}"
        );
        let mut env = process_env();
        env.insert("PASSED_KEY".into(), "from-the-user".into());
        env.insert("NOT_GRANTED".into(), "secret".into());
        Broker::with_env(Arc::new(Manifest::parse(&text, "test").unwrap()), env)
    }

    fn req(program: &str, args: &[&str]) -> SpawnRequest {
        SpawnRequest {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec![],
            stdin: None,
            timeout: None,
            stdout: OutputMode::Capture,
            stderr: OutputMode::Capture,
        }
    }

    const SH: &str = "[[programs]]\nname = \"sh\"\nset-env = [\"GRANTED_KEY\"]\nenv = [\"PASSED_KEY\"]\nmax-timeout-secs = 30\nmax-output-mib = 1\nallow = [{ args = [\"-c\", \"**\"] }]\n";
    const BIG: Duration = Duration::from_secs(60);

    fn ctx() -> CallContext {
        CallContext::default()
    }

    #[tokio::test]
    async fn runs_with_a_minimal_environment() {
        let b = broker(SH);
        let mut r = req("sh", &["-c", "env | sort; pwd"]);
        r.env.push(("GRANTED_KEY".into(), "yes".into()));
        let out = b.run(r, BIG, &ctx()).await.map(|(o, _)| o).unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("GRANTED_KEY=yes"), "{text}");
        assert!(text.contains("PASSED_KEY=from-the-user"), "{text}");
        assert!(!text.contains("NOT_GRANTED"), "{text}");
        assert!(text.contains("PATH="), "{text}");
        assert!(text.lines().last() == Some("/"), "{text}");
        // Nothing of alca's environment beyond the base set and the grant.
        for line in text.lines().filter(|l| l.contains('=')) {
            let key = line.split('=').next().unwrap();
            assert!(
                BASE_ENV.contains(&key) || ["GRANTED_KEY", "PASSED_KEY", "PWD", "SHLVL", "_", "OLDPWD"].contains(&key),
                "unexpected variable {key} in the child's environment"
            );
        }
    }

    #[tokio::test]
    async fn env_keys_outside_the_grant_are_denied() {
        let b = broker(SH);
        for key in ["LD_PRELOAD", "PASSED_KEY", "PATH"] {
            let mut r = req("sh", &["-c", "true"]);
            r.env.push((key.into(), "/tmp/x".into()));
            assert!(matches!(b.run(r, BIG, &ctx()).await, Err(SpawnError::Denied(_))), "{key}");
        }
    }

    #[tokio::test]
    async fn the_group_is_killed_when_the_program_exits() {
        let b = broker(SH);
        let marker = format!("{}.{}", std::process::id(), 4343);
        // The program exits at once, leaving a child behind in its group,
        // holding its stdout open.
        let r = req("sh", &["-c", &format!("sleep {marker} & echo left")]);
        let started = Instant::now();
        let out = b.run(r, BIG, &ctx()).await.map(|(o, _)| o).unwrap();
        assert_eq!(out.stdout, b"left\n");
        assert!(started.elapsed() < Duration::from_secs(10), "did not wait for the background child");
        std::thread::sleep(Duration::from_millis(100));
        assert!(processes_with(&marker).is_empty(), "left behind: {:?}", processes_with(&marker));
    }

    #[tokio::test]
    async fn texts_for_the_plugin_name_no_paths() {
        let b = broker(SH);
        let err = b.run(req("sh", &["-x"]), BIG, &ctx()).await.unwrap_err();
        let SpawnError::Denied(d) = err else { panic!("{err:?}") };
        assert!(
            !d.for_plugin().contains("alca-plugin.toml") && !d.for_plugin().contains("/bin/"),
            "{}",
            d.for_plugin()
        );
    }

    #[tokio::test]
    async fn the_user_caps_timeouts() {
        let b = broker(SH).cap_timeouts(Some(Duration::from_millis(300)));
        let started = Instant::now();
        assert!(matches!(b.run(req("sh", &["-c", "sleep 5"]), BIG, &ctx()).await, Err(SpawnError::TimedOut(_))));
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[tokio::test]
    async fn exit_codes_stdin_and_stderr() {
        let b = broker(SH);
        let mut r = req("sh", &["-c", "cat; echo oops >&2; exit 3"]);
        r.stdin = Some(b"piped".to_vec());
        let out = b.run(r, BIG, &ctx()).await.map(|(o, _)| o).unwrap();
        assert_eq!(out.exit_code, Some(3));
        assert_eq!(out.stdout, b"piped");
        assert_eq!(out.stderr, b"oops\n");
        // No stdin given: the child reads EOF at once instead of hanging.
        let out = b.run(req("sh", &["-c", "cat; echo done"]), BIG, &ctx()).await.map(|(o, _)| o).unwrap();
        assert_eq!(out.stdout, b"done\n");
    }

    #[tokio::test]
    async fn output_is_capped() {
        let b = broker(SH);
        let out = b.run(req("sh", &["-c", "head -c 3000000 /dev/zero"]), BIG, &ctx()).await.map(|(o, _)| o).unwrap();
        assert_eq!(out.stdout.len(), 1024 * 1024);
        assert!(out.truncated);
        assert_eq!(out.exit_code, Some(0));
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_process_group() {
        let b = broker(SH);
        let marker = format!("{}.{}", std::process::id(), 4242);
        let mut r = req("sh", &["-c", &format!("echo started; sleep {marker} & sleep {marker}; echo never")]);
        r.timeout = Some(Duration::from_millis(300));
        let started = Instant::now();
        match b.run(r, BIG, &ctx()).await.map(|(o, _)| o) {
            Err(SpawnError::TimedOut(out)) => assert_eq!(out.stdout, b"started\n"),
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(processes_with(&marker).is_empty(), "left behind: {:?}", processes_with(&marker));
    }

    #[tokio::test]
    async fn the_call_budget_bounds_the_timeout() {
        let b = broker(SH);
        let r = req("sh", &["-c", "sleep 5"]);
        assert!(matches!(b.run(r, Duration::from_millis(200), &ctx()).await, Err(SpawnError::TimedOut(_))));
    }

    #[tokio::test]
    async fn missing_programs_and_host_env() {
        let b = broker("[[programs]]\nname = \"alca-no-such-program\"\nallow = [{ args = [\"**\"] }]\n");
        assert!(matches!(
            b.run(req("alca-no-such-program", &[]), BIG, &ctx()).await,
            Err(SpawnError::ProgramNotFound(_))
        ));
        assert!(b.locate("sh").is_none(), "not granted, so not located");
        assert_eq!(b.host_env("HOME"), None, "not granted");
    }

    #[test]
    fn plans_are_checked_as_interactive() {
        let b = broker(
            "[[programs]]\nname = \"sh\"\nallow = [{ args = [\"-c\", \"**\"] }, { args = [\"-i\"], interactive = true }]\n",
        );
        assert!(matches!(b.plan("sh", &["-c".into(), "x".into()], &[], &ctx()), Err(SpawnError::Denied(_))));
        let cmd = b.plan("sh", &["-i".into()], &[], &ctx()).unwrap();
        assert!(cmd.path.is_absolute());
        assert!(matches!(b.plan("bash", &[], &[], &ctx()), Err(SpawnError::Denied(_))));
    }

    /// Live processes whose command line contains `needle`.
    pub(crate) fn processes_with(needle: &str) -> Vec<String> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
                let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                let state = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
                let zombie = state.split(") ").nth(1).is_some_and(|s| s.starts_with('Z'));
                if text.contains(needle) && !zombie {
                    found.push(text);
                }
            }
        }
        found
    }
}
