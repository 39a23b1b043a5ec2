//! Ansible inventories, INI and YAML: groups (with `:children` and
//! `:vars`), host ranges (`web[01:03]`), and the connection variables that
//! say how to reach a host.
//!
//! | variable | becomes |
//! |---|---|
//! | `ansible_host` (`ansible_ssh_host`) | the address |
//! | `ansible_port` (`ansible_ssh_port`) | the SSH port |
//! | `ansible_user` (`ansible_ssh_user`) | the SSH user (for `docker`: `?user=`) |
//! | `ansible_ssh_private_key_file` | `?identity=` |
//! | `ansible_become`, `ansible_become_user` | `?sudo=true`, `?sudo_user=` |
//! | `ansible_connection` | `ssh` (default), `local`, `docker`, `podman` |
//!
//! Variables apply from `all`, then from the outermost group in, then the
//! host's own, as Ansible applies them. Other variables are ignored;
//! passwords are never read from an inventory (use the environment).

use std::collections::{BTreeMap, BTreeSet};

use marked_yaml::Node;

use super::Entry;
use crate::model::target::Target;

type Vars = BTreeMap<String, String>;

#[derive(Debug, Default)]
struct Group {
    hosts: Vec<(String, Vars)>,
    children: Vec<String>,
    vars: Vars,
}

#[derive(Debug, Default)]
struct Inventory {
    /// Groups in the order they are first named.
    order: Vec<String>,
    groups: BTreeMap<String, Group>,
    /// Host names made so far, ranges expanded.
    hosts: usize,
}

/// Most host names an inventory may hold, ranges expanded: a fleet far
/// larger than one run checks, and small enough that a range like
/// `web[0:99999]-[0:99999]` is refused at once, not expanded into gigabytes.
pub const MAX_HOSTS: usize = 100_000;

/// Largest inventory file read (`/dev/zero` is not read to its end).
pub const MAX_INVENTORY_BYTES: u64 = 16 << 20;

impl Inventory {
    /// The names `pattern` expands to, counted against [`MAX_HOSTS`].
    fn expand(&mut self, pattern: &str) -> Result<Vec<String>, String> {
        let names = expand(pattern)?;
        self.hosts = self.hosts.saturating_add(names.len());
        if self.hosts > MAX_HOSTS {
            return Err(format!(
                "{pattern:?}: the inventory names more than {MAX_HOSTS} hosts, ranges expanded"
            ));
        }
        Ok(names)
    }

    fn group(&mut self, name: &str) -> &mut Group {
        if !self.groups.contains_key(name) {
            self.order.push(name.to_string());
        }
        self.groups.entry(name.to_string()).or_default()
    }
}

/// The lines that say something: not blank, not a comment.
fn significant(text: &str) -> impl Iterator<Item = &str> + Clone {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
}

/// Whether an Ansible inventory is YAML: by its name, or a first line that
/// opens a mapping (`all:`).
fn is_yaml(text: &str, file: &str) -> bool {
    file.ends_with(".yml")
        || file.ends_with(".yaml")
        || significant(text).next().is_some_and(|l| l.ends_with(':'))
}

/// Whether a text looks like an Ansible inventory rather than infraspec's
/// own line format: YAML, sections, `ansible_` variables, or a first line
/// that is not a target.
pub fn looks_like(text: &str, file: &str) -> bool {
    let mut lines = significant(text);
    let Some(first) = lines.clone().next() else {
        return is_yaml(text, file);
    };
    is_yaml(text, file)
        || first.starts_with('[')
        || lines.any(|l| l.contains("ansible_"))
        || first
            .split_whitespace()
            .next()
            .is_some_and(|w| w.parse::<Target>().is_err())
}

/// Parses an INI or YAML Ansible inventory into targets labelled with their
/// inventory names and groups.
pub fn parse(text: &str, file: &str) -> Result<Vec<Entry>, String> {
    let inv = if is_yaml(text, file) {
        parse_yaml(text, file)?
    } else {
        parse_ini(text, file)?
    };
    let beside = std::path::Path::new(file)
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    // Each group's files are read once, however many hosts it has.
    let read: std::cell::RefCell<BTreeMap<(String, String), Vars>> = Default::default();
    resolve(&inv, file, &|kind, name| {
        let key = (kind.to_string(), name.to_string());
        if let Some(vars) = read.borrow().get(&key) {
            return Ok(vars.clone());
        }
        let vars = dir_vars(&beside, kind, name)?;
        read.borrow_mut().insert(key, vars.clone());
        Ok(vars)
    })
}

/// The variables of group or host `name` in `group_vars/` or `host_vars/`
/// (`kind`) beside the inventory: `<name>`, `<name>.yml`, `<name>.yaml`,
/// `<name>.json`, or every file of the directory `<name>/`, in name order.
/// Files that Ansible Vault encrypted are left out (infraspec cannot read
/// them; a spec that needs one of their variables says it is undefined).
fn dir_vars(beside: &std::path::Path, kind: &str, name: &str) -> Result<Vars, String> {
    let base = beside.join(kind);
    if !base.is_dir() || name.contains('/') || name.starts_with('.') {
        return Ok(Vars::new());
    }
    let mut files = Vec::new();
    let own = base.join(name);
    if own.is_dir() {
        let mut inner: Vec<_> = std::fs::read_dir(&own)
            .map_err(|e| format!("{}: {e}", own.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        inner.sort();
        files.extend(inner);
    } else {
        for ext in ["", ".yml", ".yaml", ".json"] {
            let f = base.join(format!("{name}{ext}"));
            if f.is_file() {
                files.push(f);
            }
        }
    }
    let mut vars = Vars::new();
    for f in files {
        let shown = f.display().to_string();
        let text = crate::spec::vars::read_text(&f, MAX_INVENTORY_BYTES, false)
            .map_err(|e| format!("{shown}: {e}"))?;
        if text.trim_start().starts_with("$ANSIBLE_VAULT") || text.trim().is_empty() {
            continue;
        }
        let node = marked_yaml::parse_yaml(0, &text)
            .map_err(|e| format!("{shown}: not a YAML mapping of variables: {e}"))?;
        vars.extend(yaml_scalars(&node, "a variables file", &shown)?);
    }
    Ok(vars)
}

fn parse_ini(text: &str, file: &str) -> Result<Inventory, String> {
    #[derive(Clone, Copy)]
    enum Section {
        Hosts,
        Vars,
        Children,
    }
    let mut inv = Inventory::default();
    let mut current = ("ungrouped".to_string(), Section::Hosts);
    for (n, raw) in text.lines().enumerate() {
        let at = |msg: String| format!("{file}:{}: {msg}", n + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header
                .strip_suffix(']')
                .ok_or_else(|| at(format!("{line:?} is not a [section]")))?;
            let (name, kind) = match header.split_once(':') {
                None => (header, Section::Hosts),
                Some((g, "vars")) => (g, Section::Vars),
                Some((g, "children")) => (g, Section::Children),
                Some((_, other)) => {
                    return Err(at(format!(
                        "unknown section kind :{other} (Ansible has :vars and :children)"
                    )))
                }
            };
            if name.is_empty() {
                return Err(at("a section without a group name".into()));
            }
            inv.group(name);
            current = (name.to_string(), kind);
            continue;
        }
        let words = split_words(line).map_err(at)?;
        match current.1 {
            Section::Hosts => {
                let (host, rest) = words.split_first().expect("a non-empty line");
                let mut vars = Vars::new();
                for w in rest {
                    let (k, v) = w
                        .split_once('=')
                        .ok_or_else(|| at(format!("{w:?} is not a variable (key=value)")))?;
                    vars.insert(k.to_string(), v.to_string());
                }
                for name in inv.expand(host).map_err(at)? {
                    inv.group(&current.0).hosts.push((name, vars.clone()));
                }
            }
            Section::Vars => {
                let (k, v) = line
                    .split_once('=')
                    .ok_or_else(|| at(format!("{line:?} is not a variable (key=value)")))?;
                let v = split_words(v.trim()).map_err(at)?.join(" ");
                inv.group(&current.0).vars.insert(k.trim().to_string(), v);
            }
            Section::Children => {
                let child = line.to_string();
                inv.group(&child);
                inv.group(&current.0).children.push(child);
            }
        }
    }
    Ok(inv)
}

/// Words of an INI line, with Ansible's quoting (`key="a b"`, `'x'`).
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c == '#' && !in_word => break,
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(format!("unclosed quote in {line:?}"));
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Host ranges: `web[01:03].example.com` is web01, web02, web03 (the width of
/// the first bound is kept), `db-[a:c]` is db-a, db-b, db-c.
fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or_else(|| format!("unclosed range in {pattern:?}"))?;
    let (prefix, range, suffix) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let mut parts = range.split(':');
    let (from, to) = match (parts.next(), parts.next()) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => (a, b),
        _ => return Err(format!("{pattern:?}: a range is [start:end]")),
    };
    let step: usize = match parts.next() {
        Some(s) => s
            .parse()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| format!("{pattern:?}: a range's step is a positive number"))?,
        None => 1,
    };
    let items: Vec<String> = match (from.parse::<u64>(), to.parse::<u64>()) {
        (Ok(a), Ok(b)) if a <= b && b - a < MAX_HOSTS as u64 => (a..=b)
            .step_by(step)
            .map(|i| format!("{i:0width$}", width = from.len()))
            .collect(),
        _ => {
            let (a, b) = (
                from.chars().collect::<Vec<_>>(),
                to.chars().collect::<Vec<_>>(),
            );
            match (a.as_slice(), b.as_slice()) {
                ([a], [b]) if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() && a <= b => {
                    (*a..=*b).step_by(step).map(String::from).collect()
                }
                _ => return Err(format!("{pattern:?}: {from}:{to} is not a range")),
            }
        }
    };
    // The product of the ranges is capped, not only each range.
    let rests = expand(suffix)?;
    if items.len().saturating_mul(rests.len()) > MAX_HOSTS {
        return Err(format!(
            "{pattern:?} expands to {} x {} names, more than {MAX_HOSTS}",
            items.len(),
            rests.len()
        ));
    }
    let mut out = Vec::with_capacity(items.len() * rests.len());
    for item in &items {
        for rest in &rests {
            out.push(format!("{prefix}{item}{rest}"));
        }
    }
    Ok(out)
}

fn parse_yaml(text: &str, file: &str) -> Result<Inventory, String> {
    let root =
        marked_yaml::parse_yaml(0, text).map_err(|e| format!("{file}: invalid YAML: {e}"))?;
    let map = root
        .as_mapping()
        .ok_or_else(|| format!("{file}: an inventory is a mapping of groups (all: …)"))?;
    let mut inv = Inventory::default();
    for (name, node) in map.iter() {
        yaml_group(&mut inv, name.as_str(), node, file)?;
    }
    Ok(inv)
}

fn line_of(node: &Node) -> usize {
    node.span().start().map(|m| m.line()).unwrap_or(0)
}

fn yaml_scalars(node: &Node, what: &str, file: &str) -> Result<Vars, String> {
    let mut vars = Vars::new();
    let Some(map) = node.as_mapping() else {
        if node
            .as_scalar()
            .is_some_and(|s| s.as_str().is_empty() || s.as_str() == "~" || s.as_str() == "null")
        {
            return Ok(vars);
        }
        return Err(format!(
            "{file}:{}: {what} must be a mapping",
            line_of(node)
        ));
    };
    for (k, v) in map.iter() {
        // Lists and mappings (Ansible data for plays) do not say how to
        // connect: only scalars are kept.
        if let Some(s) = v.as_scalar() {
            vars.insert(k.as_str().to_string(), s.as_str().to_string());
        }
    }
    Ok(vars)
}

/// `value` as a mapping, `None` when it is empty (`hosts:` with nothing under
/// it), or the error `what` at its line.
fn mapping_or_empty<'n>(
    value: &'n Node,
    file: &str,
    what: impl FnOnce() -> String,
) -> Result<Option<&'n marked_yaml::types::MarkedMappingNode>, String> {
    match value.as_mapping() {
        Some(map) => Ok(Some(map)),
        None if value.as_scalar().is_some_and(|s| s.as_str().is_empty()) => Ok(None),
        None => Err(format!("{file}:{}: {}", line_of(value), what())),
    }
}

fn yaml_group(inv: &mut Inventory, name: &str, node: &Node, file: &str) -> Result<(), String> {
    inv.group(name);
    let Some(map) = node.as_mapping() else {
        // `group:` with nothing under it.
        return Ok(());
    };
    for (key, value) in map.iter() {
        match key.as_str() {
            "hosts" => {
                let Some(hosts) = mapping_or_empty(value, file, || {
                    format!("{name}.hosts must be a mapping of host names")
                })?
                else {
                    continue;
                };
                for (host, vars) in hosts.iter() {
                    let vars = yaml_scalars(vars, &format!("host {}", host.as_str()), file)?;
                    for h in inv
                        .expand(host.as_str())
                        .map_err(|e| format!("{file}: {e}"))?
                    {
                        inv.group(name).hosts.push((h, vars.clone()));
                    }
                }
            }
            "vars" => {
                let vars = yaml_scalars(value, &format!("{name}.vars"), file)?;
                inv.group(name).vars.extend(vars);
            }
            "children" => {
                let Some(children) = mapping_or_empty(value, file, || {
                    format!("{name}.children must be a mapping of groups")
                })?
                else {
                    continue;
                };
                for (child, body) in children.iter() {
                    inv.group(name).children.push(child.as_str().to_string());
                    yaml_group(inv, child.as_str(), body, file)?;
                }
            }
            other => {
                return Err(format!(
                    "{file}:{}: unknown key {other:?} in group {name} (hosts, vars, children)",
                    key.span().start().map(|m| m.line()).unwrap_or(0)
                ))
            }
        }
    }
    Ok(())
}

/// The groups each group belongs to, outermost first: the order variables
/// apply in.
fn ancestry(inv: &Inventory, file: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut parents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, g) in &inv.groups {
        for c in &g.children {
            parents.entry(c.as_str()).or_default().push(name.as_str());
        }
    }
    fn walk<'a>(
        g: &'a str,
        parents: &BTreeMap<&'a str, Vec<&'a str>>,
        seen: &mut Vec<&'a str>,
        out: &mut Vec<String>,
        file: &str,
    ) -> Result<(), String> {
        if seen.contains(&g) {
            return Err(format!("{file}: group {g} is its own ancestor"));
        }
        seen.push(g);
        for p in parents.get(g).into_iter().flatten() {
            walk(p, parents, seen, out, file)?;
        }
        seen.pop();
        if !out.iter().any(|o| o == g) {
            out.push(g.to_string());
        }
        Ok(())
    }
    let mut all = BTreeMap::new();
    for name in inv.groups.keys() {
        let mut out = Vec::new();
        walk(name, &parents, &mut Vec::new(), &mut out, file)?;
        all.insert(name.clone(), out);
    }
    Ok(all)
}

/// Variables of a group (`group_vars`) or a host (`host_vars`) from outside
/// the inventory file.
type DirVars<'a> = &'a dyn Fn(&str, &str) -> Result<Vars, String>;

fn resolve(inv: &Inventory, file: &str, dir_vars: DirVars) -> Result<Vec<Entry>, String> {
    let ancestry = ancestry(inv, file)?;
    // Each host once, in the order first listed; its direct groups.
    let mut hosts: Vec<String> = Vec::new();
    let mut own: BTreeMap<String, Vars> = BTreeMap::new();
    let mut direct: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for g in &inv.order {
        for (h, vars) in &inv.groups[g].hosts {
            if !own.contains_key(h) {
                hosts.push(h.clone());
            }
            own.entry(h.clone()).or_default().extend(vars.clone());
            direct.entry(h.clone()).or_default().push(g.clone());
        }
    }
    let empty = Vars::new();
    let all_vars = inv.groups.get("all").map_or(&empty, |g| &g.vars);
    let mut entries = Vec::new();
    for h in hosts {
        let mut groups: Vec<String> = Vec::new();
        for g in &direct[&h] {
            for a in &ancestry[g] {
                if !groups.contains(a) {
                    groups.push(a.clone());
                }
            }
        }
        // Ansible's order: `all`, then each group from the outermost in, then
        // the host; at each, the inventory's own variables, then those
        // beside it.
        let mut vars = all_vars.clone();
        vars.extend(dir_vars("group_vars", "all")?);
        for g in groups.iter().filter(|g| *g != "all") {
            vars.extend(inv.groups[g].vars.clone());
            vars.extend(dir_vars("group_vars", g)?);
        }
        vars.extend(own[&h].clone());
        vars.extend(dir_vars("host_vars", &h)?);
        let target = target_of(&h, &vars).map_err(|e| format!("{file}: host {h}: {e}"))?;
        let groups: BTreeSet<String> = groups
            .into_iter()
            .filter(|g| g != "all" && g != "ungrouped")
            .collect();
        entries.push(Entry {
            target,
            name: Some(h),
            groups: groups.into_iter().collect(),
            vars,
        });
    }
    if entries.is_empty() {
        return Err(format!("{file}: the inventory lists no host"));
    }
    Ok(entries)
}

fn target_of(name: &str, vars: &Vars) -> Result<Target, String> {
    let get = |keys: &[&str]| keys.iter().find_map(|k| vars.get(*k)).cloned();
    let truthy = |v: &str| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1" | "on");
    let host = get(&["ansible_host", "ansible_ssh_host"]).unwrap_or_else(|| name.to_string());
    let user = get(&["ansible_user", "ansible_ssh_user", "ansible_remote_user"]);
    let mut options = BTreeMap::new();
    if get(&["ansible_become"]).is_some_and(|b| truthy(&b)) {
        options.insert("sudo".to_string(), "true".to_string());
        if let Some(u) = get(&["ansible_become_user"]) {
            options.insert("sudo_user".to_string(), u);
        }
    }
    let connection = get(&["ansible_connection"]).unwrap_or_else(|| "ssh".into());
    match connection.as_str() {
        "local" => Ok(Target::Local),
        "docker" | "community.docker.docker" | "podman" | "containers.podman.podman" => {
            let mut options = BTreeMap::new();
            if let Some(u) = user {
                options.insert("user".to_string(), u);
            }
            let engine = if connection.contains("podman") {
                crate::model::target::Engine::Podman
            } else {
                crate::model::target::Engine::Docker
            };
            Ok(Target::DockerContainer {
                engine,
                container: host,
                options,
            })
        }
        "ssh" | "smart" | "paramiko" | "ansible.builtin.ssh" => {
            let port = match get(&["ansible_port", "ansible_ssh_port"]) {
                Some(p) => Some(
                    p.parse::<u16>()
                        .map_err(|_| format!("ansible_port {p:?} is not a port number"))?,
                ),
                None => None,
            };
            if let Some(key) = get(&["ansible_ssh_private_key_file", "ansible_private_key_file"]) {
                options.insert("identity".to_string(), home(&key));
            }
            Ok(Target::Ssh {
                user,
                host,
                port,
                options,
            })
        }
        other => Err(format!(
            "ansible_connection {other:?} is not one infraspec reaches (ssh, local, docker, podman)"
        )),
    }
}

/// `~/x` as Ansible reads it: under the home directory.
fn home(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(h)) => format!("{}/{rest}", h.trim_end_matches('/')),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| {
                let options = match &e.target {
                    Target::Ssh { options, .. } | Target::DockerContainer { options, .. } => {
                        options
                            .iter()
                            .map(|(k, v)| format!(" {k}={v}"))
                            .collect::<String>()
                    }
                    _ => String::new(),
                };
                format!(
                    "{} {}{options} [{}]",
                    e.name.as_deref().unwrap_or("-"),
                    e.target,
                    e.groups.join(",")
                )
            })
            .collect()
    }

    #[test]
    fn ini_groups_children_vars_and_ranges() {
        let text = r#"
# the fleet
bastion.example.com ansible_user=admin

[web]
web[01:02].example.com ansible_user=deploy
web3 ansible_host=10.0.0.3 ansible_port=2222 ansible_ssh_private_key_file=/keys/web "ansible_become=yes"

[db]
db-[a:b] ansible_connection=docker

[web:vars]
ansible_user=www
ansible_port=2200

[prod:children]
web
db

[prod:vars]
ansible_port=22

[all:vars]
ansible_user=ops
"#;
        let got = shown(&parse(text, "hosts").unwrap());
        assert_eq!(
            got,
            [
                "bastion.example.com ssh://admin@bastion.example.com []",
                "web01.example.com ssh://deploy@web01.example.com:2200 [prod,web]",
                "web02.example.com ssh://deploy@web02.example.com:2200 [prod,web]",
                "web3 ssh://www@10.0.0.3:2222 identity=/keys/web sudo=true [prod,web]",
                "db-a docker://db-a user=ops [db,prod]",
                "db-b docker://db-b user=ops [db,prod]",
            ]
        );
    }

    #[test]
    fn yaml_groups_children_and_vars() {
        let text = r#"
all:
  vars:
    ansible_user: ops
  hosts:
    localhost:
      ansible_connection: local
  children:
    web:
      hosts:
        web[1:2]:
        web9: { ansible_host: 192.0.2.9, ansible_port: 2222 }
      vars:
        ansible_user: deploy
    prod:
      children:
        web:
"#;
        let got = shown(&parse(text, "inventory.yml").unwrap());
        assert_eq!(
            got,
            [
                "localhost local []",
                "web1 ssh://deploy@web1 [prod,web]",
                "web2 ssh://deploy@web2 [prod,web]",
                "web9 ssh://deploy@192.0.2.9:2222 [prod,web]",
            ]
        );
    }

    #[test]
    fn errors_name_the_file_line_and_host() {
        let e = parse("[web\nx\n", "hosts").unwrap_err();
        assert_eq!(e, "hosts:1: \"[web\" is not a [section]");
        let e = parse("[web]\nw1 ansible_connection=winrm\n", "hosts").unwrap_err();
        assert!(e.contains("host w1: ansible_connection \"winrm\""), "{e}");
        let e = parse("[web]\nw1 ansible_port=ssh\n", "hosts").unwrap_err();
        assert!(e.contains("is not a port number"), "{e}");
        let e = parse("[a:children]\nb\n[b:children]\na\n[a]\nh\n", "hosts").unwrap_err();
        assert!(e.contains("its own ancestor"), "{e}");
        let e = parse("all:\n  hostz: {}\n", "inv.yaml").unwrap_err();
        assert!(e.contains("inv.yaml:2: unknown key \"hostz\""), "{e}");
    }

    #[test]
    fn ranges_are_capped_as_a_product_and_in_total() {
        let e = parse("web[0:99999]-[0:99999]-[a:z].example.com\n", "inv").unwrap_err();
        assert!(e.contains("more than 100000"), "{e}");
        let many: String = (0..3).map(|i| format!("g{i}-[0:49999]\n")).collect();
        let e = parse(&many, "inv").unwrap_err();
        assert!(e.contains("more than 100000 hosts"), "{e}");
        assert_eq!(parse("w[1:3]-[a:b]\n", "inv").unwrap().len(), 6);
    }

    #[test]
    fn detection() {
        assert!(looks_like("[web]\nw1\n", "hosts"));
        assert!(looks_like("all:\n  hosts:\n", "x"));
        assert!(looks_like("w1.example.com ansible_user=x\n", "hosts"));
        assert!(looks_like("w1.example.com\n", "hosts"));
        assert!(!looks_like(
            "# fleet\nssh://web1 name=web1\nlocal\n",
            "inv.txt"
        ));
    }
}
