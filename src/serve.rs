//! `infraspec serve`: a health endpoint for a target, as `goss serve` gives
//! one. `GET /healthz` runs the spec, or answers with a result younger than
//! the cache, 200 when every check passed and 503 otherwise, in the format
//! the client asks for (`?format=`, or `Accept`); `GET /metrics` gives the
//! last run's counts in Prometheus' text format.
//!
//! Requests that arrive while a run is under way wait for that run and share
//! its result: a burst of probes never starts a burst of runs. The listener
//! runs apart from the runs, so a slow target delays only the requests that
//! wait for it; connections beyond [`MAX_CONNECTIONS`] are answered 503 at
//! once. Requests are read with a deadline and a size cap.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::engine::{Outcome, TargetReport};
use crate::report;

/// Most connections handled at once; more are answered 503 at once.
pub const MAX_CONNECTIONS: usize = 64;

/// Largest request head read (request line and headers).
const MAX_REQUEST: usize = 16 << 10;

/// How long a client may take to send its request.
const READ_DEADLINE: Duration = Duration::from_secs(10);

/// One run's result.
#[derive(Debug)]
pub struct RunResult {
    /// Each target's report.
    pub reports: Vec<TargetReport>,
    /// When the run finished.
    pub finished: Instant,
    /// The same, as wall-clock time.
    pub at: SystemTime,
    /// How long it took.
    pub took: Duration,
    /// Set when the run itself broke (a bug): the answer is 503 with this.
    pub broken: Option<String>,
}

impl RunResult {
    /// Whether every check passed (the exit code would be 0).
    pub fn healthy(&self) -> bool {
        self.broken.is_none() && report::exit_code(&self.reports) == 0
    }
}

/// A report format a client can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The human report, without colors.
    Human,
    /// The JSON report.
    Json,
    /// JUnit XML.
    Junit,
    /// TAP version 13.
    Tap,
}

impl Format {
    /// `?format=NAME`.
    fn named(name: &str) -> Option<Format> {
        match name {
            "human" | "text" => Some(Format::Human),
            "json" => Some(Format::Json),
            "junit" | "xml" => Some(Format::Junit),
            "tap" => Some(Format::Tap),
            _ => None,
        }
    }

    /// The first media type of an `Accept` header that names a format.
    fn accepted(accept: &str) -> Option<Format> {
        accept.split(',').find_map(
            |item| match item.split(';').next().unwrap_or_default().trim() {
                "application/json" => Some(Format::Json),
                "application/xml" | "text/xml" | "application/junit+xml" => Some(Format::Junit),
                "text/x-tap" | "application/x-tap" => Some(Format::Tap),
                "text/plain" => Some(Format::Human),
                _ => None,
            },
        )
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Human => "text/plain; charset=utf-8",
            Format::Json => "application/json",
            Format::Junit => "application/xml",
            Format::Tap => "text/plain; charset=utf-8",
        }
    }

    fn render(self, reports: &[TargetReport]) -> String {
        match self {
            Format::Human => report::human::render_with(reports, false),
            Format::Json => report::json::render_shard(reports, None),
            Format::Junit => report::junit::render(reports),
            Format::Tap => report::tap::render(reports),
        }
    }
}

/// What the server runs, and how it shows the results.
pub struct Service {
    /// Checks every target once (its reports show no sensitive value: the
    /// engine masks each check's own texts).
    pub run: Box<dyn Fn() -> Vec<TargetReport> + Send + Sync>,
    /// How long a result answers requests before the next one runs again.
    pub cache: Duration,
}

#[derive(Default)]
struct State {
    last: Option<Arc<RunResult>>,
    running: bool,
    /// Runs finished so far.
    generation: u64,
}

struct Shared {
    service: Service,
    state: Mutex<State>,
    done: Condvar,
    runs: AtomicU64,
    connections: AtomicUsize,
}

impl Shared {
    /// The result to answer with: a fresh enough one, the one under way, or
    /// a new run.
    fn result(&self) -> Arc<RunResult> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(last) = &state.last {
            if last.finished.elapsed() < self.service.cache {
                return last.clone();
            }
        }
        if state.running {
            let waiting_for = state.generation;
            while state.generation == waiting_for {
                state = self.done.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            return state.last.clone().expect("a finished run left its result");
        }
        state.running = true;
        drop(state);
        let started = Instant::now();
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.service.run)()));
        let (reports, broken) = match outcome {
            Ok(reports) => (reports, None),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic".into());
                (Vec::new(), Some(format!("the run failed: {what}")))
            }
        };
        let result = Arc::new(RunResult {
            reports,
            finished: Instant::now(),
            at: SystemTime::now(),
            took: started.elapsed(),
            broken,
        });
        self.runs.fetch_add(1, Ordering::SeqCst);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.running = false;
        state.last = Some(result.clone());
        state.generation += 1;
        self.done.notify_all();
        result
    }
}

/// Answers requests on `listener` until the process ends (SIGTERM: the
/// signal handler stops runs under way, removes throwaway containers and
/// exits).
pub fn serve(listener: TcpListener, service: Service) -> ! {
    let shared = Arc::new(Shared {
        service,
        state: Mutex::new(State::default()),
        done: Condvar::new(),
        runs: AtomicU64::new(0),
        connections: AtomicUsize::new(0),
    });
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors or a connection reset while queued:
                // keep listening.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if shared.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = respond(
                &stream,
                503,
                "text/plain; charset=utf-8",
                "busy: too many connections\n",
                false,
            );
            continue;
        }
        let shared = shared.clone();
        std::thread::spawn(move || {
            handle(&stream, &shared);
            shared.connections.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// A request's method, path, query and `Accept` header.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    method: String,
    path: String,
    query: String,
    accept: String,
}

/// Reads a request head, up to its blank line, within the deadline.
fn read_request(mut stream: &TcpStream) -> Result<Request, (u16, &'static str)> {
    let deadline = Instant::now() + READ_DEADLINE;
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err((408, "the request took too long\n"));
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut buf) {
            Ok(0) => return Err((400, "the request ended early\n")),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(_) => return Err((408, "the request took too long\n")),
        }
        if head.len() > MAX_REQUEST {
            return Err((431, "the request head is too large\n"));
        }
    }
    parse_request(&head).ok_or((400, "not an HTTP request\n"))
}

fn parse_request(head: &[u8]) -> Option<Request> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let mut first = lines.next()?.split(' ');
    let (method, target, version) = (first.next()?, first.next()?, first.next()?);
    if !version.starts_with("HTTP/1.") || first.next().is_some() {
        return None;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let accept = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("accept"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    Some(Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        accept,
    })
}

fn handle(stream: &TcpStream, shared: &Shared) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let request = match read_request(stream) {
        Ok(r) => r,
        Err((status, why)) => {
            let _ = respond(stream, status, "text/plain; charset=utf-8", why, false);
            return;
        }
    };
    let head = request.method == "HEAD";
    if request.method != "GET" && !head {
        let _ = respond(
            stream,
            405,
            "text/plain; charset=utf-8",
            "only GET and HEAD\n",
            false,
        );
        return;
    }
    match request.path.as_str() {
        "/healthz" => {
            let asked = request
                .query
                .split('&')
                .find_map(|kv| kv.strip_prefix("format="));
            let format = match asked {
                Some(name) => match Format::named(name) {
                    Some(f) => f,
                    None => {
                        let _ = respond(
                            stream,
                            400,
                            "text/plain; charset=utf-8",
                            "format is one of human, json, junit, tap\n",
                            head,
                        );
                        return;
                    }
                },
                None => Format::accepted(&request.accept).unwrap_or(Format::Human),
            };
            let result = shared.result();
            let status = if result.healthy() { 200 } else { 503 };
            let body = match &result.broken {
                Some(why) => format!("{why}\n"),
                None => format.render(&result.reports),
            };
            let _ = respond(stream, status, format.content_type(), &body, head);
        }
        "/metrics" => {
            let result = shared.result();
            let body = metrics(&result, shared.runs.load(Ordering::SeqCst));
            let _ = respond(stream, 200, "text/plain; version=0.0.4", &body, head);
        }
        "/" => {
            let _ = respond(
                stream,
                200,
                "text/plain; charset=utf-8",
                "infraspec serve: GET /healthz (?format=human|json|junit|tap), GET /metrics\n",
                head,
            );
        }
        _ => {
            let _ = respond(
                stream,
                404,
                "text/plain; charset=utf-8",
                "not found: GET /healthz or /metrics\n",
                head,
            );
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "",
    }
}

fn respond(
    mut stream: &TcpStream,
    status: u16,
    content_type: &str,
    body: &str,
    head_only: bool,
) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        reason(status),
        body.len()
    );
    if status == 405 {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(body);
    }
    stream.write_all(out.as_bytes())?;
    stream.flush()
}

/// A Prometheus label value: control characters shown as text (`\x1b`,
/// `\r`), then `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    crate::model::text::escape_text(value)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The last run in Prometheus' text exposition format.
pub fn metrics(result: &RunResult, runs: u64) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, String)>| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (labels, value) in samples {
            out.push_str(&format!("{name}{labels} {value}\n"));
        }
    };
    family(
        "infraspec_healthy",
        "gauge",
        "1 when every check of the last run passed.",
        vec![(String::new(), u8::from(result.healthy()).to_string())],
    );
    let mut checks = Vec::new();
    let mut reachable = Vec::new();
    for r in &result.reports {
        let t = label(&r.target);
        let mut counts = [0usize; 4];
        for c in &r.results {
            counts[match c.outcome {
                Outcome::Pass => 0,
                Outcome::Fail { .. } => 1,
                Outcome::Skip { .. } => 2,
                Outcome::Error { .. } => 3,
            }] += 1;
        }
        for (outcome, n) in ["passed", "failed", "skipped", "errors"].iter().zip(counts) {
            checks.push((
                format!("{{target=\"{t}\",outcome=\"{outcome}\"}}"),
                n.to_string(),
            ));
        }
        reachable.push((
            format!("{{target=\"{t}\"}}"),
            u8::from(r.error.is_none()).to_string(),
        ));
    }
    family(
        "infraspec_checks",
        "gauge",
        "Checks of the last run, by target and outcome.",
        checks,
    );
    family(
        "infraspec_target_checked",
        "gauge",
        "1 when the target could be checked in the last run, 0 when it could not (unreachable, no shell).",
        reachable,
    );
    family(
        "infraspec_run_duration_seconds",
        "gauge",
        "How long the last run took.",
        vec![(String::new(), format!("{:.3}", result.took.as_secs_f64()))],
    );
    let at = result
        .at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    family(
        "infraspec_last_run_timestamp_seconds",
        "gauge",
        "When the last run finished, in seconds since the Unix epoch.",
        vec![(String::new(), format!("{at:.3}"))],
    );
    family(
        "infraspec_runs_total",
        "counter",
        "Runs since the server started.",
        vec![(String::new(), runs.to_string())],
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_parsed_and_formats_chosen() {
        let r = parse_request(
            b"GET /healthz?format=json HTTP/1.1\r\nHost: x\r\naccept: application/xml\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.path, "/healthz");
        assert_eq!(r.query, "format=json");
        assert_eq!(r.accept, "application/xml");
        assert!(parse_request(b"GET /healthz\r\n\r\n").is_none());
        assert!(parse_request(b"\xff\xfe\r\n\r\n").is_none());
        assert_eq!(
            Format::accepted("text/html, application/json;q=0.9"),
            Some(Format::Json)
        );
        assert_eq!(Format::accepted("*/*"), None);
        assert_eq!(Format::named("junit"), Some(Format::Junit));
    }

    #[test]
    fn metrics_count_each_target_and_escape_labels() {
        let result = RunResult {
            reports: vec![TargetReport {
                target: "we\"b\\1\n\r\u{1b}[2J".into(),
                facts: None,
                error: Some("unreachable".into()),
                results: Vec::new(),
                stats: Default::default(),
            }],
            finished: Instant::now(),
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(10),
            took: Duration::from_millis(1500),
            broken: None,
        };
        let text = metrics(&result, 3);
        assert!(text.contains("infraspec_healthy 0\n"), "{text}");
        assert!(
            text.contains(
                "infraspec_target_checked{target=\"we\\\"b\\\\1\\n\\\\r\\\\x1b[2J\"} 0\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("infraspec_run_duration_seconds 1.500\n"),
            "{text}"
        );
        assert!(
            text.contains("infraspec_last_run_timestamp_seconds 10.000\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE infraspec_runs_total counter\ninfraspec_runs_total 3\n"),
            "{text}"
        );
    }
}
