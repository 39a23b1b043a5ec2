//! The `cargo test` harness behind `spec!`: libtest-mimic trials.
//!
//! Building the list of trials never touches a target (`--list` is free). The
//! first selected trial of a target connects and runs every selected check of
//! that target as one batch (the engine's two round trips); the other trials of
//! that target read their outcome from it. Only trials the filter selects are
//! planned, so `cargo nextest` (one process per test) costs one small batch per
//! test. Skips are ignored trials with their reason.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use crate::dsl::{Fits, Prop, PropertyOf, ResourceType};
use crate::engine::{self, CheckResult, Outcome};
use crate::host::Host;
use crate::model::target::{self, Target};
use crate::spec::{Check, CheckOptions, Origin, Resource, ResourceKind};

/// A plain-Rust check registered in `spec!`.
pub struct Custom {
    name: &'static str,
    run: fn(&Host) -> crate::Result<()>,
}

impl Custom {
    pub fn new(name: &'static str, run: fn(&Host) -> crate::Result<()>) -> Custom {
        Custom { name, run }
    }
}

/// `describe kind(arg)`: the resource, or why its name cannot be one.
pub fn resource(kind: ResourceKind, name: impl ToString) -> Result<Resource, String> {
    Resource::new(kind, name.to_string())
}

/// A duration from an attribute (validated by the macro).
pub fn duration(text: &str) -> std::time::Duration {
    crate::spec::yaml::parse_duration(text).unwrap_or_else(|e| panic!("{e}"))
}

fn origin(at: &std::panic::Location<'_>) -> Option<Origin> {
    Some(Origin {
        file: at.file().to_string(),
        line: at.line() as usize,
    })
}

fn build(
    resource: &Result<Resource, String>,
    options: &CheckOptions,
    expectation: crate::spec::Expectation,
    negate: bool,
    at: &std::panic::Location<'_>,
) -> Result<Check, String> {
    let mut expectation = expectation;
    if negate {
        expectation.matcher = expectation.matcher.negate();
    }
    let resource = resource.clone()?;
    Ok(Check {
        resource,
        expectation,
        options: options.clone(),
        origin: origin(at),
        reported_name: None,
    })
}

/// `it { should m }` on resource `R`.
#[track_caller]
pub fn it<R: ResourceType, M: Fits<R>>(
    resource: &Result<Resource, String>,
    options: &CheckOptions,
    matcher: M,
    negate: bool,
) -> Result<Check, String> {
    build(
        resource,
        options,
        matcher.expectation(),
        negate,
        std::panic::Location::caller(),
    )
}

/// `its(p) { should m }` on property `P` of resource `R`: `property` is
/// its name in [`crate::dsl::properties`] (`properties::file::mode`).
#[track_caller]
pub fn its<R: ResourceType, P: PropertyOf<R>, M: Fits<Prop<R, P>>>(
    _property: Prop<R, P>,
    resource: &Result<Resource, String>,
    options: &CheckOptions,
    matcher: M,
    negate: bool,
) -> Result<Check, String> {
    build(
        resource,
        options,
        matcher.expectation(),
        negate,
        std::panic::Location::caller(),
    )
}

/// Ends one `describe` block whose checks are `block`: the expectations
/// of a `process` block hold for one and the same process, as those of one
/// YAML item do.
pub fn describe_done(block: &mut [Result<Check, String>]) {
    let mut checks: Vec<&mut Check> = block
        .iter_mut()
        .filter_map(|c| c.as_mut().ok())
        .filter(|c| c.resource.kind == ResourceKind::Process)
        .collect();
    let mut expectations: Vec<crate::spec::Expectation> =
        checks.iter().map(|c| c.expectation.clone()).collect();
    crate::spec::yaml::same_process(&mut expectations);
    for (c, e) in checks.iter_mut().zip(expectations) {
        c.expectation = e;
    }
}

/// `#[request(...)]` on `describe http(...)`: the request the checks make,
/// and the `json_path` they read (refused, as in a spec file, when it is no
/// path).
pub fn with_request(
    check: Result<Check, String>,
    request: &crate::spec::Request,
    json_path: Option<&str>,
) -> Result<Check, String> {
    let json_path = json_path
        .map(crate::model::document::JsonPath::parse)
        .transpose()
        .map_err(|e| e.to_string())?;
    check.map(|mut c| {
        c.expectation.request = request.clone();
        c.expectation.request.json_path = json_path;
        c
    })
}

/// One target of the run: connected on first use, its batch run once.
struct TargetState {
    target: Target,
    host: OnceLock<Result<Host, String>>,
    /// Indices (into the spec's checks) of the checks selected to run here.
    selected: Vec<usize>,
    batch: OnceLock<Result<HashMap<usize, CheckResult>, String>>,
    /// Serializes connecting, so parallel trials do not race to connect.
    connecting: Mutex<()>,
    /// Whether a trial has shown this target's error: the others say so in
    /// one line rather than repeating it.
    told: std::sync::atomic::AtomicBool,
}

impl TargetState {
    /// A trial's failure for this target's error (it could not be reached,
    /// its batch did not run): the whole error once, a pointer to it after.
    fn target_error(&self, e: &str) -> Failed {
        if self.told.swap(true, std::sync::atomic::Ordering::SeqCst) {
            Failed::from(format!(
                "{}: not checked: the target could not be observed (its error is shown once, on another test of this target)",
                self.target
            ))
        } else {
            Failed::from(format!("{}: {e}", self.target))
        }
    }

    fn host(&self) -> Result<&Host, String> {
        if self.host.get().is_none() {
            let _guard = self.connecting.lock().unwrap_or_else(|e| e.into_inner());
            if self.host.get().is_none() {
                let host = Host::connect(&self.target).map_err(|e| e.to_string());
                let _ = self.host.set(host);
            }
        }
        self.host
            .get()
            .expect("set above")
            .as_ref()
            .map_err(Clone::clone)
    }

    fn batch(&self, checks: &[Check]) -> &Result<HashMap<usize, CheckResult>, String> {
        self.batch.get_or_init(|| {
            let host = self.host()?;
            let selected: Vec<Check> = self.selected.iter().map(|&i| checks[i].clone()).collect();
            let report = engine::run(host.backend(), &selected, &engine::Options::default());
            if let Some(e) = report.error {
                return Err(e);
            }
            Ok(self.selected.iter().copied().zip(report.results).collect())
        })
    }
}

fn failure(target: &Target, r: &CheckResult) -> Failed {
    let mut m = match &r.outcome {
        Outcome::Fail { expected, found } => format!(
            "{target}: expected to {expected}\n  found:       {}",
            crate::report::found_text(found)
        ),
        Outcome::Error { message } => format!("{target}: could not be observed: {message}"),
        _ => String::new(),
    };
    if let Some(note) = &r.note {
        m.push_str(&format!("\n  note:        {note}"));
    }
    for by in &r.observed_by {
        m.push_str(&format!("\n  observed by: {by}"));
    }
    if let Some(o) = &r.check.origin {
        m.push_str(&format!("\n  at:          {o}"));
    }
    Failed::from(r.check.options.secrets.mask(&m))
}

/// Sensitive values [`var`] gave out: trial names and messages show them as
/// `***`.
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A variable for a `spec!`, from the files `INFRASPEC_VARS` names (YAML
/// `name: value`, separated as in `PATH`) or `INFRASPEC_VAR_<name>` in the
/// environment (sensitive: shown as `***` in trial names and messages).
///
/// # Panics
///
/// When the variable is not set, or a variables file cannot be read: the
/// test binary stops before any trial, saying which.
pub fn var(name: &str) -> String {
    match try_var(name) {
        Ok(Some(value)) => value,
        Ok(None) => panic!(
            "undefined variable `{name}`: set INFRASPEC_VAR_{name}, name a file that sets it in INFRASPEC_VARS, or use var_or"
        ),
        Err(e) => panic!("{e}"),
    }
}

/// As [`var`], with a default when the variable is not set.
pub fn var_or(name: &str, default: &str) -> String {
    match try_var(name) {
        Ok(value) => value.unwrap_or_else(|| default.to_string()),
        Err(e) => panic!("{e}"),
    }
}

fn try_var(name: &str) -> Result<Option<String>, String> {
    let vars = crate::spec::vars::of_process()?;
    Ok(vars.0.get(name).map(|v| {
        if v.sensitive && !v.value.is_empty() {
            SECRETS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(v.value.to_string());
        }
        v.value.to_string()
    }))
}

fn redact(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if secrets.is_empty() {
        return text.to_string();
    }
    crate::spec::vars::redact(text, &secrets)
}

/// Marks a check that holds a value [`var`] gave out as sensitive. Once a
/// value is formatted into a string nothing says where it went, so such a
/// check shows that value as `***` wherever it is in its own texts; checks
/// that do not hold it are left as they are.
fn with_secrets(mut check: Check) -> Check {
    let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let texts = format!(
        "{} {} {}",
        check.resource,
        check.expectation.phrase(),
        check.options.title.as_deref().unwrap_or_default()
    );
    let held: Vec<String> = secrets
        .iter()
        .filter(|s| !s.is_empty() && texts.contains(s.as_str()))
        .cloned()
        .collect();
    if !held.is_empty() {
        check.options.sensitive = true;
        check.options.secrets.extend(crate::spec::Secrets {
            texts: Vec::new(),
            values: held,
        });
    }
    check
}

/// The `main` of a `spec!` test target.
pub fn run_main(checks: Vec<Result<Check, String>>, customs: Vec<Custom>) -> ExitCode {
    let checks: Vec<Result<Check, String>> =
        checks.into_iter().map(|c| c.map(with_secrets)).collect();
    let args = Arguments::from_args();
    let mut targets = match std::env::var("INFRASPEC_TARGET") {
        Ok(list) if !list.trim().is_empty() => match target::parse_list(&list) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("infraspec: INFRASPEC_TARGET: {e}");
                return ExitCode::from(2);
            }
        },
        _ => Vec::new(),
    };
    // An inventory's hosts, as the CLI's --inventory reads them.
    if let Some(path) = std::env::var_os("INFRASPEC_INVENTORY").filter(|p| !p.is_empty()) {
        let path = std::path::PathBuf::from(path);
        let read = crate::spec::vars::read_text(
            &path,
            crate::inventory::ansible::MAX_INVENTORY_BYTES,
            true,
        )
        .and_then(|text| crate::inventory::parse(&text, &path.display().to_string()));
        match read {
            Ok(entries) => targets.extend(entries.into_iter().map(|e| e.target)),
            Err(e) => {
                eprintln!("infraspec: INFRASPEC_INVENTORY {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    if targets.is_empty() {
        targets.push(Target::Local);
    }
    // A trial's name is one line: control characters show as escapes.
    let named = |target: &Target, name: &str| {
        crate::model::text::escape_line(&if targets.len() > 1 {
            format!("{target}: {name}")
        } else {
            name.to_string()
        })
    };
    let kind_of = |c: &Result<Check, String>| {
        c.as_ref()
            .map(|c| c.resource.kind.as_str())
            .unwrap_or("spec")
    };
    let name_of = |c: &Result<Check, String>| match c {
        Ok(c) => c.name(),
        Err(e) => redact(&format!("invalid check: {e}")),
    };
    let static_skip =
        |c: &Result<Check, String>| c.as_ref().ok().and_then(|c| c.options.skip.clone());

    // What the filter selects, decided without touching any target.
    let valid: Arc<Vec<Check>> = Arc::new(
        checks
            .iter()
            .map(|c| c.clone().unwrap_or_else(|_| placeholder()))
            .collect(),
    );
    let mut states = Vec::new();
    for target in &targets {
        let selected = checks
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ok() && static_skip(c).is_none())
            .filter(|(_, c)| {
                let probe =
                    Trial::test(named(target, &name_of(c)), || Ok(())).with_kind(kind_of(c));
                !args.is_filtered_out(&probe) && !args.is_ignored(&probe)
            })
            .map(|(i, _)| i)
            .collect();
        states.push(Arc::new(TargetState {
            target: target.clone(),
            host: OnceLock::new(),
            selected,
            batch: OnceLock::new(),
            connecting: Mutex::new(()),
            told: std::sync::atomic::AtomicBool::new(false),
        }));
    }

    let mut trials = Vec::new();
    let mut skipped = Vec::new();
    for state in &states {
        for (i, check) in checks.iter().enumerate() {
            let name = named(&state.target, &name_of(check));
            let kind = kind_of(check);
            let trial = match (check, static_skip(check)) {
                (Err(e), _) => {
                    let e = redact(e);
                    Trial::test(name, move || Err(Failed::from(e)))
                }
                // Flagged ignored, so that `--ignored` and nextest see it; the
                // reason is printed before the run (libtest-mimic shows reasons
                // only for trials that end ignored), and again when the trial
                // is run with `--include-ignored`.
                (Ok(_), Some(reason)) => {
                    let trial = Trial::ignorable_test(name.clone(), {
                        let reason = reason.clone();
                        move || Ok(Completion::ignored_with(reason))
                    })
                    .with_ignored_flag(true)
                    .with_kind(kind);
                    if !args.list && !args.is_filtered_out(&trial) {
                        skipped.push(format!("{name}: {reason}"));
                    }
                    trial
                }
                (Ok(_), None) => {
                    let state = Arc::clone(state);
                    let valid = Arc::clone(&valid);
                    Trial::ignorable_test(name, move || {
                        let batch = state.batch(&valid);
                        let results = batch.as_ref().map_err(|e| state.target_error(e))?;
                        let r = results.get(&i).ok_or_else(|| {
                            Failed::from("this check was not selected when the run was planned")
                        })?;
                        match &r.outcome {
                            Outcome::Pass => Ok(Completion::Completed),
                            Outcome::Skip { reason } => Ok(Completion::ignored_with(reason)),
                            _ => Err(failure(&state.target, r)),
                        }
                    })
                }
            };
            trials.push(trial.with_kind(kind));
        }
        for custom in &customs {
            let state = Arc::clone(state);
            let run = custom.run;
            let name = named(&state.target, custom.name);
            trials.push(
                Trial::test(name, move || {
                    let host = state.host().map_err(|e| state.target_error(&e))?;
                    run(host).map_err(|e| Failed::from(format!("{}: {e}", state.target)))
                })
                .with_kind("test"),
            );
        }
    }
    for line in &skipped {
        println!("skipped in the spec: {line}");
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // Hosts are dropped here: throwaway containers are removed before exit.
    drop(states);
    conclusion.exit_code()
}

/// Stands in for an invalid check in index-aligned lists; never run.
fn placeholder() -> Check {
    Check::new(
        Resource {
            kind: ResourceKind::Command,
            name: "true".into(),
        },
        crate::spec::Expectation::new(
            crate::spec::Property::ExitStatus,
            crate::matcher::Matcher::Eq(0.into()),
        ),
    )
}
