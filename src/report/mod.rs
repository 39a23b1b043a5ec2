//! Reports: what a run found, for people (`human`) and machines (`json`).

use std::time::Duration;

use crate::engine::{Outcome, TargetReport};

pub mod human;
pub mod json;
pub mod junit;
pub mod tap;

/// Counts over a whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errors: usize,
}

impl Summary {
    pub fn of(reports: &[TargetReport]) -> Summary {
        let mut s = Summary::default();
        for r in reports.iter().flat_map(|t| &t.results) {
            match r.outcome {
                Outcome::Pass => s.passed += 1,
                Outcome::Fail { .. } => s.failed += 1,
                Outcome::Skip { .. } => s.skipped += 1,
                Outcome::Error { .. } => s.errors += 1,
            }
        }
        s
    }
}

/// The process exit code for a run, per the contract: 0 every check passed
/// (skips allowed), 1 a check failed or could not be observed, 2 nothing could
/// be checked on some target (unreachable, no shell) or no check ran at all
/// (every one skipped): an empty gate must not pass.
pub fn exit_code(reports: &[TargetReport]) -> i32 {
    let s = Summary::of(reports);
    if reports.iter().any(|r| r.error.is_some()) || s.passed + s.failed + s.errors == 0 {
        2
    } else if s.failed + s.errors > 0 {
        1
    } else {
        0
    }
}

/// A one-line account of a check's outcome, as used in JSON `message` and
/// elsewhere.
pub fn message(outcome: &Outcome, note: Option<&str>, observed_by: &[String]) -> String {
    let mut m = match outcome {
        Outcome::Pass => String::new(),
        Outcome::Fail { expected, found } => format!("expected to {expected}, found {found}"),
        Outcome::Skip { reason } => reason.clone(),
        Outcome::Error { message } => message.clone(),
    };
    if let Some(note) = note {
        if !m.is_empty() {
            m.push_str("; ");
        }
        m.push_str(note);
    }
    if matches!(outcome, Outcome::Fail { .. }) && !observed_by.is_empty() {
        m.push_str(&format!(" (observed by: {})", observed_by.join("; ")));
    }
    m
}

/// Text from a target made safe for a terminal: control characters other
/// than line breaks and tabs (an escape sequence that would recolor, move the
/// cursor or retitle the window) are shown as `\x1b`, `\r`, `\u{9b}`.
pub fn escape_text(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// A line diff of two texts: `  same`, `- expected`, `+ found`. Long inputs
/// are cut to their first 400 lines.
pub fn diff(expected: &str, found: &str) -> String {
    const MAX: usize = 400;
    let a: Vec<&str> = expected.lines().take(MAX).collect();
    let b: Vec<&str> = found.lines().take(MAX).collect();
    // Longest common subsequence lengths, from the ends.
    let mut lcs = vec![vec![0u16; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(format!("  {}", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("- {}", a[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    out.join("\n")
}

pub(crate) fn millis(d: Duration) -> u64 {
    d.as_millis().try_into().unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_from_a_target_are_shown_not_run() {
        assert_eq!(
            super::escape_text("Debian\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{9b}x\tok\n"),
            "Debian\\x1b]0;pwned\\x07\\x1b[2J\\r\\u{9b}x\tok\n"
        );
        assert_eq!(super::escape_text("plain ✓"), "plain ✓");
    }

    #[test]
    fn line_diff_marks_what_changed() {
        assert_eq!(diff("a\nb\nc", "a\nB\nc\nd"), "  a\n- b\n+ B\n  c\n+ d");
        assert_eq!(diff("same", "same"), "  same");
    }
}
