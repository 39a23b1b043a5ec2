//! Fail closed: each numbered case of the attack report (issue 13) against a
//! real target. Every one of these passed a check that should have failed,
//! hung, leaked or leaked a secret before the framing redesign.

use crate::support;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::docker::{self, Running};
use support::{show, text};

fn infraspec(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_infraspec"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("INFRASPEC_TARGET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run infraspec")
}

/// The outcome of each check of the first target, from a JSON report.
fn outcomes(out: &Output) -> Vec<(String, String, String)> {
    support::checks_of(out)
}

fn outcome_of<'a>(
    all: &'a [(String, String, String)],
    name_part: &str,
) -> &'a (String, String, String) {
    all.iter()
        .find(|(n, _, _)| n.contains(name_part))
        .unwrap_or_else(|| panic!("no check named like {name_part:?} in {all:#?}"))
}

fn docker_cmd(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("docker")
}

/// A container from `image` with extra `docker run` options, removed on drop.
fn run_with(options: &[&str], image: &str, cmd: &[&str]) -> Running {
    let name = format!(
        "infraspec-fc-{}-{}",
        std::process::id(),
        support::sshd::free_port()
    );
    let label = format!("infraspec.test={}", std::process::id());
    let mut args = vec!["run", "-d", "--name", &name, "--label", &label];
    args.extend_from_slice(options);
    args.push(image);
    args.extend_from_slice(cmd);
    let out = docker_cmd(&args);
    assert!(out.status.success(), "docker run: {}", show(&out));
    Running(name)
}

/// A command that learns everything an unprivileged process on the target
/// can (temporary directory names, every hex string in any process's
/// command line or environment) and prints every frame it can build from
/// them, on stdout and stderr: headers claiming other probes' results,
/// forged package lines, an early end of the batch.
const FORGER: &str = r#"n=
for d in /tmp/.infraspec-* /dev/shm/.infraspec-* /var/tmp/.infraspec-*; do [ -e "$d" ] && n="$n ${d##*-}"; done
for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do tr '\000' '\n' < "$f" 2>/dev/null; done > /tmp/forger.seen
n="$n $(grep -o '[0-9a-f]\{16,\}' /tmp/forger.seen | sort -u)"
for x in $n; do
  for i in 0 1 2 3 4 5 6 7; do printf '\n%s %s 0 0 24 0\nii  forged-pkg 1.0 amd64\n' "$x" "$i"; done
  printf '\n%s %s out\nii  forged-pkg 1.0 amd64\n\n%s %s end 0 0\n' "$x" 0 "$x" 0
  printf '\n%s done 9\n' "$x"
  printf '\n%s 7 0 0 0 0\n' "$x" >&2
done
echo forger-done"#;

fn forged_checks() -> Vec<String> {
    vec![
        "{package: forged-pkg}".into(),
        serde_json::json!({"command": FORGER, "stdout": {"contains": "forger-done"}}).to_string(),
        "{command: 'exit 3', exit_status: 0}".into(),
        "{file: /nonexistent-forged, exists: true}".into(),
    ]
}

fn assert_forgery_failed(out: &Output) {
    let all = outcomes(out);
    assert_eq!(outcome_of(&all, "package forged-pkg").1, "fail", "{all:#?}");
    assert_eq!(outcome_of(&all, "forger-done").1, "pass", "{all:#?}");
    assert_eq!(outcome_of(&all, "exit 3").1, "fail", "{all:#?}");
    assert_eq!(outcome_of(&all, "nonexistent-forged").1, "fail", "{all:#?}");
    assert_eq!(out.status.code(), Some(1), "{}", show(out));
}

fn with_checks<'a>(base: &[&'a str], checks: &'a [String]) -> Vec<&'a str> {
    let mut args = base.to_vec();
    for c in checks {
        args.extend(["-c", c.as_str()]);
    }
    args
}

/// Case 1: Forged results: a checked command that prints frames, with every
/// nonce it could find, changes nothing but its own output.
fn case01_a_checked_command_cannot_forge_other_results() {
    let checks = forged_checks();
    let out = infraspec(&with_checks(&["--format", "json"], &checks), &[]);
    assert_forgery_failed(&out);
}

/// Case 1, in a container.
fn case01_in_a_container_a_checked_command_cannot_forge_other_results() {
    let checks = forged_checks();
    let c = Running::start(docker::DEBIAN);
    let target = format!("docker://{}", c.0);
    let out = infraspec(
        &with_checks(&["--format", "json", "--target", &target], &checks),
        &[],
    );
    assert_forgery_failed(&out);
}

/// Case 1: Forged results, by a process that writes into the batch's own output
/// (it opens its parent shell's stdout): the stream no longer adds up, and
/// nothing of the batch passes.
fn case01_bytes_pushed_into_the_batch_output_pass_nothing() {
    let checks = vec![
        "{package: bash}".to_string(),
        // Its parent and grandparent: the subshell that runs it and the
        // batch's shell.
        serde_json::json!({"command": "p=$PPID; for up in 1 2; do printf '\\n0000000000000000 1 0 0 0 0\\n' > /proc/$p/fd/1; read -r x x x p x < /proc/$p/stat; done; true"})
            .to_string(),
        "{command: 'echo after', stdout: after}".into(),
    ];
    let out = infraspec(&with_checks(&["--format", "json"], &checks), &[]);
    let all = outcomes(&out);
    assert!(all.iter().all(|(_, o, _)| o == "error"), "{all:#?}");
    assert!(all[0].2.contains("tampered"), "{all:#?}");
    assert_ne!(out.status.code(), Some(0));
}

/// Case 3: Broken plumbing: /tmp has no free inode. The script finds another
/// private directory, and the checks are judged on what really ran.
fn case03_a_tmp_without_inodes_never_passes_a_probe_that_did_not_run() {
    let checks = [
        "{command: 'echo hi', stdout: ''}",
        "{command: 'true', exit_status: {not: 0}}",
        "{command: 'echo hi', stdout: hi}",
    ];
    let c = run_with(
        &["--tmpfs", "/tmp:rw,nr_inodes=2"],
        docker::BUSYBOX,
        &["sleep", "600"],
    );
    let target = format!("docker://{}", c.0);
    let mut args = vec!["--format", "json", "--target", &target];
    for c in &checks {
        args.extend(["-c", c]);
    }
    let out = infraspec(&args, &[]);
    let all = outcomes(&out);
    let got: Vec<&str> = all.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(got, ["fail", "fail", "pass"], "{all:#?}");

    // Nowhere to write at all: every check is an error that says why.
    let c = run_with(
        &[
            "--read-only",
            "--tmpfs",
            "/tmp:rw,nr_inodes=2",
            "--tmpfs",
            "/dev/shm:rw,nr_inodes=2",
        ],
        docker::BUSYBOX,
        &["sleep", "600"],
    );
    let target = format!("docker://{}", c.0);
    args[3] = &target;
    let out = infraspec(&args, &[]);
    let all = outcomes(&out);
    assert!(all.iter().all(|(_, o, _)| o == "error"), "{all:#?}");
    assert!(
        all[0].2.contains("no writable temporary directory"),
        "{all:#?}"
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}

/// Case 4: Permission denied is not absence.
fn case04_a_path_the_user_may_not_see_is_an_error_not_absent() {
    let c = Running::start(docker::DEBIAN);
    let setup = docker_cmd(&[
        "exec",
        &c.0,
        "sh",
        "-c",
        "touch /root/secret && chmod 0700 /root",
    ]);
    assert!(setup.status.success(), "{}", show(&setup));
    let target = format!("docker://{}?user=www-data", c.0);
    let out = infraspec(
        &[
            "--format",
            "json",
            "--target",
            &target,
            "-c",
            "{file: /root/secret, exists: false}",
            "-c",
            "{file: /root/secret, exists: true}",
            "-c",
            "{file: /etc/passwd, exists: true}",
            "-c",
            "{file: /nonexistent/x, exists: false}",
        ],
        &[],
    );
    let all = outcomes(&out);
    let got: Vec<&str> = all.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(got, ["error", "error", "pass", "pass"], "{all:#?}");
    assert!(
        all[0].2.contains("permission denied") && all[0].2.contains("www-data"),
        "{all:#?}"
    );
}

/// Case 5: Silent caps: output over the cap is an error naming `max_output`,
/// never a judgement on a prefix; `max_output` raises it.
fn case05_output_over_the_cap_is_an_error_not_a_prefix() {
    let long = "{command: 'head -c 5000000 /dev/zero; echo MARK', stdout: {not: {contains: MARK}}}";
    let raised = "{command: 'head -c 5000000 /dev/zero; echo MARK', stdout: {not: {contains: MARK}}, max_output: 8MiB}";
    let status = "{command: 'head -c 5000000 /dev/zero; echo MARK', exit_status: 0}";
    let out = infraspec(
        &["--format", "json", "-c", long, "-c", raised, "-c", status],
        &[],
    );
    let all = outcomes(&out);
    assert_eq!(all[0].1, "error", "{all:#?}");
    assert!(all[0].2.contains("max_output"), "{all:#?}");
    assert_eq!(all[1].1, "fail", "{all:#?}");
    // The exit status is whole whatever the output's length.
    assert_eq!(all[2].1, "pass", "{all:#?}");
}

/// Case 5: Silent caps: a process table larger than 4 MiB is read whole.
fn case05_a_large_process_table_hides_no_process() {
    let n = 4000;
    let c = run_with(
        &[],
        docker::BUSYBOX,
        &[
            "sh",
            "-c",
            &format!("i=0; while [ $i -lt {n} ]; do sleep 3600 & i=$((i+1)); done; wait"),
        ],
    );
    let started = Instant::now();
    loop {
        let out = docker_cmd(&[
            "exec",
            &c.0,
            "sh",
            "-c",
            // Count first, then measure: the processes only grow, so the
            // size is that of a table with all of them.
            "grep -l ^Name:.sleep /proc/[0-9]*/status | wc -l; cat /proc/[0-9]*/status | wc -c",
        ]);
        let t = text(&out.stdout);
        let nums: Vec<u64> = t
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        if nums.len() == 2 && nums[0] >= n {
            assert!(nums[1] > 4 << 20, "the table is only {} bytes", nums[1]);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{t}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let target = format!("docker://{}", c.0);
    let out = infraspec(
        &[
            "--format",
            "json",
            "--target",
            &target,
            "-c",
            &format!("{{process: sleep, count: {n}}}"),
        ],
        &[],
    );
    let all = outcomes(&out);
    assert_eq!(all[0].1, "pass", "{all:#?}");
}

/// Case 6: Timeouts hold without timeout(1).
fn case06_a_timeout_holds_on_a_target_without_timeout_1() {
    let c = run_with(&[], docker::BUSYBOX, &["sleep", "600"]);
    let rm = docker_cmd(&["exec", &c.0, "rm", "/bin/timeout"]);
    assert!(rm.status.success(), "{}", show(&rm));
    let target = format!("docker://{}", c.0);
    let started = Instant::now();
    let out = infraspec(
        &[
            "--format",
            "json",
            "--target",
            &target,
            "-c",
            "{command: 'sleep 30', timeout: 2s}",
            "-c",
            "{command: 'echo ok', stdout: ok}",
        ],
        &[],
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let all = outcomes(&out);
    assert_eq!(all[0].1, "error", "{all:#?}");
    assert!(all[0].2.contains("timed out"), "{all:#?}");
    assert_eq!(all[1].1, "pass", "{all:#?}");
}

/// Runs `sleep 30 &` with a 5 s timeout on `target`: the run ends at once and
/// passes, as the background child holds only its own files.
fn background_child_is_not_waited_for(target: &str) {
    let started = Instant::now();
    let out = infraspec(
        &[
            "--target",
            target,
            "-c",
            "{command: 'sleep 30 &', timeout: 5s}",
        ],
        &[],
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// Case 6: A background child of a checked command cannot keep the run alive.
fn case06_a_background_child_does_not_hold_the_run() {
    background_child_is_not_waited_for("local");
}

/// Case 6, in a container.
fn case06_in_a_container_a_background_child_does_not_hold_the_run() {
    let c = run_with(&[], docker::BUSYBOX, &["sleep", "600"]);
    background_child_is_not_waited_for(&format!("docker://{}", c.0));
}

/// Case 7: Isolation: one oversized or failing probe errors only its own checks.
fn case07_one_bad_probe_spoils_only_its_own_checks() {
    let tmp = support::temp_dir();
    let dir = tmp.path();
    let huge = format!("/{}", "a".repeat(1 << 20));
    let spec = format!(
        "checks:\n  - command: head -c 500000000 /dev/zero\n    stdout: {{contains: x}}\n  - command: echo ok\n    stdout: ok\n  - file: {huge}\n    exists: false\n  - file: /etc/passwd\n"
    );
    let path = dir.join("spec.yaml");
    std::fs::write(&path, spec).unwrap();
    let out = infraspec(&["--format", "json", path.to_str().unwrap()], &[]);
    let all = outcomes(&out);
    let got: Vec<&str> = all.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(got, ["error", "pass", "error", "pass"], "{all:#?}");
}

/// Case 7: Isolation: a batch that runs out of time keeps what finished.
fn case07_a_batch_timeout_keeps_the_answers_that_finished() {
    use infraspec::engine::{self, Options, Outcome};
    let checks = infraspec::spec::yaml::load_str(
        "checks:\n  - command: echo first\n    stdout: first\n  - command: sleep 30\n    timeout: 60s\n",
        "s.yaml",
    )
    .unwrap();
    let opts = Options {
        batch_timeout: Duration::from_secs(3),
        ..Options::default()
    };
    let started = Instant::now();
    let report = engine::run(&infraspec::backend::local::Local, &checks, &opts);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(report.results[0].outcome, Outcome::Pass, "{report:#?}");
    match &report.results[1].outcome {
        Outcome::Error { message } => {
            assert!(message.contains("did not finish within"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

/// Case 8: Linear output: each failing check names only what concerns it, and a
/// spec that is too large is refused at once.
fn case08_reports_grow_linearly_and_huge_specs_are_refused() {
    let tmp = support::temp_dir();
    let dir = tmp.path();
    let mut spec = String::from("checks:\n");
    for i in 0..2000 {
        spec.push_str(&format!("  - file: /nonexistent/infraspec-{i:05}\n"));
    }
    let path = dir.join("many.yaml");
    std::fs::write(&path, spec).unwrap();
    let out = infraspec(&["--format", "json", path.to_str().unwrap()], &[]);
    let all = outcomes(&out);
    assert_eq!(all.len(), 2000);
    assert!(all.iter().all(|(_, o, _)| o == "fail"));
    assert!(
        out.stdout.len() < 2 << 20,
        "a 2000-check report is {} bytes",
        out.stdout.len()
    );
    let m = &outcome_of(&all, "infraspec-00007").2;
    assert!(
        m.contains("infraspec-00007") && !m.contains("infraspec-00008"),
        "{m}"
    );

    let started = Instant::now();
    let out = infraspec(&["/dev/zero"], &[]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("larger than 16MiB"),
        "{}",
        show(&out)
    );
}

/// Case 9: Leaks: no throwaway container survives a signal, however early.
fn case09_no_throwaway_container_survives_a_signal() {
    let cases: &[(i32, u64)] = &[
        (libc::SIGTERM, 10),
        (libc::SIGTERM, 25),
        (libc::SIGTERM, 40),
        (libc::SIGTERM, 80),
        (libc::SIGTERM, 200),
        (libc::SIGUSR1, 1500),
        (libc::SIGALRM, 1500),
        (libc::SIGHUP, 1500),
    ];
    for &(signal, after_ms) in cases {
        let child = Command::new(env!("CARGO_BIN_EXE_infraspec"))
            .args([
                "--target",
                &format!("docker:{}", docker::BUSYBOX),
                "-c",
                "{command: sleep 20}",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        std::thread::sleep(Duration::from_millis(after_ms));
        // SAFETY: signals the child we spawned.
        unsafe {
            libc::kill(pid as i32, signal);
        }
        let out = child.wait_with_output().unwrap();
        let left = docker::containers_of(pid);
        assert!(
            left.is_empty(),
            "signal {signal} after {after_ms} ms left {left:?} ({:?})",
            out.status
        );
        if after_ms >= 1500 {
            assert_eq!(out.status.code(), Some(128 + signal), "signal {signal}");
        }
    }
}

/// Case 9: The reaper removes only containers whose run is provably gone.
fn case09_the_reaper_spares_runs_that_may_be_alive() {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let mut gone = Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let create = |run: &str| {
        let out = docker_cmd(&[
            "create",
            "--label",
            "org.infraspec.managed=true",
            "--label",
            &format!("org.infraspec.host={}", host.trim()),
            "--label",
            "org.infraspec.pid=1",
            "--label",
            &format!("org.infraspec.run={run}"),
            docker::BUSYBOX,
        ]);
        assert!(out.status.success(), "{}", show(&out));
        text(&out.stdout).trim().to_string()
    };
    // A live run in another PID namespace, with a PID that is alive here too.
    let other_ns = create(&format!("{}/pid:[1]/1/1", boot.trim()));
    // A run of this namespace whose process is gone.
    let dead = create(&format!(
        "{}/{}/{dead_pid}/1",
        boot.trim(),
        ns.to_string_lossy()
    ));
    let out = infraspec(
        &[
            "--target",
            &format!("docker:{}", docker::BUSYBOX),
            "-c",
            "{file: /bin/sh}",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let exists = |id: &str| docker_cmd(&["inspect", id]).status.success();
    let spared = exists(&other_ns);
    let reaped = !exists(&dead);
    let _ = docker_cmd(&["rm", "-f", &other_ns, &dead]);
    assert!(spared, "a run in another PID namespace lost its container");
    assert!(reaped, "the container of a dead run was left");
}

/// Case 10: Hygiene: no password in a target, none in a report, no terminal
/// escapes from the target.
fn case10_secrets_and_escapes_stay_out_of_the_output() {
    let out = infraspec(&["--target", "ssh://deploy:s3cr3t-pw@127.0.0.1"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("s3cr3t-pw"), "{all}");
    assert!(all.contains("INFRASPEC_SSH_PASSWORD"), "{all}");

    for format in ["human", "json", "junit", "tap"] {
        let out = infraspec(
            &[
                "--format",
                format,
                "-c",
                "{http: 'http://u:s3cr3t-pw@127.0.0.1:9/', status: 200, sensitive: true}",
            ],
            &[],
        );
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains("s3cr3t-pw"), "{format}: {all}");
    }

    let out = infraspec(
        &[
            "-c",
            &serde_json::json!({"command": "printf 'x\\033]0;pwned\\007\\033[2J'", "stdout": "y"})
                .to_string(),
        ],
        &[],
    );
    assert!(!out.stdout.contains(&0x1b), "{}", show(&out));
    assert!(text(&out.stdout).contains("pwned"), "{}", show(&out));
}

/// Case 10: facts from a target (its os-release) reach the terminal escaped too.
fn case10_escapes_in_a_containers_facts_stay_out_of_the_terminal() {
    let c = run_with(&[], docker::BUSYBOX, &["sleep", "600"]);
    let set = docker_cmd(&[
        "exec",
        &c.0,
        "sh",
        "-c",
        r#"printf 'ID=busybox\nPRETTY_NAME="Evil\033]0;pwned\007\033[31m"\n' > /etc/os-release"#,
    ]);
    assert!(set.status.success(), "{}", show(&set));
    let out = infraspec(
        &[
            "--target",
            &format!("docker://{}", c.0),
            "-c",
            "{file: /bin/sh}",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(!out.stdout.contains(&0x1b), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("Evil\\x1b]0;pwned"),
        "{}",
        show(&out)
    );
}

/// Issue 26, case 3: a nearly full /tmp on the target. A probe whose output
/// could not be written reads as empty, and empty `getent` output is "no
/// such user". Here the batch's directory is on a 1 MiB tmpfs (a private
/// mount namespace) and, in one lane, a probe fills it: the `getent` after it
/// is an error saying the directory was full, never an empty answer.
fn issue26_03_a_full_tmp_is_no_absence() {
    use infraspec::probe::{self, Probe, Schedule};
    let probes = vec![
        Probe::argv(["sh", "-c", "true"]),
        Probe::argv([
            "sh",
            "-c",
            "head -c 2000000 /dev/zero > \"$TMPDIR/fill\"; true",
        ]),
        Probe::argv(["getent", "passwd", "root"]),
    ];
    let nonce = probe::nonce();
    let script = probe::render(
        &probes,
        &nonce,
        Schedule {
            lanes: 1,
            deadline_secs: 60,
            contained: false,
        },
    );
    let dir = support::temp_dir();
    let mnt = dir.path().to_str().unwrap().to_string();
    let mut child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs -o size=1m none '{mnt}' && TMPDIR='{mnt}' exec sh"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let answers = probe::parse(&out.stdout, &nonce, &probes).expect("frames");
    let root = answers[2]
        .as_ref()
        .map(|a| String::from_utf8_lossy(&a.stdout).into_owned());
    match &root {
        Err(why) => assert!(why.contains("was full"), "{why}"),
        Ok(text) => panic!(
            "the getent after the disk filled answered {text:?}: {}",
            show(&out)
        ),
    }
}

/// Issue 26, case 5: without an init system, a pid file proves a service
/// runs only when its process lives and is the service's: not a reused PID
/// of another process, not a zombie.
fn issue26_05_a_stale_pid_file_is_no_proof() {
    let c = run_with(&[], docker::DEBIAN, &["sleep", "600"]);
    let setup = docker_cmd(&[
        "exec",
        &c.0,
        "sh",
        "-c",
        // A stale pid file: written (its mtime) long before the process that
        // now has its PID (PID 1, sleep) started. A zombie (`sleep 0.3` whose
        // parent execs before it ends, so it is never waited for) named by
        // one more.
        "echo 1 > /run/fakesvc.pid; touch -d @1577934245 /run/fakesvc.pid; \
         (sh -c 'sleep 0.3 & echo $! > /run/ghost.pid; exec sleep 600' &) ; sleep 1.5",
    ]);
    assert!(setup.status.success(), "{}", show(&setup));
    let state = docker_cmd(&[
        "exec",
        &c.0,
        "sh",
        "-c",
        "cat /proc/$(cat /run/ghost.pid)/stat",
    ]);
    assert!(
        text(&state.stdout).contains(") Z "),
        "not a zombie: {}",
        show(&state)
    );
    let target = format!("docker://{}", c.0);
    let out = infraspec(
        &[
            "--format",
            "json",
            "--target",
            &target,
            "-c",
            "{service: fakesvc, running: true}",
            "-c",
            "{service: ghost, running: true}",
            "-c",
            "{service: fakesvc, running: false}",
        ],
        &[],
    );
    let all = outcomes(&out);
    let got: Vec<&str> = all.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(got, ["fail", "fail", "pass"], "{all:#?}");
    assert!(all[0].2.contains("the PID was reused"), "{all:#?}");
    assert!(all[1].2.contains("zombie"), "{all:#?}");
}

/// Issue 26, case 13: the batch's own shell is no process of the target,
/// for `args` as for `running` and `count`.
fn issue26_13_args_leave_out_the_batch() {
    let target = d_image();
    let out = infraspec(
        &[
            "--format",
            "json",
            "--target",
            &target,
            "-c",
            "{process: sh, running: false}",
            "-c",
            "{process: sh, args: {matches: '.'}}",
            "-c",
            "{process: nginx, args: {contains: 'master process'}}",
        ],
        &[],
    );
    let all = outcomes(&out);
    let got: Vec<&str> = all.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(got, ["pass", "fail", "pass"], "{all:#?}");
}

fn d_image() -> String {
    format!("docker:{}", docker::DEBIAN)
}

/// Issue 26, case 4: as a non-root checking user, a /proc mounted
/// `hidepid=2` hides other users' processes, and a 0600 /proc/sys entry
/// cannot be read: neither is absence. Local, in a private mount namespace
/// with its own /proc, checking as `nobody`.
fn issue26_04_what_is_hidden_from_the_user_is_no_absence() {
    let mut sleeper = Command::new("sleep").arg("300").spawn().expect("sleep");
    let script = format!(
        "mount -t proc -o hidepid=2 proc /proc && exec setpriv --reuid=65534 --regid=65534 --clear-groups \
         {} --format json -c '{{process: sleep, running: false}}' -c '{{process: sleep, count: 0}}' \
         -c '{{kernel_param: kernel.cad_pid, exists: false}}' -c \"{{kernel_param: kernel.cad_pid, value: {{matches: '.'}}}}\" \
         -c '{{kernel_param: kernel.ostype, value: Linux}}'",
        env!("CARGO_BIN_EXE_infraspec")
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let all = outcomes(&out);
    let got: Vec<&str> = all.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(got, ["error", "error", "fail", "error", "pass"], "{all:#?}");
    assert!(all[0].2.contains("hidepid"), "{all:#?}");
    assert!(all[3].2.contains("permission denied"), "{all:#?}");
}

/// Issue 26, case 18: an owner or group name with a space (`domain users`
/// on SSSD and AD hosts) is read whole, and breaks no other path's check.
fn issue26_18_names_with_spaces_are_read_whole() {
    let c = run_with(&[], docker::DEBIAN, &["sleep", "600"]);
    let setup = docker_cmd(&[
        "exec",
        &c.0,
        "sh",
        "-c",
        "echo 'domain users:x:5000:' >> /etc/group && echo 'jane doe:x:5001:5000::/:/bin/sh' >> /etc/passwd \
         && touch /srv/shared && chown 5001:5000 /srv/shared",
    ]);
    assert!(setup.status.success(), "{}", show(&setup));
    let target = format!("docker://{}", c.0);
    let out = infraspec(
        &[
            "--format",
            "json",
            "--target",
            &target,
            "-c",
            "{file: /srv/shared, group: domain users, owner: jane doe}",
            "-c",
            "{file: /etc/passwd, owner: root, group: root}",
        ],
        &[],
    );
    let all = outcomes(&out);
    let got: Vec<&str> = all.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(got, ["pass", "pass", "pass", "pass"], "{all:#?}");
}

/// Issue 26, case 18: a batch that fails errors the checks it was for; a
/// check the rules skipped stays skipped, with its reason. (The batch fails
/// here because a checked command pushes bytes into its output.)
fn issue26_18_a_failed_batch_keeps_its_skips() {
    let checks = vec![
        serde_json::json!({"command": "p=$PPID; for up in 1 2; do printf '\\n0000000000000000 1 0 0 0 0\\n' > /proc/$p/fd/1; read -r x x x p x < /proc/$p/stat; done; true"})
            .to_string(),
        "{file: /etc/passwd, skip: not today}".into(),
        "{service: chrony, only_if: {os: no-such-os}}".into(),
    ];
    let out = infraspec(&with_checks(&["--format", "json"], &checks), &[]);
    let all = outcomes(&out);
    let got: Vec<&str> = all.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(got, ["error", "skip", "skip"], "{all:#?}");
    assert!(all[0].2.contains("tampered"), "{all:#?}");
    assert_eq!(all[1].2, "not today", "{all:#?}");
    assert_ne!(out.status.code(), Some(0));
}

/// A checked command that finds the batch's private directory through its own
/// stdout and, for three seconds, appends a forged package line to every
/// other output file in it.
const APPENDER: &str = r#"me=$(readlink /proc/$$/fd/1); d=${me%/*}; end=$(($(date +%s) + 3))
while [ "$(date +%s)" -lt "$end" ]; do
  for f in "$d"/*.o; do [ "$f" = "$me" ] || printf 'infraspec-forged-pkg\tinstall ok installed\t1.0\tamd64\n' >> "$f"; done
done
true"#;

fn no_forged_package(target: Option<&str>) {
    let mut args = vec!["--format", "json"];
    if let Some(t) = target {
        args.extend(["--target", t]);
    }
    let checks = vec![
        serde_json::json!({"command": APPENDER}).to_string(),
        "{package: infraspec-forged-pkg, installed: false}".to_string(),
    ];
    let out = infraspec(&with_checks(&args, &checks), &[]);
    let all = outcomes(&out);
    let forged = outcome_of(&all, "package infraspec-forged-pkg");
    assert_eq!(forged.1, "pass", "{target:?}: {all:#?}");
}

/// Issue 26, case 6: infraspec's own probes are measured and printed before
/// any checked command runs, so a checked command cannot append to their
/// output.
fn issue26_06_a_checked_command_cannot_append_to_own_probes() {
    no_forged_package(None);
}

fn issue26_06_in_a_container_a_checked_command_cannot_append_to_own_probes() {
    let c = run_with(&[], docker::DEBIAN, &["sleep", "600"]);
    no_forged_package(Some(&format!("docker://{}", c.0)));
}

infraspec_tests! {
    Root: [
        issue26_03_a_full_tmp_is_no_absence,
        issue26_04_what_is_hidden_from_the_user_is_no_absence,
    ],
    Nothing: [
        case01_a_checked_command_cannot_forge_other_results,
        case01_bytes_pushed_into_the_batch_output_pass_nothing,
        case05_output_over_the_cap_is_an_error_not_a_prefix,
        case06_a_background_child_does_not_hold_the_run,
        case07_one_bad_probe_spoils_only_its_own_checks,
        case07_a_batch_timeout_keeps_the_answers_that_finished,
        case08_reports_grow_linearly_and_huge_specs_are_refused,
        case10_secrets_and_escapes_stay_out_of_the_output,
        issue26_18_a_failed_batch_keeps_its_skips,
        issue26_06_a_checked_command_cannot_append_to_own_probes,
    ],
    Docker: [
        case01_in_a_container_a_checked_command_cannot_forge_other_results,
        case03_a_tmp_without_inodes_never_passes_a_probe_that_did_not_run,
        case04_a_path_the_user_may_not_see_is_an_error_not_absent,
        case05_a_large_process_table_hides_no_process,
        case06_a_timeout_holds_on_a_target_without_timeout_1,
        case06_in_a_container_a_background_child_does_not_hold_the_run,
        case09_no_throwaway_container_survives_a_signal,
        case09_the_reaper_spares_runs_that_may_be_alive,
        case10_escapes_in_a_containers_facts_stay_out_of_the_terminal,
        issue26_05_a_stale_pid_file_is_no_proof,
        issue26_13_args_leave_out_the_batch,
        issue26_18_names_with_spaces_are_read_whole,
        issue26_06_in_a_container_a_checked_command_cannot_append_to_own_probes,
    ],
}
