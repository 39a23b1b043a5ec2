//! dockerd restarted mid-run. It stops every container on the engine, so it
//! runs only where it is allowed (`INFRASPEC_ALLOW_DOCKERD_RESTART=1`, set by
//! `.ci/run`, which owns the engine), in a test binary of its own that cargo
//! runs last, and it waits until the engine is back before it ends.

#[macro_use]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn engine_up() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn dockerd_restarted_mid_run() {
    let c = support::docker::Running::start(support::docker::BUSYBOX);
    let started = Instant::now();
    // The probe outlasts the engine's shutdown, which kills the container
    // (after its 10 s stop timeout): the batch is cut, an error. (A batch
    // that printed its last line before that is whole, and a pass: the kept
    // `sh` needs no API call after it.)
    let child = support::docker::spawn_long_run(&c.0, 20);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        Command::new("pkill")
            .args(["-TERM", "-x", "dockerd"])
            .status()
            .unwrap()
            .success(),
        "no dockerd to restart"
    );
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();

    // Bring the engine back for whatever runs next, whatever happened above.
    let down = Instant::now();
    while Command::new("pgrep")
        .args(["-x", "dockerd"])
        .output()
        .unwrap()
        .status
        .success()
        && down.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    Command::new("sh")
        .args([
            "-c",
            "setsid dockerd >/tmp/infraspec-dockerd-restart.log 2>&1 < /dev/null &",
        ])
        .status()
        .unwrap();
    let back = Instant::now();
    while !engine_up() {
        assert!(
            back.elapsed() < Duration::from_secs(60),
            "dockerd did not come back"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    drop(c);

    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(2), "{doc:#}");
    assert!(took < Duration::from_secs(45), "took {took:?}");
    let error = doc["targets"][0]["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("running probes on docker://"), "{doc:#}");
    assert_eq!(
        doc["targets"][1]["checks"][0]["outcome"], "pass",
        "the other target still reports"
    );
}

infraspec_tests! {
    DockerdRestart: [
        dockerd_restarted_mid_run,
    ],
}

fn main() -> std::process::ExitCode {
    support::harness::run(tests())
}
