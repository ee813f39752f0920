//! Who may spawn what: the one place where a plugin's request to run a
//! process is compared with its grant (the manifest).
//!
//! Rules, in order (the first failure is the answer):
//! 1. the program is a plain name listed under `[[programs]]`;
//! 2. every environment key the request sets is in that program's `env`;
//! 3. no argument before a literal `--` matches the program's `deny` list,
//!    whether written `--flag`, `--flag=value` or `--flag value`;
//! 4. some `allow` rule matches: its positional prefix (`*` is one argument,
//!    a final `**` any rest), then, if the rule lists `options`, only those
//!    options followed by an optional `--` and free operands;
//! 5. an `exec-plan` (run on the user's terminal) needs a rule with
//!    `interactive = true`.
//!
//! Arguments after `--` are operands (a container id, an image, the user's
//! command line) and are never matched against `deny`: the runtime CLIs stop
//! option parsing at `--`, so nothing there can act as an option.

use std::fmt;

use super::manifest::{AllowRule, DenyArg, Manifest, ProgramGrant};

/// One element of a rule's positional prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Literal(String),
    /// `*`: exactly one argument, any value.
    Any,
    /// `**`: any remaining arguments (must be last).
    Rest,
}

impl Pattern {
    pub fn parse(s: &str) -> Pattern {
        match s {
            "*" => Pattern::Any,
            "**" => Pattern::Rest,
            lit => Pattern::Literal(lit.to_string()),
        }
    }
}

/// A value pattern: exact text, `prefix*`, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueGlob {
    Exact(String),
    Prefix(String),
}

impl ValueGlob {
    pub fn parse(s: &str) -> Result<ValueGlob, String> {
        match s.find('*') {
            None => Ok(ValueGlob::Exact(s.to_string())),
            Some(i) if i + 1 == s.len() => Ok(ValueGlob::Prefix(s[..i].to_string())),
            Some(_) => Err("`*` may only end a value pattern".into()),
        }
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            ValueGlob::Exact(v) => v == value,
            ValueGlob::Prefix(p) => value.starts_with(p.as_str()),
        }
    }
}

/// An option a rule allows: `--flag` (no value) or `--flag=<glob>` (a value,
/// given as `--flag=v` or `--flag v`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSpec {
    pub name: String,
    pub value: Option<ValueGlob>,
}

impl OptionSpec {
    pub fn parse(s: &str) -> Result<OptionSpec, String> {
        if !s.starts_with('-') || s.len() < 2 {
            return Err("an option must start with `-`".into());
        }
        Ok(match s.split_once('=') {
            Some((name, glob)) => OptionSpec { name: name.to_string(), value: Some(ValueGlob::parse(glob)?) },
            None => OptionSpec { name: s.to_string(), value: None },
        })
    }
}

/// How a request will be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// `process.run`: output captured, bounded by a timeout.
    Spawn,
    /// An `exec-plan`: run attached to the user's terminal.
    Interactive,
}

/// A request that passed: the grant entries that allowed it.
#[derive(Debug, Clone, Copy)]
pub struct Allowed<'m> {
    pub program: &'m ProgramGrant,
    pub rule: &'m AllowRule,
}

impl Allowed<'_> {
    /// The longest this invocation may run.
    pub fn max_timeout_secs(&self) -> u32 {
        self.rule.max_timeout_secs.unwrap_or(self.program.max_timeout_secs)
    }
}

/// A refusal: what was refused, why, and which grant would allow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub plugin: String,
    pub command: String,
    pub reason: String,
    pub grant_hint: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plugin `{}` may not run `{}`: {}. {}", self.plugin, self.command, self.reason, self.grant_hint)
    }
}

/// Checks one request against `manifest`.
pub fn check<'m>(
    manifest: &'m Manifest,
    program: &str,
    args: &[String],
    env_keys: &[&str],
    usage: Use,
) -> Result<Allowed<'m>, Denial> {
    let deny = |reason: String, grant_hint: String| Denial {
        plugin: manifest.id.clone(),
        command: render_command(program, args),
        reason,
        grant_hint,
    };
    if program.is_empty() || program.contains(['/', '\\', '\0']) {
        return Err(deny(
            format!("{program:?} is not a logical program name"),
            "Plugins name programs as listed in their manifest (e.g. \"docker\"), never by path.".into(),
        ));
    }
    if let Some(bad) = args.iter().find(|a| a.contains('\0')) {
        return Err(deny(format!("argument {bad:?} contains a NUL byte"), "No grant allows that.".into()));
    }
    let Some(grant) = manifest.program(program) else {
        return Err(deny(
            format!("{program:?} is not among the programs its manifest grants"),
            format!(
                "To allow it, {} would need:\n    [[programs]]\n    name = {program:?}\n    allow = [{}]",
                manifest.origin,
                suggest_rule(args, usage)
            ),
        ));
    };
    for key in env_keys {
        if !grant.env.contains(*key) {
            return Err(deny(
                format!("environment variable {key} is not granted for {program:?}"),
                format!("To allow it, add {key:?} to `env` of program {program:?} in {}.", manifest.origin),
            ));
        }
    }
    if let Some((arg, rule)) = find_denied(&grant.deny, args) {
        return Err(deny(
            format!("argument `{arg}` is denied by `deny = [{:?}]` of program {program:?}", rule.source),
            format!("alca never runs it while {} denies it.", manifest.origin),
        ));
    }

    let mut near_miss: Option<String> = None;
    for rule in &grant.allow {
        match match_rule(rule, args) {
            Ok(()) if usage == Use::Interactive && !rule.interactive => {
                near_miss.get_or_insert_with(|| {
                    format!(
                        "it matches {} but that rule is not `interactive = true`, so it may not run on the terminal",
                        rule.source
                    )
                });
            }
            Ok(()) => return Ok(Allowed { program: grant, rule }),
            Err(RuleMiss::Prefix) => {}
            Err(RuleMiss::Options(why)) => {
                near_miss.get_or_insert_with(|| format!("{why} (rule {})", rule.source));
            }
        }
    }
    let reason = near_miss.unwrap_or_else(|| format!("no `allow` rule of program {program:?} matches these arguments"));
    Err(deny(
        reason,
        format!(
            "A rule that would allow it, under program {program:?} in {}: {}",
            manifest.origin,
            suggest_rule(args, usage)
        ),
    ))
}

enum RuleMiss {
    Prefix,
    Options(String),
}

fn match_rule(rule: &AllowRule, args: &[String]) -> Result<(), RuleMiss> {
    let mut i = 0;
    for pattern in &rule.args {
        match pattern {
            Pattern::Rest => return Ok(()),
            Pattern::Any if i < args.len() => i += 1,
            Pattern::Literal(lit) if args.get(i) == Some(lit) => i += 1,
            _ => return Err(RuleMiss::Prefix),
        }
    }
    let rest = &args[i..];
    match &rule.options {
        None if rest.is_empty() => Ok(()),
        None => Err(RuleMiss::Prefix),
        Some(specs) => check_options(specs, rest).map_err(RuleMiss::Options),
    }
}

fn check_options(specs: &[OptionSpec], rest: &[String]) -> Result<(), String> {
    let mut i = 0;
    while i < rest.len() {
        let arg = &rest[i];
        if arg == "--" {
            return Ok(()); // operands follow
        }
        if !arg.starts_with('-') || arg == "-" {
            return Err(format!("operand `{arg}` must follow a `--`"));
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (arg.as_str(), None),
        };
        let Some(spec) = specs.iter().find(|s| s.name == name) else {
            return Err(format!("option `{name}` is not among the rule's `options`"));
        };
        match (&spec.value, inline) {
            (None, Some(_)) => return Err(format!("option `{name}` takes no value")),
            (None, None) => {}
            (Some(glob), inline) => {
                let value = match inline {
                    Some(v) => v,
                    None => {
                        i += 1;
                        rest.get(i).map(String::as_str).ok_or_else(|| format!("option `{name}` needs a value"))?
                    }
                };
                if !glob.matches(value) {
                    return Err(format!("value `{value}` of option `{name}` is not allowed"));
                }
            }
        }
        i += 1;
    }
    Ok(())
}

/// The first argument (before `--`) that a deny entry matches.
fn find_denied<'a>(deny: &'a [DenyArg], args: &'a [String]) -> Option<(String, &'a DenyArg)> {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    for (i, arg) in args[..end].iter().enumerate() {
        for d in deny {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (arg.as_str(), None),
            };
            if name != d.flag {
                continue;
            }
            let hit = match (&d.value, inline) {
                (None, _) => true,
                (Some(glob), Some(v)) => glob.matches(v),
                (Some(glob), None) => args.get(i + 1).is_some_and(|next| glob.matches(next)),
            };
            if hit {
                let shown = match (&d.value, inline) {
                    (Some(_), None) => format!("{arg} {}", args[i + 1]),
                    _ => arg.clone(),
                };
                return Some((shown, d));
            }
        }
    }
    None
}

fn suggest_rule(args: &[String], usage: Use) -> String {
    let prefix: Vec<String> = args
        .iter()
        .take_while(|a| !a.starts_with('-'))
        .take(2)
        .map(|a| format!("{a:?}"))
        .chain(std::iter::once("\"**\"".to_string()))
        .collect();
    let interactive = if usage == Use::Interactive { ", interactive = true" } else { "" };
    format!("{{ args = [{}]{interactive} }}", prefix.join(", "))
}

/// `program arg1 arg2`, quoted where needed, for messages.
pub fn render_command(program: &str, args: &[String]) -> String {
    let mut parts = vec![program.to_string()];
    parts.extend(args.iter().map(|a| shlex::try_quote(a).map(|q| q.into_owned()).unwrap_or_else(|_| format!("{a:?}"))));
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(programs: &str) -> Manifest {
        let text = format!("id = \"t\"\nname = \"T\"\nversion = \"1\"\nruntime = \"t\"\n{programs}");
        Manifest::parse(&text, "t/alca-plugin.toml").unwrap()
    }

    fn v(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    fn docker() -> Manifest {
        manifest(
            r#"
[[programs]]
name = "docker"
env = ["DOCKER_HOST"]
deny = ["--privileged", "--network=host", "--network=container:*", "--pid"]
allow = [
  { args = ["version", "--format", "*"] },
  { args = ["ps", "**"] },
  { args = ["container", "create"], options = ["--name=*", "--label=*", "--init", "--restart=unless-stopped", "--network=*"] },
  { args = ["container", "exec"], options = ["--interactive", "--tty", "--env=*"], interactive = true },
]
"#,
        )
    }

    fn ok(m: &Manifest, args: &[&str]) {
        if let Err(d) = check(m, "docker", &v(args), &[], Use::Spawn) {
            panic!("{args:?} should pass: {d}");
        }
    }

    fn denied(m: &Manifest, args: &[&str]) -> String {
        match check(m, "docker", &v(args), &[], Use::Spawn) {
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
        let d = check(&m, "curl", &v(&["https://example.com"]), &[], Use::Spawn).unwrap_err();
        let e = d.to_string();
        assert!(e.contains("\"curl\" is not among the programs"), "{e}");
        assert!(e.contains("[[programs]]\n    name = \"curl\""), "{e}");
        assert!(check(&m, "/usr/bin/docker", &[], &[], Use::Spawn).is_err());
        assert!(check(&m, "", &[], &[], Use::Spawn).is_err());
    }

    #[test]
    fn denied_arguments_in_every_form() {
        let m = docker();
        for args in [
            &["ps", "--privileged"][..],
            &["ps", "--privileged=true"],
            &["ps", "--privileged=false"],
            &["ps", "--network=host"],
            &["ps", "--network", "host"],
            &["ps", "--network=container:abc"],
            &["ps", "--network", "container:abc"],
            &["ps", "--pid=host"],
            &["ps", "--pid", "container:x"],
        ] {
            let e = denied(&m, args);
            assert!(e.contains("is denied by `deny"), "{args:?}: {e}");
        }
        // Other values of a value-specific deny entry pass.
        ok(&m, &["ps", "--network=bridge"]);
        ok(&m, &["ps", "--network", "none"]);
        ok(&m, &["ps", "--networkx=host"]);
    }

    #[test]
    fn operands_after_double_dash_are_free() {
        let m = docker();
        ok(&m, &["ps", "--", "--privileged"]);
        ok(&m, &["container", "exec", "--interactive", "--", "c1", "grep", "--privileged", "--network=host"]);
        // ...but `--` only shields what follows it.
        denied(&m, &["ps", "--privileged", "--", "x"]);
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
        let e = denied(&m, &["container", "create", "--init=true", "--", "img"]);
        assert!(e.contains("takes no value"), "{e}");
        let e = denied(&m, &["container", "create", "--name"]);
        assert!(e.contains("needs a value"), "{e}");
        let e = denied(&m, &["container", "create", "img"]);
        assert!(e.contains("must follow a `--`"), "{e}");
        let e = denied(&m, &["container", "create", "-v", "/:/host", "--", "img"]);
        assert!(e.contains("option `-v`"), "{e}");
        // deny wins over an allowed option
        let e = denied(&m, &["container", "create", "--network", "host", "--", "img"]);
        assert!(e.contains("is denied"), "{e}");
    }

    #[test]
    fn env_keys_must_be_granted() {
        let m = docker();
        assert!(check(&m, "docker", &v(&["ps"]), &["DOCKER_HOST"], Use::Spawn).is_ok());
        let e = check(&m, "docker", &v(&["ps"]), &["LD_PRELOAD"], Use::Spawn).unwrap_err().to_string();
        assert!(e.contains("LD_PRELOAD is not granted"), "{e}");
    }

    #[test]
    fn interactive_needs_an_interactive_rule() {
        let m = docker();
        let exec = v(&["container", "exec", "--interactive", "--tty", "--", "c", "sh"]);
        assert!(check(&m, "docker", &exec, &[], Use::Interactive).is_ok());
        let e = check(&m, "docker", &v(&["ps", "-a"]), &[], Use::Interactive).unwrap_err().to_string();
        assert!(e.contains("not `interactive = true`"), "{e}");
        assert!(e.contains("interactive = true }"), "{e}");
    }

    #[test]
    fn nul_bytes_are_refused() {
        let m = docker();
        assert!(denied(&m, &["ps", "a\0b"]).contains("NUL"));
    }

    #[test]
    fn rule_and_program_timeouts() {
        let m = manifest(
            "[[programs]]\nname = \"docker\"\nmax-timeout-secs = 10\nallow = [{ args = [\"pull\", \"**\"], max-timeout-secs = 99 }, { args = [\"ps\"] }]\n",
        );
        let a = check(&m, "docker", &v(&["pull", "x"]), &[], Use::Spawn).unwrap();
        assert_eq!(a.max_timeout_secs(), 99);
        let a = check(&m, "docker", &v(&["ps"]), &[], Use::Spawn).unwrap();
        assert_eq!(a.max_timeout_secs(), 10);
    }

    #[test]
    fn value_globs() {
        assert!(ValueGlob::parse("a*").unwrap().matches("abc"));
        assert!(ValueGlob::parse("*").unwrap().matches(""));
        assert!(!ValueGlob::parse("abc").unwrap().matches("abcd"));
        assert!(ValueGlob::parse("a*b").is_err());
    }
}
