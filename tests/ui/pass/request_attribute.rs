use infraspec::prelude::*;

// Compiles, and runs green: the one check is skipped.
infraspec::spec! {
    #[skip("compile check only")]
    #[request(method = "post", header = "Content-Type: application/json", body = "{}", follow_redirects = false, json_path = ".status", from = "runner")]
    describe http("http://localhost:1/api") {
        its(status) { should eq(201) }
        its(json) { should eq("created") }
    }
}
