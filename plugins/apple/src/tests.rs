//! Pure tests of the Apple plugin's logic: argv per version, names, both
//! JSON generations, both error-text generations. They run on the host
//! (`cargo test -p alca-plugin-apple` in plugins/); nothing here calls the
//! host imports.

use alca_plugin_sdk::{
    Capabilities, CommandFailure, ContainerSpec, ContainerState, ExecRequest, Features, KeyValue, LabelSelector, Mount,
    MountKind, NetworkMode, PortMapping, Protocol, Resources, RestartPolicy, RuntimeError,
};

use crate::*;

const V09: Version = Version::new(0, 9, 0);
const V010: Version = Version::new(0, 10, 0);
const V122: Version = Version::new(1, 2, 2);

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn spec() -> ContainerSpec {
    ContainerSpec {
        name: "alca-0123456789ab".into(),
        image: "img:1".into(),
        labels: vec![KeyValue::new("alca.project.id", "u-1"), KeyValue::new("alca.project.path", "/p")],
        env: vec![KeyValue::new("A", "x=y"), KeyValue::new("EMPTY", "")],
        mounts: vec![
            Mount { kind: MountKind::Bind, source: "/p".into(), target: "/workspace".into(), read_only: false },
            Mount { kind: MountKind::Bind, source: "/ssh".into(), target: "/root/.ssh".into(), read_only: true },
            Mount { kind: MountKind::Volume, source: "cache".into(), target: "/cache".into(), read_only: false },
            Mount { kind: MountKind::Tmpfs, source: String::new(), target: "/scratch".into(), read_only: false },
        ],
        ports: vec![
            PortMapping { host_ip: None, host_port: None, container_port: 80, protocol: Protocol::Tcp },
            PortMapping {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(8080),
                container_port: 8000,
                protocol: Protocol::Tcp,
            },
            PortMapping {
                host_ip: Some("::1".into()),
                host_port: Some(53),
                container_port: 5353,
                protocol: Protocol::Udp,
            },
        ],
        workdir: Some("/workspace".into()),
        user: Some("1000:1000".into()),
        entrypoint: None,
        command: s(&["sh", "-c", "sleep 1"]),
        resources: Resources { cpus: Some(2.0), memory_bytes: Some(1 << 30) },
        capabilities: Capabilities { drop: s(&["ALL"]), add: s(&["CHOWN", "SETUID"]) },
        restart: RestartPolicy::No,
        network: NetworkMode::Default,
        init: true,
    }
}

#[test]
fn create_argv_on_a_current_version() {
    assert_eq!(
        create_args(&spec(), V122).unwrap(),
        s(&[
            "create",
            "--name",
            "alca-0123456789ab",
            "-l",
            "alca.project.id=u-1",
            "-l",
            "alca.project.path=/p",
            "-e",
            "A=x=y",
            "-e",
            "EMPTY=",
            "-w",
            "/workspace",
            "-u",
            "1000:1000",
            "-v",
            "/p:/workspace",
            "-v",
            "/ssh:/root/.ssh:ro",
            "-v",
            "cache:/cache",
            "--tmpfs",
            "/scratch",
            "-p",
            "80:80",
            "-p",
            "127.0.0.1:8080:8000",
            "-p",
            "[::1]:53:5353/udp",
            "-c",
            "2",
            "-m",
            "1024M",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CHOWN",
            "--cap-add",
            "SETUID",
            "--init",
            "img:1",
            "sh",
            "-c",
            "sleep 1",
        ])
    );
}

#[test]
fn create_argv_has_only_what_the_version_has() {
    // 0.9: no --cap-*, no --init: asking for them is invalid-spec, never dropped.
    let err = create_args(&spec(), V09).unwrap_err();
    assert!(
        matches!(&err, RuntimeError::InvalidSpec(m) if m.contains("capabilities") && m.contains("0.12.0")),
        "{err:?}"
    );
    let mut sp = spec();
    sp.capabilities = Capabilities { drop: vec![], add: vec![] };
    let err = create_args(&sp, V09).unwrap_err();
    assert!(matches!(&err, RuntimeError::InvalidSpec(m) if m.contains("init") && m.contains("0.10.0")), "{err:?}");
    sp.init = false;
    let a = create_args(&sp, V09).unwrap();
    assert!(!a.iter().any(|x| x.starts_with("--cap") || x == "--init"), "{a:?}");
    // 0.10: init, still no capabilities.
    let mut sp = spec();
    assert!(create_args(&sp, V010).is_err());
    sp.capabilities = Capabilities { drop: vec![], add: vec![] };
    assert!(create_args(&sp, V010).unwrap().contains(&"--init".to_string()));
    // 0.12: capabilities.
    assert!(create_args(&spec(), Version::new(0, 12, 0)).is_ok());
}

#[test]
fn create_refuses_what_apple_cannot_express() {
    let refused = |f: &dyn Fn(&mut ContainerSpec), needle: &str| {
        let mut sp = spec();
        f(&mut sp);
        match create_args(&sp, V122) {
            Err(RuntimeError::InvalidSpec(m)) => assert!(m.contains(needle), "{needle:?} not in {m:?}"),
            other => panic!("expected invalid-spec with {needle:?}, got {other:?}"),
        }
    };
    refused(&|sp| sp.labels.push(KeyValue::new("k", "a=b")), "contains `=`");
    refused(&|sp| sp.labels.push(KeyValue::new("", "v")), "label key");
    refused(&|sp| sp.resources.memory_bytes = Some((512 << 20) + 1), "whole MiB");
    refused(&|sp| sp.resources.memory_bytes = Some(128 << 20), "200 MiB");
    refused(&|sp| sp.resources.cpus = Some(1.5), "whole number of CPUs");
    refused(&|sp| sp.resources.cpus = Some(0.0), "whole number of CPUs");
    refused(&|sp| sp.restart = RestartPolicy::UnlessStopped, "restart policy");
    refused(&|sp| sp.network = NetworkMode::None, "without a network");
    refused(&|sp| sp.network = NetworkMode::Named("a,mac=x".into()), "`,`");
    refused(&|sp| sp.mounts[3].read_only = true, "read-only tmpfs");
    refused(&|sp| sp.mounts[0].source = "/with:colon".into(), "without `:`");
    refused(&|sp| sp.mounts[0].target = "/a:b".into(), "contains `:`");
    refused(&|sp| sp.mounts[2].source = "bad/name".into(), "volume name");
    refused(&|sp| sp.workdir = Some("-w".into()), "starts with `-`");
    refused(&|sp| sp.user = Some("--privileged".into()), "starts with `-`");
    refused(&|sp| sp.image = "--rosetta".into(), "starts with `-`");
    refused(&|sp| sp.env.push(KeyValue::new("A=B", "x")), "environment variable name");
    refused(&|sp| sp.entrypoint = Some(vec![]), "entrypoint");
    refused(&|sp| sp.ports[0].container_port = 1, "ports start at 2");

    // Named networks, entrypoints and a whole-MiB memory are expressed.
    let mut sp = spec();
    sp.network = NetworkMode::Named("backend".into());
    sp.entrypoint = Some(s(&["/bin/tini", "--"]));
    sp.resources.memory_bytes = Some(200 << 20);
    let a = create_args(&sp, V122).unwrap();
    assert!(a.windows(2).any(|w| w == ["--network", "backend"]));
    assert!(a.windows(2).any(|w| w == ["--entrypoint", "/bin/tini"]));
    assert!(a.windows(2).any(|w| w == ["-m", "200M"]));
    let img = a.iter().position(|x| x == "img:1").unwrap();
    assert_eq!(&a[img + 1..img + 3], &s(&["--", "sh"])[..]);
}

/// The options come in the forms alca's grant parse and Apple's parser
/// agree on: each value in its own argument, never joined to a short option.
#[test]
fn every_value_is_a_separate_argument() {
    let a = create_args(&spec(), V122).unwrap();
    let img = a.iter().position(|x| x == "img:1").unwrap();
    let mut i = 1;
    while i < img {
        let o = &a[i];
        assert!(o.starts_with('-') && !o.contains('='), "{o}");
        if o == "--init" {
            i += 1;
        } else {
            assert!(!a[i + 1].starts_with('-'), "value of {o} looks like an option: {}", a[i + 1]);
            i += 2;
        }
    }
}

#[test]
fn names_are_valid_apple_ids_derived_deterministically() {
    assert_eq!(container_name("alca-0123456789ab"), "alca-0123456789ab");
    assert_eq!(container_name("a.b_c-9"), "a.b_c-9");
    for raw in ["x", "-lead", "My Project/dev", "é", "", &"a".repeat(100), "_a", "..", "a b"] {
        let n = container_name(raw);
        assert!(crate::names::is_valid(&n), "{raw:?} -> {n:?}");
        assert_eq!(n, container_name(raw), "deterministic");
    }
    assert_ne!(container_name("a b"), container_name("a/b"), "distinct names stay distinct");
    assert_eq!(container_name(&"a".repeat(100)).len(), 63);
    assert!(container_name("My Project/dev").starts_with("My-Project-dev-"));
    assert!(!crate::names::is_valid(&"a".repeat(64)));
    assert!(!crate::names::is_valid("a"));
}

#[test]
fn exec_argv() {
    let req = ExecRequest {
        container: "c1".into(),
        argv: s(&["grep", "--privileged", "x"]),
        tty: true,
        interactive: true,
        user: Some("1000".into()),
        workdir: Some("/w".into()),
        env: vec![KeyValue::new("TERM", "xterm")],
    };
    assert_eq!(
        exec_args(&req).unwrap(),
        s(&["exec", "-i", "-t", "-e", "TERM=xterm", "-w", "/w", "-u", "1000", "c1", "grep", "--privileged", "x"])
    );
    let plain = ExecRequest { tty: false, interactive: false, user: None, workdir: None, env: vec![], ..req.clone() };
    assert_eq!(exec_args(&plain).unwrap(), s(&["exec", "c1", "grep", "--privileged", "x"]));
    assert!(exec_args(&ExecRequest { argv: vec![], ..req.clone() }).is_err());
    assert!(exec_args(&ExecRequest { workdir: Some("-x".into()), ..req }).is_err());
    assert_eq!(list_args(), s(&["list", "--all", "--format", "json"]));
}

#[test]
fn versions_and_their_features() {
    let (v, token) = Version::from_cli("container CLI version 1.2.2 (build: release, commit: abcdef1)\n").unwrap();
    assert_eq!((v, token.as_str()), (V122, "1.2.2"));
    let (v, _) =
        Version::from_cli("container CLI version 0.1.0 (build: release, commit: 0fd8692, sdk: MacOS 15)").unwrap();
    assert_eq!(v, Version::new(0, 1, 0));
    assert_eq!(Version::from_cli("container CLI version 1.5.0").unwrap().0, Version::new(1, 5, 0));
    assert_eq!(Version::parse("1.3.0-rc1"), Some(Version::new(1, 3, 0)));
    assert_eq!(Version::parse("0.10"), Some(V010));
    assert!(Version::from_cli("Docker version 28").is_none());
    assert!(V09 >= Version::MIN && Version::new(0, 8, 9) < Version::MIN);
    assert!(V010 > V09, "0.10 is newer than 0.9");

    let f09 = V09.features();
    assert!(!f09.contains(Features::CAPABILITIES) && !f09.contains(Features::INIT));
    assert!(f09.contains(Features::PORTS | Features::RESOURCE_LIMITS | Features::READ_ONLY_MOUNTS));
    assert!(V010.features().contains(Features::INIT) && !V010.features().contains(Features::CAPABILITIES));
    assert_eq!(V122.features(), newest_features());
    for f in [V09.features(), newest_features()] {
        assert!(!f.contains(Features::RESTART_POLICY) && !f.contains(Features::FRACTIONAL_CPUS));
    }
    assert!(newest_features().contains(
        Features::PORTS
            | Features::RESOURCE_LIMITS
            | Features::CAPABILITIES
            | Features::NAMED_NETWORKS
            | Features::VOLUMES
            | Features::TMPFS
            | Features::INIT
            | Features::READ_ONLY_MOUNTS
            | Features::PORT_HOST_IP
    ));
}

/// ≥ 1.0 `inspect`: pretty, sorted keys, `"k" : v`, escaped slashes, ISO dates.
const INSPECT_1X: &str = r#"[
  {
    "configuration" : {
      "creationDate" : "2026-08-01T10:00:00Z",
      "id" : "alca-0123456789ab",
      "image" : {
        "descriptor" : { "digest" : "sha256:abc", "mediaType" : "application\/vnd.oci.image.index.v1+json", "size" : 1 },
        "reference" : "docker.io\/library\/alpine:3.20"
      },
      "labels" : { "alca.project.id" : "u-1", "z" : "last", "n" : "x" },
      "networks" : [ { "network" : "default", "options" : { "hostname" : "web" } } ]
    },
    "id" : "alca-0123456789ab",
    "status" : {
      "networks" : [ { "hostname" : "web.", "ipv4Address" : "192.168.64.3\/24", "ipv4Gateway" : "192.168.64.1", "network" : "default" } ],
      "startedDate" : "2026-08-01T10:00:01Z",
      "state" : "running"
    }
  }
]"#;

/// ≤ 0.12 (0.8–0.12 attachments): `status` a string, `networks` on top,
/// a Double date since 2001-01-01.
const INSPECT_0X: &str = r#"[{"status":"stopped","configuration":{"id":"web","image":{"reference":"docker.io\/library\/busybox:latest"},"labels":{"alca.project.id":"u-2"}},"networks":[{"network":"default","hostname":"web","ipv4Address":"192.168.64.4\/24","ipv4Gateway":"192.168.64.1"}],"startedDate":776000000.5}]"#;

/// ≤ 0.7 attachments: `address` instead of `ipv4Address`.
const INSPECT_07: &str = r#"[{"status":"stopping","configuration":{"id":"old","image":{"reference":"a:b"}},"networks":[{"network":"default","hostname":"old","address":"192.168.64.5/24","gateway":"192.168.64.1"}]}]"#;

#[test]
fn parses_both_json_generations() {
    let c = &parse_containers(INSPECT_1X.as_bytes(), "inspect").unwrap()[0];
    assert_eq!((c.id.as_str(), c.name.as_str()), ("alca-0123456789ab", "alca-0123456789ab"));
    assert_eq!(c.image, "docker.io/library/alpine:3.20");
    assert_eq!(c.state, ContainerState::Running);
    assert_eq!(c.labels.iter().map(|kv| kv.key.as_str()).collect::<Vec<_>>(), ["alca.project.id", "n", "z"]);
    assert_eq!(c.ip_addresses, vec!["192.168.64.3"]);
    assert_eq!(c.started_at.as_deref(), Some("2026-08-01T10:00:01Z"));
    assert_eq!(c.created_at.as_deref(), Some("2026-08-01T10:00:00Z"));
    assert_eq!(c.exit_code, None);

    let c = &parse_containers(INSPECT_0X.as_bytes(), "inspect").unwrap()[0];
    assert_eq!((c.id.as_str(), c.image.as_str()), ("web", "docker.io/library/busybox:latest"));
    assert_eq!(c.state, ContainerState::Exited, "stopped -> exited");
    assert_eq!(c.ip_addresses, vec!["192.168.64.4"]);
    assert_eq!(c.started_at.as_deref(), Some("2025-08-04T11:33:20.500Z"));
    assert!(c.created_at.is_none());

    let c = &parse_containers(INSPECT_07.as_bytes(), "inspect").unwrap()[0];
    assert_eq!(c.state, ContainerState::Unknown, "stopping -> unknown");
    assert_eq!(c.ip_addresses, vec!["192.168.64.5"]);
    assert!(c.labels.is_empty() && c.started_at.is_none());

    assert!(parse_containers(b"", "x").unwrap().is_empty());
    assert!(parse_containers(b"[]\n", "x").unwrap().is_empty());
    assert!(matches!(parse_containers(b"{}", "x"), Err(RuntimeError::Parse(_))));
    assert!(matches!(parse_containers(b"[{\"status\":\"running\"}]", "x"), Err(RuntimeError::Parse(_))));
    assert!(matches!(parse_containers(b"not json", "x"), Err(RuntimeError::Parse(_))));
}

#[test]
fn dates_since_2001_become_rfc3339() {
    assert_eq!(apple_date(0.0).as_deref(), Some("2001-01-01T00:00:00Z"));
    assert_eq!(apple_date(-978_307_200.0).as_deref(), Some("1970-01-01T00:00:00Z"));
    assert_eq!(apple_date(776_000_000.5).as_deref(), Some("2025-08-04T11:33:20.500Z"));
    // 2024-02-29T23:59:59Z is 1709251199 since 1970.
    assert_eq!(apple_date(1_709_251_199.0 - 978_307_200.0).as_deref(), Some("2024-02-29T23:59:59Z"));
    assert_eq!(apple_date(f64::NAN), None);
}

#[test]
fn list_filters_by_every_selector() {
    let list = format!(
        "[{},{}]",
        INSPECT_1X.trim().trim_start_matches('[').trim_end_matches(']'),
        INSPECT_0X.trim().trim_start_matches('[').trim_end_matches(']')
    );
    let infos = parse_containers(list.as_bytes(), "list").unwrap();
    assert_eq!(infos.len(), 2);
    let sel = |k: &str, v: Option<&str>| LabelSelector { key: k.into(), value: v.map(Into::into) };
    assert!(crate::parse::matches(&infos[0], &[sel("alca.project.id", Some("u-1")), sel("z", None)]));
    assert!(!crate::parse::matches(&infos[0], &[sel("alca.project.id", Some("u-1")), sel("missing", None)]));
    assert!(!crate::parse::matches(&infos[1], &[sel("alca.project.id", Some("u-1"))]));
    assert!(crate::parse::matches(&infos[1], &[]));
}

fn failure(stderr: &str) -> CommandFailure {
    CommandFailure { program: "container".into(), args: s(&["x"]), exit_code: Some(1), stderr_tail: stderr.into() }
}

#[test]
fn classifies_both_error_generations() {
    let not_found = [
        // ≥ 1.0 inspect
        "Error: container not found: alca-1",
        // start / exec / logs
        "Error: get failed: container alca-1 not found",
        // stop / delete (≥ 0.11): nested causes
        r#"Error: internalError: "failed to delete container" (cause: "notFound: "container with ID alca-1 not found"")"#,
        r#"Error: internalError: "failed to stop container" (cause: "notFound: "container with ID alca-1 not found"")"#,
        // ≤ 0.9: the code prefix
        r#"Error: notFound: "container not found: alca-1""#,
        r#"Error: notFound: "failed to delete one or more containers: ["alca-1"]""#,
        // 0.10 rendering of the old delete
        r#"Error: failed to delete one or more containers: ["alca-1"]"#,
        "Error: image not found: busybox:latest",
    ];
    for text in not_found {
        assert!(matches!(classify(failure(text)), RuntimeError::NotFound(_)), "{text}");
    }
    match classify(failure("Error: container not found: alca-1")) {
        RuntimeError::NotFound(m) => assert_eq!(m, "container not found: alca-1"),
        other => panic!("{other:?}"),
    }

    let not_started = [
        "Error: internalError: \"failed to list containers\" (cause: \"interrupted: \"XPC connection error: Connection invalid\"\")\nEnsure container system service has been started with `container system start`.",
        "Error: interrupted: \"XPC connection error: Connection interrupted\"",
        "Error: failed to get a response from apiserver: timeout",
        "apiserver is not running and not registered with launchd",
    ];
    for text in not_started {
        match classify(failure(text)) {
            RuntimeError::NotAvailable(m) => {
                assert!(m.contains(NOT_STARTED_REASON) && m.contains("container system start"), "{m}")
            }
            other => panic!("{text}: {other:?}"),
        }
    }

    for text in [
        "Error: container already exists: alca-1",
        "Error: container with id alca-1 already exists",
        r#"Error: internalError: "failed to delete container" (cause: "invalidState: "container alca-1 is running and can not be deleted"")"#,
        "Error: container alca-1 is not running",
    ] {
        assert!(matches!(classify(failure(text)), RuntimeError::Conflict(_)), "{text}");
    }
    for text in [
        "Error: minimum memory amount allowed is 200 MiB (got 134217728 bytes)",
        "Error: invalid label format k=v=w",
        "Error: container ID -x is not a valid container ID",
    ] {
        assert!(matches!(classify(failure(text)), RuntimeError::InvalidSpec(_)), "{text}");
    }
    // A path that does not exist is not a missing container.
    for text in [
        "Error: path '/nope' does not exist",
        "Error: Unknown option '--restart'\nUsage: container create [<options>] <image> [<arguments> ...]\n  See 'container create --help' for more information.",
        "Error: LabelError(code: ContainerResource.AppErrorCode(rawValue: \"invalid_label_key_content\"), metadata: [\"key\": \"…\"])",
    ] {
        assert!(matches!(classify(failure(text)), RuntimeError::CommandFailed(_)), "{text}");
    }
}

#[test]
fn exec_failures_are_told_from_the_commands_own() {
    assert!(matches!(
        exec_failure("alca-1", "Error: get failed: container alca-1 not found"),
        Some(RuntimeError::NotFound(_))
    ));
    assert!(matches!(
        exec_failure("alca-1", "Error: container alca-1 is not running"),
        Some(RuntimeError::Conflict(_))
    ));
    assert!(matches!(
        exec_failure(
            "alca-1",
            "Error: interrupted: \"XPC connection error: Connection invalid\"\nEnsure container system service has been started with `container system start`."
        ),
        Some(RuntimeError::NotAvailable(_))
    ));
    // The command's own failures keep their exit status.
    assert!(exec_failure("alca-1", "grep: x: No such file or directory").is_none());
    assert!(exec_failure("alca-1", "Error: container other not found").is_none());
    assert!(exec_failure("alca-1", "container alca-1 is not running").is_none(), "not an Error: line");
    assert!(exec_failure("alca-1", "").is_none());
}

#[test]
fn status_and_image_outputs() {
    assert_eq!(crate::parse::status_field(br#"{"status":"running","appRoot":"/x"}"#).as_deref(), Some("running"));
    // 1.4's nested shape keeps `.status`.
    assert_eq!(
        crate::parse::status_field(br#"{"client":{"version":"1.4.1"},"status":"not running"}"#).as_deref(),
        Some("not running")
    );
    assert_eq!(crate::parse::status_field(b"apiserver is running"), None);
    assert_eq!(crate::parse::nonempty_array(b"[]"), Some(false));
    assert_eq!(crate::parse::nonempty_array(br#"[{"name":"x"}]"#), Some(true));
    assert_eq!(crate::parse::nonempty_array(b""), None);
    assert!(is_not_started("apiserver is not running"));
    assert!(!is_not_started("apiserver is running"));
}

// --- Fuzz targets (proptest) ------------------------------------------------

mod fuzz {
    use alca_plugin_sdk::serde_json::{self, Value, json};
    use proptest::prelude::*;

    use super::*;

    /// JSON values shaped like (and unlike) what Apple's CLI prints.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            "[a-z0-9/=:. -]{0,12}".prop_map(Value::String),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("id".to_string()),
                        Just("status".to_string()),
                        Just("state".to_string()),
                        Just("configuration".to_string()),
                        Just("labels".to_string()),
                        Just("image".to_string()),
                        Just("reference".to_string()),
                        Just("networks".to_string()),
                        Just("ipv4Address".to_string()),
                        Just("address".to_string()),
                        Just("startedDate".to_string()),
                        Just("creationDate".to_string()),
                        "[a-z]{1,6}",
                    ],
                    inner,
                    0..5,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        #[test]
        fn output_parsers_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_containers(&bytes, "fuzz");
            let _ = crate::parse::status_field(&bytes);
            let _ = crate::parse::nonempty_array(&bytes);
            let _ = Version::from_cli(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn output_parsers_never_panic_on_json(v in value()) {
            let bytes = serde_json::to_vec(&Value::Array(vec![v.clone()])).unwrap();
            let _ = parse_containers(&bytes, "fuzz");
            let _ = parse_containers(&serde_json::to_vec(&v).unwrap(), "fuzz");
        }

        #[test]
        fn dates_never_panic(secs in any::<f64>()) {
            let _ = apple_date(secs);
        }

        #[test]
        fn error_texts_never_panic(text in any::<String>(), id in "[a-z0-9-]{0,12}") {
            let _ = classify(failure(&text));
            let _ = exec_failure(&id, &text);
        }

        #[test]
        fn derived_names_are_always_valid_and_stable(name in any::<String>()) {
            let n = container_name(&name);
            prop_assert!(crate::names::is_valid(&n), "{name:?} -> {n:?}");
            prop_assert_eq!(n.clone(), container_name(&name));
            if crate::names::is_valid(&name) {
                prop_assert_eq!(n, name);
            }
        }
    }
}
