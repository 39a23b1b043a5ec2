//! Faults: targets that die mid-run, names that do not resolve, runs killed at
//! any point. Each ends in bounded time, says which target and which phase,
//! leaves the other targets' results standing and leaves nothing behind.

use crate::support;

use support::text;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}\n{}", text(&out.stdout), text(&out.stderr)))
}

fn a_name_that_does_not_resolve_is_exit_2_at_once() {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args([
            "--format",
            "json",
            "--target",
            "ssh://x@infraspec-no-such-host.invalid",
            "--target",
            "local",
            "-c",
            "user: root",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc = json(&out);
    assert!(
        doc["targets"][0]["error"]
            .as_str()
            .unwrap()
            .contains("cannot resolve infraspec-no-such-host.invalid"),
        "{doc:#}"
    );
    assert_eq!(doc["targets"][1]["checks"][0]["outcome"], "pass");
    assert!(started.elapsed() < Duration::from_secs(10));
}

fn sshd_killed_mid_run() {
    let mut s = support::sshd::start();
    let started = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_infraspec"));
    cmd.args([
        "--format",
        "json",
        "--target",
        "ssh://box",
        "--target",
        "local",
        "-c",
        "{command: sleep 4}",
    ])
    .env("HOME", &s.home)
    .env_remove("SSH_AUTH_SOCK")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    s.kill();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let doc = json(&out);
    let error = doc["targets"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.starts_with("running probes on "), "{doc:#}");
    assert!(error.contains("ssh://box"), "{error}");
    assert_eq!(
        doc["targets"][1]["checks"][0]["outcome"], "pass",
        "the other target still reports"
    );
}

fn container_killed_mid_run() {
    let c = support::docker::Running::start(support::docker::BUSYBOX);
    let started = Instant::now();
    let child = support::docker::spawn_long_run(&c.0, 4);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(Command::new("docker")
        .args(["kill", &c.0])
        .output()
        .unwrap()
        .status
        .success());
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(2), "{doc:#}");
    let error = doc["targets"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        error.starts_with("running probes on ") && error.contains(&c.0),
        "{doc:#}"
    );
    assert_eq!(
        doc["targets"][1]["checks"][0]["outcome"], "pass",
        "the other target still reports"
    );
}

/// Runs killed at several points, with SIGINT or SIGTERM: no throwaway
/// container and no temporary directory on the (local) target survives.
fn runs_killed_at_any_point_leave_nothing_behind() {
    let guard = support::temp_dir();
    let tmp = guard.path();
    let target = format!("docker:{}", support::docker::BUSYBOX);
    for (delay_ms, signal) in [
        (150, "-INT"),
        (600, "-TERM"),
        (1100, "-INT"),
        (1700, "-TERM"),
        (2300, "-INT"),
    ] {
        let child = Command::new(env!("CARGO_BIN_EXE_infraspec"))
            .args(["--target", &target, "--target", "local"])
            .args([
                "-c",
                "{port: 9, eventually: {timeout: 30s, interval: 100ms}}",
                "-c",
                "{command: 'sleep 0.3'}",
            ])
            .env("TMPDIR", tmp)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status();
        let _ = child.wait_with_output();
        assert!(
            support::docker::containers_of(pid).is_empty(),
            "a container survived {signal} after {delay_ms} ms"
        );
        // A probe script still running finishes and removes its directory.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left: Vec<_> = std::fs::read_dir(tmp)
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name())
                .collect();
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "temporary files survived {signal} after {delay_ms} ms: {left:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

infraspec_tests! {
    Nothing: [
        a_name_that_does_not_resolve_is_exit_2_at_once,
    ],
    Ssh: [
        sshd_killed_mid_run,
    ],
    Docker: [
        container_killed_mid_run,
        runs_killed_at_any_point_leave_nothing_behind,
    ],
}
