//! No input reaches a panic (issue 40): every reader of what users and
//! targets hand infraspec, on 10,000 inputs each, from a fixed seed (the same
//! inputs on every run), mutated from valid ones: spec files and `-c`
//! checks, `json_path`, durations, tar archives (through the reader layers
//! are read with), the probe frame parser and inventories (infraspec's own,
//! Ansible INI and YAML). Each input must end without a panic, within a
//! second, and the whole run must stay under a bound of memory.
//!
//! `INFRASPEC_PROPTEST_CASES=100000 cargo test --release --test properties`
//! runs them longer.

use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn cases() -> u32 {
    std::env::var("INFRASPEC_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// The most memory this process may have held at once, reading everything.
const MEMORY: u64 = 2 << 30;

fn peak_memory() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Runs `property` on `cases()` inputs of `strategy`, from a fixed seed:
/// each must return within a second.
fn run<S: Strategy>(what: &str, strategy: S, property: impl Fn(S::Value))
where
    S::Value: std::fmt::Debug,
{
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let slowest = std::cell::Cell::new(Duration::ZERO);
    runner
        .run(&strategy, |input| {
            let started = Instant::now();
            property(input);
            let took = started.elapsed();
            slowest.set(slowest.get().max(took));
            prop_assert!(
                took < Duration::from_secs(1),
                "{what}: one input took {took:?}"
            );
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        peak_memory() < MEMORY,
        "{what}: {} MiB held at once",
        peak_memory() >> 20
    );
}

/// Bytes that matter to the readers: YAML's structure, placeholders,
/// quotes, brackets, escapes, line breaks, NUL, non-ASCII, numbers.
const TOKENS: &[&[u8]] = &[
    b": ",
    b"- ",
    b"\n",
    b"\n  ",
    b"\n    ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"{{",
    b"}}",
    b"{{ x }}",
    b"| default(",
    b")",
    b"'",
    b"\"",
    b"\\",
    b"#",
    b"&a",
    b"*a",
    b"!!str ",
    b"---\n",
    b"...",
    b"\0",
    b"\xff",
    b"\xc3\xa9",
    b"\xe2\x80\xa8",
    b"9999999999999999999999",
    b"-1",
    b"0x1f",
    b"1e9",
    b"ms",
    b"s",
    b"h",
    b"~",
    b"null",
    b"true",
    b".",
    b"$",
    b"[0]",
    b"[\"",
    b"=",
    b",",
    b":",
    b"[1:9999]",
    b"[a:z]",
    b"ansible_host=",
    b"ansible_port=",
    b"\t",
    b"\r",
];

/// One edit of a valid input.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, usize),
    Byte(usize, u8),
    Repeat(usize, usize),
    Cut(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), 1usize..16).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, t)| Edit::Insert(at, t)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
        (any::<usize>(), 1usize..64).prop_map(|(at, n)| Edit::Repeat(at, n)),
        any::<usize>().prop_map(Edit::Cut),
    ];
    vec(edit, 0..8)
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len();
        let at = |i: usize| if len == 0 { 0 } else { i % (len + 1) };
        match *e {
            Edit::Delete(i, n) => {
                let from = at(i);
                let to = (from + n).min(len);
                bytes.drain(from..to);
            }
            Edit::Insert(i, t) => {
                let i = at(i);
                bytes.splice(i..i, TOKENS[t].iter().copied());
            }
            Edit::Byte(i, b) if len > 0 => bytes[i % len] = b,
            Edit::Repeat(i, n) => {
                let from = at(i);
                let to = (from + n).min(len);
                let part = bytes[from..to].to_vec();
                bytes.splice(to..to, part);
            }
            Edit::Cut(i) => bytes.truncate(at(i)),
            Edit::Byte(..) => {}
        }
    }
    bytes
}

/// Mutations of the valid inputs `corpus`.
fn mutated(corpus: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = corpus.len();
    (0..n, edits()).prop_map(move |(i, e)| apply(corpus[i].clone(), &e))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const SPECS: &[&str] = &[
    "checks:\n  - package: nginx\n    version: { version: '>= 1.22, < 2' }\n  - service: nginx\n    running: true\n    enabled: true\n",
    "vars:\n  port: 80\n  pw: {value: x, sensitive: true}\nchecks:\n  - port: '{{ port }}'\n    protocol: tcp\n  - command: echo {{ pw | default('y') }}\n    stdout: {not: {contains: z}}\n",
    "checks:\n  - file: /etc/nginx/nginx.conf\n    type: file\n    mode: '0644'\n    owner: root\n    content: [ { contains: worker }, { matches: '^user' } ]\n",
    "checks:\n  - http: http://localhost/\n    status: 200\n    headers: { X-A: '1' }\n    json_path: .items[0].name\n    json: web\n    eventually: { timeout: 30s, interval: 1s }\n",
    "checks:\n  - process: nginx\n    user: { contains: root }\n    args: { contains: master }\n    count: { ge: 1 }\n    only_if: { os: debian, container: false }\n    tags: [a, b]\n    title: t\n",
    "checks:\n  - user: www-data\n    shell: /usr/sbin/nologin\n    groups: { all_of: [ {contains: www-data}, {not: {contains: root}} ] }\n  - group: adm\n  - kernel_param: net.ipv4.ip_forward\n    value: '1'\n",
];

#[test]
fn spec_files_never_panic() {
    let corpus: Vec<Vec<u8>> = SPECS.iter().map(|s| s.as_bytes().to_vec()).collect();
    run("spec files", mutated(corpus), |bytes| {
        let _ = infraspec::spec::yaml::load_str(&text(&bytes), "fuzz.yaml");
    });
}

#[test]
fn checks_given_with_c_never_panic() {
    let corpus: Vec<Vec<u8>> = [
        "port: 80",
        "{file: /etc/motd, content: {contains: hello}}",
        "{command: 'echo {}', json_path: '.a[\"b.c\"][0]', json: 1, timeout: 2s}",
        "{http: 'https://x/', method: POST, body: '{}', status: {one_of: [200, 201]}}",
        "{service: ntp, skip_in_container: true, eventually: {timeout: 4s}}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    run("-c checks", mutated(corpus), |bytes| {
        let _ = infraspec::spec::yaml::load_check(&text(&bytes), "-c");
    });
}

#[test]
fn json_paths_never_panic() {
    let doc: serde_json::Value = serde_json::json!({
        "a": {"b.c": [1, {"d": "e"}], "x": null},
        "items": [{"name": "web"}, {"name": "db"}],
        "é": "ü"
    });
    let corpus: Vec<Vec<u8>> = [
        ".a[\"b.c\"][1].d",
        "$.items[0].name",
        ".",
        ".é",
        ".a['x']",
        ".a[0]é]",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    run("json_path", mutated(corpus), |bytes| {
        if let Ok(path) = infraspec::resource::document::JsonPath::parse(&text(&bytes)) {
            let _ = path.at(&doc);
            let _ = path.to_string();
        }
    });
}

#[test]
fn durations_never_panic() {
    let corpus: Vec<Vec<u8>> = ["1s", "500ms", "2h", "7m", "0.5s", "168h"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    run("durations", mutated(corpus), |bytes| {
        let _ = infraspec::spec::yaml::parse_duration(&text(&bytes));
    });
}

/// A small layer the way image builders write them: directories, files,
/// a link, a hard link, a whiteout, a PAX header and a GNU long name.
fn layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    b.append_data(&mut dir.clone(), "etc/", &b""[..]).unwrap();
    let mut file = tar::Header::new_ustar();
    file.set_mode(0o644);
    file.set_size(5);
    b.append_data(&mut file.clone(), "etc/hosts", &b"host\n"[..])
        .unwrap();
    let long = format!("etc/{}", "n".repeat(150));
    b.append_data(&mut file.clone(), &long, &b"long\n"[..])
        .unwrap();
    b.append_pax_extensions([("path", &b"etc/pax"[..]), ("uid", &b"7"[..])])
        .unwrap();
    b.append_data(&mut file.clone(), "etc/short", &b"paxed"[..])
        .unwrap();
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    b.append_link(&mut link, "etc/link", "hosts").unwrap();
    let mut hard = tar::Header::new_gnu();
    hard.set_entry_type(tar::EntryType::Link);
    hard.set_size(0);
    b.append_link(&mut hard, "etc/hard", "etc/hosts").unwrap();
    b.append_data(&mut file.clone(), "etc/.wh.gone", &b"wh..."[..])
        .unwrap();
    b.into_inner().unwrap()
}

#[test]
fn tar_archives_never_panic() {
    run("tar", mutated(vec![layer()]), |bytes| {
        let mut seen = 0usize;
        let _ = infraspec::backend::ustar::entries(&bytes[..], |e| {
            seen += 1;
            assert!(e.data_offset <= bytes.len() as u64 + (1 << 20), "{e:?}");
            Ok(if seen > 10_000 {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            })
        });
    });
}

#[test]
fn probe_frames_never_panic() {
    use infraspec::probe::{self, Probe, ProbeOutput};
    let nonce = "00112233445566778899aabbccddeeff";
    let probes: Vec<Probe> = (0..3).map(|i| Probe::argv(["p", &i.to_string()])).collect();
    let mut framed = format!("\n{nonce} start\n").into_bytes();
    for (i, out) in [
        ProbeOutput::new(0, b"a\nb".to_vec(), b"".to_vec()),
        ProbeOutput::new(3, b"".to_vec(), b"err\n".to_vec()),
        ProbeOutput::new(0, vec![0, 255, 10], b"x".to_vec()),
    ]
    .iter()
    .enumerate()
    {
        framed.extend(probe::frame(nonce, i, out, probe::OUTPUT_CAP));
    }
    framed.extend(format!("\n{nonce} left 42\n").into_bytes());
    framed.extend(probe::frame_end(nonce, 3));
    run("probe frames", mutated(vec![framed]), |bytes| {
        if let Ok(round) = probe::parse_round(&bytes, nonce, &probes) {
            assert_eq!(round.answers.len(), 3);
        }
    });
}

#[test]
fn inventories_never_panic() {
    let corpus: Vec<Vec<u8>> = [
        "# fleet\nlocal name=me groups=a,b\nssh://web1 specs=a.yaml\ndocker://c name=c1\n",
        "[web]\nweb[01:03].example.com ansible_user=deploy\ndb ansible_host=10.0.0.5 ansible_port=2222\n\n[web:vars]\nhttp_port=80\n\n[prod:children]\nweb\n",
        "all:\n  vars:\n    ansible_user: ops\n  children:\n    web:\n      hosts:\n        web1:\n          ansible_port: 2222\n        web[2:3]:\n      vars:\n        x: 'y'\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    run("inventories", mutated(corpus), |bytes| {
        let t = text(&bytes);
        let _ = infraspec::inventory::parse(&t, "fuzz-inventory");
        let _ = infraspec::inventory::parse(&t, "fuzz-inventory.yml");
    });
}
