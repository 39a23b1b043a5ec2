//! `service`: running and enabled, asked of the init system that actually runs.
//!
//! systemd answers for every unit of a spec in one `systemctl show`; OpenRC and
//! SysV are read from their state directories. On a target without a running
//! init system (most containers, images), `enabled` is read from disk — unit
//! links under `*.wants/`, `/etc/rc?.d/S??name` links, OpenRC runlevels — and
//! skipped only when nothing on disk can answer; `running` is judged from the
//! init script's `status` (LSB exit codes) when `/etc/init.d/NAME` exists, then
//! from a pid file, then from the processes of this PID namespace. Each
//! outcome says how it was judged.

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

/// What is on disk about a service's enablement, one fact a line: `dir
/// systemd|sysv|openrc` for each init system whose configuration directory
/// exists, `unit PATH` for a unit file, `masked`, `wants PATH` for a unit
/// link, `initd` for an init script, `rc PATH` for an rc start link, `openrc
/// PATH` for a runlevel entry. `$1` is the service, `$2` its unit. Shell
/// builtins only, but for `readlink` on a unit that is a link.
pub(crate) const ENABLED_ON_DISK: &str = r#"n=$1; u=$2
for d in /etc/systemd/system /run/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
  [ -d "$d" ] && echo "dir systemd"
  if [ -e "$d/$u" ] || [ -h "$d/$u" ]; then echo "unit $d/$u"; fi
done
if [ -h "/etc/systemd/system/$u" ] && [ "$(readlink "/etc/systemd/system/$u")" = /dev/null ]; then echo masked; fi
for l in /etc/systemd/system/*.wants/"$u" /usr/lib/systemd/system/*.wants/"$u" /lib/systemd/system/*.wants/"$u"; do
  if [ -e "$l" ] || [ -h "$l" ]; then echo "wants $l"; fi
done
[ -d /etc/init.d ] && echo "dir sysv"
[ -e "/etc/init.d/$n" ] && echo initd
for l in /etc/rc2.d/S[0-9][0-9]"$n" /etc/rc3.d/S[0-9][0-9]"$n" /etc/rc4.d/S[0-9][0-9]"$n" /etc/rc5.d/S[0-9][0-9]"$n"; do
  if [ -e "$l" ] || [ -h "$l" ]; then echo "rc $l"; fi
done
[ -d /etc/runlevels ] && echo "dir openrc"
for l in /etc/runlevels/*/"$n"; do
  if [ -e "$l" ] || [ -h "$l" ]; then echo "openrc $l"; fi
done
:"#;

/// The script takes the service's name and its unit's ([`unit_name`], the
/// one list of unit suffixes).
pub fn enabled_on_disk_probe(name: &str) -> Probe {
    Probe::script(
        ENABLED_ON_DISK,
        [name.to_string(), unit_name(name)],
        format!(
            "ls /etc/systemd/system/*.wants/{n} /etc/rc[2-5].d/S??{n} /etc/runlevels/*/{n}",
            n = crate::probe::display_word(name)
        ),
    )
}

/// Whether a service runs, without an init system: `lsb CODE` for its init
/// script's `status`; `declares LINE` for each line of its init script or
/// unit file that names its daemon (`DAEMON=`, `NAME=`, `ExecStart=`,
/// OpenRC's `command=`, an `exec`); the boot time (`btime SECONDS`); then
/// `pidfile PID PATH` for each pid file, followed by `stat PID
/// /proc/PID/stat` when that process exists, `exe PID PATH` where its
/// executable can be read, and `mtime PID SECONDS` for the pid file.
const RUNNING_OFFLINE: &str = r#"n=$1; u=$2
if [ -x "/etc/init.d/$n" ]; then "/etc/init.d/$n" status >/dev/null 2>&1; echo "lsb $?"; fi
for f in "/etc/init.d/$n" "/etc/systemd/system/$u" "/lib/systemd/system/$u" "/usr/lib/systemd/system/$u"; do
  [ -f "$f" ] && [ -r "$f" ] || continue
  while IFS= read -r l; do
    case $l in
      DAEMON=*|NAME=*|ExecStart=*|command=*|exec\ *|*[\ \	]exec\ *) printf 'declares %s\n' "$l";;
    esac
  done <"$f"
done
for f in "/run/$n.pid" "/var/run/$n.pid" "/run/$n/$n.pid" "/run/${n}d.pid" "/var/run/${n}d.pid"; do
  [ -r "$f" ] || continue
  p=; read -r p <"$f"
  case $p in ''|*[!0-9]*) continue;; esac
  [ -n "${b:-}" ] || { b=1; while read -r k v; do [ "$k" = btime ] && echo "btime $v"; done </proc/stat; }
  echo "pidfile $p $f"
  st=; read -r st <"/proc/$p/stat" 2>/dev/null || continue
  echo "stat $p $st"
  x=$(readlink "/proc/$p/exe" 2>/dev/null) && echo "exe $p $x"
  m=$(stat -L -c %Y -- "$f" 2>/dev/null) && echo "mtime $p $m"
done
:"#;

/// The names and paths of the daemon a service declares, from the
/// `declares` lines of the offline running probe: `NAME=`, and the executables of
/// `DAEMON=`, `ExecStart=`, `command=` and `exec` (with `$NAME` and
/// `${NAME}` put in), besides the service's own names.
pub fn declared_daemon(name: &str, text: &str) -> (Vec<String>, Vec<String>) {
    let unquote = |v: &str| v.trim().trim_matches(['"', '\'']).to_string();
    let declared: Vec<&str> = lines(text)
        .filter_map(|l| l.strip_prefix("declares "))
        .collect();
    let short = declared
        .iter()
        .find_map(|l| l.trim().strip_prefix("NAME="))
        .map(|v| unquote(v.split_whitespace().next().unwrap_or_default()))
        .filter(|v| !v.is_empty() && !v.contains('$'));
    let mut names: Vec<String> = process_names(name).into();
    names.extend(short.clone());
    let mut paths = Vec::new();
    for l in &declared {
        let l = l.trim();
        let value = if let Some(v) = l.strip_prefix("DAEMON=") {
            unquote(v.split_whitespace().next().unwrap_or_default())
        } else if let Some(v) = l.strip_prefix("ExecStart=") {
            // Prefixes that change how systemd runs it: `-`, `@`, `:`, `+`, `!`.
            v.trim_start_matches(['-', '@', ':', '+', '!'])
                .split_whitespace()
                .next()
                .map(unquote)
                .unwrap_or_default()
        } else if let Some(v) = l.strip_prefix("command=") {
            unquote(v.split_whitespace().next().unwrap_or_default())
        } else if let Some((_, v)) = l.split_once("exec ") {
            v.split_whitespace().next().map(unquote).unwrap_or_default()
        } else {
            continue;
        };
        let value = match &short {
            Some(n) => value.replace("${NAME}", n).replace("$NAME", n),
            None => value,
        };
        if value.is_empty() || value.contains('$') || value.starts_with('-') {
            continue;
        }
        if let Some(base) = value.rsplit('/').next().filter(|b| !b.is_empty()) {
            if !names.iter().any(|n| n == base) {
                names.push(base.to_string());
            }
        }
        if value.starts_with('/') && !paths.contains(&value) {
            paths.push(value);
        }
    }
    (names, paths)
}

/// A pid file's process as `/proc/PID/stat` shows it: its name (comm, which
/// may hold spaces and parentheses), its state letter and its start time in
/// clock ticks after boot.
fn stat_name_state(stat: &str) -> Option<(&str, &str, Option<u64>)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?;
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let state = rest.next()?;
    // Field 22 (starttime); the state is field 3.
    let start = rest.nth(18).and_then(|t| t.parse().ok());
    Some((name, state, start))
}

/// Clock ticks a second as `/proc/PID/stat` counts them (`USER_HZ`, 100 on
/// every architecture Linux containers run on).
const USER_HZ: u64 = 100;

pub fn running_offline_probe(name: &str) -> Probe {
    Probe::script(
        RUNNING_OFFLINE,
        [name.to_string(), unit_name(name)],
        format!(
            "/etc/init.d/{n} status; cat /run/{n}.pid",
            n = crate::probe::display_word(name)
        ),
    )
}

/// What is on disk about whether a service is enabled, parsed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OnDisk {
    pub systems: Vec<String>,
    pub known: bool,
    pub masked: bool,
    pub links: Vec<String>,
}

pub fn parse_on_disk(text: &str) -> OnDisk {
    let mut d = OnDisk::default();
    for line in lines(text) {
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "dir" if !d.systems.iter().any(|s| s == rest) => d.systems.push(rest.to_string()),
            "unit" | "initd" => d.known = true,
            "masked" => d.masked = true,
            "wants" | "rc" | "openrc" => d.links.push(rest.to_string()),
            _ => {}
        }
    }
    d
}

/// `S01nginx` is `nginx`.
fn sysv_link_name(link: &str) -> &str {
    let rest = link.strip_prefix('S').unwrap_or(link);
    rest.trim_start_matches(|c: char| c.is_ascii_digit())
}

pub fn needs(name: &str, property: Property, init: InitSystem) -> Vec<Need> {
    match (init, property) {
        (InitSystem::Systemd, _) => vec![Need::SystemdUnit(unit_name(name))],
        (InitSystem::OpenRc | InitSystem::SysV, Property::Masked) => vec![],
        (InitSystem::OpenRc, Property::Running) => vec![Need::OpenRcStarted],
        (InitSystem::OpenRc, _) => vec![Need::OpenRcRunlevels],
        (InitSystem::SysV, Property::Running) => vec![Need::SysvStatus(name.to_string())],
        (InitSystem::SysV, _) => vec![Need::SysvRunlevels],
        (InitSystem::None, Property::Running) => vec![
            Need::ServiceRunningOffline(name.to_string()),
            Need::Processes,
        ],
        (InitSystem::None, _) => vec![Need::ServiceEnabledOnDisk(name.to_string())],
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
            let given = given!(obs, &need, Units);
            let units = given.unwrap_or_else(|| {
                obs.cached_for(&obs.units, &need, || {
                    let out = obs.ok(&need)?;
                    let probe = obs.probe_of(&need).expect("planned");
                    let asked: Vec<String> = probe
                        .argv_slice()
                        .iter()
                        .skip(SYSTEMCTL_ARGS.len() + 1)
                        .cloned()
                        .collect();
                    Ok(parse_systemctl(&stdout_text(out), &asked))
                })
            })?;
            let st = units
                .iter()
                .find(|u| u.unit == unit)
                .ok_or_else(|| Early::Error(format!("systemctl show gave no answer for {unit}")))?;
            let value = match property {
                Property::Running => st.running(),
                Property::Masked => st.file_state.starts_with("masked"),
                _ => st.enabled(),
            };
            let note = (st.load == "not-found").then(|| format!("unit {unit} not found"));
            return Ok(Observed {
                value: Value::Bool(value),
                note,
            });
        }
        (InitSystem::OpenRc | InitSystem::SysV, Property::Masked) => {
            return Ok(Observed {
                value: Value::Bool(false),
                note: Some(format!("{} has no masking", init.as_str())),
            })
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
        (InitSystem::None, Property::Running) => return running_offline(obs, name),
        (InitSystem::None, Property::Masked) => {
            let d = obs.on_disk(name)?;
            return Ok(Observed {
                value: Value::Bool(d.masked),
                note: Some(
                    "no init system running: judged from disk (a unit linked to /dev/null)".into(),
                ),
            });
        }
        (InitSystem::None, _) => return enabled_on_disk(obs, name),
    };
    Ok(Value::Bool(state).into())
}

/// `enabled` where no init system runs: from what is on disk.
fn enabled_on_disk(obs: &Observations<'_>, name: &str) -> Result<Observed, Early> {
    let d = obs.on_disk(name)?;
    if d.systems.is_empty() {
        return Err(Early::Skip(
            "no init system on this target, and nothing on disk can tell (no systemd unit directories, /etc/init.d or /etc/runlevels)".into(),
        ));
    }
    let (value, how) = if d.masked {
        (
            false,
            "masked (its unit is a link to /dev/null)".to_string(),
        )
    } else if !d.links.is_empty() {
        (true, format!("linked from {}", d.links.join(", ")))
    } else if d.known {
        (
            false,
            "no unit link, rc start link or runlevel entry".into(),
        )
    } else {
        (
            false,
            format!(
                "no unit file or init script for it ({})",
                d.systems.join(", ")
            ),
        )
    };
    Ok(Observed {
        value: Value::Bool(value),
        note: Some(format!("no init system running: judged from disk: {how}")),
    })
}

/// `running` where no init system runs. A pid file whose live process is
/// the service's daemon (its name or executable is one the service declares:
/// [`declared_daemon`]) is proof that it runs, whatever the init script's
/// `status` says (a status that needs a capability the container lacks says
/// "dead"); then the init script's LSB status; then a pid file whose process
/// is gone, a zombie or started after the file was written (the PID was
/// reused) says it does not run; a pid file naming another live process
/// cannot tell, an error; then the processes of this PID namespace.
fn running_offline(obs: &Observations<'_>, name: &str) -> Result<Observed, Early> {
    let out = obs.ok(&Need::ServiceRunningOffline(name.to_string()))?;
    let text = stdout_text(out);
    let judged = |value: bool, how: String| {
        Ok(Observed {
            value: Value::Bool(value),
            note: Some(format!("no init system running: judged by {how}")),
        })
    };
    let (names, paths) = declared_daemon(name, &text);
    let mut lsb = None;
    let mut stale = None;
    let mut unknown = None;
    let mut boot = None;
    let all: Vec<&str> = lines(&text).collect();
    for (at, line) in all.iter().enumerate() {
        let words: Vec<&str> = line.splitn(3, ' ').collect();
        match words.as_slice() {
            // LSB: 0 running, 1 dead with a pid file, 2 dead with a lock, 3
            // not running; anything else (4, unknown) does not answer.
            ["lsb", code @ ("0" | "1" | "2" | "3")] => lsb = Some(*code),
            ["btime", secs] => boot = secs.parse::<u64>().ok(),
            ["pidfile", pid, path] => {
                let after = |kind: &str| {
                    all.get(at + 1..)
                        .into_iter()
                        .flatten()
                        .take(3)
                        .find_map(|l| l.strip_prefix(&format!("{kind} {pid} ")))
                };
                let mtime = after("mtime").and_then(|m| m.trim().parse::<u64>().ok());
                let exe = after("exe").map(str::trim);
                match after("stat").and_then(stat_name_state) {
                    None => {
                        stale.get_or_insert(format!("the pid file {path} (process {pid} is gone)"));
                    }
                    Some((_, "Z" | "X" | "x", _)) => {
                        stale.get_or_insert(format!(
                            "the pid file {path} (process {pid} has exited: a zombie)"
                        ));
                    }
                    Some((comm, _, _))
                        if names.iter().any(|n| process::name_matches(comm, n))
                            || exe.is_some_and(|e| paths.iter().any(|p| p == e)) =>
                    {
                        return judged(
                            true,
                            format!(
                                "the pid file {path} (process {pid}, {comm}, the service's daemon, is alive)"
                            ),
                        )
                    }
                    Some((comm, _, start)) => {
                        let started = boot.zip(start).map(|(b, t)| b + t / USER_HZ);
                        match (started, mtime) {
                            // Two seconds for the clocks' rounding.
                            (Some(s), Some(m)) if s > m + 2 => {
                                stale.get_or_insert(format!(
                                    "the pid file {path} (process {pid}, {comm}, started after \
                                     the file was written: the PID was reused)"
                                ));
                            }
                            _ => {
                                unknown.get_or_insert(format!(
                                    "the pid file {path} names process {pid} ({comm}{}), which is not \
                                     the daemon {name} declares ({}): whether {name} runs cannot be told",
                                    exe.map(|e| format!(", {e}")).unwrap_or_default(),
                                    names
                                        .iter()
                                        .chain(paths.iter())
                                        .map(String::as_str)
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    match lsb {
        Some("0") => return judged(true, format!("/etc/init.d/{name} status (exit 0)")),
        Some(code) => return judged(false, format!("/etc/init.d/{name} status (exit {code})")),
        None => {}
    }
    if let Some(how) = stale {
        return judged(false, how);
    }
    if let Some(why) = unknown {
        return Err(Early::Error(why));
    }
    // By name only the service's own names count (an executable it
    // declares may be a shared interpreter).
    let own = process_names(name);
    let procs = process::table(obs)?;
    let running = procs
        .iter()
        .filter(|p| p.ns_depth <= 1)
        .any(|p| own.iter().any(|n| process::name_matches(&p.name, n)));
    judged(
        running,
        format!(
            "the process table of this PID namespace (a process named {} or {})",
            own[0], own[1]
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

    #[test]
    fn enablement_on_disk() {
        let d = parse_on_disk(
            "dir systemd\ndir systemd\nunit /lib/systemd/system/nginx.service\nwants /etc/systemd/system/multi-user.target.wants/nginx.service\ndir sysv\ninitd\nrc /etc/rc2.d/S01nginx\n",
        );
        assert_eq!(d.systems, ["systemd", "sysv"]);
        assert!(d.known && !d.masked);
        assert_eq!(d.links.len(), 2);
        assert_eq!(parse_on_disk(""), OnDisk::default());
    }

    #[test]
    fn pid_file_processes_are_read_from_their_stat() {
        let debian12 = "42 (nginx) S 1 42 42 0 -1 4194560 1095 0 0 0 3 1 0 0 20 0 1 0 8311 11743232 381 18446744073709551615";
        assert_eq!(stat_name_state(debian12), Some(("nginx", "S", Some(8311))));
        assert_eq!(
            stat_name_state("7 (a) (b)) Z 1 7"),
            Some(("a) (b)", "Z", None))
        );
        assert_eq!(stat_name_state("garbage"), None);
    }

    #[test]
    fn unit_names() {
        assert_eq!(unit_name("nginx"), "nginx.service");
        assert_eq!(unit_name("docker.socket"), "docker.socket");
        assert_eq!(
            unit_name("proc-sys-fs-binfmt_misc.automount"),
            "proc-sys-fs-binfmt_misc.automount"
        );
        assert_eq!(unit_name("user.slice"), "user.slice");
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

    #[test]
    fn the_daemon_a_service_declares_is_read_from_its_script_and_unit() {
        let text = "lsb 1\ndeclares NAME=dnsmasq\ndeclares DAEMON=/usr/sbin/$NAME\n\
                    declares ExecStart=-/usr/sbin/dnsmasq -k\ndeclares \texec /opt/x/bin/runner \"$@\"\n\
                    declares command=\"/usr/bin/other\"\n";
        let (names, paths) = declared_daemon("dns", text);
        assert_eq!(names, ["dns", "dnsd", "dnsmasq", "runner", "other"]);
        assert_eq!(
            paths,
            ["/usr/sbin/dnsmasq", "/opt/x/bin/runner", "/usr/bin/other"]
        );
    }
}
