//! `--format json`: the contract shape, `{ version, targets, summary }`, and
//! reading it back for `infraspec merge`.
//!
//! Beyond the contract's fields, each target carries its `facts` and
//! `stats`, and each check the parts of its outcome (`expected`, `found`,
//! `reason`, `error`, `note`, `observed_by`, `origin`), so that a report read
//! back renders in every format as the run that wrote it would have.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{message, millis, Summary};
use crate::engine::{CheckResult, Outcome, Stats as RunStats, TargetReport};
use crate::facts::Facts;
use crate::matcher::Matcher;
use crate::spec::{Check, Expectation, Origin, Property, Resource, ResourceKind};

#[derive(Serialize, Deserialize)]
struct Doc {
    version: u32,
    /// Present on the report of one shard of a run (`--shard K/N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shard: Option<Shard>,
    targets: Vec<Target>,
    summary: Summary,
}

/// Which part of a sharded run a report holds: shard `index` of `of`, and the
/// run's identity (a digest of every target of the run, before the split, and
/// of every check), the same on every shard of one run and different for
/// another spec or fleet. `infraspec merge` needs each shard of one run once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// K, from 1.
    pub index: usize,
    /// N.
    pub of: usize,
    /// The run's identity.
    pub run: String,
    /// Every target of the run, before the split, as reports name them:
    /// how many, and a digest of their names ([`targets_digest`]), so that a
    /// merge can tell that the shards hold each of them once.
    #[serde(default)]
    pub targets: Option<TargetSet>,
}

/// The targets of a whole sharded run, as a count and a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSet {
    /// How many targets the run has.
    pub count: usize,
    /// [`targets_digest`] of their names.
    pub digest: String,
}

/// A digest of target names as reports give them, whatever their order.
pub fn targets_digest<'n>(names: impl Iterator<Item = &'n str>) -> String {
    use sha2::Digest;
    let mut sorted: Vec<&str> = names.collect();
    sorted.sort_unstable();
    let mut h = sha2::Sha256::new();
    for n in sorted {
        h.update(n.as_bytes());
        h.update([0u8]);
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Serialize, Deserialize)]
struct Target {
    target: String,
    /// Present when the target could not be checked at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// What was learnt of the target (OS, init system, container…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    facts: Option<Facts>,
    checks: Vec<JsonCheck>,
    stats: Stats,
}

/// How the target was observed: round trips, execs and probes are the
/// engine's cost.
#[derive(Serialize, Deserialize)]
struct Stats {
    round_trips: u32,
    /// Absent from reports written before it was counted.
    #[serde(default)]
    execs: u32,
    probes: usize,
    duration_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct JsonCheck {
    resource: String,
    name: String,
    outcome: String,
    message: String,
    duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    found: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    observed_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<JsonOrigin>,
}

#[derive(Serialize, Deserialize)]
struct JsonOrigin {
    file: String,
    line: usize,
}

/// Renders the run as JSON.
pub fn render(reports: &[TargetReport]) -> String {
    render_shard(reports, None)
}

/// Renders one shard of a run as JSON, saying which it is.
pub fn render_shard(reports: &[TargetReport], shard: Option<&Shard>) -> String {
    let doc = Doc {
        version: 1,
        shard: shard.cloned(),
        targets: reports.iter().map(target).collect(),
        summary: Summary::of(reports),
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("report serializes");
    s.push('\n');
    s
}

fn target(t: &TargetReport) -> Target {
    Target {
        target: t.target.clone(),
        error: t.error.clone(),
        facts: t.facts.clone(),
        checks: t
            .results
            .iter()
            .map(|r| {
                let (mut expected, mut found, mut reason, mut error) = (None, None, None, None);
                match &r.outcome {
                    Outcome::Pass => {}
                    Outcome::Fail {
                        expected: e,
                        found: f,
                    } => {
                        expected = Some(e.clone());
                        found = Some(super::found_text(f));
                    }
                    Outcome::Skip { reason: why } => reason = Some(why.clone()),
                    Outcome::Error { message } => error = Some(message.clone()),
                }
                JsonCheck {
                    resource: r.check.resource_shown(),
                    name: r.check.name(),
                    outcome: r.outcome.as_str().to_string(),
                    message: message(&r.outcome, r.note.as_deref(), &r.observed_by),
                    duration_ms: millis(r.duration),
                    expected,
                    found,
                    reason,
                    error,
                    note: r.note.clone(),
                    observed_by: r.observed_by.clone(),
                    origin: r.check.origin.as_ref().map(|o| JsonOrigin {
                        file: o.file.clone(),
                        line: o.line,
                    }),
                }
            })
            .collect(),
        stats: Stats {
            round_trips: t.stats.round_trips,
            execs: t.stats.execs,
            probes: t.stats.probes,
            duration_ms: millis(t.stats.total),
        },
    }
}

/// Reads a JSON report back: the targets as the run reported them. Checks
/// keep their names, outcomes and where they were written; `file` names the
/// report in errors.
pub fn parse(text: &str, file: &str) -> Result<Vec<TargetReport>, String> {
    parse_shard(text, file).map(|(_, reports)| reports)
}

/// Reads a JSON report back with the shard it says it holds, if any.
pub fn parse_shard(text: &str, file: &str) -> Result<(Option<Shard>, Vec<TargetReport>), String> {
    let doc: Doc = serde_json::from_str(text)
        .map_err(|e| format!("{file} is not an infraspec JSON report: {e}"))?;
    if doc.version != 1 {
        return Err(format!(
            "{file} is a version {} report; this infraspec reads version 1",
            doc.version
        ));
    }
    let shard = doc.shard;
    let reports = doc
        .targets
        .into_iter()
        .map(|t| {
            let results = t
                .checks
                .into_iter()
                .map(|c| result(c).map_err(|e| format!("{file}: target {}: {e}", t.target)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(TargetReport {
                target: t.target,
                facts: t.facts,
                error: t.error,
                results,
                stats: RunStats {
                    round_trips: t.stats.round_trips,
                    execs: t.stats.execs,
                    probes: t.stats.probes,
                    total: Duration::from_millis(t.stats.duration_ms),
                    ..RunStats::default()
                },
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((shard, reports))
}

/// Checks that reports to be merged are either runs of their own (no shard)
/// or every shard of one run, once each, holding between them every target
/// of the run once: a shard missing, given twice, of another run or of
/// another split, a target in two shards, or targets that are not the run's
/// (a shard's report copied under another index) are errors naming it. Each
/// report comes with the names of the targets it holds.
pub fn check_shards(shards: &[(String, Option<Shard>, Vec<String>)]) -> Result<(), String> {
    let sharded: Vec<(&String, &Shard, &Vec<String>)> = shards
        .iter()
        .filter_map(|(f, s, t)| s.as_ref().map(|s| (f, s, t)))
        .collect();
    let Some((first_file, first, _)) = sharded.first() else {
        return Ok(());
    };
    if let Some((file, _, _)) = shards.iter().find(|(_, s, _)| s.is_none()) {
        return Err(format!(
            "{file} is a whole run's report and {first_file} one shard's: merge the shards of one run, or whole runs"
        ));
    }
    let mut seen: Vec<Option<&String>> = vec![None; first.of];
    for (file, s, _) in &sharded {
        if s.run != first.run || s.of != first.of {
            return Err(format!(
                "{file} is shard {}/{} of another run ({}) than {first_file} (shard {}/{} of {}): same spec and targets on every shard",
                s.index, s.of, s.run, first.index, first.of, first.run
            ));
        }
        match seen.get_mut(s.index.wrapping_sub(1)) {
            Some(Some(before)) => {
                return Err(format!(
                    "shard {}/{} is given twice: {before} and {file}",
                    s.index, s.of
                ))
            }
            Some(slot) => *slot = Some(file),
            None => {
                return Err(format!(
                    "{file}: shard {}/{} is out of range",
                    s.index, s.of
                ))
            }
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_none())
        .map(|(i, _)| format!("{}/{}", i + 1, first.of))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "shard(s) {} of run {} missing: a merge of part of a run would report part of the fleet as all of it",
            missing.join(", "),
            first.run
        ));
    }
    let Some(run) = &first.targets else {
        return Err(format!(
            "{first_file} does not say which targets its run has (written by an older infraspec): run the shards again to merge them"
        ));
    };
    // Each target in one shard only.
    let mut holder: std::collections::BTreeMap<&str, &String> = Default::default();
    for (file, _, names) in &sharded {
        for name in names.iter() {
            if let Some(before) = holder.insert(name.as_str(), file) {
                if before != *file {
                    return Err(format!(
                        "the target {} is in two shards, {before} and {file}: a shard's report was copied or two runs' were mixed",
                        crate::model::text::escape_line(name)
                    ));
                }
            }
        }
    }
    let all: Vec<&str> = sharded
        .iter()
        .flat_map(|(_, _, names)| names.iter().map(String::as_str))
        .collect();
    if all.len() != run.count || targets_digest(all.iter().copied()) != run.digest {
        return Err(format!(
            "the shards hold {} target(s), not the {} of run {}: a shard's report was copied or edited",
            all.len(),
            run.count,
            first.run
        ));
    }
    Ok(())
}

fn result(c: JsonCheck) -> Result<CheckResult, String> {
    let (kind, name) = c
        .resource
        .split_once(' ')
        .ok_or_else(|| format!("{:?} is not a resource (KIND NAME)", c.resource))?;
    let kind = ResourceKind::from_key(kind)
        .ok_or_else(|| format!("{:?} names no resource kind", c.resource))?;
    let resource = Resource::new(kind, name)?;
    // The check's meaning is not in a report, only its name: the name is kept
    // as the one every format shows.
    let mut check = Check::new(
        resource,
        Expectation::new(Property::Exists, Matcher::Eq(true.into())),
    );
    check.reported_name = Some(c.name.clone());
    check.origin = c.origin.map(|o| Origin {
        file: o.file,
        line: o.line,
    });
    let outcome = match c.outcome.as_str() {
        "pass" => Outcome::Pass,
        "fail" => Outcome::Fail {
            expected: c.expected.unwrap_or_default(),
            found: found_of(c.found.unwrap_or(c.message)),
        },
        "skip" => Outcome::Skip {
            reason: c.reason.unwrap_or(c.message),
        },
        "error" => Outcome::Error {
            message: c.error.unwrap_or(c.message),
        },
        other => return Err(format!("check {:?}: unknown outcome {other:?}", c.name)),
    };
    Ok(CheckResult {
        check,
        outcome,
        note: c.note,
        observed_by: c.observed_by,
        duration: Duration::from_millis(c.duration_ms),
    })
}

/// A failing check's `found` as the JSON report spells it: the value, or
/// the diff heading and the diff.
fn found_of(text: String) -> crate::engine::Found {
    match text
        .strip_prefix(super::DIFF_HEADING)
        .and_then(|rest| rest.strip_prefix('\n'))
    {
        Some(diff) => crate::engine::Found {
            value: "other text".into(),
            diff: Some(diff.to_string()),
        },
        None => crate::engine::Found::value(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_found_diff_is_read_back_as_a_diff() {
        let found = crate::engine::Found {
            value: "\"a\\nB\"".into(),
            diff: Some(crate::model::text::diff("a\nb", "a\nB")),
        };
        let read = found_of(super::super::found_text(&found));
        assert_eq!(read.diff, found.diff);
        assert_eq!(found_of("1.24".into()), crate::engine::Found::value("1.24"));
    }

    #[test]
    fn a_report_read_back_renders_the_same_in_every_format() {
        let checks = crate::spec::yaml::load_str(
            "checks:\n  - package: nginx\n    version: '1.22'\n  - user: root\n  - service: chrony\n    skip: not here\n  - file: /etc/motd\n",
            "web.yaml",
        )
        .unwrap();
        let outcomes = [
            Outcome::Fail {
                expected: "eq \"1.22\"".into(),
                found: "1.24".into(),
            },
            Outcome::Pass,
            Outcome::Skip {
                reason: "not here".into(),
            },
            Outcome::Error {
                message: "permission denied".into(),
            },
        ];
        let report = TargetReport {
            target: "web1".into(),
            facts: None,
            error: None,
            results: checks
                .into_iter()
                .zip(outcomes)
                .map(|(check, outcome)| CheckResult {
                    check,
                    outcome,
                    note: Some("judged by dpkg".into()),
                    observed_by: vec!["dpkg-query -W".into()],
                    duration: Duration::from_millis(12),
                })
                .collect(),
            stats: RunStats {
                round_trips: 2,
                probes: 3,
                total: Duration::from_millis(40),
                ..RunStats::default()
            },
        };
        let reports = vec![report];
        let back = parse(&render(&reports), "r.json").unwrap();
        assert_eq!(render(&back), render(&reports));
        for f in [
            super::super::human::render,
            super::super::junit::render,
            super::super::tap::render,
        ] {
            assert_eq!(f(&back), f(&reports));
        }
        assert_eq!(
            super::super::exit_code(&back),
            super::super::exit_code(&reports)
        );
    }

    #[test]
    fn a_merge_needs_every_shard_of_one_run_once() {
        // A run of two targets, web1 in shard 1 and web2 in shard 2.
        let run_targets = Some(TargetSet {
            count: 2,
            digest: targets_digest(["web1", "web2"].into_iter()),
        });
        let shard = |i, of, run: &str| {
            Some(Shard {
                index: i,
                of,
                run: run.into(),
                targets: run_targets.clone(),
            })
        };
        let held = |s: &Option<Shard>| match s.as_ref().map(|s| s.index) {
            Some(1) => vec!["web1".to_string()],
            Some(_) => vec!["web2".to_string()],
            None => vec!["web9".to_string()],
        };
        let files = |list: Vec<Option<Shard>>| -> Vec<(String, Option<Shard>, Vec<String>)> {
            list.into_iter()
                .enumerate()
                .map(|(i, s)| {
                    let names = held(&s);
                    (format!("r{i}.json"), s, names)
                })
                .collect()
        };
        assert!(check_shards(&files(vec![shard(1, 2, "a"), shard(2, 2, "a")])).is_ok());
        assert!(check_shards(&files(vec![None, None])).is_ok());
        let missing = check_shards(&files(vec![shard(1, 2, "a")])).unwrap_err();
        assert!(
            missing.contains("shard(s) 2/2 of run a missing"),
            "{missing}"
        );
        let twice = check_shards(&files(vec![shard(1, 2, "a"), shard(1, 2, "a")])).unwrap_err();
        assert!(
            twice.contains("given twice: r0.json and r1.json"),
            "{twice}"
        );
        let foreign = check_shards(&files(vec![shard(1, 2, "a"), shard(2, 2, "b")])).unwrap_err();
        assert!(
            foreign.contains("r1.json is shard 2/2 of another run"),
            "{foreign}"
        );
        let mixed = check_shards(&files(vec![shard(1, 1, "a"), None])).unwrap_err();
        assert!(mixed.contains("r1.json is a whole run's report"), "{mixed}");
        // Shard 1's report copied as shard 2: web1 twice, web2 never.
        let mut copied = files(vec![shard(1, 2, "a"), shard(2, 2, "a")]);
        copied[1].2 = vec!["web1".to_string()];
        let err = check_shards(&copied).unwrap_err();
        assert!(err.contains("web1 is in two shards"), "{err}");
        // Targets that are not the run's.
        let mut other = files(vec![shard(1, 2, "a"), shard(2, 2, "a")]);
        other[1].2 = vec!["web3".to_string()];
        let err = check_shards(&other).unwrap_err();
        assert!(err.contains("not the 2 of run a"), "{err}");
        // A shard read back keeps what it said.
        let text = render_shard(&[], shard(2, 3, "x").as_ref());
        assert_eq!(parse_shard(&text, "s.json").unwrap().0, shard(2, 3, "x"));
    }

    #[test]
    fn what_is_not_a_report_is_named() {
        assert!(parse("{}", "x.json")
            .unwrap_err()
            .starts_with("x.json is not an infraspec JSON report"));
        let v2 = r#"{"version": 2, "targets": [], "summary": {"passed":0,"failed":0,"skipped":0,"errors":0}}"#;
        assert!(parse(v2, "x.json").unwrap_err().contains("version 2"));
    }
}
