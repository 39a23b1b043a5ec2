//! Every diagnostic the DSL promises, as compile-fail cases (`tests/ui/*.rs`,
//! each beside the `.stderr` it must print), and the cases that must compile
//! and run green (`tests/ui/pass/*.rs`).
//!
//! Each case is compiled by rustc against the library this workspace already
//! built (`support::rustc`), not in a second target directory. The `.stderr`
//! files are pinned to the project's one stable toolchain, with line numbers
//! of files other than the case removed; regenerate them with
//! `INFRASPEC_UPDATE_UI=1 cargo test --test ui` after a toolchain change and
//! read the diff.

mod support;

use std::path::{Path, PathBuf};

fn cases(dir: &str) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
            .unwrap_or_else(|e| panic!("reading {dir}: {e}"))
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .map(|p| Path::new(dir).join(p.file_name().expect("a file name")))
            .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no case in {dir}");
    cases
}

/// rustc's diagnostics without what changes when a file other than the case
/// changes: the line and column of spans outside the case, the line numbers
/// of their snippets, and the gutter width those set.
fn normalize(stderr: &str, case: &Path) -> String {
    let case = case.to_str().expect("a UTF-8 path");
    let mut out = Vec::new();
    // Whether the snippet lines being read are of the case file.
    let mut in_case = false;
    for line in stderr.lines() {
        let trimmed = line.trim_start();
        if let Some((arrow, place)) = trimmed
            .strip_prefix("--> ")
            .map(|r| ("-->", r))
            .or_else(|| trimmed.strip_prefix("::: ").map(|r| (":::", r)))
        {
            in_case = place.starts_with(case);
            if in_case {
                out.push(format!(" {arrow} {place}"));
            } else {
                // The path alone: src/dsl.rs, not src/dsl.rs:203:19.
                let path = place.split(':').next().unwrap_or(place);
                out.push(format!(" {arrow} {path}"));
            }
            continue;
        }
        // A snippet line: an optional line number, then a bar.
        let gutter = line
            .find('|')
            .filter(|&i| line[..i].chars().all(|c| c.is_ascii_digit() || c == ' '));
        match gutter {
            Some(i) => {
                let number = line[..i].trim();
                let rest = &line[i..];
                let number = if in_case { number } else { "" };
                out.push(format!("{number:>3} {rest}").trim_end().to_string());
            }
            None if trimmed.starts_with("= ") => out.push(format!("    {trimmed}")),
            None => out.push(line.trim_end().to_string()),
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[test]
fn dsl_diagnostics() {
    let update = std::env::var("INFRASPEC_UPDATE_UI").as_deref() == Ok("1");
    let tmp = support::temp_dir();
    let mut wrong = Vec::new();
    for case in cases("tests/ui") {
        let compiled = support::rustc::compile(&case, tmp.path(), true);
        let shown = support::text(&compiled.out.stderr);
        if compiled.out.status.success() {
            wrong.push(format!("{}: compiled, but must not", case.display()));
            continue;
        }
        let got = normalize(&shown, &case);
        let expected_path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(case.with_extension("stderr"));
        if update {
            std::fs::write(&expected_path, &got).expect("writing a .stderr file");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            wrong.push(format!(
                "{}: the diagnostics differ from {} (INFRASPEC_UPDATE_UI=1 rewrites it)\n--- expected\n{expected}\n--- got\n{got}",
                case.display(),
                expected_path.display()
            ));
        }
    }
    for case in cases("tests/ui/pass") {
        let compiled = support::rustc::compile(&case, tmp.path(), false);
        let Some(exe) = compiled.exe else {
            wrong.push(format!(
                "{}: does not compile\n{}",
                case.display(),
                support::text(&compiled.out.stderr)
            ));
            continue;
        };
        let run = std::process::Command::new(&exe)
            .env("NO_COLOR", "1")
            .env_remove("INFRASPEC_TARGET")
            .output()
            .expect("running a compiled case");
        if !run.status.success() {
            wrong.push(format!(
                "{}: does not run green\n{}",
                case.display(),
                support::show(&run)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
