//! `port`: listening sockets, read from `/proc/net/{tcp,tcp6,udp,udp6}` so that
//! neither `ss` nor `netstat` is needed on the target. The four files are read
//! once per batch, whatever the number of port checks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{stdout_text, Early, Need, NoAnswer, Observations, Observed};
use crate::matcher::Value;
use crate::spec::{Listen, Protocol};

/// A socket from `/proc/net/*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub protocol: Protocol,
    pub address: IpAddr,
    pub port: u16,
    /// The kernel's state number: 0x0A is TCP LISTEN, 0x07 an unconnected UDP socket.
    pub state: u8,
    /// The socket's inode, as `/proc/PID/fd` links name it (`socket:[N]`).
    pub inode: u64,
}

impl Socket {
    pub fn listening(&self) -> bool {
        match self.protocol {
            Protocol::Tcp | Protocol::Tcp6 => self.state == 0x0A,
            Protocol::Udp | Protocol::Udp6 => self.state == 0x07,
        }
    }
}

const ALL: [Protocol; 4] = [Protocol::Tcp, Protocol::Tcp6, Protocol::Udp, Protocol::Udp6];

pub fn proc_file(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "/proc/net/tcp",
        Protocol::Tcp6 => "/proc/net/tcp6",
        Protocol::Udp => "/proc/net/udp",
        Protocol::Udp6 => "/proc/net/udp6",
    }
}

/// Decodes the kernel's hex address: 32-bit words in host order (little-endian
/// on the x86 and ARM machines this runs on).
fn decode_address(hex: &str) -> Option<IpAddr> {
    let word = |s: &str| u32::from_str_radix(s, 16).ok().map(|w| w.to_le_bytes());
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(hex)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(&hex[i * 8..i * 8 + 8])?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

/// Parses one `/proc/net/*` file.
pub fn parse(protocol: Protocol, text: &str) -> Vec<Socket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let _slot = f.next()?;
            let (addr, port) = f.next()?.split_once(':')?;
            let _remote = f.next()?;
            let state = u8::from_str_radix(f.next()?, 16).ok()?;
            // tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            let inode = f.nth(5).and_then(|i| i.parse().ok()).unwrap_or(0);
            Some(Socket {
                protocol,
                address: decode_address(addr)?,
                port: u16::from_str_radix(port, 16).ok()?,
                state,
                inode,
            })
        })
        .collect()
}

pub fn needs(listen: &Listen) -> Vec<Need> {
    match listen.protocol {
        Some(p) => vec![Need::ProcNet(p)],
        None => ALL.iter().map(|p| Need::ProcNet(*p)).collect(),
    }
}

pub(crate) fn sockets<'s>(obs: &'s Observations<'_>) -> Result<&'s Vec<Socket>, NoAnswer> {
    obs.cached(&obs.sockets, || {
        let mut all = Vec::new();
        for protocol in ALL {
            let need = Need::ProcNet(protocol);
            if !obs.answered(&need) {
                continue;
            }
            if let Some(given) = given!(obs, &need, Sockets) {
                all.extend(given?.iter().cloned());
                continue;
            }
            let out = obs.raw(&need)?;
            // A missing tcp6 or udp6 file means no IPv6 on the target: no sockets.
            if out.status == 0 {
                all.extend(parse(protocol, &stdout_text(out)));
            }
        }
        Ok(all)
    })
}

pub fn observe(obs: &Observations<'_>, port: &str, listen: &Listen) -> Result<Observed, Early> {
    let port: u16 = port
        .parse()
        .map_err(|_| Early::Error(format!("{port} is not a port number")))?;
    let on_port: Vec<&Socket> = sockets(obs)?
        .iter()
        .filter(|s| s.port == port && s.listening())
        .collect();
    let wanted_address: Option<IpAddr> = listen.address.as_deref().and_then(|a| a.parse().ok());
    let matching = on_port.iter().any(|s| {
        listen.protocol.is_none_or(|p| s.protocol == p)
            && wanted_address.is_none_or(|a| s.address == a)
    });
    let note = if on_port.is_empty() || (listen.protocol.is_none() && listen.address.is_none()) {
        None
    } else {
        let mut seen: Vec<String> = on_port
            .iter()
            .map(|s| format!("{} {}", s.protocol.as_str(), s.address))
            .collect();
        seen.dedup();
        Some(format!("port {port} listens on: {}", seen.join(", ")))
    };
    Ok(Observed {
        value: Value::Bool(matching),
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

    fn file(name: &str, p: Protocol) -> Vec<Socket> {
        parse(p, &String::from_utf8(fixture(name)).unwrap())
    }

    #[test]
    fn tcp_listeners_on_debian_12() {
        let socks = file("net/proc-net-tcp-debian-12.txt", Protocol::Tcp);
        let listening: Vec<(String, u16)> = socks
            .iter()
            .filter(|s| s.listening())
            .map(|s| (s.address.to_string(), s.port))
            .collect();
        assert!(listening.contains(&("0.0.0.0".into(), 22)), "{listening:?}");
        assert!(
            listening.contains(&("127.0.0.1".into(), 5432)),
            "{listening:?}"
        );
        // An established connection is not a listener.
        assert!(socks.iter().any(|s| !s.listening()));
    }

    #[test]
    fn tcp6_addresses_decode() {
        let socks = file("net/proc-net-tcp6-debian-12.txt", Protocol::Tcp6);
        let listening: Vec<(String, u16)> = socks
            .iter()
            .filter(|s| s.listening())
            .map(|s| (s.address.to_string(), s.port))
            .collect();
        assert!(listening.contains(&("::".into(), 22)), "{listening:?}");
        assert!(listening.contains(&("::1".into(), 631)), "{listening:?}");
    }

    #[test]
    fn udp_bound_sockets_count() {
        let socks = file("net/proc-net-udp-debian-12.txt", Protocol::Udp);
        assert!(socks.iter().any(|s| s.listening() && s.port == 68));
    }

    #[test]
    fn garbage_lines_are_ignored() {
        assert!(parse(Protocol::Tcp, "header\nnot a socket line\n  1: zz:zz\n").is_empty());
    }
}
