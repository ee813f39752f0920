use std::time::Duration;

use crate::bindings::alca::runtime::process::{self, OutputMode, RunRequest};
use crate::{CommandFailure, KeyValue, RunOutput, RuntimeError, SpawnError, stderr_tail};

/// How much of stderr goes into a [`CommandFailure`].
const STDERR_TAIL_BYTES: usize = 4096;

/// A process invocation, built like `std::process::Command` and run by the
/// host after it checked the invocation against the plugin's grant.
///
/// `program` is the logical name from the grant (`docker`), never a path.
#[derive(Clone, Debug)]
pub struct Command {
    program: String,
    args: Vec<String>,
    env: Vec<KeyValue>,
    stdin: Option<Vec<u8>>,
    timeout: Option<Duration>,
    stdout: OutputMode,
    stderr: OutputMode,
}

/// What a finished process left behind.
#[derive(Clone, Debug)]
pub struct Output {
    /// `None` when the process was killed by a signal.
    pub exit_code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub truncated: bool,
}

impl Output {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

impl From<RunOutput> for Output {
    fn from(out: RunOutput) -> Self {
        Output { exit_code: out.exit_code, stdout: out.stdout, stderr: out.stderr, truncated: out.truncated }
    }
}

impl Command {
    pub fn new(program: impl Into<String>) -> Self {
        Command {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            timeout: None,
            stdout: OutputMode::Capture,
            stderr: OutputMode::Capture,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds an environment variable; the key must be granted.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push(KeyValue::new(key, value));
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Asks for a timeout; the host clamps it to the grant's maximum.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Shows stdout and stderr to the user instead of capturing them.
    pub fn show_output(mut self) -> Self {
        self.stdout = OutputMode::ToUser;
        self.stderr = OutputMode::ToUser;
        self
    }

    pub fn program(&self) -> &str {
        &self.program
    }

    pub fn get_args(&self) -> &[String] {
        &self.args
    }

    /// Runs the command and returns its output whatever its exit code.
    pub fn run(&self) -> Result<Output, SpawnError> {
        let req = RunRequest {
            program: self.program.clone(),
            args: self.args.clone(),
            env: self.env.clone(),
            stdin: self.stdin.clone(),
            timeout_ms: self.timeout.map(|t| u32::try_from(t.as_millis()).unwrap_or(u32::MAX)),
            stdout: self.stdout,
            stderr: self.stderr,
        };
        process::run(&req).map(Output::from)
    }

    /// Runs the command; a non-zero exit becomes
    /// [`RuntimeError::CommandFailed`], a refused or failed spawn the matching
    /// runtime error.
    pub fn output(&self) -> Result<Output, RuntimeError> {
        let out = self.run()?;
        if out.success() { Ok(out) } else { Err(RuntimeError::CommandFailed(self.failure(&out))) }
    }

    /// Describes a failed run of this command.
    pub fn failure(&self, out: &Output) -> CommandFailure {
        CommandFailure {
            program: self.program.clone(),
            args: self.args.clone(),
            exit_code: out.exit_code,
            stderr_tail: stderr_tail(&out.stderr, STDERR_TAIL_BYTES),
        }
    }
}
