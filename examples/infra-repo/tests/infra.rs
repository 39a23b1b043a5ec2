//! This machine's checks. `INFRASPEC_TARGET=local cargo test`, or
//! `INFRASPEC_TARGET=ssh://web1,docker:registry.local/app:1.4 cargo test`.
//! These hold on any Debian machine or container.

use infraspec::prelude::*;

infraspec::spec! {
    describe package("dpkg") {
        it { should be_installed() }
        its(version) { should match_regex(r"^1\.") }
    }
    describe port(1) {
        it { should_not be_listening().with(Protocol::Tcp) }
    }
    describe file("/etc/passwd") {
        it { should be_file() }
        it { should be_mode(0o644) }
        its(content) { should contain("root:x:0:0") }
        its(content) { should_not contain("autoindex on") }
    }
    describe command("uname -s") {
        its(stdout) { should eq("Linux") }
        its(exit_status) { should eq(0) }
    }
    #[only_if(os = "debian")]
    describe file("/etc/debian_version") {
        it { should exist() }
    }
    // A container's root is an image layer, not a disk of its own.
    #[skip_in_container]
    describe mount("/") {
        its(filesystem) { should_not eq("overlay") }
    }
    #[infraspec::test]
    fn root_account_is_sound(host: &Host) -> infraspec::Result<()> {
        assert_eq!(host.user("root").uid()?, Some(0));
        assert_eq!(host.file("/etc/shadow").mode()?.map(|m| m & 0o007), Some(0), "/etc/shadow is readable by others");
        Ok(())
    }
}
