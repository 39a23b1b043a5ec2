//! `http`: requests from the target's point of view: what a check needs and
//! how it judges the answer. The request itself is made by the network
//! observer ([`crate::observe::http`]). Host names are first resolved on the
//! target (the `host` resource's probe, in the same batch), so a name the
//! target cannot resolve is a DNS error, distinct from a refused connection,
//! a timeout or a TLS failure.

use std::time::Duration;

use super::{Early, Need, Observed};
use crate::matcher::Value;
use crate::spec::{From, Property, Request};

/// What one request (after its redirects) answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// `name: value`, names in lowercase.
    pub headers: Vec<String>,
    pub body: Vec<u8>,
    pub location: Option<String>,
    pub elapsed: Duration,
}

/// Identifies a request, so that checks on the same request share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub url: String,
    pub request: Request,
    pub timeout: Duration,
}

/// Default time a request may take, redirects included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The host and port of a URL, with the scheme's default port.
pub(crate) fn host_port(url: &str) -> Result<(String, u16, bool), String> {
    let uri: ureq::http::Uri = url.parse().map_err(|e| {
        format!(
            "{:?} is not a URL: {e}",
            crate::model::target::redact_url(url)
        )
    })?;
    let tls = uri.scheme_str() == Some("https");
    let host = uri
        .host()
        .ok_or_else(|| format!("{:?} has no host", crate::model::target::redact_url(url)))?
        .to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    Ok((host, port, tls))
}

pub(crate) fn is_loopback_or_ip(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok()
}

/// The needs of an http check: a target-side name lookup for named hosts.
pub fn needs(url: &str, request: &Request) -> Vec<Need> {
    match host_port(url) {
        Ok((host, _, _)) if request.from == From::Target && !is_loopback_or_ip(&host) => {
            vec![Need::Host(host)]
        }
        _ => vec![],
    }
}

pub fn observe(
    result: Option<&Result<Response, String>>,
    dns: Option<(String, Result<bool, String>)>,
    request: &Request,
    property: Property,
) -> Result<Observed, Early> {
    if let Some((host, resolvable)) = dns {
        if !resolvable.map_err(Early::Error)? {
            return Err(Early::Error(format!(
                "DNS failure: the target cannot resolve {host}"
            )));
        }
    }
    let r = result
        .ok_or_else(|| Early::Error("the request was not made".into()))?
        .as_ref()
        .map_err(|e| Early::Error(e.clone()))?;
    Ok(match property {
        Property::Status => Value::Int(r.status.into()),
        Property::Body => Value::Text(String::from_utf8_lossy(&r.body).into_owned()),
        Property::ResponseHeaders => Value::List(r.headers.clone()),
        Property::Location => Value::Text(
            r.location
                .clone()
                .ok_or_else(|| Early::Fail("no Location header".into()))?,
        ),
        Property::ResponseTime => Value::Int(r.elapsed.as_millis().try_into().unwrap_or(i64::MAX)),
        Property::Json => {
            let doc = super::document::parse(&r.body, false)
                .map_err(|e| Early::Fail(format!("a body that is {e}")))?;
            return super::document::value_at(&doc, request.json_path.as_ref()).map(Into::into);
        }
        other => return Err(Early::Error(format!("http has no property {other}"))),
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports() {
        assert_eq!(
            host_port("https://example.org/x").unwrap(),
            ("example.org".into(), 443, true)
        );
        assert_eq!(
            host_port("http://localhost:8080/").unwrap(),
            ("localhost".into(), 8080, false)
        );
        assert!(needs("http://localhost/", &Request::default()).is_empty());
        assert_eq!(
            needs("http://web.internal/", &Request::default()),
            vec![Need::Host("web.internal".into())]
        );
    }
}
