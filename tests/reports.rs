//! Every report format on one fixed two-target run with passes, failures,
//! skips, errors and an unreachable target: snapshots, a JUnit schema, a TAP
//! consumer. `INFRASPEC_UPDATE_SNAPSHOTS=1 cargo test --test suite reports::` rewrites
//! the snapshots; read the diff.

use crate::support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use infraspec::engine::{CheckResult, Outcome, Stats, TargetReport};
use infraspec::facts::{from_raw, RawFacts};
use infraspec::report;

const SPEC: &str = r#"checks:
  - package: nginx
  - file: /etc/motd
    content: "welcome\nto <web1> & friends\n"
  - service: chrony
  - user: deploy
    uid: 1001
  - command: cat /etc/app/token
    stdout: s3cr3t
    sensitive: true
"#;

fn run() -> Vec<TargetReport> {
    let checks = infraspec::spec::yaml::load_str(SPEC, "gate.yaml").unwrap();
    let facts = from_raw(&RawFacts {
        os_release: "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        uname_m: "x86_64\n",
        env: "pid1=nginx\ndockerenv=1\n",
        ..Default::default()
    });
    let result = |i: usize, outcome: Outcome, note: Option<&str>, by: &[&str]| CheckResult {
        check: checks[i].clone(),
        outcome,
        note: note.map(str::to_string),
        observed_by: by.iter().map(|s| s.to_string()).collect(),
        duration: Duration::from_millis(12),
    };
    let fail = |e: &str, f: &str| Outcome::Fail {
        expected: e.into(),
        found: f.into(),
    };
    let web1 = TargetReport {
        target: "docker:registry.local/web:1.4".into(),
        facts: Some(facts),
        error: None,
        results: vec![
            result(0, Outcome::Pass, None, &[]),
            result(
                1,
                Outcome::Fail {
                    expected: "eq \"welcome\\nto <web1> & friends\\n\"".into(),
                    found: infraspec::engine::Found {
                        value: "\"welcome\\nto web2\\n\"".into(),
                        diff: Some(report::diff(
                            "welcome\nto <web1> & friends\n",
                            "welcome\nto web2\n",
                        )),
                    },
                },
                None,
                &["cat -- /etc/motd"],
            ),
            result(
                2,
                Outcome::Skip {
                    reason: "containers use the host's clock".into(),
                },
                None,
                &[],
            ),
            result(3, fail("eq 1001", "1000"), None, &["getent passwd deploy"]),
            result(
                4,
                fail("(hidden: sensitive)", "(hidden: sensitive)"),
                None,
                &["sh -c 'cat /etc/app/token'"],
            ),
        ],
        stats: Stats {
            round_trips: 2,
            execs: 2,
            probes: 4,
            total: Duration::from_millis(230),
            ..Default::default()
        },
    };
    let down = TargetReport {
        target: "ssh://web2".into(),
        facts: None,
        error: Some("connecting: failed to connect to ssh://web2: TCP connection to 192.0.2.7:22 failed: Connection refused".into()),
        results: checks
            .iter()
            .enumerate()
            .map(|(i, _)| result(i, Outcome::Error { message: "connecting: Connection refused".into() }, None, &[]))
            .collect(),
        stats: Stats::default(),
    };
    vec![web1, down]
}

fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var("INFRASPEC_UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "snapshot {name} differs (INFRASPEC_UPDATE_SNAPSHOTS=1 rewrites it)"
    );
}

fn tool(name: &str) -> bool {
    let found = Path::new("/usr/bin").join(name).exists();
    if !found && std::env::var("CI").is_ok() {
        panic!("{name} is needed for this test in CI");
    }
    found
}

fn human_snapshot() {
    colored::control::set_override(false);
    snapshot("run.human.txt", &report::human::render(&run()));
}

fn json_snapshot() {
    let json = report::json::render(&run());
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        doc["summary"],
        serde_json::json!({"passed": 1, "failed": 3, "skipped": 1, "errors": 5})
    );
    snapshot("run.json", &json);
}

fn junit_snapshot_validates_against_a_junit_schema() {
    let xml = report::junit::render(&run());
    snapshot("run.junit.xml", &xml);
    assert_eq!(xml.matches("<testsuite ").count(), 2);
    if tool("xmllint") {
        let file = support::temp_file("run.xml", &xml);
        let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit.xsd");
        let out = Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(schema)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn tap_snapshot_parses_with_prove() {
    let tap = report::tap::render(&run());
    snapshot("run.tap", &tap);
    if tool("prove") {
        let file = support::temp_file("run.tap", &tap);
        let out = Command::new("prove")
            .args(["--exec", "cat", "--verbose"])
            .arg(&file)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            !out.status.success(),
            "prove accepted a failing run: {text}"
        );
        assert!(text.contains("Failed 8/10 subtests"), "{text}");
        assert!(text.contains("ok 3 - docker:registry.local/web:1.4: service chrony should be running # SKIP containers use the host's clock"), "{text}");
        // A run that passed is a passing TAP stream.
        let mut green = run();
        green.truncate(1);
        green[0]
            .results
            .retain(|r| matches!(r.outcome, Outcome::Pass | Outcome::Skip { .. }));
        let file2 = support::temp_file("green.tap", &report::tap::render(&green));
        let ok = Command::new("prove")
            .args(["--exec", "cat"])
            .arg(&file2)
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stdout)
        );
    }
}

fn retry_timeout_turns_a_port_that_opens_late_into_a_pass() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let opener = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(5));
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        std::thread::sleep(Duration::from_secs(10));
        drop(listener);
    });
    let started = std::time::Instant::now();
    let check = format!("port: {port}");
    let without = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args(["-c", &check])
        .output()
        .unwrap();
    assert_eq!(without.status.code(), Some(1), "the port is not open yet");
    let out = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args([
            "--retry-timeout",
            "20s",
            "--sleep",
            "500ms",
            "--format",
            "json",
            "-c",
            &check,
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(15),
        "took {took:?}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["targets"][0]["stats"]["round_trips"].as_u64().unwrap() > 2);
    opener.join().unwrap();
}

infraspec_tests! {
    Nothing: [
        human_snapshot,
        json_snapshot,
        junit_snapshot_validates_against_a_junit_schema,
        tap_snapshot_parses_with_prove,
        retry_timeout_turns_a_port_that_opens_late_into_a_pass,
    ],
}
