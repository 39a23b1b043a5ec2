//! `package`: installed or not, and which version, from the package manager's
//! database. One probe lists every installed package, so a spec with fifty
//! package checks costs one process on the target, and no package name from a
//! spec reaches the target at all.

use std::collections::HashMap;

use super::{Early, Need, Observations, Observed};
use crate::facts::PackageManager;
use crate::matcher::Value;
use crate::probe::Probe;
use crate::spec::Property;
use crate::version::Scheme;

/// Installed packages: name to installed versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Db {
    pub manager: PackageManager,
    pub packages: HashMap<String, Vec<String>>,
}

impl Db {
    /// No package yet.
    pub fn new(manager: PackageManager) -> Db {
        Db {
            manager,
            packages: HashMap::new(),
        }
    }

    /// `name` has `version` installed.
    pub fn insert(&mut self, name: &str, version: &str) {
        self.packages
            .entry(name.to_string())
            .or_default()
            .push(version.to_string());
    }

    /// A dpkg package as `dpkg-query` names it (`${binary:Package}`: with
    /// `:arch` only for `Multi-Arch: same`), its status, version and
    /// architecture. Only installed ones count; `name` and `name:arch` both
    /// work for every package, as dpkg-query takes them, so the plain name
    /// gets its architecture from its own field.
    pub fn add_dpkg(&mut self, name: &str, status: &str, version: &str, arch: &str) {
        if status.split_whitespace().last() != Some("installed") {
            return;
        }
        let base = name.split_once(':').map_or(name, |(base, _)| base);
        self.insert(base, version);
        match Some(arch.trim()).filter(|a| !a.is_empty()) {
            Some(arch) => self.insert(&format!("{base}:{arch}"), version),
            None if base != name => self.insert(name, version),
            None => {}
        }
    }
}

/// The version-ordering scheme of a package manager.
pub fn scheme(pm: PackageManager) -> Scheme {
    match pm {
        PackageManager::Dpkg => Scheme::Deb,
        PackageManager::Rpm => Scheme::Rpm,
        PackageManager::Pacman => Scheme::Pacman,
        PackageManager::Apk => Scheme::Apk,
    }
}

/// The one probe that lists every installed package.
pub fn list_probe(pm: Option<PackageManager>) -> Probe {
    match pm {
        Some(PackageManager::Dpkg) | None => Probe::argv([
            "dpkg-query",
            "-W",
            "-f",
            "${binary:Package}\\t${Status}\\t${Version}\\t${Architecture}\\n",
        ]),
        Some(PackageManager::Rpm) => Probe::argv([
            "rpm",
            "-qa",
            "--qf",
            "%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n",
        ]),
        Some(PackageManager::Apk) => Probe::argv(["cat", "/lib/apk/db/installed"]),
        Some(PackageManager::Pacman) => Probe::argv(["pacman", "-Q"]),
    }
}

/// Parses the output of [`list_probe`].
pub fn parse(pm: PackageManager, text: &str) -> Db {
    let mut db = Db::new(pm);
    match pm {
        PackageManager::Dpkg => {
            for line in text.lines() {
                let mut f = line.split('\t');
                let (Some(name), Some(status), Some(version)) = (f.next(), f.next(), f.next())
                else {
                    continue;
                };
                db.add_dpkg(name, status, version, f.next().unwrap_or_default());
            }
        }
        PackageManager::Rpm => {
            for line in text.lines() {
                if let Some((name, version)) = line.split_once('\t') {
                    db.insert(name, version);
                }
            }
        }
        PackageManager::Pacman => {
            for line in text.lines() {
                if let Some((name, version)) = line.split_once(' ') {
                    db.insert(name, version.trim());
                }
            }
        }
        PackageManager::Apk => {
            for record in text.split("\n\n") {
                let field = |key: &str| {
                    record
                        .lines()
                        .find_map(|l| l.strip_prefix(key))
                        .map(str::trim)
                };
                if let (Some(name), Some(version)) = (field("P:"), field("V:")) {
                    db.insert(name, version);
                }
            }
        }
    }
    db
}

pub fn needs_for(pm: Option<PackageManager>) -> Vec<Need> {
    match pm {
        Some(_) => vec![Need::Packages],
        None => vec![],
    }
}

pub fn observe(obs: &Observations<'_>, name: &str, property: Property) -> Result<Observed, Early> {
    let Some(pm) = obs.facts.package_manager else {
        return Err(Early::Error(
            "no supported package manager on the target (looked for dpkg, rpm, apk, pacman)".into(),
        ));
    };
    let db = obs.packages(pm)?;
    let versions = db.packages.get(name);
    match property {
        Property::Installed => Ok(Value::Bool(versions.is_some()).into()),
        Property::Version => {
            let versions = versions.ok_or_else(|| Early::Fail("not installed".into()))?;
            let scheme = scheme(pm);
            let newest = versions
                .iter()
                .max_by(|a, b| scheme.compare(a, b))
                .expect("an installed package has a version");
            Ok(Value::Version(newest.clone(), scheme).into())
        }
        other => Err(Early::Error(format!("package has no property {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

    fn db(pm: PackageManager, file: &str) -> Db {
        parse(pm, &String::from_utf8(fixture(file)).unwrap())
    }

    #[test]
    fn dpkg_names_work_with_and_without_their_architecture() {
        let db = db(PackageManager::Dpkg, "packages/dpkg-debian-12.txt");
        for name in [
            "bash",
            "bash:amd64",
            "libc6",
            "libc6:amd64",
            "adduser",
            "adduser:all",
        ] {
            assert!(db.packages.contains_key(name), "{name}");
        }
        assert!(!db.packages.contains_key("bash:i386"));
    }

    #[test]
    fn dpkg_on_debian_12() {
        let db = db(PackageManager::Dpkg, "packages/dpkg-debian-12.txt");
        assert_eq!(db.packages["bash"], vec!["5.2.15-2+b8".to_string()]);
        assert!(db.packages.contains_key("libc6"));
        assert!(db.packages.contains_key("libc6:amd64"));
    }

    #[test]
    fn dpkg_on_ubuntu_22_04() {
        let db = db(PackageManager::Dpkg, "packages/dpkg-ubuntu-22.04.txt");
        assert_eq!(
            db.packages["openssl"],
            vec!["3.0.2-0ubuntu1.15".to_string()]
        );
        assert!(db.packages.contains_key("libssl3"));
        // Removed but not purged ("rc") is not installed.
        assert!(!db.packages.contains_key("linux-image-5.15.0-91-generic"));
    }

    #[test]
    fn rpm_on_rocky_9_keeps_epochs_and_every_kernel() {
        let db = db(PackageManager::Rpm, "packages/rpm-rocky-9.txt");
        assert_eq!(db.packages["openssl"], vec!["1:3.0.7-25.el9_3".to_string()]);
        assert_eq!(db.packages["kernel"].len(), 2);
    }

    #[test]
    fn apk_on_alpine_3_19() {
        let db = db(PackageManager::Apk, "packages/apk-alpine-3.19.txt");
        assert_eq!(db.packages["busybox"], vec!["1.36.1-r15".to_string()]);
        assert_eq!(
            db.packages["musl"],
            vec!["1.2.4_git20230717-r4".to_string()]
        );
    }

    #[test]
    fn pacman_on_arch() {
        let db = db(PackageManager::Pacman, "packages/pacman-arch.txt");
        assert_eq!(db.packages["systemd"], vec!["255.4-1".to_string()]);
    }
}
