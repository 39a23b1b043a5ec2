//! The `spec!` harness (tests/dsl_spec.rs) driven as `cargo test` and
//! cargo-nextest drive it.

use crate::support;

use support::text;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The dsl_spec test binary, built by cargo next to this one.
fn spec_binary() -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    std::fs::read_dir(&deps)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("dsl_spec-") && !name.contains('.')
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .expect("the dsl_spec test binary (cargo test builds it)")
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(spec_binary());
    cmd.args(args)
        .env_remove("INFRASPEC_TARGET")
        .env_remove("INFRASPEC_INVENTORY")
        .env_remove("INFRASPEC_DSL_MARKER")
        .env_remove("INFRASPEC_DSL_MODE_FILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn listing_names_every_trial_and_connects_to_nothing() {
    let started = Instant::now();
    // An unreachable target: listing must not try it.
    let out = run(
        &["--list"],
        &[("INFRASPEC_TARGET", "ssh://nobody@192.0.2.1:22")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(5));
    let list = text(&out.stdout);
    assert!(
        list.contains("[package] package dpkg should be installed: test"),
        "{list}"
    );
    assert!(
        list.contains(
            "[file] file /etc/passwd content should not contain \"infraspec-was-here\": test"
        ),
        "{list}"
    );
    assert!(
        list.contains("[test] root_can_run_commands: test"),
        "{list}"
    );
    assert_eq!(list.matches(": test").count(), 21, "{list}");
}

/// An Ansible inventory names the DSL's targets too (INFRASPEC_INVENTORY),
/// read as the CLI reads it: `host:port`, the group's user.
fn an_inventory_names_the_targets() {
    let dir = crate::support::temp_dir();
    let inventory = dir.path().join("hosts.ini");
    std::fs::write(
        &inventory,
        "[web]\nweb1.example.com:2222\n[web:vars]\nansible_user=deploy\n",
    )
    .unwrap();
    let out = run(
        &["--list"],
        &[
            ("INFRASPEC_INVENTORY", inventory.to_str().unwrap()),
            ("INFRASPEC_TARGET", "local"),
        ],
    );
    let list = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        list.contains("[user] ssh://deploy@web1.example.com:2222: user root should exist: test"),
        "{list}"
    );
    assert!(
        list.contains("[user] local: user root should exist"),
        "{list}"
    );
}

fn several_targets_name_every_trial_with_its_target() {
    let out = run(&["--list"], &[("INFRASPEC_TARGET", "local,ssh://web1")]);
    let list = text(&out.stdout);
    assert!(
        list.contains("[user] local: user root should exist: test"),
        "{list}"
    );
    assert!(
        list.contains("[user] ssh://web1: user root should exist: test"),
        "{list}"
    );
}

fn only_the_selected_trials_are_planned_and_run() {
    let dir = support::temp_dir();
    let marker = dir.path().join("ran");
    let m = marker.to_str().unwrap();
    let out = run(&["user root"], &[("INFRASPEC_DSL_MARKER", m)]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("3 passed; 0 failed; 0 ignored; 0 measured; 18 filtered out"),
        "{}",
        text(&out.stdout)
    );
    assert!(!marker.exists(), "a check outside the filter ran");
    let all = run(&[], &[("INFRASPEC_DSL_MARKER", m)]);
    assert!(all.status.success(), "{}", text(&all.stdout));
    assert!(
        marker.exists(),
        "the marker check did not run without a filter"
    );
}

fn exact_selects_one_trial_as_nextest_runs_it() {
    let out = run(
        &["--exact", "user root uid should eq 0", "--nocapture"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("1 passed; 0 failed; 0 ignored; 0 measured; 20 filtered out"),
        "{}",
        text(&out.stdout)
    );
}

fn a_failure_shows_expected_found_and_the_command() {
    let out = run(&["be mode"], &[("INFRASPEC_DSL_MODE_FILE", "/etc/shadow")]);
    assert_eq!(out.status.code(), Some(101), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("local: expected to be mode 0644"),
        "{stdout}"
    );
    assert!(stdout.contains("found:       0640"), "{stdout}");
    assert!(stdout.contains("observed by: stat -L -c"), "{stdout}");
    assert!(
        stdout.contains("at:          tests/dsl_spec.rs:"),
        "{stdout}"
    );
}

fn skips_are_ignored_trials_with_their_reason() {
    // Flagged ignored (nextest and `--ignored` see it), with the reason
    // printed before the run and again when it is run on purpose.
    let out = run(&["infraspec-skipped"], &[]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("... ignored\n"), "{stdout}");
    assert!(
        stdout.contains("should be running: shown as ignored with this reason"),
        "{stdout}"
    );
    let listed = run(&["--list", "--ignored"], &[]);
    assert!(
        text(&listed.stdout).contains("service infraspec-skipped should be running"),
        "{}",
        text(&listed.stdout)
    );
    let included = run(&["infraspec-skipped", "--include-ignored"], &[]);
    assert!(
        text(&included.stdout).contains("... ignored (shown as ignored with this reason)"),
        "{}",
        text(&included.stdout)
    );
}

fn against_a_container_skip_in_container_is_ignored_with_the_reason() {
    let target = format!("docker:{}", support::docker::DEBIAN);
    let out = run(&[], &[("INFRASPEC_TARGET", &target)]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("process infraspec-not-in-containers should not be running        ... ignored (skip_in_container: the target is a docker container)"),
        "{stdout}"
    );
}

/// Issue 30, point 8: a target that cannot be reached fails every trial of
/// it, and says why once; the other trials point to it in one line.
fn an_unreachable_target_says_why_once() {
    // A loopback port nothing listens on: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(
        &["--test-threads", "1"],
        &[(
            "INFRASPEC_TARGET",
            &format!("ssh://nobody@127.0.0.1:{port}"),
        )],
    );
    assert!(!out.status.success());
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    let refused = all.matches("Connection refused").count();
    let pointers = all.matches("its error is shown once").count();
    assert_eq!(refused, 1, "{all}");
    assert!(pointers >= 10, "{all}");
}

fn variables_reach_the_spec_and_sensitive_ones_stay_hidden() {
    let dir = support::temp_dir();
    let file = dir.path().join("vars.yaml");
    std::fs::write(&file, "dsl_greeting: bonjour\n").unwrap();
    let vars = file.to_str().unwrap();
    let filter = "from a variable";
    // From a file: the value is in the trial's name, and the trial passes.
    let out = run(&[filter], &[("INFRASPEC_VARS", vars)]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("command echo bonjour from a variable stdout should contain"),
        "{}",
        text(&out.stdout)
    );
    // From the environment: sensitive, shown as *** in the trial names.
    let out = run(
        &[filter],
        &[
            ("INFRASPEC_VARS", vars),
            ("INFRASPEC_VAR_dsl_greeting", "s3cr3t-value"),
        ],
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("s3cr3t"), "{all}");
    assert!(all.contains("command echo *** from a variable"), "{all}");
    // An unreadable variables file stops the binary before any trial.
    let out = run(&["--list"], &[("INFRASPEC_VARS", "/nonexistent/vars.yaml")]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("INFRASPEC_VARS: --vars /nonexistent/vars.yaml: cannot read it"),
        "{}",
        text(&out.stderr)
    );
}

infraspec_tests! {
    Nothing: [
        variables_reach_the_spec_and_sensitive_ones_stay_hidden,
        an_unreachable_target_says_why_once,
        listing_names_every_trial_and_connects_to_nothing,
        several_targets_name_every_trial_with_its_target,
        an_inventory_names_the_targets,
        only_the_selected_trials_are_planned_and_run,
        exact_selects_one_trial_as_nextest_runs_it,
        a_failure_shows_expected_found_and_the_command,
        skips_are_ignored_trials_with_their_reason,
    ],
    Docker: [
        against_a_container_skip_in_container_is_ignored_with_the_reason,
    ],
}
