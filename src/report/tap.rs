//! `--format tap`: TAP version 13, one test point per check and target, with a
//! YAML block for failures and errors, and `# SKIP reason` for skips.

use std::fmt::Write;

use crate::engine::{Outcome, TargetReport};

/// A description may not hold `#` (it starts a directive) or a line break.
fn description(s: &str) -> String {
    super::escape_text(&s.replace('\\', "\\\\"))
        .replace('#', "\\#")
        .replace(['\n', '\r'], " ")
}

/// A YAML double-quoted scalar.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// The reports as TAP version 14 text.
pub fn render(reports: &[TargetReport]) -> String {
    let total: usize = reports.iter().map(|t| t.results.len()).sum();
    let mut out = format!("TAP version 13\n1..{total}\n");
    let mut n = 0;
    for t in reports {
        for r in &t.results {
            n += 1;
            let what = description(&format!("{}: {}", t.target, r.check.name()));
            match &r.outcome {
                Outcome::Pass => {
                    let _ = writeln!(out, "ok {n} - {what}");
                }
                Outcome::Skip { reason } => {
                    let _ = writeln!(out, "ok {n} - {what} # SKIP {}", description(reason));
                }
                Outcome::Fail { expected, found } => {
                    let _ = writeln!(out, "not ok {n} - {what}");
                    let _ = writeln!(
                        out,
                        "  ---\n  target: {}\n  expected: {}\n  found: {}",
                        quoted(&t.target),
                        quoted(expected),
                        quoted(&super::found_text(found))
                    );
                    if !r.observed_by.is_empty() {
                        let _ = writeln!(out, "  observed_by:");
                        for by in &r.observed_by {
                            let _ = writeln!(out, "    - {}", quoted(by));
                        }
                    }
                    if let Some(note) = &r.note {
                        let _ = writeln!(out, "  note: {}", quoted(note));
                    }
                    out.push_str("  ...\n");
                }
                Outcome::Error { message } => {
                    let _ = writeln!(out, "not ok {n} - {what}");
                    let _ = writeln!(
                        out,
                        "  ---\n  target: {}\n  error: {}\n  ...",
                        quoted(&t.target),
                        quoted(message)
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_cannot_start_directives() {
        assert_eq!(description("command echo #1\nx"), "command echo \\#1 x");
    }
}
