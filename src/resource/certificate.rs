//! `certificate`: an X.509 certificate, read from a PEM or DER file on the
//! target (`certificate: /etc/ssl/certs/web.pem`), or the one a TLS server
//! presents (`certificate: tls://HOST:PORT`), reached from the target's point
//! of view as `http` is. Parsed by the runner: nothing on the target needs
//! openssl.

use std::time::Duration;

use super::{Early, Need, Observations, Observed};
use crate::matcher::Value;
use crate::spec::Property;

/// What a check reads of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    /// Seconds since the epoch.
    pub not_before: i64,
    pub not_after: i64,
}

/// Without the `certificate` feature (x509-parser and its tree left out),
/// every certificate check is an error that says so: never a verdict.
#[cfg(not(feature = "certificate"))]
pub fn parse(_bytes: &[u8]) -> Result<Cert, String> {
    Err("this infraspec was built without the `certificate` feature, which reads X.509 certificates: build it with default features".into())
}

/// Parses the first certificate of a PEM file, or a DER certificate.
#[cfg(feature = "certificate")]
pub fn parse(bytes: &[u8]) -> Result<Cert, String> {
    let der = if bytes.starts_with(b"-----BEGIN") || bytes.windows(11).any(|w| w == b"-----BEGIN ")
    {
        let (_, pem) = x509_parser::pem::parse_x509_pem(bytes)
            .map_err(|e| format!("not a PEM certificate ({e})"))?;
        if pem.label != "CERTIFICATE" && pem.label != "TRUSTED CERTIFICATE" {
            return Err(format!("a PEM {:?}, not a CERTIFICATE", pem.label));
        }
        pem.contents
    } else {
        bytes.to_vec()
    };
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| format!("not an X.509 certificate ({e})"))?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        use x509_parser::extensions::GeneralName;
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => sans.push(d.to_string()),
                GeneralName::IPAddress(ip) => match ip.len() {
                    4 => sans.push(
                        std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).unwrap_or_default())
                            .to_string(),
                    ),
                    16 => sans.push(
                        std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).unwrap_or_default())
                            .to_string(),
                    ),
                    _ => {}
                },
                GeneralName::RFC822Name(m) => sans.push(m.to_string()),
                GeneralName::URI(u) => sans.push(u.to_string()),
                _ => {}
            }
        }
    }
    let validity = cert.validity();
    Ok(Cert {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
    })
}

/// `tls://HOST:PORT` as host and port.
pub fn tls_address(name: &str) -> Option<(String, u16)> {
    let hostport = name.strip_prefix("tls://")?;
    let (host, port) = hostport.rsplit_once(':')?;
    Some((host.to_string(), port.parse().ok()?))
}

pub fn needs(name: &str, cap: usize) -> Vec<Need> {
    if tls_address(name).is_some() {
        vec![]
    } else {
        vec![
            Need::Stat(name.to_string()),
            Need::Content(name.to_string(), cap),
        ]
    }
}

pub fn observe(
    obs: &Observations<'_>,
    name: &str,
    property: Property,
    cap: usize,
) -> Result<Observed, Early> {
    let (cert, from) = if tls_address(name).is_some() {
        let der = obs
            .certs
            .get(name)
            .ok_or_else(|| Early::Error("the server was not asked".into()))?
            .as_ref()
            .map_err(|e| Early::Error(e.clone()))?;
        (parse(der), "the server's certificate")
    } else {
        let exists = super::file::observe(obs, name, Property::Exists, cap, None)?;
        if exists.value != Value::Bool(true) {
            return Err(Early::Fail("does not exist".into()));
        }
        (parse(obs.content(name, cap)?), "the file")
    };
    let cert = cert.map_err(|e| Early::Fail(format!("{from} is {e}")))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Ok(match property {
        Property::Valid => {
            let valid = cert.not_before <= now && now <= cert.not_after;
            return Ok(Observed {
                value: Value::Bool(valid),
                note: Some(format!(
                    "valid from {} to {} (seconds since the epoch); now {now}",
                    cert.not_before, cert.not_after
                )),
            });
        }
        Property::ExpiresInDays => Value::Int((cert.not_after - now).div_euclid(86_400)),
        Property::Subject => Value::Text(cert.subject),
        Property::Issuer => Value::Text(cert.issuer),
        Property::Sans => {
            let mut sans = cert.sans;
            sans.sort();
            Value::List(sans)
        }
        other => return Err(Early::Error(format!("certificate has no property {other}"))),
    }
    .into())
}

/// How long a TLS server may take to present its certificate when the
/// check sets no `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The server a `certificate: tls://…` check asks, and within how long.
pub fn fetch_key(check: &crate::spec::Check) -> Option<(String, Duration)> {
    (check.resource.kind == crate::spec::ResourceKind::Certificate
        && check.resource.name.starts_with("tls://"))
    .then(|| {
        (
            check.resource.name.clone(),
            check.options.timeout.unwrap_or(DEFAULT_TIMEOUT),
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(super::parse(b"hello").is_err());
        assert!(
            super::parse(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .is_err()
        );
        assert_eq!(
            super::tls_address("tls://example.test:443"),
            Some(("example.test".into(), 443))
        );
    }
}
