//! What a check means, where the peers (serverspec, testinfra, goss) agree
//! and infraspec used to differ (issue 14), against a real container fixture:
//! symlinks and a dangling link, rc links, an LSB init script whose daemon has
//! another name, pid files, a multi-line config.

use crate::support;

use std::process::Command;

use support::docker::{Running, DEBIAN};
use support::show;

/// The fixture, made in a running Debian test container.
const FIXTURE: &str = r#"set -e
mkdir -p /etc/fixture
printf 'Port 22\nPermitRootLogin yes\nPasswordAuthentication no\r\nX11Forwarding no\n' > /etc/fixture/sshd_config
chmod 0600 /etc/fixture/sshd_config
ln -s sshd_config /etc/fixture/link-to-conf
ln -s /nonexistent/target /etc/fixture/dangling
ln -s /etc/fixture /etc/fixture-dir-link
# An LSB init script whose daemon is not called like the service: `myapp`
# runs a process named `sleep`, and only its status knows.
cat > /etc/init.d/myapp <<'INIT'
#!/bin/sh
case "$1" in
  start) sleep 3600 </dev/null >/dev/null 2>&1 & echo $! > /run/myapp-daemon.pid ;;
  status)
    [ -r /run/myapp-daemon.pid ] || exit 3
    read -r pid < /run/myapp-daemon.pid
    [ -d "/proc/$pid" ] && exit 0
    exit 1 ;;
esac
INIT
chmod 0755 /etc/init.d/myapp
/etc/init.d/myapp start
ln -s ../init.d/myapp /etc/rc2.d/S02myapp
# A daemon with only a pid file (named as its service, so the file is its
# own: issue 40, case 7), and a stale pid file.
ln -s /bin/sleep /usr/local/bin/pidonly
pidonly 3600 </dev/null >/dev/null 2>&1 &
echo $! > /run/pidonly.pid
echo 999999 > /run/stalepid.pid
printf '9\n' > /run/fixture.pid
"#;

fn fixture() -> Running {
    let c = Running::start(DEBIAN);
    let out = Command::new("docker")
        .args(["exec", &c.0, "sh", "-c", FIXTURE])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    c
}

/// Each check's outcome and message, in order.
fn run(c: &Running, spec: &str) -> Vec<(String, String, String)> {
    let dir = support::temp_dir();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args(["--format", "json", "--target", &format!("docker://{}", c.0)])
        .arg(&path)
        .output()
        .unwrap();
    support::checks_of(&out)
}

fn expect(results: &[(String, String, String)], wanted: &[&str]) {
    let got: Vec<&str> = results.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(got, wanted, "{results:#?}");
}

/// `matches` anchors lines as grep does; `\A` anchors the whole text.
fn line_patterns() {
    let c = fixture();
    let results = run(
        &c,
        r#"checks:
  - file: /etc/fixture/sshd_config
    content: {matches: '^PermitRootLogin yes$'}
  - file: /etc/fixture/sshd_config
    content: {not: {matches: '^PermitRootLogin yes'}}
  - file: /etc/fixture/sshd_config
    content: {matches: '^PasswordAuthentication no$'}
  - file: /run/fixture.pid
    content: {matches: '^[0-9]+$'}
  - file: /etc/fixture/sshd_config
    content: {matches: '\APermitRootLogin'}
  - command: cat /etc/fixture/sshd_config
    stdout: {matches: '^X11Forwarding no$'}
"#,
    );
    // The second is the false pass of old: a line that is there fails `not`.
    expect(&results, &["pass", "fail", "pass", "pass", "fail", "pass"]);
}

/// Files are judged through symlinks, as `test` and `stat -L` do.
fn symlinks() {
    let c = fixture();
    let results = run(
        &c,
        r#"checks:
  - file: /etc/os-release
    type: file
  - file: /etc/os-release
    type: symlink
  - file: /bin
    type: directory
  - file: /etc/fixture-dir-link
    type: directory
  - file: /etc/fixture/link-to-conf
    mode: '0600'
  - file: /etc/fixture/link-to-conf
    link_target: sshd_config
  - file: /etc/fixture/link-to-conf
    resolves_to: /etc/fixture/sshd_config
  - file: /etc/fixture/link-to-conf
    content: {contains: PermitRootLogin}
  - file: /etc/fixture/dangling
    exists: false
  - file: /etc/fixture/dangling
    type: symlink
  - file: /etc/fixture/dangling
    link_target: /nonexistent/target
  - file: /etc/fixture/dangling
    mode: '0777'
  - file: /etc/fixture/sshd_config
    type: symlink
"#,
    );
    expect(
        &results,
        &[
            "pass", "pass", "pass", "pass", "pass", "pass", "pass", "pass", "pass", "pass", "pass",
            "fail", "fail",
        ],
    );
    assert!(
        results[4].2.is_empty() || results[4].2.contains("through the symlink"),
        "{results:#?}"
    );
    assert!(results[11].2.contains("points nowhere"), "{results:#?}");
}

/// Services without an init system: enabled from disk, running from the
/// init script's status, a pid file, then this namespace's processes.
fn services_without_an_init_system() {
    let c = fixture();
    let results = run(
        &c,
        r#"checks:
  - service: myapp
    running: true
  - service: myapp
    enabled: true
  - service: pidonly
    running: true
  - service: stalepid
    running: false
  - service: nginx
    enabled: true
  - service: ssh
    running: false
  - service: nope
    enabled: false
  - service: nope
    running: false
"#,
    );
    expect(
        &results,
        &[
            "pass", "pass", "pass", "pass", "pass", "pass", "pass", "pass",
        ],
    );
    let note = |i: usize| results[i].2.clone();
    // Checks that pass print no message in JSON; ask the human report.
    let out = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .env("NO_COLOR", "1")
        .args([
            "--target",
            &format!("docker://{}", c.0),
            "-c",
            "{service: myapp, running: true}",
            "-c",
            "{service: pidonly, running: true}",
            "-c",
            "{service: myapp, enabled: true}",
        ])
        .output()
        .unwrap();
    let text = support::text(&out.stdout);
    assert!(
        text.contains("judged by /etc/init.d/myapp status (exit 0)"),
        "{text}"
    );
    assert!(
        text.contains("judged by the pid file /run/pidonly.pid"),
        "{text}"
    );
    assert!(
        text.contains("judged from disk: linked from /etc/rc2.d/S02myapp"),
        "{text}"
    );
    let _ = note;
}

/// Command output loses every trailing line break; dpkg names take their
/// architecture; numbers are ids.
fn commands_packages_and_ids() {
    let c = fixture();
    let results = run(
        &c,
        r#"checks:
  - command: printf 'a\n\n\r\n'
    stdout: a
  - command: printf 'line one\nline two\n\n'
    stdout: "line one\nline two"
  - package: bash:amd64
  - package: libc6:amd64
  - package: bash
  - package: bash:i386
    installed: false
  - file: /etc/passwd
    owner: 0
  - file: /etc/passwd
    owner: root
  - file: /etc/shadow
    group: '42'
  - file: /etc/shadow
    group: shadow
  - file: /etc/passwd
    owner: 1000
  - user: '0'
    home: /root
  - group: '0'
  - user: '4242'
    exists: false
"#,
    );
    expect(
        &results,
        &[
            "pass", "pass", "pass", "pass", "pass", "pass", "pass", "pass", "pass", "pass", "fail",
            "pass", "pass", "pass",
        ],
    );
    assert!(results[10].2.contains("\"root\" (0)"), "{results:#?}");
}

/// Without /proc/modules (hidden here by an empty /proc in a private mount
/// namespace on this machine), kernel modules are answered from /sys/module.
fn kernel_modules_from_sys_module() {
    let module = std::fs::read_dir("/sys/module")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .expect("a module under /sys/module");
    // A kernel without module support has no /proc/modules: an empty /proc
    // in a private mount namespace looks the same to the probe.
    let script = format!(
        "mount -t tmpfs none /proc && exec {} -c '{{kernel_module: {module}, skip_in_container: false}}' -c '{{kernel_module: infraspec-no-such-module, loaded: false, skip_in_container: false}}'",
        env!("CARGO_BIN_EXE_infraspec")
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        support::text(&out.stdout).contains("judged from /sys/module"),
        "{}",
        show(&out)
    );
}

infraspec_tests! {
    Root: [kernel_modules_from_sys_module],
    Docker: [
        line_patterns,
        symlinks,
        services_without_an_init_system,
        commands_packages_and_ids,
    ],
}
