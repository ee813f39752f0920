//! Argument vectors for the docker-compatible CLIs. Pure functions: easy to
//! test, and what the host's grant checks see.
//!
//! Every invocation puts `--` before its operands (container id, image,
//! command), so nothing alca passes through (a user's command line, an image
//! name) can ever be read as an option, and the host's denied-argument check
//! applies exactly to the options.

use alca_plugin_sdk::{
    ContainerSpec, ExecRequest, LabelSelector, MountKind, NetworkMode, Protocol, RestartPolicy, RuntimeError,
};

use crate::Flavor;

/// `container create` for `spec`, with the image and command after `--`.
pub fn create_args(flavor: &Flavor, spec: &ContainerSpec) -> Result<Vec<String>, RuntimeError> {
    let mut a: Vec<String> = vec!["container".into(), "create".into()];
    let mut opt = |flag: &str, value: String| {
        a.push(flag.to_string());
        a.push(value);
    };
    opt("--name", spec.name.clone());
    for kv in &spec.labels {
        opt("--label", format!("{}={}", kv.key, kv.value));
    }
    for kv in &spec.env {
        if kv.key.is_empty() || kv.key.contains('=') {
            return Err(RuntimeError::InvalidSpec(format!(
                "environment variable name {:?} is empty or contains `=`",
                kv.key
            )));
        }
        opt("--env", format!("{}={}", kv.key, kv.value));
    }
    if let Some(workdir) = &spec.workdir {
        opt("--workdir", workdir.clone());
    }
    if let Some(user) = &spec.user {
        opt("--user", user.clone());
    }
    let mut command_prefix: Vec<String> = Vec::new();
    if let Some(entrypoint) = &spec.entrypoint {
        let (first, rest) = entrypoint
            .split_first()
            .ok_or_else(|| RuntimeError::InvalidSpec("an entrypoint override must name a program".into()))?;
        opt("--entrypoint", first.clone());
        command_prefix = rest.to_vec();
    }
    for m in &spec.mounts {
        if m.target.contains(':') || m.target.contains(',') {
            return Err(RuntimeError::InvalidSpec(format!(
                "mount target {:?} contains `:` or `,`, which {} cannot express",
                m.target, flavor.name
            )));
        }
        match m.kind {
            MountKind::Bind | MountKind::Volume => {
                if m.source.contains(':') {
                    return Err(RuntimeError::InvalidSpec(format!(
                        "mount source {:?} contains `:`, which {} cannot express in a volume spec",
                        m.source, flavor.name
                    )));
                }
                let mut v = format!("{}:{}", m.source, m.target);
                if m.read_only {
                    v.push_str(":ro");
                }
                opt("--volume", v);
            }
            MountKind::Tmpfs if m.read_only => opt("--tmpfs", format!("{}:ro", m.target)),
            MountKind::Tmpfs => opt("--tmpfs", m.target.clone()),
        }
    }
    for p in &spec.ports {
        let host_port = p.host_port.unwrap_or(p.container_port);
        let mut v = match &p.host_ip {
            Some(ip) if ip.contains(':') => format!("[{ip}]:{host_port}:{}", p.container_port),
            Some(ip) => format!("{ip}:{host_port}:{}", p.container_port),
            None => format!("{host_port}:{}", p.container_port),
        };
        if p.protocol == Protocol::Udp {
            v.push_str("/udp");
        }
        opt("--publish", v);
    }
    if let Some(cpus) = spec.resources.cpus {
        if !(cpus.is_finite() && cpus > 0.0) {
            return Err(RuntimeError::InvalidSpec(format!("cpus must be positive, got {cpus}")));
        }
        opt("--cpus", format!("{cpus}"));
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
    match spec.restart {
        RestartPolicy::No => {}
        RestartPolicy::UnlessStopped => opt("--restart", "unless-stopped".into()),
    }
    match &spec.network {
        NetworkMode::Default => {}
        NetworkMode::None => opt("--network", "none".into()),
        NetworkMode::Named(name) => opt("--network", name.clone()),
    }
    if spec.init {
        a.push("--init".into());
    }
    // alca checks for the image and pulls it itself (visibly, with its own
    // timeout); `create` must never start a hidden pull.
    a.push("--pull=never".into());
    a.push("--".into());
    a.push(spec.image.clone());
    a.extend(command_prefix);
    a.extend(spec.command.iter().cloned());
    Ok(a)
}

/// `container exec`, with the container id and the command after `--`.
pub fn exec_args(req: &ExecRequest) -> Vec<String> {
    let mut a: Vec<String> = vec!["container".into(), "exec".into()];
    if req.interactive {
        a.push("--interactive".into());
    }
    if req.tty {
        a.push("--tty".into());
    }
    if let Some(user) = &req.user {
        a.push("--user".into());
        a.push(user.clone());
    }
    if let Some(workdir) = &req.workdir {
        a.push("--workdir".into());
        a.push(workdir.clone());
    }
    for kv in &req.env {
        a.push("--env".into());
        a.push(format!("{}={}", kv.key, kv.value));
    }
    a.push("--".into());
    a.push(req.container.clone());
    a.extend(req.argv.iter().cloned());
    a
}

/// `container ls` printing full ids of the containers matching `selector`.
pub fn list_args(selector: &[LabelSelector], include_stopped: bool) -> Vec<String> {
    let mut a: Vec<String> = vec!["container".into(), "ls".into(), "--quiet".into(), "--no-trunc".into()];
    if include_stopped {
        a.push("--all".into());
    }
    for s in selector {
        a.push("--filter".into());
        a.push(match &s.value {
            Some(v) => format!("label={}={}", s.key, v),
            None => format!("label={}", s.key),
        });
    }
    a
}
