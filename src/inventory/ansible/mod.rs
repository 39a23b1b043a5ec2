//! Ansible inventories, read as `ansible-inventory --list` reads them
//! (ansible-core 2.19): INI and YAML files, `group_vars/` and `host_vars/`
//! beside them, and the JSON that `ansible-inventory --list` prints.
//!
//! - **Groups and hosts**: `[group]`, `[group:children]`, `[group:vars]`,
//!   hosts outside a section in `ungrouped`, every group without a parent a
//!   child of `all`; ranges (`web[01:03]`, `db-[a:c]`, `[1:9:2]`) expanded as
//!   Ansible expands them; `host:port` is the host with `ansible_port`.
//! - **Values**: INI values through Python's `literal_eval`, YAML plain
//!   scalars as YAML 1.1 types them ([`values`]).
//! - **Precedence**: a host's variables are, lowest first, `all`'s, every
//!   other group's in the order Ansible sorts them (depth from `all`, then
//!   `ansible_group_priority`, then name), `group_vars/all`, the groups'
//!   `group_vars/` files in that order, the host's own, then
//!   `host_vars/<host>`.
//! - **Connection variables** say where and how to connect; each is honoured
//!   or refused with an error naming it ([`connect`]).
//! - **Refused**, each with a clear error: Vault-encrypted files and values
//!   (infraspec cannot decrypt them, and they may say where to connect),
//!   inventory plugins (`plugin:`), executable (dynamic) inventories, and
//!   YAML in a file Ansible would read as INI. `ansible-inventory -i SOURCE
//!   --list > inventory.json` turns any of those into a file infraspec reads.
//!
//! Values are shared, not copied, between the hosts that have them: a
//! 100,000-host range with a large group variable holds that value once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use marked_yaml::Node;
use serde_json::Value;

use super::Entry;

pub mod connect;
pub mod values;

/// A host's or group's variables: values shared between the hosts that
/// have them.
pub type Vars = BTreeMap<String, Arc<Value>>;

/// Most host names an inventory may hold, ranges expanded: a fleet far
/// larger than one run checks, and small enough that a range like
/// `web[0:99999]-[0:99999]` is refused at once, not expanded into gigabytes.
pub const MAX_HOSTS: usize = 100_000;

/// Largest inventory file read (`/dev/zero` is not read to its end).
pub const MAX_INVENTORY_BYTES: u64 = 16 << 20;

/// The most variable values (host x variable) a run holds, and the most
/// bytes their distinct values may take: above either, the inventory is
/// refused, naming the size.
pub const MAX_HOST_VARIABLES: usize = 20_000_000;
pub const MAX_VARIABLE_BYTES: usize = 256 << 20;

#[derive(Debug, Default)]
struct Group {
    name: String,
    vars: Vars,
    children: Vec<usize>,
    parents: Vec<usize>,
    /// Hosts listed in it, in order.
    hosts: Vec<usize>,
    priority: i64,
    depth: usize,
}

#[derive(Debug, Default)]
struct Host {
    name: String,
    vars: Vars,
    /// The groups it was listed in, in order.
    groups: Vec<usize>,
}

/// An inventory as read, before variables are resolved.
#[derive(Debug)]
pub struct Inventory {
    groups: Vec<Group>,
    group_ids: HashMap<String, usize>,
    hosts: Vec<Host>,
    host_ids: HashMap<String, usize>,
    /// Host names made so far, ranges expanded.
    expanded: usize,
    /// Read from `ansible-inventory --list`: variables are resolved already.
    resolved: bool,
}

impl Default for Inventory {
    fn default() -> Self {
        let mut inv = Inventory {
            groups: Vec::new(),
            group_ids: HashMap::new(),
            hosts: Vec::new(),
            host_ids: HashMap::new(),
            expanded: 0,
            resolved: false,
        };
        inv.group("all");
        inv.group("ungrouped");
        inv
    }
}

/// A group of the inventory as `--list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub name: String,
    pub hosts: Vec<String>,
    pub children: Vec<String>,
}

/// What an inventory holds: each host, resolved, and each group.
#[derive(Debug, Clone)]
pub struct Listing {
    pub entries: Vec<Entry>,
    pub groups: Vec<GroupListing>,
}

impl Inventory {
    fn group(&mut self, name: &str) -> usize {
        if let Some(&id) = self.group_ids.get(name) {
            return id;
        }
        let id = self.groups.len();
        self.groups.push(Group {
            name: name.to_string(),
            priority: 1,
            ..Default::default()
        });
        self.group_ids.insert(name.to_string(), id);
        id
    }

    /// Adds `host` to `group`, with the port of its pattern (set only where
    /// the host is new, as Ansible does).
    fn add_host(&mut self, name: &str, group: usize, port: Option<u16>) -> usize {
        let id = match self.host_ids.get(name) {
            Some(&id) => id,
            None => {
                let id = self.hosts.len();
                let mut host = Host {
                    name: name.to_string(),
                    ..Default::default()
                };
                if let Some(p) = port {
                    host.vars
                        .insert("ansible_port".into(), Arc::new(Value::from(p)));
                }
                self.hosts.push(host);
                self.host_ids.insert(name.to_string(), id);
                id
            }
        };
        if !self.hosts[id].groups.contains(&group) {
            self.hosts[id].groups.push(group);
            self.groups[group].hosts.push(id);
        }
        id
    }

    fn set_group_var(&mut self, group: usize, key: &str, value: Arc<Value>) -> Result<(), String> {
        if key == "ansible_group_priority" {
            let p = match &*value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            self.groups[group].priority = p.ok_or_else(|| {
                format!(
                    "ansible_group_priority of group {} is {value}, not a whole number",
                    self.groups[group].name
                )
            })?;
            return Ok(());
        }
        self.groups[group].vars.insert(key.to_string(), value);
        Ok(())
    }

    /// Makes `child` a child of `parent`, refusing a loop.
    fn add_child(&mut self, parent: usize, child: usize) -> Result<(), String> {
        if parent == child || self.ancestors(parent).contains(&child) {
            return Err(format!(
                "adding group {} as a child of {} makes a loop",
                self.groups[child].name, self.groups[parent].name
            ));
        }
        if !self.groups[parent].children.contains(&child) {
            self.groups[parent].children.push(child);
            self.groups[child].parents.push(parent);
        }
        Ok(())
    }

    fn ancestors(&self, group: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut todo = self.groups[group].parents.clone();
        while let Some(g) = todo.pop() {
            if !out.contains(&g) {
                out.push(g);
                todo.extend(self.groups[g].parents.iter().copied());
            }
        }
        out
    }

    /// The names `pattern` expands to, counted against [`MAX_HOSTS`].
    fn expand(&mut self, pattern: &str) -> Result<Vec<String>, String> {
        let names = expand(pattern)?;
        self.expanded = self.expanded.saturating_add(names.len());
        if self.expanded > MAX_HOSTS {
            return Err(format!(
                "{pattern:?}: the inventory names more than {MAX_HOSTS} hosts, ranges expanded"
            ));
        }
        Ok(names)
    }

    /// What Ansible does once a source is read: every group without a
    /// parent under `all`, every host in no group but `all` in `ungrouped`
    /// (and out of it when it is in another), and each group's depth from
    /// `all`.
    fn reconcile(&mut self) -> Result<(), String> {
        let (all, ungrouped) = (0, 1);
        for g in 2..self.groups.len() {
            if self.groups[g].parents.is_empty() {
                self.add_child(all, g)?;
            }
        }
        if self.groups[ungrouped].parents.is_empty() {
            self.add_child(all, ungrouped)?;
        }
        for h in 0..self.hosts.len() {
            let groups = &self.hosts[h].groups;
            let elsewhere = groups.iter().any(|&g| g != all && g != ungrouped);
            if elsewhere && groups.contains(&ungrouped) {
                self.hosts[h].groups.retain(|&g| g != ungrouped);
                self.groups[ungrouped].hosts.retain(|&x| x != h);
            } else if !elsewhere && !groups.contains(&ungrouped) {
                self.hosts[h].groups.retain(|&g| g != all);
                self.groups[all].hosts.retain(|&x| x != h);
                self.hosts[h].groups.push(ungrouped);
                self.groups[ungrouped].hosts.push(h);
            }
        }
        // Depth: the longest path from `all`.
        let mut depth = vec![0usize; self.groups.len()];
        let mut changed = true;
        let mut rounds = 0;
        while changed {
            changed = false;
            rounds += 1;
            if rounds > self.groups.len() + 1 {
                return Err("the groups' children make a loop".into());
            }
            for g in 0..self.groups.len() {
                for &c in &self.groups[g].children {
                    if depth[c] < depth[g] + 1 {
                        depth[c] = depth[g] + 1;
                        changed = true;
                    }
                }
            }
        }
        for (g, d) in depth.into_iter().enumerate() {
            self.groups[g].depth = d;
        }
        Ok(())
    }

    /// The groups a host is in, directly or through a parent, `all` left
    /// out, sorted as Ansible applies their variables: by depth, then
    /// `ansible_group_priority`, then name.
    fn sorted_groups(&self, host: usize) -> Vec<usize> {
        let mut groups: Vec<usize> = Vec::new();
        for &g in &self.hosts[host].groups {
            for a in std::iter::once(g).chain(self.ancestors(g)) {
                if a != 0 && !groups.contains(&a) {
                    groups.push(a);
                }
            }
        }
        groups.sort_by(|&a, &b| {
            let (a, b) = (&self.groups[a], &self.groups[b]);
            (a.depth, a.priority, &a.name).cmp(&(b.depth, b.priority, &b.name))
        });
        groups
    }
}

/// The lines that say something: not blank, not a comment.
fn significant(text: &str) -> impl Iterator<Item = &str> + Clone {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
}

/// How Ansible reads a file: by its name, `.yml`, `.yaml` and `.json` as
/// YAML (and the JSON `ansible-inventory --list` prints), anything else as
/// INI.
fn is_yaml_name(file: &str) -> bool {
    file.ends_with(".yml") || file.ends_with(".yaml") || file.ends_with(".json")
}

/// Whether a text looks like an Ansible inventory rather than infraspec's
/// own line format: a YAML or JSON name, sections, `ansible_` variables,
/// YAML's shape, or a first line that is not a target.
pub fn looks_like(text: &str, file: &str) -> bool {
    let mut lines = significant(text);
    let Some(first) = lines.clone().next() else {
        return is_yaml_name(file);
    };
    is_yaml_name(file)
        || first.starts_with('[')
        || first.starts_with('{')
        || first.ends_with(':')
        || lines.any(|l| l.contains("ansible_"))
        || first
            .split_whitespace()
            .next()
            .is_some_and(|w| w.parse::<crate::model::target::Target>().is_err())
}

/// Parses an INI or YAML Ansible inventory into targets labelled with their
/// inventory names and groups.
pub fn parse(text: &str, file: &str) -> Result<Vec<Entry>, String> {
    read(text, file).map(|l| l.entries)
}

/// Reads an inventory whole: its hosts, resolved into targets with their
/// variables, and its groups.
pub fn read(text: &str, file: &str) -> Result<Listing, String> {
    let path = std::path::Path::new(file);
    refuse_what_is_not_read(text, path)?;
    let trimmed = text.trim_start();
    let mut inv = if is_yaml_name(file) {
        if trimmed.starts_with('{') && text.contains("\"_meta\"") {
            parse_listing(text, file)?
        } else {
            parse_yaml(text, file)?
        }
    } else {
        if significant(text)
            .next()
            .is_some_and(|l| l.ends_with(':') && !l.starts_with('['))
        {
            return Err(format!(
                "{file} looks like a YAML inventory, and Ansible reads a file named without .yml or .yaml as INI: name it {file}.yml"
            ));
        }
        parse_ini(text, file)?
    };
    if !inv.resolved {
        inv.reconcile().map_err(|e| format!("{file}: {e}"))?;
    }
    let beside = path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    resolve(&inv, file, &beside)
}

/// What infraspec does not read, refused before anything is: a dynamic
/// inventory (an executable), an inventory plugin's configuration, a file
/// Ansible Vault encrypted.
fn refuse_what_is_not_read(text: &str, path: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let then = format!(
        "run `ansible-inventory -i {shown} --list > inventory.json` and give infraspec that file"
    );
    let executable =
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if executable || text.starts_with("#!") {
        return Err(format!(
            "{shown} is a dynamic inventory (an executable): infraspec runs no inventory scripts; {then}"
        ));
    }
    if text.trim_start().starts_with("$ANSIBLE_VAULT") {
        return Err(format!(
            "{shown} is encrypted with Ansible Vault, which infraspec cannot decrypt; {then}"
        ));
    }
    if is_yaml_name(&shown.to_string()) && significant(text).any(|l| l.starts_with("plugin:")) {
        return Err(format!(
            "{shown} configures an inventory plugin, which infraspec does not run; {then}"
        ));
    }
    Ok(())
}

fn parse_ini(text: &str, file: &str) -> Result<Inventory, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Section {
        Hosts,
        Vars,
        Children,
    }
    let mut inv = Inventory::default();
    // Groups named under :vars or :children before they are declared.
    let mut pending: Vec<(String, Section, usize, Option<usize>)> = Vec::new();
    let mut current = (1usize, Section::Hosts);
    for (n, raw) in text.lines().enumerate() {
        let at = |msg: String| format!("{file}:{}: {msg}", n + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        // A section header is `[name]` or `[name:kind]`, then nothing but a
        // comment; a line that starts with `[` and is none (`[::1]:22`) is a
        // host, as Ansible reads it.
        let header = line.strip_prefix('[').filter(|h| {
            h.split_once(']').is_some_and(|(inside, rest)| {
                let rest = rest.trim_start();
                (rest.is_empty() || rest.starts_with('#'))
                    && !inside.is_empty()
                    && inside.splitn(2, ':').count() <= 2
                    && !inside.split_once(':').is_some_and(|(_, k)| k.contains(':'))
            }) || line.ends_with(']')
        });
        if let Some(header) = header {
            let (inside, rest) = header.split_once(']').ok_or_else(|| {
                at(format!(
                    "{:?} is not a [section]",
                    crate::model::text::escape_line(line)
                ))
            })?;
            let rest = rest.trim_start();
            if !(rest.is_empty() || rest.starts_with('#')) {
                return Err(at(format!(
                    "invalid section entry {:?}: no spaces or other text after it",
                    crate::model::text::escape_line(line)
                )));
            }
            let (name, kind) = match inside.split_once(':') {
                None => (inside, Section::Hosts),
                Some((g, "vars")) => (g, Section::Vars),
                Some((g, "children")) => (g, Section::Children),
                Some((_, other)) if other.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                    return Err(at(format!(
                        "section [{inside}] has unknown type: {other} (Ansible has :vars and :children)"
                    )))
                }
                Some(_) => {
                    return Err(at(format!(
                        "{:?} is not a [section]",
                        crate::model::text::escape_line(line)
                    )))
                }
            };
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(at(format!(
                    "{:?} is not a group name",
                    crate::model::text::escape_line(name)
                )));
            }
            let known = inv.group_ids.contains_key(name);
            let g = inv.group(name);
            if kind == Section::Vars && !known {
                pending.push((name.to_string(), Section::Vars, n + 1, None));
            } else if kind != Section::Vars {
                pending.retain(|(p, k, _, _)| !(p == name && *k == Section::Vars));
                pending.retain(|(p, k, _, _)| !(p == name && *k == Section::Children));
            }
            current = (g, kind);
            continue;
        }
        match current.1 {
            Section::Hosts => {
                let words = shlex_words(line).map_err(at)?;
                let Some((pattern, rest)) = words.split_first() else {
                    continue;
                };
                let mut vars = Vars::new();
                for w in rest {
                    let (k, v) = w.split_once('=').ok_or_else(|| {
                        at(format!(
                            "expected key=value host variable assignment, got {:?}",
                            crate::model::text::escape_line(w)
                        ))
                    })?;
                    vars.insert(k.to_string(), Arc::new(values::ini_value(v)));
                }
                let (pattern, port) = host_pattern(pattern).map_err(at)?;
                for name in inv.expand(&pattern).map_err(at)? {
                    let h = inv.add_host(&name, current.0, port);
                    for (k, v) in &vars {
                        inv.hosts[h].vars.insert(k.clone(), v.clone());
                    }
                }
            }
            Section::Vars => {
                let (k, v) = line.split_once('=').ok_or_else(|| {
                    at(format!(
                        "expected key=value, got {:?}",
                        crate::model::text::escape_line(line)
                    ))
                })?;
                inv.set_group_var(current.0, k.trim(), Arc::new(values::ini_value(v.trim())))
                    .map_err(at)?;
            }
            Section::Children => {
                let child = line
                    .split_once('#')
                    .map_or(line, |(c, _)| c)
                    .trim()
                    .to_string();
                if child.is_empty()
                    || child.contains([':', ']'])
                    || child.contains(char::is_whitespace)
                {
                    return Err(at(format!(
                        "expected a group name, got {:?}",
                        crate::model::text::escape_line(line)
                    )));
                }
                if !inv.group_ids.contains_key(&child) {
                    pending.push((child.clone(), Section::Children, n + 1, Some(current.0)));
                }
                let c = inv.group(&child);
                inv.add_child(current.0, c).map_err(at)?;
            }
        }
    }
    if let Some((name, kind, line, parent)) = pending.first() {
        return Err(match kind {
            Section::Vars => format!(
                "{file}:{line}: section [{name}:vars] is for a group {name} that is not declared"
            ),
            _ => format!(
                "{file}:{line}: section [{}:children] names a group {name} that is not declared",
                parent.map_or(String::new(), |p| inv.groups[p].name.clone())
            ),
        });
    }
    Ok(inv)
}

/// Words of an INI host line as Python's `shlex.split(line, comments=True)`
/// makes them: quotes removed, a backslash escaping the next character
/// outside single quotes, `#` outside quotes ending the line.
fn shlex_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("no closing quotation in {line:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('\\' | '"')) => word.push(e),
                            Some(e) => {
                                word.push('\\');
                                word.push(e);
                            }
                            None => return Err(format!("no closing quotation in {line:?}")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("no closing quotation in {line:?}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(e) => word.push(e),
                    None => return Err(format!("no escaped character in {line:?}")),
                }
            }
            '#' => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// A host pattern and the port written after it, as Ansible's
/// `parse_address` splits them: `host:2222`, `[host]:2222`, `[::1]:22`; a
/// bare IPv6 address has no port.
fn host_pattern(pattern: &str) -> Result<(String, Option<u16>), String> {
    let port_of = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("{p:?} in host pattern {pattern:?} is not a port number"))
    };
    // [host]:port
    if let Some(inner) = pattern.strip_prefix('[') {
        if let Some((host, port)) = inner.rsplit_once("]:") {
            if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
                return Ok((host.to_string(), Some(port_of(port)?)));
            }
        }
    }
    // host:port, where the host holds no `:` outside a range.
    if let Some((host, port)) = pattern.rsplit_once(':') {
        let mut depth = 0i32;
        let bare_colon = host.chars().any(|c| {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                ':' if depth == 0 => return true,
                _ => {}
            }
            false
        });
        if !bare_colon
            && !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && !host.is_empty()
            && depth == 0
        {
            return Ok((host.to_string(), Some(port_of(port)?)));
        }
    }
    if pattern.ends_with(':') && !pattern.contains("::") {
        return Err(format!(
            "invalid host pattern {pattern:?}: a trailing `:` is for a port"
        ));
    }
    Ok((pattern.to_string(), None))
}

/// Host ranges as Ansible expands them: `web[01:03]` is web01 to web03 (a
/// begin with a leading 0 sets the width, and the end must be as wide),
/// `db-[a:c]` is db-a to db-c, `[1:9:2]` steps by 2, `[:3]` starts at 0,
/// and several ranges multiply.
fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or_else(|| format!("unclosed range in {pattern:?}"))?;
    let (head, range, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let bounds: Vec<&str> = range.split(':').collect();
    let (from, to, step) = match bounds.as_slice() {
        [a, b] => (*a, *b, 1usize),
        [a, b, s] => (
            *a,
            *b,
            s.parse()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| format!("{pattern:?}: a range's step is a positive number"))?,
        ),
        _ => {
            return Err(format!(
                "{pattern:?}: a host range is begin:end or begin:end:step"
            ))
        }
    };
    let from = if from.is_empty() { "0" } else { from };
    if to.is_empty() {
        return Err(format!("{pattern:?}: a host range needs an end"));
    }
    const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let items: Vec<String> = match (LETTERS.find(from), LETTERS.find(to)) {
        (Some(a), Some(b)) if from.len() == 1 && to.len() == 1 => {
            if a > b {
                return Err(format!(
                    "{pattern:?}: a host range's begin comes before its end"
                ));
            }
            LETTERS[a..=b]
                .chars()
                .step_by(step)
                .map(String::from)
                .collect()
        }
        _ => {
            let (a, b) = match (from.parse::<u64>(), to.parse::<u64>()) {
                (Ok(a), Ok(b)) => (a, b),
                _ => return Err(format!("{pattern:?}: {from}:{to} is not a range")),
            };
            let width = if from.starts_with('0') && from.len() > 1 {
                if from.len() != to.len() {
                    return Err(format!(
                        "{pattern:?}: a host range's begin and end must be as wide ({from}, {to})"
                    ));
                }
                from.len()
            } else {
                0
            };
            if b >= a && (b - a) / step as u64 >= MAX_HOSTS as u64 {
                return Err(format!(
                    "{pattern:?} expands to more than {MAX_HOSTS} names"
                ));
            }
            (a..=b.max(a.saturating_sub(1)))
                .filter(|i| *i <= b)
                .step_by(step)
                .map(|i| format!("{i:0width$}"))
                .collect()
        }
    };
    let rests = expand(tail)?;
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
            out.push(format!("{head}{item}{rest}"));
        }
    }
    Ok(out)
}

fn line_of(node: &Node) -> usize {
    node.span().start().map(|m| m.line()).unwrap_or(0)
}

/// A YAML node as the value Ansible reads: mappings and lists as they are,
/// quoted scalars as strings, plain ones typed as YAML 1.1 types them.
/// Vault-encrypted values are refused.
fn yaml_value(node: &Node, file: &str) -> Result<Value, String> {
    Ok(match node {
        Node::Mapping(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m.iter() {
                out.insert(k.as_str().to_string(), yaml_value(v, file)?);
            }
            Value::Object(out)
        }
        Node::Sequence(s) => Value::Array(
            s.iter()
                .map(|v| yaml_value(v, file))
                .collect::<Result<_, _>>()?,
        ),
        Node::Scalar(s) => {
            if s.as_str().trim_start().starts_with("$ANSIBLE_VAULT") {
                return Err(format!(
                    "{file}:{}: a value encrypted with Ansible Vault, which infraspec cannot decrypt: run `ansible-inventory --list > inventory.json` and give infraspec that file",
                    line_of(node)
                ));
            }
            if s.may_coerce() {
                values::yaml11_plain(s.as_str())
            } else {
                Value::String(s.as_str().to_string())
            }
        }
    })
}

/// A mapping of variables, or nothing.
fn yaml_vars(node: &Node, what: &str, file: &str) -> Result<Vars, String> {
    let mut vars = Vars::new();
    match node {
        Node::Mapping(map) => {
            for (k, v) in map.iter() {
                vars.insert(k.as_str().to_string(), Arc::new(yaml_value(v, file)?));
            }
        }
        Node::Scalar(s) if s.as_str().is_empty() || s.as_str() == "~" || s.as_str() == "null" => {}
        _ => {
            return Err(format!(
                "{file}:{}: {what} must be a mapping",
                line_of(node)
            ))
        }
    }
    Ok(vars)
}

/// Parses YAML text as Ansible's loader would read it (quoted scalars
/// keep their quotes' meaning); a Vault-tagged value is refused by name.
fn yaml_text(text: &str, file: &str) -> Result<Node, String> {
    if let Some(line) = text.lines().position(|l| l.contains("!vault")) {
        return Err(format!(
            "{file}:{}: a value encrypted with Ansible Vault (!vault), which infraspec cannot decrypt: run `ansible-inventory --list > inventory.json` and give infraspec that file",
            line + 1
        ));
    }
    let options = marked_yaml::LoaderOptions::default().prevent_coercion(true);
    marked_yaml::parse_yaml_with_options(0, text, options)
        .map_err(|e| format!("{file}: invalid YAML: {e}"))
}

fn parse_yaml(text: &str, file: &str) -> Result<Inventory, String> {
    let root = yaml_text(text, file)?;
    let map = root
        .as_mapping()
        .ok_or_else(|| format!("{file}: an inventory is a mapping of groups (all: …)"))?;
    let mut inv = Inventory::default();
    for (name, node) in map.iter() {
        yaml_group(&mut inv, name.as_str(), Some(node), file, 0)?;
    }
    Ok(inv)
}

/// The entries of a section that Ansible allows as a mapping, or as one
/// name (`hosts: web1`).
fn names_of<'n>(
    value: &'n Node,
    what: &str,
    file: &str,
) -> Result<Vec<(String, Option<&'n Node>)>, String> {
    match value {
        Node::Mapping(m) => Ok(m
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), Some(v)))
            .collect()),
        Node::Scalar(s) if s.as_str().is_empty() || s.as_str() == "~" || s.as_str() == "null" => {
            Ok(Vec::new())
        }
        Node::Scalar(s) => Ok(vec![(s.as_str().to_string(), None)]),
        Node::Sequence(_) => Err(format!(
            "{file}:{}: {what} must be a mapping",
            line_of(value)
        )),
    }
}

fn yaml_group(
    inv: &mut Inventory,
    name: &str,
    node: Option<&Node>,
    file: &str,
    depth: usize,
) -> Result<usize, String> {
    if depth > 64 {
        return Err(format!("{file}: groups nested deeper than 64"));
    }
    let g = inv.group(name);
    let Some(node) = node else {
        return Ok(g);
    };
    let map = match node {
        Node::Mapping(map) => map,
        Node::Scalar(s) if s.as_str().is_empty() || s.as_str() == "~" || s.as_str() == "null" => {
            return Ok(g)
        }
        _ => {
            return Err(format!(
                "{file}:{}: group {name} must be a mapping (hosts, vars, children)",
                line_of(node)
            ))
        }
    };
    for (key, value) in map.iter() {
        match key.as_str() {
            "hosts" => {
                for (pattern, vars) in names_of(value, &format!("{name}.hosts"), file)? {
                    let vars = match vars {
                        Some(v) => yaml_vars(v, &format!("host {pattern}"), file)?,
                        None => Vars::new(),
                    };
                    let (pattern, port) =
                        host_pattern(&pattern).map_err(|e| format!("{file}: {e}"))?;
                    for h in inv.expand(&pattern).map_err(|e| format!("{file}: {e}"))? {
                        let id = inv.add_host(&h, g, port);
                        for (k, v) in &vars {
                            inv.hosts[id].vars.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            "vars" => {
                for (k, v) in yaml_vars(value, &format!("{name}.vars"), file)? {
                    inv.set_group_var(g, &k, v)
                        .map_err(|e| format!("{file}:{}: {e}", line_of(value)))?;
                }
            }
            "children" => {
                for (child, body) in names_of(value, &format!("{name}.children"), file)? {
                    let c = yaml_group(inv, &child, body, file, depth + 1)?;
                    inv.add_child(g, c)
                        .map_err(|e| format!("{file}:{}: {e}", line_of(value)))?;
                }
            }
            other => {
                return Err(format!(
                    "{file}:{}: unknown key {:?} in group {name} (hosts, vars, children); Ansible skips it with a warning, infraspec refuses it",
                    key.span().start().map(|m| m.line()).unwrap_or(0),
                    crate::model::text::escape_line(other)
                ))
            }
        }
    }
    Ok(g)
}

/// The JSON `ansible-inventory --list` prints: groups with `hosts` and
/// `children`, and each host's variables, resolved, under
/// `_meta.hostvars`.
fn parse_listing(text: &str, file: &str) -> Result<Inventory, String> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| format!("{file}: invalid JSON: {e}"))?;
    let obj = doc
        .as_object()
        .ok_or_else(|| format!("{file}: not the output of ansible-inventory --list"))?;
    let mut inv = Inventory {
        resolved: true,
        ..Default::default()
    };
    let names = |v: Option<&Value>, what: &str| -> Result<Vec<String>, String> {
        match v {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|n| {
                    n.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("{file}: {what} holds {n}, not a name"))
                })
                .collect(),
            Some(other) => Err(format!("{file}: {what} is {other}, not a list")),
        }
    };
    for (name, body) in obj.iter().filter(|(k, _)| *k != "_meta") {
        let g = inv.group(name);
        for h in names(body.get("hosts"), &format!("{name}.hosts"))? {
            inv.add_host(&h, g, None);
        }
        for c in names(body.get("children"), &format!("{name}.children"))? {
            let c = inv.group(&c);
            inv.add_child(g, c).map_err(|e| format!("{file}: {e}"))?;
        }
        if let Some(Value::Object(vars)) = body.get("vars") {
            for (k, v) in vars {
                inv.groups[g].vars.insert(k.clone(), Arc::new(v.clone()));
            }
        }
    }
    let hostvars = obj
        .get("_meta")
        .and_then(|m| m.get("hostvars"))
        .and_then(Value::as_object);
    for (name, vars) in hostvars.into_iter().flatten() {
        let id = match inv.host_ids.get(name) {
            Some(&id) => id,
            None => inv.add_host(name, 1, None),
        };
        if let Value::Object(vars) = vars {
            for (k, v) in vars {
                inv.hosts[id].vars.insert(k.clone(), Arc::new(v.clone()));
            }
        }
    }
    inv.reconcile().map_err(|e| format!("{file}: {e}"))?;
    Ok(inv)
}

/// The variables of group or host `name` in `group_vars/` or `host_vars/`
/// (`kind`) beside the inventory, as Ansible finds them: the first of
/// `<name>`, `<name>.yml`, `<name>.yaml`, `<name>.json` that exists; when
/// it is a directory, every file in it and below (no extension, or one of
/// those), in name order, hidden and backup (`~`) files left out.
fn dir_vars(beside: &std::path::Path, kind: &str, name: &str) -> Result<Vars, String> {
    let base = beside.join(kind);
    if !base.is_dir() || name.contains('/') || name.starts_with('.') || name.is_empty() {
        return Ok(Vars::new());
    }
    const EXTS: [&str; 3] = [".yml", ".yaml", ".json"];
    let mut files = Vec::new();
    for ext in std::iter::once("").chain(EXTS) {
        let p = base.join(format!("{name}{ext}"));
        if p.exists() {
            if p.is_dir() {
                collect_dir(&p, &mut files, 0)?;
            } else {
                files.push(p);
            }
            break;
        }
    }
    let mut vars = Vars::new();
    for f in files {
        let shown = f.display().to_string();
        let text = crate::spec::vars::read_text(&f, MAX_INVENTORY_BYTES, false)
            .map_err(|e| format!("{shown}: {e}"))?;
        if text.trim_start().starts_with("$ANSIBLE_VAULT") {
            return Err(format!(
                "{shown} is encrypted with Ansible Vault, which infraspec cannot decrypt (its variables may say where to connect): run `ansible-inventory -i INVENTORY --list > inventory.json` and give infraspec that file"
            ));
        }
        if text.trim().is_empty() {
            continue;
        }
        let node = yaml_text(&text, &shown)
            .map_err(|e| format!("{e} (a variables file is a YAML mapping)"))?;
        vars.extend(yaml_vars(&node, "a variables file", &shown)?);
    }
    Ok(vars)
}

fn collect_dir(
    dir: &std::path::Path,
    out: &mut Vec<std::path::PathBuf>,
    depth: usize,
) -> Result<(), String> {
    if depth > 16 {
        return Ok(());
    }
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    for p in names {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let ext = p.extension().map(|e| format!(".{}", e.to_string_lossy()));
        if p.is_dir() && ext.is_none() {
            collect_dir(&p, out, depth + 1)?;
        } else if p.is_file()
            && ext
                .as_deref()
                .is_none_or(|e| [".yml", ".yaml", ".json"].contains(&e))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// Every host's variables in Ansible's order, its target, and the groups.
fn resolve(inv: &Inventory, file: &str, beside: &std::path::Path) -> Result<Listing, String> {
    let mut group_files: HashMap<usize, Vars> = HashMap::new();
    let mut group_file = |g: usize| -> Result<Vars, String> {
        if let Some(v) = group_files.get(&g) {
            return Ok(v.clone());
        }
        let v = if inv.resolved {
            Vars::new()
        } else {
            dir_vars(beside, "group_vars", &inv.groups[g].name)?
        };
        group_files.insert(g, v.clone());
        Ok(v)
    };
    let mut entries = Vec::new();
    let mut held = 0usize;
    let mut distinct: std::collections::HashSet<*const Value> = Default::default();
    let mut bytes = 0usize;
    for (h, host) in inv.hosts.iter().enumerate() {
        let sorted = inv.sorted_groups(h);
        let mut vars = inv.groups[0].vars.clone();
        for &g in &sorted {
            vars.extend(
                inv.groups[g]
                    .vars
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        vars.extend(group_file(0)?);
        for &g in &sorted {
            vars.extend(group_file(g)?);
        }
        vars.extend(host.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        if !inv.resolved {
            vars.extend(dir_vars(beside, "host_vars", &host.name)?);
        }
        held += vars.len();
        for v in vars.values() {
            if distinct.insert(Arc::as_ptr(v)) {
                bytes += approximate_size(v);
            }
        }
        if held > MAX_HOST_VARIABLES || bytes > MAX_VARIABLE_BYTES {
            return Err(format!(
                "{file}: the inventory's variables come to more than {} (or {} values in all, hosts x variables): more than a run holds",
                crate::spec::yaml::show_size(MAX_VARIABLE_BYTES as u64),
                MAX_HOST_VARIABLES
            ));
        }
        let target = connect::target_of(&host.name, &vars).map_err(|e| {
            format!(
                "{file}: host {}: {e}",
                crate::model::text::escape_line(&host.name)
            )
        })?;
        let groups: Vec<String> = {
            let mut g: Vec<String> = sorted
                .iter()
                .map(|&g| inv.groups[g].name.clone())
                .filter(|g| g != "ungrouped")
                .collect();
            g.sort();
            g
        };
        entries.push(Entry {
            target,
            name: Some(host.name.clone()),
            groups,
            vars,
        });
    }
    if entries.is_empty() {
        return Err(format!("{file}: the inventory lists no host"));
    }
    let groups = inv
        .groups
        .iter()
        .map(|g| GroupListing {
            name: g.name.clone(),
            hosts: g.hosts.iter().map(|&h| inv.hosts[h].name.clone()).collect(),
            children: g
                .children
                .iter()
                .map(|&c| inv.groups[c].name.clone())
                .collect(),
        })
        .collect();
    Ok(Listing { entries, groups })
}

/// About how many bytes a value holds.
fn approximate_size(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len() + 24,
        Value::Array(a) => a.iter().map(approximate_size).sum::<usize>() + 24,
        Value::Object(o) => {
            o.iter()
                .map(|(k, v)| k.len() + approximate_size(v))
                .sum::<usize>()
                + 24
        }
        _ => 24,
    }
}

#[cfg(test)]
mod tests;
