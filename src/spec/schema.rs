//! A JSON Schema (draft 2020-12) of the spec format, for editors
//! (`infraspec schema`). It is made from the tables the loader reads: the
//! resources and their properties with their kinds ([`ResourceKind`]), each
//! resource's qualifiers, the options, and the matchers each kind of property
//! takes; so a key the loader knows is a key the schema knows.
//!
//! The schema accepts `{{ name }}` placeholders wherever a value goes: their
//! values are known only when a spec is loaded for a target.

use serde_json::{json, Map, Value};

use super::yaml::{matchers_for, MATCHER_KEYS, OPTION_KEYS};
use super::{ResourceKind, ValueKind};
use crate::model::file::FileType;

/// The `$id` of the schema.
pub const ID: &str = "https://infraspec.dev/schema/spec.json";

fn placeholder() -> Value {
    json!({ "$ref": "#/$defs/placeholder" })
}

/// A plain value of `kind`, or a placeholder.
fn scalar(kind: ValueKind) -> Value {
    let plain = match kind {
        ValueKind::State => {
            json!({ "anyOf": [{ "type": "boolean" }, { "enum": ["true", "false"] }] })
        }
        ValueKind::Int => json!({
            "anyOf": [{ "type": "integer" }, { "type": "string", "pattern": "^\\s*-?[0-9]+\\s*$" }]
        }),
        ValueKind::Mode => json!({
            "type": ["string", "integer"],
            "pattern": "^0?[0-7]{3,4}$",
            "description": "an octal mode such as '0644' (quote it)"
        }),
        ValueKind::FileType => json!({
            "enum": FileType::NAMED.iter().map(|t| t.as_str()).collect::<Vec<_>>()
        }),
        ValueKind::Text | ValueKind::Version => {
            json!({ "type": ["string", "number", "boolean"] })
        }
        ValueKind::List => json!({ "type": "string" }),
        ValueKind::Json => json!(true),
    };
    json!({ "anyOf": [plain, placeholder()] })
}

fn def_name(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::State => "state",
        ValueKind::Int => "int",
        ValueKind::Text => "text",
        ValueKind::Version => "version",
        ValueKind::List => "list",
        ValueKind::Mode => "mode",
        ValueKind::FileType => "file_type",
        ValueKind::Json => "json",
    }
}

const KINDS: [ValueKind; 8] = [
    ValueKind::State,
    ValueKind::Int,
    ValueKind::Text,
    ValueKind::Version,
    ValueKind::List,
    ValueKind::Mode,
    ValueKind::FileType,
    ValueKind::Json,
];

/// What a property of `kind` may be given: a plain value, a matcher (a
/// mapping with one key), or a list of them (all must hold).
fn matcher_def(kind: ValueKind) -> Value {
    let me = json!({ "$ref": format!("#/$defs/matcher_{}", def_name(kind)) });
    let number = json!({ "anyOf": [{ "type": "number" }, placeholder()] });
    let text = json!({ "type": ["string", "number", "boolean"] });
    let mut one_key = Vec::new();
    for &m in matchers_for(kind) {
        let value = match m {
            "eq" if kind == ValueKind::List => {
                json!({ "type": "array", "items": scalar(ValueKind::Text) })
            }
            "eq" => scalar(kind),
            "contains" | "matches" | "starts_with" | "ends_with" => text.clone(),
            "gt" | "ge" | "lt" | "le" => number.clone(),
            "version" => json!({ "type": "string" }),
            "one_of" => json!({ "type": "array", "minItems": 1, "items": scalar(kind) }),
            "not" => me.clone(),
            "all_of" | "any_of" => json!({ "type": "array", "minItems": 1, "items": me.clone() }),
            other => unreachable!("matcher {other} has a schema"),
        };
        let mut properties = Map::new();
        properties.insert(m.to_string(), value);
        let mut object = json!({
            "type": "object",
            "required": [m],
            "additionalProperties": false,
        });
        if m == "contains" && matchers_for(kind) == MATCHER_KEYS {
            // `{ contains: '^x', literal: true }`: the text is meant as it is.
            properties.insert("literal".into(), json!({ "type": "boolean" }));
        }
        object["properties"] = Value::Object(properties);
        one_key.push(object);
    }
    let mut any = Vec::new();
    if kind != ValueKind::List {
        any.push(scalar(kind));
    }
    if kind == ValueKind::Json {
        // A YAML list or mapping under `json` is the JSON array or object.
        any.push(json!({ "type": ["array", "object"] }));
    } else {
        any.push(json!({ "type": "array", "minItems": 1, "items": me }));
    }
    any.extend(one_key);
    json!({ "anyOf": any })
}

/// A qualifier's value.
fn qualifier(kind: ResourceKind, name: &str) -> Value {
    let bool_ = json!({ "anyOf": [{ "type": "boolean" }, placeholder()] });
    let string = json!({ "type": "string" });
    match (kind, name) {
        (ResourceKind::Port, "protocol") => json!({
            "anyOf": [{ "enum": ["tcp", "tcp6", "udp", "udp6"] }, placeholder()]
        }),
        (ResourceKind::Host, "port") => json!({
            "anyOf": [{ "type": "integer", "minimum": 1, "maximum": 65535 }, placeholder()]
        }),
        (ResourceKind::Http, "method") => json!({
            "type": "string",
            "description": "GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS"
        }),
        (ResourceKind::Http, "headers") => json!({
            "type": "object",
            "additionalProperties": { "type": ["string", "number", "boolean"] }
        }),
        (ResourceKind::Http, "auth") => json!({
            "type": "string",
            "description": "user:password"
        }),
        (ResourceKind::Http, "follow_redirects" | "insecure") => bool_,
        (ResourceKind::Http, "from") => json!({
            "anyOf": [{ "enum": ["target", "runner"] }, placeholder()]
        }),
        // The loader's own grammar (model::document::JsonPath).
        (_, "json_path") => json!({
            "anyOf": [
                { "type": "string", "pattern": crate::model::document::PATH_PATTERN },
                placeholder()
            ],
            "description": ".status, .items[0].name or .labels[\"app.kubernetes.io/name\"]"
        }),
        _ => string,
    }
}

fn option(name: &str) -> Value {
    let duration = json!({
        "type": ["string", "number"],
        "description": "a duration such as 30s, 500ms or 2m"
    });
    match name {
        "title" => json!({ "type": "string" }),
        "tags" => json!({
            "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }]
        }),
        "skip" => json!({ "type": ["string", "boolean"] }),
        "skip_in_container" | "sensitive" => {
            json!({ "anyOf": [{ "type": "boolean" }, placeholder()] })
        }
        "timeout" => duration,
        "max_output" => json!({
            "type": ["string", "integer"],
            "description": "a size such as 16MiB"
        }),
        "eventually" => json!({
            "type": "object",
            "properties": { "timeout": duration, "interval": duration },
            "additionalProperties": false
        }),
        "only_if" => json!({
            "type": "object",
            "properties": {
                "os": { "type": "string" },
                "arch": { "type": "string" },
                "init": { "enum": ["systemd", "openrc", "sysv", "none"] },
                "container": { "type": "boolean" }
            },
            "additionalProperties": false
        }),
        other => unreachable!("option {other} has a schema"),
    }
}

fn check(kind: ResourceKind) -> Value {
    let mut properties = Map::new();
    properties.insert(
        kind.as_str().to_string(),
        json!({
            "type": ["string", "number"],
            "description": format!("the {kind} to check")
        }),
    );
    for (property, value_kind) in kind.properties() {
        properties.insert(
            property.as_str().to_string(),
            json!({ "$ref": format!("#/$defs/matcher_{}", def_name(*value_kind)) }),
        );
    }
    for q in kind.qualifiers() {
        properties.insert(q.to_string(), qualifier(kind, q));
    }
    for o in OPTION_KEYS {
        properties.insert(o.to_string(), option(o));
    }
    json!({
        "title": kind.as_str(),
        "type": "object",
        "required": [kind.as_str()],
        "properties": properties,
        "additionalProperties": false
    })
}

/// The schema of a spec file.
pub fn json_schema() -> Value {
    let mut defs = Map::new();
    defs.insert(
        "placeholder".into(),
        json!({
            "type": "string",
            "pattern": "\\{\\{.*\\}\\}",
            "description": "{{ name }} or {{ name | default(value) }}: a variable's value"
        }),
    );
    for kind in KINDS {
        defs.insert(format!("matcher_{}", def_name(kind)), matcher_def(kind));
    }
    for kind in ResourceKind::ALL {
        defs.insert(format!("check_{}", kind.as_str()), check(kind));
    }
    let checks: Vec<Value> = ResourceKind::ALL
        .iter()
        .map(|k| json!({ "$ref": format!("#/$defs/check_{}", k.as_str()) }))
        .collect();
    defs.insert("check".into(), json!({ "oneOf": checks }));
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": ID,
        "title": "infraspec spec",
        "description": "Checks of what a machine must do, for infraspec (docs/specs.md).",
        "type": "object",
        "properties": {
            "checks": {
                "type": "array",
                "minItems": 1,
                "items": { "$ref": "#/$defs/check" }
            },
            "vars": {
                "type": "object",
                "propertyNames": { "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
                "additionalProperties": {
                    "anyOf": [
                        { "type": ["string", "number", "boolean"] },
                        {
                            "type": "object",
                            "properties": {
                                "value": { "type": ["string", "number", "boolean"] },
                                "sensitive": { "type": "boolean" }
                            },
                            "additionalProperties": false
                        }
                    ]
                }
            },
            "include": {
                "anyOf": [
                    { "type": "string" },
                    { "type": "array", "items": { "type": "string" } }
                ]
            }
        },
        "anyOf": [{ "required": ["checks"] }, { "required": ["include"] }],
        "additionalProperties": false,
        "$defs": defs
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_property_option_and_matcher_is_in_the_schema() {
        let schema = json_schema();
        for kind in ResourceKind::ALL {
            let check = &schema["$defs"][format!("check_{}", kind.as_str())];
            let props = check["properties"].as_object().unwrap();
            for (p, _) in kind.properties() {
                assert!(props.contains_key(p.as_str()), "{kind} {}", p.as_str());
            }
            for k in kind.qualifiers().iter().chain(OPTION_KEYS) {
                assert!(props.contains_key(*k), "{kind} {k}");
            }
        }
        let text = schema["$defs"]["matcher_text"].to_string();
        for m in MATCHER_KEYS {
            assert!(text.contains(&format!("\"required\":[\"{m}\"]")), "{m}");
        }
    }
}
