//! `interface`: network interfaces from `/sys/class/net` (existence, MTU, read
//! with shell builtins only) and their addresses from `ip -o addr show`.

use super::{stdout_text, Early, Need, Observations, Observed};
use crate::matcher::Value;
use crate::probe::Probe;
use crate::spec::Property;

pub fn list_probe() -> Probe {
    Probe::script(
        r#"for d in /sys/class/net/*; do [ -e "$d" ] || continue; m=; o=; f=; read -r m <"$d/mtu" 2>/dev/null; read -r o <"$d/operstate" 2>/dev/null; read -r f <"$d/flags" 2>/dev/null; echo "${d##*/} $m $o $f"; done; :"#,
        Vec::<String>::new(),
        "ls /sys/class/net; cat /sys/class/net/*/mtu /sys/class/net/*/operstate /sys/class/net/*/flags",
    )
}

pub fn needs(property: Property) -> Vec<Need> {
    match property {
        Property::Addresses | Property::Prefix => vec![Need::Interfaces, Need::InterfaceAddresses],
        _ => vec![Need::Interfaces],
    }
}

/// One interface from `/sys/class/net`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub name: String,
    pub mtu: Option<i64>,
    /// Administratively up (`IFF_UP` in `flags`), as `ip link` shows `UP`.
    pub up: Option<bool>,
    /// The kernel's `operstate`: up, down, unknown (loopback), dormant…
    pub operstate: String,
}

/// `name mtu operstate flags` lines.
pub fn parse_list(text: &str) -> Vec<Link> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next()?.to_string();
            let mtu = f.next().and_then(|m| m.parse().ok());
            let operstate = f.next().unwrap_or_default().to_string();
            let up = f
                .next()
                .and_then(|x| i64::from_str_radix(x.trim_start_matches("0x"), 16).ok())
                .map(|flags| flags & 0x1 == 1);
            Some(Link {
                name,
                mtu,
                up,
                operstate,
            })
        })
        .collect()
}

/// Addresses of `name` from `ip -o addr show`, without prefix length.
pub fn parse_addresses(text: &str, name: &str) -> Vec<String> {
    parse_prefixes(text, name)
        .into_iter()
        .map(|a| a.split('/').next().unwrap_or_default().to_string())
        .collect()
}

/// Addresses of `name` with their prefix length, `192.0.2.2/24`.
pub fn parse_prefixes(text: &str, name: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let ifname = f.get(1)?.split('@').next()?;
            let family = *f.get(2)?;
            if ifname != name || !(family == "inet" || family == "inet6") {
                return None;
            }
            Some(f.get(3)?.to_string())
        })
        .collect()
}

pub fn observe(obs: &Observations<'_>, name: &str, property: Property) -> Result<Observed, Early> {
    let out = obs.ok(&Need::Interfaces)?;
    let list = parse_list(&stdout_text(out));
    let entry = list.iter().find(|l| l.name == name);
    if property == Property::Exists {
        return Ok(Value::Bool(entry.is_some()).into());
    }
    let link = entry.ok_or_else(|| Early::Fail("no such interface".into()))?;
    Ok(match property {
        Property::Mtu => Value::Int(
            link.mtu
                .ok_or_else(|| Early::Error(format!("no MTU readable for {name}")))?,
        ),
        Property::Up => {
            let up = link
                .up
                .ok_or_else(|| Early::Error(format!("no flags readable for {name}")))?;
            return Ok(Observed {
                value: Value::Bool(up),
                note: Some(format!(
                    "administratively {} (operstate {})",
                    if up { "up" } else { "down" },
                    link.operstate
                )),
            });
        }
        Property::Addresses => {
            let out = obs.ok(&Need::InterfaceAddresses)?;
            Value::List(parse_addresses(&stdout_text(out), name))
        }
        Property::Prefix => {
            let out = obs.ok(&Need::InterfaceAddresses)?;
            Value::List(parse_prefixes(&stdout_text(out), name))
        }
        other => return Err(Early::Error(format!("interface has no property {other}"))),
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

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
        // As read here: loopback is up with operstate unknown; a link can be
        // administratively down.
        let links = parse_list("lo 65536 unknown 0x9\neth0 1500 down 0x1002\nold 1500\n");
        let summary: Vec<(&str, Option<i64>, Option<bool>)> = links
            .iter()
            .map(|l| (l.name.as_str(), l.mtu, l.up))
            .collect();
        assert_eq!(
            summary,
            [
                ("lo", Some(65536), Some(true)),
                ("eth0", Some(1500), Some(false)),
                ("old", Some(1500), None)
            ]
        );
        let text = String::from_utf8(fixture("net/ip-o-addr-debian-12.txt")).unwrap();
        assert_eq!(parse_prefixes(&text, "lo"), ["127.0.0.1/8", "::1/128"]);
    }
}
