//! The local backend: processes on the machine infraspec runs on.

use std::io::Write;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{Backend, BackendError, ExecOutput};

/// Runs commands on this machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

impl Backend for Local {
    fn exec(
        &self,
        argv: &[String],
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<ExecOutput, BackendError> {
        let command = argv.join(" ");
        let fail = |message: String| BackendError::Exec {
            target: "local".into(),
            command: command.clone(),
            message,
        };
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| fail("empty command".into()))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(e.to_string()))?;

        // stdin, stdout and stderr move concurrently so that neither side can
        // block the other on a full pipe.
        let mut child_in = child.stdin.take().expect("piped");
        let input = stdin.to_vec();
        let writer = thread::spawn(move || {
            // A child that exits without reading all of stdin is not an error here.
            let _ = child_in.write_all(&input);
        });
        let mut out_pipe = child.stdout.take().expect("piped");
        let mut err_pipe = child.stderr.take().expect("piped");
        let out_reader =
            thread::spawn(move || super::read_capped(&mut out_pipe, super::EXEC_OUTPUT_CAP));
        let err_reader =
            thread::spawn(move || super::read_capped(&mut err_pipe, super::EXEC_OUTPUT_CAP));

        let started = Instant::now();
        let mut pause = Duration::from_micros(200);
        let status = loop {
            match child.try_wait().map_err(|e| fail(e.to_string()))? {
                Some(status) => break status,
                None if started.elapsed() >= timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(BackendError::Timeout {
                        target: "local".into(),
                        command,
                        after: timeout,
                    });
                }
                None => {
                    thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(5));
                }
            }
        };
        let _ = writer.join();
        let (stdout, cut_out) = out_reader
            .join()
            .expect("reader thread")
            .map_err(|e| fail(format!("reading stdout: {e}")))?;
        let (stderr, cut_err) = err_reader
            .join()
            .expect("reader thread")
            .map_err(|e| fail(format!("reading stderr: {e}")))?;
        Ok(ExecOutput {
            status: status.code(),
            stdout,
            stderr,
            truncated: cut_out || cut_err,
        })
    }

    fn target(&self) -> String {
        "local".into()
    }

    fn forward(&self, host: &str, port: u16) -> Result<super::Forward, super::ForwardError> {
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
    fn a_command_that_hangs_is_stopped() {
        let started = Instant::now();
        let err = Local
            .exec(&argv(&["sleep", "30"]), b"", Duration::from_millis(300))
            .unwrap_err();
        assert!(matches!(err, BackendError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_missing_program_is_an_error() {
        assert!(Local
            .exec(&argv(&["/nonexistent/x"]), b"", Duration::from_secs(1))
            .is_err());
    }
}
