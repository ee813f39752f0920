//! The nftables ruleset of one project, as text: pure, so every rule alca
//! loads is in the unit tests below.
//!
//! One table `inet alca-<12 hex>` per project. Its base chains match the
//! project network's host-side bridge by name (`iifname`), never a
//! container address: the bridge keeps its name when the container
//! restarts, gets another address, or the engine or the host restarts, and
//! a name that does not exist yet matches nothing until it does, so the
//! rules can be loaded before the container exists and at boot before the
//! engine starts it.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::config::network::{LanRule, Protocols, ProxyAddr};

/// IPv4 ranges a container may not reach by default: private networks,
/// link-local (cloud metadata at 169.254.169.254), loopback, "this network",
/// and the shared address space of carrier-grade NAT and of overlay VPNs
/// such as Tailscale.
pub const PRIVATE_V4: &[&str] =
    &["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"];

/// IPv6: loopback, unique-local, link-local.
pub const PRIVATE_V6: &[&str] = &["::1/128", "fc00::/7", "fe80::/10"];

/// How long a refused destination stays in the table's memory of recent
/// refusals (`alca status` shows the newest).
pub const RECENT_TIMEOUT_SECS: u32 = 86_400;
/// At most this many recent destinations are remembered per family. A full
/// set only stops remembering: refusing is a rule of its own.
pub const RECENT_SIZE: u32 = 256;

/// Everything one project's table is made from.
#[derive(Debug, Clone)]
pub struct Ruleset<'a> {
    /// `alca-<12 hex>`: the container's name.
    pub table: &'a str,
    /// The host-side bridge of the project's network.
    pub interface: &'a str,
    pub project_dir: &'a str,
    pub project_id: &'a str,
    /// `false` when `lan-access` holds `*`: no refusals, only the proxy.
    pub isolate: bool,
    pub allow: &'a [LanRule],
    pub proxy: Option<ProxyAddr>,
    /// The network's own subnets: never redirected to the proxy.
    pub subnets: &'a [String],
}

impl Ruleset<'_> {
    /// Whether there is anything to load at all.
    pub fn is_empty(&self) -> bool {
        !self.isolate && self.proxy.is_none()
    }

    /// The file `nft -f` loads. Loading it replaces the table atomically
    /// (declare, delete, re-create in one transaction), so it is also how
    /// changed rules are applied.
    pub fn render(&self) -> String {
        let t = self.table;
        let i = quote(self.interface);
        let mut s = String::new();
        let _ = writeln!(s, "# alca network isolation for the project in {}", one_line(self.project_dir));
        let _ = writeln!(s, "# project-dir: {}", one_line(self.project_dir));
        let _ = writeln!(s, "# project-id: {}", one_line(self.project_id));
        let _ = writeln!(s, "# interface: {}", self.interface);
        let _ = writeln!(s, "# Written by alca `up`; `alca down` and `alca cleanup` remove it. Do not edit.");
        let _ = writeln!(s, "table inet {t} {{}}");
        let _ = writeln!(s, "delete table inet {t}");
        let _ = writeln!(s, "table inet {t} {{");
        if self.isolate {
            let _ = writeln!(
                s,
                "  set private4 {{ type ipv4_addr; flags interval; elements = {{ {} }}; }}",
                PRIVATE_V4.join(", ")
            );
            let _ = writeln!(
                s,
                "  set private6 {{ type ipv6_addr; flags interval; elements = {{ {} }}; }}",
                PRIVATE_V6.join(", ")
            );
            for (name, addr) in [("recent4", "ipv4_addr"), ("recent6", "ipv6_addr")] {
                let _ = writeln!(
                    s,
                    "  set {name} {{ type {addr} . inet_proto . inet_service; flags dynamic, timeout; timeout {RECENT_TIMEOUT_SECS}s; size {RECENT_SIZE}; }}"
                );
            }
            // Base chains: only the project's bridge enters.
            let _ = writeln!(s, "  chain forward {{");
            let _ = writeln!(s, "    type filter hook forward priority filter - 1; policy accept;");
            let _ = writeln!(s, "    iifname {i} jump outbound");
            let _ = writeln!(s, "  }}");
            let _ = writeln!(s, "  chain input {{");
            let _ = writeln!(s, "    type filter hook input priority filter - 1; policy accept;");
            let _ = writeln!(s, "    iifname {i} jump to_host");
            let _ = writeln!(s, "  }}");
            // Leaving the host: anything but private destinations.
            let _ = writeln!(s, "  chain outbound {{");
            let _ = writeln!(s, "    ct state established,related accept");
            let _ = writeln!(s, "    oifname {i} accept comment \"the project's own network\"");
            self.allowances(&mut s);
            let _ = writeln!(s, "    ip daddr @private4 jump refuse");
            let _ = writeln!(s, "    ip6 daddr @private6 jump refuse");
            let _ = writeln!(s, "  }}");
            // To the host itself: DNS (the engine's resolver) and what the
            // user allowed, nothing else.
            let _ = writeln!(s, "  chain to_host {{");
            let _ = writeln!(s, "    ct state established,related accept");
            let _ =
                writeln!(s, "    meta l4proto {{ tcp, udp }} th dport 53 accept comment \"the engine's DNS resolver\"");
            let _ = writeln!(
                s,
                "    icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit }} accept comment \"IPv6 neighbour discovery\""
            );
            self.allowances(&mut s);
            let _ = writeln!(s, "    jump refuse");
            let _ = writeln!(s, "  }}");
            // Remembering is best effort (a full set stops it); refusing is
            // its own rule, so it never depends on the memory.
            let _ = writeln!(s, "  chain refuse {{");
            let _ = writeln!(s, "    update @recent4 {{ ip daddr . meta l4proto . th dport }}");
            let _ = writeln!(s, "    update @recent6 {{ ip6 daddr . meta l4proto . th dport }}");
            // TCP gets a reset (the program fails at once, "connection
            // refused", and one attempt is one count); the rest ICMP
            // "administratively prohibited".
            let _ = writeln!(s, "    counter");
            let _ = writeln!(s, "    meta l4proto tcp reject with tcp reset");
            let _ = writeln!(s, "    reject with icmpx type admin-prohibited");
            let _ = writeln!(s, "  }}");
        }
        if let Some(p) = self.proxy
            && let IpAddr::V4(ip) = p.ip
        {
            let mut keep = vec![ip.to_string()];
            keep.extend(self.subnets.iter().filter(|n| !n.contains(':')).cloned());
            let _ = writeln!(s, "  chain proxy {{");
            let _ = writeln!(s, "    type nat hook prerouting priority dstnat - 1; policy accept;");
            let _ = writeln!(
                s,
                "    iifname {i} meta l4proto tcp ip daddr != {{ {} }} dnat ip to {ip}:{}",
                keep.join(", "),
                p.port
            );
            let _ = writeln!(s, "  }}");
        }
        let _ = writeln!(s, "}}");
        s
    }

    /// Accept rules for `lan-access` and the proxy.
    fn allowances(&self, s: &mut String) {
        for rule in self.allow {
            let _ = writeln!(s, "    {} accept comment {}", allow_match(rule), quote(&rule.text));
        }
        if let Some(p) = self.proxy {
            let family = if p.ip.is_ipv4() { "ip" } else { "ip6" };
            let _ = writeln!(
                s,
                "    {family} daddr {} meta l4proto {{ tcp, udp }} th dport {} accept comment \"network.proxy\"",
                p.ip, p.port
            );
        }
    }
}

/// The match part of one `lan-access` rule.
pub fn allow_match(rule: &LanRule) -> String {
    let net = rule.net.trunc();
    let family = if net.addr().is_ipv4() { "ip" } else { "ip6" };
    let dest = if net.prefix_len() == net.max_prefix_len() { net.addr().to_string() } else { net.to_string() };
    let proto = match rule.protocols {
        Protocols::Any => None,
        Protocols::Tcp => Some("tcp"),
        Protocols::Udp => Some("udp"),
        Protocols::TcpUdp => Some("{ tcp, udp }"),
    };
    match (proto, rule.port) {
        (None, _) => format!("{family} daddr {dest}"),
        (Some(p), None) => format!("{family} daddr {dest} meta l4proto {p}"),
        (Some(p), Some(port)) => format!("{family} daddr {dest} meta l4proto {p} th dport {port}"),
    }
}

/// An nft string literal. Interface names and rule texts are checked by
/// alca before they get here; this keeps a stray quote from ending one.
fn quote(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control() && *c != '"' && *c != '\\').collect();
    format!("\"{clean}\"")
}

/// A comment line's text: no line break can start a rule.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// Reads `# key: value` from a rule file's header.
pub fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix("# ")?.strip_prefix(key)?.strip_prefix(": "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::network::LanTarget;
    use crate::config::network::parse_rule;

    fn rule(text: &str) -> LanRule {
        match parse_rule(text).unwrap() {
            LanTarget::Rule(r) => r,
            LanTarget::All => panic!("{text} is *"),
        }
    }

    fn ruleset<'a>(allow: &'a [LanRule], proxy: Option<ProxyAddr>, subnets: &'a [String]) -> Ruleset<'a> {
        Ruleset {
            table: "alca-0123456789ab",
            interface: "alca-0123456789",
            project_dir: "/home/u/p",
            project_id: "id-1",
            isolate: true,
            allow,
            proxy,
            subnets,
        }
    }

    #[test]
    fn allow_rules_by_protocol_and_port() {
        assert_eq!(allow_match(&rule("192.168.1.10")), "ip daddr 192.168.1.10");
        assert_eq!(allow_match(&rule("192.168.1.10:8080")), "ip daddr 192.168.1.10 meta l4proto tcp th dport 8080");
        assert_eq!(allow_match(&rule("udp://10.0.0.1:53")), "ip daddr 10.0.0.1 meta l4proto udp th dport 53");
        assert_eq!(allow_match(&rule("*://10.0.0.1:53")), "ip daddr 10.0.0.1 meta l4proto { tcp, udp } th dport 53");
        assert_eq!(allow_match(&rule("10.0.0.0/8:*")), "ip daddr 10.0.0.0/8");
        assert_eq!(allow_match(&rule("tcp://10.1.2.3/8")), "ip daddr 10.0.0.0/8 meta l4proto tcp");
        assert_eq!(allow_match(&rule("[fd00::1]:22")), "ip6 daddr fd00::1 meta l4proto tcp th dport 22");
        assert_eq!(allow_match(&rule("fe80::1")), "ip6 daddr fe80::1");
    }

    #[test]
    fn the_table_replaces_itself_and_keys_on_the_bridge() {
        let text = ruleset(&[], None, &[]).render();
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(lines[0], "table inet alca-0123456789ab {}");
        assert_eq!(lines[1], "delete table inet alca-0123456789ab");
        assert!(text.contains("iifname \"alca-0123456789\" jump outbound"));
        assert!(text.contains("iifname \"alca-0123456789\" jump to_host"));
        assert!(!text.contains("saddr"), "never keyed on an address: {text}");
        for range in PRIVATE_V4.iter().chain(PRIVATE_V6) {
            assert!(text.contains(range), "{range}");
        }
        assert_eq!(header(&text, "project-dir"), Some("/home/u/p"));
        assert_eq!(header(&text, "project-id"), Some("id-1"));
        assert!(!text.contains("chain proxy"));
    }

    #[test]
    fn refusing_does_not_depend_on_remembering() {
        let text = ruleset(&[], None, &[]).render();
        let refuse = text.split("chain refuse {").nth(1).unwrap();
        for reject in refuse.lines().filter(|l| l.contains("reject") || l.contains("counter")) {
            assert!(!reject.contains("update"), "a full set must not stop the reject: {reject}");
        }
        let last = refuse.lines().map(str::trim).rfind(|l| !l.is_empty() && *l != "}").unwrap();
        assert_eq!(last, "reject with icmpx type admin-prohibited", "nothing gets past the chain's end");
    }

    #[test]
    fn allowances_come_before_the_refusal_in_both_chains() {
        let allow = [rule("10.213.7.2:8080")];
        let text = ruleset(&allow, None, &[]).render();
        for chain in ["chain outbound {", "chain to_host {"] {
            let body = text.split(chain).nth(1).unwrap().split("  }").next().unwrap();
            let a = body.find("th dport 8080 accept").unwrap();
            let r = body.find("refuse").unwrap();
            assert!(a < r, "{chain}: {body}");
        }
    }

    #[test]
    fn the_proxy_is_allowed_and_gets_all_tcp_but_its_own_network() {
        let subnets = ["10.89.3.0/24".to_string()];
        let proxy = ProxyAddr { ip: "10.213.7.2".parse().unwrap(), port: 3128 };
        let text = ruleset(&[], Some(proxy), &subnets).render();
        assert!(text.contains("ip daddr 10.213.7.2 meta l4proto { tcp, udp } th dport 3128 accept"));
        assert!(text.contains("type nat hook prerouting priority dstnat - 1"));
        assert!(text.contains(
            "iifname \"alca-0123456789\" meta l4proto tcp ip daddr != { 10.213.7.2, 10.89.3.0/24 } dnat ip to 10.213.7.2:3128"
        ));
        // With `*`: only the redirect.
        let mut open = ruleset(&[], Some(proxy), &subnets);
        open.isolate = false;
        let text = open.render();
        assert!(text.contains("dnat ip to"));
        assert!(!text.contains("reject"));
        open.proxy = None;
        assert!(open.is_empty());
    }

    #[test]
    fn text_cannot_escape_its_place() {
        let mut r = ruleset(&[], None, &[]);
        r.project_dir = "/p\ndelete table inet other";
        r.interface = "x\" accept";
        let text = r.render();
        assert!(!text.lines().any(|l| l.starts_with("delete table inet other")));
        assert!(text.contains("iifname \"x accept\" jump"));
    }
}
