//! The integration suites in one test binary: each `tests/<suite>.rs` is a
//! module here, and their tests run in one pool (`cargo test --test suite
//! bounds::` runs one suite). One binary links once and keeps both cores busy
//! while tests wait on containers, servers and timeouts; as separate binaries,
//! `cargo test` ran them one after another.

#[macro_use]
#[path = "support/mod.rs"]
mod support;

#[path = "add.rs"]
mod add;
#[path = "bounds.rs"]
mod bounds;
#[path = "catalogue.rs"]
mod catalogue;
#[path = "cli.rs"]
mod cli;
#[path = "docker.rs"]
mod docker;
#[path = "dsl.rs"]
mod dsl;
#[path = "fail_closed.rs"]
mod fail_closed;
#[path = "faults.rs"]
mod faults;
#[path = "http.rs"]
mod http;
#[path = "image_files.rs"]
mod image_files;
#[path = "owners.rs"]
mod owners;
#[path = "podman.rs"]
mod podman;
#[path = "reports.rs"]
mod reports;
#[path = "round_three.rs"]
mod round_three;
#[path = "schema.rs"]
mod schema;
#[path = "semantics.rs"]
mod semantics;
#[path = "serve.rs"]
mod serve;
#[path = "ssh.rs"]
mod ssh;

fn main() -> std::process::ExitCode {
    support::harness::run_suites(vec![
        ("add", add::tests()),
        ("bounds", bounds::tests()),
        ("catalogue", catalogue::tests()),
        ("cli", cli::tests()),
        ("docker", docker::tests()),
        ("dsl", dsl::tests()),
        ("fail_closed", fail_closed::tests()),
        ("faults", faults::tests()),
        ("http", http::tests()),
        ("image_files", image_files::tests()),
        ("owners", owners::tests()),
        ("podman", podman::tests()),
        ("reports", reports::tests()),
        ("round_three", round_three::tests()),
        ("schema", schema::tests()),
        ("semantics", semantics::tests()),
        ("serve", serve::tests()),
        ("ssh", ssh::tests()),
    ])
}
