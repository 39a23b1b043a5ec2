//! The harness of the integration suites that need a Docker engine or an
//! SSH server (libtest-mimic, `harness = false`): a test that cannot run here
//! is reported *ignored* with its reason in the summary, never passed, and
//! with `INFRASPEC_REQUIRE_DOCKER=1` (or `INFRASPEC_REQUIRE_SSH=1`) it fails
//! instead. What a test needs is checked once per test binary.

use std::process::ExitCode;
use std::sync::OnceLock;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// What a test needs beyond this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing: it runs everywhere.
    Nothing,
    /// A Docker engine and the test images (built on first use).
    Docker,
    /// An sshd, which runs in a test container: Docker too, and ssh-keygen.
    Ssh,
    /// Root and `unshare` (util-linux), for a private mount namespace.
    Root,
    /// Permission to restart the machine's dockerd
    /// (`INFRASPEC_ALLOW_DOCKERD_RESTART=1`, which `.ci/run` sets).
    DockerdRestart,
    /// `ansible-inventory` (ansible-core), the oracle of inventories:
    /// `INFRASPEC_ANSIBLE_INVENTORY`, else on PATH. `.ci/run` installs it
    /// and sets `INFRASPEC_REQUIRE_ORACLES=1`.
    Ansible,
    /// OpenSSH's client (`ssh -G`), the oracle of ssh_config, and root with
    /// `unshare` (it reads the passwd home, so each case gets a private
    /// mount namespace).
    OpenSsh,
}

/// The `ansible-inventory` the tests compare with.
pub fn ansible_inventory() -> std::path::PathBuf {
    std::env::var_os("INFRASPEC_ANSIBLE_INVENTORY")
        .map(Into::into)
        .unwrap_or_else(|| "ansible-inventory".into())
}

fn oracle_missing(program: &std::path::Path, arg: &str, install: &str) -> Option<String> {
    match std::process::Command::new(program).arg(arg).output() {
        Ok(_) => None,
        Err(e) => Some(format!("{} cannot run ({e}): {install}", program.display())),
    }
}

/// Why the running test's engine cannot run containers here, asked once per
/// engine.
fn docker_missing() -> Option<String> {
    static DOCKER: OnceLock<Option<String>> = OnceLock::new();
    static PODMAN: OnceLock<Option<String>> = OnceLock::new();
    let why = if super::docker::engine() == "podman" {
        &PODMAN
    } else {
        &DOCKER
    };
    why.get_or_init(super::docker::unavailable).clone()
}

fn ssh_missing() -> Option<String> {
    static WHY: OnceLock<Option<String>> = OnceLock::new();
    WHY.get_or_init(|| docker_missing().or_else(super::sshd::unavailable))
        .clone()
}

/// Why a test with these needs cannot run here, and whether it must.
fn missing(needs: Needs) -> Option<(String, bool)> {
    let required = |var: &str| std::env::var(var).as_deref() == Ok("1");
    match needs {
        Needs::Nothing => None,
        Needs::Docker => docker_missing().map(|w| (w, required("INFRASPEC_REQUIRE_DOCKER"))),
        Needs::Ssh => ssh_missing().map(|w| {
            (
                w,
                required("INFRASPEC_REQUIRE_SSH") || required("INFRASPEC_REQUIRE_DOCKER"),
            )
        }),
        Needs::Root => {
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } != 0 {
                Some(("needs root, for a private mount namespace".into(), false))
            } else if std::process::Command::new("unshare")
                .arg("--version")
                .output()
                .is_err()
            {
                Some(("needs unshare (util-linux)".into(), false))
            } else {
                None
            }
        }
        Needs::Ansible => oracle_missing(
            &ansible_inventory(),
            "--version",
            "pip install ansible-core (in a venv; .ci/run does) and set INFRASPEC_ANSIBLE_INVENTORY",
        )
        .map(|w| (w, required("INFRASPEC_REQUIRE_ORACLES"))),
        Needs::OpenSsh if missing(Needs::Root).is_some() => missing(Needs::Root),
        Needs::OpenSsh => oracle_missing(
            std::path::Path::new("ssh"),
            "-V",
            "apt-get install openssh-client",
        )
        .map(|w| (w, required("INFRASPEC_REQUIRE_ORACLES"))),
        Needs::DockerdRestart => {
            if !required("INFRASPEC_ALLOW_DOCKERD_RESTART") {
                Some((
                    "restarts dockerd, stopping every container on the engine: set INFRASPEC_ALLOW_DOCKERD_RESTART=1 to allow it".into(),
                    false,
                ))
            } else {
                docker_missing().map(|w| (w, true))
            }
        }
    }
}

/// One test: its name, what it needs, and the function.
pub type Test = (&'static str, Needs, fn());

/// Runs `tests` as libtest does, with what each needs, on Docker.
pub fn run(tests: Vec<Test>) -> ExitCode {
    run_suites(vec![("", tests)])
}

/// Runs several suites' tests in one pool, each named `suite::test`; the
/// `podman` suite's tests run on podman, every other on Docker.
///
/// Most of these tests wait on containers, servers and timeouts rather than
/// compute, so the pool is wider than the machine: four threads per core
/// unless `--test-threads` or `RUST_TEST_THREADS` says otherwise.
pub fn run_suites(suites: Vec<(&'static str, Vec<Test>)>) -> ExitCode {
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() {
        args.test_threads = Some(
            std::env::var("RUST_TEST_THREADS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| 4 * std::thread::available_parallelism().map_or(1, usize::from)),
        );
    }
    let trials = suites
        .into_iter()
        .flat_map(|(suite, tests)| {
            let engine = if suite == "podman" {
                "podman"
            } else {
                "docker"
            };
            tests.into_iter().map(move |(name, needs, test)| {
                let name = if suite.is_empty() {
                    name.to_string()
                } else {
                    format!("{suite}::{name}")
                };
                Trial::ignorable_test(name, move || {
                    super::docker::set_engine(engine);
                    match missing(needs) {
                        Some((why, true)) => Err(Failed::from(format!(
                            "required (INFRASPEC_REQUIRE_*) but cannot run: {why}"
                        ))),
                        Some((why, false)) => Ok(Completion::ignored_with(why)),
                        None => {
                            test();
                            Ok(Completion::Completed)
                        }
                    }
                })
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
