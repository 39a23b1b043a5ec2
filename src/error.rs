//! The library's error type, for plain-Rust checks and library users.

use crate::backend::BackendError;
use crate::model::target::TargetError;

/// What can go wrong when a [`Host`](crate::host::Host) is asked something.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    /// A target that could not be parsed.
    Target(#[from] TargetError),
    #[error(transparent)]
    /// A backend that could not connect or run.
    Backend(#[from] BackendError),
    /// The target could not be observed (a probe failed, the script stopped).
    #[error("failed to observe {what} on {target}: {message}")]
    Observe {
        /// The target.
        target: String,
        /// What was being observed.
        what: String,
        /// What went wrong.
        message: String,
    },
    /// A resource name that cannot be real (`--force` as a package…).
    #[error("{0}")]
    Invalid(String),
    /// An expectation of a plain-Rust check did not hold.
    #[error("{0}")]
    Check(String),
}

/// `Result` with infraspec's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
