use infraspec::prelude::*;

// A file's request takes its json_path, a host's its port: not each other's.
infraspec::spec! {
    #[request(json_path = ".a", port = 443)]
    describe file("/srv/app/config.json") {
        its(json) { should eq("1") }
    }
    #[request(port = 443, json_path = ".a")]
    describe host("localhost") {
        its(reachable) { should eq(true) }
    }
}
