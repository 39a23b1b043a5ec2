//! Every diagnostic the DSL promises, as compile-fail cases. The `.stderr`
//! files are pinned to the project's one stable toolchain; regenerate them
//! with `TRYBUILD=overwrite cargo test --test ui` after a toolchain change and
//! read the diff.

#[test]
fn dsl_diagnostics() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
