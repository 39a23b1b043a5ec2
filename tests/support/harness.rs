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
}

fn docker_missing() -> Option<String> {
    static WHY: OnceLock<Option<String>> = OnceLock::new();
    WHY.get_or_init(super::docker::unavailable).clone()
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

/// Runs `tests` as libtest does, with what each needs.
pub fn run(tests: Vec<(&'static str, Needs, fn())>) -> ExitCode {
    let args = Arguments::from_args();
    let trials = tests
        .into_iter()
        .map(|(name, needs, test)| {
            Trial::ignorable_test(name, move || match missing(needs) {
                Some((why, true)) => Err(Failed::from(format!(
                    "required (INFRASPEC_REQUIRE_*) but cannot run: {why}"
                ))),
                Some((why, false)) => Ok(Completion::ignored_with(why)),
                None => {
                    test();
                    Ok(Completion::Completed)
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
