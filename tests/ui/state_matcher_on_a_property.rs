use infraspec::prelude::*;

infraspec::spec! {
    describe http("http://localhost/") {
        its(status) { should be_installed() }
    }
}
