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

pub fn param_probe(name: &str) -> Probe {
    Probe::argv(["cat".to_string(), "--".into(), param_path(name)])
}

pub fn observe_param(
    obs: &Observations<'_>,
    name: &str,
    property: Property,
) -> Result<Observed, Early> {
    let need = Need::KernelParam(name.to_string());
    let out = obs.raw(&need)?;
    let exists = out.status == 0;
    match property {
        Property::Exists => Ok(Value::Bool(exists).into()),
        Property::Value if exists => {
            // Multi-value parameters are tab-separated, as sysctl prints them.
            Ok(Value::Text(stdout_text(out).trim_end_matches('\n').to_string()).into())
        }
        Property::Value => {
            let stderr = out.stderr_excerpt();
            if stderr.contains("No such file") {
                Err(Early::Fail("no such kernel parameter".into()))
            } else {
                Err(Early::Error(obs.failure(&need, out)))
            }
        }
        other => Err(Early::Error(format!(
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
    use crate::resource::testing::fixture;

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
