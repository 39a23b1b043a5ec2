use infraspec::prelude::*;

infraspec::spec! {
    describe pakage("nginx") {
        it { should be_installed() }
    }
    #[eventually(timeout = "soon")]
    describe service("nginx") {
        it { should be_running() }
    }
    #[skip_on_tuesdays]
    describe port(80) {
        it { should be_listening() }
    }
    describe user("root") {}
}
