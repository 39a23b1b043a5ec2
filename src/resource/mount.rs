//! `mount`: mount points from `/proc/self/mounts`, with filesystem, device and
//! options.

use super::{stdout_text, Early, Need, Observations, Observed};
use crate::matcher::Value;
use crate::spec::Property;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub device: String,
    pub point: String,
    pub filesystem: String,
    pub options: Vec<String>,
}

/// The kernel escapes space, tab, newline and backslash in octal (`\040`).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 4 <= bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let n = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(n);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            if f.len() < 4 {
                return None;
            }
            Some(MountEntry {
                device: unescape(f[0]),
                point: unescape(f[1]),
                filesystem: f[2].to_string(),
                options: f[3].split(',').map(str::to_string).collect(),
            })
        })
        .collect()
}

pub fn observe(obs: &Observations<'_>, point: &str, property: Property) -> Result<Observed, Early> {
    let out = obs.ok(&Need::Mounts)?;
    let mounts = parse(&stdout_text(out));
    // The last mount on a point is the one that is visible.
    let entry = mounts.iter().rev().find(|m| m.point == point);
    if property == Property::Exists {
        return Ok(Value::Bool(entry.is_some()).into());
    }
    let entry = entry.ok_or_else(|| Early::Fail("not mounted".into()))?;
    Ok(match property {
        Property::Filesystem => Value::Text(entry.filesystem.clone()),
        Property::Device => Value::Text(entry.device.clone()),
        Property::Options => Value::List(entry.options.clone()),
        other => return Err(Early::Error(format!("mount has no property {other}"))),
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

    #[test]
    fn mounts_from_debian_12() {
        let mounts = parse(&String::from_utf8(fixture("proc/mounts-debian-12.txt")).unwrap());
        let root = mounts.iter().find(|m| m.point == "/").unwrap();
        assert_eq!(
            (root.filesystem.as_str(), root.device.as_str()),
            ("ext4", "/dev/vda")
        );
        assert!(root.options.contains(&"rw".to_string()));
        assert!(mounts.iter().any(|m| m.point == "/mnt/with space"));
    }
}
