//! The filesystem observer: answers probes from files read without running
//! anything on the target.
//!
//! Live targets answer a plan's probes with one shell script. Where nothing
//! can run (an image file, a root filesystem, a container without a shell),
//! this observer answers the same probes from the target's files, printing
//! what the command would have printed, so that one parser per need reads
//! both: `stat` from the path's metadata, `cat`/`sha256sum`/`md5sum` from its
//! bytes, `readlink` from its link, `getent` and `id` from `/etc/passwd` and
//! `/etc/group`, `dpkg-query` from dpkg's status files (`status.d` too, as
//! distroless images keep it), apk's database as it is, pacman's from its
//! `desc` files, and a service's enablement from unit and rc links. A probe
//! it cannot answer (`rpm`, a process table) gets `None`, and the check says
//! so.

use crate::model::file::FileType;
use std::collections::HashMap;

use crate::backend::PathEntry;
use crate::probe::{Probe, ProbeOutput};

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
    Ok(file_bytes(files, path)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default())
}

/// A regular file's whole content, links followed; `None` when nothing is
/// there. A file larger than what is read, or something else at the path,
/// is an error: a database is never judged on a part of it.
fn file_bytes(files: &mut dyn Files, path: &str) -> Result<Option<Vec<u8>>, String> {
    match follow(files, path)? {
        (Some(e), _) if e.file_type != FileType::File => {
            Err(format!("{path} is a {}", e.file_type))
        }
        // Larger than a file check reads: read it whole, up to what a live
        // target's database probe keeps.
        (Some(e), _) if e.truncated => {
            let real = crate::backend::resolve_path(path, true, &mut |p| files.entry(p))?
                .ok_or_else(|| format!("{path} vanished while it was read"))?;
            files
                .whole(&real, crate::probe::TABLE_CAP)?
                .ok_or_else(|| format!("{path} vanished while it was read"))
                .map(Some)
        }
        (Some(e), _) => Ok(Some(e.content)),
        (None, _) => Ok(None),
    }
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

/// The canonical path (`readlink -f`): every link resolved; an error (with
/// nothing to say, as GNU readlink) when a directory on the way is missing.
fn real_path(files: &mut dyn Files, path: &str) -> Result<String, String> {
    crate::backend::resolve_path(path, true, &mut |p| files.entry(p))?.ok_or_else(String::new)
}

/// `dpkg-query -W -f '${binary:Package}\t${Status}\t${Version}\t${Architecture}\n'`
/// from dpkg's status file and the `status.d` files of distroless images.
fn dpkg_list(files: &mut dyn Files) -> Result<Option<String>, String> {
    let mut texts = Vec::new();
    if let Some(bytes) = file_bytes(files, "/var/lib/dpkg/status")? {
        texts.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    // Where status.d is there, it must be read: a package missing from an
    // unread directory would pass `installed: false`.
    let status_d = "/var/lib/dpkg/status.d";
    if follow(files, status_d)?.0.is_some() {
        let names = files.list(status_d)?.unwrap_or_default();
        for n in names {
            texts.push(text(files, &format!("/var/lib/dpkg/status.d/{n}"))?);
        }
    }
    if texts.is_empty() {
        return Ok(None);
    }
    let mut out = String::new();
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
            // Distroless status.d files carry no Status: they list what is
            // installed.
            let status = field("Status").unwrap_or("install ok installed");
            let arch = field("Architecture").unwrap_or_default();
            let shown = if field("Multi-Arch") == Some("same") && !arch.is_empty() {
                format!("{name}:{arch}")
            } else {
                name.to_string()
            };
            out.push_str(&format!(
                "{shown}\t{status}\t{}\t{arch}\n",
                field("Version").unwrap_or_default()
            ));
        }
    }
    Ok(Some(out))
}

/// `pacman -Q` from pacman's local database.
fn pacman_list(files: &mut dyn Files) -> Result<Option<String>, String> {
    let Some(dirs) = files.list("/var/lib/pacman/local")? else {
        return Ok(None);
    };
    let mut out = String::new();
    for d in dirs {
        let desc = text(files, &format!("/var/lib/pacman/local/{d}/desc"))?;
        let value = |key: &str| {
            let mut lines = desc.lines();
            lines.find(|l| *l == key)?;
            lines.next().map(str::to_string)
        };
        if let (Some(name), Some(version)) = (value("%NAME%"), value("%VERSION%")) {
            out.push_str(&format!("{name} {version}\n"));
        }
    }
    Ok(Some(out))
}

/// What the enablement script prints, from the same paths.
fn enabled_on_disk(files: &mut dyn Files, name: &str, unit: &str) -> Result<String, String> {
    let mut out = String::new();
    let is_dir = |files: &mut dyn Files, d: &str| -> Result<bool, String> {
        Ok(matches!(follow(files, d)?.0, Some(e) if e.file_type == FileType::Directory))
    };
    for d in [
        "/etc/systemd/system",
        "/run/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
    ] {
        if is_dir(files, d)? {
            out.push_str("dir systemd\n");
        }
        if present(files, &format!("{d}/{unit}"))? {
            out.push_str(&format!("unit {d}/{unit}\n"));
        }
    }
    if let Some(e) = files.entry(&format!("/etc/systemd/system/{unit}"))? {
        if e.link_target.as_deref() == Some("/dev/null") {
            out.push_str("masked\n");
        }
    }
    for base in [
        "/etc/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
    ] {
        for d in files.list(base)?.unwrap_or_default() {
            if d.ends_with(".wants") {
                let l = format!("{base}/{d}/{unit}");
                if present(files, &l)? {
                    out.push_str(&format!("wants {l}\n"));
                }
            }
        }
    }
    if is_dir(files, "/etc/init.d")? {
        out.push_str("dir sysv\n");
    }
    if follow(files, &format!("/etc/init.d/{name}"))?.0.is_some() {
        out.push_str("initd\n");
    }
    for level in 2..=5 {
        let dir = format!("/etc/rc{level}.d");
        for l in files.list(&dir)?.unwrap_or_default() {
            let rest = l.strip_prefix('S').unwrap_or_default();
            let (digits, tail) = rest.split_at(rest.len().min(2));
            if digits.len() == 2 && digits.chars().all(|c| c.is_ascii_digit()) && tail == name {
                out.push_str(&format!("rc {dir}/{l}\n"));
            }
        }
    }
    if is_dir(files, "/etc/runlevels")? {
        out.push_str("dir openrc\n");
        for level in files.list("/etc/runlevels")?.unwrap_or_default() {
            let l = format!("/etc/runlevels/{level}/{name}");
            if present(files, &l)? {
                out.push_str(&format!("openrc {l}\n"));
            }
        }
    }
    Ok(out)
}

/// `id -Gn NAME` (every group, the primary first) or `id -gn NAME`.
fn id_groups(files: &mut dyn Files, name: &str, all: bool) -> Result<Option<String>, String> {
    let passwd = text(files, "/etc/passwd")?;
    let Some(gid) = crate::resource::user::parse_passwd(&passwd)
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| p.gid)
    else {
        return Ok(None);
    };
    let groups = crate::resource::user::parse_group(&text(files, "/etc/group")?);
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
    Ok(Some(format!("{}\n", names.join(" "))))
}

/// Answers `probe` from `files`, printing what the probe would have; `None`
/// for a probe that files cannot answer.
pub fn answer(probe: &Probe, files: &mut dyn Files) -> Option<ProbeOutput> {
    let argv: Vec<&str> = probe.argv_slice().iter().map(String::as_str).collect();
    let fail = |message: String| ProbeOutput::new(1, Vec::new(), message.into_bytes());
    let ok = |stdout: Vec<u8>| ProbeOutput::new(0, stdout, Vec::new());
    let missing = |path: &str| fail(format!("{path}: No such file or directory"));
    let out = match argv.as_slice() {
        ["sh", "-c", snippet, "sh", paths @ ..] if *snippet == super::file::STAT => {
            let mut flags = String::new();
            let mut lines = String::new();
            for path in paths {
                match follow(files, path) {
                    Ok((Some(e), link)) => {
                        flags.push(if link { '3' } else { '1' });
                        // What a link points to was followed; a type no
                        // spec names reads as a file, as before.
                        let type_bits = match e.file_type {
                            FileType::Directory
                            | FileType::Pipe
                            | FileType::Block
                            | FileType::Char
                            | FileType::Socket => e.file_type.mode_bits(),
                            FileType::File | FileType::Symlink | FileType::Unknown => 0o100000,
                        };
                        let (owner, group) =
                            (id_name(files, true, e.uid), id_name(files, false, e.gid));
                        lines.push_str(&format!(
                            "{:x} {} {} {} {} {owner}:{group}\n",
                            type_bits | e.mode,
                            e.uid,
                            e.gid,
                            e.size,
                            e.mtime,
                        ));
                    }
                    Ok((None, true)) => flags.push('4'),
                    Ok((None, false)) => flags.push('0'),
                    Err(e) => return Some(fail(e)),
                }
            }
            // Access as the checking user needs a process to ask.
            let access = "???".repeat(paths.len());
            ok(format!("{flags}\n{access}\n{lines}").into_bytes())
        }
        ["head", "-c", _, "--", path] => match follow(files, path) {
            Ok((Some(e), _)) if e.file_type == FileType::File => ProbeOutput {
                // The true size: longer than what was read means too long.
                stdout_len: if e.truncated {
                    e.size.max(e.content.len() as u64 + 1)
                } else {
                    e.content.len() as u64
                },
                stdout: e.content,
                ..Default::default()
            },
            Ok((Some(e), _)) => fail(format!("head: {path}: is a {}", e.file_type)),
            Ok((None, _)) => missing(path),
            Err(e) => fail(e),
        },
        [tool @ ("sha256sum" | "md5sum"), "--", path] => match follow(files, path) {
            Ok((Some(e), _)) if e.file_type == FileType::File && !e.truncated => {
                use sha2::Digest;
                let digest: Vec<u8> = if *tool == "sha256sum" {
                    sha2::Sha256::digest(&e.content).to_vec()
                } else {
                    md5::Md5::digest(&e.content).to_vec()
                };
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                ok(format!("{hex}  {path}\n").into_bytes())
            }
            Ok((Some(e), _)) if e.truncated => fail(format!(
                "{path} is larger than infraspec reads without a shell"
            )),
            Ok((Some(e), _)) => fail(format!("{tool}: {path}: is a {}", e.file_type)),
            Ok((None, _)) => missing(path),
            Err(e) => fail(e),
        },
        ["readlink", "--", path] => match files.entry(path) {
            Ok(Some(e)) => match e.link_target {
                Some(t) => ok(format!("{t}\n").into_bytes()),
                None if e.file_type == FileType::Symlink => fail(format!(
                    "{path}: the link's target could not be read (it loops)"
                )),
                None => fail(String::new()),
            },
            Ok(None) => missing(path),
            Err(e) => fail(e),
        },
        ["readlink", "-f", "--", path] => match real_path(files, path) {
            Ok(real) => ok(format!("{real}\n").into_bytes()),
            Err(e) => fail(e),
        },
        ["sh", "-c", snippet, "sh", db, ..] if *snippet == super::user::GETENT => {
            // The whole database: the parser picks the names it asked for.
            match text(files, &format!("/etc/{db}")) {
                Ok(t) => ok(t.into_bytes()),
                Err(e) => fail(e),
            }
        }
        ["id", flag @ ("-Gn" | "-gn"), "--", name] => {
            match id_groups(files, name, *flag == "-Gn") {
                Ok(Some(line)) => ok(line.into_bytes()),
                Ok(None) => fail(format!("id: '{name}': no such user")),
                Err(e) => fail(e),
            }
        }
        ["dpkg-query", "-W", "-f", _] => match dpkg_list(files) {
            Ok(Some(list)) => ok(list.into_bytes()),
            Ok(None) => fail("dpkg-query: no dpkg database (/var/lib/dpkg/status)".into()),
            Err(e) => fail(e),
        },
        ["pacman", "-Q"] => match pacman_list(files) {
            Ok(Some(list)) => ok(list.into_bytes()),
            Ok(None) => fail("no pacman database (/var/lib/pacman/local)".into()),
            Err(e) => fail(e),
        },
        ["cat", path @ "/lib/apk/db/installed"] => match file_bytes(files, path) {
            Ok(Some(bytes)) => ok(bytes),
            Ok(None) => missing(path),
            Err(e) => fail(e),
        },
        ["sh", "-c", snippet, "sh", name, unit] if *snippet == super::service::ENABLED_ON_DISK => {
            match enabled_on_disk(files, name, unit) {
                Ok(t) => ok(t.into_bytes()),
                Err(e) => fail(e),
            }
        }
        _ => return None,
    };
    Some(out)
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

    fn run(probe: Probe, files: &mut Fake) -> String {
        let out = answer(&probe, files).expect("answered");
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn dpkg_status_and_distroless_status_d_read_as_dpkg_query_prints() {
        let mut files = Fake(vec![
            ("/var/lib/dpkg/status", "file", "Package: libc6\nStatus: install ok installed\nMulti-Arch: same\nArchitecture: amd64\nVersion: 2.36-9\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n"),
            ("/var/lib/dpkg/status.d", "directory", ""),
            ("/var/lib/dpkg/status.d/tzdata", "file", "Package: tzdata\nVersion: 2024a-0\nArchitecture: all\n"),
        ]);
        let text = run(crate::resource::package::list_probe(None), &mut files);
        let db = crate::resource::package::parse(crate::facts::PackageManager::Dpkg, &text);
        let version = |n: &str| db.packages.get(n).map(|v| v[0].as_str());
        assert_eq!(version("libc6"), Some("2.36-9"));
        assert_eq!(version("libc6:amd64"), Some("2.36-9"));
        assert_eq!(version("tzdata"), Some("2024a-0"));
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
        let paths = [
            "/loop",
            "/a",
            "/etc/hostname",
            "/l/../sub/file.txt",
            "/sub/file.txt",
            "/loop/x",
        ];
        let text = run(
            crate::resource::file::stat_probe(paths.into_iter()),
            &mut files,
        );
        let flags = text.lines().next().unwrap();
        assert_eq!(flags, "441100", "{text}");
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
        let text = run(
            crate::resource::service::enabled_on_disk_probe("nginx"),
            &mut files,
        );
        let d = crate::resource::service::parse_on_disk(&text);
        assert!(d.known && !d.masked, "{text}");
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
        assert_eq!(
            run(Probe::argv(["id", "-Gn", "--", "web"]), &mut files),
            "www-data adm\n"
        );
        assert_eq!(
            run(Probe::argv(["id", "-gn", "--", "web"]), &mut files),
            "www-data\n"
        );
        let missing = answer(&Probe::argv(["id", "-Gn", "--", "nobody"]), &mut files).unwrap();
        assert_eq!(missing.status, 1);
        assert_eq!(
            run(
                Probe::argv(["readlink", "-f", "--", "/bin/tool"]),
                &mut files
            ),
            "/usr/bin/tool\n"
        );
        // A file is no directory on the way, as GNU readlink -f has it; a
        // missing last component is fine.
        let through_file = Probe::argv(["readlink", "-f", "--", "/bin/tool/x"]);
        assert_eq!(answer(&through_file, &mut files).unwrap().status, 1);
        assert_eq!(
            run(
                Probe::argv(["readlink", "-f", "--", "/bin/new"]),
                &mut files
            ),
            "/usr/bin/new\n"
        );
        assert!(answer(&Probe::argv(["rpm", "-qa"]), &mut files).is_none());
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
        let getent = crate::resource::user::getent_probe("passwd", ["web"].into_iter());
        assert!(run(getent, &mut files).contains("web:x:33"));
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
        let out = answer(&crate::resource::package::list_probe(None), &mut unlistable).unwrap();
        assert_eq!(out.status, 1);
        assert!(String::from_utf8_lossy(&out.stderr).contains("no listing"));
    }
}
