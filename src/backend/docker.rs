//! The Docker backend, through the Engine API (`bollard`).
//!
//! `docker://container` execs into a running container. `docker:image` starts
//! a throwaway container from the image with the image's own entrypoint and
//! command, checks it, and removes it (force, with its anonymous volumes) when
//! the backend is dropped — on success, failure and panic — and from a signal
//! handler on Ctrl-C, SIGTERM and SIGHUP. Containers it creates carry labels so
//! that a later run removes the leftovers of a run that was killed outright.
//!
//! bollard is async; the runtime lives inside this backend, and the engine
//! sees only the synchronous [`Backend`] door.

use crate::model::file::FileType;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptions, DownloadFromContainerOptions, ListContainersOptions, LogsOptions,
    RemoveContainerOptions,
};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{Backend, BackendError, ExecOutput, PathEntry};
use crate::model::target::Engine;
use crate::probe::OUTPUT_CAP;

/// Most bytes of a container's filesystem read by export.
const EXPORT_CAP: u64 = 4 << 30;

/// What the archive API answered for one path.
enum Archived {
    Missing,
    /// A link the engine refused to describe because its resolution loops.
    Loop,
    Tar(Vec<u8>),
}

/// Label on every container infraspec creates.
pub const MANAGED_LABEL: &str = "org.infraspec.managed";
const HOST_LABEL: &str = "org.infraspec.host";
const PID_LABEL: &str = "org.infraspec.pid";
/// Which run created a container: boot id, PID namespace, PID and the
/// process's start time, so that a later run can prove the creator gone.
const RUN_LABEL: &str = "org.infraspec.run";

/// When the run is itself in a container (a CI runner): `ENGINE:ID` of that
/// container, a lease a later run can check on the engine (see
/// [`reap_leftovers`]) when the run's PID namespace is not its own.
const RUNNER_LABEL: &str = "org.infraspec.runner-container";

/// The container this process runs in, as `docker:ID` or `podman:ID`, read
/// from the mounts the engine makes for /etc/hostname (Docker:
/// `…/containers/ID/hostname`; podman: `…/overlay-containers/ID/userdata/hostname`).
fn own_container() -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        let (root, point) = (*fields.get(3)?, *fields.get(4)?);
        if point != "/etc/hostname" {
            return None;
        }
        let hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        let parts: Vec<&str> = root.split('/').collect();
        parts.windows(2).find_map(|w| match w {
            ["overlay-containers", id] if hex(id) => Some(format!("podman:{id}")),
            ["containers", id] if hex(id) => Some(format!("docker:{id}")),
            _ => None,
        })
    })
}

/// Throwaway containers alive in this process, for the signal handler.
static THROWAWAYS: Mutex<Vec<(Engine, String)>> = Mutex::new(Vec::new());
/// Container creations under way: the signal handler waits for them, so that
/// a container the engine creates just after a signal is removed too.
static CREATING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// Removals under way in `Drop`: the signal handler waits for them, since
/// ending the process mid-request can leave the engine's removal undone
/// while the handler's own request was refused as "already in progress".
static REMOVING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static SIGNALS: Once = Once::new();
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set by [`exit_zero_on_signal`]: the handler ends the process with 0.
static EXIT_ZERO: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a signal arrived and its handler is removing throwaway containers;
/// it ends the process with 128 + the signal's number when done. A caller
/// about to exit for another reason (the container it used just vanished)
/// waits for that.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Makes the end on SIGTERM or Ctrl-C exit 0 after the cleanup, for a
/// server whose normal end that is (`infraspec serve`).
pub fn exit_zero_on_signal() {
    EXIT_ZERO.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// This process, as a run that made containers: `BOOT/PIDNS/PID/START`.
pub(crate) fn run_id() -> String {
    run_id_of("self").unwrap_or_else(|| format!("?/?/{}/?", std::process::id()))
}

/// The run id of process `pid` (`self` for this one), if it is alive and
/// in this PID namespace.
fn run_id_of(pid: &str) -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let pidns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22, counted after the command name in parentheses (which may
    // hold spaces).
    let after = &stat[stat.rfind(')')? + 2..];
    let start = after.split(' ').nth(19)?;
    let number = if pid == "self" {
        std::process::id().to_string()
    } else {
        pid.to_string()
    };
    Some(format!(
        "{}/{}/{number}/{start}",
        boot.trim(),
        pidns.to_string_lossy()
    ))
}

/// Whether the run that labelled a container with `label` is provably gone,
/// as seen from the run `mine` ([`run_id`]): same boot and PID namespace, and
/// its PID is free or now belongs to a process that started at another time.
/// Anything else (another host, namespace or boot, an unreadable label) might
/// be alive and is left alone.
pub(crate) fn run_is_gone(label: &str, mine: &str) -> bool {
    let (Some((my_scope, _)), Some((scope, rest))) = (split_scope(mine), split_scope(label)) else {
        return false;
    };
    if scope != my_scope {
        return false;
    }
    let Some((pid, _start)) = rest.split_once('/') else {
        return false;
    };
    if pid.parse::<u32>().is_err() {
        return false;
    }
    match run_id_of(pid) {
        None => true,
        Some(now) => now != label,
    }
}

/// `BOOT/PIDNS` and `PID/START` of a run id; the PID namespace is written
/// `pid:[N]`, without a slash.
fn split_scope(id: &str) -> Option<(&str, &str)> {
    let first = id.find('/')?;
    let second = first + 1 + id[first + 1..].find('/')?;
    Some((&id[..second], &id[second + 1..]))
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("failed to start the async runtime: {e}"))
}

fn client(rt: &tokio::runtime::Runtime, engine: Engine) -> Result<bollard::Docker, String> {
    let docker = super::endpoint::client(engine)?;
    let name = engine_name(engine);
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
            .await
            .map_err(|_| format!("the {name} did not answer within 10s"))?
            .map_err(|e| match engine {
                Engine::Docker => format!(
                    "cannot reach the Docker engine (is dockerd running? DOCKER_HOST? DOCKER_CONTEXT?): {e}"
                ),
                Engine::Podman => format!("cannot reach podman's API (CONTAINER_HOST?): {e}"),
            })
    })
}

/// The engine, as messages name it.
fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Docker => "Docker engine",
        Engine::Podman => "podman engine",
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Removes containers, forcefully and with their anonymous volumes.
fn remove_all(engine: Engine, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    let Ok(rt) = runtime() else { return };
    let Some(docker) = super::endpoint::known_client(engine) else {
        return;
    };
    rt.block_on(async {
        let docker =
            match tokio::time::timeout(Duration::from_secs(5), docker.negotiate_version()).await {
                Ok(Ok(d)) => d,
                _ => return,
            };
        for id in ids {
            let _ = tokio::time::timeout(
                Duration::from_secs(20),
                docker.remove_container(
                    id,
                    Some(RemoveContainerOptions {
                        force: true,
                        v: true,
                        ..Default::default()
                    }),
                ),
            )
            .await;
        }
    });
}

/// Every signal whose default action ends the process without unwinding:
/// each is caught while throwaway containers may exist, they are removed,
/// and the process ends with 128 + the signal's number, as the shell reports
/// a death by that signal.
const FATAL_SIGNALS: &[i32] = &[
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGQUIT,
    signal_hook::consts::SIGUSR1,
    signal_hook::consts::SIGUSR2,
    signal_hook::consts::SIGALRM,
    signal_hook::consts::SIGVTALRM,
    signal_hook::consts::SIGPROF,
    signal_hook::consts::SIGXCPU,
    signal_hook::consts::SIGXFSZ,
];

/// Catches the signals that end the process (INT, TERM, HUP, QUIT, USR1,
/// USR2, ALRM, VTALRM, PROF, XCPU, XFSZ): on one, the batches running on
/// targets are stopped there (see [`super::inflight`]), throwaway containers
/// are removed, the private podman service is stopped, and the process ends
/// with 128 + the signal's number.
/// The CLI installs it at start; a backend that makes throwaway containers
/// installs it too.
pub fn install_signal_cleanup() {
    SIGNALS.call_once(|| {
        let Ok(mut signals) = signal_hook::iterator::Signals::new(FATAL_SIGNALS) else {
            // Signals cannot be caught here: Drop still cleans up on every
            // path that unwinds, and the next run reaps what is left.
            return;
        };
        std::thread::spawn(move || {
            let Some(signal) = signals.forever().next() else {
                return;
            };
            INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
            // The run's throwaways at the signal: the report counts them
            // removed once they are gone, whether this thread or a removal
            // already under way in the run did it.
            let mut removed: std::collections::BTreeSet<String> = THROWAWAYS
                .lock()
                .map(|v| v.iter().map(|(_, id)| id.clone()).collect())
                .unwrap_or_default();
            // Batches on targets first: their shells, probes and
            // directories, while the containers they run in still exist.
            let stopped = super::inflight::stop_all(Duration::from_secs(5));
            // A creation under way ends in a container to remove too; a
            // removal under way is let finish.
            let waited = Instant::now();
            while (CREATING.load(std::sync::atomic::Ordering::SeqCst) > 0
                || REMOVING.load(std::sync::atomic::Ordering::SeqCst) > 0)
                && waited.elapsed() < Duration::from_secs(30)
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            // Removed means gone from the engine's list: remove what is
            // left and ask again, for at most 20 s.
            let run = run_id();
            let listed = |left: &mut Vec<(Engine, String)>| {
                for engine in [Engine::Docker, Engine::Podman] {
                    left.extend(
                        containers_labelled(engine, RUN_LABEL, &run)
                            .into_iter()
                            .map(|id| (engine, id)),
                    );
                }
            };
            let mut left: Vec<(Engine, String)> =
                THROWAWAYS.lock().map(|v| v.clone()).unwrap_or_default();
            listed(&mut left);
            let tried = Instant::now();
            loop {
                for engine in [Engine::Docker, Engine::Podman] {
                    let ids: std::collections::BTreeSet<String> = left
                        .iter()
                        .filter(|(e, _)| *e == engine)
                        .map(|(_, id)| id.clone())
                        .collect();
                    let ids: Vec<String> = ids.into_iter().collect();
                    remove_all(engine, &ids);
                    removed.extend(ids);
                }
                left.clear();
                listed(&mut left);
                if left.is_empty() || tried.elapsed() > Duration::from_secs(20) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            let removed = removed
                .iter()
                .filter(|id| !left.iter().any(|(_, l)| l == *id))
                .count();
            super::endpoint::stop_service();
            eprintln!(
                "infraspec: interrupted; stopped {stopped} batch(es) on their targets, removed {removed} throwaway container(s)"
            );
            if EXIT_ZERO.load(std::sync::atomic::Ordering::SeqCst) {
                std::process::exit(0);
            }
            std::process::exit(128 + signal);
        });
    });
}

/// The ids of containers, running or not, with `label=value`.
fn containers_labelled(engine: Engine, label: &str, value: &str) -> Vec<String> {
    let Ok(rt) = runtime() else { return Vec::new() };
    let Some(api) = super::endpoint::known_client(engine) else {
        return Vec::new();
    };
    let filters = HashMap::from([("label".to_string(), vec![format!("{label}={value}")])]);
    rt.block_on(async {
        let list = tokio::time::timeout(
            Duration::from_secs(10),
            api.list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            })),
        )
        .await;
        match list {
            Ok(Ok(list)) => list.into_iter().filter_map(|c| c.id).collect(),
            _ => Vec::new(),
        }
    })
}

use crate::model::target::parse_docker_options as parse_options;

/// A docker target: a running container, maybe one we started and own.
pub struct Docker {
    shown: String,
    rt: tokio::runtime::Runtime,
    api: bollard::Docker,
    engine: Engine,
    container: String,
    user: Option<String>,
    /// Set when the container is a throwaway this backend removes on drop.
    owned: bool,
    /// Podman's archive API follows links and reports other owners: its
    /// shell-less containers are read from one export of their filesystem.
    exported: std::sync::OnceLock<Result<super::image_file::ImageFile, String>>,
}

impl Docker {
    /// `docker://container`: a container that must be running.
    pub fn attach(
        shown: &str,
        engine: Engine,
        container: &str,
        options: &BTreeMap<String, String>,
    ) -> Result<Docker, BackendError> {
        let fail = |message: String| BackendError::Connect {
            target: shown.to_string(),
            message,
        };
        let opts = parse_options(options, false).map_err(fail)?;
        let rt = runtime().map_err(fail)?;
        let api = client(&rt, engine).map_err(fail)?;
        let info = rt
            .block_on(api.inspect_container(container, None))
            .map_err(|e| fail(format!("no container {container:?}: {e}")))?;
        let state = info.state.unwrap_or_default();
        if state.running != Some(true) {
            return Err(fail(format!(
                "container {container:?} is not running (status {}, exit code {})",
                state
                    .status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "unknown".into()),
                state.exit_code.unwrap_or_default()
            )));
        }
        Ok(Docker {
            shown: shown.to_string(),
            rt,
            api,
            engine,
            container: info.id.unwrap_or_else(|| container.to_string()),
            user: opts.user,
            owned: false,
            exported: Default::default(),
        })
    }

    /// `docker:image`: starts a throwaway container with the image's own
    /// entrypoint and command, and waits until it runs.
    pub fn start(
        shown: &str,
        engine: Engine,
        image: &str,
        options: &BTreeMap<String, String>,
    ) -> Result<Docker, BackendError> {
        let fail = |message: String| BackendError::Connect {
            target: shown.to_string(),
            message,
        };
        let opts = parse_options(options, true).map_err(fail)?;
        let rt = runtime().map_err(fail)?;
        let api = client(&rt, engine).map_err(fail)?;
        install_signal_cleanup();
        reap_leftovers(&rt, &api, engine);

        if let Err(e) = rt.block_on(api.inspect_image(image)) {
            return Err(fail(match e {
                bollard::errors::Error::DockerResponseServerError { status_code: 404, .. } => format!(
                    "image {image:?} is not present on the {}; infraspec does not pull images: `{} pull {image}` (or build it) first",
                    engine_name(engine),
                    engine.as_str()
                ),
                other => format!("cannot inspect image {image:?}: {other}"),
            }));
        }

        let labels = HashMap::from([
            (MANAGED_LABEL.to_string(), "true".to_string()),
            (HOST_LABEL.to_string(), hostname()),
            (PID_LABEL.to_string(), std::process::id().to_string()),
            (RUN_LABEL.to_string(), run_id()),
        ]);
        let mut labels = labels;
        if let Some(runner) = own_container() {
            labels.insert(RUNNER_LABEL.to_string(), runner);
        }
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            cmd: opts.cmd.clone(),
            entrypoint: opts.entrypoint.clone(),
            env: (!opts.env.is_empty()).then(|| opts.env.clone()),
            user: opts.user.clone(),
            labels: Some(labels),
            host_config: Some(HostConfig {
                network_mode: opts.network.clone(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let name = format!("infraspec-{}", &crate::probe::nonce()[..12]);
        // With the handler's store of INTERRUPTED before its load of
        // CREATING (both SeqCst), either it sees this creation and waits for
        // it, or this sees the signal and creates nothing.
        CREATING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if interrupted() {
            CREATING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            return Err(fail("interrupted before the container was created".into()));
        }
        let created = rt.block_on(api.create_container(
            Some(CreateContainerOptions {
                name: Some(name),
                ..Default::default()
            }),
            body,
        ));
        if let Ok(c) = &created {
            if let Ok(mut v) = THROWAWAYS.lock() {
                v.push((engine, c.id.clone()));
            }
        }
        CREATING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        let id = created
            .map_err(|e| fail(format!("cannot create a container from {image:?}: {e}")))?
            .id;
        // From here on, Drop removes the container whatever happens.
        let backend = Docker {
            shown: shown.to_string(),
            rt,
            api,
            engine,
            container: id.clone(),
            user: None,
            owned: true,
            exported: Default::default(),
        };
        backend
            .rt
            .block_on(backend.api.start_container(&id, None))
            .map_err(|e| fail(format!("cannot start the container from {image:?}: {e}")))?;
        backend
            .wait_running(opts.start_timeout.unwrap_or(Duration::from_secs(30)))
            .map_err(fail)?;
        Ok(backend)
    }

    /// Waits until the container has run for a moment; if it exits, says how,
    /// with the last lines of its log.
    fn wait_running(&self, limit: Duration) -> Result<(), String> {
        let started = Instant::now();
        let settle = Duration::from_millis(300);
        loop {
            let (running, code) = self.state()?;
            if !running && started.elapsed() > Duration::from_millis(50) {
                return Err(format!(
                    "the container exited before the checks ran (exit code {code}); last lines of its log:\n{}",
                    self.last_log_lines(20)
                ));
            }
            if running && started.elapsed() >= settle {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(format!(
                    "the container did not start within {}s",
                    limit.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The container's filesystem, exported once into an unnamed temporary
    /// file and indexed as a one-layer image.
    fn export(&self) -> Result<&super::image_file::ImageFile, BackendError> {
        let done = self.exported.get_or_init(|| {
            let mut file = super::image_file::unnamed_temp_file()?;
            self.rt.block_on(async {
                let mut stream = self.api.export_container(&self.container);
                let mut written: u64 = 0;
                while let Some(chunk) = stream.next().await {
                    let b = chunk.map_err(|e| format!("exporting the container: {e}"))?;
                    written += b.len() as u64;
                    if written > EXPORT_CAP {
                        return Err(format!(
                            "the container's filesystem is larger than {} GiB; infraspec does not read it without a shell",
                            EXPORT_CAP >> 30
                        ));
                    }
                    std::io::Write::write_all(&mut file, &b)
                        .map_err(|e| format!("exporting the container: {e}"))?;
                }
                Ok::<(), String>(())
            })?;
            super::image_file::ImageFile::from_tar(&self.shown, file)
        });
        done.as_ref().map_err(|message| BackendError::Exec {
            target: self.shown.clone(),
            command: "export the container's filesystem".into(),
            message: message.clone(),
        })
    }

    /// Whether the container runs, and its exit code. Podman names states
    /// Docker's API model does not know (`stopped`).
    fn state(&self) -> Result<(bool, i64), String> {
        match self
            .rt
            .block_on(self.api.inspect_container(&self.container, None))
        {
            Ok(info) => {
                let state = info.state.unwrap_or_default();
                Ok((
                    state.running == Some(true),
                    state.exit_code.unwrap_or_default(),
                ))
            }
            // A state Docker's model does not name is not `running`: the
            // exit code is what waiting for a stopped container returns.
            Err(e) if e.to_string().contains("unknown variant") => {
                let wait = self.rt.block_on(async {
                    let mut stream = self.api.wait_container(
                        &self.container,
                        Some(bollard::query_parameters::WaitContainerOptions {
                            condition: "not-running".into(),
                        }),
                    );
                    tokio::time::timeout(Duration::from_secs(10), stream.next()).await
                });
                let code = match wait {
                    Ok(Some(Ok(r))) => r.status_code,
                    Ok(Some(Err(bollard::errors::Error::DockerContainerWaitError {
                        code,
                        ..
                    }))) => code,
                    _ => 0,
                };
                Ok((false, code))
            }
            Err(e) => Err(format!("cannot inspect the container: {e}")),
        }
    }

    fn last_log_lines(&self, n: usize) -> String {
        let opts = LogsOptions {
            stdout: true,
            stderr: true,
            tail: n.to_string(),
            ..Default::default()
        };
        let lines: Vec<String> = self.rt.block_on(async {
            let mut stream = self.api.logs(&self.container, Some(opts));
            let mut text = Vec::new();
            while let Some(Ok(chunk)) = stream.next().await {
                text.extend_from_slice(&chunk.into_bytes());
            }
            String::from_utf8_lossy(&text)
                .lines()
                .map(|l| format!("  | {l}"))
                .collect()
        });
        if lines.is_empty() {
            "  | (no output)".into()
        } else {
            lines.join("\n")
        }
    }

    /// The id of the container checks run in.
    pub fn container_id(&self) -> &str {
        &self.container
    }
}

/// Reads an image's metadata from `engine` (as the environment points at
/// it); `None` when the image is not there.
pub fn inspect_image(
    engine: Engine,
    name: &str,
) -> Result<Option<crate::model::image::ImageMeta>, String> {
    let rt = runtime()?;
    let api = client(&rt, engine)?;
    let info = match rt.block_on(api.inspect_image(name)) {
        Ok(info) => info,
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => return Ok(None),
        Err(e) => {
            return Err(format!(
                "cannot inspect image {name:?} in the {}: {e}",
                engine_name(engine)
            ))
        }
    };
    let c = info.config.unwrap_or_default();
    let mut labels: Vec<String> = c
        .labels
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    labels.sort();
    let sorted = |v: Option<Vec<String>>| {
        let mut v = v.unwrap_or_default();
        v.sort();
        v
    };
    Ok(Some(crate::model::image::ImageMeta {
        env: c.env.unwrap_or_default(),
        labels,
        exposed_ports: sorted(c.exposed_ports),
        user: c.user.unwrap_or_default(),
        workdir: c.working_dir.unwrap_or_default(),
        entrypoint: c.entrypoint.unwrap_or_default(),
        cmd: c.cmd.unwrap_or_default(),
        volumes: sorted(c.volumes),
    }))
}

/// Removes containers left by infraspec runs on this host whose process is gone.
fn reap_leftovers(rt: &tokio::runtime::Runtime, api: &bollard::Docker, engine: Engine) {
    let filters = HashMap::from([("label".to_string(), vec![format!("{MANAGED_LABEL}=true")])]);
    let Ok(list) = rt.block_on(api.list_containers(Some(ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..Default::default()
    }))) else {
        return;
    };
    let host = hostname();
    let mine = run_id();
    // A run in a container of this engine is gone once that container is:
    // removed, or no longer running (its processes ended with it).
    let runner_gone = |lease: &str| {
        let Some((kind, id)) = lease.split_once(':') else {
            return false;
        };
        if kind != engine.as_str() {
            return false;
        }
        match rt.block_on(api.inspect_container(id, None)) {
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => true,
            Ok(c) => c.state.and_then(|s| s.running) == Some(false),
            Err(_) => false,
        }
    };
    let stale: Vec<String> = list
        .into_iter()
        .filter(|c| {
            let labels = c.labels.clone().unwrap_or_default();
            let by_run = labels.get(HOST_LABEL) == Some(&host)
                && labels
                    .get(RUN_LABEL)
                    .is_some_and(|run| run_is_gone(run, &mine));
            by_run || labels.get(RUNNER_LABEL).is_some_and(|l| runner_gone(l))
        })
        .filter_map(|c| c.id)
        .collect();
    if !stale.is_empty() {
        eprintln!(
            "infraspec: removing {} container(s) left by an earlier run that was killed",
            stale.len()
        );
        remove_all(engine, &stale);
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let id = self.container.clone();
        REMOVING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _ = self.rt.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(30),
                self.api.remove_container(
                    &id,
                    Some(RemoveContainerOptions {
                        force: true,
                        v: true,
                        ..Default::default()
                    }),
                ),
            )
            .await
        });
        if let Ok(mut v) = THROWAWAYS.lock() {
            v.retain(|(_, c)| *c != id);
        }
        REMOVING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A `docker exec` kept running, its input open ([`Docker::start`]).
struct DockerShell<'d> {
    docker: &'d Docker,
    shown: String,
    id: String,
    output: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
    >,
    input: Option<std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>>,
    ended: bool,
    /// The cgroup the exec was moved into ([`super::Shell::contain`]).
    cgroup: Option<super::contain::Cgroup>,
}

impl DockerShell<'_> {
    fn fail(&self, message: String) -> BackendError {
        BackendError::Exec {
            target: self.docker.shown.clone(),
            command: self.shown.clone(),
            message,
        }
    }
}

impl super::Shell for DockerShell<'_> {
    fn round(
        &mut self,
        stdin: &[u8],
        close: bool,
        timeout: Duration,
        cap: usize,
        done: &dyn Fn(&[u8]) -> bool,
    ) -> Result<ExecOutput, BackendError> {
        if self.ended {
            return Err(self.fail("the command had ended".into()));
        }
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let mut cut = false;
        let (output, input) = (&mut self.output, &mut self.input);
        let work = async {
            let write = async {
                if let Some(w) = input.as_mut() {
                    // A process that exits without reading its input is not an error.
                    let _ = w.write_all(stdin).await;
                    let _ = w.flush().await;
                    if close {
                        let _ = w.shutdown().await;
                    }
                }
            };
            // Reading goes on while the input is written: neither side waits
            // on the other's full pipe.
            let read = async {
                while let Some(chunk) = output.next().await {
                    match chunk.map_err(|e| format!("reading output: {e}"))? {
                        LogOutput::StdOut { message } | LogOutput::Console { message } => {
                            cut |= super::push_capped(&mut stdout, &message, cap);
                            if done(&stdout) {
                                return Ok(false);
                            }
                        }
                        LogOutput::StdErr { message } => {
                            cut |= super::push_capped(&mut stderr, &message, cap)
                        }
                        LogOutput::StdIn { .. } => {}
                    }
                }
                Ok::<bool, String>(true)
            };
            let ((), ended) = tokio::join!(write, read);
            ended
        };
        let finished = self
            .docker
            .rt
            .block_on(async { tokio::time::timeout(timeout, work).await });
        if close {
            self.input = None;
        }
        let (code, timed_out) = match finished {
            Err(_) => (None, true),
            Ok(Ok(false)) => return Ok(ExecOutput::going_on(stdout, stderr, cut)),
            Ok(Ok(true)) => {
                self.ended = true;
                let code = self
                    .docker
                    .rt
                    .block_on(self.docker.api.inspect_exec(&self.id))
                    .map_err(|e| self.fail(format!("cannot inspect the exec: {e}")))?
                    .exit_code;
                (code, false)
            }
            Ok(Err(m)) => {
                self.ended = true;
                return Err(self.fail(m));
            }
        };
        self.ended = true;
        self.input = None;
        // A command killed (137) or lost because the container itself
        // exited meanwhile: say so, with the container's own last words,
        // rather than blame the command.
        if matches!(code, Some(137) | None) {
            if let Ok((false, exit)) = self.docker.state() {
                return Err(self.fail(format!(
                    "the container exited while it was being checked (exit code {exit}); last lines of its log:\n{}",
                    self.docker.last_log_lines(20)
                )));
            }
        }
        Ok(ExecOutput {
            status: code.map(|c| c as i32),
            stdout,
            stderr,
            truncated: cut,
            timed_out,
        })
    }

    fn is_open(&self) -> bool {
        !self.ended && self.input.is_some()
    }

    /// Where the engine runs on this machine and this process may write
    /// the cgroup filesystem (root on the engine's host), the exec's shell
    /// is moved into a cgroup of its own below the container's: what it
    /// starts cannot leave it.
    fn contain(&mut self) -> bool {
        if self.ended || self.cgroup.is_some() {
            return !self.ended;
        }
        let Ok(info) = self
            .docker
            .rt
            .block_on(self.docker.api.inspect_exec(&self.id))
        else {
            return false;
        };
        let Some(pid) = info.pid.filter(|p| *p > 0) else {
            return false;
        };
        if super::netns::container_process(pid, &self.docker.container).is_err() {
            return false;
        }
        let name = format!("infraspec-{}", &self.id[..self.id.len().min(16)]);
        self.cgroup = super::contain::Cgroup::enter(pid as u32, &name);
        self.cgroup.is_some()
    }

    fn sweep(&mut self) -> bool {
        self.ended = true;
        self.input = None;
        self.cgroup
            .take()
            .is_some_and(super::contain::Cgroup::kill_all)
    }
}

impl Drop for DockerShell<'_> {
    /// Closes the input: the shell reads its end and exits.
    fn drop(&mut self) {
        if let Some(mut w) = self.input.take() {
            let _ = self.docker.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(2), w.shutdown()).await
            });
        }
    }
}

impl Backend for Docker {
    /// One `docker exec`, attached, its input kept open.
    fn start(&self, argv: &[String]) -> Result<Option<Box<dyn super::Shell + '_>>, BackendError> {
        let shown = argv.join(" ");
        let started = self.rt.block_on(async {
            let exec = self
                .api
                .create_exec(
                    &self.container,
                    CreateExecOptions {
                        attach_stdin: Some(true),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        cmd: Some(argv.to_vec()),
                        user: self.user.clone(),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| format!("cannot create the exec: {e}"))?;
            match self
                .api
                .start_exec(&exec.id, None)
                .await
                .map_err(|e| format!("cannot start the exec: {e}"))?
            {
                StartExecResults::Attached { output, input } => Ok((exec.id, output, input)),
                StartExecResults::Detached => Err("the exec started detached".to_string()),
            }
        });
        let (id, output, input) = started.map_err(|message| BackendError::Exec {
            target: self.shown.clone(),
            command: shown.clone(),
            message,
        })?;
        Ok(Some(Box::new(DockerShell {
            docker: self,
            shown,
            id,
            output,
            input: Some(input),
            ended: false,
            cgroup: None,
        })))
    }

    fn target(&self) -> String {
        self.shown.clone()
    }

    /// A second exec in the container, through a client of its own.
    fn side_channel(&self) -> Option<super::inflight::SideChannel> {
        let (engine, container, user) = (self.engine, self.container.clone(), self.user.clone());
        Some(std::sync::Arc::new(move |script: &str, limit: Duration| {
            let Ok(rt) = runtime() else { return };
            let Some(api) = super::endpoint::known_client(engine) else {
                return;
            };
            let work = async {
                let exec = api
                    .create_exec(
                        &container,
                        CreateExecOptions {
                            attach_stdout: Some(true),
                            attach_stderr: Some(true),
                            cmd: Some(vec!["sh".to_string(), "-c".into(), script.to_string()]),
                            user: user.clone(),
                            ..Default::default()
                        },
                    )
                    .await
                    .ok()?;
                if let Ok(StartExecResults::Attached { mut output, .. }) =
                    api.start_exec(&exec.id, None).await
                {
                    while let Some(Ok(_)) = output.next().await {}
                }
                Some(())
            };
            let _ = rt.block_on(async { tokio::time::timeout(limit, work).await });
        }))
    }

    /// A connection made inside the container's network namespace (see
    /// [`super::netns`]), relayed to a loopback port here: `localhost` is the
    /// container's loopback, other names resolve with the container's
    /// resolver, and what the runner alone can reach stays unreachable. (The
    /// network observer hands over the address a name resolved to in the
    /// batch, so a name is looked up here only for a redirect to another.)
    fn forward(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<super::Forward, super::ForwardError> {
        use super::ForwardError;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let info = self
            .rt
            .block_on(self.api.inspect_container(&self.container, None))
            .map_err(|e| ForwardError::Failed(format!("cannot inspect the container: {e}")))?;
        let pid = info.state.and_then(|s| s.pid).unwrap_or(0);
        let ip: std::net::IpAddr = if bare.eq_ignore_ascii_case("localhost") {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else if let Ok(ip) = bare.parse() {
            ip
        } else {
            let argv = ["getent".to_string(), "ahosts".into(), bare.to_string()];
            let out = self
                .exec(&argv, b"", timeout)
                .map_err(|e| ForwardError::Failed(e.to_string()))?;
            let addrs = crate::model::net::parse_ahosts(&String::from_utf8_lossy(&out.stdout));
            addrs.iter().find_map(|a| a.parse().ok()).ok_or_else(|| {
                ForwardError::Dns(format!("could not resolve {bare} inside the container"))
            })?
        };
        let ns = super::netns::namespace_of(pid, &self.container)?;
        let stream = super::netns::connect_in(ns, std::net::SocketAddr::new(ip, port), timeout)?;
        Ok(super::Forward::connected(stream, None))
    }

    fn container_runtime(&self) -> Option<crate::model::facts::ContainerRuntime> {
        Some(match self.engine {
            Engine::Docker => crate::model::facts::ContainerRuntime::Docker,
            Engine::Podman => crate::model::facts::ContainerRuntime::Podman,
        })
    }

    fn list_path(&self, dir: &str) -> Result<Option<Vec<String>>, BackendError> {
        match self.engine {
            Engine::Podman => self.export()?.list_path(dir),
            Engine::Docker => Err(BackendError::Unsupported {
                target: self.shown.clone(),
                what: "directory listing without a shell",
            }),
        }
    }

    fn read_path(&self, path: &str) -> Result<Option<PathEntry>, BackendError> {
        self.read_capped(path, OUTPUT_CAP)
    }

    fn read_whole(&self, path: &str, cap: usize) -> Result<Option<Vec<u8>>, BackendError> {
        if self.engine == Engine::Podman {
            return self.export()?.read_whole(path, cap);
        }
        match self.read_capped(path, cap)? {
            Some(e) if e.truncated => Err(BackendError::Exec {
                target: self.shown.clone(),
                command: format!("read {path} through the archive API"),
                message: format!(
                    "it is larger than the {} MiB infraspec reads of a database",
                    cap >> 20
                ),
            }),
            Some(e) => Ok(Some(e.content)),
            None => Ok(None),
        }
    }
}

impl Docker {
    /// A path through the archive API, keeping up to `cap` bytes of a
    /// regular file.
    fn read_capped(&self, path: &str, cap: usize) -> Result<Option<PathEntry>, BackendError> {
        if self.engine == Engine::Podman {
            return self.export()?.read_path(path);
        }
        let fail = |message: String| BackendError::Exec {
            target: self.shown.clone(),
            command: format!("read {path} through the archive API"),
            message,
        };
        let limit = cap + 64 * 1024;
        let bytes = self.rt.block_on(async {
            let mut stream = self.api.download_from_container(
                &self.container,
                Some(DownloadFromContainerOptions {
                    path: path.to_string(),
                }),
            );
            let mut buf: Vec<u8> = Vec::new();
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(b) => {
                        buf.extend_from_slice(&b);
                        if buf.len() > limit {
                            break;
                        }
                    }
                    Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 404,
                        ..
                    }) => return Ok(Archived::Missing),
                    // The engine evaluates a link's target to describe it and
                    // refuses a loop (`evalSymlinksInScope: too many links`,
                    // its only signal): the path is a link that leads nowhere.
                    Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 500,
                        message,
                    }) if message.contains("too many links") => return Ok(Archived::Loop),
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(Archived::Tar(buf))
        });
        match bytes.map_err(fail)? {
            Archived::Missing => Ok(None),
            Archived::Loop => Ok(Some(PathEntry {
                file_type: FileType::Symlink,
                mode: 0o777,
                uid: 0,
                gid: 0,
                size: 0,
                mtime: 0,
                link_target: None,
                content: Vec::new(),
                truncated: false,
            })),
            Archived::Tar(tar) => super::first_tar_entry(&tar, cap).map(Some).map_err(fail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_gone_only_when_that_is_certain() {
        let me = super::run_id();
        assert!(!super::run_is_gone(&me, &me), "this process is alive: {me}");
        let (scope, _) = super::split_scope(&me).unwrap();
        // The same PID with another start time: the PID was reused.
        let reused = format!("{scope}/{}/1", std::process::id());
        assert!(super::run_is_gone(&reused, &me));
        // Another PID namespace or boot: might be alive, left alone.
        let other_ns = me.replace("pid:[", "pid:[9");
        assert!(!super::run_is_gone(
            &other_ns.replacen(&format!("/{}/", std::process::id()), "/999999999/", 1),
            &me
        ));
        assert!(!super::run_is_gone("garbage", &me));
    }

    #[test]
    fn options_per_target_kind() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let o = parse_options(
            &map(&[
                ("cmd", r#"["nginx","-g","daemon off;"]"#),
                ("env", "A=1,B=2"),
            ]),
            true,
        )
        .unwrap();
        assert_eq!(o.cmd.unwrap(), ["nginx", "-g", "daemon off;"]);
        assert_eq!(o.env, ["A=1", "B=2"]);
        assert_eq!(
            parse_options(&map(&[("entrypoint", "/bin/sh -c")]), true)
                .unwrap()
                .entrypoint
                .unwrap(),
            ["/bin/sh", "-c"]
        );
        assert!(parse_options(&map(&[("cmd", "x")]), false)
            .unwrap_err()
            .contains("unknown option"));
    }
}
