//! `file`: existence, type, mode, ownership, size, content, sha256, link
//! target, canonical path.
//!
//! Symlinks are seen as `test` and `stat -L` see them (as serverspec and
//! testinfra do): `exists`, `type: file|directory`, `mode`, `owner`, `group`
//! and `size` are those of what the link points to, and a link that points
//! nowhere does not exist; `type: symlink` is true for a link; `link_target`
//! is readlink, `resolves_to` the canonical path.
//!
//! One `stat` answers for every path of a batch: the script first tests each
//! path with the shell's own `test` (no process), then runs a single `stat -L`
//! on the ones that exist. Content, checksums and link targets are one small
//! process per file, only for the checks that ask for them.

use super::{Early, Need, Observations, Observed};
use crate::matcher::Value;
use crate::model::file::FileType;
use crate::probe::Probe;
use crate::spec::Property;

/// The result of `stat -L` on a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The type of the file, or of what a link points to.
    pub file_type: FileType,
    /// The path itself is a symlink (the rest describes its target).
    pub link: bool,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// `test -r`, `-w`, `-x` as the checking user; `None` where no shell
    /// could ask.
    pub access: Option<[bool; 3]>,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub owner: String,
    pub group: String,
}

/// Prints a line with one flag per path: `1` it exists, `3` it is a symlink to
/// something that exists, `4` a symlink that points nowhere, `0` it does not
/// exist, `2` the checking user may not search a directory on its way, so
/// whether it exists cannot be told (`test -e` says "no" to both). Then a
/// line with three flags per path, `test -r`, `-w` and `-x` as the checking
/// user (`1`/`0`). Then one `stat -L` line per path flagged 1 or 3, in order.
/// Paths are positional parameters: data, not code.
pub(crate) const STAT: &str = r#"a=
for f do
  shift
  x=
  if [ -r "$f" ]; then x=1; else x=0; fi
  if [ -w "$f" ]; then x=${x}1; else x=${x}0; fi
  if [ -x "$f" ]; then x=${x}1; else x=${x}0; fi
  a=$a$x
  if [ -e "$f" ]; then set -- "$@" "$f"; if [ -h "$f" ]; then printf 3; else printf 1; fi; continue; fi
  if [ -h "$f" ]; then printf 4; continue; fi
  case $f in /*) d=; r=${f#/};; *) d=.; r=$f;; esac
  x=0
  while :; do
    case $r in */*) ;; *) break;; esac
    d="$d/${r%%/*}"; r=${r#*/}
    if [ -d "$d" ]; then [ -x "$d" ] || { x=2; break; }; else break; fi
  done
  printf "$x"
done
echo
echo "$a"
[ "$#" -eq 0 ] || exec stat -L -c '%f %u %g %s %Y %U:%G' -- "$@""#;

pub fn stat_probe<'a>(paths: impl Iterator<Item = &'a str>) -> Probe {
    let paths: Vec<String> = paths.map(str::to_string).collect();
    let shown = format!(
        "stat -L -c '%f %u %g %s %Y %U:%G' -- {}",
        paths
            .iter()
            .map(|p| crate::probe::display_word(p))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Probe::script(STAT, paths, shown)
}

/// Parses one `stat -c '%f %u %g %s %Y %U:%G'` line. Owner and group names
/// may hold spaces (`domain users` on SSSD and AD hosts) but never a colon
/// (the passwd and group databases' separator): the five numbers come first,
/// then the names split at the colon.
pub fn parse_stat_line(line: &str) -> Option<Stat> {
    let f: Vec<&str> = line.splitn(6, ' ').collect();
    let [raw, uid, gid, size, mtime, names] = f[..] else {
        return None;
    };
    let (owner, group) = names.split_once(':')?;
    let raw = u32::from_str_radix(raw, 16).ok()?;
    Some(Stat {
        file_type: FileType::from_mode(raw),
        link: false,
        mtime: mtime.parse().ok()?,
        access: None,
        mode: raw & 0o7777,
        uid: uid.parse().ok()?,
        gid: gid.parse().ok()?,
        size: size.parse().ok()?,
        owner: owner.to_string(),
        group: group.to_string(),
    })
}

/// What the stat probe found at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Exists(Stat),
    /// A symlink that points nowhere: it does not exist, as `test -e` says.
    Dangling,
    Absent,
    /// A directory on the way may not be searched by the checking user.
    Denied,
}

/// Parses the whole output of [`stat_probe`] for `paths`.
pub fn parse_stats(text: &str, paths: &[String]) -> Result<Vec<(String, Found)>, String> {
    let mut lines = text.lines();
    let flags = lines.next().unwrap_or_default();
    let access = lines.next().unwrap_or_default().as_bytes();
    if flags.len() != paths.len() || !flags.bytes().all(|b| matches!(b, b'0'..=b'4')) {
        return Err(format!("unexpected output from the stat probe: {flags:?}"));
    }
    if access.len() != 3 * paths.len() || !access.iter().all(|b| matches!(b, b'0' | b'1' | b'?')) {
        return Err(format!(
            "unexpected output from the stat probe: {:?}",
            String::from_utf8_lossy(access)
        ));
    }
    let mut result = Vec::with_capacity(paths.len());
    for (i, (path, flag)) in paths.iter().zip(flags.bytes()).enumerate() {
        let rwx = &access[3 * i..3 * i + 3];
        let found = match flag {
            b'1' | b'3' => {
                let line = lines
                    .next()
                    .ok_or("a file disappeared while it was being observed")?;
                let mut st = parse_stat_line(line)
                    .ok_or_else(|| format!("unexpected stat output {line:?}"))?;
                st.link = flag == b'3';
                st.access = (!rwx.contains(&b'?'))
                    .then(|| [rwx[0] == b'1', rwx[1] == b'1', rwx[2] == b'1']);
                Found::Exists(st)
            }
            b'2' => Found::Denied,
            b'4' => Found::Dangling,
            _ => Found::Absent,
        };
        result.push((path.clone(), found));
    }
    Ok(result)
}

/// A file's content, read on the target up to `cap` bytes and one more: the
/// one more tells that the file is longer than what a check may judge.
pub fn content_probe(path: &str, cap: usize) -> Probe {
    Probe::argv([
        "head".to_string(),
        "-c".into(),
        (cap + 1).to_string(),
        "--".into(),
        path.to_string(),
    ])
    .with_cap(cap)
}

pub fn needs(path: &str, property: Property, cap: usize) -> Vec<Need> {
    let p = path.to_string();
    match property {
        Property::Content => vec![Need::Stat(p.clone()), Need::Content(p, cap)],
        Property::Sha256 => vec![Need::Stat(p.clone()), Need::Sha256(p)],
        Property::LinkTarget => vec![Need::Stat(p.clone()), Need::LinkTarget(p)],
        Property::ResolvesTo => vec![Need::Stat(p.clone()), Need::RealPath(p)],
        Property::Md5 => vec![Need::Stat(p.clone()), Need::Md5(p)],
        Property::Json => vec![Need::Stat(p.clone()), Need::Content(p, cap)],
        _ => vec![Need::Stat(p)],
    }
}

pub fn observe(
    obs: &Observations<'_>,
    path: &str,
    property: Property,
    cap: usize,
    json_path: Option<&super::document::JsonPath>,
) -> Result<Observed, Early> {
    let through_link = |value: Value| Observed {
        value,
        note: Some(
            "judged through the symlink, at what it points to (as test and stat -L do)".into(),
        ),
    };
    let st = match (obs.stat(path)?, property) {
        (Found::Exists(st), Property::Exists) if st.link => {
            return Ok(through_link(Value::Bool(true)))
        }
        (Found::Exists(_), Property::Exists) => return Ok(Value::Bool(true).into()),
        (Found::Dangling, Property::Exists) => {
            return Ok(Observed {
                value: Value::Bool(false),
                note: Some(
                    "a symlink that points nowhere, which does not exist (as test -e says)".into(),
                ),
            })
        }
        (_, Property::Exists) => return Ok(Value::Bool(false).into()),
        (Found::Dangling, Property::Type) => {
            return Ok(Value::FileType {
                target: None,
                link: true,
            }
            .into())
        }
        // A dangling link: only where it points can be read.
        (Found::Dangling, Property::LinkTarget) => {
            return Ok(Value::Text(obs.line(&Need::LinkTarget(path.to_string()), 0)?).into());
        }
        (Found::Dangling, _) => {
            return Err(Early::Fail(
                "a symlink that points nowhere, so it does not exist".into(),
            ))
        }
        (Found::Exists(st), _) => st,
        _ => return Err(Early::Fail("does not exist".into())),
    };
    let judged = |value: Value| {
        if st.link {
            through_link(value)
        } else {
            value.into()
        }
    };
    let content = || {
        if st.file_type == FileType::Directory {
            return Err(Early::Fail("a directory, which has no content".into()));
        }
        Ok(obs.content(path, cap)?)
    };
    Ok(match property {
        Property::Type => Value::FileType {
            target: Some(st.file_type),
            link: st.link,
        }
        .into(),
        Property::Mode => judged(Value::Mode(st.mode)),
        Property::Owner => judged(Value::Named {
            name: st.owner.clone(),
            id: st.uid.into(),
        }),
        Property::Group => judged(Value::Named {
            name: st.group.clone(),
            id: st.gid.into(),
        }),
        Property::Size => judged(Value::Int(st.size as i64)),
        Property::Uid => judged(Value::Int(st.uid.into())),
        Property::Gid => judged(Value::Int(st.gid.into())),
        Property::Mtime => judged(Value::Int(st.mtime)),
        Property::Readable | Property::Writable | Property::Executable => {
            let access = st.access.ok_or_else(|| {
                Early::Error(format!(
                    "{property} is asked with test(1) as the checking user, and this target has no shell to ask"
                ))
            })?;
            let i = match property {
                Property::Readable => 0,
                Property::Writable => 1,
                _ => 2,
            };
            Observed {
                value: Value::Bool(access[i]),
                note: Some(format!(
                    "as {} (test -{})",
                    obs.facts.checking_user(),
                    ['r', 'w', 'x'][i]
                )),
            }
        }
        Property::Content => Value::Text(String::from_utf8_lossy(content()?).into_owned()).into(),
        Property::Json => {
            let yaml = path.ends_with(".yaml") || path.ends_with(".yml");
            let doc = super::document::parse(content()?, yaml)
                .map_err(|e| Early::Fail(format!("content that is {e}")))?;
            super::document::value_at(&doc, json_path)?.into()
        }
        Property::Sha256 => Value::Text(obs.line(&Need::Sha256(path.to_string()), 64)?).into(),
        Property::Md5 => Value::Text(obs.line(&Need::Md5(path.to_string()), 32)?).into(),
        Property::LinkTarget => {
            if !st.link {
                return Err(Early::Fail(format!("a {}, not a symlink", st.file_type)));
            }
            Value::Text(obs.line(&Need::LinkTarget(path.to_string()), 0)?).into()
        }
        Property::ResolvesTo => Value::Text(obs.line(&Need::RealPath(path.to_string()), 0)?).into(),
        other => return Err(Early::Error(format!("file has no property {other}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

    impl Found {
        fn as_ref(&self) -> Option<&Stat> {
            match self {
                Found::Exists(st) => Some(st),
                _ => None,
            }
        }
        fn is_none(&self) -> bool {
            self.as_ref().is_none()
        }
    }

    #[test]
    fn a_path_behind_a_directory_that_cannot_be_searched_is_denied_not_absent() {
        let paths = vec!["/root/.bashrc".to_string(), "/nope".to_string()];
        let stats = parse_stats("20\n000000\n", &paths).unwrap();
        assert_eq!(stats[0].1, Found::Denied);
        assert_eq!(stats[1].1, Found::Absent);
        let stats = parse_stats("4\n000\n", &paths[..1]).unwrap();
        assert_eq!(stats[0].1, Found::Dangling);
    }

    #[test]
    fn stat_output_from_debian_12() {
        let text = String::from_utf8(fixture("files/stat-debian-12.txt")).unwrap();
        let paths: Vec<String> = ["/etc/passwd", "/nonexistent", "/etc", "/bin", "/etc/shadow"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let stats = parse_stats(&text, &paths).unwrap();
        let passwd = stats[0].1.as_ref().unwrap();
        assert_eq!(
            (passwd.file_type, passwd.mode, passwd.owner.as_str()),
            (FileType::File, 0o644, "root")
        );
        assert!(stats[1].1.is_none());
        assert_eq!(stats[2].1.as_ref().unwrap().file_type, FileType::Directory);
        // /bin is a link to usr/bin (usrmerge): a directory, through a link.
        let bin = stats[3].1.as_ref().unwrap();
        assert_eq!((bin.file_type, bin.link), (FileType::Directory, true));
        // Read as root: everything readable and writable, /etc searchable.
        assert_eq!(passwd.access, Some([true, true, false]));
        assert_eq!(
            stats[2].1.as_ref().unwrap().access,
            Some([true, true, true])
        );
        assert!(passwd.mtime > 1_600_000_000);
        let shadow = stats[4].1.as_ref().unwrap();
        assert_eq!((shadow.mode, shadow.group.as_str()), (0o640, "shadow"));
    }

    #[test]
    fn busybox_stat_output_from_alpine() {
        let st = parse_stat_line("41ed 0 0 4096 1700000000 root:root").unwrap();
        assert_eq!((st.file_type, st.mode), (FileType::Directory, 0o755));
        let sticky = parse_stat_line("43ff 0 0 4096 1700000000 root:root").unwrap();
        assert_eq!(sticky.mode, 0o1777);
        // Names with spaces, as SSSD and AD give them.
        let ad = parse_stat_line("81a4 1215 513 10 1700000000 jane doe:domain users").unwrap();
        assert_eq!(
            (ad.owner.as_str(), ad.group.as_str(), ad.gid),
            ("jane doe", "domain users", 513)
        );
        assert_eq!(parse_stat_line("81a4 0 0 10 1700000000 root root"), None);
    }

    #[test]
    fn a_file_that_vanishes_mid_probe_is_an_error() {
        let paths = vec!["/a".to_string(), "/b".to_string()];
        assert!(parse_stats("11\n110110\n81a4 0 0 1 0 root root\n", &paths).is_err());
        assert!(parse_stats("garbage", &paths).is_err());
    }
}
