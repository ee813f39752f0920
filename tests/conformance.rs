//! `alca plugin test`: the conformance suite passes on the built-in Docker
//! and Podman plugins against the real engines, and fails, naming the
//! check, on a plugin that misbehaves.

mod support;

use support::{Run, TestEnv, require_engine, rogue_plugin, test_image};

/// Every check of the suite, in the order core declares them.
use alca_core::ops::CHECKS;

/// The suite's containers still known to `engine`.
fn leftovers(engine: &str, name: &str) -> Vec<String> {
    let out = std::process::Command::new(engine)
        .args(["ps", "-a", "--format", "{{.Names}}", "--filter", &format!("name={name}")])
        .output()
        .expect("run engine CLI");
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with(name)).map(String::from).collect()
}

fn outcomes(report: &serde_json::Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["outcome"].as_str().unwrap().to_string()))
        .collect()
}

fn outcome<'a>(all: &'a [(String, String)], name: &str) -> &'a str {
    all.iter().find(|(n, _)| n == name).map(|(_, o)| o.as_str()).unwrap_or_else(|| panic!("no check {name}"))
}

/// The whole suite on a built-in plugin: every check passes.
fn builtin_passes(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let image = test_image();
    let r = env.run(&["plugin", "test", engine, "--image", &image]);
    assert_eq!(r.code, Some(0), "{r}");
    for check in CHECKS {
        assert!(
            r.stdout.lines().any(|l| l == format!("✓ {check}") || l.starts_with(&format!("✓ {check} ("))),
            "{check} did not pass:\n{r}"
        );
    }
    assert!(!r.stdout.contains('✗') && !r.stdout.contains('–'), "{r}");
    let summary = r.stdout.lines().last().unwrap_or_default();
    assert!(summary.starts_with(&format!("ok: {} passed, 0 failed, 0 skipped", CHECKS.len())), "{r}");

    // The JSON report says the same, and names the container it made,
    // which is gone.
    let r = env.run(&["plugin", "test", engine, "--image", &image, "--json"]);
    assert_eq!(r.code, Some(0), "{r}");
    let report = r.json();
    let all = outcomes(&report);
    assert_eq!(all.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), CHECKS, "{report}");
    assert!(all.iter().all(|(_, o)| o == "pass"), "{report}");
    assert_eq!(report["failed"], 0);
    assert_eq!(report["plugin"], engine);
    assert_eq!(report["source"], "built-in");
    let name = report["container"].as_str().unwrap();
    assert!(name.starts_with("alca-conformance-"), "{report}");
    assert!(leftovers(engine, name).is_empty(), "left behind: {:?}", leftovers(engine, name));
}

#[test]
fn docker_plugin_conforms() {
    builtin_passes("docker");
}

#[test]
fn podman_plugin_conforms() {
    builtin_passes("podman");
}

/// The rogue plugin (the built-in code, with the built-in grant) made to
/// misbehave in one export: the suite fails that check, exits 1, and still
/// cleans up. The test image comes from the project's .alca.toml.
#[test]
fn a_misbehaving_plugin_fails_the_suite() {
    let engine = "docker";
    if !require_engine(engine) {
        return;
    }
    let mut env = TestEnv::new();
    env.write_config(&format!("image = \"{}\"\n", test_image()));
    env.set_env("ROGUE_ENGINE", engine);
    let dir = rogue_plugin(engine);
    let dir = dir.to_str().unwrap();

    // exec-plan returns a command the grant refuses (`--privileged`).
    let mut cmd = env.alca(&["plugin", "test", dir, "--json"]);
    cmd.env(
        "ROGUE_ATTACK",
        r#"{"call": "exec-plan", "argv": ["container", "exec", "--privileged", "--", "$ID", "sh"]}"#,
    );
    let r = Run::of(cmd);
    assert_eq!(r.code, Some(1), "{r}");
    let report = r.json();
    let all = outcomes(&report);
    assert_eq!(outcome(&all, "exec-plan"), "fail", "{report}");
    let failed: Vec<&str> = all.iter().filter(|(_, o)| o == "fail").map(|(n, _)| n.as_str()).collect();
    assert_eq!(failed, ["exec-plan"], "only the misbehaving export fails: {report}");
    let check = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "exec-plan").unwrap();
    assert!(check["actual"].as_str().unwrap().contains("--privileged"), "the failure says what was refused: {check}");
    assert_eq!(report["plugin"], "rogue-docker");
    assert_eq!(report["image"].as_str(), Some(test_image().as_str()), "the project's image");
    let name = report["container"].as_str().unwrap();
    assert!(leftovers(engine, name).is_empty(), "left behind: {:?}", leftovers(engine, name));

    // stop does something else (and says it failed): stop fails, what
    // depends on it is skipped, and the container is still removed.
    let mut cmd = env.alca(&["plugin", "test", dir]);
    cmd.env("ROGUE_ATTACK", r#"{"call": "stop", "argv": ["version"]}"#);
    let r = Run::of(cmd);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stdout.lines().any(|l| l.starts_with("✗ stop: expected stop succeeds; got ")), "{r}");
    assert!(r.stdout.lines().any(|l| l.starts_with("– list-containers-stopped (skipped: ")), "{r}");
    assert!(r.stdout.contains("✓ cleanup"), "{r}");
    assert!(r.stdout.lines().last().unwrap_or_default().starts_with("FAILED: "), "{r}");
    let name = r.stderr.split("its container is named ").nth(1).and_then(|s| s.split_whitespace().next()).unwrap();
    assert!(leftovers(engine, name).is_empty(), "left behind: {:?}", leftovers(engine, name));
}

/// Without --image and outside a project, the error says what to pass;
/// an unknown id or a directory without a manifest is an error too.
#[test]
fn targets_and_images_are_explained() {
    let env = TestEnv::new();
    let r = env.run(&["plugin", "test", "docker"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("--image"), "{r}");

    let r = env.run(&["plugin", "test", "no-such-plugin", "--image", "x"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("unknown runtime \"no-such-plugin\""), "{r}");

    let r = env.run(&["plugin", "test", "./", "--image", "x"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("no alca-plugin.toml"), "{r}");
}
