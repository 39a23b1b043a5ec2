//! Resources: what each check needs to know, how that is probed, and how the
//! answer is read.
//!
//! A check never runs anything. It states its [`Need`]s (the stat of a path,
//! the package database, a user's passwd entry); the engine collects the needs
//! of every check of a target into a [`Plan`], which batches them into as few
//! probes as possible (one `stat` for all paths, one `getent` for all users, one
//! package list for all packages). After the batch ran, each check reads its
//! answer from [`Observations`], which parses each probe's output once, however
//! many checks read it, or, where nothing runs on the target, from the files
//! observer's typed [`Record`]s.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use crate::facts::{Facts, InitSystem};
use crate::matcher::Value;
use crate::probe::{Probe, ProbeOutput};
use crate::spec::{Check, Property, ResourceKind};

/// The record given for a need, if it is of kind `Record::$kind`:
/// `given!(obs, &need, Stat)` is `Some(Ok(&found))`, `Some(Err(why))` (no
/// answer, or one of another kind), or `None` on a shell, whose output the
/// caller parses.
macro_rules! given {
    ($obs:expr, $need:expr, $kind:ident) => {
        $obs.given($need, |r| match r {
            $crate::resource::Record::$kind(v) => Some(v),
            _ => None,
        })
    };
}

pub mod certificate;
pub mod command;
pub mod document;
pub mod file;
pub mod host;
pub mod http;
pub mod image;
pub mod interface;
pub mod kernel;
pub mod mount;
pub mod package;
pub mod port;
pub mod process;
pub mod service;
pub mod unix_socket;
pub mod user;

/// A piece of knowledge a check needs from the target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Need {
    /// The installed-package database of the target's package manager.
    Packages,
    Stat(String),
    /// A file's content, and the most bytes judged.
    Content(String, usize),
    Sha256(String),
    LinkTarget(String),
    /// The canonical path, every link followed.
    RealPath(String),
    Md5(String),
    Passwd(String),
    /// Every passwd entry, to name the owners of processes.
    PasswdAll,
    GroupEntry(String),
    UserGroups(String),
    /// A user's primary group's name.
    PrimaryGroup(String),
    /// The command lines of the processes with this name.
    ProcessArgs(String),
    /// The socket inodes open in the processes with this name
    /// (`socket:[INODE]`, one a line): what `autoadd` finds their ports by.
    ProcessSockets(String),
    /// systemd's view of a unit.
    SystemdUnit(String),
    /// Whether a service is enabled, read from disk (unit links, rc links,
    /// OpenRC runlevels) where no init system runs.
    ServiceEnabledOnDisk(String),
    /// Whether a service runs, where no init system runs: its init script's
    /// `status`, then its pid file.
    ServiceRunningOffline(String),
    OpenRcStarted,
    OpenRcRunlevels,
    SysvStatus(String),
    SysvRunlevels,
    ProcNet(crate::spec::Protocol),
    Processes,
    /// `/proc/net/unix`.
    UnixSockets,
    KernelParam(String),
    KernelModules,
    Mounts,
    Interfaces,
    InterfaceAddresses,
    Host(String),
    Command {
        command: String,
        timeout: Option<Duration>,
        cap: usize,
    },
}

/// Most bytes of names one batched probe passes in its argv (Linux takes
/// 2 MiB in all and 128 KiB for one word).
const ARGV_CHUNK: usize = 64 * 1024;

/// Most names one batched probe takes: the shell loops that test each name
/// rebuild their argument list as they go, which costs the square of its
/// length (715 paths took 245 ms in one probe, 100 take 5 ms), and smaller
/// chunks run in the batch's lanes at the same time.
const NAMES_CHUNK: usize = 100;

/// Probes for a set of needs, and which probe answers which need.
#[derive(Debug, Default)]
pub struct Plan {
    pub probes: Vec<Probe>,
    index: HashMap<Need, usize>,
}

impl Plan {
    /// Batches `needs` into probes for a target with these facts.
    pub fn new(needs: &BTreeSet<Need>, facts: &Facts) -> Plan {
        let mut plan = Plan::default();
        let mut grouped: BTreeMap<Batch, Vec<(&Need, &str)>> = BTreeMap::new();
        for need in needs {
            match batched(need) {
                Some((batch, name)) => grouped.entry(batch).or_default().push((need, name)),
                None => plan.add(single_probe(need, facts), [need]),
            }
        }
        for (batch, members) in grouped {
            // One probe per batch, split where its argv would grow past what
            // every kernel takes: one name too long to pass then fails only
            // its own chunk, not every check of the batch.
            let mut chunks: Vec<Vec<(&Need, &str)>> = vec![Vec::new()];
            let mut size = 0;
            for (need, name) in members {
                let len = name.len() + 1;
                let last = chunks.last().map_or(0, Vec::len);
                if (size + len > ARGV_CHUNK || last >= NAMES_CHUNK) && last > 0 {
                    chunks.push(Vec::new());
                    size = 0;
                }
                size += len;
                chunks
                    .last_mut()
                    .expect("one chunk at least")
                    .push((need, name));
            }
            for chunk in chunks {
                let probe = batch.probe(chunk.iter().map(|(_, name)| *name));
                plan.add(probe, chunk.iter().map(|(need, _)| *need));
            }
        }
        plan
    }

    fn add<'n>(&mut self, probe: Probe, needs: impl IntoIterator<Item = &'n Need>) {
        let at = match self.probes.iter().position(|p| *p == probe) {
            Some(at) => at,
            None => {
                self.probes.push(probe);
                self.probes.len() - 1
            }
        };
        for need in needs {
            self.index.insert(need.clone(), at);
        }
    }

    /// The probe that answers `need`.
    pub fn probe_of(&self, need: &Need) -> Option<&Probe> {
        self.index.get(need).map(|i| &self.probes[*i])
    }

    /// The index of the probe that answers `need`.
    fn index_of(&self, need: &Need) -> Result<usize, NoAnswer> {
        self.index
            .get(need)
            .copied()
            .ok_or_else(|| NoAnswer::Internal(format!("{need:?} was not planned")))
    }

    /// The command that observes `need`, as people can run it: for a need
    /// batched with others (one `stat` for every path), the same command for
    /// that one name only, so that a report grows with its checks, not with
    /// the square of them.
    pub fn shown_for(&self, need: &Need) -> String {
        match batched(need) {
            Some((batch, name)) => batch.probe(std::iter::once(name)).to_string(),
            None => self
                .probe_of(need)
                .map_or_else(|| format!("{need:?}"), |p| p.to_string()),
        }
    }
}

/// The needs that one probe answers for many names at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Batch {
    Stat,
    Passwd,
    Group,
    SystemdUnit,
}

impl Batch {
    /// The probe that answers this batch for `names`.
    fn probe<'a>(self, names: impl Iterator<Item = &'a str>) -> Probe {
        match self {
            Batch::Stat => file::stat_probe(names),
            Batch::Passwd => user::getent_probe("passwd", names),
            Batch::Group => user::getent_probe("group", names),
            Batch::SystemdUnit => service::systemctl_probe(names),
        }
    }
}

/// The batch a need belongs to, and the name it asks about.
fn batched(need: &Need) -> Option<(Batch, &str)> {
    match need {
        Need::Stat(s) => Some((Batch::Stat, s)),
        Need::Passwd(s) => Some((Batch::Passwd, s)),
        Need::GroupEntry(s) => Some((Batch::Group, s)),
        Need::SystemdUnit(s) => Some((Batch::SystemdUnit, s)),
        _ => None,
    }
}

fn single_probe(need: &Need, facts: &Facts) -> Probe {
    match need {
        Need::Packages => package::list_probe(facts.package_manager)
            .untimed()
            .with_cap(crate::probe::TABLE_CAP),
        Need::Content(path, cap) => file::content_probe(path, *cap),
        Need::Sha256(path) => Probe::argv(["sha256sum", "--", path]),
        Need::Md5(path) => Probe::argv(["md5sum", "--", path]),
        Need::LinkTarget(path) => Probe::argv(["readlink", "--", path]).untimed(),
        Need::RealPath(path) => Probe::argv(["readlink", "-f", "--", path]).untimed(),
        Need::PasswdAll => user::getent_all_probe().with_cap(crate::probe::TABLE_CAP),
        Need::UserGroups(name) => Probe::argv(["id", "-Gn", "--", name]),
        Need::PrimaryGroup(name) => Probe::argv(["id", "-gn", "--", name]),
        Need::ProcessArgs(name) => process::args_probe(name)
            .alone()
            .with_cap(crate::probe::TABLE_CAP),
        Need::ProcessSockets(name) => process::sockets_probe(name)
            .alone()
            .with_cap(crate::probe::TABLE_CAP),
        Need::OpenRcStarted => service::openrc_started_probe(),
        Need::OpenRcRunlevels => service::openrc_runlevels_probe(),
        Need::SysvStatus(name) => service::sysv_status_probe(name),
        Need::SysvRunlevels => service::sysv_runlevels_probe(),
        Need::ServiceEnabledOnDisk(name) => service::enabled_on_disk_probe(name).untimed(),
        Need::ServiceRunningOffline(name) => service::running_offline_probe(name),
        Need::ProcNet(proto) => Probe::argv(["cat", port::proc_file(*proto)])
            .alone()
            .with_cap(crate::probe::TABLE_CAP),
        Need::UnixSockets => unix_socket::probe()
            .alone()
            .with_cap(crate::probe::TABLE_CAP),
        Need::Processes => process::probe().alone().with_cap(crate::probe::TABLE_CAP),
        Need::KernelParam(name) => kernel::param_probe(name).untimed(),
        Need::KernelModules => kernel::modules_probe().untimed(),
        Need::Mounts => Probe::argv(["cat", "/proc/self/mounts"])
            .untimed()
            .with_cap(crate::probe::TABLE_CAP),
        Need::Interfaces => interface::list_probe().untimed(),
        Need::InterfaceAddresses => Probe::argv(["ip", "-o", "addr", "show"]),
        Need::Host(name) => host::probe(name),
        Need::Command {
            command,
            timeout,
            cap,
        } => command::probe(command, *timeout, *cap),
        Need::Stat(_) | Need::Passwd(_) | Need::GroupEntry(_) | Need::SystemdUnit(_) => {
            unreachable!("batched needs are planned in groups")
        }
    }
}

/// How a check's observation ended before any matcher ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Early {
    /// The resource is not there to be asked (the package is not installed, the
    /// file does not exist): the check fails, and this says what was found.
    Fail(String),
    /// The target could not be observed.
    Error(String),
    /// Nothing on the target can answer, and that is no fault of its (a
    /// service's enablement in a container with no init system and no unit
    /// files): the check is skipped with this reason.
    Skip(String),
}

impl From<String> for Early {
    fn from(message: String) -> Self {
        Early::Error(message)
    }
}

impl From<NoAnswer> for Early {
    fn from(no: NoAnswer) -> Self {
        Early::Error(no.to_string())
    }
}

/// Why a need has no answer a check can be judged on: the plan layer's
/// error. Each is an error of the check, never a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoAnswer {
    /// Nothing runs on the target, and its files do not say.
    NeedsAProcess,
    /// The probe has no result: it did not run, or the script ended (or the
    /// stream was cut) before it finished.
    NotRun {
        /// The command, as people can run it.
        probe: String,
        /// Why there is no result.
        why: String,
    },
    /// The probe ran past its time and was killed.
    TimedOut {
        /// The command, as people can run it.
        probe: String,
        /// Its time, where a timer was set.
        after: Option<Duration>,
    },
    /// The output was longer than what a check judges.
    TooLong {
        /// The command, as people can run it.
        probe: String,
        /// The most bytes judged.
        cap: usize,
        /// How long the output was.
        len: u64,
    },
    /// The probe exited with a failure.
    Failed {
        /// The command, as people can run it.
        probe: String,
        /// Its exit status.
        status: i32,
        /// The start of what it printed on stderr.
        stderr: String,
    },
    /// The probe's program is not on the target.
    ToolMissing {
        /// The command, as people can run it.
        probe: String,
        /// The program.
        tool: String,
    },
    /// The checking user may not see it (a directory it may not search,
    /// /proc mounted with `hidepid`).
    Denied(String),
    /// The answer is not what the probe prints: the target's tools differ,
    /// or something changed while it was read.
    Unreadable(String),
    /// The observer that answered says why it has no answer (the files
    /// observer: a file too large, a database it cannot read…).
    Given(String),
    /// A need that was not planned, or was answered with a record of
    /// another kind: a bug in infraspec.
    Internal(String),
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoAnswer::NeedsAProcess => f.write_str(NEEDS_A_PROCESS),
            NoAnswer::NotRun { probe, why } => write!(f, "no result for `{probe}`: {why}"),
            NoAnswer::TimedOut {
                probe,
                after: Some(t),
            } => write!(
                f,
                "`{probe}` timed out after {}s and was killed",
                t.as_secs()
            ),
            NoAnswer::TimedOut { probe, after: None } => {
                write!(f, "`{probe}` timed out and was killed")
            }
            NoAnswer::TooLong { probe, cap, len } => f.write_str(&too_long(probe, *cap, *len)),
            NoAnswer::Failed {
                probe,
                status,
                stderr,
            } if stderr.is_empty() => write!(f, "failed to run `{probe}`: exit status {status}"),
            NoAnswer::Failed {
                probe,
                status,
                stderr,
            } => write!(f, "failed to run `{probe}`: exit status {status}: {stderr}"),
            NoAnswer::ToolMissing { probe, tool } => write!(
                f,
                "failed to run `{probe}`: {tool} is not available on the target"
            ),
            NoAnswer::Denied(why) | NoAnswer::Unreadable(why) | NoAnswer::Given(why) => {
                f.write_str(why)
            }
            NoAnswer::Internal(why) => write!(f, "internal: {why}"),
        }
    }
}

impl std::error::Error for NoAnswer {}

/// What a check observed: the value, and a note on how it was judged when that
/// is worth saying ("judged from the process table").
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub value: Value,
    pub note: Option<String>,
}

impl From<Value> for Observed {
    fn from(value: Value) -> Self {
        Observed { value, note: None }
    }
}

/// A need's answer as a typed record: what the files observer reads
/// without running anything ([`crate::observe::files`]), and what any other
/// observer that does not go through the shell gives (answers given by a
/// test or a tool, see [`crate::observe::Session::given`]). Resources judge
/// a record as they judge the shell's parsed output.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// What is at a path (`Need::Stat`).
    Stat(file::Found),
    /// A file's whole content (`Need::Content`), no longer than asked.
    Bytes(Vec<u8>),
    /// One line of text: a hex digest, a link's target or a canonical path.
    Text(String),
    /// Group names, the primary first (`Need::UserGroups`, `Need::PrimaryGroup`).
    Names(Vec<String>),
    /// passwd entries (`Need::Passwd`, `Need::PasswdAll`).
    Passwd(Vec<user::Passwd>),
    /// group entries (`Need::GroupEntry`).
    Groups(Vec<user::GroupEntry>),
    /// The installed packages (`Need::Packages`).
    Packages(package::Db),
    /// What the disk says of a service's enablement.
    OnDisk(service::OnDisk),
    /// systemd's view of units (`Need::SystemdUnit`), the asked one among
    /// them (`load` is `not-found` for a unit systemd does not know).
    Units(Vec<service::UnitState>),
    /// The sockets of one protocol (`Need::ProcNet`).
    Sockets(Vec<port::Socket>),
    /// The process table (`Need::Processes`).
    Processes(Vec<process::Proc>),
    /// What a command printed and how it exited: the answer to a need that
    /// is a command's output (`Need::Command`, `Need::KernelParam`,
    /// `Need::Mounts`…).
    Output(ProbeOutput),
}

impl Record {
    fn kind(&self) -> &'static str {
        match self {
            Record::Stat(_) => "Stat",
            Record::Bytes(_) => "Bytes",
            Record::Text(_) => "Text",
            Record::Names(_) => "Names",
            Record::Passwd(_) => "Passwd",
            Record::Groups(_) => "Groups",
            Record::Packages(_) => "Packages",
            Record::OnDisk(_) => "OnDisk",
            Record::Units(_) => "Units",
            Record::Sockets(_) => "Sockets",
            Record::Processes(_) => "Processes",
            Record::Output(_) => "Output",
        }
    }
}

/// Where a round's answers come from.
enum Source {
    /// The shell observer: one output per planned probe, parsed on first use.
    Shell {
        plan: Plan,
        outputs: Vec<crate::probe::Answer>,
    },
    /// Typed records (or why there is none) per need, and what gave them,
    /// as people read it.
    Records {
        by: String,
        records: HashMap<Need, Result<Record, NoAnswer>>,
    },
}

/// The answers of one round, read through typed accessors: the shell's
/// parsed on first use, the files observer's as they are.
pub struct Observations<'a> {
    pub facts: &'a Facts,
    source: Source,
    packages: OnceCell<Result<package::Db, NoAnswer>>,
    /// One cell per probe: batched needs may be split over several probes.
    stats: Vec<OnceCell<Result<HashMap<String, file::Found>, NoAnswer>>>,
    passwd: Vec<OnceCell<Result<Vec<user::Passwd>, NoAnswer>>>,
    passwd_all: OnceCell<Result<Vec<user::Passwd>, NoAnswer>>,
    groups: Vec<OnceCell<Result<Vec<user::GroupEntry>, NoAnswer>>>,
    units: Vec<OnceCell<Result<Vec<service::UnitState>, NoAnswer>>>,
    processes: OnceCell<Result<Vec<process::Proc>, NoAnswer>>,
    sockets: OnceCell<Result<Vec<port::Socket>, NoAnswer>>,
    /// Image metadata, looked up from the runner's Docker engine.
    pub images: image::Images,
    /// HTTP responses, requested through the backend after the batch.
    pub http: HashMap<http::Key, Result<http::Response, String>>,
    /// TCP connections tried from the target's point of view, after the
    /// batch: `host:port` to whether it answered (and how it failed).
    pub reach: HashMap<(String, u16), Result<host::Reach, String>>,
    /// Certificates presented by TLS servers (`tls://HOST:PORT`), as DER.
    pub certs: HashMap<String, Result<Vec<u8>, String>>,
}

/// What the files observer says of a need it has no record for.
const NEEDS_A_PROCESS: &str =
    "it needs a command run on the target, and nothing runs there: only its files are read";

impl<'a> Observations<'a> {
    /// The shell observer's answers: `outputs[i]` answers `plan.probes[i]`.
    pub fn shell(facts: &'a Facts, plan: Plan, outputs: Vec<crate::probe::Answer>) -> Self {
        let cells = plan.probes.len();
        Self::with(facts, Source::Shell { plan, outputs }, cells)
    }

    /// Answers given as typed records, one per need (or why there is
    /// none), by `by` (as people read it: "the target's files").
    pub fn records(
        facts: &'a Facts,
        by: impl Into<String>,
        records: HashMap<Need, Result<Record, NoAnswer>>,
    ) -> Self {
        let by = by.into();
        Self::with(facts, Source::Records { by, records }, 0)
    }

    fn with(facts: &'a Facts, source: Source, cells: usize) -> Self {
        fn per_probe<T>(cells: usize) -> Vec<OnceCell<T>> {
            (0..cells).map(|_| OnceCell::new()).collect()
        }
        Observations {
            facts,
            source,
            packages: OnceCell::new(),
            stats: per_probe(cells),
            passwd: per_probe(cells),
            passwd_all: OnceCell::new(),
            groups: per_probe(cells),
            units: per_probe(cells),
            processes: OnceCell::new(),
            sockets: OnceCell::new(),
            images: image::Images::new(),
            http: HashMap::new(),
            reach: HashMap::new(),
            certs: HashMap::new(),
        }
    }

    fn plan(&self) -> Option<&Plan> {
        match &self.source {
            Source::Shell { plan, .. } => Some(plan),
            Source::Records { .. } => None,
        }
    }

    /// The probe that answered `need`, for messages.
    pub fn probe_of(&self, need: &Need) -> Option<&Probe> {
        self.plan()?.probe_of(need)
    }

    /// What observed `need`, as people read it: the command (for one name
    /// where a probe asked for many), or the target's files; `None` when
    /// nothing did.
    pub fn observed_by(&self, need: &Need) -> Option<String> {
        match &self.source {
            Source::Shell { plan, .. } => plan.probe_of(need).map(|_| plan.shown_for(need)),
            Source::Records { by, records } => records.contains_key(need).then(|| by.clone()),
        }
    }

    /// The record given for `need`, picked by `pick`; `None` on a shell,
    /// whose output the caller parses.
    pub(crate) fn given<'s, T>(
        &'s self,
        need: &Need,
        pick: impl FnOnce(&'s Record) -> Option<&'s T>,
    ) -> Option<Result<&'s T, NoAnswer>> {
        let Source::Records { records, .. } = &self.source else {
            return None;
        };
        Some(match records.get(need) {
            Some(Ok(record)) => pick(record).ok_or_else(|| {
                NoAnswer::Internal(format!(
                    "{need:?} was answered with a record of {}",
                    record.kind()
                ))
            }),
            Some(Err(why)) => Err(why.clone()),
            None => Err(NoAnswer::Internal(format!(
                "no answer was given for {need:?}"
            ))),
        })
    }

    /// Whether `need` was answered this round.
    pub fn answered(&self, need: &Need) -> bool {
        match &self.source {
            Source::Shell { plan, .. } => plan.probe_of(need).is_some(),
            Source::Records { records, .. } => records.contains_key(need),
        }
    }

    /// The raw output for `need`, whatever its exit status; `Err` when there is
    /// none (the probe did not run, the script stopped), the probe timed out,
    /// or its output was more than its cap: a check is never judged on part
    /// of an answer.
    pub fn raw(&self, need: &Need) -> Result<&ProbeOutput, NoAnswer> {
        let out = self.raw_any_size(need)?;
        if out.truncated() {
            let (probe, cap) = match self.plan() {
                Some(plan) => (
                    plan.shown_for(need),
                    plan.probe_of(need).expect("planned").cap(),
                ),
                None => (format!("{need:?}"), out.stdout.len()),
            };
            return Err(NoAnswer::TooLong {
                probe,
                cap,
                len: out.stdout_len,
            });
        }
        Ok(out)
    }

    /// As [`raw`](Self::raw), but also when stdout was longer than its cap:
    /// for what does not read the output (an exit status).
    pub fn raw_any_size(&self, need: &Need) -> Result<&ProbeOutput, NoAnswer> {
        let (probe, after, out) = match &self.source {
            Source::Records { .. } => {
                let out = given!(self, need, Output).expect("records")?;
                (format!("{need:?}"), None, out)
            }
            Source::Shell { plan, outputs } => {
                let i = plan.index_of(need)?;
                let probe = plan.shown_for(need);
                let out = match outputs.get(i) {
                    Some(Ok(out)) => out,
                    Some(Err(why)) => {
                        return Err(NoAnswer::NotRun {
                            probe,
                            why: why.clone(),
                        })
                    }
                    None => {
                        return Err(NoAnswer::NotRun {
                            probe,
                            why: "it was not run".into(),
                        })
                    }
                };
                (probe, Some(plan.probes[i].timeout()), out)
            }
        };
        if out.timed_out {
            return Err(NoAnswer::TimedOut { probe, after });
        }
        Ok(out)
    }

    /// The output for `need` when it exited 0; otherwise why not: its
    /// status and stderr.
    pub fn ok(&self, need: &Need) -> Result<&ProbeOutput, NoAnswer> {
        let out = self.raw(need)?;
        if out.status == 0 {
            Ok(out)
        } else {
            Err(self.failure(need, out))
        }
    }

    /// Why a probe that ran did not succeed.
    pub fn failure(&self, need: &Need, out: &ProbeOutput) -> NoAnswer {
        let probe = self
            .plan()
            .map_or_else(|| format!("{need:?}"), |p| p.shown_for(need));
        if out.status == 127 {
            let tool = self
                .probe_of(need)
                .and_then(|p| p.argv_slice().first())
                .map_or("the command", String::as_str)
                .to_string();
            return NoAnswer::ToolMissing { probe, tool };
        }
        NoAnswer::Failed {
            probe,
            status: out.status,
            stderr: out.stderr_excerpt(),
        }
    }

    /// As [`cached`](Self::cached), with one cell per probe: the cell of the
    /// probe that answers `need`.
    pub(crate) fn cached_for<'s, T>(
        &'s self,
        cells: &'s [OnceCell<Result<T, NoAnswer>>],
        need: &Need,
        load: impl FnOnce() -> Result<T, NoAnswer>,
    ) -> Result<&'s T, NoAnswer> {
        let plan = self.plan().ok_or_else(|| {
            NoAnswer::Internal(format!("{need:?} has no probe: its answer was given"))
        })?;
        self.cached(&cells[plan.index_of(need)?], load)
    }

    fn cached<'s, T>(
        &'s self,
        cell: &'s OnceCell<Result<T, NoAnswer>>,
        load: impl FnOnce() -> Result<T, NoAnswer>,
    ) -> Result<&'s T, NoAnswer> {
        cell.get_or_init(load).as_ref().map_err(Clone::clone)
    }

    /// What is at `path`, links followed (`stat -L`); an error when a
    /// directory on the way may not be searched.
    pub fn stat(&self, path: &str) -> Result<&file::Found, NoAnswer> {
        let need = Need::Stat(path.to_string());
        let found = match given!(self, &need, Stat) {
            Some(found) => found?,
            None => {
                let all = self.cached_for(&self.stats, &need, || {
                    let out = self.raw(&need)?;
                    if out.status != 0 && out.stdout.is_empty() {
                        return Err(self.failure(&need, out));
                    }
                    let probe = self.probe_of(&need).expect("planned");
                    // argv is sh -c SNIPPET sh PATH…
                    let paths: Vec<String> = probe.argv_slice().iter().skip(4).cloned().collect();
                    let parsed = file::parse_stats(&stdout_text(out), &paths).map_err(|e| {
                        let stderr = out.stderr_excerpt();
                        NoAnswer::Unreadable(if stderr.is_empty() {
                            e
                        } else {
                            format!("{e}: {stderr}")
                        })
                    })?;
                    Ok(parsed.into_iter().collect())
                })?;
                all.get(path).ok_or_else(|| {
                    NoAnswer::Internal(format!("{path} was not in its stat probe"))
                })?
            }
        };
        if *found == file::Found::Denied {
            return Err(NoAnswer::Denied(format!(
                "permission denied: {} may not search a directory on the way to {path}, so whether it exists cannot be told",
                self.facts.checking_user()
            )));
        }
        Ok(found)
    }

    /// A file's content (`Need::Content`), whole: never a part of it.
    pub fn content(&self, path: &str, cap: usize) -> Result<&[u8], NoAnswer> {
        let need = Need::Content(path.to_string(), cap);
        match given!(self, &need, Bytes) {
            Some(bytes) => Ok(bytes?),
            None => Ok(&self.ok(&need)?.stdout),
        }
    }

    /// One line of text: a hex digest (`Need::Sha256`, `Need::Md5`, checked
    /// to be `hex` digits long), a link's target or a canonical path (`hex`
    /// 0).
    pub fn line(&self, need: &Need, hex: usize) -> Result<String, NoAnswer> {
        let text = match given!(self, need, Text) {
            Some(text) => text?.clone(),
            None => {
                let text = stdout_text(self.ok(need)?);
                if hex == 0 {
                    text.strip_suffix('\n').unwrap_or(&text).to_string()
                } else {
                    text.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string()
                }
            }
        };
        if hex != 0 && (text.len() != hex || !text.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(NoAnswer::Unreadable(format!(
                "unexpected digest {text:?} for {need:?}"
            )));
        }
        Ok(text)
    }

    /// Group names, the primary first (`Need::UserGroups`, `Need::PrimaryGroup`).
    pub fn names(&self, need: &Need) -> Result<Vec<String>, NoAnswer> {
        match given!(self, need, Names) {
            Some(names) => Ok(names?.clone()),
            None => Ok(stdout_text(self.ok(need)?)
                .split_whitespace()
                .map(str::to_string)
                .collect()),
        }
    }

    /// The passwd entries answered for `name` (`getent passwd NAME`).
    pub fn passwd(&self, name: &str) -> Result<&[user::Passwd], NoAnswer> {
        let need = Need::Passwd(name.to_string());
        match given!(self, &need, Passwd) {
            Some(entries) => Ok(entries?),
            None => Ok(self.cached_for(&self.passwd, &need, || {
                Ok(user::parse_passwd(&stdout_text(self.ok(&need)?)))
            })?),
        }
    }

    /// Every passwd entry, for naming process owners.
    pub fn passwd_all(&self) -> Result<&[user::Passwd], NoAnswer> {
        match given!(self, &Need::PasswdAll, Passwd) {
            Some(entries) => Ok(entries?),
            None => Ok(self.cached(&self.passwd_all, || {
                Ok(user::parse_passwd(&stdout_text(self.ok(&Need::PasswdAll)?)))
            })?),
        }
    }

    /// The group entries answered for `name` (`getent group NAME`).
    pub fn groups(&self, name: &str) -> Result<&[user::GroupEntry], NoAnswer> {
        let need = Need::GroupEntry(name.to_string());
        match given!(self, &need, Groups) {
            Some(entries) => Ok(entries?),
            None => Ok(self.cached_for(&self.groups, &need, || {
                Ok(user::parse_group(&stdout_text(self.ok(&need)?)))
            })?),
        }
    }

    /// The installed packages of the target's package manager.
    pub fn packages(&self, pm: crate::facts::PackageManager) -> Result<&package::Db, NoAnswer> {
        match given!(self, &Need::Packages, Packages) {
            Some(db) => db,
            None => self.cached(&self.packages, || {
                Ok(package::parse(pm, &stdout_text(self.ok(&Need::Packages)?)))
            }),
        }
    }

    /// What the disk says of a service's enablement.
    pub fn on_disk(&self, name: &str) -> Result<service::OnDisk, NoAnswer> {
        let need = Need::ServiceEnabledOnDisk(name.to_string());
        match given!(self, &need, OnDisk) {
            Some(d) => Ok(d?.clone()),
            None => Ok(service::parse_on_disk(&stdout_text(self.ok(&need)?))),
        }
    }
}

/// The error for an answer longer than what a check judges.
pub(crate) fn too_long(shown: &str, cap: usize, len: u64) -> String {
    format!(
        "the output of `{shown}` exceeded {} (it was {len} bytes long) and was not judged on a part; raise the limit with the check option `max_output`",
        crate::spec::yaml::show_size(cap as u64),
    )
}

/// The needs of one check on a target with these facts.
pub fn needs(check: &Check, facts: &Facts) -> Vec<Need> {
    let r = &check.resource;
    let p = check.expectation.property;
    match r.kind {
        ResourceKind::Package => package::needs_for(facts.package_manager),
        ResourceKind::Service => service::needs(&r.name, p, facts.init),
        ResourceKind::Port => port::needs(&check.expectation.listen),
        ResourceKind::File => file::needs(&r.name, p, output_cap(check)),
        ResourceKind::User => user::user_needs(&r.name, p),
        ResourceKind::Group => vec![Need::GroupEntry(r.name.clone())],
        ResourceKind::Process => process::needs(&r.name, p, &check.expectation.same_process),
        ResourceKind::Command => vec![Need::Command {
            command: r.name.clone(),
            timeout: check.options.timeout,
            cap: output_cap(check),
        }],
        ResourceKind::KernelParam => vec![Need::KernelParam(r.name.clone())],
        ResourceKind::KernelModule => vec![Need::KernelModules],
        ResourceKind::Mount => vec![Need::Mounts],
        ResourceKind::Interface => interface::needs(p),
        // A named host is looked up in the batch, so the connection goes
        // to the address the target's resolver gave (no second lookup).
        ResourceKind::Host if p == Property::Reachable => {
            if http::is_loopback_or_ip(&r.name) {
                vec![]
            } else {
                vec![Need::Host(r.name.clone())]
            }
        }
        ResourceKind::Host => vec![Need::Host(r.name.clone())],
        ResourceKind::Http => http::needs(&r.name, &check.expectation.request),
        ResourceKind::DockerImage => vec![],
        ResourceKind::UnixSocket => vec![Need::UnixSockets],
        ResourceKind::Certificate => certificate::needs(&r.name, output_cap(check)),
    }
}

/// Reads what the check observed from the batch's answers.
pub fn observe(check: &Check, obs: &Observations<'_>) -> Result<Observed, Early> {
    let r = &check.resource;
    let p = check.expectation.property;
    match r.kind {
        ResourceKind::Package => package::observe(obs, &r.name, p),
        ResourceKind::Service => service::observe(obs, &r.name, p),
        ResourceKind::Port => port::observe(obs, &r.name, &check.expectation.listen),
        ResourceKind::File => file::observe(
            obs,
            &r.name,
            p,
            output_cap(check),
            check.expectation.request.json_path.as_ref(),
        ),
        ResourceKind::User => user::observe_user(obs, &r.name, p),
        ResourceKind::Group => user::observe_group(obs, &r.name, p),
        ResourceKind::Process => process::observe(obs, &r.name, p, &check.expectation.same_process),
        ResourceKind::Command => command::observe(
            obs,
            &r.name,
            check.options.timeout,
            output_cap(check),
            p,
            check.expectation.request.json_path.as_ref(),
        ),
        ResourceKind::KernelParam => kernel::observe_param(obs, &r.name, p),
        ResourceKind::KernelModule => kernel::observe_module(obs, &r.name),
        ResourceKind::Mount => mount::observe(obs, &r.name, p),
        ResourceKind::Interface => interface::observe(obs, &r.name, p),
        ResourceKind::Host if p == Property::Reachable => {
            host::observe_reachable(obs, &r.name, check.expectation.request.port)
        }
        ResourceKind::Host => host::observe(obs, &r.name, p),
        ResourceKind::Http => {
            let request = &check.expectation.request;
            let dns = match http::needs(&r.name, request).as_slice() {
                [Need::Host(h)] => Some((
                    h.clone(),
                    match host::observe(obs, h, Property::Resolvable) {
                        Ok(o) => Ok(o.value == Value::Bool(true)),
                        Err(Early::Error(e)) | Err(Early::Fail(e)) | Err(Early::Skip(e)) => Err(e),
                    },
                )),
                _ => None,
            };
            http::observe(obs.http.get(&http_key(check)), dns, request, p)
        }
        ResourceKind::DockerImage => image::observe(&obs.images, &r.name, p),
        ResourceKind::UnixSocket => unix_socket::observe(obs, &r.name, p),
        ResourceKind::Certificate => certificate::observe(obs, &r.name, p, output_cap(check)),
    }
}

/// The most bytes of output a check judges (`max_output`).
pub fn output_cap(check: &Check) -> usize {
    check
        .options
        .max_output
        .map_or(crate::probe::OUTPUT_CAP, |m| m as usize)
}

/// The TCP connection a `host … reachable` check tries, and within how long.
pub fn reach_key(check: &Check) -> Option<(String, u16, Duration)> {
    (check.resource.kind == ResourceKind::Host && check.expectation.property == Property::Reachable)
        .then(|| {
            check.expectation.request.port.map(|port| {
                (
                    check.resource.name.clone(),
                    port,
                    check.options.timeout.unwrap_or(Duration::from_secs(5)),
                )
            })
        })
        .flatten()
}

/// The request an http check makes.
pub fn http_key(check: &Check) -> http::Key {
    http::Key {
        url: check.resource.name.clone(),
        request: check.expectation.request.clone(),
        timeout: check.options.timeout.unwrap_or(http::DEFAULT_TIMEOUT),
    }
}

/// Whether the init system can answer for services (else the process table does).
pub fn has_service_manager(init: InitSystem) -> bool {
    init != InitSystem::None
}

/// Lossy text of a probe's stdout.
pub(crate) fn stdout_text(out: &ProbeOutput) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(&out.stdout)
}
