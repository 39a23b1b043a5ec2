#![allow(dead_code)]

/// The tests of a suite on [`harness`]: each test function with what it
/// needs, `Nothing`, `Docker`, `Ssh` or `DockerdRestart`. It defines
/// `pub fn tests()`, which tests/suite.rs runs with every other suite's (or a
/// binary of its own runs with [`harness::run`]).
///
/// ```ignore
/// infraspec_tests! {
///     Docker: [a_container_test, another],
///     Nothing: [a_local_test],
/// }
/// ```
#[allow(unused_macros)]
macro_rules! infraspec_tests {
    ($($needs:ident: [$($test:ident),* $(,)?]),* $(,)?) => {
        pub fn tests() -> Vec<support::harness::Test> {
            vec![
                $($((stringify!($test), support::harness::Needs::$needs, $test as fn()),)*)*
            ]
        }
    };
}

/// The infraspec binary the tests run: this build's, or another build's
/// named by `INFRASPEC_TEST_BIN` (to see a test fail on an older build).
pub fn bin() -> std::path::PathBuf {
    std::env::var_os("INFRASPEC_TEST_BIN")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_infraspec").into())
}

pub mod corpus;
pub mod docker;
pub mod harness;
pub mod rustc;
pub mod sshd;

/// A fresh directory under the system temp dir, removed when dropped, also
/// when the test panics.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("infraspec-test-")
        .tempdir()
        .expect("a temporary directory")
}

/// A file holding `content`, named with `name` at its end, removed when
/// dropped.
pub fn temp_file(name: &str, content: &str) -> tempfile::TempPath {
    let file = tempfile::Builder::new()
        .prefix("infraspec-test-")
        .suffix(&format!("-{name}"))
        .tempfile()
        .expect("a temporary file");
    std::fs::write(file.path(), content).expect("writing a temporary file");
    file.into_temp_path()
}

/// Lossy text of a process's output.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A process's exit status and output, for assertion messages.
pub fn show(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// The target names of a JSON report, in order.
pub fn target_names(doc: &serde_json::Value) -> Vec<String> {
    doc["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc:#}"))
        .iter()
        .map(|t| t["target"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The checks of the first target of a JSON report on stdout: name, outcome
/// and message of each, in order.
pub fn checks_of(out: &std::process::Output) -> Vec<(String, String, String)> {
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}): {}", show(out)));
    doc["targets"][0]["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc:#}"))
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["outcome"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Panics naming a program a test needs and could not start, and where the
/// README lists the test prerequisites (a bare `NotFound` says neither).
pub fn missing(program: &str, e: std::io::Error) -> ! {
    panic!(
        "cannot run `{program}` ({e}): this test needs it installed (README, Development: test prerequisites; .ci/run installs them)"
    )
}
