//! `service`: running and enabled, asked of the init system that actually runs.
//!
//! systemd answers for every unit of a spec in one `systemctl show`; OpenRC and
//! SysV are read from their state directories. On a target without an init
//! system (most containers), `running` is judged from the process table and
//! the outcome says so.

use super::{process, stdout_text, Early, Need, Observations, Observed};
use crate::facts::InitSystem;
use crate::matcher::Value;
use crate::probe::Probe;
use crate::spec::Property;

const UNIT_SUFFIXES: [&str; 9] = [
    ".service",
    ".socket",
    ".timer",
    ".target",
    ".mount",
    ".path",
    ".scope",
    ".slice",
    ".automount",
];

/// `nginx` is `nginx.service`; names that already carry a unit type stay.
pub fn unit_name(name: &str) -> String {
    if UNIT_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        name.to_string()
    } else {
        format!("{name}.service")
    }
}

/// systemd's answer for one unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitState {
    pub unit: String,
    pub load: String,
    pub active: String,
    pub sub: String,
    pub file_state: String,
}

impl UnitState {
    pub fn running(&self) -> bool {
        self.active == "active"
    }

    /// Enabled as `systemctl is-enabled` counts it.
    pub fn enabled(&self) -> bool {
        matches!(
            self.file_state.as_str(),
            "enabled"
                | "enabled-runtime"
                | "static"
                | "alias"
                | "indirect"
                | "generated"
                | "transient"
        )
    }
}

const SYSTEMCTL_ARGS: [&str; 4] = [
    "systemctl",
    "show",
    "--no-pager",
    "--property=Id,LoadState,ActiveState,SubState,UnitFileState",
];

/// One `systemctl show` for every unit of the batch.
pub fn systemctl_probe<'a>(units: impl Iterator<Item = &'a str>) -> Probe {
    let mut argv: Vec<String> = SYSTEMCTL_ARGS.iter().map(|s| s.to_string()).collect();
    argv.push("--".into());
    argv.extend(units.map(str::to_string));
    Probe::argv(argv)
}

/// Parses `systemctl show` for `units`, which it answers block by block in order.
pub fn parse_systemctl(text: &str, units: &[String]) -> Vec<UnitState> {
    let blocks = text.split("\n\n").filter(|b| !b.trim().is_empty());
    units
        .iter()
        .zip(blocks)
        .map(|(unit, block)| {
            let mut st = UnitState {
                unit: unit.clone(),
                ..Default::default()
            };
            for line in block.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    let v = v.to_string();
                    match k {
                        "LoadState" => st.load = v,
                        "ActiveState" => st.active = v,
                        "SubState" => st.sub = v,
                        "UnitFileState" => st.file_state = v,
                        _ => {}
                    }
                }
            }
            st
        })
        .collect()
}

pub fn openrc_started_probe() -> Probe {
    Probe::script(
        r#"for f in /run/openrc/started/*; do [ -e "$f" ] && echo "${f##*/}"; done; :"#,
        Vec::<String>::new(),
        "ls /run/openrc/started",
    )
}

pub fn openrc_runlevels_probe() -> Probe {
    Probe::script(
        r#"for f in /etc/runlevels/*/*; do [ -e "$f" ] && echo "${f##*/}"; done; :"#,
        Vec::<String>::new(),
        "ls /etc/runlevels/*",
    )
}

pub fn sysv_status_probe(name: &str) -> Probe {
    Probe::argv([format!("/etc/init.d/{name}"), "status".to_string()])
}

pub fn sysv_runlevels_probe() -> Probe {
    Probe::script(
        r#"for f in /etc/rc2.d/S* /etc/rc3.d/S* /etc/rc4.d/S* /etc/rc5.d/S*; do [ -e "$f" ] && echo "${f##*/}"; done; :"#,
        Vec::<String>::new(),
        "ls /etc/rc[2-5].d/S*",
    )
}

/// `S01nginx` is `nginx`.
fn sysv_link_name(link: &str) -> &str {
    let rest = link.strip_prefix('S').unwrap_or(link);
    rest.trim_start_matches(|c: char| c.is_ascii_digit())
}

pub fn needs(name: &str, property: Property, init: InitSystem) -> Vec<Need> {
    match (init, property) {
        (InitSystem::Systemd, _) => vec![Need::SystemdUnit(unit_name(name))],
        (InitSystem::OpenRc, Property::Running) => vec![Need::OpenRcStarted],
        (InitSystem::OpenRc, _) => vec![Need::OpenRcRunlevels],
        (InitSystem::SysV, Property::Running) => vec![Need::SysvStatus(name.to_string())],
        (InitSystem::SysV, _) => vec![Need::SysvRunlevels],
        (InitSystem::None, Property::Running) => vec![Need::Processes],
        (InitSystem::None, _) => vec![],
    }
}

/// Process names that count as a service's: `ssh` runs as `sshd`, `chrony` as `chronyd`.
pub fn process_names(service: &str) -> [String; 2] {
    [service.to_string(), format!("{service}d")]
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

pub fn observe(obs: &Observations<'_>, name: &str, property: Property) -> Result<Observed, Early> {
    let init = obs.facts.init;
    let state = match (init, property) {
        (InitSystem::Systemd, _) => {
            let unit = unit_name(name);
            let need = Need::SystemdUnit(unit.clone());
            let units = obs.cached_for(&obs.units, &need, || {
                let out = obs.ok(&need)?;
                let probe = obs.probe_of(&need).expect("planned");
                let asked: Vec<String> = probe
                    .argv_slice()
                    .iter()
                    .skip(SYSTEMCTL_ARGS.len() + 1)
                    .cloned()
                    .collect();
                Ok(parse_systemctl(&stdout_text(out), &asked))
            })?;
            let st = units
                .iter()
                .find(|u| u.unit == unit)
                .ok_or_else(|| Early::Error(format!("systemctl show gave no answer for {unit}")))?;
            let value = if property == Property::Running {
                st.running()
            } else {
                st.enabled()
            };
            let note = (st.load == "not-found").then(|| format!("unit {unit} not found"));
            return Ok(Observed {
                value: Value::Bool(value),
                note,
            });
        }
        (InitSystem::OpenRc, Property::Running) => {
            let out = obs.ok(&Need::OpenRcStarted)?;
            lines(&stdout_text(out)).any(|l| l == name)
        }
        (InitSystem::OpenRc, _) => {
            let out = obs.ok(&Need::OpenRcRunlevels)?;
            lines(&stdout_text(out)).any(|l| l == name)
        }
        (InitSystem::SysV, Property::Running) => {
            let out = obs.raw(&Need::SysvStatus(name.to_string()))?;
            if out.status == 127 || out.status == 126 {
                false
            } else {
                out.status == 0
            }
        }
        (InitSystem::SysV, _) => {
            let out = obs.ok(&Need::SysvRunlevels)?;
            lines(&stdout_text(out)).any(|l| sysv_link_name(l) == name)
        }
        (InitSystem::None, Property::Running) => {
            let names = process_names(name);
            let procs = process::table(obs)?;
            let running = procs
                .iter()
                .any(|p| names.iter().any(|n| process::name_matches(&p.name, n)));
            return Ok(Observed {
                value: Value::Bool(running),
                note: Some(format!(
                    "no init system on this target: judged from the process table (a process named {} or {})",
                    names[0], names[1]
                )),
            });
        }
        (InitSystem::None, _) => {
            return Err(Early::Error(format!(
                "no init system on this target: cannot tell whether {name} is enabled"
            )))
        }
    };
    Ok(Value::Bool(state).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::testing::fixture;

    #[test]
    fn unit_names() {
        assert_eq!(unit_name("nginx"), "nginx.service");
        assert_eq!(unit_name("docker.socket"), "docker.socket");
    }

    #[test]
    fn systemctl_show_on_debian_12() {
        let text = String::from_utf8(fixture("services/systemctl-show-debian-12.txt")).unwrap();
        let asked: Vec<String> = [
            "cron.service",
            "nginx.service",
            "nope.service",
            "ssh.service",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let units = parse_systemctl(&text, &asked);
        assert_eq!(units.len(), 4);
        assert!(units[0].running() && units[0].enabled());
        assert!(!units[1].running() && !units[1].enabled());
        assert_eq!(units[2].load, "not-found");
        assert!(!units[2].running());
        assert!(units[3].running() && units[3].enabled());
    }

    #[test]
    fn sysv_links() {
        assert_eq!(sysv_link_name("S01nginx"), "nginx");
        assert_eq!(sysv_link_name("S20ssh"), "ssh");
    }
}
