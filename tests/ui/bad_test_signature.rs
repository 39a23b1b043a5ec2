use infraspec::prelude::*;

infraspec::spec! {
    describe user("root") {
        it { should exist() }
    }
    #[infraspec::test]
    fn custom() {}
}
