use infraspec::prelude::*;

infraspec::spec! {
    describe package("nginx") {
        it { should be_listening() }
    }
}
