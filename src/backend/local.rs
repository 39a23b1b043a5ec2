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

impl Backend for Local {
    fn exec(
        &self,
        argv: &[String],
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<ExecOutput, BackendError> {
        self.exec_capped(argv, stdin, timeout, super::EXEC_OUTPUT_CAP)
    }

    fn exec_capped(
        &self,
        argv: &[String],
        stdin: &[u8],
        timeout: Duration,
        cap: usize,
    ) -> Result<ExecOutput, BackendError> {
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
        // Its own process group, so that a timeout stops everything it started.
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| fail(e.to_string()))?;
        let pgid = child.id();

        // stdin, stdout and stderr move concurrently so that neither side can
        // block the other on a full pipe.
        let mut child_in = child.stdin.take().expect("piped");
        let input = stdin.to_vec();
        thread::spawn(move || {
            // A child that exits without reading all of stdin is not an error here.
            let _ = child_in.write_all(&input);
        });
        let (tx, rx) = mpsc::channel::<(bool, Option<Vec<u8>>)>();
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
        drop(tx);

        let started = Instant::now();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let (mut open, mut cut, mut timed_out) = (2, false, false);
        let mut status = None;
        let mut exited_at: Option<Instant> = None;
        let mut pause = Duration::from_micros(200);
        loop {
            if status.is_none() {
                if let Some(s) = child.try_wait().map_err(|e| fail(e.to_string()))? {
                    status = Some(s);
                    exited_at = Some(Instant::now());
                }
            }
            if open == 0 && status.is_some() {
                break;
            }
            if started.elapsed() >= timeout {
                stop_group(pgid, &mut child);
                timed_out = true;
                break;
            }
            if exited_at.is_some_and(|t| t.elapsed() >= PIPE_GRACE) {
                signal_group(pgid, libc::SIGKILL);
                break;
            }
            match rx.recv_timeout(pause) {
                Ok((is_err, Some(data))) => {
                    let sink = if is_err { &mut stderr } else { &mut stdout };
                    cut |= super::push_capped(sink, &data, cap);
                    pause = Duration::from_micros(200);
                }
                Ok((_, None)) => open -= 1,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    pause = (pause * 2).min(Duration::from_millis(5))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => open = 0,
            }
        }
        // What the readers had already passed on still counts.
        while let Ok((is_err, Some(data))) = rx.try_recv() {
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
    fn a_missing_program_is_an_error() {
        assert!(Local
            .exec(&argv(&["/nonexistent/x"]), b"", Duration::from_secs(1))
            .is_err());
    }
}
