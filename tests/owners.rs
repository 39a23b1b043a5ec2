//! The owners' tools are the oracles (issue 41): infraspec reads
//! inventories as `ansible-inventory --list` (ansible-core) reads them, and
//! ssh_config as `ssh -G` (OpenSSH) reads it, on corpora kept under
//! tests/fixtures. Equal, or a difference documented in docs/targets.md.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    all.sort();
    all
}

/// The inventory file of a corpus case.
fn inventory_of(case: &Path) -> String {
    let mut files: Vec<String> = std::fs::read_dir(case)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("hosts") || n.starts_with("inventory"))
        .collect();
    files.sort();
    files
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{}: no inventory file", case.display()))
}

/// Numbers compared as numbers (1000 and 1000.0 are one value).
fn normal(v: &Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.iter().map(normal).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), normal(v))).collect()),
        other => other.clone(),
    }
}

type Groups = std::collections::BTreeMap<String, (Vec<String>, Vec<String>)>;

/// Hosts' variables (none for a host Ansible lists without any) and each
/// group's hosts and children, as sets.
fn shape(doc: &Value) -> (std::collections::BTreeMap<String, Value>, Groups) {
    let mut hostvars = std::collections::BTreeMap::new();
    for (h, vars) in doc["_meta"]["hostvars"].as_object().into_iter().flatten() {
        let mut vars = vars.clone();
        if let Some(o) = vars.as_object_mut() {
            o.remove("infraspec_target");
        }
        hostvars.insert(h.clone(), normal(&vars));
    }
    let mut groups = Groups::new();
    for (g, body) in doc.as_object().into_iter().flatten() {
        if g == "_meta" {
            continue;
        }
        let list = |k: &str| {
            let mut v: Vec<String> = body[k]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            v.sort();
            v
        };
        groups.insert(g.clone(), (list("hosts"), list("children")));
    }
    // Hosts with no variables: Ansible leaves them out of hostvars.
    for (hosts, _) in groups.values() {
        for h in hosts {
            hostvars
                .entry(h.clone())
                .or_insert_with(|| serde_json::json!({}));
        }
    }
    (hostvars, groups)
}

fn ansible_inventories_read_as_ansible_reads_them() {
    let cases = fixtures("inventories");
    assert!(cases.len() >= 20, "{} inventories", cases.len());
    let home = support::temp_dir();
    std::fs::write(home.path().join("ansible.cfg"), "[defaults]\n").unwrap();
    let failures = std::sync::Mutex::new(Vec::new());
    // Two at a time: each ansible-inventory takes most of a second.
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                if let Err(e) = compare_inventory(case, home.path()) {
                    failures.lock().unwrap().push(e);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One corpus case through both readers: equal, or both refuse it.
fn compare_inventory(case: &Path, home: &Path) -> Result<(), String> {
    {
        let file = inventory_of(case);
        let ansible = Command::new(support::harness::ansible_inventory())
            .args(["-i", &file, "--list"])
            .current_dir(case)
            .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "1")
            .env("ANSIBLE_HOME", home)
            .env("ANSIBLE_LOCAL_TEMP", home)
            .env("ANSIBLE_CONFIG", home.join("ansible.cfg"))
            .output()
            .expect("ansible-inventory");
        let ours = Command::new(support::bin())
            .args(["inventory", "-i", &file, "--list"])
            .current_dir(case)
            .output()
            .unwrap();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        match (ansible.status.success(), ours.status.success()) {
            (true, true) => {}
            (false, false) => return Ok(()),
            _ => {
                return Err(format!(
                    "{name}: ansible {} / infraspec {}:\n{}\n{}",
                    ansible.status,
                    ours.status,
                    support::text(&ansible.stderr),
                    support::text(&ours.stderr)
                ));
            }
        }
        let theirs: Value = serde_json::from_slice(&ansible.stdout)
            .unwrap_or_else(|e| panic!("{name}: ansible-inventory printed no JSON: {e}"));
        let mine: Value = serde_json::from_slice(&ours.stdout)
            .unwrap_or_else(|e| panic!("{name}: infraspec printed no JSON: {e}"));
        let (theirs, mine) = (shape(&theirs), shape(&mine));
        if theirs != mine {
            return Err(format!(
                "{name}:\n  ansible:   {theirs:?}\n  infraspec: {mine:?}"
            ));
        }
        // Every host has a target.
        let listed: Value = serde_json::from_slice(&ours.stdout).unwrap();
        for (h, vars) in listed["_meta"]["hostvars"].as_object().unwrap() {
            if !vars["infraspec_target"].is_string() {
                return Err(format!("{name}: {h} has no infraspec_target"));
            }
        }
        Ok(())
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    for e in entries {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Runs `argv` with the case's home over /root and its `etc` over /etc/ssh,
/// in a mount namespace of its own: `ssh -G` reads the passwd entry's home,
/// and nothing of this machine's own ssh_config may leak in.
fn in_case_namespace(dir: &Path, argv: &[&str]) -> std::process::Output {
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount --bind "$1" /root && mount --bind "$2" /etc/ssh && shift 2 && exec "$@""#)
        .arg("sh")
        .arg(dir.join("home"))
        .arg(dir.join("etc"))
        .args(argv)
        .env("HOME", "/root")
        .env("USER", "root")
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("unshare")
}

/// The settings infraspec takes from ssh_config, out of `ssh -G`'s or
/// `infraspec ssh-config`'s lines.
fn ssh_settings(out: &[u8]) -> std::collections::BTreeMap<String, Vec<String>> {
    const KEYS: &[&str] = &[
        "hostname",
        "user",
        "port",
        "identityfile",
        "userknownhostsfile",
        "globalknownhostsfile",
        "stricthostkeychecking",
        "connecttimeout",
        "addressfamily",
        "proxyjump",
        "proxycommand",
    ];
    let mut map = std::collections::BTreeMap::<String, Vec<String>>::new();
    for line in support::text(out).lines() {
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        let k = k.to_ascii_lowercase();
        if !KEYS.contains(&k.as_str()) {
            continue;
        }
        // infraspec's default is 10 s where OpenSSH has none.
        let v = match (k.as_str(), v) {
            ("connecttimeout", "none") => "10",
            ("proxycommand", "none") => continue,
            _ => v,
        };
        map.entry(k).or_default().push(v.to_string());
    }
    map
}

fn ssh_configs_read_as_openssh_reads_them() {
    let cases = fixtures("ssh_configs");
    assert!(cases.len() >= 20, "{} ssh configs", cases.len());
    let mut failures = Vec::new();
    let mut compared = 0;
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let dir = support::temp_dir();
        copy_tree(&case.join("home"), &dir.path().join("home"));
        copy_tree(&case.join("etc"), &dir.path().join("etc"));
        let queries = std::fs::read_to_string(case.join("queries")).unwrap();
        let bin = support::bin();
        for q in queries.lines().filter(|l| !l.trim().is_empty()) {
            let (args, rest) = q.split_once(" => ").expect("ARGS => TARGET");
            let (target, expect) = match rest.split_once(" !") {
                Some((t, e)) => (t, Some(e.split_once(' ').unwrap_or((e, "")))),
                None => (rest, None),
            };
            let mut ssh = vec!["ssh", "-G"];
            ssh.extend(args.split_whitespace());
            let theirs = in_case_namespace(dir.path(), &ssh);
            let ours =
                in_case_namespace(dir.path(), &[bin.to_str().unwrap(), "ssh-config", target]);
            let said = |o: &std::process::Output| {
                format!("{}{}", support::text(&o.stdout), support::text(&o.stderr))
            };
            let fail = |why: String| format!("{name}: {q}: {why}");
            match expect {
                None if theirs.status.success() && ours.status.success() => {
                    let (t, o) = (ssh_settings(&theirs.stdout), ssh_settings(&ours.stdout));
                    if t != o {
                        failures.push(fail(format!("\n  ssh -G:    {t:?}\n  infraspec: {o:?}")));
                    }
                    compared += 1;
                }
                None => failures.push(fail(format!(
                    "ssh {} / infraspec {}: {} / {}",
                    theirs.status,
                    ours.status,
                    said(&theirs),
                    said(&ours)
                ))),
                // `!error`: both refuse the file, and infraspec says what is
                // wrong. `!refused`: OpenSSH takes it, infraspec cannot honour
                // it and says so (docs/targets.md lists these).
                Some((kind @ ("error" | "refused"), says)) => {
                    let ssh_takes_it = kind == "refused";
                    if theirs.status.success() != ssh_takes_it
                        || ours.status.success()
                        || !said(&ours).contains(says)
                    {
                        let should = if ssh_takes_it {
                            "ssh should take it and infraspec refuse it"
                        } else {
                            "both should refuse it"
                        };
                        failures.push(fail(format!(
                            "{should} ({says}): ssh {}: {} / infraspec {}: {}",
                            theirs.status,
                            said(&theirs),
                            ours.status,
                            said(&ours)
                        )));
                    }
                }
                Some((other, _)) => panic!("{name}: unknown expectation !{other}"),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compared >= 40, "only {compared} queries compared");
}

infraspec_tests! {
    Ansible: [ansible_inventories_read_as_ansible_reads_them],
    OpenSsh: [ssh_configs_read_as_openssh_reads_them],
}
