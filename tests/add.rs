//! `infraspec add` and `infraspec autoadd` against a running container: the
//! specs they write pass on the container they were made from and fail once
//! its service is stopped, in YAML and as a `spec!` compiled as a user test.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

use support::docker::{Running, DEBIAN};
use support::{show, text};

fn infraspec(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("INFRASPEC_TARGET")
        .output()
        .unwrap()
}

/// A Debian test container whose nginx is a daemon, not its PID 1, so that it
/// can be stopped while the container runs on (with an init that reaps it).
fn web() -> Running {
    let c = Running::start_with(&["--init", DEBIAN, "sleep", "infinity"]);
    let out = Command::new("docker")
        .args(["exec", &c.0, "nginx"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    c
}

/// Stops nginx in the container and waits until none of its processes is left.
fn stop_nginx(c: &Running) {
    let out = Command::new("docker")
        .args(["exec", &c.0, "sh", "-c"])
        .arg("nginx -s stop; for i in $(seq 50); do pgrep -x nginx >/dev/null || exit 0; sleep 0.1; done; exit 1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
}

/// The failing checks of a human report, by name.
fn failed(out: &Output) -> String {
    text(&out.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with('✗'))
        .collect::<Vec<_>>()
        .join("\n")
}

fn add_and_autoadd_specs_pass_where_made_and_fail_when_the_service_stops() {
    let c = web();
    let tmp = support::temp_dir();
    let dir = tmp.path();
    let target = format!("docker://{}", c.0);
    // A spec of one's own, with a comment and a key after the list: add
    // appends to it and keeps both.
    std::fs::write(
        dir.join("web.yaml"),
        "# the web tier\nchecks:\n  # kept as written\n  - file: /etc/hostname\n",
    )
    .unwrap();
    let add = infraspec(
        dir,
        &[
            "add",
            "--target",
            &target,
            "-o",
            "web.yaml",
            "package",
            "nginx",
            "service",
            "nginx",
            "port",
            "80",
            "file",
            "/etc/nginx/nginx.conf",
            "user",
            "www-data",
            "group",
            "www-data",
            "process",
            "nginx",
            "package",
            "infraspec-not-installed",
            "file",
            "/etc/infraspec-absent",
        ],
    );
    assert_eq!(add.status.code(), Some(0), "{}", show(&add));
    let spec = std::fs::read_to_string(dir.join("web.yaml")).unwrap();
    assert!(
        spec.starts_with("# the web tier\nchecks:\n  # kept as written\n  - file: /etc/hostname\n  # infraspec add: observed on docker://"),
        "{spec}"
    );
    for line in [
        "  - package: nginx\n    installed: true\n    version: ",
        "  - service: nginx\n    running: true\n",
        "  - port: 80\n    protocol: tcp\n    address: \"0.0.0.0\"\n    listening: true\n",
        "    mode: '0644'\n    owner: root\n    group: root\n    sha256: ",
        "  - user: www-data\n    exists: true\n    uid: 33\n",
        "  # package infraspec-not-installed was not found\n  - package: infraspec-not-installed\n    installed: false\n",
        "  - file: /etc/infraspec-absent\n    exists: false\n",
    ] {
        assert!(spec.contains(line), "missing {line:?} in:\n{spec}");
    }
    assert!(!spec.contains("mtime") && !spec.contains("pid"), "{spec}");
    // Issue 30, point 7: what stays true is written (a version floor, no
    // process count), and adding again updates the checks in place.
    assert!(spec.contains("    version: {version: \">= "), "{spec}");
    assert!(!spec.contains("count:"), "{spec}");
    assert!(spec.contains("  # count is not asserted"), "{spec}");
    let again = infraspec(
        dir,
        &[
            "add", "--target", &target, "-o", "web.yaml", "package", "nginx", "user", "root",
        ],
    );
    assert_eq!(again.status.code(), Some(0), "{}", show(&again));
    let spec = std::fs::read_to_string(dir.join("web.yaml")).unwrap();
    assert_eq!(spec.matches("  - package: nginx\n").count(), 1, "{spec}");
    assert_eq!(spec.matches("  - user: root\n").count(), 1, "{spec}");
    let pinned = infraspec(
        dir,
        &[
            "add", "--target", &target, "--pin", "package", "nginx", "process", "nginx",
        ],
    );
    let pinned = text(&pinned.stdout);
    assert!(pinned.contains("    version: \""), "{pinned}");
    assert!(pinned.contains("    count: "), "{pinned}");

    let auto = infraspec(
        dir,
        &["autoadd", "--target", &target, "-o", "auto.yaml", "nginx"],
    );
    assert_eq!(auto.status.code(), Some(0), "{}", show(&auto));
    let auto_spec = std::fs::read_to_string(dir.join("auto.yaml")).unwrap();
    for line in [
        "  - package: nginx\n",
        "  - service: nginx\n",
        "  - process: nginx\n",
        "  - port: 80\n    protocol: tcp\n",
    ] {
        assert!(
            auto_spec.contains(line),
            "missing {line:?} in:\n{auto_spec}"
        );
    }

    for spec in ["web.yaml", "auto.yaml"] {
        let run = infraspec(dir, &["--target", &target, spec]);
        assert_eq!(run.status.code(), Some(0), "{spec}: {}", show(&run));
    }
    stop_nginx(&c);
    for spec in ["web.yaml", "auto.yaml"] {
        let run = infraspec(dir, &["--target", &target, spec]);
        assert_eq!(run.status.code(), Some(1), "{spec}: {}", show(&run));
        let failed = failed(&run);
        assert!(
            failed.contains("should be running"),
            "{spec}: {failed}\n{}",
            show(&run)
        );
        assert!(failed.contains("should be listening"), "{spec}: {failed}");
    }
}

fn a_spec_added_from_an_image_fails_where_the_service_does_not_run() {
    let tmp = support::temp_dir();
    let dir = tmp.path();
    let image = format!("docker:{DEBIAN}");
    let add = infraspec(
        dir,
        &[
            "add",
            "--target",
            &image,
            "-o",
            "image.yaml",
            "service",
            "nginx",
            "port",
            "80",
        ],
    );
    assert_eq!(add.status.code(), Some(0), "{}", show(&add));
    let auto = infraspec(
        dir,
        &["autoadd", "--target", &image, "-o", "image.yaml", "nginx"],
    );
    assert_eq!(auto.status.code(), Some(0), "{}", show(&auto));
    let pass = infraspec(dir, &["--target", &image, "image.yaml"]);
    assert_eq!(pass.status.code(), Some(0), "{}", show(&pass));
    // The same image with another command: nginx does not run.
    let idle = format!("docker:{DEBIAN}?cmd=sleep%20600");
    let fail = infraspec(dir, &["--target", &idle, "image.yaml"]);
    assert_eq!(fail.status.code(), Some(1), "{}", show(&fail));
    let failed = failed(&fail);
    assert!(failed.contains("should be running"), "{failed}");
    assert!(failed.contains("should be listening"), "{failed}");
}

fn rust_output_compiles_and_passes_as_a_user_test() {
    let c = web();
    let target = format!("docker://{}", c.0);
    let tmp = support::temp_dir();
    let krate = tmp.path();
    std::fs::create_dir_all(krate.join("tests")).unwrap();
    let add = infraspec(
        krate,
        &[
            "add",
            "--format",
            "rust",
            "--target",
            &target,
            "-o",
            "tests/added.rs",
            "package",
            "nginx",
            "service",
            "nginx",
            "port",
            "80",
            "file",
            "/etc/nginx/nginx.conf",
            "user",
            "www-data",
            "process",
            "nginx",
            "package",
            "infraspec-not-installed",
            // Every other kind, so that each renders as Rust that compiles.
            "file",
            "/etc/nginx",
            "group",
            "www-data",
            "command",
            "echo 'a \"quoted\" word'",
            "kernel_param",
            "kernel.ostype",
            "mount",
            "/proc",
            "interface",
            "lo",
            "host",
            "localhost",
            "unix_socket",
            "/run/infraspec-none.sock",
            "kernel_module",
            "infraspec_none",
        ],
    );
    assert_eq!(add.status.code(), Some(0), "{}", show(&add));
    let source = std::fs::read_to_string(krate.join("tests/added.rs")).unwrap();
    assert!(
        source.contains("describe service(\"nginx\") {\n        it { should be_running() }"),
        "{source}"
    );
    assert!(
        source.contains("it { should_not be_installed() }"),
        "{source}"
    );
    // Written once: not over an existing file.
    let again = infraspec(
        krate,
        &[
            "add",
            "--format",
            "rust",
            "-o",
            "tests/added.rs",
            "user",
            "root",
        ],
    );
    assert_eq!(again.status.code(), Some(2), "{}", show(&again));

    // Compiled as a user's `harness = false` test is, against the library
    // this workspace built (the example crate, examples/infra-repo, is the
    // same through cargo; .ci/run tests it).
    let compiled = support::rustc::compile(&krate.join("tests/added.rs"), krate, false);
    let exe = compiled
        .exe
        .unwrap_or_else(|| panic!("{}\n{source}", show(&compiled.out)));
    let run = |target: &str| {
        Command::new(&exe)
            .env("INFRASPEC_TARGET", target)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let passing = run(&target);
    assert!(passing.status.success(), "{}\n{source}", show(&passing));
    assert!(
        text(&passing.stdout).contains("0 failed"),
        "{}",
        show(&passing)
    );
    stop_nginx(&c);
    let failing = run(&target);
    assert!(!failing.status.success(), "{}", show(&failing));
    let stdout = text(&failing.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("service nginx should be running") && l.ends_with("FAILED")),
        "{}",
        show(&failing)
    );
}

fn bad_input_is_named_and_nothing_is_written() {
    let tmp = support::temp_dir();
    let dir = tmp.path();
    let out = infraspec(dir, &["add", "pakage", "nginx"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "unknown kind \"pakage\" (did you mean `package`?); add takes: package, service, port"
        ),
        "{stderr}"
    );
    let odd = infraspec(dir, &["add", "package"]);
    assert_eq!(odd.status.code(), Some(2));
    assert!(
        text(&odd.stderr).contains("KIND NAME pairs"),
        "{}",
        show(&odd)
    );
    let hostile = infraspec(dir, &["add", "--", "package", "--version"]);
    assert_eq!(hostile.status.code(), Some(2), "{}", show(&hostile));
    // A spec file named `add` still runs, as ./add.
    std::fs::write(dir.join("add"), "checks:\n  - user: root\n").unwrap();
    let spec = infraspec(dir, &["./add"]);
    assert_eq!(spec.status.code(), Some(0), "{}", show(&spec));
    assert!(!dir.join("web.yaml").exists());
}

/// Issue 26, case 7: an os-release `PRETTY_NAME` holding line breaks (CR,
/// LF escaped by the shell, NEL) cannot write a check into the spec `add`
/// writes, with `-o` too.
fn a_hostile_pretty_name_writes_no_check() {
    let c = Running::start_with(&[support::docker::BUSYBOX]);
    let hostile = "printf 'NAME=x\\nID=busybox\\nPRETTY_NAME=\"Box\\r- command: touch /tmp/pwned\\302\\205- command: id\"\\n' > /etc/os-release";
    let set = Command::new("docker")
        .args(["exec", &c.0, "sh", "-c", hostile])
        .output()
        .unwrap();
    assert!(set.status.success(), "{}", show(&set));
    let dir = support::temp_dir();
    let target = format!("docker://{}", c.0);
    for args in [
        vec!["add", "--target", target.as_str(), "user", "root"],
        vec![
            "add",
            "--target",
            target.as_str(),
            "-o",
            "out.yaml",
            "user",
            "root",
        ],
    ] {
        let out = infraspec(dir.path(), &args);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let spec = if args.contains(&"-o") {
            std::fs::read_to_string(dir.path().join("out.yaml")).unwrap()
        } else {
            text(&out.stdout)
        };
        assert!(spec.contains("Box"), "{spec:?}");
        for line in spec.split(['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}']) {
            assert!(!line.trim_start().starts_with("- command"), "{spec:?}");
        }
        let path = dir.path().join("check.yaml");
        std::fs::write(&path, &spec).unwrap();
        let loaded = infraspec(dir.path(), &["--target", &target, "check.yaml"]);
        assert_eq!(loaded.status.code(), Some(0), "{}", show(&loaded));
        // Only the user's checks ran: no `command` resource among them.
        assert!(
            !text(&loaded.stdout)
                .lines()
                .any(|l| l.trim_start().starts_with("command ")),
            "{}",
            show(&loaded)
        );
    }
}

infraspec_tests! {
    Docker: [
        add_and_autoadd_specs_pass_where_made_and_fail_when_the_service_stops,
        a_spec_added_from_an_image_fails_where_the_service_does_not_run,
        rust_output_compiles_and_passes_as_a_user_test,
        a_hostile_pretty_name_writes_no_check,
    ],
    Nothing: [bad_input_is_named_and_nothing_is_written],
}
