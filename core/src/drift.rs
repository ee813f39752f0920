//! Drift: how the container alca would create now differs from the one it
//! created.
//!
//! The state stores the runtime-neutral [`ContainerSpec`] the container was
//! created from (and the `commands.up` that set it up); drift is a diff of
//! that against the spec the current configuration produces. Every field of
//! the spec takes part without a list of compared fields to keep up to date.
//! What is not in the spec is not drift: hooks (they run on the host), and
//! what applies at each `alca run` (`commands.enter`, `override_on_enter`
//! values). Host variables (`"${HOME}"`) are kept as written, so a different
//! value in the shell that runs `alca` is not a change of configuration.
//!
//! Left out of the diff: the container's name and labels (its identity: the
//! project id and path, and alca's version, which would make every upgrade
//! look like drift).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;
use crate::container::ContainerSpec;
use crate::project::Project;
use crate::spec;
use crate::state::State;

/// What a container was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blueprint {
    /// The [`ContainerSpec`], as JSON: a spec written by another version of
    /// alca still reads (a field it lacks is a change, not an error).
    pub spec: Value,
    /// `commands.up`.
    #[serde(default)]
    pub setup: Option<String>,
}

/// One drifted field: `field` is named after the configuration key that
/// sets it (`image`, `envs.FOO`, `resources.memory_bytes`, `mounts[1]`...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub field: String,
    pub old: String,
    pub new: String,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} → {}", self.field, self.old, self.new)
    }
}

impl Blueprint {
    /// The blueprint of the container `config` describes.
    pub fn of(project: &Project, config: &Config, state: &State) -> Blueprint {
        Blueprint::of_spec(&drift_spec(project, config, state), config)
    }

    pub fn of_spec(spec: &ContainerSpec, config: &Config) -> Blueprint {
        Blueprint {
            spec: serde_json::to_value(spec).unwrap_or(Value::Null),
            setup: config.commands.up.as_ref().map(|c| c.command.clone()),
        }
    }

    /// What changed from `self` (the container's) to `now`.
    pub fn changes(&self, now: &Blueprint) -> Vec<Change> {
        let mut out = Vec::new();
        let (old, new) = (comparable(&self.spec), comparable(&now.spec));
        diff("", &old, &new, &mut out);
        if self.setup != now.setup {
            out.push(Change {
                field: "commands.up".into(),
                old: self.setup.clone().unwrap_or_else(|| "(none)".into()),
                new: now.setup.clone().unwrap_or_else(|| "(none)".into()),
            });
        }
        for c in &mut out {
            c.field = config_name(&c.field);
        }
        out
    }
}

/// The spec with host variables left as `${NAME}` (see the module doc).
fn drift_spec(project: &Project, config: &Config, state: &State) -> ContainerSpec {
    spec::container_spec(project, config, state, &|name| Some(format!("${{{name}}}")))
}

/// The spec as compared: identity removed, key/value lists as maps.
fn comparable(spec: &Value) -> Value {
    let mut v = spec.clone();
    if let Value::Object(map) = &mut v {
        map.remove("name");
        map.remove("labels");
        // The project's own network is named like the container (identity);
        // what matters is whether the container is on it (isolation).
        if let Some(net) = map.get_mut("network")
            && net.get("named").is_some()
        {
            *net = Value::String("the project's own network (isolated)".into());
        }
        if let Some(env) = map.get_mut("env") {
            *env = as_map(env);
        }
    }
    v
}

fn as_map(list: &Value) -> Value {
    let Value::Array(items) = list else { return list.clone() };
    let mut map = serde_json::Map::new();
    for item in items {
        match (item.get("key").and_then(Value::as_str), item.get("value")) {
            (Some(k), Some(v)) => {
                map.insert(k.to_string(), v.clone());
            }
            _ => return list.clone(),
        }
    }
    Value::Object(map)
}

fn diff(path: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    if old == new {
        return;
    }
    let join = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                diff(&join(k), va, b.get(k).unwrap_or(&Value::Null), out);
            }
            for (k, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                diff(&join(k), &Value::Null, vb, out);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        _ => out.push(Change { field: path.to_string(), old: show(path, old), new: show(path, new) }),
    }
}

/// A value as the user wrote it where that is shorter than its JSON: a
/// list of ports or mounts as their `-p`/`-v` strings.
fn show(path: &str, v: &Value) -> String {
    let brief = |item: &Value| -> Option<String> {
        let text = |k: &str| item.get(k).and_then(Value::as_str);
        match path {
            "ports" => {
                let ip = match text("host_ip") {
                    Some(ip) if ip.contains(':') => format!("[{ip}]:"),
                    Some(ip) => format!("{ip}:"),
                    None => String::new(),
                };
                let host = item.get("host_port").and_then(Value::as_u64).map(|p| format!("{p}:")).unwrap_or_default();
                let proto = if text("protocol") == Some("udp") { "/udp" } else { "" };
                Some(format!("{ip}{host}{}{proto}", item.get("container_port")?.as_u64()?))
            }
            "mounts" => {
                let ro = if item.get("read_only").and_then(Value::as_bool) == Some(true) { ":ro" } else { "" };
                Some(format!("{}:{}{ro}", text("source")?, text("target")?))
            }
            _ => None,
        }
    };
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => match items.iter().map(brief).collect::<Option<Vec<_>>>() {
            Some(all) => format!("[{}]", all.join(", ")),
            None => v.to_string(),
        },
        other => other.to_string(),
    }
}

/// A spec field path under the configuration key users write. The project
/// is the spec's `mounts[0]`; the user's mounts follow.
fn config_name(field: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("env", "envs"),
        ("ports", "network.ports"),
        ("capabilities", "caps"),
        ("resources.memory_bytes", "resources.memory"),
    ];
    if let Some(rest) = field.strip_prefix("mounts[") {
        return match rest.split_once(']') {
            Some(("0", tail)) => format!("workdir (the project mount){tail}"),
            Some((i, tail)) => match i.parse::<usize>() {
                Ok(i) => format!("mounts[{}]{tail}", i - 1),
                Err(_) => field.to_string(),
            },
            None => field.to_string(),
        };
    }
    for (spec_name, config) in NAMES {
        if let Some(tail) = field.strip_prefix(spec_name)
            && (tail.is_empty() || tail.starts_with(['.', '[']))
        {
            return format!("{config}{tail}");
        }
    }
    field.to_string()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::config::LoadContext;

    fn blueprint(text: &str, state: &State) -> Blueprint {
        let env = |_: &str| Some("host value".to_string());
        let ctx = LoadContext { project_root: Path::new("/p"), env: &env, home: None };
        let config = Config::parse(text, Path::new("/p/.alca.toml"), &ctx).unwrap();
        let project = Project { root: PathBuf::from("/p"), config_path: PathBuf::from("/p/.alca.toml") };
        Blueprint::of(&project, &config, state)
    }

    fn changes(old: &str, new: &str) -> Vec<String> {
        let state = State::new();
        blueprint(old, &state).changes(&blueprint(new, &state)).iter().map(|c| c.to_string()).collect()
    }

    const BASE: &str = "image = \"i:1\"\nmounts = [\"/a:/a\", \"/b:/b\"]\n[envs]\nLIT = \"x\"\nHOST = \"${HOME}\"\n";

    #[test]
    fn the_same_configuration_has_no_drift() {
        assert_eq!(changes(BASE, BASE), Vec::<String>::new());
        // Another project's id and name are identity, not configuration.
        let (a, b) = (State::new(), State::new());
        assert_eq!(blueprint(BASE, &a).changes(&blueprint(BASE, &b)), vec![]);
    }

    #[test]
    fn every_spec_field_is_compared_and_named_after_its_key() {
        let with = |extra: &str| format!("{BASE}{extra}");
        assert_eq!(changes(BASE, &BASE.replace("i:1", "i:2")), ["image: i:1 → i:2"]);
        assert_eq!(changes(BASE, &BASE.replace("\"x\"", "\"y\"")), ["envs.LIT: x → y"]);
        assert_eq!(changes(BASE, &BASE.replace("/b:/b", "/b:/b:ro")), ["mounts[1].read_only: false → true"]);
        assert_eq!(
            changes(BASE, &format!("workdir = \"/w\"\n{BASE}")),
            ["workdir (the project mount).target: /workspace → /w", "workdir: /workspace → /w"]
        );
        assert_eq!(changes(BASE, &with("[resources]\nmemory = \"1g\"\n")), ["resources.memory: (none) → 1073741824"]);
        assert_eq!(changes(BASE, &with("[resources]\ncpus = 1.5\n")), ["resources.cpus: (none) → 1.5"]);
        assert_eq!(changes(BASE, &with("[commands]\nup = \"make\"\n")), ["commands.up: (none) → make"]);
        assert_eq!(changes(BASE, &with("[network]\nports = [\"8080:80\"]\n")), ["network.ports: [] → [8080:80]"]);
        assert_eq!(
            changes(BASE, &BASE.replace(", \"/b:/b\"", "")),
            ["mounts: [/p:/workspace, /a:/a, /b:/b] → [/p:/workspace, /a:/a]"]
        );
        assert!(changes(BASE, &format!("caps = [\"NET_RAW\"]\n{BASE}"))[0].starts_with("caps.add: "));
        let added = changes(BASE, &BASE.replace("[envs]\n", "[envs]\nNEW = \"1\"\n"));
        assert_eq!(added, ["envs.NEW: (none) → 1"]);
    }

    #[test]
    fn what_applies_at_run_or_on_the_host_is_not_drift() {
        let with = |extra: &str| format!("{BASE}{extra}");
        assert_eq!(changes(BASE, &with("[hooks]\npost_up = \"x\"\npre_down = \"y\"\n")), Vec::<String>::new());
        assert_eq!(changes(BASE, &with("[commands]\nenter = \"source x;\"\n")), Vec::<String>::new());
        // `override_on_enter` changes when a value is read, not the container.
        let ooe = BASE.replace("HOST = \"${HOME}\"", "HOST = { value = \"${HOME}\", override_on_enter = true }");
        assert_eq!(changes(BASE, &ooe), Vec::<String>::new());
        // A host variable's value is read when the container is created;
        // only the reference is compared.
        let env = |_: &str| Some("another value".to_string());
        let ctx = LoadContext { project_root: Path::new("/p"), env: &env, home: None };
        let state = State::new();
        let config = Config::parse(BASE, Path::new("/p/.alca.toml"), &ctx).unwrap();
        let project = Project { root: PathBuf::from("/p"), config_path: PathBuf::from("/p/.alca.toml") };
        assert_eq!(blueprint(BASE, &state).changes(&Blueprint::of(&project, &config, &state)), vec![]);
    }

    #[test]
    fn a_blueprint_survives_the_state_file() {
        let state = State::new();
        let b = blueprint(BASE, &state);
        let json = serde_json::to_string(&b).unwrap();
        let back: Blueprint = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
        assert_eq!(back.changes(&b), vec![]);
    }
}
