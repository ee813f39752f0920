//! Hooks run on the host, so the sandbox must not be able to plant one: a
//! hook runs only once the user approved that exact command for that
//! project (on a terminal, or with `--allow-hooks`), and the approval lives
//! outside the project. Real engines; the hook's effect is a file on the host.

mod support;

use support::{TestEnv, engine_out, require_engine, test_image};

fn container_of(env: &TestEnv) -> String {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.project.join(".alca/state.json")).unwrap()).unwrap();
    state["container_id"].as_str().unwrap_or_default().to_string()
}

fn running(engine: &str, id: &str) -> bool {
    engine_out(engine, &["container", "inspect", "--format", "{{.State.Running}}", id]).trim() == "true"
}

fn planted_hooks_do_not_run(engine: &str) {
    if !require_engine(engine) {
        return;
    }
    let env = TestEnv::new();
    let log = env.project.join("hook.log");
    env.write_config(&format!(
        "image = \"{}\"\nruntime = \"{engine}\"\nincludes = [\"./.alca.*.toml\"]\n\n[hooks]\npost_up = \"echo post_up >> hook.log\"\npre_down = \"echo pre_down >> hook.log\"\n",
        test_image()
    ));

    // Not approved, no terminal: the container comes up, the hook does not
    // run, and `up` says why and what to do.
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("post_up hook was not run") && r.stderr.contains("--allow-hooks"), "{r}");
    assert!(!log.exists(), "an unapproved hook ran");
    assert!(running(engine, &container_of(&env)));

    // Approved once, it runs, and keeps running without the flag.
    env.ok(&["up", "--allow-hooks"]);
    env.ok(&["up"]);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "post_up\npost_up\n");
    let approvals = std::fs::read_to_string(env.data.join("alca/approved-hooks.json")).unwrap();
    assert!(approvals.contains(&env.project.display().to_string()), "{approvals}");

    // What the sandbox writes in the project (here, a file that the
    // includes glob picks up) changes the hook: it needs approval again.
    env.ok(&["run", "sh", "-c", "printf '[hooks]\\npost_up = \"echo planted >> hook.log\"\\n' > .alca.evil.toml"]);
    let r = env.run(&["up"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("echo planted"), "the refusal shows the command: {r}");
    assert!(!std::fs::read_to_string(&log).unwrap().contains("planted"), "a planted hook ran");
    std::fs::remove_file(env.project.join(".alca.evil.toml")).unwrap();
    // The planted hook was never approved, so the original one still is.
    env.ok(&["up"]);

    // pre_down unapproved: a warning, the container is removed anyway.
    let id = container_of(&env);
    let r = env.ok(&["down"]);
    assert!(r.stderr.contains("pre_down hook was not run"), "{r}");
    assert!(!std::fs::read_to_string(&log).unwrap().contains("pre_down"));
    assert!(engine_out(engine, &["ps", "-a", "-q", "--no-trunc", "--filter", &format!("id={id}")]).trim().is_empty());

    // A failing approved hook fails `up` (the container stays) and only
    // warns in `down`.
    env.write_config(&format!(
        "image = \"{}\"\nruntime = \"{engine}\"\n\n[hooks]\npost_up = \"exit 3\"\npre_down = \"exit 4\"\n",
        test_image()
    ));
    let r = env.run(&["up", "--allow-hooks"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("post_up hook failed (exit status 3)"), "{r}");
    assert!(running(engine, &container_of(&env)));
    let r = env.ok(&["down", "--allow-hooks"]);
    assert!(r.stderr.contains("pre_down hook failed (exit status 4)"), "{r}");
}

#[test]
fn planted_hooks_do_not_run_on_docker() {
    planted_hooks_do_not_run("docker");
}

#[test]
fn planted_hooks_do_not_run_on_podman() {
    planted_hooks_do_not_run("podman");
}
