//! Image files and root filesystems, read with no engine reachable: the same
//! spec gives the same verdicts on `docker:IMAGE` and on `docker-archive:`,
//! `oci-archive:`, `oci:` and `rootfs:` for everything files can answer,
//! and skips the rest with the reason. The fixtures are made here from the
//! local test images (`docker save`, `skopeo copy`, `docker export`).

#[macro_use]
mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::docker as d;
use support::{show, temp_file};

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run");
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

fn the_same_spec_gives_the_same_verdicts_on_every_image_form() {
    let dir = support::temp_dir();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
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
    struct Rmi(String);
    impl Drop for Rmi {
        fn drop(&mut self) {
            let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
        }
    }
    let _rmi = Rmi(image.clone());

    run(Command::new("docker").args(["save", "-o", &p("img.tar"), &image]));
    run(Command::new("skopeo").args([
        "copy",
        "-q",
        &format!("docker-archive:{}", p("img.tar")),
        &format!("oci-archive:{}:app", p("oci.tar")),
    ]));
    run(Command::new("skopeo").args([
        "copy",
        "-q",
        &format!("docker-archive:{}", p("img.tar")),
        &format!("oci:{}:app", p("layout")),
    ]));
    std::fs::create_dir(p("rootfs")).unwrap();
    let cid =
        String::from_utf8(run(Command::new("docker").args(["create", &image])).stdout).unwrap();
    let cid = cid.trim().to_string();
    run(Command::new("sh").args([
        "-c",
        &format!("docker export {cid} | tar -C {} -x", p("rootfs")),
    ]));
    let _ = Command::new("docker").args(["rm", "-f", &cid]).output();

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
    for target in [
        format!("docker-archive:{}", p("img.tar")),
        format!("oci-archive:{}", p("oci.tar")),
        format!("oci:{}:app", p("layout")),
        format!("rootfs:{}", p("rootfs")),
    ] {
        let doc = infraspec_offline(&target, &spec);
        assert_eq!(
            doc["targets"][0]["stats"]["round_trips"], 0,
            "{target}: {doc:#}"
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

infraspec_tests! {
    Docker: [
        the_same_spec_gives_the_same_verdicts_on_every_image_form,
        loops_and_dotdot_read_as_the_kernel_does,
    ],
    Nothing: [
        bad_image_files_are_clear_errors,
    ],
}
