//! Connections made from a container's network namespace.
//!
//! A network check on a container target must see what the container sees:
//! its loopback, its routes, its firewall. Connecting from the runner to the
//! container's bridge address (the first design) reads the runner's view for
//! every other address: `127.0.0.2`, the bridge gateway, a container started
//! with `--network none`. So the connection is made *inside* the container's
//! network namespace: a short-lived thread joins it with `setns(2)`, opens the
//! socket there and ends; a socket keeps the namespace it was made in, so the
//! request uses that socket itself, in this process (no port on the runner
//! that another process could take).
//!
//! Entering a namespace needs the container's process in this machine's PID
//! namespace and the right to join (root, or `CAP_SYS_ADMIN`). Where either
//! is missing the check is an error that says so, never a connection from the
//! runner. The PID the engine reports is taken as the container's only when
//! that process's mount table names the container's full id (Docker and podman
//! bind-mount `hosts`/`resolv.conf` from a directory named after it), read
//! through the same `/proc/PID` handle as the namespace, so a reused PID or an
//! engine on another host cannot lend another namespace.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use super::{open_at, ForwardError};

/// True when a mount table names `id` as a whole path component.
fn mounts_name(mountinfo: &str, id: &str) -> bool {
    mountinfo.lines().any(|line| {
        line.split(' ')
            .take(5)
            .any(|field| field.split('/').any(|part| part == id))
    })
}

/// `/proc/PID` of a process of the container whose full id is `id`, opened
/// once its mount table was read through it and named the container (a
/// reused PID, or an engine on another host, cannot lend another process);
/// why not otherwise.
pub fn container_process(pid: i64, id: &str) -> Result<OwnedFd, String> {
    if pid <= 0 {
        return Err(format!("the engine reports no process for it (pid {pid})"));
    }
    let proc_dir = open_at(
        None,
        &format!("/proc/{pid}"),
        libc::O_RDONLY | libc::O_DIRECTORY,
    )
    .map_err(|e| format!("its process {pid} is not visible here ({e})"))?;
    let mut mountinfo = String::new();
    std::fs::File::from(
        open_at(Some(&proc_dir), "mountinfo", libc::O_RDONLY)
            .map_err(|e| format!("cannot read /proc/{pid}/mountinfo ({e})"))?,
    )
    .take(16 << 20)
    .read_to_string(&mut mountinfo)
    .map_err(|e| format!("cannot read /proc/{pid}/mountinfo ({e})"))?;
    if id.len() < 12 || !mounts_name(&mountinfo, id) {
        return Err(format!(
            "process {pid} here is not the container's (its mounts do not name the container)"
        ));
    }
    Ok(proc_dir)
}

/// The network namespace of the container whose first process is `pid`
/// (as its engine reports it) and whose full id is `id`.
pub fn namespace_of(pid: i64, id: &str) -> Result<OwnedFd, ForwardError> {
    let gone = |why: String| {
        ForwardError::Failed(format!(
            "cannot enter the container's network namespace: {why}; network checks on a \
             container are made from inside it, so infraspec must run on the engine's host, \
             in its PID namespace (`from: runner` asks for this machine's view instead)"
        ))
    };
    let proc_dir = container_process(pid, id).map_err(gone)?;
    open_at(Some(&proc_dir), "ns/net", libc::O_RDONLY).map_err(|e| {
        gone(format!(
            "cannot open /proc/{pid}/ns/net ({e}; it needs root on the engine's host)"
        ))
    })
}

/// Connects to `addr` from inside the network namespace `ns`, within
/// `timeout`. A refusal, an unreachable network or a timeout there is an
/// answer ([`ForwardError::Unreachable`]); failing to enter is not.
pub fn connect_in(
    ns: OwnedFd,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<TcpStream, ForwardError> {
    // The thread that joins the namespace ends right after: no other work
    // ever runs in it.
    let joined = std::thread::Builder::new()
        .name("infraspec-netns".into())
        .spawn(move || {
            // SAFETY: a namespace descriptor we own; setns changes only this thread.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                let e = std::io::Error::last_os_error();
                return Err(ForwardError::Failed(format!(
                    "cannot enter the container's network namespace: {e} (it needs root, or \
                     CAP_SYS_ADMIN, on the engine's host; `from: runner` asks for this machine's view instead)"
                )));
            }
            TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
                ForwardError::Unreachable(format!(
                    "connecting to {addr} from inside the container: {e}"
                ))
            })
        })
        .map_err(|e| ForwardError::Failed(format!("cannot start a thread: {e}")))?;
    joined
        .join()
        .map_err(|_| ForwardError::Failed("the connecting thread panicked".into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_container_is_named_by_a_whole_path_component() {
        let id = "4f2c1e0c9a7b6d5e4f2c1e0c9a7b6d5e4f2c1e0c9a7b6d5e4f2c1e0c9a7b6d5e";
        let docker = format!("612 598 8:1 /var/lib/docker/containers/{id}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw\n");
        assert!(mounts_name(&docker, id));
        let other = format!("612 598 8:1 /var/lib/docker/containers/{id}x/hosts /etc/hosts rw - ext4 /dev/sda1 rw\n");
        assert!(!mounts_name(&other, id));
        assert!(!mounts_name("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n", id));
    }
}
