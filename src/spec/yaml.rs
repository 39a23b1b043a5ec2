//! YAML specs: loading with errors that name the file, line and key.
//!
//! The YAML is parsed by `marked-yaml` into a tree whose every node carries its
//! line, and the tree is turned into [`Check`]s by hand. serde's data model has
//! no room for positions, and a spec error must say where it is; so serde is not
//! used here. Every error in a file is collected, not only the first.

use std::fmt;

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{LoadError, LoaderOptions, Node};

use super::vars::{self, Var, Vars};
use super::*;
use crate::matcher::{parse_mode, Cmp, Matcher, Pattern, Scalar};
use crate::version::VersionReq;

/// An error in a spec, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The spec file's name.
    pub file: String,
    /// The line the error is on, from 1 (0 when the file could not be read).
    pub line: usize,
    /// The key the error is about, when there is one.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 && self.key.is_none() {
            // About the file as a whole (it cannot be read): no line to name.
            return f.write_str(&self.message);
        }
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(key) = &self.key {
            // A key is quoted short, on one line: it may be anything a file
            // holds.
            let mut shown: String = key.chars().take(40).collect();
            if shown.len() < key.len() {
                shown.push('…');
            }
            write!(f, "`{}`: ", crate::model::text::escape_line(&shown))?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for SpecError {}

/// All the errors of one load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

/// "; did you mean `package`?" when one of `known` is close to `word`.
/// The line where a second YAML document starts, if the text holds more
/// than one (`marked_yaml` reads the first and drops the rest silently).
/// Invalid YAML is left to the loader, which says where.
fn second_document(text: &str) -> Option<usize> {
    use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
    struct Starts(Vec<usize>);
    impl MarkedEventReceiver for Starts {
        fn on_event(&mut self, ev: Event, mark: yaml_rust2::scanner::Marker) {
            if ev == Event::DocumentStart {
                self.0.push(mark.line());
            }
        }
    }
    let mut starts = Starts(Vec::new());
    Parser::new(text.chars()).load(&mut starts, true).ok()?;
    starts.0.get(1).map(|line| (*line).max(1))
}

fn did_you_mean<'k>(word: &str, known: impl IntoIterator<Item = &'k str>) -> String {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(word, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

/// The options every check takes.
pub const OPTION_KEYS: &[&str] = &[
    "title",
    "tags",
    "skip",
    "skip_in_container",
    "only_if",
    "eventually",
    "timeout",
    "sensitive",
    "max_output",
];

/// The matchers a property of `kind` takes.
pub fn matchers_for(kind: ValueKind) -> &'static [&'static str] {
    match kind {
        ValueKind::State => &["eq", "not"],
        ValueKind::Int => &[
            "eq", "gt", "ge", "lt", "le", "one_of", "not", "all_of", "any_of",
        ],
        ValueKind::Mode | ValueKind::FileType => &["eq", "one_of", "not", "any_of"],
        ValueKind::List => &["eq", "contains", "matches", "not", "all_of", "any_of"],
        ValueKind::Text | ValueKind::Version | ValueKind::Json => MATCHER_KEYS,
    }
}

/// Every matcher.
pub const MATCHER_KEYS: &[&str] = &[
    "eq",
    "contains",
    "matches",
    "starts_with",
    "ends_with",
    "gt",
    "ge",
    "lt",
    "le",
    "version",
    "one_of",
    "not",
    "all_of",
    "any_of",
];

/// What a spec is loaded with from outside it.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Variables that win over the spec's own `vars:` (the inventory's,
    /// `--vars`, the environment's, `--var`), already in precedence order.
    pub vars: Vars,
}

/// Loads a spec file.
pub fn load_file(path: &std::path::Path) -> Result<Vec<Check>, SpecErrors> {
    load_file_with(path, &LoadOptions::default())
}

/// Loads a spec file, its includes, with variables from outside it.
pub fn load_file_with(
    path: &std::path::Path,
    options: &LoadOptions,
) -> Result<Vec<Check>, SpecErrors> {
    load_path(path, options).0
}

/// The names of the variables a spec file (with its includes) uses: only
/// these can make its checks differ from one target to another.
pub fn variables_used(
    path: &std::path::Path,
    options: &LoadOptions,
) -> std::collections::BTreeSet<String> {
    load_path(path, options).1
}

/// The names of the variables a `-c` check uses.
pub fn check_variables_used(text: &str) -> std::collections::BTreeSet<String> {
    let mut loader = Loader::new("-c");
    if let Some(mut root) = loader.parse(text) {
        loader.expand(&mut root, &mut Secrets::default());
    }
    loader.includes.used
}

fn load_path(
    path: &std::path::Path,
    options: &LoadOptions,
) -> (
    Result<Vec<Check>, SpecErrors>,
    std::collections::BTreeSet<String>,
) {
    let label = path.display().to_string();
    let mut context = Includes::default();
    let text = match read_spec(path, &label, true) {
        Ok(text) => text,
        Err(e) => return (Err(SpecErrors(vec![e])), Default::default()),
    };
    let mut loader = Loader::new(&label);
    loader.outer = options.vars.clone();
    loader.dir = Some(path.parent().map(Into::into).unwrap_or_default());
    context.stack.push(identity(path));
    context.labels.push(label.clone());
    loader.includes = context;
    if let Some(root) = loader.parse(&text) {
        loader.document(&root);
    }
    let used = std::mem::take(&mut loader.includes.used);
    (loader.finish(), used)
}

/// A spec file's text, read with a cap: a spec that is a device
/// (/dev/zero) or a huge file is refused at once, not read into memory.
fn read_spec(path: &std::path::Path, label: &str, named: bool) -> Result<String, SpecError> {
    use crate::textfile::TextFileError;
    let read = if named {
        crate::textfile::read_named
    } else {
        crate::textfile::read
    };
    read(path, MAX_SPEC_BYTES).map_err(|e| SpecError {
        file: label.to_string(),
        line: 0,
        key: None,
        message: match e {
            TextFileError::Io(e) => format!("cannot read {label}: {e}"),
            TextFileError::TooLarge => format!(
                "the spec is larger than {}; split it into several files",
                show_size(MAX_SPEC_BYTES)
            ),
            TextFileError::NotUtf8(e) => format!("the spec is not UTF-8 text: {e}"),
            other @ TextFileError::NotRegular(_) => format!("cannot read {label}: {other}"),
        },
    })
}

/// What identifies a spec file in an include chain: its canonical path.
fn identity(path: &std::path::Path) -> std::path::PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Most spec files one load reads through `include:`.
pub const MAX_INCLUDED_FILES: usize = 1000;

/// The include chain of a load: the files being loaded, outermost first, and
/// how many files it has read.
#[derive(Debug, Default)]
struct Includes {
    stack: Vec<std::path::PathBuf>,
    labels: Vec<String>,
    read: usize,
    /// Every variable name a placeholder asked for, set or not.
    used: std::collections::BTreeSet<String>,
}

/// The largest spec file infraspec reads.
pub const MAX_SPEC_BYTES: u64 = 16 << 20;

/// Loads a spec from text; `file` names it in errors.
pub fn load_str(text: &str, file: &str) -> Result<Vec<Check>, SpecErrors> {
    load_str_with(text, file, &LoadOptions::default())
}

/// Loads a spec from text with variables from outside it; an `include:`
/// is relative to the working directory.
pub fn load_str_with(
    text: &str,
    file: &str,
    options: &LoadOptions,
) -> Result<Vec<Check>, SpecErrors> {
    let mut loader = Loader::new(file);
    loader.outer = options.vars.clone();
    loader.dir = Some(std::path::PathBuf::new());
    if let Some(root) = loader.parse(text) {
        loader.document(&root);
    }
    loader.finish()
}

/// Loads one check written in YAML flow syntax, as given to `-c`:
/// `port: 80` or `{file: /etc/motd, content: {contains: hello}}`.
pub fn load_check(text: &str, label: &str) -> Result<Vec<Check>, SpecErrors> {
    load_check_with(text, label, &LoadOptions::default())
}

/// As [`load_check`], with variables.
pub fn load_check_with(
    text: &str,
    label: &str,
    options: &LoadOptions,
) -> Result<Vec<Check>, SpecErrors> {
    let mut loader = Loader::new(label);
    loader.vars = options.vars.clone();
    if let Some(root) = loader.parse(text) {
        loader.expanded_item(&root);
    }
    // A -c check is one mapping, not a spec file: say how it is written.
    for e in loader.errors.iter_mut() {
        if e.message.starts_with("expected a mapping") {
            e.message = format!(
                "{:?} is not a check: -c takes one check in YAML flow syntax, a resource and its expectations, such as -c 'package: bash' or -c '{{file: /etc/motd, content: {{contains: hello}}}}'",
                text
            );
        }
    }
    loader.finish()
}

fn line_of(node: &Node) -> usize {
    node.span().start().map(|m| m.line()).unwrap_or(0)
}

fn key_line(key: &MarkedScalarNode) -> usize {
    key.span().start().map(|m| m.line()).unwrap_or(0)
}

pub use crate::model::duration::parse_duration;

/// Parses a size: bytes, or a number with KiB, MiB, GiB (or K, M, G, KB, MB, GB
/// as the same binary units).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("{text:?} is not a size like 16MiB, 512KiB or 1000000");
    let n: u64 = num.parse().map_err(|_| bad())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(bad()),
    };
    let bytes = n
        .checked_shl(shift)
        .filter(|b| b >> shift == n)
        .ok_or_else(bad)?;
    if bytes == 0 || bytes > 1 << 30 {
        return Err(format!(
            "{text:?}: max_output must be between 1 byte and 1GiB"
        ));
    }
    Ok(bytes)
}

/// A size for people: `4MiB`, `512KiB`, `100 bytes`.
pub fn show_size(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

struct Loader<'f> {
    file: &'f str,
    errors: Vec<SpecError>,
    checks: Vec<Check>,
    /// The variables of this file's checks: its `vars:` under `outer`.
    vars: Vars,
    /// What wins over this file's `vars:`: the including file's variables,
    /// or for the first file those from outside the spec.
    outer: Vars,
    /// Where this file's includes are found; `None` where a spec has none
    /// (`-c`).
    dir: Option<std::path::PathBuf>,
    includes: Includes,
}

impl<'f> Loader<'f> {
    fn new(file: &'f str) -> Self {
        Loader {
            file,
            errors: Vec::new(),
            checks: Vec::new(),
            vars: Vars::default(),
            outer: Vars::default(),
            dir: None,
            includes: Includes::default(),
        }
    }

    fn error(&mut self, line: usize, key: Option<&str>, message: impl Into<String>) {
        self.errors.push(SpecError {
            file: self.file.to_string(),
            line,
            key: key.map(str::to_string),
            message: message.into(),
        });
    }

    fn finish(mut self) -> Result<Vec<Check>, SpecErrors> {
        if self.errors.is_empty() {
            Ok(self.checks)
        } else {
            self.errors.sort_by_key(|e| e.line);
            Err(SpecErrors(self.errors))
        }
    }

    fn parse(&mut self, text: &str) -> Option<Node> {
        if text.trim().is_empty() {
            self.error(
                1,
                None,
                "the spec is empty: expected `checks:` with a list of checks",
            );
            return None;
        }
        if let Some(line) = second_document(text) {
            self.error(
                line,
                None,
                "a second YAML document starts here (after `---` or `...`); a spec is one \
                 document, and the loader would ignore this one: move its checks under the \
                 first `checks:`, or into another file",
            );
            return None;
        }
        // Quoted scalars keep their quoting (`may_coerce`), so that `json:
        // '8080'` is a string and `json: 8080` a number.
        let options = LoaderOptions::default()
            .error_on_duplicate_keys(true)
            .prevent_coercion(true);
        match marked_yaml::parse_yaml_with_options(0, text, options) {
            Ok(node) => Some(node),
            Err(e) => {
                let (line, message) = match &e {
                    LoadError::ScanError(m, se) => {
                        (m.line(), format!("invalid YAML: {}", se.info()))
                    }
                    LoadError::TopLevelMustBeMapping(m) => (
                        m.line(),
                        "expected a mapping (`checks:` with a list of checks)".to_string(),
                    ),
                    LoadError::DuplicateKey(d) => (
                        key_line(&d.key),
                        format!(
                            "duplicate key `{}` (first on line {})",
                            d.key.as_str(),
                            key_line(&d.prev_key)
                        ),
                    ),
                    LoadError::UnexpectedAnchor(m) => (
                        m.line(),
                        "YAML anchors and aliases are not supported".into(),
                    ),
                    LoadError::UnexpectedTag(m) => (m.line(), "YAML tags are not supported".into()),
                    LoadError::MappingKeyMustBeScalar(m) => {
                        (m.line(), "mapping keys must be plain words".into())
                    }
                    other => (0, format!("invalid YAML: {other}")),
                };
                self.error(line, None, message);
                None
            }
        }
    }

    fn document(&mut self, root: &Node) {
        let Some(map) = root.as_mapping() else {
            self.error(line_of(root), None, "expected a mapping with `checks:`");
            return;
        };
        // A file that is no spec at all (a password file, a log) is refused
        // as a whole: none of its text is quoted back.
        if !map
            .iter()
            .any(|(k, _)| matches!(k.as_str(), "checks" | "vars" | "include"))
        {
            self.error(
                line_of(root),
                None,
                "this is not a spec: its top level has none of `checks:`, `vars:` and `include:`",
            );
            return;
        }
        // Variables first, wherever they are written: every value may use them.
        self.vars = Vars::default();
        if let Some((_, value)) = map.iter().find(|(k, _)| k.as_str() == "vars") {
            self.vars_section(value);
        }
        self.vars.overlay(&self.outer);
        let mut seen_checks = false;
        let mut seen_include = false;
        for (key, value) in map.iter() {
            match key.as_str() {
                "vars" => {}
                "include" => {
                    seen_include = true;
                    self.include_section(key, value);
                }
                "checks" => {
                    seen_checks = true;
                    match value {
                        Node::Sequence(items) if !items.is_empty() => {
                            for item in items.iter() {
                                self.expanded_item(item);
                            }
                        }
                        Node::Sequence(_) => {
                            self.error(key_line(key), Some("checks"), "the list of checks is empty")
                        }
                        Node::Scalar(s)
                            if s.as_str().is_empty()
                                || s.as_str() == "~"
                                || s.as_str() == "null" =>
                        {
                            self.error(key_line(key), Some("checks"), "the list of checks is empty")
                        }
                        _ => self.error(
                            line_of(value),
                            Some("checks"),
                            "expected a list of checks (items starting with `- `)",
                        ),
                    }
                }
                other => self.error(
                    key_line(key),
                    Some(other),
                    format!(
                        "unknown top-level key (a spec has `checks:`, `vars:` and `include:`){}",
                        did_you_mean(other, ["checks", "vars", "include"])
                    ),
                ),
            }
        }
        if !seen_checks && !seen_include && self.errors.is_empty() {
            self.error(line_of(root), None, "no `checks:` in the spec");
        }
    }

    /// `vars:`: name: value, or name: {value: ..., sensitive: true}.
    fn vars_section(&mut self, value: &Node) {
        let Some(map) = value.as_mapping() else {
            if !value.as_scalar().is_some_and(|s| s.as_str().is_empty()) {
                self.error(
                    line_of(value),
                    Some("vars"),
                    "expected a mapping of variable names to values",
                );
            }
            return;
        };
        for (name, v) in map.iter() {
            let line = key_line(name);
            if !vars::valid_name(name.as_str()) {
                self.error(
                    line,
                    Some(name.as_str()),
                    "not a variable name (letters, digits and _, not starting with a digit)",
                );
                continue;
            }
            // The value written here (with its YAML typing), if any, and
            // whether it is sensitive.
            let (value, sensitive) = match v {
                Node::Scalar(s) => (Some((s.as_str().to_string(), s.may_coerce())), false),
                Node::Mapping(m) => {
                    let mut value = None;
                    let mut sensitive = false;
                    for (k, inner) in m.iter() {
                        match (k.as_str(), inner) {
                            ("value", Node::Scalar(s)) => {
                                value = Some((s.as_str().to_string(), s.may_coerce()))
                            }
                            ("sensitive", Node::Scalar(s)) => match s.as_bool() {
                                Some(b) => sensitive = b,
                                None => self.error(
                                    key_line(k),
                                    Some("sensitive"),
                                    "expected true or false",
                                ),
                            },
                            (other, _) => self.error(
                                key_line(k),
                                Some(other),
                                "a variable is `name: value` or `name: {value: ..., sensitive: true}`",
                            ),
                        }
                    }
                    (value, sensitive)
                }
                Node::Sequence(_) => {
                    self.error(
                        line,
                        Some(name.as_str()),
                        "a variable holds one plain value, not a list",
                    );
                    continue;
                }
            };
            // A variable sensitive in the spec stays sensitive when its value
            // comes from outside.
            let outer = self.outer.0.get_mut(name.as_str());
            let given_outside = outer.is_some();
            if let Some(outer) = outer.filter(|_| sensitive) {
                outer.sensitive = true;
            }
            let var = match value {
                Some((value, typed)) => Var {
                    value: value.into(),
                    typed,
                    sensitive,
                },
                // A sensitive variable without a value here: it must come
                // from outside (the environment).
                None if sensitive => {
                    if !given_outside {
                        self.error(
                            line,
                            Some(name.as_str()),
                            format!(
                                "a sensitive variable without a value: give it with INFRASPEC_VAR_{0}, --var {0}=... or --vars FILE",
                                name.as_str()
                            ),
                        );
                    }
                    continue;
                }
                None => {
                    self.error(line, Some(name.as_str()), "expected `value:`");
                    continue;
                }
            };
            self.vars.set(name.as_str(), var);
        }
    }

    /// `include: [common.yaml, roles/*.yaml]`, relative to this file.
    fn include_section(&mut self, key: &MarkedScalarNode, value: &Node) {
        let patterns: Vec<&MarkedScalarNode> = match value {
            Node::Scalar(s) => vec![s],
            Node::Sequence(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match item.as_scalar() {
                        Some(s) => out.push(s),
                        None => self.error(
                            line_of(item),
                            Some("include"),
                            "expected a file name or a glob such as roles/*.yaml",
                        ),
                    }
                }
                out
            }
            Node::Mapping(_) => {
                self.error(
                    key_line(key),
                    Some("include"),
                    "expected a list of file names or globs",
                );
                return;
            }
        };
        let Some(dir) = self.dir.clone() else {
            self.error(
                key_line(key),
                Some("include"),
                "only a spec file includes others",
            );
            return;
        };
        for pattern in patterns {
            let line = pattern.span().start().map(|m| m.line()).unwrap_or(0);
            let files = crate::textfile::glob(&dir, pattern.as_str());
            if files.is_empty() {
                self.error(
                    line,
                    Some("include"),
                    format!("{:?} matches no file", pattern.as_str()),
                );
                continue;
            }
            for path in files {
                self.include_file(&path, line);
            }
        }
    }

    fn include_file(&mut self, path: &std::path::Path, line: usize) {
        let label = path.display().to_string();
        let id = identity(path);
        if self.includes.stack.contains(&id) {
            let mut chain = self.includes.labels.clone();
            chain.push(label);
            self.error(
                line,
                Some("include"),
                format!("an include cycle: {}", chain.join(" includes ")),
            );
            return;
        }
        self.includes.read += 1;
        if self.includes.read > MAX_INCLUDED_FILES {
            self.error(
                line,
                Some("include"),
                format!("more than {MAX_INCLUDED_FILES} files included in one spec"),
            );
            return;
        }
        let text = match read_spec(path, &label, false) {
            Ok(text) => text,
            Err(e) => {
                self.error(line, Some("include"), e.message);
                return;
            }
        };
        let mut child = Loader::new(&label);
        child.outer = self.vars.clone();
        child.dir = Some(path.parent().map(Into::into).unwrap_or_default());
        child.includes = std::mem::take(&mut self.includes);
        child.includes.stack.push(id);
        child.includes.labels.push(label.clone());
        if let Some(root) = child.parse(&text) {
            child.document(&root);
        }
        child.includes.stack.pop();
        child.includes.labels.pop();
        self.includes = std::mem::take(&mut child.includes);
        self.checks.append(&mut child.checks);
        self.errors.append(&mut child.errors);
    }

    /// One check, its placeholders replaced first.
    fn expanded_item(&mut self, node: &Node) {
        let mut node = node.clone();
        let mut secrets = Secrets::default();
        let errors_before = self.errors.len();
        self.expand(&mut node, &mut secrets);
        if self.errors.len() > errors_before {
            return;
        }
        let checks_before = self.checks.len();
        self.item(&node);
        if !secrets.is_empty() {
            for e in &mut self.errors[errors_before..] {
                e.message = secrets.mask(&e.message);
            }
            for c in &mut self.checks[checks_before..] {
                c.options.sensitive = true;
                c.options.secrets = secrets.clone();
            }
        }
    }

    /// Replaces the placeholders in every value under `node` (keys stay).
    fn expand(&mut self, node: &mut Node, secrets: &mut Secrets) {
        match node {
            Node::Scalar(s) => {
                if !s.as_str().contains("{{") {
                    return;
                }
                let line = s.span().start().map(|m| m.line()).unwrap_or(0);
                self.includes.used.extend(vars::names(s.as_str()));
                match vars::expand(s.as_str(), &self.vars) {
                    Ok(e) => {
                        if !e.secrets.is_empty() {
                            secrets.extend(Secrets {
                                texts: vec![(e.text.clone(), e.shown.clone())],
                                values: e.secrets,
                            });
                        }
                        let mut new = MarkedScalarNode::new(*s.span(), e.text);
                        new.set_coerce(e.typed);
                        *s = new;
                    }
                    Err(e) => self.error(line, None, e.to_string()),
                }
            }
            Node::Sequence(items) => {
                for item in items.iter_mut() {
                    self.expand(item, secrets);
                }
            }
            Node::Mapping(map) => {
                for value in map.values_mut() {
                    self.expand(value, secrets);
                }
            }
        }
    }

    fn item(&mut self, node: &Node) {
        let Some(map) = node.as_mapping() else {
            self.error(
                line_of(node),
                None,
                "a check is a mapping such as `package: nginx`, not a plain value",
            );
            return;
        };
        let line = line_of(node);
        let candidates: Vec<(&MarkedScalarNode, ResourceKind)> = map
            .keys()
            .filter_map(|k| ResourceKind::from_key(k.as_str()).map(|r| (k, r)))
            .collect();
        // `group` is a resource and also a property of `file`, `user` a property
        // of `process`: a key that is a property of another resource named in
        // the same item is that property.
        let resources: Vec<(&MarkedScalarNode, ResourceKind)> = candidates
            .iter()
            .filter(|(key, _)| {
                // A resource key that is also a property or a qualifier of
                // another resource of the item is that (`group` of a file,
                // `port` of a host).
                !candidates.iter().any(|(_, other)| {
                    Property::from_key(key.as_str())
                        .is_some_and(|p| other.property_kind(p).is_some())
                        || other.qualifiers().contains(&key.as_str())
                })
            })
            .copied()
            .collect();
        let (res_key, kind) = match resources.as_slice() {
            [one] => *one,
            [] => {
                let known: Vec<&str> = ResourceKind::ALL.iter().map(|k| k.as_str()).collect();
                let keys: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
                let hint = keys
                    .iter()
                    .map(|k| did_you_mean(k, known.iter().copied()))
                    .find(|h| !h.is_empty())
                    .unwrap_or_default();
                self.error(
                    line,
                    keys.first().copied(),
                    format!(
                        "this check names no resource; keys were {keys:?}, and a check needs exactly one of: {}{hint}",
                        known.join(", ")
                    ),
                );
                return;
            }
            [first, second, ..] => {
                self.error(
                    key_line(second.0),
                    Some(second.0.as_str()),
                    format!(
                        "a check names exactly one resource, this one names `{}` and `{}`",
                        first.1, second.1
                    ),
                );
                return;
            }
        };
        let origin = Origin {
            file: self.file.to_string(),
            line: key_line(res_key),
        };
        let name = match &map[res_key] {
            Node::Scalar(s) => s.as_str().to_string(),
            other => {
                self.error(
                    line_of(other),
                    Some(kind.as_str()),
                    format!("expected the {kind}'s name as a plain value"),
                );
                return;
            }
        };
        let resource = match Resource::new(kind, name) {
            Ok(r) => r,
            Err(msg) => {
                self.error(origin.line, Some(kind.as_str()), msg);
                return;
            }
        };

        let mut options = CheckOptions::default();
        let mut listen = Listen::default();
        let mut request = Request::default();
        let mut expectations: Vec<Expectation> = Vec::new();
        let errors_before = self.errors.len();
        for (key, value) in map.iter() {
            let k = key.as_str();
            if k == kind.as_str() {
                continue;
            }
            let kl = key_line(key);
            if OPTION_KEYS.contains(&k) {
                self.option(&mut options, key, value);
            } else if kind.qualifiers().contains(&k) {
                self.qualifier(kind, &mut listen, &mut request, key, value);
            } else if let Some(property) = Property::from_key(k) {
                match kind.property_kind(property) {
                    Some(vk) => match matcher(value, vk, k) {
                        Ok(m) => {
                            options.literal_contains |= says_literal(value);
                            expectations.push(Expectation::new(property, m))
                        }
                        Err((l, msg)) => self.error(l, Some(k), msg),
                    },
                    None => self.error(
                        kl,
                        Some(k),
                        format!(
                            "`{k}` is not a property of {kind} ({kind} has: {})",
                            property_list(kind)
                        ),
                    ),
                }
            } else {
                self.error(
                    kl,
                    Some(k),
                    format!(
                        "unknown key in a {kind} check (properties: {}; options: {}{}){}",
                        property_list(kind),
                        OPTION_KEYS.join(", "),
                        if kind.qualifiers().is_empty() {
                            String::new()
                        } else {
                            format!("; qualifiers: {}", kind.qualifiers().join(", "))
                        },
                        did_you_mean(
                            k,
                            kind.properties()
                                .iter()
                                .map(|(p, _)| p.as_str())
                                .chain(OPTION_KEYS.iter().copied())
                                .chain(kind.qualifiers().iter().copied())
                        )
                    ),
                );
            }
        }
        if self.errors.len() > errors_before {
            return;
        }
        if expectations.is_empty() {
            let (p, m) = kind.default_expectation();
            expectations.push(Expectation::new(p, m));
        }
        if !kind.qualifiers().is_empty() {
            for e in expectations.iter_mut() {
                e.request = request.clone();
            }
            if expectations
                .iter()
                .any(|e| e.property == Property::Reachable)
                && request.port.is_none()
            {
                self.error(
                    origin.line,
                    Some("reachable"),
                    "`reachable` needs a `port`: a TCP connection is tried to it",
                );
                return;
            }
            if expectations.iter().any(|e| e.property == Property::Json)
                && request.json_path.is_none()
            {
                self.error(
                    origin.line,
                    Some("json"),
                    "`json` needs a `json_path` such as .status or .items[0].name",
                );
                return;
            }
        }
        if listen != Listen::default() {
            for e in expectations
                .iter_mut()
                .filter(|e| e.property == Property::Listening)
            {
                e.listen = listen.clone();
            }
        }
        if kind == ResourceKind::Process {
            same_process(&mut expectations);
        }
        for expectation in expectations {
            self.checks.push(Check {
                resource: resource.clone(),
                expectation,
                options: options.clone(),
                origin: Some(origin.clone()),
                reported_name: None,
            });
        }
    }

    fn option(&mut self, options: &mut CheckOptions, key: &MarkedScalarNode, value: &Node) {
        let k = key.as_str();
        let line = line_of(value);
        let result: Result<(), String> = (|| {
            match k {
                "title" => options.title = Some(scalar_text(value)?),
                "tags" => {
                    options.tags = match value {
                        Node::Sequence(items) => items
                            .iter()
                            .map(scalar_text)
                            .collect::<Result<Vec<_>, _>>()?,
                        other => vec![scalar_text(other)?],
                    }
                }
                "skip" => {
                    let text = scalar_text(value)?;
                    options.skip = match text.as_str() {
                        "false" => None,
                        "true" => Some("skipped in the spec".into()),
                        _ => Some(text),
                    }
                }
                "skip_in_container" => options.skip_in_container = Some(boolean(value)?),
                "sensitive" => options.sensitive = boolean(value)?,
                "timeout" => options.timeout = Some(parse_duration(&scalar_text(value)?)?),
                "max_output" => options.max_output = Some(parse_size(&scalar_text(value)?)?),
                "eventually" => {
                    let map = value
                        .as_mapping()
                        .ok_or("expected { timeout: 30s, interval: 1s }")?;
                    let mut ev = Eventually::default();
                    for (ek, ev_node) in map.iter() {
                        let d = parse_duration(&scalar_text(ev_node)?)?;
                        match ek.as_str() {
                            "timeout" => ev.timeout = d,
                            "interval" => ev.interval = d,
                            other => {
                                return Err(format!(
                                    "unknown key `{other}` in eventually (timeout, interval)"
                                ))
                            }
                        }
                    }
                    if ev.interval.is_zero() {
                        return Err("eventually.interval must be more than 0".into());
                    }
                    options.eventually = Some(ev);
                }
                "only_if" => options.only_if = only_if(value)?,
                _ => unreachable!("option keys are listed in OPTION_KEYS"),
            }
            Ok(())
        })();
        if let Err(msg) = result {
            self.error(line, Some(k), msg);
        }
    }

    fn qualifier(
        &mut self,
        kind: ResourceKind,
        listen: &mut Listen,
        request: &mut Request,
        key: &MarkedScalarNode,
        value: &Node,
    ) {
        let k = key.as_str();
        let line = line_of(value);
        let result: Result<(), String> = (|| {
            match (kind, k) {
                (ResourceKind::Port, "protocol") => {
                    listen.protocol = Some(
                        Protocol::parse(&scalar_text(value)?)
                            .ok_or("expected one of tcp, tcp6, udp, udp6")?,
                    )
                }
                (ResourceKind::Port, "address") => {
                    let a = scalar_text(value)?;
                    a.parse::<std::net::IpAddr>()
                        .map_err(|_| "expected an IP address such as 127.0.0.1 or ::")?;
                    listen.address = Some(a)
                }
                (ResourceKind::Http, "method") => {
                    let m = scalar_text(value)?.to_ascii_uppercase();
                    if !["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
                        .contains(&m.as_str())
                    {
                        return Err(format!("{m:?} is not an HTTP method (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)"));
                    }
                    request.method = Some(m)
                }
                (ResourceKind::Http, "headers") => {
                    let map = value
                        .as_mapping()
                        .ok_or("expected a mapping of header names to values")?;
                    for (name, v) in map.iter() {
                        let v = scalar_text(v)?;
                        if name.as_str().is_empty()
                            || name.as_str().contains([':', '\n', '\r'])
                            || v.contains(['\n', '\r'])
                        {
                            return Err(format!(
                                "header {:?} is not a valid header",
                                name.as_str()
                            ));
                        }
                        request.headers.push((name.as_str().to_string(), v));
                    }
                }
                (ResourceKind::Http, "request_body") => request.body = Some(scalar_text(value)?),
                (ResourceKind::Http, "auth") => {
                    let a = scalar_text(value)?;
                    if !a.contains(':') {
                        return Err("expected user:password".into());
                    }
                    request.auth = Some(a)
                }
                (ResourceKind::Http, "follow_redirects") => {
                    request.follow_redirects = Some(boolean(value)?)
                }
                (ResourceKind::Http, "insecure") => request.insecure = boolean(value)?,
                (ResourceKind::Http, "ca") => request.ca = Some(scalar_text(value)?),
                (ResourceKind::Http | ResourceKind::File | ResourceKind::Command, "json_path") => {
                    let path = scalar_text(value)?;
                    request.json_path = Some(
                        crate::model::document::JsonPath::parse(&path)
                            .map_err(|e| e.to_string())?,
                    )
                }
                (ResourceKind::Host, "port") => {
                    let port = scalar_text(value)?;
                    request.port =
                        Some(port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                            format!("port {port:?} is not a number from 1 to 65535")
                        })?)
                }
                (ResourceKind::Http, "from") => {
                    request.from = match scalar_text(value)?.as_str() {
                        "target" => From::Target,
                        "runner" => From::Runner,
                        other => return Err(format!("from {other:?}: expected target or runner")),
                    }
                }
                _ => return Err(format!("`{k}` does not qualify a {kind} check")),
            }
            Ok(())
        })();
        if let Err(msg) = result {
            self.error(line, Some(k), msg);
        }
    }
}

fn property_list(kind: ResourceKind) -> String {
    kind.properties()
        .iter()
        .map(|(p, _)| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn scalar_text(node: &Node) -> Result<String, String> {
    match node {
        Node::Scalar(s) => Ok(s.as_str().to_string()),
        Node::Mapping(_) => Err("expected a plain value, found a mapping".into()),
        Node::Sequence(_) => Err("expected a plain value, found a list".into()),
    }
}

fn boolean(node: &Node) -> Result<bool, String> {
    match scalar_text(node)?.as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("expected true or false, found {other:?}")),
    }
}

fn only_if(node: &Node) -> Result<OnlyIf, String> {
    let map: &MarkedMappingNode = node
        .as_mapping()
        .ok_or("expected a mapping such as { os: debian, container: false }")?;
    let mut o = OnlyIf::default();
    for (k, v) in map.iter() {
        match k.as_str() {
            "os" => o.os = Some(scalar_text(v)?),
            "arch" => o.arch = Some(scalar_text(v)?),
            "init" => {
                let init = scalar_text(v)?;
                if !["systemd", "openrc", "sysv", "none"].contains(&init.as_str()) {
                    return Err(format!(
                        "only_if.init {init:?} is not one of systemd, openrc, sysv, none"
                    ));
                }
                o.init = Some(init)
            }
            "container" => o.container = Some(boolean(v)?),
            other => {
                return Err(format!(
                    "unknown key `{other}` in only_if (os, arch, init, container)"
                ))
            }
        }
    }
    Ok(o)
}

/// A scalar in an expectation, read as the property's kind of value.
fn typed_scalar(node: &Node, kind: ValueKind, key: &str) -> Result<Scalar, (usize, String)> {
    let line = line_of(node);
    let text = scalar_text(node).map_err(|m| (line, m))?;
    let fail = |what: &str| (line, format!("{key} expects {what}, found {text:?}"));
    Ok(match kind {
        ValueKind::State => match text.as_str() {
            "true" => Scalar::Bool(true),
            "false" => Scalar::Bool(false),
            _ => return Err(fail("true or false")),
        },
        ValueKind::Int => Scalar::Int(text.trim().parse().map_err(|_| fail("a whole number"))?),
        ValueKind::Mode => {
            let m = parse_mode(&text).ok_or_else(|| fail("an octal mode such as '0644'"))?;
            Scalar::Str(format!("{m:04o}"))
        }
        ValueKind::FileType => {
            use crate::model::file::FileType;
            if FileType::named(&text).is_none() {
                let names: Vec<&str> = FileType::NAMED.iter().map(|t| t.as_str()).collect();
                return Err(fail(&format!("one of {}", names.join(", "))));
            }
            Scalar::Str(text)
        }
        ValueKind::List => {
            return Err((
                line,
                format!("{key} is a list of names: use {{ contains: {text} }} or another matcher"),
            ))
        }
        ValueKind::Text | ValueKind::Version => Scalar::Str(text),
        ValueKind::Json => json_scalar(node),
    })
}

/// A YAML node under `json` as the JSON value it means: a quoted scalar is a
/// string, a plain one is typed, a list or a mapping is an array or object.
fn json_scalar(node: &Node) -> Scalar {
    use serde_json::Value as J;
    match crate::model::document::from_yaml(node) {
        J::Bool(b) => Scalar::Bool(b),
        J::Number(n) if n.is_i64() => Scalar::Int(n.as_i64().unwrap_or_default()),
        J::String(s) => Scalar::Str(s),
        other => Scalar::Json(other.to_string()),
    }
}

/// An expectation's value: a plain scalar (equality), a list of matchers (all of
/// them), or a one-key mapping naming a matcher.
/// Whether a matcher node says `literal: true` anywhere in it.
fn says_literal(node: &Node) -> bool {
    match node {
        Node::Mapping(map) => map
            .iter()
            .any(|(k, v)| (k.as_str() == "literal" && boolean(v) == Ok(true)) || says_literal(v)),
        Node::Sequence(items) => items.iter().any(says_literal),
        Node::Scalar(_) => false,
    }
}

/// A `contains` in a matcher node whose text looks like a pattern and whose
/// author did not say `literal: true`: its line and text.
fn negated_pattern(node: &Node) -> Option<(usize, String)> {
    match node {
        Node::Mapping(map) => {
            let literal = map
                .iter()
                .any(|(k, v)| k.as_str() == "literal" && boolean(v) == Ok(true));
            map.iter().find_map(|(k, v)| match (k.as_str(), v) {
                ("contains", Node::Scalar(text))
                    if !literal && crate::spec::looks_like_pattern(text.as_str()) =>
                {
                    Some((line_of(v), text.as_str().to_string()))
                }
                _ => negated_pattern(v),
            })
        }
        Node::Sequence(items) => items.iter().find_map(negated_pattern),
        Node::Scalar(_) => None,
    }
}

fn matcher(node: &Node, kind: ValueKind, key: &str) -> Result<Matcher, (usize, String)> {
    let line = line_of(node);
    match node {
        Node::Scalar(_) => Ok(Matcher::Eq(typed_scalar(node, kind, key)?)),
        // Under `json`, a list or a mapping that is not one matcher is the
        // JSON array or object it writes.
        Node::Sequence(_) if kind == ValueKind::Json => Ok(Matcher::Eq(json_scalar(node))),
        Node::Mapping(map)
            if kind == ValueKind::Json
                && !(map.len() == 1 && map.keys().all(|k| MATCHER_KEYS.contains(&k.as_str())))
                && !map.keys().any(|k| k.as_str() == "literal") =>
        {
            Ok(Matcher::Eq(json_scalar(node)))
        }
        Node::Sequence(items) => {
            if items.is_empty() {
                return Err((
                    line,
                    format!("{key}: an empty list of matchers means nothing"),
                ));
            }
            Ok(Matcher::AllOf(
                items
                    .iter()
                    .map(|i| matcher(i, kind, key))
                    .collect::<Result<_, _>>()?,
            ))
        }
        Node::Mapping(map) => {
            let literal = map.iter().find(|(k, _)| k.as_str() == "literal");
            if let Some((lk, lv)) = literal {
                let with_contains =
                    map.len() == 2 && map.iter().any(|(k, _)| k.as_str() == "contains");
                if !with_contains {
                    return Err((
                        key_line(lk),
                        "`literal` goes with `contains` alone: { contains: '^x', literal: true }"
                            .into(),
                    ));
                }
                boolean(lv).map_err(|m| (line_of(lv), format!("literal: {m}")))?;
            }
            let mut entries = map.iter().filter(|(k, _)| k.as_str() != "literal");
            let (Some((mk, mv)), None) = (entries.next(), entries.next()) else {
                return Err((
                    line,
                    format!("a matcher is a mapping with one key, such as {{ contains: x }} (one of {})", MATCHER_KEYS.join(", ")),
                ));
            };
            let name = mk.as_str();
            let ml = key_line(mk);
            let allowed = matchers_for(kind);
            if !MATCHER_KEYS.contains(&name) {
                return Err((
                    ml,
                    format!(
                        "unknown matcher `{name}` (one of {}){}",
                        MATCHER_KEYS.join(", "),
                        did_you_mean(name, MATCHER_KEYS.iter().copied())
                    ),
                ));
            }
            if !allowed.contains(&name) {
                return Err((
                    ml,
                    format!(
                        "`{name}` does not apply to {key} (it takes: {})",
                        allowed.join(", ")
                    ),
                ));
            }
            let text = || scalar_text(mv).map_err(|m| (line_of(mv), m));
            let list = |mv: &Node| -> Result<Vec<Matcher>, (usize, String)> {
                match mv {
                    Node::Sequence(items) if !items.is_empty() => {
                        items.iter().map(|i| matcher(i, kind, key)).collect()
                    }
                    _ => Err((
                        line_of(mv),
                        format!("`{name}` takes a non-empty list of matchers"),
                    )),
                }
            };
            Ok(match name {
                "eq" if kind == ValueKind::List => match mv {
                    Node::Sequence(items) => Matcher::Eq(Scalar::Set(
                        items
                            .iter()
                            .map(|i| scalar_text(i).map_err(|m| (line_of(i), m)))
                            .collect::<Result<_, _>>()?,
                    )),
                    _ => {
                        return Err((
                            line_of(mv),
                            format!("`eq` on {key} takes a list of names: {{ eq: [a, b] }} (exactly these, in any order)"),
                        ))
                    }
                },
                "eq" if kind == ValueKind::Json => Matcher::Eq(json_scalar(mv)),
                "eq" => Matcher::Eq(typed_scalar(mv, kind, key)?),
                "contains" => Matcher::Contains(text()?),
                "starts_with" => Matcher::StartsWith(text()?),
                "ends_with" => Matcher::EndsWith(text()?),
                "matches" => {
                    Matcher::Matches(Pattern::new(&text()?).map_err(|m| (line_of(mv), m))?)
                }
                "gt" | "ge" | "lt" | "le" => {
                    let n: f64 = text()?
                        .trim()
                        .parse()
                        .map_err(|_| (line_of(mv), format!("`{name}` takes a number")))?;
                    let op = match name {
                        "gt" => Cmp::Gt,
                        "ge" => Cmp::Ge,
                        "lt" => Cmp::Lt,
                        _ => Cmp::Le,
                    };
                    Matcher::Compare(op, n)
                }
                "version" => {
                    Matcher::Version(VersionReq::parse(&text()?).map_err(|m| (line_of(mv), m))?)
                }
                "one_of" => match mv {
                    Node::Sequence(items) if !items.is_empty() => Matcher::OneOf(
                        items
                            .iter()
                            .map(|i| typed_scalar(i, kind, key))
                            .collect::<Result<_, _>>()?,
                    ),
                    _ => {
                        return Err((
                            line_of(mv),
                            "`one_of` takes a non-empty list of values".into(),
                        ))
                    }
                },
                "not" => {
                    if let Some((at, text)) = negated_pattern(mv) {
                        return Err((
                            at,
                            format!(
                                "`contains` is literal, and {text:?} looks like a pattern: under `not` \
                                 that check could never fail. Write `matches` for a pattern, or \
                                 {{ contains: {text:?}, literal: true }} for the text itself"
                            ),
                        ));
                    }
                    matcher(mv, kind, key)?.negate()
                }
                "all_of" => Matcher::AllOf(list(mv)?),
                "any_of" => Matcher::AnyOf(list(mv)?),
                _ => unreachable!("matcher keys are listed in MATCHER_KEYS"),
            })
        }
    }
}

/// The macros' duration grammar, compiled here only to be held to
/// [`parse_duration`]'s answers.
/// Makes the expectations of one `process` item hold for one and the same
/// process: each is judged on the processes that meet the item's other
/// expectations on a process (`user`, `args`).
pub fn same_process(expectations: &mut [Expectation]) {
    let on_one: Vec<(usize, Property, crate::matcher::Matcher)> = expectations
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e.property, Property::User | Property::Args))
        .map(|(i, e)| (i, e.property, e.matcher.clone()))
        .collect();
    for (i, e) in expectations.iter_mut().enumerate() {
        e.same_process = on_one
            .iter()
            .filter(|(j, _, _)| *j != i)
            .map(|(_, p, m)| (*p, m.clone()))
            .collect();
    }
}

#[cfg(test)]
#[path = "../../macros/src/duration.rs"]
mod macro_duration;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::dsl::*;

    #[test]
    fn the_dsl_and_yaml_read_durations_by_one_grammar() {
        for text in [
            "30s",
            "500ms",
            "2m",
            "1h",
            "10",
            "0.5s",
            "1.5",
            "168h",
            "-1s",
            "1e3s",
            "1000h",
            "inf",
            "NaN",
            "s",
            "",
            " 5s",
            "5 s",
            "1..2s",
            "10d",
            "1E3",
            "+1s",
            "604801",
            "604800",
            "0x10",
            "9999999999999999999999s",
        ] {
            assert_eq!(
                macro_duration::is_duration(text),
                parse_duration(text).is_ok(),
                "{text:?}"
            );
        }
        for bad in ["-1s", "1e3s", "1000h"] {
            assert!(!macro_duration::is_duration(bad), "{bad}");
        }
    }

    fn load(text: &str) -> Result<Vec<Check>, SpecErrors> {
        load_str(text, "spec.yaml")
    }

    fn first_error(text: &str) -> String {
        load(text).unwrap_err().0[0].to_string()
    }

    #[test]
    fn json_values_are_typed() {
        use crate::matcher::Value;
        let judge = |spec: &str, found: &str| -> Vec<bool> {
            load(&format!(
                "checks:\n  - command: x\n    json_path: .a\n    json: {spec}\n"
            ))
            .expect(spec)
            .iter()
            .map(|c| {
                c.expectation
                    .matcher
                    .eval(&Value::Json(found.into()))
                    .unwrap()
            })
            .collect()
        };
        assert_eq!(judge("8080", "8080"), [true]);
        assert_eq!(judge("8080", "\"8080\""), [false]);
        assert_eq!(judge("'8080'", "\"8080\""), [true]);
        assert_eq!(judge("'8080'", "8080"), [false]);
        assert_eq!(judge("true", "\"true\""), [false]);
        assert_eq!(judge("true", "true"), [true]);
        assert_eq!(judge("1.5", "1.50"), [true]);
        assert_eq!(judge("[a, b]", "[\"a\",\"b\"]"), [true]);
        assert_eq!(judge("[a, b]", "[\"b\",\"a\"]"), [false]);
        assert_eq!(
            judge("{status: ok, n: 3}", "{\"n\":3,\"status\":\"ok\"}"),
            [true]
        );
        assert_eq!(judge("{eq: [1, 2]}", "[1,2]"), [true]);
        assert_eq!(judge("{contains: ok}", "\"not ok\""), [true]);
        assert_eq!(judge("{gt: 3}", "4"), [true]);
        assert_eq!(judge("{not: 8080}", "\"8080\""), [true]);
    }

    #[test]
    fn a_second_document_is_an_error_at_its_line() {
        let two = "checks:\n  - package: a\n---\nchecks:\n  - package: b\n";
        assert_eq!(load(two).unwrap_err().0[0].line, 3, "{}", first_error(two));
        assert!(first_error(two).contains("second YAML document"));
        let after_end = "checks:\n  - package: a\n...\nchecks:\n  - package: b\n";
        assert!(first_error(after_end).contains("second YAML document"));
        // One document, with its markers, loads.
        assert!(load("---\nchecks:\n  - package: a\n...\n").is_ok());
    }

    #[test]
    fn design_example_loads() {
        let text = include_str!("../../tests/fixtures/specs/design.yaml");
        let checks = load(text).unwrap();
        let names: Vec<String> = checks.iter().map(Check::name).collect();
        // `version` implies the package is there: no separate default check.
        assert!(
            !names.contains(&"package nginx should be installed".to_string()),
            "{names:#?}"
        );
        assert!(names.contains(&r"package nginx version should match /^1\.22/".to_string()));
        assert!(names.contains(&"file /etc/nginx/nginx.conf should be owned by root".to_string()));
        assert!(names.contains(&"port 80 should be listening with tcp".to_string()));
        assert!(names.contains(&"file /etc/nginx/nginx.conf content should contain \"worker_processes\" and not contain \"autoindex on\"".to_string()));
        let ntp = checks.iter().find(|c| c.resource.name == "ntp").unwrap();
        assert_eq!(ntp.options.skip_in_container, Some(true));
        let p8080 = checks.iter().find(|c| c.resource.name == "8080").unwrap();
        assert_eq!(
            p8080.options.eventually.unwrap().timeout,
            Duration::from_secs(30)
        );
        assert_eq!(p8080.origin.as_ref().unwrap().line, 26);
    }

    #[test]
    fn an_item_without_expectations_asserts_the_default() {
        let checks = load("checks:\n  - package: nginx\n  - command: 'true'\n").unwrap();
        assert_eq!(
            checks[0].expectation,
            Expectation::new(Property::Installed, eq(true))
        );
        assert_eq!(
            checks[1].expectation,
            Expectation::new(Property::ExitStatus, eq(0))
        );
    }

    #[test]
    fn errors_name_file_line_and_key() {
        assert_eq!(
            first_error("checks:\n  - package: nginx\n    mode: '0644'\n"),
            "spec.yaml:3: `mode`: `mode` is not a property of package (package has: installed, version)"
        );
        assert!(first_error("checks:\n  - packag: nginx\n")
            .starts_with("spec.yaml:2: `packag`: this check names no resource"));
        assert!(first_error("checks:\n  - service: a\n    runing: true\n")
            .starts_with("spec.yaml:3: `runing`: unknown key in a service check"));
        assert_eq!(
            first_error("checks:\n  - service: a\n    running: yes\n"),
            "spec.yaml:3: `running`: running expects true or false, found \"yes\""
        );
        assert!(first_error("checks: [\n").starts_with("spec.yaml:"));
        assert_eq!(
            first_error("checks: []\n"),
            "spec.yaml:1: `checks`: the list of checks is empty"
        );
        assert_eq!(
            first_error("checks:\n"),
            "spec.yaml:1: `checks`: the list of checks is empty"
        );
        assert!(first_error("").contains("the spec is empty"));
        assert!(
            first_error("checks:\n  - file: /x\n    content: { containz: a }\n")
                .contains("unknown matcher `containz`")
        );
        assert!(first_error("checks:\n  - user: a\n    groups: wheel\n")
            .contains("use { contains: wheel }"));
        assert!(
            first_error("checks:\n  - port: 80\n    listening: { contains: a }\n")
                .contains("`contains` does not apply to listening")
        );
        assert!(first_error("checks:\n  - package: a\n    service: b\n")
            .contains("exactly one resource"));
        assert!(first_error("checks:\n  - package: a\n    package: b\n").contains("duplicate key"));
        // `group` is also a property of a user (its primary group).
        let checks = load("checks:\n  - user: a\n    group: b\n").unwrap();
        assert_eq!(checks[0].name(), "user a should be grouped into b");
    }

    #[test]
    fn resource_names_that_are_also_properties() {
        let checks = load("checks:\n  - file: /etc/x\n    group: adm\n  - process: nginx\n    user: { contains: www-data }\n").unwrap();
        assert_eq!(checks[0].name(), "file /etc/x should be grouped into adm");
        assert_eq!(
            checks[1].name(),
            "process nginx user should contain \"www-data\""
        );
    }

    #[test]
    fn all_errors_of_a_file_are_reported() {
        let errs = load("checks:\n  - package: a\n    mode: 1\n  - service: b\n    bogus: 1\n")
            .unwrap_err();
        assert_eq!(errs.0.len(), 2);
        assert_eq!((errs.0[0].line, errs.0[1].line), (3, 5));
    }

    #[test]
    fn flow_checks_for_the_command_line() {
        let checks = load_check("{file: /etc/motd, content: {contains: hello}}", "-c #1").unwrap();
        assert_eq!(
            checks[0].name(),
            "file /etc/motd content should contain \"hello\""
        );
        let port = load_check("port: 80", "-c #2").unwrap();
        assert_eq!(port[0].name(), "port 80 should be listening");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("soon").is_err());
    }
}
