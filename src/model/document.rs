//! Structured documents (JSON, YAML) and the path syntax that picks one
//! value out of them (`.items[0].name`, a leading `$` allowed).

/// Checks a path's syntax when a spec loads: `.a.b[0].c`, `$.a`, `.`.
pub fn validate_path(path: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "json_path {path:?} is not a path such as .status or .items[0].name: {why}"
        ))
    };
    let rest = path.strip_prefix('$').unwrap_or(path);
    if !rest.is_empty() && !rest.starts_with('.') {
        return bad("it starts with a `.`");
    }
    for part in rest.split('.').skip(1) {
        let (name, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            return bad("a key may hold letters, digits, `_` and `-`");
        }
        if name.is_empty() && indexes.is_empty() && rest != "." {
            return bad("an empty key");
        }
        let mut rest = indexes;
        while !rest.is_empty() {
            let Some(close) = rest.find(']') else {
                return bad("an unclosed `[`");
            };
            let index = &rest[1..close];
            if !rest.starts_with('[')
                || index.is_empty()
                || !index.bytes().all(|b| b.is_ascii_digit())
            {
                return bad("an index is a whole number in `[ ]`");
            }
            rest = &rest[close + 1..];
        }
    }
    Ok(())
}

/// Follows a path into a document.
pub fn at<'v>(value: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    let mut v = value;
    let path = path.strip_prefix('$').unwrap_or(path);
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            v = v.get(name)?;
        }
        for index in rest.split('[').filter(|s| !s.is_empty()) {
            v = v.get(index.strip_suffix(']')?.parse::<usize>().ok()?)?;
        }
    }
    Some(v)
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
