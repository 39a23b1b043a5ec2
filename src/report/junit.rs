//! `--format junit`: one `<testsuite>` per target, a `<testcase>` per check,
//! `<failure>`, `<error>` and `<skipped message>` as the common CI parsers
//! (Jenkins, GitLab, GitHub reporters) read them.

use std::fmt::Write;

use super::{message, Summary};
use crate::engine::{Outcome, TargetReport};

/// Escapes text for XML 1.0 attributes and content; characters XML 1.0 cannot
/// hold at all become U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn secs(d: std::time::Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// The reports as a JUnit XML document: one testsuite per target.
pub fn render(reports: &[TargetReport]) -> String {
    let all = Summary::of(reports);
    let total: std::time::Duration = reports
        .iter()
        .map(|r| r.stats.total)
        .max()
        .unwrap_or_default();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"infraspec\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
        all.passed + all.failed + all.skipped + all.errors,
        all.failed,
        all.errors,
        all.skipped,
        secs(total)
    );
    for t in reports {
        let s = Summary::of(std::slice::from_ref(t));
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
            escape(&t.target),
            t.results.len(),
            s.failed,
            s.errors,
            s.skipped,
            secs(t.stats.total)
        );
        if let Some(f) = &t.facts {
            let _ = writeln!(x, "    <properties>\n      <property name=\"facts\" value=\"{}\"/>\n    </properties>", escape(&f.to_string()));
        }
        for r in &t.results {
            let _ = write!(
                x,
                "    <testcase classname=\"{}.{}\" name=\"{}\" time=\"{}\"",
                escape(&t.target),
                escape(&r.check.resource_shown()),
                escape(&r.check.name()),
                secs(r.duration)
            );
            // An attribute holds one line: parsers fold its newlines anyway.
            let text = message(&r.outcome, r.note.as_deref(), &r.observed_by).replace('\n', " ");
            match &r.outcome {
                Outcome::Pass => x.push_str("/>\n"),
                Outcome::Skip { reason } => {
                    let _ = writeln!(
                        x,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        escape(reason)
                    );
                }
                Outcome::Fail { expected, found } => {
                    let mut body = format!(
                        "target: {}\nexpected: {expected}\nfound: {}\n",
                        t.target,
                        super::found_text(found)
                    );
                    for by in &r.observed_by {
                        let _ = writeln!(body, "observed by: {by}");
                    }
                    if let Some(o) = &r.check.origin {
                        let _ = writeln!(body, "at: {o}");
                    }
                    let _ = writeln!(
                        x,
                        ">\n      <failure type=\"fail\" message=\"{}\">{}</failure>\n    </testcase>",
                        escape(&text),
                        escape(&body)
                    );
                }
                Outcome::Error { message: m } => {
                    let _ = writeln!(
                        x,
                        ">\n      <error type=\"error\" message=\"{}\">{}</error>\n    </testcase>",
                        escape(&text),
                        escape(&format!("target: {}\n{m}\n", t.target))
                    );
                }
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_xml_well_formed() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(escape("bell\u{7}nul\u{0}"), "bell\u{FFFD}nul\u{FFFD}");
        assert_eq!(escape("tab\tnewline\n"), "tab\tnewline\n");
    }
}
