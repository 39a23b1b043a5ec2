//! Issue 27, "Bounded and clean, round two": runs that must end within a
//! bound, and leave nothing behind on the target, against the real thing
//! (TLS servers written here, containers, the test sshd).

use crate::support;

use support::docker::{container_target, Running};
use support::{show, text};

use std::io::{Read, Write};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

infraspec_tests! {
    Nothing: [
        a_tls_server_that_sends_a_byte_a_second_is_stopped_at_the_checks_timeout,
        a_silent_tls_server_is_stopped_at_the_checks_timeout,
        a_timed_out_command_leaves_no_child_behind_locally,
        inputs_without_end_and_huge_ranges_are_refused_at_once,
        a_checks_max_output_is_never_cut_by_the_batchs_limit,
        add_writes_through_a_link_and_keeps_mode_and_owner,
        a_signal_stops_the_batch_locally,
    ],
    Docker: [
        a_full_tmp_never_hangs_the_batch_nor_leaves_it_running,
        a_target_without_sleep_still_keeps_check_timeouts,
        a_timed_out_command_leaves_no_child_behind_in_a_container,
        a_signal_stops_the_batch_in_a_container,
        a_throwaway_of_a_runner_in_a_gone_container_is_reaped,
        a_private_podman_service_never_outlives_its_run,
    ],
    Ssh: [
        a_timed_out_command_leaves_no_child_behind_over_ssh,
        the_batch_deadline_follows_the_targets_own_timeout,
        a_signal_stops_the_batch_over_ssh,
    ],
}

fn infraspec(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(support::bin())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("INFRASPEC_TARGET")
        .output()
        .expect("run infraspec");
    (out, started.elapsed())
}

/// A TCP server on 127.0.0.1 that reads what a client sends and answers with
/// `serve`, on a thread that lives as long as the test.
fn server(serve: fn(std::net::TcpStream)) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || serve(conn));
        }
    });
    port
}

fn certificate_check(port: u16) -> String {
    format!("{{certificate: 'tls://127.0.0.1:{port}', valid: true, timeout: 3s}}")
}

/// Case 1: a record header, then a byte a second, for ever: no read ever
/// times out, only the check's deadline can end it.
fn a_tls_server_that_sends_a_byte_a_second_is_stopped_at_the_checks_timeout() {
    let port = server(|mut conn| {
        let _ = conn.read(&mut [0u8; 4096]);
        if conn.write_all(&[0x16, 0x03, 0x03, 0x40, 0x00]).is_err() {
            return;
        }
        for _ in 0..120 {
            std::thread::sleep(Duration::from_secs(1));
            if conn.write_all(&[0x02]).is_err() {
                return;
            }
        }
    });
    let (out, took) = infraspec(&["--target", "local", "-c", &certificate_check(port)]);
    assert!(
        took < Duration::from_secs(7),
        "took {took:?}: {}",
        show(&out)
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("did not finish within 3s"),
        "{}",
        show(&out)
    );
}

/// Case 1: a server that accepts and says nothing is stopped at the check's
/// timeout (not a fixed 10 s), and says so.
fn a_silent_tls_server_is_stopped_at_the_checks_timeout() {
    let port = server(|conn| {
        std::thread::sleep(Duration::from_secs(60));
        drop(conn);
    });
    let (out, took) = infraspec(&["--target", "local", "-c", &certificate_check(port)]);
    assert!(
        took < Duration::from_secs(7),
        "took {took:?}: {}",
        show(&out)
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("did not finish within 3s"),
        "{}",
        show(&out)
    );
}

/// A `sleep SECONDS` no other test runs: its command line names it.
fn marker_sleep() -> (String, String) {
    let seconds = 31 + std::process::id() % 500;
    (
        format!("{{command: 'sleep {seconds}; true', timeout: 2s}}"),
        format!("sleep {seconds}"),
    )
}

/// The command lines of the processes a shell on the target sees.
const LIST_PROCESSES: &str =
    "for p in /proc/[0-9]*; do tr '\\000' ' ' < $p/cmdline 2>/dev/null; echo; done";

fn assert_timed_out_and_gone(out: &Output, took: Duration, left: impl Fn() -> String, what: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", show(out));
    assert!(
        took < Duration::from_secs(20),
        "took {took:?}: {}",
        show(out)
    );
    // The watchdog kills at the tick that sees the probe's time up; give the
    // kernel a moment to reap.
    std::thread::sleep(Duration::from_millis(300));
    let processes = left();
    assert!(
        !processes.lines().any(|l| l.trim_end() == what),
        "{what:?} still runs after its check timed out:\n{processes}"
    );
}

/// Case 7: the probe's whole process group goes at its timeout, not only
/// the shell that ran `sleep`.
fn a_timed_out_command_leaves_no_child_behind_locally() {
    let (check, what) = marker_sleep();
    let (out, took) = infraspec(&["--target", "local", "-c", &check]);
    let list = || {
        let o = Command::new("sh")
            .args(["-c", LIST_PROCESSES])
            .output()
            .unwrap();
        text(&o.stdout)
    };
    assert_timed_out_and_gone(&out, took, list, &what);
}

fn container_processes(name: &str) -> String {
    let o = Command::new("docker")
        .args(["exec", name, "sh", "-c", LIST_PROCESSES])
        .output()
        .unwrap();
    text(&o.stdout)
}

fn a_timed_out_command_leaves_no_child_behind_in_a_container() {
    let c = Running::start_with(&["infraspec-test/debian:12", "sleep", "infinity"]);
    let (check, what) = marker_sleep();
    let (out, took) = infraspec(&["--target", &container_target(&c.0), "-c", &check]);
    assert_timed_out_and_gone(&out, took, || container_processes(&c.0), &what);
}

fn a_timed_out_command_leaves_no_child_behind_over_ssh() {
    let s = support::sshd::start();
    let (check, what) = marker_sleep();
    let started = Instant::now();
    let out = s.infraspec(&["--target", "ssh://box", "-c", &check], &[]);
    let took = started.elapsed();
    assert_timed_out_and_gone(&out, took, || text(&s.exec(LIST_PROCESSES).stdout), &what);
}

/// Case 4: with `?timeout=10s` the script's deadline comes from 10 s, so the
/// checks that finished keep their answers and only the slow one errors,
/// with the limit that stopped it.
fn the_batch_deadline_follows_the_targets_own_timeout() {
    let s = support::sshd::start();
    let spec = support::temp_file(
        "deadline.yaml",
        "checks:\n  - file: /etc/passwd\n  - command: 'echo fast'\n    stdout: fast\n  - command: 'sleep 40'\n    timeout: 60s\n",
    );
    let started = Instant::now();
    let out = s.infraspec(
        &[
            "--format",
            "json",
            "--target",
            "ssh://box?timeout=10s",
            spec.to_str().unwrap(),
        ],
        &[],
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(14),
        "took {took:?}: {}",
        show(&out)
    );
    let checks = support::checks_of(&out);
    let outcomes: Vec<&str> = checks.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(outcomes, ["pass", "pass", "error"], "{}", show(&out));
    let why = &checks[2].2;
    assert!(why.contains("10s") && !why.contains("300s"), "{why}");
    let _ = s.exec("pkill -f 'sleep 40'");
}

/// Case 2: a /tmp with room for the batch's directory but not for every
/// file it makes, at each number of free inodes from none to plenty: the
/// batch ends within a bound, a check that must fail never passes, and
/// nothing of the batch is left running or on disk.
fn a_full_tmp_never_hangs_the_batch_nor_leaves_it_running() {
    let c = Running::start_with(&[
        "--tmpfs",
        "/tmp:rw,nr_inodes=400",
        "infraspec-test/debian:12",
        "sleep",
        "infinity",
    ]);
    // More probes than the facts batch has, so that some numbers of free
    // inodes let the facts through and run out during the checks.
    let spec = support::temp_file(
        "fulltmp.yaml",
        "checks:
  - file: /etc/passwd
  - command: 'exit 3'
    exit_status: 0
  - command: 'sleep 0.3'
    timeout: 5s
  - file: /etc/hostname
  - file: /etc/group
    content: {contains: root}
  - file: /etc/hosts
    content: {contains: localhost}
  - file: /etc/shells
    content: {contains: sh}
  - command: 'echo a'
  - command: 'echo b'
  - command: 'echo c'
  - user: root
  - group: root
",
    );
    let target = container_target(&c.0);
    let exec = |script: &str| {
        let o = Command::new("docker")
            .args(["exec", &c.0, "sh", "-c", script])
            .output()
            .unwrap();
        assert!(o.status.success(), "{script}: {}", show(&o));
        text(&o.stdout)
    };
    // What a run left behind in the container, as the next exec sees it.
    let leftovers = |free: usize, out: &Output, left: &str| {
        assert!(
            !left.contains(".infraspec-") && !left.lines().any(|l| l.trim_end() == "sleep 0.3"),
            "{free} free inodes: the batch left this behind:\n{left}\n{}",
            show(out)
        );
    };
    let look = format!("{LIST_PROCESSES}; ls -a /tmp /dev/shm /var/tmp /root");
    let mut previous: Option<(usize, Output)> = None;
    for free in (0..70).step_by(2) {
        // Look for what the previous run left (one exec with the fill), then
        // fill every inode of /tmp and free `free` of them. The marker is
        // quoted apart so that the script's own text in the process list
        // does not hold it.
        let left = exec(&format!(
            "{look}; echo '<fil''led>'; rm -rf /tmp/fill; mkdir /tmp/fill; i=0; while true >/tmp/fill/$i 2>/dev/null; do i=$((i+1)); done; j=0; while [ $j -lt {free} ]; do rm -f /tmp/fill/$j; j=$((j+1)); done"
        ));
        if let Some((was, out)) = &previous {
            leftovers(*was, out, left.split("<filled>").next().unwrap_or_default());
        }
        let (out, took) = infraspec(&[
            "--format",
            "json",
            "--target",
            &target,
            spec.to_str().unwrap(),
        ]);
        assert!(
            took < Duration::from_secs(30),
            "{free} free inodes: took {took:?}: {}",
            show(&out)
        );
        let checks = support::checks_of(&out);
        assert!(
            checks.get(1).is_none_or(|(_, o, _)| o != "pass"),
            "{free} free inodes: a failing command passed: {}",
            show(&out)
        );
        std::thread::sleep(Duration::from_millis(200));
        previous = Some((free, out));
    }
    let (was, out) = previous.expect("at least one run");
    leftovers(was, &out, &exec(&look));
}

/// Case 3: a target without `sleep` still has a watchdog (perl's sleep,
/// and without perl a clock read from /proc/uptime), so a command that never
/// ends is stopped at its timeout, and not left spinning.
fn a_target_without_sleep_still_keeps_check_timeouts() {
    let c = Running::start_with(&["infraspec-test/debian:12", "tail", "-f", "/dev/null"]);
    let target = container_target(&c.0);
    let exec = |script: &str| {
        let o = Command::new("docker")
            .args(["exec", &c.0, "sh", "-c", script])
            .output()
            .unwrap();
        assert!(o.status.success(), "{script}: {}", show(&o));
    };
    exec("rm -f /usr/bin/sleep /bin/sleep; ! command -v sleep; ! command -v busybox");
    for (i, without) in ["sleep", "sleep and perl"].iter().enumerate() {
        if i == 1 {
            exec("rm -f /usr/bin/perl /bin/perl; ! command -v perl");
        }
        let spin = format!("while :; do :; done; echo {i}");
        let (out, took) = infraspec(&[
            "--target",
            &target,
            "-c",
            &format!("{{command: '{spin}', timeout: 2s}}"),
        ]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "without {without}: {}",
            show(&out)
        );
        assert!(
            took < Duration::from_secs(10),
            "without {without}: took {took:?}: {}",
            show(&out)
        );
        assert!(
            text(&out.stdout).contains("timed out after 2s"),
            "without {without}: {}",
            show(&out)
        );
        std::thread::sleep(Duration::from_millis(300));
        let left = container_processes(&c.0);
        assert!(
            !left.contains("while :"),
            "without {without}, the command still spins:\n{left}"
        );
    }
}

/// Case 11: an endless inventory or report, and ranges whose product is
/// huge, are refused at once (exit 2, a message) without taking memory.
fn inputs_without_end_and_huge_ranges_are_refused_at_once() {
    let ranges = support::temp_file("inv.ini", "web[0:99999]-[0:99999]-[a:z].example.com\n");
    let many = support::temp_file(
        "many.ini",
        &(0..3)
            .map(|i| format!("g{i}-[0:49999]\n"))
            .collect::<String>(),
    );
    for (args, said) in [
        (
            vec!["--inventory", "/dev/zero", "-c", "file: /"],
            "larger than 16 MiB",
        ),
        (
            vec!["--inventory", ranges.to_str().unwrap(), "-c", "file: /"],
            "more than 100000",
        ),
        (
            vec!["--inventory", many.to_str().unwrap(), "-c", "file: /"],
            "more than 100000 hosts",
        ),
        (vec!["merge", "/dev/zero"], "larger than 256 MiB"),
    ] {
        let (out, took) = infraspec(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        assert!(text(&out.stderr).contains(said), "{args:?}: {}", show(&out));
        assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
    }
}

/// Case 13: a check that asks for 300 MiB of output gets it judged whole:
/// the batch's own limit follows the largest `max_output` asked for.
fn a_checks_max_output_is_never_cut_by_the_batchs_limit() {
    let (out, _) = infraspec(&[
        "--target",
        "local",
        "-c",
        "{command: 'head -c 314572800 /dev/zero | tr \"\\000\" x; echo END', stdout: {contains: xxxxEND}, max_output: 400MiB, timeout: 60s}",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// Case 16: `add -o` on a spec that is a link to a 0600 file writes the
/// file it leads to, keeps the link, and keeps the mode.
fn add_writes_through_a_link_and_keeps_mode_and_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = support::temp_dir();
    let real = dir.path().join("real.yaml");
    std::fs::write(&real, "checks:\n  - file: /etc/hostname\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("spec.yaml");
    std::os::unix::fs::symlink("real.yaml", &link).unwrap();
    let (out, _) = infraspec(&[
        "add",
        "--target",
        "local",
        "-o",
        link.to_str().unwrap(),
        "file",
        "/etc/passwd",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(
        meta.file_type().is_symlink(),
        "the link was replaced by a file"
    );
    let after = std::fs::read_to_string(&real).unwrap();
    assert!(
        after.contains("/etc/passwd") && after.contains("/etc/hostname"),
        "{after}"
    );
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    let stray: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(stray.len(), 2, "{stray:?}");
}

/// Case 8: SIGTERM (or Ctrl-C) in the middle of a batch stops it on the
/// target: its shell, lanes, running probes and directory, before the run
/// exits with 128 + 15. `list` says what runs (and what is in the temporary
/// directories) on the target.
fn interrupted_run_leaves_nothing(cmd: &mut Command, list: impl Fn() -> String) {
    let seconds = 200 + std::process::id() % 500;
    let what = format!("sleep {seconds}");
    let child = cmd
        .args([
            "-c",
            &format!("{{command: '{what}; true', timeout: 90s}}"),
            "-c",
            &format!("{{command: '{what}', timeout: 90s}}"),
        ])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Both probes run.
    let started = Instant::now();
    while list().matches(&what).count() < 2 {
        assert!(started.elapsed() < Duration::from_secs(20), "{}", list());
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: kill(2) on a child of this process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let asked = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "took {:?}",
        asked.elapsed()
    );
    assert_eq!(out.status.code(), Some(143), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("stopped 1 batch"),
        "{}",
        show(&out)
    );
    let left = list();
    // The batch's own `sleep 1`, as words: not another test's `sleep 120`.
    let sleep_one = left.lines().any(|l| {
        l.split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| w == ["sleep", "1"])
    });
    assert!(
        !left.contains(&what) && !left.contains(".infraspec-") && !sleep_one,
        "left on the target:\n{left}"
    );
}

fn a_signal_stops_the_batch_locally() {
    let mut cmd = Command::new(support::bin());
    cmd.args(["--target", "local"]);
    // Only processes: other runs on this machine have directories in /tmp.
    interrupted_run_leaves_nothing(&mut cmd, || {
        let o = Command::new("sh")
            .args(["-c", LIST_PROCESSES])
            .output()
            .unwrap();
        text(&o.stdout)
            .replace(".infraspec-", "")
            .replace("sleep 1 ", "")
    });
}

fn a_signal_stops_the_batch_in_a_container() {
    let c = Running::start_with(&["infraspec-test/debian:12", "tail", "-f", "/dev/null"]);
    let mut cmd = Command::new(support::bin());
    cmd.args(["--target", &container_target(&c.0)]);
    interrupted_run_leaves_nothing(&mut cmd, || {
        container_processes(&c.0)
            + &text(
                &Command::new("docker")
                    .args(["exec", &c.0, "ls", "-a", "/tmp", "/dev/shm"])
                    .output()
                    .unwrap()
                    .stdout,
            )
    });
}

fn a_signal_stops_the_batch_over_ssh() {
    let s = support::sshd::start();
    let mut cmd = Command::new(support::bin());
    cmd.args(["--target", "ssh://box?sudo=true"])
        .env("HOME", &s.home)
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("INFRASPEC_TARGET");
    interrupted_run_leaves_nothing(&mut cmd, || {
        text(
            &s.exec(&format!("{LIST_PROCESSES}; ls -a /tmp /dev/shm"))
                .stdout,
        )
    });
}

/// Case 10: a run inside a container (a CI runner) is killed with its
/// container; its throwaway container carries the runner container's id as
/// a lease, and the next run on the engine, in another PID namespace, sees
/// the runner gone and removes the throwaway.
fn a_throwaway_of_a_runner_in_a_gone_container_is_reaped() {
    let bin = format!("{}:/infraspec:ro", support::bin().display());
    let runner = Running::start_with(&[
        "-v",
        &bin,
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        "infraspec-test/debian:12",
        "/infraspec",
        "--target",
        "docker:infraspec-test/busybox:1",
        "-c",
        "{command: sleep 300, timeout: 400s}",
    ]);
    let id = text(
        &Command::new("docker")
            .args(["inspect", "-f", "{{.Id}}", &runner.0])
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string();
    // Whatever the run in the runner made is removed at the end, by the
    // label that names the runner as its host, reaped or not.
    struct Made(String);
    impl Drop for Made {
        fn drop(&mut self) {
            let o = Command::new("docker")
                .args(["ps", "-aq", "--filter", &self.0])
                .output()
                .unwrap();
            let ids = text(&o.stdout);
            if !ids.trim().is_empty() {
                let mut rm = vec!["rm", "-f", "-v"];
                rm.extend(ids.split_whitespace());
                let _ = Command::new("docker").args(&rm).output();
            }
        }
    }
    let _made = Made(format!("label=org.infraspec.host={}", &id[..12]));
    let lease = format!("label=org.infraspec.runner-container=docker:{id}");
    let throwaways = || {
        text(
            &Command::new("docker")
                .args(["ps", "-aq", "--filter", &lease])
                .output()
                .unwrap()
                .stdout,
        )
    };
    let started = Instant::now();
    while throwaways().trim().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run in the container made no throwaway"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The runner dies with its container: SIGKILL, nothing cleans up.
    drop(runner);
    let left = throwaways();
    assert!(
        !left.trim().is_empty(),
        "the throwaway went with its runner"
    );
    let (out, _) = infraspec(&[
        "--target",
        "docker:infraspec-test/busybox:1",
        "-c",
        "file: /",
    ]);
    let after = throwaways();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        after.trim().is_empty(),
        "not reaped: {after}\n{}",
        show(&out)
    );
    assert!(
        text(&out.stderr).contains("left by an earlier run"),
        "{}",
        show(&out)
    );
}

/// Case 9: the private `podman system service` a run starts goes with the
/// run, on SIGTERM while it starts; and after a SIGKILL (nothing can clean
/// up), the next run reaps its service and its socket directory.
fn a_private_podman_service_never_outlives_its_run() {
    assert!(
        Command::new("podman").arg("--version").output().is_ok(),
        "podman is not installed (apt-get install podman)"
    );
    let tmp = support::temp_dir();
    let services = |dir: &std::path::Path| -> Vec<String> {
        let all = Command::new("sh")
            .args(["-c", LIST_PROCESSES])
            .output()
            .unwrap();
        text(&all.stdout)
            .lines()
            .filter(|l| l.contains("system service") && l.contains(&*dir.to_string_lossy()))
            .map(str::to_string)
            .collect()
    };
    let dirs = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains("infraspec-podman-"))
            .collect()
    };
    let spawn = || {
        Command::new(support::bin())
            .args([
                "--target",
                "podman://infraspec-no-such-container",
                "-c",
                "file: /",
            ])
            .env("TMPDIR", tmp.path())
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("CONTAINER_HOST")
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let wait_for_dir = || {
        let started = Instant::now();
        while dirs().is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no service directory"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let child = spawn();
        wait_for_dir();
        let dir = dirs().remove(0);
        // The service was just started (or is about to be): signal now.
        std::thread::sleep(Duration::from_millis(50));
        // SAFETY: kill(2) on a child of this process.
        unsafe { libc::kill(child.id() as i32, signal) };
        let out = child.wait_with_output().unwrap();
        if signal == libc::SIGKILL {
            // Nothing could clean up; the next run must.
            let next = spawn().wait_with_output().unwrap();
            assert_eq!(next.status.code(), Some(2), "{}", show(&next));
        } else {
            assert_eq!(out.status.code(), Some(143), "{}", show(&out));
        }
        std::thread::sleep(Duration::from_millis(300));
        assert!(!dir.exists(), "signal {signal}: {} is left", dir.display());
        assert!(
            services(&dir).is_empty(),
            "signal {signal}: {:?}",
            services(&dir)
        );
        assert!(dirs().is_empty(), "signal {signal}: {:?}", dirs());
    }
}
