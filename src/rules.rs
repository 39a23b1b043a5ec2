//! Whether a check runs on a target: the user's own options first (`skip`,
//! `only_if`, `skip_in_container`), then the built-in rule table, which knows
//! what a container or a target without an init system cannot answer.

use crate::facts::Facts;
use crate::spec::{Check, Property, ResourceKind};

/// What to do with a check on a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Run,
    Skip(String),
}

/// When a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Container,
    /// The target is an image file or a root filesystem: nothing runs.
    ImageFile,
    /// The target is a root filesystem, which has no image config.
    Rootfs,
    /// An image file whose packages are in an RPM database, which is read
    /// only by `rpm` itself.
    ImageFileRpm,
}

/// A built-in rule: checks of this resource (and property, and name) are
/// skipped when the condition holds.
struct Rule {
    resource: ResourceKind,
    property: Option<Property>,
    names: Option<&'static [&'static str]>,
    when: When,
    reason: &'static str,
}

/// Services that keep time: in a container the host's kernel keeps the clock.
pub const TIME_SYNC_SERVICES: &[&str] = &[
    "ntp",
    "ntpd",
    "chrony",
    "chronyd",
    "systemd-timesyncd",
    "openntpd",
];

/// The rule table. Services on a target without an init system are not
/// here: `running` is judged from the init script's status, a pid file or the
/// process table, and `enabled` from what is on disk (unit links, rc links,
/// OpenRC runlevels); only when nothing on disk can answer is `enabled`
/// skipped (see `resource::service`).
const RULES: &[Rule] = &[
    nothing_runs(ResourceKind::Command, None),
    nothing_runs(ResourceKind::Port, None),
    nothing_runs(ResourceKind::Process, None),
    nothing_runs(ResourceKind::Service, Some(Property::Running)),
    nothing_runs(ResourceKind::Http, None),
    nothing_runs(ResourceKind::KernelParam, None),
    nothing_runs(ResourceKind::KernelModule, None),
    nothing_runs(ResourceKind::Mount, None),
    nothing_runs(ResourceKind::Interface, None),
    nothing_runs(ResourceKind::Host, None),
    nothing_runs(ResourceKind::UnixSocket, None),
    Rule {
        resource: ResourceKind::Certificate,
        property: None,
        names: Some(&["tls://"]),
        when: When::ImageFile,
        reason: NOTHING_RUNS,
    },
    Rule {
        resource: ResourceKind::Package,
        property: None,
        names: None,
        when: When::ImageFileRpm,
        reason: "the RPM database is read only by rpm, and nothing runs in an image file",
    },
    Rule {
        resource: ResourceKind::DockerImage,
        property: None,
        names: None,
        when: When::Rootfs,
        reason: "a root filesystem has no image config",
    },
    Rule {
        resource: ResourceKind::Service,
        property: None,
        names: Some(TIME_SYNC_SERVICES),
        when: When::Container,
        reason: "containers use the host's clock",
    },
    Rule {
        resource: ResourceKind::KernelModule,
        property: None,
        names: None,
        when: When::Container,
        reason: "kernel modules are the host's, not the container's",
    },
];

/// Why what needs a running system is skipped on an image file.
pub const NOTHING_RUNS: &str = crate::model::target::NOTHING_RUNS;

const fn nothing_runs(resource: ResourceKind, property: Option<Property>) -> Rule {
    Rule {
        resource,
        property,
        names: None,
        when: When::ImageFile,
        reason: NOTHING_RUNS,
    }
}

fn arch_matches(wanted: &str, actual: &str) -> bool {
    fn canon(a: &str) -> &str {
        match a {
            "amd64" | "x86-64" => "x86_64",
            "arm64" => "aarch64",
            other => other,
        }
    }
    canon(wanted) == canon(actual)
}

/// Decides whether `check` runs on a target with `facts`. `auto` turns the
/// built-in rule table on (off with `--no-auto-skip`).
pub fn decide(check: &Check, facts: &Facts, auto: bool) -> Decision {
    let o = &check.options;
    if let Some(reason) = &o.skip {
        return Decision::Skip(reason.clone());
    }
    let only = &o.only_if;
    if let Some(os) = &only.os {
        if *os != facts.os_id && os != facts.os_family.as_str() {
            return Decision::Skip(format!("only_if os {os}: the target runs {}", facts.os_id));
        }
    }
    if let Some(arch) = &only.arch {
        if !arch_matches(arch, &facts.arch) {
            return Decision::Skip(format!("only_if arch {arch}: the target is {}", facts.arch));
        }
    }
    if let Some(init) = &only.init {
        if init != facts.init.as_str() {
            return Decision::Skip(format!(
                "only_if init {init}: the target's init is {}",
                facts.init.as_str()
            ));
        }
    }
    if let Some(container) = only.container {
        if container != facts.is_container() {
            let is = if facts.is_container() { "is" } else { "is not" };
            return Decision::Skip(format!(
                "only_if container {container}: the target {is} a container"
            ));
        }
    }
    match o.skip_in_container {
        Some(true) if facts.is_container() => {
            if let Some(kind) = &facts.image_file {
                return Decision::Skip(format!(
                    "skip_in_container: the target is an image file ({kind})"
                ));
            }
            let runtime = facts.container.map(|c| c.as_str()).unwrap_or("unknown");
            return Decision::Skip(format!(
                "skip_in_container: the target is a {runtime} container"
            ));
        }
        // An explicit `skip_in_container: false` forces the check past the rules.
        Some(false) => return Decision::Run,
        _ => {}
    }
    if !auto {
        return Decision::Run;
    }
    for rule in RULES {
        let applies = rule.resource == check.resource.kind
            && rule
                .property
                .is_none_or(|p| p == check.expectation.property)
            && rule.names.is_none_or(|names| {
                // A name ending in `://` is a scheme: it matches by prefix.
                names.iter().any(|n| {
                    *n == check.resource.name
                        || (n.ends_with("://") && check.resource.name.starts_with(n))
                })
            })
            && match rule.when {
                When::Container => facts.is_container(),
                When::ImageFile => facts.image_file.is_some(),
                When::Rootfs => facts.image_file.as_deref() == Some("rootfs"),
                When::ImageFileRpm => {
                    facts.image_file.is_some()
                        && facts.package_manager == Some(crate::facts::PackageManager::Rpm)
                }
            };
        if applies {
            return Decision::Skip(rule.reason.to_string());
        }
    }
    Decision::Run
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ContainerRuntime, InitSystem, OsFamily};
    use crate::matcher::dsl::eq;
    use crate::spec::{Expectation, Resource};

    fn facts(container: bool, init: InitSystem) -> Facts {
        Facts {
            os_id: "debian".into(),
            os_version: "12".into(),
            os_family: OsFamily::Debian,
            os_pretty: String::new(),
            arch: "x86_64".into(),
            init,
            container: container.then_some(ContainerRuntime::Docker),
            pid1: "nginx".into(),
            package_manager: None,
            uid: Some(0),
            user: None,
            cpus: None,
            image_file: None,
        }
    }

    fn check(kind: ResourceKind, name: &str, p: Property) -> Check {
        Check::new(
            Resource::new(kind, name).unwrap(),
            Expectation::new(p, eq(true)),
        )
    }

    #[test]
    fn time_sync_is_skipped_in_containers_only() {
        let c = check(ResourceKind::Service, "chrony", Property::Running);
        assert_eq!(
            decide(&c, &facts(true, InitSystem::None), true),
            Decision::Skip("containers use the host's clock".into())
        );
        assert_eq!(
            decide(&c, &facts(false, InitSystem::Systemd), true),
            Decision::Run
        );
        assert_eq!(
            decide(&c, &facts(true, InitSystem::None), false),
            Decision::Run
        );
    }

    #[test]
    fn services_without_init_are_judged_from_disk_not_skipped() {
        let f = facts(true, InitSystem::None);
        let enabled = check(ResourceKind::Service, "nginx", Property::Enabled);
        assert_eq!(decide(&enabled, &f, true), Decision::Run);
        let running = check(ResourceKind::Service, "nginx", Property::Running);
        assert_eq!(decide(&running, &f, true), Decision::Run);
    }

    #[test]
    fn what_needs_a_running_system_is_skipped_on_image_files_only() {
        let mut f = facts(false, InitSystem::None);
        f.image_file = Some("oci-archive".into());
        for (kind, name, p) in [
            (ResourceKind::Command, "true", Property::ExitStatus),
            (ResourceKind::Port, "80", Property::Listening),
            (ResourceKind::Process, "nginx", Property::Running),
            (ResourceKind::Service, "nginx", Property::Running),
            (
                ResourceKind::Certificate,
                "tls://localhost:443",
                Property::Exists,
            ),
        ] {
            assert_eq!(
                decide(&check(kind, name, p), &f, true),
                Decision::Skip(NOTHING_RUNS.into()),
                "{kind}"
            );
        }
        for (kind, name, p) in [
            (ResourceKind::Service, "nginx", Property::Enabled),
            (ResourceKind::File, "/etc/passwd", Property::Exists),
            (
                ResourceKind::Certificate,
                "/etc/ssl/x.pem",
                Property::Exists,
            ),
            (ResourceKind::DockerImage, "app:1", Property::Exists),
        ] {
            assert_eq!(decide(&check(kind, name, p), &f, true), Decision::Run);
        }
        f.image_file = Some("rootfs".into());
        let image = check(ResourceKind::DockerImage, "app:1", Property::Exists);
        assert!(
            matches!(decide(&image, &f, true), Decision::Skip(r) if r.contains("no image config"))
        );
        f.package_manager = Some(crate::facts::PackageManager::Rpm);
        let rpm = check(ResourceKind::Package, "bash", Property::Installed);
        assert!(matches!(decide(&rpm, &f, true), Decision::Skip(r) if r.contains("RPM database")));
        let running = check(ResourceKind::Process, "nginx", Property::Running);
        assert_eq!(
            decide(&running, &facts(true, InitSystem::None), true),
            Decision::Run
        );
    }

    #[test]
    fn user_options_come_first() {
        let f = facts(true, InitSystem::None);
        let mut c = check(ResourceKind::Service, "chrony", Property::Running);
        c.options.skip_in_container = Some(false);
        assert_eq!(decide(&c, &f, true), Decision::Run);
        c.options.only_if.os = Some("alpine".into());
        assert!(
            matches!(decide(&c, &f, true), Decision::Skip(r) if r.contains("only_if os alpine"))
        );
        let mut k = check(ResourceKind::Package, "x", Property::Installed);
        k.options.only_if.os = Some("debian".into());
        k.options.only_if.arch = Some("amd64".into());
        assert_eq!(decide(&k, &f, true), Decision::Run);
        k.options.skip_in_container = Some(true);
        assert!(
            matches!(decide(&k, &f, true), Decision::Skip(r) if r.contains("docker container"))
        );
    }
}
