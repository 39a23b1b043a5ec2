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
use crate::matcher::Value;
use crate::model::target::Target;
use crate::probe::{self, Probe, ProbeOutput};
use crate::resource::{self, Early, Observations, Plan};
use crate::rules::{self, Decision};
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
        found: String,
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

/// Why a batch gave no results.
#[derive(Debug, Clone)]
pub enum BatchError {
    /// The target has no `/bin/sh` to run the script.
    NoShell(String),
    /// The batch failed for another reason, named.
    Failed(String),
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::NoShell(m) | BatchError::Failed(m) => f.write_str(m),
        }
    }
}

/// Runs one framed batch of probes on the target: one exec.
///
/// Each probe gets its own answer: a probe that finished keeps its output even
/// when a later one was cut off (the batch timed out, the connection ended).
/// An `Err` means nothing of the batch can be trusted or nothing ran.
pub fn run_batch(
    backend: &dyn Backend,
    probes: &[Probe],
    timeout: Duration,
    cpus: Option<u32>,
) -> Result<Vec<probe::Answer>, BatchError> {
    let timeout = backend.exec_limit(timeout);
    let nonce = probe::nonce();
    let token = probe::dir_token();
    let script = probe::render_in(probes, &nonce, &token, probe::Schedule::new(cpus, timeout));
    // While it runs, a signal that ends this process stops it on the target.
    let _running = backend
        .side_channel()
        .map(|side| crate::backend::inflight::register(side, probe::stop_script(&token)))
        .transpose()
        .map_err(|e| BatchError::Failed(e.to_string()))?;
    // The script prints at most `cap` bytes of each stream of each probe,
    // and a header: the batch's own limit follows, so that a check's
    // `max_output` is never cut by the batch's.
    let cap = probes
        .iter()
        .map(|p| p.cap().saturating_mul(2).saturating_add(256))
        .fold(64 << 10, usize::saturating_add)
        .max(crate::backend::EXEC_OUTPUT_CAP);
    let out = backend
        .exec_capped(&["sh".to_string()], script.as_bytes(), timeout, cap)
        .map_err(|e| BatchError::Failed(e.to_string()))?;
    let mut results =
        probe::parse(&out.stdout, &nonce, probes).map_err(|e| BatchError::Failed(e.to_string()))?;
    let late = format!(
        "the batch did not finish within {}s and was stopped before this probe finished",
        timeout.as_secs()
    );
    for r in results.iter_mut() {
        if r.as_ref().is_err_and(|e| e == probe::STOPPED) {
            *r = Err(late.clone());
        }
    }
    let cut_why = if out.timed_out {
        Some(late)
    } else if out.truncated {
        Some(format!(
            "the target printed more than {} MiB in one batch, more than its probes can print; the rest was dropped",
            cap >> 20
        ))
    } else {
        None
    };
    if let Some(why) = &cut_why {
        for r in results.iter_mut().filter(|r| r.is_err()) {
            *r = Err(why.clone());
        }
    }
    if !probes.is_empty() && results.iter().all(Result::is_err) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let status = out.status.map_or("killed by a signal".to_string(), |s| {
            format!("exit status {s}")
        });
        if let Some(why) = cut_why {
            return Err(BatchError::Failed(why));
        }
        let lost = results.iter().all(|r| {
            r.as_ref()
                .err()
                .is_some_and(|e| e.starts_with("the probe did not run"))
        });
        if lost {
            return Err(BatchError::Failed(
                results[0].clone().err().unwrap_or_default(),
            ));
        }
        return Err(if matches!(out.status, Some(126) | Some(127)) {
            // Docker reports a missing executable on the exec's own output.
            let said = format!(
                "{} {}",
                String::from_utf8_lossy(&out.stdout).trim(),
                stderr.trim()
            );
            BatchError::NoShell(format!(
                "the target has no /bin/sh to run probes ({status}): {}",
                said.trim()
            ))
        } else {
            let why = match out.status {
                Some(137) => " — killed (the container or the shell was killed)",
                Some(143) => " — terminated",
                None => " — the connection ended",
                _ => "",
            };
            BatchError::Failed(format!(
                "the probe script gave no results ({status}{why}): {}",
                crate::model::text::escape_text(stderr.trim())
            ))
        });
    }
    Ok(results)
}

/// How probes are answered on a target.
enum Prober<'b> {
    /// One framed `sh` script per round.
    Shell,
    /// Nothing can run (an image file, a container without a shell): the
    /// filesystem observer answers from the target's files what they can.
    Files(std::cell::RefCell<resource::files::BackendFiles<'b>>),
}

impl Prober<'_> {
    fn answer(
        &self,
        backend: &dyn Backend,
        probes: &[Probe],
        cpus: Option<u32>,
        opts: &Options,
        stats: &mut Stats,
    ) -> Result<Vec<probe::Answer>, BatchError> {
        match self {
            Prober::Shell => {
                stats.round_trips += 1;
                run_batch(backend, probes, opts.batch_timeout, cpus)
            }
            Prober::Files(files) => {
                let mut files = files.borrow_mut();
                let before = files.reads;
                let outputs = probes
                    .iter()
                    .map(|p| {
                        resource::files::answer(p, &mut *files).ok_or_else(|| {
                            format!("`{p}` cannot be answered without running it on the target")
                        })
                    })
                    .collect();
                // A backend that reads remotely pays a round trip a read; an
                // image file is read here.
                if backend.image_file().is_none() {
                    stats.round_trips += files.reads - before;
                }
                Ok(outputs)
            }
        }
    }
}

fn expected_words(check: &Check) -> String {
    let phrase = check.expectation.phrase();
    match phrase.split_once("should ") {
        Some((_, rest)) => rest.to_string(),
        None => phrase,
    }
}

fn found_words(check: &Check, value: &Value) -> String {
    let kind = check
        .resource
        .kind
        .property_kind(check.expectation.property);
    match (value, kind, &check.expectation.matcher) {
        (Value::Bool(b), Some(ValueKind::State), _) => check.expectation.property.state_found(*b),
        // Multi-line text against a multi-line expectation reads best as a diff.
        (
            Value::Text(found),
            _,
            crate::matcher::Matcher::Eq(crate::matcher::Scalar::Str(expected)),
        ) if found.contains('\n') || expected.contains('\n') => {
            let diff = crate::model::text::diff(expected, found);
            // Texts that differ only where lines do not show (a trailing
            // newline) read better quoted.
            if diff
                .lines()
                .any(|l| l.starts_with('-') || l.starts_with('+'))
            {
                format!("(diff: - expected, + found)\n{diff}")
            } else {
                value.to_string()
            }
        }
        _ => value.to_string(),
    }
}

/// Evaluates one check from the batch's answers: pure, no I/O.
pub fn judge(check: &Check, obs: &Observations<'_>) -> (Outcome, Option<String>) {
    let hidden = |s: String| {
        if check.options.sensitive {
            "(hidden: sensitive)".to_string()
        } else {
            s
        }
    };
    match resource::observe(check, obs) {
        Ok(observed) => match check.expectation.matcher.eval(&observed.value) {
            Ok(true) => (Outcome::Pass, observed.note),
            Ok(false) => (
                Outcome::Fail {
                    expected: hidden(expected_words(check)),
                    found: hidden(found_words(check, &observed.value)),
                },
                observed.note,
            ),
            Err(message) => (Outcome::Error { message }, observed.note),
        },
        Err(Early::Fail(found)) => (
            Outcome::Fail {
                expected: hidden(expected_words(check)),
                found,
            },
            None,
        ),
        Err(Early::Error(message)) => (Outcome::Error { message }, None),
        Err(Early::Skip(reason)) => (Outcome::Skip { reason }, None),
    }
}

/// A check judged in one round.
struct Judged {
    index: usize,
    outcome: Outcome,
    note: Option<String>,
    observed_by: Vec<String>,
}

/// Observes `checks` (indices into `all`) in one round trip and judges them.
fn observe_round(
    backend: &dyn Backend,
    prober: &Prober<'_>,
    all: &[Check],
    indices: &[usize],
    facts: &Facts,
    opts: &Options,
    stats: &mut Stats,
) -> Result<Vec<Judged>, BatchError> {
    let per_check: Vec<Vec<resource::Need>> = indices
        .iter()
        .map(|&i| resource::needs(&all[i], facts))
        .collect();
    let needs: BTreeSet<resource::Need> = per_check.iter().flatten().cloned().collect();
    let plan = Plan::new(&needs, facts);
    let outputs = if plan.probes.is_empty() {
        Vec::new()
    } else {
        stats.probes += plan.probes.len();
        prober.answer(backend, &plan.probes, facts.cpus, opts, stats)?
    };
    let mut obs = Observations::new(facts, &plan, &outputs);
    if network_round(backend, indices.iter().map(|&i| &all[i]), &mut obs) {
        stats.round_trips += 1;
    }
    Ok(indices
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let check = &all[i];
            let mut by: Vec<String> = per_check[k]
                .iter()
                .filter(|n| plan.probe_of(n).is_some())
                .map(|n| plan.shown_for(n))
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

/// After the batch, one more round for what is reached from the target's
/// point of view over the network: http requests, TCP connections and the
/// certificates TLS servers present, all at once; and the runner's view of
/// `docker_image`s. Says whether there was a network round.
fn network_round<'c>(
    backend: &dyn Backend,
    checks: impl Iterator<Item = &'c Check> + Clone,
    obs: &mut Observations<'_>,
) -> bool {
    let mut keys: Vec<resource::http::Key> = checks
        .clone()
        .filter(|c| c.resource.kind == crate::spec::ResourceKind::Http)
        .map(resource::http_key)
        .collect();
    keys.sort_by(|a, b| a.url.cmp(&b.url));
    keys.dedup();
    let mut reach: Vec<(String, u16, Duration)> =
        checks.clone().filter_map(resource::reach_key).collect();
    reach.sort();
    reach.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    // One request per server, given the longest time any check allows it.
    let mut servers: Vec<(String, Duration)> = checks
        .clone()
        .filter_map(resource::certificate::fetch_key)
        .collect();
    servers.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    servers.dedup_by(|a, b| a.0 == b.0);
    let network = !(keys.is_empty() && reach.is_empty() && servers.is_empty());
    if network {
        enum Job<'j> {
            Http(&'j resource::http::Key),
            Tcp(&'j (String, u16, Duration)),
            Tls(&'j (String, Duration)),
        }
        // One per request, consumed at once: boxing the big variant would
        // buy nothing.
        #[allow(clippy::large_enum_variant)]
        enum Done {
            Http(
                resource::http::Key,
                Result<resource::http::Response, String>,
            ),
            Tcp((String, u16), Result<resource::host::Reach, String>),
            Tls(String, Result<Vec<u8>, String>),
        }
        let jobs: Vec<Job<'_>> = keys
            .iter()
            .map(Job::Http)
            .chain(reach.iter().map(Job::Tcp))
            .chain(servers.iter().map(Job::Tls))
            .collect();
        let done = bounded(&jobs, NETWORK_WORKERS, |job, panicked| match job {
            Job::Http(k) => Done::Http(
                (*k).clone(),
                panicked.map_or_else(|| resource::http::fetch(backend, k), Err),
            ),
            Job::Tcp((host, port, timeout)) => Done::Tcp(
                (host.clone(), *port),
                panicked.map_or_else(
                    || resource::host::connect(backend, host, *port, *timeout),
                    Err,
                ),
            ),
            Job::Tls((name, timeout)) => Done::Tls(
                name.clone(),
                panicked.map_or_else(
                    || {
                        let (host, port) = resource::certificate::tls_address(name)
                            .expect("checked when the spec loaded");
                        resource::certificate::fetch(backend, &host, port, *timeout)
                    },
                    Err,
                ),
            ),
        });
        for d in done {
            match d {
                Done::Http(k, r) => {
                    obs.http.insert(k, r);
                }
                Done::Tcp(k, r) => {
                    obs.reach.insert(k, r);
                }
                Done::Tls(k, r) => {
                    obs.certs.insert(k, r);
                }
            }
        }
    }
    for c in checks {
        let r = &c.resource;
        if r.kind == crate::spec::ResourceKind::DockerImage && !obs.images.contains_key(&r.name) {
            // An image file answers for itself, by any of its names; other
            // images are the runner's engine's.
            let meta = match backend.image_file() {
                Some(image) if image.names().contains(&r.name) => Ok(image.config().cloned()),
                _ => crate::backend::docker::inspect_image(&r.name),
            };
            obs.images.insert(r.name.clone(), meta);
        }
    }
    network
}

/// Requests of the network round that run at the same time, at most.
const NETWORK_WORKERS: usize = 16;

/// Runs `work(item, None)` for every item on at most `workers` threads, and
/// returns the results in the items' order. A panic in one item's work
/// (hostile server data deep in a TLS or HTTP library, say) is that item's
/// answer: `work(item, Some(why))` makes its result, and the run goes on.
fn bounded<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    work: impl Fn(&T, Option<String>) -> R + Sync,
) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    work(item, None)
                }))
                .unwrap_or_else(|panic| {
                    let text = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "no message".into());
                    work(
                        item,
                        Some(format!(
                            "the request failed inside infraspec (a panic: {text}); the other checks were not affected"
                        )),
                    )
                });
                *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            });
        }
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every item was worked on")
        })
        .collect()
}

/// Round 1 on its own: the facts of a target with a shell.
pub fn gather_facts(backend: &dyn Backend, timeout: Duration) -> Result<Facts, BatchError> {
    let outputs = run_batch(backend, &facts::probes(), timeout, None)?;
    let outputs: Vec<ProbeOutput> = outputs
        .into_iter()
        .map(|o| {
            o.unwrap_or(ProbeOutput {
                status: -1,
                ..Default::default()
            })
        })
        .collect();
    Ok(facts::parse(&outputs))
}

/// Observes property values (no matcher) in one round trip: the door the
/// `Host` API of plain-Rust checks goes through.
pub fn observe_values(
    backend: &dyn Backend,
    facts: &Facts,
    requests: &[(crate::spec::Resource, crate::spec::Property)],
    timeout: Duration,
) -> Result<Vec<Result<Value, Early>>, BatchError> {
    let checks: Vec<Check> = requests
        .iter()
        .map(|(r, p)| {
            Check::new(
                r.clone(),
                crate::spec::Expectation::new(*p, crate::matcher::Matcher::Eq(true.into())),
            )
        })
        .collect();
    observe_with(backend, facts, &checks, &[], timeout, |obs| {
        checks
            .iter()
            .map(|c| resource::observe(c, obs).map(|o| o.value))
            .collect()
    })
}

/// Runs the probes `checks` need, and `extra` ones, in one batch (and one
/// network round when they reach out), then hands the answers to `read`.
pub(crate) fn observe_with<R>(
    backend: &dyn Backend,
    facts: &Facts,
    checks: &[Check],
    extra: &[resource::Need],
    timeout: Duration,
    read: impl FnOnce(&Observations<'_>) -> R,
) -> Result<R, BatchError> {
    let needs: BTreeSet<resource::Need> = checks
        .iter()
        .flat_map(|c| resource::needs(c, facts))
        .chain(extra.iter().cloned())
        .collect();
    let plan = Plan::new(&needs, facts);
    let outputs = if plan.probes.is_empty() {
        Vec::new()
    } else {
        run_batch(backend, &plan.probes, timeout, facts.cpus)?
    };
    let mut obs = Observations::new(facts, &plan, &outputs);
    network_round(backend, checks.iter(), &mut obs);
    Ok(read(&obs))
}

/// Facts of a target where nothing runs (an image file, a container
/// without a shell), from what its files say: the OS from its os-release
/// file, the package manager from which database is there, the
/// architecture from the image config or a binary. `None` when the backend
/// cannot read paths either.
fn file_facts(
    backend: &dyn Backend,
    files: &mut resource::files::BackendFiles<'_>,
) -> Option<Facts> {
    use resource::files::Files;
    // os-release is often a link (to ../usr/lib/os-release).
    let text = |files: &mut resource::files::BackendFiles<'_>, path: &str| {
        resource::files::follow(files, path)
            .map(|(e, _)| e.map(|e| String::from_utf8_lossy(&e.content).into_owned()))
    };
    let os_release = match text(files, "/etc/os-release") {
        Ok(Some(t)) => t,
        Ok(None) => text(files, "/usr/lib/os-release")
            .ok()
            .flatten()
            .unwrap_or_default(),
        Err(_) => return None,
    };
    let mut facts = facts::from_raw(&facts::RawFacts {
        os_release: &os_release,
        ..Default::default()
    });
    let exists = |files: &mut resource::files::BackendFiles<'_>, p: &str| {
        matches!(files.entry(p), Ok(Some(_)))
    };
    use facts::PackageManager as Pm;
    let found: Vec<Pm> = [
        (Pm::Dpkg, "/var/lib/dpkg/status"),
        (Pm::Dpkg, "/var/lib/dpkg/status.d"),
        (Pm::Apk, "/lib/apk/db/installed"),
        (Pm::Rpm, "/var/lib/rpm"),
        (Pm::Rpm, "/usr/lib/sysimage/rpm"),
        (Pm::Pacman, "/var/lib/pacman/local"),
    ]
    .into_iter()
    .filter(|(_, p)| exists(files, p))
    .map(|(pm, _)| pm)
    .collect();
    facts.package_manager = facts
        .package_manager
        .filter(|pm| found.contains(pm))
        .or(found.first().copied());
    facts.container = backend.container_runtime();
    facts.pid1 = "(no shell to ask)".into();
    if let Some(image) = backend.image_file() {
        facts.image_file = Some(image.kind().into());
        facts.pid1 = "(nothing runs)".into();
    }
    facts.arch = match backend.image_file().and_then(|i| i.arch()) {
        Some(arch) => facts::uname_arch(arch).to_string(),
        None => ["/bin/sh", "/bin/busybox", "/usr/bin/env", "/bin/sleep"]
            .iter()
            .find_map(|p| {
                let (e, _) = resource::files::follow(files, p).ok()?;
                facts::elf_arch(&e?.content).map(str::to_string)
            })
            .unwrap_or_default(),
    };
    Some(facts)
}

/// Whether the filesystem observer can answer a check (on a running
/// container without a shell, the rest needs a process in it).
fn answered_by_files(check: &Check) -> bool {
    use crate::spec::{Property, ResourceKind as K};
    match check.resource.kind {
        K::File | K::DockerImage | K::Http | K::Package | K::User | K::Group => true,
        K::Service => check.expectation.property != Property::Running,
        K::Certificate => !check.resource.name.starts_with("tls://"),
        _ => false,
    }
}

/// Checks one target through a connected backend.
pub fn run(backend: &dyn Backend, checks: &[Check], opts: &Options) -> TargetReport {
    let started = Instant::now();
    let mut stats = Stats::default();
    let mut report = TargetReport {
        target: backend.target(),
        facts: None,
        error: None,
        results: Vec::new(),
        stats: Stats::default(),
    };
    let fail_all = |report: &mut TargetReport, message: String| {
        report.results = checks
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
            .collect();
        report.error = Some(message);
    };

    // Round 1: facts.
    let mut prober = Prober::Shell;
    let gathered = if backend.image_file().is_some() {
        // Nothing runs in an image file: no round trip, its files answer.
        Err(BatchError::NoShell(
            crate::backend::image_file::NOTHING_RUNS.into(),
        ))
    } else {
        stats.round_trips += 1;
        gather_facts(backend, opts.batch_timeout)
    };
    let facts = match gathered {
        Ok(facts) => facts,
        Err(BatchError::NoShell(why)) => {
            // The checks read through the same files as the facts: each
            // path is read once.
            let mut files = resource::files::BackendFiles::new(backend);
            match file_facts(backend, &mut files) {
                Some(facts) => {
                    prober = Prober::Files(std::cell::RefCell::new(files));
                    facts
                }
                None => {
                    fail_all(
                        &mut report,
                        format!("gathering facts on {}: {why}", backend.target()),
                    );
                    stats.total = started.elapsed();
                    report.stats = stats;
                    return report;
                }
            }
        }
        Err(e) => {
            fail_all(
                &mut report,
                format!("gathering facts on {}: {e}", backend.target()),
            );
            stats.total = started.elapsed();
            report.stats = stats;
            return report;
        }
    };
    stats.facts = started.elapsed();

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
            Decision::Run
                if matches!(prober, Prober::Files(_)) && !answered_by_files(check) =>
            {
                results[i] = Some(CheckResult {
                    check: check.clone(),
                    outcome: Outcome::Error {
                        message: format!(
                            "the target has no shell (/bin/sh): {} checks need a process in it; only what its files say (files, packages, users, groups, service enablement) is read",
                            check.resource.kind
                        ),
                    },
                    note: None,
                    observed_by: Vec::new(),
                    duration: Duration::ZERO,
                })
            }
            Decision::Run => to_run.push(i),
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
    let fail_round = |results: &mut Vec<Option<CheckResult>>, which: &[usize], message: &str| {
        for &i in which {
            results[i] = Some(CheckResult {
                check: checks[i].clone(),
                outcome: Outcome::Error {
                    message: message.to_string(),
                },
                note: None,
                observed_by: Vec::new(),
                duration: Duration::ZERO,
            });
        }
    };
    let mut failed = None;
    match observe_round(backend, &prober, checks, &to_run, &facts, opts, &mut stats) {
        Ok(round) => record(&mut results, round, round_start.elapsed()),
        Err(e) => {
            let message = format!("running probes on {}: {e}", backend.target());
            fail_round(&mut results, &to_run, &message);
            failed = Some(message);
        }
    }

    // `eventually`: observe again only what has not passed yet.
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
        match observe_round(backend, &prober, checks, &pending, &facts, opts, &mut stats) {
            Ok(round) => record(&mut results, round, round_start.elapsed()),
            Err(e) => {
                let message = format!(
                    "running probes again for `eventually` on {}: {e}",
                    backend.target()
                );
                fail_round(&mut results, &pending, &message);
                failed = Some(message);
            }
        }
    }

    stats.checks = round_start.elapsed();
    stats.total = started.elapsed();
    report.error = failed;
    report.facts = Some(facts);
    report.results = results
        .into_iter()
        .map(|r| r.expect("every check has a result"))
        .collect();
    report.stats = stats;
    report
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
                let report = check_target(target, checks, opts);
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
        Err(e) => TargetReport {
            target: target.to_string(),
            facts: None,
            error: Some(format!("connecting: {e}")),
            results: checks
                .iter()
                .map(|c| CheckResult {
                    check: c.clone(),
                    outcome: Outcome::Error {
                        message: format!("connecting: {e}"),
                    },
                    note: None,
                    observed_by: Vec::new(),
                    duration: Duration::ZERO,
                })
                .collect(),
            stats: Stats {
                connect: connect_start.elapsed(),
                total: connect_start.elapsed(),
                ..Stats::default()
            },
        },
    }
}

/// The scripts a run would send, without running them: the facts script, and
/// the probe script as planned for a Debian host with systemd (the real plan
/// follows each target's facts from round 1). Both can be run by hand with
/// `sh < script`.
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
        "# round trip 1: facts ({} probes, the same for every target)\n",
        facts::probes().len()
    ));
    let schedule = probe::Schedule::new(None, Options::default().batch_timeout);
    out.push_str(&probe::render(&facts::probes(), &nonce, schedule));
    out.push_str(&format!(
        "\n# round trip 2: {} probes for {} checks, as planned for a Debian host with systemd\n",
        plan.probes.len(),
        runs.len()
    ));
    for p in &plan.probes {
        out.push_str(&format!("#   {p}\n"));
    }
    out.push_str(&probe::render(&plan.probes, &nonce, schedule));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_pool_is_bounded_and_a_panic_is_one_items_answer() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let items: Vec<usize> = (0..40).collect();
        let out = bounded(&items, 4, |&i, panicked| {
            if let Some(why) = panicked {
                return Err(why);
            }
            let running = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(running, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            now.fetch_sub(1, Ordering::SeqCst);
            if i == 7 {
                panic!("hostile bytes");
            }
            Ok(i * 2)
        });
        assert!(most.load(Ordering::SeqCst) <= 4, "{most:?}");
        assert_eq!(out.len(), 40);
        for (i, r) in out.iter().enumerate() {
            if i == 7 {
                let e = r.as_ref().unwrap_err();
                assert!(e.contains("panic: hostile bytes"), "{e}");
            } else {
                assert_eq!(r, &Ok(i * 2));
            }
        }
    }
}
