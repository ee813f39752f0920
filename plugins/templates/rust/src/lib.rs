//! `{{id}}`: an alca runtime plugin, written with `alca-plugin-sdk`.
//!
//! As generated, it drives the `docker` CLI. To adapt it to your runtime,
//! change `PROGRAM`, the argument vectors below and the parsing of what the
//! CLI prints, then make `alca-plugin.toml` grant exactly those invocations:
//! alca checks every `Command` against it before anything starts.
//!
//! Conventions worth keeping:
//! - operands go after `--`, so nothing alca passes through (an image name,
//!   a user's command line) can ever be read as an option;
//! - every failure becomes the typed `RuntimeError` alca understands;
//! - what the plugin returns (ids, listed containers) comes from the engine's
//!   own output in the same call.

use std::time::Duration;

use alca_plugin_sdk::serde_json::{self, Value};
use alca_plugin_sdk::*;

/// Equals `id` in alca-plugin.toml.
const ID: &str = "{{id}}";
/// The program this plugin runs: a `[[programs]]` name in alca-plugin.toml.
const PROGRAM: &str = "docker";
const INSTALL_HINT: &str = "install Docker (https://docs.docker.com/engine/install/)";
const START_HINT: &str = "start the Docker engine (Linux: `sudo systemctl start docker`; macOS: open Docker Desktop)";
/// How long one quick CLI call may take before the plugin gives up.
const QUICK: Duration = Duration::from_secs(60);

struct Plugin;

impl Runtime for Plugin {
    fn info(&self) -> PluginInfo {
        PluginInfo {
            id: ID.into(),
            name: ID.into(),
            runtime: PROGRAM.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            // What `create` can express beyond the basics; alca refuses (or
            // warns about) a configuration that needs a feature not listed.
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
            hint: Some(hint.into()),
            features: None,
            min_memory_bytes: None,
        };
        if host::locate(PROGRAM).is_none() {
            return unavailable(format!("`{PROGRAM}` was not found on PATH"), INSTALL_HINT);
        }
        let out = match cmd(["version", "--format", "{{json .}}"]).timeout(Duration::from_secs(20)).run() {
            Ok(out) => out,
            Err(e) => return unavailable(RuntimeError::from(e).text(), START_HINT),
        };
        // `Server` is null when the CLI cannot reach the engine.
        let version: Option<String> = serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .and_then(|v| v.pointer("/Server/Version").and_then(Value::as_str).map(String::from));
        match version {
            Some(version) if out.success() => {
                Availability { available: true, version: Some(version), reason: None, hint: None, features: None, min_memory_bytes: None }
            }
            _ => unavailable(format!("the engine did not answer: {}", stderr_tail(&out.stderr, 300)), START_HINT),
        }
    }

    fn image_exists(&self, image: &str) -> Result<bool, RuntimeError> {
        match run(cmd(["image", "inspect", "--format", "{{.Id}}", "--", image])) {
            Ok(_) => Ok(true),
            Err(RuntimeError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn image_pull(&self, image: &str) -> Result<(), RuntimeError> {
        // Progress goes to the user; the grant's max-timeout-secs bounds it.
        run(Command::new(PROGRAM).args(["image", "pull", "--", image]).show_output()).map(drop)
    }

    fn create(&self, spec: ContainerSpec) -> Result<ContainerId, RuntimeError> {
        let out = run(Command::new(PROGRAM).args(create_args(&spec)?).timeout(Duration::from_secs(120)))?;
        // The engine prints the new container's id.
        match out.stdout_str().lines().map(str::trim).filter(|l| !l.is_empty()).next_back() {
            Some(id) => Ok(id.to_string()),
            None => Err(RuntimeError::parse("`container create` printed no id")),
        }
    }

    fn start(&self, id: &str) -> Result<(), RuntimeError> {
        run(cmd(["container", "start", "--", id])).map(drop)
    }

    fn stop(&self, id: &str, grace_secs: Option<u32>) -> Result<(), RuntimeError> {
        let grace = grace_secs.unwrap_or(10);
        let stop = Command::new(PROGRAM)
            .args(["container", "stop", "--time", &grace.to_string(), "--", id])
            .timeout(Duration::from_secs(u64::from(grace) + 30));
        run(stop).map(drop)
    }

    fn remove(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        let args: &[&str] = if force { &["container", "rm", "--force", "--"] } else { &["container", "rm", "--"] };
        match run(cmd(args.iter().copied().chain([id]))) {
            // Removal is idempotent.
            Ok(_) | Err(RuntimeError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeError> {
        match run(cmd(["container", "inspect", "--", id])) {
            Ok(out) => Ok(parse_inspect(&out.stdout)?.into_iter().next()),
            Err(RuntimeError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn list_containers(
        &self,
        selector: Vec<LabelSelector>,
        include_stopped: bool,
    ) -> Result<Vec<ContainerInfo>, RuntimeError> {
        let mut ls = cmd(["container", "ls", "--quiet", "--no-trunc"]);
        if include_stopped {
            ls = ls.arg("--all");
        }
        for s in &selector {
            let filter = match &s.value {
                Some(v) => format!("label={}={v}", s.key),
                None => format!("label={}", s.key),
            };
            ls = ls.args(["--filter".to_string(), filter]);
        }
        let out = run(ls)?;
        let ids: Vec<String> = out.stdout_str().split_whitespace().map(String::from).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // A container may vanish between `ls` and `inspect`: keep the others.
        let out = cmd(["container", "inspect", "--"]).args(ids).run()?;
        parse_inspect(&out.stdout)
    }

    fn exec(&self, req: ExecRequest) -> Result<ExecOutput, RuntimeError> {
        let exec = Command::new(PROGRAM).args(exec_args(&req));
        let out = exec.run()?;
        match out.exit_code {
            Some(exit_code) => {
                Ok(ExecOutput { exit_code, stdout: out.stdout, stderr: out.stderr, truncated: out.truncated })
            }
            None => Err(RuntimeError::CommandFailed(exec.failure(&out))),
        }
    }

    fn exec_plan(&self, req: ExecRequest) -> Result<CommandPlan, RuntimeError> {
        // alca checks this against a rule with `interactive = true`, then runs
        // it on the user's terminal itself.
        Ok(CommandPlan { program: PROGRAM.into(), args: exec_args(&req), env: Vec::new() })
    }
}

alca_plugin_sdk::export_runtime!(Plugin = Plugin);

/// A quick call of the CLI.
fn cmd<I: IntoIterator<Item = S>, S: Into<String>>(args: I) -> Command {
    Command::new(PROGRAM).args(args).timeout(QUICK)
}

/// Runs `cmd`; a non-zero exit becomes the matching `RuntimeError`.
fn run(cmd: Command) -> Result<Output, RuntimeError> {
    let out = cmd.run()?;
    if out.success() {
        return Ok(out);
    }
    let failure = cmd.failure(&out);
    let said = failure.stderr_tail.to_lowercase();
    let last_line = failure.stderr_tail.lines().last().unwrap_or_default().to_string();
    let any = |needles: &[&str]| needles.iter().any(|n| said.contains(n));
    Err(if any(&["cannot connect to the docker daemon", "is the docker daemon running", "error during connect"]) {
        RuntimeError::NotAvailable(last_line)
    } else if any(&["no such container", "no such object", "no such image"]) {
        RuntimeError::NotFound(last_line)
    } else if any(&["is already in use", "is not running", "is paused", "is restarting"]) {
        RuntimeError::Conflict(last_line)
    } else {
        RuntimeError::CommandFailed(failure)
    })
}

/// `container create` expressing every field of `spec`. The grant's
/// `creates = true` rule checks that nothing which would weaken the sandbox
/// (a dropped capability, a limit, the user...) was left out.
fn create_args(spec: &ContainerSpec) -> Result<Vec<String>, RuntimeError> {
    let mut a: Vec<String> = vec!["container".into(), "create".into()];
    let mut opt = |name: &str, value: String| a.extend([name.to_string(), value]);
    opt("--name", spec.name.clone());
    for kv in &spec.labels {
        opt("--label", format!("{}={}", kv.key, kv.value));
    }
    for kv in &spec.env {
        opt("--env", format!("{}={}", kv.key, kv.value));
    }
    if let Some(workdir) = &spec.workdir {
        opt("--workdir", workdir.clone());
    }
    if let Some(user) = &spec.user {
        opt("--user", user.clone());
    }
    let mut command: Vec<String> = Vec::new();
    if let Some(entrypoint) = &spec.entrypoint {
        let (program, rest) =
            entrypoint.split_first().ok_or_else(|| RuntimeError::InvalidSpec("the entrypoint is empty".into()))?;
        opt("--entrypoint", program.clone());
        command.extend(rest.iter().cloned());
    }
    for m in &spec.mounts {
        let ro = if m.read_only { ":ro" } else { "" };
        match m.kind {
            MountKind::Bind | MountKind::Volume => opt("--volume", format!("{}:{}{ro}", m.source, m.target)),
            MountKind::Tmpfs => opt("--tmpfs", format!("{}{ro}", m.target)),
        }
    }
    for p in &spec.ports {
        let host_port = p.host_port.unwrap_or(p.container_port);
        let ip = match &p.host_ip {
            Some(ip) if ip.contains(':') => format!("[{ip}]:"),
            Some(ip) => format!("{ip}:"),
            None => String::new(),
        };
        let proto = if p.protocol == Protocol::Udp { "/udp" } else { "" };
        opt("--publish", format!("{ip}{host_port}:{}{proto}", p.container_port));
    }
    if let Some(cpus) = spec.resources.cpus {
        opt("--cpus", cpus.to_string());
    }
    if let Some(bytes) = spec.resources.memory_bytes {
        opt("--memory", format!("{bytes}b"));
    }
    for cap in &spec.capabilities.drop {
        opt("--cap-drop", cap.clone());
    }
    for cap in &spec.capabilities.add {
        opt("--cap-add", cap.clone());
    }
    if spec.restart == RestartPolicy::UnlessStopped {
        opt("--restart", "unless-stopped".into());
    }
    match &spec.network {
        NetworkMode::Default => {}
        NetworkMode::None => opt("--network", "none".into()),
        NetworkMode::Named(name) => opt("--network", name.clone()),
    }
    if spec.init {
        a.push("--init".into());
    }
    // alca checks for the image and pulls it itself, visibly.
    a.push("--pull=never".into());
    a.push("--".into());
    a.push(spec.image.clone());
    a.extend(command);
    a.extend(spec.command.iter().cloned());
    Ok(a)
}

/// `container exec`, the container and the command line after `--`.
fn exec_args(req: &ExecRequest) -> Vec<String> {
    let mut a: Vec<String> = vec!["container".into(), "exec".into()];
    if req.interactive {
        a.push("--interactive".into());
    }
    if req.tty {
        a.push("--tty".into());
    }
    if let Some(user) = &req.user {
        a.extend(["--user".into(), user.clone()]);
    }
    if let Some(workdir) = &req.workdir {
        a.extend(["--workdir".into(), workdir.clone()]);
    }
    for kv in &req.env {
        a.extend(["--env".into(), format!("{}={}", kv.key, kv.value)]);
    }
    a.push("--".into());
    a.push(req.container.clone());
    a.extend(req.argv.iter().cloned());
    a
}

/// The JSON array `container inspect` prints.
fn parse_inspect(stdout: &[u8]) -> Result<Vec<ContainerInfo>, RuntimeError> {
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let items: Vec<Value> = serde_json::from_slice(stdout)
        .map_err(|e| RuntimeError::parse(format!("`container inspect` did not print a JSON array: {e}")))?;
    items.iter().map(container_info).collect()
}

fn container_info(v: &Value) -> Result<ContainerInfo, RuntimeError> {
    let s = |pointer: &str| v.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from);
    let mut labels: Vec<KeyValue> = v
        .pointer("/Config/Labels")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, val)| Some(KeyValue::new(k.clone(), val.as_str()?))).collect())
        .unwrap_or_default();
    labels.sort_by(|a, b| a.key.cmp(&b.key));
    let ip_addresses = v
        .pointer("/NetworkSettings/Networks")
        .and_then(Value::as_object)
        .map(|nets| {
            nets.values()
                .filter_map(|n| n.get("IPAddress")?.as_str())
                .filter(|ip| !ip.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    Ok(ContainerInfo {
        id: s("/Id").ok_or_else(|| RuntimeError::parse("an inspected container has no `Id`"))?,
        name: s("/Name").unwrap_or_default().trim_start_matches('/').to_string(),
        image: s("/Config/Image").unwrap_or_default(),
        state: match s("/State/Status").as_deref() {
            Some("created") => ContainerState::Created,
            Some("running") => ContainerState::Running,
            Some("paused") => ContainerState::Paused,
            Some("restarting") => ContainerState::Restarting,
            Some("removing") => ContainerState::Removing,
            Some("exited") => ContainerState::Exited,
            Some("dead") => ContainerState::Dead,
            _ => ContainerState::Unknown,
        },
        labels,
        exit_code: v.pointer("/State/ExitCode").and_then(Value::as_i64).and_then(|c| i32::try_from(c).ok()),
        created_at: s("/Created"),
        // docker reports a never-started container as started in year 1.
        started_at: s("/State/StartedAt").filter(|t| !t.starts_with("0001-")),
        ip_addresses,
    })
}
