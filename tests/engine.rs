//! The engine against a scripted backend: round trips, batching, evaluation.

mod support;

use std::time::Duration;

use infraspec::engine::{self, Options, Outcome};
use infraspec::spec::yaml::load_str;
use support::scripted::{Answer, Scripted};

const OS_RELEASE: &str =
    "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn ok(s: impl Into<Vec<u8>>) -> Answer {
    (0, s.into(), Vec::new())
}

/// Answers like a Debian 12 host running systemd.
fn debian(argv: &[String], _round: usize) -> Answer {
    let a: Vec<&str> = argv.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["sh", "-c", s, ..] if s.contains("os-release") => ok(OS_RELEASE),
        ["uname", "-m"] => ok("x86_64\n"),
        ["sh", "-c", s, ..] if s.contains("pid1=") => {
            ok("pid1=systemd\nsystemd_run=1\ninitd=1\nhave=dpkg-query\nhave=timeout\nuid=0\n")
        }
        ["cat", "/proc/1/cgroup"] => ok("0::/init.scope\n"),
        ["cat", "/proc/1/environ"] | ["cat", "/proc/self/mountinfo"] => ok(""),
        ["dpkg-query", ..] => ok(fixture("packages/dpkg-debian-12.txt")),
        ["sh", "-c", s, "sh", paths @ ..] if s.contains("exec stat") => {
            // Flags, then `test -r/-w/-x` as root, then one stat line per
            // existing path (see `resource::file::STAT`).
            let mut flags = String::new();
            let mut access = String::new();
            let mut lines = String::new();
            for p in paths {
                if p.starts_with("/etc") {
                    flags.push('1');
                    access.push_str("110");
                    lines.push_str("81a4 0 0 1267 1700000000 root:root\n");
                } else {
                    flags.push('0');
                    access.push_str("000");
                }
            }
            ok(format!("{flags}\n{access}\n{lines}"))
        }
        ["sh", "-c", _, "sh", "passwd", ..] => ok(fixture("users/passwd-debian-12.txt")),
        ["sh", "-c", _, "sh", "group", ..] => ok(fixture("users/group-debian-12.txt")),
        ["cat", "/proc/net/tcp"] => ok(fixture("net/proc-net-tcp-debian-12.txt")),
        ["cat", "/proc/net/tcp6"] => ok(fixture("net/proc-net-tcp6-debian-12.txt")),
        ["cat", "/proc/net/udp"] => ok(fixture("net/proc-net-udp-debian-12.txt")),
        ["cat", "/proc/net/udp6"] => (
            1,
            Vec::new(),
            b"cat: /proc/net/udp6: No such file or directory\n".to_vec(),
        ),
        ["systemctl", "show", ..] => ok(fixture("services/systemctl-show-debian-12.txt")),
        ["sh", "-c", cmd] if cmd.starts_with("echo ") => ok(format!("{}\n", &cmd[5..])),
        ["head", "-c", _, "--", "/etc/motd"] => ok("welcome\n"),
        other => panic!("unexpected probe {other:?}"),
    }
}

/// A spec of `n` checks over packages, files, contents, users, groups,
/// commands and ports.
fn corpus(n: usize) -> String {
    let mut s = String::from("checks:\n");
    let packages = ["bash", "dpkg", "coreutils", "libc6", "no-such-package"];
    let users = ["root", "daemon", "bin", "www-data", "nobody"];
    let ports = ["22", "5432", "631", "68", "9999"];
    for i in 0..n {
        let item = match i % 7 {
            0 => format!("  - package: {}\n", packages[i / 7 % 5]),
            1 => format!("  - file: /etc/file{}\n    mode: '0644'\n", i),
            2 => "  - file: /etc/motd\n    content: { contains: welcome }\n".to_string(),
            3 => format!("  - user: {}\n", users[i / 7 % 5]),
            4 => "  - group: root\n    gid: 0\n".to_string(),
            5 => format!("  - command: echo {i}\n    stdout: '{i}'\n"),
            _ => format!("  - port: {}\n", ports[i / 7 % 5]),
        };
        s.push_str(&item);
    }
    s
}

#[test]
fn a_hundred_checks_take_two_round_trips_with_batched_probes() {
    let checks = load_str(&corpus(100), "corpus.yaml").unwrap();
    assert_eq!(checks.len(), 100);
    let backend = Scripted::new(debian);
    let report = engine::run(&backend, &checks, &Options::default());
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(backend.round_trips(), 2);
    assert_eq!(report.stats.round_trips, 2);
    let batches = backend.batches.lock().unwrap();
    let round2 = &batches[1];
    let count = |pred: &dyn Fn(&Vec<String>) -> bool| round2.iter().filter(|p| pred(p)).count();
    assert_eq!(
        count(&|p| p[0] == "dpkg-query"),
        1,
        "one package list for all packages"
    );
    assert_eq!(
        count(&|p| p.len() > 2 && p[2].contains("exec stat")),
        1,
        "one stat for all files"
    );
    assert_eq!(
        count(&|p| p.get(4).is_some_and(|d| d == "passwd")),
        1,
        "one getent for all users"
    );
    assert_eq!(
        count(&|p| p[0] == "cat" && p[1].starts_with("/proc/net/")),
        4,
        "each /proc/net file once"
    );
    assert_eq!(
        count(&|p| p.len() == 5 && p[0] == "head" && p[4] == "/etc/motd"),
        1,
        "same content read once"
    );
    // 14 distinct commands + 7 shared probes.
    assert_eq!(round2.len(), 14 + 1 + 1 + 1 + 1 + 4 + 1);
    // Every check is judged, and only the two absent things fail.
    assert_eq!(report.results.len(), 100);
    for r in &report.results {
        let name = r.check.name();
        if name.contains("no-such-package") || name.contains("port 9999") {
            assert!(
                matches!(r.outcome, Outcome::Fail { .. }),
                "{name}: {:?}",
                r.outcome
            );
        } else {
            assert_eq!(r.outcome, Outcome::Pass, "{name}");
        }
    }

    let outcome_of = |name: &str| {
        report
            .results
            .iter()
            .find(|r| r.check.name() == name)
            .unwrap_or_else(|| panic!("no check {name}"))
            .outcome
            .clone()
    };
    assert_eq!(
        outcome_of("package bash should be installed"),
        Outcome::Pass
    );
    assert_eq!(outcome_of("user www-data should exist"), Outcome::Pass);
    assert_eq!(outcome_of("port 22 should be listening"), Outcome::Pass);
    assert_eq!(
        outcome_of("command echo 5 stdout should eq \"5\""),
        Outcome::Pass
    );
    assert_eq!(
        outcome_of("package no-such-package should be installed"),
        Outcome::Fail {
            expected: "be installed".into(),
            found: "not installed".into()
        }
    );
    assert_eq!(
        outcome_of("port 9999 should be listening"),
        Outcome::Fail {
            expected: "be listening".into(),
            found: "not listening".into()
        }
    );
}

#[test]
fn failures_name_the_command_that_observed_them() {
    let checks = load_str("checks:\n  - package: no-such-package\n", "s.yaml").unwrap();
    let backend = Scripted::new(debian);
    let report = engine::run(&backend, &checks, &Options::default());
    let r = &report.results[0];
    assert!(
        r.observed_by[0].starts_with("dpkg-query -W -f"),
        "{:?}",
        r.observed_by
    );
}

#[test]
fn systemd_services_are_one_systemctl_call() {
    let spec = "checks:\n  - service: cron\n    running: true\n    enabled: true\n  - service: nginx\n    running: false\n  - service: nope\n  - service: ssh\n";
    let checks = load_str(spec, "s.yaml").unwrap();
    let backend = Scripted::new(debian);
    let report = engine::run(&backend, &checks, &Options::default());
    let batches = backend.batches.lock().unwrap();
    let systemctl: Vec<_> = batches[1].iter().filter(|p| p[0] == "systemctl").collect();
    assert_eq!(systemctl.len(), 1);
    assert_eq!(
        &systemctl[0][5..],
        [
            "cron.service",
            "nginx.service",
            "nope.service",
            "ssh.service"
        ]
    );
    let outcomes: Vec<&str> = report.results.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["pass", "pass", "pass", "fail", "pass"]);
    assert_eq!(
        report.results[3].note.as_deref(),
        Some("unit nope.service not found")
    );
}

#[test]
fn hostile_names_reach_the_target_as_single_quoted_words() {
    let spec = r#"checks:
  - user: "$(touch /tmp/pwned)"
  - file: "/tmp/a'b;`id`\nc"
"#;
    let checks = load_str(spec, "s.yaml").unwrap();
    let backend = Scripted::new(|argv: &[String], round| {
        if round == 0 {
            return debian(argv, round);
        }
        ok("")
    });
    engine::run(&backend, &checks, &Options::default());
    let batches = backend.batches.lock().unwrap();
    let args: Vec<&String> = batches[1].iter().flatten().collect();
    assert!(args.iter().any(|a| *a == "$(touch /tmp/pwned)"), "{args:?}");
    assert!(args.iter().any(|a| *a == "/tmp/a'b;`id`\nc"), "{args:?}");
    let script = &backend.scripts.lock().unwrap()[1];
    assert!(script.contains(r"'/tmp/a'\''b;`id`"), "{script}");
}

#[test]
fn eventually_observes_again_only_what_has_not_passed() {
    let spec = "checks:\n  - port: 8080\n    eventually: { timeout: 5s, interval: 50ms }\n  - package: bash\n";
    let checks = load_str(spec, "s.yaml").unwrap();
    // Port 8080 starts listening in the fourth round trip.
    let backend = Scripted::new(|argv: &[String], round| {
        match argv {
        [cat, file] if cat == "cat" && file == "/proc/net/tcp" && round >= 3 => ok(
            "  sl  local_address rem_address   st\n   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n",
        ),
        [cat, file] if cat == "cat" && file.starts_with("/proc/net/") => ok("  sl  local_address rem_address   st\n"),
        other => debian(other, round),
    }
    });
    let report = engine::run(&backend, &checks, &Options::default());
    assert_eq!(report.results[0].outcome, Outcome::Pass);
    assert_eq!(report.results[1].outcome, Outcome::Pass);
    let batches = backend.batches.lock().unwrap();
    assert_eq!(batches.len(), 4);
    // Retries ask only for the port's probes, not the package list again.
    assert!(batches[2]
        .iter()
        .all(|p| p[0] == "cat" && p[1].starts_with("/proc/net/")));
}

#[test]
fn eventually_gives_up_at_its_timeout() {
    let spec = "checks:\n  - port: 8080\n    eventually: { timeout: 300ms, interval: 100ms }\n";
    let checks = load_str(spec, "s.yaml").unwrap();
    let backend = Scripted::new(|argv: &[String], round| match argv {
        [cat, file] if cat == "cat" && file.starts_with("/proc/net/") => ok("  sl\n"),
        other => debian(other, round),
    });
    let started = std::time::Instant::now();
    let report = engine::run(&backend, &checks, &Options::default());
    assert_eq!(report.results[0].outcome.as_str(), "fail");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(backend.round_trips() >= 3);
    // The report says it waited, how long and how many times it looked.
    let note = report.results[0].note.clone().unwrap_or_default();
    let tries = backend.round_trips() - 1;
    assert!(
        note.contains(&format!("({tries} observations, eventually within 300ms)"))
            && note.starts_with("waited 0."),
        "{note}"
    );
}

#[test]
fn a_probe_without_a_result_is_an_error_not_a_failure() {
    /// Answers like `debian`, but the stream of round 2 stops after the first probe.
    struct Cut;
    impl infraspec::backend::Backend for Cut {
        fn exec(
            &self,
            argv: &[String],
            stdin: &[u8],
            t: Duration,
        ) -> Result<infraspec::backend::ExecOutput, infraspec::backend::BackendError> {
            let script = String::from_utf8_lossy(stdin).into_owned();
            let mut out = Scripted::new(debian).exec(argv, stdin, t)?;
            if script.contains("'dpkg-query' '-W'") {
                let (nonce, _) = support::scripted::probes_of(&script);
                let marker = format!("\n{nonce} 1 ");
                let at = out
                    .stdout
                    .windows(marker.len())
                    .position(|w| w == marker.as_bytes())
                    .unwrap();
                out.stdout.truncate(at + 3);
            }
            Ok(out)
        }
        fn target(&self) -> String {
            "cut".into()
        }
    }
    let checks = load_str(
        "checks:\n  - package: bash\n  - command: echo hi\n",
        "s.yaml",
    )
    .unwrap();
    let report = engine::run(&Cut, &checks, &Options::default());
    assert_eq!(report.results[0].outcome, Outcome::Pass);
    match &report.results[1].outcome {
        Outcome::Error { message } => {
            assert!(
                message.contains("ended before this probe finished"),
                "{message}"
            )
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn a_target_that_cannot_run_the_script_is_a_target_error() {
    struct NoShell;
    impl infraspec::backend::Backend for NoShell {
        fn exec(
            &self,
            _: &[String],
            _: &[u8],
            _: Duration,
        ) -> Result<infraspec::backend::ExecOutput, infraspec::backend::BackendError> {
            Ok(infraspec::backend::ExecOutput {
                status: Some(127),
                stdout: Vec::new(),
                stderr: b"exec: \"sh\": executable file not found in $PATH".to_vec(),
                truncated: false,
                timed_out: false,
            })
        }
        fn target(&self) -> String {
            "noshell".into()
        }
    }
    let checks = load_str("checks:\n  - package: bash\n", "s.yaml").unwrap();
    let report = engine::run(&NoShell, &checks, &Options::default());
    let err = report.error.clone().unwrap();
    assert!(
        err.contains("gathering facts") && err.contains("no /bin/sh"),
        "{err}"
    );
    assert_eq!(infraspec::report::exit_code(&[report]), 2);
}

#[test]
fn on_a_systemd_host_the_container_aware_example_is_all_evaluated() {
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/container-aware.yaml"
    ))
    .unwrap();
    let checks = load_str(&spec, "container-aware.yaml").unwrap();
    let backend = Scripted::new(|argv: &[String], round| {
        match argv.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["sh", "-c", script, "sh"] if *script == infraspec::resource::kernel::MODULES => {
            ok(fixture("proc/modules-debian-12.txt"))
        }
        ["sh", "-c", _, "sh", "/proc/sys/kernel/ostype"] => ok("Linux\n"),
        ["systemctl", "show", ..] => ok(
            "Id=chrony.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n\n\
             Id=nginx.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n",
        ),
        _ => debian(argv, round),
    }
    });
    let report = engine::run(&backend, &checks, &Options::default());
    let outcomes: Vec<(String, &str)> = report
        .results
        .iter()
        .map(|r| (r.check.name(), r.outcome.as_str()))
        .collect();
    assert!(outcomes.iter().all(|(_, o)| *o == "pass"), "{outcomes:#?}");
    assert!(
        report.results.iter().all(|r| r.note.is_none()),
        "systemd answers; no process-table note"
    );
}

#[test]
fn a_connection_that_could_not_be_tried_is_an_error_not_unreachable() {
    // The scripted backend carries no connections: `reachable: false` must
    // not pass on that, and neither may `reachable: true`.
    let checks = load_str(
        "checks:\n  - host: db.internal\n    port: 5432\n    reachable: false\n  - host: db.internal\n    port: 5432\n    reachable: true\n",
        "s.yaml",
    )
    .unwrap();
    let report = engine::run(&Scripted::new(debian), &checks, &Options::default());
    for r in &report.results {
        match &r.outcome {
            Outcome::Error { message } => assert!(message.contains("cannot carry"), "{message}"),
            other => panic!("{}: {other:?}", r.check.name()),
        }
    }
}
