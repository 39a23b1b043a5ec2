//! Backends: the one door to a target.
//!
//! A backend runs an argv with bytes on stdin and returns the exit status,
//! stdout and stderr as bytes. Nothing else: facts, probes and every resource
//! go through [`Backend::exec`], so a resource never knows where it runs.

use std::time::Duration;

use crate::target::Target;

pub mod local;
pub mod ssh;
pub mod ssh_config;

/// What one exec returned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOutput {
    /// The exit status; `None` when the process was ended by a signal.
    pub status: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Why a target could not be reached or a command not run on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error("failed to connect to {target}: {message}")]
    Connect { target: String, message: String },
    #[error("failed to run `{command}` on {target}: {message}")]
    Exec {
        target: String,
        command: String,
        message: String,
    },
    #[error("`{command}` on {target} did not finish within {}s and was stopped", .after.as_secs())]
    Timeout {
        target: String,
        command: String,
        after: Duration,
    },
    #[error("{target}: {what} targets are not supported yet (their issue is open)")]
    Unsupported { target: String, what: &'static str },
}

/// A way to run commands on a target.
pub trait Backend: Send + Sync {
    /// Runs `argv` with `stdin`, for at most `timeout`.
    fn exec(
        &self,
        argv: &[String],
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<ExecOutput, BackendError>;

    /// The target, as the user wrote it.
    fn target(&self) -> String;
}

/// How to connect, beyond what the target string says.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Trust and record unknown SSH host keys (`--ssh-accept-new`).
    pub ssh_accept_new: bool,
}

/// Connects to a target.
pub fn connect(target: &Target, opts: &ConnectOptions) -> Result<Box<dyn Backend>, BackendError> {
    match target {
        Target::Local => Ok(Box::new(local::Local)),
        Target::Ssh {
            user,
            host,
            port,
            options,
        } => Ok(Box::new(ssh::Ssh::connect(
            &target.to_string(),
            user.as_deref(),
            host,
            *port,
            options,
            opts.ssh_accept_new,
        )?)),
        Target::DockerContainer { .. } | Target::DockerImage { .. } => {
            Err(BackendError::Unsupported {
                target: target.to_string(),
                what: "docker",
            })
        }
    }
}
