//! `interface`: network interfaces from `/sys/class/net` (existence, MTU, read
//! with shell builtins only) and their addresses from `ip -o addr show`.

use super::{stdout_text, Early, Need, Observations, Observed};
use crate::matcher::Value;
use crate::probe::Probe;
use crate::spec::Property;

pub fn list_probe() -> Probe {
    Probe::script(
        r#"for d in /sys/class/net/*; do [ -e "$d" ] || continue; m=; read -r m <"$d/mtu" 2>/dev/null; echo "${d##*/} $m"; done; :"#,
        Vec::<String>::new(),
        "ls /sys/class/net; cat /sys/class/net/*/mtu",
    )
}

pub fn needs(property: Property) -> Vec<Need> {
    match property {
        Property::Addresses => vec![Need::Interfaces, Need::InterfaceAddresses],
        _ => vec![Need::Interfaces],
    }
}

/// `name mtu` lines.
pub fn parse_list(text: &str) -> Vec<(String, Option<i64>)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next()?.to_string();
            Some((name, f.next().and_then(|m| m.parse().ok())))
        })
        .collect()
}

/// Addresses of `name` from `ip -o addr show`, without prefix length.
pub fn parse_addresses(text: &str, name: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let ifname = f.get(1)?.split('@').next()?;
            let family = *f.get(2)?;
            if ifname != name || !(family == "inet" || family == "inet6") {
                return None;
            }
            Some(f.get(3)?.split('/').next()?.to_string())
        })
        .collect()
}

pub fn observe(obs: &Observations<'_>, name: &str, property: Property) -> Result<Observed, Early> {
    let out = obs.ok(&Need::Interfaces)?;
    let list = parse_list(&stdout_text(out));
    let entry = list.iter().find(|(n, _)| n == name);
    if property == Property::Exists {
        return Ok(Value::Bool(entry.is_some()).into());
    }
    let (_, mtu) = entry.ok_or_else(|| Early::Fail("no such interface".into()))?;
    Ok(match property {
        Property::Mtu => {
            Value::Int(mtu.ok_or_else(|| Early::Error(format!("no MTU readable for {name}")))?)
        }
        Property::Addresses => {
            let out = obs.ok(&Need::InterfaceAddresses)?;
            Value::List(parse_addresses(&stdout_text(out), name))
        }
        other => return Err(Early::Error(format!("interface has no property {other}"))),
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::testing::fixture;

    #[test]
    fn ip_addr_output_from_debian_12() {
        let text = String::from_utf8(fixture("net/ip-o-addr-debian-12.txt")).unwrap();
        assert_eq!(parse_addresses(&text, "lo"), ["127.0.0.1", "::1"]);
        assert_eq!(
            parse_addresses(&text, "eth0"),
            ["192.0.2.2", "fd00::2", "fe80::fc:ff:fe00:1"]
        );
        assert!(parse_addresses(&text, "eth9").is_empty());
    }

    #[test]
    fn interface_list() {
        assert_eq!(
            parse_list("lo 65536\neth0 1500\n"),
            [
                ("lo".to_string(), Some(65536)),
                ("eth0".to_string(), Some(1500))
            ]
        );
    }
}
