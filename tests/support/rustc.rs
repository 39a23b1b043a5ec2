//! Compiles one Rust file the way a user's crate would use infraspec, against
//! the library this workspace already built: no second build of the
//! dependency tree in another target directory (as trybuild or a nested
//! `cargo test` would do, several minutes and gigabytes on a cold run).
//!
//! The library's exact artefact comes from cargo itself (`cargo test --no-run
//! --test <this test> --message-format=json`, fresh: cargo has just built it); its
//! dependencies, the proc-macro crate among them, are found by rustc in the
//! same `deps` directory by their hashes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Where the library and its dependencies are, and the rustc that built them.
struct Built {
    rlib: PathBuf,
    deps: PathBuf,
    rustc: PathBuf,
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        // The profile this test binary was built with: target/<profile>/deps.
        let exe = std::env::current_exe().expect("the test binary's path");
        let profile = exe
            .parent()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .and_then(|p| p.to_str())
            .unwrap_or("debug")
            .to_string();
        // This very test target: cargo has just built it, so this is a no-op
        // that names the library it was built with (another selection could
        // unify features differently and name, or build, another one).
        let test = exe
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.rsplit_once('-'))
            .map(|(name, _hash)| name.to_string())
            .expect("a test binary named <test>-<hash>");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args([
            "test",
            "--no-run",
            "--locked",
            "--message-format=json",
            "--test",
            &test,
        ])
        .current_dir(manifest);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let out = cmd.output().unwrap_or_else(|e| super::missing("cargo", e));
        assert!(
            out.status.success(),
            "building the library to compile against: {}",
            super::show(&out)
        );
        let rlib = super::text(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| {
                m["reason"] == "compiler-artifact"
                    && m["target"]["name"] == "infraspec"
                    && m["target"]["kind"][0] == "lib"
            })
            .flat_map(|m| {
                m["filenames"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|f| f.as_str().map(PathBuf::from))
            })
            .find(|f| f.extension().is_some_and(|e| e == "rlib"))
            .unwrap_or_else(|| panic!("cargo named no infraspec rlib: {}", super::show(&out)));
        let deps = rlib.parent().expect("the rlib's directory").to_path_buf();
        // The rustc beside this cargo (a rustup toolchain's), else PATH's.
        let beside = Path::new(env!("CARGO")).with_file_name("rustc");
        let rustc = std::env::var_os("RUSTC")
            .map(PathBuf::from)
            .unwrap_or(if beside.exists() {
                beside
            } else {
                "rustc".into()
            });
        Built { rlib, deps, rustc }
    })
}

/// What rustc left: its output, and the program when it built one.
pub struct Compiled {
    pub out: Output,
    pub exe: Option<PathBuf>,
}

/// Compiles `src` (relative to the manifest directory, as diagnostics show
/// it) into a binary in `out_dir`; with `check_only`, stops after type
/// checking (what compile-fail cases need, without code generation).
pub fn compile(src: &Path, out_dir: &Path, check_only: bool) -> Compiled {
    let b = built();
    let name = src
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("a source file name")
        .replace('-', "_");
    let exe = out_dir.join(&name);
    let mut cmd = Command::new(&b.rustc);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "bin",
            "--color",
            "never",
        ])
        .args(["--crate-name", &name])
        .arg("-L")
        .arg(format!("dependency={}", b.deps.display()))
        .arg("--extern")
        .arg(format!("infraspec={}", b.rlib.display()))
        .args(["-C", "debuginfo=0"])
        .arg(src)
        .arg("-o")
        .arg(&exe);
    if check_only {
        cmd.arg("--emit=metadata");
    }
    let out = cmd.output().unwrap_or_else(|e| super::missing("rustc", e));
    let exe = (out.status.success() && !check_only).then_some(exe);
    Compiled { out, exe }
}
