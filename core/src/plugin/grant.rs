//! Who may spawn what: the one place where a plugin's request to run a
//! process is compared with its grant (the manifest).
//!
//! Rules, in order (the first failure is the answer):
//! 1. the program is a plain name listed under `[[programs]]`;
//! 2. every environment key the plugin sets is in that program's `set-env`
//!    (keys in `env` come from the user's environment, never the plugin);
//! 3. some `allow` rule matches. A rule's positional prefix (`*` is one
//!    argument) is followed either by `**` (anything, unparsed) or by
//!    arguments that are parsed **once**, the way the engine's CLI parses
//!    them, with the rule's option table ([`super::argparse`]). That one
//!    parse says which arguments are options (with their values) and which
//!    are operands, and every check below uses it:
//!    * no option matches the program's `deny` list (defence in depth);
//!    * every option's value matches its pattern, and a value bound to the
//!      request (`{mount}`, `{container}`...) is one alca asked for in the
//!      call in progress ([`super::bind`]);
//!    * the operands match the rule's `operands`;
//!    * a `creates` rule expresses every field of the spec whose omission
//!      would weaken the container; a `lists` rule filters by every label
//!      selector alca asked for;
//! 4. an `exec-plan` (run on the user's terminal) needs a rule with
//!    `interactive = true`.
//!
//! A rule ending in `**` cannot be parsed like the engine, so its `deny`
//! entries are matched against every argument, wherever it stands.

use std::fmt;

use super::argparse::{self, Name, Occurrence, parse_bool};
use super::bind::{self, CallContext, Kind, Placeholder};
use super::manifest::{AllowRule, DenyArg, Manifest, ProgramGrant, Role};
use super::text;

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

/// One component of a path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Literal(String),
    /// `*`: exactly one component.
    One,
    /// `**`: any number of components (last only).
    Any,
}

/// What an option's value (or a denied value) may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValuePattern {
    /// `*`
    Any,
    Exact(String),
    /// `abc*`
    Prefix(String),
    /// `/data/*`, `/data/**`: an absolute path, matched component by
    /// component (never as a string prefix).
    Path(Vec<PathSegment>),
    /// `{mount}`: a value alca asked for in the call in progress.
    Bound(Placeholder),
}

impl ValuePattern {
    pub fn parse(s: &str) -> Result<ValuePattern, String> {
        if let Some(p) = Placeholder::parse(s) {
            return p.map(ValuePattern::Bound);
        }
        if s == "*" {
            return Ok(ValuePattern::Any);
        }
        if let Some(path) = s.strip_prefix('/') {
            let mut segments = Vec::new();
            let parts: Vec<&str> = if path.is_empty() { Vec::new() } else { path.split('/').collect() };
            for (i, part) in parts.iter().enumerate() {
                segments.push(match *part {
                    "**" if i + 1 == parts.len() => PathSegment::Any,
                    "**" => return Err("`**` may only end a path pattern".into()),
                    "*" => PathSegment::One,
                    "" | "." | ".." => return Err(format!("path pattern {s:?} is not in normal form")),
                    p if p.contains('*') => return Err("`*` in a path pattern stands for a whole component".into()),
                    p => PathSegment::Literal(p.to_string()),
                });
            }
            return Ok(ValuePattern::Path(segments));
        }
        match s.find('*') {
            None => Ok(ValuePattern::Exact(s.to_string())),
            Some(i) if i + 1 == s.len() => Ok(ValuePattern::Prefix(s[..i].to_string())),
            Some(_) => Err("`*` may only end a value pattern".into()),
        }
    }

    /// Does `value` match this (unbound) pattern? A path pattern needs a
    /// path in normal form: `/data/../etc` never matches `/data/**`.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            ValuePattern::Any => true,
            ValuePattern::Exact(v) => v == value,
            ValuePattern::Prefix(p) => value.starts_with(p.as_str()),
            ValuePattern::Path(segments) => bind::is_normal_path(value) && path_matches(segments, value),
            ValuePattern::Bound(_) => false,
        }
    }
}

fn path_matches(segments: &[PathSegment], path: &str) -> bool {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let mut i = 0;
    for seg in segments {
        match seg {
            PathSegment::Any => return true,
            PathSegment::One if i < components.len() => i += 1,
            PathSegment::Literal(l) if components.get(i) == Some(&l.as_str()) => i += 1,
            _ => return false,
        }
    }
    i == components.len()
}

/// An option a rule allows, from `"-v|--volume={mount}"`:
/// * `--flag` (boolean, always allowed);
/// * `--flag={tty}` (boolean, allowed when the request's field is true);
/// * `--flag=<pattern>` (takes a value: `*`, `text`, `prefix*`, `/path/*`,
///   or a placeholder such as `{mount}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSpec {
    pub names: Vec<Name>,
    pub takes_value: bool,
    pub pattern: Option<ValuePattern>,
    pub source: String,
}

impl OptionSpec {
    pub fn parse(s: &str) -> Result<OptionSpec, String> {
        let (names, pattern) = match s.split_once('=') {
            Some((names, pattern)) => (names, Some(ValuePattern::parse(pattern)?)),
            None => (s, None),
        };
        let names = names.split('|').map(Name::parse).collect::<Result<Vec<_>, _>>()?;
        let takes_value = match &pattern {
            None => false,
            Some(ValuePattern::Bound(p)) => match p.kind() {
                Kind::Value => true,
                Kind::Bool => false,
                Kind::Rest => return Err(format!("`{p}` stands for the remaining operands, not a value")),
            },
            Some(_) => true,
        };
        Ok(OptionSpec { names, takes_value, pattern, source: s.to_string() })
    }

    /// `--volume` (the first long name), for messages.
    pub fn display_name(&self) -> String {
        self.names.iter().find(|n| matches!(n, Name::Long(_))).unwrap_or(&self.names[0]).to_string()
    }
}

/// What an operand must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperandPattern {
    /// One operand: `*`, a literal, `prefix*`, `/path/**`, or a placeholder
    /// such as `{container}`.
    One(ValuePattern),
    /// `**`: any remaining operands.
    Rest,
    /// `{argv...}`: the remaining operands, bound.
    BoundRest(Placeholder),
}

impl OperandPattern {
    pub fn parse(s: &str) -> Result<OperandPattern, String> {
        if s == "**" {
            return Ok(OperandPattern::Rest);
        }
        match ValuePattern::parse(s)? {
            ValuePattern::Bound(p) => match p.kind() {
                Kind::Value => Ok(OperandPattern::One(ValuePattern::Bound(p))),
                Kind::Rest => Ok(OperandPattern::BoundRest(p)),
                Kind::Bool => Err(format!("`{p}` is a boolean and cannot be an operand")),
            },
            other => Ok(OperandPattern::One(other)),
        }
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

/// A refusal: what was refused, why, and what to do. Every text in it is
/// bounded and free of control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub plugin: String,
    pub command: String,
    pub reason: String,
    /// For the user: may name files on this machine.
    pub grant_hint: String,
}

impl Denial {
    pub(crate) fn new(plugin: &str, program: &str, args: &[String], reason: String, grant_hint: String) -> Denial {
        Denial {
            plugin: text::line(plugin),
            command: render_command(program, args),
            reason: text::line(&reason),
            grant_hint: text::block(&grant_hint),
        }
    }

    /// What the plugin is told: no paths of this machine, no hint.
    pub fn for_plugin(&self) -> String {
        format!("alca refused `{}`: {}", self.command, self.reason)
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plugin `{}` may not run `{}`: {}. {}", self.plugin, self.command, self.reason, self.grant_hint)
    }
}

/// Arguments of one command, in bytes (Linux's own limit is about 2 MiB).
pub const MAX_ARGV_BYTES: usize = 1024 * 1024;

const NOT_IN_REQUEST: &str = "alca never runs a command with a value it did not ask for; this is a bug in the plugin or an attempt to escape its sandbox.";

/// Checks one request against `manifest`, in the call described by `ctx`.
/// `env_keys` are the variables the plugin sets itself.
pub fn check<'m>(
    manifest: &'m Manifest,
    program: &str,
    args: &[String],
    env_keys: &[&str],
    usage: Use,
    ctx: &CallContext,
) -> Result<Allowed<'m>, Denial> {
    let deny = |reason: String, hint: String| Denial::new(&manifest.id, program, args, reason, hint);
    if program.is_empty() || program.contains(['/', '\\', '\0']) {
        return Err(deny(
            format!("{program:?} is not a logical program name"),
            "Plugins name programs as listed in their manifest (e.g. \"docker\"), never by path.".into(),
        ));
    }
    if let Some(bad) = args.iter().find(|a| a.contains('\0')) {
        return Err(deny(format!("argument {bad:?} contains a NUL byte"), "No grant allows that.".into()));
    }
    let argv_bytes: usize = args.iter().map(|a| a.len() + 1).sum::<usize>() + program.len();
    if argv_bytes > MAX_ARGV_BYTES {
        return Err(deny(
            format!("its arguments are too large ({argv_bytes} bytes; at most {MAX_ARGV_BYTES})"),
            "No grant allows that.".into(),
        ));
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
        if !grant.set_env.contains(*key) {
            let why = if grant.env.contains(*key) {
                format!("environment variable {key} comes from the user's environment; the plugin may not set it")
            } else {
                format!("environment variable {key} is not granted for {program:?}")
            };
            return Err(deny(
                why,
                format!("A plugin may set only the keys in `set-env` of program {program:?} in {}.", manifest.origin),
            ));
        }
    }

    let mut near_miss: Option<(String, Hint)> = None;
    for rule in &grant.allow {
        match match_rule(rule, &grant.deny, args, ctx) {
            Ok(()) if usage == Use::Interactive && !rule.interactive => {
                near_miss.get_or_insert_with(|| {
                    (
                        format!(
                            "it matches {} but that rule is not `interactive = true`, so it may not run on the terminal",
                            rule.source
                        ),
                        Hint::Suggest,
                    )
                });
            }
            Ok(()) => return Ok(Allowed { program: grant, rule }),
            Err(Miss::Prefix) => {}
            Err(Miss::Denied(arg, entry)) => {
                return Err(deny(
                    format!("argument `{arg}` is denied by `deny = [{:?}]` of program {program:?}", entry.source),
                    format!("alca never runs it while {} denies it.", manifest.origin),
                ));
            }
            Err(Miss::Args(why)) => {
                near_miss.get_or_insert_with(|| (format!("{why} (rule {})", rule.source), Hint::Describe));
            }
            Err(Miss::Request(why)) => {
                near_miss.get_or_insert((why, Hint::NotInRequest));
            }
        }
    }
    let (reason, hint) = near_miss
        .unwrap_or_else(|| (format!("no `allow` rule of program {program:?} matches these arguments"), Hint::Suggest));
    let hint = match hint {
        Hint::NotInRequest => NOT_IN_REQUEST.to_string(),
        Hint::Describe => format!(
            "alca runs nothing its grant does not describe. If the plugin really needs this, its author can describe it in that rule of program {program:?} in {}.",
            manifest.origin
        ),
        Hint::Suggest => format!(
            "A rule that would allow it, under program {program:?} in {}: {}",
            manifest.origin,
            suggest_rule(args, usage)
        ),
    };
    Err(deny(reason, hint))
}

/// What a refusal suggests.
enum Hint {
    /// A rule to add (the command matches no rule at all).
    Suggest,
    /// The command has the wrong shape for the rule it resembles.
    Describe,
    /// A value is not what alca asked for: nothing to add.
    NotInRequest,
}

enum Miss<'m> {
    /// The positional prefix does not match.
    Prefix,
    /// The arguments do not fit the rule's shape.
    Args(String),
    /// A value is not what alca asked for.
    Request(String),
    /// An argument is on the deny list.
    Denied(String, &'m DenyArg),
}

fn match_rule<'m>(rule: &AllowRule, deny: &'m [DenyArg], args: &[String], ctx: &CallContext) -> Result<(), Miss<'m>> {
    let mut i = 0;
    for pattern in &rule.args {
        match pattern {
            Pattern::Rest => break,
            Pattern::Any if i < args.len() => i += 1,
            Pattern::Literal(lit) if args.get(i) == Some(lit) => i += 1,
            _ => return Err(Miss::Prefix),
        }
    }
    let rest = &args[i..];
    if rule.free {
        return match find_denied_unparsed(deny, args) {
            Some((arg, d)) => Err(Miss::Denied(arg, d)),
            None => Ok(()),
        };
    }

    let parsed = argparse::parse(rest, &rule.flags, rule.interspersed).map_err(|e| Miss::Args(e.to_string()))?;
    for occ in &parsed.options {
        if let Some(d) = deny.iter().find(|d| denies(d, rule, occ)) {
            return Err(Miss::Denied(shown(occ), d));
        }
    }

    let mut given: Vec<(Placeholder, String)> = Vec::new();
    for occ in &parsed.options {
        let spec = &rule.options[occ.flag];
        let bad = |why: String| format!("`{}`: {why}", shown(occ));
        match (&spec.pattern, &occ.value) {
            (Some(ValuePattern::Bound(p)), value) if !spec.takes_value => {
                let on = value.as_deref().and_then(parse_bool).unwrap_or(true);
                bind::check_flag(*p, on, ctx).map_err(|e| Miss::Request(bad(e)))?;
                if on {
                    given.push((*p, "true".into()));
                }
            }
            (Some(ValuePattern::Bound(p)), Some(value)) => {
                bind::check_value(*p, value, ctx).map_err(|e| Miss::Request(bad(e)))?;
                given.push((*p, value.clone()));
            }
            (Some(pattern), Some(value)) if !pattern.matches(value) => {
                return Err(Miss::Args(bad(format!(
                    "value `{value}` of option `{}` is not allowed",
                    spec.display_name()
                ))));
            }
            _ => {}
        }
    }

    match_operands(&rule.operands, &parsed.operands, ctx, &mut given)?;
    match rule.role {
        Role::Plain | Role::Network => Ok(()),
        Role::Creates => bind::check_complete(&given, ctx).map_err(Miss::Request),
        Role::Lists => bind::check_selectors_complete(&given, ctx).map_err(Miss::Request),
        // The engine cannot filter: alca filters its output itself.
        Role::ListsJson(_) => match &ctx.request {
            crate::plugin::bind::Request::List(_) => Ok(()),
            _ => Err(Miss::Request(ctx.lacks("label selector"))),
        },
    }
}

/// Operands bound to `{label-filter}` are added to `given`: ctr takes its
/// listing filter as an operand. No other placeholder counts as expressed
/// when it is an operand: a capability drop or a network written where the
/// engine reads an image or a command would satisfy the completeness check
/// of a `creates` rule without the engine ever applying it.
fn match_operands(
    patterns: &[OperandPattern],
    operands: &[String],
    ctx: &CallContext,
    given: &mut Vec<(Placeholder, String)>,
) -> Result<(), Miss<'static>> {
    let mut i = 0;
    for pattern in patterns {
        match pattern {
            OperandPattern::Rest => return Ok(()),
            OperandPattern::BoundRest(p) => {
                return bind::check_rest(*p, &operands[i.min(operands.len())..], ctx).map_err(Miss::Request);
            }
            _ => {}
        }
        let Some(operand) = operands.get(i) else {
            return Err(Miss::Args(format!(
                "an operand is missing (the rule expects {})",
                describe_operands(patterns)
            )));
        };
        match pattern {
            OperandPattern::One(ValuePattern::Bound(p)) => {
                bind::check_value(*p, operand, ctx).map_err(|e| Miss::Request(format!("operand `{operand}`: {e}")))?;
                if *p == Placeholder::LabelFilter {
                    given.push((*p, operand.clone()));
                }
            }
            OperandPattern::One(p) if p.matches(operand) => {}
            OperandPattern::One(_) => {
                return Err(Miss::Args(format!(
                    "operand `{operand}` does not match the rule's operands {}",
                    describe_operands(patterns)
                )));
            }
            OperandPattern::Rest | OperandPattern::BoundRest(_) => unreachable!("handled above"),
        }
        i += 1;
    }
    match operands.get(i) {
        None => Ok(()),
        Some(extra) if patterns.is_empty() => Err(Miss::Args(format!("operand `{extra}` is not allowed by the rule"))),
        Some(extra) => Err(Miss::Args(format!(
            "operand `{extra}` is one too many (the rule expects {})",
            describe_operands(patterns)
        ))),
    }
}

fn describe_operands(patterns: &[OperandPattern]) -> String {
    let shown: Vec<String> = patterns
        .iter()
        .map(|p| match p {
            OperandPattern::One(ValuePattern::Any) => "\"*\"".into(),
            OperandPattern::One(ValuePattern::Exact(l)) => format!("{l:?}"),
            OperandPattern::One(ValuePattern::Prefix(l)) => format!("\"{l}*\""),
            OperandPattern::One(ValuePattern::Path(segments)) => {
                let parts: Vec<&str> = segments
                    .iter()
                    .map(|s| match s {
                        PathSegment::Literal(l) => l.as_str(),
                        PathSegment::One => "*",
                        PathSegment::Any => "**",
                    })
                    .collect();
                format!("\"/{}\"", parts.join("/"))
            }
            OperandPattern::One(ValuePattern::Bound(p)) | OperandPattern::BoundRest(p) => format!("\"{p}\""),
            OperandPattern::Rest => "\"**\"".into(),
        })
        .collect();
    format!("[{}]", shown.join(", "))
}

/// `--volume /:/host`, for messages.
fn shown(occ: &Occurrence) -> String {
    match &occ.value {
        Some(v) => format!("{} {v}", occ.spelled),
        None => occ.spelled.clone(),
    }
}

/// Does deny entry `d` match this parsed option?
fn denies(d: &DenyArg, rule: &AllowRule, occ: &Occurrence) -> bool {
    let spec = &rule.options[occ.flag];
    if !spec.names.contains(&d.name) {
        return false;
    }
    let Some(pattern) = &d.value else { return true };
    if !spec.takes_value {
        // `--privileged=false` is not denied by a deny entry `--privileged=true`.
        let given = occ.value.as_deref().and_then(parse_bool).unwrap_or(true);
        return match pattern {
            ValuePattern::Exact(v) => parse_bool(v) == Some(given),
            other => other.matches(if given { "true" } else { "false" }),
        };
    }
    let value = occ.value.as_deref().unwrap_or_default();
    match &spec.pattern {
        // Capabilities compare as the engine compares them.
        Some(ValuePattern::Bound(Placeholder::CapAdd | Placeholder::CapDrop | Placeholder::CapDropEach)) => {
            match pattern {
                ValuePattern::Exact(v) => bind::capability(v) == bind::capability(value),
                other => other.matches(&bind::capability(value)),
            }
        }
        _ => match pattern {
            ValuePattern::Path(_) => value.starts_with('/') && pattern.matches(&crate::fsutil::lexical(value)),
            other => other.matches(value),
        },
    }
}

/// For a rule ending in `**` (no parse possible): the first argument,
/// anywhere, that a deny entry matches as `--flag`, `--flag=value` or the
/// pair `--flag value`; a short entry `-x` also matches inside a cluster.
fn find_denied_unparsed<'a>(deny: &'a [DenyArg], args: &[String]) -> Option<(String, &'a DenyArg)> {
    for (i, arg) in args.iter().enumerate() {
        for d in deny {
            let hit = match &d.name {
                Name::Long(name) => {
                    let flag = format!("--{name}");
                    let (head, inline) = match arg.split_once('=') {
                        Some((h, v)) => (h, Some(v)),
                        None => (arg.as_str(), None),
                    };
                    head == flag
                        && match (&d.value, inline) {
                            (None, _) => true,
                            (Some(p), Some(v)) => p.matches(v),
                            (Some(p), None) => args.get(i + 1).is_some_and(|next| p.matches(next)),
                        }
                }
                Name::Short(c) => arg.starts_with('-') && !arg.starts_with("--") && arg[1..].contains(*c),
            };
            if hit {
                let shown = match (&d.value, arg.contains('=')) {
                    (Some(_), false) => format!("{arg} {}", args.get(i + 1).map(String::as_str).unwrap_or("")),
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

/// At most this much of a command line is rendered in a message.
const MAX_RENDERED: usize = 2048;

/// `program arg1 arg2`, quoted where needed, control characters escaped,
/// bounded: for messages and logs.
pub fn render_command(program: &str, args: &[String]) -> String {
    let mut out = quote(program);
    for (i, a) in args.iter().enumerate() {
        if out.len() > MAX_RENDERED {
            out.push_str(&format!(" … ({} more arguments)", args.len() - i));
            break;
        }
        out.push(' ');
        out.push_str(&quote(a));
    }
    out
}

fn quote(a: &str) -> String {
    let a = text::clean(a, false, MAX_RENDERED);
    shlex::try_quote(&a).map(|q| q.into_owned()).unwrap_or_else(|_| format!("{a:?}"))
}

#[cfg(test)]
mod tests;
