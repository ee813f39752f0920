//! `alca init`: a `.alca.toml` from each template, the refusals (an existing
//! file, no terminal and no `-t`, unknown names, conflicting options), the
//! `.gitignore` entries, and git presets from a local repository made by
//! the test (pinned commits, directories, `--update`, the offline fallback
//! to the cache). No container engine and no network are needed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Run, TestEnv};

const TEMPLATES: [(&str, &str); 4] = [
    ("alpine", "alpine:3.21"),
    ("debian-mise", "ghcr.io/bolasblack/alca-debian:latest"),
    ("debian-slim", "debian:bookworm-slim"),
    ("nix", "nixos/nix"),
];

const GITIGNORE: &str = ".alca/\n.alca.local.toml\n.alca.*.local.toml\n.alca.mounts/\n";
const SOURCE: &str = "# Alcatraz Preset Source: ";

/// A world whose preset cache is its own (not the suite's shared cache).
fn world() -> TestEnv {
    let mut env = TestEnv::new();
    env.cache = env.root.join("cache");
    env
}

fn fails(env: &TestEnv, args: &[&str]) -> Run {
    let r = env.run(args);
    assert_eq!(r.code, Some(1), "alca {args:?} should have failed:\n{r}");
    r
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `git <args>` in `dir`, with no configuration of the user's.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=alca test", "-c", "user.email=test@alca.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git is installed (the preset tests need it)");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A preset repository: two preset files and an example at the root, one
/// in `sub/`, and files that are not presets. Returns its path and commit.
fn preset_repo(env: &TestEnv) -> (PathBuf, String) {
    let repo = env.root.join("presets");
    std::fs::create_dir_all(repo.join("sub")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let files = [
        (".alca.node.toml", "[envs]\nNODE_ENV = 'development'\n"),
        (".alca.tools.toml", "mounts = ['~/.cache/tools:/tools']\n"),
        (".alca.secrets.toml.example", "[envs]\nTOKEN = '${TOKEN}'\n"),
        ("README.md", "presets\n"),
        (".alca.toml", "image = 'not a preset'\n"),
        ("sub/.alca.sub.toml", "[envs]\nSUB = '1'\n"),
    ];
    for (name, text) in files {
        std::fs::write(repo.join(name), text).unwrap();
    }
    std::os::unix::fs::symlink(".alca.node.toml", repo.join(".alca.link.toml")).unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "presets"]);
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    (repo, commit)
}

fn url(repo: &Path) -> String {
    format!("git+file://{}", repo.display())
}

fn source_line(repo: &Path, commit: &str, path: &str) -> String {
    format!("{SOURCE}git+file://{}#{commit}:{path}", repo.display())
}

#[test]
fn init_from_each_template() {
    for (name, image) in TEMPLATES {
        let env = world();
        let r = env.ok(&["init", "-t", name]);
        let config = env.project.join(".alca.toml");
        assert!(r.stdout.contains(&format!("✓ Created {}\n", config.display())), "{name}:\n{r}");
        assert!(r.stdout.contains("Edit this file to customize your container settings."), "{r}");
        let text = read(&config);
        let mut lines = text.lines();
        assert!(lines.next().unwrap().starts_with("#:schema https://"), "{name}:\n{text}");
        assert_eq!(lines.next(), Some(""), "{name}:\n{text}");
        assert_eq!(lines.next(), Some("includes = ['./.alca.*.toml']"), "{name}:\n{text}");
        assert!(text.contains(&format!("image = '{image}'\n")), "{name}:\n{text}");
        assert!(text.contains("[commands]\n") && text.contains("\nup = ") && text.contains("\nenter = "));
        assert!(text.contains("IS_SANDBOX = '1'"), "{name}:\n{text}");
        assert!(!text.lines().any(|l| l.starts_with("workdir_exclude")), "{name}:\n{text}");
        assert_eq!(read(&env.project.join(".gitignore")), GITIGNORE);
        let mode = std::fs::metadata(&config).unwrap().permissions();
        assert_ne!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o044, 0, "readable by others like any file");
    }
}

#[test]
fn init_refuses_to_overwrite() {
    let env = world();
    env.write_config("image = 'mine'\n");
    for args in [&["init", "-t", "alpine"][..], &["init"][..]] {
        let r = fails(&env, args);
        let config = env.project.join(".alca.toml");
        assert!(r.stderr.contains(&format!("configuration file already exists: {}", config.display())), "{r}");
        assert_eq!(read(&config), "image = 'mine'\n");
        assert!(!env.project.join(".gitignore").exists());
    }
}

#[test]
fn init_without_terminal_needs_a_template() {
    let env = world();
    let r = fails(&env, &["init"]);
    assert!(r.stderr.contains("no terminal"), "{r}");
    assert!(r.stderr.contains("-t <name>"), "{r}");
    for (name, _) in TEMPLATES {
        assert!(r.stderr.contains(name), "{r}");
    }
    assert!(!env.project.join(".alca.toml").exists());
}

#[test]
fn init_unknown_template_and_conflicting_options() {
    let env = world();
    let r = env.run(&["init", "-t", "ubuntu"]);
    assert_eq!(r.code, Some(2), "{r}");
    for (name, _) in TEMPLATES {
        assert!(r.stderr.contains(name), "{r}");
    }
    for args in [&["init", "-t", "alpine", "--update"][..], &["init", "--template", "nix", "git+file:///x"][..]] {
        let r = env.run(args);
        assert_eq!(r.code, Some(2), "{args:?}: {r}");
        assert!(r.stderr.contains("cannot be used with"), "{r}");
    }
    assert!(!env.project.join(".alca.toml").exists());
}

#[test]
fn init_merges_gitignore() {
    let env = world();
    std::fs::write(env.project.join(".gitignore"), "target/\n  .alca/  \n.alca.mounts/").unwrap();
    let r = env.ok(&["init", "-t", "debian-slim", "--json"]);
    let report = r.json();
    assert_eq!(report["mode"], "template");
    assert_eq!(report["template"], "debian-slim");
    assert_eq!(report["files"][0]["path"], env.project.join(".alca.toml").display().to_string());
    assert_eq!(report["files"][0]["action"], "created");
    assert_eq!(report["gitignore"]["created"], false);
    assert_eq!(report["gitignore"]["added"], serde_json::json!([".alca.local.toml", ".alca.*.local.toml"]));
    assert_eq!(
        read(&env.project.join(".gitignore")),
        "target/\n  .alca/  \n.alca.mounts/\n.alca.local.toml\n.alca.*.local.toml\n"
    );
}

#[test]
fn init_from_a_git_preset() {
    let env = world();
    let (repo, c1) = preset_repo(&env);
    let r = env.ok(&["init", &url(&repo)]);
    assert!(r.stdout.contains("Downloaded .alca.node.toml"), "{r}");
    assert!(r.stdout.contains("Downloaded .alca.tools.toml"), "{r}");
    assert!(r.stderr.contains(".alca.secrets.toml.example"), "examples are named, not written:\n{r}");
    let node = read(&env.project.join(".alca.node.toml"));
    assert_eq!(node, format!("{}\n[envs]\nNODE_ENV = 'development'\n", source_line(&repo, &c1, ".alca.node.toml")));
    let mut names: Vec<String> = std::fs::read_dir(&env.project)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec![".alca.node.toml", ".alca.tools.toml"], "only the two presets:\n{r}");

    // Existing files are never overwritten without a terminal to ask on.
    std::fs::write(env.project.join(".alca.node.toml"), "# mine\n").unwrap();
    let r = env.ok(&["init", &url(&repo), "--json"]);
    let report = r.json();
    assert_eq!(report["mode"], "preset");
    assert_eq!(report["commit"], c1.as_str());
    assert_eq!(report["files"], serde_json::json!([]));
    assert_eq!(report["skipped"].as_array().unwrap().len(), 2, "{r}");
    assert!(r.stderr.contains("warning: .alca.node.toml: already exists"), "{r}");
    assert_eq!(read(&env.project.join(".alca.node.toml")), "# mine\n");

    // A directory, with and without a pinned commit.
    for fragment in [format!("#{c1}:sub"), "#:sub/".to_string(), format!("#{}:sub", &c1[..8])] {
        let env = world();
        let r = env.ok(&["init", &format!("{}{fragment}", url(&repo)), "--json"]);
        assert_eq!(r.json()["files"][0]["name"], ".alca.sub.toml", "{fragment}: {r}");
        let sub = read(&env.project.join(".alca.sub.toml"));
        assert_eq!(sub, format!("{}\n[envs]\nSUB = '1'\n", source_line(&repo, &c1, "sub/.alca.sub.toml")));
    }
}

#[test]
fn init_update_refreshes_managed_files() {
    let env = world();
    let (repo, c1) = preset_repo(&env);
    env.ok(&["init", &url(&repo)]);
    env.ok(&["init", &format!("{}#:sub", url(&repo))]);
    // Not managed: no source comment.
    std::fs::write(env.project.join(".alca.local.toml"), "[envs]\nMINE = '1'\n").unwrap();

    std::fs::write(repo.join(".alca.node.toml"), "[envs]\nNODE_ENV = 'production'\n").unwrap();
    git(&repo, &["rm", "-q", ".alca.tools.toml"]);
    git(&repo, &["commit", "-q", "-am", "two"]);
    let c2 = git(&repo, &["rev-parse", "HEAD"]);

    let r = env.ok(&["init", "--update"]);
    assert!(r.stdout.contains("✓ Updated .alca.node.toml"), "{r}");
    assert_eq!(
        read(&env.project.join(".alca.node.toml")),
        format!("{}\n[envs]\nNODE_ENV = 'production'\n", source_line(&repo, &c2, ".alca.node.toml"))
    );
    // A file the repository dropped is left alone, with a warning.
    assert!(r.stderr.contains(".alca.tools.toml: no longer exists"), "{r}");
    assert!(read(&env.project.join(".alca.tools.toml")).starts_with(&source_line(&repo, &c1, ".alca.tools.toml")));
    assert!(read(&env.project.join(".alca.sub.toml")).starts_with(&source_line(&repo, &c2, "sub/.alca.sub.toml")));
    assert_eq!(read(&env.project.join(".alca.local.toml")), "[envs]\nMINE = '1'\n");

    let r = env.ok(&["init", "--update", "--json"]);
    let report = r.json();
    assert_eq!(report["mode"], "update");
    let actions: Vec<(&str, &str)> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["action"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, vec![(".alca.node.toml", "unchanged"), (".alca.sub.toml", "unchanged")], "{r}");
    assert_eq!(report["skipped"][0]["name"], ".alca.tools.toml");
}

#[test]
fn init_update_uses_the_cache_when_the_repository_is_unreachable() {
    // Reference bug (§10.24): the fallback resolved HEAD in a bare cache
    // that only had FETCH_HEAD. Here a project pinned to the first commit
    // updates, offline, to the newest commit the cache fetched.
    let env = world();
    let (repo, c1) = preset_repo(&env);
    std::fs::write(repo.join(".alca.node.toml"), "[envs]\nNODE_ENV = 'production'\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "two"]);
    let c2 = git(&repo, &["rev-parse", "HEAD"]);

    let pinned = env.root.join("pinned");
    std::fs::create_dir_all(&pinned).unwrap();
    let r = Run::of(env.alca_in(&pinned, &["init", &format!("{}#{}", url(&repo), &c1[..10])]));
    assert_eq!(r.code, Some(0), "{r}");
    assert!(read(&pinned.join(".alca.node.toml")).contains("development"), "{r}");
    env.ok(&["init", &url(&repo)]); // fetches HEAD (c2) into the shared cache

    let moved = env.root.join("presets-moved");
    std::fs::rename(&repo, &moved).unwrap();
    let r = Run::of(env.alca_in(&pinned, &["init", "--update"]));
    assert_eq!(r.code, Some(0), "{r}");
    assert!(r.stderr.contains("failed to fetch"), "{r}");
    assert!(r.stderr.contains(&format!("Using the cached version (commit {}", &c2[..12])), "{r}");
    assert_eq!(
        read(&pinned.join(".alca.node.toml")),
        format!("{}\n[envs]\nNODE_ENV = 'production'\n", source_line(&repo, &c2, ".alca.node.toml"))
    );

    // Without any cache: a warning, and the files stay as they are.
    let offline = world();
    std::fs::write(offline.project.join(".alca.node.toml"), read(&env.project.join(".alca.node.toml"))).unwrap();
    let before = read(&offline.project.join(".alca.node.toml"));
    let r = offline.ok(&["init", "--update"]);
    assert!(r.stderr.contains("No cached version is available"), "{r}");
    assert_eq!(read(&offline.project.join(".alca.node.toml")), before);
}

#[test]
fn init_update_without_managed_files() {
    let env = world();
    std::fs::write(env.project.join(".alca.local.toml"), "[envs]\nA = '1'\n").unwrap();
    let r = env.ok(&["init", "--update"]);
    assert!(r.stdout.contains("nothing to update"), "{r}");
    let r = env.ok(&["init", "--update", "--json"]);
    assert_eq!(r.json()["files"], serde_json::json!([]));
}

#[test]
fn init_rejects_bad_preset_urls() {
    let env = world();
    let (repo, c1) = preset_repo(&env);
    let cases = [
        ("https://github.com/me/presets".to_string(), "start with `git+`"),
        ("git+ftp://example.com/presets".into(), "unsupported scheme `ftp`"),
        ("git+https:///presets".into(), "missing host"),
        ("git+file://elsewhere/presets".into(), "cannot name a host"),
        (format!("{}#nothex", url(&repo)), "invalid commit hash in fragment: \"nothex\" (must be hexadecimal)"),
        (format!("{}#{c1}:a:b", url(&repo)), "cannot contain `:`"),
        (format!("{}#{c1}:", url(&repo)), "blank"),
        (format!("{}#{c1}:nodir", url(&repo)), "directory \"nodir\" does not exist"),
        (format!("{}#:sub/..", url(&repo)), "`..`"),
        (format!("git+file://{}/missing", env.root.display()), "fetching from file://"),
        (format!("{}#{}", url(&repo), "0".repeat(40)), "is not in"),
    ];
    for (arg, expected) in cases {
        let r = fails(&env, &["init", &arg]);
        assert!(r.stderr.contains(expected), "{arg}: expected {expected:?}:\n{r}");
        assert!(r.stderr.starts_with("error: ") || r.stderr.contains("\nerror: "), "{r}");
    }
    // A repository without presets at that place.
    let empty = env.root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    git(&empty, &["init", "-q", "-b", "main"]);
    std::fs::write(empty.join("README.md"), "nothing\n").unwrap();
    git(&empty, &["add", "-A"]);
    git(&empty, &["commit", "-q", "-m", "x"]);
    let r = fails(&env, &["init", &url(&empty)]);
    assert!(r.stderr.contains("no preset files (.alca.*.toml) found in the repository's root"), "{r}");
    assert_eq!(std::fs::read_dir(&env.project).unwrap().count(), 0, "nothing written");
}

#[test]
fn init_warns_about_credentials_and_never_shows_them() {
    let env = world();
    // Port 1 on loopback: refused at once, no network needed.
    let r = fails(&env, &["init", "git+https://user:hunter2@127.0.0.1:1/presets.git"]);
    assert!(r.stderr.contains("The URL contains credentials that will be stored in downloaded files"), "{r}");
    assert!(r.stderr.contains("fetching from https://***@127.0.0.1:1/presets.git"), "{r}");
    assert!(!r.stderr.contains("hunter2"), "{r}");
    let cache = env.cache.join("alca/presets");
    let listed = Command::new("find").arg(&cache).output().unwrap();
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("hunter2"), "no credentials in cache paths");
}

#[test]
fn init_says_when_git_is_missing() {
    let mut env = world();
    let (repo, _) = preset_repo(&env);
    env.set_env("PATH", &env.root.join("no-bin").display().to_string());
    let r = fails(&env, &["init", &url(&repo)]);
    assert!(r.stderr.contains("git is not installed"), "{r}");
    assert!(r.stderr.contains("hint: install git"), "{r}");
    // Templates need no git.
    env.ok(&["init", "-t", "alpine"]);
}
