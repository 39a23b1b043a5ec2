//! Variables in specs: `{{ name }}` and `{{ name | default(value) }}` in any
//! value of a check, replaced when the spec is loaded for a target.
//!
//! Substitution only, as goss and Ansible users write it, and no template
//! language: a spec stays data. An undefined variable is a load error at its
//! line, never an empty string. Values come, lowest precedence first, from
//! the spec's `vars:` (an including file's win over an included file's), the
//! inventory (group variables from the outermost group in, then the host's),
//! `--vars FILE` in order, `INFRASPEC_VAR_<name>` in the environment, and
//! `--var name=value`. A sensitive value (`sensitive: true` under `vars:`, or
//! from the environment) is never printed: every check that uses one is
//! `sensitive`, and the report text has the value replaced by `***`.

use std::collections::BTreeMap;
use std::fmt;

/// One variable's value and how to treat it.
#[derive(Debug, Clone, Eq)]
pub struct Var {
    /// The value, as text (shared: an inventory's value is held once for
    /// every host that has it).
    pub value: std::sync::Arc<str>,
    /// Typed as unquoted YAML would be when it is a whole value (`port:
    /// "{{ port }}"` with `port: 80` is the number 80), or always a string.
    pub typed: bool,
    /// Never printed.
    pub sensitive: bool,
}

impl PartialEq for Var {
    /// The same value, found quickly where it is the same shared text.
    fn eq(&self, other: &Var) -> bool {
        self.typed == other.typed
            && self.sensitive == other.sensitive
            && (std::sync::Arc::ptr_eq(&self.value, &other.value) || self.value == other.value)
    }
}

impl std::hash::Hash for Var {
    /// As equality: by the value's text and how it is treated.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
        self.typed.hash(state);
        self.sensitive.hash(state);
    }
}

impl Var {
    /// A value typed as unquoted YAML is: what `--var`, `--vars` and the
    /// inventory give.
    pub fn typed(value: impl Into<std::sync::Arc<str>>) -> Var {
        Var {
            value: value.into(),
            typed: true,
            sensitive: false,
        }
    }
}

/// Variables by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Vars(pub BTreeMap<String, Var>);

impl Vars {
    /// `other`'s variables over these (later wins).
    pub fn overlay(&mut self, other: &Vars) {
        for (k, v) in &other.0 {
            self.0.insert(k.clone(), v.clone());
        }
    }

    /// Sets one variable.
    pub fn set(&mut self, name: &str, var: Var) {
        self.0.insert(name.to_string(), var);
    }

    /// The environment's `INFRASPEC_VAR_<name>` variables, sensitive.
    pub fn from_env() -> Vars {
        let mut vars = Vars::default();
        for (k, v) in std::env::vars_os() {
            let (Some(k), Some(v)) = (k.to_str(), v.to_str()) else {
                continue;
            };
            if let Some(name) = k.strip_prefix("INFRASPEC_VAR_") {
                if valid_name(name) {
                    vars.set(
                        name,
                        Var {
                            value: v.into(),
                            typed: true,
                            sensitive: true,
                        },
                    );
                }
            }
        }
        vars
    }

    /// Parses `--var name=value`.
    pub fn parse_assignment(&mut self, text: &str) -> Result<(), String> {
        let (name, value) = text
            .split_once('=')
            .ok_or_else(|| format!("--var {text:?}: expected name=value"))?;
        let name = name.trim();
        if !valid_name(name) {
            return Err(format!(
                "--var {text:?}: {name:?} is not a variable name (letters, digits and _, not starting with a digit)"
            ));
        }
        self.set(name, Var::typed(value));
        Ok(())
    }
}

/// A variables file's text (or an inventory's `group_vars/` file), at most
/// `cap` bytes; the error says what is wrong with it. Only a regular file
/// is read unless the user `named` it.
pub fn read_text(path: &std::path::Path, cap: u64, named: bool) -> Result<String, String> {
    use crate::textfile::TextFileError;
    let read = if named {
        crate::textfile::read_named
    } else {
        crate::textfile::read
    };
    read(path, cap).map_err(|e| match e {
        TextFileError::TooLarge => format!("larger than {} MiB", cap >> 20),
        other => other.to_string(),
    })
}

/// Reads `--vars FILE`: a YAML mapping of names to plain values.
pub fn read_file(path: &std::path::Path) -> Result<Vars, String> {
    use marked_yaml::Node;
    let shown = path.display().to_string();
    let text = read_text(path, super::yaml::MAX_SPEC_BYTES, true)
        .map_err(|e| format!("--vars {shown}: {e}"))?;
    let options = marked_yaml::LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    let root = marked_yaml::parse_yaml_with_options(0, &text, options)
        .map_err(|e| format!("--vars {shown}: not a YAML mapping of variables: {e}"))?;
    let mut vars = Vars::default();
    let Some(map) = root.as_mapping() else {
        return Err(format!(
            "--vars {shown}: expected a mapping of variable names to values"
        ));
    };
    for (k, v) in map.iter() {
        let line = k.span().start().map(|m| m.line()).unwrap_or(0);
        if !valid_name(k.as_str()) {
            return Err(format!(
                "{shown}:{line}: {:?} is not a variable name (letters, digits and _, not starting with a digit)",
                k.as_str()
            ));
        }
        match v {
            Node::Scalar(s) => vars.set(
                k.as_str(),
                Var {
                    value: s.as_str().into(),
                    typed: s.may_coerce(),
                    sensitive: false,
                },
            ),
            _ => {
                return Err(format!(
                "{shown}:{line}: `{}`: a variable holds one plain value, not a list or a mapping",
                k.as_str()
            ))
            }
        }
    }
    Ok(vars)
}

/// The variables a `spec!` test binary sees: the YAML files named by
/// `INFRASPEC_VARS` (separated as in `PATH`; later files win), then
/// `INFRASPEC_VAR_<name>` (sensitive). Read once.
pub fn of_process() -> Result<&'static Vars, String> {
    static VARS: std::sync::OnceLock<Result<Vars, String>> = std::sync::OnceLock::new();
    VARS.get_or_init(|| {
        let mut vars = Vars::default();
        if let Some(files) = std::env::var_os("INFRASPEC_VARS") {
            for f in std::env::split_paths(&files).filter(|f| !f.as_os_str().is_empty()) {
                vars.overlay(&read_file(&f).map_err(|e| format!("INFRASPEC_VARS: {e}"))?);
            }
        }
        vars.overlay(&Vars::from_env());
        Ok(vars)
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// A variable name: letters, digits and `_`, not starting with a digit.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value with its placeholders replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    /// The text.
    pub text: String,
    /// Typed as unquoted YAML: the value was one placeholder whose value is.
    pub typed: bool,
    /// Sensitive values it holds.
    pub secrets: Vec<String>,
    /// The text as it may be shown: `***` where each sensitive value went.
    pub shown: String,
}

/// What is wrong with a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarError {
    /// `{{ name }}` with no such variable and no default.
    Undefined(String),
    /// `{{` without `}}`, or something other than a name, a quoted string and
    /// `| default(...)` between them.
    Syntax(String),
}

impl fmt::Display for VarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarError::Undefined(name) => write!(
                f,
                "undefined variable `{name}`: set it under `vars:`, in the inventory, with --vars FILE or --var {name}=..., or write `{{{{ {name} | default(...) }}}}`"
            ),
            VarError::Syntax(what) => write!(
                f,
                "{what}: a placeholder is `{{{{ name }}}}` or `{{{{ name | default(value) }}}}` (a literal `{{{{` is written `{{{{ '{{{{' }}}}`)"
            ),
        }
    }
}

impl std::error::Error for VarError {}

/// One term between `{{` and `}}`: a variable or a quoted literal.
enum Term<'t> {
    Name(&'t str),
    Literal(String),
}

fn term(text: &str) -> Result<Term<'_>, VarError> {
    let t = text.trim();
    for q in ['\'', '"'] {
        if let Some(inner) = t.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            if t.len() >= 2 && !inner.contains(q) {
                return Ok(Term::Literal(inner.to_string()));
            }
        }
    }
    if valid_name(t) {
        Ok(Term::Name(t))
    } else {
        Err(VarError::Syntax(format!("{{{{ {t} }}}}")))
    }
}

/// The variable names the placeholders of `text` ask for (as far as they
/// can be read: a malformed one is the load's error to report).
pub fn names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        let expr = after[..close].split('|').next().unwrap_or_default().trim();
        if valid_name(expr) {
            out.push(expr.to_string());
        }
        rest = &after[close + 2..];
    }
    out
}

/// Replaces every placeholder of `text` with its value.
pub fn expand(text: &str, vars: &Vars) -> Result<Expanded, VarError> {
    let mut out = Expanded {
        text: String::new(),
        typed: false,
        secrets: Vec::new(),
        shown: String::new(),
    };
    let mut rest = text;
    let mut placeholders = 0;
    let mut last_typed = false;
    while let Some(open) = rest.find("{{") {
        out.text.push_str(&rest[..open]);
        out.shown.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| VarError::Syntax(format!("`{{{{` without `}}}}` in {text:?}")))?;
        let inner = &after[..close];
        rest = &after[close + 2..];
        placeholders += 1;
        let (expr, filter) = match inner.split_once('|') {
            Some((e, f)) => (e, Some(f.trim())),
            None => (inner, None),
        };
        let default = match filter {
            None => None,
            Some(f) => {
                let arg = f
                    .strip_prefix("default")
                    .map(str::trim_start)
                    .and_then(|a| a.strip_prefix('('))
                    .and_then(|a| a.strip_suffix(')'))
                    .ok_or_else(|| VarError::Syntax(format!("{{{{{inner}}}}}")))?;
                let arg = arg.trim();
                // A bare default (`default(80)`) is typed, a quoted one a string.
                Some(match term(arg) {
                    Ok(Term::Literal(s)) => (s, false),
                    _ if !arg.is_empty() && !arg.contains(['\'', '"', '{', '}']) => {
                        (arg.to_string(), true)
                    }
                    _ => return Err(VarError::Syntax(format!("{{{{{inner}}}}}"))),
                })
            }
        };
        match term(expr)? {
            Term::Literal(s) => {
                out.text.push_str(&s);
                out.shown.push_str(&s);
                last_typed = false;
            }
            Term::Name(name) => match (vars.0.get(name), default) {
                (Some(var), _) => {
                    out.text.push_str(&var.value);
                    last_typed = var.typed;
                    if var.sensitive && !var.value.is_empty() {
                        out.secrets.push(var.value.to_string());
                        out.shown.push_str("***");
                    } else {
                        out.shown.push_str(&var.value);
                    }
                }
                (None, Some((value, typed))) => {
                    out.text.push_str(&value);
                    out.shown.push_str(&value);
                    last_typed = typed;
                }
                (None, None) => return Err(VarError::Undefined(name.to_string())),
            },
        }
    }
    out.text.push_str(rest);
    out.shown.push_str(rest);
    // One placeholder and nothing around it: typed as its value is.
    out.typed = placeholders == 1
        && {
            let t = text.trim();
            t.starts_with("{{") && t.ends_with("}}") && t.matches("{{").count() == 1
        }
        && last_typed;
    Ok(out)
}

/// `text` with every secret replaced by `***`, also as JSON and XML escape
/// them (reports carry values in those forms).
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut forms: Vec<String> = Vec::new();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        forms.push(s.clone());
        let json = serde_json::to_string(s).unwrap_or_default();
        forms.push(json[1..json.len().saturating_sub(1).max(1)].to_string());
        forms.push(
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&apos;"),
        );
    }
    // Longest first, so that a secret inside another is not half replaced.
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    let mut out = text.to_string();
    for f in forms.iter().filter(|f| !f.is_empty()) {
        out = out.replace(f.as_str(), "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.set("port", Var::typed("80"));
        v.set(
            "name",
            Var {
                value: "nginx".into(),
                typed: false,
                sensitive: false,
            },
        );
        v.set(
            "token",
            Var {
                value: "s3cr\"et".into(),
                typed: true,
                sensitive: true,
            },
        );
        v
    }

    #[test]
    fn whole_and_partial_values() {
        let v = vars();
        let e = expand("{{ port }}", &v).unwrap();
        assert_eq!((e.text.as_str(), e.typed), ("80", true));
        let e = expand("  {{port}} ", &v).unwrap();
        assert_eq!((e.text.as_str(), e.typed), ("  80 ", true));
        let e = expand("{{ name }}", &v).unwrap();
        assert_eq!((e.text.as_str(), e.typed), ("nginx", false));
        let e = expand("{{ name }}-{{ port }}", &v).unwrap();
        assert_eq!((e.text.as_str(), e.typed), ("nginx-80", false));
        let e = expand("no placeholder", &v).unwrap();
        assert_eq!((e.text.as_str(), e.typed), ("no placeholder", false));
    }

    #[test]
    fn defaults_literals_and_errors() {
        let v = vars();
        let e = expand("{{ missing | default(8080) }}", &v).unwrap();
        assert_eq!((e.text.as_str(), e.typed), ("8080", true));
        let e = expand("{{ missing | default('a b') }}", &v).unwrap();
        assert_eq!((e.text.as_str(), e.typed), ("a b", false));
        assert_eq!(
            expand("{{ port | default(1) }}", &v).unwrap().text,
            "80",
            "a set variable wins over its default"
        );
        assert_eq!(expand("{{ '{{' }} x }}", &v).unwrap().text, "{{ x }}");
        assert_eq!(
            expand("{{ missing }}", &v),
            Err(VarError::Undefined("missing".into()))
        );
        for bad in [
            "{{ port",
            "{{ a b }}",
            "{{ port | upper }}",
            "{{ x | default() }}",
            "{{ }}",
        ] {
            assert!(matches!(expand(bad, &v), Err(VarError::Syntax(_))), "{bad}");
        }
    }

    #[test]
    fn secrets_are_collected_and_redacted_in_every_form() {
        let v = vars();
        let e = expand("curl -H 'X: {{ token }}'", &v).unwrap();
        assert_eq!(e.secrets, vec!["s3cr\"et".to_string()]);
        let json = serde_json::to_string(&e.text).unwrap();
        let red = redact(&format!("{} {json} s3cr&quot;et", e.text), &e.secrets);
        assert!(!red.contains("s3cr"), "{red}");
        assert_eq!(red.matches("***").count(), 3, "{red}");
    }

    #[test]
    fn assignments_and_names() {
        let mut v = Vars::default();
        v.parse_assignment("a_1=x=y").unwrap();
        assert_eq!(&*v.0["a_1"].value, "x=y");
        assert!(v.parse_assignment("1a=x").is_err());
        assert!(v.parse_assignment("novalue").is_err());
    }
}
