//! Inventories: a file of targets, one per line, with optional labels,
//! groups and spec files.
//!
//! ```text
//! # web tier
//! ssh://deploy@web1.internal   name=web1 groups=web,prod
//! ssh://deploy@web2.internal   name=web2 groups=web,prod
//! docker:registry.local/app:1.4 name=app-image groups=images
//! ```
//!
//! Ansible inventories (INI and YAML) are read too: see [`ansible`].

use crate::model::target::Target;

pub mod ansible;

/// One line of an inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub target: Target,
    /// Shown in reports instead of the target string.
    pub name: Option<String>,
    pub groups: Vec<String>,
    /// The host's variables (Ansible's: the inventory's own, and those in
    /// `group_vars/` and `host_vars/` beside it), for `{{ name }}` in specs.
    pub vars: std::collections::BTreeMap<String, String>,
}

/// Parses an inventory, infraspec's or Ansible's; errors name the file and
/// line.
pub fn parse(text: &str, file: &str) -> Result<Vec<Entry>, String> {
    if ansible::looks_like(text, file) {
        return ansible::parse(text, file);
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
                    entry.vars.insert("infraspec_specs".into(), v.to_string());
                }
                Some(("groups" | "group", v)) => entry
                    .groups
                    .extend(v.split(',').filter(|g| !g.is_empty()).map(str::to_string)),
                _ => {
                    return Err(at(format!(
                    "unknown field {word:?}: a line is a target, then name=LABEL, groups=a,b and specs=a.yaml,b.yaml"
                )))
                }
            }
        }
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(format!("{file}: the inventory lists no target"));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_its_spec_files() {
        let inv = parse("local name=me specs=a.yaml,b.yaml\n", "inv").unwrap();
        assert_eq!(inv[0].vars["infraspec_specs"], "a.yaml,b.yaml");
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
        assert!(parse("local colour=blue\n", "inv")
            .unwrap_err()
            .contains("unknown field"));
        assert!(parse("# nothing\n", "inv").is_err());
    }
}
