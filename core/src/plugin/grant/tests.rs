use super::*;
use crate::container;
use crate::plugin::bind::{Request, tests::spec};

fn manifest(programs: &str) -> Manifest {
    let text = format!("id = \"t\"\nname = \"T\"\nversion = \"1\"\nruntime = \"t\"\n{programs}");
    Manifest::parse(&text, "t/alca-plugin.toml").unwrap()
}

fn v(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn none() -> CallContext {
    CallContext::new("detect", Request::None)
}

/// A small manifest in the style of the built-ins, plus free rules.
fn docker() -> Manifest {
    manifest(
        r#"
[[programs]]
name = "docker"
env = ["DOCKER_HOST"]
set-env = ["DOCKER_CLI_HINTS"]
deny = ["--privileged", "--network=host", "--network=container:*", "--pid", "--cap-add=ALL", "--volume=/etc/**"]
allow = [
  { args = ["version", "--format", "*"] },
  { args = ["ps", "**"] },
  { args = ["container", "create"], interspersed = false, options = ["--name=*", "--label=*", "--init", "--restart=unless-stopped", "--network=*", "-v|--volume=*", "--cap-add={cap-add}"], operands = ["**"] },
  { args = ["container", "exec"], interspersed = false, options = ["-i|--interactive", "-t|--tty", "--env=*"], operands = ["*", "**"], interactive = true },
  { args = ["cp"], options = ["--archive"], operands = ["/srv/**", "/tmp/*"] },
]
"#,
    )
}

fn ok(m: &Manifest, args: &[&str]) {
    if let Err(d) = check(m, "docker", &v(args), &[], Use::Spawn, &none()) {
        panic!("{args:?} should pass: {d}");
    }
}

fn denied(m: &Manifest, args: &[&str]) -> String {
    match check(m, "docker", &v(args), &[], Use::Spawn, &none()) {
        Ok(_) => panic!("{args:?} should be denied"),
        Err(d) => d.to_string(),
    }
}

#[test]
fn exact_and_wildcard_prefixes() {
    let m = docker();
    ok(&m, &["version", "--format", "{{json .}}"]);
    denied(&m, &["version", "--format"]);
    denied(&m, &["version", "--format", "x", "extra"]);
    ok(&m, &["ps"]);
    ok(&m, &["ps", "-a", "--filter", "label=x"]);
    let e = denied(&m, &["system", "prune", "-af"]);
    assert!(e.contains("no `allow` rule"), "{e}");
    assert!(e.contains(r#"{ args = ["system", "prune", "**"] }"#), "{e}");
}

#[test]
fn undeclared_program_names_the_grant_to_add() {
    let m = docker();
    let d = check(&m, "curl", &v(&["https://example.com"]), &[], Use::Spawn, &none()).unwrap_err();
    let e = d.to_string();
    assert!(e.contains("\"curl\" is not among the programs"), "{e}");
    assert!(e.contains("[[programs]]\n    name = \"curl\""), "{e}");
    assert!(check(&m, "/usr/bin/docker", &[], &[], Use::Spawn, &none()).is_err());
    assert!(check(&m, "", &[], &[], Use::Spawn, &none()).is_err());
}

#[test]
fn denied_arguments_in_unparsed_rules_are_found_everywhere() {
    let m = docker();
    for args in [
        &["ps", "--privileged"][..],
        &["ps", "--privileged=true"],
        &["ps", "--privileged=false"],
        &["ps", "--network=host"],
        &["ps", "--network", "host"],
        &["ps", "--network=container:abc"],
        &["ps", "--pid=host"],
        &["ps", "--pid", "container:x"],
        // No `--` shield where the arguments cannot be parsed.
        &["ps", "--", "--privileged"],
        &["ps", "--label", "--", "--network=host"],
    ] {
        let e = denied(&m, args);
        assert!(e.contains("is denied by `deny"), "{args:?}: {e}");
    }
    ok(&m, &["ps", "--network=bridge"]);
    ok(&m, &["ps", "--networkx=host"]);
}

#[test]
fn one_parse_decides_where_the_operands_start() {
    let m = docker();
    // The issue's example: `--label` takes `--` as its value; what follows
    // is read as options again, and `--network host` is denied.
    let e = denied(&m, &["container", "create", "--label", "--", "--network=host", "--cap-add=ALL", "img"]);
    assert!(e.contains("argument `--network host` is denied"), "{e}");
    let e = denied(&m, &["container", "create", "--label=--", "--network", "host", "img"]);
    assert!(e.contains("`--network host` is denied"), "{e}");
    // ...and `--cap-add` is bound: nothing to add in this request.
    let e = denied(&m, &["container", "create", "--label", "--", "--cap-add=sys_admin", "img"]);
    assert!(e.contains("`--cap-add sys_admin`"), "{e}");
    // A literal `--` where an option is expected ends the options.
    ok(&m, &["container", "create", "--label", "x", "--", "img", "--privileged", "--network=host"]);
    // create/exec stop at the first operand: the rest is the container's command.
    ok(&m, &["container", "create", "--init", "img", "--privileged", "--network=host"]);
    ok(&m, &["container", "exec", "-it", "c1", "grep", "--privileged", "notes"]);
    // Short spellings and clusters are the same options.
    let e = denied(&m, &["container", "create", "-v/etc/shadow:/x", "img"]);
    assert!(e.contains("is denied by `deny = [\"--volume=/etc/**\"]`"), "{e}");
    let e = denied(&m, &["container", "create", "--volume=/etc/../etc/passwd:/x", "img"]);
    assert!(e.contains("is denied"), "lexically normalised before the deny check: {e}");
    let e = denied(&m, &["container", "exec", "-itu", "root", "c1", "sh"]);
    assert!(e.contains("option `-u` is not among the rule's `options`"), "{e}");
}

#[test]
fn options_allowlist() {
    let m = docker();
    ok(&m, &["container", "create", "--name", "n", "--label=a=b", "--init", "--", "img", "sleep", "1"]);
    ok(&m, &["container", "create", "--restart=unless-stopped", "--", "img"]);
    ok(&m, &["container", "create"]);
    let e = denied(&m, &["container", "create", "--runtime", "/tmp/evil", "--", "img"]);
    assert!(e.contains("option `--runtime` is not among the rule's `options`"), "{e}");
    let e = denied(&m, &["container", "create", "--restart=always", "--", "img"]);
    assert!(e.contains("value `always` of option `--restart`"), "{e}");
    let e = denied(&m, &["container", "create", "--init=yes", "--", "img"]);
    assert!(e.contains("takes no value"), "{e}");
    ok(&m, &["container", "create", "--init=false", "--", "img"]);
    let e = denied(&m, &["container", "create", "--name"]);
    assert!(e.contains("needs a value"), "{e}");
    let e = denied(&m, &["container", "create", "--priv", "img"]);
    assert!(e.contains("`--priv` is not among"), "no abbreviations: {e}");
    // deny wins over an allowed option
    let e = denied(&m, &["container", "create", "--network", "host", "--", "img"]);
    assert!(e.contains("is denied"), "{e}");
}

#[test]
fn operands_and_path_patterns() {
    let m = docker();
    ok(&m, &["cp", "/srv/a/b", "/tmp/x"]);
    ok(&m, &["cp", "--archive", "/srv/a", "/tmp/x"]);
    for bad in [
        &["cp", "/srv/../etc", "/tmp/x"][..],
        &["cp", "/srvx/a", "/tmp/x"],
        &["cp", "/srv/a", "/tmp/x/y"],
        &["cp", "/srv/a", "/tmp/../x"],
        &["cp", "/srv/a", "/tmp/./x"],
        &["cp", "/srv/a"],
        &["cp", "/srv/a", "/tmp/x", "/tmp/y"],
    ] {
        let e = denied(&m, bad);
        assert!(e.contains("operand"), "{bad:?}: {e}");
    }
}

#[test]
fn environment_the_plugin_sets() {
    let m = docker();
    let ctx = none();
    assert!(check(&m, "docker", &v(&["ps"]), &["DOCKER_CLI_HINTS"], Use::Spawn, &ctx).is_ok());
    let e = check(&m, "docker", &v(&["ps"]), &["LD_PRELOAD"], Use::Spawn, &ctx).unwrap_err().to_string();
    assert!(e.contains("LD_PRELOAD is not granted"), "{e}");
    // Passed through from the user, never set by the plugin.
    let e = check(&m, "docker", &v(&["ps"]), &["DOCKER_HOST"], Use::Spawn, &ctx).unwrap_err().to_string();
    assert!(e.contains("comes from the user's environment; the plugin may not set it"), "{e}");
}

#[test]
fn interactive_needs_an_interactive_rule() {
    let m = docker();
    let exec = v(&["container", "exec", "--interactive", "--tty", "--", "c", "sh"]);
    assert!(check(&m, "docker", &exec, &[], Use::Interactive, &none()).is_ok());
    let e = check(&m, "docker", &v(&["ps", "-a"]), &[], Use::Interactive, &none()).unwrap_err().to_string();
    assert!(e.contains("not `interactive = true`"), "{e}");
    assert!(e.contains("interactive = true }"), "{e}");
}

#[test]
fn nul_bytes_and_huge_argvs_are_refused() {
    let m = docker();
    assert!(denied(&m, &["ps", "a\0b"]).contains("NUL"));
    let huge = "x".repeat(MAX_ARGV_BYTES);
    assert!(denied(&m, &["ps", &huge]).contains("arguments are too large"));
}

#[test]
fn rule_and_program_timeouts() {
    let m = manifest(
        "[[programs]]\nname = \"docker\"\nmax-timeout-secs = 10\nallow = [{ args = [\"pull\", \"**\"], max-timeout-secs = 99 }, { args = [\"ps\"] }]\n",
    );
    let a = check(&m, "docker", &v(&["pull", "x"]), &[], Use::Spawn, &none()).unwrap();
    assert_eq!(a.max_timeout_secs(), 99);
    let a = check(&m, "docker", &v(&["ps"]), &[], Use::Spawn, &none()).unwrap();
    assert_eq!(a.max_timeout_secs(), 10);
}

#[test]
fn value_patterns() {
    let p = |s: &str| ValuePattern::parse(s).unwrap();
    assert!(p("a*").matches("abc"));
    assert!(p("*").matches(""));
    assert!(!p("abc").matches("abcd"));
    assert!(ValuePattern::parse("a*b").is_err());
    assert!(p("/data/**").matches("/data/x/y"));
    assert!(p("/data/**").matches("/data"));
    assert!(!p("/data/**").matches("/database"));
    assert!(!p("/data/**").matches("/data/../etc"));
    assert!(p("/data/*").matches("/data/x"));
    assert!(!p("/data/*").matches("/data/x/y"));
    assert!(!p("/data/*").matches("/data"));
    assert!(p("/").matches("/"));
    assert!(ValuePattern::parse("/a/**/b").is_err());
    assert!(ValuePattern::parse("/a/x*").is_err());
    assert!(ValuePattern::parse("/a/../b").is_err());
    assert_eq!(p("{mount}"), ValuePattern::Bound(Placeholder::Mount));
}

#[test]
fn rendered_commands_are_safe_and_bounded() {
    let r = render_command("docker", &v(&["run", "a\x1b]0;pwned\x07", "b\rc"]));
    assert!(!r.contains('\x1b') && !r.contains('\r') && !r.contains('\x07'), "{r:?}");
    let huge: Vec<String> = (0..10_000).map(|i| format!("arg{i}")).collect();
    let r = render_command("docker", &huge);
    assert!(r.len() < 2200 && r.ends_with("more arguments)"), "{}", r.len());
    let d = check(&docker(), "docker", &huge, &[], Use::Spawn, &none()).unwrap_err();
    assert!(d.to_string().len() < 8 * 1024);
    let manifest_path = "t/alca-plugin.toml";
    assert!(d.to_string().contains(manifest_path));
    assert!(!d.for_plugin().contains(manifest_path), "no host paths for the plugin: {}", d.for_plugin());
}

// --- The built-in grants, bound to what alca asks for -----------------------

const BUILTINS: [(&str, &str); 2] = [
    ("docker", include_str!("../../../../plugins/docker/alca-plugin.toml")),
    ("podman", include_str!("../../../../plugins/podman/alca-plugin.toml")),
];

fn builtin(id: &str) -> Manifest {
    let text = BUILTINS.iter().find(|(i, _)| *i == id).unwrap().1;
    Manifest::parse(text, "built-in").unwrap()
}

/// What docker-compat's `create_args` produces for `spec()`.
fn create_args(s: &container::ContainerSpec) -> Vec<String> {
    let mut a = v(&["container", "create", "--name", &s.name]);
    for kv in &s.labels {
        a.extend(["--label".into(), format!("{}={}", kv.key, kv.value)]);
    }
    for kv in &s.env {
        a.extend(["--env".into(), format!("{}={}", kv.key, kv.value)]);
    }
    a.extend(["--workdir".into(), "/workspace".into()]);
    for m in &s.mounts {
        match m.kind {
            container::MountKind::Tmpfs => a.extend(["--tmpfs".into(), m.target.clone()]),
            _ => a.extend([
                "--volume".into(),
                format!("{}:{}{}", m.source, m.target, if m.read_only { ":ro" } else { "" }),
            ]),
        }
    }
    a.extend(v(&["--publish", "127.0.0.1:8080:80", "--cpus", "1.5", "--memory", "2147483648b"]));
    a.extend(v(&["--cap-drop", "ALL", "--cap-add", "CHOWN", "--cap-add", "KILL", "--restart", "unless-stopped"]));
    a.extend(v(&["--pull=never", "--", &s.image]));
    a.extend(s.command.iter().cloned());
    a
}

fn create_ctx() -> CallContext {
    CallContext::new("create", Request::Create(Box::new(spec())))
}

fn check_in(id: &str, args: &[String], ctx: &CallContext) -> Result<(), String> {
    check(&builtin(id), id, args, &[], Use::Spawn, ctx).map(drop).map_err(|d| d.to_string())
}

/// Replaces the `--cap-drop ALL` pair and inserts `extra` before `--pull=never`.
fn with(base: &[String], remove: &[&str], extra: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < base.len() {
        if remove.contains(&base[i].as_str()) {
            i += 2;
            continue;
        }
        if base[i] == "--pull=never" {
            out.extend(extra.iter().map(|s| s.to_string()));
        }
        out.push(base[i].clone());
        i += 1;
    }
    out
}

#[test]
fn builtin_grants_allow_exactly_the_requested_container() {
    for (id, _) in BUILTINS {
        let ctx = create_ctx();
        let good = create_args(&spec());
        check_in(id, &good, &ctx).unwrap_or_else(|e| panic!("{id}: the legitimate create is refused: {e}"));

        let project = "/home/u/proj";
        let attacks: Vec<(Vec<String>, &str)> = vec![
            (with(&good, &[], &["--label", "--", "--network=host", "--cap-add=ALL"]), "denied"),
            (with(&good, &[], &["--label=--", "--network", "host"]), "denied"),
            (with(&good, &[], &["--network", "HOST"]), "default network"),
            (with(&good, &[], &["--network=bridge"]), "default network"),
            (with(&good, &[], &["--network", "slirp4netns"]), "default network"),
            (with(&good, &[], &["--network=ns:/proc/1/ns/net"]), "default network"),
            (with(&good, &[], &["--network=pasta"]), "default network"),
            (with(&good, &[], &["--cap-add", "sys_admin"]), "capability SYS_ADMIN"),
            (with(&good, &[], &["--cap-add=cap_sys_ptrace"]), "capability SYS_PTRACE"),
            (with(&good, &[], &["--cap-add=all"]), "denied"),
            (with(&good, &["--cap-drop"], &[]), "drop capability ALL"),
            (with(&good, &["--cap-drop"], &["--cap-drop", "CHOWN"]), "capability CHOWN"),
            (with(&good, &[], &["--volume=/:/host"]), "mount `/:/host`"),
            (with(&good, &[], &["--volume", &format!("{project}/../..:/up")]), "normal form"),
            (with(&good, &[], &["--volume", &format!("{project}/sub/..:/workspace")]), "normal form"),
            (with(&good, &[], &["--volume", &format!("{project}:/workspace:rshared")]), "option `rshared`"),
            (with(&good, &[], &["--volume=/data:/data:rw"]), "option `rw`"),
            (with(&good, &[], &["--tmpfs", "/tmp:exec"]), "option `exec`"),
            (with(&good, &[], &["--publish", "2222:22"]), "published port"),
            (with(&good, &[], &["--publish", "0.0.0.0:8080:80"]), "published port"),
            (with(&good, &[], &["--env", "LD_PRELOAD=/x.so"]), "LD_PRELOAD"),
            (with(&good, &[], &["--env", "DOCKER_HOST"]), "copy the variable"),
            (with(&good, &[], &["--user", "0"]), "did not ask for a user"),
            (with(&good, &[], &["--entrypoint", "sh"]), "entrypoint"),
            (with(&good, &[], &["--init"]), "init process"),
            (with(&good, &[], &["--label", "alca.project.id=someone-else"]), "label"),
            (with(&good, &[], &["--name", "alca-other"]), "container name"),
            (with(&good, &[], &["--memory", "4g"]), "memory limit"),
            (with(&good, &["--memory"], &[]), "memory limit"),
            (with(&good, &["--cpus"], &[]), "CPU limit"),
            (with(&good, &[], &["--restart", "always"]), "restart policy"),
            (with(&good, &[], &["--privileged"]), "option `--privileged`"),
            (with(&good, &[], &["--privileged=false"]), "option `--privileged`"),
            (with(&good, &[], &["-v", "/:/host"]), "option `-v`"),
            (with(&good, &[], &["--mount", "type=bind,src=/,dst=/host"]), "option `--mount`"),
            (with(&good, &[], &["--security-opt", "seccomp=unconfined"]), "option `--security-opt`"),
            (with(&good, &[], &["--pid=host"]), "option `--pid`"),
            (with(&good, &[], &["--userns", "host"]), "option `--userns`"),
            (with(&good, &[], &["--device", "/dev/sda"]), "option `--device`"),
            (with(&good, &[], &["--net=host"]), "option `--net`"),
            (with(&good, &[], &["--runtime", "/tmp/evil"]), "option `--runtime`"),
            (with(&good, &[], &["--pull=always"]), "value `always`"),
        ];
        for (argv, needle) in attacks {
            match check_in(id, &argv, &ctx) {
                Ok(()) => panic!("{id}: allowed {argv:?}"),
                Err(e) => assert!(e.contains(needle), "{id}: {argv:?}: {e:?} should mention {needle:?}"),
            }
        }

        // Operand games: the image and the command are the spec's.
        let tail = good.iter().position(|a| a == "--").unwrap();
        let mut swapped = good.clone();
        swapped[tail + 1] = "evil:latest".into();
        assert!(check_in(id, &swapped, &ctx).unwrap_err().contains("`evil:latest` is not the image"));
        let mut longer = good.clone();
        longer.push("--privileged".into());
        assert!(check_in(id, &longer, &ctx).unwrap_err().contains("command line"));
        // Without `--`, the first operand ends the options (create is not interspersed).
        let mut no_dash = good.clone();
        no_dash.remove(tail);
        check_in(id, &no_dash, &ctx).expect("the same container, spelled without `--`");
        no_dash.insert(tail + 1, "--privileged".into());
        assert!(check_in(id, &no_dash, &ctx).unwrap_err().contains("command line"));
        // Global options before the subcommand never match a rule.
        let mut global = v(&["--host", "tcp://10.0.0.1:2375"]);
        global.extend(good.iter().cloned());
        assert!(check_in(id, &global, &ctx).is_err());
        // The same create in a call that is not a create binds nothing.
        assert!(check_in(id, &good, &none()).unwrap_err().contains("`detect` request has no"));
    }
}

#[test]
fn builtin_grants_touch_only_the_requested_containers() {
    for (id, _) in BUILTINS {
        let c = |s: &str| CallContext::new("start", Request::Container(s.into()));
        check_in(id, &v(&["container", "start", "--", "c1"]), &c("c1")).unwrap();
        check_in(id, &v(&["container", "start", "c1"]), &c("c1")).unwrap();
        for (argv, ctx) in [
            (v(&["container", "start", "--", "victim"]), c("c1")),
            (v(&["container", "start", "c1", "victim"]), c("c1")),
            (v(&["container", "stop", "--time", "1", "--", "victim"]), c("c1")),
            (v(&["container", "rm", "--force", "victim"]), c("c1")),
            (v(&["container", "inspect", "--", "c1", "victim"]), c("c1")),
            (v(&["container", "inspect", "victim"]), CallContext::new("detect", Request::None)),
        ] {
            let e = check_in(id, &argv, &ctx).unwrap_err();
            assert!(e.contains("`victim`"), "{id}: {argv:?}: {e}");
        }

        // A listing must filter by the request's selector; what it prints
        // may then be inspected in the same call.
        let selector = container::LabelSelector { key: "alca.project.id".into(), value: Some("p1".into()) };
        let mut list = CallContext::new("list-containers", Request::List(vec![selector]));
        let ls = |extra: &[&str]| {
            let mut a = v(&["container", "ls", "--quiet", "--no-trunc", "--all"]);
            a.extend(v(extra));
            a
        };
        check_in(id, &ls(&["--filter", "label=alca.project.id=p1"]), &list).unwrap();
        for (extra, needle) in [
            (&[][..], "does not filter by"),
            (&["--filter", "label=alca.project.id"], "not one of the label selectors"),
            (&["--filter", "label=alca.project.id=p2"], "not one of the label selectors"),
            (&["--filter", "label=alca.project.id=p1", "--filter", "name=x"], "not one of the label selectors"),
            (&["--filter", "label=alca.project.id=p1", "--format", "victim"], "option `--format`"),
        ] {
            let e = check_in(id, &ls(extra), &list).unwrap_err();
            assert!(e.contains(needle), "{id}: {extra:?}: {e}");
        }
        assert!(check_in(id, &v(&["container", "inspect", "--", "abc"]), &list).is_err());
        list.remember(b"abc\ndef\n");
        check_in(id, &v(&["container", "inspect", "--", "abc", "def"]), &list).unwrap();
        assert!(check_in(id, &v(&["container", "inspect", "--", "abc", "victim"]), &list).is_err());

        // exec: the container, the argv, the options alca asked for.
        let req = container::ExecRequest {
            container: "c1".into(),
            argv: v(&["grep", "--privileged", "notes"]),
            tty: false,
            interactive: true,
            user: None,
            workdir: Some("/workspace".into()),
            env: vec![container::KeyValue { key: "A".into(), value: "1".into() }],
        };
        let exec = CallContext::new("exec-plan", Request::Exec(Box::new(req)));
        let base = v(&["container", "exec", "--interactive", "--workdir", "/workspace", "--env", "A=1", "--", "c1"]);
        let plan = |tail: &[&str]| {
            let mut a = base.clone();
            a.extend(v(tail));
            check(&builtin(id), id, &a, &[], Use::Interactive, &exec).map(drop).map_err(|d| d.to_string())
        };
        plan(&["grep", "--privileged", "notes"]).unwrap();
        assert!(plan(&["sh"]).unwrap_err().contains("command line"));
        let mut to_victim = base.clone();
        *to_victim.last_mut().unwrap() = "victim".into();
        to_victim.extend(v(&["grep", "--privileged", "notes"]));
        assert!(check_in(id, &to_victim, &exec).unwrap_err().contains("container `victim`"));
        for extra in [&["--tty"][..], &["--user", "0"], &["--env", "B=2"], &["--privileged"], &["--workdir", "/"]] {
            let mut a = v(&["container", "exec"]);
            a.extend(v(extra));
            a.extend(base[2..].iter().cloned());
            a.extend(v(&["grep", "--privileged", "notes"]));
            assert!(check_in(id, &a, &exec).is_err(), "{id}: {extra:?}");
        }
    }
}

/// The project's network: only a bridge, named as asked, with the labels
/// and (docker) the bridge interface alca asked for; removal only of that
/// network, never forced.
#[test]
fn builtin_grants_allow_exactly_the_requested_network() {
    use crate::plugin::bind::tests::network_request;
    let req = network_request();
    let create = CallContext::new("network-create", Request::NetworkCreate(Box::new(req.clone())));
    let remove = CallContext::new("network-remove", Request::NetworkRemove(req.name.clone()));
    let labels = ["--label", "alca.project.id=p1", "--label", "alca.version=0.2.0"];
    for (id, _) in BUILTINS {
        let mut good = v(&["network", "create", "--driver", "bridge"]);
        if id.starts_with("docker") {
            good.extend(v(&["--opt", "com.docker.network.bridge.name=alca0123456789a"]));
        }
        good.extend(v(&labels));
        good.extend(v(&["--", "alca-0123456789ab"]));
        check_in(id, &good, &create).unwrap_or_else(|e| panic!("{id}: the legitimate create is refused: {e}"));
        // Fewer labels, no driver, `=` spellings: still only what was asked.
        check_in(id, &v(&["network", "create", "--driver=bridge", "alca-0123456789ab"]), &create).unwrap();
        check_in(id, &v(&["network", "create", "--label=alca.project.id=p1", "alca-0123456789ab"]), &create).unwrap();

        let tail = |extra: &[&str]| {
            let mut a = good[..good.len() - 2].to_vec();
            a.extend(v(extra));
            a.extend(v(&["--", "alca-0123456789ab"]));
            a
        };
        let mut attacks: Vec<(Vec<String>, &str)> = vec![
            (tail(&["--label", "alca.project.id=p2"]), "network label"),
            (tail(&["--label", "alca.project.id"]), "network label"),
            (tail(&["--label", "--", "--internal"]), "option `--internal`"),
            (tail(&["--driver", "macvlan"]), "value `macvlan`"),
            (tail(&["--driver=ipvlan"]), "value `ipvlan`"),
            (tail(&["-d", "macvlan"]), "option `-d`"),
            (tail(&["--internal"]), "option `--internal`"),
            (tail(&["--internal=false"]), "option `--internal`"),
            (tail(&["--attachable"]), "option `--attachable`"),
            (tail(&["--ingress"]), "option `--ingress`"),
            (tail(&["--ipv6"]), "option `--ipv6`"),
            (tail(&["--subnet", "192.168.1.0/24"]), "option `--subnet`"),
            (tail(&["--gateway=192.168.1.1"]), "option `--gateway`"),
            (tail(&["--ip-range", "192.168.1.0/25"]), "option `--ip-range`"),
            (tail(&["--ipam-driver", "dhcp"]), "option `--ipam-driver`"),
            (tail(&["--config-from", "other"]), "option `--config-from`"),
            (tail(&["--interface-name", "eth0"]), "option `--interface-name`"),
            (tail(&["--disable-dns"]), "option `--disable-dns`"),
            (tail(&["-o", "com.docker.network.bridge.name=alca0123456789a"]), "option `-o`"),
        ];
        if id.starts_with("docker") {
            attacks.extend([
                (tail(&["--opt", "com.docker.network.bridge.name=eth0"]), "bridge interface"),
                (tail(&["--opt", "com.docker.network.bridge.enable_ip_masquerade=false"]), "bridge interface"),
                (tail(&["--opt=com.docker.network.driver.mtu=9000"]), "bridge interface"),
                (tail(&["--opt", "com.docker.network.bridge.gateway_mode_ipv4=routed"]), "bridge interface"),
            ]);
        } else {
            // podman 4 cannot name the bridge: no `--opt` at all.
            attacks.push((tail(&["--opt", "com.docker.network.bridge.name=alca0123456789a"]), "option `--opt`"));
        }
        let mut other = good.clone();
        *other.last_mut().unwrap() = "alca-fedcba987654".into();
        attacks.push((other, "not the network alca asked for"));
        let mut two = good.clone();
        two.push("alca-fedcba987654".into());
        attacks.push((two, "one too many"));
        for (argv, needle) in attacks {
            match check_in(id, &argv, &create) {
                Ok(()) => panic!("{id}: allowed {argv:?}"),
                Err(e) => assert!(e.contains(needle), "{id}: {argv:?}: {e:?} should mention {needle:?}"),
            }
        }

        // inspect and rm: that network only, no options.
        for ctx in [&create, &remove] {
            check_in(id, &v(&["network", "inspect", "--", "alca-0123456789ab"]), ctx).unwrap();
            check_in(id, &v(&["network", "rm", "--", "alca-0123456789ab"]), ctx).unwrap();
            for (argv, needle) in [
                (v(&["network", "rm", "--", "alca-fedcba987654"]), "not the network alca asked for"),
                (v(&["network", "rm", "bridge"]), "not the network alca asked for"),
                (v(&["network", "rm", "alca-0123456789ab", "alca-fedcba987654"]), "one too many"),
                (v(&["network", "rm", "--force", "alca-0123456789ab"]), "option `--force`"),
                (v(&["network", "rm", "-f", "alca-0123456789ab"]), "option `-f`"),
                (v(&["network", "inspect", "--", "alca-fedcba987654"]), "not the network alca asked for"),
                (v(&["network", "inspect", "--format", "{{.Id}}", "alca-0123456789ab"]), "option `--format`"),
                (v(&["network", "prune", "--force"]), "no `allow` rule"),
                (v(&["network", "connect", "alca-0123456789ab", "victim"]), "no `allow` rule"),
                (v(&["network", "disconnect", "alca-0123456789ab", "victim"]), "no `allow` rule"),
            ] {
                let e = check_in(id, &argv, ctx).unwrap_err();
                assert!(e.contains(needle), "{id}: {argv:?}: {e:?} should mention {needle:?}");
            }
        }
        // The remove call has no labels to create a network with.
        assert!(check_in(id, &good, &remove).unwrap_err().contains("`network-remove` request has no"));
        // Outside the network calls, the network commands bind nothing.
        for ctx in [create_ctx(), none()] {
            assert!(check_in(id, &good, &ctx).is_err(), "{id}");
            assert!(check_in(id, &v(&["network", "rm", "alca-0123456789ab"]), &ctx).is_err(), "{id}");
            assert!(check_in(id, &v(&["network", "inspect", "alca-0123456789ab"]), &ctx).is_err(), "{id}");
        }
    }
}

/// A hostile manifest cannot satisfy a `creates` rule's completeness with
/// a placeholder written as an operand, where the engine reads an image or
/// a command instead of a capability drop.
#[test]
fn operands_do_not_express_what_only_options_do() {
    let m = manifest(
        r#"
[[programs]]
name = "docker"
allow = [
  { args = ["container", "create"], interspersed = false, creates = true, options = ["--name={name}", "--cap-add={cap-add}", "--cpus={cpus}", "--memory={memory}"], operands = ["{image}", "{cap-drop}", "{command...}"] },
]
"#,
    );
    let s = spec();
    let mut args = v(&["container", "create", "--name", &s.name, "--cpus", "1.5", "--memory", "2147483648b", "--"]);
    args.push(s.image.clone());
    args.push("ALL".into());
    args.extend(s.command.iter().cloned());
    let e = check(&m, "docker", &args, &[], Use::Spawn, &create_ctx()).map(drop).unwrap_err().to_string();
    assert!(e.contains("drop capability ALL"), "{e}");
}

// --- The built-in Apple grant (swift-argument-parser CLI, no label filter) ---

const APPLE: &str = include_str!("../../../../plugins/apple/alca-plugin.toml");

/// `spec()` as Apple can express it: whole CPUs, no restart policy.
fn apple_spec() -> container::ContainerSpec {
    let mut s = spec();
    s.resources.cpus = Some(2.0);
    s.restart = container::RestartPolicy::No;
    s
}

/// What plugins/apple's `create_args` produces for `apple_spec()` (its
/// unit tests pin the same shape): short options, each value separate.
fn apple_create(s: &container::ContainerSpec) -> Vec<String> {
    let mut a = v(&["create", "--name", &s.name]);
    for kv in &s.labels {
        a.extend(["-l".into(), format!("{}={}", kv.key, kv.value)]);
    }
    for kv in &s.env {
        a.extend(["-e".into(), format!("{}={}", kv.key, kv.value)]);
    }
    a.extend(v(&["-w", "/workspace"]));
    for m in &s.mounts {
        match m.kind {
            container::MountKind::Tmpfs => a.extend(["--tmpfs".into(), m.target.clone()]),
            _ => a.extend(["-v".into(), format!("{}:{}{}", m.source, m.target, if m.read_only { ":ro" } else { "" })]),
        }
    }
    a.extend(v(&["-p", "127.0.0.1:8080:80", "-c", "2", "-m", "2048M"]));
    a.extend(v(&["--cap-drop", "ALL", "--cap-add", "CHOWN", "--cap-add", "KILL", &s.image]));
    a.extend(s.command.iter().cloned());
    a
}

fn apple_check(args: &[String], usage: Use, ctx: &CallContext) -> Result<(), String> {
    let m = Manifest::parse(APPLE, "built-in").unwrap();
    check(&m, "container", args, &[], usage, ctx).map(drop).map_err(|d| d.to_string())
}

#[test]
fn apple_grant_allows_exactly_the_requested_container() {
    let s = apple_spec();
    let ctx = CallContext::new("create", Request::Create(Box::new(s.clone())));
    let good = apple_create(&s);
    apple_check(&good, Use::Spawn, &ctx).unwrap_or_else(|e| panic!("the legitimate create is refused: {e}"));
    // Long spellings are the same options.
    let mut long = good.clone();
    for (short, l) in [("-l", "--label"), ("-e", "--env"), ("-v", "--volume"), ("-c", "--cpus"), ("-m", "--memory")] {
        long.iter_mut().filter(|a| *a == short).for_each(|a| *a = l.into());
    }
    apple_check(&long, Use::Spawn, &ctx).unwrap_or_else(|e| panic!("long spellings are refused: {e}"));

    // Extra options go before the image.
    let img = good.iter().position(|a| *a == s.image).unwrap();
    let with = |remove: &[&str], extra: &[&str]| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut i = 0;
        while i < good.len() {
            if remove.contains(&good[i].as_str()) && i < img {
                i += 2;
                continue;
            }
            if i == img {
                out.extend(v(extra));
            }
            out.push(good[i].clone());
            i += 1;
        }
        out
    };
    for (argv, needle) in [
        (with(&[], &["--virtualization"]), "`--virtualization`"),
        (with(&[], &["--rosetta"]), "`--rosetta`"),
        (with(&[], &["--ssh"]), "`--ssh`"),
        (with(&[], &["--publish-socket", "/var/run/docker.sock:/s"]), "`--publish-socket`"),
        (with(&[], &["-k", "/tmp/evil-kernel"]), "`-k`"),
        (with(&[], &["--kernel=/tmp/evil-kernel"]), "`--kernel`"),
        (with(&[], &["--init-image", "evil"]), "`--init-image`"),
        (with(&[], &["--mount", "type=bind,source=/,target=/host"]), "`--mount`"),
        (with(&[], &["--env-file", "/etc/shadow"]), "`--env-file`"),
        (with(&[], &["--uid", "0"]), "`--uid`"),
        (with(&[], &["--cap-add", "ALL"]), "denied"),
        (with(&[], &["--network", "host"]), "denied"),
        (with(&[], &["--network", "backend"]), "default network"),
        (with(&[], &["-v", "/:/host"]), "mount `/:/host`"),
        (with(&[], &["-v/:/host"]), "mount `/:/host`"),
        (with(&[], &["--tmpfs", "/tmp:ro"]), "tmpfs"),
        (with(&[], &["-p", "2222:22"]), "published port"),
        (with(&[], &["-e", "DOCKER_HOST"]), "copy the variable"),
        (with(&[], &["-u", "0"]), "did not ask for a user"),
        (with(&[], &["--entrypoint", "sh"]), "entrypoint"),
        (with(&[], &["--init"]), "init process"),
        (with(&[], &["-l", "alca.project.id=someone-else"]), "label"),
        (with(&[], &["--name", "alca-other"]), "container name"),
        (with(&["-m"], &["-m", "4G"]), "memory limit"),
        (with(&["-m"], &[]), "memory limit"),
        (with(&["-c"], &[]), "CPU limit"),
        (with(&["-c"], &["-c", "4"]), "CPU limit"),
        (with(&["--cap-drop"], &[]), "drop capability ALL"),
        (with(&[], &["--restart", "always"]), "option `--restart`"),
        (with(&[], &["--privileged"]), "option `--privileged`"),
        (with(&[], &["-d"]), "option `-d`"),
        (with(&[], &["--rm"]), "option `--rm`"),
    ] {
        match apple_check(&argv, Use::Spawn, &ctx) {
            Ok(()) => panic!("allowed {argv:?}"),
            Err(e) => assert!(e.contains(needle), "{argv:?}: {e:?} should mention {needle:?}"),
        }
    }
    // After the image, everything is the container's command line.
    let mut longer = good.clone();
    longer.push("--virtualization".into());
    assert!(apple_check(&longer, Use::Spawn, &ctx).unwrap_err().contains("command line"));
    // Only `container`: no other program, however plain.
    let m = Manifest::parse(APPLE, "built-in").unwrap();
    for program in ["docker", "sh", "/usr/local/bin/container", "launchctl"] {
        let e = check(&m, program, &v(&["--version"]), &[], Use::Spawn, &none()).unwrap_err().to_string();
        assert!(e.contains("not among the programs") || e.contains("not a logical program name"), "{program}: {e}");
    }
}

#[test]
fn apple_grant_lists_without_naming_containers() {
    let selector = container::LabelSelector { key: "alca.project.id".into(), value: Some("p1".into()) };
    let mut list = CallContext::new("list-containers", Request::List(vec![selector]));
    apple_check(&v(&["list", "--all", "--format", "json"]), Use::Spawn, &list).unwrap();
    apple_check(&v(&["list", "-a", "--format=json"]), Use::Spawn, &list).unwrap();
    for (argv, needle) in [
        (v(&["list", "--all", "--format", "table"]), "value `table`"),
        (v(&["list", "--quiet"]), "option `--quiet`"),
        (v(&["list", "--all", "--format", "json", "victim"]), "operand `victim`"),
    ] {
        let e = apple_check(&argv, Use::Spawn, &list).unwrap_err();
        assert!(e.contains(needle), "{argv:?}: {e}");
    }
    // The listing outside a list-containers call binds nothing.
    assert!(apple_check(&v(&["list", "--all", "--format", "json"]), Use::Spawn, &none()).is_err());
    // What it printed vouches for no container of the call.
    list.remember_json(
        br#"[{"configuration":{"id":"victim","labels":{"alca.project.id":"p1"}}}]"#,
        &crate::plugin::manifest::JsonListing {
            id: "/configuration/id".into(),
            labels: "/configuration/labels".into(),
        },
    );
    for argv in [v(&["inspect", "victim"]), v(&["delete", "--force", "victim"]), v(&["stop", "victim"])] {
        assert!(apple_check(&argv, Use::Spawn, &list).unwrap_err().contains("`victim`"), "{argv:?}");
    }

    // Container calls: only the container alca asked about.
    let c1 = CallContext::new("remove", Request::Container("c1".into()));
    apple_check(&v(&["delete", "--force", "c1"]), Use::Spawn, &c1).unwrap();
    apple_check(&v(&["stop", "-t", "10", "c1"]), Use::Spawn, &c1).unwrap();
    apple_check(&v(&["inspect", "c1"]), Use::Spawn, &c1).unwrap();
    apple_check(&v(&["start", "c1"]), Use::Spawn, &c1).unwrap();
    for argv in [v(&["delete", "--all"]), v(&["delete", "c1", "victim"]), v(&["stop", "--all"])] {
        assert!(apple_check(&argv, Use::Spawn, &c1).is_err(), "{argv:?}");
    }

    // exec: the options alca asked for, the container, the argv.
    let req = container::ExecRequest {
        container: "c1".into(),
        argv: v(&["grep", "--privileged", "notes"]),
        tty: true,
        interactive: true,
        user: None,
        workdir: Some("/workspace".into()),
        env: vec![container::KeyValue { key: "A".into(), value: "1".into() }],
    };
    let exec = CallContext::new("exec-plan", Request::Exec(Box::new(req)));
    let plan = v(&["exec", "-i", "-t", "-e", "A=1", "-w", "/workspace", "c1", "grep", "--privileged", "notes"]);
    apple_check(&plan, Use::Interactive, &exec).unwrap();
    apple_check(&plan, Use::Spawn, &exec).unwrap();
    let clustered = v(&["exec", "-it", "-e", "A=1", "-w", "/workspace", "c1", "grep", "--privileged", "notes"]);
    apple_check(&clustered, Use::Interactive, &exec).unwrap();
    for extra in [&["-u", "0"][..], &["-e", "B=2"], &["--privileged"], &["-w", "/"], &["--env-file", "/x"], &["-d"]] {
        let mut a = v(&["exec"]);
        a.extend(v(extra));
        a.extend(plan[1..].iter().cloned());
        assert!(apple_check(&a, Use::Spawn, &exec).is_err(), "{extra:?}");
    }
    let mut to_victim = plan.clone();
    to_victim[7] = "victim".into();
    assert!(apple_check(&to_victim, Use::Spawn, &exec).unwrap_err().contains("container `victim`"));

    // Images: only the request's.
    let img = CallContext::new("image-pull", Request::Image("busybox:latest".into()));
    apple_check(&v(&["image", "pull", "--progress", "none", "busybox:latest"]), Use::Spawn, &img).unwrap();
    apple_check(&v(&["image", "inspect", "busybox:latest"]), Use::Spawn, &img).unwrap();
    assert!(apple_check(&v(&["image", "pull", "evil:latest"]), Use::Spawn, &img).is_err());
    assert!(apple_check(&v(&["image", "pull", "--scheme", "http", "busybox:latest"]), Use::Spawn, &img).is_err());
    // Detection: the version and the service's status, nothing else.
    apple_check(&v(&["--version"]), Use::Spawn, &none()).unwrap();
    apple_check(&v(&["system", "status", "--format", "json"]), Use::Spawn, &none()).unwrap();
    apple_check(&v(&["system", "status"]), Use::Spawn, &none()).unwrap();
    for argv in [v(&["system", "start"]), v(&["system", "stop"]), v(&["system", "kernel", "set", "--recommended"])] {
        assert!(apple_check(&argv, Use::Spawn, &none()).is_err(), "{argv:?}");
    }
}
