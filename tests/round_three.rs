//! No false pass, round three (issue 40): each case against the real thing.
//! Every test here passed a check that should have failed (or hung) on the
//! build before; `INFRASPEC_TEST_BIN=old/infraspec cargo test --test suite
//! round_three::` shows it.

use crate::support;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::docker::Running;
use support::{show, text};

fn infraspec(args: &[&str]) -> Output {
    Command::new(support::bin())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("INFRASPEC_TARGET")
        .output()
        .expect("run infraspec")
}

/// A checked command's child that forges every later round of the kept
/// `sh`: it leaves its session (`setsid`), finds the batch's shell by the
/// pid file in the directory of its own stdout, waits for the round to end,
/// stops that shell, reads the next round's script from its stdin (nonce
/// and probes included), answers it with well-formed frames (a missing file
/// that exists, a missing package at version 99) on its stdout, and lets it
/// go on. Its argv carries a marker, to look for it afterwards.
const FORGER: &str = r#"use strict; use POSIX ();
my $out = readlink("/proc/self/fd/1") or die "no stdout";
(my $T = $out) =~ s{/[^/]*$}{};
open my $pf, '<', "$T/pid" or die "no pid file in $T"; my $sh = <$pf>; chomp $sh;
defined(my $pid = fork) or die; exit 0 if $pid;
POSIX::setsid();
open STDIN, '<', '/dev/null'; open STDOUT, '>', '/dev/null'; open STDERR, '>', '/dev/null';
my $t0 = time;
select(undef, undef, undef, 0.02) while -e $T && time - $t0 < 60;
kill 'STOP', $sh;
open my $in, '<', "/proc/$sh/fd/0" or exit 1;
my $script = '';
while (sysread($in, my $buf, 65536)) { $script .= $buf; last if $script =~ /\n\}\n\z/; }
my ($n) = $script =~ /^N=([0-9a-f]+)$/m;
my $o = "\n$n start\n"; my $count = 0;
while ($script =~ /^p (\d+) \d+ \d+ [01] (.*)$/mg) {
  my ($i, $rest) = ($1, $2); $count++;
  my $d = '';
  if ($rest =~ /dpkg-query/) { $d = "no-such-pkg-forged\tinstall ok installed\t99.0\tamd64\n"; }
  elsif ($rest =~ /^'sh' '-c' 'a=/) { $d = "1\n111\n81a4 0 0 0 0 root:root\n"; }
  $o .= "\n$n $i 0 0 " . length($d) . " 0\n" . $d;
}
$o .= "\n$n done $count\n";
open my $w, '>', "/proc/$sh/fd/1" or exit 1; syswrite $w, $o;
kill 'CONT', $sh;
sleep 60;
"#;

/// The spec of case 1: the forger's command, then two checks that can only
/// pass through a forged round.
fn forged_rounds_spec(forger: &str, marker: &str) -> String {
    format!(
        "checks:\n  - command: perl {forger} {marker}\n  - file: /nonexistent-forged\n    eventually: {{timeout: 6s, interval: 1s}}\n  \
         - package: no-such-pkg-forged\n    version: {{version: '>= 9'}}\n    eventually: {{timeout: 6s, interval: 1s}}\n"
    )
}

/// Case 1: neither later round passes, and (`contained`) the forger is gone
/// and both are plain failures (exit 1), or (not contained) both are errors
/// that say why, as the target's own error (exit 2: nothing more could be
/// observed there).
fn assert_rounds_not_forged(out: &Output, contained: bool) {
    let all = support::checks_of(out);
    let outcome = |part: &str| {
        all.iter()
            .find(|(n, _, _)| n.contains(part))
            .unwrap_or_else(|| panic!("no check {part:?}: {all:#?}"))
            .clone()
    };
    assert_eq!(outcome("command").1, "pass", "{all:#?}");
    // Uncontained, the forger is seen leaving its session (both checks are
    // errors that say so, exit 2), or, on a slow machine, it is still in the
    // command's session when the round ends and is killed there before it
    // forges anything (both plain failures, exit 1). Never a pass.
    let mut escaped = false;
    for part in ["/nonexistent-forged", "no-such-pkg-forged"] {
        let (_, got, message) = outcome(part);
        if contained || got == "fail" {
            assert_eq!(got, "fail", "{part}: {all:#?}");
        } else {
            assert_eq!(got, "error", "{part}: {all:#?}");
            assert!(message.contains("left their session"), "{message}");
            escaped = true;
        }
    }
    let code = if escaped { 2 } else { 1 };
    assert_eq!(out.status.code(), Some(code), "{}", show(out));
}

fn issue40_01_a_commands_child_cannot_forge_later_rounds_locally() {
    let dir = support::temp_dir();
    let forger = dir.path().join("forge.pl");
    std::fs::write(&forger, FORGER).unwrap();
    let marker = format!("forger-local-{}", std::process::id());
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, forged_rounds_spec(forger.to_str().unwrap(), &marker)).unwrap();
    let out = infraspec(&["--format", "json", spec.to_str().unwrap()]);
    assert_rounds_not_forged(&out, true);
    let left = Command::new("pgrep")
        .args(["-f", &marker])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "the forger outlived its round: {}",
        text(&left.stdout)
    );
}

fn issue40_01_a_commands_child_cannot_forge_later_rounds_in_a_container() {
    let c = Running::start(support::docker::DEBIAN);
    let marker = format!("forger-docker-{}", std::process::id());
    let put = Command::new("docker")
        .args(["exec", "-i", &c.0, "sh", "-c", "cat > /tmp/forge.pl"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(FORGER.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(put.status.success(), "{}", show(&put));
    let dir = support::temp_dir();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, forged_rounds_spec("/tmp/forge.pl", &marker)).unwrap();
    let target = format!("docker://{}", c.0);
    let out = infraspec(&[
        "--format",
        "json",
        "--target",
        &target,
        spec.to_str().unwrap(),
    ]);
    assert_rounds_not_forged(&out, true);
    let left = Command::new("docker")
        .args([
            "exec",
            &c.0,
            "sh",
            "-c",
            &format!(
                "grep -l '[{}]{}' /proc/[0-9]*/cmdline || true",
                &marker[..1],
                &marker[1..]
            ),
        ])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "the forger outlived its round: {}",
        text(&left.stdout)
    );
}

fn issue40_01_a_commands_child_cannot_forge_later_rounds_over_ssh() {
    let s = support::sshd::start();
    let marker = format!("forger-ssh-{}", std::process::id());
    std::fs::write(s.dir.join("forge.pl"), FORGER).unwrap();
    let spec = s.dir.join("spec.yaml");
    std::fs::write(
        &spec,
        forged_rounds_spec("/infraspec-test/forge.pl", &marker),
    )
    .unwrap();
    let out = s.infraspec(
        &[
            "--format",
            "json",
            "--target",
            "ssh://box",
            spec.to_str().unwrap(),
        ],
        &[],
    );
    // Over SSH nothing contains the command: its escape is seen, and no
    // later round is trusted.
    assert_rounds_not_forged(&out, false);
}

/// Case 2: a kept shell that stops answering between rounds costs a check
/// its own `eventually` window, not the batch's 300 s.
fn issue40_02_a_stopped_shell_costs_the_window_not_the_batch() {
    let c = Running::start(support::docker::DEBIAN);
    let target = format!("docker://{}", c.0);
    let started = Instant::now();
    let mut run = Command::new(support::bin())
        .args([
            "--format",
            "json",
            "--target",
            &target,
            "-c",
            "{file: /nonexistent-never, eventually: {timeout: 4s, interval: 1s}}",
        ])
        .env("NO_COLOR", "1")
        .env_remove("INFRASPEC_TARGET")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the first round is over, stop every `sh` in the container but
    // the one that stops them: the kept shell among them.
    std::thread::sleep(Duration::from_millis(1500));
    let stop = Command::new("docker")
        .args([
            "exec",
            &c.0,
            "sh",
            "-c",
            "for p in $(pgrep -x sh); do [ \"$p\" = $$ ] || kill -STOP \"$p\"; done",
        ])
        .output()
        .unwrap();
    assert!(stop.status.success(), "{}", show(&stop));
    let deadline = Instant::now() + Duration::from_secs(40);
    while run.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if run.try_wait().unwrap().is_none() {
        let _ = run.kill();
        panic!("the run still waited after {:?}", started.elapsed());
    }
    let out = run.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}: {}",
        started.elapsed(),
        show(&out)
    );
    let all = support::checks_of(&out);
    assert_eq!(all[0].1, "error", "{all:#?}");
    assert!(
        all[0].2.contains("did not finish within") && !all[0].2.contains("300s"),
        "{all:#?}"
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}

/// Case 6: the properties of one `process` check hold for one and the same
/// process. On a stock nginx root runs only the master and the workers are
/// www-data: "root runs a worker process" is false, whichever property is
/// read first.
fn issue40_06_one_process_check_is_about_one_process() {
    let c = Running::start(support::docker::DEBIAN);
    let target = format!("docker://{}", c.0);
    let out = infraspec(&[
        "--format",
        "json",
        "--target",
        &target,
        "-c",
        "{process: nginx, user: {contains: root}, args: {contains: worker process}}",
        "-c",
        "{process: nginx, user: {contains: www-data}, args: {contains: worker process}, count: {ge: 1}}",
        "-c",
        "{process: nginx, user: {contains: root}, count: 1}",
        "-c",
        "{process: nginx, user: {contains: root}, args: {contains: worker process}, running: false}",
    ]);
    let all = support::checks_of(&out);
    let got: Vec<&str> = all.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(
        got,
        [
            "fail", "fail", // root runs no worker
            "pass", "pass", "pass", // www-data runs the workers
            "pass", "pass", // root runs one nginx
            "fail", "fail", "pass", // no worker of root's
        ],
        "{all:#?}"
    );
    assert!(
        all[0].0.contains("where args should contain"),
        "the name says what the process must also be: {all:#?}"
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
}

/// Case 7: a pid file is evidence only when its process is the service's
/// daemon. A leftover file naming PID 1 (`sleep`, older than the file) makes
/// no service "running"; and a daemon the file names, alive, runs even when
/// its init script's `status` says "dead, pid file exists" (as dnsmasq's
/// does in a default Docker container, which lacks the capability it needs).
fn issue40_07_a_pid_file_proves_only_its_own_daemon() {
    let c = Running::start_with(&[support::docker::DEBIAN, "sleep", "infinity"]);
    let setup = Command::new("docker")
        .args([
            "exec",
            &c.0,
            "sh",
            "-c",
            "sleep 1; echo 1 > /run/ghostsvc.pid; \
             printf '#!/bin/sh\\nNAME=fakedns\\nDAEMON=/bin/sleep\\ncase \"$1\" in status) exit 1;; esac\\n' > /etc/init.d/fakedns; \
             chmod 755 /etc/init.d/fakedns; \
             (sleep 600 </dev/null >/dev/null 2>&1 & echo $! > /run/fakedns.pid)",
        ])
        .output()
        .unwrap();
    assert!(setup.status.success(), "{}", show(&setup));
    let target = format!("docker://{}", c.0);
    let out = infraspec(&[
        "--format",
        "json",
        "--target",
        &target,
        "-c",
        "{service: ghostsvc, running: true}",
        "-c",
        "{service: ghostsvc, running: false}",
        "-c",
        "{service: fakedns, running: true}",
    ]);
    let all = support::checks_of(&out);
    let got: Vec<&str> = all.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(got, ["error", "error", "pass"], "{all:#?}");
    assert!(all[0].2.contains("cannot be told"), "{all:#?}");
}

/// Case 8: one parsed path syntax. A path that is none is a load error that
/// says why (it panicked on `.a[0]é]`, and the message for `a.b` said the
/// opposite of the rule), and quoted keys in brackets read keys with dots.
fn issue40_08_json_paths_are_one_syntax() {
    let bad = infraspec(&[
        "-c",
        r#"{command: 'echo {}', json_path: '.a[0]é]', json: 1}"#,
    ]);
    assert_eq!(bad.status.code(), Some(2), "{}", show(&bad));
    assert!(text(&bad.stderr).contains("json_path"), "{}", show(&bad));
    let inverted = infraspec(&["-c", "{command: 'echo {}', json_path: a.b, json: 1}"]);
    assert_eq!(inverted.status.code(), Some(2), "{}", show(&inverted));
    assert!(
        text(&inverted.stderr).contains("must start with `.`"),
        "{}",
        show(&inverted)
    );
    let quoted = infraspec(&[
        "-c",
        r#"{command: 'echo {\"metadata\": {\"labels\": {\"app.kubernetes.io/name\": \"web\"}}}', json_path: '.metadata.labels["app.kubernetes.io/name"]', json: web}"#,
    ]);
    assert_eq!(quoted.status.code(), Some(0), "{}", show(&quoted));
}

/// The socket inodes held by infraspec processes (the binary under test):
/// other tests' servers (an sshd's published port) are not infraspec's.
fn infraspec_sockets() -> std::collections::BTreeSet<u64> {
    let bin = std::fs::canonicalize(support::bin()).unwrap_or_else(|_| support::bin());
    let mut inodes = std::collections::BTreeSet::new();
    for proc_dir in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let path = proc_dir.path();
        if std::fs::read_link(path.join("exe")).ok().as_deref() != Some(bin.as_path()) {
            continue;
        }
        for fd in std::fs::read_dir(path.join("fd"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let link = std::fs::read_link(fd.path()).unwrap_or_default();
            let link = link.to_string_lossy();
            if let Some(n) = link
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
            {
                if let Ok(n) = n.parse() {
                    inodes.insert(n);
                }
            }
        }
    }
    inodes
}

/// Loopback ports listening on this machine whose socket infraspec holds
/// (from /proc/net/tcp).
fn loopback_listeners() -> std::collections::BTreeSet<u16> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let ours = infraspec_sockets();
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (addr, port) = f.get(1)?.split_once(':')?;
            let inode: u64 = f.get(9)?.parse().ok()?;
            (addr == "0100007F" && f.get(3) == Some(&"0A") && ours.contains(&inode))
                .then(|| u16::from_str_radix(port, 16).ok())
                .flatten()
        })
        .collect()
}

/// Another process of the runner racing for every loopback port that
/// opens while `run` runs: it connects at once and keeps what it reads.
/// Returns what `run` returned and every byte the racer got.
fn race<T>(run: impl FnOnce() -> T) -> (T, Vec<u8>) {
    use std::io::Read;
    use std::sync::atomic::{AtomicBool, Ordering};
    let before = loopback_listeners();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let racer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut stolen = Vec::new();
            let mut tried = before.clone();
            while !stop.load(Ordering::SeqCst) {
                for port in loopback_listeners() {
                    if !tried.insert(port) {
                        continue;
                    }
                    if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                        let mut buf = [0u8; 4096];
                        if let Ok(n) = s.read(&mut buf) {
                            stolen.extend_from_slice(&buf[..n]);
                        }
                    }
                }
            }
            stolen
        })
    };
    let out = run();
    stop.store(true, Ordering::SeqCst);
    (out, racer.join().unwrap())
}

/// Fifty requests, each its own connection.
fn requests() -> Vec<String> {
    (0..50)
        .flat_map(|n| {
            [
                "-c".to_string(),
                format!("{{http: 'http://localhost/?n={n}', status: 200}}"),
            ]
        })
        .collect()
}

/// Case 9: a network check's connection is never a port another process
/// of the runner can take: in a container (the namespace's socket is used
/// in-process) and over SSH (a loopback pair whose listener accepts only
/// infraspec's own end).
fn issue40_09_no_port_for_another_process_in_a_container() {
    let c = Running::start(support::docker::DEBIAN);
    let target = format!("docker://{}", c.0);
    let mut args = vec![
        "--format".to_string(),
        "json".into(),
        "--target".into(),
        target,
    ];
    args.extend(requests());
    let (out, stolen) = race(|| {
        Command::new(support::bin())
            .args(&args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    });
    assert!(
        stolen.is_empty(),
        "another process read: {:?}",
        text(&stolen)
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

fn issue40_09_no_port_for_another_process_over_ssh() {
    let s = support::sshd::start();
    // nginx in sshd's container, on its loopback (host network: this
    // machine's; a port of its own).
    let port = support::sshd::free_port();
    let up = s.exec(&format!(
        "printf 'events {{}}\nhttp {{ server {{ listen 127.0.0.1:{port}; return 200 ok; }} }}\n' > /tmp/race.conf && nginx -c /tmp/race.conf"
    ));
    assert!(up.status.success(), "{}", show(&up));
    let mut args = vec![
        "--format".to_string(),
        "json".into(),
        "--target".into(),
        "ssh://box".into(),
    ];
    args.extend((0..50).flat_map(|n| {
        [
            "-c".to_string(),
            format!("{{http: 'http://localhost:{port}/?n={n}', status: 200}}"),
        ]
    }));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, stolen) = race(|| s.infraspec(&args, &[]));
    assert!(
        stolen.is_empty(),
        "another process read: {:?}",
        text(&stolen)
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// Case 11: a sensitive value is masked where it was put in, not wherever
/// its text happens to be: with the secret `x`, `file /bin/sh should exist`
/// keeps its `x`, and `test *** = x` shows the literal `x` it compares with;
/// with the secret `root`, `user root` is not `user ***`.
fn issue40_11_secrets_are_masked_where_they_were_put_in() {
    let dir = support::temp_dir();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "checks:\n  - command: test {{ pw }} = x\n  - file: /bin/sh\n  - {user: root, uid: 0}\n  - command: 'echo {{ pw }}; exit 3'\n",
    )
    .unwrap();
    for (secret, must_show) in [
        ("x", vec!["file /bin/sh", "should exist", "test *** = x"]),
        ("root", vec!["user root"]),
    ] {
        for args in [
            vec!["--format", "json"],
            vec!["--format", "human"],
            vec!["--format", "junit"],
            vec!["--format", "tap"],
            vec!["--list"],
        ] {
            let out = Command::new(support::bin())
                .args(&args)
                .arg(&spec)
                .env("NO_COLOR", "1")
                .env("INFRASPEC_VAR_pw", secret)
                .env_remove("INFRASPEC_TARGET")
                .output()
                .unwrap();
            let all = text(&out.stdout);
            for want in &must_show {
                assert!(all.contains(want), "{secret} {args:?}: {want:?} in {all}");
            }
            assert!(all.contains("***"), "{secret} {args:?}: {all}");
        }
    }
    // The secret itself never shows, even where the target echoes it.
    let out = Command::new(support::bin())
        .args(["--format", "json"])
        .arg(&spec)
        .env("INFRASPEC_VAR_pw", "hunter2-secret")
        .env_remove("INFRASPEC_TARGET")
        .output()
        .unwrap();
    assert!(!show(&out).contains("hunter2"), "{}", show(&out));
}

/// `cmd`'s output, or `None` (and it killed) when it runs longer than `limit`.
fn output_within(cmd: &mut Command, limit: Duration) -> Option<Output> {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().unwrap())
}

/// Cases 12 and 13: an included file that is not a spec is refused
/// without a line of it quoted (through a link too), and a FIFO with no
/// writer is refused at once instead of blocking the load.
fn issue40_12_13_included_files_are_read_only_when_they_are_specs() {
    let dir = support::temp_dir();
    let shadow = dir.path().join("shadow");
    std::fs::write(
        &shadow,
        "root:$y$j9T$secrethashsecrethash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&shadow, dir.path().join("link")).unwrap();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path in the test's own directory.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for (include, says) in [
        ("shadow", "this is not a spec"),
        ("link", "this is not a spec"),
        ("fifo", "it is a FIFO, not a regular file"),
    ] {
        let spec = dir.path().join(format!("{include}.yaml"));
        std::fs::write(&spec, format!("include: [{include}]\n")).unwrap();
        let out = output_within(
            Command::new(support::bin())
                .arg(&spec)
                .env_remove("INFRASPEC_TARGET"),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|| panic!("{include}: the load still ran after 10 s"));
        assert_eq!(out.status.code(), Some(2), "{include}: {}", show(&out));
        let all = show(&out);
        assert!(all.contains(says), "{include}: {all}");
        assert!(
            !all.contains("secrethash") && !all.contains("daemon"),
            "{include}: {all}"
        );
    }
}

/// Case 14: a passing shard's report copied under the other shard's index
/// does not merge green: the run's targets are carried in every shard, and
/// a target in two shards, or targets that are not the run's, are refused.
fn issue40_14_a_copied_shard_does_not_merge() {
    let dir = support::temp_dir();
    let shard = |k: usize| {
        let path = dir.path().join(format!("shard{k}.json"));
        let out = Command::new(support::bin())
            .args([
                "--target",
                "local",
                "--target",
                "ssh://infraspec-unreachable.invalid",
                "--shard",
                &format!("{k}/2"),
                "--format",
                "json",
                "-o",
                path.to_str().unwrap(),
                "-c",
                "{file: /}",
            ])
            .env_remove("INFRASPEC_TARGET")
            .output()
            .unwrap();
        (path, out.status.code())
    };
    let (one, one_code) = shard(1);
    let (two, two_code) = shard(2);
    // One shard passes (local), the other cannot reach its target.
    let (good, bad, good_index, bad_index) = match (one_code, two_code) {
        (Some(0), Some(2)) => (one, two, 1, 2),
        (Some(2), Some(0)) => (two, one, 2, 1),
        other => panic!("{other:?}"),
    };
    let merged = Command::new(support::bin())
        .args(["merge"])
        .args([&good, &bad])
        .output()
        .unwrap();
    assert_eq!(merged.status.code(), Some(2), "{}", show(&merged));
    // The good shard, copied under the bad one's index.
    let forged = std::fs::read_to_string(&good).unwrap().replace(
        &format!("\"index\": {good_index}"),
        &format!("\"index\": {bad_index}"),
    );
    assert_ne!(forged, std::fs::read_to_string(&good).unwrap());
    let copy = dir.path().join("copy.json");
    std::fs::write(&copy, forged).unwrap();
    let out = Command::new(support::bin())
        .args(["merge"])
        .args([&good, &copy])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("in two shards"),
        "{}",
        show(&out)
    );
}

/// Case 15: control characters from spec and inventory text never reach
/// the terminal raw: a title's NUL and ESC in `--list` and every report, a
/// line break in an inventory host's name (which would split a report
/// line), CR and ESC in `/metrics` labels (unit test
/// `metrics_count_each_target_and_escape_labels`).
fn issue40_15_control_characters_are_escaped_everywhere() {
    let dir = support::temp_dir();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "checks:\n  - file: /\n    title: \"t\\0i\\x1b[2Jtle\"\n",
    )
    .unwrap();
    let inventory = dir.path().join("inventory.yml");
    std::fs::write(
        &inventory,
        "all:\n  hosts:\n    \"web\\n1\\e]0;x\\a\":\n      ansible_connection: local\n",
    )
    .unwrap();
    for args in [
        vec!["--list"],
        vec!["--format", "human"],
        vec!["--format", "tap"],
        vec!["--format", "human", "-q"],
    ] {
        let out = Command::new(support::bin())
            .args(&args)
            .args(["--inventory", inventory.to_str().unwrap()])
            .arg(&spec)
            .env("NO_COLOR", "1")
            .env_remove("INFRASPEC_TARGET")
            .output()
            .unwrap();
        let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        assert!(
            !all.iter().any(|&b| b == 0 || b == 0x1b || b == 0x07),
            "{args:?}: {:?}",
            text(&all)
        );
        assert!(!text(&all).contains("web\n1"), "{args:?}: {}", text(&all));
    }
}

/// Case 10: a 100,000-host range with one 100 KB group variable holds that
/// value once, not once per host (9.9 GB and 30 s before): `--list` stays
/// under 512 MiB and a few seconds.
fn issue40_10_hosts_share_their_groups_values() {
    let dir = support::temp_dir();
    let inventory = dir.path().join("hosts.ini");
    std::fs::write(
        &inventory,
        format!(
            "[web]\nweb[0:99999]\n[web:vars]\nbig={}\n",
            "x".repeat(100_000)
        ),
    )
    .unwrap();
    let started = Instant::now();
    // Waited for with wait4 below, which std does not see.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(support::bin())
        .args([
            "--inventory",
            inventory.to_str().unwrap(),
            "--list",
            "-c",
            "file: /",
        ])
        .env_remove("INFRASPEC_TARGET")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // wait4 gives this child's own peak memory.
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid, and wait4 fills it for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for the child spawned above, once.
    let waited = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(waited, child.id() as i32);
    let took = started.elapsed();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status}"
    );
    let peak_mib = usage.ru_maxrss / 1024;
    assert!(peak_mib < 512, "{peak_mib} MiB at its peak");
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

infraspec_tests! {
    Nothing: [
        issue40_01_a_commands_child_cannot_forge_later_rounds_locally,
        issue40_08_json_paths_are_one_syntax,
        issue40_11_secrets_are_masked_where_they_were_put_in,
        issue40_12_13_included_files_are_read_only_when_they_are_specs,
        issue40_14_a_copied_shard_does_not_merge,
        issue40_15_control_characters_are_escaped_everywhere,
        issue40_10_hosts_share_their_groups_values,
    ],
    Docker: [
        issue40_01_a_commands_child_cannot_forge_later_rounds_in_a_container,
        issue40_02_a_stopped_shell_costs_the_window_not_the_batch,
        issue40_06_one_process_check_is_about_one_process,
        issue40_07_a_pid_file_proves_only_its_own_daemon,
        issue40_09_no_port_for_another_process_in_a_container,
    ],
    Ssh: [
        issue40_01_a_commands_child_cannot_forge_later_rounds_over_ssh,
        issue40_09_no_port_for_another_process_over_ssh,
    ],
}
