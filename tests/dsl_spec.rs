//! A spec in the Rust DSL, as an infra repo would write it. It runs under
//! `cargo test` against `INFRASPEC_TARGET` (default: local); tests/dsl.rs runs
//! it with filters, listing and a container target.

use infraspec::prelude::*;

/// Test knobs for tests/dsl.rs: a command that leaves a mark when it runs, and
/// a file whose mode is checked (a different file makes that check fail).
fn marker_command() -> String {
    std::env::var("INFRASPEC_DSL_MARKER").map_or("true".into(), |m| format!("touch {m}"))
}
fn mode_file() -> String {
    std::env::var("INFRASPEC_DSL_MODE_FILE").unwrap_or("/etc/group".into())
}

/// A variable, as `infraspec serve` and the CLI take them: from
/// `INFRASPEC_VARS` files or `INFRASPEC_VAR_dsl_greeting`.
fn greeting() -> String {
    infraspec::var_or("dsl_greeting", "hello")
}

infraspec::spec! {
    describe package("dpkg") {
        it { should be_installed() }
        its(version) { should be_version(">= 1.19") }
    }
    describe package("infraspec-no-such-package") {
        it { should_not be_installed() }
    }
    describe file("/etc/passwd") {
        it { should be_file() }
        it { should be_mode(0o644) }
        it { should be_owned_by("root") }
        its(content) { should contain("root:x:0:0") }
        its(content) { should_not contain("infraspec-was-here") }
    }
    describe user("root") {
        it { should exist() }
        its(uid) { should eq(0) }
        its(home) { should eq("/root") }
    }
    describe command("echo hello") {
        its(stdout) { should eq("hello") }
        its(exit_status) { should eq(0) }
    }
    describe command(format!("echo {} from a variable", greeting())) {
        its(stdout) { should contain(greeting()) }
    }
    describe command(marker_command()) {
        its(exit_status) { should eq(0) }
    }
    describe file(mode_file()) {
        it { should be_mode(0o644) }
    }
    describe kernel_param("kernel.ostype") {
        its(value) { should match_regex("^Linux$") }
    }
    describe port(1) {
        it { should_not be_listening().with(Protocol::Tcp) }
    }
    #[skip("shown as ignored with this reason")]
    describe service("infraspec-skipped") {
        it { should be_running() }
    }
    #[skip_in_container]
    describe process("infraspec-not-in-containers") {
        it { should_not be_running() }
    }
    #[infraspec::test]
    fn root_can_run_commands(host: &Host) -> infraspec::Result<()> {
        let out = host.run(["id", "-u"])?;
        assert_eq!(out.stdout.trim(), "0");
        assert!(host.package("dpkg").installed()?);
        assert!(host.file("/etc/passwd").exists()?);
        assert_eq!(host.user("root").uid()?, Some(0));
        Ok(())
    }
}
