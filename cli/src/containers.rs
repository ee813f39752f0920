//! `alca list`, `alca cleanup` (prompts and rendering; the finding and
//! removing is `alca_core::ops`), `alca completion` and `alca man`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use alca_core::ops::{self, ListedContainer, Orphan, Removal, UnavailableRuntime};
use alca_core::plugin::text;
use alca_core::{Alca, Error};

use crate::render::{self, out_line as out, safe_line as safe};

/// `alca list [--json]`.
pub async fn list(alca: &Alca, runtimes: &[String], json: bool) -> Result<ExitCode, Error> {
    let report = ops::list(alca, runtimes).await?;
    if json {
        render::json(&report);
        return Ok(ExitCode::SUCCESS);
    }
    unavailable_notes(&report.unavailable);
    if report.containers.is_empty() {
        out("No alca containers found.");
    } else {
        for line in list_table(&report.containers) {
            out(&line);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One note (on stderr) per runtime that could not be asked.
fn unavailable_notes(unavailable: &[UnavailableRuntime]) {
    for u in unavailable {
        eprintln!("note: runtime `{}` was not asked for its containers: {}", safe(&u.runtime), safe(&u.reason));
    }
}

/// The engine's creation time, shortened to `YYYY-MM-DD HH:MM:SS`.
fn created(c: &ListedContainer) -> String {
    match &c.created {
        Some(t) => safe(&t.chars().take(19).collect::<String>().replacen('T', " ", 1)),
        None => "-".into(),
    }
}

/// Columns padded to their widest cell, two spaces apart.
fn table(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < row.len() {
                    line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
                }
            }
            line
        })
        .collect()
}

/// `NAME  RUNTIME  STATUS  PROJECT ID  PROJECT PATH  CREATED`, one row per
/// container (the project id cut to 12 characters, as the reference does).
pub fn list_table(containers: &[ListedContainer]) -> Vec<String> {
    let mut rows =
        vec![["NAME", "RUNTIME", "STATUS", "PROJECT ID", "PROJECT PATH", "CREATED"].map(String::from).to_vec()];
    for c in containers {
        rows.push(vec![
            safe(&c.name),
            safe(&c.runtime),
            safe(&c.state),
            safe(&c.project_id.chars().take(12).collect::<String>()),
            c.project_path.as_deref().map(safe).unwrap_or_else(|| "(unknown)".into()),
            created(c),
        ]);
    }
    table(&rows)
}

/// The orphans, numbered, with their path and reason.
fn orphan_lines(orphans: &[Orphan]) -> Vec<String> {
    let mut lines = vec![format!("Found {} orphan container(s):", orphans.len()), String::new()];
    for (i, o) in orphans.iter().enumerate() {
        let c = &o.container;
        lines.push(format!("  [{}] {} ({}, {})", i + 1, safe(&c.name), safe(&c.runtime), safe(&c.state)));
        lines
            .push(format!("      Path: {}", c.project_path.as_deref().map(safe).unwrap_or_else(|| "(no path)".into())));
        lines.push(format!("      Reason: {}", safe(&o.reason)));
        lines.push(String::new());
    }
    lines
}

/// `alca cleanup [--all] [--yes] [--json]`: never removes a container
/// without the user's consent (the selection on a terminal, or `--yes`).
pub async fn cleanup(alca: &Alca, all: bool, yes: bool, json: bool) -> Result<ExitCode, Error> {
    let mut report = ops::cleanup_scan(alca).await?;
    if json {
        // Without --yes, a dry run: the orphans, nothing removed.
        report.dry_run = !yes;
        if yes && !report.orphans.is_empty() {
            report.removals = ops::cleanup_remove(alca, &report.orphans).await;
        }
        render::json(&report);
        return Ok(removal_code(&report.removals));
    }
    unavailable_notes(&report.unavailable);
    if report.orphans.is_empty() {
        out("No orphan containers.");
        return Ok(ExitCode::SUCCESS);
    }
    for line in orphan_lines(&report.orphans) {
        out(&line);
    }
    let chosen: Vec<Orphan> = if yes {
        report.orphans.clone()
    } else {
        let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        if !terminal {
            let what = match report.orphans.len() {
                1 => "the orphan".to_string(),
                n => format!("the {n} orphans"),
            };
            eprintln!(
                "error: nothing was removed: removing containers needs your consent, and there is no terminal to ask on"
            );
            eprintln!("hint: to remove {what} listed above, run `alca cleanup --yes`");
            return Ok(ExitCode::FAILURE);
        }
        match choose(&report.orphans, all) {
            Some(chosen) => chosen,
            None => return Ok(ExitCode::SUCCESS),
        }
    };
    let removals = ops::cleanup_remove(alca, &chosen).await;
    for r in &removals {
        match &r.error {
            None => eprintln!("→ Removing {} ({})... done", safe(&r.name), safe(&r.runtime)),
            Some(e) => eprintln!("→ Removing {} ({})... failed: {}", safe(&r.name), safe(&r.runtime), text::block(e)),
        }
    }
    let removed = removals.iter().filter(|r| r.removed).count();
    eprintln!();
    out(&format!("✓ Removed {removed} container(s)."));
    Ok(removal_code(&removals))
}

/// Which orphans the user wants removed: with `all`, every one after a
/// y/N confirmation; otherwise a selection (all preselected). `None` when
/// the user chose nothing or cancelled.
fn choose(orphans: &[Orphan], all: bool) -> Option<Vec<Orphan>> {
    if all {
        let question = format!("Remove all {} orphan container(s)?", orphans.len());
        let agreed = dialoguer::Confirm::new().with_prompt(question).default(false).interact().unwrap_or(false);
        if !agreed {
            out("Cancelled; nothing was removed.");
            return None;
        }
        return Some(orphans.to_vec());
    }
    let items: Vec<String> = orphans
        .iter()
        .map(|o| {
            let c = &o.container;
            let path = c.project_path.as_deref().map(safe).unwrap_or_else(|| "(no path)".into());
            format!("{} ({}) {path}: {}", safe(&c.name), safe(&c.runtime), safe(&o.reason))
        })
        .collect();
    let picked = dialoguer::MultiSelect::new()
        .with_prompt("Containers to remove (space toggles, enter confirms, esc cancels)")
        .items(&items)
        .defaults(&vec![true; items.len()])
        .interact_opt();
    match picked {
        Ok(Some(picked)) if !picked.is_empty() => Some(picked.into_iter().map(|i| orphans[i].clone()).collect()),
        Ok(Some(_)) => {
            out("No containers selected; nothing was removed.");
            None
        }
        Ok(None) | Err(_) => {
            out("Cancelled; nothing was removed.");
            None
        }
    }
}

fn removal_code(removals: &[Removal]) -> ExitCode {
    if removals.iter().all(|r| r.removed) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// `alca completion <shell>`: the completion script, on stdout.
pub fn completion(shell: clap_complete::Shell, mut cmd: clap::Command) -> Result<ExitCode, Error> {
    // Into memory first: clap_complete panics on a write error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "alca", &mut script);
    write_stdout(&script, "the completion script")
}

/// Writes `bytes` to stdout; a reader that went away is not an error.
fn write_stdout(bytes: &[u8], what: &str) -> Result<ExitCode, Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(Error::io(format!("cannot write {what}"), e)),
    }
}

/// `alca man`: alca's man page followed by one per subcommand (roff, on
/// stdout: `alca man | man -l -`); with `dir`, one file per page
/// (`alca.1`, `alca-up.1`, `alca-plugin-install.1`...).
pub fn man(cmd: clap::Command, dir: Option<&Path>) -> Result<ExitCode, Error> {
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        clap_mangen::generate_to(cmd, dir)
            .map_err(|e| Error::io(format!("cannot write the man pages to {}", dir.display()), e))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    fn render(cmd: &clap::Command, pages: &mut Vec<u8>) -> std::io::Result<()> {
        clap_mangen::Man::new(cmd.clone()).render(pages)?;
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            render(sub, pages)?;
        }
        Ok(())
    }
    render(&cmd, &mut pages).map_err(|e| Error::io("cannot render the man page", e))?;
    write_stdout(&pages, "the man page")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(runtime: &str, name: &str, path: Option<&str>) -> ListedContainer {
        ListedContainer {
            runtime: runtime.into(),
            name: name.into(),
            id: "abc".into(),
            state: "running".into(),
            running: true,
            image: "busybox".into(),
            project_id: "550e8400-e29b-41d4-a716-446655440000".into(),
            project_path: path.map(String::from),
            created: Some("2026-01-02T03:04:05.123456789Z".into()),
        }
    }

    #[test]
    fn the_table_is_aligned() {
        let lines = list_table(&[row("docker", "alca-0123456789ab", Some("/src/p")), row("podman", "alca-x", None)]);
        assert_eq!(
            lines,
            vec![
                "NAME               RUNTIME  STATUS   PROJECT ID    PROJECT PATH  CREATED",
                "alca-0123456789ab  docker   running  550e8400-e29  /src/p        2026-01-02 03:04:05",
                "alca-x             podman   running  550e8400-e29  (unknown)     2026-01-02 03:04:05",
            ]
        );
    }

    #[test]
    fn engine_text_is_escaped() {
        let lines = list_table(&[row("docker", "alca-\x1b]0;x\x07", Some("/a\rb"))]);
        assert!(!lines[1].contains('\x1b') && !lines[1].contains('\r'), "{:?}", lines[1]);
    }
}
