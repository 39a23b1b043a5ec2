use infraspec::prelude::*;

infraspec::spec! {
    describe package("nginx") {
        it { be_installed() }
    }
}
