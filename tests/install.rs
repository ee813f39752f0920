//! `alca plugin install / list / info / remove`: consent, digests, atomic
//! installs, and what happens when installed files change afterwards. The
//! plugin is the test suite's hostile plugin (a fake runtime, built from
//! source), whose grant runs only `echo`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{TestEnv, test_plugin};

/// A copy of the hostile plugin's directory that a test may change.
fn source(env: &TestEnv, name: &str) -> PathBuf {
    let from = test_plugin("hostile");
    let dir = env.root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["alca-plugin.toml", "plugin.wasm"] {
        std::fs::copy(from.join(f), dir.join(f)).unwrap();
    }
    dir
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn edit_manifest(dir: &Path, from: &str, to: &str) {
    let m = dir.join("alca-plugin.toml");
    let text = std::fs::read_to_string(&m).unwrap();
    assert!(text.contains(from), "the manifest has {from:?}");
    std::fs::write(&m, text.replacen(from, to, 1)).unwrap();
}

fn installed_dir(env: &TestEnv) -> PathBuf {
    env.data.join("alca/plugins/hostile")
}

/// `alca status` on a project using the plugin: it is loaded and used.
fn status_uses_the_plugin(env: &TestEnv) {
    let r = env.ok(&["status"]);
    assert!(r.stdout.contains("(plugin `hostile`)"), "the plugin is used:\n{r}");
}

/// `alca status` on a project using the plugin when it cannot be used:
/// a report (exit 0) saying no runtime is available, and why.
fn status_without_the_plugin(env: &TestEnv) -> support::Run {
    let r = env.run(&["status"]);
    assert_eq!(r.code, Some(0), "{r}");
    assert!(r.stdout.contains("Runtime:   none available"), "{r}");
    r
}

/// The directory holding the installed files (named after their digests).
fn version_dir(env: &TestEnv) -> PathBuf {
    let consent: serde_json::Value =
        serde_json::from_slice(&std::fs::read(installed_dir(env).join("consent.json")).unwrap()).unwrap();
    installed_dir(env).join(consent["dir"].as_str().unwrap())
}

#[test]
fn install_list_info_remove() {
    let env = TestEnv::new();
    let src = source(&env, "src");
    env.write_config("image = \"fake\"\nruntime = \"hostile\"\n");

    let r = env.ok(&["plugin", "install", "--yes", &path(&src)]);
    assert!(r.stderr.contains("It asks for this grant"), "the grant is shown:\n{r}");
    assert!(r.stderr.contains("may run `echo`"), "in words:\n{r}");
    assert!(r.stderr.contains("implementing alca:runtime@0.2.0"), "{r}");
    assert!(r.stderr.contains("Installed plugin `hostile`"), "{r}");
    let consent = std::fs::read_to_string(installed_dir(&env).join("consent.json")).unwrap();
    let sha = support::sha256_file(&src.join("plugin.wasm"));
    assert!(consent.contains(&sha), "the consent names the component's digest:\n{consent}");

    let list = env.ok(&["plugin", "list"]);
    assert!(list.stdout.contains("hostile  Hostile 0.1.0 (installed"), "{list}");
    let json = env.ok(&["plugin", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let hostile = v.as_array().unwrap().iter().find(|p| p["id"] == "hostile").expect("listed");
    assert_eq!(hostile["status"], "installed");
    assert_eq!(hostile["api"], "0.2.0");
    assert_eq!(hostile["component_sha256"], sha.as_str());
    let builtin = v.as_array().unwrap().iter().find(|p| p["id"] == "docker").expect("built-ins listed");
    assert_eq!(builtin["status"], "built-in");

    let info = env.ok(&["plugin", "info", "hostile", "--check"]);
    assert!(info.stdout.contains("component sha256"), "{info}");
    assert!(info.stdout.contains("available"), "--check asks the plugin:\n{info}");
    // It is used (a fake runtime that says it is available).
    status_uses_the_plugin(&env);

    let r = env.ok(&["plugin", "remove", "hostile"]);
    assert!(r.stderr.contains("Removed plugin `hostile`"), "{r}");
    assert!(!installed_dir(&env).exists());
    let r = status_without_the_plugin(&env);
    assert!(r.stdout.contains("unknown runtime \"hostile\""), "{r}");
    let r = env.run(&["plugin", "remove", "docker"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("built into alca"), "{r}");
}

#[test]
fn consent_is_required_without_a_terminal() {
    let env = TestEnv::new();
    let src = source(&env, "src");
    let r = env.run(&["plugin", "install", &path(&src)]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("needs your consent to its grant, and there is no terminal"), "{r}");
    assert!(r.stderr.contains("--yes"), "{r}");
    assert!(r.stderr.contains("may run `echo`"), "the grant was shown before refusing:\n{r}");
    assert!(!installed_dir(&env).exists(), "nothing installed");
}

#[test]
fn digests_are_checked() {
    let env = TestEnv::new();
    let src = source(&env, "src");
    let wrong = "0".repeat(64);
    let r = env.run(&["plugin", "install", "--yes", "--sha256", &wrong, &path(&src)]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains(&format!("but --sha256 says {wrong}")), "{r}");

    edit_manifest(&src, "component = \"plugin.wasm\"", &format!("component = \"plugin.wasm\"\nsha256 = \"{wrong}\""));
    let r = env.run(&["plugin", "install", "--yes", &path(&src)]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("but the manifest's `sha256` says"), "{r}");
    assert!(!installed_dir(&env).exists());

    let right = support::sha256_file(&src.join("plugin.wasm"));
    edit_manifest(&src, &wrong, &right);
    env.ok(&["plugin", "install", "--yes", "--sha256", &right.to_uppercase(), &path(&src)]);
}

#[test]
fn what_is_not_a_plugin_is_refused_by_name() {
    let env = TestEnv::new();
    let cases: [(&str, &[u8], &str); 3] = [
        ("garbage", b"not wasm at all", "not a valid WebAssembly component"),
        // A core module, not a component.
        ("module", b"\0asm\x01\0\0\0", "not a valid WebAssembly component"),
        // An empty component: it exports nothing.
        ("empty", b"\0asm\x0d\0\x01\0", "does not export `alca:runtime/runtime`"),
    ];
    for (name, bytes, needle) in cases {
        let src = source(&env, name);
        std::fs::write(src.join("plugin.wasm"), bytes).unwrap();
        let r = env.run(&["plugin", "install", "--yes", &path(&src)]);
        assert_eq!(r.code, Some(1), "{name}: {r}");
        assert!(r.stderr.contains(needle), "{name}: expected {needle:?}\n{r}");
        assert!(r.stderr.contains("hint:"), "{name}: {r}");
    }
    let src = source(&env, "no-component");
    std::fs::remove_file(src.join("plugin.wasm")).unwrap();
    let r = env.run(&["plugin", "install", "--yes", &path(&src)]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("cannot read its component"), "{r}");
    let r = env.run(&["plugin", "install", "--yes", &path(&env.root.join("nowhere"))]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(!installed_dir(&env).exists());
}

#[test]
fn files_changed_after_install_are_refused_until_reinstalled() {
    let env = TestEnv::new();
    let src = source(&env, "src");
    env.write_config("image = \"fake\"\nruntime = \"hostile\"\n");
    env.ok(&["plugin", "install", "--yes", &path(&src)]);
    status_uses_the_plugin(&env);

    // The manifest, edited in place to widen the grant.
    let installed = version_dir(&env);
    edit_manifest(&installed, "cpu-ms = 1000", "cpu-ms = 9000");
    let r = status_without_the_plugin(&env);
    assert!(r.stdout.contains("changed after you installed it"), "{r}");
    assert!(r.stdout.contains("alca plugin install"), "says to reinstall:\n{r}");
    let list = env.ok(&["plugin", "list"]);
    assert!(list.stdout.contains("hostile  (changed)"), "{list}");

    // Reinstalling from the source restores it.
    env.ok(&["plugin", "install", "--yes", &path(&src)]);
    status_uses_the_plugin(&env);

    // The component, replaced in place.
    let installed = version_dir(&env);
    let mut bytes = std::fs::read(installed.join("plugin.wasm")).unwrap();
    bytes.extend_from_slice(b"\0\0\0\0");
    std::fs::write(installed.join("plugin.wasm"), bytes).unwrap();
    let r = status_without_the_plugin(&env);
    assert!(r.stdout.contains("its component changed after you installed it"), "{r}");
}

#[test]
fn asking_for_more_asks_again_and_asking_for_less_does_not() {
    let env = TestEnv::new();
    let src = source(&env, "src");
    env.ok(&["plugin", "install", "--yes", &path(&src)]);

    // Wider: more memory and a new environment variable.
    edit_manifest(&src, "memory-mib = 64", "memory-mib = 128");
    edit_manifest(&src, "env = [\"HOSTILE_MODE\"", "env = [\"HOSTILE_EXTRA\", \"HOSTILE_MODE\"");
    let r = env.run(&["plugin", "install", &path(&src)]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("asks for more than you consented to"), "{r}");
    assert!(r.stderr.contains("+ more memory (128 MiB instead of 64)"), "{r}");
    assert!(r.stderr.contains("+ to read the environment variable HOSTILE_EXTRA"), "{r}");
    assert!(r.stderr.contains("needs your consent"), "{r}");
    let consent = std::fs::read_to_string(installed_dir(&env).join("consent.json")).unwrap();
    assert!(consent.contains("\"memory_mib\": 64"), "the old consent stands:\n{consent}");
    env.ok(&["plugin", "install", "--yes", &path(&src)]);

    // Narrower: less memory; no question.
    edit_manifest(&src, "memory-mib = 128", "memory-mib = 32");
    let r = env.ok(&["plugin", "install", &path(&src)]);
    assert!(r.stderr.contains("no need to ask again"), "{r}");
    let consent = std::fs::read_to_string(installed_dir(&env).join("consent.json")).unwrap();
    assert!(consent.contains("\"memory_mib\": 32"), "{consent}");
    // One version directory: the replaced ones are gone.
    let versions = std::fs::read_dir(installed_dir(&env)).unwrap().flatten().filter(|e| e.path().is_dir()).count();
    assert_eq!(versions, 1);
}

/// An install interrupted at any point (here: its leftovers, planted) leaves
/// the previous version in use, and the next install cleans up.
#[test]
fn an_interrupted_install_leaves_the_previous_one() {
    let env = TestEnv::new();
    let src = source(&env, "src");
    env.write_config("image = \"fake\"\nruntime = \"hostile\"\n");
    env.ok(&["plugin", "install", "--yes", &path(&src)]);
    let before = std::fs::read(installed_dir(&env).join("consent.json")).unwrap();

    // A staging directory half written, and a complete version directory
    // whose consent was never recorded.
    let staging = installed_dir(&env).join(".staging-abc123");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("plugin.wasm"), b"\0asm half").unwrap();
    let orphan = installed_dir(&env).join("0123456789abcdef");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("alca-plugin.toml"), "id = \"hostile\"\n").unwrap();
    status_uses_the_plugin(&env);
    assert!(env.ok(&["plugin", "list"]).stdout.contains("hostile  Hostile 0.1.0 (installed"));

    // A failed install (unreadable component) changes nothing.
    let broken = source(&env, "broken");
    std::fs::write(broken.join("plugin.wasm"), b"garbage").unwrap();
    assert_eq!(env.run(&["plugin", "install", "--yes", &path(&broken)]).code, Some(1));
    assert_eq!(std::fs::read(installed_dir(&env).join("consent.json")).unwrap(), before);
    status_uses_the_plugin(&env);

    env.ok(&["plugin", "install", "--yes", &path(&src)]);
    assert!(!staging.exists() && !orphan.exists(), "leftovers are swept");
    status_uses_the_plugin(&env);
}

#[test]
fn a_directory_dropped_in_by_hand_is_not_loaded() {
    let env = TestEnv::new();
    let src = source(&env, "src");
    let planted = installed_dir(&env);
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    std::fs::rename(&src, &planted).unwrap();
    env.write_config("image = \"fake\"\nruntime = \"hostile\"\n");
    let r = status_without_the_plugin(&env);
    assert!(r.stdout.contains("never installed"), "{r}");
    assert!(r.stdout.contains("alca plugin install"), "{r}");
    let list = env.ok(&["plugin", "list"]);
    assert!(list.stdout.contains("hostile  (not installed)"), "{list}");
}

#[test]
fn archives_install_and_hostile_archives_are_refused() {
    let env = TestEnv::new();
    let src = source(&env, "hostile-plugin");
    let tar = |name: &str, args: &[&str]| {
        let archive = env.root.join(name);
        let status = std::process::Command::new("tar")
            .arg("-czf")
            .arg(&archive)
            .args(args)
            .current_dir(&env.root)
            .status()
            .expect("tar");
        assert!(status.success());
        archive
    };
    let good = tar("good.tar.gz", &["hostile-plugin"]);
    env.write_config("image = \"fake\"\nruntime = \"hostile\"\n");
    env.ok(&["plugin", "install", "--yes", &path(&good)]);
    status_uses_the_plugin(&env);

    std::os::unix::fs::symlink("/etc/passwd", src.join("link")).unwrap();
    let with_link = tar("link.tar.gz", &["hostile-plugin"]);
    let r = env.run(&["plugin", "install", "--yes", &path(&with_link)]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("is a symbolic link, not a regular file"), "{r}");

    std::fs::remove_file(src.join("link")).unwrap();
    let escaping = tar("escape.tar.gz", &["-P", "--transform", "s|^hostile-plugin|../../escaped|", "hostile-plugin"]);
    let r = env.run(&["plugin", "install", "--yes", &path(&escaping)]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("leads outside the archive's directory"), "{r}");

    let not_archive = env.root.join("junk.tar.gz");
    std::fs::write(&not_archive, b"junk").unwrap();
    let r = env.run(&["plugin", "install", "--yes", &path(&not_archive)]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stderr.contains("archive"), "{r}");
}

/// Compiled entries of removed plugins and of other engine versions go.
#[test]
fn the_compiled_cache_is_kept_clean() {
    let mut env = TestEnv::new();
    env.cache = env.root.join("cache");
    let src = source(&env, "src");
    env.ok(&["plugin", "install", "--yes", &path(&src)]);
    let compiled = env.cache.join("alca/compiled");
    let sha = support::sha256_file(&src.join("plugin.wasm"));
    let entries = || -> Vec<String> {
        std::fs::read_dir(&compiled).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()
    };
    assert!(entries().iter().any(|e| e.starts_with(&sha)), "precompiled at install: {:?}", entries());
    let stale = compiled.join(format!("{sha}-0000000000000000.cwasm"));
    std::fs::write(&stale, b"from another wasmtime").unwrap();

    // A corrupt entry is rebuilt.
    let entry =
        entries().into_iter().find(|e| e.starts_with(&sha) && e.ends_with(".cwasm") && !e.contains("-0000")).unwrap();
    std::fs::write(compiled.join(&entry), b"corrupt").unwrap();
    env.write_config("image = \"fake\"\nruntime = \"hostile\"\n");
    status_uses_the_plugin(&env);
    assert!(std::fs::metadata(compiled.join(&entry)).unwrap().len() > 1000, "rebuilt");

    env.ok(&["plugin", "remove", "hostile"]);
    assert!(!stale.exists(), "other engines' entries are removed");
    assert!(!entries().iter().any(|e| e.starts_with(&sha)), "the removed plugin's entries are gone: {:?}", entries());
}

/// On a terminal, install asks; `n` (or anything but yes) refuses, `y`
/// installs. The terminal is a pseudo-terminal from util-linux `script`.
#[test]
fn consent_is_asked_on_a_terminal() {
    use std::io::Write;
    let env = TestEnv::new();
    let src = source(&env, "src");
    let on_terminal = |answer: &str| -> String {
        let alca = env.alca(&["plugin", "install", &path(&src)]);
        let mut line = format!("{:?}", alca.get_program());
        for a in alca.get_args() {
            line.push(' ');
            line.push_str(&format!("{a:?}"));
        }
        let mut script = Command::new("script");
        script.args(["-qec", &line, "/dev/null"]).current_dir(&env.project);
        for (k, v) in alca.get_envs() {
            match v {
                Some(v) => script.env(k, v),
                None => script.env_remove(k),
            };
        }
        let mut child = script
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("util-linux `script` runs alca on a pseudo-terminal");
        let mut stdin = child.stdin.take().unwrap();
        let answer = answer.to_string();
        // Keep answering until alca has read it (it asks once the plugin is compiled).
        let typist = std::thread::spawn(move || {
            for _ in 0..200 {
                if stdin.write_all(answer.as_bytes()).and_then(|()| stdin.flush()).is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
        });
        let out = child.wait_with_output().unwrap();
        drop(typist);
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let refused = on_terminal("n");
    assert!(refused.contains("with this grant?"), "{refused}");
    assert!(refused.contains("you did not consent"), "{refused}");
    assert!(!installed_dir(&env).join("consent.json").exists());
    let agreed = on_terminal("y");
    assert!(agreed.contains("Installed plugin `hostile`"), "{agreed}");
    assert!(installed_dir(&env).join("consent.json").exists());
}

/// `alca plugin list | head`: a reader that went away ends alca quietly.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::os::fd::FromRawFd;
    let env = TestEnv::new();
    for args in [&["plugin", "list"][..], &["plugin", "list", "--json"], &["plugin", "info", "docker"]] {
        let mut fds = [0; 2];
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both descriptors were just created by pipe(2) and are ours.
        unsafe { libc::close(fds[0]) };
        let write_end = unsafe { std::os::fd::OwnedFd::from_raw_fd(fds[1]) };
        let out = env
            .alca(args)
            .stdout(std::process::Stdio::from(write_end))
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
