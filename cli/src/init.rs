//! `alca init`: the questions (which template, which preset files, whether
//! to overwrite) and the rendering; the writing is `alca_core::ops`.

use std::io::IsTerminal;
use std::process::ExitCode;

use alca_core::ops::{self, InitError, InitReport, PresetChoice, PresetFetch, Template};
use alca_core::plugin::text;
use alca_core::{Alca, Error};

use crate::render::{self, out_line as out, safe_line as safe};

/// What `alca init` was asked for.
pub struct InitArgs {
    pub template: Option<String>,
    pub source: Option<String>,
    pub update: bool,
    pub json: bool,
}

/// `-t`'s values, with what each template is (for `--help` and completions).
pub fn template_parser() -> clap::builder::PossibleValuesParser {
    let mut values: Vec<clap::builder::PossibleValue> = Vec::new();
    for name in Template::names() {
        let help = Template::from_name(name).map(|t| t.description()).unwrap_or_default();
        let help = help.split_once(" - ").map_or(help, |(_, h)| h);
        values.push(clap::builder::PossibleValue::new(name).help(help));
    }
    clap::builder::PossibleValuesParser::new(values)
}

/// Whether there is someone to ask: stdin and stderr (where the prompts
/// are drawn) are both terminals.
fn terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// `alca init [-t NAME] [git+URL] [--update] [--json]`.
pub async fn init(alca: &Alca, args: InitArgs) -> Result<ExitCode, Error> {
    match run(alca, &args).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: {}", text::block(&e.message));
            if let Some(hint) = &e.hint {
                for (i, line) in text::block(hint).lines().enumerate() {
                    eprintln!("{}{line}", if i == 0 { "hint: " } else { "      " });
                }
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn run(alca: &Alca, args: &InitArgs) -> Result<(), InitError> {
    let reporter = render::Progress { quiet: args.json };
    if args.update {
        let report = ops::init_update(alca, &reporter).await?;
        show(&report, args.json, &alca.cwd);
        return Ok(());
    }
    if let Some(source) = &args.source {
        if !source.starts_with("git+") {
            return Err(InitError::new(format!(
                "{:?} is not a preset URL: preset URLs start with `git+`",
                safe(source)
            ))
            .hint(
                "e.g. alca init git+https://github.com/me/presets, or alca init -t <template> for a new .alca.toml",
            ));
        }
        let fetched = ops::preset_fetch(alca, source, &reporter).await?;
        let choices = choose(&fetched, args.json)?;
        let report = ops::preset_write(alca, fetched, &choices, &reporter).await?;
        show(&report, args.json, &alca.cwd);
        return Ok(());
    }
    // Refuse before asking anything.
    ops::init_check(&alca.cwd)?;
    let template = match &args.template {
        Some(name) => Template::from_name(name)?,
        None => ask_template()?,
    };
    let report = ops::init_template(&alca.cwd, template)?;
    show(&report, args.json, &alca.cwd);
    Ok(())
}

fn ask_template() -> Result<Template, InitError> {
    let names = Template::names().join(", ");
    if !terminal() {
        return Err(InitError::new(format!(
            "no template given, and no terminal to choose one on; pass -t <name> (one of: {names})"
        ))
        .hint("e.g. alca init -t alpine"));
    }
    let items: Vec<&str> = Template::ALL.iter().map(|t| t.description()).collect();
    let picked = dialoguer::Select::new().with_prompt("Select a template").items(&items).default(0).interact_opt();
    match picked {
        Ok(Some(i)) => Ok(Template::ALL[i]),
        Ok(None) => Err(InitError::new("template selection cancelled")),
        Err(e) => Err(InitError::new(format!("template selection cancelled: {e}"))),
    }
}

/// Which files to write and which existing ones to replace: asked on a
/// terminal; without one, every file but the `.example` ones, replacing
/// none.
fn choose(fetched: &PresetFetch, json: bool) -> Result<Vec<PresetChoice>, InitError> {
    if !terminal() {
        let examples: Vec<&str> = fetched.files.iter().filter(|f| f.example).map(|f| f.name.as_str()).collect();
        if !examples.is_empty() && !json {
            eprintln!(
                "note: not downloading the example file{} {} (run on a terminal to choose them)",
                if examples.len() == 1 { "" } else { "s" },
                safe(&examples.join(", "))
            );
        }
        return Ok(fetched
            .files
            .iter()
            .filter(|f| !f.example)
            .map(|f| PresetChoice { name: f.name.clone(), overwrite: false })
            .collect());
    }
    let labels: Vec<String> = fetched
        .files
        .iter()
        .map(|f| {
            let mut label = safe(&f.name);
            if f.example {
                label.push_str(" (example file — .example suffix kept)");
            }
            if f.exists {
                label.push_str(" [exists here]");
            }
            label
        })
        .collect();
    let defaults: Vec<bool> = fetched.files.iter().map(|f| !f.example).collect();
    let picked = dialoguer::MultiSelect::new()
        .with_prompt("Select preset files to download (space toggles, enter confirms)")
        .items(&labels)
        .defaults(&defaults)
        .interact_opt();
    let picked = match picked {
        Ok(Some(p)) => p,
        Ok(None) => return Err(InitError::new("preset selection cancelled")),
        Err(e) => return Err(InitError::new(format!("preset selection cancelled: {e}"))),
    };
    let mut choices = Vec::new();
    for i in picked {
        let f = &fetched.files[i];
        let overwrite = f.exists
            && dialoguer::Confirm::new()
                .with_prompt(format!("File {} already exists. Overwrite?", safe(&f.name)))
                .default(false)
                .interact()
                .map_err(|e| InitError::new(format!("cancelled: {e}")))?;
        choices.push(PresetChoice { name: f.name.clone(), overwrite });
    }
    Ok(choices)
}

/// The report: JSON, or one line per file on stdout (warnings and skipped
/// files were reported on stderr as they happened).
fn show(r: &InitReport, json: bool, cwd: &std::path::Path) {
    if json {
        render::json(r);
        return;
    }
    match r.mode.as_str() {
        "template" => {
            if let Some(g) = r.gitignore.as_ref().filter(|g| !g.added.is_empty()) {
                let verb = if g.created { "Created" } else { "Updated" };
                out(&format!("✓ {verb} {}: added {}", safe(&g.path.display().to_string()), g.added.join(", ")));
            }
            for f in &r.files {
                out(&format!("✓ Created {}", safe(&f.path.display().to_string())));
            }
            out("Edit this file to customize your container settings.");
        }
        "preset" => {
            for f in &r.files {
                let how = if f.action == "overwritten" { ", replacing the file that was there" } else { "" };
                out(&format!("✓ Downloaded {} ({}{how})", safe(&f.name), from(f)));
            }
            if r.files.is_empty() {
                out("No preset files were written.");
            }
        }
        _ => {
            for f in &r.files {
                match f.action.as_str() {
                    "updated" => out(&format!("✓ Updated {} ({})", safe(&f.name), from(f))),
                    _ => out(&format!("  {} is up to date ({})", safe(&f.name), from(f))),
                }
            }
            if r.files.is_empty() && r.skipped.is_empty() {
                out(&format!(
                    "No preset files in {} come from a git repository (their first lines carry no `{}` comment); nothing to update.",
                    safe(&cwd.display().to_string()),
                    alca_core::preset::SOURCE_PREFIX.trim_start_matches("# ").trim_end()
                ));
            }
        }
    }
}

/// `<path> at <commit>`, from a written file's source.
fn from(f: &ops::WrittenFile) -> String {
    let Some(source) = &f.source else { return String::new() };
    let Some((_, fragment)) = source.rsplit_once('#') else { return safe(source) };
    match fragment.split_once(':') {
        Some((commit, path)) => format!("{} at commit {}", safe(path), alca_core::preset::short(commit)),
        None => safe(fragment),
    }
}
