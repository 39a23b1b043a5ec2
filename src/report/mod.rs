//! Reports: what a run found, for people (`human`) and machines (`json`).

use std::time::Duration;

use crate::engine::{Outcome, TargetReport};

pub use crate::model::text::{diff, escape_line, escape_text};

pub mod human;
pub mod json;
pub mod junit;
pub mod tap;

/// Counts over a whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed.
    pub failed: usize,
    /// Checks that were skipped.
    pub skipped: usize,
    /// Checks that could not be judged.
    pub errors: usize,
}

impl Summary {
    /// Counts over every target's results.
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

/// `n` things: "1 round trip", "2 round trips".
pub fn counted(n: impl Into<u64>, noun: &str) -> String {
    match n.into() {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
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

/// What a failing check found, in words: the value, or the heading of its
/// diff and the diff's lines.
pub fn found_text(found: &crate::engine::Found) -> String {
    match &found.diff {
        Some(diff) => format!("{DIFF_HEADING}\n{diff}"),
        None => found.value.clone(),
    }
}

/// The line that comes before a diff where a report shows what was found.
pub const DIFF_HEADING: &str = "(diff: - expected, + found)";

/// A one-line account of a check's outcome, as used in JSON `message` and
/// elsewhere.
pub fn message(outcome: &Outcome, note: Option<&str>, observed_by: &[String]) -> String {
    let mut m = match outcome {
        Outcome::Pass => String::new(),
        Outcome::Fail { expected, found } => {
            format!("expected to {expected}, found {}", found_text(found))
        }
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
        assert_eq!(
            diff("a\nb\nc", "a\nB\nc\nd"),
            "@@ -1,3 +1,4 @@\n  a\n- b\n+ B\n  c\n+ d"
        );
        assert_eq!(diff("same", "same"), "  same");
        assert_eq!(diff("same\n", "same"), "  same");
    }

    #[test]
    fn long_texts_show_only_the_changed_hunks_with_context() {
        let expected: Vec<String> = (1..=100).map(|i| format!("line {i}")).collect();
        let mut found = expected.clone();
        found[9] = "changed 10".into();
        found.remove(79);
        let d = diff(&expected.join("\n"), &found.join("\n"));
        assert_eq!(
            d,
            "@@ -7,7 +7,7 @@\n  line 7\n  line 8\n  line 9\n- line 10\n+ changed 10\n  line 11\n  line 12\n  line 13\n\
             @@ -77,7 +77,6 @@\n  line 77\n  line 78\n  line 79\n- line 80\n  line 81\n  line 82\n  line 83"
        );
        // The diff of a long text is not cut: a change on line 5000 shows.
        let long: Vec<String> = (1..=6000).map(|i| format!("{i}")).collect();
        let mut other = long.clone();
        other[4999] = "five thousand".into();
        assert!(diff(&long.join("\n"), &other.join("\n")).contains("@@ -4997,7 +4997,7 @@"));
    }
}
