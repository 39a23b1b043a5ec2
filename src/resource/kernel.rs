//! `kernel_param` (sysctl values from `/proc/sys`) and `kernel_module` (loaded
//! modules from `/proc/modules`; where that is missing, as in some containers
//! and kernels built without module support, the modules under `/sys/module`,
//! loaded or built in).

use super::{stdout_text, Early, Need, Observations, Observed};
use crate::matcher::Value;
use crate::probe::Probe;
use crate::spec::Property;

/// `net.ipv4.ip_forward` is `/proc/sys/net/ipv4/ip_forward`. The name was
/// checked to hold no `..` when the spec was loaded.
pub fn param_path(name: &str) -> String {
    format!("/proc/sys/{}", name.replace('.', "/"))
}

/// Reads a parameter: exit 2 when there is none, 3 when it is there but
/// the checking user may not read it (a 0600 entry), else `cat`'s status.
const PARAM: &str = r#"if [ ! -e "$1" ]; then exit 2; fi
if [ ! -r "$1" ]; then exit 3; fi
exec cat -- "$1""#;

pub fn param_probe(name: &str) -> Probe {
    let path = param_path(name);
    let shown = format!("cat -- {}", crate::probe::display_word(&path));
    Probe::script(PARAM, [path], shown)
}

pub fn observe_param(
    obs: &Observations<'_>,
    name: &str,
    property: Property,
) -> Result<Observed, Early> {
    let need = Need::KernelParam(name.to_string());
    let out = obs.raw(&need)?;
    match (property, out.status) {
        (Property::Exists, 0 | 3) => Ok(Value::Bool(true).into()),
        (Property::Exists, 2) => Ok(Value::Bool(false).into()),
        (Property::Value, 2) => Err(Early::Fail("no such kernel parameter".into())),
        (Property::Value, 0) => {
            // Multi-value parameters are tab-separated, as sysctl prints them.
            Ok(Value::Text(stdout_text(out).trim_end_matches('\n').to_string()).into())
        }
        (Property::Value, 3) => Err(Early::Error(format!(
            "permission denied: the checking user may not read {} (check as root: ?sudo=true)",
            param_path(name)
        ))),
        (Property::Exists | Property::Value, _) => Err(obs.failure(&need, out).into()),
        (other, _) => Err(Early::Error(format!(
            "kernel_param has no property {other}"
        ))),
    }
}

/// Prints `/proc/modules`, or where it cannot be read a line `#sys` and the
/// names under `/sys/module`, one a line (shell builtins only but `cat`).
pub const MODULES: &str = r#"cat /proc/modules 2>/dev/null && exit 0
echo '#sys'
for d in /sys/module/*; do [ -d "$d" ] && echo "${d##*/}"; done
:"#;

pub fn modules_probe() -> Probe {
    Probe::script(
        MODULES,
        Vec::<String>::new(),
        "cat /proc/modules (or ls /sys/module)",
    )
}

/// Names of loaded modules in `/proc/modules`, or of the modules listed
/// under `/sys/module` (after a `#sys` line).
pub fn parse_modules(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| *l != "#sys")
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

pub fn observe_module(obs: &Observations<'_>, name: &str) -> Result<Observed, Early> {
    let out = obs.ok(&Need::KernelModules)?;
    let text = stdout_text(out);
    // The kernel writes module names with underscores; modprobe accepts dashes.
    let wanted = name.replace('-', "_");
    let value = Value::Bool(parse_modules(&text).contains(&wanted.as_str()));
    if text.starts_with("#sys") {
        return Ok(Observed {
            value,
            note: Some("no /proc/modules: judged from /sys/module (loaded or built in)".into()),
        });
    }
    Ok(value.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

    #[test]
    fn param_paths() {
        assert_eq!(
            param_path("net.ipv4.ip_forward"),
            "/proc/sys/net/ipv4/ip_forward"
        );
        assert_eq!(param_path("kernel/ostype"), "/proc/sys/kernel/ostype");
    }

    #[test]
    fn modules_from_sys_module_where_proc_modules_is_missing() {
        let mods = parse_modules("#sys\nbr_netfilter\nvt\nkernel\n");
        assert!(mods.contains(&"vt") && !mods.contains(&"#sys"));
    }

    /// The probe under a real sh, with its /proc/modules branch taken here.
    #[test]
    fn the_modules_probe_runs_under_sh() {
        let out = std::process::Command::new("sh")
            .args(["-c", MODULES])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(!parse_modules(&String::from_utf8_lossy(&out.stdout)).is_empty());
    }

    #[test]
    fn modules_from_debian_12() {
        let text = String::from_utf8(fixture("proc/modules-debian-12.txt")).unwrap();
        let mods = parse_modules(&text);
        assert!(mods.contains(&"overlay"));
        assert!(mods.contains(&"br_netfilter"));
    }
}
