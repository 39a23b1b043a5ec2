//! `user` and `group`: passwd and group entries through NSS (`getent`), so
//! LDAP and SSSD users count, with `/etc/passwd` and `/etc/group` as the
//! fallback where there is no getent (busybox images). One `getent` answers
//! every user of a batch, another every group.

use super::{Early, Need, NoAnswer, Observations, Observed};
use crate::matcher::Value;
use crate::probe::Probe;
use crate::spec::Property;

/// A passwd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passwd {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
    pub gecos: String,
}

/// A group entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// `getent DB` for the names, or the whole file where getent is missing.
/// getent exits 2 when some key is not found: that is an answer, not a failure.
pub(crate) const GETENT: &str = r#"db=$1; shift
if command -v getent >/dev/null 2>&1; then
  getent "$db" "$@"; s=$?; [ "$s" -eq 2 ] && exit 0; exit "$s"
fi
cat "/etc/$db""#;

pub fn getent_probe<'a>(db: &str, names: impl Iterator<Item = &'a str>) -> Probe {
    let names: Vec<String> = names.map(str::to_string).collect();
    let shown = format!(
        "getent {db} {}",
        names
            .iter()
            .map(|n| crate::probe::display_word(n))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut args = vec![db.to_string()];
    args.extend(names);
    Probe::script(GETENT, args, shown)
}

pub fn getent_all_probe() -> Probe {
    Probe::script(
        "getent passwd 2>/dev/null || cat /etc/passwd",
        Vec::<String>::new(),
        "getent passwd",
    )
}

pub fn parse_passwd(text: &str) -> Vec<Passwd> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(Passwd {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
                shell: f[6].to_string(),
                gecos: f[4].to_string(),
            })
        })
        .collect()
}

pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

pub fn user_needs(name: &str, property: Property) -> Vec<Need> {
    let mut needs = vec![Need::Passwd(name.to_string())];
    if property == Property::Groups {
        needs.push(Need::UserGroups(name.to_string()));
    }
    if property == Property::Group {
        needs.push(Need::PrimaryGroup(name.to_string()));
    }
    needs
}

/// Every passwd entry, for naming process owners.
pub fn all_users<'s>(obs: &'s Observations<'_>) -> Result<&'s [Passwd], NoAnswer> {
    obs.passwd_all()
}

/// A user or group written as a number is looked up by id, as `getent` and
/// `id` do, when no entry has that number for a name.
fn by_id(name: &str) -> Option<u32> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

pub fn observe_user(
    obs: &Observations<'_>,
    name: &str,
    property: Property,
) -> Result<Observed, Early> {
    let entries = obs.passwd(name)?;
    let entry = entries
        .iter()
        .find(|e| e.name == name)
        .or_else(|| by_id(name).and_then(|id| entries.iter().find(|e| e.uid == id)));
    if property == Property::Exists {
        return Ok(Value::Bool(entry.is_some()).into());
    }
    let entry = entry.ok_or_else(|| Early::Fail("no such user".into()))?;
    Ok(match property {
        Property::Uid => Value::Int(entry.uid.into()),
        Property::Gid => Value::Int(entry.gid.into()),
        Property::Home => Value::Text(entry.home.clone()),
        Property::Shell => Value::Text(entry.shell.clone()),
        Property::Gecos => Value::Text(entry.gecos.clone()),
        Property::Group => Value::Text(obs.names(&Need::PrimaryGroup(name.to_string()))?.join(" ")),
        Property::Groups => {
            let mut groups = obs.names(&Need::UserGroups(name.to_string()))?;
            groups.sort();
            groups.dedup();
            Value::List(groups)
        }
        other => return Err(Early::Error(format!("user has no property {other}"))),
    }
    .into())
}

pub fn observe_group(
    obs: &Observations<'_>,
    name: &str,
    property: Property,
) -> Result<Observed, Early> {
    let entries = obs.groups(name)?;
    let entry = entries
        .iter()
        .find(|e| e.name == name)
        .or_else(|| by_id(name).and_then(|id| entries.iter().find(|e| e.gid == id)));
    match property {
        Property::Exists => Ok(Value::Bool(entry.is_some()).into()),
        Property::Gid => {
            let entry = entry.ok_or_else(|| Early::Fail("no such group".into()))?;
            Ok(Value::Int(entry.gid.into()).into())
        }
        Property::Members => {
            let entry = entry.ok_or_else(|| Early::Fail("no such group".into()))?;
            let mut members = entry.members.clone();
            members.sort();
            Ok(Value::List(members).into())
        }
        other => Err(Early::Error(format!("group has no property {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

    #[test]
    fn passwd_from_debian_12() {
        let users =
            parse_passwd(&String::from_utf8(fixture("users/passwd-debian-12.txt")).unwrap());
        let www = users.iter().find(|u| u.name == "www-data").unwrap();
        assert_eq!(
            (www.uid, www.gid, www.home.as_str(), www.shell.as_str()),
            (33, 33, "/var/www", "/usr/sbin/nologin")
        );
        assert_eq!(users[0].name, "root");
    }

    #[test]
    fn passwd_from_alpine_3_19() {
        let users =
            parse_passwd(&String::from_utf8(fixture("users/passwd-alpine-3.19.txt")).unwrap());
        let nobody = users.iter().find(|u| u.name == "nobody").unwrap();
        assert_eq!(nobody.uid, 65534);
        assert_eq!(
            users.iter().find(|u| u.name == "root").unwrap().shell,
            "/bin/sh"
        );
    }

    #[test]
    fn groups_with_members() {
        let groups = parse_group(&String::from_utf8(fixture("users/group-debian-12.txt")).unwrap());
        let sudo = groups.iter().find(|g| g.name == "sudo").unwrap();
        assert_eq!(sudo.gid, 27);
        assert!(groups
            .iter()
            .find(|g| g.name == "root")
            .unwrap()
            .members
            .is_empty());
        let with_members = parse_group("sudo:x:27:alice,bob\n");
        assert_eq!(with_members[0].members, ["alice", "bob"]);
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert!(parse_passwd("garbage\nroot:x:notanumber:0::/root:/bin/sh\n").is_empty());
    }
}
