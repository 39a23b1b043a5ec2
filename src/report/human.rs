//! `--format human`: documentation-style output grouped by target and
//! resource, with what was expected, what was found and which command saw it
//! for every failure.

use std::fmt::Write;

use colored::Colorize;

use super::{escape_text as esc, Summary};
use crate::engine::{Outcome, TargetReport};

/// Renders the run for people. Colors follow `colored`'s global switch (set
/// from `--color` and `NO_COLOR` by the CLI).
pub fn render(reports: &[TargetReport]) -> String {
    let mut out = String::new();
    for t in reports {
        let about = t
            .facts
            .as_ref()
            .map(|f| format!(" ({})", esc(&f.to_string())))
            .unwrap_or_default();
        let _ = writeln!(out, "{}{}", esc(&t.target).bold(), about.dimmed());
        if let Some(err) = &t.error {
            let _ = writeln!(out, "  {} {}", "error:".red().bold(), esc(err));
            out.push('\n');
            continue;
        }
        let mut last_resource = String::new();
        for r in &t.results {
            let resource = esc(&r.check.resource.to_string());
            if resource != last_resource {
                let _ = writeln!(out, "  {resource}");
                last_resource = resource;
            }
            let name = esc(&r.check.name());
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
                    let (expected, found) = (esc(expected), esc(found));
                    let _ = writeln!(out, "    {} {}", "✗".red().bold(), rest.red());
                    let _ = writeln!(out, "        expected: {expected}");
                    match found.split_once('\n') {
                        Some((head, diff)) => {
                            let _ = writeln!(out, "        found:    {head}");
                            for line in diff.lines() {
                                let shown = match line.chars().next() {
                                    Some('-') => line.red().to_string(),
                                    Some('+') => line.green().to_string(),
                                    _ => line.to_string(),
                                };
                                let _ = writeln!(out, "          {shown}");
                            }
                        }
                        None => {
                            let _ = writeln!(out, "        found:    {found}");
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
                    let _ = writeln!(out, "        at: {}", esc(&origin.to_string()).dimmed());
                }
            }
        }
        let s = &t.stats;
        let _ = writeln!(
            out,
            "  {}",
            format!(
                "{} round trips, {} probes, {:.2}s",
                s.round_trips,
                s.probes,
                s.total.as_secs_f64()
            )
            .dimmed()
        );
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
