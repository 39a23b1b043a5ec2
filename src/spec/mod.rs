//! The check model: what a spec says, independent of YAML or the Rust DSL.
//!
//! A [`Check`] is one resource, one expectation and the options that govern it.
//! A YAML item with three expectations becomes three checks; a DSL `it` or
//! `its` becomes one. Both front ends build the same values, so a spec gives the
//! same outcomes whichever way it is written.

use std::fmt;
use std::time::Duration;

use crate::matcher::{Matcher, Scalar};

pub mod schema;
pub mod vars;
pub mod yaml;

/// The closed set of resources infraspec knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// `package: NAME`: a package in the target's package database (dpkg, rpm, apk, pacman).
    Package,
    /// `service: NAME`: a system service (systemd, OpenRC, SysV), or its init script and processes where no init runs.
    Service,
    /// `port: N`: a TCP or UDP port, as the target's socket table shows it.
    Port,
    /// `file: PATH`: a file, directory, link, socket or device on the target.
    File,
    /// `user: NAME`: an account in the target's user database (`getent passwd`).
    User,
    /// `group: NAME`: a group in the target's group database (`getent group`).
    Group,
    /// `process: NAME`: processes running with this command name.
    Process,
    /// `command: TEXT`: a shell command run on the target: exit status, stdout, stderr.
    Command,
    /// `kernel_param: KEY`: a sysctl value from `/proc/sys`.
    KernelParam,
    /// `kernel_module: NAME`: a loaded kernel module.
    KernelModule,
    /// `mount: PATH`: a mount point and its filesystem, device and options.
    Mount,
    /// `interface: NAME`: a network interface: addresses, MTU, prefix, link state.
    Interface,
    /// `host: NAME`: name resolution and reachability from the target.
    Host,
    /// `http: URL`: an HTTP(S) request made from the target's point of view.
    Http,
    /// `docker_image: REF`: an image's configuration (env, user, ports, labels…).
    DockerImage,
    /// A unix domain socket bound to a path.
    UnixSocket,
    /// An X.509 certificate: a PEM or DER file on the target, or the one a
    /// TLS server presents (`tls://HOST:PORT`).
    Certificate,
}

/// The kind of value a property holds; it decides which matchers fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// true/false: installed, running, listening…
    State,
    /// A whole number: sizes, ids, counts, exit statuses.
    Int,
    /// Text: content, stdout, paths, names.
    Text,
    /// A package version, compared by the package manager's rules.
    Version,
    /// A set of names: use `contains`.
    List,
    /// A permission mode such as `0644`.
    Mode,
    /// file, directory, symlink, socket, pipe, block, char
    FileType,
    /// A JSON value, compared by type (8080 is not "8080"); a YAML list or
    /// mapping is that JSON array or object.
    Json,
}

/// What can be asked of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Property {
    /// `installed`: the package is installed.
    Installed,
    /// `version`: the installed package's version.
    Version,
    /// `running`: the service runs.
    Running,
    /// `enabled`: the service starts at boot.
    Enabled,
    /// `listening`: something listens on the port.
    Listening,
    /// `exists`: the resource is there (file, user, group, process…).
    Exists,
    /// `type`: file, directory, symlink, socket, pipe, block or char.
    Type,
    /// `mode`: the permission bits, e.g. `0644`.
    Mode,
    /// `owner`: the owning user's name (or uid, when given as a number).
    Owner,
    /// `group`: the owning group's name, or a user's primary group.
    Group,
    /// `size`: the size in bytes.
    Size,
    /// `content`: the whole text of a file.
    Content,
    /// `sha256`: the hex SHA-256 of a file's content.
    Sha256,
    /// `link_target`: where a symlink points, as written in the link.
    LinkTarget,
    /// The canonical path a file resolves to, every link followed (realpath).
    ResolvesTo,
    /// `uid`: a user's (or file's) numeric user id.
    Uid,
    /// `gid`: a group's (or file's) numeric group id.
    Gid,
    /// `groups`: every group a user belongs to.
    Groups,
    /// `home`: a user's home directory.
    Home,
    /// `shell`: a user's login shell.
    Shell,
    /// `count`: how many processes match.
    Count,
    /// `user`: the user a process runs as, or the user an image runs as.
    User,
    /// `exit_status`: a command's exit status.
    ExitStatus,
    /// `stdout`: a command's standard output, trailing line breaks removed.
    Stdout,
    /// `stderr`: a command's standard error, trailing line breaks removed.
    Stderr,
    /// `value`: a kernel parameter's value.
    Value,
    /// `loaded`: the kernel module is loaded.
    Loaded,
    /// `filesystem`: a mount's filesystem type.
    Filesystem,
    /// `device`: a mount's source device.
    Device,
    /// `options`: a mount's options.
    Options,
    /// `addresses`: an interface's addresses, or the addresses a port listens on.
    Addresses,
    /// `mtu`: an interface's MTU.
    Mtu,
    /// `resolvable`: the host name resolves on the target.
    Resolvable,
    /// `status`: an HTTP response's status code.
    Status,
    /// `body`: an HTTP response's body.
    Body,
    /// `env`: an image's environment, as `KEY=value` entries.
    Env,
    /// `labels`: an image's labels, as `key=value` entries.
    Labels,
    /// `exposed_ports`: an image's exposed ports, e.g. `80/tcp`.
    ExposedPorts,
    /// `workdir`: an image's working directory.
    Workdir,
    /// `entrypoint`: an image's entrypoint.
    Entrypoint,
    /// `cmd`: an image's command.
    Cmd,
    /// `volumes`: an image's declared volumes.
    Volumes,
    /// `headers`: an HTTP response's headers, as `name: value` entries.
    ResponseHeaders,
    /// `json`: the value at `json_path` in a JSON (or YAML) document.
    Json,
    /// `location`: an HTTP redirect's target.
    Location,
    /// `response_time`: an HTTP response's time, in milliseconds.
    ResponseTime,
    /// `md5`: the hex MD5 of a file's content.
    Md5,
    /// `executable`: the checking user may execute the file.
    Executable,
    /// `readable`: the checking user may read the file.
    Readable,
    /// `writable`: the checking user may write the file.
    Writable,
    /// `mtime`: a file's modification time, in seconds since the epoch.
    Mtime,
    /// `gecos`: a user's GECOS (comment) field.
    Gecos,
    /// `members`: a group's listed members.
    Members,
    /// `args`: the command lines of matching processes.
    Args,
    /// `reachable`: the host (or its `port`) answers from the target.
    Reachable,
    /// `ipv4`: the IPv4 addresses a host name resolves to.
    Ipv4,
    /// `ipv6`: the IPv6 addresses a host name resolves to.
    Ipv6,
    /// `masked`: the systemd unit is masked.
    Masked,
    /// `prefix`: an interface's prefix lengths, as `ADDRESS/LEN`.
    Prefix,
    /// `up`: the interface's link is up.
    Up,
    /// `valid`: the certificate is within its validity period.
    Valid,
    /// `expires_in_days`: whole days until the certificate expires.
    ExpiresInDays,
    /// `subject`: the certificate's subject.
    Subject,
    /// `issuer`: the certificate's issuer.
    Issuer,
    /// `sans`: the certificate's subject alternative names.
    Sans,
}

use Property as P;

impl ResourceKind {
    /// Every resource kind, in the order the reference lists them.
    pub const ALL: [ResourceKind; 17] = [
        ResourceKind::Package,
        ResourceKind::Service,
        ResourceKind::Port,
        ResourceKind::File,
        ResourceKind::User,
        ResourceKind::Group,
        ResourceKind::Process,
        ResourceKind::Command,
        ResourceKind::KernelParam,
        ResourceKind::KernelModule,
        ResourceKind::Mount,
        ResourceKind::Interface,
        ResourceKind::Host,
        ResourceKind::Http,
        ResourceKind::DockerImage,
        ResourceKind::UnixSocket,
        ResourceKind::Certificate,
    ];

    /// The key in YAML and the word in check names.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Package => "package",
            ResourceKind::Service => "service",
            ResourceKind::Port => "port",
            ResourceKind::File => "file",
            ResourceKind::User => "user",
            ResourceKind::Group => "group",
            ResourceKind::Process => "process",
            ResourceKind::Command => "command",
            ResourceKind::KernelParam => "kernel_param",
            ResourceKind::KernelModule => "kernel_module",
            ResourceKind::Mount => "mount",
            ResourceKind::Interface => "interface",
            ResourceKind::Host => "host",
            ResourceKind::Http => "http",
            ResourceKind::DockerImage => "docker_image",
            ResourceKind::UnixSocket => "unix_socket",
            ResourceKind::Certificate => "certificate",
        }
    }

    /// The kind a spec key names (`package`, `kernel_param`…), if any.
    pub fn from_key(key: &str) -> Option<ResourceKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == key)
    }

    /// Keys that qualify an expectation or a request rather than being one.
    pub fn qualifiers(self) -> &'static [&'static str] {
        match self {
            ResourceKind::Port => &["protocol", "address"],
            ResourceKind::File | ResourceKind::Command => &["json_path"],
            ResourceKind::Host => &["port"],
            ResourceKind::Http => &[
                "method",
                "headers",
                "request_body",
                "auth",
                "follow_redirects",
                "insecure",
                "ca",
                "from",
                "json_path",
            ],
            _ => &[],
        }
    }

    /// The expectation a check with no expectation asserts.
    pub fn default_expectation(self) -> (Property, Matcher) {
        let state = |p| (p, Matcher::Eq(Scalar::Bool(true)));
        match self {
            ResourceKind::Package => state(P::Installed),
            ResourceKind::Service | ResourceKind::Process => state(P::Running),
            ResourceKind::Port => state(P::Listening),
            ResourceKind::File
            | ResourceKind::User
            | ResourceKind::Group
            | ResourceKind::KernelParam
            | ResourceKind::Mount
            | ResourceKind::Interface
            | ResourceKind::DockerImage => state(P::Exists),
            ResourceKind::KernelModule => state(P::Loaded),
            ResourceKind::UnixSocket => state(P::Listening),
            ResourceKind::Certificate => state(P::Valid),
            ResourceKind::Command => (P::ExitStatus, Matcher::Eq(Scalar::Int(0))),
            ResourceKind::Host => state(P::Resolvable),
            ResourceKind::Http => (
                P::Status,
                Matcher::AllOf(vec![
                    Matcher::Compare(crate::matcher::Cmp::Ge, 200.0),
                    Matcher::Compare(crate::matcher::Cmp::Le, 399.0),
                ]),
            ),
        }
    }

    /// The kind of `property` on this resource, if it has it.
    pub fn property_kind(self, property: Property) -> Option<ValueKind> {
        self.properties()
            .iter()
            .find(|(p, _)| *p == property)
            .map(|(_, k)| *k)
    }

    /// Whether resource names must not look like command-line options: they are
    /// handed as arguments to tools such as getent, systemctl or id.
    fn name_is_argument(self) -> bool {
        !matches!(
            self,
            ResourceKind::Command | ResourceKind::File | ResourceKind::Mount | ResourceKind::Http
        )
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Property {
    /// Every property, in declaration order.
    pub const ALL: [Property; 65] = [
        P::Installed,
        P::Version,
        P::Running,
        P::Enabled,
        P::Listening,
        P::Exists,
        P::Type,
        P::Mode,
        P::Owner,
        P::Group,
        P::Size,
        P::Content,
        P::Sha256,
        P::LinkTarget,
        P::ResolvesTo,
        P::Uid,
        P::Gid,
        P::Groups,
        P::Home,
        P::Shell,
        P::Count,
        P::User,
        P::ExitStatus,
        P::Stdout,
        P::Stderr,
        P::Value,
        P::Loaded,
        P::Filesystem,
        P::Device,
        P::Options,
        P::Addresses,
        P::Mtu,
        P::Resolvable,
        P::Status,
        P::Body,
        P::Env,
        P::Labels,
        P::ExposedPorts,
        P::Workdir,
        P::Entrypoint,
        P::Cmd,
        P::Volumes,
        P::ResponseHeaders,
        P::Json,
        P::Location,
        P::ResponseTime,
        P::Md5,
        P::Executable,
        P::Readable,
        P::Writable,
        P::Mtime,
        P::Gecos,
        P::Members,
        P::Args,
        P::Reachable,
        P::Ipv4,
        P::Ipv6,
        P::Masked,
        P::Prefix,
        P::Up,
        P::Valid,
        P::ExpiresInDays,
        P::Subject,
        P::Issuer,
        P::Sans,
    ];

    /// The property's spec key (`exit_status`, `expires_in_days`…).
    pub fn as_str(self) -> &'static str {
        match self {
            P::Installed => "installed",
            P::Version => "version",
            P::Running => "running",
            P::Enabled => "enabled",
            P::Listening => "listening",
            P::Exists => "exists",
            P::Type => "type",
            P::Mode => "mode",
            P::Owner => "owner",
            P::Group => "group",
            P::Size => "size",
            P::Content => "content",
            P::Sha256 => "sha256",
            P::LinkTarget => "link_target",
            P::ResolvesTo => "resolves_to",
            P::Uid => "uid",
            P::Gid => "gid",
            P::Groups => "groups",
            P::Home => "home",
            P::Shell => "shell",
            P::Count => "count",
            P::User => "user",
            P::ExitStatus => "exit_status",
            P::Stdout => "stdout",
            P::Stderr => "stderr",
            P::Value => "value",
            P::Loaded => "loaded",
            P::Filesystem => "filesystem",
            P::Device => "device",
            P::Options => "options",
            P::Addresses => "addresses",
            P::Mtu => "mtu",
            P::Resolvable => "resolvable",
            P::Status => "status",
            P::Body => "body",
            P::Env => "env",
            P::Labels => "labels",
            P::ExposedPorts => "exposed_ports",
            P::Workdir => "workdir",
            P::Entrypoint => "entrypoint",
            P::Cmd => "cmd",
            P::Volumes => "volumes",
            P::ResponseHeaders => "response_headers",
            P::Json => "json",
            P::Location => "location",
            P::ResponseTime => "response_time",
            P::Md5 => "md5",
            P::Executable => "executable",
            P::Readable => "readable",
            P::Writable => "writable",
            P::Mtime => "mtime",
            P::Gecos => "gecos",
            P::Members => "members",
            P::Args => "args",
            P::Reachable => "reachable",
            P::Ipv4 => "ipv4",
            P::Ipv6 => "ipv6",
            P::Masked => "masked",
            P::Prefix => "prefix",
            P::Up => "up",
            P::Valid => "valid",
            P::ExpiresInDays => "expires_in_days",
            P::Subject => "subject",
            P::Issuer => "issuer",
            P::Sans => "sans",
        }
    }

    /// The property a spec key names, if any.
    pub fn from_key(key: &str) -> Option<Property> {
        Self::ALL.into_iter().find(|p| p.as_str() == key)
    }

    /// The words for a true state: "be installed", "exist".
    fn state_words(self) -> (&'static str, &'static str) {
        match self {
            P::Exists => ("exist", "not exist"),
            P::Installed => ("be installed", "not be installed"),
            P::Running => ("be running", "not be running"),
            P::Enabled => ("be enabled", "not be enabled"),
            P::Listening => ("be listening", "not be listening"),
            P::Loaded => ("be loaded", "not be loaded"),
            P::Resolvable => ("be resolvable", "not be resolvable"),
            P::Executable => ("be executable", "not be executable"),
            P::Readable => ("be readable", "not be readable"),
            P::Writable => ("be writable", "not be writable"),
            P::Reachable => ("be reachable", "not be reachable"),
            P::Masked => ("be masked", "not be masked"),
            P::Up => ("be up", "not be up"),
            P::Valid => ("be valid", "not be valid"),
            _ => ("be true", "be false"),
        }
    }

    /// How a state reads when found: "installed", "not running".
    pub fn state_found(self, b: bool) -> String {
        let (yes, _) = self.state_words();
        let word = yes.strip_prefix("be ").unwrap_or(match yes {
            "exist" => "present",
            other => other,
        });
        if b {
            word.to_string()
        } else {
            format!("not {word}")
        }
    }
}

/// The one table of which resource has which property, of which kind:
/// hands its rows to the macro named (`Kind: Property => ValueKind, …;`).
/// [`ResourceKind::properties`] (what the YAML loader, the schema and the
/// docs' check read) and the DSL's marker types (`infraspec::dsl`) are both
/// made from it.
macro_rules! with_property_table {
    ($($m:ident)::+) => {
        $($m)::+! {
            Package: Installed => State, Version => Version;
            Service: Running => State, Enabled => State, Masked => State;
            Port: Listening => State;
            File: Exists => State, Type => FileType, Mode => Mode, Owner => Text, Group => Text,
                Size => Int, Content => Text, Sha256 => Text, LinkTarget => Text,
                ResolvesTo => Text, Md5 => Text, Uid => Int, Gid => Int, Executable => State,
                Readable => State, Writable => State, Mtime => Int, Json => Json;
            User: Exists => State, Uid => Int, Gid => Int, Groups => List, Home => Text,
                Shell => Text, Group => Text, Gecos => Text;
            Group: Exists => State, Gid => Int, Members => List;
            Process: Running => State, Count => Int, User => List, Args => Text;
            Command: ExitStatus => Int, Stdout => Text, Stderr => Text, Json => Json;
            KernelParam: Exists => State, Value => Text;
            KernelModule: Loaded => State;
            Mount: Exists => State, Filesystem => Text, Device => Text, Options => List;
            Interface: Exists => State, Addresses => List, Mtu => Int, Prefix => List,
                Up => State;
            Host: Resolvable => State, Addresses => List, Ipv4 => List, Ipv6 => List,
                Reachable => State;
            Http: Status => Int, Body => Text, ResponseHeaders => List, Json => Json,
                Location => Text, ResponseTime => Int;
            DockerImage: Exists => State, Env => List, Labels => List, ExposedPorts => List,
                User => Text, Workdir => Text, Entrypoint => List, Cmd => List, Volumes => List;
            UnixSocket: Listening => State;
            Certificate: Valid => State, ExpiresInDays => Int, Subject => Text, Issuer => Text,
                Sans => List;
        }
    };
}
pub(crate) use with_property_table;

/// Makes [`ResourceKind::properties`] from the property table.
macro_rules! properties_of_kinds {
    ($($kind:ident: $($property:ident => $value:ident),+;)+) => {
        impl ResourceKind {
            /// The properties this resource has, with their kinds.
            pub fn properties(self) -> &'static [(Property, ValueKind)] {
                match self {
                    $(ResourceKind::$kind => &[$((Property::$property, ValueKind::$value)),+],)+
                }
            }
        }
    };
}
with_property_table!(properties_of_kinds);

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protocols a port can listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP over IPv4.
    Tcp,
    /// TCP over IPv6.
    Tcp6,
    /// UDP over IPv4.
    Udp,
    /// UDP over IPv6.
    Udp6,
}

impl Protocol {
    /// The protocol's spec name (`tcp`, `udp6`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Tcp6 => "tcp6",
            Protocol::Udp => "udp",
            Protocol::Udp6 => "udp6",
        }
    }
    /// A protocol from its spec name.
    pub fn parse(s: &str) -> Option<Protocol> {
        Some(match s {
            "tcp" => Protocol::Tcp,
            "tcp6" => Protocol::Tcp6,
            "udp" => Protocol::Udp,
            "udp6" => Protocol::Udp6,
            _ => return None,
        })
    }
}

/// A resource on a target: its kind and its name (a package name, a path, a
/// port number, a command line…).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resource {
    /// Which kind of resource this is.
    pub kind: ResourceKind,
    /// Its name: a package name, a path, a port number, a command, a URL…
    pub name: String,
}

impl Resource {
    /// Validates the name for the kind: names are data and are refused when they
    /// could not mean a real resource (NUL bytes, option-like names, relative
    /// paths, `..` in kernel parameters).
    pub fn new(kind: ResourceKind, name: impl Into<String>) -> Result<Resource, String> {
        let name = name.into();
        if name.is_empty() {
            return Err(format!("{kind} name is empty"));
        }
        if name.contains('\0') {
            return Err(format!("{kind} name {name:?} contains a NUL byte"));
        }
        if kind.name_is_argument() && name.starts_with('-') {
            return Err(format!("{kind} name {name:?} must not start with '-'"));
        }
        match kind {
            ResourceKind::Port => match name.parse::<u16>() {
                Ok(n) if n > 0 => {}
                _ => return Err(format!("port {name:?} is not a number from 1 to 65535")),
            },
            ResourceKind::Service if name.contains('/') => {
                return Err(format!("service name {name:?} must not contain '/'"));
            }
            ResourceKind::Http
                if !(name.starts_with("http://") || name.starts_with("https://"))
                    || name.contains(char::is_whitespace) =>
            {
                return Err(format!("http {name:?} is not an http:// or https:// URL"));
            }
            ResourceKind::Certificate if name.starts_with("tls://") => {
                let hostport = &name["tls://".len()..];
                let ok = hostport
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
                if !ok || hostport.contains(['/', ' ']) {
                    return Err(format!(
                        "certificate {name:?} is not a path or tls://HOST:PORT"
                    ));
                }
            }
            ResourceKind::File
            | ResourceKind::Mount
            | ResourceKind::UnixSocket
            | ResourceKind::Certificate
                if !name.starts_with('/') =>
            {
                return Err(format!(
                    "{kind} path {name:?} must be absolute (start with '/')"
                ));
            }
            ResourceKind::DockerImage if !is_image_reference(&name) => {
                return Err(format!(
                    "docker_image {name:?} is not an image reference ([registry/]name[:tag][@digest], \
                     lowercase path components)"
                ));
            }
            ResourceKind::KernelParam | ResourceKind::KernelModule | ResourceKind::Interface => {
                let ok = name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-/:@".contains(&b))
                    && !name.split(['.', '/']).any(|part| part == "..")
                    && !name.contains("..");
                if !ok || name.starts_with('/') {
                    return Err(format!(
                        "{kind} name {name:?} may hold only letters, digits and _ . - / : @"
                    ));
                }
            }
            _ => {}
        }
        Ok(Resource { kind, name })
    }
}

/// An image reference as the distribution reference grammar (Docker's and
/// podman's) allows it: `[host[:port]/]path[:tag][@algorithm:hex]`. Anything
/// else would reach the engine's API as a path (`../containers/x`, `x/json?`).
pub fn is_image_reference(text: &str) -> bool {
    static GRAMMAR: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = GRAMMAR.get_or_init(|| {
        let domain_component = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?";
        let domain = format!(
            r"(?:{domain_component}(?:\.{domain_component})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
        );
        let path_component = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
        let tag = r"[\w][\w.-]{0,127}";
        let digest = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
        regex::Regex::new(&format!(
            r"\A(?:{domain}/)?{path_component}(?:/{path_component})*(?::{tag})?(?:@{digest})?\z"
        ))
        .expect("the reference grammar compiles")
    });
    text.len() <= 512 && re.is_match(text)
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == ResourceKind::Http {
            return write!(
                f,
                "{} {}",
                self.kind,
                crate::model::target::redact_url(&self.name)
            );
        }
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// A qualifier on `listening`: which protocol and local address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Listen {
    /// `port`: which protocol to look at (any, when absent).
    pub protocol: Option<Protocol>,
    /// `port`: which local address must be listening (any, when absent).
    pub address: Option<String>,
}

/// Where an HTTP request is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum From {
    /// The target's point of view: `localhost` is the target.
    #[default]
    Target,
    /// The machine that runs infraspec.
    Runner,
}

/// Qualifiers of an `http` request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Request {
    /// GET unless said.
    pub method: Option<String>,
    /// `http`: request headers, in order.
    pub headers: Vec<(String, String)>,
    /// `http`: the request body.
    pub body: Option<String>,
    /// `user:password` for basic authentication.
    pub auth: Option<String>,
    /// Follow redirects (the default), or report the first response.
    pub follow_redirects: Option<bool>,
    /// Skip TLS verification.
    pub insecure: bool,
    /// A PEM bundle of CAs to trust, on the machine that runs infraspec.
    pub ca: Option<String>,
    /// `http`: where the request is made from (the target, or the runner).
    pub from: From,
    /// For `json`: the path into the body, `.items[0].name` (also for `file`
    /// content and `command` stdout).
    pub json_path: Option<crate::model::document::JsonPath>,
    /// For `host … reachable`: the TCP port to connect to.
    pub port: Option<u16>,
}

/// One expectation on a resource's property.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// What is asked of the resource.
    pub property: Property,
    /// What its value must be.
    pub matcher: Matcher,
    /// For `listening` only.
    pub listen: Listen,
    /// For `http` only.
    pub request: Request,
    /// For `process` only: the other expectations of the same item on one
    /// process (`user`, `args`). This one is judged on the processes that
    /// meet them all, so that the properties of one check hold for one and
    /// the same process (`count` counts the processes that meet all).
    pub same_process: Vec<(Property, Matcher)>,
}

impl Expectation {
    /// An expectation that `property` fits `matcher`.
    pub fn new(property: Property, matcher: Matcher) -> Self {
        Expectation {
            property,
            matcher,
            listen: Listen::default(),
            request: Request::default(),
            same_process: Vec::new(),
        }
    }

    /// The expectation in words, after "should": "be installed", "be owned by
    /// \"root\"", "content should contain \"x\"" reads as the property first.
    pub fn phrase(&self) -> String {
        use crate::matcher::Matcher as M;
        let mut s = match (&self.matcher, self.property) {
            (M::Eq(Scalar::Bool(b)), p) if p.state_words().0 != "be true" => {
                let (yes, no) = p.state_words();
                format!("should {}", if *b { yes } else { no })
            }
            (M::Eq(Scalar::Str(t)), P::Type) => format!("should be {}", article(t)),
            (M::Eq(m), P::Mode) => format!("should be mode {}", m.to_string().trim_matches('"')),
            (M::Eq(Scalar::Str(o)), P::Owner) => format!("should be owned by {o}"),
            (M::Eq(Scalar::Str(g)), P::Group) => format!("should be grouped into {g}"),
            (M::Not(inner), p) => format!("{p} should not {inner}"),
            (m, p) => format!("{p} should {m}"),
        };
        let r = &self.request;
        if let Some(m) = &r.method {
            s.push_str(&format!(" ({m})"));
        }
        if let Some(path) = &r.json_path {
            s = s.replacen("json should", &format!("json {path} should"), 1);
        }
        if r.from == From::Runner {
            s.push_str(" from the runner");
        }
        if let Some(port) = r.port {
            s.push_str(&format!(" on port {port}"));
        }
        let Listen { protocol, address } = &self.listen;
        if let Some(proto) = protocol {
            s.push_str(&format!(" with {}", proto.as_str()));
        }
        if let Some(addr) = address {
            s.push_str(&format!(" on {addr}"));
        }
        for (i, (p, m)) in self.same_process.iter().enumerate() {
            let joint = if i == 0 { ", where" } else { " and" };
            s.push_str(&format!("{joint} {p} should {m}"));
        }
        s
    }
}

impl Expectation {
    /// The phrase without the expected value: states stay as they are
    /// (`should be running`), values become "match a hidden value".
    pub fn hidden_phrase(&self) -> String {
        use crate::matcher::Matcher as M;
        match &self.matcher {
            M::Eq(Scalar::Bool(_)) => self.phrase(),
            M::Not(_) => format!("{} should not match a hidden value", self.property),
            _ => format!("{} should match a hidden value", self.property),
        }
    }
}

fn article(file_type: &str) -> String {
    crate::model::file::FileType::named(file_type)
        .map_or_else(|| file_type.to_string(), |t| t.article().to_string())
}

/// `only_if`: facts a target must have for the check to run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OnlyIf {
    /// OS id or family (`debian` matches Debian and Ubuntu).
    pub os: Option<String>,
    /// Only on containers (`true`) or only off them (`false`).
    pub container: Option<bool>,
    /// Only on this CPU architecture (`x86_64`, `aarch64`…).
    pub arch: Option<String>,
    /// Only under this init system (`systemd`, `openrc`, `sysv`, `none`).
    pub init: Option<String>,
}

/// `eventually`: re-observe until the expectation holds or time runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eventually {
    /// How long to keep trying before the check fails.
    pub timeout: Duration,
    /// How long to wait between tries.
    pub interval: Duration,
}

impl Default for Eventually {
    /// 30 seconds, every second.
    fn default() -> Self {
        Eventually {
            timeout: Duration::from_secs(30),
            interval: Duration::from_secs(1),
        }
    }
}

/// Options that govern how and whether a check runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckOptions {
    /// A title shown instead of the generated name.
    pub title: Option<String>,
    /// Tags, for `--tags` selection.
    pub tags: Vec<String>,
    /// Skip the check, with this reason.
    pub skip: Option<String>,
    /// Skip the check on containers, which share the host's kernel and clock.
    pub skip_in_container: Option<bool>,
    /// Conditions on the target's facts; the check is skipped where they do not hold.
    pub only_if: OnlyIf,
    /// Retry until the check passes or the time is up.
    pub eventually: Option<Eventually>,
    /// For commands (and http): how long it may run.
    pub timeout: Option<Duration>,
    /// Hide expected and found values in every report.
    pub sensitive: bool,
    /// Where the check holds values of sensitive variables: never printed,
    /// each shown as `***` where it was put in.
    pub secrets: Secrets,
    /// For command output and file content: the most bytes judged; more is
    /// an error, never a judgement on a part. Default 4 MiB.
    pub max_output: Option<u64>,
    /// The author said `literal: true`: a `contains` whose text looks like a
    /// pattern means that text (no warning).
    pub literal_contains: bool,
}

/// The values of sensitive variables a check holds, and where: each text of
/// its spec item that one was put in, as it was expanded and as it is shown
/// (`***` where each value went). A check's own texts (its name, its
/// messages, the commands that observed it) are shown through
/// [`Secrets::mask`]; nothing else is touched, so text that merely equals a
/// secret elsewhere in a report is left as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Secrets {
    /// (expanded, shown) for each text a sensitive value was put in.
    pub texts: Vec<(String, String)>,
    /// The values themselves.
    pub values: Vec<String>,
}

impl Secrets {
    /// Whether the check holds none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Adds another's.
    pub fn extend(&mut self, other: Secrets) {
        for t in other.texts {
            if !self.texts.contains(&t) {
                self.texts.push(t);
            }
        }
        for v in other.values {
            if !v.is_empty() && !self.values.contains(&v) {
                self.values.push(v);
            }
        }
    }

    /// A text made of the check's own (its name, its resource): each text a
    /// secret was put in, shown as written with `***` for the secret. Where
    /// nothing says where the secrets went (the DSL's `var`), each value
    /// wherever it is.
    pub fn mask_own(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_string();
        }
        if self.texts.is_empty() {
            return crate::spec::vars::redact(text, &self.values);
        }
        let mut texts: Vec<&(String, String)> = self.texts.iter().collect();
        texts.sort_by_key(|(expanded, _)| std::cmp::Reverse(expanded.len()));
        let mut out = text.to_string();
        for (expanded, shown) in texts.into_iter().filter(|(e, _)| !e.is_empty()) {
            out = out.replace(expanded.as_str(), shown);
        }
        out
    }

    /// A text that may hold what came back from the target about the check
    /// (an error quoting a command's output, the commands that observed
    /// it): [`Secrets::mask_own`], then any value that is still there.
    pub fn mask(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_string();
        }
        crate::spec::vars::redact(&self.mask_own(text), &self.values)
    }
}

/// Where a check was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The spec file's name.
    pub file: String,
    /// The line of the check, from 1.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One check: a resource, one expectation, and its options.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What is checked.
    pub resource: Resource,
    /// What it must be.
    pub expectation: Expectation,
    /// Conditions, retries and presentation.
    pub options: CheckOptions,
    /// Where it was written; not part of what the check means.
    pub origin: Option<Origin>,
    /// The name a report gave it, for checks read back from a JSON report
    /// (`infraspec merge`), whose meaning is not in the report.
    #[doc(hidden)]
    pub reported_name: Option<String>,
}

impl Check {
    /// A check with default options.
    pub fn new(resource: Resource, expectation: Expectation) -> Self {
        Check {
            resource,
            expectation,
            options: CheckOptions::default(),
            origin: None,
            reported_name: None,
        }
    }

    /// The check's name in every report: `package nginx should be installed`.
    /// A `sensitive` check's expected value stays out of its name.
    pub fn name(&self) -> String {
        if let Some(name) = &self.reported_name {
            return name.clone();
        }
        let phrase = if self.options.sensitive {
            self.expectation.hidden_phrase()
        } else {
            self.expectation.phrase()
        };
        let auto = format!("{} {phrase}", self.resource);
        let name = match &self.options.title {
            Some(title) => format!("{title}: {auto}"),
            None => auto,
        };
        self.options.secrets.mask_own(&name)
    }

    /// The resource as reports show it: `package nginx`, with `***` where a
    /// sensitive value was put in its name.
    pub fn resource_shown(&self) -> String {
        self.options.secrets.mask_own(&self.resource.to_string())
    }

    /// Whether two checks mean the same thing (ignores where they were written).
    pub fn same_as(&self, other: &Check) -> bool {
        self.resource == other.resource
            && self.expectation == other.expectation
            && self.options == other.options
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_propertys_key_is_its_name_in_snake_case() {
        for p in Property::ALL {
            let mut key = String::new();
            for (i, c) in format!("{p:?}").chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    key.push('_');
                }
                key.push(c.to_ascii_lowercase());
            }
            assert_eq!(p.as_str(), key);
        }
    }

    #[test]
    fn every_property_belongs_to_a_resource_and_the_docs_list_each_resources_properties() {
        for p in Property::ALL {
            assert!(
                ResourceKind::ALL
                    .iter()
                    .any(|k| k.property_kind(p).is_some()),
                "{p} is on no resource"
            );
        }
        // docs/specs.md's resource table: `| `kind` | default | properties | how |`.
        let docs = include_str!("../../docs/specs.md");
        for kind in ResourceKind::ALL {
            let row = docs
                .lines()
                .find(|l| l.starts_with(&format!("| `{kind}` |")))
                .unwrap_or_else(|| panic!("docs/specs.md has no row for {kind}"));
            let cells: Vec<&str> = row.split(" | ").collect();
            // The property names, without what parentheses say of them.
            let mut depth = 0;
            let names: String = cells[2]
                .split(';')
                .next()
                .unwrap_or_default()
                .chars()
                .filter(|c| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => return depth == 0,
                    }
                    false
                })
                .collect();
            let listed: std::collections::BTreeSet<&str> =
                names.split('`').skip(1).step_by(2).collect();
            let table: std::collections::BTreeSet<&str> =
                kind.properties().iter().map(|(p, _)| p.as_str()).collect();
            assert_eq!(listed, table, "docs/specs.md's row for {kind}");
        }
    }
    use crate::matcher::dsl::*;

    fn check(kind: ResourceKind, name: &str, p: Property, m: Matcher) -> String {
        Check::new(Resource::new(kind, name).unwrap(), Expectation::new(p, m)).name()
    }

    #[test]
    fn names_read_like_serverspec() {
        use ResourceKind as R;
        assert_eq!(
            check(R::Package, "nginx", P::Installed, eq(true)),
            "package nginx should be installed"
        );
        assert_eq!(
            check(R::Service, "nginx", P::Running, eq(false)),
            "service nginx should not be running"
        );
        assert_eq!(
            check(R::File, "/etc/x", P::Owner, eq("root")),
            "file /etc/x should be owned by root"
        );
        assert_eq!(
            check(R::File, "/etc/x", P::Mode, eq("0644")),
            "file /etc/x should be mode 0644"
        );
        assert_eq!(
            check(R::File, "/etc/x", P::Content, contain("a").negate()),
            "file /etc/x content should not contain \"a\""
        );
        assert_eq!(
            check(R::File, "/etc/x", P::Exists, eq(true)),
            "file /etc/x should exist"
        );
        assert_eq!(
            check(R::Package, "nginx", P::Version, match_regex(r"^1\.22")),
            r"package nginx version should match /^1\.22/"
        );
    }

    #[test]
    fn hostile_names_are_refused_where_they_cannot_be_real() {
        use ResourceKind as R;
        assert!(Resource::new(R::Package, "--force").is_err());
        assert!(Resource::new(R::User, "a\0b").is_err());
        assert!(Resource::new(R::File, "etc/passwd").is_err());
        assert!(Resource::new(R::KernelParam, "../../etc/shadow").is_err());
        assert!(Resource::new(R::Port, "70000").is_err());
        assert!(Resource::new(R::Port, "0").is_err());
        for bad in [
            "../containers/x",
            "%2e%2e/x",
            "name/json?",
            "Upper",
            "a//b",
            "a:b:c",
            "x@sha256:12",
        ] {
            assert!(Resource::new(R::DockerImage, bad).is_err(), "{bad}");
        }
        for good in [
            "nginx",
            "nginx:1.25",
            "library/nginx:1.25-alpine",
            "registry.local:5000/team/app:v1.2.3",
            "infraspec-test/debian:12",
            "localhost/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "[::1]:5000/app",
        ] {
            assert!(Resource::new(R::DockerImage, good).is_ok(), "{good}");
        }
        // Names with shell metacharacters are data, not errors: they are quoted.
        assert!(Resource::new(R::Package, "$(touch /tmp/x);`id`").is_ok());
        assert!(Resource::new(R::File, "/tmp/it's \"here\"\n$(x)").is_ok());
    }
}

/// Warnings about checks that load but probably do not mean what they say:
/// a `contains` whose text looks like a pattern (`contains` is literal, as
/// it is not in serverspec and testinfra, where it is a grep pattern).
pub fn lint(checks: &[Check]) -> Vec<String> {
    fn walk<'m>(m: &'m crate::matcher::Matcher, found: &mut Vec<&'m str>) {
        use crate::matcher::Matcher as M;
        match m {
            M::Contains(s) if looks_like_pattern(s) => found.push(s),
            M::Not(inner) => walk(inner, found),
            M::AllOf(all) | M::AnyOf(all) => all.iter().for_each(|m| walk(m, found)),
            _ => {}
        }
    }
    let mut warnings = Vec::new();
    for check in checks.iter().filter(|c| !c.options.literal_contains) {
        let mut found = Vec::new();
        walk(&check.expectation.matcher, &mut found);
        for text in found {
            let at = check
                .origin
                .as_ref()
                .map(|o| format!("{o}: "))
                .unwrap_or_default();
            warnings.push(format!(
                "{at}`contains` is literal, and {text:?} looks like a pattern; for a pattern use `matches` ({})",
                check.name()
            ));
        }
    }
    warnings
}

/// Text that reads as a regular expression: `^…`, `…$`, `.*`, `[…]`.
pub fn looks_like_pattern(text: &str) -> bool {
    text.starts_with('^')
        || (text.ends_with('$') && !text.ends_with("\\$"))
        || text.contains(".*")
        || text
            .find('[')
            .is_some_and(|open| text[open..].contains(']'))
}

#[cfg(test)]
mod lint_tests {
    #[test]
    fn pattern_like_contains_is_flagged_and_plain_text_is_not() {
        for p in ["^PermitRootLogin", "yes$", "worker.*auto", "[0-9]+"] {
            assert!(super::looks_like_pattern(p), "{p}");
        }
        for t in ["worker_processes", "cost: $5", "a.b", "x]y["] {
            assert!(!super::looks_like_pattern(t), "{t}");
        }
        let load = |text: &str| crate::spec::yaml::load_str(text, "s.yaml");
        let checks = load(
            "checks:\n  - file: /etc/ssh/sshd_config\n    content: {contains: '^PermitRootLogin yes'}\n  - file: /etc/motd\n    content: {contains: hello}\n",
        )
        .unwrap();
        let warnings = super::lint(&checks);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("s.yaml:2: `contains` is literal"),
            "{warnings:?}"
        );
        // Under `not`, such a check could never fail: a load error, unless
        // the author says the text is meant.
        let negated = load(
            "checks:\n  - file: /etc/ssh/sshd_config\n    content: {not: {contains: '^PermitRootLogin yes'}}\n",
        )
        .unwrap_err();
        assert_eq!(negated.0[0].line, 3, "{negated}");
        assert!(negated.0[0].message.contains("literal: true"), "{negated}");
        let nested = load(
            "checks:\n  - command: echo\n    stdout: {not: {any_of: [{contains: x}, {contains: 'a.*b'}]}}\n",
        );
        assert!(nested.is_err());
        let said = load(
            "checks:\n  - file: /etc/motd\n    content: {not: {contains: '[x]', literal: true}}\n  - file: /etc/motd\n    content: {contains: '^x', literal: true}\n",
        )
        .unwrap();
        assert!(super::lint(&said).is_empty());
        let stray =
            load("checks:\n  - file: /etc/motd\n    content: {matches: x, literal: true}\n");
        assert!(stray
            .unwrap_err()
            .to_string()
            .contains("goes with `contains`"));
    }
}
