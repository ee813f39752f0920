//! Pure tests of the docker-compatible logic: argv, JSON parsing and error
//! classification. They run on the host (`cargo test` in plugins/); nothing
//! here calls the host imports.

use alca_plugin_sdk::{
    Capabilities, CommandFailure, ContainerSpec, ContainerState, ExecRequest, KeyValue, LabelSelector, Mount,
    MountKind, NetworkMode, PortMapping, Protocol, Resources, RestartPolicy, RuntimeError,
};

use alca_plugin_sdk_networks::NetworkRequest;

use crate::*;

static PODMAN: Flavor = Flavor {
    id: "podman",
    name: "Podman",
    program: "podman",
    engine: Engine::Podman,
    not_running_hint: "start it",
    install_hint: "install it",
};

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

// ---- networks: outputs captured from docker 20.10.24 and podman 4.3.1 ----

/// `docker network inspect alca-tc08a73b152ae` after `docker network create
/// --driver=bridge --opt=com.docker.network.bridge.name=alca-br0test
/// --label=alca.project.id=p1 --label=k=v alca-tc08a73b152ae`, with a container on it.
const DOCKER_NETWORK: &str = r#"[
    {
        "Name": "alca-tc08a73b152ae",
        "Id": "c76c650eeb3ebc9d113fdac125f6d3d3d0484710553464560eb7a15a1df56413",
        "Created": "2026-11-29T18:33:14.505490368Z",
        "Scope": "local",
        "Driver": "bridge",
        "EnableIPv6": false,
        "IPAM": {
            "Driver": "default",
            "Options": {},
            "Config": [
                {
                    "Subnet": "172.23.0.0/16",
                    "Gateway": "172.23.0.1"
                }
            ]
        },
        "Internal": false,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {
            "Network": ""
        },
        "ConfigOnly": false,
        "Containers": {
            "f7eac9b9ffe0cb7daf830440d8691274f425ae7c5da94a344420f27c2b52a92a": {
                "Name": "alca-tc08a73b152aec",
                "EndpointID": "a44da03363fea9b97907fa648067d9ac1cc383829cb17ebadbd142c2b0c65277",
                "MacAddress": "02:42:ac:17:00:02",
                "IPv4Address": "172.23.0.2/16",
                "IPv6Address": ""
            }
        },
        "Options": {
            "com.docker.network.bridge.name": "alca-br0test"
        },
        "Labels": {
            "alca.project.id": "p1",
            "k": "v"
        }
    }
]"#;

/// Created without the bridge-name option (compacted): docker names the
/// bridge `br-<first 12 of the id>` (`br-4e940ccfa0a8` appeared on the host).
const DOCKER_NETWORK_UNNAMED: &str = r#"[{"Name":"alca-tc08a73b152aeb","Id":"4e940ccfa0a835f2d513de1004b6cc5e5b287391a0819a5b88df4d9b0363666b","Created":"2026-11-29T18:33:18.604839831Z","Scope":"local","Driver":"bridge","EnableIPv6":false,"IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"172.24.0.0/16","Gateway":"172.24.0.1"}]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},"Options":{},"Labels":{"alca.project.id":"p2"}}]"#;

/// `podman network inspect alca-tc08a73b152ae` after `podman network create
/// --driver=bridge --label=alca.project.id=p1 --label=k=v alca-tc08a73b152ae`.
const PODMAN_NETWORK: &str = r#"[
     {
          "name": "alca-tc08a73b152ae",
          "id": "3f31f7db1c60cd8a89357545fd8858ee06fc90d3a3f66b73fcf0199c684fdb81",
          "driver": "bridge",
          "network_interface": "podman1",
          "created": "2026-11-29T18:33:24.738973559Z",
          "subnets": [
               {
                    "subnet": "10.89.0.0/24",
                    "gateway": "10.89.0.1"
               }
          ],
          "ipv6_enabled": false,
          "internal": false,
          "dns_enabled": true,
          "labels": {
               "alca.project.id": "p1",
               "k": "v"
          },
          "ipam_options": {
               "driver": "host-local"
          }
     }
]"#;

/// podman 3 (CNI): the configuration list (its documented form; podman 3 is
/// not installed here).
const PODMAN3_NETWORK: &str = r#"[{"args":{"podman_labels":{"alca.project.id":"p1"}},"cniVersion":"0.4.0","name":"alca-x","plugins":[{"bridge":"cni-podman1","hairpinMode":true,"ipMasq":true,"ipam":{"ranges":[[{"gateway":"10.89.0.1","subnet":"10.89.0.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],"type":"host-local"},"isGateway":true,"type":"bridge"},{"capabilities":{"portMappings":true},"type":"portmap"},{"type":"firewall"}]}]"#;

fn network_request() -> NetworkRequest {
    NetworkRequest {
        name: "alca-0123456789ab".into(),
        labels: vec![KeyValue::new("alca.project.id", "p1"), KeyValue::new("k", "v")],
        interface: "alca0123456789a".into(),
    }
}

#[test]
fn network_argv() {
    let req = network_request();
    assert_eq!(
        network_create_args(&DOCKER, &req).unwrap(),
        s(&[
            "network",
            "create",
            "--driver",
            "bridge",
            "--opt",
            "com.docker.network.bridge.name=alca0123456789a",
            "--label",
            "alca.project.id=p1",
            "--label",
            "k=v",
            "--",
            "alca-0123456789ab"
        ])
    );
    // podman 4 refuses the docker option ("unsupported bridge network option") and has no
    // `--interface-name`: it chooses the bridge itself.
    assert_eq!(
        network_create_args(&PODMAN, &req).unwrap(),
        s(&[
            "network",
            "create",
            "--driver",
            "bridge",
            "--label",
            "alca.project.id=p1",
            "--label",
            "k=v",
            "--",
            "alca-0123456789ab"
        ])
    );
    assert_eq!(network_inspect_args("n"), s(&["network", "inspect", "--", "n"]));
    assert_eq!(network_rm_args("n"), s(&["network", "rm", "--", "n"]));
    for bad in ["", "alca0123456789ab", "a/b", "a b", "a:b", ".", ".."] {
        let req = NetworkRequest { interface: bad.into(), ..network_request() };
        if bad.is_empty() {
            // No wish: docker chooses `br-<id>`.
            assert!(!network_create_args(&DOCKER, &req).unwrap().contains(&"--opt".to_string()));
        } else {
            assert!(matches!(network_create_args(&DOCKER, &req), Err(RuntimeError::InvalidSpec(_))), "{bad}");
        }
    }
    let nameless = NetworkRequest { name: String::new(), ..network_request() };
    assert!(network_create_args(&DOCKER, &nameless).is_err());
}

#[test]
fn parses_network_inspect_of_both_engines() {
    let d = parse_network_inspect(DOCKER_NETWORK.as_bytes()).unwrap().unwrap();
    assert_eq!(d.name, "alca-tc08a73b152ae");
    assert_eq!(d.driver.as_deref(), Some("bridge"));
    assert_eq!(d.interface.as_deref(), Some("alca-br0test"));
    assert_eq!(d.subnets, s(&["172.23.0.0/16"]));
    assert_eq!(d.gateways, s(&["172.23.0.1"]));
    assert_eq!(d.labels, vec![("alca.project.id".into(), "p1".into()), ("k".into(), "v".into())]);
    assert!(d.has_labels(&network_request()));

    let u = parse_network_inspect(DOCKER_NETWORK_UNNAMED.as_bytes()).unwrap().unwrap();
    assert_eq!(u.interface.as_deref(), Some("br-4e940ccfa0a8"));
    assert!(!u.has_labels(&network_request()));

    let p = parse_network_inspect(PODMAN_NETWORK.as_bytes()).unwrap().unwrap();
    assert_eq!(p.name, "alca-tc08a73b152ae");
    assert_eq!(p.interface.as_deref(), Some("podman1"));
    assert_eq!(p.subnets, s(&["10.89.0.0/24"]));
    assert_eq!(p.gateways, s(&["10.89.0.1"]));
    assert!(p.has_labels(&network_request()));

    let c = parse_network_inspect(PODMAN3_NETWORK.as_bytes()).unwrap().unwrap();
    assert_eq!(c.interface.as_deref(), Some("cni-podman1"));
    assert_eq!(c.driver.as_deref(), Some("bridge"));
    assert_eq!(c.subnets, s(&["10.89.0.0/24"]));
    assert_eq!(c.labels, vec![("alca.project.id".into(), "p1".into())]);

    // A missing network: both print `[]` (and fail).
    assert_eq!(parse_network_inspect(b"[]\n").unwrap(), None);
    assert_eq!(parse_network_inspect(b"").unwrap(), None);
    assert!(parse_network_inspect(b"{}").is_err());
    assert!(parse_network_inspect(br#"[{"Driver":"bridge"}]"#).is_err());

    // What is reported: the interface only when the bridge is on this host.
    let info = p.clone().info(true);
    assert_eq!(info.interface.as_deref(), Some("podman1"));
    assert_eq!(info.name, "alca-tc08a73b152ae");
    assert_eq!(p.info(false).interface, None);
}

#[test]
fn classifies_network_errors() {
    use NetworkFailure::*;
    let cases: &[(&str, NetworkFailure)] = &[
        // docker 20.10
        ("Error response from daemon: network alca-tc08a73b152ae not found", NotFound),
        ("Error response from daemon: network with name alca-tc08a73b152ae already exists", Exists),
        (
            "Error response from daemon: error while removing network: network alca-tc08a73b152ae id c76c650eeb3e has active endpoints\nexit status 1",
            InUse,
        ),
        // later docker
        ("Error: No such network: alca-x", NotFound),
        // podman 4.3
        (
            "Error: inspecting object: network alca-tc08a73b152ae: unable to find network with name or ID alca-tc08a73b152ae: network not found",
            NotFound,
        ),
        ("Error: unable to find network with name or ID alca-tc08a73b152ae: network not found", NotFound),
        ("Error: network name alca-tc08a73b152ae already used: network already exists", Exists),
        (
            "Error: \"alca-tc08a73b152ae\" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used",
            InUse,
        ),
        ("Error: unsupported bridge network option com.docker.network.bridge.name", Other),
        (
            "Error response from daemon: cannot create network a6e9 (alca-br0test): conflicts with network c76c (alca-br0test): networks have same bridge name",
            Other,
        ),
    ];
    for (stderr, want) in cases {
        assert_eq!(network_failure(&failure(stderr)), *want, "{stderr}");
    }
}

#[test]
fn bridges_are_on_this_host_unless_in_a_vm_or_rootless() {
    let docker = br#"{"OperatingSystem":"Debian GNU/Linux 12 (bookworm)","SecurityOptions":["name=seccomp,profile=default"],"Name":"vm","OSType":"linux"}"#;
    assert_eq!(bridges_on_host(Engine::Docker, "linux", docker).ok(), Some(true));
    assert_eq!(bridges_on_host(Engine::Docker, "macos", docker).ok(), Some(false));
    let desktop = br#"{"OperatingSystem":"Docker Desktop","SecurityOptions":[]}"#;
    assert_eq!(bridges_on_host(Engine::Docker, "linux", desktop).ok(), Some(false));
    let rootless = br#"{"OperatingSystem":"Ubuntu","SecurityOptions":["name=seccomp,profile=default","name=rootless","name=cgroupns"]}"#;
    assert_eq!(bridges_on_host(Engine::Docker, "linux", rootless).ok(), Some(false));

    let podman = br#"{"host":{"os":"linux","serviceIsRemote":false,"security":{"rootless":false}}}"#;
    assert_eq!(bridges_on_host(Engine::Podman, "linux", podman).ok(), Some(true));
    let rootless = br#"{"host":{"serviceIsRemote":false,"security":{"rootless":true}}}"#;
    assert_eq!(bridges_on_host(Engine::Podman, "linux", rootless).ok(), Some(false));
    let remote = br#"{"host":{"serviceIsRemote":true,"security":{"rootless":false}}}"#;
    assert_eq!(bridges_on_host(Engine::Podman, "linux", remote).ok(), Some(false));
    assert!(bridges_on_host(Engine::Podman, "linux", b"garbage").is_err());
}

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
            let _ = parse_network_inspect(&bytes);
            let _ = bridges_on_host(Engine::Docker, "linux", &bytes);
            let _ = bridges_on_host(Engine::Podman, "linux", &bytes);
            let _ = parse_version(Engine::Docker, &bytes);
            let _ = parse_version(Engine::Podman, &bytes);
        }

        #[test]
        fn output_parsers_never_panic_on_json(v in value()) {
            let bytes = serde_json::to_vec(&v).unwrap();
            let _ = parse_version(Engine::Docker, &bytes);
            let _ = parse_version(Engine::Podman, &bytes);
            let _ = bridges_on_host(Engine::Docker, "linux", &bytes);
            let _ = bridges_on_host(Engine::Podman, "linux", &bytes);
            let wrapped = serde_json::to_vec(&Value::Array(vec![v])).unwrap();
            if let Ok(Some(n)) = parse_network_inspect(&wrapped) {
                prop_assert!(!n.name.is_empty());
            }
            if let Ok(infos) = parse_inspect(&wrapped) {
                for info in infos {
                    prop_assert!(!info.id.is_empty());
                }
            }
        }

        #[test]
        fn classify_never_panics(stderr in any::<String>(), code in any::<Option<i32>>()) {
            let failure = CommandFailure { program: "docker".into(), args: vec![], exit_code: code, stderr_tail: stderr };
            let _ = network_failure(&failure);
            let _ = classify(&DOCKER, failure);
        }

        /// Whatever alca asks for, the argv names only a bridge, the
        /// request's labels and (docker) its interface, with the name after `--`.
        #[test]
        fn network_argv_is_only_what_was_asked(
            name in "[a-z0-9][a-z0-9._-]{0,20}",
            labels in prop::collection::vec(("[a-z.]{1,12}", "[ -~]{0,12}"), 0..4),
            iface in "[a-z0-9]{1,15}",
        ) {
            let req = NetworkRequest {
                name: name.clone(),
                labels: labels.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect(),
                interface: iface.clone(),
            };
            for flavor in [&DOCKER, &PODMAN] {
                let a = network_create_args(flavor, &req).unwrap();
                prop_assert_eq!(&a[..4], &s(&["network", "create", "--driver", "bridge"])[..]);
                prop_assert_eq!(&a[a.len() - 2..], &[String::from("--"), name.clone()][..]);
                let mut i = 4;
                while i < a.len() - 2 {
                    let (flag, value) = (&a[i], &a[i + 1]);
                    match flag.as_str() {
                        "--opt" => {
                            prop_assert!(flavor.engine == Engine::Docker);
                            prop_assert_eq!(value, &format!("{BRIDGE_NAME_OPTION}={iface}"));
                        }
                        "--label" => {
                            let ok = labels.iter().any(|(k, v)| *value == format!("{k}={v}"));
                            prop_assert!(ok, "label {}", value);
                        }
                        other => prop_assert!(false, "unexpected {}", other),
                    }
                    i += 2;
                }
            }
        }
    }
}
