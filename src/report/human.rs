//! `--format human`: documentation-style output grouped by target and
//! resource, with what was expected, what was found and which command saw it
//! for every failure.

use std::fmt::Write;

use colored::Colorize;

use super::{escape_line as one_line, escape_text as esc, Summary};
use crate::engine::{Outcome, TargetReport};

/// Renders the run for people. Colors follow `colored`'s global switch (set
/// from `--color` and `NO_COLOR` by the CLI).
pub fn render(reports: &[TargetReport]) -> String {
    render_with(reports, false)
}

/// As [`render`]; `quiet` leaves out what passed or was skipped (and the
/// per-target stats): only failures, errors, the recap and the summary.
pub fn render_with(reports: &[TargetReport], quiet: bool) -> String {
    let mut out = String::new();
    for t in reports {
        let about = t
            .facts
            .as_ref()
            .map(|f| format!(" ({})", esc(&f.to_string())))
            .unwrap_or_default();
        let _ = writeln!(out, "{}{}", one_line(&t.target).bold(), about.dimmed());
        if let Some(err) = &t.error {
            let _ = writeln!(out, "  {} {}", "error:".red().bold(), esc(err));
            out.push('\n');
            continue;
        }
        let mut last_resource = String::new();
        for r in &t.results {
            if quiet && matches!(r.outcome, Outcome::Pass | Outcome::Skip { .. }) {
                continue;
            }
            let resource = one_line(&r.check.resource_shown());
            if resource != last_resource {
                let _ = writeln!(out, "  {resource}");
                last_resource = resource;
            }
            let name = one_line(&r.check.name());
            let rest = name
                .strip_prefix(&last_resource)
                .map(str::trim_start)
                .unwrap_or(&name);
            match &r.outcome {
                Outcome::Pass => {
                    let _ = writeln!(out, "    {} {rest}", "✓".green());
                }
                Outcome::Skip { reason } => {
                    let _ = writeln!(
                        out,
                        "    {} {rest} {}",
                        "-".yellow(),
                        format!("(skipped: {})", esc(reason)).yellow()
                    );
                }
                Outcome::Fail { expected, found } => {
                    let _ = writeln!(out, "    {} {}", "✗".red().bold(), rest.red());
                    let _ = writeln!(out, "        expected: {}", esc(expected));
                    match &found.diff {
                        Some(diff) => {
                            let _ = writeln!(out, "        found:    {}", super::DIFF_HEADING);
                            for line in esc(diff).lines() {
                                let shown = match line.chars().next() {
                                    Some('-') => line.red().to_string(),
                                    Some('+') => line.green().to_string(),
                                    _ => line.to_string(),
                                };
                                let _ = writeln!(out, "          {shown}");
                            }
                        }
                        None => {
                            let _ = writeln!(out, "        found:    {}", esc(&found.value));
                        }
                    }
                }
                Outcome::Error { message } => {
                    let _ = writeln!(out, "    {} {}", "!".magenta().bold(), rest.magenta());
                    let _ = writeln!(out, "        error: {}", esc(message));
                }
            }
            if !matches!(r.outcome, Outcome::Pass) || r.note.is_some() {
                if let Some(note) = &r.note {
                    let _ = writeln!(out, "        note: {}", esc(note).dimmed());
                }
            }
            if matches!(r.outcome, Outcome::Fail { .. } | Outcome::Error { .. }) {
                for by in &r.observed_by {
                    let _ = writeln!(out, "        observed by: {}", esc(by).dimmed());
                }
                if let Some(origin) = &r.check.origin {
                    let _ = writeln!(
                        out,
                        "        at: {}",
                        one_line(&origin.to_string()).dimmed()
                    );
                }
            }
        }
        let s = &t.stats;
        if quiet {
            out.push('\n');
            continue;
        }
        let _ = writeln!(
            out,
            "  {}",
            format!(
                "{}, {}, {:.2}s",
                super::counted(s.round_trips, "round trip"),
                super::counted(s.probes as u64, "probe"),
                s.total.as_secs_f64()
            )
            .dimmed()
        );
        out.push('\n');
    }
    out.push_str(&recap(reports));
    out
}

/// What went wrong, one line each (target, check, why), then the summary
/// line: the end of a long report, and what the console shows when the
/// report goes to a file.
pub fn recap(reports: &[TargetReport]) -> String {
    let mut out = String::new();
    let mut lines = Vec::new();
    for t in reports {
        let target = one_line(&t.target);
        if let Some(err) = &t.error {
            lines.push(format!(
                "  {} {target}: {}",
                "!".magenta().bold(),
                first_line(err)
            ));
            // Its checks all say the same: the target's line says it once.
            continue;
        }
        for r in &t.results {
            let why = match &r.outcome {
                Outcome::Fail { found, .. } if found.diff.is_some() => {
                    "found other text (the diff is above)".to_string()
                }
                Outcome::Fail { found, .. } => format!("found {}", first_line(&found.value)),
                Outcome::Error { message } => format!("error: {}", first_line(message)),
                _ => continue,
            };
            let mark = if matches!(r.outcome, Outcome::Fail { .. }) {
                "✗".red().bold()
            } else {
                "!".magenta().bold()
            };
            lines.push(format!(
                "  {mark} {target}: {}: {why}",
                one_line(&r.check.name())
            ));
        }
    }
    if !lines.is_empty() {
        let _ = writeln!(out, "{}", "Failures and errors:".bold());
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
        out.push('\n');
    }
    let s = Summary::of(reports);
    let line = format!(
        "{} passed, {} failed, {} skipped, {} errors",
        s.passed, s.failed, s.skipped, s.errors
    );
    let line = if s.failed + s.errors > 0 {
        line.red().bold()
    } else {
        line.green().bold()
    };
    let _ = writeln!(out, "{line}");
    out
}

/// The first line of a text, cut to a width a recap line can carry.
fn first_line(text: &str) -> String {
    let line = esc(text.lines().next().unwrap_or_default());
    if line.chars().count() > 120 {
        format!("{}…", line.chars().take(119).collect::<String>())
    } else {
        line
    }
}
