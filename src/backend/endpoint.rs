//! Where a container engine's API is: Docker's from `DOCKER_HOST` (with TLS
//! from `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`), then the Docker context
//! (`DOCKER_CONTEXT`, else `currentContext` in `~/.docker/config.json`),
//! then the default socket; podman's from `CONTAINER_HOST`, then the rootless
//! and rootful sockets, else a `podman system service` that infraspec starts
//! on a private socket for the run and stops when the process ends.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::target::Engine;

/// How an engine's API is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// `unix://PATH`, `tcp://…` or `http://…` without TLS.
    Plain(String),
    /// `tcp://…` with TLS: the directory holding `ca.pem`, `cert.pem`, `key.pem`.
    Tls(String, PathBuf),
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Plain(h) => f.write_str(h),
            Host::Tls(h, _) => write!(f, "{h} (TLS)"),
        }
    }
}

/// Hosts found so far, one per engine, for the whole process.
static FOUND: Mutex<Vec<(Engine, Host)>> = Mutex::new(Vec::new());

/// The podman service this process started, stopped at exit.
static SERVICE: Mutex<Option<(std::process::Child, PathBuf)>> = Mutex::new(None);

/// A client for `engine` (not yet version-negotiated).
pub fn client(engine: Engine) -> Result<bollard::Docker, String> {
    let host = host(engine)?;
    connect(&host).map_err(|e| format!("cannot reach {} at {host}: {e}", engine.as_str()))
}

/// A client for an engine this process already reached: never starts
/// anything (for cleanup from a signal handler).
pub fn known_client(engine: Engine) -> Option<bollard::Docker> {
    let found = FOUND
        .lock()
        .ok()?
        .iter()
        .find(|(e, _)| *e == engine)?
        .1
        .clone();
    connect(&found).ok()
}

fn connect(host: &Host) -> Result<bollard::Docker, bollard::errors::Error> {
    const TIMEOUT: u64 = 120;
    match host {
        Host::Plain(h) if h.starts_with("unix://") => {
            bollard::Docker::connect_with_unix(h, TIMEOUT, bollard::API_DEFAULT_VERSION)
        }
        Host::Plain(h) => {
            bollard::Docker::connect_with_http(h, TIMEOUT, bollard::API_DEFAULT_VERSION)
        }
        Host::Tls(h, dir) => bollard::Docker::connect_with_ssl(
            h,
            &dir.join("key.pem"),
            &dir.join("cert.pem"),
            &dir.join("ca.pem"),
            TIMEOUT,
            bollard::API_DEFAULT_VERSION,
        ),
    }
}

/// Where `engine` answers, found once per process.
pub fn host(engine: Engine) -> Result<Host, String> {
    let mut found = FOUND.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, h)) = found.iter().find(|(e, _)| *e == engine) {
        return Ok(h.clone());
    }
    let env: HashMap<String, String> = std::env::vars().collect();
    let h = match engine {
        Engine::Docker => docker_host(&env, &docker_config_dir(&env))?,
        Engine::Podman => podman_host(&env)?,
    };
    found.push((engine, h.clone()));
    Ok(h)
}

fn set(env: &HashMap<String, String>, key: &str) -> Option<String> {
    env.get(key).filter(|v| !v.is_empty()).cloned()
}

/// `DOCKER_CONFIG`, else `~/.docker`.
fn docker_config_dir(env: &HashMap<String, String>) -> PathBuf {
    match set(env, "DOCKER_CONFIG") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(set(env, "HOME").unwrap_or_else(|| "/root".into())).join(".docker"),
    }
}

/// Docker's host, as the `docker` CLI finds it.
pub fn docker_host(env: &HashMap<String, String>, config_dir: &Path) -> Result<Host, String> {
    if let Some(h) = set(env, "DOCKER_HOST") {
        let tls = set(env, "DOCKER_TLS_VERIFY").is_some_and(|v| v != "0");
        if tls {
            let dir = set(env, "DOCKER_CERT_PATH")
                .map(PathBuf::from)
                .unwrap_or_else(|| config_dir.to_path_buf());
            return tls_host(&h, dir);
        }
        return plain_host(&h, "DOCKER_HOST");
    }
    let context = match set(env, "DOCKER_CONTEXT") {
        Some(c) => Some(c),
        None => match std::fs::read(config_dir.join("config.json")) {
            Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes)
                .map_err(|e| {
                    format!(
                        "{}: not valid JSON: {e}",
                        config_dir.join("config.json").display()
                    )
                })?
                .get("currentContext")
                .and_then(|c| c.as_str())
                .map(str::to_string),
            Err(_) => None,
        },
    };
    match context.filter(|c| c != "default") {
        Some(name) => context_host(config_dir, &name),
        None => Ok(Host::Plain("unix:///var/run/docker.sock".into())),
    }
}

fn plain_host(h: &str, from: &str) -> Result<Host, String> {
    if h.starts_with("unix://") || h.starts_with("tcp://") || h.starts_with("http://") {
        Ok(Host::Plain(h.to_string()))
    } else {
        Err(format!(
            "{from}={h:?}: infraspec reaches engines at unix://, tcp:// or http:// addresses"
        ))
    }
}

fn tls_host(h: &str, dir: PathBuf) -> Result<Host, String> {
    for f in ["ca.pem", "cert.pem", "key.pem"] {
        if !dir.join(f).is_file() {
            return Err(format!(
                "TLS to {h} needs {} (DOCKER_CERT_PATH)",
                dir.join(f).display()
            ));
        }
    }
    Ok(Host::Tls(h.to_string(), dir))
}

/// A Docker context's endpoint: `contexts/meta/SHA256(NAME)/meta.json`, with
/// TLS material in `contexts/tls/SHA256(NAME)/docker/` when it is there.
fn context_host(config_dir: &Path, name: &str) -> Result<Host, String> {
    use sha2::Digest;
    let id: String = sha2::Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let meta_path = config_dir.join("contexts/meta").join(&id).join("meta.json");
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&meta_path)
            .map_err(|e| format!("Docker context {name:?}: {}: {e}", meta_path.display()))?,
    )
    .map_err(|e| format!("{}: not valid JSON: {e}", meta_path.display()))?;
    let endpoint = &meta["Endpoints"]["docker"];
    let h = endpoint["Host"]
        .as_str()
        .ok_or_else(|| format!("Docker context {name:?} names no docker endpoint Host"))?;
    let tls_dir = config_dir.join("contexts/tls").join(&id).join("docker");
    if h.starts_with("tcp://") && tls_dir.join("ca.pem").is_file() {
        return tls_host(h, tls_dir);
    }
    plain_host(h, &format!("Docker context {name:?}"))
}

/// Whether something accepts connections on a unix socket.
fn answers(path: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}

/// Podman's host: `CONTAINER_HOST`, the rootless and rootful sockets, else
/// a service started for this process.
fn podman_host(env: &HashMap<String, String>) -> Result<Host, String> {
    if let Some(h) = set(env, "CONTAINER_HOST") {
        if h.starts_with("ssh://") {
            return Err(format!(
                "CONTAINER_HOST={h:?}: podman over ssh:// is not reached directly; forward its socket and give unix://PATH"
            ));
        }
        return plain_host(&h, "CONTAINER_HOST");
    }
    let mut sockets = Vec::new();
    if let Some(run) = set(env, "XDG_RUNTIME_DIR") {
        sockets.push(PathBuf::from(run).join("podman/podman.sock"));
    }
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        sockets.push(PathBuf::from("/run/podman/podman.sock"));
    } else {
        sockets.insert(
            0,
            PathBuf::from(format!("/run/user/{}/podman/podman.sock", unsafe {
                libc::getuid()
            })),
        );
        sockets.push(PathBuf::from("/run/podman/podman.sock"));
    }
    if let Some(s) = sockets.iter().find(|s| answers(s)) {
        return Ok(Host::Plain(format!("unix://{}", s.display())));
    }
    start_service(env)
}

/// Starts `podman system service` on a socket in a private directory, waits
/// until it answers, and arranges for it to stop when this process exits.
fn start_service(env: &HashMap<String, String>) -> Result<Host, String> {
    let podman = which::which("podman").map_err(|_| {
        "no podman socket answers (CONTAINER_HOST, $XDG_RUNTIME_DIR/podman/podman.sock, /run/podman/podman.sock) and podman is not on PATH".to_string()
    })?;
    let base = set(env, "XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    reap_services(&base);
    let dir = base.join(format!(
        "{SERVICE_PREFIX}{}-{}",
        std::process::id(),
        &crate::probe::nonce()[..8]
    ));
    std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let _ = std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700));
    // Who owns the service, for a later run to prove it gone (this process
    // may be killed with SIGKILL, which nothing here can catch).
    std::fs::write(dir.join("owner"), super::docker::run_id())
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let socket = dir.join("podman.sock");
    // With `--time`, the service also ends by itself once idle, should this
    // process be killed before it can stop it.
    let child = std::process::Command::new(&podman)
        .args(["system", "service", "--time=60"])
        .arg(format!("unix://{}", socket.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{} system service`: {e}", podman.display()))?;
    let _ = std::fs::write(dir.join("service.pid"), child.id().to_string());
    *SERVICE.lock().unwrap_or_else(|e| e.into_inner()) = Some((child, dir.clone()));
    // SAFETY: registers a plain extern "C" function without arguments.
    unsafe { libc::atexit(stop_service_at_exit) };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if answers(&socket) {
            return Ok(Host::Plain(format!("unix://{}", socket.display())));
        }
        let mut service = SERVICE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((child, _)) = service.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                drop(service);
                stop_service();
                return Err(format!(
                    "`podman system service` exited ({status}): {}",
                    err.trim()
                ));
            }
        }
        drop(service);
        std::thread::sleep(Duration::from_millis(50));
    }
    stop_service();
    Err("`podman system service` did not answer within 20s".into())
}

/// Private podman services' directories: `PREFIX<pid>-<random>`, holding the
/// socket, `owner` (the run id of the process that started it) and
/// `service.pid`.
const SERVICE_PREFIX: &str = "infraspec-podman-";

/// Stops the services, and removes the directories, that runs now gone left
/// in `base` (killed before they could clean up): a run is gone when no
/// process has its run id (boot, PID namespace, PID and start time). The
/// service is killed only when its command line names its own socket, so a
/// reused PID is never hit.
fn reap_services(base: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(SERVICE_PREFIX)) else {
            continue;
        };
        let dir = entry.path();
        let Ok(owner) = std::fs::read_to_string(dir.join("owner")) else {
            // Being made right now, or made by an older infraspec: its PID
            // is in its name.
            let pid = rest.split('-').next().unwrap_or_default();
            if pid.parse::<u32>().is_ok() && !std::path::Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(&dir);
            }
            continue;
        };
        if !super::docker::run_is_gone(owner.trim(), &super::docker::run_id()) {
            continue;
        }
        if let Ok(pid) = std::fs::read_to_string(dir.join("service.pid")) {
            let pid = pid.trim();
            let socket = dir.join("podman.sock");
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let names_socket =
                String::from_utf8_lossy(&cmdline).contains(&socket.display().to_string());
            if let (true, Ok(pid)) = (names_socket, pid.parse::<libc::pid_t>()) {
                // SAFETY: a signal to the service of a run that is gone,
                // checked by its command line just above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Stops the podman service this process started, and removes its socket.
pub fn stop_service() {
    // The starting thread holds the lock only for moments: wait for it, so
    // that a signal during the start still stops the service.
    let waited = Instant::now();
    let taken = loop {
        match SERVICE.try_lock() {
            Ok(mut s) => break s.take(),
            Err(std::sync::TryLockError::Poisoned(e)) => break e.into_inner().take(),
            Err(std::sync::TryLockError::WouldBlock)
                if waited.elapsed() < Duration::from_secs(2) =>
            {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(std::sync::TryLockError::WouldBlock) => return,
        }
    };
    if let Some((mut child, dir)) = taken {
        // SAFETY: a signal to our own child, by its pid.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let waited = Instant::now();
        while waited.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(dir);
    }
}

extern "C" fn stop_service_at_exit() {
    stop_service();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn docker_host_tls_and_contexts() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(
            docker_host(&env(&[]), d).unwrap(),
            Host::Plain("unix:///var/run/docker.sock".into())
        );
        assert_eq!(
            docker_host(&env(&[("DOCKER_HOST", "tcp://10.0.0.1:2375")]), d).unwrap(),
            Host::Plain("tcp://10.0.0.1:2375".into())
        );
        let e = docker_host(
            &env(&[("DOCKER_HOST", "tcp://h:2376"), ("DOCKER_TLS_VERIFY", "1")]),
            d,
        )
        .unwrap_err();
        assert!(e.contains("ca.pem"), "{e}");
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(d.join(f), "x").unwrap();
        }
        assert_eq!(
            docker_host(
                &env(&[
                    ("DOCKER_HOST", "tcp://h:2376"),
                    ("DOCKER_TLS_VERIFY", "1"),
                    ("DOCKER_CERT_PATH", d.to_str().unwrap())
                ]),
                Path::new("/nonexistent")
            )
            .unwrap(),
            Host::Tls("tcp://h:2376".into(), d.to_path_buf())
        );
        assert!(docker_host(&env(&[("DOCKER_HOST", "ssh://h")]), d).is_err());

        // The current context from config.json, its endpoint from its meta.
        std::fs::write(d.join("config.json"), r#"{"currentContext":"ci"}"#).unwrap();
        let e = docker_host(&env(&[]), d).unwrap_err();
        assert!(e.contains("Docker context \"ci\""), "{e}");
        use sha2::Digest;
        let id: String = sha2::Sha256::digest(b"ci")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let meta = d.join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"ci","Endpoints":{"docker":{"Host":"unix:///run/ci.sock"}}}"#,
        )
        .unwrap();
        assert_eq!(
            docker_host(&env(&[]), d).unwrap(),
            Host::Plain("unix:///run/ci.sock".into())
        );
        // DOCKER_CONTEXT wins over the file; `default` is the local socket.
        assert_eq!(
            docker_host(&env(&[("DOCKER_CONTEXT", "default")]), d).unwrap(),
            Host::Plain("unix:///var/run/docker.sock".into())
        );
    }
}
