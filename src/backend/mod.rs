//! Backends: the one door to a target.
//!
//! A backend runs an argv with bytes on stdin and returns the exit status,
//! stdout and stderr as bytes. Nothing else: facts, probes and every resource
//! go through [`Backend::exec`], so a resource never knows where it runs.

use std::time::Duration;

use crate::target::Target;

pub mod local;

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

/// Connects to a target.
pub fn connect(target: &Target) -> Result<Box<dyn Backend>, BackendError> {
    match target {
        Target::Local => Ok(Box::new(local::Local)),
        Target::Ssh { .. } => Err(BackendError::Unsupported {
            target: target.to_string(),
            what: "ssh",
        }),
        Target::DockerContainer { .. } | Target::DockerImage { .. } => {
            Err(BackendError::Unsupported {
                target: target.to_string(),
                what: "docker",
            })
        }
    }
}
