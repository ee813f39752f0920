//! Reading what Apple's `container` prints as JSON, in both generations
//! (container-cli-contracts §1.8):
//!
//! * ≥ 1.0 (`ManagedContainer`):
//!   `{id, configuration, status: {state, networks, startedDate}}`, dates
//!   as ISO-8601 strings;
//! * ≤ 0.12 (`PrintableContainer`):
//!   `{status: "running", configuration, networks, startedDate}`, dates as
//!   a Double of seconds since 2001-01-01T00:00:00Z.
//!
//! The shape, not the version, decides: `status` is an object in one and a
//! string in the other.

use alca_plugin_sdk::serde_json::{self, Value};
use alca_plugin_sdk::{ContainerInfo, ContainerState, KeyValue, LabelSelector, RuntimeError};

/// Seconds from the Unix epoch to Foundation's reference date, 2001-01-01.
const APPLE_EPOCH: f64 = 978_307_200.0;

/// The containers of `container inspect` or `container list --format json`
/// (a JSON array in every version). Empty output is an empty list.
pub fn parse_containers(stdout: &[u8], what: &str) -> Result<Vec<ContainerInfo>, RuntimeError> {
    let text =
        std::str::from_utf8(stdout).map_err(|_| RuntimeError::parse(format!("`{what}` printed invalid UTF-8")))?;
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v: Value =
        serde_json::from_str(text).map_err(|e| RuntimeError::parse(format!("`{what}` did not print JSON: {e}")))?;
    let items = v.as_array().ok_or_else(|| RuntimeError::parse(format!("`{what}` did not print a JSON array")))?;
    items.iter().map(|item| container_info(item, what)).collect()
}

fn string_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for key in path {
        cur = cur.get(*key)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// One container, in either generation.
pub fn container_info(v: &Value, what: &str) -> Result<ContainerInfo, RuntimeError> {
    let config = v.get("configuration");
    let id = string_at(v, &["id"])
        .or_else(|| string_at(v, &["configuration", "id"]))
        .ok_or_else(|| RuntimeError::parse(format!("a container in `{what}`'s output has no id")))?
        .to_string();
    let (state, networks, started) = match v.get("status") {
        // ≥ 1.0
        Some(status @ Value::Object(_)) => {
            (status.get("state").and_then(Value::as_str), status.get("networks"), status.get("startedDate"))
        }
        // ≤ 0.12
        Some(Value::String(s)) => (Some(s.as_str()), v.get("networks"), v.get("startedDate")),
        _ => (v.get("state").and_then(Value::as_str), v.get("networks"), v.get("startedDate")),
    };
    let image = string_at(v, &["configuration", "image", "reference"]).unwrap_or_default().to_string();
    let mut labels: Vec<KeyValue> = config
        .and_then(|c| c.get("labels"))
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, val)| val.as_str().map(|val| KeyValue::new(k.clone(), val))).collect())
        .unwrap_or_default();
    labels.sort_by(|a, b| a.key.cmp(&b.key));
    let mut ip_addresses: Vec<String> = Vec::new();
    for net in networks.and_then(Value::as_array).into_iter().flatten() {
        for key in ["ipv4Address", "address", "ipv6Address"] {
            if let Some(addr) = net.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                let ip = addr.split('/').next().unwrap_or(addr).to_string();
                if !ip_addresses.contains(&ip) {
                    ip_addresses.push(ip);
                }
            }
        }
    }
    Ok(ContainerInfo {
        name: id.clone(),
        id,
        image,
        state: state_from(state.unwrap_or("")),
        labels,
        // Apple does not report the exit code of a container's process.
        exit_code: None,
        created_at: config.and_then(|c| c.get("creationDate")).and_then(date),
        started_at: started.and_then(date),
        ip_addresses,
    })
}

/// Apple's `RuntimeStatus`: `unknown`, `stopped`, `running`, `stopping`.
/// A container that was created and never started is `stopped` too.
pub fn state_from(s: &str) -> ContainerState {
    match s.to_ascii_lowercase().as_str() {
        "running" => ContainerState::Running,
        "stopped" | "exited" => ContainerState::Exited,
        "created" => ContainerState::Created,
        _ => ContainerState::Unknown,
    }
}

/// A date as either generation prints it, as RFC 3339.
fn date(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => n.as_f64().and_then(apple_date),
        _ => None,
    }
}

/// Seconds since 2001-01-01T00:00:00Z (Foundation's `deferredToDate`
/// encoding) as RFC 3339, in UTC, with milliseconds when there are any.
pub fn apple_date(secs: f64) -> Option<String> {
    let unix_ms = ((secs + APPLE_EPOCH) * 1000.0).round();
    if !unix_ms.is_finite() || unix_ms.abs() > 1e17 {
        return None;
    }
    let unix_ms = unix_ms as i64;
    let (secs, ms) = (unix_ms.div_euclid(1000), unix_ms.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let frac = if ms == 0 { String::new() } else { format!(".{ms:03}") };
    Some(format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}{frac}Z"))
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (y, m, d).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Does `info` carry every label the selector asks for?
pub fn matches(info: &ContainerInfo, selector: &[LabelSelector]) -> bool {
    selector.iter().all(|sel| {
        info.labels.iter().any(|kv| kv.key == sel.key && sel.value.as_ref().is_none_or(|want| *want == kv.value))
    })
}

/// `container system status --format json`'s `.status` (`running`,
/// `not running`, `unregistered`); the only field read, because its
/// other fields changed shape in 1.4.
pub fn status_field(stdout: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(stdout).ok()?;
    v.get("status").and_then(Value::as_str).map(str::to_string)
}

/// `container image inspect`'s output: `Some(true)` for a non-empty JSON
/// array, `Some(false)` for `[]`, `None` for anything else.
pub fn nonempty_array(stdout: &[u8]) -> Option<bool> {
    match serde_json::from_slice::<Value>(stdout).ok()? {
        Value::Array(items) => Some(!items.is_empty()),
        _ => None,
    }
}
