//! Facts about a target, as data: OS, architecture, init system,
//! container, package manager (gathered by `crate::facts`).

use std::fmt;

/// The family an OS belongs to, from `ID` and `ID_LIKE` in os-release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OsFamily {
    /// Debian, Ubuntu and their derivatives (dpkg).
    Debian,
    /// Red Hat, Fedora, CentOS, Rocky, Alma (rpm).
    RedHat,
    /// Alpine (apk).
    Alpine,
    /// Arch and Manjaro (pacman).
    Arch,
    /// openSUSE and SLES (rpm).
    Suse,
    /// Anything else.
    Other,
}

impl OsFamily {
    /// The family's name in specs and reports (`debian`, `redhat`…).
    pub fn as_str(self) -> &'static str {
        match self {
            OsFamily::Debian => "debian",
            OsFamily::RedHat => "redhat",
            OsFamily::Alpine => "alpine",
            OsFamily::Arch => "arch",
            OsFamily::Suse => "suse",
            OsFamily::Other => "other",
        }
    }

    pub(crate) fn from_id(id: &str) -> Option<OsFamily> {
        Some(match id {
            "debian" | "ubuntu" | "raspbian" | "linuxmint" | "pop" | "kali" => OsFamily::Debian,
            "rhel" | "fedora" | "centos" | "rocky" | "almalinux" | "ol" | "amzn" => {
                OsFamily::RedHat
            }
            "alpine" => OsFamily::Alpine,
            "arch" | "archlinux" | "manjaro" | "endeavouros" => OsFamily::Arch,
            "suse" | "opensuse" | "sles" | "opensuse-leap" | "opensuse-tumbleweed" => {
                OsFamily::Suse
            }
            _ => return None,
        })
    }
}

/// Which init system actually runs on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitSystem {
    /// systemd is PID 1.
    Systemd,
    /// OpenRC manages services.
    OpenRc,
    /// SysV init scripts.
    SysV,
    /// No service manager: a container running its application as PID 1, or a
    /// minimal VM or sandbox.
    None,
}

impl InitSystem {
    /// The init system's name in specs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            InitSystem::Systemd => "systemd",
            InitSystem::OpenRc => "openrc",
            InitSystem::SysV => "sysv",
            InitSystem::None => "none",
        }
    }
}

/// The container runtime a target runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerRuntime {
    /// Docker.
    Docker,
    /// Podman.
    Podman,
    /// LXC.
    Lxc,
    /// Kubernetes (a pod's container).
    Kubernetes,
    /// systemd-nspawn.
    Nspawn,
    /// A container whose runtime could not be told.
    Unknown,
}

impl ContainerRuntime {
    /// The runtime's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerRuntime::Docker => "docker",
            ContainerRuntime::Podman => "podman",
            ContainerRuntime::Lxc => "lxc",
            ContainerRuntime::Kubernetes => "kubernetes",
            ContainerRuntime::Nspawn => "systemd-nspawn",
            ContainerRuntime::Unknown => "unknown",
        }
    }
}

/// The package manager whose database answers `package` checks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    /// Debian's dpkg.
    Dpkg,
    /// rpm.
    Rpm,
    /// Alpine's apk.
    Apk,
    /// Arch's pacman.
    Pacman,
}

impl PackageManager {
    /// The package manager's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageManager::Dpkg => "dpkg",
            PackageManager::Rpm => "rpm",
            PackageManager::Apk => "apk",
            PackageManager::Pacman => "pacman",
        }
    }
}

/// What round 1 learned about a target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Facts {
    /// `ID` from os-release (`debian`, `alpine`…), or a fallback guess.
    pub os_id: String,
    /// `VERSION_ID` from os-release.
    pub os_version: String,
    /// The family the OS belongs to.
    pub os_family: OsFamily,
    /// `PRETTY_NAME` from os-release.
    pub os_pretty: String,
    /// `uname -m`: `x86_64`, `aarch64`…
    pub arch: String,
    /// The init system, or none when nothing manages services.
    pub init: InitSystem,
    /// The container runtime, when the target is a container.
    pub container: Option<ContainerRuntime>,
    /// The name of PID 1 (`systemd`, `nginx`, `sh`…).
    pub pid1: String,
    /// The package manager whose database answers `package` checks.
    pub package_manager: Option<PackageManager>,
    /// The uid checks run as.
    pub uid: Option<u32>,
    /// The name of the user the probes run as.
    pub user: Option<String>,
    /// CPUs online (`/sys/devices/system/cpu/online`): how many probes of a
    /// batch run at the same time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<u32>,
    /// Set when the target is an image file or a root filesystem read
    /// without running it (`docker-archive`, `oci-archive`, `oci`,
    /// `rootfs`): nothing runs in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_file: Option<String>,
}

impl Facts {
    /// The user the probes run as, for messages: `www-data (uid 33)`.
    pub fn checking_user(&self) -> String {
        match (&self.user, self.uid) {
            (Some(name), Some(uid)) => format!("{name} (uid {uid})"),
            (None, Some(uid)) => format!("uid {uid}"),
            (Some(name), None) => name.clone(),
            (None, None) => "the checking user".into(),
        }
    }

    /// Whether the target is a container of any runtime.
    pub fn is_container(&self) -> bool {
        self.container.is_some() || self.image_file.is_some()
    }
}

/// The OCI name of an architecture as `uname -m` or Rust spell it
/// (`x86_64` is `amd64`).
pub fn oci_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "armv7l" | "arm" => "arm",
        "i686" | "x86" => "386",
        other => other,
    }
}

/// `uname -m`'s name for an OCI architecture (`amd64` is `x86_64`).
pub fn uname_arch(oci: &str) -> &str {
    match oci {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "arm" => "armv7l",
        "386" => "i686",
        other => other,
    }
}

/// The architecture an ELF binary is built for, as `uname -m` names it.
pub fn elf_arch(head: &[u8]) -> Option<&'static str> {
    if head.len() < 20 || &head[..4] != b"\x7fELF" {
        return None;
    }
    let machine = if head[5] == 2 {
        u16::from_be_bytes([head[18], head[19]])
    } else {
        u16::from_le_bytes([head[18], head[19]])
    };
    Some(match machine {
        0x3e => "x86_64",
        0xb7 => "aarch64",
        0x28 => "armv7l",
        0x03 => "i686",
        0x15 => "ppc64le",
        0x16 => "s390x",
        0xf3 => "riscv64",
        _ => return None,
    })
}

impl fmt::Display for Facts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let os = if self.os_pretty.is_empty() {
            format!("{} {}", self.os_id, self.os_version)
                .trim()
                .to_string()
        } else {
            self.os_pretty.clone()
        };
        let mut parts = vec![os];
        if !self.arch.is_empty() {
            parts.push(self.arch.clone());
        }
        parts.push(format!("init {}", self.init.as_str()));
        write!(f, "{}", parts.join(", "))?;
        match (&self.image_file, self.container) {
            (Some(kind), _) => write!(f, ", {kind} (nothing runs)"),
            (None, Some(rt)) => write!(f, ", {} container (PID 1: {})", rt.as_str(), self.pid1),
            (None, None) => Ok(()),
        }
    }
}
