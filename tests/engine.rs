//! The engine with answers injected per need (`Session::given`): deciding,
//! judging, `eventually` and round trips, with no shell script rendered or
//! read. How needs are batched into probes is tested on the plan itself;
//! the shell observer's framing is tested in `probe`'s unit tests and
//! against real targets (the fail_closed and faults suites).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use infraspec::backend::{Backend, BackendError, ExecOutput};
use infraspec::engine::{self, Options, Outcome, TargetReport};
use infraspec::facts::{self, Facts, PackageManager};
use infraspec::observe::Session;
use infraspec::probe::ProbeOutput;
use infraspec::resource::file::{Found, Stat};
use infraspec::resource::{self, package, port, service, user, Need, NoAnswer, Plan, Record};
use infraspec::spec::yaml::load_str;
use infraspec::spec::{Check, Protocol};

const OS_RELEASE: &str =
    "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A target on which nothing runs: every answer is given.
struct Nothing;

impl Backend for Nothing {
    fn exec(&self, argv: &[String], _: &[u8], _: Duration) -> Result<ExecOutput, BackendError> {
        panic!("nothing runs here, answers are given; asked to run {argv:?}")
    }
    fn target(&self) -> String {
        "given".into()
    }
}

/// The facts of a Debian 12 host running systemd, as root.
fn debian_facts() -> Facts {
    facts::from_raw(&facts::RawFacts {
        os_release: OS_RELEASE,
        uname_m: "x86_64",
        env: "pid1=systemd\nsystemd_run=1\ninitd=1\nhave=dpkg-query\nhave=timeout\nuid=0\n",
        pid1_cgroup: "0::/init.scope\n",
        ..Default::default()
    })
}

fn output(stdout: &str) -> Result<Record, NoAnswer> {
    Ok(Record::Output(ProbeOutput::new(
        0,
        stdout.as_bytes().to_vec(),
        Vec::new(),
    )))
}

/// Answers like a Debian 12 host running systemd: every file under /etc
/// exists (a 0644 regular file of root's), nothing else does.
fn debian(need: &Need) -> Result<Record, NoAnswer> {
    Ok(match need {
        Need::Packages => Record::Packages(package::parse(
            PackageManager::Dpkg,
            &fixture("packages/dpkg-debian-12.txt"),
        )),
        Need::Stat(path) if path.starts_with("/etc") => Record::Stat(Found::Exists(Stat {
            file_type: infraspec::model::file::FileType::File,
            link: false,
            mtime: 1_700_000_000,
            access: Some([true, true, false]),
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 1267,
            owner: "root".into(),
            group: "root".into(),
        })),
        Need::Stat(_) => Record::Stat(Found::Absent),
        Need::Content(path, _) if path == "/etc/motd" => Record::Bytes(b"welcome\n".to_vec()),
        Need::Passwd(name) => Record::Passwd(
            user::parse_passwd(&fixture("users/passwd-debian-12.txt"))
                .into_iter()
                .filter(|p| &p.name == name)
                .collect(),
        ),
        Need::GroupEntry(name) => Record::Groups(
            user::parse_group(&fixture("users/group-debian-12.txt"))
                .into_iter()
                .filter(|g| &g.name == name)
                .collect(),
        ),
        Need::ProcNet(Protocol::Tcp) => Record::Sockets(port::parse(
            Protocol::Tcp,
            &fixture("net/proc-net-tcp-debian-12.txt"),
        )),
        Need::ProcNet(Protocol::Tcp6) => Record::Sockets(port::parse(
            Protocol::Tcp6,
            &fixture("net/proc-net-tcp6-debian-12.txt"),
        )),
        Need::ProcNet(Protocol::Udp) => Record::Sockets(port::parse(
            Protocol::Udp,
            &fixture("net/proc-net-udp-debian-12.txt"),
        )),
        // No IPv6 UDP on this host.
        Need::ProcNet(Protocol::Udp6) => Record::Sockets(Vec::new()),
        // The fixture's units, in its order.
        Need::SystemdUnit(_) => Record::Units(service::parse_systemctl(
            &fixture("services/systemctl-show-debian-12.txt"),
            &["cron", "nginx", "nope", "ssh"].map(|u| format!("{u}.service")),
        )),
        Need::Command { command, .. } if command.starts_with("echo ") => {
            return output(&format!("{}\n", &command[5..]))
        }
        other => {
            return Err(NoAnswer::Given(format!(
                "the test gives no answer for {other:?}"
            )))
        }
    })
}

/// A session on a Debian host whose needs `answer` gives, recording the
/// needs of each round.
struct Given<F> {
    answer: F,
    rounds: Mutex<Vec<BTreeSet<Need>>>,
}

impl<F: Fn(&Need, usize) -> Result<Record, NoAnswer>> Given<F> {
    fn new(answer: F) -> Self {
        Given {
            answer,
            rounds: Mutex::new(Vec::new()),
        }
    }

    /// Runs `checks` with these answers.
    fn run(&self, checks: &[Check]) -> TargetReport {
        // Each round asks each of its needs once: a need seen again starts
        // the next round.
        let seen: Mutex<BTreeSet<Need>> = Mutex::default();
        let session = Session::given(
            &Nothing,
            debian_facts(),
            Box::new(|need| {
                let mut rounds = self.rounds.lock().unwrap();
                let mut seen = seen.lock().unwrap();
                if rounds.is_empty() || !seen.insert(need.clone()) {
                    seen.clear();
                    seen.insert(need.clone());
                    rounds.push(BTreeSet::new());
                }
                let round = rounds.len() - 1;
                rounds[round].insert(need.clone());
                (self.answer)(need, round)
            }),
        );
        engine::run_session(&session, checks, &Options::default())
    }

    fn rounds(&self) -> Vec<BTreeSet<Need>> {
        self.rounds.lock().unwrap().clone()
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

fn plan_of(checks: &[Check], facts: &Facts) -> Plan {
    let needs: BTreeSet<Need> = checks
        .iter()
        .flat_map(|c| resource::needs(c, facts))
        .collect();
    Plan::new(&needs, facts)
}

#[test]
fn a_hundred_checks_are_observed_in_one_round_and_each_is_judged() {
    let checks = load_str(&corpus(100), "corpus.yaml").unwrap();
    assert_eq!(checks.len(), 100);
    let given = Given::new(|need, _| debian(need));
    let report = given.run(&checks);
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(given.rounds().len(), 1);
    assert_eq!(report.stats.round_trips, 1);
    // Each need is asked once, however many checks share it.
    let round = &given.rounds()[0];
    assert_eq!(
        round.iter().filter(|n| matches!(n, Need::Packages)).count(),
        1
    );
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
        assert_eq!(r.observed_by, ["the answers given"], "{name}");
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
fn the_plan_batches_a_hundred_checks_into_few_probes() {
    let checks = load_str(&corpus(100), "corpus.yaml").unwrap();
    let plan = plan_of(&checks, &debian_facts());
    let argvs: Vec<&[String]> = plan.probes.iter().map(|p| p.argv_slice()).collect();
    let count = |pred: &dyn Fn(&[String]) -> bool| argvs.iter().filter(|p| pred(p)).count();
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
    assert_eq!(plan.probes.len(), 14 + 1 + 1 + 1 + 1 + 4 + 1);
    assert!(plan
        .shown_for(&Need::Packages)
        .starts_with("dpkg-query -W -f"));
}

#[test]
fn systemd_services_are_one_systemctl_call() {
    let spec = "checks:\n  - service: cron\n    running: true\n    enabled: true\n  - service: nginx\n    running: false\n  - service: nope\n  - service: ssh\n";
    let checks = load_str(spec, "s.yaml").unwrap();
    let plan = plan_of(&checks, &debian_facts());
    let systemctl: Vec<_> = plan
        .probes
        .iter()
        .map(|p| p.argv_slice())
        .filter(|p| p[0] == "systemctl")
        .collect();
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

    let given = Given::new(|need, _| debian(need));
    let report = given.run(&checks);
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
    let plan = plan_of(&checks, &debian_facts());
    let args: Vec<&String> = plan.probes.iter().flat_map(|p| p.argv_slice()).collect();
    assert!(args.iter().any(|a| *a == "$(touch /tmp/pwned)"), "{args:?}");
    assert!(args.iter().any(|a| *a == "/tmp/a'b;`id`\nc"), "{args:?}");
    let schedule = infraspec::probe::Schedule::new(None, Duration::from_secs(10));
    let script = infraspec::probe::render(&plan.probes, "0123456789abcdef", schedule);
    assert!(script.contains(r"'/tmp/a'\''b;`id`"), "{script}");
    assert!(script.contains("'$(touch /tmp/pwned)'"), "{script}");
}

#[test]
fn eventually_observes_again_only_what_has_not_passed() {
    let spec = "checks:\n  - port: 8080\n    eventually: { timeout: 5s, interval: 50ms }\n  - package: bash\n";
    let checks = load_str(spec, "s.yaml").unwrap();
    // Port 8080 starts listening in the third round.
    let given = Given::new(|need, round| {
        match need {
        Need::ProcNet(Protocol::Tcp) if round >= 2 => Ok(Record::Sockets(port::parse(
            Protocol::Tcp,
            "  sl  local_address rem_address   st\n   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n",
        ))),
        Need::ProcNet(_) => Ok(Record::Sockets(Vec::new())),
        other => debian(other),
    }
    });
    let report = given.run(&checks);
    assert_eq!(report.results[0].outcome, Outcome::Pass);
    assert_eq!(report.results[1].outcome, Outcome::Pass);
    let rounds = given.rounds();
    assert_eq!(rounds.len(), 3);
    assert_eq!(report.stats.round_trips, 3);
    // Retries ask only for the port's sockets, not the package list again.
    for round in &rounds[1..] {
        assert!(
            round.iter().all(|n| matches!(n, Need::ProcNet(_))),
            "{round:?}"
        );
    }
}

#[test]
fn eventually_gives_up_at_its_timeout() {
    let spec = "checks:\n  - port: 8080\n    eventually: { timeout: 300ms, interval: 100ms }\n";
    let checks = load_str(spec, "s.yaml").unwrap();
    let given = Given::new(|need, _| match need {
        Need::ProcNet(_) => Ok(Record::Sockets(Vec::new())),
        other => debian(other),
    });
    let started = std::time::Instant::now();
    let report = given.run(&checks);
    assert_eq!(report.results[0].outcome.as_str(), "fail");
    assert!(started.elapsed() < Duration::from_secs(3));
    let tries = given.rounds().len();
    assert!(tries >= 3, "{tries}");
    // The report says it waited, how long and how many times it looked.
    let note = report.results[0].note.clone().unwrap_or_default();
    assert!(
        note.contains(&format!("({tries} observations, eventually within 300ms)"))
            && note.starts_with("waited 0."),
        "{note}"
    );
}

#[test]
fn a_need_without_an_answer_is_an_error_not_a_failure() {
    let checks = load_str(
        "checks:\n  - package: bash\n  - command: echo hi\n  - file: /etc/hostname\n  - port: 22\n  - user: root\n",
        "s.yaml",
    )
    .unwrap();
    // The package list came back; every other answer was cut or not run.
    let why = "no result: the probe script ended before this probe finished";
    let given = Given::new(|need, _| match need {
        Need::Packages => debian(need),
        other => Err(NoAnswer::NotRun {
            probe: format!("{other:?}"),
            why: why.to_string(),
        }),
    });
    let report = given.run(&checks);
    assert_eq!(report.results[0].outcome, Outcome::Pass);
    for r in &report.results[1..] {
        match &r.outcome {
            Outcome::Error { message } => assert!(message.contains(why), "{message}"),
            other => panic!("{}: expected an error, got {other:?}", r.check.name()),
        }
    }
}

#[test]
fn an_answer_of_the_wrong_kind_is_an_error() {
    let checks = load_str("checks:\n  - package: bash\n", "s.yaml").unwrap();
    let given = Given::new(|_, _| Ok(Record::Text("bash".into())));
    let report = given.run(&checks);
    match &report.results[0].outcome {
        Outcome::Error { message } => assert!(message.contains("internal"), "{message}"),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn a_target_that_cannot_run_the_script_is_a_target_error() {
    struct NoShell;
    impl Backend for NoShell {
        fn exec(&self, _: &[String], _: &[u8], _: Duration) -> Result<ExecOutput, BackendError> {
            Ok(ExecOutput {
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
    assert!(report
        .results
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Error { .. })));
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
    let units = "Id=chrony.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n\n\
                 Id=nginx.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n";
    let given = Given::new(|need, _| match need {
        Need::KernelModules => output(&fixture("proc/modules-debian-12.txt")),
        Need::KernelParam(p) if p == "kernel.ostype" || p.ends_with("kernel/ostype") => {
            output("Linux\n")
        }
        Need::SystemdUnit(_) => Ok(Record::Units(service::parse_systemctl(
            units,
            &["chrony.service".into(), "nginx.service".into()],
        ))),
        other => debian(other),
    });
    let report = given.run(&checks);
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
    // This backend carries no connections: `reachable: false` must not pass
    // on that, and neither may `reachable: true`.
    let checks = load_str(
        "checks:\n  - host: db.internal\n    port: 5432\n    reachable: false\n  - host: db.internal\n    port: 5432\n    reachable: true\n",
        "s.yaml",
    )
    .unwrap();
    let given = Given::new(|need, _| match need {
        Need::Host(_) => output("10.0.0.5 STREAM db.internal\n"),
        other => debian(other),
    });
    let report = given.run(&checks);
    for r in &report.results {
        match &r.outcome {
            Outcome::Error { message } => assert!(message.contains("cannot carry"), "{message}"),
            other => panic!("{}: {other:?}", r.check.name()),
        }
    }
}

#[test]
fn a_name_the_batch_resolved_is_forwarded_by_its_address() {
    /// Records what each forward was asked to reach, and carries nothing.
    #[derive(Default)]
    struct Forwards(Mutex<Vec<String>>);
    impl Backend for Forwards {
        fn exec(&self, argv: &[String], _: &[u8], _: Duration) -> Result<ExecOutput, BackendError> {
            panic!("nothing runs here, answers are given; asked to run {argv:?}")
        }
        fn forward(
            &self,
            host: &str,
            port: u16,
            _: Duration,
        ) -> Result<infraspec::backend::Forward, infraspec::backend::ForwardError> {
            self.0.lock().unwrap().push(format!("{host}:{port}"));
            Err(infraspec::backend::ForwardError::Failed(
                "this backend carries nothing".into(),
            ))
        }
        fn target(&self) -> String {
            "forwards".into()
        }
    }
    let checks = load_str(
        "checks:\n  - host: db.internal\n    port: 5432\n    reachable: true\n  - http: http://web.internal:8080/\n  - host: 10.0.0.9\n    port: 22\n    reachable: true\n",
        "s.yaml",
    )
    .unwrap();
    let backend = Forwards::default();
    let session = Session::given(
        &backend,
        debian_facts(),
        Box::new(|need| match need {
            Need::Host(name) if name == "db.internal" => {
                output("10.0.0.5 STREAM db.internal\n10.0.0.5 DGRAM\n")
            }
            Need::Host(name) if name == "web.internal" => output("10.0.0.6 STREAM web.internal\n"),
            other => debian(other),
        }),
    );
    let report = engine::run_session(&session, &checks, &Options::default());
    let mut asked = backend.0.lock().unwrap().clone();
    asked.sort();
    assert_eq!(asked, ["10.0.0.5:5432", "10.0.0.6:8080", "10.0.0.9:22"]);
    // Nothing was carried, so nothing is judged.
    assert!(report
        .results
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Error { .. })));
}
