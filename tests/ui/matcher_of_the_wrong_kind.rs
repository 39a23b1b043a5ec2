use infraspec::prelude::*;

infraspec::spec! {
    describe user("root") {
        its(uid) { should contain("0") }
    }
}
