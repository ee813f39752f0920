//! The proof that alca's promise holds for runtimes it does not ship: the
//! example plugins, written in other languages against the frozen
//! `alca:runtime@0.1.0` contract, are built from source with `alca plugin
//! build`, installed with `alca plugin install --yes`, and pass the
//! lifecycle and the conformance suite on their real engines:
//!
//! * `plugins/examples/docker-js`: Docker, in JavaScript (componentize-js);
//! * `plugins/examples/containerd-py`: containerd through `ctr`, in Python
//!   (componentize-py), on a containerd of the test's own
//!   (`scripts/containerd.sh`).

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use support::{TestEnv, repo_root, require_engine, test_image};

/// Builds an example in place (once per test binary) with `alca plugin
/// build`; returns its directory.
fn built(example: &str) -> PathBuf {
    static LOCK: OnceLock<std::sync::Mutex<()>> = OnceLock::new();
    let _guard = LOCK.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    let dir = repo_root().join("plugins/examples").join(example);
    let env = TestEnv::new();
    let started = std::time::Instant::now();
    let r = support::Run::of(env.alca_in(&dir, &["plugin", "build"]));
    assert_eq!(r.code, Some(0), "building {example} failed (provision the toolchains with scripts/provision.sh):\n{r}");
    eprintln!("{example}: built in {:.1}s", started.elapsed().as_secs_f64());
    dir
}

/// `up`, `run` (output and exit status), `status`, `down`, twice over.
fn lifecycle(env: &TestEnv, runtime: &str) {
    env.ok(&["up"]);
    let r = env.ok(&["up"]);
    assert!(r.stderr.contains("already running") || r.stdout.contains("already running"), "{r}");
    let r = env.run(&["run", "sh", "-c", "echo hi from $PWD; exit 3"]);
    assert_eq!(r.code, Some(3), "the command's exit status passes through:\n{r}");
    assert_eq!(r.stdout, "hi from /workspace\n", "{r}");
    std::fs::write(env.project.join("from-host.txt"), "shared\n").unwrap();
    assert_eq!(env.ok(&["run", "cat", "from-host.txt"]).stdout, "shared\n");
    let status = env.ok(&["status", "--json"]).json();
    assert_eq!(status["runtime"]["id"], runtime, "{status}");
    assert_eq!(status["container"]["state"], "running", "{status}");
    env.ok(&["down"]);
    env.ok(&["down"]);
    env.ok(&["up"]);
    env.ok(&["down"]);
}

fn conformance(env: &TestEnv, id: &str, image: &str) {
    let r = env.ok(&["plugin", "test", id, "--image", image, "--json"]);
    let report = r.json();
    assert_eq!(report["failed"], 0, "{id}: conformance failures:\n{r}");
    assert!(report["passed"].as_u64().unwrap_or(0) >= 20, "{id}: {r}");
}

#[test]
fn the_javascript_docker_plugin_works_end_to_end() {
    if !require_engine("docker") {
        return;
    }
    let dir = built("docker-js");
    let env = TestEnv::new();
    let r = env.ok(&["plugin", "install", "--yes", &dir.display().to_string()]);
    assert!(r.stderr.contains("implementing alca:runtime@0.1.0"), "a plugin of the frozen contract:\n{r}");
    // The example implements only the plain runtime world (no `networks`),
    // so the project opts out of network isolation.
    env.write_config(&format!(
        "image = \"{}\"\nruntime = \"docker-js\"\n[network]\nlan-access = [\"*\"]\n",
        test_image()
    ));
    lifecycle(&env, "docker-js");
    conformance(&env, "docker-js", &test_image());
}

/// A containerd of the test's own, with the test image imported; returns
/// the variables that point `ctr` at it.
fn containerd() -> Vec<(String, String)> {
    static ENV: OnceLock<Vec<(String, String)>> = OnceLock::new();
    ENV.get_or_init(|| {
        let script = repo_root().join("scripts/containerd.sh");
        let dir = std::env::temp_dir().join("alca-test-containerd");
        let out = Command::new(&script).arg("start").arg(&dir).output().expect("run scripts/containerd.sh");
        assert!(out.status.success(), "scripts/containerd.sh failed:\n{}", String::from_utf8_lossy(&out.stderr));
        // `export CONTAINERD_ADDRESS=... CONTAINERD_NAMESPACE=...`
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.starts_with("export ")).expect("export line");
        shlex::split(line.trim_start_matches("export "))
            .expect("shell words")
            .into_iter()
            .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect()
    })
    .clone()
}

/// The image as containerd names it after `ctr image import`.
const CONTAINERD_IMAGE: &str = "docker.io/library/alca-test-busybox:latest";

#[test]
fn the_python_containerd_plugin_works_end_to_end() {
    let vars = containerd();
    let dir = built("containerd-py");
    let mut env = TestEnv::new();
    for (k, v) in &vars {
        env.set_env(k, v);
    }
    let r = env.ok(&["plugin", "install", "--yes", &dir.display().to_string()]);
    assert!(r.stderr.contains("implementing alca:runtime@0.1.0"), "a plugin of the frozen contract:\n{r}");
    env.write_config(&format!(
        "image = \"{CONTAINERD_IMAGE}\"\nruntime = \"containerd\"\n[network]\nlan-access = [\"*\"]\n"
    ));
    lifecycle(&env, "containerd");
    conformance(&env, "containerd", CONTAINERD_IMAGE);

    // containerd publishes no ports; the plugin says so through its
    // features, and alca refuses before creating anything.
    env.write_config(&format!(
        "image = \"{CONTAINERD_IMAGE}\"\nruntime = \"containerd\"\n\n[network]\nports = [\"18081:80\"]\nlan-access = [\"*\"]\n"
    ));
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("network.ports"), "the refusal names the setting:\n{r}");
    let mut ctr = Command::new("ctr");
    ctr.args(["container", "ls", "-q"]).envs(vars.iter().map(|(k, v)| (k, v)));
    let listed = String::from_utf8_lossy(&ctr.output().expect("ctr").stdout).into_owned();
    assert!(!listed.contains("alca-"), "nothing was created:\n{listed}");
}
