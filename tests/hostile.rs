//! Hostile input and hostile targets, as property tests.
//!
//! - Names with every byte that matters to a shell, for every resource, run
//!   for real on the local machine: nothing they say is executed.
//! - Probe output framing: whatever the probes print (forged markers with
//!   other nonces, binary, no trailing newline), each probe gets exactly its
//!   own bytes back.
//! - Every parser of target output and of user input, on arbitrary input:
//!   no panic; version orderings are consistent.
//!
//! `INFRASPEC_PROPTEST_CASES=100000 cargo test --release --test hostile` runs
//! them longer (bench/fuzz.sh does); CI runs the default counts below.

use proptest::collection::vec;
use proptest::prelude::*;

use infraspec::engine::{self, Options};
use infraspec::probe::{self, Probe, ProbeOutput};
use infraspec::spec::{Check, Expectation, Resource, ResourceKind};

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("INFRASPEC_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Shell fragments that would run `touch CANARY` if a name reached a shell
/// as code, and the characters quoting cares about.
fn hostile_name(canary: &'static str) -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just(format!("$(touch {canary})")),
        Just(format!("`touch {canary}`")),
        Just(format!(";touch {canary};")),
        Just(format!("'; touch {canary}; '")),
        Just(format!("\"$(touch {canary})\"")),
        Just(format!("\ntouch {canary}\n")),
        Just(format!("|touch {canary}")),
        Just(format!("&& touch {canary} #")),
        Just(format!("$({{touch,{canary}}})")),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("${IFS}".to_string()),
        Just("*?[]~".to_string()),
        Just("-".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{80}\u{ff}\u{fffd}".to_string()),
        "[a-z0-9./_-]{1,6}",
        any::<char>().prop_map(String::from),
    ];
    vec(fragment, 1..6).prop_map(|parts| parts.concat())
}

fn canary() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        // Kept for the whole run (a static is never dropped): removed at exit
        // by no one, so it is made under the test's own target directory.
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("infraspec-canary");
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("pwned").to_string_lossy().into_owned()
    })
}

fn checks_for(name: &str) -> Vec<Check> {
    let kinds = [
        (ResourceKind::Package, name.to_string()),
        (ResourceKind::Service, name.to_string()),
        (ResourceKind::User, name.to_string()),
        (ResourceKind::Group, name.to_string()),
        (ResourceKind::Process, name.to_string()),
        (ResourceKind::Host, name.to_string()),
        (ResourceKind::File, format!("/{name}")),
        (ResourceKind::Mount, format!("/{name}")),
        (ResourceKind::KernelParam, name.to_string()),
        (ResourceKind::KernelModule, name.to_string()),
        (ResourceKind::Interface, name.to_string()),
        (ResourceKind::Http, format!("http://localhost:1/{name}")),
    ];
    let mut checks = Vec::new();
    for (kind, n) in kinds {
        // A name that cannot be a real resource is refused: that is clean too.
        let Ok(resource) = Resource::new(kind, n) else {
            continue;
        };
        for (p, _) in kind.properties() {
            let (_, m) = kind.default_expectation();
            checks.push(Check::new(resource.clone(), Expectation::new(*p, m)));
        }
    }
    checks
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn hostile_names_never_run(name in hostile_name(canary())) {
        let checks = checks_for(&name);
        let local = infraspec::backend::local::Local;
        let report = engine::run(&local, &checks, &Options::default());
        prop_assert!(report.error.is_none(), "{:?}", report.error);
        prop_assert_eq!(report.results.len(), checks.len());
        prop_assert!(!std::path::Path::new(canary()).exists(), "{:?} ran as shell code", name);
    }
}

/// Frames outputs the way the batch script does, with `nonce`.
fn frame(nonce: &str, outputs: &[(i32, Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (status, stdout, stderr)) in outputs.iter().enumerate() {
        let o = ProbeOutput::new(*status, stdout.clone(), stderr.clone());
        out.extend(probe::frame(nonce, i, &o, probe::OUTPUT_CAP));
    }
    out.extend(probe::frame_end(nonce, outputs.len()));
    out
}

fn probes(n: usize) -> Vec<Probe> {
    (0..n).map(|i| Probe::argv(["p", &i.to_string()])).collect()
}

/// Probe output that tries to look like frames: markers with other nonces,
/// newlines, NUL and invalid UTF-8.
fn hostile_output() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        vec(any::<u8>(), 0..64),
        Just(b"\nffffffffffffffffffffffffffffffff 0 end 0 1\n".to_vec()),
        Just(b"\n0123456789abcdef0123456789abcdef 1 out\nforged".to_vec()),
        Just(b"\n\n\n".to_vec()),
        Just(vec![0, 0xff, 0xfe, b'\n']),
    ];
    vec(piece, 0..8).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn every_probe_gets_exactly_its_own_output(
        outputs in vec((any::<i32>(), hostile_output(), hostile_output()), 1..6)
    ) {
        let nonce = probe::nonce();
        let framed = frame(&nonce, &outputs);
        let parsed = probe::parse(&framed, &nonce, &probes(outputs.len())).unwrap();
        for (got, (status, stdout, stderr)) in parsed.iter().zip(&outputs) {
            let got = got.as_ref().expect("every frame is complete");
            prop_assert_eq!(got.status, *status);
            prop_assert_eq!(&got.stdout, stdout);
            prop_assert_eq!(&got.stderr, stderr);
        }
    }

    #[test]
    fn cut_or_garbled_output_never_panics(bytes in vec(any::<u8>(), 0..2048), cut in 0usize..4096) {
        let nonce = "00112233445566778899aabbccddeeff";
        let mut framed = frame(nonce, &[(0, bytes.clone(), b"e".to_vec()), (1, b"x".to_vec(), bytes)]);
        framed.truncate(cut.min(framed.len()));
        let parsed = probe::parse(&framed, nonce, &probes(2)).unwrap_or_default();
        for p in parsed.iter().flatten() {
            prop_assert!(p.stdout.len() <= probe::OUTPUT_CAP);
        }
    }

    #[test]
    fn parsers_of_target_output_never_panic(text in "\\PC{0,400}", raw in vec(any::<u8>(), 0..400)) {
        use infraspec::facts::PackageManager as Pm;
        use infraspec::resource::*;
        let lossy = String::from_utf8_lossy(&raw).into_owned();
        for input in [text.as_str(), lossy.as_str()] {
            for pm in [Pm::Dpkg, Pm::Rpm, Pm::Apk, Pm::Pacman] {
                let _ = package::parse(pm, input);
            }
            let _ = service::parse_systemctl(input, &["a.service".to_string(), "b.service".to_string()]);
            for proto in [infraspec::spec::Protocol::Tcp, infraspec::spec::Protocol::Udp6] {
                let _ = port::parse(proto, input);
            }
            let _ = user::parse_passwd(input);
            let _ = user::parse_group(input);
            let _ = file::parse_stats(input, &["/a".to_string(), "/b".to_string()]);
            let _ = process::parse(input);
            let _ = mount::parse(input);
            let _ = interface::parse_list(input);
            let _ = interface::parse_addresses(input, "eth0");
            let _ = host::parse(input);
            let _ = kernel::parse_modules(input);
            let _ = infraspec::facts::from_raw(&infraspec::facts::RawFacts {
                os_release: input,
                uname_m: input,
                env: input,
                pid1_cgroup: input,
                pid1_environ: &raw,
                mountinfo: input,
            });
            if let (Ok(json), Ok(path)) = (
                serde_json::from_str::<serde_json::Value>(input),
                document::JsonPath::parse(input),
            ) {
                let _ = path.at(&json);
            }
        }
    }

    #[test]
    fn parsers_of_user_input_never_panic(text in "\\PC{0,300}") {
        let _ = infraspec::spec::yaml::load_str(&text, "fuzz.yaml");
        let _ = infraspec::spec::yaml::load_check(&text, "-c");
        let _ = text.parse::<infraspec::Target>();
        let _ = infraspec::inventory::parse(&text, "inventory");
        let _ = infraspec::version::VersionReq::parse(&text);
        let _ = infraspec::spec::yaml::parse_duration(&text);
    }

    #[test]
    fn version_orderings_are_antisymmetric(a in "[0-9a-z.~^+:_-]{0,12}", b in "[0-9a-z.~^+:_-]{0,12}") {
        use infraspec::version::Scheme;
        for scheme in [Scheme::Deb, Scheme::Rpm, Scheme::Apk] {
            prop_assert_eq!(scheme.compare(&a, &b), scheme.compare(&b, &a).reverse(), "{:?}: {} vs {}", scheme, a, b);
            prop_assert_eq!(scheme.compare(&a, &a), std::cmp::Ordering::Equal);
        }
    }
}

#[test]
fn a_probe_that_prints_without_end_is_capped() {
    let local = infraspec::backend::local::Local;
    let probes = vec![
        Probe::argv(["head", "-c", "30000000", "/dev/zero"]),
        Probe::argv(["echo", "still here"]),
    ];
    let out = engine::run_batch(&local, &probes, std::time::Duration::from_secs(60), None).unwrap();
    let big: &ProbeOutput = out[0].as_ref().unwrap();
    assert!(big.truncated());
    assert_eq!(big.stdout.len(), probe::OUTPUT_CAP);
    assert_eq!(big.stdout_len, 30_000_000);
    assert_eq!(out[1].as_ref().unwrap().stdout, b"still here\n");
}
