//! The engine: two round trips per target, whatever the number of checks.
//!
//! Round 1 gathers facts with a fixed batch of probes. Then each check is
//! decided (run or skip, see the `rules` module), the needs of every check
//! that runs are batched into one probe script (round 2), and each check is
//! evaluated from the answers by pure code. Checks with `eventually` that did
//! not pass are observed again, alone, until they pass or their time is up.

use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

use crate::backend::{self, Backend};
use crate::facts::{self, Facts};
pub use crate::judge::{judge, Found, Outcome};
use crate::model::target::Target;
use crate::observe::Session;
pub use crate::observe::{gather_facts, run_batch, BatchError};
use crate::probe;
use crate::resource::{self, Plan};
use crate::rules::{self, Decision};
use crate::spec::Check;

/// One check's result on one target.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The check.
    pub check: Check,
    /// How it ended.
    pub outcome: Outcome,
    /// How the check was judged, where that is worth saying.
    pub note: Option<String>,
    /// The probes that observed it, as commands people can run themselves.
    pub observed_by: Vec<String>,
    /// The time of the round trips that observed it.
    pub duration: Duration,
}

/// Where a target's time went.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Round trips to the target (2 for a whole run when nothing is retried).
    pub round_trips: u32,
    /// Probes sent in the batch.
    pub probes: usize,
    /// Execs on the target: one `sh` per batch (2 for a whole run on a
    /// target with a shell; 0 where nothing runs).
    pub execs: u32,
    /// Time to connect.
    pub connect: Duration,
    /// Time to learn the target's facts.
    pub facts: Duration,
    /// Time to observe and judge the checks.
    pub checks: Duration,
    /// Wall time for the target.
    pub total: Duration,
}

/// Everything that happened on one target.
#[derive(Debug, Clone)]
pub struct TargetReport {
    /// The target as given (`docker:IMAGE`, `ssh://host`…).
    pub target: String,
    /// What was learnt of the target, when it could be reached.
    pub facts: Option<Facts>,
    /// Set when the target could not be checked at all (unreachable, no shell,
    /// a batch that failed): every check is then an error too.
    pub error: Option<String>,
    /// Every check, in spec order.
    pub results: Vec<CheckResult>,
    /// Round trips and timings.
    pub stats: Stats,
}

/// Run-wide settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Apply the built-in rule table (`--no-auto-skip` turns it off).
    pub auto_skip: bool,
    /// How long one batch may take on a target before it is given up.
    pub batch_timeout: Duration,
    /// How to connect (SSH host keys…).
    pub connect: backend::ConnectOptions,
    /// How many targets are checked at once; 0 means up to 32.
    pub parallel: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            auto_skip: true,
            batch_timeout: Duration::from_secs(300),
            connect: backend::ConnectOptions::default(),
            parallel: 0,
        }
    }
}

/// A check judged in one round.
struct Judged {
    index: usize,
    outcome: Outcome,
    note: Option<String>,
    observed_by: Vec<String>,
}

/// How long a round that observes again for `eventually` may take beyond
/// what is left of its checks' windows: its own round trip.
const RETRY_GRACE: Duration = Duration::from_secs(3);

/// The most a round observing `pending` again, `waited` after the first
/// began, may take: what is left of the longest of their `eventually`
/// windows (or a check's own `timeout`, when longer), and the round trip;
/// never more than the batch's own limit. A target that stops answering
/// costs a check its own window, not the batch's.
fn retry_limit(checks: &[Check], pending: &[usize], waited: Duration, batch: Duration) -> Duration {
    let longest = pending
        .iter()
        .map(|&i| {
            let o = &checks[i].options;
            let left = o
                .eventually
                .map_or(Duration::ZERO, |e| e.timeout.saturating_sub(waited));
            left.max(o.timeout.unwrap_or(Duration::ZERO))
        })
        .max()
        .unwrap_or(Duration::ZERO);
    (longest + RETRY_GRACE).min(batch)
}

/// Observes `checks` (indices into `all`) in one round trip, taking at
/// most `limit`, and judges them.
fn observe_round(
    session: &Session<'_>,
    all: &[Check],
    indices: &[usize],
    limit: Duration,
    stats: &mut Stats,
) -> Result<Vec<Judged>, BatchError> {
    let facts = session.facts();
    let per_check: Vec<Vec<resource::Need>> = indices
        .iter()
        .map(|&i| resource::needs(&all[i], facts))
        .collect();
    let needs: BTreeSet<resource::Need> = per_check.iter().flatten().cloned().collect();
    let mut cost = crate::observe::Cost::default();
    let observed = session.observe(&needs, indices.iter().map(|&i| &all[i]), limit, &mut cost);
    stats.probes += cost.probes;
    stats.round_trips += cost.round_trips;
    stats.execs += cost.execs;
    let obs = observed?;
    Ok(indices
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let check = &all[i];
            let mut by: Vec<String> = per_check[k]
                .iter()
                .filter_map(|n| obs.observed_by(n))
                .collect();
            by.dedup();
            let (outcome, note) = judge(check, &obs);
            Judged {
                index: i,
                outcome,
                note,
                observed_by: by,
            }
        })
        .collect())
}

/// Checks one target through a connected backend: its facts (one round
/// trip on a shell), then [`run_session`].
pub fn run(backend: &dyn Backend, checks: &[Check], opts: &Options) -> TargetReport {
    let started = Instant::now();
    let mut cost = crate::observe::Cost::default();
    let mut report = match Session::open(backend, opts.batch_timeout, &mut cost) {
        Ok(session) => {
            let facts = started.elapsed();
            let mut report = run_session(&session, checks, opts);
            report.stats.facts = facts;
            report
        }
        Err(e) => failed_target(
            backend.target(),
            checks,
            format!("gathering facts on {}: {e}", backend.target()),
        ),
    };
    report.stats.round_trips += cost.round_trips;
    report.stats.execs += cost.execs;
    report.stats.total = started.elapsed();
    report
}

/// Shows each check's own texts (its messages, what observed it) through
/// its [`Secrets`](crate::spec::Secrets), and the target's error through
/// all of them: no value of a sensitive variable leaves the engine.
fn masked(mut report: TargetReport) -> TargetReport {
    let mut all = crate::spec::Secrets::default();
    for r in &report.results {
        all.extend(r.check.options.secrets.clone());
    }
    if all.is_empty() {
        return report;
    }
    for r in &mut report.results {
        let secrets = &r.check.options.secrets;
        match &mut r.outcome {
            // An error may be the batch's, shared by every check.
            Outcome::Error { message } => *message = all.mask(message),
            _ if secrets.is_empty() => continue,
            Outcome::Pass => {}
            Outcome::Fail { expected, found } => {
                *expected = secrets.mask(expected);
                found.value = secrets.mask(&found.value);
                found.diff = found.diff.as_deref().map(|d| secrets.mask(d));
            }
            Outcome::Skip { reason } => *reason = secrets.mask(reason),
        }
        r.note = r.note.as_deref().map(|n| secrets.mask(n));
        for by in &mut r.observed_by {
            *by = secrets.mask(by);
        }
    }
    report.error = report.error.as_deref().map(|e| all.mask(e));
    report
}

/// A report of a target that could not be checked at all: every check is
/// an error with `message`.
fn failed_target(target: String, checks: &[Check], message: String) -> TargetReport {
    masked(TargetReport {
        target,
        facts: None,
        results: checks
            .iter()
            .map(|c| CheckResult {
                check: c.clone(),
                outcome: Outcome::Error {
                    message: message.clone(),
                },
                note: None,
                observed_by: Vec::new(),
                duration: Duration::ZERO,
            })
            .collect(),
        error: Some(message),
        stats: Stats::default(),
    })
}

/// Checks one target whose session is open (its facts known): decides
/// which checks run, observes their needs in one round, judges them, and
/// observes again what waits for `eventually`.
pub fn run_session(session: &Session<'_>, checks: &[Check], opts: &Options) -> TargetReport {
    let backend = session.backend();
    let mut stats = Stats::default();
    let mut report = TargetReport {
        target: backend.target(),
        facts: None,
        error: None,
        results: Vec::new(),
        stats: Stats::default(),
    };
    let facts = session.facts().clone();

    // Decide, then round 2 for everything that runs.
    let round_start = Instant::now();
    let mut results: Vec<Option<CheckResult>> = vec![None; checks.len()];
    let mut to_run = Vec::new();
    for (i, check) in checks.iter().enumerate() {
        match rules::decide(check, &facts, opts.auto_skip) {
            Decision::Skip(reason) => {
                results[i] = Some(CheckResult {
                    check: check.clone(),
                    outcome: Outcome::Skip { reason },
                    note: None,
                    observed_by: Vec::new(),
                    duration: Duration::ZERO,
                })
            }
            Decision::Run => match session.cannot_observe(check) {
                Some(message) => {
                    results[i] = Some(CheckResult {
                        check: check.clone(),
                        outcome: Outcome::Error { message },
                        note: None,
                        observed_by: Vec::new(),
                        duration: Duration::ZERO,
                    })
                }
                None => to_run.push(i),
            },
        }
    }
    let record = |results: &mut Vec<Option<CheckResult>>, round: Vec<Judged>, elapsed: Duration| {
        for j in round {
            results[j.index] = Some(CheckResult {
                check: checks[j.index].clone(),
                outcome: j.outcome,
                note: j.note,
                observed_by: j.observed_by,
                duration: elapsed,
            });
        }
    };
    // A round that fails errors the checks it was for; what the rules
    // skipped stays skipped, and what passed before an `eventually` retry
    // stays passed.
    let fail_round = |results: &mut Vec<Option<CheckResult>>,
                      which: &[usize],
                      message: &str,
                      elapsed: Duration| {
        for &i in which {
            results[i] = Some(CheckResult {
                check: checks[i].clone(),
                outcome: Outcome::Error {
                    message: message.to_string(),
                },
                note: None,
                observed_by: Vec::new(),
                duration: elapsed,
            });
        }
    };
    let mut failed = None;
    match observe_round(session, checks, &to_run, opts.batch_timeout, &mut stats) {
        Ok(round) => record(&mut results, round, round_start.elapsed()),
        Err(e) => {
            let message = format!("running probes on {}: {e}", backend.target());
            fail_round(&mut results, &to_run, &message, Duration::ZERO);
            failed = Some(message);
        }
    }

    // `eventually`: observe again only what has not passed yet.
    let mut tries = vec![1u32; checks.len()];
    while failed.is_none() {
        let waited = round_start.elapsed();
        let pending: Vec<usize> = to_run
            .iter()
            .copied()
            .filter(|&i| {
                let done = matches!(results[i].as_ref().map(|r| &r.outcome), Some(Outcome::Pass));
                !done
                    && checks[i]
                        .options
                        .eventually
                        .is_some_and(|e| waited < e.timeout)
            })
            .collect();
        let Some(interval) = pending
            .iter()
            .filter_map(|&i| checks[i].options.eventually.map(|e| e.interval))
            .min()
        else {
            break;
        };
        thread::sleep(interval);
        for &i in &pending {
            tries[i] += 1;
        }
        let limit = retry_limit(checks, &pending, round_start.elapsed(), opts.batch_timeout);
        match observe_round(session, checks, &pending, limit, &mut stats) {
            Ok(round) => record(&mut results, round, round_start.elapsed()),
            Err(e) => {
                let message = format!(
                    "running probes again for `eventually` on {}: {e}",
                    backend.target()
                );
                fail_round(&mut results, &pending, &message, round_start.elapsed());
                failed = Some(message);
            }
        }
    }

    // A check that waited and still did not pass says how long it waited.
    for &i in &to_run {
        let (Some(e), Some(r)) = (checks[i].options.eventually, results[i].as_mut()) else {
            continue;
        };
        if matches!(r.outcome, Outcome::Fail { .. } | Outcome::Error { .. }) {
            let waited = format!(
                "waited {:.1}s for it to pass ({} observations, eventually within {:?})",
                r.duration.as_secs_f64(),
                tries[i],
                e.timeout
            );
            r.note = Some(match r.note.take() {
                Some(note) => format!("{note}; {waited}"),
                None => waited,
            });
        }
    }
    stats.checks = round_start.elapsed();
    stats.total = stats.checks;
    report.error = failed;
    report.facts = Some(facts);
    report.results = results
        .into_iter()
        .map(|r| r.expect("every check has a result"))
        .collect();
    report.stats = stats;
    masked(report)
}

/// Connects to each target and checks them all, targets in parallel.
pub fn run_targets(targets: &[Target], checks: &[Check], opts: &Options) -> Vec<TargetReport> {
    run_targets_with(targets, checks, opts, &|_| {})
}

/// As [`run_targets`], calling `done` as each target finishes (for progress).
pub fn run_targets_with(
    targets: &[Target],
    checks: &[Check],
    opts: &Options,
    done: &(dyn Fn(&TargetReport) + Sync),
) -> Vec<TargetReport> {
    run_each_with(targets, &vec![checks; targets.len()], opts, done)
}

/// As [`run_targets_with`], with each target's own checks (`checks[i]` for
/// `targets[i]`: a spec loaded with each target's variables).
pub fn run_each_with(
    targets: &[Target],
    checks: &[&[Check]],
    opts: &Options,
    done: &(dyn Fn(&TargetReport) + Sync),
) -> Vec<TargetReport> {
    assert_eq!(targets.len(), checks.len(), "one list of checks per target");
    let workers = match opts.parallel {
        0 => targets.len().min(32),
        n => n.min(targets.len()),
    }
    .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<TargetReport>>> =
        targets.iter().map(|_| Default::default()).collect();
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(target) = targets.get(i) else { break };
                let report = check_target(target, checks[i], opts);
                done(&report);
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
            });
        }
    });
    slots
        .into_iter()
        .map(|s| {
            s.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every target was checked")
        })
        .collect()
}

/// Connects to one target and checks it; a target that cannot be reached is
/// a report with an error, not a failure of the run.
fn check_target(target: &Target, checks: &[Check], opts: &Options) -> TargetReport {
    let connect_start = Instant::now();
    match backend::connect(target, &opts.connect) {
        Ok(backend) => {
            let connected = connect_start.elapsed();
            let mut report = run(backend.as_ref(), checks, opts);
            report.stats.connect = connected;
            report.stats.total += connected;
            report
        }
        Err(e) => {
            let mut report = failed_target(target.to_string(), checks, format!("connecting: {e}"));
            report.stats.connect = connect_start.elapsed();
            report.stats.total = report.stats.connect;
            report
        }
    }
}

/// The scripts a run would send, without running them: the facts script, and
/// the probe script as planned for a Debian host with systemd (the real plan
/// follows each target's facts from round 1). Both go to one `sh` on the
/// target, one after the other; both can be run by hand with `sh < script`.
pub fn explain(checks: &[Check]) -> String {
    let assumed = facts::from_raw(&facts::RawFacts {
        os_release: "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        uname_m: "x86_64",
        env: "pid1=systemd\nsystemd_run=1\nhave=dpkg-query\nhave=timeout\n",
        ..Default::default()
    });
    let runs: Vec<&Check> = checks
        .iter()
        .filter(|c| rules::decide(c, &assumed, true) == Decision::Run)
        .collect();
    let needs: BTreeSet<resource::Need> = runs
        .iter()
        .flat_map(|c| resource::needs(c, &assumed))
        .collect();
    let plan = Plan::new(&needs, &assumed);
    let nonce = probe::nonce();
    let mut out = String::new();
    out.push_str(&format!(
        "# exec 1: one `sh` on the target reads both scripts, the second written after the first's output was read\n# round trip 1: facts ({} probes, the same for every target)\n",
        facts::probes().len()
    ));
    let schedule = probe::Schedule::new(None, Options::default().batch_timeout);
    out.push_str(&probe::render(&facts::probes(), &nonce, schedule));
    out.push_str(&format!(
        "\n# round trip 2, on the same `sh`: {} probes for {} checks, as planned for a Debian host with systemd\n",
        plan.probes.len(),
        runs.len()
    ));
    for p in &plan.probes {
        out.push_str(&format!("#   {p}\n"));
    }
    out.push_str(&probe::render(&plan.probes, &nonce, schedule));
    out
}
