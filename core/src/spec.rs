//! From a project's configuration to the runtime-neutral container spec and
//! exec requests that plugins translate.

use crate::config::{self, Config};
use crate::container;
use crate::error::Error;
use crate::project::Project;
use crate::state::State;

/// Labels every alca container carries.
pub const LABEL_PROJECT_ID: &str = "alca.project.id";
pub const LABEL_PROJECT_PATH: &str = "alca.project.path";
pub const LABEL_VERSION: &str = "alca.version";

/// The container's main process: waits forever, exits at once on SIGTERM
/// (so `alca down` does not wait out the engine's grace period). Needs only
/// `sh` and `sleep` in the image.
pub const KEEP_ALIVE: &[&str] = &["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done"];

/// Capabilities of the sandbox by default: none but the few that package
/// managers and ordinary development need (the reference tool's defaults).
pub const CAPS_ADD: &[&str] = crate::config::DEFAULT_CAPS;

fn kv(key: &str, value: impl Into<String>) -> container::KeyValue {
    container::KeyValue { key: key.to_string(), value: value.into() }
}

/// The container alca creates for a project.
pub fn container_spec(
    project: &Project,
    config: &Config,
    state: &State,
    env: &dyn Fn(&str) -> Option<String>,
) -> container::ContainerSpec {
    let mut mounts = vec![container::Mount {
        kind: container::MountKind::Bind,
        source: project.root.display().to_string(),
        target: config.workdir.clone(),
        read_only: false,
    }];
    mounts.extend(config.mounts.iter().map(|m| container::Mount {
        kind: container::MountKind::Bind,
        source: m.source.display().to_string(),
        target: m.target.clone(),
        read_only: m.read_only,
    }));
    container::ContainerSpec {
        name: state.container_name.clone(),
        image: config.image.clone(),
        labels: vec![
            kv(LABEL_PROJECT_ID, &state.project_id),
            kv(LABEL_PROJECT_PATH, project.root.display().to_string()),
            kv(LABEL_VERSION, crate::VERSION),
        ],
        env: config.effective_envs().iter().filter_map(|e| e.resolve(env).map(|v| kv(&e.name, v))).collect(),
        mounts,
        ports: config.ports.iter().map(port_mapping).collect(),
        workdir: Some(config.workdir.clone()),
        user: None,
        entrypoint: None,
        command: KEEP_ALIVE.iter().map(|s| s.to_string()).collect(),
        resources: container::Resources { cpus: config.resources.cpus, memory_bytes: config.resources.memory_bytes },
        capabilities: container::Capabilities { drop: config.caps.drop.clone(), add: config.caps.add.clone() },
        restart: container::RestartPolicy::UnlessStopped,
        network: if crate::netiso::wanted(config) {
            container::NetworkMode::Named(state.container_name.clone())
        } else {
            container::NetworkMode::Default
        },
        init: false,
    }
}

fn port_mapping(p: &config::PortConfig) -> container::PortMapping {
    container::PortMapping {
        host_ip: p.host_ip.map(|ip| ip.to_string()),
        host_port: Some(p.host_port),
        container_port: p.container_port,
        protocol: match p.protocol {
            config::Protocol::Tcp => container::Protocol::Tcp,
            config::Protocol::Udp => container::Protocol::Udp,
        },
    }
}

/// The runtime a spec is fitted to, and what alca knows of the spec's origin.
pub struct Target<'a> {
    pub info: &'a container::PluginInfo,
    /// What `detect` said: the features of the version found (when less than
    /// the plugin's) and the smallest memory limit it takes.
    pub availability: Option<&'a container::Availability>,
    /// Whether the capabilities are alca's defaults (not the user's `caps`):
    /// on a runtime that cannot drop them (one VM per container, say) the
    /// defaults are a warning and the user's own `caps` an error. Unknown
    /// (`None`): an error.
    pub default_caps: Option<bool>,
}

/// Fits `spec` to what the runtime says it can express (the features
/// `detect` reported for the version it found, else its plugin's), before
/// anything is pulled or created.
///
/// A setting whose loss would weaken the sandbox or break what the user
/// asked for (published ports, a port's host IP, resource limits, the
/// user's capabilities, read-only mounts, volume and tmpfs mounts, a named
/// network, a memory limit under the runtime's minimum) is refused: one
/// error naming every such setting and the runtime. A setting whose loss
/// weakens nothing (the restart policy, an init process; alca's default
/// capabilities on a runtime that cannot drop any) is left out of the spec,
/// with a warning naming it (returned).
pub fn fit(spec: &mut container::ContainerSpec, target: &Target<'_>) -> Result<Vec<String>, Error> {
    let info = target.info;
    let f = target.availability.and_then(|a| a.features.as_ref()).unwrap_or(&info.features);
    let min_memory = target.availability.and_then(|a| a.min_memory_bytes);
    let mut refused: Vec<String> = Vec::new();
    let mut from_config = false;
    let mut config_field = |refused: &mut Vec<String>, text: String| {
        from_config = true;
        refused.push(text);
    };

    if !spec.ports.is_empty() {
        if !f.ports {
            config_field(&mut refused, "network.ports (publishing ports)".into());
        } else if !f.port_host_ip {
            let with_ip: Vec<String> = spec
                .ports
                .iter()
                .enumerate()
                .filter(|(_, p)| p.host_ip.is_some())
                .map(|(i, _)| format!("network.ports[{i}]"))
                .collect();
            if !with_ip.is_empty() {
                config_field(
                    &mut refused,
                    format!(
                        "{} (a host IP for a published port: it would be published on every host address instead)",
                        with_ip.join(", ")
                    ),
                );
            }
        }
    }

    let r = spec.resources;
    if !f.resource_limits {
        if r.memory_bytes.is_some() {
            config_field(&mut refused, "resources.memory (a memory limit)".into());
        }
        if r.cpus.is_some() {
            config_field(&mut refused, "resources.cpus (a CPU limit)".into());
        }
    } else if !f.fractional_cpus
        && let Some(cpus) = r.cpus
        && cpus.fract() != 0.0
    {
        config_field(&mut refused, format!("resources.cpus = {cpus} (a CPU limit that is not a whole number)"));
    }
    if f.resource_limits
        && let (Some(memory), Some(min)) = (r.memory_bytes, min_memory)
        && memory < min
    {
        config_field(
            &mut refused,
            format!("resources.memory = {} MiB (less than the {} MiB it accepts)", memory >> 20, min.div_ceil(1 << 20)),
        );
    }

    let mut warnings = Vec::new();
    let caps_asked = !spec.capabilities.drop.is_empty() || !spec.capabilities.add.is_empty();
    if !f.capabilities && caps_asked && target.default_caps == Some(true) {
        warnings.push(format!(
            "runtime `{}` cannot drop Linux capabilities (capabilities): the container runs with the runtime's \
             default capabilities instead of alca's reduced set ({})",
            info.id,
            spec.capabilities.add.join(", ")
        ));
        spec.capabilities = container::Capabilities::default();
    } else if !f.capabilities && caps_asked && target.default_caps == Some(false) {
        config_field(&mut refused, "caps (the capabilities you set; the runtime cannot drop or add any)".into());
    } else if !f.capabilities && caps_asked {
        refused.push(format!(
            "capabilities (alca drops all Linux capabilities and adds back only {}; without that, the agent would \
             keep the engine's default capabilities, so alca cannot run its sandbox on this runtime)",
            spec.capabilities.add.join(", ")
        ));
    }

    for (i, m) in spec.mounts.iter().enumerate() {
        // The project is mounts[0] of the spec; the user's `mounts` follow.
        let field = match i {
            0 => "workdir".to_string(),
            i => format!("mounts[{}]", i - 1),
        };
        match m.kind {
            container::MountKind::Volume if !f.volumes => {
                config_field(&mut refused, format!("{field} (a volume mount at {})", m.target))
            }
            container::MountKind::Tmpfs if !f.tmpfs => {
                config_field(&mut refused, format!("{field} (a tmpfs mount at {})", m.target))
            }
            _ if m.read_only && !f.read_only_mounts => {
                config_field(&mut refused, format!("{field} (a read-only mount of {})", m.target))
            }
            _ => {}
        }
    }

    if let container::NetworkMode::Named(name) = &spec.network
        && !f.named_networks
    {
        config_field(&mut refused, format!("network (the named network `{name}`)"));
    }

    if !refused.is_empty() {
        return Err(Error::Unsupported { runtime: info.id.clone(), fields: refused, from_config });
    }

    if spec.restart != container::RestartPolicy::No && !f.restart_policy {
        spec.restart = container::RestartPolicy::No;
        warnings.push(format!(
            "runtime `{}` cannot set a restart policy (restart-policy): the container will not restart by itself \
             after an engine restart or a reboot; `alca up` starts it again",
            info.id
        ));
    }
    if spec.init && !f.init {
        spec.init = false;
        warnings.push(format!(
            "runtime `{}` cannot run an init process in the container (init): the container runs without one",
            info.id
        ));
    }
    Ok(warnings)
}

/// The command `alca run` executes: the user's argv, behind
/// `commands.enter` when one is configured (`sh -c "<enter> 'a1' 'a2'"`).
pub fn run_argv(config: &Config, args: &[String]) -> Vec<String> {
    match &config.commands.enter {
        None => args.to_vec(),
        Some(enter) => {
            let mut line = enter.command.clone();
            for a in args {
                line.push(' ');
                line.push_str(&shell_quote(a));
            }
            vec!["sh".into(), "-c".into(), line]
        }
    }
}

/// `'a b'`, with embedded quotes as `'\''`: safe for any POSIX sh.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Variables refreshed at every `alca run` (`override_on_enter`).
pub fn enter_env(config: &Config, env: &dyn Fn(&str) -> Option<String>) -> Vec<container::KeyValue> {
    config
        .effective_envs()
        .iter()
        .filter(|e| e.override_on_enter)
        .filter_map(|e| e.resolve(env).map(|v| kv(&e.name, v)))
        .collect()
}

/// Reads a label from a container's info.
pub fn label<'a>(info: &'a container::ContainerInfo, key: &str) -> Option<&'a str> {
    info.labels.iter().find(|kv| kv.key == key).map(|kv| kv.value.as_str())
}

/// `running`, `exited`...
pub fn state_name(state: container::ContainerState) -> &'static str {
    use container::ContainerState as S;
    match state {
        S::Created => "created",
        S::Running => "running",
        S::Paused => "paused",
        S::Restarting => "restarting",
        S::Removing => "removing",
        S::Exited => "exited",
        S::Dead => "dead",
        S::Unknown => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::config::LoadContext;

    fn config(text: &str) -> Config {
        let env = |_: &str| None;
        let ctx = LoadContext { project_root: Path::new("/p"), env: &env, home: None };
        Config::parse(text, Path::new("/p/.alca.toml"), &ctx).unwrap()
    }

    #[test]
    fn spec_carries_labels_mounts_and_env() {
        let c = config(
            "image = \"img\"\nmounts = [\"/data:/data:ro\"]\n[envs]\nLIT = \"x\"\nHOSTVAR = \"${FROM_HOST}\"\nGONE = \"${UNSET}\"\n",
        );
        let project = Project { root: PathBuf::from("/p"), config_path: PathBuf::from("/p/.alca.toml") };
        let state = State::new();
        let env = |k: &str| match k {
            "FROM_HOST" => Some("h".to_string()),
            "TERM" => Some("xterm".to_string()),
            _ => None,
        };
        let s = container_spec(&project, &c, &state, &env);
        assert_eq!(s.name, state.container_name);
        assert_eq!(s.mounts[0].source, "/p");
        assert_eq!(s.mounts[0].target, "/workspace");
        assert!(s.mounts[1].read_only);
        let labels: Vec<(&str, &str)> = s.labels.iter().map(|kv| (kv.key.as_str(), kv.value.as_str())).collect();
        assert!(labels.contains(&(LABEL_PROJECT_ID, state.project_id.as_str())));
        assert!(labels.contains(&(LABEL_PROJECT_PATH, "/p")));
        let env: Vec<(&str, &str)> = s.env.iter().map(|kv| (kv.key.as_str(), kv.value.as_str())).collect();
        assert!(env.contains(&("LIT", "x")));
        assert!(env.contains(&("HOSTVAR", "h")));
        assert!(env.contains(&("TERM", "xterm")));
        assert!(!env.iter().any(|(k, _)| *k == "GONE" || *k == "LANG"));
        assert_eq!(s.capabilities.drop, vec!["ALL"]);
    }

    /// [`fit`] knowing only the plugin: no `detect` answer, capabilities of
    /// unknown origin.
    fn fit_to_features(
        spec: &mut container::ContainerSpec,
        info: &container::PluginInfo,
    ) -> Result<Vec<String>, Error> {
        fit(spec, &Target { info, availability: None, default_caps: None })
    }

    fn project() -> Project {
        Project { root: PathBuf::from("/p"), config_path: PathBuf::from("/p/.alca.toml") }
    }

    fn all_features() -> container::Features {
        container::Features {
            ports: true,
            resource_limits: true,
            capabilities: true,
            restart_policy: true,
            named_networks: true,
            volumes: true,
            tmpfs: true,
            init: true,
            read_only_mounts: true,
            fractional_cpus: true,
            port_host_ip: true,
        }
    }

    fn runtime(features: container::Features) -> container::PluginInfo {
        container::PluginInfo {
            id: "lean".into(),
            name: "Lean".into(),
            runtime: "lean".into(),
            version: "1".into(),
            features,
        }
    }

    #[test]
    fn spec_carries_ports() {
        let c = config(
            "image = \"i\"\n[network]\nports = [\"127.0.0.1:18080:80\", { port = 53, hostIp = \"::1\", protocol = \"udp\" }, \"9000\"]\n",
        );
        let s = container_spec(&project(), &c, &State::new(), &|_| None);
        assert_eq!(
            s.ports,
            vec![
                container::PortMapping {
                    host_ip: Some("127.0.0.1".into()),
                    host_port: Some(18080),
                    container_port: 80,
                    protocol: container::Protocol::Tcp
                },
                container::PortMapping {
                    host_ip: Some("::1".into()),
                    host_port: Some(53),
                    container_port: 53,
                    protocol: container::Protocol::Udp
                },
                container::PortMapping {
                    host_ip: None,
                    host_port: Some(9000),
                    container_port: 9000,
                    protocol: container::Protocol::Tcp
                },
            ]
        );
    }

    /// Each missing feature, with a spec that needs it: refused naming the
    /// field, or warned about naming it and left out.
    #[test]
    fn features_decision_table() {
        let c = config(
            "image = \"i\"\nmounts = [\"/rw:/rw\", \"/ro:/ro:ro\"]\n[network]\nports = [\"8080:80\", \"127.0.0.1:9090:90\"]\n",
        );
        let base = container_spec(&project(), &c, &State::new(), &|_| None);
        let full = {
            let mut s = base.clone();
            s.resources = container::Resources { cpus: Some(1.5), memory_bytes: Some(1 << 30) };
            s.mounts.push(container::Mount {
                kind: container::MountKind::Volume,
                source: "vol".into(),
                target: "/vol".into(),
                read_only: false,
            });
            s.mounts.push(container::Mount {
                kind: container::MountKind::Tmpfs,
                source: String::new(),
                target: "/tmp".into(),
                read_only: false,
            });
            s.network = container::NetworkMode::Named("lab".into());
            s.init = true;
            s
        };

        // Everything present: nothing changes, nothing said.
        let mut s = full.clone();
        assert_eq!(fit_to_features(&mut s, &runtime(all_features())).unwrap(), Vec::<String>::new());
        assert_eq!(s, full);

        type Off = fn(&mut container::Features);
        let refusals: &[(Off, &[&str], bool)] = &[
            (|f| f.ports = false, &["network.ports (publishing ports)"], true),
            (|f| f.port_host_ip = false, &["network.ports[1] (a host IP"], true),
            (
                |f| f.resource_limits = false,
                &["resources.memory (a memory limit)", "resources.cpus (a CPU limit)"],
                true,
            ),
            (|f| f.fractional_cpus = false, &["resources.cpus = 1.5 (a CPU limit that is not a whole number)"], true),
            (
                |f| f.capabilities = false,
                &["capabilities (alca drops all Linux capabilities and adds back only CHOWN"],
                false,
            ),
            (|f| f.read_only_mounts = false, &["mounts[1] (a read-only mount of /ro)"], true),
            (|f| f.volumes = false, &["mounts[2] (a volume mount at /vol)"], true),
            (|f| f.tmpfs = false, &["mounts[3] (a tmpfs mount at /tmp)"], true),
            (|f| f.named_networks = false, &["network (the named network `lab`)"], true),
        ];
        for (off, fields, from_config) in refusals {
            let mut features = all_features();
            off(&mut features);
            let mut s = full.clone();
            let e = fit_to_features(&mut s, &runtime(features)).unwrap_err();
            let text = e.to_string();
            assert!(text.starts_with("runtime `lean` cannot express "), "{text}");
            for field in *fields {
                assert!(text.contains(field), "{field:?} not in {text}");
            }
            match &e {
                Error::Unsupported { fields: got, from_config: f, .. } => {
                    assert_eq!(got.len(), fields.len(), "{got:?}");
                    assert_eq!(f, from_config, "{text}");
                }
                other => panic!("{other:?}"),
            }
            let hint = e.hint().unwrap();
            assert!(hint.contains("runtime"), "{hint}");
            assert_eq!(hint.contains("remove these settings from .alca.toml"), *from_config, "{hint}");
        }

        // Several at once: one error naming them all.
        let mut features = all_features();
        features.ports = false;
        features.capabilities = false;
        let text = fit_to_features(&mut full.clone(), &runtime(features)).unwrap_err().to_string();
        assert!(text.contains("network.ports (publishing ports); capabilities ("), "{text}");

        // A spec that does not need a missing feature is not refused.
        let none = container::Features { capabilities: true, ..container::Features::default() };
        // (Without network isolation, which needs a named network.)
        let unisolated = config("image = \"i\"\n[network]\nlan-access = [\"*\"]\n");
        let mut plain = container_spec(&project(), &unisolated, &State::new(), &|_| None);
        plain.restart = container::RestartPolicy::No;
        let before = plain.clone();
        assert_eq!(fit_to_features(&mut plain, &runtime(none)).unwrap(), Vec::<String>::new());
        assert_eq!(plain, before);

        // Warnings: the field is left out, and the warning names it.
        let mut features = all_features();
        features.restart_policy = false;
        let mut s = full.clone();
        let warnings = fit_to_features(&mut s, &runtime(features)).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("restart-policy"), "{}", warnings[0]);
        assert!(warnings[0].contains("will not restart by itself after an engine restart or a reboot"));
        assert_eq!(s.restart, container::RestartPolicy::No);
        assert_eq!(s, container::ContainerSpec { restart: container::RestartPolicy::No, ..full.clone() });

        let mut features = all_features();
        features.init = false;
        let mut s = full.clone();
        let warnings = fit_to_features(&mut s, &runtime(features)).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("(init)"), "{}", warnings[0]);
        assert_eq!(s, container::ContainerSpec { init: false, ..full.clone() });

        // Whole CPUs need no fractional-cpus.
        let mut features = all_features();
        features.fractional_cpus = false;
        let mut s = container::ContainerSpec {
            resources: container::Resources { cpus: Some(2.0), memory_bytes: None },
            ..full
        };
        assert!(fit_to_features(&mut s, &runtime(features)).is_ok());
    }

    #[test]
    fn enter_prefix_quotes_arguments() {
        let plain = config("image = \"i\"\n");
        let args: Vec<String> = vec!["echo".into(), "it's".into(), "$HOME".into()];
        assert_eq!(run_argv(&plain, &args), args);
        let enter = config("image = \"i\"\n[commands]\nenter = \". ~/.profile;\"\n");
        assert_eq!(run_argv(&enter, &args), vec!["sh", "-c", ". ~/.profile; 'echo' 'it'\\''s' '$HOME'"]);
    }

    #[test]
    fn enter_env_is_only_override_on_enter() {
        let c = config("image = \"i\"\n[envs]\nA = \"1\"\nB = { value = \"2\", override_on_enter = true }\n");
        let env = |k: &str| (k == "LANG").then(|| "C.UTF-8".to_string());
        let e: Vec<(String, String)> = enter_env(&c, &env).into_iter().map(|kv| (kv.key, kv.value)).collect();
        assert_eq!(e, vec![("LANG".to_string(), "C.UTF-8".to_string()), ("B".to_string(), "2".to_string())]);
    }

    /// What `detect` says of the version found wins over the plugin's
    /// features; alca's default capabilities are a warning where they cannot
    /// be dropped, the user's own an error; a memory limit under the
    /// runtime's minimum is refused.
    #[test]
    fn detected_features_default_caps_and_minimum_memory() {
        let spec = |text: &str| container_spec(&project(), &config(text), &State::new(), &|_| None);
        let info = runtime(all_features());
        let mut older = all_features();
        older.capabilities = false;
        let detected = container::Availability {
            available: true,
            version: Some("0.9.0".into()),
            reason: None,
            hint: None,
            features: Some(older),
            min_memory_bytes: Some(200 << 20),
        };
        let target =
            |default_caps| Target { info: &info, availability: Some(&detected), default_caps: Some(default_caps) };

        let mut s = spec("image = \"i\"\n");
        let warnings = fit(&mut s, &target(true)).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("cannot drop Linux capabilities (capabilities)"), "{}", warnings[0]);
        assert_eq!(s.capabilities, container::Capabilities::default());

        let mut s = spec("image = \"i\"\ncaps = [\"NET_RAW\"]\n");
        let e = fit(&mut s, &target(false)).unwrap_err();
        assert!(e.to_string().contains("caps (the capabilities you set"), "{e}");
        assert!(matches!(e, Error::Unsupported { from_config: true, .. }));

        let mut s = spec("image = \"i\"\n[resources]\nmemory = \"128m\"\n");
        let e = fit(&mut s, &target(true)).unwrap_err().to_string();
        assert!(e.contains("resources.memory = 128 MiB (less than the 200 MiB it accepts)"), "{e}");
        let mut s = spec("image = \"i\"\n[resources]\nmemory = \"200m\"\n");
        assert!(fit(&mut s, &target(true)).is_ok());

        // Without what `detect` said, the plugin's features count.
        let mut s = spec("image = \"i\"\n");
        let plain = Target { info: &info, availability: None, default_caps: Some(true) };
        assert_eq!(fit(&mut s, &plain).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn isolation_puts_the_container_on_the_projects_own_network() {
        let state = State::new();
        let network = |text: &str| container_spec(&project(), &config(text), &state, &|_| None).network;
        let own = container::NetworkMode::Named(state.container_name.clone());
        assert_eq!(network("image = \"i\"\n"), own, "isolated by default");
        assert_eq!(network("image = \"i\"\n[network]\nlan-access = [\"10.0.0.1:80\"]\n"), own);
        assert_eq!(network("image = \"i\"\n[network]\nlan-access = [\"*\"]\n"), container::NetworkMode::Default);
        // `*` with a proxy: no refusals, but the redirect needs the bridge.
        assert_eq!(network("image = \"i\"\n[network]\nlan-access = [\"*\"]\nproxy = \"10.0.0.1:3128\"\n"), own);
    }
}
