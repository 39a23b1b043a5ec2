use infraspec::prelude::*;

infraspec::spec! {
    #[request(method = "POST")]
    describe package("nginx") {
        it { should be_installed() }
    }
    #[request(method = "FETCH", retries = 3)]
    describe http("http://localhost/") {
        its(status) { should eq(200) }
    }
}
