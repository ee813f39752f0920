//! The sandbox promises, tested with a plugin that attacks them
//! (tests/plugins/hostile, built from source here). In every case alca
//! refuses with a clear message (`alca status`, a report, shows it and says
//! no runtime is available; the other commands exit non-zero), never panics,
//! and leaves no process behind.

mod support;

use support::{TestEnv, processes_with, test_plugin};

/// A project on the hostile plugin's fake runtime. Its state is written
/// beforehand, so the fake can report its container with the project's
/// labels (`HOSTILE_PROJECT`), as an engine would.
fn hostile_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.install_plugin(&test_plugin("hostile"));
    // A fake runtime has no networks for alca's firewall: no isolation.
    env.write_config("image = \"fake\"\nruntime = \"hostile\"\n[network]\nlan-access = [\"*\"]\n");
    let id = "0a1b2c3d-0000-4000-8000-000000000001";
    std::fs::create_dir_all(env.project.join(".alca")).unwrap();
    std::fs::write(
        env.project.join(".alca/state.json"),
        format!(r#"{{"project_id":"{id}","container_name":"alca-0a1b2c3d0000","created_at":"2026-01-01T00:00:00Z"}}"#),
    )
    .unwrap();
    env.set_env("HOSTILE_PROJECT", &format!("{id}|{}", env.project.display()));
    env
}

/// Runs `alca <args>` with the plugin in `mode`; returns what alca printed
/// (stderr, then stdout) for a refused attack.
fn attack(mode: &str, args: &[&str]) -> String {
    attack_with(mode, args, &[])
}

/// The exit code of a refused attack through `alca <args>`: `status` is a
/// report and exits 0; `run` exits 125 when alca itself fails, as docker
/// does; the other commands exit 1.
fn refused_code(args: &[&str]) -> i32 {
    match args.first() {
        Some(&"status") => 0,
        Some(&"run") => 125,
        _ => 1,
    }
}

/// `attack`, with more variables for the plugin (`HOSTILE_PORT`...).
fn attack_with(mode: &str, args: &[&str], extra_env: &[(&str, &str)]) -> String {
    let (e, _) = attack_measured(mode, args, extra_env, refused_code(args));
    // The plugin reports a success as an available runtime whose version
    // starts with LEAKED: `status` shows it on stdout, and exits 0 either way.
    assert!(!e.contains("LEAKED"), "mode {mode}: the attack succeeded\n{e}");
    if args.first() == Some(&"status") {
        assert!(e.contains("Runtime:   none available"), "mode {mode}: status reports the runtime refused\n{e}");
    }
    e
}

/// Marker for processes a mode starts: unique per mode.
fn marker_for(mode: &str) -> String {
    format!("{}.{}", 7000 + std::process::id() % 1000, mode.len() * 37 + mode.bytes().map(usize::from).sum::<usize>())
}

/// The attack, with the exit code alca must give; returns what alca printed
/// (stderr, then stdout) and its peak memory (KiB).
fn attack_measured(mode: &str, args: &[&str], extra_env: &[(&str, &str)], code: i32) -> (String, u64) {
    let mut env = hostile_env();
    for (k, v) in extra_env {
        env.set_env(k, v);
    }
    // Unique per attack, so leftover processes are attributable.
    let marker = marker_for(mode);
    env.set_env("HOSTILE_MODE", mode);
    env.set_env("HOSTILE_MARKER", &marker);
    if matches!(args.first(), Some(&"run") | Some(&"down")) {
        // `run` and `down` need a sandbox: the fake runtime creates one.
        let mut benign = env.alca(&["up"]);
        benign.env_remove("HOSTILE_MODE");
        let r = support::Run::of(benign);
        assert_eq!(r.code, Some(0), "{r}");
    }
    let (r, rss) = support::Run::measured(env.alca(args));
    assert_eq!(r.code, Some(code), "mode {mode}: alca must exit {code}\n{r}");
    assert!(!r.stderr.contains("LEAKED"), "mode {mode}: the attack succeeded\n{r}");
    if code != 0 {
        assert!(r.stderr.contains("error: "), "mode {mode}: one clear error\n{r}");
    }
    // Nothing the plugin started is still running.
    let left = processes_with(&marker);
    assert!(left.is_empty(), "mode {mode} left processes behind: {left:?}");
    (format!("{}{}", r.stderr, r.stdout), rss)
}

#[test]
fn a_benign_fake_runtime_works_end_to_end() {
    let env = hostile_env();
    env.ok(&["up"]);
    // The fake plans `echo <argv>`: alca runs it on the terminal.
    let r = env.ok(&["run", "hello", "from", "the", "plan"]);
    assert_eq!(r.stdout, "hello from the plan\n");
}

#[test]
fn undeclared_program_is_denied() {
    let e = attack("undeclared", &["status"]);
    assert!(e.contains("may not run `curl https://example.com`"), "{e}");
    assert!(e.contains("\"curl\" is not among the programs its manifest grants"), "{e}");
    assert!(e.contains("[[programs]]"), "the denial shows the grant that would allow it: {e}");
}

#[test]
fn program_by_path_is_denied() {
    let e = attack("path-program", &["status"]);
    assert!(e.contains("not a logical program name"), "{e}");
}

#[test]
fn denied_argument_is_denied() {
    let e = attack("denied-arg", &["status"]);
    assert!(e.contains("argument `--privileged` is denied by `deny = [\"--privileged\"]`"), "{e}");
}

#[test]
fn denied_argument_in_flag_equals_value_form_is_denied() {
    let e = attack("denied-arg-eq", &["status"]);
    assert!(e.contains("argument `--network=host` is denied"), "{e}");
    let e = attack("denied-arg-pair", &["status"]);
    assert!(e.contains("argument `--network host` is denied"), "{e}");
}

#[test]
fn ungranted_environment_is_denied() {
    let e = attack("ungranted-env", &["status"]);
    assert!(e.contains("environment variable LD_PRELOAD is not granted"), "{e}");
}

#[test]
fn exec_plan_outside_the_grant_is_denied() {
    let e = attack("plan-undeclared", &["run", "id"]);
    assert!(e.contains("may not run `bash -i`") && e.contains("not among the programs"), "{e}");
    let e = attack("plan-not-interactive", &["run", "id"]);
    assert!(e.contains("not `interactive = true`"), "{e}");
    let e = attack("plan-denied-arg", &["run", "id"]);
    assert!(e.contains("`--privileged` is denied"), "{e}");
}

#[test]
fn endless_loop_is_stopped_by_the_deadline() {
    let started = std::time::Instant::now();
    let e = attack("loop", &["status"]);
    assert!(e.contains("plugin `hostile` used more than 1s of its time in `detect`"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "stopped, not hung");
}

#[test]
fn memory_bomb_hits_the_cap() {
    let e = attack("oom", &["status"]);
    assert!(e.contains("plugin `hostile` exceeded its memory limit of 64 MiB in `detect`"), "{e}");
}

#[test]
fn trap_becomes_an_error() {
    let e = attack("trap", &["status"]);
    assert!(e.contains("plugin `hostile` crashed in `detect`"), "{e}");
    // `status` shows the hint on the line after the error.
    assert!(
        e.contains(
            "`detect`: wasm trap: wasm `unreachable` instruction executed\nthis is a bug in the `hostile` plugin"
        ),
        "{e}"
    );
}

#[test]
fn host_files_are_invisible_through_wasi() {
    let e = attack("wasi-fs", &["status"]);
    assert!(e.contains("filesystem closed"), "{e}");
    assert!(!std::path::Path::new("/tmp/alca-hostile-was-here").exists());
}

#[test]
fn host_environment_is_invisible_through_wasi() {
    let e = attack("wasi-env", &["status"]);
    assert!(e.contains("environment closed"), "{e}");
    assert!(e.contains("refused to tell the plugin the environment variable HOME"), "{e}");
}

#[test]
fn network_is_closed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let e = attack_with("wasi-net", &["status"], &[("HOSTILE_PORT", &port)]);
    assert!(e.contains("network closed"), "{e}");
    assert!(listener.accept().is_err(), "the plugin connected to the host");
}

#[test]
fn hanging_process_is_killed_at_the_grant_timeout() {
    let e = attack("sleep-forever", &["status"]);
    assert!(e.contains("TimedOut"), "{e}");
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let e = attack("group", &["status"]);
    assert!(e.contains("TimedOut"), "{e}");
}

#[test]
fn output_flood_is_capped_not_fatal() {
    let e = attack("flood", &["status"]);
    assert!(e.contains("flooded stdout and survived"), "{e}");
}

#[test]
fn blocking_in_the_host_does_not_escape_the_deadline() {
    for mode in ["sleep-hour", "sleep-in-steps", "spawn-then-sleep"] {
        let started = std::time::Instant::now();
        let e = attack(mode, &["status"]);
        assert!(e.contains("plugin `hostile` used more than 1s of its time in `detect`"), "{mode}: {e}");
        // 1 s of budget, then the watchdog: far below the hour it asked for.
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "{mode}: took {:?}", started.elapsed());
    }
}

/// Peak memory of a benign `alca status` with the same plugin.
fn baseline_rss() -> u64 {
    let env = hostile_env();
    let (r, rss) = support::Run::measured(env.alca(&["status"]));
    assert_eq!(r.code, Some(0), "{r}");
    rss
}

/// What alca keeps or prints for a plugin stays bounded, whatever the
/// plugin floods it with.
#[test]
fn floods_are_bounded() {
    let base = baseline_rss();
    let cases: &[(&str, &[&str], i32, &str)] = &[
        // `status` reports a refused `detect`, and an error while
        // inspecting the container, and exits 0 (as the reference's does).
        ("deny-flood", &["status"], 0, "1000 refusals and still here"),
        ("log-flood", &["status"], 0, "logged 32 MiB"),
        ("big-error", &["status"], 0, "more bytes cut"),
        ("big-list", &["down"], 0, "alca looks at the first 4096"),
        ("flood", &["status"], 0, "flooded stdout and survived"),
    ];
    for (mode, args, code, needle) in cases {
        let (e, rss) = attack_measured(mode, args, &[], *code);
        assert!(!e.contains("LEAKED"), "{mode}: the attack succeeded\n{e}");
        eprintln!("{mode}: peak {} MiB (baseline {} MiB), stderr {} bytes", rss / 1024, base / 1024, e.len());
        assert!(e.contains(needle), "{mode}: {e}");
        assert!(e.len() < 64 * 1024, "{mode}: printed {} bytes", e.len());
        assert!(e.lines().count() < 40, "{mode}: printed {} lines", e.lines().count());
        // The plugin's own memory is capped at 64 MiB, and one value copied
        // out of it (cut at once) may transiently double that; nothing
        // accumulates.
        assert!(rss < base + (2 * 64 + 16) * 1024, "{mode}: peak {} MiB against {} MiB", rss / 1024, base / 1024);
    }
}

#[test]
fn warnings_are_shown_in_a_bounded_amount() {
    let e = attack("log-flood", &["status"]);
    let warnings = e.lines().filter(|l| l.starts_with("warning: [hostile]")).count();
    assert!(warnings <= 10, "{warnings} warnings shown:\n{e}");
    assert!(e.contains("more messages from this plugin were not shown (run with -v to see more)"), "{e}");
}

#[test]
fn plugin_text_is_made_safe_for_the_terminal() {
    let e = attack("escapes", &["status"]);
    for bad in ['\x1b', '\r', '\x07', '\u{202e}', '\u{9b}'] {
        assert!(!e.contains(bad), "{bad:?} reached the terminal:\n{e:?}");
    }
    assert!(e.contains("\\u{1b}]0;pwned"), "escaped, still readable: {e}");
    assert!(e.contains("over the previous line"), "{e}");
}

#[test]
fn refusals_tell_the_plugin_no_host_paths() {
    let env = hostile_env();
    let e = attack("what-the-plugin-sees", &["status"]);
    let seen = e.split("SAW").nth(1).unwrap_or_else(|| panic!("{e}"));
    assert!(seen.contains("alca refused `echo --privileged`"), "{seen}");
    for path in [env.data.display().to_string(), "alca-plugin.toml".into(), "/usr/bin".into(), "/bin/echo".into()] {
        assert!(!seen.contains(&path), "the plugin learned {path}: {seen}");
    }
}

#[test]
fn background_children_die_when_the_program_exits() {
    // `sh -c "sleep <marker> &"` returns at once; its child must not
    // outlive it (attack_measured checks that no process with the marker
    // is left).
    let (e, _) = attack_measured("background", &["status"], &[], 0);
    assert!(e.contains("sh ran with exit Some(0)") || e.is_empty() || !e.contains("error"), "{e}");
}

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

/// Whatever a plugin directory holds (FIFOs, devices, links out of it,
/// huge files), `alca plugin install` neither hangs nor reads what it
/// should not: the plugin is refused with a message naming the file. The
/// same directory dropped into alca's plugin directory by hand is listed as
/// not installed and never read.
#[test]
fn plugin_directories_are_untrusted() {
    let hostile = test_plugin("hostile");
    let limit = std::time::Duration::from_secs(30);
    let manifest_of =
        |id: &str, extra: &str| format!("id = \"{id}\"\nname = \"X\"\nversion = \"1\"\nruntime = \"x\"\n{extra}");
    type Prepare = Box<dyn Fn(&std::path::Path)>;
    let cases: Vec<(&str, Prepare, &str)> = vec![
        ("fifo-manifest", Box::new(|d| mkfifo(&d.join("alca-plugin.toml"))), "not a regular file"),
        ("dir-manifest", Box::new(|d| std::fs::create_dir(d.join("alca-plugin.toml")).unwrap()), "not a regular file"),
        (
            "huge-manifest",
            Box::new(|d| {
                let f = std::fs::File::create(d.join("alca-plugin.toml")).unwrap();
                f.set_len(1 << 30).unwrap();
            }),
            "larger than",
        ),
        (
            "link-manifest",
            Box::new(move |d| {
                std::os::unix::fs::symlink(hostile.join("alca-plugin.toml"), d.join("alca-plugin.toml")).unwrap()
            }),
            "symbolic link",
        ),
        (
            "escape-path",
            Box::new(move |d| {
                std::fs::write(
                    d.join("alca-plugin.toml"),
                    manifest_of("escape-path", "component = \"../hostile/plugin.wasm\"\n"),
                )
                .unwrap()
            }),
            "inside the plugin's directory",
        ),
        (
            "absolute-path",
            Box::new(move |d| {
                std::fs::write(d.join("alca-plugin.toml"), manifest_of("absolute-path", "component = \"/dev/zero\"\n"))
                    .unwrap()
            }),
            "inside the plugin's directory",
        ),
    ];
    for (id, prepare, needle) in cases {
        let env = hostile_env();
        let source = env.root.join("sources").join(id);
        std::fs::create_dir_all(&source).unwrap();
        prepare(&source);
        let r = support::Run::within(env.alca(&["plugin", "install", "--yes", &source.display().to_string()]), limit);
        assert_eq!(r.code, Some(1), "{id}: {r}");
        assert!(r.stderr.contains(needle), "{id}: expected {needle:?}\n{r}");
        assert!(!env.data.join("alca/plugins").join(id).exists(), "{id}: nothing is installed\n{r}");

        let planted = env.data.join("alca/plugins").join(id);
        std::fs::create_dir_all(&planted).unwrap();
        prepare(&planted);
        let r = support::Run::within(env.alca(&["plugin", "list"]), limit);
        assert_eq!(r.code, Some(0), "{id}: {r}");
        assert!(r.stdout.contains(&format!("{id}  (not installed)")), "{id}: listed as not installed\n{r}");
        assert!(r.stdout.contains("hostile  Hostile"), "{id}: the other plugins still load\n{r}");
    }

    // Components: a FIFO, a device, a link out of the directory.
    let hostile = test_plugin("hostile");
    let components: Vec<(&str, Prepare, &str)> = vec![
        ("fifo-component", Box::new(|d| mkfifo(&d.join("plugin.wasm"))), "not a regular file"),
        (
            "device-component",
            Box::new(|d| std::os::unix::fs::symlink("/dev/zero", d.join("plugin.wasm")).unwrap()),
            "leads outside the plugin's directory",
        ),
        (
            "outside-component",
            Box::new(move |d| std::os::unix::fs::symlink(hostile.join("plugin.wasm"), d.join("plugin.wasm")).unwrap()),
            "leads outside the plugin's directory",
        ),
    ];
    for (id, prepare, needle) in components {
        let env = hostile_env();
        let source = env.root.join("sources").join(id);
        std::fs::create_dir_all(&source).unwrap();
        std::fs::write(source.join("alca-plugin.toml"), manifest_of(id, "")).unwrap();
        prepare(&source);
        let r = support::Run::within(env.alca(&["plugin", "install", "--yes", &source.display().to_string()]), limit);
        assert_eq!(r.code, Some(1), "{id}: {r}");
        assert!(r.stderr.contains(needle), "{id}: expected {needle:?}\n{r}");
    }
}

/// The compiled-code cache is native code: one that others can write is
/// not used (alca compiles in memory and says how to fix it).
#[test]
fn a_cache_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let mut env = hostile_env();
    let cache = env.root.join("cache");
    env.cache = cache.clone();
    env.ok(&["status"]);
    let compiled = cache.join("alca/compiled");
    assert_eq!(std::fs::metadata(&compiled).unwrap().permissions().mode() & 0o777, 0o700);
    std::fs::set_permissions(&compiled, std::fs::Permissions::from_mode(0o777)).unwrap();
    let r = env.ok(&["status"]);
    assert!(r.stderr.contains("not using the compiled-plugin cache"), "{r}");
    assert!(r.stderr.contains("chmod 700"), "{r}");
}
