use infraspec::prelude::*;

infraspec::spec! {
    describe package("nginx") {
        its(verison) { should match_regex("^1\\.") }
    }
}
