//! Containment of what a round of the author's commands starts, where the
//! runner can see it from outside the target's reach: everything such a
//! round started is found and stopped when it ends, whatever it did to leave
//! its session (`setsid`, a double fork).
//!
//! Two mechanisms, one per kind of backend that can have them:
//! - a **process tree** ([`kill_tree`]): a local `sh` started as a child
//!   subreaper (`PR_SET_CHILD_SUBREAPER`) keeps every orphan of what it ran
//!   below it, so its descendants, read from this machine's `/proc`, are all
//!   that it started;
//! - a **cgroup** ([`Cgroup`]): a container's `docker exec`, seen from the
//!   engine's host, is moved into a cgroup of its own below the container's
//!   before the round is written; a process cannot leave a cgroup without
//!   write access to the cgroup filesystem, which a container does not have.
//!
//! Both are read and done by the runner, from this machine's kernel: nothing
//! on the target can forge them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One line of `/proc/PID/stat`, the fields containment needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    pub state: u8,
    pub ppid: u32,
}

/// Parses `/proc/PID/stat` (the command name may hold spaces and
/// parentheses: the fields follow its last `)`).
pub fn parse_stat(pid: u32, line: &[u8]) -> Option<ProcStat> {
    let close = line.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(line.get(close + 1..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let state = *fields.next()?.as_bytes().first()?;
    let ppid = fields.next()?.parse().ok()?;
    Some(ProcStat { pid, state, ppid })
}

/// Every process of this machine's PID namespace, as far as `/proc` shows.
fn processes() -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| parse_stat(pid, &std::fs::read(format!("/proc/{pid}/stat")).ok()?))
        .collect()
}

/// The live (not zombie) descendants of `root` in `table`.
pub fn descendants(table: &[ProcStat], root: u32) -> Vec<u32> {
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        let children: Vec<u32> = table
            .iter()
            .filter(|p| p.ppid == parent && p.pid != root && !found.contains(&p.pid))
            .map(|p| p.pid)
            .collect();
        found.extend(children);
        i += 1;
    }
    found.remove(0);
    found.retain(|pid| table.iter().any(|p| p.pid == *pid && p.state != b'Z'));
    found
}

fn kill(pid: u32) {
    // SAFETY: kill(2) on a PID; no memory is involved.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

/// How long stopping what a round left may take before it is given up.
const SWEEP_LIMIT: Duration = Duration::from_secs(3);

/// Kills every live descendant of `root` (not `root` itself), again and
/// again while new ones appear (a process that forks while its parent is
/// killed leaves an orphan below the subreaper). True when none is left.
pub fn kill_tree(root: u32) -> bool {
    let started = Instant::now();
    loop {
        let left = descendants(&processes(), root);
        if left.is_empty() {
            return true;
        }
        if started.elapsed() > SWEEP_LIMIT {
            return false;
        }
        left.into_iter().for_each(kill);
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A cgroup made for one round, below the cgroup of the process it holds.
#[derive(Debug)]
pub struct Cgroup {
    dir: PathBuf,
}

/// The directory of `pid`'s cgroup in one hierarchy this machine mounts at
/// `/sys/fs/cgroup` (the unified one, or a v1 hierarchy that only tracks or
/// limits processes, so that a child cgroup changes nothing else for them).
fn cgroup_dir_of(pid: u32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let root = Path::new("/sys/fs/cgroup");
    let mut v1 = Vec::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            if root.join("cgroup.controllers").exists() {
                return Some(root.join(path));
            }
            continue;
        }
        for (rank, name) in ["pids", "freezer", "name=systemd"].iter().enumerate() {
            if controllers.split(',').any(|c| c == *name) {
                let mount = name.trim_start_matches("name=");
                v1.push((rank, root.join(mount).join(path)));
            }
        }
    }
    v1.sort();
    v1.into_iter().map(|(_, d)| d).find(|d| d.is_dir())
}

impl Cgroup {
    /// Moves `pid` into a new cgroup named `name` below its own. `None`
    /// where this process may not (not root, a cgroup filesystem it cannot
    /// write, a process it cannot see).
    pub fn enter(pid: u32, name: &str) -> Option<Cgroup> {
        let dir = cgroup_dir_of(pid)?.join(name);
        std::fs::create_dir(&dir).ok()?;
        let cgroup = Cgroup { dir };
        std::fs::write(cgroup.dir.join("cgroup.procs"), pid.to_string()).ok()?;
        Some(cgroup)
    }

    /// Kills every process of the cgroup until it is empty, then removes
    /// it. True when it was emptied.
    pub fn kill_all(mut self) -> bool {
        let dir = std::mem::take(&mut self.dir);
        empty(&dir)
    }
}

/// The processes of the cgroup at `dir`.
fn members(dir: &Path) -> Option<Vec<u32>> {
    let text = std::fs::read_to_string(dir.join("cgroup.procs")).ok()?;
    Some(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// Kills every process of the cgroup at `dir` until there is none, then
/// removes it. True when it was emptied.
fn empty(dir: &Path) -> bool {
    let started = Instant::now();
    // The unified hierarchy kills a whole cgroup at once (Linux 5.14).
    let _ = std::fs::write(dir.join("cgroup.kill"), "1");
    loop {
        match members(dir) {
            Some(m) if m.is_empty() => break,
            Some(m) if started.elapsed() < SWEEP_LIMIT => {
                m.into_iter().for_each(kill);
                std::thread::sleep(Duration::from_millis(2));
            }
            _ => return false,
        }
    }
    // The directory goes once the kernel has let the last member go.
    while std::fs::remove_dir(dir).is_err() && started.elapsed() < SWEEP_LIMIT {
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

impl Drop for Cgroup {
    /// A cgroup never swept is still emptied: nothing it held outlives it.
    fn drop(&mut self) {
        if !self.dir.as_os_str().is_empty() {
            empty(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_reads_past_a_name_with_parentheses_and_spaces() {
        let line = b"42 (a) b (c) S 7 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 99";
        assert_eq!(
            parse_stat(42, line),
            Some(ProcStat {
                pid: 42,
                state: b'S',
                ppid: 7
            })
        );
        assert_eq!(parse_stat(1, b"garbage"), None);
    }

    #[test]
    fn descendants_are_found_through_every_generation_and_zombies_left_out() {
        let p = |pid, ppid, state| ProcStat { pid, state, ppid };
        let table = [
            p(1, 0, b'S'),
            p(10, 1, b'S'),
            p(11, 10, b'S'),
            p(12, 11, b'R'),
            p(13, 10, b'Z'),
            p(20, 1, b'S'),
        ];
        let mut d = descendants(&table, 10);
        d.sort();
        assert_eq!(d, [11, 12]);
        assert!(descendants(&table, 20).is_empty());
    }
}
