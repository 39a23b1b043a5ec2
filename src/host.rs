//! `Host`: the target as plain-Rust checks see it.
//!
//! ```no_run
//! # fn check(host: &infraspec::host::Host) -> infraspec::Result<()> {
//! assert!(host.package("nginx").installed()?);
//! let out = host.run(["nginx", "-v"])?;
//! assert_eq!(out.status, 0);
//! # Ok(()) }
//! ```
//!
//! Every method goes through the same resources and the same batched probes as
//! specs do; facts are gathered once per host.

use std::sync::OnceLock;

use crate::backend::{self, Backend};
use crate::engine;
use crate::error::{Error, Result};
use crate::facts::Facts;
use crate::matcher::Value;
use crate::model::target::Target;
use crate::observe::Session;
use crate::probe::Probe;
use crate::resource::Early;
use crate::spec::{Property, Resource, ResourceKind};

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// The exit status.
    pub status: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A connected target.
pub struct Host {
    target: Target,
    backend: Box<dyn Backend>,
    /// The facts, and whether the target's files answer (nothing runs).
    facts: OnceLock<(Facts, bool)>,
}

impl Host {
    /// Connects to a target (`local`, `ssh://…`, `docker://…`, `docker:image`).
    pub fn connect(target: &Target) -> Result<Host> {
        Ok(Host {
            target: target.clone(),
            backend: backend::connect(target, &Default::default())?,
            facts: OnceLock::new(),
        })
    }

    /// The target this host talks to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The backend, for the engine's batch.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    fn fail(&self, what: &str, message: impl ToString) -> Error {
        Error::Observe {
            target: self.target.to_string(),
            what: what.to_string(),
            message: message.to_string(),
        }
    }

    /// The target's facts, gathered once (from its files where nothing
    /// runs: an image file, a container without a shell).
    pub fn facts(&self) -> Result<&Facts> {
        Ok(&self.opened()?.0)
    }

    fn opened(&self) -> Result<&(Facts, bool)> {
        if let Some(f) = self.facts.get() {
            return Ok(f);
        }
        let session = Session::open(
            self.backend(),
            engine::Options::default().batch_timeout,
            &mut Default::default(),
        )
        .map_err(|e| self.fail("facts", e))?;
        let opened = (session.facts().clone(), session.by_files());
        Ok(self.facts.get_or_init(|| opened))
    }

    /// A session on the target, its facts gathered once.
    fn session(&self) -> Result<Session<'_>> {
        let (facts, by_files) = self.opened()?;
        Ok(Session::resume(self.backend(), facts.clone(), *by_files))
    }

    /// Runs a command as argv (no shell) and returns what it printed.
    pub fn run<I, S>(&self, argv: I) -> Result<CommandOutput>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let probe = Probe::argv(argv);
        let shown = probe.to_string();
        let out = engine::run_batch(
            self.backend(),
            std::slice::from_ref(&probe),
            engine::Options::default().batch_timeout,
            None,
        )
        .map_err(|e| self.fail(&shown, e))?
        .pop()
        .ok_or_else(|| self.fail(&shown, "no result"))?
        .map_err(|e| self.fail(&shown, e))?;
        if out.timed_out || out.truncated() {
            return Err(self.fail(
                &shown,
                if out.timed_out {
                    "timed out and was killed".to_string()
                } else {
                    format!(
                        "printed {} bytes, more than infraspec keeps",
                        out.stdout_len
                    )
                },
            ));
        }
        Ok(CommandOutput {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// One property of one resource. `Ok(None)` when the resource is not there
    /// to have it (the version of a package that is not installed).
    pub fn value(
        &self,
        kind: ResourceKind,
        name: &str,
        property: Property,
    ) -> Result<Option<Value>> {
        let resource = Resource::new(kind, name).map_err(Error::Invalid)?;
        let what = format!("{resource} {property}");
        let mut values = self
            .session()?
            .values(
                &[(resource, property)],
                engine::Options::default().batch_timeout,
            )
            .map_err(|e| self.fail(&what, e))?;
        match values.pop().expect("one value per request") {
            Ok(v) => Ok(Some(v)),
            Err(Early::Fail(_)) => Ok(None),
            Err(Early::Error(e)) | Err(Early::Skip(e)) => Err(self.fail(&what, e)),
        }
    }

    fn boolean(&self, kind: ResourceKind, name: &str, property: Property) -> Result<bool> {
        Ok(matches!(
            self.value(kind, name, property)?,
            Some(Value::Bool(true))
        ))
    }

    fn text(&self, kind: ResourceKind, name: &str, property: Property) -> Result<Option<String>> {
        Ok(self.value(kind, name, property)?.map(|v| match v {
            Value::Text(s) | Value::Version(s, _) => s,
            other => other.to_string(),
        }))
    }

    fn int(&self, kind: ResourceKind, name: &str, property: Property) -> Result<Option<i64>> {
        Ok(self.value(kind, name, property)?.and_then(|v| match v {
            Value::Int(n) => Some(n),
            Value::Mode(m) => Some(m.into()),
            _ => None,
        }))
    }

    fn list(&self, kind: ResourceKind, name: &str, property: Property) -> Result<Vec<String>> {
        Ok(match self.value(kind, name, property)? {
            Some(Value::List(v)) => v,
            _ => Vec::new(),
        })
    }

    /// A package, by name.
    pub fn package<'h>(&'h self, name: &'h str) -> Package<'h> {
        Package(self, name)
    }
    /// A service, by name.
    pub fn service<'h>(&'h self, name: &'h str) -> Service<'h> {
        Service(self, name)
    }
    /// A file, by path.
    pub fn file<'h>(&'h self, path: &'h str) -> File<'h> {
        File(self, path)
    }
    /// A user, by name.
    pub fn user<'h>(&'h self, name: &'h str) -> User<'h> {
        User(self, name)
    }
    /// A port, by number.
    pub fn port(&self, number: u16) -> Port<'_> {
        Port(self, number)
    }
    /// Processes, by command name.
    pub fn process<'h>(&'h self, name: &'h str) -> Process<'h> {
        Process(self, name)
    }
}

/// A package on a [`Host`].
pub struct Package<'h>(&'h Host, &'h str);
impl Package<'_> {
    /// Whether the package is installed.
    pub fn installed(&self) -> Result<bool> {
        self.0
            .boolean(ResourceKind::Package, self.1, Property::Installed)
    }
    /// `None` when it is not installed.
    pub fn version(&self) -> Result<Option<String>> {
        self.0
            .text(ResourceKind::Package, self.1, Property::Version)
    }
}

/// A service on a [`Host`].
pub struct Service<'h>(&'h Host, &'h str);
impl Service<'_> {
    /// Whether the service runs.
    pub fn running(&self) -> Result<bool> {
        self.0
            .boolean(ResourceKind::Service, self.1, Property::Running)
    }
    /// Whether the service starts at boot.
    pub fn enabled(&self) -> Result<bool> {
        self.0
            .boolean(ResourceKind::Service, self.1, Property::Enabled)
    }
}

/// A file on a [`Host`].
pub struct File<'h>(&'h Host, &'h str);
impl File<'_> {
    /// Whether the path exists (links followed).
    pub fn exists(&self) -> Result<bool> {
        self.0.boolean(ResourceKind::File, self.1, Property::Exists)
    }
    /// `None` when it does not exist.
    pub fn mode(&self) -> Result<Option<u32>> {
        Ok(self
            .0
            .int(ResourceKind::File, self.1, Property::Mode)?
            .map(|m| m as u32))
    }
    /// The owner's name, or `None` when the file is not there.
    pub fn owner(&self) -> Result<Option<String>> {
        self.0.text(ResourceKind::File, self.1, Property::Owner)
    }
    /// The file's content, or `None` when the file is not there.
    pub fn content(&self) -> Result<Option<String>> {
        self.0.text(ResourceKind::File, self.1, Property::Content)
    }
}

/// A user on a [`Host`].
pub struct User<'h>(&'h Host, &'h str);
impl User<'_> {
    /// Whether the user exists.
    pub fn exists(&self) -> Result<bool> {
        self.0.boolean(ResourceKind::User, self.1, Property::Exists)
    }
    /// The user's uid, or `None` when the user is not there.
    pub fn uid(&self) -> Result<Option<i64>> {
        self.0.int(ResourceKind::User, self.1, Property::Uid)
    }
    /// The groups the user belongs to.
    pub fn groups(&self) -> Result<Vec<String>> {
        self.0.list(ResourceKind::User, self.1, Property::Groups)
    }
}

/// A port on a [`Host`].
pub struct Port<'h>(&'h Host, u16);
impl Port<'_> {
    /// Whether something listens on the port.
    pub fn listening(&self) -> Result<bool> {
        self.0
            .boolean(ResourceKind::Port, &self.1.to_string(), Property::Listening)
    }
}

/// Processes of one name on a [`Host`].
pub struct Process<'h>(&'h Host, &'h str);
impl Process<'_> {
    /// Whether at least one process runs.
    pub fn running(&self) -> Result<bool> {
        self.0
            .boolean(ResourceKind::Process, self.1, Property::Running)
    }
    /// How many processes run.
    pub fn count(&self) -> Result<i64> {
        Ok(self
            .0
            .int(ResourceKind::Process, self.1, Property::Count)?
            .unwrap_or(0))
    }
}
