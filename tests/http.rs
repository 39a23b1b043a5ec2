//! `http` checks from the target's point of view, against real servers:
//! local, through an SSH target, in a container without curl or wget, and over
//! TLS with a certificate from a throwaway CA.

use crate::support;

use support::{show, text};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn infraspec(args: &[&str]) -> Output {
    infraspec_with(args, &[])
}

fn infraspec_with(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_infraspec"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("INFRASPEC_TARGET")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn free_port() -> u16 {
    support::sshd::free_port()
}

/// A directory served over HTTP (or HTTPS) on 127.0.0.1 by Python, stopped on drop.
struct Site {
    /// Removed after the server is stopped (fields drop after `drop`).
    _dir: tempfile::TempDir,
    port: u16,
    server: Child,
}

const TLS_SERVER: &str = r#"
import functools, http.server, ssl, sys
port, directory, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
httpd = http.server.HTTPServer(("127.0.0.1", port), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
httpd.serve_forever()
"#;

impl Site {
    fn start(tag: &str, tls: Option<(&Path, &Path)>) -> Site {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("infraspec-site-{tag}-"))
            .tempdir()
            .unwrap();
        let dir = tmp.path().to_path_buf();
        std::fs::create_dir_all(dir.join("docs")).unwrap();
        std::fs::write(dir.join("index.html"), "<h1>hello from the target</h1>\n").unwrap();
        std::fs::write(dir.join("docs/index.html"), "docs\n").unwrap();
        std::fs::write(
            dir.join("health.json"),
            r#"{"status":"ok","items":[{"name":"web"}],"replicas":3}"#,
        )
        .unwrap();
        let port = free_port();
        let mut cmd = Command::new("python3");
        match tls {
            None => cmd
                .args([
                    "-m",
                    "http.server",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--directory",
                ])
                .arg(&dir),
            Some((cert, key)) => cmd
                .args(["-c", TLS_SERVER, &port.to_string()])
                .arg(&dir)
                .arg(cert)
                .arg(key),
        };
        let server = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the test server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Site {
            _dir: tmp,
            port,
            server,
        }
    }

    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://localhost:{}{path}", self.port)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn check(c: String) -> String {
    c
}

fn local_requests_their_properties_and_distinct_errors() {
    let site = Site::start("local", None);
    let closed = free_port();
    let out = infraspec(&[
        "--format",
        "json",
        "-c",
        &check(format!("{{http: '{}', status: 200, body: {{contains: hello from the target}}}}", site.url("http", "/"))),
        "-c",
        &check(format!("{{http: '{}', json_path: '.items[0].name', json: web}}", site.url("http", "/health.json"))),
        "-c",
        &check(format!("{{http: '{}', json_path: .replicas, json: {{ge: 2}}}}", site.url("http", "/health.json"))),
        "-c",
        &check(format!("{{http: '{}', status: 404}}", site.url("http", "/missing"))),
        "-c",
        &check(format!("{{http: '{}', response_headers: {{matches: '^content-type: text/html'}}, response_time: {{lt: 5000}}}}", site.url("http", "/"))),
        "-c",
        &check(format!("{{http: '{}', body: \"docs\\n\"}}", site.url("http", "/docs"))),
        "-c",
        &check(format!("{{http: '{}', follow_redirects: false, status: 301, location: /docs/}}", site.url("http", "/docs"))),
        "-c",
        &check(format!("{{http: 'http://localhost:{closed}/'}}")),
        "-c",
        "{http: 'http://infraspec-no-such-host.invalid/'}",
    ]);
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", show(&out)));
    let checks = doc["targets"][0]["checks"].as_array().unwrap();
    let outcome = |i: usize| {
        (
            checks[i]["outcome"].as_str().unwrap(),
            checks[i]["message"].as_str().unwrap(),
        )
    };
    // Items with two expectations are two checks: 12 in all.
    assert_eq!(checks.len(), 12);
    for (i, c) in checks.iter().enumerate().take(10) {
        assert_eq!(c["outcome"], "pass", "check {i}: {c:#}");
    }
    assert_eq!(outcome(10).0, "error");
    assert!(
        outcome(10).1.contains("connection refused"),
        "{}",
        outcome(10).1
    );
    assert_eq!(outcome(11).0, "error");
    assert!(
        outcome(11)
            .1
            .contains("DNS failure: the target cannot resolve infraspec-no-such-host.invalid"),
        "{}",
        outcome(11).1
    );
}

fn a_request_times_out_as_a_timeout() {
    // A listener that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let out = infraspec(&[
        "--format",
        "json",
        "-c",
        &format!("{{http: 'http://localhost:{port}/', timeout: 1s}}"),
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let message = doc["targets"][0]["checks"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("timed out after 1s"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(8));
    drop(silent);
}

fn eventually_waits_for_the_app_to_come_up() {
    let port = free_port();
    let url = format!("http://localhost:{port}/");
    let opener = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        let dir = std::env::temp_dir();
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    });
    let out = infraspec(&[
        "-c",
        &format!("{{http: '{url}', eventually: {{timeout: 20s, interval: 300ms}}}}"),
    ]);
    let mut server = opener.join().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// A CA, and a certificate for localhost signed by it.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| support::missing("openssl", e));
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            text(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=infraspec test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "site.key",
        "-out",
        "site.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "site.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "site.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("site.pem"),
        dir.join("site.key"),
    )
}

fn tls_with_a_private_ca_fails_by_default_and_passes_with_the_ca_or_the_system_store() {
    let tmp = support::temp_dir();
    let (ca, cert, key) = certificates(tmp.path());
    let site = Site::start("tls", Some((&cert, &key)));
    let url = site.url("https", "/");
    let default = infraspec(&["--format", "json", "-c", &format!("{{http: '{url}'}}")]);
    let doc: serde_json::Value = serde_json::from_slice(&default.stdout).unwrap();
    let message = doc["targets"][0]["checks"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(default.status.code(), Some(1), "{}", show(&default));
    assert!(message.starts_with("TLS failed"), "{message}");
    let with_ca = infraspec(&[
        "-c",
        &format!(
            "{{http: '{url}', ca: '{}', body: {{contains: hello}}}}",
            ca.display()
        ),
    ]);
    assert_eq!(with_ca.status.code(), Some(0), "{}", show(&with_ca));
    // A CA installed in the system's store (here through SSL_CERT_FILE, as
    // an internal CA would be) is trusted without `ca`.
    let check = format!("{{http: '{url}', body: {{contains: hello}}}}");
    let system = infraspec_with(&["-c", &check], &[("SSL_CERT_FILE", &ca)]);
    assert_eq!(system.status.code(), Some(0), "{}", show(&system));
    let insecure = infraspec(&["-c", &format!("{{http: '{url}', insecure: true}}")]);
    assert_eq!(insecure.status.code(), Some(0), "{}", show(&insecure));
}

fn through_ssh_localhost_is_the_target() {
    let s = support::sshd::start();
    let site = Site::start("ssh", None);
    let out = s.infraspec(
        &[
            "--target",
            "ssh://box",
            "-c",
            &format!(
                "{{http: '{}', body: {{contains: hello from the target}}}}",
                site.url("http", "/")
            ),
            "-c",
            &format!(
                "{{http: '{}', json_path: .status, json: ok}}",
                site.url("http", "/health.json")
            ),
            "-c",
            &format!(
                "{{http: '{}', body: {{contains: docs}}}}",
                site.url("http", "/docs")
            ),
            "-c",
            &format!("{{http: 'http://localhost:{}/'}}", free_port()),
        ],
        &[],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stdout.contains("3 passed, 0 failed, 0 skipped, 1 errors"),
        "{stdout}"
    );
    assert!(
        stdout.contains("could not open a connection to localhost:"),
        "{stdout}"
    );
    // After HTTP, commands on the same connection still work (the session is blocking again).
    let after = s.infraspec(
        &[
            "--target",
            "ssh://box",
            "-c",
            &format!(
                "{{http: '{}', eventually: {{timeout: 2s, interval: 200ms}}}}",
                site.url("http", "/")
            ),
            "-c",
            "{command: id -un, stdout: infraspec-ssh}",
        ],
        &[],
    );
    assert_eq!(after.status.code(), Some(0), "{}", show(&after));
}

fn in_a_container_without_curl_localhost_is_the_container() {
    // Nothing listens on this machine's port 80: the answer can only come from the container.
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", 80)).is_err(),
        "something listens on the runner's port 80"
    );
    let target = format!("docker:{}", support::docker::DEBIAN);
    let out = infraspec(&[
        "--target",
        &target,
        "-c",
        "{command: 'command -v curl || command -v wget', exit_status: {not: 0}}",
        "-c",
        "{http: 'http://localhost/', status: 200, body: {contains: Welcome to nginx}}",
        "-c",
        "{http: 'http://127.0.0.1/nope', status: 404}",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // From the runner, the same URL is not the container.
    let runner = infraspec(&[
        "--target",
        &target,
        "-c",
        "{http: 'http://localhost/', from: runner}",
    ]);
    assert_eq!(runner.status.code(), Some(1), "{}", show(&runner));
    assert!(
        text(&runner.stdout).contains("connection refused"),
        "{}",
        show(&runner)
    );
}

/// Echoes each request's headers as its body; `/go/HOST:PORT/PATH` redirects
/// (302) to `http://HOST:PORT/PATH`.
const ECHO_SERVER: &str = r#"
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/go/"):
            self.send_response(302)
            self.send_header("Location", "http://" + self.path[4:])
            self.end_headers()
            return
        body = str(self.headers).lower().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

fn redirects_carry_credentials_only_to_their_origin() {
    let port = free_port();
    let mut server = Command::new("python3")
        .args(["-c", ECHO_SERVER, &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the echo server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let request = |to: &str, expect: &str| {
        check(format!(
            "{{http: 'http://127.0.0.1:{port}/go/{to}:{port}/echo', auth: 'user:secret', \
             headers: {{X-Api-Key: k3y}}, {expect}}}"
        ))
    };
    // The same origin keeps them; another host (the same server by another
    // name) gets neither the Authorization header nor the user's headers.
    let out = infraspec(&[
        "-c",
        &request(
            "127.0.0.1",
            "body: [{contains: 'authorization: basic'}, {contains: 'x-api-key: k3y'}]",
        ),
        "-c",
        &request("localhost", "body: {contains: 'host: localhost'}"),
        "-c",
        &request("localhost", "body: {not: {contains: authorization}}"),
        "-c",
        &request("localhost", "body: {not: {contains: x-api-key}}"),
    ]);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// Issue 27, case 5: over SSH, requests take turns on the session; the
/// time one waits for its turn is not the server's response time. Four
/// requests to a server that answers each after 0.8 s: each one's
/// response time is under 1.6 s, though the last is answered about 3.2 s
/// after the first was sent.
fn response_time_leaves_out_the_wait_for_the_session() {
    const SLOW: &str = r#"
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(0.8)
        self.send_response(200); self.send_header("content-length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;
    let s = support::sshd::start();
    let port = free_port();
    let mut server = Command::new("python3")
        .args(["-c", SLOW, &port.to_string()])
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let checks: Vec<String> = (0..4)
        .map(|i| format!("{{http: 'http://127.0.0.1:{port}/{i}', response_time: {{lt: 1600}}}}"))
        .collect();
    let mut args = vec!["--target", "ssh://box"];
    for c in &checks {
        args.extend(["-c", c.as_str()]);
    }
    let out = s.infraspec(&args, &[]);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

infraspec_tests! {
    Nothing: [
        local_requests_their_properties_and_distinct_errors,
        a_request_times_out_as_a_timeout,
        eventually_waits_for_the_app_to_come_up,
        tls_with_a_private_ca_fails_by_default_and_passes_with_the_ca_or_the_system_store,
        redirects_carry_credentials_only_to_their_origin,
    ],
    Ssh: [
        through_ssh_localhost_is_the_target,
        response_time_leaves_out_the_wait_for_the_session,
    ],
    Docker: [
        in_a_container_without_curl_localhost_is_the_container,
    ],
}
