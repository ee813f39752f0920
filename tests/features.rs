//! A runtime's `features`, acted on before `create`, and `network.ports`,
//! against the real engines with the real plugins: a runtime that cannot
//! publish ports makes `alca up` refuse a config that publishes some (and
//! nothing is created); one without a restart policy gets a warning and a
//! container that does not restart; docker really publishes the ports the
//! config names.

mod support;

use serde_json::json;
use support::{TestEnv, engine_out, require_engine, rogue_plugin, test_image};

/// A project on the rogue docker plugin (the built-in docker code and
/// grant) reporting `features_off` absent.
fn lean_env(features_off: &[&str], extra_config: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.install_plugin(&rogue_plugin("docker"));
    env.set_env("ROGUE_ENGINE", "docker");
    env.set_env("ROGUE_ATTACK", &json!({ "features-off": features_off }).to_string());
    env.write_config(&format!("image = \"{}\"\nruntime = \"rogue-docker\"\n{extra_config}", test_image()));
    env
}

/// Every container the engine holds for this project (by alca's label).
fn project_containers(engine: &str, env: &TestEnv) -> Vec<String> {
    let label = format!("label=alca.project.path={}", env.project.display());
    engine_out(engine, &["ps", "--all", "--quiet", "--filter", &label]).lines().map(str::to_string).collect()
}

fn container_name(env: &TestEnv) -> String {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.project.join(".alca/state.json")).unwrap()).unwrap();
    state["container_name"].as_str().unwrap().to_string()
}

/// A TCP port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_runtime_without_ports_refuses_published_ports_and_creates_nothing() {
    if !require_engine("docker") {
        return;
    }
    let env = lean_env(&["ports", "restart-policy"], "\n[network]\nports = [\"127.0.0.1:18080:80\"]\n");
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.stderr.contains(
            "error: runtime `rogue-docker` cannot express network.ports (publishing ports); alca did not create the container"
        ),
        "{r}"
    );
    assert!(r.stderr.contains("hint: remove these settings from .alca.toml, or set `runtime`"), "{r}");
    // Refused before anything was pulled or created, and before any warning
    // about what would merely have been left out.
    assert!(!r.stderr.contains("Creating container") && !r.stderr.contains("Pulling"), "{r}");
    assert!(!r.stderr.contains("restart-policy"), "{r}");
    assert_eq!(project_containers("docker", &env), Vec::<String>::new());
    let name = container_name(&env);
    let r = std::process::Command::new("docker").args(["container", "inspect", &name]).output().unwrap();
    assert!(!r.status.success(), "the engine has a container {name}");

    // Without the ports, the same runtime is fine.
    env.write_config(&format!("image = \"{}\"\nruntime = \"rogue-docker\"\n", test_image()));
    env.ok(&["up"]);
    assert_eq!(project_containers("docker", &env).len(), 1);
    env.ok(&["down"]);
}

#[test]
fn a_runtime_without_restart_policy_warns_and_the_container_does_not_restart() {
    if !require_engine("docker") {
        return;
    }
    let env = lean_env(&["restart-policy"], "");
    let r = env.ok(&["up"]);
    assert!(
        r.stderr.contains(
            "warning: runtime `rogue-docker` cannot set a restart policy (restart-policy): the container will not \
             restart by itself after an engine restart or a reboot"
        ),
        "{r}"
    );
    let name = container_name(&env);
    let policy =
        engine_out("docker", &["container", "inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}", &name]);
    assert_eq!(policy.trim(), "no");
    assert_eq!(env.ok(&["run", "echo", "up"]).stdout, "up\n");
    env.ok(&["down"]);

    // The honest plugin asks for (and gets) unless-stopped, and says nothing.
    let env = lean_env(&[], "");
    let r = env.ok(&["up"]);
    assert!(!r.stderr.contains("warning:"), "{r}");
    let name = container_name(&env);
    let policy =
        engine_out("docker", &["container", "inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}", &name]);
    assert_eq!(policy.trim(), "unless-stopped");
    env.ok(&["down"]);
}

/// `network.ports` on a real engine: what the engine publishes (and that a
/// published port answers through network isolation), and a change after
/// `up` reported as a configuration change.
fn publishes_ports(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let (tcp, udp) = (free_port(), free_port());
    let env = TestEnv::new();
    env.write_config(&format!(
        "image = \"{}\"\nruntime = \"{engine}\"\n\n[network]\nports = [\"127.0.0.1:{tcp}:8000\", {{ port = 53, hostPort = {udp}, hostIp = \"127.0.0.1\", protocol = \"udp\" }}]\n",
        test_image()
    ));
    env.ok(&["up"]);
    let name = container_name(&env);

    let mut published: Vec<String> =
        engine_out(engine, &["port", &name]).lines().map(|l| l.trim().to_string()).collect();
    published.sort();
    let mut want = vec![format!("53/udp -> 127.0.0.1:{udp}"), format!("8000/tcp -> 127.0.0.1:{tcp}")];
    want.sort();
    assert_eq!(published, want);
    let bindings: serde_json::Value = serde_json::from_str(&engine_out(
        engine,
        &["container", "inspect", "--format", "{{json .HostConfig.PortBindings}}", &name],
    ))
    .unwrap();
    assert_eq!(bindings["8000/tcp"][0]["HostIp"], "127.0.0.1", "{bindings}");
    assert_eq!(bindings["8000/tcp"][0]["HostPort"], tcp.to_string(), "{bindings}");
    assert_eq!(bindings["53/udp"][0]["HostPort"], udp.to_string(), "{bindings}");

    // A server in the container answers (on an unprivileged port: podman
    // keeps 1-1023 for CAP_NET_BIND_SERVICE, which alca drops) on the host's published port.
    env.ok(&["run", "sh", "-c", "(echo published | nc -l -p 8000 >/dev/null 2>&1 &) ; sleep 0.3"]);
    let mut got = String::new();
    for _ in 0..50 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", tcp)) {
            use std::io::Read;
            s.set_read_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
            let _ = s.read_to_string(&mut got);
            if !got.is_empty() {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(got, "published\n");

    // The same ports written differently are not a change; other ports are.
    env.write_config(&format!(
        "image = \"{}\"\nruntime = \"{engine}\"\n\n[network]\nports = [{{ port = 8000, hostPort = {tcp}, hostIp = \"127.0.0.1\" }}, \"127.0.0.1:{udp}:53/udp\"]\n",
        test_image()
    ));
    let r = env.ok(&["up"]);
    assert!(!r.stderr.contains("configuration changed"), "{r}");
    env.write_config(&format!(
        "image = \"{}\"\nruntime = \"{engine}\"\n\n[network]\nports = [\"127.0.0.1:{tcp}:8080\"]\n",
        test_image()
    ));
    let r = env.ok(&["up"]);
    assert!(r.stderr.contains("\n  network.ports: "), "{r}");
    assert!(r.stderr.contains("run `alca up -f` to rebuild it"), "{r}");
    // `status --json` lists each drifted field with its old and new value.
    let status = env.ok(&["status", "--json"]).json();
    let drift = status["drift"].as_array().unwrap_or_else(|| panic!("{status}"));
    assert_eq!(drift.len(), 1, "{status}");
    assert_eq!(drift[0]["field"], "network.ports", "{status}");
    let (old, new) = (drift[0]["old"].as_str().unwrap(), drift[0]["new"].as_str().unwrap());
    assert!(old.contains("8000") && old.contains("53") && old.contains(&tcp.to_string()), "{status}");
    assert!(new.contains("8080") && !new.contains("8000") && new.contains(&tcp.to_string()), "{status}");

    env.ok(&["down"]);
    env.ok(&["up"]);
    let name = container_name(&env);
    assert_eq!(engine_out(engine, &["port", &name]).trim(), format!("8080/tcp -> 127.0.0.1:{tcp}"));
    env.ok(&["down"]);
}

#[test]
fn docker_publishes_the_configured_ports() {
    publishes_ports("docker");
}

#[test]
fn podman_publishes_the_configured_ports() {
    publishes_ports("podman");
}

#[test]
fn a_bad_port_is_a_located_config_error() {
    let env = TestEnv::new();
    env.write_config(&format!(
        "image = \"{}\"\nruntime = \"docker\"\n\n[network]\nports = [\"8080:80\", \"80/sctp\"]\n",
        test_image()
    ));
    let config = env.project.join(".alca.toml");
    for args in [&["up"][..], &["status"][..]] {
        let r = env.run(args);
        assert_eq!(r.code, Some(1), "{r}");
        assert!(
            r.stderr.contains(&format!(
                "error: network: ports[1]: protocol \"sctp\" must be tcp or udp: invalid protocol\n --> {}:5:21\n",
                config.display()
            )),
            "{r}"
        );
        assert!(r.stderr.contains("5 | ports = [\"8080:80\", \"80/sctp\"]\n  |                     ^^^^^^^^^"), "{r}");
    }
    assert!(!env.project.join(".alca").exists(), "a config error must come before any state");

    // A proxy that is not an IP address is refused where it is written.
    env.write_config(&format!("image = \"{}\"\n[network]\nproxy = \"proxy.lan:3128\"\n", test_image()));
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("network.proxy: ") && r.stderr.contains("hostname"), "{r}");
    assert!(r.stderr.contains(&format!(" --> {}:3:9\n", config.display())), "{r}");
    assert!(!env.project.join(".alca").exists(), "a config error must come before any state");
}
