// Included by tests/docker.rs and tests/podman.rs (modules of tests/suite.rs);
// a file under a subdirectory of tests/ is no test target of its own.

use support::{show, temp_file, text};

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::docker::{self as d, Running};

/// Runs infraspec and returns its output and its pid (for its containers' label).
fn infraspec(args: &[&str]) -> (Output, u32) {
    let child = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("INFRASPEC_TARGET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    (child.wait_with_output().unwrap(), pid)
}

fn the_same_hundred_check_spec_in_a_running_container() {
    let c = Running::start(d::DEBIAN);
    let spec = temp_file("hundred.yaml", &support::corpus::local(100));
    let target = d::container_target(&c.0);
    let mut seen = Vec::new();
    for t in ["local", target.as_str()] {
        let (out, _) = infraspec(&["--format", "json", "--target", t, spec.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{t}: {}", show(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["summary"]["passed"], 100, "{t}");
        // Local facts are read in this process, a container's in its `sh`.
        let trips = if t == "local" { 1 } else { 2 };
        assert_eq!(doc["targets"][0]["stats"]["round_trips"], trips, "{t}");
        seen.push(
            doc["targets"][0]["checks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].clone())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(seen[0], seen[1]);
}

fn an_nginx_image_is_gated_with_its_own_command_and_nothing_is_left() {
    let spec = temp_file(
        "gate.yaml",
        r#"checks:
  - package: nginx-light
  - service: nginx
  - port: 80
    protocol: tcp
  - process: nginx
    user: { contains: www-data }
  # No shell runs in this container but infraspec's own, which is not counted.
  - process: sh
    count: 0
  - process: cat
    running: false
  - file: /etc/nginx/nginx.conf
    content: { contains: worker_processes }
  - service: chrony
  - docker_image: infraspec-test/debian:12
    exposed_ports: { contains: 80/tcp }
"#,
    );
    let tmp = support::temp_dir();
    let report = tmp.path().join("gate.json");
    let junit = tmp.path().join("gate.xml");
    let target = d::image_target(d::DEBIAN);
    let (out, pid) = infraspec(&[
        "--target",
        &target,
        spec.to_str().unwrap(),
        "--format",
        "junit",
        "-o",
        junit.to_str().unwrap(),
        "--json",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let xml = std::fs::read_to_string(&junit).unwrap();
    let suite = format!(
        "<testsuite name=\"{}\" tests=\"9\" failures=\"0\" errors=\"0\" skipped=\"1\"",
        d::image_target(d::DEBIAN)
    );
    assert!(xml.contains(&suite), "{xml}");
    assert!(
        xml.contains("<skipped message=\"containers use the host&apos;s clock\"/>"),
        "{xml}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let checks = doc["targets"][0]["checks"].as_array().unwrap();
    let service = checks
        .iter()
        .find(|c| c["name"] == "service nginx should be running")
        .unwrap();
    assert!(
        service["message"]
            .as_str()
            .unwrap()
            .contains("judged by the pid file /run/nginx.pid (process 1, nginx, the service's daemon, is alive)"),
        "{service}"
    );
    let chrony = checks
        .iter()
        .find(|c| c["name"] == "service chrony should be running")
        .unwrap();
    assert_eq!(chrony["outcome"], "skip");
    assert_eq!(chrony["message"], "containers use the host's clock");
    assert!(
        d::containers_of(pid).is_empty(),
        "the throwaway container was left behind"
    );
}

fn a_failing_gate_still_removes_its_container() {
    let target = d::image_target(d::BUSYBOX);
    let (out, pid) = infraspec(&[
        "--target",
        &target,
        "-c",
        "port: 80",
        "-c",
        "{file: /bin/sh, type: symlink}",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("✗ should be listening"),
        "{}",
        show(&out)
    );
    assert!(d::containers_of(pid).is_empty());
}

fn an_image_whose_command_exits_is_exit_2_with_its_log() {
    let target = d::image_target(d::EXITS);
    let (out, pid) = infraspec(&["--target", &target, "-c", "file: /bin/sh"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stdout = text(&out.stdout);
    // Before the first exec, or (on a loaded machine) while it ran.
    assert!(
        stdout.contains("exited before the checks ran (exit code 3)")
            || stdout.contains("exited while it was being checked (exit code 3)"),
        "{stdout}"
    );
    assert!(stdout.contains("cannot find config"), "{stdout}");
    assert!(d::containers_of(pid).is_empty());
}

fn a_missing_image_is_a_clear_error_not_a_hang() {
    let started = Instant::now();
    let (out, _) = infraspec(&[
        "--target",
        &d::image_target("infraspec-test/no-such-image:0"),
        "-c",
        "file: /",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stdout).contains(&format!(
            "is not present on the {} engine",
            d::shown_engine()
        )),
        "{}",
        show(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

fn a_stopped_or_missing_container_is_exit_2() {
    let (out, _) = infraspec(&[
        "--target",
        &d::container_target("infraspec-no-such-container"),
        "-c",
        "file: /",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out.stdout).contains("no container"), "{}", show(&out));
}

fn interrupt_mid_run(signal: &str, exit: i32) {
    let target = d::image_target(d::BUSYBOX);
    let child = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args([
            "--target",
            &target,
            "-c",
            "{port: 9, eventually: {timeout: 60s, interval: 200ms}}",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let started = Instant::now();
    while d::containers_of(pid).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no container appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let it get into the checks.
    std::thread::sleep(Duration::from_millis(800));
    assert!(Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(exit), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("removed 1 throwaway container"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        d::containers_of(pid).is_empty(),
        "container left behind after {signal}"
    );
}

fn ctrl_c_mid_run_leaves_no_container() {
    interrupt_mid_run("-INT", 130);
}

fn sigterm_mid_run_leaves_no_container() {
    interrupt_mid_run("-TERM", 143);
}

fn leftovers_of_a_killed_run_are_removed_by_the_next() {
    // A container labelled as if a run with a long-dead pid had left it.
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let name = format!("infraspec-leftover-{}", std::process::id());
    let out = Command::new(d::engine())
        .args([
            "create",
            "--name",
            &name,
            "--label",
            "org.infraspec.managed=true",
            "--label",
        ])
        .arg(format!("org.infraspec.host={}", hostname.trim()))
        .args(["--label", "org.infraspec.pid=4194303", "--label"])
        .arg(format!(
            "org.infraspec.run={}/{}/4194303/1",
            std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .unwrap()
                .trim(),
            std::fs::read_link("/proc/self/ns/pid")
                .unwrap()
                .to_string_lossy()
        ))
        .arg(d::BUSYBOX)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (run, _) = infraspec(&[
        "--target",
        &d::image_target(d::BUSYBOX),
        "-c",
        "file: /bin/sh",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    // Under nextest another test's run, at the same time, may be the one
    // that reaps it: then this run has nothing to say, but it is gone all the same.
    let said = text(&run.stderr).contains("left by an earlier run");
    let exists = Command::new(d::engine())
        .args(["inspect", &name])
        .output()
        .unwrap();
    // Removed whatever the outcome, so that a failure leaves nothing behind.
    let _ = Command::new(d::engine()).args(["rm", "-f", &name]).output();
    assert!(
        !exists.status.success(),
        "the leftover container is still there (this run said it removed it: {said})"
    );
}

fn shell_less_images_answer_file_checks_and_refuse_the_rest() {
    let target = d::image_target(d::NOSHELL);
    let (out, pid) = infraspec(&[
        "--format",
        "json",
        "--target",
        &target,
        "-c",
        "{file: /etc/app/app.conf, type: file, mode: '0640', owner: '0', size: {gt: 10}, content: {contains: 'mode = production'}}",
        "-c",
        "{file: /etc/app/current.conf, type: symlink, link_target: app.conf}",
        "-c",
        "{file: /etc/app, type: directory}",
        "-c",
        "{file: /bin/sh, exists: false}",
        "-c",
        "user: root",
        "-c",
        "process: sleep",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["summary"],
        serde_json::json!({"passed": 9, "failed": 1, "skipped": 0, "errors": 1}),
        "{doc:#}"
    );
    // Users are read from the image's own files: it has no /etc/passwd.
    let user = &doc["targets"][0]["checks"][9];
    assert_eq!(user["outcome"], "fail", "{user}");
    // A process table needs a process in the container to read it.
    let process = &doc["targets"][0]["checks"][10];
    assert_eq!(process["outcome"], "error");
    assert!(
        process["message"].as_str().unwrap().contains("no shell"),
        "{process}"
    );
    assert!(d::containers_of(pid).is_empty());

    // A wrong expectation on a shell-less image fails; it does not pass by default.
    let (wrong, _) = infraspec(&[
        "--target",
        &target,
        "-c",
        "{file: /etc/app/app.conf, mode: '0644'}",
    ]);
    assert_eq!(wrong.status.code(), Some(1), "{}", show(&wrong));
    assert!(
        text(&wrong.stdout).contains("found:    0640"),
        "{}",
        show(&wrong)
    );
}

fn docker_image_metadata_positives_and_negatives() {
    let (out, _) = infraspec(&[
        "--format",
        "json",
        "-c",
        "{docker_image: 'infraspec-test/debian:12', exposed_ports: {contains: 80/tcp}, env: {contains: APP_ENV=test}, cmd: {contains: nginx}, labels: {contains: org.opencontainers.image.title=infraspec-test-nginx}}",
        "-c",
        "{docker_image: 'infraspec-test/debian:12', exposed_ports: {not: {contains: 22/tcp}}, env: {not: {matches: '^SECRET='}}}",
        "-c",
        "{docker_image: 'infraspec-test/noshell:1', user: '65534', workdir: /etc/app}",
        "-c",
        "{docker_image: 'infraspec-test/none:0', exists: false}",
        "-c",
        "{docker_image: 'infraspec-test/debian:12', exposed_ports: {contains: 22/tcp}}",
        "-c",
        "{docker_image: 'infraspec-test/debian:12', env: {not: {matches: '^APP_'}}}",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{doc:#}");
    assert_eq!(
        doc["summary"],
        serde_json::json!({"passed": 9, "failed": 2, "skipped": 0, "errors": 0}),
        "{doc:#}"
    );
}

fn exec_options_user_and_overrides() {
    let c = Running::start(d::BUSYBOX);
    let (out, _) = infraspec(&[
        "--target",
        &format!("{}?user=nobody", d::container_target(&c.0)),
        "-c",
        "{command: id -u, stdout: '65534'}",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let target = format!(
        "{}?cmd=%5B%22%2Fbin%2Fsleep%22%2C%22600%22%5D&env=GREETING=hi",
        d::image_target(d::BUSYBOX)
    );
    let (out, _) = infraspec(&[
        "--target",
        &target,
        "-c",
        "{command: 'echo $GREETING', stdout: hi}",
        "-c",
        "{command: 'cat /proc/1/cmdline | tr \"\\0\" \" \"', stdout: {contains: '600'}}",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

fn a_panic_while_checking_still_removes_the_container() {
    let target: infraspec::Target = d::image_target(d::BUSYBOX).parse().unwrap();
    let me = std::process::id();
    let result = std::panic::catch_unwind(|| {
        let _backend = infraspec::backend::connect(&target, &Default::default()).unwrap();
        assert_eq!(d::containers_of(me).len(), 1);
        panic!("a bug while checking");
    });
    assert!(result.is_err());
    assert!(
        d::containers_of(me).is_empty(),
        "the container outlived the panic"
    );
}

fn container_awareness_skips_what_a_container_cannot_answer_and_says_why() {
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/container-aware.yaml");
    let target = d::image_target(d::DEBIAN);
    let (out, _) = infraspec(&["--format", "json", "--target", &target, spec]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcome = |name: &str| {
        let c = doc["targets"][0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {doc:#}"));
        (
            c["outcome"].as_str().unwrap().to_string(),
            c["message"].as_str().unwrap().to_string(),
        )
    };
    let (o, m) = outcome("service nginx should be running");
    assert_eq!(o, "pass");
    // The pid file's live process is the daemon the init script declares.
    assert!(
        m.contains("judged by the pid file /run/nginx.pid") && m.contains("the service's daemon"),
        "{m}"
    );
    // No init system runs, but what is on disk answers: rc and unit links.
    let (o, m) = outcome("service nginx should be enabled");
    assert_eq!(o, "pass");
    assert!(
        m.contains("judged from disk") && m.contains("/etc/rc2.d/S01nginx"),
        "{m}"
    );
    assert_eq!(
        outcome("service chrony should be running"),
        ("skip".into(), "containers use the host's clock".into())
    );
    assert_eq!(
        outcome("kernel_module overlay should be loaded"),
        (
            "skip".into(),
            "kernel modules are the host's, not the container's".into()
        )
    );
    assert_eq!(
        outcome("kernel_param kernel.ostype value should eq \"Linux\"").0,
        "pass"
    );
    assert_eq!(out.status.code(), Some(0), "{doc:#}");

    // --no-auto-skip evaluates them all.
    let (all, _) = infraspec(&[
        "--format",
        "json",
        "--no-auto-skip",
        "--target",
        &target,
        spec,
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    assert_eq!(doc["summary"]["skipped"], 0, "{doc:#}");

    // Where nothing on disk can tell (no unit directories, no /etc/init.d,
    // no runlevels: a busybox image), `enabled` is skipped, with the reason.
    let (bare, _) = infraspec(&[
        "--format",
        "json",
        "--target",
        &d::image_target(d::BUSYBOX),
        "-c",
        "{service: httpd, enabled: true}",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&bare.stdout).unwrap();
    let enabled = &doc["targets"][0]["checks"][0];
    assert_eq!(enabled["outcome"], "skip", "{doc:#}");
    assert!(
        enabled["message"]
            .as_str()
            .unwrap()
            .contains("nothing on disk can tell"),
        "{enabled}"
    );

    // skip_in_container: false forces one check past the rules.
    let (forced, _) = infraspec(&[
        "--format",
        "json",
        "--target",
        &target,
        "-c",
        "{service: chrony, skip_in_container: false}",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&forced.stdout).unwrap();
    assert_eq!(doc["targets"][0]["checks"][0]["outcome"], "fail", "{doc:#}");
}

/// A server on the runner that answers every connection with one fixed
/// HTTP response, for as long as the test holds it.
fn runner_server(ip: &str, body: &'static str) -> u16 {
    use std::io::Write;
    let listener = std::net::TcpListener::bind((ip, 0))
        .unwrap_or_else(|e| panic!("cannot listen on {ip} on the runner: {e}"));
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let _ = write!(
                s,
                "HTTP/1.0 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn network_checks_are_made_from_the_containers_namespace() {
    // A service bound to the container's own loopback only.
    let bridged = Running::start_with(&[
        d::BUSYBOX,
        "httpd",
        "-f",
        "-p",
        "127.0.0.1:8080",
        "-h",
        "/etc",
    ]);
    let isolated = Running::start_with(&["--network", "none", d::BUSYBOX]);
    let gateway = text(
        &Command::new(d::engine())
            .args([
                "inspect",
                "-f",
                "{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}",
                &bridged.0,
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string();
    assert!(!gateway.is_empty(), "the bridged container has no gateway");
    // Servers only the runner can reach: on the bridge gateway (which a
    // container without a network cannot reach) and on 127.0.0.2 (the
    // runner's loopback, not the container's).
    let on_gateway = runner_server(&gateway, "runner-only-body");
    let on_loopback = runner_server("127.0.0.2", "runner-only-body");
    let bridged_t = d::container_target(&bridged.0);
    let isolated_t = d::container_target(&isolated.0);
    // Each target's checks in one run (a run on podman starts a private
    // service): the outcome each must have, or (None) any but pass.
    let runs = [
        (
            &bridged_t,
            vec![
                ("{host: 127.0.0.1, port: 8080, reachable: true}".to_string(), Some("pass")),
                ("{http: 'http://LOCALHOST:8080/passwd', body: {contains: 'root:x:0:0'}}".into(), Some("pass")),
                ("{http: 'http://localhost:8080/group', status: 200}".into(), Some("pass")),
                (format!("{{host: 127.0.0.2, port: {on_loopback}, reachable: false}}"), Some("pass")),
                // A request the container cannot make is no answer from the runner.
                (format!("{{http: 'http://127.0.0.2:{on_loopback}/', status: 200}}"), None),
            ],
        ),
        (
            &isolated_t,
            vec![
                (format!("{{host: '{gateway}', port: {on_gateway}, reachable: false}}"), Some("pass")),
                (format!("{{host: '{gateway}', port: {on_gateway}, reachable: true}}"), Some("fail")),
                ("{host: 127.0.0.1, port: 8080, reachable: false}".into(), Some("pass")),
                (format!("{{http: 'http://{gateway}:{on_gateway}/', status: 200}}"), None),
            ],
        ),
    ];
    for (target, checks) in runs {
        let spec = checks
            .iter()
            .map(|(c, _)| format!("  - {c}\n"))
            .collect::<String>();
        let spec = support::temp_file("netns.yaml", &format!("checks:\n{spec}"));
        let (out, _) = infraspec(&["--format", "json", "--target", target, spec.to_str().unwrap()]);
        assert!(
            !text(&out.stdout).contains("runner-only-body"),
            "{target} read the runner: {}",
            show(&out)
        );
        let got = support::checks_of(&out);
        assert_eq!(got.len(), checks.len(), "{target}: {}", show(&out));
        for ((check, want), (_, outcome, message)) in checks.iter().zip(&got) {
            match want {
                Some(want) => assert_eq!(outcome, want, "{target} {check}: {message}"),
                None => assert_ne!(outcome, "pass", "{target} {check}: {message}"),
            }
        }
    }
}

/// Issue 28: `docker_image` is asked of the engine that holds the target's
/// images: a name only that engine has exists on its container target (a
/// podman target asked Docker before), and is absent for the runner's
/// Docker when the engine is podman.
fn docker_image_is_asked_of_the_targets_engine() {
    /// A tag of our own in the engine, removed by name on drop.
    struct Tag(String);
    impl Drop for Tag {
        fn drop(&mut self) {
            let _ = d::docker(&["rmi", &self.0]);
        }
    }
    let tag = Tag(format!(
        "infraspec-test/engine-only:{}-{}",
        std::process::id(),
        support::sshd::free_port()
    ));
    let out = d::docker(&["tag", d::BUSYBOX, &tag.0]);
    assert!(out.status.success(), "tag: {}", show(&out));
    let c = Running::start(d::BUSYBOX);
    let check = format!("{{docker_image: '{}', exists: true}}", tag.0);
    let (out, _) = infraspec(&["--target", &d::container_target(&c.0), "-c", &check]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    if d::engine() == "podman" {
        // The runner's Docker engine does not have it: the verdict above
        // came from podman.
        let (out, _) = infraspec(&["-c", &check]);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    }
}

infraspec_tests! {
    Docker: [
        docker_image_is_asked_of_the_targets_engine,
        the_same_hundred_check_spec_in_a_running_container,
        an_nginx_image_is_gated_with_its_own_command_and_nothing_is_left,
        a_failing_gate_still_removes_its_container,
        an_image_whose_command_exits_is_exit_2_with_its_log,
        a_missing_image_is_a_clear_error_not_a_hang,
        a_stopped_or_missing_container_is_exit_2,
        ctrl_c_mid_run_leaves_no_container,
        sigterm_mid_run_leaves_no_container,
        leftovers_of_a_killed_run_are_removed_by_the_next,
        shell_less_images_answer_file_checks_and_refuse_the_rest,
        docker_image_metadata_positives_and_negatives,
        exec_options_user_and_overrides,
        a_panic_while_checking_still_removes_the_container,
        container_awareness_skips_what_a_container_cannot_answer_and_says_why,
        network_checks_are_made_from_the_containers_namespace,
    ],
}
