//! `ssh_config` read as OpenSSH's client reads it (readconf.c in OpenSSH 9):
//! the user's file then `/etc/ssh/ssh_config` (or the one `-F` names), each
//! line's keyword case-insensitive, `Key value` or `Key=value`, quotes,
//! comments at the start of a word; the first value given for a keyword wins
//! (identity files add up); `Host` patterns (`*`, `?`, `!`) matched against
//! the name as written, `Match` with `all`, `host`, `originalhost`, `user`,
//! `localuser`, `canonical` and `final` (a second pass, against the resolved
//! name), `!` and comma lists; `Include` with globs, relative to `~/.ssh` (or
//! `/etc/ssh` for the system file), its files' `Match` state kept inside them;
//! the `%` tokens and `~` of OpenSSH where it expands them.
//!
//! What changes where or how infraspec connects and that it cannot honour
//! (`CertificateFile`, `Match exec`, `StrictHostKeyChecking no`, ...) is an
//! error naming the file and line; keywords that change neither the route nor
//! the host key check are read and left alone ([`IGNORED`]); a keyword
//! OpenSSH does not know is an error, as it is for OpenSSH, unless
//! `IgnoreUnknown` names it.
//!
//! Our own reader rather than a crate: the crates on offer drop `Match`,
//! `Include` or the first-value-wins rule, and a different reading sends a
//! check to another machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::model::glob::wildcard;

/// Which files are read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ConfigFile {
    /// `~/.ssh/config`, then the system file.
    #[default]
    Default,
    /// Only this file (`ssh -F FILE`).
    File(PathBuf),
    /// None (`ssh -F none`).
    Nothing,
}

impl ConfigFile {
    /// The `ssh_config` option of a target (or `--ssh-config`): `none`, or a
    /// file (`~/` is the home directory).
    pub fn named(value: &str, home: &Path) -> ConfigFile {
        if value.eq_ignore_ascii_case("none") {
            ConfigFile::Nothing
        } else if let Some(rest) = value.strip_prefix("~/") {
            ConfigFile::File(home.join(rest))
        } else {
            ConfigFile::File(PathBuf::from(value))
        }
    }
}

/// What a connection asks the config about.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    /// The host as the user wrote it (an alias, maybe).
    pub host: &'a str,
    /// The user the target names (`user@host`): it wins over `User`.
    pub user: Option<&'a str>,
    /// The port the target names: it wins over `Port`.
    pub port: Option<u16>,
    pub file: ConfigFile,
    /// The home directory (`~`, `%d`, `~/.ssh/config`).
    pub home: &'a Path,
    /// The local user (`%u`, `Match localuser`, the default `User`).
    pub local_user: &'a str,
    /// The system-wide file, `/etc/ssh/ssh_config` ([`SYSTEM_CONFIG`]).
    pub system_file: &'a Path,
}

/// OpenSSH's system-wide client config.
pub const SYSTEM_CONFIG: &str = "/etc/ssh/ssh_config";

/// How the host is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proxy {
    /// A TCP connection of infraspec's own.
    Direct,
    /// Through these SSH hosts (`ProxyJump`): `[user@]host[:port]`, comma
    /// separated, the first hop first.
    Jump(String),
    /// A command whose stdin and stdout carry the connection
    /// (`ProxyCommand`), as written: its tokens are expanded when it runs.
    Command(String),
}

/// The address family `AddressFamily` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    #[default]
    Any,
    Inet,
    Inet6,
}

/// What the config resolves for one host: every setting infraspec uses, with
/// OpenSSH's defaults where the config is silent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The host connected to: `HostName` with `%h` expanded, else the name
    /// given; lowercased, as OpenSSH does.
    pub host_name: String,
    /// The name as the user wrote it (`%n`).
    pub original_host: String,
    pub user: String,
    pub port: u16,
    /// `IdentityFile`s as written (`ssh -G` prints them so), or OpenSSH's
    /// default files; [`Resolved::expand`] makes paths of them.
    pub identity_files: Vec<String>,
    /// Whether the identity files are the config's rather than the defaults.
    pub identity_files_given: bool,
    /// `UserKnownHostsFile`s, expanded.
    pub user_known_hosts_files: Vec<PathBuf>,
    /// `GlobalKnownHostsFile`s, as OpenSSH uses them (not expanded).
    pub global_known_hosts_files: Vec<String>,
    /// `StrictHostKeyChecking` as `ssh -G` prints it: `true`, `ask` or
    /// `accept-new` (`false` is refused).
    pub strict_host_key_checking: String,
    /// `ConnectTimeout`, in seconds.
    pub connect_timeout: Option<u64>,
    pub proxy: Proxy,
    pub address_family: Family,
    /// `IdentityAgent none` turns the agent off.
    pub use_agent: bool,
    /// `IdentitiesOnly yes`: the agent's keys are not offered.
    pub identities_only: bool,
}

/// A config file that cannot be read as OpenSSH reads it, or that asks for
/// what infraspec cannot do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

/// How many `Include`s deep a config may go (OpenSSH's READCONF_MAX_DEPTH).
const MAX_DEPTH: usize = 16;
/// A config file larger than this is refused.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// OpenSSH keywords that change neither where infraspec connects nor how the
/// host key is checked: read (and checked for their arguments' quoting) and
/// not applied. docs/targets.md lists them.
pub const IGNORED: &[&str] = &[
    "addkeystoagent",
    "batchmode",
    "canonicaldomains",
    "canonicalizefallbacklocal",
    "canonicalizemaxdots",
    "canonicalizepermittedcnames",
    "casignaturealgorithms",
    "challengeresponseauthentication",
    "channeltimeout",
    "checkhostip",
    "cipher",
    "ciphers",
    "clearallforwardings",
    "compression",
    "compressionlevel",
    "connectionattempts",
    "controlmaster",
    "controlpath",
    "controlpersist",
    "dsaauthentication",
    "dynamicforward",
    "enableescapecommandline",
    "enablesshkeysign",
    "escapechar",
    "exitonforwardfailure",
    "fallbacktorsh",
    "fingerprinthash",
    "forkafterauthentication",
    "forwardagent",
    "forwardx11",
    "forwardx11timeout",
    "forwardx11trusted",
    "gatewayports",
    "globalknownhostsfile2",
    "gssapiauthentication",
    "gssapidelegatecredentials",
    "hashknownhosts",
    "hostbasedacceptedalgorithms",
    "hostbasedauthentication",
    "hostbasedkeytypes",
    "hostkeyalgorithms",
    "ipqos",
    "kbdinteractiveauthentication",
    "kbdinteractivedevices",
    "keepalive",
    "kexalgorithms",
    "kerberosauthentication",
    "localcommand",
    "localforward",
    "loglevel",
    "logverbose",
    "macs",
    "numberofpasswordprompts",
    "obscurekeystroketiming",
    "passwordauthentication",
    "permitlocalcommand",
    "permitremoteopen",
    "preferredauthentications",
    "protocol",
    "pubkeyacceptedalgorithms",
    "pubkeyacceptedkeytypes",
    "pubkeyauthentication",
    "rekeylimit",
    "remotecommand",
    "remoteforward",
    "requesttty",
    "requiredrsasize",
    "rhostsauthentication",
    "rhostsrsaauthentication",
    "rsaauthentication",
    "securitykeyprovider",
    "sendenv",
    "serveralivecountmax",
    "serveraliveinterval",
    "sessiontype",
    "setenv",
    "skeyauthentication",
    "stdinnull",
    "streamlocalbindmask",
    "streamlocalbindunlink",
    "syslogfacility",
    "tag",
    "tcpkeepalive",
    "tisauthentication",
    "tunnel",
    "tunneldevice",
    "updatehostkeys",
    "useprivilegedport",
    "useroaming",
    "userknownhostsfile2",
    "usersh",
    "verifyhostkeydns",
    "visualhostkey",
    "xauthlocation",
];

/// Keywords infraspec applies, or refuses when set to what it cannot honour.
const READ: &[&str] = &[
    "host",
    "match",
    "include",
    "hostname",
    "user",
    "port",
    "identityfile",
    "identityfile2",
    "userknownhostsfile",
    "globalknownhostsfile",
    "stricthostkeychecking",
    "connecttimeout",
    "proxyjump",
    "proxycommand",
    "ignoreunknown",
    "addressfamily",
    "identityagent",
    "identitiesonly",
    // Refused unless off (see `refusal`).
    "certificatefile",
    "pkcs11provider",
    "smartcarddevice",
    "canonicalizehostname",
    "hostkeyalias",
    "bindaddress",
    "bindinterface",
    "proxyusefdpass",
    "knownhostscommand",
    "nohostauthenticationforlocalhost",
    "revokedhostkeys",
];

/// OpenSSH's default identity files, in the order it tries them.
const DEFAULT_IDENTITIES: &[&str] = &[
    "~/.ssh/id_rsa",
    "~/.ssh/id_ecdsa",
    "~/.ssh/id_ecdsa_sk",
    "~/.ssh/id_ed25519",
    "~/.ssh/id_ed25519_sk",
    "~/.ssh/id_xmss",
    "~/.ssh/id_dsa",
];

/// Why a line failed: its own fault, or that of a file it includes.
enum Fail {
    Here(String),
    Inner(ConfigError),
}

impl From<String> for Fail {
    fn from(m: String) -> Fail {
        Fail::Here(m)
    }
}

impl From<&str> for Fail {
    fn from(m: &str) -> Fail {
        Fail::Here(m.to_string())
    }
}

/// A value and the line that set it.
#[derive(Debug, Clone)]
struct Set<T> {
    value: T,
    file: PathBuf,
    line: usize,
}

/// What the lines read so far set, first value first.
#[derive(Debug, Default)]
struct Settings {
    host_name: Option<String>,
    user: Option<String>,
    port: Option<u16>,
    /// (as written, from a user file): OpenSSH drops a file given twice.
    identity_files: Vec<(String, bool)>,
    user_known_hosts: Option<Vec<String>>,
    global_known_hosts: Option<Vec<String>>,
    strict: Option<Set<String>>,
    connect_timeout: Option<Option<u64>>,
    proxy_jump: Option<String>,
    proxy_command: Option<String>,
    address_family: Option<Family>,
    identity_agent: Option<Set<String>>,
    identities_only: Option<bool>,
    ignore_unknown: Option<String>,
    /// Keywords infraspec cannot honour, with their first value.
    refused: BTreeMap<&'static str, Set<String>>,
}

/// `Include`d files are read as the file that includes them is: a user file's
/// relative paths are under `~/.ssh`, the system file's under `/etc/ssh`.
#[derive(Debug, Clone, Copy)]
struct Flags {
    user_file: bool,
    check_perm: bool,
    never_match: bool,
}

struct Reader<'q> {
    q: &'q Query<'q>,
    final_pass: bool,
    want_final: bool,
    /// The name `Host` and `Match host` look at: the name given on the
    /// first pass, the resolved one on the final pass.
    host: String,
    s: Settings,
}

/// Reads the config files for `q` as OpenSSH does.
pub fn resolve(q: &Query) -> Result<Resolved, ConfigError> {
    let mut r = Reader {
        q,
        final_pass: false,
        want_final: false,
        host: q.host.to_string(),
        s: Settings {
            user: q.user.map(str::to_string),
            port: q.port,
            ..Settings::default()
        },
    };
    r.read_all()?;
    // The name as OpenSSH goes on with it: HostName with %h put in, in
    // lowercase.
    let expanded = match &r.s.host_name {
        Some(h) => expand_host_name(h, q.host).map_err(|m| ConfigError {
            file: PathBuf::from("HostName"),
            line: None,
            message: m,
        })?,
        None => q.host.to_string(),
    };
    let host_name = expanded.to_ascii_lowercase();
    if r.want_final {
        r.final_pass = true;
        r.host = host_name.clone();
        r.s.host_name = Some(host_name.clone());
        r.read_all()?;
    }
    r.finish(host_name)
}

impl Reader<'_> {
    fn read_all(&mut self) -> Result<(), ConfigError> {
        let q = self.q;
        match &q.file {
            ConfigFile::Nothing => Ok(()),
            ConfigFile::File(f) => {
                let flags = Flags {
                    user_file: true,
                    check_perm: false,
                    never_match: false,
                };
                if !self.read_file(f, flags, &mut true, 0)? {
                    return Err(ConfigError {
                        file: f.clone(),
                        line: None,
                        message: "no such file (named as the SSH config)".into(),
                    });
                }
                Ok(())
            }
            ConfigFile::Default => {
                let user_file = q.home.join(".ssh/config");
                let flags = Flags {
                    user_file: true,
                    check_perm: true,
                    never_match: false,
                };
                self.read_file(&user_file, flags, &mut true, 0)?;
                let flags = Flags {
                    user_file: false,
                    check_perm: false,
                    never_match: false,
                };
                self.read_file(q.system_file, flags, &mut true, 0)?;
                Ok(())
            }
        }
    }

    /// Reads one file; false when it does not exist.
    fn read_file(
        &mut self,
        file: &Path,
        flags: Flags,
        active: &mut bool,
        depth: usize,
    ) -> Result<bool, ConfigError> {
        let err = |line: Option<usize>, message: String| ConfigError {
            file: file.to_path_buf(),
            line,
            message,
        };
        if depth > MAX_DEPTH {
            return Err(err(None, "too many nested Includes".into()));
        }
        let meta = match std::fs::metadata(file) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(err(None, format!("cannot be read: {e}"))),
        };
        if flags.check_perm {
            use std::os::unix::fs::MetadataExt;
            // SAFETY: getuid cannot fail.
            let me = unsafe { libc::getuid() };
            if (meta.uid() != 0 && meta.uid() != me) || meta.mode() & 0o022 != 0 {
                return Err(err(
                    None,
                    "bad owner or permissions (OpenSSH refuses it too: it must be yours or root's, and writable by no one else)".into(),
                ));
            }
        }
        let text = crate::textfile::read(file, MAX_FILE_BYTES)
            .map_err(|e| err(None, format!("cannot be read: {e}")))?;
        for (n, line) in text.split('\n').enumerate() {
            match self.line(line, file, n + 1, flags, active, depth) {
                Ok(()) => {}
                Err(Fail::Here(m)) => return Err(err(Some(n + 1), m)),
                Err(Fail::Inner(e)) => return Err(e),
            }
        }
        Ok(true)
    }

    fn line(
        &mut self,
        raw: &str,
        file: &Path,
        number: usize,
        flags: Flags,
        active: &mut bool,
        depth: usize,
    ) -> Result<(), Fail> {
        let Some(line) = split_line(raw)? else {
            return Ok(());
        };
        if line.keyword != "include" {
            return Ok(self.setting(line, file, number, flags, active)?);
        }
        let args = line.args;
        for arg in &args {
            if arg.starts_with('~') && !flags.user_file {
                return Err(Fail::Here(format!(
                    "Include {arg}: a system file's Include may not start with ~"
                )));
            }
            let pattern = if arg.starts_with('/') || arg.starts_with('~') {
                arg.clone()
            } else if flags.user_file {
                format!("~/.ssh/{arg}")
            } else {
                format!("/etc/ssh/{arg}")
            };
            let pattern = match pattern.strip_prefix("~/") {
                Some(rest) => self.q.home.join(rest).to_string_lossy().into_owned(),
                None if pattern.starts_with('~') => {
                    return Err(Fail::Here(format!(
                        "Include {arg}: ~user paths are not read (write the path out)"
                    )))
                }
                None => pattern,
            };
            let was = *active;
            for found in crate::textfile::glob(Path::new("/"), &pattern) {
                let inner = Flags {
                    check_perm: true,
                    never_match: flags.never_match || !was,
                    ..flags
                };
                self.read_file(&found, inner, active, depth + 1)
                    .map_err(Fail::Inner)?;
                // A Match in the included file does not change the
                // including file's state.
                *active = was;
            }
        }
        Ok(())
    }

    /// A line other than Include.
    fn setting(
        &mut self,
        Line {
            keyword,
            written,
            rest,
            args,
        }: Line,
        file: &Path,
        number: usize,
        flags: Flags,
        active: &mut bool,
    ) -> Result<(), String> {
        let at = |value: String| Set {
            value,
            file: file.to_path_buf(),
            line: number,
        };
        let one = |args: &[String]| -> Result<String, String> {
            match args {
                [a] if !a.is_empty() => Ok(a.clone()),
                [] | [_] => Err(format!("{keyword} without a value")),
                _ => Err(format!("{keyword} takes one value, not {}", args.len())),
            }
        };
        let on = *active;
        let s = &mut self.s;
        match keyword.as_str() {
            "host" => {
                *active = false;
                if flags.never_match {
                    return Ok(());
                }
                for p in &args {
                    if p.is_empty() {
                        return Err("an empty Host pattern".into());
                    }
                    let (negated, p) = match p.strip_prefix('!') {
                        Some(p) => (true, p),
                        None => (false, p.as_str()),
                    };
                    if wildcard(p, &self.host) {
                        if negated {
                            *active = false;
                            break;
                        }
                        *active = true;
                    }
                }
            }
            "match" => {
                let matched = self.match_line(&args)?;
                *active = !flags.never_match && matched;
            }
            "hostname" => {
                let v = one(&args)?;
                first(on, &mut s.host_name, v);
            }
            "user" => {
                let v = one(&args)?;
                first(on, &mut s.user, v);
            }
            "port" => {
                let v = one(&args)?;
                let port = parse_port(&v).ok_or_else(|| format!("Port {v:?} is not a port"))?;
                first(on, &mut s.port, port);
            }
            "identityfile" | "identityfile2" => {
                let v = one(&args)?;
                let entry = (v, flags.user_file);
                if on && !s.identity_files.contains(&entry) {
                    s.identity_files.push(entry);
                }
            }
            "userknownhostsfile" | "globalknownhostsfile" => {
                if args.is_empty() {
                    return Err(format!("{keyword} without a value"));
                }
                if args.iter().any(|a| a.eq_ignore_ascii_case("none")) && args.len() > 1 {
                    return Err(format!("{keyword} none must stand alone"));
                }
                let slot = if keyword == "userknownhostsfile" {
                    &mut s.user_known_hosts
                } else {
                    &mut s.global_known_hosts
                };
                let files = if args[0].eq_ignore_ascii_case("none") {
                    Vec::new()
                } else {
                    args.clone()
                };
                first(on, slot, files);
            }
            "stricthostkeychecking" => {
                let v = one(&args)?.to_ascii_lowercase();
                let v = match v.as_str() {
                    "yes" | "true" => "true",
                    "no" | "off" | "false" => "false",
                    "ask" => "ask",
                    "accept-new" => "accept-new",
                    _ => {
                        return Err(format!(
                            "StrictHostKeyChecking {v:?} is not a value OpenSSH takes"
                        ))
                    }
                };
                first(on, &mut s.strict, at(v.into()));
            }
            "connecttimeout" => {
                let v = one(&args)?;
                let t = if v.eq_ignore_ascii_case("none") {
                    None
                } else {
                    Some(
                        parse_time(&v)
                            .ok_or_else(|| format!("ConnectTimeout {v:?} is not a time"))?,
                    )
                };
                first(on, &mut s.connect_timeout, t);
            }
            "proxycommand" => {
                if rest.trim().is_empty() {
                    return Err("ProxyCommand without a command".into());
                }
                let command = rest.trim_start_matches([' ', '\t', '=']).to_string();
                // A ProxyJump sets ProxyCommand none; ProxyJump none does
                // not (OpenSSH 9 reads it so).
                first(on, &mut s.proxy_command, command);
            }
            "proxyjump" => {
                if args.first().is_none_or(|a| a.is_empty()) {
                    return Err("ProxyJump without a host".into());
                }
                let raw = rest.trim_start_matches([' ', '\t', '=']);
                let value = raw.split('#').next().unwrap_or("").trim().to_string();
                if !value.eq_ignore_ascii_case("none") {
                    for hop in value.split(',') {
                        super::ssh::parse_hop(hop).map_err(|e| format!("ProxyJump: {e}"))?;
                    }
                }
                if on && s.proxy_command.is_none() && s.proxy_jump.is_none() {
                    if value.eq_ignore_ascii_case("none") {
                        s.proxy_jump = Some(String::new());
                    } else {
                        s.proxy_jump = Some(value);
                        // As OpenSSH: a ProxyJump sets ProxyCommand none.
                        s.proxy_command = Some("none".into());
                    }
                }
            }
            "ignoreunknown" => {
                let v = one(&args)?;
                first(on, &mut s.ignore_unknown, v);
            }
            "addressfamily" => {
                let v = one(&args)?;
                let f = match v.to_ascii_lowercase().as_str() {
                    "any" => Family::Any,
                    "inet" => Family::Inet,
                    "inet6" => Family::Inet6,
                    _ => return Err(format!("AddressFamily {v:?} is not any, inet or inet6")),
                };
                first(on, &mut s.address_family, f);
            }
            "identityagent" => {
                let v = one(&args)?;
                first(on, &mut s.identity_agent, at(v));
            }
            "identitiesonly" => {
                let v = one(&args)?;
                let b =
                    yes_no(&v).ok_or_else(|| format!("IdentitiesOnly {v:?} is not yes or no"))?;
                first(on, &mut s.identities_only, b);
            }
            k => {
                if let Some(refused) = READ.iter().find(|r| **r == k) {
                    if args.is_empty() {
                        return Err(format!("{keyword} without a value"));
                    }
                    if on {
                        s.refused.entry(refused).or_insert(at(args.join(" ")));
                    }
                } else if !IGNORED.contains(&k)
                    && !s.ignore_unknown.as_deref().is_some_and(|p| {
                        pattern_list(&k.to_ascii_lowercase(), p, true) == Some(true)
                    })
                {
                    return Err(format!(
                        "{written} is not an OpenSSH keyword (OpenSSH refuses it too; IgnoreUnknown {written} before it lets both pass)"
                    ));
                }
            }
        }
        Ok(())
    }

    /// A `Match` line's criteria, all of which must hold.
    fn match_line(&mut self, args: &[String]) -> Result<bool, String> {
        let q = self.q;
        let mut result = true;
        let mut attributes = 0;
        let mut it = args.iter().peekable();
        // The name `host` looks at on the first pass: HostName (with %h) if
        // set yet, else the name given.
        let host = if self.final_pass {
            self.host.clone()
        } else {
            match &self.s.host_name {
                Some(h) => expand_host_name(h, q.host)?,
                None => self.host.clone(),
            }
        };
        let ruser = self
            .s
            .user
            .clone()
            .unwrap_or_else(|| q.local_user.to_string());
        while let Some(attr) = it.next() {
            let (negate, name) = match attr.strip_prefix('!') {
                Some(n) => (true, n),
                None => (false, attr.as_str()),
            };
            let name = name.to_ascii_lowercase();
            if name == "all" {
                if attributes > 1 || it.peek().is_some() {
                    return Err(format!(
                        "Match {attr} cannot be combined with other criteria"
                    ));
                }
                return Ok(result && !negate);
            }
            attributes += 1;
            if name == "canonical" || name == "final" {
                if name == "final" {
                    self.want_final = true;
                }
                if self.final_pass == negate {
                    result = false;
                }
                continue;
            }
            let arg = match it.next() {
                Some(a) if !a.is_empty() => a,
                _ => return Err(format!("Match {attr} without its patterns")),
            };
            let r = match name.as_str() {
                "host" => pattern_list(&host.to_ascii_lowercase(), arg, true) == Some(true),
                "originalhost" => {
                    pattern_list(&q.host.to_ascii_lowercase(), arg, true) == Some(true)
                }
                "user" => pattern_list(&ruser, arg, false) == Some(true),
                "localuser" => pattern_list(q.local_user, arg, false) == Some(true),
                "exec" | "localnetwork" => {
                    if !result {
                        // OpenSSH does not look at it once the line failed.
                        continue;
                    }
                    return Err(format!(
                        "Match {name} is not followed by infraspec (it would run a command or read the local network to choose a host's settings); write Host or Match host blocks instead"
                    ));
                }
                "tagged" => {
                    return Err("Match tagged is not followed by infraspec".into());
                }
                _ => return Err(format!("Match {attr}: not a criterion OpenSSH knows")),
            };
            if r == negate {
                result = false;
            }
        }
        if attributes == 0 {
            return Err("Match without criteria".into());
        }
        Ok(result)
    }

    fn finish(self, host_name: String) -> Result<Resolved, ConfigError> {
        let q = self.q;
        let s = self.s;
        let refuse = |set: &Set<String>, message: String| ConfigError {
            file: set.file.clone(),
            line: Some(set.line),
            message,
        };
        for (keyword, set) in &s.refused {
            let v = set.value.to_ascii_lowercase();
            let off = match *keyword {
                "canonicalizehostname" => v == "no" || v == "false",
                "proxyusefdpass" | "nohostauthenticationforlocalhost" => v == "no" || v == "false",
                "pkcs11provider" | "smartcarddevice" | "knownhostscommand" | "revokedhostkeys" => {
                    v == "none"
                }
                _ => false,
            };
            if !off {
                return Err(refuse(
                    set,
                    format!(
                        "{keyword} {} changes where or how the host is reached and infraspec cannot honour it; leave it out for this host (a Host or Match block that does not match it)",
                        set.value
                    ),
                ));
            }
        }
        let strict = match &s.strict {
            Some(set) if set.value == "false" => {
                return Err(refuse(
                    set,
                    "StrictHostKeyChecking no: infraspec always checks host keys (accept-new is the most it relaxes)".into(),
                ))
            }
            Some(set) => set.value.clone(),
            None => "ask".into(),
        };
        let use_agent = match &s.identity_agent {
            None => true,
            Some(set) if set.value.eq_ignore_ascii_case("none") => false,
            Some(set)
                if set.value == "SSH_AUTH_SOCK"
                    || set.value == "$SSH_AUTH_SOCK"
                    || set.value == "${SSH_AUTH_SOCK}" =>
            {
                true
            }
            Some(set) => {
                return Err(refuse(
                    set,
                    format!(
                        "IdentityAgent {}: infraspec uses the agent at $SSH_AUTH_SOCK or none",
                        set.value
                    ),
                ))
            }
        };
        let proxy = match (&s.proxy_jump, &s.proxy_command) {
            (Some(j), _) if !j.is_empty() => Proxy::Jump(j.clone()),
            (_, Some(c)) if !c.eq_ignore_ascii_case("none") => {
                if c == "-" {
                    return Err(ConfigError {
                        file: PathBuf::from("ProxyCommand"),
                        line: None,
                        message: "ProxyCommand - (the client's own stdin) cannot carry infraspec's connection".into(),
                    });
                }
                Proxy::Command(c.clone())
            }
            _ => Proxy::Direct,
        };
        let mut resolved = Resolved {
            host_name,
            original_host: q.host.to_string(),
            user: s.user.clone().unwrap_or_else(|| q.local_user.to_string()),
            port: s.port.unwrap_or(22),
            identity_files_given: !s.identity_files.is_empty(),
            identity_files: if s.identity_files.is_empty() {
                DEFAULT_IDENTITIES.iter().map(|f| f.to_string()).collect()
            } else {
                s.identity_files.iter().map(|(f, _)| f.clone()).collect()
            },
            user_known_hosts_files: Vec::new(),
            global_known_hosts_files: s.global_known_hosts.clone().unwrap_or_else(|| {
                vec![
                    "/etc/ssh/ssh_known_hosts".into(),
                    "/etc/ssh/ssh_known_hosts2".into(),
                ]
            }),
            strict_host_key_checking: strict,
            connect_timeout: s.connect_timeout.flatten(),
            proxy,
            address_family: s.address_family.unwrap_or_default(),
            use_agent,
            identities_only: s.identities_only.unwrap_or(false),
        };
        let user_files = s
            .user_known_hosts
            .clone()
            .unwrap_or_else(|| vec!["~/.ssh/known_hosts".into(), "~/.ssh/known_hosts2".into()]);
        resolved.user_known_hosts_files = user_files
            .iter()
            .map(|f| resolved.expand(f, q))
            .collect::<Result<_, _>>()
            .map_err(|m| ConfigError {
                file: PathBuf::from("UserKnownHostsFile"),
                line: None,
                message: m,
            })?;
        Ok(resolved)
    }
}

impl Resolved {
    /// A path as OpenSSH expands `IdentityFile` and `UserKnownHostsFile`:
    /// `~/` first, then `%` tokens and `${VAR}`.
    pub fn expand(&self, raw: &str, q: &Query) -> Result<PathBuf, String> {
        let raw = match raw.strip_prefix("~/") {
            Some(rest) => format!("{}/{rest}", q.home.display()),
            None if raw == "~" => q.home.display().to_string(),
            None if raw.starts_with('~') => {
                return Err(format!(
                    "{raw}: ~user paths are not read (write the path out)"
                ))
            }
            None => raw.to_string(),
        };
        let expanded = self.tokens(&raw, q, "dhiLlnprujk")?;
        Ok(PathBuf::from(dollar_expand(&expanded)?))
    }

    /// `ProxyCommand` with its tokens (`%h`, `%n`, `%p`, `%r`, `%%`) put in.
    pub fn proxy_command(&self, command: &str, q: &Query) -> Result<String, String> {
        self.tokens(command, q, "hnpr")
    }

    fn tokens(&self, text: &str, q: &Query, allowed: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let Some(t) = chars.next() else {
                return Err(format!("{text:?} ends in a lone %"));
            };
            if t != '%' && !allowed.contains(t) {
                return Err(format!(
                    "{text:?}: the token %{t} is not one infraspec expands here"
                ));
            }
            match t {
                '%' => out.push('%'),
                'd' => out.push_str(&q.home.to_string_lossy()),
                'h' => out.push_str(&self.host_name),
                'n' | 'k' => out.push_str(&self.original_host),
                'p' => out.push_str(&self.port.to_string()),
                'r' => out.push_str(&self.user),
                'u' => out.push_str(q.local_user),
                // SAFETY: getuid cannot fail.
                'i' => out.push_str(&unsafe { libc::getuid() }.to_string()),
                'l' | 'L' => {
                    let name = local_host_name();
                    out.push_str(if t == 'L' {
                        name.split('.').next().unwrap_or("")
                    } else {
                        &name
                    });
                }
                'j' => {
                    if let Proxy::Jump(j) = &self.proxy {
                        out.push_str(j);
                    }
                }
                _ => unreachable!("checked above"),
            }
        }
        Ok(out)
    }
}

/// OpenSSH's rule for most keywords: the first value given in an active
/// block wins.
fn first<T>(active: bool, slot: &mut Option<T>, value: T) {
    if active && slot.is_none() {
        *slot = Some(value);
    }
}

fn local_host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most
    // that many bytes.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return String::new();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// `${VAR}` from the environment; an unset one is an error, as in OpenSSH.
fn dollar_expand(text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("{text:?}: ${{ without its }}"))?;
        let name = &after[..end];
        let value = std::env::var(name)
            .map_err(|_| format!("{text:?}: the environment variable {name} is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `HostName` takes `%h` (the name given) and `%%`.
fn expand_host_name(value: &str, host: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(host),
            Some('%') => out.push('%'),
            other => {
                return Err(format!(
                    "HostName {value:?}: %{} is not a token HostName takes (%h, %%)",
                    other.map(String::from).unwrap_or_default()
                ))
            }
        }
    }
    Ok(out)
}

/// A comma-separated pattern list as OpenSSH's match_pattern_list reads it:
/// Some(true) when a pattern matches and no negated one does, Some(false)
/// when a negated one matches, None when none does.
fn pattern_list(text: &str, list: &str, lowercase: bool) -> Option<bool> {
    let mut positive = None;
    for p in list.split(',') {
        let p = if lowercase {
            p.to_ascii_lowercase()
        } else {
            p.to_string()
        };
        let (negated, p) = match p.strip_prefix('!') {
            Some(rest) => (true, rest.to_string()),
            None => (false, p),
        };
        if wildcard(&p, text) {
            if negated {
                return Some(false);
            }
            positive = Some(true);
        }
    }
    positive
}

fn parse_port(v: &str) -> Option<u16> {
    match v {
        "ssh" => Some(22),
        _ if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse().ok().filter(|p| *p > 0)
        }
        _ => None,
    }
}

/// OpenSSH's time format: `30`, `1m30s`, `2h`.
fn parse_time(v: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in v.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 604800,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        digits.clear();
    }
    if !digits.is_empty() {
        total = total.checked_add(digits.parse().ok()?)?;
    } else if v.is_empty() || !v.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(total)
}

fn yes_no(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

/// One line: its keyword in lowercase, the text after it (ProxyCommand and
/// ProxyJump take it whole) and its arguments.
struct Line {
    keyword: String,
    /// The keyword as written, for messages.
    written: String,
    rest: String,
    args: Vec<String>,
}

/// Splits a line as OpenSSH does: the keyword ends at whitespace, `=` or a
/// quote; one `=` may stand between it and the value; the arguments are
/// words with `"`/`'` quotes and `\` escapes, ending at a `#` that starts a
/// word. None for a blank line or a comment.
fn split_line(raw: &str) -> Result<Option<Line>, String> {
    let line = raw.trim_end_matches([' ', '\t', '\r', '\n', '\x0c']);
    let line = line.trim_start_matches([' ', '\t', '\r', '\n']);
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let end = line
        .find([' ', '\t', '\r', '\n', '"', '='])
        .unwrap_or(line.len());
    let keyword = line[..end].to_ascii_lowercase();
    if keyword.is_empty() {
        return Err("a line that starts with no keyword".into());
    }
    let mut rest = &line[end..];
    if let Some(r) = rest.strip_prefix('=') {
        rest = r.trim_start_matches([' ', '\t', '\r', '\n']);
    } else {
        rest = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        if let Some(r) = rest.strip_prefix('=') {
            rest = r.trim_start_matches([' ', '\t', '\r', '\n']);
        }
    }
    if rest.is_empty() {
        return Err(format!("{keyword} without a value"));
    }
    let args = split_words(rest).ok_or_else(|| format!("{keyword}: a quote is not closed"))?;
    Ok(Some(Line {
        written: line[..end].to_string(),
        keyword,
        rest: rest.to_string(),
        args,
    }))
}

/// OpenSSH's argv_split with comments: None for an unclosed quote.
fn split_words(s: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = s.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' || chars[i] == '\t' {
            i += 1;
            continue;
        }
        if chars[i] == '#' {
            break;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                match chars.get(i + 1) {
                    Some(&n)
                        if n == '\'' || n == '"' || n == '\\' || (quote.is_none() && n == ' ') =>
                    {
                        word.push(n);
                        i += 2;
                        continue;
                    }
                    _ => word.push(c),
                }
            } else if quote.is_none() && (c == ' ' || c == '\t') {
                break;
            } else if quote.is_none() && (c == '"' || c == '\'') {
                quote = Some(c);
            } else if quote == Some(c) {
                quote = None;
            } else {
                word.push(c);
            }
            i += 1;
        }
        if quote.is_some() {
            return None;
        }
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn home_with(config: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("infraspec-sshcfg-{}", crate::probe::nonce()));
        std::fs::create_dir_all(dir.join(".ssh")).unwrap();
        std::fs::write(dir.join(".ssh/config"), config).unwrap();
        Dir(dir)
    }

    fn resolve_in(dir: &Dir, host: &str) -> Result<Resolved, ConfigError> {
        resolve(&Query {
            host,
            user: None,
            port: None,
            file: ConfigFile::Default,
            home: &dir.0,
            local_user: "me",
            system_file: Path::new("/nonexistent/ssh_config"),
        })
    }

    const CONFIG: &str = r#"
# production web servers
Host web1 web1.example
    HostName 10.0.0.11
    User deploy
    Port 2222
    IdentityFile ~/.ssh/deploy_ed25519

Host web* !web9
    User ops
    StrictHostKeyChecking accept-new

Host *
    User fallback
    UserKnownHostsFile ~/.ssh/known_hosts_infra
    IdentityFile ~/.ssh/id_ed25519
    ConnectTimeout=7
"#;

    #[test]
    fn first_value_wins_and_identity_files_accumulate() {
        let d = home_with(CONFIG);
        let c = resolve_in(&d, "web1").unwrap();
        assert_eq!(c.host_name, "10.0.0.11");
        assert_eq!(c.user, "deploy");
        assert_eq!(c.port, 2222);
        assert_eq!(
            c.identity_files,
            ["~/.ssh/deploy_ed25519", "~/.ssh/id_ed25519"]
        );
        assert_eq!(c.strict_host_key_checking, "accept-new");
        assert_eq!(
            c.user_known_hosts_files,
            [d.0.join(".ssh/known_hosts_infra")]
        );
        assert_eq!(c.connect_timeout, Some(7));
        assert_eq!(resolve_in(&d, "web2").unwrap().user, "ops");
        assert_eq!(resolve_in(&d, "web9").unwrap().user, "fallback");
        assert_eq!(resolve_in(&d, "db1").unwrap().host_name, "db1");
    }

    #[test]
    fn lines_split_as_openssh_splits_them() {
        let l = split_line("  HostName=\"a b\" # c").unwrap().unwrap();
        assert_eq!(
            (l.keyword.as_str(), l.args),
            ("hostname", vec!["a b".to_string()])
        );
        let l = split_line("Port = 22").unwrap().unwrap();
        assert_eq!(l.args, ["22"]);
        assert!(split_line("   # only a comment").unwrap().is_none());
        assert!(split_line("User 'open").is_err());
        assert!(split_line("User").is_err());
        assert_eq!(split_words(r"a\ b 'c d'#e #f").unwrap(), ["a b", "c d#e"]);
        assert_eq!(parse_time("1m30s"), Some(90));
        assert_eq!(parse_time("10"), Some(10));
        assert_eq!(parse_time("x"), None);
    }

    #[test]
    fn match_criteria_and_final_pass() {
        let d = home_with(
            "Match originalhost WEB\n  Port 2200\nHost web\n  HostName Web.Example.COM\nMatch final host *.example.com\n  User finaluser\nMatch user me !localuser root\n  IdentityFile ~/.ssh/me_%h\n",
        );
        let c = resolve_in(&d, "web").unwrap();
        assert_eq!(c.port, 2200);
        assert_eq!(c.host_name, "web.example.com");
        assert_eq!(c.user, "finaluser");
        assert_eq!(c.identity_files, ["~/.ssh/me_%h"]);
        assert_eq!(
            c.expand(
                &c.identity_files[0],
                &Query {
                    host: "web",
                    user: None,
                    port: None,
                    file: ConfigFile::Default,
                    home: &d.0,
                    local_user: "me",
                    system_file: Path::new("/x"),
                }
            )
            .unwrap(),
            d.0.join(".ssh/me_web.example.com")
        );
    }

    #[test]
    fn what_cannot_be_honoured_is_an_error_naming_its_line() {
        for (config, says) in [
            (
                "Host *\n  CertificateFile ~/.ssh/c.pub\n",
                "line 2: certificatefile",
            ),
            ("Match exec \"true\"\n  User x\n", "Match exec"),
            (
                "Host *\n  StrictHostKeyChecking no\n",
                "always checks host keys",
            ),
            ("Host *\n  IdentityAgent /tmp/agent.sock\n", "IdentityAgent"),
            ("Host *\n  Bogus yes\n", "not an OpenSSH keyword"),
            (
                "Host *\n  CanonicalizeHostname yes\n",
                "canonicalizehostname",
            ),
        ] {
            let d = home_with(config);
            let e = resolve_in(&d, "h").unwrap_err().to_string();
            assert!(e.contains(says), "{config:?}: {e}");
        }
        // Not for this host, or not the first value: no error.
        let d = home_with("Host other\n  CertificateFile x\nHost *\n  StrictHostKeyChecking accept-new\n  StrictHostKeyChecking no\nIgnoreUnknown Use*\nUseKeychain yes\n");
        assert!(resolve_in(&d, "h").is_ok());
    }

    #[test]
    fn includes_keep_their_own_match_state() {
        let d = home_with("Include conf.d/*.conf\nHost h\n  User afterinclude\n");
        std::fs::create_dir_all(d.0.join(".ssh/conf.d")).unwrap();
        std::fs::write(d.0.join(".ssh/conf.d/b.conf"), "Host nothing\n  Port 1\n").unwrap();
        std::fs::write(d.0.join(".ssh/conf.d/a.conf"), "Host h\n  Port 2022\n").unwrap();
        let c = resolve_in(&d, "h").unwrap();
        assert_eq!((c.port, c.user.as_str()), (2022, "afterinclude"));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            d.0.join(".ssh/conf.d/a.conf"),
            std::fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        let e = resolve_in(&d, "h").unwrap_err().to_string();
        assert!(e.contains("a.conf") && e.contains("permissions"), "{e}");
    }

    #[test]
    fn proxies_first_one_wins() {
        let d = home_with("Host a\n  ProxyCommand nc %h %p\n  ProxyJump j\nHost b\n  ProxyJump u@j1:2,j2\n  ProxyCommand x\nHost c\n  ProxyCommand none\nHost *\n  ProxyJump later\n");
        let a = resolve_in(&d, "a").unwrap();
        assert_eq!(a.proxy, Proxy::Command("nc %h %p".into()));
        assert_eq!(
            a.proxy_command(
                "nc %h %p %%",
                &Query {
                    host: "a",
                    user: None,
                    port: None,
                    file: ConfigFile::Nothing,
                    home: &d.0,
                    local_user: "me",
                    system_file: Path::new("/x"),
                }
            )
            .unwrap(),
            "nc a 22 %"
        );
        assert_eq!(
            resolve_in(&d, "b").unwrap().proxy,
            Proxy::Jump("u@j1:2,j2".into())
        );
        assert_eq!(resolve_in(&d, "c").unwrap().proxy, Proxy::Direct);
        assert_eq!(
            resolve_in(&d, "z").unwrap().proxy,
            Proxy::Jump("later".into())
        );
    }
}
