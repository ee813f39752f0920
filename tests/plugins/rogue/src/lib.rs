//! A rogue runtime plugin: the built-in docker/podman code (docker-compat),
//! except that one export, chosen by the test, runs the argv the test
//! chooses instead. The test installs it with the built-in plugin's grant,
//! unchanged but for its id and the variables it reads, so every attack is
//! one the real grant must stop.
//!
//! `ROGUE_ENGINE`: `docker` or `podman`.
//! `ROGUE_ATTACK`: JSON `{"call": "<export>", "argv": [...], "env": [[k, v]]}`.
//! In the argv, `$NAME`, `$IMAGE`, `$PROJECT` (the project path label),
//! `$PID` (the project id label), `$ID` (the request's container) and an
//! element `$COMMAND...` (the spec's command, one argument per element) come
//! from the request, `$TARGET` from `ROGUE_TARGET` (a container that is not
//! the project's).
//!
//! `{"features-off": ["ports", ...]}` (alone or beside an attack) makes
//! `info` report the features named (as the contract spells them) absent.
//!
//! The optional `networks` export is attacked the same way (`network-create`,
//! `network-remove`; `$NETWORK`, `$IFACE`, `$PID`), and `{"forge":
//! "network-create", "interface": "<name>"}` reports another bridge.
//!
//! An attack that the host lets run and that succeeds makes the plugin
//! fail with a message starting `LEAKED`, so alca's output shows it.

use alca_docker_compat::{DockerCompat, Engine, Flavor};
use alca_plugin_sdk::{
    Availability, Command, CommandPlan, ContainerInfo, ContainerSpec, ExecOutput, ExecRequest, Features, LabelSelector,
    PluginInfo, Runtime, RuntimeError, SpawnError, host,
};
use alca_plugin_sdk_networks::{NetworkInfo, NetworkRequest, Networks};

static DOCKER: Flavor = Flavor {
    id: "rogue-docker",
    name: "Rogue Docker",
    program: "docker",
    engine: Engine::Docker,
    not_running_hint: "start docker",
    install_hint: "install docker",
};

static PODMAN: Flavor = Flavor {
    id: "rogue-podman",
    name: "Rogue Podman",
    program: "podman",
    engine: Engine::Podman,
    not_running_hint: "start podman",
    install_hint: "install podman",
};

struct Rogue;

fn flavor() -> &'static Flavor {
    if host::env("ROGUE_ENGINE").as_deref() == Some("podman") { &PODMAN } else { &DOCKER }
}

fn honest() -> DockerCompat {
    DockerCompat::new(flavor())
}

/// Is export `call` to lie about container ids?
fn forges(call: &str) -> bool {
    let Some(text) = host::env("ROGUE_ATTACK") else { return false };
    serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v["forge"].as_str().map(|f| f == call))
        == Some(true)
}

/// The features `ROGUE_ATTACK`'s `features-off` names.
fn features_off() -> Features {
    let Some(text) = host::env("ROGUE_ATTACK") else { return Features::empty() };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { return Features::empty() };
    let mut off = Features::empty();
    for name in v["features-off"].as_array().into_iter().flatten().filter_map(|n| n.as_str()) {
        off |= match name {
            "ports" => Features::PORTS,
            "resource-limits" => Features::RESOURCE_LIMITS,
            "capabilities" => Features::CAPABILITIES,
            "restart-policy" => Features::RESTART_POLICY,
            "named-networks" => Features::NAMED_NETWORKS,
            "volumes" => Features::VOLUMES,
            "tmpfs" => Features::TMPFS,
            "init" => Features::INIT,
            "read-only-mounts" => Features::READ_ONLY_MOUNTS,
            "fractional-cpus" => Features::FRACTIONAL_CPUS,
            "port-host-ip" => Features::PORT_HOST_IP,
            _ => Features::empty(),
        };
    }
    off
}

fn target() -> String {
    host::env("ROGUE_TARGET").unwrap_or_default()
}

struct Attack {
    argv: Vec<String>,
    env: Vec<(String, String)>,
}

/// The attack planned for export `call`, with `vars` substituted.
fn attack(call: &str, vars: &[(&str, &str)]) -> Option<Attack> {
    attack_with(call, vars, &[])
}

fn attack_with(call: &str, vars: &[(&str, &str)], command: &[String]) -> Option<Attack> {
    let text = host::env("ROGUE_ATTACK")?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    if v["call"].as_str()? != call {
        return None;
    }
    let target = host::env("ROGUE_TARGET").unwrap_or_default();
    let subst = |s: &str| {
        let mut s = s.replace("$TARGET", &target);
        for (k, val) in vars {
            s = s.replace(k, val);
        }
        s
    };
    let mut argv = Vec::new();
    for a in v["argv"].as_array()?.iter().filter_map(|a| a.as_str()) {
        if a == "$COMMAND..." {
            argv.extend(command.iter().cloned());
        } else {
            argv.push(subst(a));
        }
    }
    let env = v["env"]
        .as_array()
        .map(|pairs| pairs.iter().filter_map(|p| Some((p[0].as_str()?.to_string(), subst(p[1].as_str()?)))).collect())
        .unwrap_or_default();
    Some(Attack { argv, env })
}

/// Runs an attack: the host's refusal comes back as the plugin's error; a
/// command that ran and succeeded is a leak.
fn run(a: Attack) -> Result<String, RuntimeError> {
    let mut cmd = Command::new(flavor().program).args(a.argv);
    for (k, v) in a.env {
        cmd = cmd.env(k, v);
    }
    match cmd.run() {
        Ok(out) if out.success() => Ok(out.stdout_str()),
        Ok(out) => Err(RuntimeError::CommandFailed(cmd.failure(&out))),
        Err(SpawnError::Denied(msg)) => Err(RuntimeError::Denied(msg)),
        Err(e) => Err(RuntimeError::from(e)),
    }
}

fn leak(what: &str, out: Result<String, RuntimeError>) -> RuntimeError {
    match out {
        Ok(stdout) => RuntimeError::Conflict(format!("LEAKED: {what} ran: {}", stdout.trim())),
        Err(e) => e,
    }
}

fn spec_vars(spec: &ContainerSpec) -> Vec<(&'static str, String)> {
    let label = |k: &str| spec.labels.iter().find(|kv| kv.key == k).map(|kv| kv.value.clone()).unwrap_or_default();
    vec![
        ("$NAME", spec.name.clone()),
        ("$IMAGE", spec.image.clone()),
        ("$PROJECT", label("alca.project.path")),
        ("$PID", label("alca.project.id")),
    ]
}

fn borrow<'a>(vars: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    vars.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

impl Runtime for Rogue {
    fn info(&self) -> PluginInfo {
        let mut info = honest().info();
        info.features.remove(features_off());
        info
    }

    fn detect(&self) -> Availability {
        if let Some(a) = attack("detect", &[]) {
            let e = leak("detect", run(a));
            return Availability {
                available: false,
                version: None,
                reason: Some(format!("{e:?}")),
                hint: None,
                features: None,
                min_memory_bytes: None,
            };
        }
        honest().detect()
    }

    fn image_exists(&self, image: &str) -> Result<bool, RuntimeError> {
        honest().image_exists(image)
    }

    fn image_pull(&self, image: &str) -> Result<(), RuntimeError> {
        honest().image_pull(image)
    }

    fn create(&self, spec: ContainerSpec) -> Result<String, RuntimeError> {
        let vars = spec_vars(&spec);
        match attack_with("create", &borrow(&vars), &spec.command) {
            // A create the host allowed is the point of the test: the test
            // inspects what the engine made of it.
            Some(a) => run(a).map(|out| out.trim().lines().last().unwrap_or("").to_string()),
            None if forges("create") => honest().create(spec).map(|_| target()),
            None => honest().create(spec),
        }
    }

    fn start(&self, id: &str) -> Result<(), RuntimeError> {
        match attack("start", &[("$ID", id)]) {
            Some(a) => Err(leak("start", run(a))),
            None => honest().start(id),
        }
    }

    fn stop(&self, id: &str, grace: Option<u32>) -> Result<(), RuntimeError> {
        match attack("stop", &[("$ID", id)]) {
            Some(a) => Err(leak("stop", run(a))),
            None => honest().stop(id, grace),
        }
    }

    fn remove(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        match attack("remove", &[("$ID", id)]) {
            Some(a) => Err(leak("remove", run(a))),
            None => honest().remove(id, force),
        }
    }

    fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeError> {
        match attack("inspect", &[("$ID", id)]) {
            Some(a) => Err(leak("inspect", run(a))),
            None if forges("inspect") => Ok(honest().inspect(id)?.map(|info| ContainerInfo { id: target(), ..info })),
            None => honest().inspect(id),
        }
    }

    fn list_containers(&self, s: Vec<LabelSelector>, all: bool) -> Result<Vec<ContainerInfo>, RuntimeError> {
        match attack("list-containers", &[]) {
            Some(a) => {
                // List as told, then read every container the listing named.
                let out = run(a)?;
                let ids: Vec<String> = out.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
                let inspect = Attack {
                    argv: ["container", "inspect", "--"].iter().map(|s| s.to_string()).chain(ids).collect(),
                    env: Vec::new(),
                };
                Err(leak("inspect of the listing", run(inspect)))
            }
            None if forges("list-containers") => {
                let mut infos = honest().list_containers(s, all)?;
                if let Some(first) = infos.first().cloned() {
                    infos.push(ContainerInfo { id: target(), name: target(), ..first });
                }
                Ok(infos)
            }
            None => honest().list_containers(s, all),
        }
    }

    fn exec(&self, req: ExecRequest) -> Result<ExecOutput, RuntimeError> {
        match attack("exec", &[("$ID", &req.container)]) {
            Some(a) => Err(leak("exec", run(a))),
            None => honest().exec(req),
        }
    }

    fn exec_plan(&self, req: ExecRequest) -> Result<CommandPlan, RuntimeError> {
        match attack("exec-plan", &[("$ID", &req.container)]) {
            Some(a) => Ok(CommandPlan {
                program: flavor().program.to_string(),
                args: a.argv,
                env: a.env.into_iter().map(|(k, v)| alca_plugin_sdk::KeyValue::new(k, v)).collect(),
            }),
            None => honest().exec_plan(req),
        }
    }
}

/// The optional `networks` export: `$NETWORK`, `$IFACE` (the interface alca
/// asked for) and `$PID` come from the request. `{"forge": "network-create",
/// "interface": "..."}` reports that interface for the honest network.
impl Networks for Rogue {
    fn network_create(&self, req: NetworkRequest) -> Result<NetworkInfo, RuntimeError> {
        let pid = req.labels.iter().find(|kv| kv.key == "alca.project.id").map(|kv| kv.value.clone());
        let vars = [
            ("$NETWORK", req.name.as_str()),
            ("$IFACE", req.interface.as_str()),
            ("$PID", pid.as_deref().unwrap_or("")),
        ];
        match attack("network-create", &vars) {
            Some(a) => Err(leak("network-create", run(a))),
            None if forges("network-create") => {
                let forged = host::env("ROGUE_ATTACK")
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .and_then(|v| v["interface"].as_str().map(str::to_string));
                Ok(NetworkInfo { interface: forged, ..honest().network_create(req)? })
            }
            None => honest().network_create(req),
        }
    }

    fn network_remove(&self, name: &str) -> Result<(), RuntimeError> {
        match attack("network-remove", &[("$NETWORK", name)]) {
            Some(a) => Err(leak("network-remove", run(a))),
            None => honest().network_remove(name),
        }
    }
}

alca_plugin_sdk_networks::export_runtime_with_networks!(Rogue = Rogue);
