//! A project's own bridge network (the optional `networks` interface):
//! argv, the engines' `network inspect` JSON and their error texts.
//!
//! docker names the bridge after `--opt com.docker.network.bridge.name=…`
//! (or `br-` and the first 12 hex digits of the network id without it);
//! podman 4 cannot choose the name (no `--interface-name`, and it refuses the
//! docker option) and reports the one it chose as `network_interface`.
//! Measured on docker 20.10 and podman 4.3 (netavark); podman 3's CNI form
//! is read too.

use alca_plugin_sdk::serde_json::{self, Value};
use alca_plugin_sdk::{CommandFailure, RuntimeError};
use alca_plugin_sdk_networks::{NetworkInfo, NetworkRequest};

use crate::{Engine, Flavor};

/// The docker option that names a bridge network's host interface.
pub const BRIDGE_NAME_OPTION: &str = "com.docker.network.bridge.name";

/// `network inspect -- <name>`.
pub fn network_inspect_args(name: &str) -> Vec<String> {
    ["network", "inspect", "--", name].iter().map(|s| s.to_string()).collect()
}

/// `network rm -- <name>` (never `--force`, which would remove containers).
pub fn network_rm_args(name: &str) -> Vec<String> {
    ["network", "rm", "--", name].iter().map(|s| s.to_string()).collect()
}

/// `network create` of a bridge with the request's labels and, on docker,
/// its interface name.
pub fn network_create_args(flavor: &Flavor, req: &NetworkRequest) -> Result<Vec<String>, RuntimeError> {
    if req.name.is_empty() {
        return Err(RuntimeError::InvalidSpec("a network needs a name".into()));
    }
    let mut a: Vec<String> = vec!["network".into(), "create".into(), "--driver".into(), "bridge".into()];
    if flavor.engine == Engine::Docker && !req.interface.is_empty() {
        if !is_interface_name(&req.interface) {
            return Err(RuntimeError::InvalidSpec(format!(
                "`{}` is not a network interface name (1 to 15 characters, no `/`, `:` or spaces)",
                req.interface
            )));
        }
        a.push("--opt".into());
        a.push(format!("{BRIDGE_NAME_OPTION}={}", req.interface));
    }
    for kv in &req.labels {
        if kv.key.is_empty() {
            return Err(RuntimeError::InvalidSpec("a network label needs a key".into()));
        }
        a.push("--label".into());
        a.push(format!("{}={}", kv.key, kv.value));
    }
    a.push("--".into());
    a.push(req.name.clone());
    Ok(a)
}

/// A Linux interface name: 1 to 15 bytes, not `.` or `..`, no `/`, `:` or
/// whitespace.
pub fn is_interface_name(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s != "."
        && s != ".."
        && s.chars().all(|c| c.is_ascii_graphic() && c != '/' && c != ':')
}

/// A network as `network inspect` printed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineNetwork {
    pub name: String,
    pub id: Option<String>,
    pub driver: Option<String>,
    /// The host-side bridge interface.
    pub interface: Option<String>,
    pub subnets: Vec<String>,
    pub gateways: Vec<String>,
    pub labels: Vec<(String, String)>,
}

impl EngineNetwork {
    /// What the plugin reports; `bridge_on_host` is false when the engine's
    /// bridges are not interfaces of this host (a VM, a rootless engine).
    pub fn info(self, bridge_on_host: bool) -> NetworkInfo {
        NetworkInfo {
            name: self.name,
            interface: self.interface.filter(|_| bridge_on_host),
            subnets: self.subnets,
            gateways: self.gateways,
        }
    }

    /// Does the network carry every label of `req` (it is this project's)?
    pub fn has_labels(&self, req: &NetworkRequest) -> bool {
        req.labels.iter().all(|kv| self.labels.iter().any(|(k, v)| *k == kv.key && *v == kv.value))
    }
}

/// The first network of `network inspect` (a JSON array on both engines);
/// `None` for an empty array or no output.
pub fn parse_network_inspect(stdout: &[u8]) -> Result<Option<EngineNetwork>, RuntimeError> {
    let text =
        std::str::from_utf8(stdout).map_err(|_| RuntimeError::parse("`network inspect` printed invalid UTF-8"))?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| RuntimeError::parse(format!("`network inspect` output is not JSON: {e}")))?;
    let items = v.as_array().ok_or_else(|| RuntimeError::parse("`network inspect` did not print a JSON array"))?;
    items.first().map(engine_network).transpose()
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

fn labels(v: Option<&Value>) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = v
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, val)| Some((k.clone(), val.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    labels.sort();
    labels
}

fn engine_network(v: &Value) -> Result<EngineNetwork, RuntimeError> {
    if v.get("IPAM").is_some() || v.get("Name").is_some() {
        docker_network(v)
    } else if v.get("plugins").is_some() {
        cni_network(v)
    } else {
        podman_network(v)
    }
}

/// docker (and podman's docker-compatible API through the docker CLI).
fn docker_network(v: &Value) -> Result<EngineNetwork, RuntimeError> {
    let name = string(v, "Name").ok_or_else(|| RuntimeError::parse("an inspected network has no `Name`"))?;
    let id = string(v, "Id");
    let driver = string(v, "Driver");
    let named = v.get("Options").and_then(|o| o.get(BRIDGE_NAME_OPTION)).and_then(Value::as_str);
    // docker's own name for a bridge it named itself: `br-` and the first 12
    // hex digits of the id.
    let short_id = id.as_deref().and_then(|i| i.get(..12)).filter(|s| s.chars().all(|c| c.is_ascii_hexdigit()));
    let interface = match (named, short_id) {
        (Some(n), _) if !n.is_empty() => Some(n.to_string()),
        (_, Some(short)) if driver.as_deref() == Some("bridge") => Some(format!("br-{short}")),
        _ => None,
    };
    let (mut subnets, mut gateways) = (Vec::new(), Vec::new());
    let configs = v.get("IPAM").and_then(|i| i.get("Config")).and_then(Value::as_array);
    for c in configs.into_iter().flatten() {
        subnets.extend(string(c, "Subnet"));
        gateways.extend(string(c, "Gateway"));
    }
    Ok(EngineNetwork { name, id, driver, interface, subnets, gateways, labels: labels(v.get("Labels")) })
}

/// podman 4 and 5 (netavark, or CNI reported in the same form).
fn podman_network(v: &Value) -> Result<EngineNetwork, RuntimeError> {
    let name = string(v, "name").ok_or_else(|| RuntimeError::parse("an inspected network has no `name`"))?;
    let (mut subnets, mut gateways) = (Vec::new(), Vec::new());
    for s in v.get("subnets").and_then(Value::as_array).into_iter().flatten() {
        subnets.extend(string(s, "subnet"));
        gateways.extend(string(s, "gateway"));
    }
    Ok(EngineNetwork {
        name,
        id: string(v, "id"),
        driver: string(v, "driver"),
        interface: string(v, "network_interface"),
        subnets,
        gateways,
        labels: labels(v.get("labels")),
    })
}

/// podman 3: the CNI configuration list.
fn cni_network(v: &Value) -> Result<EngineNetwork, RuntimeError> {
    let name = string(v, "name").ok_or_else(|| RuntimeError::parse("an inspected network has no `name`"))?;
    let plugins = v.get("plugins").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let bridge = plugins.iter().find(|p| p.get("type").and_then(Value::as_str) == Some("bridge"));
    let (mut subnets, mut gateways) = (Vec::new(), Vec::new());
    if let Some(ranges) = bridge.and_then(|b| b.get("ipam")).and_then(|i| i.get("ranges")).and_then(Value::as_array) {
        for range in ranges.iter().filter_map(Value::as_array).flatten() {
            subnets.extend(string(range, "subnet"));
            gateways.extend(string(range, "gateway"));
        }
    }
    Ok(EngineNetwork {
        name,
        id: None,
        driver: bridge.map(|_| "bridge".to_string()),
        interface: bridge.and_then(|b| string(b, "bridge")),
        subnets,
        gateways,
        labels: labels(v.get("args").and_then(|a| a.get("podman_labels"))),
    })
}

/// How a failed `network` command failed, beyond [`crate::classify`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkFailure {
    /// The network does not exist.
    NotFound,
    /// A network of that name exists already (a `create` that raced).
    Exists,
    /// Containers still use it.
    InUse,
    Other,
}

/// Reads a failed `network` command's stderr. docker 20.10: `network X not
/// found`, `network with name X already exists`, `… has active endpoints`;
/// later docker: `No such network: X`; podman 4.3: `unable to find network
/// with name or ID X: network not found`, `network name X already used:
/// network already exists`, `"X" has associated containers with it. …:
/// network is being used`.
pub fn network_failure(failure: &CommandFailure) -> NetworkFailure {
    let text = failure.stderr_tail.to_lowercase();
    if text.contains("no such network")
        || text.contains("network not found")
        || (text.contains("network") && text.contains(" not found"))
    {
        NetworkFailure::NotFound
    } else if text.contains("already exists") || text.contains("already used") {
        NetworkFailure::Exists
    } else if text.contains("active endpoints") || text.contains("is being used") || text.contains("in use") {
        NetworkFailure::InUse
    } else {
        NetworkFailure::Other
    }
}

/// Are the engine's bridges interfaces of this host? Not on another OS
/// (Docker Desktop, podman machine), not for a rootless engine (its bridges
/// live in its own network namespace), not for a remote podman service.
/// Reads `info` as JSON (docker: `info --format {{json .}}`, podman:
/// `info --format json`).
pub fn bridges_on_host(engine: Engine, host_os: &str, info: &[u8]) -> Result<bool, RuntimeError> {
    if host_os != "linux" {
        return Ok(false);
    }
    let v: Value =
        serde_json::from_slice(info).map_err(|e| RuntimeError::parse(format!("`info` output is not JSON: {e}")))?;
    Ok(match engine {
        Engine::Docker => {
            let desktop =
                v.get("OperatingSystem").and_then(Value::as_str).is_some_and(|os| os.contains("Docker Desktop"));
            let rootless = v.get("SecurityOptions").and_then(Value::as_array).is_some_and(|o| {
                o.iter().filter_map(Value::as_str).any(|s| s.split(',').any(|f| f == "name=rootless"))
            });
            !desktop && !rootless
        }
        Engine::Podman => {
            let host = v.get("host");
            let remote = host.and_then(|h| h.get("serviceIsRemote")).and_then(Value::as_bool).unwrap_or(false);
            let rootless = host
                .and_then(|h| h.get("security"))
                .and_then(|s| s.get("rootless"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            !remote && !rootless
        }
    })
}
