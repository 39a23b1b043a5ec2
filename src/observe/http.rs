//! `http` requests from the target's point of view. `localhost` in a URL is
//! the target. The target needs no curl or wget: the request is made here,
//! by ureq (rustls for TLS), over an address the backend provides
//! ([`Backend::forward`]): the host itself for `local`, the container's
//! address for docker, a `direct-tcpip` channel for SSH. Redirects are
//! followed hop by hop so that every hop is reached the same way.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::resource::http::{host_port, Key, Response};
use crate::spec::{From, Request};

/// ureq resolves nothing: the connection is made before it runs (see
/// [`Given`]); the address it is told is the one that was connected to,
/// where known.
#[derive(Debug)]
struct Fixed(SocketAddr);

impl ureq::unversioned::resolver::Resolver for Fixed {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let mut addrs = self.empty();
        addrs.push(self.0);
        Ok(addrs)
    }
}

/// A ureq connector that hands ureq the connection the backend's forward
/// made (inside a container's network namespace, over an SSH channel, or
/// to an address here): no port is opened for it, and TLS (rustls) goes on
/// top of it as usual.
#[derive(Debug)]
struct Given(std::sync::Mutex<Option<std::net::TcpStream>>);

impl<In: ureq::unversioned::transport::Transport> ureq::unversioned::transport::Connector<In>
    for Given
{
    type Out = GivenTransport;

    fn connect(
        &self,
        _details: &ureq::unversioned::transport::ConnectionDetails,
        _chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let stream = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| ureq::Error::Io(std::io::Error::other("one connection per request")))?;
        Ok(Some(GivenTransport {
            stream,
            buffers: ureq::unversioned::transport::LazyBuffers::new(128 * 1024, 128 * 1024),
        }))
    }
}

/// The given connection as ureq's transport: plain reads and writes, each
/// bounded by what is left of the request's time.
#[derive(Debug)]
struct GivenTransport {
    stream: std::net::TcpStream,
    buffers: ureq::unversioned::transport::LazyBuffers,
}

/// An I/O error of the given connection as ureq's error: a read or write
/// that ran out of time is ureq's timeout.
fn io_error(e: std::io::Error, reason: ureq::Timeout) -> ureq::Error {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            ureq::Error::Timeout(reason)
        }
        _ => ureq::Error::Io(e),
    }
}

impl ureq::unversioned::transport::Transport for GivenTransport {
    fn buffers(&mut self) -> &mut dyn ureq::unversioned::transport::Buffers {
        &mut self.buffers
    }

    fn transmit_output(
        &mut self,
        amount: usize,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<(), ureq::Error> {
        use std::io::Write;
        use ureq::unversioned::transport::Buffers;
        let timeout = timeout.for_write();
        if timeout.after.is_zero() {
            return Err(ureq::Error::Timeout(timeout.reason));
        }
        self.stream
            .set_write_timeout(timeout.not_zero().map(|d| *d))
            .map_err(ureq::Error::Io)?;
        let output = &self.buffers.output()[..amount];
        self.stream
            .write_all(output)
            .map_err(|e| io_error(e, timeout.reason))
    }

    fn await_input(
        &mut self,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<bool, ureq::Error> {
        use std::io::Read;
        use ureq::unversioned::transport::Buffers;
        let timeout = timeout.for_read();
        if timeout.after.is_zero() {
            return Err(ureq::Error::Timeout(timeout.reason));
        }
        self.stream
            .set_read_timeout(timeout.not_zero().map(|d| *d))
            .map_err(ureq::Error::Io)?;
        let input = self.buffers.input_append_buf();
        let amount = loop {
            match self.stream.read(input) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(e, timeout.reason)),
            }
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    /// One request per connection: nothing is pooled.
    fn is_open(&mut self) -> bool {
        false
    }
}

fn tls_config(request: &Request) -> Result<ureq::tls::TlsConfig, String> {
    let mut tls = ureq::tls::TlsConfig::builder().disable_verification(request.insecure);
    if let Some(path) = &request.ca {
        let pem =
            std::fs::read(path).map_err(|e| format!("failed to read the CA bundle {path}: {e}"))?;
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.to_owned()),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(format!("the CA bundle {path} holds no certificate"));
        }
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    } else {
        tls = tls.root_certs(default_roots().clone());
    }
    Ok(tls.build())
}

/// What an `https` check trusts without `ca`: the system's CA store (where
/// internal CAs are installed; `SSL_CERT_FILE` and `SSL_CERT_DIR` are
/// honoured) and Mozilla's roots, so a machine without a CA store still
/// verifies public sites. Read once per run.
fn default_roots() -> &'static ureq::tls::RootCerts {
    static ROOTS: std::sync::OnceLock<ureq::tls::RootCerts> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        let system = rustls_native_certs::load_native_certs().certs;
        let mozilla = webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter();
        system
            .iter()
            .chain(mozilla)
            .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
            .collect::<Vec<_>>()
            .into()
    })
}

/// A connection that could not be made, in words.
fn describe_connect(e: std::io::Error, host: &str, port: u16) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            format!("connection refused: nothing listens on {host}:{port} (as the target sees it)")
        }
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            format!("connecting to {host}:{port} timed out")
        }
        _ => format!("connecting to {host}:{port} failed: {e}"),
    }
}

fn describe(e: ureq::Error, host: &str, port: u16, timeout: Duration) -> String {
    use ureq::Error as E;
    match e {
        // rustls reports certificate and handshake failures through I/O errors.
        E::Io(io)
            if {
                let t = io.to_string();
                t.contains("certificate")
                    || t.contains("handshake")
                    || t.contains("TLS")
                    || t.contains("tls")
            } =>
        {
            format!("TLS failed: {io}")
        }
        E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("connection refused: nothing listens on {host}:{port} (as the target sees it)")
        }
        E::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            format!("timed out after {}s", timeout.as_secs_f64())
        }
        E::Timeout(_) => format!("timed out after {}s", timeout.as_secs_f64()),
        E::Tls(m) => format!("TLS failed: {m}"),
        E::Rustls(r) => format!("TLS failed: {r}"),
        E::HostNotFound => format!("could not resolve {host}"),
        E::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            format!("the connection to {host}:{port} closed before an answer (refused or dropped on the target's side)")
        }
        other => format!("request failed: {other}"),
    }
}

/// `Location` against the URL it came from.
fn join(base: &str, location: &str) -> String {
    // RFC 3986 reference resolution: `//host/x`, `?q`, `../` and the rest.
    url::Url::parse(base)
        .and_then(|b| b.join(location))
        .map(|u| u.to_string())
        .unwrap_or_else(|_| location.to_string())
}

/// Makes the request (following redirects unless told not to).
pub(crate) fn fetch(
    backend: &dyn Backend,
    key: &Key,
    resolved: &super::network::Resolved,
) -> Result<Response, String> {
    let started = Instant::now();
    // Time spent waiting for a turn on the target's session is the runner's,
    // not the server's: left out of the response time.
    let mut queued = Duration::ZERO;
    let request = &key.request;
    let follow = request.follow_redirects.unwrap_or(true);
    let mut url = key.url.clone();
    let mut method = request.method.clone().unwrap_or_else(|| "GET".into());
    let mut body = request.body.clone();
    // `auth` and `headers` go only to the origin they were written for: a
    // redirect to another host, port or scheme (https to http) gets neither,
    // as curl does without --location-trusted.
    let origin = |url: &str| host_port(url).map(|(h, p, tls)| (h.to_ascii_lowercase(), p, tls));
    let first_origin = origin(&key.url)?;
    for _hop in 0..=10 {
        let left = key.timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(format!("timed out after {}s", key.timeout.as_secs_f64()));
        }
        let (host, port, _) = host_port(&url)?;
        let mut forward = match request.from {
            From::Runner => crate::backend::Forward::direct(
                crate::backend::resolve_here(&host, port).map_err(|e| e.to_string())?,
            ),
            From::Target => {
                let f = backend
                    .forward(resolved.via(&host), port, left)
                    .map_err(|e| e.to_string())?;
                queued += f.queued;
                f
            }
        };
        let stream = forward
            .connect(left)
            .map_err(|e| describe_connect(e, &host, port))?;
        let addr = stream
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], port)));
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(left))
            .tls_config(tls_config(request)?)
            .build();
        use ureq::unversioned::transport::Connector;
        let connector = ()
            .chain(Given(std::sync::Mutex::new(Some(stream))))
            .chain(ureq::unversioned::transport::RustlsConnector::default());
        let agent = ureq::Agent::with_parts(config, connector, Fixed(addr));
        let mut builder = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(url.as_str());
        let trusted = origin(&url)? == first_origin;
        for (k, v) in request.headers.iter().filter(|_| trusted) {
            builder = builder.header(k.as_str(), v.as_str());
        }
        if let Some(auth) = request.auth.as_ref().filter(|_| trusted) {
            builder = builder.header(
                "authorization",
                format!("Basic {}", base64(auth.as_bytes())),
            );
        }
        let req = builder
            .body(body.clone().unwrap_or_default().into_bytes())
            .map_err(|e| format!("invalid request: {e}"))?;
        let mut response = agent
            .run(req)
            .map_err(|e| describe(e, &host, port, key.timeout))?;
        let status = response.status().as_u16();
        let headers: Vec<String> = response
            .headers()
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}: {}",
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes())
                )
            })
            .collect();
        let location = response
            .headers()
            .get("location")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if follow && (300..400).contains(&status) {
            if let Some(next) = &location {
                url = join(&url, next);
                if matches!(status, 301..=303) {
                    method = "GET".into();
                    body = None;
                }
                continue;
            }
        }
        let bytes = response
            .body_mut()
            .with_config()
            .limit(crate::probe::OUTPUT_CAP as u64)
            .read_to_vec()
            .map_err(|e| describe(e, &host, port, key.timeout))?;
        return Ok(Response {
            status,
            headers,
            body: bytes,
            location,
            elapsed: started.elapsed().saturating_sub(queued),
        });
    }
    Err(format!(
        "more than 10 redirects from {}",
        crate::model::target::redact_url(&key.url)
    ))
}

fn base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_join_their_base() {
        assert_eq!(join("http://h/a/b", "/c"), "http://h/c");
        assert_eq!(join("http://h/a/b", "c"), "http://h/a/c");
        assert_eq!(join("http://h", "c"), "http://h/c");
        assert_eq!(join("http://h/a", "https://x/y"), "https://x/y");
        assert_eq!(join("http://h/a/b", "//other/x"), "http://other/x");
        assert_eq!(join("https://h/a/b?x=1", "?q=2"), "https://h/a/b?q=2");
        assert_eq!(join("http://h/a/b/c", "../d"), "http://h/a/d");
        assert_eq!(join("http://h:8080/a", "b"), "http://h:8080/b");
    }
}
