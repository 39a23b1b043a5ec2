//! `infraspec schema` against the loader: every spec in the repository (the
//! examples, the test fixtures, the YAML blocks of the manual) is valid by
//! the schema and loads, and invalid specs are refused by both. The schema is
//! checked by an independent validator (Python's jsonschema, draft 2020-12).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{show, text};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A Python with the jsonschema and yaml modules: the one on PATH, or
/// Debian's, where `apt-get install python3-jsonschema python3-yaml` puts
/// them (a pyenv Python on PATH does not see those).
fn python() -> &'static str {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .args([
                    "-c",
                    "import jsonschema, yaml; jsonschema.Draft202012Validator",
                ])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .unwrap_or("python3")
}

/// Validates each document (JSON text) with the schema; one line per
/// document: "ok" or the validator's first error.
fn validate(schema: &Path, docs: &[(String, String)]) -> Vec<String> {
    let dir = support::temp_dir();
    let mut names = Vec::new();
    for (i, (_, yaml)) in docs.iter().enumerate() {
        let f = dir.path().join(format!("{i}.yaml"));
        std::fs::write(&f, yaml).unwrap();
        names.push(f.display().to_string());
    }
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for f in sys.argv[2:]:
    doc = yaml.safe_load(open(f))
    errs = sorted(v.iter_errors(doc), key=lambda e: e.path)
    print("ok" if not errs else "invalid: %s at %s" % (errs[0].message[:300], list(errs[0].absolute_path)))
"#;
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(schema)
        .args(&names)
        .output()
        .unwrap_or_else(|e| support::missing("python3", e));
    assert!(
        out.status.success(),
        "the validator (python3 with the jsonschema and yaml modules: apt-get install python3-jsonschema python3-yaml): {}",
        show(&out)
    );
    text(&out.stdout).lines().map(str::to_string).collect()
}

/// The fenced YAML blocks of a Markdown file that are whole specs.
fn yaml_blocks(path: &Path) -> Vec<(String, String)> {
    let md = std::fs::read_to_string(path).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in md.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```yaml" => current = Some((n + 2, String::new())),
            Some((start, body)) if line.trim_start() == "```" => {
                let first = body
                    .lines()
                    .find(|l| !l.trim().is_empty() && !l.starts_with('#'));
                if first.is_some_and(|l| {
                    ["checks:", "vars:", "include:"]
                        .iter()
                        .any(|k| l.starts_with(k))
                }) {
                    blocks.push((format!("{}:{start}", path.display()), body.clone()));
                }
                current = None;
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    blocks
}

fn the_schema_and_the_loader_agree_on_every_spec_in_the_repository() {
    let dir = support::temp_dir();
    let schema = dir.path().join("spec.schema.json");
    let out = Command::new(support::bin()).arg("schema").output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    std::fs::write(&schema, &out.stdout).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );

    // Spec files: valid by the schema, and loaded by infraspec.
    let mut files: Vec<PathBuf> = Vec::new();
    for d in ["examples", "tests/fixtures/specs"] {
        for e in std::fs::read_dir(repo().join(d)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    let mut docs: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read_to_string(f).unwrap()))
        .collect();
    for f in &files {
        let out = Command::new(support::bin())
            .arg("--list")
            .arg(f)
            .env_remove("INFRASPEC_TARGET")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", f.display(), show(&out));
    }
    // The manual's examples of whole specs: valid by the schema.
    for md in [
        "README.md",
        "docs/specs.md",
        "docs/cli.md",
        "docs/targets.md",
    ] {
        docs.extend(yaml_blocks(&repo().join(md)));
    }
    assert!(
        docs.len() >= files.len() + 3,
        "{:?}",
        docs.iter().map(|d| &d.0).collect::<Vec<_>>()
    );
    let verdicts = validate(&schema, &docs);
    assert_eq!(verdicts.len(), docs.len());
    for ((name, _), verdict) in docs.iter().zip(&verdicts) {
        assert_eq!(verdict, "ok", "{name}");
    }

    // Invalid specs: refused by the schema and by the loader.
    let invalid: Vec<(String, String)> = [
        "checks:\n  - packge: nginx\n",
        "checks:\n  - package: nginx\n    runing: true\n",
        "checks:\n  - service: nginx\n    running: maybe\n",
        "checks:\n  - file: /etc/passwd\n    mode: { contains: '0644' }\n",
        "checks:\n  - file: /etc/passwd\n    type: folder\n",
        "checks:\n  - command: 'true'\n    exit_status: { gt: 0, lt: 3 }\n",
        "checks:\n  - port: 80\n    protocol: sctp\n",
        "checks:\n  - port: 80\n    eventually: { timeout: 3s, every: 1s }\n",
        "checks:\n  - package: nginx\n    file: /etc/nginx\n",
        "checks: []\n",
        "check:\n  - package: nginx\n",
        "vars:\n  1bad: x\nchecks:\n  - package: nginx\n",
        "include: { a: b }\n",
    ]
    .iter()
    .enumerate()
    .map(|(i, s)| (format!("invalid #{i}"), s.to_string()))
    .collect();
    let verdicts = validate(&schema, &invalid);
    for ((name, spec), verdict) in invalid.iter().zip(&verdicts) {
        assert!(
            verdict.starts_with("invalid"),
            "{name}: the schema accepts\n{spec}"
        );
        let f = dir.path().join("invalid.yaml");
        std::fs::write(&f, spec).unwrap();
        let out = Command::new(support::bin())
            .arg("--list")
            .arg(&f)
            .env_remove("INFRASPEC_TARGET")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: the loader accepts\n{spec}\n{}",
            show(&out)
        );
    }
}

infraspec_tests! {
    Nothing: [the_schema_and_the_loader_agree_on_every_spec_in_the_repository],
}
