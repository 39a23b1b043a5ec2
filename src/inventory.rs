//! Inventories: a file of targets, one per line, with optional labels,
//! groups and spec files.
//!
//! ```text
//! # web tier
//! ssh://deploy@web1.internal   name=web1 groups=web,prod http_port=80
//! ssh://deploy@web2.internal   name=web2 groups=web,prod http_port=8080
//! docker:registry.local/app:1.4 name=app-image groups=images
//! ```
//!
//! Besides `name=`, `groups=` and `specs=`, a line's `key=value` words are
//! the host's own variables, for `{{ key }}` in specs.
//!
//! Ansible inventories (INI and YAML) are read too: see [`ansible`].

use std::sync::Arc;

use crate::model::target::Target;

pub mod ansible;

pub use ansible::{GroupListing, Listing, Vars};

/// One line of an inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub target: Target,
    /// Shown in reports instead of the target string.
    pub name: Option<String>,
    pub groups: Vec<String>,
    /// The host's variables (Ansible's: the inventory's own, and those in
    /// `group_vars/` and `host_vars/` beside it, typed as Ansible types
    /// them), for `{{ name }}` in specs. Values are shared between hosts.
    pub vars: Vars,
}

/// Parses an inventory, infraspec's or Ansible's; errors name the file and
/// line.
pub fn parse(text: &str, file: &str) -> Result<Vec<Entry>, String> {
    read(text, file).map(|l| l.entries)
}

/// Reads an inventory whole: its hosts, each a target with its variables,
/// and its groups (infraspec's own lines name groups with `groups=`).
pub fn read(text: &str, file: &str) -> Result<Listing, String> {
    if ansible::looks_like(text, file) {
        return ansible::read(text, file);
    }
    let mut entries = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split_once('#').map_or(raw, |(l, _)| l).trim();
        if line.is_empty() {
            continue;
        }
        let at = |msg: String| format!("{file}:{}: {msg}", n + 1);
        let mut words = line.split_whitespace();
        let target: Target = words
            .next()
            .expect("non-empty")
            .parse()
            .map_err(|e: crate::model::target::TargetError| at(e.to_string()))?;
        let mut entry = Entry {
            target,
            name: None,
            groups: Vec::new(),
            vars: Default::default(),
        };
        for word in words {
            match word.split_once('=') {
                Some(("name", v)) if !v.is_empty() => entry.name = Some(v.to_string()),
                Some(("specs", v)) if !v.is_empty() => {
                    entry.vars.insert(
                        "infraspec_specs".into(),
                        Arc::new(serde_json::Value::String(v.to_string())),
                    );
                }
                Some(("groups" | "group", v)) => entry
                    .groups
                    .extend(v.split(',').filter(|g| !g.is_empty()).map(str::to_string)),
                Some((k, v)) if crate::spec::vars::valid_name(k) => {
                    entry
                        .vars
                        .insert(k.to_string(), Arc::new(serde_json::Value::String(v.to_string())));
                }
                _ => {
                    return Err(at(format!(
                    "unknown field {:?}: a line is a target, then name=LABEL, groups=a,b, specs=a.yaml,b.yaml and the host's own variables, name=value",
                    crate::model::text::escape_line(word)
                )))
                }
            }
        }
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(format!("{file}: the inventory lists no target"));
    }
    // Groups as `--list` shows them.
    let mut groups: Vec<GroupListing> = Vec::new();
    for e in &entries {
        let host = e.name.clone().unwrap_or_else(|| e.target.to_string());
        for g in &e.groups {
            match groups.iter_mut().find(|x| &x.name == g) {
                Some(x) => x.hosts.push(host.clone()),
                None => groups.push(GroupListing {
                    name: g.clone(),
                    hosts: vec![host.clone()],
                    children: Vec::new(),
                }),
            }
        }
    }
    Ok(Listing { entries, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_its_spec_files() {
        let inv = parse("local name=me specs=a.yaml,b.yaml http_port=80\n", "inv").unwrap();
        assert_eq!(*inv[0].vars["infraspec_specs"], "a.yaml,b.yaml");
        assert_eq!(*inv[0].vars["http_port"], "80");
    }

    #[test]
    fn lines_with_labels_and_groups() {
        let inv = parse(
            "# fleet\nlocal name=me groups=a,b\n\nssh://web1  # a comment\n",
            "inv",
        )
        .unwrap();
        assert_eq!(inv.len(), 2);
        assert_eq!(inv[0].name.as_deref(), Some("me"));
        assert_eq!(inv[0].groups, ["a", "b"]);
        assert_eq!(inv[1].target.to_string(), "ssh://web1");
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            parse("local\nweb1\n", "inv")
                .unwrap_err()
                .split(": ")
                .next(),
            Some("inv:2")
        );
        assert!(parse("local colour=blue x\n", "inv")
            .unwrap_err()
            .contains("unknown field \"x\""));
        assert!(parse("# nothing\n", "inv").is_err());
    }
}
