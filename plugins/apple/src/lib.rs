//! alca's built-in plugin for Apple's `container` CLI: Linux containers as
//! lightweight virtual machines on macOS 26 (Apple silicon), one VM each.
//!
//! Apple's CLI is not docker-compatible, and it changed under its users
//! release after release (container-cli-contracts §1.10). This plugin
//! copes with that by asking `container --version` once per instance
//! (alca makes a fresh instance for each of its commands, so a CLI
//! upgraded in between is seen) and by reading both JSON generations and
//! both error-text generations by their shape, never by the version:
//!
//! * argv per operation: [`argv`], with only the options the version has;
//! * JSON (`inspect`, `list`) before and from 1.0: [`parse`];
//! * error texts before and from 0.10: [`classify`];
//! * names are IDs on Apple: [`names`];
//! * what each version can express: [`version`].

mod argv;
mod classify;
mod names;
mod parse;
mod version;

use std::sync::OnceLock;
use std::time::Duration;

use alca_plugin_sdk::{
    Availability, Command, CommandPlan, ContainerId, ContainerInfo, ContainerSpec, ContainerState, ExecOutput,
    ExecRequest, LabelSelector, Output, PluginInfo, Runtime, RuntimeError, host,
};

pub use argv::{MIN_MEMORY_BYTES, create_args, exec_args, list_args};
pub use classify::{NOT_STARTED_HINT, NOT_STARTED_REASON, classify, exec_failure, is_not_started};
pub use names::container_name;
pub use parse::{apple_date, parse_containers};
pub use version::{Version, newest_features};

/// The logical program name in the grant.
const PROGRAM: &str = "container";

/// An engine that does not answer these within this time is as good as absent.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);
const QUICK_TIMEOUT: Duration = Duration::from_secs(60);
/// `create` and `start` set up and boot a virtual machine.
const VM_TIMEOUT: Duration = Duration::from_secs(180);
/// Extra time for `stop` beyond the grace period it asks for.
const STOP_SLACK: Duration = Duration::from_secs(30);

const INSTALL_HINT_MACOS: &str = "install Apple's container from https://github.com/apple/container/releases (macOS 26 on Apple silicon), then run `container system start`; or set runtime = \"docker\" or \"podman\" in .alca.toml";
const INSTALL_HINT_ELSEWHERE: &str =
    "use Docker or Podman here: set runtime = \"docker\" or runtime = \"podman\" (or \"auto\") in .alca.toml";
const UPDATE_HINT: &str = "update Apple's container from https://github.com/apple/container/releases, or set runtime = \"docker\" or \"podman\" in .alca.toml";

/// Apple's `container`, driven through its CLI.
#[derive(Default)]
pub struct Apple {
    /// `container --version`, asked once per instance.
    version: OnceLock<(Version, String)>,
}

impl Apple {
    pub const fn new() -> Self {
        Apple { version: OnceLock::new() }
    }

    fn cmd(&self) -> Command {
        Command::new(PROGRAM)
    }

    /// Runs `cmd`, mapping a non-zero exit through Apple's error texts.
    fn run(&self, cmd: &Command) -> Result<Output, RuntimeError> {
        let out = cmd.run()?;
        if out.success() { Ok(out) } else { Err(classify(cmd.failure(&out))) }
    }

    /// The CLI's version (and the token it printed), from `container
    /// --version`, which needs no running service.
    fn version(&self) -> Result<(Version, String), RuntimeError> {
        if let Some(v) = self.version.get() {
            return Ok(v.clone());
        }
        let cmd = self.cmd().arg("--version").timeout(PROBE_TIMEOUT);
        let out = self.run(&cmd)?;
        let found = Version::from_cli(&out.stdout_str()).ok_or_else(|| {
            RuntimeError::parse(format!(
                "`container --version` printed {:?}, not `container CLI version X.Y.Z`",
                out.stdout_str().trim()
            ))
        })?;
        Ok(self.version.get_or_init(|| found).clone())
    }

    fn inspect_one(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeError> {
        let cmd = self.cmd().args(["inspect", id]).timeout(QUICK_TIMEOUT);
        match self.run(&cmd) {
            // ≤ 0.12 prints `[]` (exit 0) for a missing container.
            Ok(out) => Ok(parse_containers(&out.stdout, "container inspect")?.into_iter().find(|c| c.id == id)),
            // ≥ 1.0 fails with `container not found: <id>`.
            Err(RuntimeError::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn delete(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        let mut cmd = self.cmd().arg("delete");
        if force {
            cmd = cmd.arg("--force");
        }
        let cmd = cmd.arg(id).timeout(QUICK_TIMEOUT);
        self.run(&cmd).map(drop)
    }
}

fn unavailable(reason: String, hint: &str, version: Option<&(Version, String)>) -> Availability {
    Availability {
        available: false,
        version: version.map(|v| v.1.clone()),
        reason: Some(reason),
        hint: Some(hint.to_string()),
        features: version.map(|v| v.0.features()).filter(|f| *f != newest_features()),
        min_memory_bytes: Some(MIN_MEMORY_BYTES),
    }
}

impl Runtime for Apple {
    fn info(&self) -> PluginInfo {
        PluginInfo {
            id: "apple".into(),
            name: "Apple container".into(),
            runtime: "apple-container".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            features: newest_features(),
        }
    }

    fn detect(&self) -> Availability {
        let macos = host::info().os == "macos";
        if host::locate(PROGRAM).is_none() {
            return if macos {
                unavailable(
                    "`container` (Apple's container CLI) was not found on PATH".into(),
                    INSTALL_HINT_MACOS,
                    None,
                )
            } else {
                unavailable(
                    format!(
                        "`container` was not found on PATH: Apple's container exists only on macOS 26 on Apple silicon, and this is {}",
                        host::info().os
                    ),
                    INSTALL_HINT_ELSEWHERE,
                    None,
                )
            };
        }
        let version = match self.version() {
            Ok(v) => v,
            Err(err) => {
                let hint = if macos { INSTALL_HINT_MACOS } else { INSTALL_HINT_ELSEWHERE };
                return match err {
                    RuntimeError::NotAvailable(s) if is_not_started(&s) => {
                        unavailable(NOT_STARTED_REASON.into(), NOT_STARTED_HINT, None)
                    }
                    RuntimeError::TimedOut(_) => unavailable("`container --version` did not answer".into(), hint, None),
                    other => unavailable(format!("`container --version` failed: {}", other.text()), hint, None),
                };
            }
        };
        if version.0 < Version::MIN {
            return unavailable(
                format!("Apple's container {} is too old: alca needs {} or newer", version.1, Version::MIN),
                UPDATE_HINT,
                Some(&version),
            );
        }

        let mut cmd = self.cmd().args(["system", "status"]);
        if version.0.has_status_format() {
            cmd = cmd.args(["--format", "json"]);
        }
        let cmd = cmd.timeout(PROBE_TIMEOUT);
        let out = match cmd.run() {
            Ok(out) => out,
            Err(err) => {
                return match RuntimeError::from(err) {
                    RuntimeError::TimedOut(_) => unavailable(
                        format!("{NOT_STARTED_REASON} (`container system status` did not answer)"),
                        NOT_STARTED_HINT,
                        Some(&version),
                    ),
                    other => unavailable(other.text(), NOT_STARTED_HINT, Some(&version)),
                };
            }
        };
        // In ≤ 1.2 the "not running" texts go to stdout, later to stderr.
        let said = format!("{}\n{}", out.stdout_str(), out.stderr_str());
        let status = if version.0.has_status_format() { parse::status_field(&out.stdout) } else { None };
        let running = out.success() && !is_not_started(&said) && status.as_deref().is_none_or(|s| s == "running");
        if !running {
            return unavailable(NOT_STARTED_REASON.into(), NOT_STARTED_HINT, Some(&version));
        }
        let features = version.0.features();
        Availability {
            available: true,
            version: Some(version.1.clone()),
            reason: None,
            hint: None,
            features: (features != newest_features()).then_some(features),
            min_memory_bytes: Some(MIN_MEMORY_BYTES),
        }
    }

    fn image_exists(&self, image: &str) -> Result<bool, RuntimeError> {
        let cmd = self.cmd().args(["image", "inspect", image]).timeout(QUICK_TIMEOUT);
        let out = cmd.run()?;
        if out.success() {
            // ≤ 0.12 may print `[]` for an image it does not have.
            return Ok(parse::nonempty_array(&out.stdout).unwrap_or(true));
        }
        match classify(cmd.failure(&out)) {
            // ≥ 1.0: `image not found: <ref>`.
            RuntimeError::NotFound(_) => Ok(false),
            RuntimeError::NotAvailable(s) => Err(RuntimeError::NotAvailable(s)),
            // ≤ 0.12: exit ≠ 0, a log line "image inspect failed", and the
            // images it found (none) on stdout.
            _ if parse::nonempty_array(&out.stdout) == Some(false) => Ok(false),
            _ if out.stderr_str().to_ascii_lowercase().contains("inspect failed") => Ok(false),
            err => Err(err),
        }
    }

    fn image_pull(&self, image: &str) -> Result<(), RuntimeError> {
        // No timeout of our own: the grant's maximum bounds a pull.
        let cmd = self.cmd().args(["image", "pull", "--progress", "none", image]).show_output();
        self.run(&cmd).map(drop)
    }

    fn create(&self, spec: ContainerSpec) -> Result<ContainerId, RuntimeError> {
        let (version, _) = self.version()?;
        let name = container_name(&spec.name);
        let args = create_args(&spec, version)?;
        let cmd = self.cmd().args(args).timeout(VM_TIMEOUT);
        match self.run(&cmd) {
            Ok(out) => {
                let printed = out.stdout_str().lines().map(str::trim).rfind(|l| !l.is_empty()).map(str::to_string);
                Ok(printed.unwrap_or(name))
            }
            Err(RuntimeError::TimedOut(msg)) => {
                // Killing the CLI does not stop the service: remove what it
                // may have created so the next attempt finds the name free.
                let _ = self.remove(&name, true);
                Err(RuntimeError::TimedOut(msg))
            }
            Err(err) => Err(err),
        }
    }

    fn start(&self, id: &str) -> Result<(), RuntimeError> {
        // Starting a running container prints its id and succeeds.
        let cmd = self.cmd().args(["start", id]).timeout(VM_TIMEOUT);
        self.run(&cmd).map(drop)
    }

    fn stop(&self, id: &str, grace_secs: Option<u32>) -> Result<(), RuntimeError> {
        // Stopping a stopped container succeeds on every version.
        let mut cmd = self.cmd().arg("stop");
        let mut timeout = QUICK_TIMEOUT;
        if let Some(secs) = grace_secs {
            cmd = cmd.args(["-t".to_string(), secs.to_string()]);
            timeout = Duration::from_secs(secs.into()) + STOP_SLACK;
        }
        let cmd = cmd.arg(id).timeout(timeout);
        self.run(&cmd).map(drop)
    }

    fn remove(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        // `delete --force` does not ignore a missing container (it fails
        // with "not found" in every version): removal is idempotent here.
        match self.delete(id, force) {
            Ok(()) | Err(RuntimeError::NotFound(_)) => Ok(()),
            Err(err @ (RuntimeError::NotAvailable(_) | RuntimeError::Conflict(_) | RuntimeError::Denied(_))) => {
                Err(err)
            }
            Err(first) => {
                // `delete --force` can fail right after an exec: gone anyway,
                // or a second attempt does it.
                if self.inspect_one(id)?.is_none() {
                    return Ok(());
                }
                match self.delete(id, force) {
                    Ok(()) | Err(RuntimeError::NotFound(_)) => Ok(()),
                    Err(_) => Err(first),
                }
            }
        }
    }

    fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeError> {
        self.inspect_one(id)
    }

    fn list_containers(
        &self,
        selector: Vec<LabelSelector>,
        include_stopped: bool,
    ) -> Result<Vec<ContainerInfo>, RuntimeError> {
        let cmd = self.cmd().args(list_args()).timeout(QUICK_TIMEOUT);
        let out = self.run(&cmd)?;
        let mut infos = parse_containers(&out.stdout, "container list")?;
        // Apple cannot filter by label (and ≤ 0.9 ignores --all): filter here.
        infos.retain(|c| parse::matches(c, &selector) && (include_stopped || c.state == ContainerState::Running));
        Ok(infos)
    }

    fn exec(&self, req: ExecRequest) -> Result<ExecOutput, RuntimeError> {
        let cmd = self.cmd().args(exec_args(&req)?);
        let out = cmd.run()?;
        match out.exit_code {
            // Apple's own failures exit 1 with an `Error:` line: the
            // container is missing or stopped, or the service is down.
            Some(1) => {
                if let Some(err) = exec_failure(&req.container, &out.stderr_str()) {
                    return Err(err);
                }
            }
            // A usage error of the argv itself (swift-argument-parser).
            Some(64) if out.stderr_str().contains("See 'container exec --help'") => {
                return Err(RuntimeError::CommandFailed(cmd.failure(&out)));
            }
            _ => {}
        }
        match out.exit_code {
            Some(exit_code) => {
                Ok(ExecOutput { exit_code, stdout: out.stdout, stderr: out.stderr, truncated: out.truncated })
            }
            None => Err(RuntimeError::CommandFailed(cmd.failure(&out))),
        }
    }

    fn exec_plan(&self, req: ExecRequest) -> Result<CommandPlan, RuntimeError> {
        Ok(CommandPlan { program: PROGRAM.to_string(), args: exec_args(&req)?, env: Vec::new() })
    }
}

alca_plugin_sdk::export_runtime!(Apple = Apple::new());

#[cfg(test)]
mod tests;
