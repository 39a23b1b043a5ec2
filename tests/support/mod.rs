#![allow(dead_code)]

/// The `main` of a suite on [`harness`]: each test function with what it
/// needs, `Nothing`, `Docker`, `Ssh` or `DockerdRestart`.
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
        fn main() -> std::process::ExitCode {
            let tests: Vec<(&'static str, support::harness::Needs, fn())> = vec![
                $($((stringify!($test), support::harness::Needs::$needs, $test as fn()),)*)*
            ];
            support::harness::run(tests)
        }
    };
}

pub mod corpus;
pub mod docker;
pub mod harness;
pub mod scripted;
pub mod sshd;

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
