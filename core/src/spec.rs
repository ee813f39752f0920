//! From a project's configuration to the runtime-neutral container spec and
//! exec requests that plugins translate.

use crate::config::Config;
use crate::container;
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

/// Capabilities of the sandbox: none but the few that package managers and
/// ordinary development need (the reference tool's defaults).
pub const CAPS_ADD: &[&str] = &["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETUID", "SETGID"];

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
        ports: Vec::new(),
        workdir: Some(config.workdir.clone()),
        user: None,
        entrypoint: None,
        command: KEEP_ALIVE.iter().map(|s| s.to_string()).collect(),
        resources: container::Resources { cpus: None, memory_bytes: None },
        capabilities: container::Capabilities {
            drop: vec!["ALL".into()],
            add: CAPS_ADD.iter().map(|s| s.to_string()).collect(),
        },
        restart: container::RestartPolicy::UnlessStopped,
        network: container::NetworkMode::Default,
        init: false,
    }
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
}
