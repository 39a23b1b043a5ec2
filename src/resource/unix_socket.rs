//! `unix_socket`: a unix domain socket listening at a path, from
//! `/proc/net/unix` (no `ss` needed).

use super::{stdout_text, Early, Need, Observations, Observed};
use crate::matcher::Value;
use crate::probe::Probe;
use crate::spec::Property;

pub fn probe() -> Probe {
    Probe::argv(["cat", "/proc/net/unix"])
}

/// `__SO_ACCEPTCON`: the socket called listen(2).
const ACCEPTING: u32 = 0x0001_0000;
/// SOCK_DGRAM: bound datagram sockets have no listen(2), but take messages.
const DATAGRAM: u32 = 2;

/// The paths of sockets that take connections or messages, from
/// `/proc/net/unix` (`Num RefCount Protocol Flags Type St Inode Path`).
pub fn listening(text: &str) -> Vec<&str> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().take(7).collect();
            let flags = u32::from_str_radix(f.get(3)?, 16).ok()?;
            let kind = u32::from_str_radix(f.get(4)?, 16).ok()?;
            // The path is the rest of the line after one space, spaces and
            // all (the kernel prints it unescaped after the padded inode).
            let mut rest = line;
            for _ in 0..7 {
                rest = rest.trim_start_matches(' ');
                rest = &rest[rest.find(' ')?..];
            }
            let path = rest.strip_prefix(' ')?;
            (path.starts_with('/') && (flags & ACCEPTING != 0 || kind == DATAGRAM)).then_some(path)
        })
        .collect()
}

pub fn observe(obs: &Observations<'_>, path: &str, property: Property) -> Result<Observed, Early> {
    if property != Property::Listening {
        return Err(Early::Error(format!(
            "unix_socket has no property {property}"
        )));
    }
    let out = obs.ok(&Need::UnixSockets)?;
    Ok(Value::Bool(listening(&stdout_text(out)).contains(&path)).into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn listening_sockets_from_proc_net_unix() {
        let text = "Num       RefCount Protocol Flags    Type St Inode Path\n\
            0000000000000000: 00000002 00000000 00010000 0001 01 21012 /run/docker.sock\n\
            0000000000000000: 00000003 00000000 00000000 0001 03 21080 /run/docker.sock\n\
            0000000000000000: 00000002 00000000 00000000 0002 01 12345 /run/systemd/notify\n\
            0000000000000000: 00000002 00000000 00000000 0001 03 555 /tmp/connected-only\n\
            0000000000000000: 00000002 00000000 00010000 0001 01 1 @/abstract/name\n\
            0000000000000000: 00000002 00000000 00010000 0001 01 77777 /tmp/sp ace.sock\n\
            0000000000000000: 00000002 00000000 00010000 0001 01 77778\n";
        let l = super::listening(text);
        assert_eq!(
            l,
            [
                "/run/docker.sock",
                "/run/systemd/notify",
                "/tmp/sp ace.sock"
            ]
        );
        // `/tmp/sp` does not listen because `/tmp/sp ace.sock` does.
        assert!(!l.contains(&"/tmp/sp"));
    }
}
