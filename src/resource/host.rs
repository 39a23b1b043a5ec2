//! `host`: name resolution as the target's resolver (NSS: /etc/hosts, DNS…)
//! sees it, through `getent ahosts`.

use super::{stdout_text, Early, Need, NoAnswer, Observations, Observed};
use crate::matcher::Value;
use crate::probe::Probe;
use crate::spec::Property;

pub fn probe(name: &str) -> Probe {
    Probe::script(
        r#"getent ahosts "$1" 2>/dev/null || getent hosts "$1""#,
        [name],
        format!("getent ahosts {}", crate::probe::display_word(name)),
    )
}

pub use crate::model::net::parse_ahosts as parse;

/// What a TCP connection tried from the target's point of view found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    Accepted,
    /// The target could not connect, and this says how.
    Refused(String),
}

pub fn observe_reachable(
    obs: &Observations<'_>,
    name: &str,
    port: Option<u16>,
) -> Result<Observed, Early> {
    let port = port.ok_or_else(|| Early::Error("`reachable` needs a `port`".into()))?;
    match obs.reach.get(&(name.to_string(), port)) {
        None => Err(Early::Error("the connection was not tried".into())),
        Some(Err(why)) => Err(Early::Error(why.clone())),
        Some(Ok(Reach::Accepted)) => Ok(Observed {
            value: Value::Bool(true),
            note: Some(format!("a TCP connection to port {port} was accepted")),
        }),
        Some(Ok(Reach::Refused(why))) => Ok(Observed {
            value: Value::Bool(false),
            note: Some(why.clone()),
        }),
    }
}

/// The addresses the target's resolver gave for `name` (none: it does not
/// resolve); an error where the lookup could not be made.
fn addresses(obs: &Observations<'_>, name: &str) -> Result<Vec<String>, NoAnswer> {
    let need = Need::Host(name.to_string());
    let out = obs.raw(&need)?;
    match out.status {
        0 => Ok(parse(&stdout_text(out))),
        127 => Err(obs.failure(&need, out)),
        _ => Ok(Vec::new()),
    }
}

/// The addresses the target's resolver gave for `name` this round, when it
/// was asked and answered.
pub fn resolved(obs: &Observations<'_>, name: &str) -> Option<Vec<String>> {
    if !obs.answered(&Need::Host(name.to_string())) {
        return None;
    }
    addresses(obs, name).ok()
}

pub fn observe(obs: &Observations<'_>, name: &str, property: Property) -> Result<Observed, Early> {
    let addrs = addresses(obs, name)?;
    match property {
        Property::Resolvable => Ok(Value::Bool(!addrs.is_empty()).into()),
        Property::Addresses if addrs.is_empty() => Err(Early::Fail("not resolvable".into())),
        Property::Addresses => Ok(Value::List(addrs).into()),
        Property::Ipv4 | Property::Ipv6 => {
            let v6 = property == Property::Ipv6;
            Ok(Value::List(
                addrs
                    .into_iter()
                    .filter(|a| a.contains(':') == v6)
                    .collect(),
            )
            .into())
        }
        other => Err(Early::Error(format!("host has no property {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ahosts_output_is_deduplicated() {
        let text = "127.0.0.1       STREAM localhost\n127.0.0.1       DGRAM  \n127.0.0.1       RAW    \n::1 STREAM\n";
        assert_eq!(parse(text), ["127.0.0.1", "::1"]);
    }
}
