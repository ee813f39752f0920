//! `network.lan-access` and `network.proxy`: the reference tool's grammar
//! (Alcatraz, AGD-028/036/037), checked when the configuration loads.
//!
//! A lan-access rule, trimmed:
//! - `*`: the whole LAN (isolation off);
//! - an optional prefix `tcp://`, `udp://` or `*://`;
//! - an IPv4 address or CIDR, optionally followed by `:port` or `:*`
//!   (`192.168.1.100`, `192.168.1.100:8080`, `10.0.0.0/8:*`);
//! - or an IPv6 address or CIDR: bare without a port (`fe80::1`,
//!   `fc00::/7`) or in brackets (`[fe80::1]`, `[fe80::1]:8080`,
//!   `[2001:db8::/32]:*`);
//! - a port is 1-65535; none, an empty one (`10.0.0.1:`) or `*` is every port;
//! - the protocols: the prefix's; without one, TCP for a rule with a port
//!   and every protocol for one without; `*://` with a port is TCP and UDP.
//!
//! The proxy is `ip:port` (`[v6]:port` for IPv6); a host name is refused.
//!
//! `${alca:HOST_IP}` (the host as the container sees it, known only at
//! `alca up`) may stand in both; at load it is checked with a placeholder
//! address. Other `${...}` are not expanded: `${LAN}` is an invalid address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use serde::Serialize;

/// The token for the host's address.
pub const HOST_IP_TOKEN: &str = "${alca:HOST_IP}";

/// What `${alca:HOST_IP}` stands for while the configuration loads
/// (TEST-NET-1, RFC 5737); errors show the token instead.
const PLACEHOLDER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// The protocols a rule allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocols {
    /// Every protocol (a rule without a port, with no prefix or `*://`).
    Any,
    Tcp,
    Udp,
    /// TCP and UDP (`*://` with a port).
    TcpUdp,
}

impl fmt::Display for Protocols {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocols::Any => "any",
            Protocols::Tcp => "tcp",
            Protocols::Udp => "udp",
            Protocols::TcpUdp => "tcp+udp",
        })
    }
}

/// One allow rule of `network.lan-access`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LanRule {
    /// The rule as written, trimmed (`${alca:HOST_IP}` expanded).
    pub text: String,
    /// The address or network; an address is a /32 or /128. Host bits are
    /// kept as written (`10.0.0.1/8`).
    pub net: IpNet,
    /// `None`: every port.
    pub port: Option<u16>,
    pub protocols: Protocols,
}

/// A lan-access entry: the whole LAN or one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LanTarget {
    /// `*`.
    All,
    Rule(LanRule),
}

/// `network.proxy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProxyAddr {
    pub ip: IpAddr,
    pub port: u16,
}

impl fmt::Display for ProxyAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// `network.lan-access` and `network.proxy` as the files say them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NetworkConfig {
    /// Every file's entries, appended (an identical entry once).
    pub lan_access: Vec<Entry>,
    /// The proxy, if a file sets one (the last non-empty value wins).
    pub proxy: Option<Entry>,
}

/// A value as written (checked at load), and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// As written, tokens unexpanded.
    pub text: String,
    /// `file:line:col`.
    pub at: String,
}

/// [`NetworkConfig`] with `${alca:HOST_IP}` expanded, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// Some entry is `*`: no isolation.
    pub allow_all: bool,
    /// The other entries, in config order.
    pub rules: Vec<LanRule>,
    pub proxy: Option<ProxyAddr>,
}

impl NetworkConfig {
    /// Some entry is `*` (isolation off).
    pub fn allows_all(&self) -> bool {
        self.lan_access.iter().any(|e| e.text.trim() == "*")
    }

    /// Some entry or the proxy holds `${alca:HOST_IP}`.
    pub fn needs_host_ip(&self) -> bool {
        self.lan_access.iter().chain(&self.proxy).any(|e| e.text.contains(HOST_IP_TOKEN))
    }

    /// Expands `${alca:HOST_IP}` with `host_ip` (`None`: the caller could
    /// not find it, an error for an entry that needs it) and parses every
    /// entry. Errors name the entry's `at`. An IPv6 `host_ip` is put in
    /// brackets where the token is not already in them
    /// (`${alca:HOST_IP}:8080` is `[fd00::1]:8080`).
    pub fn resolve(&self, host_ip: Option<IpAddr>) -> Result<Resolved, String> {
        let expand = |e: &Entry, key: &str| -> Result<String, String> {
            check_tokens(&e.text).map_err(|m| format!("{}: {key}: {m}", e.at))?;
            if !e.text.contains(HOST_IP_TOKEN) {
                return Ok(e.text.clone());
            }
            match host_ip {
                Some(ip) => Ok(expand_host_ip(&e.text, ip)),
                None => Err(format!(
                    "{}: {key}: {:?} uses {HOST_IP_TOKEN}, but the host's address (as the container sees it) could \
                     not be found",
                    e.at, e.text
                )),
            }
        };
        let mut resolved = Resolved { allow_all: false, rules: Vec::new(), proxy: None };
        for e in &self.lan_access {
            let text = expand(e, "network.lan-access")?;
            match parse_rule(&text).map_err(|m| format!("{}: network.lan-access: {:?}: {m}", e.at, e.text))? {
                LanTarget::All => resolved.allow_all = true,
                LanTarget::Rule(rule) => resolved.rules.push(rule),
            }
        }
        if let Some(e) = &self.proxy {
            let text = expand(e, "network.proxy")?;
            resolved.proxy = Some(parse_proxy(&text).map_err(|m| format!("{}: network.proxy: {m}", e.at))?);
        }
        Ok(resolved)
    }
}

/// `text` with every `${alca:HOST_IP}` replaced by `ip` (an IPv6 address
/// in brackets unless the token is in brackets already).
fn expand_host_ip(text: &str, ip: IpAddr) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(HOST_IP_TOKEN) {
        out.push_str(&rest[..i]);
        match ip {
            IpAddr::V6(v6) if !out.ends_with('[') => out.push_str(&format!("[{v6}]")),
            ip => out.push_str(&ip.to_string()),
        }
        rest = &rest[i + HOST_IP_TOKEN.len()..];
    }
    out.push_str(rest);
    out
}

/// Checks a lan-access entry at load: its tokens, then the rule with a
/// placeholder for `${alca:HOST_IP}`.
pub(super) fn check_rule(text: &str) -> Result<(), String> {
    check_with_placeholder(text, |t| parse_rule(t).map(drop))
}

/// Checks `network.proxy` at load, like [`check_rule`].
pub(super) fn check_proxy(text: &str) -> Result<(), String> {
    check_with_placeholder(text, |t| parse_proxy(t).map(drop))
}

fn check_with_placeholder(text: &str, parse: impl Fn(&str) -> Result<(), String>) -> Result<(), String> {
    check_tokens(text)?;
    if !text.contains(HOST_IP_TOKEN) {
        return parse(text);
    }
    let placeholder = PLACEHOLDER.to_string();
    parse(&expand_host_ip(text, PLACEHOLDER.into())).map_err(|m| m.replace(&placeholder, HOST_IP_TOKEN))
}

/// `${alca:NAME}` tokens: only `HOST_IP` exists.
pub(super) fn check_tokens(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(start) = rest.find("${alca:") {
        let after = &rest[start + 7..];
        let Some(end) = after.find('}') else {
            return Err(format!("invalid alca token syntax in {text:?}: missing `}}`"));
        };
        let name = &after[..end];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("invalid alca token syntax \"${{alca:{name}}}\" in {text:?}"));
        }
        if name != "HOST_IP" {
            return Err(format!("unknown alca token \"{name}\" in {text:?}; valid tokens: HOST_IP"));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

/// One lan-access rule (tokens already expanded); see the module doc.
pub fn parse_rule(text: &str) -> Result<LanTarget, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty rule string".into());
    }
    if s == "*" {
        return Ok(LanTarget::All);
    }
    let (prefix, rest) = [("tcp://", Protocols::Tcp), ("udp://", Protocols::Udp), ("*://", Protocols::Any)]
        .into_iter()
        .find_map(|(p, proto)| s.strip_prefix(p).map(|rest| (Some(proto), rest)))
        .unwrap_or((None, s));
    let (ip, port, v6) = if let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return Err("missing closing bracket for IPv6 address".into());
        };
        let port = match &inner[close + 1..] {
            "" => "",
            after => match after.strip_prefix(':') {
                Some(port) => port,
                None => return Err(format!("unexpected characters after IPv6 address: {after:?}")),
            },
        };
        (&inner[..close], port, true)
    } else {
        match rest.matches(':').count() {
            0 => (rest, "", false),
            1 => {
                let (ip, port) = rest.split_once(':').unwrap_or((rest, ""));
                (ip, port, false)
            }
            // A bare IPv6 address has no port.
            _ => (rest, "", true),
        }
    };
    let net = parse_net(ip, v6)?;
    let port = parse_port(port)?;
    let protocols = match (prefix, port) {
        (None, Some(_)) => Protocols::Tcp,
        (None, None) | (Some(Protocols::Any), None) => Protocols::Any,
        (Some(Protocols::Any), Some(_)) => Protocols::TcpUdp,
        (Some(p), _) => p,
    };
    Ok(LanTarget::Rule(LanRule { text: s.to_string(), net, port, protocols }))
}

/// An address or CIDR of the family the rule's form says.
fn parse_net(ip: &str, expect_v6: bool) -> Result<IpNet, String> {
    let (addr, prefix) = match ip.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (ip, None),
    };
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return Err(match prefix {
            Some(_) => format!("invalid CIDR {ip:?}: invalid IP address {addr:?}"),
            None => format!("invalid IP address {ip:?}"),
        });
    };
    // As the reference (Go) reads it: an IPv4-mapped IPv6 address is IPv4.
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    };
    match (expect_v6, addr.is_ipv6()) {
        (true, false) => return Err(format!("expected IPv6 address but got IPv4: {ip:?}")),
        (false, true) => return Err(format!("expected IPv4 address but got IPv6: {ip:?}")),
        _ => {}
    }
    let max: u8 = if addr.is_ipv6() { 128 } else { 32 };
    let len = match prefix {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(len) if len <= max && p.bytes().all(|b| b.is_ascii_digit()) => len,
            _ => {
                let family = if addr.is_ipv6() { "IPv6" } else { "IPv4" };
                return Err(format!("invalid CIDR {ip:?}: the {family} prefix length must be 0-{max}"));
            }
        },
    };
    IpNet::new(addr, len).map_err(|e| format!("invalid CIDR {ip:?}: {e}"))
}

/// `""` and `*`: every port.
fn parse_port(port: &str) -> Result<Option<u16>, String> {
    if port.is_empty() || port == "*" {
        return Ok(None);
    }
    let n: i64 = port.parse().map_err(|_| format!("invalid port {port:?}"))?;
    match u16::try_from(n) {
        Ok(p) if p >= 1 => Ok(Some(p)),
        _ => Err(format!("port {n} out of range (1-65535)")),
    }
}

/// `network.proxy` (tokens already expanded): `ip:port` or `[ip]:port`.
pub fn parse_proxy(text: &str) -> Result<ProxyAddr, String> {
    if text.is_empty() {
        return Err("proxy address is empty".into());
    }
    let Some((host, port)) = split_host_port(text) else {
        return Err(format!("invalid proxy address {text:?}: expected host:port format: invalid proxy format"));
    };
    let Ok(ip) = host.parse::<IpAddr>() else {
        return Err(format!(
            "invalid proxy address {text:?}: host must be an IP address, not a hostname: proxy host must be an IP \
             address"
        ));
    };
    match port.parse::<i64>().ok().and_then(|p| u16::try_from(p).ok()) {
        Some(port) if port >= 1 => Ok(ProxyAddr { ip, port }),
        _ => Err(format!("invalid proxy address {text:?}: port must be 1-65535: proxy port must be 1-65535")),
    }
}

/// `host:port` split as Go's `net.SplitHostPort` does: the port after the
/// last `:`; a host with a `:` must be in brackets; no stray brackets.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    let colon = s.rfind(':')?;
    // The host, and where a `[` and a `]` may no longer appear.
    let (host, open, close) = if s.starts_with('[') {
        let end = s.find(']')?;
        if end + 1 != colon {
            return None;
        }
        (&s[1..end], 1, end + 1)
    } else {
        let host = &s[..colon];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if s[open..].contains('[') || s[close..].contains(']') {
        return None;
    }
    Some((host, &s[colon + 1..]))
}

#[cfg(test)]
#[path = "tests_network.rs"]
mod tests;
