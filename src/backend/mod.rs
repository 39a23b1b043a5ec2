//! Backends: the one door to a target.
//!
//! A backend runs an argv with bytes on stdin and returns the exit status,
//! stdout and stderr as bytes. Nothing else: facts, probes and every resource
//! go through [`Backend::exec`], so a resource never knows where it runs.
//! A backend that can keeps a command running for rounds of input and output
//! ([`Backend::start`], [`Shell`]): a session's facts and every round of its
//! probes go through one `sh` on the target (one process, one SSH channel,
//! one `docker exec`), and [`Backend::exec`] is, by default, one round that
//! closes the input.

use std::time::Duration;

use crate::model::file::FileType;
use crate::model::target::Target;

pub mod contain;
pub mod docker;
pub mod endpoint;
pub mod image_file;
pub mod inflight;
pub mod local;
pub mod netns;
pub mod ssh;
pub mod ssh_config;
pub mod ustar;

/// Most bytes of one exec's stdout (or stderr) a backend keeps; the rest is
/// read and dropped, so a target that prints without end cannot exhaust memory.
pub const EXEC_OUTPUT_CAP: usize = 256 << 20;

/// What one exec returned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOutput {
    /// The exit status; `None` when the process was ended by a signal.
    pub status: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// More than [`EXEC_OUTPUT_CAP`] bytes came; the rest was dropped.
    pub truncated: bool,
    /// The command did not end within its time and was stopped: the output
    /// is what came until then.
    pub timed_out: bool,
}

impl ExecOutput {
    /// What a round of a command that goes on read ([`Shell::round`]): no
    /// status, not timed out.
    pub fn going_on(stdout: Vec<u8>, stderr: Vec<u8>, truncated: bool) -> ExecOutput {
        ExecOutput {
            status: None,
            stdout,
            stderr,
            truncated,
            timed_out: false,
        }
    }
}

/// Waits until `fd` has something to read (or was closed), for at most
/// `timeout`; false when the time ran out.
pub fn wait_readable(fd: &impl std::os::fd::AsRawFd, timeout: Duration) -> std::io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: one valid pollfd, for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    match n {
        n if n < 0 => {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(e)
            }
        }
        0 => Ok(false),
        _ => Ok(true),
    }
}

/// Appends what fits under [`EXEC_OUTPUT_CAP`]; true when something was dropped.
pub fn push_capped(buf: &mut Vec<u8>, data: &[u8], cap: usize) -> bool {
    let room = cap.saturating_sub(buf.len());
    buf.extend_from_slice(&data[..data.len().min(room)]);
    data.len() > room
}

/// Reads `r` to its end, keeping at most `cap` bytes.
pub fn read_capped(mut r: impl std::io::Read, cap: usize) -> std::io::Result<(Vec<u8>, bool)> {
    let mut kept = Vec::new();
    let mut dropped = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok((kept, dropped)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        dropped |= n > room;
    }
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
    #[error("{target}: {what} is not available on this kind of target")]
    Unsupported { target: String, what: &'static str },
}

/// A path on the target as read without a shell (the Docker archive API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathEntry {
    /// What kind of file the path is.
    pub file_type: FileType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    pub link_target: Option<String>,
    /// A regular file's content, up to [`OUTPUT_CAP`](crate::probe::OUTPUT_CAP) bytes.
    pub content: Vec<u8>,
    pub truncated: bool,
}

/// A way to `host:port` as the target sees it: an address this process
/// connects to itself (the target is this machine), or a connection
/// already made, handed over in-process (a socket made in a container's
/// network namespace, one end of a loopback pair whose other end this
/// process accepted and carries over an SSH channel). No port is ever
/// left for another process of the runner to take. Whatever keeps the path
/// open lives as long as this does.
pub struct Forward {
    /// How long the request waited for its turn before the path was opened
    /// (an SSH session carries one forward at a time): not part of the
    /// server's response time.
    pub queued: std::time::Duration,
    to: To,
    _keep: Option<Box<dyn Send>>,
}

enum To {
    Addr(std::net::SocketAddr),
    Stream(Option<std::net::TcpStream>),
}

impl Forward {
    /// A path that needs nothing kept open: `addr` is reached from here.
    pub fn direct(addr: std::net::SocketAddr) -> Forward {
        Forward {
            queued: std::time::Duration::ZERO,
            to: To::Addr(addr),
            _keep: None,
        }
    }

    /// A connection already made, kept open (with `keep`, a carrying
    /// thread, say) for as long as this lives.
    pub fn connected(stream: std::net::TcpStream, keep: Option<Box<dyn Send>>) -> Forward {
        Forward {
            queued: std::time::Duration::ZERO,
            to: To::Stream(Some(stream)),
            _keep: keep,
        }
    }

    /// The connection to `host:port`: made to the address within
    /// `timeout`, or the one this holds (once).
    pub fn connect(
        &mut self,
        timeout: std::time::Duration,
    ) -> std::io::Result<std::net::TcpStream> {
        match &mut self.to {
            To::Addr(addr) => std::net::TcpStream::connect_timeout(addr, timeout),
            To::Stream(stream) => stream
                .take()
                .ok_or_else(|| std::io::Error::other("the forward's connection was already taken")),
        }
    }
}

/// A connected pair of loopback TCP sockets, made in this process: the
/// listener accepts only the connection this process made (its peer is the
/// client's own address, which no other socket can hold) and is closed at
/// once, so no other process can take the place of either end.
pub fn loopback_pair() -> std::io::Result<(std::net::TcpStream, std::net::TcpStream)> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    let mine = client.local_addr()?;
    listener.set_nonblocking(true)?;
    let started = std::time::Instant::now();
    loop {
        match listener.accept() {
            Ok((accepted, peer)) if peer == mine => {
                accepted.set_nonblocking(false)?;
                return Ok((client, accepted));
            }
            // Another process's connection: closed, never carried.
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if started.elapsed() > std::time::Duration::from_secs(5) {
                    return Err(std::io::Error::other(
                        "the loopback connection this process made never arrived",
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Why a target cannot reach `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardError {
    /// The name does not resolve where the target looks it up.
    Dns(String),
    /// The target tried and could not connect (refused, unreachable): an
    /// answer about `host:port`, not about the path to it.
    Unreachable(String),
    /// The path itself failed or does not exist (a broken session, a
    /// backend that cannot carry connections): nothing is known of `host:port`.
    Failed(String),
}

impl std::fmt::Display for ForwardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForwardError::Dns(m) | ForwardError::Unreachable(m) | ForwardError::Failed(m) => {
                f.write_str(m)
            }
        }
    }
}

/// Resolves `host:port` on this machine.
pub fn resolve_here(host: &str, port: u16) -> Result<std::net::SocketAddr, ForwardError> {
    use std::net::ToSocketAddrs;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host, port)
        .to_socket_addrs()
        .map_err(|e| ForwardError::Dns(format!("could not resolve {host}: {e}")))?
        .next()
        .ok_or_else(|| ForwardError::Dns(format!("{host} has no address")))
}

/// A command kept running on a target, its input open: written to, and read
/// from, round by round ([`Backend::start`]). Dropping it closes its input,
/// and a command that does not end then is stopped.
pub trait Shell {
    /// Writes `input` (then closes the input, when `close`) and reads what the
    /// command prints until `done` holds for the stdout of this round, the
    /// command ends, or `timeout` passes (then the command is stopped, and the
    /// output says `timed_out`). The output holds this round's bytes; its
    /// `status` is set when the command ended in this round. A round after
    /// the command ended is an error.
    fn round(
        &mut self,
        input: &[u8],
        close: bool,
        timeout: Duration,
        cap: usize,
        done: &dyn Fn(&[u8]) -> bool,
    ) -> Result<ExecOutput, BackendError>;

    /// Whether the command still runs with its input open, so that another
    /// round can be written to it.
    fn is_open(&self) -> bool;

    /// Makes every process the command starts from now on one the runner
    /// can find from outside the target's reach ([`contain`]), whatever it
    /// does to leave its session, so that [`Shell::sweep`] stops them all.
    /// False where this backend cannot: then the probe script's own sweep
    /// is all there is.
    fn contain(&mut self) -> bool {
        false
    }

    /// Ends the command and every process it started since
    /// [`Shell::contain`] said true; true when none of them is left. No
    /// round can follow.
    fn sweep(&mut self) -> bool {
        false
    }
}

/// A way to run commands on a target.
pub trait Backend: Send + Sync {
    /// Runs `argv` with `stdin`, for at most `timeout`: by default,
    /// [`Backend::exec_capped`] with [`EXEC_OUTPUT_CAP`]. A backend
    /// implements this or [`Backend::start`].
    fn exec(
        &self,
        argv: &[String],
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<ExecOutput, BackendError> {
        self.exec_capped(argv, stdin, timeout, EXEC_OUTPUT_CAP)
    }

    /// [`Backend::exec`], keeping up to `cap` bytes of each stream (instead
    /// of [`EXEC_OUTPUT_CAP`]): a batch whose probes may print more, by the
    /// `max_output` its checks ask for, is not cut. By default one round of
    /// a command [started](Backend::start) that closes its input; where
    /// nothing can be started, [`Backend::exec`] (which keeps its own cap).
    fn exec_capped(
        &self,
        argv: &[String],
        stdin: &[u8],
        timeout: Duration,
        cap: usize,
    ) -> Result<ExecOutput, BackendError> {
        match self.start(argv)? {
            Some(mut shell) => shell.round(stdin, true, timeout, cap, &|_| false),
            None => self.exec(argv, stdin, timeout),
        }
    }

    /// Starts `argv` and keeps it running with its input open, for rounds
    /// of input and output ([`Shell`]); `None` where every command runs on
    /// its own (the default: then each batch is one [`Backend::exec`]).
    fn start(&self, argv: &[String]) -> Result<Option<Box<dyn Shell + '_>>, BackendError> {
        let _ = argv;
        Ok(None)
    }

    /// The time a command may run here when `asked` is wanted: the least of
    /// `asked` and the target's own limit (`ssh://…?timeout=10s`). The batch's
    /// deadline is set from it, so that what finished is printed before the
    /// limit ends the command.
    fn exec_limit(&self, asked: Duration) -> Duration {
        asked
    }

    /// The target, as the user wrote it.
    fn target(&self) -> String;

    /// Whether commands run on this machine, as this process's user, with
    /// its environment and in its mount namespace: what they would read,
    /// this process can read itself.
    fn runs_here(&self) -> bool {
        false
    }

    /// A way to run a short shell script on the target from another thread
    /// while a batch runs, to stop that batch when the run is interrupted
    /// (see [`inflight`]); `None` where nothing runs on the target.
    fn side_channel(&self) -> Option<inflight::SideChannel> {
        None
    }

    /// The container runtime, when the backend knows it is one without asking
    /// the target (a shell-less image cannot be asked).
    fn container_runtime(&self) -> Option<crate::model::facts::ContainerRuntime> {
        None
    }

    /// The third door, for `http` checks: an address on this machine that
    /// reaches `host:port` from the target's point of view (`localhost` is the
    /// target). Local targets resolve here; containers connect from inside
    /// their network namespace; SSH targets forward through the connection.
    /// `timeout` bounds making the connection.
    fn forward(&self, host: &str, port: u16, timeout: Duration) -> Result<Forward, ForwardError> {
        let _ = (host, port, timeout);
        Err(ForwardError::Failed(format!(
            "{} cannot carry requests",
            self.target()
        )))
    }

    /// Reads one path without running anything on the target: the second door,
    /// for targets that have no shell (images FROM scratch, distroless). `None`
    /// when the path does not exist; an error where the backend cannot do it.
    fn read_path(&self, path: &str) -> Result<Option<PathEntry>, BackendError> {
        let _ = path;
        Err(BackendError::Unsupported {
            target: self.target(),
            what: "shell-less path",
        })
    }

    /// A whole regular file (a package or user database), read as
    /// [`read_path`](Self::read_path) reads it but keeping up to `cap` bytes;
    /// a larger file is an error, never a part of it. `None` when nothing is
    /// there.
    fn read_whole(&self, path: &str, cap: usize) -> Result<Option<Vec<u8>>, BackendError> {
        let _ = cap;
        match self.read_path(path)? {
            Some(e) if e.truncated => Err(BackendError::Exec {
                target: self.target(),
                command: format!("read {path}"),
                message: format!(
                    "it is larger than the {} MiB read without a shell",
                    crate::probe::OUTPUT_CAP >> 20
                ),
            }),
            Some(e) => Ok(Some(e.content)),
            None => Ok(None),
        }
    }

    /// The names in a directory, read as [`read_path`](Self::read_path)
    /// reads (links followed); `None` when it does not exist or is no
    /// directory.
    fn list_path(&self, dir: &str) -> Result<Option<Vec<String>>, BackendError> {
        let _ = dir;
        Err(BackendError::Unsupported {
            target: self.target(),
            what: "directory listing without a shell",
        })
    }

    /// The image file this backend reads, when it is one: nothing runs on
    /// it, and its config answers `docker_image` checks.
    fn image_file(&self) -> Option<&image_file::ImageFile> {
        None
    }
}

/// `openat(2)` from `dir` (the working directory when `None`), close-on-exec.
pub(crate) fn open_at(
    dir: Option<&std::os::fd::OwnedFd>,
    path: &str,
    flags: libc::c_int,
) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let c = std::ffi::CString::new(path).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    let base = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: a valid C string and directory descriptor; the result is checked.
    let fd = unsafe { libc::openat(base, c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        // SAFETY: a descriptor just opened and owned by the caller.
        Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
    }
}

/// A path's components, `.` and empty ones left out.
pub(crate) fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect()
}

/// Resolves `path` as the kernel does, with links followed inside the
/// target: every directory on the way, and the last component too when
/// `follow_last`. `lookup` reads one path whose directories are all real
/// ones. `None` when a directory on the way is missing or is not one, or
/// links loop (more than 40); a missing last component is no error (the path
/// is what it would be).
pub(crate) fn resolve_path(
    path: &str,
    follow_last: bool,
    lookup: &mut dyn FnMut(&str) -> Result<Option<PathEntry>, String>,
) -> Result<Option<String>, String> {
    let mut pending: Vec<String> = components(path).into_iter().rev().collect();
    let mut at: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            at.pop();
            continue;
        }
        let last = pending.is_empty();
        at.push(part);
        if last && !follow_last {
            break;
        }
        match lookup(&format!("/{}", at.join("/")))? {
            None if last => break,
            None => return Ok(None),
            Some(e) if e.file_type == FileType::Symlink => {
                hops += 1;
                if hops > 40 {
                    // A loop: the kernel answers ELOOP, and for `test -e`
                    // and every reader nothing is there.
                    return Ok(None);
                }
                at.pop();
                // A link whose target could not be read (the engine refused
                // it as a loop) leads nowhere.
                let Some(target) = e.link_target else {
                    return Ok(None);
                };
                if target.starts_with('/') {
                    at.clear();
                }
                pending.extend(components(&target).into_iter().rev());
            }
            Some(e) if last || e.file_type == FileType::Directory => {}
            Some(_) => return Ok(None),
        }
    }
    Ok(Some(format!("/{}", at.join("/"))))
}

/// Reads the first entry of a tar stream (the Docker archive API answers a
/// path with a tar whose first entry is that path), as Go's archive/tar
/// reads it. The stream may stop early after a large file's first bytes: a
/// file's content is kept up to `cap` bytes, and fewer than that of a
/// smaller file is a cut answer.
pub fn first_tar_entry(tar: &[u8], cap: usize) -> Result<PathEntry, String> {
    use ustar::Kind;
    let mut first = None;
    ustar::entries(tar, |e| {
        first = Some(e);
        Ok(std::ops::ControlFlow::Break(()))
    })
    .map_err(|e| format!("unreadable archive: {e}"))?;
    let e = first.ok_or("the archive is empty")?;
    let file_type = match e.kind {
        Kind::File | Kind::HardLink => FileType::File,
        Kind::Dir => FileType::Directory,
        Kind::Symlink => FileType::Symlink,
        Kind::Fifo => FileType::Pipe,
        Kind::Block => FileType::Block,
        Kind::Char => FileType::Char,
        Kind::Other => FileType::Unknown,
    };
    let mut content = Vec::new();
    let mut truncated = false;
    if e.kind == Kind::File {
        if e.sparse.is_some() {
            return Err(
                "the engine answered with a sparse file, which infraspec does not read".into(),
            );
        }
        let cap = cap as u64;
        let want = e.size.min(cap) as usize;
        let start = e.data_offset as usize;
        let have = tar.len().saturating_sub(start).min(want);
        if have < want {
            return Err(format!(
                "the archive holds {have} of the file's {} bytes: it was cut",
                e.size
            ));
        }
        content = tar[start..start + want].to_vec();
        truncated = e.size > cap;
    }
    Ok(PathEntry {
        file_type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        size: e.size,
        mtime: e.mtime,
        link_target: (e.kind == Kind::Symlink).then_some(e.link),
        content,
        truncated,
    })
}

/// How to connect, beyond what the target string says.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Trust and record unknown SSH host keys (`--ssh-accept-new`).
    pub ssh_accept_new: bool,
    /// The SSH config file for targets that name none (`--ssh-config`,
    /// as `ssh -F`), or `none`.
    pub ssh_config: Option<String>,
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
        } => {
            let mut options = options.clone();
            if let Some(f) = &opts.ssh_config {
                options
                    .entry("ssh_config".into())
                    .or_insert_with(|| f.clone());
            }
            Ok(Box::new(ssh::Ssh::connect(
                &target.to_string(),
                user.as_deref(),
                host,
                *port,
                &options,
                opts.ssh_accept_new,
            )?))
        }
        Target::DockerContainer {
            engine,
            container,
            options,
        } => Ok(Box::new(docker::Docker::attach(
            &target.to_string(),
            *engine,
            container,
            options,
        )?)),
        Target::DockerImage {
            engine,
            image,
            options,
        } => Ok(Box::new(docker::Docker::start(
            &target.to_string(),
            *engine,
            image,
            options,
        )?)),
        Target::ImageFile {
            format,
            path,
            reference,
        } => Ok(Box::new(image_file::ImageFile::open(
            &target.to_string(),
            *format,
            path,
            reference.as_deref(),
        )?)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cut_archive_entry_is_an_error_not_a_short_file() {
        let mut header = tar::Header::new_gnu();
        header.set_path("f").unwrap();
        header.set_size(1000);
        header.set_mode(0o644);
        header.set_cksum();
        let mut whole = Vec::new();
        {
            let mut b = tar::Builder::new(&mut whole);
            b.append(&header, &[7u8; 1000][..]).unwrap();
            b.finish().unwrap();
        }
        assert_eq!(
            super::first_tar_entry(&whole, 4096).unwrap().content.len(),
            1000
        );
        let cut = &whole[..512 + 300];
        assert!(super::first_tar_entry(cut, 4096).is_err());
    }

    #[test]
    fn read_capped_keeps_the_cap_and_drains_the_rest() {
        let data = vec![7u8; 300_000];
        let (kept, dropped) = super::read_capped(&data[..], 100_000).unwrap();
        assert_eq!((kept.len(), dropped), (100_000, true));
        let (kept, dropped) = super::read_capped(&data[..10], 100).unwrap();
        assert_eq!((kept.len(), dropped), (10, false));
    }
}
