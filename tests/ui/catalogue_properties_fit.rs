use infraspec::prelude::*;

// A list compares as a set with `eq` and holds elements with `contain`, but
// has no prefix; a state takes no pattern; a package has no md5.
infraspec::spec! {
    describe group("team") {
        its(members) { should start_with("app") }
    }
    describe file("/srv/app/run.sh") {
        its(executable) { should match_regex("yes") }
    }
    describe package("nginx") {
        its(md5) { should eq("x") }
    }
}
