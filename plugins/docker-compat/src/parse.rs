//! Parsing what the docker-compatible CLIs print as JSON. Lenient about
//! types that differ between engines and versions (podman 4 vs 5, docker 20
//! vs 29), strict about what alca needs.

use alca_plugin_sdk::serde_json::{self, Value};
use alca_plugin_sdk::{ContainerInfo, ContainerState, KeyValue, LabelSelector, RuntimeError};

use crate::Engine;

/// The engine version from `version --format json`; `None` when the engine
/// did not answer (docker prints `"Server": null` when its daemon is down).
pub fn parse_version(engine: Engine, stdout: &[u8]) -> Result<Option<String>, RuntimeError> {
    let v: Value = serde_json::from_slice(stdout)
        .map_err(|e| RuntimeError::parse(format!("`version` output is not JSON: {e}")))?;
    let server = v.get("Server").and_then(|s| s.get("Version")).and_then(Value::as_str);
    let client = v.get("Client").and_then(|s| s.get("Version")).and_then(Value::as_str);
    Ok(match engine {
        Engine::Docker => server,
        // Local podman has no server part; remote podman reports both.
        Engine::Podman => server.or(client),
    }
    .map(str::to_string))
}

/// The objects of `container inspect` (a JSON array on every engine).
pub fn parse_inspect(stdout: &[u8]) -> Result<Vec<ContainerInfo>, RuntimeError> {
    let text =
        std::str::from_utf8(stdout).map_err(|_| RuntimeError::parse("`container inspect` printed invalid UTF-8"))?;
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| RuntimeError::parse(format!("`container inspect` output is not JSON: {e}")))?;
    let items = v.as_array().ok_or_else(|| RuntimeError::parse("`container inspect` did not print a JSON array"))?;
    items.iter().map(container_info).collect()
}

fn container_info(v: &Value) -> Result<ContainerInfo, RuntimeError> {
    let s = |path: &[&str]| -> Option<String> {
        let mut cur = v;
        for key in path {
            cur = cur.get(*key)?;
        }
        cur.as_str().filter(|s| !s.is_empty()).map(str::to_string)
    };
    let id = s(&["Id"]).ok_or_else(|| RuntimeError::parse("an inspected container has no `Id`"))?;
    let name = s(&["Name"]).unwrap_or_default().trim_start_matches('/').to_string();
    let image = s(&["Config", "Image"]).or_else(|| s(&["ImageName"])).unwrap_or_default();
    let state = state_from(s(&["State", "Status"]).as_deref().unwrap_or(""));
    let exit_code =
        v.get("State").and_then(|st| st.get("ExitCode")).and_then(Value::as_i64).and_then(|c| i32::try_from(c).ok());
    let mut labels: Vec<KeyValue> = v
        .get("Config")
        .and_then(|c| c.get("Labels"))
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, val)| val.as_str().map(|val| KeyValue::new(k.clone(), val))).collect())
        .unwrap_or_default();
    labels.sort_by(|a, b| a.key.cmp(&b.key));
    let mut ip_addresses: Vec<String> = Vec::new();
    if let Some(nets) = v.get("NetworkSettings").and_then(|n| n.get("Networks")).and_then(Value::as_object) {
        for net in nets.values() {
            for key in ["IPAddress", "GlobalIPv6Address"] {
                if let Some(ip) = net.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                    ip_addresses.push(ip.to_string());
                }
            }
        }
    }
    Ok(ContainerInfo {
        id,
        name,
        image,
        state,
        labels,
        exit_code,
        created_at: s(&["Created"]),
        started_at: s(&["State", "StartedAt"]).filter(|t| !t.starts_with("0001-01-01")),
        ip_addresses,
    })
}

fn state_from(status: &str) -> ContainerState {
    match status.to_ascii_lowercase().as_str() {
        "created" | "configured" | "initialized" => ContainerState::Created,
        "running" => ContainerState::Running,
        "paused" => ContainerState::Paused,
        "restarting" => ContainerState::Restarting,
        "removing" => ContainerState::Removing,
        "exited" | "stopped" => ContainerState::Exited,
        "dead" => ContainerState::Dead,
        _ => ContainerState::Unknown,
    }
}

/// Does `info` carry every label the selector asks for?
pub fn matches(info: &ContainerInfo, selector: &[LabelSelector]) -> bool {
    selector.iter().all(|sel| {
        info.labels.iter().any(|kv| kv.key == sel.key && sel.value.as_ref().is_none_or(|want| *want == kv.value))
    })
}
