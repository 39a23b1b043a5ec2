//! A real OpenSSH server for the tests, on 127.0.0.1 and a free port, with
//! generated host and client keys, and a home directory for the client side
//! (`~/.ssh/config`, known_hosts, keys) that the tests hand to infraspec as HOME.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "infraspec-ssh";
/// A user with a password (`PASSWORD`), whose sudo asks for it.
pub const PW_USER: &str = "infraspec-sshpw";
pub const PASSWORD: &str = "infraspec-test-pw";

pub struct Sshd {
    pub port: u16,
    pub dir: PathBuf,
    /// The client's HOME: `.ssh/` holds `id_test`, `known_hosts` and `config`.
    pub home: PathBuf,
    child: Child,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn keygen(path: &Path) {
    let _ = std::fs::remove_file(path);
    run(Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "infraspec-test",
            "-f",
        ])
        .arg(path));
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Why SSH tests cannot run here, if they cannot.
pub fn unavailable() -> Option<String> {
    if !Path::new("/usr/sbin/sshd").exists() {
        return Some("sshd is not installed (bash tests/ssh/setup.sh)".into());
    }
    let id = Command::new("id").arg(USER).output().ok()?;
    if !id.status.success() {
        return Some(format!(
            "user {USER} does not exist (bash tests/ssh/setup.sh)"
        ));
    }
    None
}

/// Skips (returns None) when SSH is unavailable, unless INFRASPEC_REQUIRE_SSH=1,
/// in which case the test fails.
pub fn start() -> Option<Sshd> {
    if let Some(why) = unavailable() {
        if std::env::var("INFRASPEC_REQUIRE_SSH").as_deref() == Ok("1") {
            panic!("SSH tests are required but cannot run: {why}");
        }
        eprintln!("skipping SSH test: {why}");
        return None;
    }
    let dir = std::env::temp_dir().join(format!(
        "infraspec-sshd-{}-{}",
        std::process::id(),
        free_port()
    ));
    let home = dir.join("home");
    let ssh = home.join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    // sshd reads authorized_keys as the test user.
    run(Command::new("chmod").args(["755"]).arg(&dir));
    keygen(&dir.join("host_ed25519"));
    keygen(&ssh.join("id_test"));
    std::fs::copy(ssh.join("id_test.pub"), dir.join("authorized_keys")).unwrap();
    let port = free_port();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nPidFile {d}/sshd.pid\n\
         AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\nPasswordAuthentication yes\n\
         KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin no\nAllowUsers {USER} {PW_USER}\n\
         LogLevel ERROR\nMaxStartups 100\nMaxSessions 50\n",
        d = dir.display()
    );
    std::fs::write(dir.join("sshd_config"), config).unwrap();
    std::fs::create_dir_all("/run/sshd").ok();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start sshd");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "sshd did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let host_pub = std::fs::read_to_string(dir.join("host_ed25519.pub")).unwrap();
    let key = host_pub
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    std::fs::write(
        ssh.join("known_hosts"),
        format!("[127.0.0.1]:{port} {key}\n"),
    )
    .unwrap();
    std::fs::write(
        ssh.join("config"),
        format!("Host box\n    HostName 127.0.0.1\n    Port {port}\n    User {USER}\n    IdentityFile ~/.ssh/id_test\n"),
    )
    .unwrap();
    Some(Sshd {
        port,
        dir,
        home,
        child,
    })
}

impl Sshd {
    /// Kills this sshd and every session it serves, as a crash or a reboot would.
    pub fn kill(&mut self) {
        let _ = Command::new("pkill")
            .args(["-KILL", "-P", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `signal` to every process this sshd started (the sessions it
    /// serves and what runs in them), not to sshd itself.
    pub fn signal_sessions(&self, signal: i32) {
        let mut parents = std::collections::HashMap::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
                continue;
            };
            if let Some(ppid) = after.split(' ').nth(1).and_then(|p| p.parse::<i32>().ok()) {
                parents.insert(pid, ppid);
            }
        }
        let root = self.child.id() as i32;
        for (&pid, _) in parents.iter() {
            let mut at = pid;
            while let Some(&up) = parents.get(&at) {
                if up == root {
                    // SAFETY: signals a process of this test's own sshd.
                    unsafe {
                        libc::kill(pid, signal);
                    }
                    break;
                }
                at = up;
            }
        }
    }

    pub fn ssh_dir(&self) -> PathBuf {
        self.home.join(".ssh")
    }

    /// Runs infraspec with this HOME, no agent, and the given extra environment.
    pub fn infraspec(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_infraspec"));
        cmd.args(args)
            .env("HOME", &self.home)
            .env("NO_COLOR", "1")
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("INFRASPEC_TARGET");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run infraspec")
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
