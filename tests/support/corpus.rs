//! Spec corpora made of real checks, true on any Debian machine or container
//! (the test images are Debian minbase).

const PACKAGES: [&str; 10] = [
    "dpkg",
    "bash",
    "coreutils",
    "libc-bin",
    "debianutils",
    "grep",
    "sed",
    "tar",
    "gzip",
    "findutils",
];
const FILES: [&str; 5] = [
    "/etc/passwd",
    "/etc/group",
    "/etc/hostname",
    "/etc/os-release",
    "/etc/debian_version",
];
const USERS: [&str; 5] = ["root", "daemon", "bin", "sys", "nobody"];
const GROUPS: [&str; 5] = ["root", "daemon", "bin", "sys", "adm"];

/// `n` checks over packages, files, contents, users, groups, commands and
/// closed ports.
pub fn local(n: usize) -> String {
    let mut s = String::from("checks:\n");
    for i in 0..n {
        let j = i / 7;
        s.push_str(&match i % 7 {
            0 => format!("  - package: {}\n", PACKAGES[j % PACKAGES.len()]),
            1 => format!("  - file: {}\n", FILES[j % FILES.len()]),
            2 => "  - file: /etc/passwd\n    content: { contains: 'root:' }\n".to_string(),
            3 => format!("  - user: {}\n", USERS[j % USERS.len()]),
            4 => format!("  - group: {}\n", GROUPS[j % GROUPS.len()]),
            5 => format!("  - command: echo {i}\n    stdout: '{i}'\n"),
            _ => format!("  - port: {}\n    listening: false\n", 40000 + i),
        });
    }
    s
}
