use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::*;

fn parse_with(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let env = move |k: &str| vars.get(k).cloned();
    let ctx = LoadContext { project_root: Path::new("/proj"), env: &env, home: Some(PathBuf::from("/home/u")) };
    Config::parse(text, Path::new("/proj/.alca.toml"), &ctx)
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    parse_with(text, &[])
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().short()
}

#[test]
fn minimal_config_gets_defaults() {
    let c = parse("image = \"alpine:3.21\"\n").unwrap();
    assert_eq!(c.image, "alpine:3.21");
    assert_eq!(c.workdir, "/workspace");
    assert_eq!(c.runtime, RuntimeChoice::Auto);
    assert!(c.mounts.is_empty() && c.envs.is_empty());
    assert_eq!(c.commands, Commands::default());
}

#[test]
fn full_subset() {
    let c = parse_with(
        r#"
image = "debian:bookworm"
workdir = "/src/"
runtime = "podman"
mounts = ["~/.ssh:/root/.ssh:ro", "data:/data", "$CACHE/x:/cache:rw", { source = "/abs", target = "/abs", readonly = true }]
[envs]
A = "literal"
B = "${HOME}"
C = { value = "${TOKEN}", override_on_enter = true }
D = ""
[commands]
up = "apk add git"
enter = { command = ". ~/.profile;", append = false }
"#,
        &[("CACHE", "/var/cache")],
    )
    .unwrap();
    assert_eq!(c.workdir, "/src");
    assert_eq!(c.runtime, RuntimeChoice::Named("podman".into()));
    let m: Vec<(String, &str, bool)> =
        c.mounts.iter().map(|m| (m.source.display().to_string(), m.target.as_str(), m.read_only)).collect();
    assert_eq!(
        m,
        vec![
            ("/home/u/.ssh".to_string(), "/root/.ssh", true),
            ("/proj/data".to_string(), "/data", false),
            ("/var/cache/x".to_string(), "/cache", false),
            ("/abs".to_string(), "/abs", true),
        ]
    );
    let e: Vec<(&str, &EnvValue, bool)> =
        c.envs.iter().map(|e| (e.name.as_str(), &e.value, e.override_on_enter)).collect();
    assert_eq!(
        e,
        vec![
            ("A", &EnvValue::Literal("literal".into()), false),
            ("B", &EnvValue::Host("HOME".into()), false),
            ("C", &EnvValue::Host("TOKEN".into()), true),
            ("D", &EnvValue::Literal("".into()), false),
        ]
    );
    assert_eq!(c.commands.up.unwrap().command, "apk add git");
    assert_eq!(c.commands.enter.unwrap().command, ". ~/.profile;");
}

#[test]
fn errors_point_at_the_line_and_column() {
    assert_eq!(err("image = \"x\"\nsurprise = 1\n"), "/proj/.alca.toml:2:1: unknown key `surprise`");
    let e = parse("imge = \"x\"\n").unwrap_err();
    assert_eq!(e.short(), "/proj/.alca.toml:1:1: unknown key `imge`");
    assert!(e.help.as_deref().unwrap().starts_with("did you mean `image`?"), "{e:?}");
    let e = err("image = \"x\"\nmounts = [\"a:b:c:d\"]\n");
    assert!(e.starts_with("/proj/.alca.toml:2:11: mounts[0]: invalid mount"), "{e}");
    let e = err("image = \"x\"\nmounts = [\"a:/b:rx\"]\n");
    assert!(e.contains("invalid mount option \"rx\""), "{e}");
    let e = err("image = \"x\"\n\n[envs]\nA = \"pre${X}\"\n");
    assert!(e.starts_with("/proj/.alca.toml:4:5: envs.A: `${...}` must be the whole value"), "{e}");
    let e = err("image = [1]\n");
    assert!(e.starts_with("/proj/.alca.toml:1:9:"), "{e}");
}

#[test]
fn required_and_invalid_values() {
    assert!(err("workdir = \"/w\"\n").contains("`image` is required"));
    assert!(err("image = \"  \"\n").contains("`image` is empty"));
    assert!(err("image = \"x\"\nworkdir = \"rel\"\n").contains("absolute path"));
    assert!(err("image = \"x\"\nworkdir = \"/\"\n").contains("cannot be `/`"));
    assert!(err("image = \"x\"\nruntime = \"Docker Desktop\"\n").contains("`runtime` must be"));
    assert!(err("image = \"x\"\nmounts = [\"a:relative\"]\n").contains("absolute path in the container"));
    assert!(err("image = \"x\"\nmounts = [\"a:/workspace\"]\n").contains("is the workdir"));
    assert!(
        err("image = \"x\"\nmounts = [\"a:/x\", \"b:/x/\"]\n").contains("mounts[1]: target \"/x\" is already mounted")
    );
    assert!(err("image = \"x\"\nmounts = [\"$NOPE/a:/x\"]\n").contains("$NOPE is not set"));
    assert!(
        err("image = \"x\"\nmounts = [{ source = \"a\", target = \"/x\", exclude = [\"b\"] }]\n")
            .contains("`exclude` is not supported")
    );
    assert!(err("image = \"x\"\nmounts = [{ source = \"a\" }]\n").ends_with("mounts[0]: missing key `target`"));
    assert!(
        err("image = \"x\"\nmounts = [3]\n")
            .ends_with("mounts[0]: invalid type: integer `3`, expected a string or a table")
    );
    assert!(
        err("image = \"x\"\n[envs]\nA = 3\n")
            .ends_with("envs.A: invalid type: integer `3`, expected a string or a table")
    );
    assert!(
        err("image = \"x\"\n[commands]\nup = 3\n")
            .ends_with("commands.up: invalid type: integer `3`, expected a string or a table")
    );
}

#[test]
fn unimplemented_reference_keys_are_refused_by_name() {
    let e = err("image = \"x\"\nworkdir_exclude = [\"a\"]\n");
    assert_eq!(e, "/proj/.alca.toml:2:19: `workdir_exclude` is not supported by this version of alca yet");
    // Empty, they ask for nothing.
    assert!(parse("image = \"x\"\nworkdir_exclude = []\n").is_ok());
}

#[test]
fn network_ports_string_and_object_forms() {
    let c = parse(
        r#"
image = "x"
[network]
ports = [
  "8080",
  "3000:80",
  "127.0.0.1:5432:5432",
  "53:53/udp",
  "9000:9000/tcp",
  "[::1]:8443:443",
  { port = 6000 },
  { port = 7000, hostPort = 17000, hostIp = "::1", protocol = "udp" },
  { port = 7001, hostPort = 0, hostIp = "", protocol = "" },
]
lan-access = ["*"]
"#,
    )
    .unwrap();
    let shown: Vec<String> = c.ports.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        shown,
        vec![
            "8080:8080",
            "3000:80",
            "127.0.0.1:5432:5432",
            "53:53/udp",
            "9000:9000",
            "[::1]:8443:443",
            "6000:6000",
            "[::1]:17000:7000/udp",
            "7001:7001",
        ]
    );
    assert_eq!(c.ports[2].host_ip, Some("127.0.0.1".parse().unwrap()));
    // The host port is resolved: these two are the same port.
    assert_eq!(parse("image = \"x\"\n[network]\nports = [\"8080\"]\n").unwrap().ports, {
        parse("image = \"x\"\n[network]\nports = [{ port = 8080, hostPort = 8080 }]\n").unwrap().ports
    });
    assert!(parse("image = \"x\"\n[network]\n").unwrap().ports.is_empty());
    assert!(parse("image = \"x\"\nnetwork = { lan-access = [\" * \"], proxy = \"\" }\n").unwrap().ports.is_empty());
}

#[test]
fn network_ports_errors_are_the_reference_texts_located() {
    let port_err = |value: &str| err(&format!("image = \"x\"\n[network]\nports = [\"1\", {value}]\n"));
    let at = "/proj/.alca.toml:3:15: network: ports[1]: ";
    for (value, message) in [
        (r#""""#, "port string is empty"),
        (r#""80/sctp""#, r#"protocol "sctp" must be tcp or udp: invalid protocol"#),
        (r#""80/""#, r#"protocol "" must be tcp or udp: invalid protocol"#),
        (r#""1:2:3:4""#, r#"invalid port format "1:2:3:4": too many colons: invalid port format"#),
        (r#""::1:80:80""#, r#"invalid port format "::1:80:80": too many colons: invalid port format"#),
        (r#""localhost:80:80""#, r#"hostIp "localhost" is not a valid IP address: invalid host IP"#),
        (r#""[nope]:80:80""#, r#"hostIp "nope" is not a valid IP address: invalid host IP"#),
        (
            r#""[::1]:80""#,
            r#"invalid port format "[::1]:80": expected [hostIp]:hostPort:containerPort: invalid port format"#,
        ),
        (r#""http""#, r#"port "http" is not a number"#),
        (r#""99999999999999999999""#, r#"port "99999999999999999999" is not a number"#),
        (r#"":80""#, "port number is empty"),
        (r#""0""#, "port 0 out of range 1-65535: invalid port"),
        (r#""65536:80""#, "port 65536 out of range 1-65535: invalid port"),
        (r#""-1""#, "port -1 out of range 1-65535: invalid port"),
        ("{ hostPort = 80 }", "network.ports[1]: missing key `port`"),
        (r#"{ port = "80" }"#, r#"network.ports[1].port: invalid type: string "80", expected an integer"#),
        ("{ port = 70000 }", "port 70000 out of range 1-65535: invalid port"),
        ("{ port = 80, hostPort = -2 }", "hostPort -2 out of range 1-65535: invalid port"),
        (r#"{ port = 80, protocol = "TCP" }"#, r#"protocol "TCP" must be tcp or udp: invalid protocol"#),
        (r#"{ port = 80, hostIp = "[::1]" }"#, r#"hostIp "[::1]" is not a valid IP address: invalid host IP"#),
        // Stricter than the reference, which ignores these (an ignored
        // hostIp would publish on every interface).
        ("{ port = 80, hostIp = 127 }", "network.ports[1].hostIp: invalid type: integer `127`, expected a string"),
        (
            r#"{ port = 80, hostPort = "80" }"#,
            r#"network.ports[1].hostPort: invalid type: string "80", expected an integer"#,
        ),
        ("{ port = 80, host_ip = \"127.0.0.1\" }", "network.ports[1]: unknown key `host_ip`"),
        ("true", "network.ports[1]: invalid type: boolean `true`, expected a string or a table"),
        (r#""1:1""#, "1:1 publishes the same host port as ports[0] (1:1)"),
        (r#""127.0.0.1:1:2""#, "127.0.0.1:1:2 publishes the same host port as ports[0] (1:1)"),
    ] {
        let at = if message.starts_with("network.") { "/proj/.alca.toml:3:" } else { at };
        let got = port_err(value);
        assert!(got.starts_with(at) && got.ends_with(message), "{value}: {got}");
    }
    // Different protocols or addresses do not clash.
    assert!(parse("image = \"x\"\nnetwork.ports = [\"1\", \"1/udp\"]\n").is_ok());
    assert!(parse("image = \"x\"\nnetwork.ports = [\"127.0.0.1:1:1\", \"127.0.0.2:1:2\"]\n").is_ok());
    assert!(err("image = \"x\"\n[network]\nports = \"80\"\n").starts_with("/proj/.alca.toml:3:9:"));
}

#[test]
fn network_lan_access_and_proxy_are_checked_where_written() {
    for (text, col, message) in [
        ("lan-access = [\"10.0.0.0/8\", \"10.0.0.1:http\"]", 29, "network.lan-access[1]: invalid port \"http\""),
        ("lan-access = [\"*\", \"\"]", 20, "network.lan-access[1]: empty rule string"),
        ("lan-access = \"*\"", 14, "network.lan-access: invalid type: string \"*\", expected an array"),
        ("lan-access = [8080]", 15, "network.lan-access[0]: invalid type: integer `8080`, expected a string"),
        (
            "proxy = \"localhost:3128\"",
            9,
            "network.proxy: invalid proxy address \"localhost:3128\": host must be an IP address, not a hostname: \
             proxy host must be an IP address",
        ),
        ("surprise = 1", 1, "network: unknown key `surprise`"),
    ] {
        let e = err(&format!("image = \"x\"\n[network]\n{text}\n"));
        assert_eq!(e, format!("/proj/.alca.toml:3:{col}: {message}"));
    }
    let c = parse("image = \"x\"\n[network]\nlan-access = [\"10.0.0.1\", \" * \"]\nproxy = \"${alca:HOST_IP}:3128\"\n")
        .unwrap();
    let entry = |text: &str, at: &str| Entry { text: text.into(), at: format!("/proj/.alca.toml:{at}") };
    assert_eq!(
        c.network,
        NetworkConfig {
            lan_access: vec![entry("10.0.0.1", "3:15"), entry(" * ", "3:27")],
            proxy: Some(entry("${alca:HOST_IP}:3128", "4:9")),
        }
    );
    assert!(c.network.allows_all() && c.network.needs_host_ip());
    // No network key: nothing allowed, no proxy (isolation applies).
    let c = parse("image = \"x\"\n[network]\nproxy = \"\"\nlan-access = []\n").unwrap();
    assert_eq!(c.network, NetworkConfig::default());
    assert!(!c.network.allows_all() && !c.network.needs_host_ip());
}

#[test]
fn defaults_sit_under_user_envs() {
    let c = parse("image = \"x\"\n[envs]\nTERM = \"dumb\"\nX = \"1\"\n").unwrap();
    let all = c.effective_envs();
    let term: Vec<_> = all.iter().filter(|e| e.name == "TERM").collect();
    assert_eq!(term.len(), 1);
    assert_eq!(term[0].value, EnvValue::Literal("dumb".into()));
    assert!(all.iter().any(|e| e.name == "LANG" && e.value == EnvValue::Host("LANG".into()) && e.override_on_enter));
    let host = |k: &str| (k == "SET").then(|| "v".to_string());
    let unset = EnvVar { name: "U".into(), value: EnvValue::Host("UNSET".into()), override_on_enter: false };
    assert_eq!(unset.resolve(&host), None);
    let set = EnvVar { name: "S".into(), value: EnvValue::Host("SET".into()), override_on_enter: false };
    assert_eq!(set.resolve(&host), Some("v".into()));
}

#[test]
fn empty_commands_are_no_commands() {
    let c = parse("image = \"x\"\n[commands]\nup = \"  \"\n").unwrap();
    assert_eq!(c.commands.up, None);
}

#[test]
fn line_col_counts_characters() {
    assert_eq!(line_col("ab\ncé d", 7), (2, 4));
    assert_eq!(line_col("", 0), (1, 1));
}

// --- Fuzz targets (proptest; scripts/fuzz.sh runs them longer) -------------

mod fuzz {
    use proptest::prelude::*;

    use super::*;

    /// Pieces of `.alca.toml`, valid and not, to build configs from.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("image = \"x\"\n".to_string()),
            Just("workdir = \"/w\"\n".to_string()),
            Just("runtime = \"docker\"\n".to_string()),
            Just("mounts = [\"/a:/b:ro\", { source = \"./d\", target = \"/d\", readonly = true }]\n".to_string()),
            Just("mounts = [\"$HOME/x:/x\", \"~/y:/y\", \"a:b:c:d\", \"::\"]\n".to_string()),
            Just("[envs]\nA = \"1\"\nB = { value = \"${B}\", override_on_enter = true }\n".to_string()),
            Just("[commands]\nup = { command = \"x\", append = true }\nenter = \"y\"\n".to_string()),
            Just("[network]\nlan-access = [\"*\"]\n".to_string()),
            Just(
                "[network]\nlan-access = [\"10.0.0.0/8:*\", \"[fe80::1]:22\", \"udp://${alca:HOST_IP}:53\"]\n\
                 proxy = \"${alca:HOST_IP}:1080\"\n"
                    .to_string()
            ),
            "network\\.lan-access = \\[\"[0-9a-f\\.:/\\[\\]\\*]{0,12}\"\\]\n",
            Just("caps = [\"ALL\"]\n".to_string()),
            Just("[[[\n".to_string()),
            Just("\"\\u0000\" = 1\n".to_string()),
            "[a-z_\\.]{1,8} = [\"0-9a-z\\[\\]{}=,:/~$ ]{0,12}\n",
            any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        /// Any text: an error that points inside the file, or a config; never a panic.
        #[test]
        fn any_text_gives_a_config_or_a_located_error(parts in prop::collection::vec(fragment(), 0..6)) {
            let text: String = parts.concat();
            match parse_with(&text, &[("HOME", "/home/u"), ("B", "b")]) {
                Ok(c) => prop_assert!(!c.image.is_empty()),
                Err(e) => {
                    prop_assert!(e.line >= 1 && e.column >= 1);
                    prop_assert!(e.line <= text.lines().count() + 1, "line {} of {:?}", e.line, text);
                }
            }
        }

        #[test]
        fn any_bytes_through_the_loader(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(".alca.toml");
            std::fs::write(&path, &bytes).unwrap();
            let env = |_: &str| None;
            let ctx = LoadContext { project_root: dir.path(), env: &env, home: None };
            if let Err(e) = Config::load(&path, &ctx) {
                prop_assert!(e.line >= 1 && e.column >= 1);
            }
        }
    }
}

/// The schema in the repository (what editors fetch through `SCHEMA_URL`)
/// is what `alca config schema` prints.
#[test]
fn checked_in_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/alca.schema.json");
    let checked_in = std::fs::read_to_string(&path).unwrap();
    let now = serde_json::to_string_pretty(&schema()).unwrap() + "\n";
    assert!(
        checked_in == now,
        "schema/alca.schema.json is stale: run `cargo run -q -p alca -- config schema > schema/alca.schema.json`"
    );
}

/// The schema describes what the parser accepts: every key of a complete
/// configuration is a property there, and nothing else is allowed.
#[test]
fn schema_follows_the_parser() {
    let s = schema();
    assert_eq!(s["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(s["additionalProperties"], false);
    let top: Vec<&str> = s["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "extends",
        "includes",
        "image",
        "workdir",
        "workdir_exclude",
        "runtime",
        "mounts",
        "commands",
        "envs",
        "resources",
        "network",
        "caps",
        "hooks",
    ] {
        assert!(top.contains(&key), "{key} missing from the schema: {top:?}");
    }
    assert_eq!(top.len(), 13, "{top:?}");
    let defs = s["definitions"].as_object().unwrap();
    let props = |name: &str| -> Vec<String> { defs[name]["properties"].as_object().unwrap().keys().cloned().collect() };
    assert_eq!(props("RawNetwork"), ["lan-access", "ports", "proxy"]);
    assert_eq!(props("PortTable"), ["hostIp", "hostPort", "port", "protocol"]);
    assert_eq!(props("RawHooks"), ["post_up", "pre_down"]);
    assert_eq!(s["required"], serde_json::Value::Null, "image may come from another file");
}

/// The templates' `includes = ['./.alca.*.toml']` next to an `extends` of a
/// `.alca.base.toml`: the base is extended, not included again over the
/// file (which would make it win), and listed once.
#[test]
fn a_glob_does_not_include_again_what_is_already_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join(".alca.toml"),
        "extends = ['./.alca.base.toml']\nincludes = ['./.alca.*.toml']\nimage = \"main\"\n",
    )
    .unwrap();
    std::fs::write(dir.join(".alca.base.toml"), "image = \"base\"\n[envs]\nWHO = \"base\"\n").unwrap();
    std::fs::write(dir.join(".alca.local.toml"), "[envs]\nWHO = \"local\"\n").unwrap();
    let env = |_: &str| None;
    let ctx = LoadContext { project_root: dir, env: &env, home: None };
    let c = Config::load(&dir.join(".alca.toml"), &ctx).unwrap();
    assert_eq!(c.image, "main");
    assert_eq!(c.envs[0].value, EnvValue::Literal("local".into()));
    let names: Vec<String> = c.files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, [".alca.toml", ".alca.base.toml", ".alca.local.toml"]);
    assert!(c.files.iter().all(|f| !f.to_string_lossy().contains("/./")), "{:?}", c.files);
}
