//! Text made safe and compared: pure functions that reports and the
//! engine's messages share.

use std::time::Duration;

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

/// [`escape_text`] for text that must stay on one line (a name in an error,
/// a label value): line breaks and tabs are escaped too (`\n`, `\t`).
pub fn escape_line(s: &str) -> String {
    escape_text(s).replace('\n', "\\n").replace('\t', "\\t")
}

fn needs_escape(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// A line diff of two texts in hunks with three lines of context, as
/// `diff -u` shows them: `@@ -1,3 +1,4 @@`, then `  same`, `- expected`,
/// `+ found`. Lines are compared without their line breaks, so texts that
/// differ only in a trailing newline give no changed line. A diff that takes
/// longer than a second falls back to a coarser (still correct) one.
pub fn diff(expected: &str, found: &str) -> String {
    use similar::{group_diff_ops, Algorithm, DiffTag};
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = found.lines().collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    let ops = similar::capture_diff_slices_deadline(Algorithm::Myers, &a, &b, Some(deadline));
    if ops.iter().all(|op| op.tag() == DiffTag::Equal) {
        return a
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut out = Vec::new();
    for hunk in group_diff_ops(ops, 3) {
        let (Some(first), Some(last)) = (hunk.first(), hunk.last()) else {
            continue;
        };
        let old = first.old_range().start..last.old_range().end;
        let new = first.new_range().start..last.new_range().end;
        out.push(format!("@@ -{} +{} @@", hunk_range(&old), hunk_range(&new)));
        for op in &hunk {
            let (tag, old, new) = op.as_tag_tuple();
            match tag {
                DiffTag::Equal => out.extend(a[old].iter().map(|l| format!("  {l}"))),
                DiffTag::Delete => out.extend(a[old].iter().map(|l| format!("- {l}"))),
                DiffTag::Insert => out.extend(b[new].iter().map(|l| format!("+ {l}"))),
                DiffTag::Replace => {
                    out.extend(a[old].iter().map(|l| format!("- {l}")));
                    out.extend(b[new].iter().map(|l| format!("+ {l}")));
                }
            }
        }
    }
    out.join("\n")
}

/// `start,count` as unified diffs number lines: from 1, and an empty range
/// named by the line before it.
fn hunk_range(r: &std::ops::Range<usize>) -> String {
    match r.len() {
        0 => format!("{},0", r.start),
        1 => format!("{}", r.start + 1),
        n => format!("{},{n}", r.start + 1),
    }
}
