use infraspec::prelude::*;

// The catalogue's properties and resources, as the DSL writes them.
// Compiles, and runs green: the checks are skipped.
infraspec::spec! {
    #[skip("compile check only")]
    #[request(json_path = ".server.port")]
    describe file("/srv/app/config.json") {
        its(json) { should eq(8080) }
        its(md5) { should match_regex("^[0-9a-f]{32}$") }
        its(mtime) { should be_gt(0) }
        // A keyword as a property name.
        its(type) { should eq("file") }
        it { should exist() }
    }
    #[skip("compile check only")]
    #[request(json_path = ".names[0]")]
    describe command("cat /srv/app/config.json") {
        its(json) { should eq("a") }
    }
    #[skip("compile check only")]
    describe user("appuser") {
        its(groups) { should eq(["appgroup", "team"]) }
        its(gecos) { should contain("App") }
    }
    #[skip("compile check only")]
    describe group("team") {
        its(members) { should contain("appuser") }
    }
    #[skip("compile check only")]
    #[request(port = 443)]
    describe host("localhost") {
        its(reachable) { should eq(true) }
    }
    #[skip("compile check only")]
    describe unix_socket("/run/app.sock") {
        its(listening) { should eq(true) }
    }
    #[skip("compile check only")]
    describe certificate("tls://localhost:443") {
        its(expires_in_days) { should be_gt(14) }
        its(sans) { should contain("localhost") }
    }
}
