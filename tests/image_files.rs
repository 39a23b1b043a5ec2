//! Image files and root filesystems, read with no engine reachable: the same
//! spec gives the same verdicts on `docker:IMAGE` and on `docker-archive:`,
//! `oci-archive:`, `oci:` and `rootfs:` for everything files can answer,
//! and skips the rest with the reason. The fixtures are made here from the
//! local test images (`docker save`, `skopeo copy`, `docker export`).

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

use support::docker as d;
use support::{show, temp_file};

fn run(cmd: &mut Command) -> Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .output()
        .unwrap_or_else(|e| support::missing(&program, e));
    assert!(out.status.success(), "{cmd:?}: {}", show(&out));
    out
}

/// infraspec with every engine address pointing nowhere: a static target
/// that contacted an engine would fail.
fn infraspec_offline(target: &str, spec: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args([
            "--format",
            "json",
            "--target",
            target,
            spec.to_str().unwrap(),
        ])
        .env("NO_COLOR", "1")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("CONTAINER_HOST", "unix:///nonexistent/podman.sock")
        .env("PATH", "/nonexistent")
        .env_remove("INFRASPEC_TARGET")
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{target}: {}",
        show(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{target}: {e}: {}", show(&out)))
}

/// (name, outcome) of each check.
fn verdicts(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["targets"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const SPEC: &str = r#"checks:
  - file: /etc/passwd
    type: file
    mode: '0644'
    owner: root
    content: { contains: 'root:x:0:0:' }
  - file: /etc/passwd
    md5: { matches: '^[0-9a-f]{32}$' }
  - file: /bin
    type: symlink
    link_target: usr/bin
  - file: /bin/sh
    resolves_to: /usr/bin/dash
  - file: /etc/shadow
    mode: '0644'
  - file: /etc/nope
    exists: false
  - file: /etc/issue.net
    exists: false
  - package: nginx-light
    version: { version: '>= 1.20' }
  - package: apache2
    installed: false
  - package: apache2
  - user: www-data
    group: www-data
  - user: root
    groups: { contains: root }
  - user: infraspec-nobody
  - group: shadow
    gid: 42
  - service: nginx
    enabled: true
  - service: nginx
    running: true
  - command: echo hi
    stdout: hi
  - port: 80
  - process: nginx
  - kernel_param: kernel.ostype
    value: Linux
  - service: chrony
    skip_in_container: true
"#;

/// The image as `docker-archive:`, `oci-archive:`, `oci:` and `rootfs:`
/// targets, written under `dir` (`docker save`, `skopeo copy`, `docker
/// export` of a container labelled as this test's).
fn image_forms(dir: &Path, image: &str) -> [String; 4] {
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    run(Command::new("docker").args(["save", "-o", &p("img.tar"), image]));
    for to in [
        format!("oci-archive:{}:app", p("oci.tar")),
        format!("oci:{}:app", p("layout")),
    ] {
        run(Command::new("skopeo").args([
            "copy",
            "-q",
            &format!("docker-archive:{}", p("img.tar")),
            &to,
        ]));
    }
    std::fs::create_dir(p("rootfs")).unwrap();
    let cid = String::from_utf8(
        run(Command::new("docker").args([
            "create",
            "--label",
            &format!("infraspec.test={}", std::process::id()),
            image,
        ]))
        .stdout,
    )
    .unwrap();
    let cid = cid.trim().to_string();
    run(Command::new("sh").args([
        "-c",
        &format!("docker export {cid} | tar -C {} -x", p("rootfs")),
    ]));
    let _ = Command::new("docker").args(["rm", "-f", &cid]).output();
    [
        format!("docker-archive:{}", p("img.tar")),
        format!("oci-archive:{}", p("oci.tar")),
        format!("oci:{}:app", p("layout")),
        format!("rootfs:{}", p("rootfs")),
    ]
}

fn the_same_spec_gives_the_same_verdicts_on_every_image_form() {
    let dir = support::temp_dir();
    // One more layer on the test image, which deletes a file: a whiteout.
    let name = format!("infraspec-test-wh-{}", std::process::id());
    let cmd = run(Command::new("docker").args([
        "image",
        "inspect",
        "-f",
        "{{json .Config.Cmd}}",
        d::DEBIAN,
    ]))
    .stdout;
    let cmd = String::from_utf8(cmd).unwrap();
    run(Command::new("docker").args(["run", "--name", &name, d::DEBIAN, "rm", "/etc/issue.net"]));
    let image = format!("infraspec-test/whiteout:{}", std::process::id());
    // The image keeps its own command (nginx), not the one that made the layer.
    let committed = Command::new("docker")
        .args([
            "commit",
            "--change",
            &format!("CMD {}", cmd.trim()),
            &name,
            &image,
        ])
        .output();
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    assert!(
        committed.as_ref().is_ok_and(|o| o.status.success()),
        "{committed:?}"
    );
    let _rmi = LoadedImage(image.clone());

    let forms = image_forms(dir.path(), &image);

    let spec = temp_file("image-forms.yaml", SPEC);
    let live = {
        let out = Command::new(env!("CARGO_BIN_EXE_infraspec"))
            .args([
                "--format",
                "json",
                "--target",
                &format!("docker:{image}"),
                spec.to_str().unwrap(),
            ])
            .env("NO_COLOR", "1")
            .env_remove("INFRASPEC_TARGET")
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let live = verdicts(&live);
    let needs_running = [
        "service nginx should be running",
        "command echo hi stdout should eq \"hi\"",
        "port 80 should be listening",
        "process nginx should be running",
        "kernel_param kernel.ostype value should eq \"Linux\"",
    ];
    for target in forms {
        let doc = infraspec_offline(&target, &spec);
        assert_eq!(
            doc["targets"][0]["stats"]["round_trips"], 0,
            "{target}: {doc:#}"
        );
        assert_eq!(
            doc["targets"][0]["stats"]["execs"], 0,
            "{target}: nothing runs in an image file"
        );
        let facts = &doc["targets"][0]["facts"];
        assert_eq!(
            (facts["os_id"].as_str(), facts["package_manager"].as_str()),
            (Some("debian"), Some("dpkg")),
            "{target}"
        );
        let got = verdicts(&doc);
        assert_eq!(got.len(), live.len());
        for (i, ((name, want), (_, found))) in live.iter().zip(&got).enumerate() {
            if needs_running.contains(&name.as_str()) {
                assert_eq!(found, "skip", "{target}: {name}");
                assert_eq!(
                    doc["targets"][0]["checks"][i]["message"], "nothing runs in an image file",
                    "{target}: {name}"
                );
            } else {
                assert_eq!(found, want, "{target}: {name}: {doc:#}");
            }
        }
        // Failures are failures: a wrong mode, an absent package and user.
        let fails: Vec<&str> = got
            .iter()
            .filter(|(_, o)| o == "fail")
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(fails.len(), 3, "{target}: {fails:?}");
    }
}

fn bad_image_files_are_clear_errors() {
    let dir = support::temp_dir();
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, "not a tar at all").unwrap();
    for (target, said) in [
        (format!("docker-archive:{}", junk.display()), "junk.tar"),
        ("oci:/nonexistent/layout".to_string(), "/nonexistent/layout"),
        ("rootfs:/nonexistent/root".to_string(), "/nonexistent/root"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_infraspec"))
            .args(["--target", &target, "-c", "file: /"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{target}: {}", show(&out));
        assert!(
            support::text(&out.stdout).contains(said),
            "{target}: {}",
            show(&out)
        );
    }
}

/// An image tag this test loaded, removed when dropped (also when the test
/// panics).
struct LoadedImage(String);

impl Drop for LoadedImage {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
    }
}

/// Issue 26, case 17: a symlink loop makes only its own path absent, and
/// `..` after a link steps back from where the link leads, on a shell-less
/// `docker:IMAGE` (read through the archive API) as on the image's files.
fn loops_and_dotdot_read_as_the_kernel_does() {
    let dir = support::temp_dir();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("d/sub")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::copy("/bin/busybox", root.join("bin/sleep")).unwrap();
    std::fs::write(root.join("d/sub/file.txt"), "hello\n").unwrap();
    std::fs::write(root.join("etc/app.conf"), "box\n").unwrap();
    std::os::unix::fs::symlink("/d/sub", root.join("l")).unwrap();
    std::os::unix::fs::symlink("/loop", root.join("loop")).unwrap();
    let image = format!("infraspec-test/links:{}", std::process::id());
    let tar = dir.path().join("root.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&root)
        .args(["--owner=0", "--group=0", "-cf"])
        .arg(&tar)
        .arg("."));
    run(Command::new("docker")
        .args(["import", "-c", "CMD [\"/bin/sleep\", \"3600\"]"])
        .arg(&tar)
        .arg(&image));
    let _loaded = LoadedImage(image.clone());
    let archive = dir.path().join("links.tar");
    run(Command::new("docker")
        .args(["save", "-o"])
        .arg(&archive)
        .arg(&image));
    let spec = temp_file(
        "links.yaml",
        "checks:\n  - file: /loop\n    exists: false\n  - file: /etc/app.conf\n    content: {contains: box}\n  - file: /l/../sub/file.txt\n    content: {contains: hello}\n  - file: /sub/file.txt\n    exists: false\n",
    );
    let want: Vec<String> = ["pass"; 4].iter().map(|s| s.to_string()).collect();
    for target in [
        format!("docker-archive:{}", archive.display()),
        format!("rootfs:{}", root.display()),
    ] {
        let got: Vec<String> = verdicts(&infraspec_offline(&target, &spec))
            .into_iter()
            .map(|(_, o)| o)
            .collect();
        assert_eq!(got, want, "{target}");
    }
    let live = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args([
            "--format",
            "json",
            "--target",
            &format!("docker:{image}"),
            spec.to_str().unwrap(),
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let _ = Command::new("docker").args(["rmi", "-f", &image]).output();
    let doc: serde_json::Value =
        serde_json::from_slice(&live.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&live)));
    let got: Vec<String> = verdicts(&doc).into_iter().map(|(_, o)| o).collect();
    assert_eq!(got, want, "docker:{image}: {doc:#}");
}

/// A raw tar header, as hostile archives are made by hand: `ustar` adds the
/// USTAR magic (a V7 header has none).
fn raw_header(name: &str, typeflag: u8, size: u64, link: &str, ustar: bool) -> Vec<u8> {
    let mut b = vec![0u8; 512];
    b[..name.len()].copy_from_slice(name.as_bytes());
    let executable = typeflag == b'5' || name.starts_with("bin/");
    let mode: &[u8] = if executable { b"0000755" } else { b"0000644" };
    b[100..107].copy_from_slice(mode);
    b[108..115].copy_from_slice(b"0000000");
    b[116..123].copy_from_slice(b"0000000");
    b[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    b[136..147].copy_from_slice(b"14000000000");
    b[156] = typeflag;
    b[157..157 + link.len()].copy_from_slice(link.as_bytes());
    if ustar {
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
    }
    b[148..156].copy_from_slice(b"        ");
    let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
    b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    b
}

fn padded(data: &[u8]) -> Vec<u8> {
    let mut v = data.to_vec();
    v.resize(data.len().div_ceil(512) * 512, 0);
    v
}

/// PAX records, in the order given (duplicates kept).
fn pax(records: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in records {
        let body = format!(" {k}={v}\n");
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        out.extend_from_slice(format!("{len}{body}").as_bytes());
    }
    out
}

/// A tar of entries (header, data) and the two zero blocks.
fn tar_of(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (h, d) in entries {
        out.extend(h);
        out.extend(padded(d));
    }
    out.extend([0u8; 1024]);
    out
}

fn file(name: &str, data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (
        raw_header(name, b'0', data.len() as u64, "", true),
        data.to_vec(),
    )
}

fn pax_entry(records: &[(&str, &str)], ustar: bool) -> (Vec<u8>, Vec<u8>) {
    let data = pax(records);
    (
        raw_header("PaxHeaders/x", b'x', data.len() as u64, "", ustar),
        data,
    )
}

/// A `docker save`-shaped archive of `layers` (gzip-compressed where the
/// bool says so) with their diff_ids, tagged `tag`.
fn docker_archive(path: &Path, layers: &[(Vec<u8>, bool)], tag: &str) {
    use sha2::Digest;
    let hex = |b: &[u8]| -> String {
        sha2::Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    };
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|(plain, _)| format!("sha256:{}", hex(plain)))
        .collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/sleep", "3600"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    })
    .to_string();
    let config_name = format!("{}.json", hex(config.as_bytes()));
    let mut entries = vec![file(&config_name, config.as_bytes())];
    let mut names = Vec::new();
    for (i, (plain, gzip)) in layers.iter().enumerate() {
        let stored = if *gzip {
            gzip_members(plain)
        } else {
            plain.clone()
        };
        let name = format!("layer{i}.tar");
        entries.push(file(&name, &stored));
        names.push(name);
    }
    let manifest = serde_json::json!([{"Config": config_name, "RepoTags": [tag], "Layers": names}])
        .to_string();
    entries.push(file("manifest.json", manifest.as_bytes()));
    std::fs::write(path, tar_of(&entries)).unwrap();
}

/// `data` gzip-compressed as two members (the second half in its own).
fn gzip_members(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    let half = (data.len() / 2 / 512) * 512;
    for part in [&data[..half], &data[half..]] {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(part).unwrap();
        out.extend(e.finish().unwrap());
    }
    out
}

/// Issue 26, case 15: hostile layer constructions that a reader unlike Go's
/// archive/tar, or an applier unlike containerd's, reads differently from
/// the engine. For each, the engine (`docker load`, then `docker:IMAGE`
/// through its archive API) and infraspec's reading of the archive agree,
/// and the engine does see /etc/evil.
fn hostile_layers_read_as_the_engine_reads_them() {
    let dir = support::temp_dir();
    let busybox = std::fs::read("/bin/busybox").unwrap();
    let base = tar_of(&[
        (raw_header("bin/", b'5', 0, "", true), vec![]),
        (raw_header("etc/", b'5', 0, "", true), vec![]),
        file("bin/sleep", &busybox),
    ]);
    let evil = b"evil\n".to_vec();
    let sparse_map = padded(b"1\n0\n5\n");
    let mut sparse_data = sparse_map.clone();
    sparse_data.extend(&evil);
    let lower_evil = || tar_of(&[file("etc/evil", &evil)]);
    let whiteout = |name: &str| (raw_header(name, b'0', 0, "", true), vec![]);
    // (what, hostile layers, gzip them, what the engine and infraspec do)
    let cases: Vec<(&str, Vec<Vec<u8>>, bool, Verdict)> = vec![
        (
            "the last of duplicate PAX path records wins",
            vec![tar_of(&[
                pax_entry(&[("path", "etc/decoy"), ("path", "etc/evil")], true),
                file("short", &evil),
            ])],
            false,
            Verdict::Agree,
        ),
        (
            "the last of duplicate PAX size records wins",
            vec![tar_of(&[
                pax_entry(&[("size", "1024"), ("size", "5")], true),
                (raw_header("etc/evil", b'0', 0, "", true), evil.clone()),
            ])],
            false,
            Verdict::Agree,
        ),
        (
            "a PAX header without the ustar magic still applies",
            vec![tar_of(&[
                pax_entry(&[("path", "etc/evil")], false),
                file("decoy", &evil),
            ])],
            false,
            Verdict::Agree,
        ),
        (
            "a GNU sparse 1.0 file takes its real name",
            vec![tar_of(&[
                pax_entry(
                    &[
                        ("GNU.sparse.major", "1"),
                        ("GNU.sparse.minor", "0"),
                        ("GNU.sparse.name", "etc/evil"),
                        ("GNU.sparse.realsize", "5"),
                    ],
                    true,
                ),
                (
                    raw_header(
                        "GNUSparseFile.0/evil",
                        b'0',
                        sparse_data.len() as u64,
                        "",
                        true,
                    ),
                    sparse_data.clone(),
                ),
            ])],
            false,
            Verdict::Agree,
        ),
        (
            "a file written through a link made earlier in the same layer",
            vec![tar_of(&[
                (raw_header("lnk", b'2', 0, "/etc", true), vec![]),
                file("lnk/evil", &evil),
            ])],
            false,
            Verdict::Refused("written through the link"),
        ),
        (
            "a file written through a link of a lower layer",
            vec![
                tar_of(&[(raw_header("lnk2", b'2', 0, "/etc", true), vec![])]),
                tar_of(&[file("lnk2/evil", &evil)]),
            ],
            false,
            Verdict::Refused("written through the link"),
        ),
        (
            "a layer of several gzip members",
            vec![tar_of(&[
                file("pad", &vec![b'x'; 8192]),
                file("etc/evil", &evil),
            ])],
            true,
            Verdict::Agree,
        ),
        (
            "an empty GNU long name leaves the header's own (issue 40, case 3)",
            vec![tar_of(&[
                (raw_header("././@LongLink", b'L', 0, "", true), vec![]),
                file("etc/evil", &evil),
            ])],
            false,
            Verdict::Agree,
        ),
        (
            "a GNU long name that starts with NUL is empty (issue 40, case 3)",
            vec![tar_of(&[
                (
                    raw_header("././@LongLink", b'L', 5, "", true),
                    b"\0junk".to_vec(),
                ),
                file("etc/evil", &evil),
            ])],
            false,
            Verdict::Agree,
        ),
        (
            "an empty GNU long link leaves the header's own (issue 40, case 3)",
            vec![tar_of(&[
                file("etc/real", &evil),
                (raw_header("././@LongLink", b'K', 0, "", true), vec![]),
                (raw_header("etc/evil", b'2', 0, "real", true), vec![]),
            ])],
            false,
            Verdict::Agree,
        ),
        (
            "a directory whited out and made again in one layer (issue 40, case 4)",
            vec![
                lower_evil(),
                tar_of(&[
                    whiteout(".wh.etc"),
                    (raw_header("etc/", b'5', 0, "", true), vec![]),
                ]),
            ],
            false,
            Verdict::EngineSees("a directory again after the same layer whited it out"),
        ),
        (
            "a hard link to a file of a lower layer (issue 40, case 5)",
            vec![
                tar_of(&[file("etc/real", &evil)]),
                tar_of(&[(raw_header("etc/evil", b'1', 0, "etc/real", true), vec![])]),
            ],
            false,
            Verdict::EngineRefuses("a file of a lower layer"),
        ),
        (
            "the same file twice in one layer (issue 40, case 5)",
            vec![tar_of(&[
                file("etc/evil", b"good\n"),
                file("./etc/evil", &evil),
            ])],
            false,
            Verdict::EngineRefuses("appears twice in the layer"),
        ),
        (
            "the same directory twice in one layer (issue 40, case 5)",
            vec![tar_of(&[
                (raw_header("etc/x/", b'5', 0, "", true), vec![]),
                file("etc/evil", &evil),
                (raw_header("etc/x", b'5', 0, "", true), vec![]),
            ])],
            false,
            Verdict::EngineRefuses("appears twice in the layer"),
        ),
        (
            "a whiteout of what the same layer wrote (issue 40, case 5)",
            vec![
                lower_evil(),
                tar_of(&[file("etc/new", b"n"), whiteout(".wh.etc")]),
            ],
            false,
            Verdict::EngineRefuses("after the same layer wrote it"),
        ),
        (
            "a file below what the same layer whited out (issue 40, case 5)",
            vec![
                lower_evil(),
                tar_of(&[whiteout(".wh.etc"), file("etc/new", b"n")]),
            ],
            false,
            Verdict::EngineRefuses("which the same layer whited out"),
        ),
    ];
    let spec = temp_file(
        "evil.yaml",
        "checks:\n  - file: /etc/evil\n    content: {contains: evil}\n",
    );
    for (n, (what, hostile, gzip, verdict)) in cases.into_iter().enumerate() {
        let tag = format!("infraspec-test/hostile-{n}:{}", std::process::id());
        let archive = dir.path().join(format!("hostile-{n}.tar"));
        let mut layers = vec![(base.clone(), false)];
        layers.extend(hostile.into_iter().map(|l| (l, gzip)));
        docker_archive(&archive, &layers, &tag);
        if let Verdict::Refused(why) | Verdict::EngineSees(why) | Verdict::EngineRefuses(why) =
            verdict
        {
            // Where the engines disagree, or Docker will not load the
            // image, no answer is read from it: the target is an error
            // that says why.
            let out = Command::new(env!("CARGO_BIN_EXE_infraspec"))
                .args(["--target", &format!("docker-archive:{}", archive.display())])
                .arg(&spec)
                .env("NO_COLOR", "1")
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{what}: {}", show(&out));
            assert!(
                support::text(&out.stdout).contains(why),
                "{what}: {}",
                show(&out)
            );
        }
        match verdict {
            // Docker refuses a layer written through a link of its own and
            // shadows a lower layer's link with a directory; containerd
            // follows both links.
            Verdict::Refused(_) => continue,
            Verdict::EngineRefuses(_) => {
                let load = Command::new("docker")
                    .args(["load", "-q", "-i"])
                    .arg(&archive)
                    .output()
                    .unwrap();
                let _loaded = LoadedImage(tag.clone());
                assert!(
                    !load.status.success(),
                    "{what}: Docker loaded it: {}",
                    show(&load)
                );
                continue;
            }
            Verdict::Agree | Verdict::EngineSees(_) => {}
        }
        run(Command::new("docker")
            .args(["load", "-q", "-i"])
            .arg(&archive));
        let _loaded = LoadedImage(tag.clone());
        let live = Command::new(env!("CARGO_BIN_EXE_infraspec"))
            .args([
                "--format",
                "json",
                "--target",
                &format!("docker:{tag}"),
                spec.to_str().unwrap(),
            ])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let _ = Command::new("docker").args(["rmi", "-f", &tag]).output();
        let engine: serde_json::Value = serde_json::from_slice(&live.stdout)
            .unwrap_or_else(|e| panic!("{what}: {e}: {}", show(&live)));
        let engine = verdicts(&engine);
        assert_eq!(
            engine[0].1,
            "pass",
            "{what}: the engine does not see /etc/evil: {}",
            show(&live)
        );
        if matches!(verdict, Verdict::EngineSees(_)) {
            continue;
        }
        let read = verdicts(&infraspec_offline(
            &format!("docker-archive:{}", archive.display()),
            &spec,
        ));
        assert_eq!(read, engine, "{what}");
    }
}

/// What the engine and infraspec make of a hostile archive.
#[derive(Clone, Copy)]
enum Verdict {
    /// Docker sees /etc/evil, and so does infraspec.
    Agree,
    /// The engines disagree (Docker and containerd): infraspec refuses,
    /// saying this; not loaded.
    Refused(&'static str),
    /// Docker sees /etc/evil where a copying snapshotter would not:
    /// infraspec refuses, saying this.
    EngineSees(&'static str),
    /// `docker load` refuses it: so does infraspec, saying this.
    EngineRefuses(&'static str),
}

/// Issue 26, case 15: a layer whose bytes do not match the config's
/// diff_id is an error naming it, as `docker load` refuses it.
fn a_layer_that_does_not_match_its_digest_is_refused() {
    let dir = support::temp_dir();
    let archive = dir.path().join("altered.tar");
    docker_archive(
        &archive,
        &[(tar_of(&[file("etc/ok", b"ok\n")]), false)],
        "x:y",
    );
    // Alter one byte of the layer's content, after the config was written.
    let mut bytes = std::fs::read(&archive).unwrap();
    let at = bytes.windows(3).position(|w| w == b"ok\n").unwrap();
    bytes[at] = b'O';
    std::fs::write(&archive, bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_infraspec"))
        .args([
            "--target",
            &format!("docker-archive:{}", archive.display()),
            "-c",
            "file: /etc/ok",
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        support::text(&out.stdout).contains("diff_id"),
        "{}",
        show(&out)
    );
}

/// Issue 26, case 18: package databases in image files are read whole up to
/// the 64 MiB a live target's database probe keeps, not cut at 4 MiB.
fn a_large_package_database_in_an_image_file_is_read_whole() {
    let dir = support::temp_dir();
    let mut status = String::new();
    let mut i = 0;
    while status.len() < 6 << 20 {
        status.push_str(&format!(
            "Package: filler{i}\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\nDescription: {}\n\n",
            "x".repeat(200)
        ));
        i += 1;
    }
    status.push_str(
        "Package: wanted\nStatus: install ok installed\nVersion: 2.5\nArchitecture: amd64\n\n",
    );
    let layer = tar_of(&[
        (raw_header("etc/", b'5', 0, "", true), vec![]),
        file("etc/os-release", b"ID=debian\nVERSION_ID=12\n"),
        (raw_header("var/", b'5', 0, "", true), vec![]),
        (raw_header("var/lib/", b'5', 0, "", true), vec![]),
        (raw_header("var/lib/dpkg/", b'5', 0, "", true), vec![]),
        file("var/lib/dpkg/status", status.as_bytes()),
    ]);
    let archive = dir.path().join("bigdb.tar");
    docker_archive(&archive, &[(layer, true)], "bigdb:1");
    let spec = temp_file(
        "bigdb.yaml",
        "checks:\n  - package: wanted\n    version: '2.5'\n  - package: filler7\n  - package: absent\n    installed: false\n",
    );
    let doc = infraspec_offline(&format!("docker-archive:{}", archive.display()), &spec);
    let got: Vec<String> = verdicts(&doc).into_iter().map(|(_, o)| o).collect();
    assert_eq!(got, ["pass", "pass", "pass"], "{doc:#}");
}

/// Issue 27, case 12: a layer's unpacked size is capped (16 GiB unless
/// `INFRASPEC_MAX_LAYER_SIZE` says otherwise): a 4 MiB layer, a few KiB of
/// gzip, is refused under a 1 MiB limit with a message naming the setting,
/// and read under the default.
fn a_layer_that_unpacks_past_its_limit_is_refused() {
    let dir = support::temp_dir();
    let layer = tar_of(&[
        (raw_header("etc/", b'5', 0, "", true), vec![]),
        file("etc/zeros", &vec![0u8; 4 << 20]),
    ]);
    let archive = dir.path().join("bomb.tar");
    docker_archive(&archive, &[(layer, true)], "bomb:1");
    assert!(std::fs::metadata(&archive).unwrap().len() < 64 << 10);
    let target = format!("docker-archive:{}", archive.display());
    let run = |limit: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_infraspec"));
        cmd.args(["--target", &target, "-c", "file: /etc/zeros"])
            .env("NO_COLOR", "1")
            .env_remove("INFRASPEC_MAX_LAYER_SIZE");
        if let Some(l) = limit {
            cmd.env("INFRASPEC_MAX_LAYER_SIZE", l);
        }
        cmd.output().unwrap()
    };
    let refused = run(Some("1MiB"));
    assert_eq!(refused.status.code(), Some(2), "{}", show(&refused));
    assert!(
        support::text(&refused.stdout).contains("INFRASPEC_MAX_LAYER_SIZE"),
        "{}",
        show(&refused)
    );
    let bad = run(Some("lots"));
    assert_eq!(bad.status.code(), Some(2), "{}", show(&bad));
    assert!(
        support::text(&bad.stdout).contains("is not a size"),
        "{}",
        show(&bad)
    );
    let read = run(None);
    assert_eq!(read.status.code(), Some(0), "{}", show(&read));
}

/// `infraspec add`/`autoadd` on a target, with every engine address pointing
/// nowhere unless `engine` (a live target needs its engine).
fn add_on(target: &str, args: &[&str], engine: bool) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_infraspec"));
    cmd.args(args[..1].iter().copied())
        .args(["--target", target])
        .args(args[1..].iter().copied())
        .env("NO_COLOR", "1")
        .env_remove("INFRASPEC_TARGET");
    if !engine {
        cmd.env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .env("CONTAINER_HOST", "unix:///nonexistent/podman.sock");
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{target}: {}", show(&out));
    support::text(&out.stdout)
}

/// What `add` asserts, without its header and comments.
fn asserted(yaml: &str) -> Vec<&str> {
    yaml.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect()
}

fn add_autoadd_and_host_work_on_every_image_form() {
    use infraspec::host::Host;
    let dir = support::temp_dir();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let forms = image_forms(dir.path(), d::DEBIAN);

    // Everything files can answer: the same checks as on the live image.
    let items = [
        "add",
        "package",
        "bash",
        "package",
        "no-such-package",
        "user",
        "root",
        "user",
        "nobody",
        "group",
        "root",
        "file",
        "/etc/passwd",
        "file",
        "/etc/os-release",
        "file",
        "/etc/no-such-file",
    ];
    let live_target = format!("docker:{}", d::DEBIAN);
    let live = add_on(&live_target, &items, true);
    assert!(live.contains("version:"), "{live}");
    for target in &forms {
        let got = add_on(target, &items, false);
        assert_eq!(
            asserted(&got),
            asserted(&live),
            "{target}:\n{got}\nlive:\n{live}"
        );
    }
    // What needs a process is a comment that says why, not an error (one
    // form: all read through the same files observer).
    let service = add_on(
        &forms[0],
        &["add", "service", "cron", "process", "sleep"],
        false,
    );
    assert!(
        service.contains("running is not asserted: nothing runs in an image file"),
        "{service}"
    );
    let auto = add_on(&forms[0], &["autoadd", "root"], false);
    assert!(
        auto.contains("- user: root") && auto.contains("- group: root"),
        "{auto}"
    );

    // The Host API: the same answers as on the live image.
    let host_answers = |host: &Host| {
        (
            host.package("bash").installed().unwrap(),
            host.package("bash").version().unwrap(),
            host.package("no-such-package").installed().unwrap(),
            host.user("nobody").uid().unwrap(),
            host.file("/etc/passwd").mode().unwrap(),
            host.file("/etc/passwd").owner().unwrap(),
            host.file("/etc/no-such-file").exists().unwrap(),
            host.facts().unwrap().os_id.clone(),
        )
    };
    let live = host_answers(&Host::connect(&live_target.parse().unwrap()).unwrap());
    assert!(live.0 && live.1.is_some() && !live.2, "{live:?}");
    for target in &forms {
        let host = Host::connect(&target.parse().unwrap()).unwrap();
        assert_eq!(host_answers(&host), live, "{target}");
        let e = host.process("sleep").running().unwrap_err().to_string();
        assert!(e.contains("nothing runs in an image file"), "{target}: {e}");
    }

    // A running container without a shell: its files answer, the same as
    // its image file's.
    run(Command::new("docker").args(["save", "-o", &p("noshell.tar"), d::NOSHELL]));
    let items = [
        "add",
        "file",
        "/etc/app/app.conf",
        "file",
        "/etc/app/current.conf",
        "user",
        "root",
    ];
    let container = add_on(&format!("docker:{}", d::NOSHELL), &items, true);
    let archive = add_on(
        &format!("docker-archive:{}", p("noshell.tar")),
        &items,
        false,
    );
    assert_eq!(
        asserted(&container),
        asserted(&archive),
        "{container}\n{archive}"
    );
    assert!(
        container.contains("- file: /etc/app/app.conf"),
        "{container}"
    );
    let host = Host::connect(&format!("docker:{}", d::NOSHELL).parse().unwrap()).unwrap();
    assert_eq!(host.file("/etc/app/app.conf").mode().unwrap(), Some(0o640));
    let e = host.process("sleep").running().unwrap_err().to_string();
    assert!(e.contains("has no shell"), "{e}");
}

infraspec_tests! {
    Docker: [
        the_same_spec_gives_the_same_verdicts_on_every_image_form,
        loops_and_dotdot_read_as_the_kernel_does,
        hostile_layers_read_as_the_engine_reads_them,
        add_autoadd_and_host_work_on_every_image_form,
    ],
    Nothing: [
        bad_image_files_are_clear_errors,
        a_layer_that_does_not_match_its_digest_is_refused,
        a_large_package_database_in_an_image_file_is_read_whole,
        a_layer_that_unpacks_past_its_limit_is_refused,
    ],
}
