use infraspec::prelude::*;

infraspec::spec! {
    describe package("nginx") {
        its(mode) { should eq("0644") }
    }
}
