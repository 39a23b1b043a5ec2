//! Where and how to reach a host, from its Ansible connection variables, as
//! ansible-core's connection plugins read them. Each variable that changes
//! where or how infraspec connects is honoured or refused with an error
//! naming it; none is dropped in silence.
//!
//! | variable | becomes |
//! |---|---|
//! | `ansible_connection` | `ssh` (default; also `smart`, `paramiko`), `local`, `docker`, `podman` (their collection names too); anything else is refused |
//! | `ansible_host`, `ansible_ssh_host` | the address (the last set wins, as in Ansible) |
//! | `ansible_port`, `ansible_ssh_port` | the SSH port |
//! | `ansible_user`, `ansible_ssh_user` | the SSH user (for containers: `?user=`) |
//! | `ansible_private_key_file`, `ansible_ssh_private_key_file` | `?identity=` |
//! | `ansible_become` (Ansible's booleans) | `?sudo=true` |
//! | `ansible_become_user` | `?sudo_user=` |
//! | `ansible_become_method` | only `sudo`; anything else is refused |
//! | `ansible_ssh_common_args`, `ansible_ssh_extra_args`, `ansible_ssh_args` | their `-o ProxyJump`, `-o ProxyCommand`, `-o UserKnownHostsFile`, `-o StrictHostKeyChecking`, `-o ConnectTimeout`, `-J`, `-F` applied; `-o Port/User/IdentityFile` (`-p`, `-l`, `-i`) where the variable above is not set, as ssh takes the first; options that change neither the route nor the host key check (`ControlMaster`, `ServerAliveInterval`…) left out; anything else refused |
//! | `ansible_host_key_checking: false` | refused: infraspec always checks host keys |
//!
//! Passwords (`ansible_password`, `ansible_become_password`…) are never
//! read from an inventory: they come from the environment
//! (`INFRASPEC_SSH_PASSWORD`, `INFRASPEC_SUDO_PASSWORD`). A connection
//! variable that holds a Jinja template (`{{ … }}`) is refused: Ansible
//! renders it when it connects, and infraspec renders no templates.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::values;
use super::Vars;
use crate::model::target::{Engine, Target};

/// The value of the last of `names` that is set, as Ansible's
/// configuration reads a list of variables (the last one found wins).
fn last<'v, 'n>(vars: &'v Vars, names: &[&'n str]) -> Option<(&'n str, &'v Arc<Value>)> {
    names
        .iter()
        .rev()
        .find_map(|n| vars.get(*n).map(|v| (*n, v)))
}

/// A connection variable as text; a template is refused.
fn text(name: &str, value: &Value) -> Result<String, String> {
    let t = values::text(value);
    if t.contains("{{") || t.contains("{%") {
        return Err(format!(
            "{name} is a Jinja template ({t:?}), which Ansible renders when it connects and infraspec does not"
        ));
    }
    Ok(t)
}

fn text_of(vars: &Vars, names: &[&str]) -> Result<Option<String>, String> {
    last(vars, names).map(|(n, v)| text(n, v)).transpose()
}

/// `~/x` as Ansible reads it: under the home directory.
fn home(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(h)) => format!("{}/{rest}", h.trim_end_matches('/')),
        _ => path.to_string(),
    }
}

/// What a host's connection variables say: its target.
pub fn target_of(name: &str, vars: &Vars) -> Result<Target, String> {
    for checking in ["ansible_host_key_checking", "ansible_ssh_host_key_checking"] {
        if let Some(v) = vars.get(checking) {
            if !values::boolean(v).map_err(|e| format!("{checking}: {e}"))? {
                return Err(format!(
                    "{checking} is false: infraspec always checks host keys (add the key to known_hosts, or use --ssh-accept-new for hosts not seen yet)"
                ));
            }
        }
    }
    let connection = text_of(vars, &["ansible_connection"])?.unwrap_or_else(|| "ssh".into());
    match connection.as_str() {
        "local" | "ansible.builtin.local" => Ok(Target::Local),
        "docker" | "community.docker.docker" | "community.docker.docker_api" => {
            container(name, vars, Engine::Docker, "docker")
        }
        "podman" | "containers.podman.podman" => container(name, vars, Engine::Podman, "podman"),
        "ssh"
        | "smart"
        | "paramiko"
        | "paramiko_ssh"
        | "ansible.builtin.ssh"
        | "ansible.builtin.paramiko_ssh" => ssh(name, vars),
        other => Err(format!(
            "ansible_connection {other:?} is not one infraspec reaches (ssh, local, docker, podman)"
        )),
    }
}

fn container(name: &str, vars: &Vars, engine: Engine, kind: &str) -> Result<Target, String> {
    let extra = format!("ansible_{kind}_extra_args");
    if vars.contains_key(&extra) || vars.contains_key("ansible_docker_docker_host") {
        return Err(format!(
            "{} sets how {kind} is run (an engine elsewhere, say), which infraspec does not read: infraspec uses the engine DOCKER_HOST or CONTAINER_HOST names",
            if vars.contains_key(&extra) { extra.as_str() } else { "ansible_docker_docker_host" }
        ));
    }
    let host_var = format!("ansible_{kind}_host");
    let user_var = format!("ansible_{kind}_user");
    let container =
        text_of(vars, &["ansible_host", host_var.as_str()])?.unwrap_or_else(|| name.to_string());
    let mut options = BTreeMap::new();
    if let Some(u) = text_of(vars, &["ansible_user", user_var.as_str()])? {
        options.insert("user".to_string(), u);
    }
    become_options(vars, &mut options)?;
    if options.contains_key("sudo") {
        return Err(format!(
            "ansible_become on a {kind} connection: infraspec checks a container as its user (ansible_user); it does not run sudo in it"
        ));
    }
    Ok(Target::DockerContainer {
        engine,
        container,
        options,
    })
}

fn become_options(vars: &Vars, options: &mut BTreeMap<String, String>) -> Result<(), String> {
    let become_ = match vars.get("ansible_become") {
        Some(v) => values::boolean(v).map_err(|e| format!("ansible_become: {e}"))?,
        None => false,
    };
    if !become_ {
        return Ok(());
    }
    if let Some(method) = text_of(vars, &["ansible_become_method"])? {
        if method != "sudo" && method != "ansible.builtin.sudo" {
            return Err(format!(
                "ansible_become_method {method:?}: infraspec escalates with sudo only"
            ));
        }
    }
    options.insert("sudo".to_string(), "true".to_string());
    if let Some(u) = text_of(vars, &["ansible_become_user"])? {
        if u != "root" {
            options.insert("sudo_user".to_string(), u);
        }
    }
    Ok(())
}

fn ssh(name: &str, vars: &Vars) -> Result<Target, String> {
    let host =
        text_of(vars, &["ansible_host", "ansible_ssh_host"])?.unwrap_or_else(|| name.to_string());
    let port = match last(vars, &["ansible_port", "ansible_ssh_port"]) {
        Some((n, v)) => {
            let t = text(n, v)?;
            Some(
                t.trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("{n} {t:?} is not a port number"))?,
            )
        }
        None => None,
    };
    let mut user = text_of(vars, &["ansible_user", "ansible_ssh_user"])?;
    let mut options = BTreeMap::new();
    if let Some(key) = text_of(
        vars,
        &["ansible_private_key_file", "ansible_ssh_private_key_file"],
    )? {
        options.insert("identity".to_string(), home(&key));
    }
    become_options(vars, &mut options)?;
    let mut port = port;
    // ssh takes the first value of each option: Ansible puts its own port,
    // key and user before these arguments.
    for var in [
        "ansible_ssh_args",
        "ansible_ssh_common_args",
        "ansible_ssh_extra_args",
    ] {
        if let Some(v) = vars.get(var) {
            let args = text(var, v)?;
            ssh_args(var, &args, &mut options, &mut port, &mut user)?;
        }
    }
    Ok(Target::Ssh {
        user,
        host,
        port,
        options,
    })
}

/// `-o` options of ssh that change neither where it connects nor how it
/// checks the host: left out.
const HARMLESS: &[&str] = &[
    "controlmaster",
    "controlpersist",
    "controlpath",
    "serveraliveinterval",
    "serveralivecountmax",
    "compression",
    "loglevel",
    "tcpkeepalive",
    "forwardagent",
    "forwardx11",
    "preferredauthentications",
    "passwordauthentication",
    "pubkeyauthentication",
    "kbdinteractiveauthentication",
    "gssapiauthentication",
    "identitiesonly",
    "addkeystoagent",
    "requesttty",
    "batchmode",
    "connectionattempts",
    "hashknownhosts",
    "visualhostkey",
    "ciphers",
    "macs",
    "kexalgorithms",
    "hostkeyalgorithms",
    "pubkeyacceptedalgorithms",
    "pubkeyacceptedkeytypes",
    "updatehostkeys",
];

/// Applies what the ssh arguments in `var` say.
fn ssh_args(
    var: &str,
    args: &str,
    options: &mut BTreeMap<String, String>,
    port: &mut Option<u16>,
    user: &mut Option<String>,
) -> Result<(), String> {
    let words = super::shlex_words(args).map_err(|e| format!("{var}: {e}"))?;
    let mut it = words.into_iter();
    let refuse = |what: &str| {
        Err(format!(
            "{var} has {what}, which changes where or how infraspec connects and which it cannot honour"
        ))
    };
    while let Some(w) = it.next() {
        let (flag, attached) = if w.len() > 2 && w.starts_with('-') && !w.starts_with("--") {
            (w[..2].to_string(), Some(w[2..].to_string()))
        } else {
            (w.clone(), None)
        };
        let mut value = |what: &str| -> Result<String, String> {
            attached
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{var}: {what} without its value"))
        };
        match flag.as_str() {
            "-o" => {
                let option = value("-o")?;
                let (k, v) = option
                    .split_once(['=', ' '])
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .ok_or_else(|| format!("{var}: -o {option:?} is not Key=Value"))?;
                ssh_option(var, &k, &v, options, port, user)?;
            }
            "-J" => ssh_option(var, "proxyjump", &value("-J")?, options, port, user)?,
            "-F" => {
                let f = value("-F")?;
                options.entry("ssh_config".into()).or_insert(home(&f));
            }
            "-p" => ssh_option(var, "port", &value("-p")?, options, port, user)?,
            "-l" => ssh_option(var, "user", &value("-l")?, options, port, user)?,
            "-i" => ssh_option(var, "identityfile", &value("-i")?, options, port, user)?,
            "-C" | "-q" | "-v" | "-vv" | "-vvv" | "-A" | "-a" | "-T" | "-t" | "-x" | "-X"
            | "-Y" | "-n" | "-N" | "-g" | "-K" | "-k" => {}
            other => return refuse(&format!("the argument {other:?}")),
        }
    }
    Ok(())
}

fn ssh_option(
    var: &str,
    key: &str,
    value: &str,
    options: &mut BTreeMap<String, String>,
    port: &mut Option<u16>,
    user: &mut Option<String>,
) -> Result<(), String> {
    if value.contains("{{") {
        return Err(format!(
            "{var}: {key} is a Jinja template ({value:?}), which infraspec does not render"
        ));
    }
    match key {
        "proxyjump" => {
            options.entry("jump".into()).or_insert(if value.eq_ignore_ascii_case("none") {
                String::new()
            } else {
                value.to_string()
            });
        }
        "proxycommand" => {
            options
                .entry("proxy_command".into())
                .or_insert(value.to_string());
        }
        "userknownhostsfile" => {
            let first = value.split_whitespace().next().unwrap_or(value);
            options
                .entry("known_hosts".into())
                .or_insert(home(first));
        }
        "stricthostkeychecking" => match value.to_ascii_lowercase().as_str() {
            "yes" | "ask" | "true" => {}
            "accept-new" => {
                options
                    .entry("accept_new".into())
                    .or_insert("true".into());
            }
            other => {
                return Err(format!(
                    "{var}: StrictHostKeyChecking={other}: infraspec always checks host keys (accept-new is the most it relaxes)"
                ))
            }
        },
        "connecttimeout" => {
            options
                .entry("connect_timeout".into())
                .or_insert(format!("{}s", value.trim()));
        }
        "port" => {
            if port.is_none() {
                *port = Some(
                    value
                        .parse()
                        .map_err(|_| format!("{var}: Port {value:?} is not a port number"))?,
                );
            }
        }
        "user" => {
            if user.is_none() {
                *user = Some(value.to_string());
            }
        }
        "identityfile" => {
            options.entry("identity".into()).or_insert(home(value));
        }
        k if HARMLESS.contains(&k) => {}
        other => {
            return Err(format!(
                "{var} sets {other}, which changes where or how infraspec connects and which it cannot honour"
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, Value)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Arc::new(v.clone())))
            .collect()
    }

    #[test]
    fn the_last_variable_set_wins_and_args_fill_in() {
        let t = target_of(
            "web1",
            &vars(&[
                ("ansible_host", "a.example".into()),
                ("ansible_ssh_host", "b.example".into()),
                ("ansible_port", 22.into()),
                ("ansible_ssh_port", "2222".into()),
                ("ansible_become", "y".into()),
                ("ansible_become_user", "app".into()),
                (
                    "ansible_ssh_common_args",
                    "-o ProxyJump=bastion -o StrictHostKeyChecking=accept-new -o ControlMaster=auto -o User=fallback".into(),
                ),
            ]),
        )
        .unwrap();
        assert_eq!(
            t.with_options(),
            "ssh://fallback@b.example:2222?accept_new=true&jump=bastion&sudo=true&sudo_user=app"
        );
    }

    #[test]
    fn what_cannot_be_honoured_is_refused() {
        for (k, v, says) in [
            ("ansible_connection", "winrm", "not one infraspec reaches"),
            ("ansible_become_method", "su", "sudo only"),
            (
                "ansible_ssh_extra_args",
                "-o HostName=elsewhere",
                "hostname",
            ),
            (
                "ansible_ssh_common_args",
                "-o StrictHostKeyChecking=no",
                "always checks host keys",
            ),
            (
                "ansible_host_key_checking",
                "False",
                "always checks host keys",
            ),
            (
                "ansible_host",
                "{{ inventory_hostname }}.x",
                "Jinja template",
            ),
            ("ansible_ssh_args", "-4", "\"-4\""),
        ] {
            let mut pairs = vec![(k, Value::from(v))];
            if k == "ansible_become_method" {
                pairs.push(("ansible_become", true.into()));
            }
            let e = target_of("h", &vars(&pairs)).unwrap_err();
            assert!(e.contains(says), "{k}={v}: {e}");
        }
        let e = target_of("h", &vars(&[("ansible_become", "maybe".into())])).unwrap_err();
        assert!(e.contains("not a boolean"), "{e}");
    }

    #[test]
    fn containers_and_local() {
        let t = target_of(
            "app",
            &vars(&[
                ("ansible_connection", "community.docker.docker".into()),
                ("ansible_docker_host", "app-1".into()),
                ("ansible_user", "www".into()),
            ]),
        )
        .unwrap();
        assert_eq!(t.with_options(), "docker://app-1?user=www");
        let t = target_of("x", &vars(&[("ansible_connection", "local".into())])).unwrap();
        assert_eq!(t, Target::Local);
    }
}
