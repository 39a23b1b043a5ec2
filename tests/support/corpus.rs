//! Spec corpora made of real checks for this machine (or a target like it).

/// `n` checks over packages, files, contents, users, groups, commands and
/// ports, every one true on a Debian machine or container.
pub fn local(n: usize) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let users: Vec<&str> = passwd.lines().filter_map(|l| l.split(':').next()).collect();
    let group = std::fs::read_to_string("/etc/group").unwrap();
    let groups: Vec<&str> = group.lines().filter_map(|l| l.split(':').next()).collect();
    let packages = ["dpkg", "bash", "coreutils", "libc-bin", "debianutils"];
    let files = [
        "/etc/passwd",
        "/etc/group",
        "/etc/hostname",
        "/etc/os-release",
        "/etc/debian_version",
    ];
    let mut s = String::from("checks:\n");
    for i in 0..n {
        s.push_str(&match i % 7 {
            0 => format!("  - package: {}\n", packages[i / 7 % packages.len()]),
            1 => format!("  - file: {}\n", files[i / 7 % files.len()]),
            2 => "  - file: /etc/passwd\n    content: { contains: 'root:' }\n".to_string(),
            3 => format!("  - user: {}\n", users[i / 7 % users.len()]),
            4 => format!("  - group: {}\n", groups[i / 7 % groups.len()]),
            5 => format!("  - command: echo {i}\n    stdout: '{i}'\n"),
            _ => format!("  - port: {}\n    listening: false\n", 40000 + i),
        });
    }
    s
}
