//! The grammar of `network.lan-access` and `network.proxy`: every example
//! and every error of the reference (§2.3.11, §2.3.12, §2.5.2).

use std::net::IpAddr;

use super::*;

/// A rule as `net port protocols`.
fn rule(text: &str) -> String {
    match parse_rule(text) {
        Ok(LanTarget::All) => "all".into(),
        Ok(LanTarget::Rule(r)) => {
            let port = r.port.map_or("*".to_string(), |p| p.to_string());
            format!("{} {port} {}", r.net, r.protocols)
        }
        Err(e) => format!("error: {e}"),
    }
}

fn proxy(text: &str) -> String {
    match parse_proxy(text) {
        Ok(p) => p.to_string(),
        Err(e) => format!("error: {e}"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn ipv4_addresses_cidrs_and_ports() {
    for (text, expected) in [
        ("192.168.1.100", "192.168.1.100/32 * any"),
        ("192.168.1.100:8080", "192.168.1.100/32 8080 tcp"),
        ("192.168.1.100:*", "192.168.1.100/32 * any"),
        ("192.168.1.100:", "192.168.1.100/32 * any"),
        ("10.0.0.0/8", "10.0.0.0/8 * any"),
        ("10.0.0.0/8:*", "10.0.0.0/8 * any"),
        ("192.168.1.0/24:8080", "192.168.1.0/24 8080 tcp"),
        ("0.0.0.0/0", "0.0.0.0/0 * any"),
        ("10.0.0.1:1", "10.0.0.1/32 1 tcp"),
        ("10.0.0.1:65535", "10.0.0.1/32 65535 tcp"),
        // Host bits are kept as written; the firewall truncates.
        ("10.1.2.3/8:22", "10.1.2.3/8 22 tcp"),
    ] {
        assert_eq!(rule(text), expected, "{text}");
    }
}

#[test]
fn protocol_prefixes() {
    for (text, expected) in [
        ("tcp://192.168.1.100:8080", "192.168.1.100/32 8080 tcp"),
        ("tcp://10.0.0.1", "10.0.0.1/32 * tcp"),
        ("tcp://10.0.0.1:*", "10.0.0.1/32 * tcp"),
        ("udp://192.168.1.100:53", "192.168.1.100/32 53 udp"),
        ("udp://10.0.0.0/8", "10.0.0.0/8 * udp"),
        ("*://192.168.1.100:443", "192.168.1.100/32 443 tcp+udp"),
        ("*://10.0.0.1", "10.0.0.1/32 * any"),
        ("*://10.0.0.1:*", "10.0.0.1/32 * any"),
        ("tcp://[2001:db8::1]:443", "2001:db8::1/128 443 tcp"),
        ("udp://[fd00::1]:53", "fd00::1/128 53 udp"),
        ("*://[fd00::1]:53", "fd00::1/128 53 tcp+udp"),
        ("udp://fe80::1", "fe80::1/128 * udp"),
    ] {
        assert_eq!(rule(text), expected, "{text}");
    }
    // The prefix is taken once, as written.
    assert_eq!(rule("TCP://10.0.0.1"), "error: invalid IP address \"TCP\"");
    assert_eq!(rule("tcp://udp://10.0.0.1"), "error: invalid IP address \"udp\"");
    assert_eq!(rule("tcp:// 10.0.0.1"), "error: invalid IP address \" 10.0.0.1\"");
    assert_eq!(rule("tcp://*"), "error: invalid IP address \"*\"");
    assert_eq!(rule("http://10.0.0.1"), "error: invalid IP address \"http\"");
}

#[test]
fn ipv6_bare_and_bracketed() {
    for (text, expected) in [
        ("fe80::1", "fe80::1/128 * any"),
        ("::1", "::1/128 * any"),
        ("2001:db8::/32", "2001:db8::/32 * any"),
        ("fc00::/7", "fc00::/7 * any"),
        ("[fe80::1]", "fe80::1/128 * any"),
        ("[fe80::1]:8080", "fe80::1/128 8080 tcp"),
        ("[fe80::1]:*", "fe80::1/128 * any"),
        ("[fe80::1]:", "fe80::1/128 * any"),
        ("[2001:db8::/32]:*", "2001:db8::/32 * any"),
        ("[fd00::/8]:22", "fd00::/8 22 tcp"),
        ("[::]", "::/128 * any"),
    ] {
        assert_eq!(rule(text), expected, "{text}");
    }
    // A bare IPv6 address has no port: `fe80::1:8080` is the address fe80::1:8080.
    assert_eq!(rule("fe80::1:8080"), "fe80::1:8080/128 * any");
    for (text, expected) in [
        ("[fe80::1]8080", "unexpected characters after IPv6 address: \"8080\""),
        ("[fe80::1]x", "unexpected characters after IPv6 address: \"x\""),
        ("[fe80::1]/64", "unexpected characters after IPv6 address: \"/64\""),
        ("[fe80::1]]:80", "unexpected characters after IPv6 address: \"]:80\""),
        ("[fe80::1", "missing closing bracket for IPv6 address"),
        ("[fe80::1:80", "missing closing bracket for IPv6 address"),
        ("tcp://[fe80::1", "missing closing bracket for IPv6 address"),
        ("[]", "invalid IP address \"\""),
        ("[fe80::1%eth0]", "invalid IP address \"fe80::1%eth0\""),
        ("[fe80::1]:http", "invalid port \"http\""),
    ] {
        assert_eq!(rule(text), format!("error: {expected}"), "{text}");
    }
}

#[test]
fn family_mismatches() {
    for (text, expected) in [
        ("[10.0.0.1]", "expected IPv6 address but got IPv4: \"10.0.0.1\""),
        ("[10.0.0.1]:80", "expected IPv6 address but got IPv4: \"10.0.0.1\""),
        ("[10.0.0.0/8]:*", "expected IPv6 address but got IPv4: \"10.0.0.0/8\""),
        // An IPv4-mapped address is IPv4, as Go reads it.
        ("::ffff:10.0.0.1", "expected IPv6 address but got IPv4: \"::ffff:10.0.0.1\""),
        ("[::ffff:10.0.0.0/104]", "expected IPv6 address but got IPv4: \"::ffff:10.0.0.0/104\""),
    ] {
        assert_eq!(rule(text), format!("error: {expected}"), "{text}");
    }
    // The other way round cannot be written (an IPv6 address has two
    // colons); the check is there all the same.
    assert_eq!(parse_net("fe80::1", false).unwrap_err(), "expected IPv4 address but got IPv6: \"fe80::1\"");
    assert_eq!(parse_net("fd00::/8", false).unwrap_err(), "expected IPv4 address but got IPv6: \"fd00::/8\"");
}

#[test]
fn invalid_addresses_and_cidrs() {
    for (text, expected) in [
        ("10.0.0.256", "invalid IP address \"10.0.0.256\""),
        ("010.0.0.1", "invalid IP address \"010.0.0.1\""),
        ("nas.local", "invalid IP address \"nas.local\""),
        ("nas.local:445", "invalid IP address \"nas.local\""),
        ("*:80", "invalid IP address \"*\""),
        ("**", "invalid IP address \"**\""),
        (":80", "invalid IP address \"\""),
        ("10.0.0.0/33", "invalid CIDR \"10.0.0.0/33\": the IPv4 prefix length must be 0-32"),
        ("10.0.0.0/", "invalid CIDR \"10.0.0.0/\": the IPv4 prefix length must be 0-32"),
        ("10.0.0.0/x:22", "invalid CIDR \"10.0.0.0/x\": the IPv4 prefix length must be 0-32"),
        ("10.0.0.0/+8", "invalid CIDR \"10.0.0.0/+8\": the IPv4 prefix length must be 0-32"),
        ("10.0.0.0/8/8", "invalid CIDR \"10.0.0.0/8/8\": the IPv4 prefix length must be 0-32"),
        ("fe80::/129", "invalid CIDR \"fe80::/129\": the IPv6 prefix length must be 0-128"),
        ("[fe80::/1000]:*", "invalid CIDR \"fe80::/1000\": the IPv6 prefix length must be 0-128"),
        ("10.0.0.x/8", "invalid CIDR \"10.0.0.x/8\": invalid IP address \"10.0.0.x\""),
        ("/8", "invalid CIDR \"/8\": invalid IP address \"\""),
        // Plain `${VAR}` is not expanded in lan-access.
        ("${LAN}", "invalid IP address \"${LAN}\""),
        ("${LAN}:80", "invalid IP address \"${LAN}\""),
        ("$LAN", "invalid IP address \"$LAN\""),
    ] {
        assert_eq!(rule(text), format!("error: {expected}"), "{text}");
    }
}

#[test]
fn ports() {
    for (text, expected) in [
        ("10.0.0.1:0", "port 0 out of range (1-65535)"),
        ("10.0.0.1:65536", "port 65536 out of range (1-65535)"),
        ("10.0.0.1:-1", "port -1 out of range (1-65535)"),
        ("[::1]:0", "port 0 out of range (1-65535)"),
        ("[::1]:99999", "port 99999 out of range (1-65535)"),
        ("10.0.0.1:http", "invalid port \"http\""),
        ("10.0.0.1:80-90", "invalid port \"80-90\""),
        ("10.0.0.1:8 0", "invalid port \"8 0\""),
        ("10.0.0.1:**", "invalid port \"**\""),
        ("10.0.0.1:99999999999999999999", "invalid port \"99999999999999999999\""),
    ] {
        assert_eq!(rule(text), format!("error: {expected}"), "{text}");
    }
    // As Go's Atoi reads a number.
    assert_eq!(rule("10.0.0.1:+22"), "10.0.0.1/32 22 tcp");
    assert_eq!(rule("10.0.0.1:0022"), "10.0.0.1/32 22 tcp");
}

#[test]
fn star_empty_and_whitespace() {
    assert_eq!(parse_rule("*"), Ok(LanTarget::All));
    assert_eq!(parse_rule("  *\t"), Ok(LanTarget::All));
    for text in ["", "   ", "\t\n"] {
        assert_eq!(parse_rule(text), Err("empty rule string".to_string()), "{text:?}");
    }
    let Ok(LanTarget::Rule(r)) = parse_rule("  tcp://10.0.0.1:22 \t") else { panic!() };
    assert_eq!(
        r,
        LanRule {
            text: "tcp://10.0.0.1:22".into(),
            net: "10.0.0.1/32".parse().unwrap(),
            port: Some(22),
            protocols: Protocols::Tcp
        }
    );
    assert_eq!(r.net.to_string(), "10.0.0.1/32");
    // Inner whitespace is not trimmed.
    assert_eq!(rule("10.0.0.1: 22"), "error: invalid port \" 22\"");
    assert_eq!(rule("10.0.0.1 :22"), "error: invalid IP address \"10.0.0.1 \"");
}

fn entries(texts: &[&str]) -> Vec<Entry> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| Entry { text: t.to_string(), at: format!("/p/.alca.toml:3:{}", i + 1) })
        .collect()
}

#[test]
fn a_star_anywhere_turns_isolation_off() {
    for list in [&["*"][..], &["10.0.0.1", "*"], &["*", "10.0.0.1"], &["10.0.0.1", " * ", "[::1]:22"]] {
        let n = NetworkConfig { lan_access: entries(list), proxy: None };
        assert!(n.allows_all(), "{list:?}");
        let r = n.resolve(None).unwrap();
        assert!(r.allow_all, "{list:?}");
        assert_eq!(r.rules.len(), list.len() - 1, "the other rules are kept: {list:?}");
    }
    for list in [&[][..], &["10.0.0.1"], &["*://10.0.0.1"], &["*:80"]] {
        assert!(!NetworkConfig { lan_access: entries(list), proxy: None }.allows_all(), "{list:?}");
    }
    assert_eq!(
        NetworkConfig::default().resolve(None),
        Ok(Resolved { allow_all: false, rules: Vec::new(), proxy: None })
    );
}

#[test]
fn proxy_addresses() {
    for (text, expected) in [
        ("127.0.0.1:3128", "127.0.0.1:3128"),
        ("10.0.0.5:1", "10.0.0.5:1"),
        ("10.0.0.5:65535", "10.0.0.5:65535"),
        ("[::1]:3128", "[::1]:3128"),
        ("[fd00::1]:1080", "[fd00::1]:1080"),
        // As Go's SplitHostPort and Atoi read them.
        ("[10.0.0.5]:1080", "10.0.0.5:1080"),
        ("10.0.0.5:+1080", "10.0.0.5:1080"),
    ] {
        assert_eq!(proxy(text), expected, "{text}");
    }
    assert_eq!(parse_proxy("[fd00::1]:1080"), Ok(ProxyAddr { ip: ip("fd00::1"), port: 1080 }));
    let format =
        |s: &str| format!("error: invalid proxy address {s:?}: expected host:port format: invalid proxy format");
    let host = |s: &str| {
        format!(
            "error: invalid proxy address {s:?}: host must be an IP address, not a hostname: proxy host must be an IP \
             address"
        )
    };
    let port =
        |s: &str| format!("error: invalid proxy address {s:?}: port must be 1-65535: proxy port must be 1-65535");
    assert_eq!(proxy(""), "error: proxy address is empty");
    for text in
        ["127.0.0.1", "::1:3128", "fd00::1", "[::1]", "[::1]x:80", "[::1]:80]", "[::1:80", "a[b:80", "a]b:80", " "]
    {
        assert_eq!(proxy(text), format(text), "{text}");
    }
    for text in
        ["localhost:3128", "proxy.example.com:8080", ":3128", " 127.0.0.1:3128", "[fe80::1%eth0]:80", "${PROXY}:80"]
    {
        assert_eq!(proxy(text), host(text), "{text}");
    }
    for text in [
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:-1",
        "127.0.0.1:",
        "127.0.0.1:http",
        "[::1]:70000",
        "127.0.0.1:80 ",
    ] {
        assert_eq!(proxy(text), port(text), "{text}");
    }
}

#[test]
fn host_ip_tokens_at_load() {
    for ok in [
        "${alca:HOST_IP}",
        "${alca:HOST_IP}:8080",
        "udp://${alca:HOST_IP}:53",
        "${alca:HOST_IP}/24:*",
        " ${alca:HOST_IP} ",
    ] {
        assert_eq!(check_rule(ok), Ok(()), "{ok}");
    }
    assert_eq!(check_proxy("${alca:HOST_IP}:1080"), Ok(()));
    assert_eq!(check_proxy("[${alca:HOST_IP}]:1080"), Ok(()));
    // Errors show the token, not the stand-in address.
    for (text, expected) in [
        ("${alca:HOST_IP}/33", "invalid CIDR \"${alca:HOST_IP}/33\": the IPv4 prefix length must be 0-32"),
        ("[${alca:HOST_IP}]:53", "expected IPv6 address but got IPv4: \"${alca:HOST_IP}\""),
        ("${alca:HOST_IP}:0", "port 0 out of range (1-65535)"),
        ("${alca:HOST_IP}x", "invalid IP address \"${alca:HOST_IP}x\""),
        ("${alca:HOST_IP}${alca:HOST_IP}", "invalid IP address \"${alca:HOST_IP}${alca:HOST_IP}\""),
        ("${alca:HOST}:80", "unknown alca token \"HOST\" in \"${alca:HOST}:80\"; valid tokens: HOST_IP"),
        ("${alca:host_ip}", "unknown alca token \"host_ip\" in \"${alca:host_ip}\"; valid tokens: HOST_IP"),
        ("${alca:HOST-IP}", "invalid alca token syntax \"${alca:HOST-IP}\" in \"${alca:HOST-IP}\""),
        ("${alca:}", "invalid alca token syntax \"${alca:}\" in \"${alca:}\""),
        ("${alca:HOST_IP", "invalid alca token syntax in \"${alca:HOST_IP\": missing `}`"),
        ("10.0.0.1:${alca:HOST_IP", "invalid alca token syntax in \"10.0.0.1:${alca:HOST_IP\": missing `}`"),
    ] {
        assert_eq!(check_rule(text), Err(expected.to_string()), "{text}");
    }
    for (text, expected) in [
        (
            "${alca:HOST_IP}",
            "invalid proxy address \"${alca:HOST_IP}\": expected host:port format: invalid proxy format",
        ),
        (
            "${alca:HOST_IP}:0",
            "invalid proxy address \"${alca:HOST_IP}:0\": port must be 1-65535: proxy port must be 1-65535",
        ),
        (
            "${alca:HOST_IP}:${alca:HOST_IP}",
            "invalid proxy address \"${alca:HOST_IP}:${alca:HOST_IP}\": port must be 1-65535: proxy port must be \
             1-65535",
        ),
        (
            "proxy-${alca:HOST_IP}:80",
            "invalid proxy address \"proxy-${alca:HOST_IP}:80\": host must be an IP address, not a hostname: proxy \
             host must be an IP address",
        ),
        ("${alca:IP}:3128", "unknown alca token \"IP\" in \"${alca:IP}:3128\"; valid tokens: HOST_IP"),
    ] {
        assert_eq!(check_proxy(text), Err(expected.to_string()), "{text}");
    }
    // Without a token a literal stand-in address is a plain address.
    assert_eq!(
        check_rule("192.0.2.1/33"),
        Err("invalid CIDR \"192.0.2.1/33\": the IPv4 prefix length must be 0-32".into())
    );
}

#[test]
fn host_ip_tokens_at_up() {
    let n = NetworkConfig {
        lan_access: entries(&[
            "${alca:HOST_IP}:8080",
            "udp://${alca:HOST_IP}:53",
            "10.0.0.0/8",
            "${alca:HOST_IP}/16:*",
        ]),
        proxy: Some(Entry { text: "${alca:HOST_IP}:1080".into(), at: "/p/.alca.toml:4:9".into() }),
    };
    assert!(n.needs_host_ip());
    let r = n.resolve(Some(ip("172.17.0.1"))).unwrap();
    let shown: Vec<String> = r.rules.iter().map(|r| format!("{} {}", r.text, r.net)).collect();
    assert_eq!(
        shown,
        [
            "172.17.0.1:8080 172.17.0.1/32",
            "udp://172.17.0.1:53 172.17.0.1/32",
            "10.0.0.0/8 10.0.0.0/8",
            "172.17.0.1/16:* 172.17.0.1/16"
        ]
    );
    assert_eq!(r.rules[1].protocols, Protocols::Udp);
    assert_eq!(r.proxy, Some(ProxyAddr { ip: ip("172.17.0.1"), port: 1080 }));
    // The family is checked against the real address: a v4 address in brackets.
    let e = NetworkConfig { lan_access: entries(&["10.0.0.1", "[${alca:HOST_IP}]:53"]), proxy: None };
    assert_eq!(
        e.resolve(Some(ip("172.17.0.1"))),
        Err("/p/.alca.toml:3:2: network.lan-access: \"[${alca:HOST_IP}]:53\": expected IPv6 address but got IPv4: \
             \"172.17.0.1\""
            .into())
    );
    // An IPv6 host address goes in brackets where the token is not in them.
    let r = n.resolve(Some(ip("fd00::1"))).unwrap_err();
    assert_eq!(
        r,
        "/p/.alca.toml:3:4: network.lan-access: \"${alca:HOST_IP}/16:*\": unexpected characters after IPv6 address: \
         \"/16:*\""
    );
    let n6 = NetworkConfig { lan_access: n.lan_access[..3].to_vec(), proxy: n.proxy.clone() };
    let r = n6.resolve(Some(ip("fd00::1"))).unwrap();
    let shown: Vec<String> = r.rules.iter().map(|r| format!("{} {} {:?}", r.text, r.net, r.port)).collect();
    assert_eq!(
        shown,
        [
            "[fd00::1]:8080 fd00::1/128 Some(8080)",
            "udp://[fd00::1]:53 fd00::1/128 Some(53)",
            "10.0.0.0/8 10.0.0.0/8 None"
        ]
    );
    assert_eq!(r.proxy.unwrap().to_string(), "[fd00::1]:1080");
    let bracketed = NetworkConfig {
        lan_access: entries(&["[${alca:HOST_IP}]:53"]),
        proxy: Some(Entry { text: "[${alca:HOST_IP}]:1080".into(), at: "/p/.alca.toml:4:9".into() }),
    };
    let r = bracketed.resolve(Some(ip("fd00::1"))).unwrap();
    assert_eq!((r.rules[0].text.as_str(), r.rules[0].net.to_string()), ("[fd00::1]:53", "fd00::1/128".to_string()));
    assert_eq!(r.proxy.unwrap().to_string(), "[fd00::1]:1080");
    // Without the host's address.
    assert_eq!(
        n.resolve(None),
        Err("/p/.alca.toml:3:1: network.lan-access: \"${alca:HOST_IP}:8080\" uses ${alca:HOST_IP}, but the host's \
             address (as the container sees it) could not be found"
            .into())
    );
    let only_proxy = NetworkConfig { lan_access: entries(&["10.0.0.1"]), proxy: n.proxy.clone() };
    assert!(only_proxy.needs_host_ip());
    assert_eq!(
        only_proxy.resolve(None),
        Err("/p/.alca.toml:4:9: network.proxy: \"${alca:HOST_IP}:1080\" uses ${alca:HOST_IP}, but the host's address \
             (as the container sees it) could not be found"
            .into())
    );
    let plain = NetworkConfig { lan_access: entries(&["10.0.0.1", "*"]), proxy: None };
    assert!(!plain.needs_host_ip());
    assert!(plain.resolve(None).unwrap().allow_all);
    // Entries that did not come through the loader are checked all the same.
    let bad = NetworkConfig {
        lan_access: Vec::new(),
        proxy: Some(Entry { text: "${alca:NOPE}:1".into(), at: "/p/x.toml:1:1".into() }),
    };
    assert_eq!(
        bad.resolve(Some(ip("172.17.0.1"))),
        Err("/p/x.toml:1:1: network.proxy: unknown alca token \"NOPE\" in \"${alca:NOPE}:1\"; valid tokens: HOST_IP"
            .into())
    );
}

#[test]
fn serialized_for_status() {
    let Ok(LanTarget::Rule(r)) = parse_rule("*://[fd00::/8]:443") else { panic!() };
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        serde_json::json!({ "text": "*://[fd00::/8]:443", "net": "fd00::/8", "port": 443, "protocols": "tcp-udp" })
    );
}

mod fuzz {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        /// Any text: a rule or an error, never a panic; a rule's text is the trimmed input.
        #[test]
        fn any_rule_text(text in "(tcp://|udp://|\\*://)?\\[?[0-9a-f:\\.\\*/\\]\\[ ]{0,20}|.{0,20}") {
            match parse_rule(&text) {
                Ok(LanTarget::Rule(r)) => {
                    prop_assert_eq!(r.text.as_str(), text.trim());
                    prop_assert!(r.port != Some(0));
                }
                Ok(LanTarget::All) => prop_assert_eq!(text.trim(), "*"),
                Err(e) => prop_assert!(!e.is_empty()),
            }
            let _ = check_rule(&text);
        }

        #[test]
        fn any_proxy_text(text in "\\[?[0-9a-f:\\.\\]\\[]{0,20}|.{0,20}") {
            if let Ok(p) = parse_proxy(&text) {
                prop_assert!(p.port >= 1);
                prop_assert_eq!(parse_proxy(&p.to_string()), Ok(p));
            }
            let _ = check_proxy(&text);
        }

        /// What a valid rule says, printed back in the grammar, parses the same.
        #[test]
        fn printed_rules_read_back(v4 in any::<[u8; 4]>(), v6 in any::<[u16; 8]>(), six in any::<bool>(),
                                   len in 0u8..=128, port in prop::option::of(1u16..), proto in 0usize..4) {
            let (addr, max): (IpAddr, u8) = if six { (std::net::Ipv6Addr::from(v6).into(), 128) } else { (std::net::Ipv4Addr::from(v4).into(), 32) };
            let len = len % (max + 1);
            let port_text = port.map_or("*".to_string(), |p| p.to_string());
            let body = if six { format!("[{addr}/{len}]:{port_text}") } else { format!("{addr}/{len}:{port_text}") };
            let prefix = ["", "tcp://", "udp://", "*://"][proto];
            let text = format!("{prefix}{body}");
            match parse_rule(&text) {
                // An IPv4-mapped IPv6 address is refused.
                Err(e) if six => prop_assert!(e.starts_with("expected IPv6 address but got IPv4"), "{e}"),
                Ok(LanTarget::Rule(r)) => {
                    prop_assert_eq!(r.net, IpNet::new(addr, len).unwrap());
                    prop_assert_eq!(r.port, port);
                    let expected = match (proto, port) {
                        (1, _) => Protocols::Tcp,
                        (2, _) => Protocols::Udp,
                        (3, Some(_)) => Protocols::TcpUdp,
                        (0, Some(_)) => Protocols::Tcp,
                        _ => Protocols::Any,
                    };
                    prop_assert_eq!(r.protocols, expected);
                }
                other => prop_assert!(false, "{text}: {other:?}"),
            }
        }
    }
}
