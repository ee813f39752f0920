//! One parse of an argument vector, the way docker and podman read it.
//!
//! Both CLIs use cobra and pflag, and a checker that decides what an argv
//! means must read it exactly as they do (container-cli-contracts §2.7):
//!
//! * a long option that takes a value takes `--opt=v`, or the **next
//!   argument whatever it looks like** (`--label --` sets the label `--`);
//! * a literal `--` ends the options only where an option is expected;
//! * a short option that takes a value takes the rest of its cluster
//!   (`-v/a:/b`, `-v=/a:/b`) or the next argument (`-v /a:/b`); clusters
//!   expand (`-itv/a:/b` is `-i -t -v /a:/b`);
//! * boolean options never take a separate value (`--init=false` works,
//!   `--init false` makes `false` an operand);
//! * no abbreviations; `-` alone and the empty string are operands;
//! * commands that are not "interspersed" (`create`, `run`, `exec`) stop
//!   reading options at the first operand: the rest is the container's
//!   command line.
//!
//! The parse knows only the options of the matched rule's table: anything
//! else is an unknown option, and the request is refused. That is what
//! makes one parse enough: alca never has to guess whether an option it
//! does not know takes a value.

use std::fmt;

/// One spelling of an option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    /// `--volume` (stored without the dashes).
    Long(String),
    /// `-v`.
    Short(char),
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Long(n) => write!(f, "--{n}"),
            Name::Short(c) => write!(f, "-{c}"),
        }
    }
}

impl Name {
    /// Parses `--volume` or `-v`.
    pub fn parse(s: &str) -> Result<Name, String> {
        if let Some(long) = s.strip_prefix("--") {
            let ok = long.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && long.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            return if ok {
                Ok(Name::Long(long.to_string()))
            } else {
                Err(format!("`{s}` is not a valid option name"))
            };
        }
        let mut chars = s.strip_prefix('-').unwrap_or("").chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_alphanumeric() => Ok(Name::Short(c)),
            _ => Err(format!("`{s}` is not an option name (`--long` or `-x`)")),
        }
    }
}

/// What the parser needs to know about one option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub names: Vec<Name>,
    pub takes_value: bool,
}

/// One option as it appeared in the argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// Index of the option in the table.
    pub flag: usize,
    /// How it was spelled (`-v`, `--volume`), for messages.
    pub spelled: String,
    /// The value: for a value option, always; for a boolean, only when
    /// written `--flag=<bool>`.
    pub value: Option<String>,
}

/// Where the parse put every argument.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    pub options: Vec<Occurrence>,
    pub operands: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// An option the table does not have (as written, e.g. `--privileged`).
    Unknown(String),
    /// A value option at the very end of the argv.
    MissingValue(String),
    /// `---x`, `--=x`: pflag refuses these.
    BadSyntax(String),
    /// `--init=maybe`: a boolean with a value that is not a boolean.
    NotABool { option: String, value: String },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Unknown(o) => write!(f, "option `{o}` is not among the rule's `options`"),
            ParseError::MissingValue(o) => write!(f, "option `{o}` needs a value"),
            ParseError::BadSyntax(a) => write!(f, "`{a}` is not valid option syntax"),
            ParseError::NotABool { option, value } => {
                write!(f, "option `{option}` takes no value (`{value}` is not true or false)")
            }
        }
    }
}

/// pflag's `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn find(flags: &[Flag], name: &Name) -> Option<usize> {
    flags.iter().position(|f| f.names.contains(name))
}

/// Parses `args` (what follows the rule's positional prefix) with `flags`.
pub fn parse(args: &[String], flags: &[Flag], interspersed: bool) -> Result<Parsed, ParseError> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let s = args[i].as_str();
        i += 1;
        if s.len() < 2 || !s.starts_with('-') {
            out.operands.push(s.to_string());
            if !interspersed {
                out.operands.extend(args[i..].iter().cloned());
                return Ok(out);
            }
            continue;
        }
        if let Some(rest) = s.strip_prefix("--") {
            if rest.is_empty() {
                out.operands.extend(args[i..].iter().cloned());
                return Ok(out);
            }
            if rest.starts_with(['-', '=']) {
                return Err(ParseError::BadSyntax(s.to_string()));
            }
            let (name, inline) = match rest.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (rest, None),
            };
            let spelled = format!("--{name}");
            let flag =
                find(flags, &Name::Long(name.to_string())).ok_or_else(|| ParseError::Unknown(spelled.clone()))?;
            let value = if flags[flag].takes_value {
                match inline {
                    Some(v) => Some(v.to_string()),
                    None => {
                        let v = args.get(i).ok_or_else(|| ParseError::MissingValue(spelled.clone()))?;
                        i += 1;
                        Some(v.clone())
                    }
                }
            } else {
                if let Some(v) = inline
                    && parse_bool(v).is_none()
                {
                    return Err(ParseError::NotABool { option: spelled, value: v.to_string() });
                }
                inline.map(str::to_string)
            };
            out.options.push(Occurrence { flag, spelled, value });
            continue;
        }
        // A cluster of short options: -itv/tmp:/y
        let mut shorts = &s[1..];
        while let Some(c) = shorts.chars().next() {
            let after = &shorts[c.len_utf8()..];
            let spelled = format!("-{c}");
            let flag = find(flags, &Name::Short(c)).ok_or_else(|| ParseError::Unknown(spelled.clone()))?;
            let eq_value = (after.len() > 1 && after.starts_with('=')).then(|| &after[1..]);
            if flags[flag].takes_value {
                let value = if let Some(v) = eq_value {
                    v.to_string()
                } else if !after.is_empty() {
                    after.to_string()
                } else {
                    let v = args.get(i).ok_or_else(|| ParseError::MissingValue(spelled.clone()))?;
                    i += 1;
                    v.clone()
                };
                out.options.push(Occurrence { flag, spelled, value: Some(value) });
                break;
            }
            match eq_value {
                Some(v) => {
                    if parse_bool(v).is_none() {
                        return Err(ParseError::NotABool { option: spelled, value: v.to_string() });
                    }
                    out.options.push(Occurrence { flag, spelled, value: Some(v.to_string()) });
                    break;
                }
                None => {
                    out.options.push(Occurrence { flag, spelled, value: None });
                    shorts = after;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(names: &[&str], takes_value: bool) -> Flag {
        Flag { names: names.iter().map(|n| Name::parse(n).unwrap()).collect(), takes_value }
    }

    fn table() -> Vec<Flag> {
        vec![
            flag(&["-v", "--volume"], true),
            flag(&["--label", "-l"], true),
            flag(&["-i", "--interactive"], false),
            flag(&["-t", "--tty"], false),
            flag(&["--init"], false),
        ]
    }

    fn v(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    /// (option index, value) pairs and operands.
    fn p(args: &[&str], interspersed: bool) -> (Vec<(usize, Option<String>)>, Vec<String>) {
        let parsed = parse(&v(args), &table(), interspersed).unwrap();
        (parsed.options.into_iter().map(|o| (o.flag, o.value)).collect(), parsed.operands)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn a_value_option_takes_the_next_argument_whatever_it_is() {
        // `--label --` sets the label `--`; `--network=host` is then an
        // option again (and unknown to this table), not an operand.
        assert_eq!(
            parse(&v(&["--label", "--", "--network=host", "img"]), &table(), true),
            Err(ParseError::Unknown("--network".into()))
        );
        let (opts, ops) = p(&["--label", "--", "-i", "img"], true);
        assert_eq!(opts, vec![(1, some("--")), (2, None)]);
        assert_eq!(ops, v(&["img"]));
        let (opts, ops) = p(&["--label", "--network=host", "img"], true);
        assert_eq!(opts, vec![(1, some("--network=host"))]);
        assert_eq!(ops, v(&["img"]));
    }

    #[test]
    fn double_dash_ends_options_only_where_an_option_is_expected() {
        let (opts, ops) = p(&["--init", "--", "--label", "x"], true);
        assert_eq!(opts, vec![(4, None)]);
        assert_eq!(ops, v(&["--label", "x"]));
        let (opts, ops) = p(&["-l", "--", "--", "-i"], true);
        assert_eq!(opts, vec![(1, some("--"))]);
        assert_eq!(ops, v(&["-i"]));
    }

    #[test]
    fn short_option_spellings() {
        for args in [&["-v", "/a:/b"][..], &["-v/a:/b"], &["-v=/a:/b"], &["--volume=/a:/b"], &["--volume", "/a:/b"]] {
            let (opts, _) = p(args, true);
            assert_eq!(opts, vec![(0, some("/a:/b"))], "{args:?}");
        }
        let (opts, ops) = p(&["-itv/tmp:/y", "img"], true);
        assert_eq!(opts, vec![(2, None), (3, None), (0, some("/tmp:/y"))]);
        assert_eq!(ops, v(&["img"]));
        let (opts, _) = p(&["-it", "-v", "x"], true);
        assert_eq!(opts, vec![(2, None), (3, None), (0, some("x"))]);
        // `-v=` alone is the value `=` (pflag: len(shorthands) > 2 is false).
        let (opts, _) = p(&["-v="], true);
        assert_eq!(opts, vec![(0, some("="))]);
        // -i=false: a boolean cluster member with an explicit value.
        let (opts, _) = p(&["-i=false"], true);
        assert_eq!(opts, vec![(2, some("false"))]);
        assert_eq!(
            parse(&v(&["-i=maybe"]), &table(), true),
            Err(ParseError::NotABool { option: "-i".into(), value: "maybe".into() })
        );
        assert_eq!(parse(&v(&["-ix"]), &table(), true), Err(ParseError::Unknown("-x".into())));
        assert_eq!(parse(&v(&["-i="]), &table(), true), Err(ParseError::Unknown("-=".into())));
    }

    #[test]
    fn booleans_never_take_a_separate_value() {
        let (opts, ops) = p(&["--init", "true"], true);
        assert_eq!(opts, vec![(4, None)]);
        assert_eq!(ops, v(&["true"]));
        let (opts, _) = p(&["--init=false"], true);
        assert_eq!(opts, vec![(4, some("false"))]);
        assert!(matches!(parse(&v(&["--init=yes"]), &table(), true), Err(ParseError::NotABool { .. })));
    }

    #[test]
    fn interspersed_or_not() {
        let (opts, ops) = p(&["img", "--init", "x"], true);
        assert_eq!(opts, vec![(4, None)]);
        assert_eq!(ops, v(&["img", "x"]));
        let (opts, ops) = p(&["--init", "img", "--privileged", "-v", "/:/h"], false);
        assert_eq!(opts, vec![(4, None)]);
        assert_eq!(ops, v(&["img", "--privileged", "-v", "/:/h"]));
    }

    #[test]
    fn operands_unknowns_and_bad_syntax() {
        let (_, ops) = p(&["-", ""], true);
        assert_eq!(ops, v(&["-", ""]));
        assert_eq!(parse(&v(&["--priv"]), &table(), true), Err(ParseError::Unknown("--priv".into())));
        assert_eq!(parse(&v(&["---label", "x"]), &table(), true), Err(ParseError::BadSyntax("---label".into())));
        assert_eq!(parse(&v(&["--=x"]), &table(), true), Err(ParseError::BadSyntax("--=x".into())));
        assert_eq!(parse(&v(&["--label"]), &table(), true), Err(ParseError::MissingValue("--label".into())));
        assert_eq!(parse(&v(&["-v"]), &table(), true), Err(ParseError::MissingValue("-v".into())));
        // No abbreviations, exact names only.
        assert_eq!(parse(&v(&["--vol=x"]), &table(), true), Err(ParseError::Unknown("--vol".into())));
    }

    #[test]
    fn names() {
        assert_eq!(Name::parse("--cap-add"), Ok(Name::Long("cap-add".into())));
        assert_eq!(Name::parse("-v"), Ok(Name::Short('v')));
        for bad in ["-", "--", "-vv", "---x", "--a b", "v", "--=", "-é"] {
            assert!(Name::parse(bad).is_err(), "{bad}");
        }
    }
}
