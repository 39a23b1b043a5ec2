//! Structured documents in text a target returned: JSON (an `http` body,
//! command output, a file) or YAML (a file ending in `.yaml` or `.yml`), and
//! the path syntax that picks one value out of them (`.items[0].name`, a
//! leading `$` allowed), shared by `http`, `file` and `command`.

use super::Early;
use crate::matcher::Value;

pub use crate::model::document::{at, parse, validate_path};

/// The value at `path` in a document, as a check reads it: a typed JSON
/// value (text matchers read a string as its text).
pub fn value_at(doc: &serde_json::Value, path: &str) -> Result<Value, Early> {
    let v = at(doc, path).ok_or_else(|| Early::Fail(format!("nothing at {path}")))?;
    Ok(Value::Json(v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked_when_a_spec_loads() {
        for ok in [".", "$", ".status", "$.items[0].name", ".a-b.c_d[1][2]"] {
            assert!(validate_path(ok).is_ok(), "{ok}");
        }
        for bad in ["status", ".items[x]", ".items[0", ".a..b", ".a b", ".[]"] {
            assert!(validate_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_paths() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"status":"ok","items":[{"name":"a"},{"name":"b"}],"n":3}"#)
                .unwrap();
        assert_eq!(at(&v, ".status"), Some(&serde_json::json!("ok")));
        assert_eq!(at(&v, "$.items[1].name"), Some(&serde_json::json!("b")));
        assert_eq!(at(&v, ".n"), Some(&serde_json::json!(3)));
        assert_eq!(at(&v, ".items[5]"), None);
    }

    #[test]
    fn json_and_yaml_documents() {
        let doc = parse(br#"{"items":[{"name":"web","replicas":3}]}"#, false).unwrap();
        let json = |t: &str| Value::Json(t.into());
        assert_eq!(value_at(&doc, ".items[0].name").unwrap(), json("\"web\""));
        assert_eq!(value_at(&doc, ".items[0].replicas").unwrap(), json("3"));
        let yaml = parse(
            b"server:\n  port: 8080\n  tls: true\n  id: '8080'\nnames: [a, b]\n",
            true,
        )
        .unwrap();
        assert_eq!(value_at(&yaml, ".server.port").unwrap(), json("8080"));
        assert_eq!(value_at(&yaml, ".server.tls").unwrap(), json("true"));
        // Quoted in YAML: a string, not a number.
        assert_eq!(value_at(&yaml, ".server.id").unwrap(), json("\"8080\""));
        assert_eq!(value_at(&yaml, ".names[1]").unwrap(), json("\"b\""));
        assert!(parse(b"{not json", false).is_err());
        assert!(matches!(value_at(&doc, ".nope"), Err(Early::Fail(_))));
    }
}
