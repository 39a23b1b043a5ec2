//! `--format json`: the contract shape, `{ version, targets, summary }`.

use serde::Serialize;

use super::{message, millis, Summary};
use crate::engine::TargetReport;

#[derive(Serialize)]
struct Doc<'a> {
    version: u32,
    targets: Vec<Target<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Target<'a> {
    target: &'a str,
    /// Present when the target could not be checked at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    checks: Vec<Check>,
    stats: Stats,
}

/// How the target was observed: round trips and probes are the engine's cost.
#[derive(Serialize)]
struct Stats {
    round_trips: u32,
    probes: usize,
    duration_ms: u64,
}

#[derive(Serialize)]
struct Check {
    resource: String,
    name: String,
    outcome: &'static str,
    message: String,
    duration_ms: u64,
}

/// Renders the run as JSON.
pub fn render(reports: &[TargetReport]) -> String {
    let doc = Doc {
        version: 1,
        targets: reports
            .iter()
            .map(|t| Target {
                target: &t.target,
                error: t.error.as_deref(),
                checks: t
                    .results
                    .iter()
                    .map(|r| Check {
                        resource: r.check.resource.to_string(),
                        name: r.check.name(),
                        outcome: r.outcome.as_str(),
                        message: message(&r.outcome, r.note.as_deref(), &r.observed_by),
                        duration_ms: millis(r.duration),
                    })
                    .collect(),
                stats: Stats {
                    round_trips: t.stats.round_trips,
                    probes: t.stats.probes,
                    duration_ms: millis(t.stats.total),
                },
            })
            .collect(),
        summary: Summary::of(reports),
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("report serializes");
    s.push('\n');
    s
}
