//! A real OpenSSH server for the tests, running in a test container (the
//! Debian test image, whose users `infraspec-ssh` and `infraspec-sshpw` and
//! their sudo rules exist only inside it), on the host's loopback (host
//! network) at a free port, with host and client keys generated per run in a
//! temporary directory. Nothing is created on the machine outside that
//! directory and the container, and both are removed on drop.
//!
//! The client side (`~/.ssh/config`, known_hosts, keys) lives in a home
//! directory inside the temporary directory, which the tests hand to
//! infraspec as HOME.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::docker::DEBIAN;

pub const USER: &str = "infraspec-ssh";
/// A user with a password (`PASSWORD`), whose sudo asks for it.
pub const PW_USER: &str = "infraspec-sshpw";
pub const PASSWORD: &str = "infraspec-test-pw";

pub struct Sshd {
    pub port: u16,
    pub dir: PathBuf,
    /// The client's HOME: `.ssh/` holds `id_test`, `known_hosts` and `config`.
    pub home: PathBuf,
    /// The container sshd runs in.
    pub container: String,
    /// Removes `dir` after the container (fields drop after `drop`).
    _tmp: tempfile::TempDir,
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
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

/// Why SSH tests cannot run here, beyond Docker, if they cannot.
pub fn unavailable() -> Option<String> {
    match Command::new("ssh-keygen").arg("-?").output() {
        Ok(_) => None,
        Err(_) => Some("ssh-keygen is not installed (apt-get install openssh-client)".into()),
    }
}

/// Starts an sshd in a test container. The harness has checked that Docker
/// and the images are there.
pub fn start() -> Sshd {
    let port = free_port();
    let tmp = super::temp_dir();
    let dir = tmp.path().to_path_buf();
    let home = dir.join("home");
    let ssh = home.join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    // sshd reads authorized_keys as the test user, through the bind mount.
    run(Command::new("chmod").args(["755"]).arg(&dir));
    keygen(&dir.join("host_ed25519"));
    keygen(&ssh.join("id_test"));
    std::fs::copy(ssh.join("id_test.pub"), dir.join("authorized_keys")).unwrap();
    run(Command::new("chmod")
        .arg("644")
        .arg(dir.join("authorized_keys"))
        .arg(dir.join("host_ed25519.pub")));
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey /infraspec-test/host_ed25519\nPidFile /run/sshd-test.pid\n\
         AuthorizedKeysFile /infraspec-test/authorized_keys\nStrictModes no\nUsePAM no\nPasswordAuthentication yes\n\
         KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin no\nAllowUsers {USER} {PW_USER}\n\
         LogLevel ERROR\nMaxStartups 100\nMaxSessions 50\n"
    );
    std::fs::write(dir.join("sshd_config"), config).unwrap();
    let container = format!("infraspec-sshd-{}-{port}", std::process::id());
    run(Command::new("docker").args([
        "run",
        "-d",
        "--name",
        &container,
        "--network",
        "host",
        "--label",
        "org.infraspec.test=sshd",
        "-v",
        &format!("{}:/infraspec-test:ro", dir.display()),
        "--entrypoint",
        "/usr/sbin/sshd",
        DEBIAN,
        "-D",
        "-e",
        "-f",
        "/infraspec-test/sshd_config",
    ]));
    let server = Sshd {
        port,
        dir,
        home,
        container,
        _tmp: tmp,
    };
    server.wait_ready();
    let host_pub = std::fs::read_to_string(server.dir.join("host_ed25519.pub")).unwrap();
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
    server
}

impl Sshd {
    /// Waits until sshd greets on its port.
    fn wait_ready(&self) {
        use std::io::Read;
        let started = Instant::now();
        loop {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut banner = [0u8; 4];
                if s.read_exact(&mut banner).is_ok() && &banner == b"SSH-" {
                    return;
                }
            }
            if started.elapsed() > Duration::from_secs(20) {
                let logs = Command::new("docker")
                    .args(["logs", &self.container])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                    .unwrap_or_default();
                panic!("sshd did not start on port {}: {logs}", self.port);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs a shell command in sshd's container, as root.
    pub fn exec(&self, script: &str) -> Output {
        Command::new("docker")
            .args(["exec", &self.container, "sh", "-c", script])
            .output()
            .expect("docker exec")
    }

    /// Kills sshd and every session it serves, as a crash or a reboot would.
    pub fn kill(&mut self) {
        let _ = Command::new("docker")
            .args(["kill", &self.container])
            .output();
    }

    /// Freezes (`true`) or thaws the whole server, as a hung host or a dead
    /// network looks from the client.
    pub fn freeze(&self, frozen: bool) {
        let verb = if frozen { "pause" } else { "unpause" };
        run(Command::new("docker").args([verb, &self.container]));
    }

    /// Appends `text` (Host blocks) to the client's ssh config.
    pub fn add_config(&self, text: &str) {
        let config = self.ssh_dir().join("config");
        let mut all = std::fs::read_to_string(&config).unwrap();
        all.push_str(text);
        std::fs::write(&config, all).unwrap();
    }

    pub fn ssh_dir(&self) -> PathBuf {
        self.home.join(".ssh")
    }

    /// Runs infraspec with this HOME, no agent, and the given extra environment.
    pub fn infraspec(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(super::bin());
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
        let _ = Command::new("docker")
            .args(["unpause", &self.container])
            .output();
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.container])
            .output();
    }
}
