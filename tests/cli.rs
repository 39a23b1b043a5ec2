//! The `infraspec` command end to end on the local machine, as a user runs it.

use crate::support;

use support::{show, text};

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn infraspec(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args(args)
        .current_dir(dir)
        .env_remove("INFRASPEC_TARGET")
        .env("NO_COLOR", "1")
        .output()
        .expect("run infraspec")
}

/// A fresh directory under the system temp dir, removed when dropped, also
/// when the test panics (the second field is tempfile's guard).
struct TempDir(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let guard = tempfile::Builder::new()
            .prefix(&format!("infraspec-test-{tag}-"))
            .tempdir()
            .unwrap();
        TempDir(guard.path().to_path_buf(), guard)
    }
    fn write(&self, name: &str, content: &str) -> String {
        std::fs::write(self.0.join(name), content).unwrap();
        name.to_string()
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn the_local_example_passes() {
    let out = infraspec(&repo(), &["--target", "local", "examples/local.yaml"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("✓ should be owned by root"), "{stdout}");
    // The facts are read in this process: one round trip, the probes.
    assert!(stdout.contains("1 round trip, "), "{stdout}");
}

fn a_failing_check_exits_1_and_says_target_expectation_found_and_command() {
    let dir = TempDir::new("fail");
    let spec = dir.write(
        "fail.yaml",
        "checks:\n  - package: infraspec-no-such-package\n  - file: /etc/passwd\n    mode: '0600'\n",
    );
    let out = infraspec(&dir.0, &[&spec]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("local"), "{stdout}");
    assert!(stdout.contains("✗ should be mode 0600"), "{stdout}");
    assert!(stdout.contains("expected: be mode 0600"), "{stdout}");
    assert!(stdout.contains("found:    0644"), "{stdout}");
    assert!(stdout.contains("observed by: stat -L -c"), "{stdout}");
    assert!(stdout.contains("at: fail.yaml:3"), "{stdout}");
    assert!(stdout.contains("found:    not installed"), "{stdout}");
    assert!(stdout.contains("observed by: dpkg-query"), "{stdout}");
    assert!(
        stdout
            .trim_end()
            .ends_with("0 passed, 2 failed, 0 skipped, 0 errors"),
        "{stdout}"
    );
}

fn bad_specs_exit_2_naming_file_line_and_key_and_run_nothing() {
    let dir = TempDir::new("bad");
    let cases = [
        (
            "invalid.yaml",
            "checks:\n  - package: [unclosed\n",
            "invalid.yaml:",
        ),
        (
            "unknown-resource.yaml",
            "checks:\n  - pakage: nginx\n",
            "unknown-resource.yaml:2: `pakage`",
        ),
        (
            "unknown-key.yaml",
            "checks:\n  - package: nginx\n    instaled: true\n",
            "unknown-key.yaml:3: `instaled`",
        ),
        (
            "wrong-type.yaml",
            "checks:\n  - user: root\n    uid: zero\n",
            "wrong-type.yaml:3: `uid`: uid expects a whole number",
        ),
        (
            "misfit.yaml",
            "checks:\n  - package: nginx\n    mode: '0644'\n",
            "misfit.yaml:3: `mode`: `mode` is not a property of package",
        ),
        (
            "empty.yaml",
            "checks: []\n",
            "empty.yaml:1: `checks`: the list of checks is empty",
        ),
    ];
    for (name, content, want) in cases {
        let spec = dir.write(name, content);
        // A valid spec beside it whose command would leave a mark if anything ran.
        let marker = dir.0.join("ran");
        let good = dir.write(
            "good.yaml",
            &format!("checks:\n  - command: touch {}\n", marker.display()),
        );
        let out = infraspec(&dir.0, &[&good, &spec]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(want), "{name}: wanted {want:?} in {stderr}");
        assert!(
            !marker.exists(),
            "{name}: a check ran although a spec was invalid"
        );
        assert!(out.stdout.is_empty(), "{name}");
    }
}

fn json_output_follows_the_contract() {
    let dir = TempDir::new("json");
    let spec = dir.write(
        "s.yaml",
        "checks:\n  - user: root\n    uid: 0\n  - file: /nonexistent/infraspec\n  - service: chrony\n    skip: not here\n",
    );
    let out = infraspec(&dir.0, &["--format", "json", &spec]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(doc["version"], 1);
    let target = &doc["targets"][0];
    assert_eq!(target["target"], "local");
    let checks = target["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 3);
    assert_eq!(checks[0]["resource"], "user root");
    assert_eq!(checks[0]["name"], "user root uid should eq 0");
    assert_eq!(checks[0]["outcome"], "pass");
    assert!(checks[0]["duration_ms"].is_u64());
    assert_eq!(checks[1]["outcome"], "fail");
    let message = checks[1]["message"].as_str().unwrap();
    assert!(
        message.starts_with("expected to exist, found not present"),
        "{message}"
    );
    assert_eq!(checks[2]["outcome"], "skip");
    assert_eq!(checks[2]["message"], "not here");
    assert_eq!(
        doc["summary"],
        serde_json::json!({"passed": 1, "failed": 1, "skipped": 1, "errors": 0})
    );
    // Local facts are read in this process: one round trip, one `sh`.
    assert_eq!(target["stats"]["round_trips"], 1);
    assert_eq!(target["stats"]["execs"], 1, "one `sh`, for the probes");
}

fn report_goes_to_a_file_with_o() {
    let dir = TempDir::new("out");
    let out = infraspec(
        &dir.0,
        &["-c", "user: root", "--format", "json", "-o", "r.json"],
    );
    assert_eq!(out.status.code(), Some(0));
    // The console says how it went, in one line.
    assert_eq!(
        text(&out.stdout),
        "1 passed, 0 failed, 0 skipped, 0 errors\n",
        "{}",
        show(&out)
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.0.join("r.json")).unwrap()).unwrap();
    assert_eq!(doc["summary"]["passed"], 1);
}

fn ad_hoc_checks_against_a_real_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = TempDir::new("port");
    let ok = infraspec(
        &dir.0,
        &[
            "-c",
            &format!("port: {port}"),
            "-c",
            &format!("{{port: {port}, protocol: tcp, address: 127.0.0.1}}"),
            "-c",
            &format!("{{port: {closed}, listening: false}}"),
        ],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stdout));
    let wrong = infraspec(&dir.0, &["-c", &format!("{{port: {port}, protocol: udp}}")]);
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong.stdout));
    let wrong_addr = infraspec(
        &dir.0,
        &["-c", &format!("{{port: {port}, address: 0.0.0.0}}")],
    );
    let stdout = text(&wrong_addr.stdout);
    assert_eq!(wrong_addr.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("port {port} listens on: tcp 127.0.0.1")),
        "{stdout}"
    );
    drop(listener);
}

fn processes_are_read_from_proc() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let dir = TempDir::new("proc");
    let out = infraspec(
        &dir.0,
        &[
            "-c",
            "process: sleep",
            "-c",
            "{process: sleep, count: {ge: 1}, user: {contains: root}}",
        ],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

fn hostile_names_are_data_and_nothing_runs() {
    let dir = TempDir::new("hostile");
    let payloads = [
        "$(touch pwned)",
        "`touch pwned`",
        "x;touch pwned",
        "x' ; touch pwned; '",
        "x\"$(touch pwned)\"",
        "x\ntouch pwned",
    ];
    let mut spec = String::from("checks:\n");
    for p in payloads {
        let q = serde_json::to_string(p).unwrap();
        for kind in ["package", "user", "group", "service", "process", "host"] {
            spec.push_str(&format!("  - {kind}: {q}\n"));
        }
        let path = serde_json::to_string(&format!("/tmp/{p}")).unwrap();
        spec.push_str(&format!("  - file: {path}\n    content: {{ contains: x }}\n    sha256: {{ contains: x }}\n    link_target: x\n"));
        spec.push_str(&format!("  - mount: {path}\n"));
    }
    let file = dir.write("hostile.yaml", &spec);
    let out = infraspec(&dir.0, &[&file]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        !dir.0.join("pwned").exists(),
        "a hostile name was run as a command"
    );
    assert!(!Path::new("/tmp/pwned").exists());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("package $(touch pwned)\n    ✗ should be installed"),
        "{stdout}"
    );

    // Where a name cannot be a real resource, the spec is refused before anything runs.
    for (kind, name) in [
        ("kernel_param", "../../../tmp/x"),
        ("interface", "$(touch pwned)"),
        ("package", "--force-all"),
        ("file", "relative/path"),
    ] {
        let spec = dir.write(
            "refused.yaml",
            &format!(
                "checks:\n  - {kind}: {}\n",
                serde_json::to_string(name).unwrap()
            ),
        );
        let out = infraspec(&dir.0, &[&spec]);
        assert_eq!(out.status.code(), Some(2), "{kind} {name}");
        assert!(
            text(&out.stderr).contains("refused.yaml:2"),
            "{}",
            text(&out.stderr)
        );
    }
    assert!(!dir.0.join("pwned").exists());
}

fn targets_that_cannot_be_used_exit_2() {
    let dir = TempDir::new("targets");
    let bad = infraspec(&dir.0, &["--target", "web1", "-c", "user: root"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("invalid target \"web1\""),
        "{}",
        text(&bad.stderr)
    );
    let unreachable = infraspec(
        &dir.0,
        &[
            "--target",
            "ssh://infraspec@127.0.0.1:1",
            "-c",
            "user: root",
        ],
    );
    assert_eq!(unreachable.status.code(), Some(2));
    assert!(
        text(&unreachable.stdout).contains("Connection refused"),
        "{}",
        text(&unreachable.stdout)
    );
}

fn no_checks_or_only_skips_exit_2() {
    let dir = TempDir::new("empty");
    let none = infraspec(&dir.0, &[]);
    assert_eq!(none.status.code(), Some(2));
    assert!(text(&none.stderr).contains("no checks given"));
    let skipped = infraspec(&dir.0, &["-c", "{user: root, skip: later}"]);
    assert_eq!(skipped.status.code(), Some(2), "{}", text(&skipped.stdout));
}

fn colors_follow_the_flag_and_no_color() {
    let dir = TempDir::new("color");
    let plain = infraspec(&dir.0, &["-c", "user: root"]);
    assert!(!text(&plain.stdout).contains('\u{1b}'));
    let colored = infraspec(&dir.0, &["--color", "always", "-c", "user: root"]);
    assert!(text(&colored.stdout).contains('\u{1b}'));
}

fn the_target_list_comes_from_the_environment_too() {
    let dir = TempDir::new("env");
    let out = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args(["--format", "json", "-c", "user: root"])
        .current_dir(&dir.0)
        .env("INFRASPEC_TARGET", "local,local")
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["targets"].as_array().unwrap().len(), 2);
}

fn a_hundred_real_checks_run_in_one_round_trip() {
    let dir = TempDir::new("hundred");
    let spec = dir.write("hundred.yaml", &support::corpus::local(100));
    let out = infraspec(&dir.0, &["--format", "json", &spec]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    assert_eq!(doc["summary"]["passed"], 100);
    // The facts are read in this process; the probes are one round trip.
    assert_eq!(doc["targets"][0]["stats"]["round_trips"], 1);
}

fn junit_and_tap_reports_for_a_two_target_run() {
    let dir = TempDir::new("junit");
    let out = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args([
            "--target", "local", "--target", "local", "--format", "tap", "--junit", "r.xml",
        ])
        .args([
            "-c",
            "user: root",
            "-c",
            "{user: nobody, uid: 1}",
            "-c",
            "{user: root, skip: 'not # now'}",
        ])
        .current_dir(&dir.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let tap = text(&out.stdout);
    assert!(tap.starts_with("TAP version 13\n1..6\n"), "{tap}");
    assert!(
        tap.contains("not ok 2 - local: user nobody uid should eq 1\n  ---\n"),
        "{tap}"
    );
    assert!(
        tap.contains("ok 3 - local: user root should exist # SKIP not \\# now\n"),
        "{tap}"
    );
    let xml = std::fs::read_to_string(dir.0.join("r.xml")).unwrap();
    assert_eq!(xml.matches("<testsuite name=\"local\"").count(), 2, "{xml}");
    assert!(xml.contains("<skipped message=\"not # now\"/>"), "{xml}");
    assert!(
        xml.contains("<failure type=\"fail\" message=\"expected to eq 1, found 65534"),
        "{xml}"
    );
    if Path::new("/usr/bin/xmllint").exists() {
        let lint = Command::new("xmllint")
            .args(["--noout"])
            .arg(dir.0.join("r.xml"))
            .output()
            .unwrap();
        assert!(lint.status.success(), "{}", text(&lint.stderr));
    }
}

fn a_machine_without_init_that_is_not_a_container_evaluates_time_sync_and_modules() {
    // Whatever this machine is, the facts decide: a container skips chrony and
    // kernel modules; a machine that is not one evaluates them.
    let dir = TempDir::new("aware");
    let spec = repo().join("examples/container-aware.yaml");
    let out = infraspec(&dir.0, &["--format", "json", spec.to_str().unwrap()]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let facts = infraspec(&dir.0, &["-c", "user: root"]);
    let in_container = text(&facts.stdout)
        .lines()
        .next()
        .unwrap()
        .contains("container");
    let chrony = doc["targets"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "service chrony should be running")
        .unwrap()
        .clone();
    if in_container {
        assert_eq!(chrony["outcome"], "skip", "{doc:#}");
    } else {
        assert_ne!(chrony["outcome"], "skip", "{doc:#}");
        let module = &doc["targets"][0]["checks"][3];
        assert_ne!(module["outcome"], "skip", "{doc:#}");
    }
}

fn inventories_label_and_group_targets() {
    let dir = TempDir::new("inventory");
    dir.write("inv.txt", "# two views of this machine\nlocal name=primary groups=web,prod\nlocal name=secondary groups=db\n");
    let out = infraspec(
        &dir.0,
        &[
            "--inventory",
            "inv.txt",
            "--format",
            "json",
            "-c",
            "user: root",
        ],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["primary", "secondary"]);
    let web = infraspec(
        &dir.0,
        &[
            "--inventory",
            "inv.txt",
            "--group",
            "db",
            "--format",
            "json",
            "-c",
            "user: root",
        ],
    );
    let doc: serde_json::Value = serde_json::from_slice(&web.stdout).unwrap();
    assert_eq!(doc["targets"].as_array().unwrap().len(), 1);
    assert_eq!(doc["targets"][0]["target"], "secondary");
    dir.write("bad.txt", "local\nweb1 name=x\n");
    let bad = infraspec(&dir.0, &["--inventory", "bad.txt", "-c", "user: root"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("bad.txt:2: invalid target \"web1\""),
        "{}",
        text(&bad.stderr)
    );
}

fn explain_prints_runnable_scripts_and_connects_to_nothing() {
    let dir = TempDir::new("explain");
    let started = std::time::Instant::now();
    let out = infraspec(
        &dir.0,
        &[
            "--explain",
            "--target",
            "ssh://nobody@192.0.2.1",
            "-c",
            "user: root",
            "-c",
            "package: bash",
            "-c",
            "{file: /etc/passwd, mode: '0644'}",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let script = text(&out.stdout);
    assert!(
        script.contains("# exec 1: one `sh` on the target reads both scripts")
            && script.contains("# round trip 1: facts (6 probes"),
        "{script}"
    );
    assert!(
        script.contains("# round trip 2, on the same `sh`: 3 probes for 3 checks"),
        "{script}"
    );
    assert!(script.contains("#   getent passwd root"), "{script}");
    // The probe script runs as it is printed.
    let round2 = script.split("# round trip 2").nth(1).unwrap();
    let body = &round2[round2.find("\n{").unwrap()..];
    let mut sh = Command::new("sh")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    sh.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let ran = sh.wait_with_output().unwrap();
    assert!(
        text(&ran.stdout).trim_end().ends_with(" done 3"),
        "{}",
        text(&ran.stdout)
    );
}

fn verbose_reports_round_trips_and_phases() {
    let dir = TempDir::new("verbose");
    let out = infraspec(&dir.0, &["-v", "-c", "user: root", "-c", "package: bash"]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("infraspec: local: 1 round trip, 1 exec, 2 probes; connect "),
        "{stderr}"
    );
    assert!(
        stderr.contains(" ms, facts ")
            && stderr.contains(" ms, checks ")
            && stderr.contains(" ms, total "),
        "{stderr}"
    );
}

fn a_dead_target_does_not_hold_the_others_beyond_its_timeout() {
    // A listener that accepts and never speaks: the SSH handshake waits for it.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = TempDir::new("dead");
    let started = std::time::Instant::now();
    let out = infraspec(
        &dir.0,
        &[
            "--format",
            "json",
            "--target",
            &format!("ssh://x@127.0.0.1:{port}?connect_timeout=2s"),
            "--target",
            "local",
            "-c",
            "user: root",
        ],
    );
    let took = started.elapsed();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        doc["targets"][0]["error"]
            .as_str()
            .unwrap()
            .contains("handshake"),
        "{doc:#}"
    );
    assert_eq!(doc["targets"][1]["checks"][0]["outcome"], "pass");
    assert!(took < std::time::Duration::from_secs(8), "took {took:?}");
    drop(silent);
}

fn a_contains_that_looks_like_a_pattern_warns_and_strict_refuses_it() {
    let dir = TempDir::new("strict");
    let spec = dir.write(
        "ssh.yaml",
        "checks:\n  - file: /etc/passwd\n    content: {contains: 'root:[x]'}\n",
    );
    let out = infraspec(&dir.0, &[&spec]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("ssh.yaml:2: `contains` is literal, and \"root:[x]\" looks like a pattern; for a pattern use `matches`"),
        "{stderr}"
    );
    let strict = infraspec(&dir.0, &["--strict", &spec]);
    assert_eq!(strict.status.code(), Some(2), "{}", text(&strict.stderr));
    assert!(text(&strict.stdout).is_empty(), "nothing ran");
    assert!(text(&strict.stderr).contains("--strict makes them errors"));
    // Under `not`, such a check could never fail: nothing runs.
    let negated = dir.write(
        "negated.yaml",
        "checks:\n  - file: /etc/passwd\n    content: {not: {contains: '^root'}}\n",
    );
    let refused = infraspec(&dir.0, &[&negated]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stdout).is_empty(), "nothing ran");
    assert!(
        text(&refused.stderr).contains("negated.yaml:3")
            && text(&refused.stderr).contains("literal: true"),
        "{}",
        text(&refused.stderr)
    );
    // The author says the text is meant: it runs, without a warning.
    let said = dir.write(
        "said.yaml",
        "checks:\n  - file: /etc/passwd\n    content: {not: {contains: '^root', literal: true}}\n",
    );
    let ran = infraspec(&dir.0, &["--strict", &said]);
    assert_eq!(ran.status.code(), Some(0), "{}", text(&ran.stderr));
    assert!(
        !text(&ran.stderr).contains("warning"),
        "{}",
        text(&ran.stderr)
    );
}

fn spec_mistakes_get_a_suggestion_and_a_missing_file_says_so() {
    let dir = TempDir::new("hints");
    let out = infraspec(
        &dir.0,
        &[
            "-c",
            "{pakage: nginx}",
            "-c",
            "{file: /etc/passwd, ownr: root}",
            "-c",
            "{file: /etc/passwd, content: {containz: x}}",
            "-c",
            "package bash",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("did you mean `package`?"), "{stderr}");
    assert!(stderr.contains("did you mean `owner`?"), "{stderr}");
    assert!(stderr.contains("did you mean `contains`?"), "{stderr}");
    assert!(
        stderr.contains("\"package bash\" is not a check: -c takes one check in YAML flow syntax"),
        "{stderr}"
    );
    let missing = infraspec(&dir.0, &["no-such-spec.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = text(&missing.stderr);
    assert!(
        stderr.starts_with("infraspec: cannot read no-such-spec.yaml: No such file"),
        "{stderr}"
    );
    assert!(!stderr.contains("error(s) in the spec"), "{stderr}");
    let flag = infraspec(&dir.0, &["--fromat", "json"]);
    assert_eq!(flag.status.code(), Some(2));
    let stderr = text(&flag.stderr);
    assert!(
        stderr.contains("a similar argument exists: '--format'"),
        "{stderr}"
    );
}

fn merge_needs_every_shard_of_one_run_once() {
    let dir = TempDir::new("shards");
    let inventory = dir.write("fleet.txt", "local name=a\nlocal name=b\n");
    let shard = |k: &str, check: &str, file: &str| {
        let out = infraspec(
            &dir.0,
            &[
                "--inventory",
                &inventory,
                "--shard",
                k,
                "--format",
                "json",
                "-o",
                file,
                "-c",
                check,
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        dir.0.join(file).to_str().unwrap().to_string()
    };
    let one = shard("1/2", "file: /", "one.json");
    let two = shard("2/2", "file: /", "two.json");
    let other = shard("2/2", "file: /etc", "other.json");
    let merge = |files: &[&str]| {
        let mut args = vec!["merge", "--format", "json"];
        args.extend(files);
        infraspec(&dir.0, &args)
    };
    let whole = merge(&[&one, &two]);
    assert_eq!(whole.status.code(), Some(0), "{}", text(&whole.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&whole.stdout).unwrap();
    assert_eq!(doc["summary"]["passed"], 2, "{doc:#}");
    for (files, said) in [
        (vec![one.as_str()], "shard(s) 2/2 of run"),
        (vec![one.as_str(), one.as_str()], "shard 1/2 is given twice"),
        (
            vec![one.as_str(), other.as_str()],
            "other.json is shard 2/2 of another run",
        ),
    ] {
        let out = merge(&files);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{files:?}: {}",
            text(&out.stdout)
        );
        assert!(
            text(&out.stderr).contains(said),
            "{files:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{files:?}: nothing is reported");
    }
}

/// Issue 26, cases 8 and 10: a second YAML document and an image reference
/// that would reach the engine's API as a path are load errors: nothing runs.
fn a_second_document_and_a_path_for_an_image_are_load_errors() {
    let dir = TempDir::new("docs");
    let two = dir.write(
        "two.yaml",
        "checks:\n  - file: /\n---\nchecks:\n  - file: /nonexistent-second\n",
    );
    let out = infraspec(&dir.0, &["--strict", &two]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty(), "nothing ran");
    assert!(
        text(&out.stderr).contains("two.yaml:3"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("second YAML document"),
        "{}",
        text(&out.stderr)
    );
    for bad in ["../containers/x", "%2e%2e/x", "name/json?"] {
        let out = infraspec(&dir.0, &["-c", &format!("{{docker_image: '{bad}'}}")]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out.stdout));
        assert!(
            text(&out.stderr).contains("not an image reference"),
            "{bad}: {}",
            text(&out.stderr)
        );
    }
}

/// Issue 26, case 12: a unix socket whose path has a space is read whole: a
/// shorter path that is its prefix does not listen.
fn a_unix_socket_path_with_a_space_is_read_whole() {
    let dir = TempDir::new("sock");
    let path = dir.0.join("sp ace.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let prefix = dir.0.join("sp");
    let out = infraspec(
        &dir.0,
        &[
            "-c",
            &format!("{{unix_socket: '{}'}}", path.display()),
            "-c",
            &format!("{{unix_socket: '{}', listening: false}}", prefix.display()),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

fn target_options_are_checked_when_the_target_is_read() {
    // `--list` connects to nothing: a misspelled option must still be
    // refused there, naming the option, before any run could reach it.
    let dir = TempDir::new("options");
    let spec = dir.write("s.yaml", "checks:\n  - user: root\n");
    for (target, says) in [
        (
            "ssh://h?sudo=ture",
            "option sudo=\"ture\" must be true or false",
        ),
        ("ssh://h?time_out=3s", "unknown option \"time_out\""),
        (
            "docker://c?usr=x",
            "unknown option \"usr\" (this target takes: user)",
        ),
        ("docker:img?start_timeout=-1s", "\"-1s\" is not a duration"),
        ("podman:img?cmd=[1", "is not a JSON list of strings"),
    ] {
        let out = infraspec(&dir.0, &["--list", "--target", target, &spec]);
        assert_eq!(out.status.code(), Some(2), "{target}: {}", show(&out));
        let err = text(&out.stderr);
        assert!(
            err.contains("invalid target") && err.contains(says),
            "{target}: {err}"
        );
    }
}

/// Issue 28/30: `add`, `autoadd` and `merge` are subcommands clap knows (in
/// the help and the completions), `help` is one too, help fits 80 columns,
/// a completion script cut short by its reader ends quietly, the manual
/// pages are written (`--man`), and a spec file named like a subcommand
/// still runs as a path.
fn subcommands_are_listed_and_a_spec_named_like_one_runs_as_a_path() {
    let dir = TempDir::new("subcommands");
    for args in [
        &["--help"][..],
        &["help"],
        &["add", "--help"],
        &["autoadd", "--help"],
        &["merge", "--help"],
        &["help", "merge"],
    ] {
        let out = infraspec(&dir.0, args);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", show(&out));
        assert!(stdout.contains("Usage: infraspec"), "{args:?}: {stdout}");
        for line in stdout.lines() {
            assert!(line.chars().count() <= 80, "{args:?}: too long: {line:?}");
        }
        if args[0] == "--help" || args == ["help"] {
            for sub in ["add", "autoadd", "merge"] {
                assert!(
                    stdout.lines().any(|l| l.trim_start().starts_with(sub)),
                    "{sub} missing from {args:?}: {stdout}"
                );
            }
        }
    }
    let bash = infraspec(&dir.0, &["--completions", "bash"]);
    assert!(text(&bash.stdout).contains("autoadd"), "{}", show(&bash));
    // The reader closes the pipe after one line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args(["--completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(101), "{}", show(&out));
    assert!(!text(&out.stderr).contains("panicked"), "{}", show(&out));

    // The manual: one page on stdout, every page with --man=DIR.
    let man = infraspec(&dir.0, &["--man"]);
    let page = text(&man.stdout);
    assert_eq!(man.status.code(), Some(0), "{}", show(&man));
    assert!(page.contains(".TH infraspec 1"), "{page}");
    for option in [
        "\\-\\-target",
        "\\-\\-fail\\-on\\-skip",
        "infraspec\\-add(1)",
        "Exit codes",
    ] {
        assert!(
            page.contains(option),
            "{option} missing from the page: {page}"
        );
    }
    let out = infraspec(&dir.0, &["--man=man"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    for name in [
        "infraspec.1",
        "infraspec-add.1",
        "infraspec-autoadd.1",
        "infraspec-merge.1",
    ] {
        let page = std::fs::read_to_string(dir.0.join("man").join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(page.contains(".TH infraspec"), "{name}: {page}");
    }

    for name in ["add", "merge", "help"] {
        dir.write(name, "checks:\n  - file: /\n    exists: true\n");
        let out = infraspec(&dir.0, &[&format!("./{name}")]);
        assert_eq!(out.status.code(), Some(0), "./{name}: {}", show(&out));
        assert!(text(&out.stdout).contains("1 passed"), "{}", show(&out));
    }
}

/// Issue 30, points 4, 5 and 9: a report written to a file still prints the
/// failures and the counts; a long report ends with a recap of what failed;
/// `--quiet` leaves out what passed; a run whose checks were all skipped
/// says so on stderr; `--fail-on-skip` makes a skip fail the gate.
fn the_console_says_what_failed_and_skips_can_fail_a_gate() {
    let dir = TempDir::new("recap");
    let failing = [
        "-c",
        "user: root",
        "-c",
        "{file: /nonexistent/recap, exists: true}",
        "-c",
        "{command: 'false', exit_status: 0}",
    ];
    let mut args = failing.to_vec();
    args.extend(["--format", "junit", "-o", "r.xml"]);
    let out = infraspec(&dir.0, &args);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("✗ local: file /nonexistent/recap should exist: found not present"),
        "{stdout}"
    );
    assert!(stdout.contains("✗ local: command false"), "{stdout}");
    assert!(
        !stdout.contains("user root"),
        "passes are not recapped: {stdout}"
    );
    assert!(
        stdout.ends_with("1 passed, 2 failed, 0 skipped, 0 errors\n"),
        "{stdout}"
    );
    assert!(std::fs::read_to_string(dir.0.join("r.xml"))
        .unwrap()
        .contains("<testsuite"));

    let out = infraspec(&dir.0, &failing);
    let stdout = text(&out.stdout);
    let recap = stdout.find("Failures and errors:").expect("a recap");
    assert!(stdout[recap..].contains("/nonexistent/recap"), "{stdout}");
    assert!(stdout.contains("✓ should exist"), "{stdout}");

    let mut quiet = failing.to_vec();
    quiet.push("--quiet");
    let out = infraspec(&dir.0, &quiet);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(!stdout.contains("user root"), "{stdout}");
    assert!(stdout.contains("expected: exist"), "{stdout}");

    let skipped = ["-c", "{service: chrony, running: true, skip: not here}"];
    let out = infraspec(&dir.0, &skipped);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("all 1 check(s) were skipped"),
        "{}",
        show(&out)
    );

    let mut half = skipped.to_vec();
    half.extend(["-c", "user: root"]);
    assert_eq!(infraspec(&dir.0, &half).status.code(), Some(0));
    half.push("--fail-on-skip");
    let out = infraspec(&dir.0, &half);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("--fail-on-skip"),
        "{}",
        show(&out)
    );
}

/// Writes `files` (relative path, content) under a fresh directory.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = support::temp_dir();
    for (path, content) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    dir
}

fn variables_fill_values_with_the_documented_precedence() {
    let dir = tree(&[
        (
            "spec.yaml",
            "vars:\n  word: from-spec\n  port: 1\ninclude: [roles/*.yaml]\nchecks:\n  - command: echo {{ word }}\n    stdout: {contains: '{{ word }}'}\n  - command: 'exit {{ code | default(0) }}'\n    exit_status: \"{{ code | default(0) }}\"\n",
        ),
        (
            "roles/a.yaml",
            "vars:\n  word: from-role\n  role_only: r\nchecks:\n  - command: echo {{ word }}-{{ role_only }}\n    stdout: {eq: \"{{ word }}-{{ role_only }}\"}\n",
        ),
        ("roles/.hidden.yaml", "not: a spec"),
        ("vars1.yaml", "word: from-file-1\ncode: 3\n"),
        ("vars2.yaml", "word: from-file-2\n"),
    ]);
    let list = |args: &[&str]| {
        let mut all = vec!["--list"];
        all.extend_from_slice(args);
        all.push("spec.yaml");
        let out = infraspec(dir.path(), &all);
        assert!(out.status.success(), "{}", show(&out));
        text(&out.stdout)
    };
    // The including file's value wins over the included file's; the role's
    // own variable stays; a hidden file is not matched by `*`.
    let plain = list(&[]);
    assert!(plain.contains("command echo from-spec-r stdout"), "{plain}");
    assert!(plain.contains("(roles/a.yaml:5)"), "{plain}");
    assert!(
        plain.contains("command exit 0 exit_status should eq 0"),
        "{plain}"
    );
    // --vars files in order, then --var.
    let files = list(&["--vars", "vars1.yaml", "--vars", "vars2.yaml"]);
    assert!(files.contains("command echo from-file-2 stdout"), "{files}");
    assert!(
        files.contains("command exit 3 exit_status should eq 3"),
        "{files}"
    );
    let var = list(&["--vars", "vars1.yaml", "--var", "word=from-var"]);
    assert!(var.contains("command echo from-var stdout"), "{var}");
    // And the run passes with those values: echo prints what is expected,
    // `exit 3` exits 3 (a number, as the unquoted YAML value was).
    let out = infraspec(dir.path(), &["--vars", "vars1.yaml", "spec.yaml"]);
    assert!(out.status.success(), "{}", show(&out));
}

fn variable_mistakes_are_load_errors_at_their_line() {
    let dir = tree(&[
        (
            "spec.yaml",
            "checks:\n  - package: bash\n  - file: '{{ nowhere }}'\n  - port: '{{ port | upper }}'\n",
        ),
        ("cycle-a.yaml", "include: [cycle-b.yaml]\n"),
        ("cycle-b.yaml", "include: [cycle-a.yaml]\nchecks:\n  - package: bash\n"),
        ("missing.yaml", "include:\n  - nope.yaml\n  - 'none/*.yaml'\n"),
    ]);
    let out = infraspec(dir.path(), &["spec.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("spec.yaml:3: undefined variable `nowhere`"),
        "{err}"
    );
    assert!(err.contains("spec.yaml:4: {{ port | upper }}"), "{err}");
    assert!(err.contains("nothing was run"), "{err}");
    let out = infraspec(dir.path(), &["cycle-a.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains(
            "cycle-b.yaml:1: `include`: an include cycle: cycle-a.yaml includes cycle-b.yaml includes cycle-a.yaml"
        ),
        "{}",
        show(&out)
    );
    let out = infraspec(dir.path(), &["missing.yaml"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("missing.yaml:2: `include`: cannot read nope.yaml"),
        "{err}"
    );
    assert!(
        err.contains("missing.yaml:3: `include`: \"none/*.yaml\" matches no file"),
        "{err}"
    );
    let out = infraspec(dir.path(), &["--var", "1x=2", "spec.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("not a variable name"),
        "{}",
        show(&out)
    );
}

fn sensitive_variables_are_never_printed() {
    let secret = "hunter2-topsecret";
    let dir = tree(&[(
        "spec.yaml",
        "vars:\n  pin: {value: pin-4711, sensitive: true}\n  token: {sensitive: true}\nchecks:\n  - command: echo {{ token }} {{ pin }}\n    stdout: {contains: 'wrong {{ token }}'}\n  - file: /etc/{{ token }}\n",
    )]);
    let report = dir.path().join("report.xml");
    let run = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_infraspec"));
        cmd.args(args)
            .current_dir(dir.path())
            .env_remove("INFRASPEC_TARGET")
            .env("NO_COLOR", "1")
            .env("INFRASPEC_VAR_token", secret);
        cmd.output().unwrap()
    };
    for format in ["human", "json", "tap", "junit"] {
        let out = run(&[
            "--format",
            format,
            "--junit",
            report.to_str().unwrap(),
            "spec.yaml",
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        let all = format!(
            "{}{}",
            show(&out),
            std::fs::read_to_string(&report).unwrap()
        );
        assert!(
            !all.contains("hunter2") && !all.contains("4711"),
            "{format}: {all}"
        );
        assert!(all.contains("***"), "{format}: {all}");
    }
    for flag in ["--list", "--explain"] {
        let out = run(&[flag, "spec.yaml"]);
        assert!(out.status.success(), "{}", show(&out));
        assert!(!show(&out).contains("hunter2"), "{flag}: {}", show(&out));
    }
    // Without a value anywhere, a sensitive variable is a load error.
    let out = infraspec(dir.path(), &["spec.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("spec.yaml:3: `token`: a sensitive variable without a value"),
        "{}",
        show(&out)
    );
}

fn inventory_variables_differ_per_host_and_groups_name_their_specs() {
    let dir = tree(&[
        (
            "inv/hosts.ini",
            "[web]\nweb1 ansible_connection=local\nweb2 ansible_connection=local word=inline\n[web:vars]\ninfraspec_specs=web.yaml\n[db]\ndb1 ansible_connection=local\n",
        ),
        ("inv/group_vars/all.yml", "word: everyone\n"),
        ("inv/group_vars/web.yml", "word: web-group\n"),
        ("inv/host_vars/web1/main.yml", "word: web1-own\n"),
        (
            "inv/web.yaml",
            "checks:\n  - command: echo web {{ word }}\n    exit_status: 0\n",
        ),
        (
            "spec.yaml",
            "checks:\n  - command: echo {{ word }}\n    stdout: {eq: \"{{ word }}\"}\n",
        ),
    ]);
    let out = infraspec(
        dir.path(),
        &[
            "--inventory",
            "inv/hosts.ini",
            "--format",
            "json",
            "spec.yaml",
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names = |host: &str| -> Vec<String> {
        let t = doc["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["target"] == host)
            .unwrap_or_else(|| panic!("{host}: {doc:#}"));
        t["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    // host_vars over the group's, the inventory's host variable over
    // group_vars, `all` for a host of another group; web hosts run web.yaml.
    assert_eq!(
        names("web1"),
        [
            "command echo web1-own stdout should eq \"web1-own\"",
            "command echo web web1-own exit_status should eq 0"
        ],
        "{doc:#}"
    );
    assert_eq!(
        names("web2")[0],
        "command echo inline stdout should eq \"inline\""
    );
    assert_eq!(
        names("db1"),
        ["command echo everyone stdout should eq \"everyone\""]
    );
    // Shards of that fleet are one run: each loads every target's checks
    // for the run's identity, and merge takes them together.
    let mut reports = Vec::new();
    for k in 1..=2 {
        let file = format!("shard{k}.json");
        let out = infraspec(
            dir.path(),
            &[
                "--inventory",
                "inv/hosts.ini",
                "--shard",
                &format!("{k}/2"),
                "--format",
                "json",
                "-o",
                &file,
                "spec.yaml",
            ],
        );
        assert!(out.status.success(), "{}", show(&out));
        reports.push(file);
    }
    let out = infraspec(
        dir.path(),
        &["merge", "--format", "json", &reports[0], &reports[1]],
    );
    assert!(out.status.success(), "{}", show(&out));
    let merged: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(merged["targets"].as_array().unwrap().len(), 3, "{merged:#}");
}

infraspec_tests! {
    Nothing: [
        variables_fill_values_with_the_documented_precedence,
        variable_mistakes_are_load_errors_at_their_line,
        sensitive_variables_are_never_printed,
        inventory_variables_differ_per_host_and_groups_name_their_specs,
        the_local_example_passes,
        a_failing_check_exits_1_and_says_target_expectation_found_and_command,
        bad_specs_exit_2_naming_file_line_and_key_and_run_nothing,
        json_output_follows_the_contract,
        report_goes_to_a_file_with_o,
        ad_hoc_checks_against_a_real_listener,
        processes_are_read_from_proc,
        hostile_names_are_data_and_nothing_runs,
        targets_that_cannot_be_used_exit_2,
        no_checks_or_only_skips_exit_2,
        colors_follow_the_flag_and_no_color,
        the_target_list_comes_from_the_environment_too,
        a_hundred_real_checks_run_in_one_round_trip,
        junit_and_tap_reports_for_a_two_target_run,
        a_machine_without_init_that_is_not_a_container_evaluates_time_sync_and_modules,
        inventories_label_and_group_targets,
        explain_prints_runnable_scripts_and_connects_to_nothing,
        verbose_reports_round_trips_and_phases,
        a_dead_target_does_not_hold_the_others_beyond_its_timeout,
        a_contains_that_looks_like_a_pattern_warns_and_strict_refuses_it,
        spec_mistakes_get_a_suggestion_and_a_missing_file_says_so,
        merge_needs_every_shard_of_one_run_once,
        a_second_document_and_a_path_for_an_image_are_load_errors,
        a_unix_socket_path_with_a_space_is_read_whole,
        target_options_are_checked_when_the_target_is_read,
        subcommands_are_listed_and_a_spec_named_like_one_runs_as_a_path,
        the_console_says_what_failed_and_skips_can_fail_a_gate,
    ],
}
