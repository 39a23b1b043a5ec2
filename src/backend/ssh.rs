//! The SSH backend: one `ssh2` session per target for the whole run.
//!
//! Safe by default: the host key is verified against known_hosts (plain and
//! hashed entries); an unknown host is refused unless the user opts in
//! (`?accept_new=true`, `--ssh-accept-new`, or `StrictHostKeyChecking
//! accept-new` in `~/.ssh/config`), which records the key; a changed key is
//! always refused. Secrets come only from the environment:
//! `INFRASPEC_SSH_PASSWORD`, `INFRASPEC_SSH_PASSPHRASE`, `INFRASPEC_SUDO_PASSWORD`.
//!
//! Every exec is one channel on the same session; the engine's batch is one
//! exec, so `?sudo=true` escalates once per batch (`sudo -n sh`).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use ssh2::{CheckResult, HostKeyType, KnownHostFileKind, Session};

use super::ssh_config::{self, Proxy};
use super::{Backend, BackendError, ExecOutput};
use crate::probe::quote;

/// Environment variables that may hold secrets. Nothing else is read for them.
pub use crate::model::target::PASSWORD_ENV;
pub const PASSPHRASE_ENV: &str = "INFRASPEC_SSH_PASSPHRASE";
pub const SUDO_PASSWORD_ENV: &str = "INFRASPEC_SUDO_PASSWORD";

use crate::model::target::{parse_ssh_options as parse_options, SshOptions};

/// One HTTP connection at a time per session: libssh2 keeps the state of a
/// channel being opened, and of a packet half sent, in the session itself, so
/// two threads driving one non-blocking session would corrupt each other.
#[derive(Default)]
struct Gate {
    busy: std::sync::Mutex<bool>,
    free: std::sync::Condvar,
}

impl Gate {
    /// Waits for the turn; the turn ends when the ticket is dropped, on every
    /// path (an error, a panic, the forward's end).
    fn enter(self: &std::sync::Arc<Self>) -> Ticket {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        while *busy {
            busy = self.free.wait(busy).unwrap_or_else(|e| e.into_inner());
        }
        *busy = true;
        Ticket(self.clone())
    }
}

/// A turn at a [`Gate`], given back when dropped.
struct Ticket(std::sync::Arc<Gate>);

impl Drop for Ticket {
    fn drop(&mut self) {
        *self.0.busy.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.0.free.notify_one();
    }
}

/// A connected SSH target.
pub struct Ssh {
    http_gate: std::sync::Arc<Gate>,
    shown: String,
    session: Mutex<Session>,
    sudo: Option<Vec<String>>,
    /// The prompt sudo is told to print when it wants the password, random
    /// for each run: the password is sent only after it was seen, so it is
    /// never text a shell could read.
    sudo_prompt: String,
    sudo_password: Option<String>,
    command_timeout: Option<Duration>,
    /// A second handle on the session's socket, to wait for the server
    /// without holding libssh2 in a blocking call.
    peer: std::os::fd::OwnedFd,
    /// The ProxyCommand carrying the session, stopped after it.
    _proxy: Option<ProxyChild>,
    /// How long the server may stay silent after a keepalive before it is
    /// taken for gone.
    dead_after: Duration,
    /// The bastion this session goes through, and the forward that carries
    /// it; dropped after the session (fields drop in order).
    _jump: Option<(Mutex<super::Forward>, Box<Ssh>)>,
    /// A jump host: its forwards carry the next hop's session and are never
    /// closed for being idle.
    carries_sessions: bool,
    /// Why the session is gone, once it is: later commands fail at once
    /// instead of waiting on a dead connection.
    lost: std::sync::OnceLock<String>,
}

fn key_type_name(t: HostKeyType) -> &'static str {
    match t {
        HostKeyType::Rsa => "ssh-rsa",
        HostKeyType::Dss => "ssh-dss",
        HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
        HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
        HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
        HostKeyType::Ed25519 => "ssh-ed25519",
        HostKeyType::Unknown => "unknown",
    }
}

fn base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// The name known_hosts uses: `host`, or `[host]:port` off port 22.
fn known_hosts_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// Loads known_hosts files line by line, so that one line libssh2 cannot read
/// (a key type it does not know, a marker) does not hide the others.
fn load_known_hosts(session: &Session, files: &[PathBuf]) -> Result<ssh2::KnownHosts, String> {
    let mut known = session
        .known_hosts()
        .map_err(|e| format!("known_hosts: {e}"))?;
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let _ = known.read_str(line, KnownHostFileKind::OpenSSH);
        }
    }
    Ok(known)
}

impl Ssh {
    /// Connects, verifies the host key and authenticates.
    pub fn connect(
        shown: &str,
        user: Option<&str>,
        host: &str,
        port: Option<u16>,
        options: &BTreeMap<String, String>,
        accept_new_flag: bool,
    ) -> Result<Ssh, BackendError> {
        let fail = |message: String| BackendError::Connect {
            target: shown.to_string(),
            message,
        };
        let plan = Plan::new(user, host, port, options).map_err(fail)?;
        let (opts, cfg, query) = (&plan.asked.opts, &plan.cfg, plan.asked.query());
        let real_host = cfg.host_name.clone();
        let port = cfg.port;
        let user = cfg.user.clone();
        let connect_timeout = plan.connect_timeout;
        let proxy = &plan.proxy;
        let mut jump = None;
        let mut proxy_child = None;
        let stream = match proxy {
            Proxy::Jump(hops) => {
                // The last hop is reached through the ones before it; the
                // target through the last, which opens the TCP connection
                // (so names resolve there).
                let hops: Vec<String> = hops
                    .split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(str::to_string)
                    .collect();
                let (last, before) = hops
                    .split_last()
                    .ok_or_else(|| fail("ProxyJump names no host".into()))?;
                let mut bastion =
                    Ssh::connect_hops(last, before, opts.ssh_config.as_deref(), accept_new_flag)
                        .map_err(|e| fail(format!("through the jump host {last}: {e}")))?;
                bastion.carries_sessions = true;
                let mut forward =
                    bastion
                        .forward(&real_host, port, connect_timeout)
                        .map_err(|e| {
                            fail(format!(
                                "the jump host {last} could not reach {real_host}:{port}: {}",
                                match e {
                                    super::ForwardError::Unreachable(m)
                                    | super::ForwardError::Failed(m)
                                    | super::ForwardError::Dns(m) => m,
                                }
                            ))
                        })?;
                let stream = forward
                    .connect(connect_timeout)
                    .map_err(|e| fail(format!("the forward through {last} failed: {e}")))?;
                jump = Some((Mutex::new(forward), Box::new(bastion)));
                stream.set_nodelay(true).map_err(|e| fail(e.to_string()))?;
                Transport::Tcp(stream)
            }
            Proxy::Command(command) => {
                let command = cfg
                    .proxy_command(command, &query)
                    .map_err(|m| fail(format!("ProxyCommand: {m}")))?;
                let (child, stream) = ProxyChild::start(&command)
                    .map_err(|e| fail(format!("ProxyCommand {command:?} did not start: {e}")))?;
                proxy_child = Some(child);
                Transport::Unix(stream)
            }
            Proxy::Direct => {
                let addrs: Vec<_> = (real_host.as_str(), port)
                    .to_socket_addrs()
                    .map_err(|e| fail(format!("cannot resolve {real_host}: {e}")))?
                    .filter(|a| match cfg.address_family {
                        ssh_config::Family::Any => true,
                        ssh_config::Family::Inet => a.is_ipv4(),
                        ssh_config::Family::Inet6 => a.is_ipv6(),
                    })
                    .collect();
                let mut last_err = format!(
                    "{real_host} has no address (AddressFamily {:?})",
                    cfg.address_family
                );
                let mut stream = None;
                for addr in &addrs {
                    match TcpStream::connect_timeout(addr, connect_timeout) {
                        Ok(s) => {
                            stream = Some(s);
                            break;
                        }
                        Err(e) => last_err = format!("TCP connection to {addr} failed: {e}"),
                    }
                }
                let stream = stream.ok_or_else(|| fail(last_err))?;
                // Without TCP_NODELAY every channel request waits ~40 ms for a delayed ACK.
                stream.set_nodelay(true).map_err(|e| fail(e.to_string()))?;
                Transport::Tcp(stream)
            }
        };
        let mut said = |e: String| match &mut proxy_child {
            Some(c) => format!("{e}{}", c.said()),
            None => e,
        };

        let peer = {
            use std::os::fd::AsFd;
            stream
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| fail(e.to_string()))?
        };
        let mut session = Session::new().map_err(|e| fail(e.to_string()))?;
        session.set_tcp_stream(stream);
        session.set_timeout(connect_timeout.as_millis().try_into().unwrap_or(u32::MAX));
        session.handshake().map_err(|e| {
            fail(said(format!(
                "SSH handshake with {real_host}:{port} failed: {e}"
            )))
        })?;

        // Host key.
        let (key, key_type) = session
            .host_key()
            .ok_or_else(|| fail("the server sent no host key".into()))?;
        let user_known_hosts = plan.user_known_hosts.clone();
        let mut files = user_known_hosts.clone();
        files.extend(cfg.global_known_hosts_files.iter().map(PathBuf::from));
        let known = load_known_hosts(&session, &files).map_err(fail)?;
        let name = known_hosts_name(&real_host, port);
        let key_text = format!("{} {}", key_type_name(key_type), base64(key));
        let shown_files = user_known_hosts
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        match known.check_port(&real_host, port, key) {
            CheckResult::Match => {}
            CheckResult::Mismatch => {
                return Err(fail(format!(
                    "the host key of {name} has CHANGED since it was recorded in {shown_files}: it is now {key_text}. \
                     This may be an attack, or the host was reinstalled; remove the old entry only once you know which"
                )))
            }
            CheckResult::NotFound | CheckResult::Failure => {
                let accept = opts.accept_new
                    || accept_new_flag
                    || cfg.strict_host_key_checking == "accept-new";
                if !accept {
                    return Err(fail(format!(
                        "{name} is not in {shown_files} (host key {key_text}); to trust it and record it, add ?accept_new=true or --ssh-accept-new"
                    )));
                }
                let Some(record_in) = user_known_hosts.first() else {
                    return Err(fail(format!(
                        "{name} is not known and UserKnownHostsFile is none: there is nowhere to record its key {key_text}"
                    )));
                };
                record_host_key(record_in, &name, &key_text)
                    .map_err(|e| fail(format!("failed to record the host key in {}: {e}", record_in.display())))?;
            }
        }

        authenticate(
            &session,
            &user,
            &plan.identities,
            cfg.use_agent && !(cfg.identities_only && cfg.identity_files_given),
        )
        .map_err(|m| fail(format!("authentication as {user} failed: {m}")))?;
        session.set_keepalive(true, keepalive_interval(connect_timeout).as_secs() as u32);

        // A prompt of this run's own: text that merely looks like a sudo
        // prompt (a fake sudo, a login script) never gets the password.
        let sudo_prompt = format!("[infraspec-sudo-{}]", crate::probe::nonce());
        let sudo = opts.sudo.then(|| {
            let mut argv = vec!["sudo".to_string()];
            if std::env::var_os(SUDO_PASSWORD_ENV).is_some() {
                argv.extend(["-S".into(), "-p".into(), sudo_prompt.clone()]);
            } else {
                argv.push("-n".into());
            }
            if let Some(u) = &opts.sudo_user {
                argv.extend(["-u".into(), u.clone()]);
            }
            argv.push("--".into());
            argv
        });
        Ok(Ssh {
            http_gate: Default::default(),
            shown: shown.to_string(),
            session: Mutex::new(session),
            sudo,
            sudo_prompt,
            sudo_password: std::env::var(SUDO_PASSWORD_ENV).ok(),
            command_timeout: opts.timeout,
            peer,
            dead_after: connect_timeout,
            _proxy: proxy_child,
            _jump: jump,
            carries_sessions: false,
            lost: std::sync::OnceLock::new(),
        })
    }

    /// Connects to `hop` (`[ssh://][user@]host[:port]`), through `before`.
    fn connect_hops(
        hop: &str,
        before: &[String],
        ssh_config: Option<&str>,
        accept_new_flag: bool,
    ) -> Result<Ssh, BackendError> {
        let (user, host, port) = parse_hop(hop).map_err(|message| BackendError::Connect {
            target: hop.to_string(),
            message,
        })?;
        // The hops before this one, and no others: a `ProxyJump` in the
        // config for the hop itself is not followed (a `Host *` one would
        // otherwise send the bastion through itself).
        let mut options = BTreeMap::from([("jump".to_string(), before.join(","))]);
        if let Some(f) = ssh_config {
            options.insert("ssh_config".into(), f.to_string());
        }
        Ssh::connect(hop, user.as_deref(), &host, port, &options, accept_new_flag)
    }
}

/// What a target asks: its options and the names the SSH config is read
/// for.
struct Asked {
    opts: SshOptions,
    home: PathBuf,
    local_user: String,
    host: String,
    user: Option<String>,
    port: Option<u16>,
    file: ssh_config::ConfigFile,
}

impl Asked {
    fn query(&self) -> ssh_config::Query<'_> {
        ssh_config::Query {
            host: &self.host,
            user: self.user.as_deref(),
            port: self.port,
            file: self.file.clone(),
            home: &self.home,
            local_user: &self.local_user,
            system_file: Path::new(ssh_config::SYSTEM_CONFIG),
        }
    }
}

/// Where and how an `ssh://` target is reached: its options and the SSH
/// config, resolved, before anything connects.
struct Plan {
    asked: Asked,
    cfg: ssh_config::Resolved,
    /// The target's own jump or proxy_command, else the config's proxy.
    proxy: Proxy,
    connect_timeout: Duration,
    user_known_hosts: Vec<PathBuf>,
    identities: Vec<PathBuf>,
}

impl Plan {
    fn new(
        user: Option<&str>,
        host: &str,
        port: Option<u16>,
        options: &BTreeMap<String, String>,
    ) -> Result<Plan, String> {
        let opts = parse_options(options)?;
        let home = home();
        let asked = Asked {
            local_user: std::env::var("USER").unwrap_or_else(|_| "root".into()),
            host: host.to_string(),
            user: user.map(str::to_string),
            port,
            file: opts
                .ssh_config
                .as_deref()
                .map(|f| ssh_config::ConfigFile::named(f, &home))
                .unwrap_or_default(),
            home,
            opts,
        };
        let query = asked.query();
        let cfg = ssh_config::resolve(&query).map_err(|e| format!("the SSH config: {e}"))?;
        let o = &asked.opts;
        // The target's own jump or proxy_command wins over the config's
        // proxy, as ssh's -J and -o do.
        let proxy = match (&o.jump, &o.proxy_command) {
            (Some(j), _) if j.trim().is_empty() => Proxy::Direct,
            (Some(j), _) => Proxy::Jump(j.clone()),
            (None, Some(c)) if c.trim().eq_ignore_ascii_case("none") => Proxy::Direct,
            (None, Some(c)) => Proxy::Command(c.clone()),
            (None, None) => cfg.proxy.clone(),
        };
        let connect_timeout = o
            .connect_timeout
            .or(cfg.connect_timeout.map(Duration::from_secs))
            .unwrap_or(Duration::from_secs(10));
        let user_known_hosts = match &o.known_hosts {
            Some(f) => vec![f.clone()],
            None => cfg.user_known_hosts_files.clone(),
        };
        // As `ssh -i`: the target's key first, then the config's; OpenSSH's
        // default files only when neither names one.
        let from_config: Vec<PathBuf> = if o.identity.is_none() || cfg.identity_files_given {
            cfg.identity_files
                .iter()
                .map(|f| cfg.expand(f, &query))
                .collect::<Result<_, _>>()
                .map_err(|m| format!("IdentityFile {m}"))?
        } else {
            Vec::new()
        };
        let identities = o.identity.iter().cloned().chain(from_config).collect();
        Ok(Plan {
            cfg,
            proxy,
            connect_timeout,
            user_known_hosts,
            identities,
            asked,
        })
    }
}

/// What infraspec resolves for an `ssh://` target, in the lines and forms
/// `ssh -G` prints (`infraspec ssh-config`): hostname, user, port, the
/// identity files as written, the known-hosts files, host key checking, the
/// connect timeout and the proxy.
pub fn describe(
    user: Option<&str>,
    host: &str,
    port: Option<u16>,
    options: &BTreeMap<String, String>,
) -> Result<String, String> {
    let plan = Plan::new(user, host, port, options)?;
    let c = &plan.cfg;
    let mut out = format!(
        "hostname {}\nuser {}\nport {}\n",
        c.host_name, c.user, c.port
    );
    if let Some(k) = &plan.asked.opts.identity {
        out.push_str(&format!("identityfile {}\n", k.display()));
    }
    if plan.asked.opts.identity.is_none() || c.identity_files_given {
        for f in &c.identity_files {
            out.push_str(&format!("identityfile {f}\n"));
        }
    }
    let list = |files: Vec<String>| {
        if files.is_empty() {
            "none".to_string()
        } else {
            files.join(" ")
        }
    };
    out.push_str(&format!(
        "userknownhostsfile {}\n",
        list(
            plan.user_known_hosts
                .iter()
                .map(|f| f.display().to_string())
                .collect()
        )
    ));
    out.push_str(&format!(
        "globalknownhostsfile {}\n",
        list(c.global_known_hosts_files.clone())
    ));
    let strict = if plan.asked.opts.accept_new {
        "accept-new"
    } else {
        &c.strict_host_key_checking
    };
    out.push_str(&format!("stricthostkeychecking {strict}\n"));
    out.push_str(&format!(
        "connecttimeout {}\n",
        plan.connect_timeout.as_secs()
    ));
    out.push_str(&format!(
        "addressfamily {}\n",
        match c.address_family {
            ssh_config::Family::Any => "any",
            ssh_config::Family::Inet => "inet",
            ssh_config::Family::Inet6 => "inet6",
        }
    ));
    match &plan.proxy {
        Proxy::Direct => {}
        Proxy::Jump(j) => out.push_str(&format!("proxyjump {j}\n")),
        Proxy::Command(command) => out.push_str(&format!("proxycommand {command}\n")),
    }
    Ok(out)
}

/// The socket a session runs over: TCP, or one end of a socket pair whose
/// other end is a ProxyCommand's stdin and stdout.
enum Transport {
    Tcp(TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

impl std::os::fd::AsRawFd for Transport {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        match self {
            Transport::Tcp(s) => s.as_raw_fd(),
            Transport::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl std::os::fd::AsFd for Transport {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Transport::Tcp(s) => s.as_fd(),
            Transport::Unix(s) => s.as_fd(),
        }
    }
}

/// Whether the session's socket holds a byte (Ok(n > 0)), was closed
/// (Ok(0)), or holds nothing yet (WouldBlock); nothing is taken from it.
fn peek(fd: &std::os::fd::OwnedFd) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut byte = 0u8;
    // SAFETY: one byte of valid buffer, on a descriptor this process owns.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// A running ProxyCommand (`$SHELL -c 'exec COMMAND'`, as OpenSSH runs it):
/// its stdin and stdout are one end of a socket pair, the session has the
/// other. Killed and reaped when dropped, after the session.
struct ProxyChild {
    child: std::process::Child,
    /// The end of what it printed on stderr, for errors.
    stderr: std::sync::Arc<Mutex<Vec<u8>>>,
}

impl ProxyChild {
    fn start(command: &str) -> std::io::Result<(ProxyChild, std::os::unix::net::UnixStream)> {
        use std::os::fd::OwnedFd;
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
        let theirs: OwnedFd = theirs.into();
        let shell = std::env::var("SHELL")
            .ok()
            .filter(|s| s.starts_with('/'))
            .unwrap_or_else(|| "/bin/sh".into());
        let mut child = std::process::Command::new(shell)
            .arg("-c")
            .arg(format!("exec {command}"))
            .stdin(std::process::Stdio::from(theirs.try_clone()?))
            .stdout(std::process::Stdio::from(theirs))
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let stderr = std::sync::Arc::new(Mutex::new(Vec::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let kept = stderr.clone();
            std::thread::spawn(move || {
                use std::io::Read;
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut k = kept.lock().unwrap_or_else(|e| e.into_inner());
                    k.extend_from_slice(&buf[..n]);
                    let over = k.len().saturating_sub(4096);
                    k.drain(..over);
                }
            });
        }
        Ok((ProxyChild { child, stderr }, ours))
    }

    /// What the command said on stderr, and whether it ended, for an error.
    /// A command that failed has usually just ended: it gets a moment to be
    /// reaped and for its last words to be read.
    fn said(&mut self) -> String {
        let until = std::time::Instant::now() + Duration::from_secs(1);
        let mut ended = None;
        while std::time::Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                ended = Some(status);
                std::thread::sleep(Duration::from_millis(50));
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let ended = match ended {
            Some(status) => format!("; it ended: {status}"),
            None => String::new(),
        };
        let text = String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(|e| e.into_inner()))
            .trim()
            .to_string();
        let text = crate::model::text::escape_line(&text);
        if text.is_empty() {
            format!(" (the ProxyCommand printed nothing on stderr{ended})")
        } else {
            format!(" (the ProxyCommand said: {text}{ended})")
        }
    }
}

impl Drop for ProxyChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `[ssh://][user@]host[:port]`, `[v6]:port` as well.
pub(crate) fn parse_hop(hop: &str) -> Result<(Option<String>, String, Option<u16>), String> {
    let rest = hop.strip_prefix("ssh://").unwrap_or(hop);
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u.to_string()), h),
        None => (None, rest),
    };
    let bad = || format!("jump host {hop:?} is not [user@]host[:port]");
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| bad())?),
            None if after.is_empty() => None,
            None => return Err(bad()),
        };
        (h.to_string(), port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.parse().map_err(|_| bad())?)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() || host.starts_with('-') || host.contains(['/', '?', ' ']) {
        return Err(bad());
    }
    Ok((user, host, port))
}

fn record_host_key(file: &Path, name: &str, key_text: &str) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    writeln!(f, "{name} {key_text}")
}

/// Tries the agent, then key files, then a password from the environment, and
/// says what was tried when nothing works.
fn authenticate(
    session: &Session,
    user: &str,
    keys: &[PathBuf],
    use_agent: bool,
) -> Result<(), String> {
    let offered = match session.auth_methods(user) {
        Ok(m) => m.to_string(),
        Err(_) if session.authenticated() => return Ok(()),
        Err(e) => return Err(format!("the server did not list its methods: {e}")),
    };
    let mut tried = Vec::new();

    if !use_agent {
        tried.push("ssh-agent (off: IdentityAgent none or IdentitiesOnly)".into());
    } else if std::env::var_os("SSH_AUTH_SOCK").is_some() {
        match session.agent().and_then(|mut a| {
            a.connect()?;
            a.list_identities()?;
            Ok(a)
        }) {
            Ok(agent) => {
                let ids = agent.identities().unwrap_or_default();
                for id in &ids {
                    if agent.userauth(user, id).is_ok() && session.authenticated() {
                        return Ok(());
                    }
                }
                tried.push(format!("ssh-agent ({} keys, none accepted)", ids.len()));
            }
            Err(e) => tried.push(format!("ssh-agent (unusable: {e})")),
        }
    } else {
        tried.push("ssh-agent (SSH_AUTH_SOCK not set)".into());
    }

    let passphrase = std::env::var(PASSPHRASE_ENV).ok();
    for key in keys.iter().filter(|k| k.exists()) {
        let public = PathBuf::from(format!("{}.pub", key.display()));
        let public = public.exists().then_some(public.as_path());
        match session.userauth_pubkey_file(user, public, key, passphrase.as_deref()) {
            Ok(()) if session.authenticated() => return Ok(()),
            Ok(()) => tried.push(format!("key {} (not accepted)", key.display())),
            Err(e) => tried.push(format!("key {} ({})", key.display(), e.message())),
        }
    }
    if keys.iter().all(|k| !k.exists()) {
        tried.push(format!(
            "key files (none of {} exists)",
            keys.iter()
                .map(|k| k.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    match std::env::var(PASSWORD_ENV) {
        Ok(password) => match session.userauth_password(user, &password) {
            Ok(()) if session.authenticated() => return Ok(()),
            _ => tried.push(format!("password from {PASSWORD_ENV} (rejected)")),
        },
        Err(_) => tried.push(format!("password ({PASSWORD_ENV} not set)")),
    }
    Err(format!(
        "tried {}; the server offers: {offered}",
        tried.join(", ")
    ))
}

/// Printed (on stderr) by the command sudo starts, before it reads its input.
const SUDO_READY: &str = "[infraspec-sudo-ready]";

/// How often a silent session is asked whether the server is still there.
impl Ssh {
    /// How long a blocking call on the session may wait (libssh2's timeout,
    /// in ms) while a command may run for `limit`: the time a dead server
    /// takes to be noticed, at least 5 s, and never past `limit`.
    fn blocking_limit_ms(&self, limit: Duration) -> u32 {
        self.dead_after
            .max(Duration::from_secs(5))
            .min(limit)
            .as_millis()
            .try_into()
            .unwrap_or(u32::MAX)
    }
}

fn keepalive_interval(connect_timeout: Duration) -> Duration {
    (connect_timeout / 3).clamp(Duration::from_secs(1), Duration::from_secs(15))
}

impl Ssh {
    /// With a sudo password: reads stderr until sudo asks for the password
    /// (then sends it) or the command behind sudo says it is ready. Returns
    /// what stderr held after the ready mark.
    fn sudo_handshake(
        &self,
        channel: &mut ssh2::Channel,
        password: &str,
    ) -> Result<Vec<u8>, String> {
        use std::io::Read;
        let mut seen = Vec::new();
        let mut sent = false;
        let mut buf = [0u8; 4096];
        loop {
            if let Some(at) = find(&seen, SUDO_READY.as_bytes()) {
                let mut rest = seen.split_off(at + SUDO_READY.len());
                if rest.first() == Some(&b'\n') {
                    rest.remove(0);
                }
                return Ok(rest);
            }
            if !sent {
                if let Some(at) = find(&seen, self.sudo_prompt.as_bytes()) {
                    seen.drain(..at + self.sudo_prompt.len());
                    channel
                        .write_all(format!("{password}\n").as_bytes())
                        .map_err(|e| format!("sending the sudo password: {e}"))?;
                    channel
                        .flush()
                        .map_err(|e| format!("sending the sudo password: {e}"))?;
                    sent = true;
                    continue;
                }
            }
            let n = channel
                .stderr()
                .read(&mut buf)
                .map_err(|e| format!("waiting for sudo: {e}"))?;
            if n == 0 {
                let said = String::from_utf8_lossy(&seen).trim().to_string();
                return Err(if sent {
                    format!("sudo did not accept the password in {SUDO_PASSWORD_ENV}: {said}")
                } else {
                    format!("sudo refused: {said}")
                });
            }
            seen.extend_from_slice(&buf[..n]);
            if seen.len() > 64 * 1024 {
                return Err("sudo printed more than expected before the command started".into());
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A command on a channel of the session, its input open ([`Ssh::start`]).
/// The session is locked for each round only: forwards and side channels
/// use it between rounds.
struct SshShell<'s> {
    ssh: &'s Ssh,
    shown: String,
    channel: ssh2::Channel,
    /// What sudo's handshake left on stderr, for the first round.
    said_before: Vec<u8>,
    input_open: bool,
    rounds: u32,
    ended: bool,
}

impl super::Shell for SshShell<'_> {
    fn round(
        &mut self,
        stdin: &[u8],
        close: bool,
        timeout: Duration,
        cap: usize,
        done: &dyn Fn(&[u8]) -> bool,
    ) -> Result<ExecOutput, BackendError> {
        use std::io::Read;
        let ssh = self.ssh;
        let fail = |message: String| BackendError::Exec {
            target: ssh.shown.clone(),
            command: self.shown.clone(),
            message,
        };
        if self.ended {
            return Err(fail("the command had ended".into()));
        }
        if let Some(why) = ssh.lost.get() {
            self.ended = true;
            return Err(fail(format!("the session was lost earlier: {why}")));
        }
        // The connection is gone: the session stays non-blocking, so that
        // freeing the channel does not wait on it (it would for the
        // session's whole timeout), and later commands fail at once.
        let lost = |why: String| {
            let _ = ssh.lost.set(why.clone());
            fail(why)
        };
        let first = self.rounds == 0;
        self.rounds += 1;
        let timeout = ssh.exec_limit(timeout);
        let deadline = std::time::Instant::now() + timeout;
        let session = ssh
            .session
            .lock()
            .map_err(|_| fail("the session is poisoned".into()))?;
        session.set_blocking(true);
        session.set_timeout(ssh.blocking_limit_ms(timeout));
        let mut stderr = std::mem::take(&mut self.said_before);
        let channel = &mut self.channel;
        if self.input_open {
            let sent = channel.write_all(stdin).and_then(|()| channel.flush());
            if let Err(e) = sent {
                self.ended = true;
                return Err(fail(format!("sending input: {e}")));
            }
            if close {
                self.input_open = false;
                if let Err(e) = channel.send_eof() {
                    self.ended = true;
                    return Err(fail(format!("closing input: {e}")));
                }
            }
        }

        // Output: non-blocking reads of both streams; while the server is
        // silent, wait on the socket and ask with keepalives whether it is
        // still there, so that a dead network is an error within
        // `dead_after`, not when TCP gives up minutes later.
        session.set_blocking(false);
        let mut stdout = Vec::new();
        let (mut out_eof, mut err_eof, mut cut) = (false, false, false);
        let mut buf = vec![0u8; 64 * 1024];
        let keepalive = keepalive_interval(ssh.dead_after);
        let mut last_heard = std::time::Instant::now();
        let mut last_asked: Option<std::time::Instant> = None;
        let mut idle_rounds = 0u32;
        let mut pause = Duration::from_millis(1);
        let mut gave_up = false;
        while !(out_eof && err_eof) {
            let mut progressed = false;
            for (is_err, eof) in [(false, &mut out_eof), (true, &mut err_eof)] {
                if *eof {
                    continue;
                }
                let read = if is_err {
                    channel.stderr().read(&mut buf)
                } else {
                    channel.read(&mut buf)
                };
                match read {
                    Ok(0) => {
                        if channel.eof() {
                            *eof = true
                        }
                    }
                    Ok(n) => {
                        let sink = if is_err { &mut stderr } else { &mut stdout };
                        cut |= super::push_capped(sink, &buf[..n], cap);
                        progressed = true;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => {
                        self.ended = true;
                        return Err(lost(format!("reading output: {e}")));
                    }
                }
            }
            if progressed && done(&stdout) {
                // The round is complete; the command reads on.
                session.set_blocking(true);
                return Ok(ExecOutput::going_on(stdout, stderr, cut));
            }
            let now = std::time::Instant::now();
            if progressed {
                last_heard = now;
                last_asked = None;
                idle_rounds = 0;
                pause = Duration::from_millis(1);
                continue;
            }
            if now >= deadline {
                gave_up = true;
                break;
            }
            // Two empty rounds in a row: libssh2 holds nothing for us.
            idle_rounds += 1;
            if idle_rounds < 2 {
                continue;
            }
            let heard =
                super::wait_readable(&ssh.peer, pause.min(deadline - now)).and_then(|ready| {
                    if ready {
                        peek(&ssh.peer).map(Some)
                    } else {
                        Ok(None)
                    }
                });
            match heard {
                Ok(Some(0)) => {
                    self.ended = true;
                    return Err(lost("the server closed the connection".into()));
                }
                Ok(Some(_)) => {
                    last_heard = std::time::Instant::now();
                    last_asked = None;
                    idle_rounds = 0;
                }
                Ok(None) => pause = (pause * 2).min(Duration::from_millis(100)),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    self.ended = true;
                    return Err(lost(format!("the connection failed: {e}")));
                }
            }
            let now = std::time::Instant::now();
            if now.duration_since(last_heard) >= keepalive
                && last_asked.is_none_or(|t| now.duration_since(t) >= keepalive)
            {
                let _ = session.keepalive_send();
                last_asked.get_or_insert(now);
            }
            if let Some(asked) = last_asked {
                if now.duration_since(asked) >= ssh.dead_after && last_heard < asked {
                    self.ended = true;
                    return Err(lost(format!(
                        "the server stopped answering: nothing came back for {}s, not even to keepalives (network down, or the host hangs)",
                        now.duration_since(last_heard).as_secs()
                    )));
                }
            }
        }
        self.ended = true;
        session.set_blocking(true);
        if gave_up {
            return Ok(ExecOutput {
                status: None,
                stdout,
                stderr,
                truncated: cut,
                timed_out: true,
            });
        }
        let _ = channel.wait_close();
        let status = channel.exit_status().ok();
        // The batch prints its start line at once: exit 1 with nothing on
        // stdout is sudo's own refusal, whatever language it said it in.
        if first && ssh.sudo.is_some() && stdout.is_empty() && status == Some(1) {
            let text = String::from_utf8_lossy(&stderr);
            let hint = if ssh.sudo_password.is_some() {
                format!("the password in {SUDO_PASSWORD_ENV} was not accepted, or the user may not sudo")
            } else {
                format!(
                    "it needs a password (allow NOPASSWD for this user or set {SUDO_PASSWORD_ENV}), or the user may not sudo"
                )
            };
            return Err(fail(format!(
                "sudo refused to run the checks: {hint} (sudo said: {})",
                text.trim()
            )));
        }
        Ok(ExecOutput {
            status,
            stdout,
            stderr,
            truncated: cut,
            timed_out: false,
        })
    }

    fn is_open(&self) -> bool {
        !self.ended && self.input_open
    }
}

impl Drop for SshShell<'_> {
    /// Closes the input (the shell reads its end and exits) and the channel,
    /// without waiting on a connection that may be gone.
    fn drop(&mut self) {
        if self.ssh.lost.get().is_some() {
            return;
        }
        let Ok(session) = self.ssh.session.lock() else {
            return;
        };
        // A healthy connection takes these at once; a dead one is given up
        // on after a second.
        session.set_blocking(true);
        session.set_timeout(1000);
        if self.input_open && !self.ended {
            let _ = self.channel.send_eof();
        }
        let _ = self.channel.close();
    }
}

impl Backend for Ssh {
    /// One channel on the session, its command started (behind sudo, when
    /// asked, with the password handshake done), its input kept open.
    fn start(&self, argv: &[String]) -> Result<Option<Box<dyn super::Shell + '_>>, BackendError> {
        let password = self.sudo.as_ref().and(self.sudo_password.as_deref());
        let mut words: Vec<String> = self.sudo.clone().unwrap_or_default();
        if password.is_some() {
            // The command behind sudo first says it runs: then sudo is done
            // with stdin, and the input can follow.
            words.extend([
                "sh".to_string(),
                "-c".into(),
                format!("printf '%s\\n' '{SUDO_READY}' >&2; exec \"$@\""),
                "sh".into(),
            ]);
        }
        words.extend(argv.iter().cloned());
        let command: String = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
        let shown = argv.join(" ");
        let fail = |message: String| BackendError::Exec {
            target: self.shown.clone(),
            command: shown.clone(),
            message,
        };
        if let Some(why) = self.lost.get() {
            return Err(fail(format!("the session was lost earlier: {why}")));
        }
        let session = self
            .session
            .lock()
            .map_err(|_| fail("the session is poisoned".into()))?;
        // Starting the command blocks, bounded by the session's timeout.
        session.set_blocking(true);
        session.set_timeout(self.blocking_limit_ms(self.exec_limit(Duration::MAX)));
        let timed_out = |e: &ssh2::Error| matches!(e.code(), ssh2::ErrorCode::Session(-9));
        let mut channel = session
            .channel_session()
            .map_err(|e| fail(format!("opening a channel: {e}")))?;
        channel.exec(&command).map_err(|e| {
            if timed_out(&e) {
                fail(format!(
                    "the server did not start the command within {}s",
                    self.dead_after.as_secs()
                ))
            } else {
                fail(format!("starting the command: {e}"))
            }
        })?;
        let mut stderr = Vec::new();
        if let Some(pw) = password {
            stderr = self.sudo_handshake(&mut channel, pw).map_err(fail)?;
        }
        drop(session);
        Ok(Some(Box::new(SshShell {
            ssh: self,
            shown,
            channel,
            said_before: stderr,
            input_open: true,
            rounds: 0,
            ended: false,
        })))
    }

    /// A second channel on the session, driven without blocking (the
    /// batch's own channel may be in a call on the same session), as the
    /// batch's user (sudo as it was asked for, with `-n` or the password).
    fn side_channel(&self) -> Option<super::inflight::SideChannel> {
        let session = self.session.lock().ok()?.clone();
        let sudo = self.sudo.clone();
        let password = self.sudo_password.clone();
        Some(std::sync::Arc::new(move |script: &str, limit: Duration| {
            use std::io::Read;
            let deadline = std::time::Instant::now() + limit;
            let again = |e: &ssh2::Error| e.code() == ssh2::ErrorCode::Session(-37);
            let mut words: Vec<String> = sudo.clone().unwrap_or_default();
            words.extend(["sh".to_string(), "-c".into(), script.to_string()]);
            let command: String = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
            session.set_blocking(false);
            let mut channel = loop {
                match session.channel_session() {
                    Ok(c) => break c,
                    Err(e) if again(&e) && std::time::Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(_) => return,
                }
            };
            loop {
                match channel.exec(&command) {
                    Ok(()) => break,
                    Err(e) if again(&e) && std::time::Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(_) => return,
                }
            }
            // `sh -c SCRIPT` reads no input: a password sudo did not ask
            // for is never read as a command.
            if let (Some(_), Some(pw)) = (&sudo, &password) {
                let line = format!("{pw}\n");
                let mut sent = 0;
                while sent < line.len() && std::time::Instant::now() < deadline {
                    match channel.write(&line.as_bytes()[sent..]) {
                        Ok(n) => sent += n,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2))
                        }
                        Err(_) => break,
                    }
                }
            }
            let _ = channel.send_eof();
            let mut buf = [0u8; 1024];
            while std::time::Instant::now() < deadline {
                match channel.read(&mut buf) {
                    Ok(0) if channel.eof() => break,
                    Ok(0) => std::thread::sleep(Duration::from_millis(5)),
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => break,
                }
            }
        }))
    }

    fn exec_limit(&self, asked: Duration) -> Duration {
        self.command_timeout.map_or(asked, |t| t.min(asked))
    }

    fn target(&self) -> String {
        self.shown.clone()
    }

    /// A `direct-tcpip` channel to `host:port`, opened from the target (so
    /// `localhost` is the target and names resolve there), behind a loopback
    /// port on this machine.
    fn forward(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<super::Forward, super::ForwardError> {
        use super::ForwardError;
        let session = self
            .session
            .lock()
            .map_err(|_| ForwardError::Failed("the session is poisoned".into()))?
            .clone();
        // Requests take turns on the session (see `Gate`); it runs
        // non-blocking while one does, and every call retries what would block.
        let waiting = std::time::Instant::now();
        let ticket = self.http_gate.enter();
        let queued = waiting.elapsed();
        let given = timeout;
        let timeout = timeout.saturating_sub(queued);
        session.set_blocking(false);
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let started = std::time::Instant::now();
        let channel = loop {
            match session.channel_direct_tcpip(bare, port, None) {
                Ok(c) => break c,
                Err(e) if e.code() == ssh2::ErrorCode::Session(-37) => {
                    if started.elapsed() > timeout {
                        return Err(ForwardError::Failed(format!(
                            "{}: opening a channel to {bare}:{port} timed out",
                            self.shown
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                // The server answered the channel request with a failure:
                // it tried to connect and could not.
                Err(e) if e.code() == ssh2::ErrorCode::Session(-21) => {
                    return Err(ForwardError::Unreachable(format!(
                        "{} could not open a connection to {bare}:{port}: {} (refused, unreachable or not resolvable there)",
                        self.shown,
                        e.message()
                    )))
                }
                Err(e) => {
                    return Err(ForwardError::Failed(format!(
                        "{}: opening a channel to {bare}:{port} failed: {}",
                        self.shown,
                        e.message()
                    )))
                }
            }
        };
        let (client, carried) =
            super::loopback_pair().map_err(|e| ForwardError::Failed(e.to_string()))?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // A forward that carries a jump host's session lives as long as that
        // session, however long it is silent between commands; a request's
        // forward ends once it has been silent for longer than the request
        // may take (its client gave up by then), and a few seconds more.
        let idle_limit = (!self.carries_sessions).then(|| given + Duration::from_secs(5));
        let handle = {
            let stop = stop.clone();
            std::thread::spawn(move || pump(carried, channel, &stop, idle_limit))
        };
        let mut forward = super::Forward::connected(
            client,
            Some(Box::new(Pump {
                stop,
                handle: Some(handle),
                _ticket: ticket,
            })),
        );
        forward.queued = queued;
        Ok(forward)
    }
}

/// Ends and joins a forwarding thread when the forward is dropped.
/// Fields drop in order: the thread is joined before the turn is given back.
struct Pump {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
    _ticket: Ticket,
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Moves bytes between the carried end of a loopback pair and the channel until
/// both sides are done, the forward is dropped, or nothing happens for
/// `idle_limit` (never, without one).
fn pump(
    mut stream: std::net::TcpStream,
    mut channel: ssh2::Channel,
    stop: &std::sync::atomic::AtomicBool,
    idle_limit: Option<Duration>,
) {
    use std::io::{ErrorKind, Read};
    use std::sync::atomic::Ordering;
    let idle = |last: std::time::Instant| idle_limit.is_some_and(|l| last.elapsed() > l);
    let mut last = std::time::Instant::now();
    let _ = stream.set_nonblocking(true);
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 32 * 1024];
    let (mut up, mut down): (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
    let (mut client_done, mut eof_sent, mut remote_done) = (false, false, false);
    loop {
        let mut moved = false;
        if !client_done && up.len() < 1 << 20 {
            match stream.read(&mut buf) {
                Ok(0) => client_done = true,
                Ok(n) => {
                    up.extend_from_slice(&buf[..n]);
                    moved = true
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        if !up.is_empty() {
            match channel.write(&up) {
                Ok(n) => {
                    up.drain(..n);
                    moved |= n > 0
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        if client_done && up.is_empty() && !eof_sent {
            match channel.send_eof() {
                Ok(()) => eof_sent = true,
                Err(e) if e.code() == ssh2::ErrorCode::Session(-37) => {}
                Err(_) => break,
            }
        }
        if !remote_done && down.len() < 1 << 20 {
            match channel.read(&mut buf) {
                Ok(0) => remote_done = channel.eof(),
                Ok(n) => {
                    down.extend_from_slice(&buf[..n]);
                    moved = true
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        if !down.is_empty() {
            match stream.write(&down) {
                Ok(n) => {
                    down.drain(..n);
                    moved |= n > 0
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        if (remote_done && down.is_empty()) || (client_done && eof_sent && remote_done) {
            break;
        }
        if moved {
            last = std::time::Instant::now();
        } else {
            // Once dropped, what is buffered gets a second to drain.
            if idle(last)
                || (stop.load(Ordering::SeqCst)
                    && ((up.is_empty() && down.is_empty())
                        || last.elapsed() > Duration::from_secs(1)))
            {
                break;
            }
            std::thread::sleep(Duration::from_micros(300));
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = channel.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn jump_hosts_parse_as_openssh_writes_them() {
        assert_eq!(
            parse_hop("ssh://deploy@bastion:2222").unwrap(),
            (Some("deploy".into()), "bastion".into(), Some(2222))
        );
        assert_eq!(
            parse_hop("bastion").unwrap(),
            (None, "bastion".into(), None)
        );
        assert_eq!(
            parse_hop("me@[2001:db8::1]:22").unwrap(),
            (Some("me".into()), "2001:db8::1".into(), Some(22))
        );
        for bad in [
            "",
            "host:port",
            "-oProxyCommand=x",
            "a/b",
            "[::1",
            "host:99999",
        ] {
            assert!(parse_hop(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn options_are_checked() {
        let opts = |pairs: &[(&str, &str)]| {
            parse_options(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert!(opts(&[("sudo", "true"), ("timeout", "30s")]).unwrap().sudo);
        assert!(opts(&[("sudo_user", "postgres")]).unwrap().sudo);
        assert!(opts(&[("sudo", "maybe")]).is_err());
        assert!(opts(&[("password", "hunter2")])
            .unwrap_err()
            .contains("unknown option"));
        assert_eq!(known_hosts_name("h", 22), "h");
        assert_eq!(known_hosts_name("h", 2222), "[h]:2222");
    }
}
