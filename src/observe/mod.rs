//! The observe layer: the only code that holds a backend to answer what
//! checks need. A [`Session`] is made once per connected target: its facts,
//! and how its probes are answered, by the shell observer ([`shell`], one
//! framed script per round) or, where nothing runs (an image file, a
//! container without a shell), by the target's files
//! ([`files`]); then the network observer ([`network`]) and the images
//! observer ([`images`]).
//! The engine, the `Host` API and `add`/`autoadd` all observe through it, so
//! each works on every kind of target.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::Duration;

use crate::backend::Backend;
use crate::facts::{self, Facts};
use crate::matcher::Value;
use crate::probe::ProbeOutput;
use crate::resource::{self, Early, Observations, Plan};
use crate::spec::Check;

pub mod files;
pub mod here;
pub mod http;
pub mod images;
pub mod network;
pub mod shell;
pub mod tls;

pub use shell::{run_batch, BatchError};

/// Answers given per need, as typed records (or why there is none): what a
/// test or a tool that already knows the target's state observes through.
pub type Answers<'b> =
    Box<dyn Fn(&resource::Need) -> Result<resource::Record, resource::NoAnswer> + 'b>;

/// How needs are answered on a target.
enum Prober<'b> {
    /// One framed `sh` script per round, written to one `sh` the session
    /// keeps on the target where the backend can keep one running.
    Shell(RefCell<shell::KeptShell<'b>>),
    /// Nothing can run (an image file, a container without a shell): the
    /// filesystem observer answers from the target's files what they can.
    Files(RefCell<files::BackendFiles<'b>>),
    /// Answers given per need ([`Session::given`]).
    Given(Answers<'b>),
}

/// What observing cost: probes run on the target, processes started on it
/// through its exec door, and round trips to it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cost {
    /// Probes the shell observer ran.
    pub probes: usize,
    /// Execs on the target: each `sh` started (a local process, an SSH
    /// channel, a `docker exec`). A session keeps one for all its rounds
    /// where the backend can.
    pub execs: u32,
    /// Round trips to the target (a batch, a remote read, a network round).
    pub round_trips: u32,
}

/// A connected target, observed: its facts, and the observer that answers
/// its probes.
pub struct Session<'b> {
    backend: &'b dyn Backend,
    prober: Prober<'b>,
    facts: Facts,
}

impl<'b> Session<'b> {
    /// Gathers the target's facts: one round trip and one exec on a target
    /// with a shell (added to `cost`), whose `sh` the session keeps for its
    /// probes; read in this process where commands run here (no round
    /// trip: the `sh` starts with the first round of probes); from its
    /// files where nothing runs.
    pub fn open(
        backend: &'b dyn Backend,
        timeout: Duration,
        cost: &mut Cost,
    ) -> Result<Session<'b>, BatchError> {
        let mut kept = shell::KeptShell::default();
        let gathered = if backend.runs_here() {
            Ok(here::facts())
        } else if backend.image_file().is_some() {
            // Nothing runs in an image file: no round trip, its files answer.
            Err(BatchError::NoShell(
                crate::model::target::NOTHING_RUNS.into(),
            ))
        } else {
            cost.round_trips += 1;
            kept.run(backend, &facts::probes(), timeout, None, &mut cost.execs)
                .map(facts_of)
        };
        match gathered {
            Ok(facts) => Ok(Session {
                backend,
                prober: Prober::Shell(RefCell::new(kept)),
                facts,
            }),
            Err(BatchError::NoShell(why)) => {
                // The checks read through the same files as the facts: each
                // path is read once.
                let mut files = files::BackendFiles::new(backend);
                match file_facts(backend, &mut files) {
                    Some(facts) => Ok(Session {
                        backend,
                        prober: Prober::Files(RefCell::new(files)),
                        facts,
                    }),
                    None => Err(BatchError::NoShell(why)),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// A session on a target whose facts were gathered before (by
    /// [`Session::open`]; `by_files` as [`Session::by_files`] said then).
    pub fn resume(backend: &'b dyn Backend, facts: Facts, by_files: bool) -> Session<'b> {
        let prober = if by_files {
            Prober::Files(RefCell::new(files::BackendFiles::new(backend)))
        } else {
            Prober::Shell(Default::default())
        };
        Session {
            backend,
            prober,
            facts,
        }
    }

    /// A session whose needs are answered by `answers`, one need at a time,
    /// on a target with these facts: nothing runs on `backend` to observe
    /// (its network round and images round still go through it). Each
    /// round counts as one round trip.
    pub fn given(backend: &'b dyn Backend, facts: Facts, answers: Answers<'b>) -> Session<'b> {
        Session {
            backend,
            prober: Prober::Given(answers),
            facts,
        }
    }

    /// The target's facts.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// The backend, for what is not observed through probes.
    pub fn backend(&self) -> &'b dyn Backend {
        self.backend
    }

    /// Whether the target's files answer (nothing runs on it).
    pub fn by_files(&self) -> bool {
        matches!(self.prober, Prober::Files(_))
    }

    /// Why `check` cannot be observed here, if it cannot: where nothing
    /// runs, only what files say is read.
    pub fn cannot_observe(&self, check: &Check) -> Option<String> {
        if !self.by_files() || answered_by_files(check) {
            None
        } else if self.backend.image_file().is_some() {
            Some(crate::model::target::NOTHING_RUNS.to_string())
        } else {
            Some(no_shell(check))
        }
    }

    /// Answers `needs` in one round (one round trip on a shell; a read a
    /// path where the backend reads remotely), then makes the requests of
    /// `checks` that reach out (the network round), adding what it cost to
    /// `cost`.
    pub fn observe<'c>(
        &self,
        needs: &BTreeSet<resource::Need>,
        checks: impl Iterator<Item = &'c Check> + Clone,
        timeout: Duration,
        cost: &mut Cost,
    ) -> Result<Observations<'_>, BatchError> {
        let mut obs = match &self.prober {
            Prober::Shell(kept) => {
                let plan = Plan::new(needs, &self.facts);
                let outputs = if plan.probes.is_empty() {
                    Vec::new()
                } else {
                    cost.probes += plan.probes.len();
                    cost.round_trips += 1;
                    kept.borrow_mut().run(
                        self.backend,
                        &plan.probes,
                        timeout,
                        self.facts.cpus,
                        &mut cost.execs,
                    )?
                };
                Observations::shell(&self.facts, plan, outputs)
            }
            Prober::Files(files) => {
                let mut files = files.borrow_mut();
                let before = files.reads;
                let records = needs
                    .iter()
                    .map(|n| {
                        let answer = files::answer(n, &self.facts, &mut *files)
                            .map_or(Err(resource::NoAnswer::NeedsAProcess), |a| {
                                a.map_err(resource::NoAnswer::Given)
                            });
                        (n.clone(), answer)
                    })
                    .collect();
                // A backend that reads remotely pays a round trip a read; an
                // image file is read here.
                if self.backend.image_file().is_none() {
                    cost.round_trips += files.reads - before;
                }
                Observations::records(
                    &self.facts,
                    "the target's files (nothing ran on it)",
                    records,
                )
            }
            Prober::Given(answers) => {
                if !needs.is_empty() {
                    cost.round_trips += 1;
                }
                let records = needs.iter().map(|n| (n.clone(), answers(n))).collect();
                Observations::records(&self.facts, "the answers given", records)
            }
        };
        if network::network_round(self.backend, checks.clone(), &mut obs) {
            cost.round_trips += 1;
        }
        images::images_round(self.backend, checks, &mut obs);
        Ok(obs)
    }

    /// Observes what `checks` need, and `extra` needs, in one round (and one
    /// network round when they reach out), then hands the answers to `read`.
    pub fn observe_with<R>(
        &self,
        checks: &[Check],
        extra: &[resource::Need],
        timeout: Duration,
        read: impl FnOnce(&Observations<'_>) -> R,
    ) -> Result<R, BatchError> {
        let needs: BTreeSet<resource::Need> = checks
            .iter()
            .flat_map(|c| resource::needs(c, &self.facts))
            .chain(extra.iter().cloned())
            .collect();
        let obs = self.observe(&needs, checks.iter(), timeout, &mut Cost::default())?;
        Ok(read(&obs))
    }

    /// Observes property values (no matcher) in one round: the door the
    /// `Host` API of plain-Rust checks goes through.
    pub fn values(
        &self,
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
        self.observe_with(&checks, &[], timeout, |obs| {
            checks
                .iter()
                .map(|c| match self.cannot_observe(c) {
                    None => resource::observe(c, obs).map(|o| o.value),
                    Some(why) => Err(Early::Error(why)),
                })
                .collect()
        })
    }
}

/// Why a check cannot be observed on a target without a shell.
fn no_shell(check: &Check) -> String {
    format!(
        "the target has no shell (/bin/sh): {} checks need a process in it; only what its files say (files, packages, users, groups, service enablement) is read",
        check.resource.kind
    )
}

/// Round 1 on its own: the facts of a target with a shell (one exec).
pub fn gather_facts(backend: &dyn Backend, timeout: Duration) -> Result<Facts, BatchError> {
    run_batch(backend, &facts::probes(), timeout, None).map(facts_of)
}

/// The facts the fact probes' answers say.
fn facts_of(outputs: Vec<crate::probe::Answer>) -> Facts {
    let outputs: Vec<ProbeOutput> = outputs
        .into_iter()
        .map(|o| {
            o.unwrap_or(ProbeOutput {
                status: -1,
                ..Default::default()
            })
        })
        .collect();
    facts::parse(&outputs)
}

/// Facts of a target where nothing runs (an image file, a container
/// without a shell), from what its files say: the OS from its os-release
/// file, the package manager from which database is there, the
/// architecture from the image config or a binary. `None` when the backend
/// cannot read paths either.
fn file_facts(backend: &dyn Backend, files: &mut files::BackendFiles<'_>) -> Option<Facts> {
    use files::Files;
    // os-release is often a link (to ../usr/lib/os-release).
    let text = |files: &mut files::BackendFiles<'_>, path: &str| {
        files::follow(files, path)
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
    let exists =
        |files: &mut files::BackendFiles<'_>, p: &str| matches!(files.entry(p), Ok(Some(_)));
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
                let (e, _) = files::follow(files, p).ok()?;
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
