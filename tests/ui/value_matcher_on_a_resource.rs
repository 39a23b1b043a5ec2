use infraspec::prelude::*;

infraspec::spec! {
    describe file("/etc/motd") {
        it { should contain("hello") }
    }
}
