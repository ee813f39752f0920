//! `alca up / run / status / down` against the real Docker and Podman
//! engines, with the test image built by scripts/provision.sh.

mod support;

use support::{TestEnv, engine_out, require_engine, test_image};

/// The whole life of a sandbox on one engine.
fn lifecycle(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    env.write_config(&format!(
        "image = \"{}\"\nruntime = \"{engine}\"\n\n[envs]\nGREETING = \"hello from the config\"\n",
        test_image()
    ));
    std::fs::write(env.project.join("notes.txt"), "written on the host\n").unwrap();
    let sub = env.project.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();

    env.ok(&["up"]);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.project.join(".alca/state.json")).unwrap()).unwrap();
    let project_id = state["project_id"].as_str().unwrap().to_string();
    assert_eq!(state["runtime"], engine);

    let r = env.ok(&["run", "echo", "hello"]);
    assert_eq!(r.stdout, "hello\n");

    let r = env.run(&["run", "sh", "-c", "exit 7"]);
    assert_eq!(r.code, Some(7), "{r}");

    let r = env.ok(&["run", "cat", "notes.txt"]);
    assert_eq!(r.stdout, "written on the host\n", "the project is mounted at the workdir");

    let r = env.ok(&["run", "sh", "-c", "echo \"$GREETING\"; pwd"]);
    assert_eq!(r.stdout, "hello from the config\n/workspace\n");

    // Arguments pass through verbatim, options included.
    let r = env.ok(&["run", "echo", "-n", "--privileged", "a b"]);
    assert_eq!(r.stdout, "--privileged a b");

    // What the sandbox writes in the workdir lands in the project.
    env.ok(&["run", "sh", "-c", "echo from the container > made-inside.txt"]);
    assert_eq!(std::fs::read_to_string(env.project.join("made-inside.txt")).unwrap(), "from the container\n");

    let r = env.ok(&["status"]);
    assert!(r.stdout.contains("(running)"), "{r}");
    let status = env.ok(&["status", "--json"]).json();
    assert_eq!(status["container"]["running"], true, "{status}");
    assert_eq!(status["runtime"]["id"], engine);
    let container_id = status["container"]["id"].as_str().unwrap().to_string();

    // A second `up` keeps the same container.
    env.ok(&["up"]);
    let again = env.ok(&["status", "--json"]).json();
    assert_eq!(again["container"]["id"].as_str(), Some(container_id.as_str()));

    // Everything works from a subdirectory; the container's cwd is the workdir.
    let r = support::Run::of(env.alca_in(&sub, &["run", "pwd"]));
    assert_eq!(r.code, Some(0), "{r}");
    assert_eq!(r.stdout, "/workspace\n");
    let r = support::Run::of(env.alca_in(&sub, &["status", "--json"]));
    assert_eq!(r.code, Some(0), "{r}");
    assert_eq!(r.json()["container"]["id"].as_str(), Some(container_id.as_str()));

    let label = format!("label=alca.project.id={project_id}");
    assert_eq!(engine_out(engine, &["ps", "-q", "--filter", &label]).lines().count(), 1);

    // Down, from the subdirectory.
    let r = support::Run::of(env.alca_in(&sub, &["down"]));
    assert_eq!(r.code, Some(0), "{r}");

    let r = env.ok(&["status"]);
    assert!(!r.stdout.contains("(running)"), "{r}");
    let status = env.ok(&["status", "--json"]).json();
    assert!(status["container"].is_null(), "{status}");
    assert_eq!(
        engine_out(engine, &["ps", "-a", "-q", "--filter", &label]).trim(),
        "",
        "no container with the project's label remains"
    );

    // `run` now says what to do, and exits 125: alca failed, not the command.
    let r = env.run(&["run", "true"]);
    assert_eq!(r.code, Some(125), "{r}");
    assert!(r.stderr.contains("does not exist") && r.stderr.contains("alca up"), "{r}");

    // And `up` brings it back, under the same project id.
    env.ok(&["up"]);
    assert_eq!(engine_out(engine, &["ps", "-q", "--filter", &label]).lines().count(), 1);
    env.ok(&["down"]);
}

#[test]
fn lifecycle_on_docker() {
    lifecycle("docker");
}

#[test]
fn lifecycle_on_podman() {
    lifecycle("podman");
}

/// `commands.up` runs once after creation, is retried until it succeeds,
/// and a stopped container is started again rather than recreated.
fn setup_and_restart(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let config =
        |up: &str| format!("image = \"{}\"\nruntime = \"{engine}\"\n[commands]\nup = \"{up}\"\n", test_image());
    env.write_config(&config("echo ran >> setup-log.txt; test -f allow-setup"));
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1), "commands.up fails the first time:\n{r}");
    assert!(r.stderr.contains("commands.up failed with exit code 1"), "{r}");

    std::fs::write(env.project.join("allow-setup"), "").unwrap();
    env.ok(&["up"]);
    env.ok(&["up"]);
    assert_eq!(
        std::fs::read_to_string(env.project.join("setup-log.txt")).unwrap(),
        "ran\nran\n",
        "retried once after the failure, then never again"
    );

    // Stop it behind alca's back; `up` starts the same container.
    let id = env.ok(&["status", "--json"]).json()["container"]["id"].as_str().unwrap().to_string();
    engine_out(engine, &["stop", "-t", "1", &id]);
    let r = env.ok(&["status", "--json"]).json();
    assert_eq!(r["container"]["running"], false);
    let r = env.ok(&["up"]);
    assert!(r.stderr.contains("Starting stopped container"), "{r}");
    assert_eq!(env.ok(&["status", "--json"]).json()["container"]["id"].as_str(), Some(id.as_str()));

    // `up -q` prints nothing on success.
    let r = env.ok(&["up", "-q"]);
    assert_eq!(r.stderr, "", "{r}");
    env.ok(&["down"]);
}

#[test]
fn setup_and_restart_on_docker() {
    setup_and_restart("docker");
}

#[test]
fn setup_and_restart_on_podman() {
    setup_and_restart("podman");
}

/// Runtime "auto" on Linux prefers podman, and a project stays on the
/// runtime that holds its container.
#[test]
fn auto_detection_prefers_podman_on_linux() {
    if !require_engine("podman") || !require_engine("docker") {
        return;
    }
    let env = TestEnv::new();
    env.write_config(&format!("image = \"{}\"\n", test_image()));
    let r = env.ok(&["up"]);
    assert!(r.stderr.contains("Using Podman"), "{r}");
    assert_eq!(env.ok(&["status", "--json"]).json()["runtime"]["id"], "podman");
    env.ok(&["down"]);
}

/// A project moved after `up` is not silently served by a container that
/// mounts its old location; `down` from the new place cleans up.
#[test]
fn moved_project_is_detected() {
    if !require_engine("docker") {
        return;
    }
    let mut env = TestEnv::new();
    env.write_config(&format!("image = \"{}\"\nruntime = \"docker\"\n", test_image()));
    env.ok(&["up"]);
    let moved = env.root.join("moved");
    std::fs::rename(&env.project, &moved).unwrap();
    let old = std::mem::replace(&mut env.project, moved.clone());

    let r = env.run(&["run", "true"]);
    assert_eq!(r.code, Some(125), "{r}");
    assert!(
        r.stderr.contains(&format!("project directory has moved from {} to {}", old.display(), moved.display())),
        "{r}"
    );
    assert!(r.stderr.contains("alca down"), "{r}");
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("project directory has moved"), "{r}");

    env.ok(&["down"]);
    env.ok(&["up"]);
    let r = env.ok(&["run", "true"]);
    assert_eq!(r.code, Some(0));
}

/// Errors a user can cause get one clear message and a non-zero exit.
#[test]
fn user_errors_are_explained() {
    let env = TestEnv::new();
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("no .alca.toml in") && r.stderr.contains("hint:"), "{r}");

    env.write_config("image = \"x\"\nruntime = \"nerdctl\"\n");
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("unknown runtime \"nerdctl\"; known runtimes: docker, podman, apple"), "{r}");
    assert!(r.stderr.contains("hint:"), "{r}");
    // `status` is a report: it shows the runtime error and exits 0.
    let r = env.run(&["status"]);
    assert_eq!(r.code, Some(0), "{r}");
    assert!(r.stdout.contains("Runtime:   none available"), "{r}");
    assert!(r.stdout.contains("unknown runtime \"nerdctl\"; known runtimes: docker, podman, apple"), "{r}");
    std::fs::remove_dir_all(env.project.join(".alca")).ok();

    // Configuration errors are rendered like rustc's: the message, where it
    // is, the line and a caret.
    env.write_config("image = \"x\"\nmounts = [\"a:b:c:d\"]\n");
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1));
    let config = env.project.join(".alca.toml");
    assert!(r.stderr.contains("error: mounts[0]: invalid mount \"a:b:c:d\""), "{r}");
    assert!(r.stderr.contains(&format!(" --> {}:2:11\n", config.display())), "{r}");
    assert!(r.stderr.contains("2 | mounts = [\"a:b:c:d\"]\n  |           ^^^^^^^^^"), "{r}");
    // And make `status` fail: it cannot report without a configuration.
    let r = env.run(&["status"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains(&format!(" --> {}:2:11\n", config.display())), "{r}");

    // An unknown key suggests the nearest valid one.
    env.write_config("image = \"x\"\nrutnime = \"docker\"\n");
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("unknown key `rutnime`"), "{r}");
    assert!(r.stderr.contains(&format!(" --> {}:2:1\n", config.display())), "{r}");
    assert!(r.stderr.contains("did you mean `runtime`?"), "{r}");
    assert!(!r.stderr.contains("unknown field") && !r.stderr.contains("expected one of"), "{r}");

    // `run` exits 125 when alca itself fails, as docker does.
    env.write_config("image = \"x\"\n");
    let r = env.run(&["run", "true"]);
    assert_eq!(r.code, Some(125), "{r}");
    assert!(r.stderr.contains("no sandbox yet") && r.stderr.contains("alca up"), "{r}");

    let r = env.run(&["run"]);
    assert_eq!(r.code, Some(125), "a usage error of `run` is alca's failure too:\n{r}");
    assert!(r.stderr.contains("Usage: alca run"), "{r}");
}

/// A missing engine or CLI is explained, with what to do about it.
#[test]
fn missing_engines_are_explained() {
    let env = TestEnv::new();
    env.write_config("image = \"x\"\nruntime = \"podman\"\n");
    let mut cmd = env.alca(&["up"]);
    cmd.env("PATH", "/nonexistent");
    let r = support::Run::of(cmd);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("runtime `podman` is not available: `podman` was not found on PATH"), "{r}");
    assert!(r.stderr.contains("hint: install Podman"), "{r}");

    // The docker CLI is there, its engine is not.
    env.write_config("image = \"x\"\nruntime = \"docker\"\n");
    let mut cmd = env.alca(&["up"]);
    cmd.env("DOCKER_HOST", format!("unix://{}/no-such.sock", env.root.display()));
    let r = support::Run::of(cmd);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("runtime `docker` is not available: the Docker engine is not reachable"), "{r}");
    assert!(r.stderr.contains("hint: start the Docker engine"), "{r}");
    // `status` reports it instead of failing.
    let mut cmd = env.alca(&["status"]);
    cmd.env("DOCKER_HOST", format!("unix://{}/no-such.sock", env.root.display()));
    let r = support::Run::of(cmd);
    assert_eq!(r.code, Some(0), "{r}");
    assert!(r.stdout.contains("Runtime:   none available"), "{r}");
    assert!(r.stdout.contains("runtime `docker` is not available: the Docker engine is not reachable"), "{r}");
    assert!(r.stdout.contains("start the Docker engine"), "{r}");

    // Auto-detection lists what it tried and how to fix each.
    env.write_config("image = \"x\"\n");
    let mut cmd = env.alca(&["up"]);
    cmd.env("PATH", "/nonexistent");
    let r = support::Run::of(cmd);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("no container runtime is available:\n  podman: `podman` was not found on PATH\n  docker: `docker` was not found on PATH"), "{r}");
    assert!(r.stderr.contains("hint: podman: install Podman") && r.stderr.contains("docker: install Docker"), "{r}");
}
