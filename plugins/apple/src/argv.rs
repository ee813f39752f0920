//! Argument vectors for Apple's `container` CLI (container-cli-contracts
//! §1.6, §1.7 and §3). Pure functions: what the host's grant checks see.
//!
//! Apple's CLI is not docker-compatible: swift-argument-parser, not pflag.
//! Every value goes in its own argument after its option (`-l k=v`, never
//! `-lk=v`), because swift-argument-parser only joins values to long
//! options written `--opt=value`. A value that starts with `-` reads as a
//! missing value there, so such values are refused here. `create` and
//! `exec` read everything after the image (the container) as the
//! container's command line, so no `--` is needed before it; the image
//! and the container id never start with `-`.

use alca_plugin_sdk::{ContainerSpec, ExecRequest, MountKind, NetworkMode, Protocol, RestartPolicy, RuntimeError};

use crate::names;
use crate::version::Version;

/// The smallest memory limit Apple's server accepts
/// (`minimum memory amount allowed is 200 MiB`).
pub const MIN_MEMORY_BYTES: u64 = 200 * MIB;
pub const MIB: u64 = 1024 * 1024;

fn invalid(msg: String) -> RuntimeError {
    RuntimeError::InvalidSpec(msg)
}

/// A value swift-argument-parser would read as an option (or a missing value).
fn check_value(what: &str, v: &str) -> Result<(), RuntimeError> {
    if v.is_empty() {
        return Err(invalid(format!("{what} is empty")));
    }
    if v.starts_with('-') {
        return Err(invalid(format!(
            "{what} `{v}` starts with `-`, which Apple's `container` reads as an option, not a value"
        )));
    }
    Ok(())
}

/// A named volume as Apple names them: `^[A-Za-z0-9][A-Za-z0-9_.-]*$`.
fn is_volume_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// `container create …` for `spec`, with only the options `version` has.
pub fn create_args(spec: &ContainerSpec, version: Version) -> Result<Vec<String>, RuntimeError> {
    let mut a: Vec<String> = vec!["create".into()];
    let mut opt = |flag: &str, value: String| {
        a.push(flag.to_string());
        a.push(value);
    };
    opt("--name", names::container_name(&spec.name));

    for kv in &spec.labels {
        if kv.key.is_empty() || kv.key.contains('=') || kv.key.starts_with('-') {
            return Err(invalid(format!(
                "label key {:?} is empty, starts with `-` or contains `=`, which Apple's `container` cannot store",
                kv.key
            )));
        }
        if kv.value.contains('=') {
            return Err(invalid(format!(
                "the value of label `{}` contains `=`, which Apple's `container` cannot store in a label (`{}={}`)",
                kv.key, kv.key, kv.value
            )));
        }
        opt("-l", format!("{}={}", kv.key, kv.value));
    }
    for kv in &spec.env {
        if kv.key.is_empty() || kv.key.contains('=') || kv.key.starts_with('-') {
            return Err(invalid(format!(
                "environment variable name {:?} is empty, starts with `-` or contains `=`",
                kv.key
            )));
        }
        opt("-e", format!("{}={}", kv.key, kv.value));
    }
    if let Some(workdir) = &spec.workdir {
        check_value("the working directory", workdir)?;
        opt("-w", workdir.clone());
    }
    if let Some(user) = &spec.user {
        check_value("the user", user)?;
        opt("-u", user.clone());
    }
    let mut command_prefix: Vec<String> = Vec::new();
    if let Some(entrypoint) = &spec.entrypoint {
        let (first, rest) =
            entrypoint.split_first().ok_or_else(|| invalid("an entrypoint override must name a program".into()))?;
        check_value("the entrypoint", first)?;
        opt("--entrypoint", first.clone());
        command_prefix = rest.to_vec();
    }

    for m in &spec.mounts {
        if m.target.contains(':') || m.target.is_empty() {
            return Err(invalid(format!(
                "mount target {:?} is empty or contains `:`, which Apple's `container` cannot express",
                m.target
            )));
        }
        match m.kind {
            MountKind::Bind | MountKind::Volume => {
                if m.kind == MountKind::Bind && (!m.source.starts_with('/') || m.source.contains(':')) {
                    return Err(invalid(format!(
                        "bind mount source {:?} must be an absolute path without `:` for Apple's `container`",
                        m.source
                    )));
                }
                if m.kind == MountKind::Volume && !is_volume_name(&m.source) {
                    return Err(invalid(format!(
                        "volume name {:?} must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$ for Apple's `container`",
                        m.source
                    )));
                }
                let mut v = format!("{}:{}", m.source, m.target);
                if m.read_only {
                    v.push_str(":ro");
                }
                opt("-v", v);
            }
            MountKind::Tmpfs => {
                if m.read_only {
                    return Err(invalid(format!(
                        "a read-only tmpfs at {} cannot be expressed: Apple's `container --tmpfs` takes no options",
                        m.target
                    )));
                }
                check_value("the tmpfs target", &m.target)?;
                opt("--tmpfs", m.target.clone());
            }
        }
    }

    for p in &spec.ports {
        // Apple needs the host port; the contract's "none" means the same
        // port as in the container.
        let host_port = p.host_port.unwrap_or(p.container_port);
        if host_port < 2 || p.container_port < 2 {
            return Err(invalid(format!(
                "port {host_port}:{} cannot be published by Apple's `container` (ports start at 2)",
                p.container_port
            )));
        }
        let mut v = match &p.host_ip {
            Some(ip) if ip.contains(':') => format!("[{ip}]:{host_port}:{}", p.container_port),
            Some(ip) => format!("{ip}:{host_port}:{}", p.container_port),
            None => format!("{host_port}:{}", p.container_port),
        };
        if p.protocol == Protocol::Udp {
            v.push_str("/udp");
        }
        opt("-p", v);
    }

    if let Some(cpus) = spec.resources.cpus {
        if !(cpus.is_finite() && cpus >= 1.0) || cpus.fract() != 0.0 || cpus > f64::from(u32::MAX) {
            return Err(invalid(format!(
                "resources.cpus = {cpus}: Apple's `container` takes a whole number of CPUs (at least 1)"
            )));
        }
        opt("-c", format!("{}", cpus as u64));
    }
    if let Some(bytes) = spec.resources.memory_bytes {
        if bytes < MIN_MEMORY_BYTES {
            return Err(invalid(format!(
                "resources.memory = {bytes} bytes: Apple's `container` needs at least 200 MiB"
            )));
        }
        if bytes % MIB != 0 {
            return Err(invalid(format!(
                "resources.memory = {bytes} bytes: Apple's `container` sets memory in whole MiB (1 MiB = 1048576 bytes)"
            )));
        }
        opt("-m", format!("{}M", bytes / MIB));
    }

    let caps = &spec.capabilities;
    if (!caps.drop.is_empty() || !caps.add.is_empty()) && !version.has_capabilities() {
        return Err(invalid(format!(
            "Apple's `container` {version} cannot drop or add Linux capabilities (--cap-drop/--cap-add came in {})",
            Version::CAPABILITIES
        )));
    }
    for cap in &caps.drop {
        check_value("a capability", cap)?;
        opt("--cap-drop", cap.clone());
    }
    for cap in &caps.add {
        check_value("a capability", cap)?;
        opt("--cap-add", cap.clone());
    }

    match spec.restart {
        RestartPolicy::No => {}
        RestartPolicy::UnlessStopped => {
            return Err(invalid("Apple's `container` has no restart policy (restart = unless-stopped)".into()));
        }
    }
    match &spec.network {
        NetworkMode::Default => {}
        NetworkMode::None => {
            return Err(invalid("Apple's `container` cannot run a container without a network".into()));
        }
        NetworkMode::Named(name) => {
            check_value("the network name", name)?;
            if name.contains(',') {
                return Err(invalid(format!(
                    "network name {name:?} contains `,`, which Apple's `container --network` reads as options"
                )));
            }
            opt("--network", name.clone());
        }
    }
    if spec.init {
        if !version.has_init() {
            return Err(invalid(format!(
                "Apple's `container` {version} cannot run an init process (--init came in {})",
                Version::INIT
            )));
        }
        a.push("--init".into());
    }

    check_value("the image", &spec.image)?;
    a.push(spec.image.clone());
    a.extend(command_prefix);
    a.extend(spec.command.iter().cloned());
    Ok(a)
}

/// `container exec [-i] [-t] [-e K=V]… [-w DIR] [-u USER] ID ARGV…`.
pub fn exec_args(req: &ExecRequest) -> Result<Vec<String>, RuntimeError> {
    let mut a: Vec<String> = vec!["exec".into()];
    if req.interactive {
        a.push("-i".into());
    }
    if req.tty {
        a.push("-t".into());
    }
    for kv in &req.env {
        if kv.key.is_empty() || kv.key.contains('=') || kv.key.starts_with('-') {
            return Err(invalid(format!(
                "environment variable name {:?} is empty, starts with `-` or contains `=`",
                kv.key
            )));
        }
        a.push("-e".into());
        a.push(format!("{}={}", kv.key, kv.value));
    }
    if let Some(workdir) = &req.workdir {
        check_value("the working directory", workdir)?;
        a.push("-w".into());
        a.push(workdir.clone());
    }
    if let Some(user) = &req.user {
        check_value("the user", user)?;
        a.push("-u".into());
        a.push(user.clone());
    }
    check_value("the container id", &req.container)?;
    if req.argv.is_empty() {
        return Err(invalid("exec needs a command to run".into()));
    }
    a.push(req.container.clone());
    a.extend(req.argv.iter().cloned());
    Ok(a)
}

/// `container list --all --format json`: every container (Apple cannot
/// filter by label; ≤ 0.9 ignores `--all` and lists them all anyway).
pub fn list_args() -> Vec<String> {
    ["list", "--all", "--format", "json"].iter().map(|s| s.to_string()).collect()
}
