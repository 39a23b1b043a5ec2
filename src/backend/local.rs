//! The local backend: processes on the machine infraspec runs on.

use std::io::Write;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{Backend, BackendError, ExecOutput};

/// Runs commands on this machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

/// How long the pipes may stay open after the shell ended: only a process
/// that escaped the framing (it opened the shell's own stdout) holds them.
const PIPE_GRACE: Duration = Duration::from_millis(500);

/// Sends `signal` to every process of a process group.
fn signal_group(pgid: u32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory
    // is involved.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), signal);
    }
}

/// Stops a process group: TERM first, so that the probe script's trap
/// removes its private directory, then KILL for whatever is left.
fn stop_group(pgid: u32, child: &mut std::process::Child) {
    signal_group(pgid, libc::SIGTERM);
    let asked = Instant::now();
    while asked.elapsed() < Duration::from_millis(200) {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
    signal_group(pgid, libc::SIGKILL);
    let _ = child.wait();
}

/// A command running on this machine, its input open ([`Local::start`]).
struct LocalShell {
    command: String,
    child: std::process::Child,
    pgid: u32,
    /// Input for the writer thread; dropped to close the command's stdin.
    input: Option<std::sync::mpsc::Sender<Vec<u8>>>,
    /// Chunks of stdout (`false`) and stderr (`true`); `None` is a stream's end.
    output: std::sync::mpsc::Receiver<(bool, Option<Vec<u8>>)>,
    /// Streams still open.
    open: u8,
    /// Whether the command ended (or was stopped): nothing more is read.
    ended: bool,
    /// Whether it is a child subreaper, keeping what it runs below it.
    subreaper: bool,
}

impl LocalShell {
    fn fail(&self, message: String) -> BackendError {
        BackendError::Exec {
            target: "local".into(),
            command: self.command.clone(),
            message,
        }
    }
}

impl super::Shell for LocalShell {
    fn round(
        &mut self,
        input: &[u8],
        close: bool,
        timeout: Duration,
        cap: usize,
        done: &dyn Fn(&[u8]) -> bool,
    ) -> Result<ExecOutput, BackendError> {
        use std::sync::mpsc;
        if self.ended {
            return Err(self.fail("the command had ended".into()));
        }
        if let Some(tx) = &self.input {
            if !input.is_empty() {
                // A command that exits without reading its input is not an
                // error here: its output says what happened.
                let _ = tx.send(input.to_vec());
            }
        }
        if close {
            self.input = None;
        }
        let started = Instant::now();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let (mut cut, mut timed_out) = (false, false);
        let mut status = None;
        let mut exited_at: Option<Instant> = None;
        let mut pause = Duration::from_micros(200);
        loop {
            if status.is_none() {
                if let Some(s) = self
                    .child
                    .try_wait()
                    .map_err(|e| self.fail(e.to_string()))?
                {
                    status = Some(s);
                    exited_at = Some(Instant::now());
                }
            }
            if self.open == 0 && status.is_some() {
                break;
            }
            if started.elapsed() >= timeout {
                stop_group(self.pgid, &mut self.child);
                timed_out = true;
                break;
            }
            if exited_at.is_some_and(|t| t.elapsed() >= PIPE_GRACE) {
                signal_group(self.pgid, libc::SIGKILL);
                break;
            }
            match self.output.recv_timeout(pause) {
                Ok((is_err, Some(data))) => {
                    let sink = if is_err { &mut stderr } else { &mut stdout };
                    cut |= super::push_capped(sink, &data, cap);
                    pause = Duration::from_micros(200);
                    if !is_err && done(&stdout) {
                        // The round is complete; the command reads on.
                        return Ok(ExecOutput::going_on(stdout, stderr, cut));
                    }
                }
                Ok((_, None)) => self.open -= 1,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    pause = (pause * 2).min(Duration::from_millis(5))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => self.open = 0,
            }
        }
        self.ended = true;
        self.input = None;
        // What the readers had already passed on still counts.
        while let Ok((is_err, Some(data))) = self.output.try_recv() {
            let sink = if is_err { &mut stderr } else { &mut stdout };
            cut |= super::push_capped(sink, &data, cap);
        }
        Ok(ExecOutput {
            status: if timed_out {
                None
            } else {
                status.and_then(|s| s.code())
            },
            stdout,
            stderr,
            truncated: cut,
            timed_out,
        })
    }

    fn is_open(&self) -> bool {
        !self.ended && self.input.is_some()
    }

    /// The shell is a child subreaper from its start: whatever it runs stays
    /// in its process tree.
    fn contain(&mut self) -> bool {
        self.subreaper && !self.ended
    }

    fn sweep(&mut self) -> bool {
        let all_gone = super::contain::kill_tree(self.pgid);
        self.ended = true;
        self.input = None;
        // Nothing is left below it that could fork: the shell goes last
        // (its round is over and its directory gone: no trap to wait for).
        signal_group(self.pgid, libc::SIGKILL);
        let _ = self.child.wait();
        all_gone
    }
}

impl Drop for LocalShell {
    /// Closes the input; a command that does not end then (or a descendant
    /// that holds its pipes) is stopped.
    fn drop(&mut self) {
        if !self.ended {
            let _ = super::Shell::round(self, &[], true, PIPE_GRACE, 0, &|_| false);
        }
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            stop_group(self.pgid, &mut self.child);
        }
    }
}

/// Starts `argv` here, its input open; a child subreaper when `subreaper`.
fn spawn(
    argv: &[String],
    subreaper: bool,
) -> Result<Option<Box<dyn super::Shell + 'static>>, BackendError> {
    use std::os::unix::process::CommandExt;
    use std::sync::mpsc;
    let command = argv.join(" ");
    let fail = |message: String| BackendError::Exec {
        target: "local".into(),
        command: command.clone(),
        message,
    };
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| fail("empty command".into()))?;
    // Its own process group, so that a timeout stops everything it
    // started; and a child subreaper, so that what it runs stays below
    // it (the orphans of a command that left its session too), for
    // `Shell::sweep` to find.
    let mut command_line = Command::new(program);
    command_line
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: prctl(2) is async-signal-safe and touches no memory of
    // the parent; it runs in the child between fork and exec.
    if subreaper {
        unsafe {
            command_line.pre_exec(|| {
                if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = command_line.spawn().map_err(|e| fail(e.to_string()))?;
    let pgid = child.id();

    // stdin, stdout and stderr move concurrently so that neither side can
    // block the other on a full pipe.
    let mut child_in = child.stdin.take().expect("piped");
    let (input, inputs) = mpsc::channel::<Vec<u8>>();
    thread::spawn(move || {
        for chunk in inputs {
            if child_in.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let (tx, output) = mpsc::channel::<(bool, Option<Vec<u8>>)>();
    let pipes: [(bool, Box<dyn std::io::Read + Send>); 2] = [
        (false, Box::new(child.stdout.take().expect("piped"))),
        (true, Box::new(child.stderr.take().expect("piped"))),
    ];
    for (is_err, mut pipe) in pipes {
        let tx = tx.clone();
        thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.send((is_err, Some(buf[..n].to_vec()))).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
            let _ = tx.send((is_err, None));
        });
    }
    Ok(Some(Box::new(LocalShell {
        command,
        child,
        pgid,
        input: Some(input),
        output,
        open: 2,
        ended: false,
        subreaper,
    })))
}

/// A command started here that is no subreaper, for tests of what holds
/// where a shell cannot contain what it runs.
#[cfg(test)]
pub(crate) fn start_uncontained(
    argv: &[String],
) -> Result<Option<Box<dyn super::Shell + 'static>>, BackendError> {
    spawn(argv, false)
}

impl Backend for Local {
    fn start(&self, argv: &[String]) -> Result<Option<Box<dyn super::Shell + '_>>, BackendError> {
        spawn(argv, true)
    }

    fn side_channel(&self) -> Option<super::inflight::SideChannel> {
        Some(std::sync::Arc::new(|script: &str, limit: Duration| {
            let Ok(mut child) = Command::new("sh")
                .args(["-c", script])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
            else {
                return;
            };
            let started = Instant::now();
            while started.elapsed() < limit {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }))
    }

    fn target(&self) -> String {
        "local".into()
    }

    fn runs_here(&self) -> bool {
        true
    }

    fn forward(
        &self,
        host: &str,
        port: u16,
        _timeout: Duration,
    ) -> Result<super::Forward, super::ForwardError> {
        super::resolve_here(host, port).map(super::Forward::direct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn stdin_stdout_stderr_and_status() {
        let out = Local
            .exec(
                &argv(&["sh", "-c", "cat; echo err >&2; exit 3"]),
                b"hello",
                Duration::from_secs(10),
            )
            .unwrap();
        assert_eq!(
            (out.status, out.stdout.as_slice(), out.stderr.as_slice()),
            (Some(3), &b"hello"[..], &b"err\n"[..])
        );
    }

    #[test]
    fn a_command_that_hangs_is_stopped_with_what_it_printed() {
        let started = Instant::now();
        let out = Local
            .exec(
                &argv(&["sh", "-c", "echo before; sleep 30"]),
                b"",
                Duration::from_millis(500),
            )
            .unwrap();
        assert!(out.timed_out);
        assert_eq!(out.stdout, b"before\n");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_descendant_holding_the_pipes_cannot_keep_the_exec_alive() {
        let started = Instant::now();
        let out = Local
            .exec(
                &argv(&["sh", "-c", "sleep 30 & echo done"]),
                b"",
                Duration::from_secs(60),
            )
            .unwrap();
        assert_eq!(
            (out.status, out.stdout.as_slice()),
            (Some(0), &b"done\n"[..])
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_started_command_answers_round_after_round_on_one_process() {
        let mut sh = Local.start(&argv(&["sh"])).unwrap().unwrap();
        let t = Duration::from_secs(10);
        let line = |out: &[u8]| out.ends_with(b"\n");
        let one = sh.round(b"echo $$\n", false, t, 1 << 20, &line).unwrap();
        assert_eq!((one.status, one.timed_out), (None, false));
        assert!(sh.is_open());
        let two = sh.round(b"echo $$\n", false, t, 1 << 20, &line).unwrap();
        assert_eq!(one.stdout, two.stdout, "the same shell answered");
        let last = sh.round(b"exit 4\n", true, t, 1 << 20, &line).unwrap();
        assert_eq!(last.status, Some(4));
        assert!(!sh.is_open());
        assert!(sh.round(b"", true, t, 1 << 20, &line).is_err());
    }

    #[test]
    fn a_started_command_is_stopped_when_dropped() {
        let started = Instant::now();
        let mut sh = Local
            .start(&argv(&["sh", "-c", "trap '' HUP; sleep 30"]))
            .unwrap()
            .unwrap();
        let out = sh
            .round(b"", false, Duration::from_millis(100), 1 << 20, &|_| false)
            .unwrap();
        assert!(out.timed_out, "the round's time ran out");
        drop(sh);
        // A command that does not end when its input does.
        let sh = Local.start(&argv(&["sleep", "30"])).unwrap().unwrap();
        drop(sh);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_missing_program_is_an_error() {
        assert!(Local
            .exec(&argv(&["/nonexistent/x"]), b"", Duration::from_secs(1))
            .is_err());
    }
}
