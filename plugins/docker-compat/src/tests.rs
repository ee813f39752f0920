//! Pure tests of the docker-compatible logic: argv, JSON parsing and error
//! classification. They run on the host (`cargo test` in plugins/); nothing
//! here calls the host imports.

use alca_plugin_sdk::{
    Capabilities, CommandFailure, ContainerSpec, ContainerState, ExecRequest, KeyValue, LabelSelector, Mount,
    MountKind, NetworkMode, PortMapping, Protocol, Resources, RestartPolicy, RuntimeError,
};

use crate::*;

static DOCKER: Flavor = Flavor {
    id: "docker",
    name: "Docker",
    program: "docker",
    engine: Engine::Docker,
    not_running_hint: "start it",
    install_hint: "install it",
};

fn spec() -> ContainerSpec {
    ContainerSpec {
        name: "alca-123".into(),
        image: "img:1".into(),
        labels: vec![KeyValue::new("alca.project.id", "u-1")],
        env: vec![KeyValue::new("A", "x=y")],
        mounts: vec![
            Mount { kind: MountKind::Bind, source: "/p".into(), target: "/workspace".into(), read_only: false },
            Mount { kind: MountKind::Bind, source: "/ssh".into(), target: "/root/.ssh".into(), read_only: true },
            Mount { kind: MountKind::Tmpfs, source: String::new(), target: "/scratch".into(), read_only: false },
        ],
        ports: vec![
            PortMapping { host_ip: None, host_port: None, container_port: 80, protocol: Protocol::Tcp },
            PortMapping {
                host_ip: Some("::1".into()),
                host_port: Some(53),
                container_port: 5353,
                protocol: Protocol::Udp,
            },
        ],
        workdir: Some("/workspace".into()),
        user: None,
        entrypoint: None,
        command: vec!["sh".into(), "-c".into(), "sleep 1".into()],
        resources: Resources { cpus: Some(1.5), memory_bytes: Some(1 << 30) },
        capabilities: Capabilities { drop: vec!["ALL".into()], add: vec!["CHOWN".into()] },
        restart: RestartPolicy::UnlessStopped,
        network: NetworkMode::Default,
        init: false,
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn create_argv_puts_operands_after_double_dash() {
    let a = create_args(&DOCKER, &spec()).unwrap();
    assert_eq!(
        a,
        s(&[
            "container",
            "create",
            "--name",
            "alca-123",
            "--label",
            "alca.project.id=u-1",
            "--env",
            "A=x=y",
            "--workdir",
            "/workspace",
            "--volume",
            "/p:/workspace",
            "--volume",
            "/ssh:/root/.ssh:ro",
            "--tmpfs",
            "/scratch",
            "--publish",
            "80:80",
            "--publish",
            "[::1]:53:5353/udp",
            "--cpus",
            "1.5",
            "--memory",
            "1073741824b",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CHOWN",
            "--restart",
            "unless-stopped",
            "--pull=never",
            "--",
            "img:1",
            "sh",
            "-c",
            "sleep 1",
        ])
    );
}

#[test]
fn create_argv_entrypoint_and_refusals() {
    let mut sp = spec();
    sp.entrypoint = Some(s(&["/bin/tini", "--"]));
    sp.network = NetworkMode::None;
    sp.init = true;
    let a = create_args(&DOCKER, &sp).unwrap();
    let dd = a.iter().position(|x| x == "--").unwrap();
    assert_eq!(&a[dd + 1..dd + 4], &s(&["img:1", "--", "sh"])[..]);
    assert!(a.windows(2).any(|w| w == ["--entrypoint", "/bin/tini"]));
    assert!(a.windows(2).any(|w| w == ["--network", "none"]));
    assert!(a.contains(&"--init".to_string()));

    let mut bad = spec();
    bad.mounts[1].source = "/with:colon".into();
    assert!(matches!(create_args(&DOCKER, &bad), Err(RuntimeError::InvalidSpec(_))));
    let mut bad = spec();
    bad.env.push(KeyValue::new("", "x"));
    assert!(matches!(create_args(&DOCKER, &bad), Err(RuntimeError::InvalidSpec(_))));
    let mut bad = spec();
    bad.resources.cpus = Some(0.0);
    assert!(matches!(create_args(&DOCKER, &bad), Err(RuntimeError::InvalidSpec(_))));
}

#[test]
fn exec_and_list_argv() {
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
        exec_args(&req),
        s(&[
            "container",
            "exec",
            "--interactive",
            "--tty",
            "--user",
            "1000",
            "--workdir",
            "/w",
            "--env",
            "TERM=xterm",
            "--",
            "c1",
            "grep",
            "--privileged",
            "x",
        ])
    );
    let sel =
        [LabelSelector { key: "a".into(), value: Some("b".into()) }, LabelSelector { key: "c".into(), value: None }];
    assert_eq!(
        list_args(&sel, true),
        s(&["container", "ls", "--quiet", "--no-trunc", "--all", "--filter", "label=a=b", "--filter", "label=c"])
    );
}

/// Every built-in invocation shape must pass its own manifest; checked for
/// real by the host, here by shape: options before `--`, long forms only.
#[test]
fn argv_uses_long_options_only() {
    let a = create_args(&DOCKER, &spec()).unwrap();
    let dd = a.iter().position(|x| x == "--").unwrap();
    for arg in &a[2..dd] {
        assert!(!arg.starts_with('-') || arg.starts_with("--"), "short option {arg}");
    }
}

const DOCKER_INSPECT: &str = r#"[{"Id":"abc123","Created":"2026-11-29T01:00:00.1Z","Name":"/alca-1","State":{"Status":"running","Running":true,"ExitCode":0,"StartedAt":"2026-11-29T01:00:01Z","FinishedAt":"0001-01-01T00:00:00Z"},"Config":{"Image":"img:1","Labels":{"alca.project.id":"u-1","b":"2"}},"NetworkSettings":{"Networks":{"bridge":{"IPAddress":"172.17.0.2","GlobalIPv6Address":""}}}}]"#;

// podman 4: Name without slash, Config.Labels may be null, State "exited" / "stopped".
const PODMAN_INSPECT: &str = r#"[{"Id":"def456","Created":"2026-11-29T01:00:00Z","Name":"alca-2","ImageName":"localhost/img:1","State":{"Status":"stopped","ExitCode":137,"StartedAt":"0001-01-01T00:00:00Z"},"Config":{"Labels":null,"Entrypoint":"sh"},"NetworkSettings":{"Networks":{}}}]"#;

#[test]
fn parses_inspect_from_both_engines() {
    let d = &parse_inspect(DOCKER_INSPECT.as_bytes()).unwrap()[0];
    assert_eq!((d.id.as_str(), d.name.as_str(), d.image.as_str()), ("abc123", "alca-1", "img:1"));
    assert_eq!(d.state, ContainerState::Running);
    assert_eq!(d.labels[0].key, "alca.project.id");
    assert_eq!(d.ip_addresses, vec!["172.17.0.2"]);
    assert_eq!(d.started_at.as_deref(), Some("2026-11-29T01:00:01Z"));

    let p = &parse_inspect(PODMAN_INSPECT.as_bytes()).unwrap()[0];
    assert_eq!((p.name.as_str(), p.image.as_str()), ("alca-2", "localhost/img:1"));
    assert_eq!(p.state, ContainerState::Exited);
    assert_eq!(p.exit_code, Some(137));
    assert!(p.labels.is_empty() && p.started_at.is_none());

    assert!(parse_inspect(b"").unwrap().is_empty());
    assert!(parse_inspect(b"[]").unwrap().is_empty());
    assert!(matches!(parse_inspect(b"{\"Id\":1}"), Err(RuntimeError::Parse(_))));
    assert!(matches!(parse_inspect(b"[{\"Name\":\"x\"}]"), Err(RuntimeError::Parse(_))));
}

#[test]
fn parses_versions() {
    let up = br#"{"Client":{"Version":"28.2.2"},"Server":{"Version":"20.10.24"}}"#;
    let down = br#"{"Client":{"Version":"28.2.2"},"Server":null}"#;
    assert_eq!(parse_version(Engine::Docker, up).unwrap().as_deref(), Some("20.10.24"));
    assert_eq!(parse_version(Engine::Docker, down).unwrap(), None);
    let podman = br#"{"Client":{"APIVersion":"4.3.1","Version":"4.3.1"}}"#;
    assert_eq!(parse_version(Engine::Podman, podman).unwrap().as_deref(), Some("4.3.1"));
    assert!(parse_version(Engine::Docker, b"garbage").is_err());
}

fn failure(stderr: &str) -> CommandFailure {
    CommandFailure { program: "docker".into(), args: vec![], exit_code: Some(1), stderr_tail: stderr.into() }
}

#[test]
fn classifies_engine_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
            "not-available",
        ),
        ("Cannot connect to Podman. Please verify your connection to the Linux system", "not-available"),
        ("Error response from daemon: No such container: x", "not-found"),
        ("Error: inspecting object: no such container x", "not-found"),
        ("Error: no container with name or ID \"x\" found: no such container", "not-found"),
        ("error: no such object: x", "not-found"),
        ("Error response from daemon: No such image: x:latest", "not-found"),
        ("Error: x: image not known", "not-found"),
        (
            "Error response from daemon: Conflict. The container name \"/foo\" is already in use by container \"abc\".",
            "conflict",
        ),
        ("Error: can only create exec sessions on running containers: container state improper", "conflict"),
        ("Error response from daemon: something else broke", "command-failed"),
    ];
    for (stderr, kind) in cases {
        assert_eq!(classify(&DOCKER, failure(stderr)).kind(), *kind, "{stderr}");
    }
    match classify(&DOCKER, failure("weird\nlast words")) {
        RuntimeError::CommandFailed(f) => assert_eq!(f.stderr_tail, "weird\nlast words"),
        other => panic!("{other:?}"),
    }
}

// --- Fuzz targets (proptest; scripts/fuzz.sh runs them longer) -------------

mod fuzz {
    use alca_plugin_sdk::serde_json::{self, Value, json};
    use proptest::prelude::*;

    use super::*;

    /// JSON values shaped like (and unlike) what the engines print.
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
                        Just("Id".to_string()),
                        Just("Name".to_string()),
                        Just("State".to_string()),
                        Just("Status".to_string()),
                        Just("Config".to_string()),
                        Just("Labels".to_string()),
                        Just("Image".to_string()),
                        Just("ImageName".to_string()),
                        Just("ExitCode".to_string()),
                        Just("NetworkSettings".to_string()),
                        Just("Networks".to_string()),
                        Just("IPAddress".to_string()),
                        Just("Created".to_string()),
                        Just("StartedAt".to_string()),
                        Just("Server".to_string()),
                        Just("Client".to_string()),
                        Just("Version".to_string()),
                        "[A-Za-z]{1,6}",
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        #[test]
        fn output_parsers_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_inspect(&bytes);
            let _ = parse_version(Engine::Docker, &bytes);
            let _ = parse_version(Engine::Podman, &bytes);
        }

        #[test]
        fn output_parsers_never_panic_on_json(v in value()) {
            let bytes = serde_json::to_vec(&v).unwrap();
            let _ = parse_version(Engine::Docker, &bytes);
            let _ = parse_version(Engine::Podman, &bytes);
            let wrapped = serde_json::to_vec(&Value::Array(vec![v])).unwrap();
            if let Ok(infos) = parse_inspect(&wrapped) {
                for info in infos {
                    prop_assert!(!info.id.is_empty());
                }
            }
        }

        #[test]
        fn classify_never_panics(stderr in any::<String>(), code in any::<Option<i32>>()) {
            let failure = CommandFailure { program: "docker".into(), args: vec![], exit_code: code, stderr_tail: stderr };
            let _ = classify(&DOCKER, failure);
        }
    }
}
