//! Fuzz targets (proptest) for the argument parser and the grant checker.
//! They run with proptest's default number of cases in the ordinary test
//! suite; `scripts/fuzz.sh` runs them for as long as it is given, and what
//! they find is kept in `proptest-regressions/` and replayed by every run.
//!
//! The parser is compared with a second, independent model: a literal
//! port of pflag's `parseArgs` (github.com/spf13/pflag, flag.go), working
//! on bytes as Go does. The grant is checked for soundness: whatever argv
//! it allows in a `create` call, the engine's reading of it (the model,
//! with the engine's full option table, dangerous options included) names
//! no option outside the rule and no image or command but the spec's.

use proptest::prelude::*;

use super::argparse::{self, Flag, Name};
use super::bind::{CallContext, Request, tests::spec};
use super::grant::{self, Use};
use super::manifest::Manifest;

/// A flag of the model: long names, short letter, boolean?
#[derive(Debug, Clone)]
struct ModelFlag {
    long: Vec<&'static str>,
    short: Option<u8>,
    boolean: bool,
}

#[derive(Debug, PartialEq, Eq)]
struct ModelParse {
    /// (flag index, value) — booleans without a value read "true".
    options: Vec<(usize, String)>,
    operands: Vec<String>,
}

/// pflag's parseArgs, parseLongArg, parseShortArg, parseSingleShortArg.
fn pflag(args: &[String], flags: &[ModelFlag], interspersed: bool) -> Result<ModelParse, String> {
    let mut out = ModelParse { options: Vec::new(), operands: Vec::new() };
    let mut args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let set = |out: &mut ModelParse, i: usize, value: Vec<u8>| -> Result<(), String> {
        if flags[i].boolean && argparse::parse_bool(&text(&value)).is_none() {
            return Err("invalid bool".into());
        }
        out.options.push((i, text(&value)));
        Ok(())
    };
    while !args.is_empty() {
        let s = args.remove(0);
        if s.is_empty() || s[0] != b'-' || s.len() == 1 {
            if !interspersed {
                out.operands.push(text(&s));
                out.operands.extend(args.iter().map(|a| text(a)));
                return Ok(out);
            }
            out.operands.push(text(&s));
            continue;
        }
        if s[1] == b'-' {
            if s.len() == 2 {
                out.operands.extend(args.iter().map(|a| text(a)));
                break;
            }
            // parseLongArg
            let name = &s[2..];
            if name.is_empty() || name[0] == b'-' || name[0] == b'=' {
                return Err("bad flag syntax".into());
            }
            let (name, inline) = match name.iter().position(|b| *b == b'=') {
                Some(i) => (&name[..i], Some(name[i + 1..].to_vec())),
                None => (name, None),
            };
            let i = flags.iter().position(|f| f.long.iter().any(|l| l.as_bytes() == name)).ok_or("unknown flag")?;
            let value = if let Some(v) = inline {
                v
            } else if flags[i].boolean {
                b"true".to_vec()
            } else if !args.is_empty() {
                args.remove(0)
            } else {
                return Err("flag needs an argument".into());
            };
            set(&mut out, i, value)?;
        } else {
            // parseShortArg
            let mut shorthands = s[1..].to_vec();
            while !shorthands.is_empty() {
                let c = shorthands[0];
                let i = flags.iter().position(|f| f.short == Some(c)).ok_or("unknown shorthand flag")?;
                let value;
                if shorthands.len() > 2 && shorthands[1] == b'=' {
                    value = shorthands[2..].to_vec();
                    shorthands.clear();
                } else if flags[i].boolean {
                    value = b"true".to_vec();
                    shorthands = shorthands[1..].to_vec();
                } else if shorthands.len() > 1 {
                    value = shorthands[1..].to_vec();
                    shorthands.clear();
                } else if !args.is_empty() {
                    value = args.remove(0);
                    shorthands.clear();
                } else {
                    return Err("flag needs an argument".into());
                }
                set(&mut out, i, value)?;
            }
        }
    }
    Ok(out)
}

fn to_flags(model: &[ModelFlag]) -> Vec<Flag> {
    model
        .iter()
        .map(|m| {
            let mut names: Vec<Name> = m.long.iter().map(|l| Name::Long(l.to_string())).collect();
            names.extend(m.short.map(|c| Name::Short(c as char)));
            Flag { names, takes_value: !m.boolean }
        })
        .collect()
}

const TABLE: &[(&[&str], Option<u8>, bool)] = &[
    (&["volume"], Some(b'v'), false),
    (&["label"], Some(b'l'), false),
    (&["interactive"], Some(b'i'), true),
    (&["tty"], Some(b't'), true),
    (&["init"], None, true),
    (&["network", "net"], None, false),
];

fn model_table() -> Vec<ModelFlag> {
    TABLE
        .iter()
        .map(|(long, short, boolean)| ModelFlag { long: long.to_vec(), short: *short, boolean: *boolean })
        .collect()
}

/// Arguments that make parsers disagree.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("--".to_string()),
        Just("-".to_string()),
        Just(String::new()),
        Just("--label".to_string()),
        Just("--label=".to_string()),
        Just("--label=--".to_string()),
        Just("-l".to_string()),
        Just("-l=x".to_string()),
        Just("-v".to_string()),
        Just("-v=".to_string()),
        Just("-v/a:/b".to_string()),
        Just("-itv/a:/b".to_string()),
        Just("-it".to_string()),
        Just("-ti=false".to_string()),
        Just("-i=".to_string()),
        Just("--init".to_string()),
        Just("--init=false".to_string()),
        Just("--init=maybe".to_string()),
        Just("--network=host".to_string()),
        Just("--net".to_string()),
        Just("---x".to_string()),
        Just("--=x".to_string()),
        Just("--privileged".to_string()),
        Just("-x".to_string()),
        Just("img".to_string()),
        Just("true".to_string()),
        "[a-z=:/-]{0,6}",
        "-[a-z=]{1,4}",
        "--[a-z=-]{1,8}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    /// The parser reads every argv exactly as pflag does.
    #[test]
    fn the_parse_is_pflags(args in prop::collection::vec(token(), 0..10), interspersed in any::<bool>()) {
        let model = model_table();
        let ours = argparse::parse(&args, &to_flags(&model), interspersed);
        let theirs = pflag(&args, &model, interspersed);
        match (ours, theirs) {
            (Ok(ours), Ok(theirs)) => {
                let options: Vec<(usize, String)> =
                    ours.options.into_iter().map(|o| (o.flag, o.value.unwrap_or_else(|| "true".into()))).collect();
                prop_assert_eq!(options, theirs.options, "options of {:?}", args);
                prop_assert_eq!(ours.operands, theirs.operands, "operands of {:?}", args);
            }
            (Err(_), Err(_)) => {}
            (ours, theirs) => prop_assert!(false, "{:?}: ours {:?}, pflag {:?}", args, ours, theirs),
        }
    }

    /// Nothing panics, whatever the bytes.
    #[test]
    fn the_parse_never_panics(args in prop::collection::vec(any::<String>(), 0..8), interspersed in any::<bool>()) {
        let _ = argparse::parse(&args, &to_flags(&model_table()), interspersed);
    }
}

// --- Soundness of the built-in `create` rule -------------------------------

const DOCKER: &str = include_str!("../../../plugins/docker/alca-plugin.toml");

/// docker's own reading of `container create`: the rule's options and the
/// dangerous ones a plugin would like to slip through.
fn engine_create_table() -> Vec<ModelFlag> {
    let f = |long: &[&'static str], short: Option<u8>, boolean: bool| ModelFlag { long: long.to_vec(), short, boolean };
    vec![
        f(&["name"], None, false),
        f(&["label"], Some(b'l'), false),
        f(&["env"], Some(b'e'), false),
        f(&["workdir"], Some(b'w'), false),
        f(&["user"], Some(b'u'), false),
        f(&["entrypoint"], None, false),
        f(&["volume"], Some(b'v'), false),
        f(&["tmpfs"], None, false),
        f(&["publish"], Some(b'p'), false),
        f(&["cpus"], None, false),
        f(&["memory"], Some(b'm'), false),
        f(&["cap-drop"], None, false),
        f(&["cap-add"], None, false),
        f(&["restart"], None, false),
        f(&["network", "net"], None, false),
        f(&["init"], None, true),
        f(&["pull"], None, false),
        f(&["privileged"], None, true),
        f(&["interactive"], Some(b'i'), true),
        f(&["tty"], Some(b't'), true),
        f(&["mount"], None, false),
        f(&["security-opt"], None, false),
        f(&["pid"], None, false),
    ]
}

fn create_token() -> impl Strategy<Value = String> {
    let s = spec();
    let pieces: Vec<String> = [
        "--name",
        &s.name,
        "--label",
        "alca.project.id=p1",
        "-l",
        "--volume",
        "-v",
        "/home/u/proj:/workspace",
        "/:/host",
        "/data:/data:ro",
        "--cap-drop",
        "ALL",
        "all",
        "--cap-add",
        "CHOWN",
        "SYS_ADMIN",
        "--network",
        "--net",
        "host",
        "none",
        "--init",
        "--privileged",
        "--pull=never",
        "--pull",
        "--cpus",
        "1.5",
        "--memory",
        "2g",
        "-it",
        "--mount",
        "--",
        "-",
        &s.image,
        "sleep",
        "inf",
        "--label=--",
        "--cap-add=sys_admin",
        "-v/:/host",
        "--publish",
        "127.0.0.1:8080:80",
        "0.0.0.0:8080:80",
        "--tmpfs",
        "/tmp",
        "/tmp:exec",
        "/data:/data",
        "--cap-drop=all",
        "--name=x",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    prop::sample::select(pieces)
}

/// The legitimate create argv for `spec()`, as docker-compat builds it.
fn legitimate() -> Vec<String> {
    let s = spec();
    let mut a: Vec<String> =
        ["--name", &s.name, "--label", "alca.project.id=p1", "--volume", "/home/u/proj:/workspace"]
            .iter()
            .map(|t| t.to_string())
            .collect();
    a.extend(
        ["--volume", "/data:/data:ro", "--tmpfs", "/tmp", "--publish", "127.0.0.1:8080:80", "--cpus", "1.5"]
            .map(String::from),
    );
    a.extend(["--memory", "2g", "--cap-drop", "ALL", "--cap-add", "CHOWN", "--pull=never", "--"].map(String::from));
    a.push(s.image.clone());
    a.extend(s.command.iter().cloned());
    a
}

/// An edit of the legitimate argv: insert, replace or remove at a position.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, String),
    Replace(usize, String),
    Remove(usize),
    /// An option and the argument after it.
    RemovePair(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), create_token()).prop_map(|(i, t)| Edit::Insert(i, t)),
        (any::<usize>(), create_token()).prop_map(|(i, t)| Edit::Replace(i, t)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::RemovePair),
    ];
    prop::collection::vec(edit, 0..5)
}

fn apply(edits: &[Edit]) -> Vec<String> {
    apply_on(legitimate(), edits)
}

fn apply_on(mut a: Vec<String>, edits: &[Edit]) -> Vec<String> {
    for e in edits {
        match e {
            Edit::Insert(i, t) => a.insert(i % (a.len() + 1), t.clone()),
            Edit::Replace(i, t) if !a.is_empty() => {
                let n = a.len();
                a[i % n] = t.clone();
            }
            Edit::Remove(i) if !a.is_empty() => {
                let n = a.len();
                a.remove(i % n);
            }
            Edit::RemovePair(i) if a.len() > 1 => {
                let n = a.len() - 1;
                a.drain(i % n..i % n + 2);
            }
            _ => {}
        }
    }
    a
}

/// Whatever the grant allows in a `create` call is, as the engine reads it,
/// only the rule's options with the spec's values, the spec's image and
/// the spec's command. Returns whether the grant allowed it.
fn check_sound(tail: &[String]) -> Result<bool, TestCaseError> {
    let manifest = Manifest::parse(DOCKER, "docker").unwrap();
    let ctx = CallContext::new("create", Request::Create(Box::new(spec())));
    let mut args = vec!["container".to_string(), "create".to_string()];
    args.extend(tail.iter().cloned());
    if grant::check(&manifest, "docker", &args, &[], Use::Spawn, &ctx).is_err() {
        return Ok(false);
    }
    let table = engine_create_table();
    let Ok(read) = pflag(tail, &table, false) else {
        return Ok(true); // the engine refuses it: nothing is created
    };
    let s = spec();
    let mut dropped_all = false;
    for (i, value) in &read.options {
        let name = table[*i].long[0];
        prop_assert!(
            !["privileged", "interactive", "tty", "mount", "security-opt", "pid", "network"].contains(&name),
            "{:?} gave the engine --{}",
            tail,
            name
        );
        match name {
            "cap-add" => {
                let cap = value.to_ascii_uppercase();
                prop_assert!(
                    s.capabilities.add.iter().any(|c| *c == cap.trim_start_matches("CAP_")),
                    "{:?} added {}",
                    tail,
                    value
                )
            }
            "cap-drop" => dropped_all |= value.eq_ignore_ascii_case("all"),
            "volume" => prop_assert!(
                value == "/home/u/proj:/workspace" || value == "/data:/data:ro",
                "{:?} mounted {}",
                tail,
                value
            ),
            _ => {}
        }
    }
    prop_assert!(dropped_all, "{:?} does not drop every capability", tail);
    prop_assert_eq!(read.operands.first(), Some(&s.image), "{:?}", tail);
    prop_assert_eq!(&read.operands[1..], &s.command[..], "{:?}", tail);
    Ok(true)
}

#[test]
fn what_the_grant_allows_is_what_was_asked() {
    use proptest::test_runner::{Config, TestRunner};
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(4096u32);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let allowed = std::cell::Cell::new(0u32);
    let result = runner.run(&edits(), |e| {
        if check_sound(&apply(&e))? {
            allowed.set(allowed.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Not a vacuous property: many edited argvs are still allowed (spelled
    // differently, options moved, `--` removed...).
    assert!(allowed.get() * 20 > cases, "only {} of {cases} edited argvs were allowed", allowed.get());
    assert!(check_sound(&legitimate()).unwrap());
}

#[test]
fn the_model_reads_the_examples_of_the_contract() {
    // container-cli-contracts §2.7, read by the model itself.
    let t = engine_create_table();
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let r = pflag(&v(&["--label", "--", "--network=host", "img"]), &t, false).unwrap();
    assert_eq!(t[r.options[1].0].long[0], "network");
    let r = pflag(&v(&["--init", "true"]), &t, false).unwrap();
    assert_eq!(r.operands, v(&["true"]));
    let r = pflag(&v(&["-itv/tmp:/y", "img"]), &t, false).unwrap();
    assert_eq!(r.options.len(), 3);
    assert_eq!(r.options[2].1, "/tmp:/y");
}

// --- Soundness of the built-in `network create` rule ----------------------

/// docker 20.10's reading of `network create`: every option it has.
fn engine_network_table() -> Vec<ModelFlag> {
    let f = |long: &[&'static str], short: Option<u8>, boolean: bool| ModelFlag { long: long.to_vec(), short, boolean };
    vec![
        f(&["driver"], Some(b'd'), false),
        f(&["opt"], Some(b'o'), false),
        f(&["label"], None, false),
        f(&["internal"], None, true),
        f(&["attachable"], None, true),
        f(&["ingress"], None, true),
        f(&["ipv6"], None, true),
        f(&["config-only"], None, true),
        f(&["config-from"], None, false),
        f(&["subnet"], None, false),
        f(&["gateway"], None, false),
        f(&["ip-range"], None, false),
        f(&["aux-address"], None, false),
        f(&["ipam-driver"], None, false),
        f(&["ipam-opt"], None, false),
        f(&["scope"], None, false),
    ]
}

fn network_request() -> crate::container::NetworkRequest {
    crate::container::NetworkRequest {
        name: "alca-0123456789ab".into(),
        labels: vec![("alca.project.id".into(), "p1".into())],
        interface: "alca0123456789a".into(),
    }
}

/// The legitimate `network create` arguments, as docker-compat builds them.
fn legitimate_network() -> Vec<String> {
    [
        "--driver",
        "bridge",
        "--opt",
        "com.docker.network.bridge.name=alca0123456789a",
        "--label",
        "alca.project.id=p1",
        "--",
        "alca-0123456789ab",
    ]
    .map(String::from)
    .to_vec()
}

fn network_token() -> impl Strategy<Value = String> {
    let pieces: Vec<String> = [
        "--driver",
        "-d",
        "bridge",
        "macvlan",
        "--driver=ipvlan",
        "--opt",
        "-o",
        "com.docker.network.bridge.name=alca0123456789a",
        "com.docker.network.bridge.name=eth0",
        "com.docker.network.bridge.enable_ip_masquerade=false",
        "--opt=com.docker.network.driver.mtu=9000",
        "--label",
        "alca.project.id=p1",
        "alca.project.id=p2",
        "--internal",
        "--internal=false",
        "--attachable",
        "--ingress",
        "--ipv6",
        "--subnet",
        "192.168.1.0/24",
        "--gateway=192.168.1.1",
        "--config-from",
        "--scope=swarm",
        "--",
        "-",
        "alca-0123456789ab",
        "alca-other",
        "--label=--",
    ]
    .map(String::from)
    .to_vec();
    prop::sample::select(pieces)
}

fn network_edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), network_token()).prop_map(|(i, t)| Edit::Insert(i, t)),
        (any::<usize>(), network_token()).prop_map(|(i, t)| Edit::Replace(i, t)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::RemovePair),
    ];
    prop::collection::vec(edit, 0..5)
}

/// Whatever the grant allows in a `network-create` call is, as docker reads
/// it, a bridge (docker's default driver) with only the requested labels and
/// bridge name, named as requested: no other driver (macvlan would put the
/// container on the LAN itself), no subnet, no internal/ingress/attachable
/// network, no driver option that changes the bridge.
fn check_network_sound(tail: &[String]) -> Result<bool, TestCaseError> {
    let manifest = Manifest::parse(DOCKER, "docker").unwrap();
    let req = network_request();
    let ctx = CallContext::new("network-create", Request::NetworkCreate(Box::new(req.clone())));
    let mut args = vec!["network".to_string(), "create".to_string()];
    args.extend(tail.iter().cloned());
    if grant::check(&manifest, "docker", &args, &[], Use::Spawn, &ctx).is_err() {
        return Ok(false);
    }
    let table = engine_network_table();
    let Ok(read) = pflag(tail, &table, true) else {
        return Ok(true); // the engine refuses it: nothing is created
    };
    for (i, value) in &read.options {
        let name = table[*i].long[0];
        match name {
            "driver" => prop_assert_eq!(value, "bridge", "{:?}", tail),
            "opt" => prop_assert_eq!(value, &format!("com.docker.network.bridge.name={}", req.interface), "{:?}", tail),
            "label" => prop_assert!(
                req.labels.iter().any(|(k, v)| *value == format!("{k}={v}")),
                "{:?} labelled {}",
                tail,
                value
            ),
            other => prop_assert!(false, "{:?} gave the engine --{}", tail, other),
        }
    }
    prop_assert_eq!(&read.operands, &vec![req.name.clone()], "{:?}", tail);
    Ok(true)
}

#[test]
fn what_the_grant_allows_of_a_network_is_what_was_asked() {
    use proptest::test_runner::{Config, TestRunner};
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(4096u32);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let allowed = std::cell::Cell::new(0u32);
    let result = runner.run(&network_edits(), |e| {
        if check_network_sound(&apply_on(legitimate_network(), &e))? {
            allowed.set(allowed.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(allowed.get() * 20 > cases, "only {} of {cases} edited argvs were allowed", allowed.get());
    assert!(check_network_sound(&legitimate_network()).unwrap());
}
