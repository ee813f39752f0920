//! The docker-compatible CLI logic, written once and shared by the docker and
//! podman plugins. The two differ only by data: a [`Flavor`].
//!
//! Everything is parsed from JSON (`version --format json`, `container
//! inspect`), never from ad-hoc separators, and every failure is mapped onto
//! the typed `runtime-error` of the contract.

mod argv;
mod classify;
mod network;
mod parse;

use std::time::Duration;

use alca_plugin_sdk::{
    Availability, Command, CommandPlan, ContainerId, ContainerInfo, ContainerSpec, ExecOutput, ExecRequest, Features,
    LabelSelector, PluginInfo, Runtime, RuntimeError, host,
};
use alca_plugin_sdk_networks::{NetworkInfo, NetworkRequest, Networks};

pub use argv::{create_args, exec_args, list_args};
pub use classify::classify;
pub use network::{
    BRIDGE_NAME_OPTION, EngineNetwork, NetworkFailure, bridges_on_host, network_create_args, network_failure,
    network_inspect_args, network_rm_args, parse_network_inspect,
};
pub use parse::{parse_inspect, parse_version};

/// Which engine family a flavor drives, for the few places where the
/// docker-compatible CLIs disagree (see container-cli-contracts §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
}

/// Everything that distinguishes one docker-compatible CLI from another.
#[derive(Debug)]
pub struct Flavor {
    /// Plugin id; equals the manifest's `id`.
    pub id: &'static str,
    /// Display name (`Docker`).
    pub name: &'static str,
    /// The logical program name in the grant (`docker`).
    pub program: &'static str,
    pub engine: Engine,
    /// What to tell a user whose engine does not answer.
    pub not_running_hint: &'static str,
    /// What to tell a user who does not have the CLI at all.
    pub install_hint: &'static str,
}

/// How long the quick calls may take before the plugin gives up: an engine
/// that does not answer `version` within this is as good as absent.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);
const QUICK_TIMEOUT: Duration = Duration::from_secs(60);
const CREATE_TIMEOUT: Duration = Duration::from_secs(120);
/// Extra time for `stop` beyond the grace period it asks the engine for.
const STOP_SLACK: Duration = Duration::from_secs(30);

/// A docker-compatible runtime driven through its CLI.
pub struct DockerCompat {
    flavor: &'static Flavor,
}

impl DockerCompat {
    pub const fn new(flavor: &'static Flavor) -> Self {
        DockerCompat { flavor }
    }

    /// A command for this flavor's CLI. The host adds the engine's own
    /// environment (`DOCKER_HOST`...) from the grant; the plugin never sees it.
    fn cmd(&self) -> Command {
        Command::new(self.flavor.program)
    }

    /// Runs `cmd`, mapping a non-zero exit through the flavor's error texts.
    fn run(&self, cmd: &Command) -> Result<alca_plugin_sdk::Output, RuntimeError> {
        let out = cmd.run()?;
        if out.success() { Ok(out) } else { Err(classify(self.flavor, cmd.failure(&out))) }
    }

    fn inspect_many(&self, ids: &[String]) -> Result<Vec<ContainerInfo>, RuntimeError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let cmd = self.cmd().args(["container", "inspect", "--"]).args(ids.iter().cloned()).timeout(QUICK_TIMEOUT);
        let out = cmd.run()?;
        // A container can vanish between `ps` and `inspect`: the engine then
        // prints the others and exits non-zero. Keep what it printed.
        match parse_inspect(&out.stdout) {
            Ok(infos) if out.success() || !infos.is_empty() => Ok(infos),
            Ok(_) if !out.success() => match classify(self.flavor, cmd.failure(&out)) {
                RuntimeError::NotFound(_) => Ok(Vec::new()),
                err => Err(err),
            },
            Ok(infos) => Ok(infos),
            Err(err) if out.success() => Err(err),
            Err(_) => Err(classify(self.flavor, cmd.failure(&out))),
        }
    }
}

impl Runtime for DockerCompat {
    fn info(&self) -> PluginInfo {
        PluginInfo {
            id: self.flavor.id.to_string(),
            name: self.flavor.name.to_string(),
            runtime: self.flavor.id.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            features: Features::PORTS
                | Features::RESOURCE_LIMITS
                | Features::CAPABILITIES
                | Features::RESTART_POLICY
                | Features::NAMED_NETWORKS
                | Features::VOLUMES
                | Features::TMPFS
                | Features::INIT
                | Features::READ_ONLY_MOUNTS
                | Features::FRACTIONAL_CPUS
                | Features::PORT_HOST_IP,
        }
    }

    fn detect(&self) -> Availability {
        let unavailable = |reason: String, hint: &str| Availability {
            available: false,
            version: None,
            reason: Some(reason),
            hint: Some(hint.to_string()),
            features: None,
            min_memory_bytes: None,
        };
        if host::locate(self.flavor.program).is_none() {
            return unavailable(format!("`{}` was not found on PATH", self.flavor.program), self.flavor.install_hint);
        }
        let args: &[&str] = match self.flavor.engine {
            Engine::Docker => &["version", "--format", "{{json .}}"],
            Engine::Podman => &["version", "--format", "json"],
        };
        let cmd = self.cmd().args(args.iter().copied()).timeout(PROBE_TIMEOUT);
        let out = match cmd.run() {
            Ok(out) => out,
            Err(err) => {
                return match RuntimeError::from(err) {
                    RuntimeError::TimedOut(_) => unavailable(
                        format!("`{} version` did not answer", self.flavor.program),
                        self.flavor.not_running_hint,
                    ),
                    other => unavailable(other.text(), self.flavor.install_hint),
                };
            }
        };
        match parse_version(self.flavor.engine, &out.stdout) {
            Ok(Some(version)) if out.success() => Availability {
                available: true,
                version: Some(version),
                reason: None,
                hint: None,
                features: None,
                min_memory_bytes: None,
            },
            _ => {
                let failure = cmd.failure(&out);
                match classify(self.flavor, failure) {
                    RuntimeError::NotAvailable(reason) => unavailable(reason, self.flavor.not_running_hint),
                    other => unavailable(other.text(), self.flavor.not_running_hint),
                }
            }
        }
    }

    fn image_exists(&self, image: &str) -> Result<bool, RuntimeError> {
        let cmd = self.cmd().args(["image", "inspect", "--format", "{{.Id}}", "--", image]).timeout(QUICK_TIMEOUT);
        match self.run(&cmd) {
            Ok(_) => Ok(true),
            Err(RuntimeError::NotFound(_)) => Ok(false),
            Err(err) => Err(err),
        }
    }

    fn image_pull(&self, image: &str) -> Result<(), RuntimeError> {
        // No timeout of our own: the grant's maximum bounds a pull.
        let cmd = self.cmd().args(["image", "pull", "--", image]).show_output();
        self.run(&cmd).map(drop)
    }

    fn create(&self, spec: ContainerSpec) -> Result<ContainerId, RuntimeError> {
        let args = create_args(self.flavor, &spec)?;
        let cmd = self.cmd().args(args).timeout(CREATE_TIMEOUT);
        match self.run(&cmd) {
            Ok(out) => {
                let id = out.stdout_str().trim().lines().last().unwrap_or("").to_string();
                if id.is_empty() {
                    Err(RuntimeError::parse(format!(
                        "`{} container create` printed no container id",
                        self.flavor.program
                    )))
                } else {
                    Ok(id)
                }
            }
            Err(RuntimeError::TimedOut(msg)) => {
                // Killing the CLI does not stop the engine: remove what it may
                // have created so the next attempt does not hit a name conflict.
                let _ = self.remove(&spec.name, true);
                Err(RuntimeError::TimedOut(msg))
            }
            Err(err) => Err(err),
        }
    }

    fn start(&self, id: &str) -> Result<(), RuntimeError> {
        let cmd = self.cmd().args(["container", "start", "--", id]).timeout(QUICK_TIMEOUT);
        self.run(&cmd).map(drop)
    }

    fn stop(&self, id: &str, grace_secs: Option<u32>) -> Result<(), RuntimeError> {
        let mut cmd = self.cmd().args(["container", "stop"]);
        let mut timeout = QUICK_TIMEOUT;
        if let Some(secs) = grace_secs {
            cmd = cmd.args(["--time".to_string(), secs.to_string()]);
            timeout = Duration::from_secs(secs.into()) + STOP_SLACK;
        }
        let cmd = cmd.args(["--", id]).timeout(timeout);
        self.run(&cmd).map(drop)
    }

    fn remove(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        let mut cmd = self.cmd().args(["container", "rm"]);
        if force {
            cmd = cmd.arg("--force");
        }
        let cmd = cmd.args(["--", id]).timeout(QUICK_TIMEOUT);
        match self.run(&cmd) {
            Ok(_) | Err(RuntimeError::NotFound(_)) => Ok(()),
            Err(err) => Err(err),
        }
    }

    fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeError> {
        let cmd = self.cmd().args(["container", "inspect", "--", id]).timeout(QUICK_TIMEOUT);
        match self.run(&cmd) {
            Ok(out) => Ok(parse_inspect(&out.stdout)?.into_iter().next()),
            Err(RuntimeError::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn list_containers(
        &self,
        selector: Vec<LabelSelector>,
        include_stopped: bool,
    ) -> Result<Vec<ContainerInfo>, RuntimeError> {
        let cmd = self.cmd().args(list_args(&selector, include_stopped)).timeout(QUICK_TIMEOUT);
        let out = self.run(&cmd)?;
        let ids: Vec<String> =
            out.stdout_str().lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
        let mut infos = self.inspect_many(&ids)?;
        // The engine already filtered; check again so a plugin bug or an
        // engine quirk can never hand alca a container it did not ask for.
        infos.retain(|info| parse::matches(info, &selector));
        Ok(infos)
    }

    fn exec(&self, req: ExecRequest) -> Result<ExecOutput, RuntimeError> {
        let cmd = self.cmd().args(exec_args(&req));
        let out = cmd.run()?;
        // 125/126/127 with an engine error means the engine, not the command,
        // failed (container gone or stopped, executable missing).
        if let Some(code) = out.exit_code
            && (125..=127).contains(&code)
        {
            let err = classify(self.flavor, cmd.failure(&out));
            if !matches!(err, RuntimeError::CommandFailed(_)) {
                return Err(err);
            }
        }
        match out.exit_code {
            Some(exit_code) => {
                Ok(ExecOutput { exit_code, stdout: out.stdout, stderr: out.stderr, truncated: out.truncated })
            }
            None => Err(RuntimeError::CommandFailed(cmd.failure(&out))),
        }
    }

    fn exec_plan(&self, req: ExecRequest) -> Result<CommandPlan, RuntimeError> {
        Ok(CommandPlan { program: self.flavor.program.to_string(), args: exec_args(&req), env: Vec::new() })
    }
}

impl DockerCompat {
    /// The network `name` as the engine reports it; `None` when there is none.
    fn network_inspect(&self, name: &str) -> Result<Option<EngineNetwork>, RuntimeError> {
        let cmd = self.cmd().args(network_inspect_args(name)).timeout(QUICK_TIMEOUT);
        let out = cmd.run()?;
        if out.success() {
            return match parse_network_inspect(&out.stdout)? {
                Some(n) if n.name == name => Ok(Some(n)),
                Some(n) => Err(RuntimeError::parse(format!(
                    "`{} network inspect {name}` described network `{}`",
                    self.flavor.program, n.name
                ))),
                None => Ok(None),
            };
        }
        let failure = cmd.failure(&out);
        match network_failure(&failure) {
            NetworkFailure::NotFound => Ok(None),
            _ => Err(classify(self.flavor, failure)),
        }
    }

    /// Are this engine's bridges interfaces of this host?
    fn bridges_on_host(&self) -> Result<bool, RuntimeError> {
        let os = host::info().os;
        if os != "linux" {
            return Ok(false);
        }
        let args: &[&str] = match self.flavor.engine {
            Engine::Docker => &["info", "--format", "{{json .}}"],
            Engine::Podman => &["info", "--format", "json"],
        };
        let out = self.run(&self.cmd().args(args.iter().copied()).timeout(QUICK_TIMEOUT))?;
        bridges_on_host(self.flavor.engine, &os, &out.stdout)
    }

    /// What to report about an existing network: it must be a bridge and
    /// carry the request's labels (another project's network, or one alca
    /// did not create, is not taken over).
    fn report(&self, req: &NetworkRequest, network: EngineNetwork) -> Result<NetworkInfo, RuntimeError> {
        if network.driver.as_deref() != Some("bridge") {
            return Err(RuntimeError::Conflict(format!(
                "network `{}` exists and is not a bridge network (driver {}); remove it with `{} network rm {}`",
                req.name,
                network.driver.as_deref().unwrap_or("unknown"),
                self.flavor.program,
                req.name
            )));
        }
        if !network.has_labels(req) {
            return Err(RuntimeError::Conflict(format!(
                "network `{}` exists but does not carry alca's labels for this project; remove it with `{} network rm {}`",
                req.name, self.flavor.program, req.name
            )));
        }
        Ok(network.info(self.bridges_on_host()?))
    }
}

impl Networks for DockerCompat {
    fn network_create(&self, req: NetworkRequest) -> Result<NetworkInfo, RuntimeError> {
        if let Some(existing) = self.network_inspect(&req.name)? {
            return self.report(&req, existing);
        }
        let cmd = self.cmd().args(network_create_args(self.flavor, &req)?).timeout(QUICK_TIMEOUT);
        let out = cmd.run()?;
        if !out.success() {
            let failure = cmd.failure(&out);
            // Another alca created it meanwhile: report that one.
            if network_failure(&failure) != NetworkFailure::Exists {
                return match classify(self.flavor, failure) {
                    RuntimeError::CommandFailed(f) if f.stderr_tail.contains("same bridge name") => {
                        Err(RuntimeError::Conflict(f.stderr_tail))
                    }
                    err => Err(err),
                };
            }
        }
        match self.network_inspect(&req.name)? {
            Some(created) => self.report(&req, created),
            None => Err(RuntimeError::parse(format!(
                "`{} network create {}` succeeded but the network cannot be inspected",
                self.flavor.program, req.name
            ))),
        }
    }

    fn network_remove(&self, name: &str) -> Result<(), RuntimeError> {
        let cmd = self.cmd().args(network_rm_args(name)).timeout(QUICK_TIMEOUT);
        let out = cmd.run()?;
        if out.success() {
            return Ok(());
        }
        let failure = cmd.failure(&out);
        match network_failure(&failure) {
            NetworkFailure::NotFound => Ok(()),
            NetworkFailure::InUse => Err(RuntimeError::Conflict(format!(
                "network `{name}` is still used by a container: {}",
                failure.stderr_tail.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
            ))),
            _ => Err(classify(self.flavor, failure)),
        }
    }
}

#[cfg(test)]
mod tests;
