//! The shell observer: one framed `sh` script per round, on the target.

use std::time::Duration;

use crate::backend::{Backend, Shell};
use crate::probe::{self, Probe};

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
    run_batch_in(backend, None, probes, timeout, cpus, false).map(|r| r.answers)
}

/// The `sh` a session keeps on its target: every round of the session (its
/// facts, then each round of probes) is written to it, and read back, while
/// it lives. It is started at the first round, and again after a round that
/// ended it (a timeout, a lost connection).
///
/// A round that runs commands of the spec's author ends its shell: what
/// those commands started may outlive them and reach whatever their user
/// can (the shell's own input and output through `/proc/PID/fd` included),
/// so no later round goes to anything they could touch. Where the backend
/// contains the round ([`Shell::contain`]: a local subreaper, a container's
/// cgroup seen from the engine's host), every process it started is stopped
/// when it ends and the next round starts a fresh `sh`. Elsewhere the
/// script itself stops what stayed in the commands' sessions and reports
/// what may have left them; if anything did, every later round on the
/// target is an error saying so.
#[derive(Default)]
pub struct KeptShell<'b> {
    shell: Option<Box<dyn Shell + 'b>>,
    /// Rounds the current shell has answered.
    rounds: u32,
    /// Why no later round can be trusted on this target, once one is not.
    untrusted: Option<String>,
}

impl<'b> KeptShell<'b> {
    /// Runs one framed batch as the next round of the kept shell, starting
    /// one when there is none (counted in `execs`, as a batch's exec was,
    /// whether or not it could start). Where the backend cannot
    /// keep a command running, the batch is one exec of its own.
    pub fn run(
        &mut self,
        backend: &'b dyn Backend,
        probes: &[Probe],
        timeout: Duration,
        cpus: Option<u32>,
        execs: &mut u32,
    ) -> Result<Vec<probe::Answer>, BatchError> {
        if let Some(why) = &self.untrusted {
            return Err(BatchError::Failed(why.clone()));
        }
        if self.shell.as_ref().is_none_or(|s| !s.is_open()) {
            *execs += 1;
            self.shell = backend
                .start(&["sh".to_string()])
                .map_err(|e| BatchError::Failed(e.to_string()))?;
            self.rounds = 0;
        }
        let commands = probes.iter().any(Probe::is_users);
        let contained = commands && self.shell.as_mut().is_some_and(|s| s.contain());
        let round = run_batch_in(backend, Some(self), probes, timeout, cpus, contained);
        self.rounds += 1;
        if commands {
            // The runner stops all the round started where it can; the
            // shell goes with it either way.
            let swept = contained && self.shell.as_mut().is_some_and(|s| s.sweep());
            self.shell = None;
            if !swept {
                self.untrusted = round
                    .as_ref()
                    .map_or(Some(None), left_behind)
                    .map(|pids| escaped(backend, pids));
            }
        }
        match round {
            Ok(round) => Ok(round.answers),
            Err(e) => {
                // Nothing of a failed round is trusted, nor the shell it ran
                // in (something may still write into it): the next round
                // starts another.
                self.shell = None;
                Err(e)
            }
        }
    }
}

/// What may have outlived a round's commands, by what its sweep said:
/// `None` when nothing did, `Some(pids)` when something may have (no pid
/// known: the sweep could not tell, or did not run).
fn left_behind(round: &probe::Round) -> Option<Option<Vec<u32>>> {
    if !round.complete || round.left.unknown {
        Some(None)
    } else if round.left.pids.is_empty() {
        None
    } else {
        Some(Some(round.left.pids.clone()))
    }
}

/// Why later rounds on `backend` are not trusted after a round whose
/// commands may have left `pids` running (none known: it cannot be told).
fn escaped(backend: &dyn Backend, pids: Option<Vec<u32>>) -> String {
    let what = match pids {
        Some(pids) => format!(
            "process{} {} started while command checks ran, left their session and still run{}",
            if pids.len() == 1 { "" } else { "es" },
            pids.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            if pids.len() == 1 { "s" } else { "" },
        ),
        None => "whether command checks left a process running cannot be told (the batch did not \
                 finish its sweep, or the target's /proc could not be read)"
            .to_string(),
    };
    format!(
        "on {}, {what}; such a process can reach later rounds through the user's rights, so \
         nothing more is observed on this target in this run (infraspec cannot contain commands \
         there; docs/reliability.md, \"Threat model\")",
        backend.target()
    )
}

/// [`run_batch`], as the next round of `kept` when there is one.
fn run_batch_in(
    backend: &dyn Backend,
    kept: Option<&mut KeptShell<'_>>,
    probes: &[Probe],
    timeout: Duration,
    cpus: Option<u32>,
    contained: bool,
) -> Result<probe::Round, BatchError> {
    let timeout = backend.exec_limit(timeout);
    let nonce = probe::nonce();
    let token = probe::dir_token();
    let script = probe::render_in(
        probes,
        &nonce,
        &token,
        probe::Schedule::new(cpus, timeout).contained(contained),
    );
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
    let out = match kept.and_then(|k| k.shell.as_mut().map(|s| (s, k.rounds))) {
        Some((shell, rounds)) => {
            let end = probe::RoundEnd::new(&nonce);
            let out = shell
                .round(script.as_bytes(), false, timeout, cap, &|out| end.seen(out))
                .map_err(|e| BatchError::Failed(e.to_string()))?;
            // After the first round, a round's output starts with its own
            // script's first line: bytes before it were pushed into the
            // shell's output by something on the target after the last round.
            if rounds > 0 && !out.stdout.is_empty() && !end.starts(&out.stdout) {
                return Err(BatchError::Failed(
                    probe::FrameError::Tampered(
                        "bytes came before the batch's first line".to_string(),
                    )
                    .to_string(),
                ));
            }
            out
        }
        None => backend
            .exec_capped(&["sh".to_string()], script.as_bytes(), timeout, cap)
            .map_err(|e| BatchError::Failed(e.to_string()))?,
    };
    let mut round = probe::parse_round(&out.stdout, &nonce, probes)
        .map_err(|e| BatchError::Failed(e.to_string()))?;
    let results = &mut round.answers;
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
    Ok(round)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::local::Local;

    fn echo(text: &str) -> Probe {
        Probe::argv(["echo", text])
    }

    fn stdout(answers: &[probe::Answer]) -> Vec<String> {
        answers
            .iter()
            .map(|a| String::from_utf8_lossy(&a.as_ref().unwrap().stdout).into_owned())
            .collect()
    }

    #[test]
    fn a_kept_shell_answers_every_round_with_one_process() {
        let mut kept = KeptShell::default();
        let t = Duration::from_secs(30);
        let mut execs = 0;
        let shell_pid = Probe::script(
            "cut -d' ' -f4 /proc/$PPID/stat",
            Vec::<String>::new(),
            "pid",
        );
        let one = kept
            .run(&Local, &[echo("a"), shell_pid.clone()], t, None, &mut execs)
            .unwrap();
        assert_eq!(execs, 1, "the first round starts the shell");
        assert_eq!(stdout(&one)[0], "a\n");
        let two = kept
            .run(&Local, &[echo("b"), shell_pid], t, None, &mut execs)
            .unwrap();
        assert_eq!(execs, 1, "the second round goes to the same shell");
        assert_eq!(stdout(&two)[0], "b\n");
        assert_eq!(stdout(&one)[1], stdout(&two)[1], "one shell, one pid");
    }

    #[test]
    fn bytes_pushed_into_a_kept_shell_between_rounds_make_the_next_round_an_error() {
        let mut kept = KeptShell::default();
        let t = Duration::from_secs(30);
        let mut execs = 0;
        // A command that escapes its framing: after its round ended, a child
        // writes into the kept shell's own stdout (its lane's parent's).
        let escape = Probe::script(
            "s=$(cut -d' ' -f4 /proc/$PPID/stat); (sleep 0.3; printf '\\nforged' >/proc/$s/fd/1) >/dev/null 2>&1 &",
            Vec::<String>::new(),
            "escape",
        );
        kept.run(&Local, &[escape, echo("x")], t, None, &mut execs)
            .unwrap();
        std::thread::sleep(Duration::from_millis(800));
        let err = kept
            .run(&Local, &[echo("y")], t, None, &mut execs)
            .unwrap_err();
        assert!(err.to_string().contains("tampered"), "{err}");
        // The next round goes to a new shell.
        kept.run(&Local, &[echo("z")], t, None, &mut execs).unwrap();
        assert_eq!(execs, 2);
    }

    #[test]
    fn a_round_that_times_out_ends_the_shell_and_the_next_round_starts_one() {
        let mut kept = KeptShell::default();
        let mut execs = 0;
        let slow = Probe::argv(["sleep", "30"]).untimed();
        let err = kept.run(&Local, &[slow], Duration::from_secs(1), None, &mut execs);
        assert!(err.is_err() || err.unwrap()[0].is_err());
        let again = kept
            .run(
                &Local,
                &[echo("z")],
                Duration::from_secs(30),
                None,
                &mut execs,
            )
            .unwrap();
        assert_eq!(execs, 2, "a new shell");
        assert_eq!(stdout(&again), ["z\n"]);
    }

    /// A backend whose shell cannot contain what it runs: what leaves a
    /// command's session is reported, not stopped.
    struct Uncontained;

    impl Backend for Uncontained {
        fn start(
            &self,
            argv: &[String],
        ) -> Result<Option<Box<dyn Shell + '_>>, crate::backend::BackendError> {
            // As root, the shell runs as nobody: the sweep then counts only
            // nobody's processes, not the orphans other work of root on this
            // machine makes meanwhile (other tests, a build).
            // SAFETY: geteuid has no preconditions.
            let root = unsafe { libc::geteuid() } == 0;
            let setpriv = std::path::Path::new("/usr/bin/setpriv").exists();
            let mut argv = argv.to_vec();
            if root && setpriv {
                argv.splice(
                    0..0,
                    [
                        "setpriv",
                        "--reuid=65534",
                        "--regid=65534",
                        "--clear-groups",
                        "--",
                    ]
                    .map(String::from),
                );
            }
            crate::backend::local::start_uncontained(&argv)
        }
        fn target(&self) -> String {
            "uncontained".into()
        }
    }

    fn alive(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    }

    fn command(text: &str) -> Probe {
        Probe::argv(["sh", "-c", text]).by_user()
    }

    #[test]
    fn a_round_with_commands_ends_its_shell_and_what_they_left() {
        let t = Duration::from_secs(30);
        let mut execs = 0;
        let mut kept = KeptShell::default();
        // A child that leaves its session, and one that stays in it.
        let left = command(
            "setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $!; sleep 60 </dev/null >/dev/null 2>&1 & echo $!",
        );
        let one = kept
            .run(&Local, &[echo("a"), left], t, None, &mut execs)
            .unwrap();
        let pids = stdout(&one)[1].clone();
        let pids: Vec<&str> = pids.split_whitespace().collect();
        assert_eq!(pids.len(), 2, "{pids:?}");
        for pid in &pids {
            assert!(!alive(pid), "{pid} outlived the round");
        }
        let two = kept.run(&Local, &[echo("b")], t, None, &mut execs).unwrap();
        assert_eq!(stdout(&two), ["b\n"]);
        assert_eq!(
            execs, 2,
            "the round after the commands' has a shell of its own"
        );
    }

    #[test]
    fn what_leaves_a_commands_session_where_nothing_contains_it_makes_later_rounds_errors() {
        let t = Duration::from_secs(30);
        let mut execs = 0;
        // Staying in the session: stopped by the script; no later round is
        // refused for it.
        let mut kept = KeptShell::default();
        let stays = command("sleep 60 </dev/null >/dev/null 2>&1 & echo $!");
        let one = kept
            .run(&Uncontained, &[stays], t, None, &mut execs)
            .unwrap();
        let pid = stdout(&one)[0].trim().to_string();
        std::thread::sleep(Duration::from_millis(100));
        assert!(!alive(&pid), "{pid} outlived the round");
        kept.run(&Uncontained, &[echo("b")], t, None, &mut execs)
            .unwrap();
        // Leaving it: reported, and nothing more is observed.
        let mut kept = KeptShell::default();
        let leaves = command("setsid sleep 5 </dev/null >/dev/null 2>&1 & echo $!");
        let one = kept
            .run(&Uncontained, &[leaves], t, None, &mut execs)
            .unwrap();
        let pid = stdout(&one)[0].trim().to_string();
        let err = kept
            .run(&Uncontained, &[echo("c")], t, None, &mut execs)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("left their session") && err.contains(&pid),
            "{err}"
        );
        let again = kept
            .run(&Uncontained, &[echo("d")], t, None, &mut execs)
            .unwrap_err();
        assert_eq!(again.to_string(), err);
        // SAFETY: kill(2) on the test's own leftover.
        unsafe {
            libc::kill(pid.parse().unwrap(), libc::SIGKILL);
        }
    }
}
