//! The certificate a TLS server presents, reached from the target's point
//! of view as `http` is; the whole handshake bounded by the check's timeout.

use std::sync::Arc;
use std::time::Duration;

/// A verifier that accepts whatever the server presents: the check reads
/// the certificate, it does not trust it.
#[derive(Debug)]
struct Accept(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for Accept {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The certificate a TLS server presents at `host:port`, reached from the
/// target's point of view, as DER.
pub fn fetch(
    backend: &dyn crate::backend::Backend,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let mut forward = backend
        .forward(host, port, timeout)
        .map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let deadline = started + timeout.saturating_sub(forward.queued);
    let tcp = forward
        .connect(timeout)
        .map_err(|e| format!("connecting to {host}:{port}: {e}"))?;
    // The whole handshake is bounded, not each read: a server that sends a
    // byte a second never lets a per-read timeout fire.
    let mut tcp = Deadline { tcp, deadline };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Accept(provider)))
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())
        .map_err(|e| format!("{host} is not a server name: {e}"))?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| format!("TLS to {host}:{port}: {e}"))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| {
            if e.kind() == std::io::ErrorKind::TimedOut
                || e.kind() == std::io::ErrorKind::WouldBlock
            {
                format!(
                    "the TLS handshake with {host}:{port} did not finish within {}s",
                    timeout.as_secs_f64()
                )
            } else {
                format!("TLS handshake with {host}:{port} failed: {e}")
            }
        })?;
    }
    conn.peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec())
        .ok_or_else(|| format!("{host}:{port} presented no certificate"))
}

/// A connection that refuses to read or write past `deadline`.
struct Deadline {
    tcp: std::net::TcpStream,
    deadline: std::time::Instant,
}

impl Deadline {
    fn left(&self) -> std::io::Result<Duration> {
        let left = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            Err(std::io::ErrorKind::TimedOut.into())
        } else {
            Ok(left)
        }
    }
}

impl std::io::Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.tcp.set_read_timeout(Some(self.left()?))?;
        self.tcp.read(buf)
    }
}

impl std::io::Write for Deadline {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tcp.set_write_timeout(Some(self.left()?))?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}
