//! Docker for the tests: the engine must run; the test images are built on
//! first use (`tests/images/build.sh`, once per test binary, under a lock so
//! that test binaries running at once do not build twice).

use std::process::{Command, Output};

pub const DEBIAN: &str = "infraspec-test/debian:12";
pub const BUSYBOX: &str = "infraspec-test/busybox:1";
pub const NOSHELL: &str = "infraspec-test/noshell:1";
pub const EXITS: &str = "infraspec-test/exits:1";

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("run docker")
}

/// Why Docker tests cannot run here: no engine, or the test images could not
/// be built. Builds (or updates) the images when they are missing or stale.
pub fn unavailable() -> Option<String> {
    match Command::new("docker").arg("info").output() {
        Ok(o) if o.status.success() => {}
        Ok(_) => return Some("`docker info` fails: dockerd is not running".into()),
        Err(_) => return Some("the docker client is not installed".into()),
    }
    build_images().err()
}

/// Runs tests/images/build.sh, which builds only what is missing or stale,
/// holding an exclusive lock on a file in the temporary directory.
fn build_images() -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let lock_path = std::env::temp_dir().join("infraspec-test-images.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    // SAFETY: flock on an open file; released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!("cannot lock {}", lock_path.display()));
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/images/build.sh");
    let out = Command::new("bash")
        .arg(script)
        .output()
        .map_err(|e| format!("cannot run {script}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let said = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = said.lines().rev().take(5).collect();
        Err(format!(
            "the test images could not be built ({script}; it needs debootstrap and busybox-static): {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        ))
    }
}

/// Containers (running or not) that infraspec process `pid` created.
pub fn containers_of(pid: u32) -> Vec<String> {
    let out = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=org.infraspec.pid={pid}"),
    ]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A container started for a test, removed on drop.
pub struct Running(pub String);

impl Running {
    pub fn start(image: &str) -> Running {
        Running::start_with(&[image])
    }

    /// A container from `docker run -d --name NAME` and then `args`: options,
    /// the image and a command.
    pub fn start_with(args: &[&str]) -> Running {
        let name = format!(
            "infraspec-test-{}-{}",
            std::process::id(),
            crate::support::sshd::free_port()
        );
        let mut all = vec!["run", "-d", "--name", &name];
        all.extend(args);
        let out = docker(&all);
        assert!(
            out.status.success(),
            "docker run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Running(name)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", "-v", &self.0]);
    }
}

/// Starts infraspec against `docker://container` and `local`, both running a
/// `sleep SECONDS` command, with a JSON report: a run long enough to break.
pub fn spawn_long_run(container: &str, seconds: u32) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args([
            "--format",
            "json",
            "--target",
            &format!("docker://{container}"),
            "--target",
            "local",
        ])
        .args(["-c", &format!("{{command: sleep {seconds}}}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run infraspec")
}
