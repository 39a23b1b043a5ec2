//! The files observer: answers needs from the target's files, read without
//! running anything on it.
//!
//! Live targets answer a plan's probes with one shell script. Where nothing
//! can run (an image file, a root filesystem, a container without a shell),
//! this observer answers the same needs from the target's files, as typed
//! [`Record`]s the resources judge as they judge the shell's parsed answers:
//! what is at a path from its metadata, content and checksums from its bytes,
//! a link's target, users and groups from `/etc/passwd` and `/etc/group`, the
//! packages from dpkg's status files (`status.d` too, as distroless images
//! keep it), apk's database and pacman's `desc` files, and a service's
//! enablement from unit and rc links. A need it cannot answer (`rpm`, a
//! process table) gets no record, and the check says why.

use crate::model::file::FileType;
use std::collections::HashMap;

use crate::backend::PathEntry;
use crate::resource::file::{Found, Stat};
use crate::resource::package::Db;
use crate::resource::service::OnDisk;
use crate::resource::user::{parse_group, parse_passwd};
use crate::resource::{Need, Record};

/// A target's files, as the observer reads them.
pub trait Files {
    /// The entry at `path` as `lstat` sees it (links on the way followed
    /// inside the target), with a regular file's first bytes; `None` when
    /// nothing is there.
    fn entry(&mut self, path: &str) -> Result<Option<PathEntry>, String>;
    /// The names in a directory (links followed); `None` when there is none.
    fn list(&mut self, dir: &str) -> Result<Option<Vec<String>>, String>;
    /// A whole regular file at a real path (no link on the way), up to
    /// `cap` bytes; a larger one is an error.
    fn whole(&mut self, path: &str, cap: usize) -> Result<Option<Vec<u8>>, String>;
}

/// A [`Backend`](crate::backend::Backend) read through its second door
/// ([`read_path`](crate::backend::Backend::read_path) and
/// [`list_path`](crate::backend::Backend::list_path)), each path once.
pub struct BackendFiles<'b> {
    backend: &'b dyn crate::backend::Backend,
    paths: HashMap<String, Result<Option<PathEntry>, String>>,
    dirs: HashMap<String, Result<Option<Vec<String>>, String>>,
    /// Reads that went to the backend (round trips, for a remote one).
    pub reads: u32,
}

impl<'b> BackendFiles<'b> {
    /// Reads through `backend`.
    pub fn new(backend: &'b dyn crate::backend::Backend) -> Self {
        BackendFiles {
            backend,
            paths: HashMap::new(),
            dirs: HashMap::new(),
            reads: 0,
        }
    }
}

impl Files for BackendFiles<'_> {
    fn entry(&mut self, path: &str) -> Result<Option<PathEntry>, String> {
        if !self.paths.contains_key(path) {
            self.reads += 1;
            let entry = self.backend.read_path(path).map_err(|e| e.to_string());
            self.paths.insert(path.to_string(), entry);
        }
        self.paths[path].clone()
    }

    fn whole(&mut self, path: &str, cap: usize) -> Result<Option<Vec<u8>>, String> {
        self.reads += 1;
        self.backend
            .read_whole(path, cap)
            .map_err(|e| e.to_string())
    }

    fn list(&mut self, dir: &str) -> Result<Option<Vec<String>>, String> {
        if !self.dirs.contains_key(dir) {
            self.reads += 1;
            let names = self.backend.list_path(dir).map_err(|e| e.to_string());
            self.dirs.insert(dir.to_string(), names);
        }
        self.dirs[dir].clone()
    }
}

/// A file's text, `""` when absent; an error when it cannot be read.
fn text(files: &mut dyn Files, path: &str) -> Result<String, String> {
    Ok(table_bytes(files, path)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default())
}

/// A regular file's whole content, links followed, up to `cap` bytes;
/// `None` when nothing is there. A larger file is the error `too_long`
/// makes of its size, something else at the path is an error too: nothing
/// is judged on a part of a file.
fn file_bytes(
    files: &mut dyn Files,
    path: &str,
    cap: usize,
    too_long: impl FnOnce(u64) -> String,
) -> Result<Option<Vec<u8>>, String> {
    match follow(files, path)? {
        (Some(e), _) if e.file_type != FileType::File => {
            Err(format!("{path} is a {}", e.file_type))
        }
        (Some(e), _) if e.size > cap as u64 => Err(too_long(e.size)),
        // Larger than the first read of a path: read it whole.
        (Some(e), _) if e.truncated => {
            let real = crate::backend::resolve_path(path, true, &mut |p| files.entry(p))?
                .ok_or_else(|| format!("{path} vanished while it was read"))?;
            files
                .whole(&real, cap)?
                .ok_or_else(|| format!("{path} vanished while it was read"))
                .map(Some)
        }
        (Some(e), _) => Ok(Some(e.content)),
        (None, _) => Ok(None),
    }
}

/// A database or table file (passwd, dpkg's status…), up to what a live
/// target's table probe keeps.
fn table_bytes(files: &mut dyn Files, path: &str) -> Result<Option<Vec<u8>>, String> {
    file_bytes(files, path, crate::probe::TABLE_CAP, |size| {
        format!(
            "{path} is {size} bytes, more than the {} infraspec reads of a table",
            crate::spec::yaml::show_size(crate::probe::TABLE_CAP as u64)
        )
    })
}

/// A user's (`user`) or group's name for an id, from the target's own
/// files; the number where it has none.
fn id_name(files: &mut dyn Files, user: bool, id: u64) -> String {
    let file = if user { "/etc/passwd" } else { "/etc/group" };
    text(files, file)
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2].parse() == Ok(id)).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| id.to_string())
}

/// Whether a path exists, links followed (`[ -e ]`), or is a link (`[ -h ]`).
fn present(files: &mut dyn Files, path: &str) -> Result<bool, String> {
    Ok(files.entry(path)?.is_some())
}

/// Follows links from `path` as `stat -L` does: the final entry, and whether
/// a link was on the way; `None` for a dangling link, a loop (as `test -e`
/// sees it: only that path is affected) or nothing. Each step resolves the
/// directories on the way inside the target as the kernel does (`..` after a
/// link is the parent of where the link leads, not a textual step back), so
/// every path a backend is asked for is a real one, with no `..`.
pub fn follow(files: &mut dyn Files, path: &str) -> Result<(Option<PathEntry>, bool), String> {
    let mut at = path.to_string();
    let mut link = false;
    for _ in 0..40 {
        let Some(real) = crate::backend::resolve_path(&at, false, &mut |p| files.entry(p))? else {
            return Ok((None, link));
        };
        match files.entry(&real)? {
            Some(e) if e.file_type == FileType::Symlink => {
                link = true;
                // A link whose target could not be read (the engine refused
                // it as a loop) leads nowhere.
                let Some(to) = e.link_target.clone() else {
                    return Ok((None, true));
                };
                at = if to.starts_with('/') {
                    to
                } else {
                    let dir = real.rsplit_once('/').map_or("", |(d, _)| d);
                    format!("{dir}/{to}")
                };
            }
            found => return Ok((found, link)),
        }
    }
    Ok((None, true))
}

/// The canonical path (`readlink -f`): every link resolved; an error when a
/// directory on the way is missing (GNU readlink fails there too).
fn real_path(files: &mut dyn Files, path: &str) -> Result<String, String> {
    crate::backend::resolve_path(path, true, &mut |p| files.entry(p))?
        .ok_or_else(|| format!("{path}: a directory on the way is missing"))
}

/// The installed packages of `pm` from its database: dpkg's status file and
/// the `status.d` files of distroless images, apk's database, pacman's
/// `desc` files. `None` where the database is not there.
fn packages(files: &mut dyn Files, pm: crate::facts::PackageManager) -> Result<Option<Db>, String> {
    use crate::facts::PackageManager as Pm;
    let mut db = Db::new(pm);
    match pm {
        Pm::Dpkg => {
            let mut texts = Vec::new();
            if let Some(bytes) = table_bytes(files, "/var/lib/dpkg/status")? {
                texts.push(String::from_utf8_lossy(&bytes).into_owned());
            }
            // Where status.d is there, it must be read: a package missing
            // from an unread directory would pass `installed: false`.
            let status_d = "/var/lib/dpkg/status.d";
            if follow(files, status_d)?.0.is_some() {
                let names = files.list(status_d)?.unwrap_or_default();
                for n in names {
                    texts.push(text(files, &format!("{status_d}/{n}"))?);
                }
            }
            if texts.is_empty() {
                return Ok(None);
            }
            for text in &texts {
                for stanza in text.split("\n\n") {
                    let field = |name: &str| {
                        stanza.lines().find_map(|l| {
                            l.strip_prefix(name)
                                .and_then(|r| r.strip_prefix(':'))
                                .map(str::trim)
                        })
                    };
                    let Some(name) = field("Package") else {
                        continue;
                    };
                    let arch = field("Architecture").unwrap_or_default();
                    let qualified = if field("Multi-Arch") == Some("same") && !arch.is_empty() {
                        format!("{name}:{arch}")
                    } else {
                        name.to_string()
                    };
                    // Distroless status.d files carry no Status: they list
                    // what is installed.
                    db.add_dpkg(
                        &qualified,
                        field("Status").unwrap_or("install ok installed"),
                        field("Version").unwrap_or_default(),
                        arch,
                    );
                }
            }
        }
        Pm::Apk => {
            let Some(bytes) = table_bytes(files, "/lib/apk/db/installed")? else {
                return Ok(None);
            };
            db = crate::resource::package::parse(pm, &String::from_utf8_lossy(&bytes));
        }
        Pm::Pacman => {
            let Some(dirs) = files.list("/var/lib/pacman/local")? else {
                return Ok(None);
            };
            for d in dirs {
                let desc = text(files, &format!("/var/lib/pacman/local/{d}/desc"))?;
                let value = |key: &str| {
                    let mut lines = desc.lines();
                    lines.find(|l| *l == key)?;
                    lines.next().map(str::to_string)
                };
                if let (Some(name), Some(version)) = (value("%NAME%"), value("%VERSION%")) {
                    db.insert(&name, &version);
                }
            }
        }
        // rpm's database is a Berkeley DB or SQLite file: not read here.
        Pm::Rpm => return Ok(None),
    }
    Ok(Some(db))
}

/// What the disk says of a service's enablement: the same paths as the
/// shell's enablement script.
fn on_disk(files: &mut dyn Files, name: &str) -> Result<OnDisk, String> {
    let unit = crate::resource::service::unit_name(name);
    let mut d = OnDisk::default();
    let system = |d: &mut OnDisk, s: &str| {
        if !d.systems.iter().any(|x| x == s) {
            d.systems.push(s.to_string());
        }
    };
    let is_dir = |files: &mut dyn Files, d: &str| -> Result<bool, String> {
        Ok(matches!(follow(files, d)?.0, Some(e) if e.file_type == FileType::Directory))
    };
    for dir in [
        "/etc/systemd/system",
        "/run/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
    ] {
        if is_dir(files, dir)? {
            system(&mut d, "systemd");
        }
        if present(files, &format!("{dir}/{unit}"))? {
            d.known = true;
        }
    }
    if let Some(e) = files.entry(&format!("/etc/systemd/system/{unit}"))? {
        if e.link_target.as_deref() == Some("/dev/null") {
            d.masked = true;
        }
    }
    for base in [
        "/etc/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
    ] {
        for w in files.list(base)?.unwrap_or_default() {
            if w.ends_with(".wants") {
                let l = format!("{base}/{w}/{unit}");
                if present(files, &l)? {
                    d.links.push(l);
                }
            }
        }
    }
    if is_dir(files, "/etc/init.d")? {
        system(&mut d, "sysv");
    }
    if follow(files, &format!("/etc/init.d/{name}"))?.0.is_some() {
        d.known = true;
    }
    for level in 2..=5 {
        let dir = format!("/etc/rc{level}.d");
        for l in files.list(&dir)?.unwrap_or_default() {
            let rest = l.strip_prefix('S').unwrap_or_default();
            let (digits, tail) = rest.split_at(rest.len().min(2));
            if digits.len() == 2 && digits.chars().all(|c| c.is_ascii_digit()) && tail == name {
                d.links.push(format!("{dir}/{l}"));
            }
        }
    }
    if is_dir(files, "/etc/runlevels")? {
        system(&mut d, "openrc");
        for level in files.list("/etc/runlevels")?.unwrap_or_default() {
            let l = format!("/etc/runlevels/{level}/{name}");
            if present(files, &l)? {
                d.links.push(l);
            }
        }
    }
    Ok(d)
}

/// A user's groups (`id -Gn`: every group, the primary first; `id -gn`
/// with `all` false); `None` for no such user.
fn id_groups(files: &mut dyn Files, name: &str, all: bool) -> Result<Option<Vec<String>>, String> {
    let passwd = text(files, "/etc/passwd")?;
    let Some(gid) = parse_passwd(&passwd)
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| p.gid)
    else {
        return Ok(None);
    };
    let groups = parse_group(&text(files, "/etc/group")?);
    let primary = groups
        .iter()
        .find(|g| g.gid == gid)
        .map_or_else(|| gid.to_string(), |g| g.name.clone());
    let mut names = vec![primary];
    if all {
        for g in &groups {
            if g.members.iter().any(|m| m == name) && !names.contains(&g.name) {
                names.push(g.name.clone());
            }
        }
    }
    Ok(Some(names))
}

/// What is at `path`, as `stat -L` sees it.
fn stat(files: &mut dyn Files, path: &str) -> Result<Found, String> {
    Ok(match follow(files, path)? {
        (Some(e), link) => {
            // What a link points to was followed; a type no spec names
            // reads as a file.
            let file_type = match e.file_type {
                FileType::Symlink | FileType::Unknown => FileType::File,
                t => t,
            };
            let id =
                |n: u64| u32::try_from(n).map_err(|_| format!("{path}: id {n} is out of range"));
            Found::Exists(Stat {
                file_type,
                link,
                mtime: e.mtime,
                // Access as the checking user needs a process to ask.
                access: None,
                mode: e.mode & 0o7777,
                uid: id(e.uid)?,
                gid: id(e.gid)?,
                size: e.size,
                owner: id_name(files, true, e.uid),
                group: id_name(files, false, e.gid),
            })
        }
        (None, true) => Found::Dangling,
        (None, false) => Found::Absent,
    })
}

/// Answers `need` from `files`; `None` for a need that files cannot answer.
pub fn answer(
    need: &Need,
    facts: &crate::facts::Facts,
    files: &mut dyn Files,
) -> Option<Result<Record, String>> {
    let record = match need {
        Need::Stat(path) => stat(files, path).map(Record::Stat),
        Need::Content(path, cap) => file_bytes(files, path, *cap, |size| {
            crate::resource::too_long(&format!("content of {path}"), *cap, size)
        })
        .and_then(|b| b.ok_or_else(|| format!("{path}: No such file or directory")))
        .map(Record::Bytes),
        Need::Sha256(path) | Need::Md5(path) => {
            use sha2::Digest;
            let cap = crate::probe::TABLE_CAP;
            file_bytes(files, path, cap, |size| {
                format!(
                    "{path} is {size} bytes: where nothing runs, checksums are computed of files up to {}",
                    crate::spec::yaml::show_size(cap as u64)
                )
            })
            .and_then(|b| b.ok_or_else(|| format!("{path}: No such file or directory")))
            .map(|bytes| {
                let digest: Vec<u8> = if matches!(need, Need::Sha256(_)) {
                    sha2::Sha256::digest(&bytes).to_vec()
                } else {
                    md5::Md5::digest(&bytes).to_vec()
                };
                Record::Text(digest.iter().map(|b| format!("{b:02x}")).collect())
            })
        }
        Need::LinkTarget(path) => match files.entry(path) {
            Ok(Some(e)) => match e.link_target {
                Some(t) => Ok(Record::Text(t)),
                None if e.file_type == FileType::Symlink => Err(format!(
                    "{path}: the link's target could not be read (it loops)"
                )),
                None => Err(format!("{path} is a {}, not a symlink", e.file_type)),
            },
            Ok(None) => Err(format!("{path}: No such file or directory")),
            Err(e) => Err(e),
        },
        Need::RealPath(path) => real_path(files, path).map(Record::Text),
        Need::Passwd(_) | Need::PasswdAll => {
            text(files, "/etc/passwd").map(|t| Record::Passwd(parse_passwd(&t)))
        }
        Need::GroupEntry(_) => text(files, "/etc/group").map(|t| Record::Groups(parse_group(&t))),
        Need::UserGroups(name) | Need::PrimaryGroup(name) => {
            match id_groups(files, name, matches!(need, Need::UserGroups(_))) {
                Ok(Some(names)) => Ok(Record::Names(names)),
                Ok(None) => Err(format!("no such user {name:?} in /etc/passwd")),
                Err(e) => Err(e),
            }
        }
        Need::Packages => {
            let pm = facts.package_manager?;
            match packages(files, pm) {
                Ok(Some(db)) => Ok(Record::Packages(db)),
                Ok(None) => Err(format!("no {} database in the target's files", pm.as_str())),
                Err(e) => Err(e),
            }
        }
        Need::ServiceEnabledOnDisk(name) => on_disk(files, name).map(Record::OnDisk),
        _ => return None,
    };
    Some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files from a list: (path, type, content or link target).
    struct Fake(Vec<(&'static str, &'static str, &'static str)>);

    impl Files for Fake {
        fn entry(&mut self, path: &str) -> Result<Option<PathEntry>, String> {
            // Directories above listed paths are there, as in a real tree.
            let implied = path == "/"
                || self
                    .0
                    .iter()
                    .any(|(p, _, _)| p.starts_with(&format!("{path}/")));
            if implied && !self.0.iter().any(|(p, _, _)| *p == path) {
                return Ok(Some(PathEntry {
                    file_type: FileType::Directory,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                    size: 0,
                    mtime: 0,
                    link_target: None,
                    content: vec![],
                    truncated: false,
                }));
            }
            Ok(self
                .0
                .iter()
                .find(|(p, _, _)| *p == path)
                .map(|(_, t, c)| PathEntry {
                    file_type: FileType::named(t).unwrap_or(FileType::Unknown),
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                    size: c.len() as u64,
                    mtime: 0,
                    link_target: (*t == "symlink").then(|| c.to_string()),
                    content: if *t == "file" {
                        c.as_bytes().to_vec()
                    } else {
                        vec![]
                    },
                    truncated: false,
                }))
        }
        fn whole(&mut self, path: &str, _cap: usize) -> Result<Option<Vec<u8>>, String> {
            Ok(self.entry(path)?.map(|e| e.content))
        }

        fn list(&mut self, dir: &str) -> Result<Option<Vec<String>>, String> {
            let prefix = format!("{dir}/");
            let names: Vec<String> = self
                .0
                .iter()
                .filter_map(|(p, _, _)| p.strip_prefix(&prefix))
                .filter(|rest| !rest.contains('/'))
                .map(str::to_string)
                .collect();
            Ok(self
                .0
                .iter()
                .any(|(p, t, _)| *p == dir && *t == "directory")
                .then_some(names))
        }
    }

    fn dpkg_facts() -> crate::facts::Facts {
        let mut facts = crate::facts::from_raw(&Default::default());
        facts.package_manager = Some(crate::facts::PackageManager::Dpkg);
        facts
    }

    fn answered(need: Need, files: &mut Fake) -> Result<Record, String> {
        let facts = dpkg_facts();
        answer(&need, &facts, files).expect("answered")
    }

    #[test]
    fn dpkg_status_and_distroless_status_d_are_read_as_dpkg_query_lists() {
        let mut files = Fake(vec![
            ("/var/lib/dpkg/status", "file", "Package: libc6\nStatus: install ok installed\nMulti-Arch: same\nArchitecture: amd64\nVersion: 2.36-9\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n"),
            ("/var/lib/dpkg/status.d", "directory", ""),
            ("/var/lib/dpkg/status.d/tzdata", "file", "Package: tzdata\nVersion: 2024a-0\nArchitecture: all\n"),
        ]);
        let Ok(Record::Packages(db)) = answered(Need::Packages, &mut files) else {
            panic!("no package list");
        };
        let version = |n: &str| db.packages.get(n).map(|v| v[0].as_str());
        assert_eq!(version("libc6"), Some("2.36-9"));
        assert_eq!(version("libc6:amd64"), Some("2.36-9"));
        assert_eq!(version("tzdata"), Some("2024a-0"));
        assert_eq!(version("tzdata:all"), Some("2024a-0"));
        assert_eq!(version("gone"), None);
    }

    /// Issue 26, case 17: a loop makes only its own path absent (as `test
    /// -e` says), and `..` after a link steps back from where the link leads.
    #[test]
    fn a_loop_is_absent_alone_and_dotdot_follows_the_kernel() {
        let mut files = Fake(vec![
            ("/loop", "symlink", "/loop"),
            ("/a", "symlink", "b"),
            ("/b", "symlink", "a"),
            ("/l", "symlink", "/d/sub"),
            ("/d/sub/file.txt", "file", "hello"),
            ("/etc/hostname", "file", "box"),
        ]);
        let found: Vec<Found> = [
            "/loop",
            "/a",
            "/etc/hostname",
            "/l/../sub/file.txt",
            "/sub/file.txt",
            "/loop/x",
        ]
        .into_iter()
        .map(|p| match answered(Need::Stat(p.into()), &mut files) {
            Ok(Record::Stat(f)) => f,
            other => panic!("{p}: {other:?}"),
        })
        .collect();
        assert_eq!(found[0], Found::Dangling);
        assert_eq!(found[1], Found::Dangling);
        assert!(matches!(&found[2], Found::Exists(st) if !st.link && st.size == 3));
        assert!(
            matches!(&found[3], Found::Exists(st) if !st.link && st.file_type == FileType::File)
        );
        assert_eq!(found[4], Found::Absent);
        assert_eq!(found[5], Found::Absent);
    }

    #[test]
    fn enablement_from_unit_and_rc_links() {
        let mut files = Fake(vec![
            ("/etc/systemd/system", "directory", ""),
            (
                "/etc/systemd/system/multi-user.target.wants",
                "directory",
                "",
            ),
            (
                "/etc/systemd/system/multi-user.target.wants/nginx.service",
                "symlink",
                "/lib/systemd/system/nginx.service",
            ),
            ("/lib/systemd/system", "directory", ""),
            ("/lib/systemd/system/nginx.service", "file", "[Unit]\n"),
            ("/etc/init.d", "directory", ""),
            ("/etc/init.d/nginx", "file", "#!/bin/sh\n"),
            ("/etc/rc2.d", "directory", ""),
            ("/etc/rc2.d/S01nginx", "symlink", "../init.d/nginx"),
            ("/etc/rc2.d/S01nginxx", "symlink", "../init.d/nginxx"),
        ]);
        let Ok(Record::OnDisk(d)) =
            answered(Need::ServiceEnabledOnDisk("nginx".into()), &mut files)
        else {
            panic!("no enablement");
        };
        assert!(d.known && !d.masked, "{d:?}");
        assert_eq!(d.systems, vec!["systemd".to_string(), "sysv".to_string()]);
        assert_eq!(
            d.links,
            vec![
                "/etc/systemd/system/multi-user.target.wants/nginx.service".to_string(),
                "/etc/rc2.d/S01nginx".to_string()
            ]
        );
    }

    #[test]
    fn users_groups_and_real_paths() {
        let mut files = Fake(vec![
            (
                "/etc/passwd",
                "file",
                "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/usr/sbin/nologin\n",
            ),
            (
                "/etc/group",
                "file",
                "root:x:0:\nwww-data:x:33:\nadm:x:4:web\n",
            ),
            ("/usr", "directory", ""),
            ("/usr/bin", "directory", ""),
            ("/usr/bin/tool", "file", "x"),
            ("/bin", "symlink", "usr/bin"),
        ]);
        let names = |v: &[&str]| Ok(Record::Names(v.iter().map(|s| s.to_string()).collect()));
        assert_eq!(
            answered(Need::UserGroups("web".into()), &mut files),
            names(&["www-data", "adm"])
        );
        assert_eq!(
            answered(Need::PrimaryGroup("web".into()), &mut files),
            names(&["www-data"])
        );
        assert!(answered(Need::UserGroups("nobody".into()), &mut files).is_err());
        let real = |p: &str, files: &mut Fake| answered(Need::RealPath(p.into()), files);
        assert_eq!(
            real("/bin/tool", &mut files),
            Ok(Record::Text("/usr/bin/tool".into()))
        );
        // A file is no directory on the way, as GNU readlink -f has it; a
        // missing last component is fine.
        assert!(real("/bin/tool/x", &mut files).is_err());
        assert_eq!(
            real("/bin/new", &mut files),
            Ok(Record::Text("/usr/bin/new".into()))
        );
        let facts = dpkg_facts();
        assert!(answer(&Need::Processes, &facts, &mut files).is_none());
    }

    #[test]
    fn content_is_whole_or_an_error_and_digests_are_of_the_whole_file() {
        let mut files = Fake(vec![("/etc/motd", "file", "hello\n")]);
        assert_eq!(
            answered(Need::Content("/etc/motd".into(), 6), &mut files),
            Ok(Record::Bytes(b"hello\n".to_vec()))
        );
        let cut = answered(Need::Content("/etc/motd".into(), 5), &mut files).unwrap_err();
        assert!(cut.contains("max_output"), "{cut}");
        assert_eq!(
            answered(Need::Sha256("/etc/motd".into()), &mut files),
            Ok(Record::Text(
                "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03".into()
            ))
        );
        assert!(answered(Need::Md5("/nothing".into()), &mut files).is_err());
    }

    #[test]
    fn databases_behind_links_are_read_and_unread_ones_are_errors() {
        let mut files = Fake(vec![
            ("/etc", "directory", ""),
            ("/etc/passwd", "symlink", "/usr/etc/passwd"),
            ("/usr", "directory", ""),
            ("/usr/etc", "directory", ""),
            ("/usr/etc/passwd", "file", "web:x:33:33::/var/www:/bin/sh\n"),
            ("/var/lib/dpkg/status.d", "directory", ""),
        ]);
        let Ok(Record::Passwd(entries)) = answered(Need::Passwd("web".into()), &mut files) else {
            panic!("no passwd");
        };
        assert_eq!(entries[0].uid, 33);
        // A status.d that cannot be listed is an error, not "no packages".
        struct Unlistable(Fake);
        impl Files for Unlistable {
            fn entry(&mut self, path: &str) -> Result<Option<PathEntry>, String> {
                self.0.entry(path)
            }
            fn list(&mut self, _: &str) -> Result<Option<Vec<String>>, String> {
                Err("no listing here".into())
            }
            fn whole(&mut self, path: &str, cap: usize) -> Result<Option<Vec<u8>>, String> {
                self.0.whole(path, cap)
            }
        }
        let mut unlistable = Unlistable(files);
        let facts = dpkg_facts();
        let err = answer(&Need::Packages, &facts, &mut unlistable).unwrap();
        assert!(err.unwrap_err().contains("no listing"));
    }
}
