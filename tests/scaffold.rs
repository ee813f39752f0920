//! `alca plugin new` and `alca plugin build`: each language's scaffold builds
//! with its real toolchain into a component that passes `alca plugin test`
//! against the real Docker engine, as generated; and the two commands explain
//! what is wrong when they cannot do their job.
//!
//! Toolchains are not optional here: a missing one fails the test with what
//! to install (Rust's wasm32-wasip2 target comes with scripts/provision.sh;
//! componentize-py with `pip install componentize-py==0.25.1`).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Run, TestEnv, repo_root, require_engine, test_image};

/// A scratch world whose build commands see the real toolchains: HOME is
/// the user's (rustup, cargo's registry, pyenv and npm live there), while
/// alca's own directories stay the test's (XDG_*).
fn world() -> TestEnv {
    let mut env = TestEnv::new();
    if let Some(home) = std::env::var_os("HOME") {
        env.set_env("HOME", &home.to_string_lossy());
    }
    env
}

/// `alca <args>` in `dir`, without the outer cargo's settings (a target
/// directory or flags of the test build must not leak into the plugin's).
fn alca(env: &TestEnv, dir: &Path, args: &[&str]) -> Run {
    let mut cmd = env.alca_in(dir, args);
    for var in
        ["CARGO_TARGET_DIR", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "RUSTC_WORKSPACE_WRAPPER"]
    {
        cmd.env_remove(var);
    }
    Run::of(cmd)
}

fn ok(env: &TestEnv, dir: &Path, args: &[&str]) -> Run {
    let r = alca(env, dir, args);
    assert_eq!(r.code, Some(0), "alca {args:?} failed:\n{r}");
    r
}

fn fails(env: &TestEnv, dir: &Path, args: &[&str]) -> Run {
    let r = alca(env, dir, args);
    assert_eq!(r.code, Some(1), "alca {args:?} should have failed:\n{r}");
    r
}

/// Fails the test, saying what to install, when `program` is not on PATH.
fn require_tool(program: &str, install: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    assert!(found, "`{program}` is not on PATH; this test builds a real plugin with it. Install it: {install}");
}

/// A directory under the repository's target directory that keeps the
/// generated plugin's own build cache between runs (cargo rebuilds what
/// changed); everything else is generated afresh each time.
fn workdir(lang: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"));
    let dir = target.join("scaffold-test").join(lang);
    std::fs::create_dir_all(&dir).expect("scaffold test dir");
    dir
}

/// `alca plugin new`, `build`, `test` for one language; returns the
/// component's path.
fn new_build_and_test(lang: &str, id: &str, extra: &[&str], cache: Option<&str>) -> PathBuf {
    let env = world();
    let work = workdir(lang);
    let plugin = work.join(id);
    let kept = work.join("kept-cache");
    let _ = std::fs::remove_dir_all(&kept);
    if let Some(cache) = cache
        && plugin.join(cache).exists()
    {
        std::fs::rename(plugin.join(cache), &kept).expect("set the build cache aside");
    }
    if plugin.exists() {
        std::fs::remove_dir_all(&plugin).expect("remove the previous scaffold");
    }

    let mut args = vec!["plugin", "new", id, "--lang", lang];
    args.extend_from_slice(extra);
    let made = ok(&env, &work, &args);
    assert!(made.stdout.contains("alca plugin build"), "the next steps are shown:\n{made}");
    for f in ["alca-plugin.toml", "README.md", ".gitignore"] {
        assert!(plugin.join(f).is_file(), "{lang}: {f} was not written:\n{made}");
    }
    let readme = std::fs::read_to_string(plugin.join("README.md")).unwrap();
    for step in ["alca plugin build", "alca plugin test", "alca plugin install"] {
        assert!(readme.contains(step), "{lang}: the README does not give `{step}`");
    }
    if let Some(cache) = cache
        && kept.exists()
    {
        std::fs::rename(&kept, plugin.join(cache)).expect("restore the build cache");
    }

    let started = std::time::Instant::now();
    let built = ok(&env, &plugin, &["plugin", "build"]);
    eprintln!("{lang}: `alca plugin build` took {:.1}s", started.elapsed().as_secs_f64());
    let component = built
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("component:"))
        .map(|p| PathBuf::from(p.trim()))
        .unwrap_or_else(|| panic!("no component in the report:\n{built}"));
    let bytes = std::fs::read(&component).unwrap_or_else(|e| panic!("{}: {e}\n{built}", component.display()));
    assert!(component.starts_with(&plugin), "the component is inside the plugin's directory");
    assert_eq!(&bytes[..4], b"\0asm", "{lang}: not WebAssembly");
    assert_ne!(bytes[6..8], [0, 0], "{lang}: a core module, not a component");
    assert!(built.stdout.contains(&format!("size:      {} bytes", bytes.len())), "{built}");
    assert!(built.stdout.contains("sha256:"), "{built}");
    assert!(built.stdout.contains("alca plugin install"), "the next step is shown:\n{built}");
    eprintln!("{lang}: component {} bytes", bytes.len());

    // As generated, the plugin is a working Docker backend.
    let started = std::time::Instant::now();
    let tested = ok(&env, &work, &["plugin", "test", id, "--image", &test_image(), "--json"]);
    eprintln!("{lang}: `alca plugin test` took {:.1}s", started.elapsed().as_secs_f64());
    let report = tested.json();
    assert_eq!(report["failed"], 0, "{lang}: conformance failures:\n{tested}");
    assert_eq!(report["skipped"], 0, "{lang}: skipped checks:\n{tested}");

    // And it installs as is.
    let installed = ok(&env, &work, &["plugin", "install", "--yes", id]);
    assert!(installed.stderr.contains(&format!("Installed plugin `{id}`")), "{installed}");
    component
}

#[test]
fn a_rust_plugin_builds_and_conforms_as_generated() {
    if !require_engine("docker") {
        return;
    }
    require_tool("cargo", "Rust with rustup (https://rustup.rs), then `rustup target add wasm32-wasip2`");
    let sdk = repo_root().join("plugins/sdk");
    let component =
        new_build_and_test("rust", "scaffold-rs", &["--sdk", sdk.to_str().expect("UTF-8 repo path")], Some("target"));
    assert!(
        component.ends_with("target/wasm32-wasip2/release/alca_plugin_scaffold_rs.wasm"),
        "{}",
        component.display()
    );
}

#[test]
fn a_python_plugin_builds_and_conforms_as_generated() {
    if !require_engine("docker") {
        return;
    }
    require_tool("componentize-py", "`pip install componentize-py==0.25.1`");
    let component = new_build_and_test("python", "scaffold-py", &[], None);
    assert!(component.ends_with("scaffold-py/plugin.wasm"), "{}", component.display());
    let wit = std::fs::read_to_string(component.with_file_name("wit").join("runtime.wit")).unwrap();
    assert!(wit.contains("package alca:runtime@0.2.0;"), "the Python scaffold builds against the newest contract");
}

#[test]
fn a_js_plugin_builds_and_conforms_as_generated() {
    if !require_engine("docker") {
        return;
    }
    require_tool("node", "Node.js 20 or newer (it comes with npm)");
    require_tool("npm", "Node.js 20 or newer (it comes with npm)");
    let component = new_build_and_test("js", "scaffold-js", &[], None);
    assert!(component.ends_with("scaffold-js/plugin.wasm"), "{}", component.display());
    let wit = std::fs::read_to_string(component.with_file_name("wit").join("runtime.wit")).unwrap();
    assert!(wit.contains("package alca:runtime@0.2.0;"), "the JS scaffold builds against the newest contract");
}

#[test]
fn new_explains_what_it_refuses() {
    let env = world();
    let work = env.root.join("work");
    std::fs::create_dir_all(&work).unwrap();
    for (name, why) in [
        ("My_Plugin", "capital"),
        ("my_plugin", "'_'"),
        ("docker", "built-in"),
        ("a-very-long-name-that-goes-on-and-on-and-on-and-on-and-on-and-on-and", "at most 64"),
    ] {
        let r = fails(&env, &work, &["plugin", "new", name]);
        assert!(r.stderr.contains(why), "{name}: {r}");
        assert!(r.stderr.contains("hint:"), "{name}: {r}");
    }
    assert!(std::fs::read_dir(&work).unwrap().next().is_none(), "a refused name creates nothing");

    // A non-empty directory is never overwritten.
    std::fs::create_dir_all(work.join("taken")).unwrap();
    std::fs::write(work.join("taken/keep.txt"), "mine").unwrap();
    let r = fails(&env, &work, &["plugin", "new", "taken", "--lang", "python"]);
    assert!(r.stderr.contains("not empty"), "{r}");
    assert_eq!(std::fs::read_dir(work.join("taken")).unwrap().count(), 1);

    // --dir, and an existing empty directory.
    std::fs::create_dir_all(work.join("empty")).unwrap();
    let r = ok(&env, &work, &["plugin", "new", "elsewhere", "--lang", "python", "--dir", "empty"]);
    assert!(r.stdout.contains("cd empty"), "{r}");
    let manifest = std::fs::read_to_string(work.join("empty/alca-plugin.toml")).unwrap();
    assert!(manifest.contains("id = \"elsewhere\""), "{manifest}");

    // --sdk must be the SDK, and only for Rust.
    let r = fails(&env, &work, &["plugin", "new", "x", "--sdk", "/"]);
    assert!(r.stderr.contains("is not the alca-plugin-sdk crate"), "{r}");
    let r = fails(&env, &work, &["plugin", "new", "x", "--lang", "python", "--sdk", "/"]);
    assert!(r.stderr.contains("--sdk is for Rust plugins"), "{r}");

    // By default the Rust SDK comes from alca's repository at this version's tag.
    ok(&env, &work, &["plugin", "new", "from-git"]);
    let cargo = std::fs::read_to_string(work.join("from-git/Cargo.toml")).unwrap();
    let tag = format!("tag = \"v{}\"", env!("CARGO_PKG_VERSION"));
    assert!(cargo.contains("alca-plugin-sdk = { git = \"https://") && cargo.contains(&tag), "{cargo}");
    assert!(cargo.contains("\n[workspace]\n"), "{cargo}");
}

#[test]
fn build_explains_what_stops_it() {
    let env = world();
    let dir = env.root.join("plugin");
    std::fs::create_dir_all(&dir).unwrap();

    let r = fails(&env, &dir, &["plugin", "build"]);
    assert!(r.stderr.contains("no alca-plugin.toml"), "{r}");

    let head = "id = \"p\"\nname = \"p\"\nversion = \"0.1.0\"\nruntime = \"docker\"\n";
    let manifest = |build: &str| std::fs::write(dir.join("alca-plugin.toml"), format!("{head}{build}")).unwrap();

    manifest("");
    let r = fails(&env, &dir, &["plugin", "build"]);
    assert!(r.stderr.contains("has no [build] table") && r.stderr.contains("[build]\n"), "an example table:\n{r}");

    manifest("[build]\ncommand = [\"true\", \"componentize-py-not-installed-here --x\"]\n");
    let r = fails(&env, &dir, &["plugin", "build"]);
    assert!(r.stderr.contains("was not found on PATH"), "{r}");

    // Each command runs without a shell, in the plugin's directory; the
    // first failure stops the build. Its stdout goes to stderr.
    manifest("[build]\ncommand = [\"sh -c 'pwd; echo said >&2; exit 3'\", \"touch never\"]\n");
    let r = fails(&env, &dir, &["plugin", "build"]);
    assert!(r.stderr.contains(&dir.display().to_string()) && r.stderr.contains("said"), "{r}");
    assert!(r.stderr.contains("failed with exit code 3"), "{r}");
    assert!(r.stdout.is_empty(), "{r}");
    assert!(!dir.join("never").exists(), "the build went on after a failure");

    manifest("[build]\ncommand = \"touch plugin.wasm\"\n");
    let r = fails(&env, &dir, &["plugin", "build"]);
    assert!(r.stderr.contains("is not WebAssembly"), "{r}");

    std::fs::write(
        dir.join("alca-plugin.toml"),
        format!("{head}component = \"out.wasm\"\n[build]\ncommand = \"true\"\n"),
    )
    .unwrap();
    let r = fails(&env, &dir, &["plugin", "build"]);
    assert!(r.stderr.contains("out.wasm") && r.stderr.contains("cannot be read"), "{r}");

    // A component (the smallest one: the preamble) is reported with its digest.
    std::fs::write(dir.join("alca-plugin.toml"), format!("{head}[build]\ncommand = \"cp c.bin plugin.wasm\"\n"))
        .unwrap();
    std::fs::write(dir.join("c.bin"), b"\0asm\x0d\0\x01\0").unwrap();
    let r = ok(&env, &dir, &["plugin", "build"]);
    assert!(r.stdout.contains("size:      8 bytes"), "{r}");
    let digest = Command::new("sha256sum").arg(dir.join("plugin.wasm")).output().unwrap();
    let digest = String::from_utf8_lossy(&digest.stdout).split_whitespace().next().unwrap().to_string();
    assert!(r.stdout.contains(&digest), "{r}");
}
