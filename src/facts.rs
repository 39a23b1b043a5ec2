//! Facts about a target: OS, architecture, init system, container, package manager.
//!
//! Facts are gathered in the first round trip to a target, as one framed batch of
//! fixed probes (no spec data reaches it), and parsed by pure functions. They
//! decide which probes the second round uses (dpkg or rpm, systemctl or
//! OpenRC) and which checks the container rules skip.

use std::collections::BTreeMap;

use crate::probe::{Probe, ProbeOutput};

pub use crate::model::facts::*;

const ENV_SNIPPET: &str = r#"
read -r x </proc/1/comm 2>/dev/null && echo "pid1=$x"
[ -e /.dockerenv ] && echo dockerenv=1
[ -e /run/.containerenv ] && echo containerenv=1
[ -d /var/run/secrets/kubernetes.io ] && echo kubernetes=1
[ -d /run/systemd/system ] && echo systemd_run=1
[ -d /run/openrc ] && echo openrc_run=1
[ -d /etc/init.d ] && echo initd=1
for m in dpkg-query rpm apk pacman timeout; do command -v "$m" >/dev/null 2>&1 && echo "have=$m"; done
[ -r /etc/debian_version ] && read -r x </etc/debian_version && echo "debian_version=$x"
[ -r /etc/alpine-release ] && read -r x </etc/alpine-release && echo "alpine_release=$x"
[ -r /etc/redhat-release ] && read -r x </etc/redhat-release && echo "redhat_release=$x"
[ -r /etc/arch-release ] && echo arch_release=1
read -r x </sys/devices/system/cpu/online 2>/dev/null && echo "cpus=$x"
echo "uid=$(id -u 2>/dev/null)"
echo "user=$(id -un 2>/dev/null)"
:
"#;

/// The fixed probes of round 1, by what each reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactProbe {
    /// `/etc/os-release` (or `/usr/lib/os-release`).
    OsRelease,
    /// `uname -m`.
    Arch,
    /// The probe shell's environment: PID 1, the init system, container
    /// markers, the tools at hand.
    Env,
    /// `/proc/1/cgroup`.
    Pid1Cgroup,
    /// `/proc/1/environ`.
    Pid1Environ,
    /// `/proc/self/mountinfo`.
    Mountinfo,
}

impl FactProbe {
    /// Every fact probe, in the order round 1 sends them: their declaration
    /// order, so `p as usize` is `p`'s place.
    pub const ALL: [FactProbe; 6] = [
        FactProbe::OsRelease,
        FactProbe::Arch,
        FactProbe::Env,
        FactProbe::Pid1Cgroup,
        FactProbe::Pid1Environ,
        FactProbe::Mountinfo,
    ];

    /// The probe. All are reads of files and `/proc` that cannot block, so
    /// they run without a timer of their own (the batch's timeout bounds
    /// them).
    pub fn probe(self) -> Probe {
        let probe = match self {
            FactProbe::OsRelease => Probe::script(
                "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release",
                Vec::<String>::new(),
                "cat /etc/os-release",
            ),
            FactProbe::Arch => Probe::argv(["uname", "-m"]),
            FactProbe::Env => Probe::script(
                ENV_SNIPPET,
                Vec::<String>::new(),
                "facts: PID 1, init, container markers",
            ),
            FactProbe::Pid1Cgroup => Probe::argv(["cat", "/proc/1/cgroup"]),
            FactProbe::Pid1Environ => Probe::argv(["cat", "/proc/1/environ"]),
            FactProbe::Mountinfo => {
                Probe::argv(["cat", "/proc/self/mountinfo"]).with_cap(crate::probe::TABLE_CAP)
            }
        };
        probe.untimed()
    }
}

/// The probes of round 1, in [`FactProbe::ALL`]'s order.
pub fn probes() -> Vec<Probe> {
    FactProbe::ALL.iter().map(|p| p.probe()).collect()
}

/// Parses `KEY=value` lines of os-release, unquoting values.
pub fn parse_os_release(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.starts_with('#') {
                return None;
            }
            let (k, v) = line.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.replace("\\\"", "\"")))
        })
        .collect()
}

/// The raw outputs of the fact probes, named. Kept apart from [`parse`] so that
/// tests can feed captured `/proc` data.
#[derive(Debug, Default, Clone)]
#[doc(hidden)]
pub struct RawFacts<'a> {
    /// `/etc/os-release` (or `/usr/lib/os-release`).
    pub os_release: &'a str,
    /// `uname -m`.
    pub uname_m: &'a str,
    /// The probe shell's environment.
    pub env: &'a str,
    /// `/proc/1/cgroup`.
    pub pid1_cgroup: &'a str,
    /// `/proc/1/environ` (NUL-separated).
    pub pid1_environ: &'a [u8],
    /// `/proc/self/mountinfo`.
    pub mountinfo: &'a str,
}

/// Turns the outputs of [`probes`] (in [`FactProbe::ALL`]'s order) into
/// facts; a probe that failed or gave no output counts as empty.
pub fn parse(outputs: &[ProbeOutput]) -> Facts {
    // `ALL` lists the probes in their declaration order: a probe's output
    // is at its discriminant.
    let bytes = |p: FactProbe| -> &[u8] {
        outputs
            .get(p as usize)
            .filter(|o| o.status == 0)
            .map_or(&[], |o| o.stdout.as_slice())
    };
    let text = |p: FactProbe| String::from_utf8_lossy(bytes(p));
    from_raw(&RawFacts {
        os_release: &text(FactProbe::OsRelease),
        uname_m: &text(FactProbe::Arch),
        env: &text(FactProbe::Env),
        pid1_cgroup: &text(FactProbe::Pid1Cgroup),
        pid1_environ: bytes(FactProbe::Pid1Environ),
        mountinfo: &text(FactProbe::Mountinfo),
    })
}

/// The pure core of fact detection.
pub fn from_raw(raw: &RawFacts<'_>) -> Facts {
    let release = parse_os_release(raw.os_release);
    let mut env: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in raw.env.lines() {
        if let Some((k, v)) = line.split_once('=') {
            env.entry(k).or_default().push(v);
        }
    }
    let first = |k: &str| env.get(k).and_then(|v| v.first()).copied();
    let has = |k: &str| first(k).is_some();
    let have_tool = |t: &str| env.get("have").is_some_and(|v| v.contains(&t));

    let (mut os_id, mut os_version) = (
        release.get("ID").cloned().unwrap_or_default(),
        release.get("VERSION_ID").cloned().unwrap_or_default(),
    );
    if os_id.is_empty() {
        (os_id, os_version) = if let Some(v) = first("debian_version") {
            ("debian".into(), v.into())
        } else if let Some(v) = first("alpine_release") {
            ("alpine".into(), v.into())
        } else if let Some(v) = first("redhat_release") {
            let version = v
                .split_whitespace()
                .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
                .unwrap_or_default();
            ("rhel".into(), version.into())
        } else if has("arch_release") {
            ("arch".into(), String::new())
        } else {
            ("linux".into(), String::new())
        };
    }
    let os_family = std::iter::once(os_id.as_str())
        .chain(
            release
                .get("ID_LIKE")
                .map(|s| s.split_whitespace())
                .into_iter()
                .flatten(),
        )
        .find_map(OsFamily::from_id)
        .unwrap_or(OsFamily::Other);

    let pid1 = first("pid1").unwrap_or_default().to_string();
    let container = detect_container(
        raw,
        has("dockerenv"),
        has("containerenv"),
        has("kubernetes"),
    );
    let init = if pid1 == "systemd" && has("systemd_run") {
        InitSystem::Systemd
    } else if has("openrc_run") && (pid1 == "init" || pid1 == "openrc-init") {
        InitSystem::OpenRc
    } else if pid1 == "init" && has("initd") {
        InitSystem::SysV
    } else {
        InitSystem::None
    };

    let preferred = match os_family {
        OsFamily::Debian => Some(PackageManager::Dpkg),
        OsFamily::RedHat | OsFamily::Suse => Some(PackageManager::Rpm),
        OsFamily::Alpine => Some(PackageManager::Apk),
        OsFamily::Arch => Some(PackageManager::Pacman),
        OsFamily::Other => None,
    };
    let tool = |pm: PackageManager| match pm {
        PackageManager::Dpkg => "dpkg-query",
        PackageManager::Rpm => "rpm",
        PackageManager::Apk => "apk",
        PackageManager::Pacman => "pacman",
    };
    let all = [
        PackageManager::Dpkg,
        PackageManager::Rpm,
        PackageManager::Apk,
        PackageManager::Pacman,
    ];
    let package_manager = preferred
        .filter(|pm| have_tool(tool(*pm)))
        .or_else(|| all.into_iter().find(|pm| have_tool(tool(*pm))))
        // Alpine's database is read as a file: apk itself need not be there.
        .or(preferred.filter(|pm| *pm == PackageManager::Apk));

    Facts {
        os_pretty: release.get("PRETTY_NAME").cloned().unwrap_or_default(),
        os_id,
        os_version,
        os_family,
        arch: raw.uname_m.trim().to_string(),
        init,
        container,
        pid1,
        package_manager,
        uid: first("uid").and_then(|u| u.parse().ok()),
        user: first("user").filter(|u| !u.is_empty()).map(str::to_string),
        cpus: first("cpus").and_then(count_cpus),
        image_file: None,
    }
}

/// Counts the CPUs of a kernel CPU list such as `0-3,6,8-9`.
fn count_cpus(list: &str) -> Option<u32> {
    let mut n = 0u32;
    for part in list.trim().split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        n = n.checked_add(b.checked_sub(a)?.checked_add(1)?)?;
    }
    (n > 0).then_some(n)
}

fn detect_container(
    raw: &RawFacts<'_>,
    dockerenv: bool,
    containerenv: bool,
    kubernetes: bool,
) -> Option<ContainerRuntime> {
    let environ_container = raw
        .pid1_environ
        .split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(b"container="))
        .map(|v| String::from_utf8_lossy(v).into_owned());
    let cgroup = raw.pid1_cgroup;
    let root_mount = raw
        .mountinfo
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/"))
        .unwrap_or_default();
    // mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTIONS
    let fields: Vec<&str> = root_mount.split(' ').collect();
    let after_dash: Vec<&str> = fields
        .iter()
        .position(|f| *f == "-")
        .map(|i| fields[i + 1..].to_vec())
        .unwrap_or_default();
    let (root_fs, root_source) = (after_dash.first().copied(), after_dash.get(1).copied());
    // A whole filesystem on a block device as `/` is a machine's own disk: a VM
    // or host. A rootfs made from an image keeps its /.dockerenv, so that file
    // alone does not make a container.
    let root_on_own_disk = fields.get(3) == Some(&"/")
        && root_source.is_some_and(|s| s.starts_with("/dev/"))
        && !matches!(root_fs, Some("overlay" | "aufs" | "fuse-overlayfs"));

    if kubernetes || cgroup.contains("/kubepods") {
        return Some(ContainerRuntime::Kubernetes);
    }
    if let Some(kind) = environ_container.as_deref() {
        return Some(match kind {
            "docker" => ContainerRuntime::Docker,
            "podman" | "oci" => ContainerRuntime::Podman,
            "lxc" | "lxc-libvirt" => ContainerRuntime::Lxc,
            "systemd-nspawn" => ContainerRuntime::Nspawn,
            _ => ContainerRuntime::Unknown,
        });
    }
    if containerenv || cgroup.contains("/libpod") || root_mount.contains("containers/storage") {
        return Some(ContainerRuntime::Podman);
    }
    if cgroup.contains("/docker/")
        || cgroup.contains("docker-")
        || root_mount.contains("/var/lib/docker/")
    {
        return Some(ContainerRuntime::Docker);
    }
    if dockerenv && !root_on_own_disk {
        return Some(ContainerRuntime::Docker);
    }
    if cgroup.contains("/lxc/") || cgroup.contains("/lxc.payload") {
        return Some(ContainerRuntime::Lxc);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fact_probe_is_at_its_place_in_all() {
        for (i, p) in FactProbe::ALL.iter().enumerate() {
            assert_eq!(*p as usize, i, "{p:?}");
        }
    }

    fn fixture(name: &str) -> String {
        String::from_utf8(crate::testing::fixture(name)).expect("UTF-8 fixture")
    }

    #[test]
    fn os_release_of_each_family() {
        for (file, id, family, version) in [
            ("os-release/debian-12", "debian", OsFamily::Debian, "12"),
            (
                "os-release/ubuntu-22.04",
                "ubuntu",
                OsFamily::Debian,
                "22.04",
            ),
            (
                "os-release/alpine-3.19",
                "alpine",
                OsFamily::Alpine,
                "3.19.1",
            ),
            ("os-release/rocky-9", "rocky", OsFamily::RedHat, "9.3"),
            ("os-release/arch", "arch", OsFamily::Arch, ""),
        ] {
            let text = fixture(file);
            let facts = from_raw(&RawFacts {
                os_release: &text,
                ..Default::default()
            });
            assert_eq!(
                (
                    facts.os_id.as_str(),
                    facts.os_family,
                    facts.os_version.as_str()
                ),
                (id, family, version),
                "{file}"
            );
        }
    }

    #[test]
    fn os_falls_back_to_release_files() {
        let facts = from_raw(&RawFacts {
            env: "debian_version=12.5\n",
            ..Default::default()
        });
        assert_eq!(
            (facts.os_id.as_str(), facts.os_family),
            ("debian", OsFamily::Debian)
        );
    }

    /// Facts from a fixture directory: the env snippet's output, PID 1's
    /// cgroup and environment, and mountinfo, as the probes print them.
    fn captured(dir: &str) -> Facts {
        let read = |f: &str| crate::testing::fixture(&format!("facts/{dir}/{f}"));
        let text = |f: &str| String::from_utf8(read(f)).unwrap();
        let (env, cgroup, mountinfo, environ) = (
            text("env"),
            text("cgroup"),
            text("mountinfo"),
            read("environ"),
        );
        from_raw(&RawFacts {
            env: &env,
            pid1_cgroup: &cgroup,
            pid1_environ: &environ,
            mountinfo: &mountinfo,
            ..Default::default()
        })
    }

    #[test]
    fn detection_on_captured_proc_data() {
        let cases = [
            (
                "docker-cgroup-v1",
                Some(ContainerRuntime::Docker),
                InitSystem::None,
            ),
            (
                "docker-cgroup-v2",
                Some(ContainerRuntime::Docker),
                InitSystem::None,
            ),
            ("podman", Some(ContainerRuntime::Podman), InitSystem::None),
            // A VM booted from a rootfs made of an image: /.dockerenv is left
            // over, but `/` is its own disk and nothing else says container.
            ("vm-no-init", None, InitSystem::None),
            ("systemd-host", None, InitSystem::Systemd),
        ];
        for (dir, container, init) in cases {
            let f = captured(dir);
            assert_eq!((f.container, f.init), (container, init), "{dir}");
        }
    }

    #[test]
    fn systemd_host_is_not_a_container() {
        let facts = from_raw(&RawFacts {
            env: "pid1=systemd\nsystemd_run=1\ninitd=1\nhave=dpkg-query\n",
            os_release: "ID=debian\n",
            pid1_cgroup: "0::/init.scope\n",
            ..Default::default()
        });
        assert_eq!(facts.init, InitSystem::Systemd);
        assert_eq!(facts.container, None);
        assert_eq!(facts.package_manager, Some(PackageManager::Dpkg));
    }

    #[test]
    fn docker_container_with_app_as_pid1_has_no_init() {
        let facts = from_raw(&RawFacts {
            env: "pid1=nginx\ndockerenv=1\ninitd=1\n",
            pid1_cgroup: "0::/\n",
            ..Default::default()
        });
        assert_eq!(facts.init, InitSystem::None);
        assert_eq!(facts.container, Some(ContainerRuntime::Docker));
    }

    #[test]
    fn cgroup_v1_docker_path_is_detected() {
        let facts = from_raw(&RawFacts {
            pid1_cgroup: "12:pids:/docker/3f1c9a\n1:name=systemd:/docker/3f1c9a\n",
            ..Default::default()
        });
        assert_eq!(facts.container, Some(ContainerRuntime::Docker));
    }

    #[test]
    fn systemd_as_pid1_in_podman_is_a_container_with_init() {
        let facts = from_raw(&RawFacts {
            env: "pid1=systemd\nsystemd_run=1\ncontainerenv=1\n",
            pid1_environ: b"container=podman\0PATH=/usr/bin\0",
            ..Default::default()
        });
        assert_eq!(facts.init, InitSystem::Systemd);
        assert_eq!(facts.container, Some(ContainerRuntime::Podman));
    }
}
