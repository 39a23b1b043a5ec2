//! Judging: a check's outcome from what was observed, with no I/O. The
//! expectation's matcher runs on the observed value; a failure keeps what
//! was found as data (`Found { value, diff }`), which reports put in words.

use crate::matcher::Value;
use crate::resource::{self, Early, Observations};
use crate::spec::{Check, ValueKind};

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The expectation held.
    Pass,
    /// The expectation does not hold: `expected` in words, `found` as observed.
    Fail {
        /// What the check expected.
        expected: String,
        /// What the target showed.
        found: Found,
    },
    /// The check did not apply here.
    Skip {
        /// Why (`containers use the host's clock`, a `skip:` reason…).
        reason: String,
    },
    /// The check could not be observed.
    Error {
        /// Why the check could not be judged.
        message: String,
    },
}

impl Outcome {
    /// `pass`, `fail`, `skip` or `error`, as reports spell it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail { .. } => "fail",
            Outcome::Skip { .. } => "skip",
            Outcome::Error { .. } => "error",
        }
    }
}

/// What a failing check found: the value, and, for text against text on
/// several lines, how the two differ. Reports make the words of both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The value as observed, on one line as reports show it (`not
    /// installed`, `"1.24"`); reports show `diff` instead where there is one.
    pub value: String,
    /// A line diff of the expected text and the found one
    /// ([`crate::model::text::diff`]: hunks, `- expected`, `+ found`).
    pub diff: Option<String>,
}

impl Found {
    /// A found value with no diff.
    pub fn value(value: impl Into<String>) -> Found {
        Found {
            value: value.into(),
            diff: None,
        }
    }
}

impl From<&str> for Found {
    fn from(value: &str) -> Found {
        Found::value(value)
    }
}

fn expected_words(check: &Check) -> String {
    let phrase = check.expectation.phrase();
    match phrase.split_once("should ") {
        Some((_, rest)) => rest.to_string(),
        None => phrase,
    }
}

fn found(check: &Check, value: &Value) -> Found {
    let kind = check
        .resource
        .kind
        .property_kind(check.expectation.property);
    match (value, kind, &check.expectation.matcher) {
        (Value::Bool(b), Some(ValueKind::State), _) => {
            Found::value(check.expectation.property.state_found(*b))
        }
        // Multi-line text against a multi-line expectation reads best as a diff.
        (
            Value::Text(found),
            _,
            crate::matcher::Matcher::Eq(crate::matcher::Scalar::Str(expected)),
        ) if found.contains('\n') || expected.contains('\n') => {
            let diff = crate::model::text::diff(expected, found);
            // Texts that differ only where lines do not show (a trailing
            // newline) read better quoted.
            let shows = diff
                .lines()
                .any(|l| l.starts_with('-') || l.starts_with('+'));
            Found {
                value: value.to_string(),
                diff: shows.then_some(diff),
            }
        }
        _ => Found::value(value.to_string()),
    }
}

/// Evaluates one check from the batch's answers: pure, no I/O.
pub fn judge(check: &Check, obs: &Observations<'_>) -> (Outcome, Option<String>) {
    const HIDDEN: &str = "(hidden: sensitive)";
    let hidden = |s: String| {
        if check.options.sensitive {
            HIDDEN.to_string()
        } else {
            s
        }
    };
    let hidden_found = |f: Found| {
        if check.options.sensitive {
            Found::value(HIDDEN)
        } else {
            f
        }
    };
    match resource::observe(check, obs) {
        Ok(observed) => match check.expectation.matcher.eval(&observed.value) {
            Ok(true) => (Outcome::Pass, observed.note),
            Ok(false) => (
                Outcome::Fail {
                    expected: hidden(expected_words(check)),
                    found: hidden_found(found(check, &observed.value)),
                },
                observed.note,
            ),
            Err(message) => (Outcome::Error { message }, observed.note),
        },
        Err(Early::Fail(found)) => (
            Outcome::Fail {
                expected: hidden(expected_words(check)),
                found: Found::value(found),
            },
            None,
        ),
        Err(Early::Error(message)) => (Outcome::Error { message }, None),
        Err(Early::Skip(reason)) => (Outcome::Skip { reason }, None),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::facts;
    use crate::probe::ProbeOutput;
    use crate::resource::Record;

    /// Judges the first check of `spec` with `stdout` as the answer to each
    /// of its needs.
    fn judged(spec: &str, stdout: &str) -> (Outcome, Option<String>) {
        let check = &crate::spec::yaml::load_str(spec, "t.yaml").unwrap()[0];
        let facts = facts::from_raw(&facts::RawFacts::default());
        let records: HashMap<_, _> = resource::needs(check, &facts)
            .into_iter()
            .map(|n| {
                let out = ProbeOutput::new(0, stdout.as_bytes().to_vec(), Vec::new());
                (n, Ok(Record::Output(out)))
            })
            .collect();
        judge(check, &Observations::records(&facts, "test", records))
    }

    #[test]
    fn text_against_text_on_several_lines_fails_with_a_diff() {
        let (outcome, _) = judged(
            "checks:\n  - command: cat motd\n    stdout: \"a\\nb\\nc\\n\"\n",
            "a\nB\nc\n",
        );
        let Outcome::Fail { expected, found } = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(expected, "eq \"a\\nb\\nc\\n\"");
        // A command's stdout is judged without its last line break.
        assert_eq!(found.value, "\"a\\nB\\nc\"");
        let diff = found.diff.expect("a diff");
        assert!(diff.contains("- b\n+ B"), "{diff}");
    }

    #[test]
    fn texts_that_differ_only_where_lines_do_not_show_fail_without_a_diff() {
        let (outcome, _) = judged(
            "checks:\n  - command: cat motd\n    stdout: \"a\\nb\\n\"\n",
            "a\nb\n",
        );
        let Outcome::Fail { found, .. } = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(found, Found::value("\"a\\nb\""));
    }

    #[test]
    fn a_sensitive_check_hides_what_it_expected_and_found() {
        let (outcome, _) = judged(
            "checks:\n  - command: cat token\n    stdout: s3cret\n    sensitive: true\n",
            "other",
        );
        assert_eq!(
            outcome,
            Outcome::Fail {
                expected: "(hidden: sensitive)".into(),
                found: "(hidden: sensitive)".into(),
            }
        );
    }

    #[test]
    fn an_answer_that_cannot_be_read_is_an_error_never_a_verdict() {
        let check =
            &crate::spec::yaml::load_str("checks:\n  - package: bash\n", "t.yaml").unwrap()[0];
        let facts = facts::from_raw(&facts::RawFacts::default());
        let cut = resource::NoAnswer::NotRun {
            probe: "dpkg-query".into(),
            why: "cut".into(),
        };
        let records = HashMap::from([(resource::Need::Packages, Err(cut))]);
        let (outcome, _) = judge(check, &Observations::records(&facts, "test", records));
        assert!(matches!(outcome, Outcome::Error { .. }), "{outcome:?}");
    }
}
