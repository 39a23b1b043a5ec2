//! The SSH backend against a real OpenSSH server on loopback.

use crate::support;

use support::{show, text};

use std::process::Command;
use std::time::{Duration, Instant};

use support::sshd::{self, Sshd, USER};

fn direct(s: &Sshd) -> String {
    format!("ssh://{USER}@127.0.0.1:{}", s.port)
}

fn key_auth_through_an_ssh_config_alias() {
    let s = sshd::start();
    let out = s.infraspec(
        &[
            "--target",
            "ssh://box",
            "-c",
            "{command: id -un, stdout: infraspec-ssh}",
            "-c",
            "{user: infraspec-ssh, shell: /bin/sh}",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(text(&out.stdout).starts_with("ssh://box"), "{}", show(&out));
}

fn key_auth_with_explicit_user_port_and_identity() {
    let s = sshd::start();
    std::fs::remove_file(s.ssh_dir().join("config")).unwrap();
    let key = s.ssh_dir().join("id_test");
    let target = format!("{}?identity={}", direct(&s), key.display());
    let out = s.infraspec(&["--target", &target, "-c", "user: infraspec-ssh"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

fn agent_auth() {
    let s = sshd::start();
    // The key lives only in the agent: no key files in ~/.ssh, no IdentityFile.
    let key = s.dir.join("agent_key");
    std::fs::rename(s.ssh_dir().join("id_test"), &key).unwrap();
    std::fs::remove_file(s.ssh_dir().join("id_test.pub")).unwrap();
    std::fs::write(
        s.ssh_dir().join("config"),
        format!(
            "Host box\n    HostName 127.0.0.1\n    Port {}\n    User {USER}\n",
            s.port
        ),
    )
    .unwrap();
    let sock = s.dir.join("agent.sock");
    let agent = Command::new("ssh-agent")
        .arg("-a")
        .arg(&sock)
        .output()
        .unwrap();
    assert!(agent.status.success());
    let pid = text(&agent.stdout)
        .split("SSH_AGENT_PID=")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .unwrap()
        .to_string();
    let added = Command::new("ssh-add")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", text(&added.stderr));
    let out = s.infraspec(
        &["--target", "ssh://box", "-c", "user: infraspec-ssh"],
        &[("SSH_AUTH_SOCK", sock.to_str().unwrap())],
    );
    let _ = Command::new("kill").arg(&pid).status();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // Without the agent, the same target cannot authenticate, and says what it tried.
    let without = s.infraspec(&["--target", "ssh://box", "-c", "user: infraspec-ssh"], &[]);
    assert_eq!(without.status.code(), Some(2), "{}", show(&without));
    assert!(
        text(&without.stdout).contains("ssh-agent (SSH_AUTH_SOCK not set)"),
        "{}",
        show(&without)
    );
}

fn an_unknown_host_is_refused_unless_accepted_and_then_recorded() {
    let s = sshd::start();
    let known = s.ssh_dir().join("known_hosts");
    std::fs::write(&known, "").unwrap();
    let refused = s.infraspec(&["--target", "ssh://box", "-c", "user: root"], &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", show(&refused));
    let stdout = text(&refused.stdout);
    assert!(
        stdout.contains(&format!("[127.0.0.1]:{} is not in", s.port))
            && stdout.contains("accept_new"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&known).unwrap(), "");

    let accepted = s.infraspec(
        &["--target", "ssh://box?accept_new=true", "-c", "user: root"],
        &[],
    );
    assert_eq!(accepted.status.code(), Some(0), "{}", show(&accepted));
    let recorded = std::fs::read_to_string(&known).unwrap();
    assert!(
        recorded.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", s.port)),
        "{recorded}"
    );

    // Recorded: the next run needs no opt-in.
    let again = s.infraspec(&["--target", "ssh://box", "-c", "user: root"], &[]);
    assert_eq!(again.status.code(), Some(0), "{}", show(&again));

    // The flag form works too.
    std::fs::write(&known, "").unwrap();
    let flag = s.infraspec(
        &[
            "--ssh-accept-new",
            "--target",
            "ssh://box",
            "-c",
            "user: root",
        ],
        &[],
    );
    assert_eq!(flag.status.code(), Some(0), "{}", show(&flag));
}

fn a_changed_host_key_is_always_refused() {
    let s = sshd::start();
    let other = s.dir.join("other_host_key");
    sshd::keygen(&other);
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let key = other_pub
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    std::fs::write(
        s.ssh_dir().join("known_hosts"),
        format!("[127.0.0.1]:{} {key}\n", s.port),
    )
    .unwrap();
    for target in ["ssh://box", "ssh://box?accept_new=true"] {
        let out = s.infraspec(&["--target", target, "-c", "user: root"], &[]);
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        assert!(text(&out.stdout).contains("has CHANGED"), "{}", show(&out));
    }
}

fn hashed_known_hosts_entries_verify() {
    let s = sshd::start();
    let known = s.ssh_dir().join("known_hosts");
    let hashed = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&known)
        .output()
        .unwrap();
    assert!(hashed.status.success(), "{}", text(&hashed.stderr));
    assert!(std::fs::read_to_string(&known).unwrap().starts_with("|1|"));
    let out = s.infraspec(&["--target", "ssh://box", "-c", "user: root"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

fn a_wrong_key_is_refused_naming_what_was_tried() {
    let s = sshd::start();
    sshd::keygen(&s.ssh_dir().join("id_test"));
    let out = s.infraspec(&["--target", "ssh://box", "-c", "user: root"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("authentication as infraspec-ssh failed: tried"),
        "{stdout}"
    );
    assert!(stdout.contains("id_test"), "{stdout}");
    assert!(stdout.contains("the server offers: publickey"), "{stdout}");
}

fn an_unreachable_or_silent_host_fails_in_bounded_time() {
    let s = sshd::start();
    let closed = sshd::free_port();
    let started = Instant::now();
    let out = s.infraspec(
        &[
            "--target",
            &format!("ssh://{USER}@127.0.0.1:{closed}"),
            "-c",
            "user: root",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("Connection refused"),
        "{}",
        show(&out)
    );

    // A listener that never speaks SSH.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let out = s.infraspec(
        &[
            "--target",
            &format!("ssh://{USER}@127.0.0.1:{port}?connect_timeout=1s"),
            "-c",
            "user: root",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out.stdout).contains("handshake"), "{}", show(&out));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

fn sudo_escalates_once_per_session() {
    let s = sshd::start();
    // The sudo log of the container sshd runs in.
    let count = || {
        text(&s.exec("cat /var/log/infraspec-sudo.log 2>/dev/null").stdout)
            .matches("COMMAND=")
            .count()
    };
    let before = count();
    let out = s.infraspec(
        &[
            "--format",
            "json",
            "--target",
            "ssh://box?sudo=true",
            "-c",
            "{command: id -u, stdout: '0'}",
            "-c",
            "{file: /etc/shadow, mode: {one_of: ['0640', '0600']}}",
            "-c",
            "{command: 'cat /etc/shadow >/dev/null'}",
            "-c",
            "user: root",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["targets"][0]["stats"]["round_trips"], 2);
    assert_eq!(doc["targets"][0]["stats"]["execs"], 1, "one channel");
    assert_eq!(
        count() - before,
        1,
        "one sudo for the session's shell: the facts batch and the probe batch"
    );

    // Without sudo, the same user cannot read /etc/shadow.
    let plain = s.infraspec(
        &[
            "--target",
            "ssh://box",
            "-c",
            "{command: 'cat /etc/shadow >/dev/null'}",
        ],
        &[],
    );
    assert_eq!(plain.status.code(), Some(1), "{}", show(&plain));
}

fn the_same_hundred_check_spec_as_through_docker() {
    let s = sshd::start();
    let spec = s.dir.join("hundred.yaml");
    std::fs::write(&spec, support::corpus::local(100)).unwrap();
    let spec = spec.to_str().unwrap();
    let mut results = Vec::new();
    let container = format!("docker://{}", s.container);
    for target in [container.as_str(), "ssh://box"] {
        let out = s.infraspec(&["--format", "json", "--target", target, spec], &[]);
        assert_eq!(out.status.code(), Some(0), "{target}: {}", show(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["summary"]["passed"], 100);
        assert_eq!(doc["targets"][0]["stats"]["round_trips"], 2);
        results.push(
            doc["targets"][0]["checks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["name"].clone(), c["outcome"].clone()))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(results[0], results[1]);

    // Both targets in one run, as one report.
    let out = s.infraspec(
        &[
            "--format",
            "json",
            "--target",
            &container,
            "--target",
            "ssh://box",
            spec,
        ],
        &[],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["passed"], 200, "{}", show(&out));
}

fn a_passphrase_protected_key_takes_its_passphrase_from_the_environment() {
    let s = sshd::start();
    let key = s.ssh_dir().join("id_locked");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "s3cret-phrase", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success());
    std::fs::write(
        s.dir.join("authorized_keys"),
        std::fs::read(key.with_extension("pub")).unwrap(),
    )
    .unwrap();
    let target = format!("{}?identity={}", direct(&s), key.display());
    let without = s.infraspec(&["--target", &target, "-c", "user: root"], &[]);
    assert_eq!(without.status.code(), Some(2), "{}", show(&without));
    let with = s.infraspec(
        &["--target", &target, "-c", "user: root"],
        &[("INFRASPEC_SSH_PASSPHRASE", "s3cret-phrase")],
    );
    assert_eq!(with.status.code(), Some(0), "{}", show(&with));
    for out in [&without, &with] {
        assert!(
            !show(out).contains("s3cret-phrase"),
            "the passphrase was printed"
        );
    }
}

fn password_authentication_from_the_environment_only() {
    let s = sshd::start();
    let target = format!("ssh://{}@127.0.0.1:{}", sshd::PW_USER, s.port);
    let ok = s.infraspec(
        &[
            "--target",
            &target,
            "-c",
            "{command: id -un, stdout: infraspec-sshpw}",
        ],
        &[("INFRASPEC_SSH_PASSWORD", sshd::PASSWORD)],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", show(&ok));
    let wrong = s.infraspec(
        &["--target", &target, "-c", "user: root"],
        &[("INFRASPEC_SSH_PASSWORD", "not-the-password")],
    );
    assert_eq!(wrong.status.code(), Some(2), "{}", show(&wrong));
    let stdout = text(&wrong.stdout);
    assert!(
        stdout.contains("password from INFRASPEC_SSH_PASSWORD (rejected)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("not-the-password"),
        "the password was printed"
    );
}

fn a_sudo_that_wants_a_password_is_a_clear_error_or_takes_it_from_the_environment() {
    let s = sshd::start();
    let target = format!("ssh://{}@127.0.0.1:{}?sudo=true", sshd::PW_USER, s.port);
    let refused = s.infraspec(
        &["--target", &target, "-c", "{command: id -u, stdout: '0'}"],
        &[("INFRASPEC_SSH_PASSWORD", sshd::PASSWORD)],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", show(&refused));
    assert!(
        text(&refused.stdout).contains("sudo refused to run the checks: it needs a password"),
        "{}",
        show(&refused)
    );
    let escalated = s.infraspec(
        &["--target", &target, "-c", "{command: id -u, stdout: '0'}"],
        &[
            ("INFRASPEC_SSH_PASSWORD", sshd::PASSWORD),
            ("INFRASPEC_SUDO_PASSWORD", sshd::PASSWORD),
        ],
    );
    assert_eq!(escalated.status.code(), Some(0), "{}", show(&escalated));
    assert!(
        !show(&escalated).contains(sshd::PASSWORD),
        "the password was printed"
    );
}

fn several_ssh_targets_in_one_run() {
    let s = sshd::start();
    s.add_config(&format!("Host box2\n    HostName 127.0.0.1\n    Port {}\n    User {USER}\n    IdentityFile ~/.ssh/id_test\n", s.port));
    let out = s.infraspec(
        &[
            "--format",
            "json",
            "--target",
            "ssh://box,ssh://box2",
            "-c",
            "user: infraspec-ssh",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(support::target_names(&doc), ["ssh://box", "ssh://box2"]);
    assert_eq!(doc["summary"]["passed"], 2);
}

/// An Ansible inventory, as an infra repo already keeps one: an SSH host with
/// its address, port, user, key and become, a container by connection, the
/// local machine; groups with children pick them.
fn an_ansible_inventory_reaches_ssh_containers_and_local() {
    let s = sshd::start();
    let inventory = s.dir.join("hosts");
    std::fs::write(
        &inventory,
        format!(
            "[web]\nweb1 ansible_host=127.0.0.1 ansible_port={port} ansible_user={USER} ansible_ssh_private_key_file=~/.ssh/id_test ansible_become=true\n\n\
             [containers]\n{container} ansible_connection=docker\n\n\
             [control]\nme ansible_connection=local\n\n\
             [fleet:children]\nweb\ncontainers\n",
            port = s.port,
            container = s.container
        ),
    )
    .unwrap();
    let inv = inventory.to_str().unwrap();
    let out = s.infraspec(
        &[
            "--format",
            "json",
            "--inventory",
            inv,
            "--group",
            "fleet",
            "-c",
            "{command: id -u, stdout: '0'}",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        support::target_names(&doc),
        ["web1", s.container.as_str()],
        "{doc:#}"
    );
    assert_eq!(doc["summary"]["passed"], 2, "{doc:#}");
    // Without become, the SSH user is not root: the inventory's variables
    // really reach the connection.
    let plain = std::fs::read_to_string(&inventory)
        .unwrap()
        .replace(" ansible_become=true", "");
    std::fs::write(&inventory, plain).unwrap();
    let out = s.infraspec(
        &[
            "--inventory",
            inv,
            "--group",
            "web",
            "-c",
            "{command: id -u, stdout: '0'}",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
}

/// A fleet split over CI shards: each target is checked by exactly one shard,
/// whatever order the inventory lists them in, and `merge` joins the shards'
/// JSON reports into the report (and exit code) of one run over all.
fn shards_of_a_fleet_merge_into_the_whole_run() {
    let s = sshd::start();
    let lines = [
        format!(
            "{}?identity={} name=web1",
            direct(&s),
            s.ssh_dir().join("id_test").display()
        ),
        format!("docker://{} name=box", s.container),
        "local name=runner".to_string(),
        "ssh://box name=web2".to_string(),
    ];
    let write = |name: &str, order: &[usize]| {
        let path = s.dir.join(name);
        let text: String = order.iter().map(|&i| format!("{}\n", lines[i])).collect();
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let inv = write("fleet.txt", &[0, 1, 2, 3]);
    let reordered = write("fleet-reordered.txt", &[3, 2, 1, 0]);
    let check = [
        "-c",
        "{command: 'test -d /proc', exit_status: 0}",
        "-c",
        "user: infraspec-no-such-user",
    ];
    let shard = |inventory: &str, k: usize, json: &std::path::Path| {
        let mut args = vec!["--inventory", inventory, "--format", "json"];
        let spec = format!("{k}/3");
        args.extend(["--shard", spec.as_str()]);
        args.extend(check);
        let out = s.infraspec(&args, &[]);
        std::fs::write(json, &out.stdout).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), support::target_names(&doc))
    };
    let mut seen = Vec::new();
    let mut files = Vec::new();
    for k in 1..=3 {
        let json = s.dir.join(format!("shard-{k}.json"));
        let (code, names) = shard(&inv, k, &json);
        let (_, again) = shard(&reordered, k, &s.dir.join("again.json"));
        let (mut a, mut b) = (names.clone(), again);
        a.sort();
        b.sort();
        assert_eq!(a, b, "shard {k} depends on the inventory's order");
        // Every check fails somewhere (the user is absent): exit 1, or 0 for
        // an empty shard.
        assert_eq!(
            code,
            Some(if names.is_empty() { 0 } else { 1 }),
            "shard {k}: {}",
            std::fs::read_to_string(&json).unwrap()
        );
        seen.extend(names);
        files.push(json.to_str().unwrap().to_string());
    }
    seen.sort();
    assert_eq!(seen, ["box", "runner", "web1", "web2"]);

    let mut args = vec!["merge", "--format", "json"];
    args.extend(files.iter().map(String::as_str));
    let merged = s.infraspec(&args, &[]);
    assert_eq!(merged.status.code(), Some(1), "{}", show(&merged));
    let doc: serde_json::Value = serde_json::from_slice(&merged.stdout).unwrap();
    assert_eq!(doc["summary"]["passed"], 4, "{doc:#}");
    assert_eq!(doc["summary"]["failed"], 4, "{doc:#}");
    let mut whole_args = vec!["--inventory", inv.as_str(), "--format", "json"];
    whole_args.extend(check);
    let whole = s.infraspec(&whole_args, &[]);
    let whole: serde_json::Value = serde_json::from_slice(&whole.stdout).unwrap();
    assert_eq!(doc["summary"], whole["summary"]);
    let mut args = vec!["merge", "--format", "junit"];
    args.extend(files.iter().map(String::as_str));
    let junit = text(&s.infraspec(&args, &[]).stdout);
    assert!(junit.contains("tests=\"8\" failures=\"4\""), "{junit}");
}

/// ProxyJump: a target whose name only the bastion can resolve is reached
/// through it, by `?jump=` and by the config's `ProxyJump`; without the jump
/// it cannot be reached at all.
fn proxy_jump_reaches_what_only_the_bastion_sees() {
    let s = sshd::start();
    // A name that resolves inside the sshd container only.
    let added = s.exec("echo '127.0.0.1 infraspec-behind-bastion' >> /etc/hosts");
    assert!(added.status.success(), "{}", show(&added));
    let behind = format!(
        "ssh://{USER}@infraspec-behind-bastion:{}?identity={}",
        s.port,
        s.ssh_dir().join("id_test").display()
    );
    let direct = s.infraspec(
        &["--ssh-accept-new", "--target", &behind, "-c", "user: root"],
        &[],
    );
    assert_eq!(direct.status.code(), Some(2), "{}", show(&direct));
    assert!(
        text(&direct.stdout).contains("cannot resolve infraspec-behind-bastion"),
        "{}",
        show(&direct)
    );

    // `box` is the bastion, an alias in the test's ssh config.
    let jumped = format!("{behind}&jump=box");
    let out = s.infraspec(
        &[
            "--ssh-accept-new",
            "--target",
            &jumped,
            "-c",
            "{command: hostname, exit_status: 0}",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    // The same through the config's ProxyJump, two hops deep.
    s.add_config(&format!(
        "Host hidden\n    HostName infraspec-behind-bastion\n    Port {}\n    User {USER}\n    IdentityFile ~/.ssh/id_test\n    ProxyJump box,box\n",
        s.port
    ));
    let out = s.infraspec(
        &[
            "--ssh-accept-new",
            "--target",
            "ssh://hidden",
            "-c",
            "user: root",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let bad = s.infraspec(
        &[
            "--target",
            &format!("{behind}&jump=-oProxyCommand=x"),
            "-c",
            "user: root",
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", show(&bad));
    assert!(
        text(&bad.stdout).contains("is not [user@]host[:port]"),
        "{}",
        show(&bad)
    );
}

/// Issue 13, case 2: with a sudo password set and a sudo that does not ask
/// for it (NOPASSWD), the password must never reach the shell as a command.
fn a_sudo_password_is_never_run_as_shell_text() {
    let s = sshd::start();
    // The password, were it run, would leave this file in sshd's container.
    let canary = format!("/tmp/infraspec-canary-{}", std::process::id());
    let password = format!("touch {canary}");
    let target = "ssh://box?sudo=true".to_string();
    let out = s.infraspec(
        &["--target", &target, "-c", "{command: id -u, stdout: '0'}"],
        &[("INFRASPEC_SUDO_PASSWORD", &password)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let ran = s.exec(&format!("test -e {canary}"));
    assert!(!ran.status.success(), "the sudo password ran as a command");
}

/// Issue 13, case 6: a server that stops answering mid-batch (frozen, as a
/// dead network or a hung host looks) is an error within the connect
/// timeout and a keepalive, not when TCP gives up minutes later.
fn a_server_that_stops_answering_is_detected_within_the_connect_timeout() {
    let s = sshd::start();
    let target = "ssh://box?connect_timeout=3s".to_string();
    let child = Command::new(support::bin())
        .args([
            "--target",
            &target,
            "-c",
            "{command: sleep 60, timeout: 90s}",
        ])
        .env("HOME", &s.home)
        .env("NO_COLOR", "1")
        .env_remove("SSH_AUTH_SOCK")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let started = Instant::now();
    s.freeze(true);
    let out = child.wait_with_output().unwrap();
    let waited = started.elapsed();
    s.freeze(false);
    // The connect timeout (3 s) and one keepalive interval (1 s), and a
    // margin: the dead connection is not waited on again while the session
    // is freed (issue 27, case 6: it was, for the session's timeout).
    assert!(
        waited < Duration::from_millis(6500),
        "took {waited:?}: {}",
        show(&out)
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let said = text(&out.stdout);
    assert!(said.contains("stopped answering"), "{}", show(&out));
    // What the message says is what happened.
    let secs: u64 = said
        .split("nothing came back for ")
        .nth(1)
        .and_then(|r| r.split('s').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", show(&out)));
    assert!(
        secs <= waited.as_secs() + 2,
        "said {secs}s, took {waited:?}"
    );
}

/// Issue 26, case 18: a fake sudo that prints what looks like infraspec's
/// sudo prompt and reads nothing never gets the password: the prompt is
/// random for each run.
fn a_fake_sudo_prompt_never_gets_the_password() {
    let s = sshd::start();
    let canary = format!("/tmp/infraspec-canary-fake-{}", std::process::id());
    let fake = s.exec(
        "printf '#!/bin/sh\\nprintf \"[infraspec-sudo-password]\" >&2\\nwhile [ \"$1\" != -- ]; do shift; done; shift\\nexec \"$@\"\\n' > /usr/local/bin/sudo && chmod 0755 /usr/local/bin/sudo",
    );
    assert!(fake.status.success(), "{}", show(&fake));
    let password = format!("touch {canary}");
    let out = s.infraspec(
        &["--target", "ssh://box?sudo=true", "-c", "{command: 'true'}"],
        &[("INFRASPEC_SUDO_PASSWORD", &password)],
    );
    let _ = s.exec("rm -f /usr/local/bin/sudo");
    let ran = s.exec(&format!("test -e {canary}"));
    assert!(
        !ran.status.success(),
        "the sudo password ran as a command: {}",
        show(&out)
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// Issue 27, case 5: the tunnel through a jump host carries the session
/// for as long as the run needs it, however long it is silent: a retry 65 s
/// after the first try still reaches the target.
/// A request's forward ends after its timeout and 5 s of silence; the
/// tunnel to a target behind a jump host must not: with a 2 s connect
/// timeout (what the tunnel is opened with), a retry 12 s later still runs.
fn a_jump_tunnel_outlives_silence() {
    let s = sshd::start();
    let flag = format!("/tmp/infraspec-jump-flag-{}", std::process::id());
    let _ = s.exec(&format!("rm -f {flag}"));
    let behind = format!(
        "ssh://{USER}@127.0.0.1:{}?identity={}&jump=box&connect_timeout=2s",
        s.port,
        s.ssh_dir().join("id_test").display()
    );
    let container = s.container.clone();
    let later = flag.clone();
    let maker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        Command::new("docker")
            .args(["exec", &container, "touch", &later])
            .output()
            .unwrap()
    });
    let started = Instant::now();
    let out = s.infraspec(
        &[
            "--ssh-accept-new",
            "--target",
            &behind,
            "--retry-timeout",
            "30s",
            "--sleep",
            "12s",
            "-c",
            &format!("{{file: {flag}, exists: true}}"),
        ],
        &[],
    );
    let _ = maker.join();
    let _ = s.exec(&format!("rm -f {flag}"));
    assert!(
        started.elapsed() > Duration::from_secs(12),
        "no silence: {}",
        show(&out)
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// ProxyCommand carries the session (issue 41, 8): a name that resolves
/// nowhere is reached through `socat`/`nc` to the sshd, from the config and
/// from the target's own option; the command is stopped with the session; a
/// command that fails is a clear error in bounded time.
fn proxy_command_carries_the_session() {
    let s = sshd::start();
    let pid_file = s.home.join("proxy.pid");
    s.add_config(&format!(
        "Host proxied\n    HostName infraspec-proxied.invalid\n    Port {}\n    User {USER}\n    IdentityFile ~/.ssh/id_test\n    ProxyCommand sh -c 'echo $$ > {}; exec socat - TCP:127.0.0.1:%p'\n",
        s.port,
        pid_file.display()
    ));
    let out = s.infraspec(
        &[
            "--ssh-accept-new",
            "--target",
            "ssh://proxied",
            "-c",
            "{command: id -un, stdout: infraspec-ssh}",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("the ProxyCommand ran")
        .trim()
        .parse()
        .unwrap();
    // SAFETY: signal 0 only asks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(!alive, "the ProxyCommand ({pid}) outlived the run");

    // The target's own proxy_command (nc), which wins over the config's.
    let target = format!(
        "ssh://{USER}@infraspec-other.invalid:{}?identity={}&proxy_command=nc%20127.0.0.1%20%25p",
        s.port,
        s.ssh_dir().join("id_test").display()
    );
    let out = s.infraspec(
        &[
            "--ssh-accept-new",
            "--target",
            &target,
            "-c",
            "user: infraspec-ssh",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    // A proxy that fails says so, with what it printed.
    let started = Instant::now();
    let bad = s.infraspec(
        &[
            "--target",
            "ssh://proxied?proxy_command=echo%20no%20route%20>%262;%20exit%201",
            "-c",
            "user: root",
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", show(&bad));
    assert!(text(&bad.stdout).contains("no route"), "{}", show(&bad));
    assert!(started.elapsed() < Duration::from_secs(15));

    // `infraspec ssh-config` shows what the config resolves.
    let shown = s.infraspec(&["ssh-config", "proxied"], &[]);
    assert_eq!(shown.status.code(), Some(0), "{}", show(&shown));
    assert!(
        text(&shown.stdout).contains("hostname infraspec-proxied.invalid\n")
            && text(&shown.stdout).contains("proxycommand sh -c"),
        "{}",
        show(&shown)
    );
}

/// A config infraspec cannot honour for the host is an error naming the
/// file and line, before anything connects; an unreadable one too.
fn an_ssh_config_infraspec_cannot_honour_is_an_error() {
    let s = sshd::start();
    s.add_config(
        "Host certified\n    HostName 127.0.0.1\n    CertificateFile ~/.ssh/id_test-cert.pub\n",
    );
    let out = s.infraspec(&["--target", "ssh://certified", "-c", "user: root"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("line") && text(&out.stdout).contains("certificatefile"),
        "{}",
        show(&out)
    );
    // -F names another file (here: none), and the same target connects.
    let out = s.infraspec(
        &[
            "--ssh-config",
            "none",
            "--target",
            &format!(
                "{}?identity={}",
                direct(&s),
                s.ssh_dir().join("id_test").display()
            ),
            "-c",
            "user: root",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // A config that cannot be read (root reads a mode-0 file, so a
    // directory in its place).
    let config = s.ssh_dir().join("config");
    std::fs::remove_file(&config).unwrap();
    std::fs::create_dir(&config).unwrap();
    let out = s.infraspec(&["--target", "ssh://box", "-c", "user: root"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("cannot be read"),
        "{}",
        show(&out)
    );
}

infraspec_tests! {
    Ssh: [
        proxy_command_carries_the_session,
        an_ssh_config_infraspec_cannot_honour_is_an_error,
        key_auth_through_an_ssh_config_alias,
        key_auth_with_explicit_user_port_and_identity,
        agent_auth,
        an_unknown_host_is_refused_unless_accepted_and_then_recorded,
        a_changed_host_key_is_always_refused,
        hashed_known_hosts_entries_verify,
        a_wrong_key_is_refused_naming_what_was_tried,
        an_unreachable_or_silent_host_fails_in_bounded_time,
        sudo_escalates_once_per_session,
        the_same_hundred_check_spec_as_through_docker,
        a_passphrase_protected_key_takes_its_passphrase_from_the_environment,
        password_authentication_from_the_environment_only,
        a_sudo_that_wants_a_password_is_a_clear_error_or_takes_it_from_the_environment,
        several_ssh_targets_in_one_run,
        an_ansible_inventory_reaches_ssh_containers_and_local,
        shards_of_a_fleet_merge_into_the_whole_run,
        proxy_jump_reaches_what_only_the_bastion_sees,
        a_jump_tunnel_outlives_silence,
        a_sudo_password_is_never_run_as_shell_text,
        a_fake_sudo_prompt_never_gets_the_password,
        a_server_that_stops_answering_is_detected_within_the_connect_timeout,
    ],
}
