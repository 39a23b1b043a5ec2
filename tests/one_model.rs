//! One model, two front ends: the same spec written in YAML and in the Rust
//! DSL builds the same checks and gets the same outcomes.

use infraspec::__private::{it, its, res, resource, with_request, CheckOptions, From, Request};
use infraspec::dsl::properties;
use infraspec::prelude::*;

/// What `spec!` expands the DESIGN-style spec below to (the macro emits
/// exactly these calls; tests/dsl_spec.rs proves the macro end to end).
fn dsl() -> Vec<Check> {
    let none = CheckOptions::default();
    let in_container = CheckOptions {
        skip_in_container: Some(true),
        ..Default::default()
    };
    let p = resource(ResourceKind::Package, "dpkg");
    let f = resource(ResourceKind::File, "/etc/passwd");
    let port = resource(ResourceKind::Port, 1);
    let u = resource(ResourceKind::User, "root");
    let c = resource(ResourceKind::Command, "echo hello");
    let s = resource(ResourceKind::Service, "chrony");
    vec![
        it::<res::Package, _>(&p, &none, be_installed(), false),
        its(
            properties::package::version,
            &p,
            &none,
            match_regex(r"^1\."),
            false,
        ),
        it::<res::File, _>(&f, &none, be_file(), false),
        it::<res::File, _>(&f, &none, be_mode(0o644), false),
        it::<res::File, _>(&f, &none, be_owned_by("root"), false),
        its(
            properties::file::content,
            &f,
            &none,
            contain("root:"),
            false,
        ),
        its(
            properties::file::content,
            &f,
            &none,
            contain("autoindex on"),
            true,
        ),
        it::<res::Port, _>(&port, &none, be_listening().with(Protocol::Tcp), true),
        its(properties::user::uid, &u, &none, eq(0), false),
        its(properties::user::groups, &u, &none, contain("root"), false),
        its(properties::command::stdout, &c, &none, eq("hello"), false),
        its(properties::command::exit_status, &c, &none, eq(0), false),
        it::<res::Service, _>(&s, &in_container, be_running(), true),
    ]
    .into_iter()
    .map(|c| c.expect("valid resource"))
    .collect()
}

const YAML: &str = r#"
checks:
  - package: dpkg
  - package: dpkg
    version: { matches: '^1\.' }
  - file: /etc/passwd
    type: file
    mode: '0644'
    owner: root
    content: { contains: 'root:' }
  - file: /etc/passwd
    content: { not: { contains: autoindex on } }
  - port: 1
    listening: false
    protocol: tcp
  - user: root
    uid: 0
    groups: { contains: root }
  - command: echo hello
    stdout: hello
    exit_status: 0
  - service: chrony
    running: false
    skip_in_container: true
"#;

#[test]
fn the_same_spec_builds_the_same_checks() {
    let yaml = infraspec::spec::yaml::load_str(YAML, "same.yaml").unwrap();
    let dsl = dsl();
    assert_eq!(yaml.len(), dsl.len());
    for (y, d) in yaml.iter().zip(&dsl) {
        assert!(y.same_as(d), "YAML {y:#?}\n   DSL {d:#?}");
        assert_eq!(y.name(), d.name());
    }
}

#[test]
fn http_request_qualifiers_are_the_same_both_ways() {
    let yaml = infraspec::spec::yaml::load_str(
        "checks:\n  - http: http://localhost:8080/api\n    method: POST\n    headers: { X-Test: '1' }\n    follow_redirects: false\n    from: runner\n    json_path: .status\n    json: created\n",
        "http.yaml",
    )
    .unwrap();
    let request = Request {
        method: Some("POST".into()),
        headers: vec![("X-Test".into(), "1".into())],
        follow_redirects: Some(false),
        from: From::Runner,
        ..Default::default()
    };
    let r = resource(ResourceKind::Http, "http://localhost:8080/api");
    let dsl = with_request(
        its(
            properties::http::json,
            &r,
            &CheckOptions::default(),
            eq("created"),
            false,
        ),
        &request,
        Some(".status"),
    )
    .unwrap();
    assert!(yaml[0].same_as(&dsl), "YAML {:#?}\n DSL {dsl:#?}", yaml[0]);
    assert_eq!(
        dsl.name(),
        "http http://localhost:8080/api json .status should eq \"created\" (POST) from the runner"
    );
}

#[test]
fn the_same_spec_gets_the_same_outcomes() {
    let yaml = infraspec::spec::yaml::load_str(YAML, "same.yaml").unwrap();
    let run = |checks: &[Check]| {
        let reports = infraspec::engine::run_targets(&[Target::Local], checks, &Options::default());
        reports[0]
            .results
            .iter()
            .map(|r| (r.check.name(), r.outcome.clone()))
            .collect::<Vec<_>>()
    };
    let (from_yaml, from_dsl) = (run(&yaml), run(&dsl()));
    assert_eq!(from_yaml, from_dsl);
    assert!(from_yaml.iter().any(|(_, o)| *o == Outcome::Pass));
}
