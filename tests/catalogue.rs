//! The properties and resources users bring from serverspec, testinfra and
//! goss (issue 15), each asserted true and false on a container fixture,
//! through the Docker backend and over SSH, in the usual round trips.

use crate::support;

use std::path::Path;
use std::process::Command;

use support::docker::{Running, DEBIAN};
use support::{show, sshd};

/// The fixture, made inside a Debian test container. `$1` is where the
/// certificate files were copied.
const FIXTURE: &str = r#"set -e
mkdir -p /srv/app
printf '{"server":{"port":8080,"tls":true},"names":["a","b"]}' > /srv/app/config.json
printf 'server:\n  port: 8080\n  tls: true\nnames: [a, b]\n' > /srv/app/config.yaml
printf '#!/bin/sh\necho hi\n' > /srv/app/run.sh
chmod 0755 /srv/app/run.sh
printf 'hello\n' > /srv/app/hello.txt
chmod 0640 /srv/app/hello.txt
touch -d '2020-01-02 03:04:05' /srv/app/hello.txt
groupadd -g 4100 appgroup
useradd -u 4100 -g appgroup -c 'App User,,,' -M -s /usr/sbin/nologin appuser
groupadd -g 4200 team
usermod -a -G team appuser
usermod -a -G team daemon
bash -c 'exec -a "sleep --infraspec-marker" sleep 3600' </dev/null >/dev/null 2>&1 &
perl -MIO::Socket::UNIX -e 'my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => "/run/app.sock", Listen => 1) or die $!; sleep 3600' </dev/null >/dev/null 2>&1 &
mkdir -p /etc/systemd/system
ln -sf /dev/null /etc/systemd/system/legacy.service
cp "$1/cert.pem" /srv/app/cert.pem
cp "$1/key.pem" /srv/app/key.pem
for i in 1 2 3 4 5 6 7 8 9 10; do [ -S /run/app.sock ] && break; sleep 0.2; done
"#;

/// nginx in the Docker fixture also serves TLS on 8443 with the certificate.
const TLS_NGINX: &str = r#"set -e
printf 'server { listen 8443 ssl; ssl_certificate /srv/app/cert.pem; ssl_certificate_key /srv/app/key.pem; }\n' > /etc/nginx/conf.d/tls.conf
nginx -s reload
for i in 1 2 3 4 5 6 7 8 9 10; do grep -q ':20FB ' /proc/net/tcp && break; sleep 0.2; done
"#;

/// A certificate for `web.test` (and localhost, 127.0.0.1), valid 30 days.
fn certificate(dir: &Path) {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=web.test/O=Infraspec Test",
            "-addext",
            "subjectAltName=DNS:web.test,DNS:localhost,IP:127.0.0.1",
            "-keyout",
        ])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap_or_else(|e| support::missing("openssl", e));
    assert!(out.status.success(), "{}", show(&out));
    let _ = Command::new("chmod")
        .arg("-R")
        .arg("a+rX")
        .arg(dir)
        .status();
}

/// Every property, true then false (or both ways of a value).
fn spec(tls: &str, reachable_port: u16) -> String {
    format!(
        r#"checks:
  - file: /srv/app/hello.txt
    md5: b1946ac92492d2347c6235b4d2611184
    uid: 0
    gid: 0
    readable: true
    writable: true
    executable: false
    mtime: 1577934245
  - file: /srv/app/hello.txt
    md5: {{not: b1946ac92492d2347c6235b4d2611184}}
  - file: /srv/app/run.sh
    executable: true
    mtime: {{gt: 1577934245}}
  - file: /srv/app/config.json
    json_path: .server.port
    json: 8080
  - file: /srv/app/config.json
    json_path: .names[1]
    json: {{not: a}}
  - file: /srv/app/config.yaml
    json_path: .server.tls
    json: true
  - command: cat /srv/app/config.json
    json_path: .server.port
    json: {{not: 9090}}
  - command: cat /srv/app/config.json
    json_path: .names[0]
    json: a
  - file: /srv/app/config.json
    json_path: .names
    json: [a, b]
  - file: /srv/app/config.yaml
    json_path: .server
    json: {{port: 8080, tls: true}}
  # Typed: the number is not the string, true is not "true".
  - file: /srv/app/config.json
    json_path: .server.port
    json: '8080'
  - file: /srv/app/config.yaml
    json_path: .server.tls
    json: 'true'
  - user: appuser
    group: appgroup
    gecos: App User,,,
    groups: {{eq: [appgroup, team]}}
  - user: appuser
    groups: {{not: {{eq: [team]}}}}
  - user: daemon
    group: {{not: appgroup}}
  - group: team
    members: {{eq: [appuser, daemon]}}
  - group: team
    members: {{not: {{contains: root}}}}
  - process: sleep
    args: {{contains: --infraspec-marker}}
  - process: sleep
    args: {{not: {{matches: '^sleep 9999$'}}}}
  - host: localhost
    port: {reachable_port}
    reachable: true
  - host: localhost
    port: 1
    reachable: false
  - host: localhost
    ipv4: {{contains: 127.0.0.1}}
  - host: localhost
    ipv6: {{not: {{contains: 127.0.0.1}}}}
  - unix_socket: /run/app.sock
  - unix_socket: /run/no-such.sock
    listening: false
  - certificate: /srv/app/cert.pem
    valid: true
    expires_in_days: {{ge: 29}}
    subject: {{contains: CN=web.test}}
    issuer: {{contains: O=Infraspec Test}}
    sans: {{eq: [127.0.0.1, localhost, web.test]}}
  - certificate: /srv/app/cert.pem
    expires_in_days: {{lt: 29}}
  - certificate: /srv/app/key.pem
    valid: true
  - certificate: {tls}
    sans: {{contains: web.test}}
    valid: true
  - certificate: {tls}
    subject: {{contains: CN=other}}
  - service: legacy
    masked: true
  - service: nginx
    masked: false
  - interface: lo
    up: true
    prefix: {{contains: 127.0.0.1/8}}
  - interface: lo
    prefix: {{contains: 10.0.0.1/8}}
"#
    )
}

/// What each check of [`spec`] must end as, in order.
const EXPECTED: &[&str] = &[
    // hello.txt: md5 uid gid readable writable executable mtime
    "pass", "pass", "pass", "pass", "pass", "pass", "pass", //
    "fail", // md5 not
    "pass", "pass", // run.sh
    "pass", "pass", "pass", "pass", "pass", "pass", "pass", // json
    "fail", "fail", // json typed
    "pass", "pass", "pass", "pass", "pass", // user
    "pass", "pass", // group
    "pass", "pass", // process
    "pass", "pass", "pass", "pass", // host
    "pass", "pass", // unix_socket
    "pass", "pass", "pass", "pass", "pass", // certificate file
    "fail", // expires_in_days < 29
    "fail", // a key is not a certificate
    "pass", "pass", // tls
    "fail", // tls subject
    "pass", "pass", // service masked
    "pass", "pass", // interface
    "fail", // prefix
];

fn outcomes(out: &std::process::Output) -> Vec<(String, String, String)> {
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(out)));
    assert_eq!(
        doc["targets"][0]["stats"]["round_trips"],
        3,
        "facts, probes, and one round for connections: {}",
        show(out)
    );
    assert_eq!(
        doc["targets"][0]["stats"]["execs"],
        1,
        "one `sh` for facts and probes; the connections are no exec: {}",
        show(out)
    );
    support::checks_of(out)
}

fn assert_catalogue(results: &[(String, String, String)]) {
    let got: Vec<&str> = results.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(got.len(), EXPECTED.len(), "{results:#?}");
    for (i, (r, want)) in results.iter().zip(EXPECTED).enumerate() {
        assert_eq!(r.1, *want, "check {i}: {r:#?}\nall: {results:#?}");
    }
}

fn in_a_container() {
    let tmp = support::temp_dir();
    let dir = tmp.path();
    certificate(dir);
    let c = Running::start(DEBIAN);
    let cp = Command::new("docker")
        .args([
            "cp",
            &format!("{}/.", dir.display()),
            &format!("{}:/tmp/certs", c.0),
        ])
        .output()
        .unwrap();
    assert!(cp.status.success(), "{}", show(&cp));
    for script in [FIXTURE, TLS_NGINX] {
        let out = Command::new("docker")
            .args(["exec", &c.0, "sh", "-c", script, "sh", "/tmp/certs"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
    }
    let spec_path = dir.join("spec.yaml");
    std::fs::write(&spec_path, spec("tls://localhost:8443", 80)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args(["--format", "json", "--target", &format!("docker://{}", c.0)])
        .arg(&spec_path)
        .output()
        .unwrap();
    assert_catalogue(&outcomes(&out));
}

fn over_ssh() {
    let s = sshd::start();
    let tmp = support::temp_dir();
    let dir = tmp.path();
    certificate(dir);
    let cp = Command::new("docker")
        .args([
            "cp",
            &format!("{}/.", dir.display()),
            &format!("{}:/tmp/certs", s.container),
        ])
        .output()
        .unwrap();
    assert!(cp.status.success(), "{}", show(&cp));
    let out = Command::new("docker")
        .args([
            "exec",
            &s.container,
            "sh",
            "-c",
            FIXTURE,
            "sh",
            "/tmp/certs",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    // The sshd container shares this machine's network: a TLS server on
    // its loopback is the target's localhost too.
    let tls_port = sshd::free_port();
    let mut server = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-accept",
            &tls_port.to_string(),
            "-cert",
        ])
        .arg(dir.join("cert.pem"))
        .arg("-key")
        .arg(dir.join("key.pem"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| support::missing("openssl", e));
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let spec_path = dir.join("spec.yaml");
    std::fs::write(
        &spec_path,
        spec(&format!("tls://localhost:{tls_port}"), s.port),
    )
    .unwrap();
    let out = s.infraspec(
        &[
            "--format",
            "json",
            "--target",
            "ssh://box?sudo=true",
            spec_path.to_str().unwrap(),
        ],
        &[],
    );
    let _ = server.kill();
    let _ = server.wait();
    assert_catalogue(&outcomes(&out));
}

infraspec_tests! {
    Docker: [in_a_container],
    Ssh: [over_ssh],
}
