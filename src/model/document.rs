//! Structured documents (JSON, YAML) and the path syntax that picks one
//! value out of them ([`JsonPath`]: `.items[0].name`, a leading `$`
//! allowed, quoted keys in brackets).

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// A key of an object: `.name`, or `["app.kubernetes.io/name"]`.
    Key(String),
    /// An element of an array: `[0]`.
    Index(usize),
}

/// A path into a JSON (or YAML) document, parsed once where a spec is
/// loaded and followed where a document is judged: `.items[0].name`, a
/// leading `$` allowed, `.` (or nothing) for the whole document, and keys
/// that hold anything in brackets and quotes
/// (`.metadata.labels["app.kubernetes.io/name"]`; `\` escapes a quote).
/// A plain key is any run of characters but `.`, `[`, `]`, quotes, spaces
/// and control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

/// Why a json_path is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("json_path {path:?} is not a path such as .status, .items[0].name or .labels[\"app.kubernetes.io/name\"]: {why}")]
pub struct PathError {
    path: String,
    why: &'static str,
}

/// The JSON Schema `pattern` of a [`JsonPath`] (ECMA-262, as editors and
/// Python's `re` both read it): the same grammar as [`JsonPath::parse`].
pub const PATH_PATTERN: &str =
    r#"^\$?(\.|(\.[^.\[\]"'\s]+|\.?\[([0-9]+|"([^"\\]|\\.)*"|'([^'\\]|\\.)*')\])*)$"#;

fn plain_key_char(c: char) -> bool {
    !matches!(c, '.' | '[' | ']' | '"' | '\'') && !c.is_whitespace() && !c.is_control()
}

impl JsonPath {
    /// Parses a path (see [`JsonPath`]).
    pub fn parse(path: &str) -> Result<JsonPath, PathError> {
        let bad = |why| PathError {
            path: path.to_string(),
            why,
        };
        let rest = path.strip_prefix('$').unwrap_or(path);
        let mut chars = rest.chars().peekable();
        let mut steps = Vec::new();
        if rest == "." {
            chars.next();
        }
        while let Some(c) = chars.next() {
            match c {
                '.' => {
                    if chars.peek() == Some(&'[') {
                        continue;
                    }
                    let mut key = String::new();
                    while let Some(&k) = chars.peek().filter(|k| plain_key_char(**k)) {
                        key.push(k);
                        chars.next();
                    }
                    if key.is_empty() {
                        return Err(bad(match chars.peek() {
                            None | Some('.') => "an empty key (a key with `.`, spaces or quotes goes in brackets: [\"a.b\"])",
                            Some(_) => "a key with `.`, `[`, `]`, quotes or spaces goes in brackets and quotes: [\"a b\"]",
                        }));
                    }
                    steps.push(Step::Key(key));
                }
                '[' => match chars.next() {
                    Some(q @ ('"' | '\'')) => {
                        let mut key = String::new();
                        loop {
                            match chars.next() {
                                None => return Err(bad("an unclosed quote in `[ ]`")),
                                Some('\\') => match chars.next() {
                                    Some(e) => key.push(e),
                                    None => return Err(bad("an unclosed quote in `[ ]`")),
                                },
                                Some(e) if e == q => break,
                                Some(e) => key.push(e),
                            }
                        }
                        if chars.next() != Some(']') {
                            return Err(bad("a quoted key is followed by `]`"));
                        }
                        steps.push(Step::Key(key));
                    }
                    Some(d) if d.is_ascii_digit() => {
                        let mut digits = String::from(d);
                        loop {
                            match chars.next() {
                                Some(']') => break,
                                Some(d) if d.is_ascii_digit() => digits.push(d),
                                None => return Err(bad("an unclosed `[`")),
                                Some(_) => return Err(bad("an index is a whole number in `[ ]`")),
                            }
                        }
                        let index = digits
                            .parse()
                            .map_err(|_| bad("an index too large to be one"))?;
                        steps.push(Step::Index(index));
                    }
                    None => return Err(bad("an unclosed `[`")),
                    Some(_) => {
                        return Err(bad("`[ ]` holds an index (a whole number) or a quoted key"))
                    }
                },
                _ => {
                    return Err(bad(if steps.is_empty() {
                        "it must start with `.` (or `$.`)"
                    } else {
                        "a step starts with `.` or `[`"
                    }))
                }
            }
        }
        Ok(JsonPath {
            text: path.to_string(),
            steps,
        })
    }

    /// The whole document.
    pub fn whole() -> JsonPath {
        JsonPath {
            text: ".".into(),
            steps: Vec::new(),
        }
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Follows the path into a document.
    pub fn at<'v>(&self, value: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        self.steps.iter().try_fold(value, |v, step| match step {
            Step::Key(k) => v.as_object()?.get(k),
            Step::Index(i) => v.as_array()?.get(*i),
        })
    }
}

impl std::fmt::Display for JsonPath {
    /// The path as it was written.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for JsonPath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<JsonPath, PathError> {
        JsonPath::parse(s)
    }
}

/// Parses text as JSON, or as YAML when `yaml` is set.
pub fn parse(text: &[u8], yaml: bool) -> Result<serde_json::Value, String> {
    if !yaml {
        return serde_json::from_slice(text).map_err(|e| format!("not JSON ({e})"));
    }
    let text = std::str::from_utf8(text).map_err(|e| format!("not UTF-8 text ({e})"))?;
    let options = marked_yaml::LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true)
        .toplevel_sequence();
    // marked-yaml takes a mapping or a sequence at the top: wrap the
    // document in a one-item sequence, whatever it holds.
    let wrapped = format!("- {}", text.replace('\n', "\n  "));
    let node = marked_yaml::parse_yaml_with_options(0, wrapped, options)
        .map_err(|e| format!("not YAML ({e})"))?;
    let doc = match node {
        marked_yaml::Node::Sequence(items) => items.iter().next().map(from_yaml),
        _ => None,
    };
    doc.ok_or_else(|| "an empty YAML document".to_string())
}

/// A YAML node as the JSON value it means: a quoted scalar is a string, a
/// plain one is typed (booleans, null, numbers), as YAML's core schema reads it.
pub(crate) fn from_yaml(node: &marked_yaml::Node) -> serde_json::Value {
    use serde_json::Value as J;
    match node {
        marked_yaml::Node::Mapping(m) => J::Object(
            m.iter()
                .map(|(k, v)| (k.as_str().to_string(), from_yaml(v)))
                .collect(),
        ),
        marked_yaml::Node::Sequence(s) => J::Array(s.iter().map(from_yaml).collect()),
        marked_yaml::Node::Scalar(s) if !s.may_coerce() => J::String(s.as_str().to_string()),
        marked_yaml::Node::Scalar(s) => {
            let t = s.as_str();
            match t {
                "true" | "True" => J::Bool(true),
                "false" | "False" => J::Bool(false),
                "null" | "~" | "" => J::Null,
                _ => t
                    .parse::<i64>()
                    .map(J::from)
                    .or_else(|_| t.parse::<f64>().map(J::from))
                    .unwrap_or_else(|_| J::String(t.to_string())),
            }
        }
    }
}
