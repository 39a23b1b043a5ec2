//! `infraspec serve` with a real HTTP client (curl) against a running
//! server: status by verdict, formats, metrics, one run shared by concurrent
//! requests, the cache, a listener that a slow run does not block, a port in
//! use, bad specs refused before listening, SIGTERM; on the local machine
//! and a container.

use crate::support;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::docker::{container_target, Running, DEBIAN};
use support::{show, text};

/// A running `infraspec serve`, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let port = support::sshd::free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(support::bin())
            .args(["serve", "--listen", &listen])
            .args(args)
            .env_remove("INFRASPEC_TARGET")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Serving once it says so on stderr.
        let started = Instant::now();
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("serve ended with {status}: {err}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "serve never listened"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, port }
    }

    /// curl's status code and body for `path`, with extra curl arguments.
    fn get(&self, path: &str, extra: &[&str]) -> (u16, String) {
        let out = Command::new("curl")
            .args(["-s", "--max-time", "60", "-w", "\n%{http_code}"])
            .args(extra)
            .arg(format!("http://127.0.0.1:{}{path}", self.port))
            .output()
            .unwrap_or_else(|e| support::missing("curl", e));
        let body = text(&out.stdout);
        let (body, code) = body.rsplit_once('\n').unwrap_or(("", &body));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    /// Sends SIGTERM and waits for the exit status and stderr.
    fn stop(mut self) -> (Option<i32>, String) {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let started = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status.code(), err)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_answers_by_verdict_in_every_format_and_shares_runs() {
    let dir = support::temp_dir();
    let runs = dir.path().join("runs");
    let spec = dir.path().join("spec.yaml");
    // Each run appends a line to `runs` and takes a second.
    std::fs::write(
        &spec,
        format!(
            "checks:\n  - command: 'sleep 1; echo run >> {}'\n  - file: '{{{{ file }}}}'\n",
            runs.display()
        ),
    )
    .unwrap();
    let count = || {
        std::fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let server = Server::start(&[
        "--cache",
        "3s",
        "--var",
        "file=/etc/passwd",
        spec.to_str().unwrap(),
    ]);
    // Five clients at once: one run answers them all.
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..5)
            .map(|_| s.spawn(|| server.get("/healthz", &[])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (code, body) in &answers {
        assert_eq!(*code, 200, "{body}");
        assert!(body.contains("file /etc/passwd"), "{body}");
    }
    assert_eq!(count(), 1, "five concurrent requests, one run");
    // Within the cache: the same result, no run; each format on request.
    let (code, body) = server.get("/healthz?format=json", &[]);
    assert_eq!(code, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["summary"]["passed"], 2, "{doc:#}");
    let (_, junit) = server.get("/healthz", &["-H", "Accept: application/xml"]);
    assert!(junit.starts_with("<?xml"), "{junit}");
    let (_, tap) = server.get("/healthz?format=tap", &[]);
    assert!(tap.starts_with("TAP version 13"), "{tap}");
    let (code, _) = server.get("/healthz?format=yaml", &[]);
    assert_eq!(code, 400);
    assert_eq!(count(), 1, "answers from the cache run nothing");
    let (code, metrics) = server.get("/metrics", &[]);
    assert_eq!(code, 200);
    assert!(metrics.contains("infraspec_healthy 1\n"), "{metrics}");
    assert!(
        metrics.contains("infraspec_checks{target=\"local\",outcome=\"passed\"} 2\n"),
        "{metrics}"
    );
    assert!(metrics.contains("infraspec_runs_total 1\n"), "{metrics}");
    // After the cache: a new run. While it runs, the listener still answers.
    std::thread::sleep(Duration::from_secs(3));
    std::thread::scope(|s| {
        let slow = s.spawn(|| server.get("/healthz", &[]));
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        let (code, _) = server.get("/", &[]);
        assert_eq!(code, 200);
        assert!(
            started.elapsed() < Duration::from_millis(700),
            "the listener waited for the run: {:?}",
            started.elapsed()
        );
        assert_eq!(slow.join().unwrap().0, 200);
    });
    assert_eq!(count(), 2);
    assert_eq!(server.get("/nope", &[]).0, 404);
    assert_eq!(server.get("/healthz", &["-X", "POST"]).0, 405);
    // A second server on the same port: a clear error, exit 2.
    let out = Command::new(support::bin())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", server.port),
            "--var",
            "file=/etc/passwd",
            spec.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains(&format!(
            "cannot listen on 127.0.0.1:{}: Address already in use",
            server.port
        )),
        "{}",
        show(&out)
    );
    let (code, err) = server.stop();
    assert_eq!(code, Some(0), "{err}");
}

fn serve_says_503_for_failures_and_refuses_bad_specs_before_listening() {
    let dir = support::temp_dir();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, "checks:\n  - file: /nonexistent/infraspec\n").unwrap();
    let server = Server::start(&["--cache", "0s", spec.to_str().unwrap()]);
    let (code, body) = server.get("/healthz", &[]);
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("file /nonexistent/infraspec"), "{body}");
    let (_, metrics) = server.get("/metrics", &[]);
    assert!(metrics.contains("infraspec_healthy 0\n"), "{metrics}");
    assert!(
        metrics.contains("infraspec_checks{target=\"local\",outcome=\"failed\"} 1\n"),
        "{metrics}"
    );
    drop(server);
    // An undefined variable: exit 2 at once, nothing listens.
    std::fs::write(&spec, "checks:\n  - file: '{{ where }}'\n").unwrap();
    let port = support::sshd::free_port();
    let out = Command::new(support::bin())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg(&spec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("undefined variable `where`"),
        "{}",
        show(&out)
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

fn serve_checks_a_container_and_stops_on_sigterm() {
    let c = Running::start_with(&[DEBIAN, "sleep", "infinity"]);
    let target = container_target(&c.0);
    let server = Server::start(&["-t", &target, "-c", "{file: /etc/debian_version}"]);
    let (code, body) = server.get("/healthz?format=json", &[]);
    assert_eq!(code, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["targets"][0]["target"], target.as_str(), "{doc:#}");
    // Gone from the container: the next run says so.
    let rm = Command::new(support::docker::engine())
        .args(["exec", &c.0, "rm", "/etc/debian_version"])
        .output()
        .unwrap();
    assert!(rm.status.success(), "{}", show(&rm));
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(server.get("/healthz", &[]).0, 503);
    let (code, err) = server.stop();
    assert_eq!(code, Some(0), "{err}");
}

infraspec_tests! {
    Nothing: [
        serve_answers_by_verdict_in_every_format_and_shares_runs,
        serve_says_503_for_failures_and_refuses_bad_specs_before_listening,
    ],
    Docker: [serve_checks_a_container_and_stops_on_sigterm],
}
