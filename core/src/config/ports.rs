//! `network.ports`: container ports published on the host.
//!
//! The reference tool's grammar and error texts (Alcatraz, §2.3.10), with
//! three deliberate differences: a wrongly typed or unknown key of the
//! object form is an error (the reference ignores it, and an ignored
//! `hostIp` would publish on every interface instead of one); the string
//! form also takes a bracketed IPv6 host IP (`[::1]:8080:80`), the form the
//! engines print; and the host port is resolved at load (it defaults to the
//! container port), so `"8080"` and `{ port = 8080, hostPort = 8080 }` are
//! the same port, not a configuration change.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::raw::{PortTable, Sp, StringOrTable};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

/// A published port, resolved: the host port is always set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortConfig {
    /// The host address to publish on; every address when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl PortConfig {
    /// Would publishing both ports claim the same host socket?
    pub fn clashes_with(&self, other: &PortConfig) -> bool {
        let everywhere = |ip: &Option<IpAddr>| ip.is_none_or(|ip| ip.is_unspecified());
        self.protocol == other.protocol
            && self.host_port == other.host_port
            && (self.host_ip == other.host_ip || everywhere(&self.host_ip) || everywhere(&other.host_ip))
    }
}

/// `[hostIp:]hostPort:containerPort[/udp]`, an IPv6 host IP in brackets
/// (as the engines' `--publish` reads it).
impl fmt::Display for PortConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_ip {
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]:")?,
            Some(IpAddr::V4(ip)) => write!(f, "{ip}:")?,
            None => {}
        }
        write!(f, "{}:{}", self.host_port, self.container_port)?;
        if self.protocol == Protocol::Udp {
            f.write_str("/udp")?;
        }
        Ok(())
    }
}

/// One entry of `network.ports` (the caller locates and prefixes errors).
pub(super) fn parse(v: &StringOrTable<PortTable>) -> Result<PortConfig, String> {
    match v {
        StringOrTable::String(s) => parse_string(s),
        StringOrTable::Table(t) => parse_table(t),
    }
}

/// `[hostIp:]hostPort:containerPort[/proto]` or `containerPort`.
fn parse_string(s: &str) -> Result<PortConfig, String> {
    if s.is_empty() {
        return Err("port string is empty".into());
    }
    let (main, protocol) = match s.rsplit_once('/') {
        Some((main, proto)) => (main, protocol(proto)?),
        None => (s, Protocol::Tcp),
    };
    // `[v6]:host:container`: the brackets keep the address's colons apart.
    if let Some(after) = main.strip_prefix('[') {
        let Some((ip, rest)) = after.split_once("]:") else {
            return Err(format!(
                "invalid port format {s:?}: expected [hostIp]:hostPort:containerPort: invalid port format"
            ));
        };
        let host_ip = host_ip(ip)?;
        let parts: Vec<&str> = rest.split(':').collect();
        let [host, container] = parts[..] else {
            return Err(format!(
                "invalid port format {s:?}: expected [hostIp]:hostPort:containerPort: invalid port format"
            ));
        };
        return Ok(PortConfig { host_ip, host_port: number(host)?, container_port: number(container)?, protocol });
    }
    let parts: Vec<&str> = main.split(':').collect();
    let (host_ip, host_port, container_port) = match parts[..] {
        [container] => {
            let port = number(container)?;
            (None, port, port)
        }
        [host, container] => (None, number(host)?, number(container)?),
        [ip, host, container] => (host_ip(ip)?, number(host)?, number(container)?),
        _ => return Err(format!("invalid port format {s:?}: too many colons: invalid port format")),
    };
    Ok(PortConfig { host_ip, host_port, container_port, protocol })
}

/// `{ port, hostPort, hostIp, protocol }` (keys and types checked by serde).
fn parse_table(t: &PortTable) -> Result<PortConfig, String> {
    let text = |v: &Option<Sp<String>>| v.as_ref().map(|s| s.get().clone()).unwrap_or_default();
    let (ip, proto) = (text(&t.host_ip), text(&t.protocol));
    let container_port = in_range("port", *t.port.get())?;
    let host_port = match t.host_port.as_ref().map(|p| *p.get()) {
        None | Some(0) => container_port,
        Some(n) => in_range("hostPort", n)?,
    };
    let protocol = if proto.is_empty() { Protocol::Tcp } else { protocol(&proto)? };
    let host_ip = if ip.is_empty() { None } else { host_ip(&ip)? };
    Ok(PortConfig { host_ip, host_port, container_port, protocol })
}

fn protocol(p: &str) -> Result<Protocol, String> {
    match p {
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        other => Err(format!("protocol {other:?} must be tcp or udp: invalid protocol")),
    }
}

fn host_ip(ip: &str) -> Result<Option<IpAddr>, String> {
    match ip.parse::<IpAddr>() {
        Ok(ip) => Ok(Some(ip)),
        Err(_) => Err(format!("hostIp {ip:?} is not a valid IP address: invalid host IP")),
    }
}

fn number(s: &str) -> Result<u16, String> {
    if s.is_empty() {
        return Err("port number is empty".into());
    }
    let n: i64 = s.parse().map_err(|_| format!("port {s:?} is not a number"))?;
    in_range("port", n)
}

fn in_range(key: &str, n: i64) -> Result<u16, String> {
    match u16::try_from(n) {
        Ok(port) if port >= 1 => Ok(port),
        _ => Err(format!("{key} {n} out of range 1-65535: invalid port")),
    }
}
