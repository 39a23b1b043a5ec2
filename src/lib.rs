//! # infraspec
//!
//! Behaviour tests for machines: is the package installed, is the service
//! running, does the port listen, does the file say what it should. One spec
//! runs unchanged against the local machine, an SSH host, a running container
//! or a container image.
//!
//! Checks are plain values ([`Check`]): a resource, one expectation and
//! options. They come from YAML specs ([`spec::yaml`]) or from Rust. The
//! [`engine`] runs them with a fixed number of round trips per target: one batch
//! of fixed probes learns the target's [`Facts`], one batch runs every probe of
//! every check, and pure code judges each check from the answers.
//!
//! ```no_run
//! use infraspec::prelude::*;
//!
//! let checks = infraspec::spec::yaml::load_str(
//!     "checks:\n  - file: /etc/passwd\n    mode: '0644'\n  - user: root\n    uid: 0\n",
//!     "inline.yaml",
//! ).expect("valid spec");
//! let reports = infraspec::engine::run_targets(&[Target::Local], &checks, &Options::default());
//! assert_eq!(infraspec::report::exit_code(&reports), 0);
//! ```
//!
//! A check never calls the target itself: every resource declares what it
//! needs, the engine batches those needs into probes (one `stat` for all files,
//! one package list for all packages), and names from a spec reach the target
//! only as single-quoted arguments, never as shell text.
//!
//! The rest of this page is the manual of the Rust DSL. The YAML spec format,
//! the targets and the CLI are described in the repository's `docs/` pages
//! and README.
//!
#![doc = include_str!("../docs/dsl.md")]
#![warn(missing_docs)]

#[doc(hidden)]
pub mod add;
#[doc(hidden)]
pub mod backend;
pub mod dsl;
pub mod engine;
pub mod error;
pub mod facts;
#[doc(hidden)]
pub mod harness;
pub mod host;
#[doc(hidden)]
pub mod inventory;
pub mod judge;
pub mod matcher;
pub mod model;
pub mod observe;
#[doc(hidden)]
pub mod probe;
pub mod report;
#[doc(hidden)]
pub mod resource;
#[doc(hidden)]
pub mod rules;
pub mod serve;
pub mod spec;
pub mod textfile;
pub use model::target;
#[cfg(test)]
mod testing;
#[doc(hidden)]
pub mod version;

pub use engine::{CheckResult, Options, Outcome, TargetReport};
pub use error::{Error, Result};
pub use facts::Facts;
pub use harness::{var, var_or};
pub use infraspec_macros::{spec, test};
pub use spec::{Check, Expectation, Property, Resource, ResourceKind};
pub use target::Target;

/// What spec authors and library users need in scope: the DSL's matchers
/// (`be_installed`, `contain`, `be_listening().with(Protocol::Tcp)`…), `Host`
/// for plain-Rust checks, and the model types.
pub mod prelude {
    pub use crate::dsl::{
        be_directory, be_enabled, be_file, be_ge, be_grouped_into, be_gt, be_installed, be_le,
        be_listening, be_loaded, be_lt, be_mode, be_one_of, be_owned_by, be_pipe, be_resolvable,
        be_running, be_socket, be_symlink, be_version, contain, end_with, eq, exist, match_regex,
        start_with, Fits,
    };
    pub use crate::engine::{Options, Outcome};
    pub use crate::host::Host;
    pub use crate::matcher::{Matcher, Scalar, Value};
    pub use crate::model::target::Target;
    pub use crate::spec::{Check, Expectation, Property, Protocol, Resource, ResourceKind};
}

/// What `spec!` expands to reaches the library only through here.
#[doc(hidden)]
pub mod __private {
    pub use crate::dsl::{props, res};
    pub use crate::harness::{
        describe_done, duration, it, its, resource, run_main, with_request, Custom,
    };
    pub use crate::spec::{CheckOptions, Eventually, From, Request};
}
