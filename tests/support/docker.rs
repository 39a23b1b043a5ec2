//! Docker for the tests: the engine must run; the test images are built on
//! first use (`tests/images/build.sh`, once per test binary, under a lock so
//! that test binaries running at once do not build twice). The `podman` test
//! binary uses podman instead, with the same images copied into it.

use std::process::{Command, Output};

pub const DEBIAN: &str = "infraspec-test/debian:12";
pub const BUSYBOX: &str = "infraspec-test/busybox:1";
pub const NOSHELL: &str = "infraspec-test/noshell:1";
pub const EXITS: &str = "infraspec-test/exits:1";

thread_local! {
    static ENGINE: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// Makes `engine` (`docker` or `podman`) the engine of the tests this
/// thread runs: the harness sets it for each test, `podman` for the podman
/// suite's, `docker` for every other.
pub fn set_engine(engine: &'static str) {
    ENGINE.with(|e| e.set(Some(engine)));
}

/// The engine the running test checks. Tests of both engines share one
/// process, so it is the thread's: a thread a test spawns has none, and a
/// container call from it is a loud error rather than a silent switch to
/// Docker.
pub fn engine() -> &'static str {
    ENGINE.with(|e| e.get()).expect(
        "this thread has no container engine: call support::docker::set_engine in a thread a test spawns",
    )
}

/// The engine as infraspec's messages name it (`the Docker engine`).
pub fn shown_engine() -> &'static str {
    if engine() == "podman" {
        "podman"
    } else {
        "Docker"
    }
}

/// The target of a throwaway container from `image` on this suite's engine.
pub fn image_target(image: &str) -> String {
    format!("{}:{image}", engine())
}

/// The target of a running container on this suite's engine.
pub fn container_target(name: &str) -> String {
    format!("{}://{name}", engine())
}

pub fn docker(args: &[&str]) -> Output {
    Command::new(engine())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", engine()))
}

/// Why Docker tests cannot run here: no engine, or the test images could not
/// be built. Builds (or updates) the images when they are missing or stale.
/// The podman suite needs Docker too: its images are built there and copied.
pub fn unavailable() -> Option<String> {
    match Command::new("docker").arg("info").output() {
        Ok(o) if o.status.success() => {}
        Ok(_) => return Some("`docker info` fails: dockerd is not running".into()),
        Err(_) => return Some("the docker client is not installed".into()),
    }
    if let Err(e) = build_images() {
        return Some(e);
    }
    if engine() == "podman" {
        return podman_images().err();
    }
    None
}

/// The image id an engine has for `image`, if it has it.
fn image_id(engine: &str, image: &str) -> Option<String> {
    let out = Command::new(engine)
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output()
        .ok()?;
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !id.is_empty()).then(|| id.trim_start_matches("sha256:").to_string())
}

/// Copies each test image from Docker into podman when podman lacks it or
/// has another build of it (`docker save | podman load`).
fn podman_images() -> Result<(), String> {
    match Command::new("podman").arg("info").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return Err(format!(
                "`podman info` fails: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
        Err(_) => return Err("podman is not installed (apt-get install podman)".into()),
    }
    for image in [DEBIAN, BUSYBOX, NOSHELL, EXITS] {
        let want = image_id("docker", image).ok_or(format!("docker has no {image}"))?;
        if image_id("podman", image).as_deref() == Some(want.as_str()) {
            continue;
        }
        let save = Command::new("docker")
            .args(["save", image])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("docker save: {e}"))?;
        let load = Command::new("podman")
            .args(["load", "-q"])
            .stdin(save.stdout.expect("piped"))
            .output()
            .map_err(|e| format!("podman load: {e}"))?;
        if !load.status.success() {
            return Err(format!(
                "podman load {image}: {}",
                String::from_utf8_lossy(&load.stderr).trim()
            ));
        }
    }
    Ok(())
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
        let label = format!("infraspec.test={}", std::process::id());
        let mut all = vec!["run", "-d", "--name", &name, "--label", &label];
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
        let mut args = vec!["rm", "-f", "-v"];
        // podman's `rm -f` first waits 10 s for a PID 1 that ignores
        // SIGTERM (`sleep`); Docker's kills at once (and has no `-t`).
        if engine() == "podman" {
            args.extend(["-t", "0"]);
        }
        args.push(&self.0);
        let _ = docker(&args);
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
            &container_target(container),
            "--target",
            "local",
        ])
        .args(["-c", &format!("{{command: sleep {seconds}}}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run infraspec")
}
