//! Structured documents in text a target returned: JSON (an `http` body,
//! command output, a file) or YAML (a file ending in `.yaml` or `.yml`), and
//! the path syntax that picks one value out of them (`.items[0].name`, a
//! leading `$` allowed), shared by `http`, `file` and `command`.

use super::Early;
use crate::matcher::Value;

pub use crate::model::document::{parse, JsonPath};

/// The value at `path` (the whole document when there is none) in a
/// document, as a check reads it: a typed JSON value (text matchers read a
/// string as its text).
pub fn value_at(doc: &serde_json::Value, path: Option<&JsonPath>) -> Result<Value, Early> {
    let whole = JsonPath::whole();
    let path = path.unwrap_or(&whole);
    let v = path
        .at(doc)
        .ok_or_else(|| Early::Fail(format!("nothing at {path}")))?;
    Ok(Value::Json(v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> JsonPath {
        JsonPath::parse(text).unwrap()
    }

    #[test]
    fn paths_are_checked_when_a_spec_loads() {
        for ok in [
            ".",
            "$",
            "",
            ".status",
            "$.items[0].name",
            ".a-b.c_d[1][2]",
            ".[0]",
            r#".metadata.labels["app.kubernetes.io/name"]"#,
            r#".a['it\'s'][0]"#,
            ".é.ü",
        ] {
            assert!(JsonPath::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "status",
            "a.b",
            ".items[x]",
            ".items[0",
            ".a..b",
            ".a b",
            ".[]",
            ".a[0]é]",
            ".a[\"x]",
            ".a[99999999999999999999999]",
        ] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
        let why = JsonPath::parse("a.b").unwrap_err().to_string();
        assert!(why.contains("must start with `.`"), "{why}");
    }

    /// The schema's pattern and the parser agree on what a path is.
    #[test]
    fn the_schemas_pattern_is_the_parsers_grammar() {
        let re = regex::Regex::new(crate::model::document::PATH_PATTERN).unwrap();
        for text in [
            ".",
            "$",
            "",
            ".a",
            "a",
            ".a.b[0]",
            ".a..b",
            ".[0]",
            ".[]",
            r#".x["a.b"]"#,
            r#".x['a\'b']"#,
            r#".x["a"#,
            ".a b",
            ".a[0]é]",
            ".é",
            "$.a[1][2].c",
            ".a.[0]",
            "..",
        ] {
            assert_eq!(re.is_match(text), JsonPath::parse(text).is_ok(), "{text:?}");
        }
    }

    #[test]
    fn json_paths() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"status":"ok","items":[{"name":"a"},{"name":"b"}],"n":3,"labels":{"app.kubernetes.io/name":"web"}}"#,
        )
        .unwrap();
        assert_eq!(path(".status").at(&v), Some(&serde_json::json!("ok")));
        assert_eq!(
            path("$.items[1].name").at(&v),
            Some(&serde_json::json!("b"))
        );
        assert_eq!(path(".n").at(&v), Some(&serde_json::json!(3)));
        assert_eq!(path(".items[5]").at(&v), None);
        assert_eq!(path(".n[0]").at(&v), None);
        assert_eq!(
            path(r#".labels["app.kubernetes.io/name"]"#).at(&v),
            Some(&serde_json::json!("web"))
        );
        assert_eq!(path(".").at(&v), Some(&v));
    }

    #[test]
    fn json_and_yaml_documents() {
        let doc = parse(br#"{"items":[{"name":"web","replicas":3}]}"#, false).unwrap();
        let json = |t: &str| Value::Json(t.into());
        let at = |doc: &serde_json::Value, p: &str| value_at(doc, Some(&path(p)));
        assert_eq!(at(&doc, ".items[0].name").unwrap(), json("\"web\""));
        assert_eq!(at(&doc, ".items[0].replicas").unwrap(), json("3"));
        let yaml = parse(
            b"server:\n  port: 8080\n  tls: true\n  id: '8080'\nnames: [a, b]\n",
            true,
        )
        .unwrap();
        assert_eq!(at(&yaml, ".server.port").unwrap(), json("8080"));
        assert_eq!(at(&yaml, ".server.tls").unwrap(), json("true"));
        // Quoted in YAML: a string, not a number.
        assert_eq!(at(&yaml, ".server.id").unwrap(), json("\"8080\""));
        assert_eq!(at(&yaml, ".names[1]").unwrap(), json("\"b\""));
        assert!(parse(b"{not json", false).is_err());
        assert!(matches!(at(&doc, ".nope"), Err(Early::Fail(_))));
    }
}
