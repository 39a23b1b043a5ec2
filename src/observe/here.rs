//! The facts of the machine infraspec runs on, read in this process: what the
//! fact probes print when a local `sh` runs them (the same user, environment
//! and mount namespace), without starting one. A local target's first round
//! is then no round trip at all.

use std::ffi::CString;
use std::path::Path;

use crate::facts::{self, Facts, RawFacts};

/// The facts of this machine, as [`facts::parse`] reads them from the fact
/// probes' output.
pub fn facts() -> Facts {
    let os_release = std::fs::read("/etc/os-release")
        .or_else(|_| std::fs::read("/usr/lib/os-release"))
        .unwrap_or_default();
    let read = |p: &str| std::fs::read(p).unwrap_or_default();
    let (cgroup, environ, mountinfo) = (
        read("/proc/1/cgroup"),
        read("/proc/1/environ"),
        read("/proc/self/mountinfo"),
    );
    facts::from_raw(&RawFacts {
        os_release: &String::from_utf8_lossy(&os_release),
        uname_m: &format!("{}\n", machine()),
        env: &env(),
        pid1_cgroup: &String::from_utf8_lossy(&cgroup),
        pid1_environ: &environ,
        mountinfo: &String::from_utf8_lossy(&mountinfo),
    })
}

/// `uname -m`.
fn machine() -> String {
    // SAFETY: uname(2) fills the struct it is given; it is zeroed first, and
    // every field it sets ends with a NUL.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    let bytes: Vec<u8> = u
        .machine
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What `read -r x <PATH` leaves in `x` when it succeeds: the first line,
/// without the blanks around it; `None` where `read` fails (no such file, or
/// no newline before the end).
fn read_line(path: &str) -> Option<String> {
    let text = std::fs::read(path).ok()?;
    let end = text.iter().position(|&b| b == b'\n')?;
    let line = String::from_utf8_lossy(&text[..end]);
    Some(line.trim_matches([' ', '\t']).to_string())
}

/// `access(2)` of `path` for `mode`, as `[ -r ]` and `command -v` ask.
fn access(path: &Path, mode: libc::c_int) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a NUL-terminated path that lives through the call.
    unsafe { libc::access(c.as_ptr(), mode) == 0 }
}

/// Whether `command -v NAME` finds an executable file on `PATH`.
fn on_path(name: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".").to_path_buf()
        } else {
            dir
        };
        let file = dir.join(name);
        file.is_file() && access(&file, libc::X_OK)
    })
}

/// The effective user's name, as `id -un` prints it (empty where it has none).
fn user_name(uid: libc::uid_t) -> String {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: getpwuid_r writes into `pwd` and `buf` (whose length it is
    // given) and sets `found` to `pwd` or null; the name is read only when
    // it was found, while `buf` lives.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found);
        if rc != 0 || found.is_null() || pwd.pw_name.is_null() {
            return String::new();
        }
        std::ffi::CStr::from_ptr(pwd.pw_name)
            .to_string_lossy()
            .into_owned()
    }
}

/// The `Env` fact probe's output, line for line as its snippet prints it.
fn env() -> String {
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&l);
        out.push('\n');
    };
    if let Some(x) = read_line("/proc/1/comm") {
        line(format!("pid1={x}"));
    }
    let exists = |p: &str| Path::new(p).exists();
    let dir = |p: &str| Path::new(p).is_dir();
    for (on, what) in [
        (exists("/.dockerenv"), "dockerenv=1"),
        (exists("/run/.containerenv"), "containerenv=1"),
        (dir("/var/run/secrets/kubernetes.io"), "kubernetes=1"),
        (dir("/run/systemd/system"), "systemd_run=1"),
        (dir("/run/openrc"), "openrc_run=1"),
        (dir("/etc/init.d"), "initd=1"),
    ] {
        if on {
            line(what.to_string());
        }
    }
    for m in ["dpkg-query", "rpm", "apk", "pacman", "timeout"] {
        if on_path(m) {
            line(format!("have={m}"));
        }
    }
    let readable = |p: &str| access(Path::new(p), libc::R_OK);
    for (path, key) in [
        ("/etc/debian_version", "debian_version"),
        ("/etc/alpine-release", "alpine_release"),
        ("/etc/redhat-release", "redhat_release"),
    ] {
        if let Some(x) = readable(path).then(|| read_line(path)).flatten() {
            line(format!("{key}={x}"));
        }
    }
    if readable("/etc/arch-release") {
        line("arch_release=1".into());
    }
    if let Some(x) = read_line("/sys/devices/system/cpu/online") {
        line(format!("cpus={x}"));
    }
    // SAFETY: geteuid(2) cannot fail.
    let uid = unsafe { libc::geteuid() };
    line(format!("uid={uid}"));
    line(format!("user={}", user_name(uid)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::local::Local;
    use crate::backend::Backend;

    /// Read here, the facts are what the fact probes say through a local `sh`.
    #[test]
    fn facts_read_here_are_the_facts_a_local_sh_prints() {
        let probed =
            crate::observe::gather_facts(&Local, std::time::Duration::from_secs(30)).unwrap();
        assert_eq!(format!("{:?}", facts()), format!("{probed:?}"));
    }

    #[test]
    fn the_env_probe_prints_what_is_read_here() {
        let out = Local
            .exec(
                crate::facts::FactProbe::Env.probe().argv_slice(),
                b"",
                std::time::Duration::from_secs(30),
            )
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), env());
    }
}
