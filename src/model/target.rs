//! Targets: where checks run (`local`, `ssh://…`, `docker://…`, `docker:image`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// A machine to check, parsed from the `--target` syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The machine infraspec runs on.
    Local,
    /// `ssh://[user@]host[:port][?options]`
    Ssh {
        /// The user to log in as (else the SSH config's or the current user).
        user: Option<String>,
        /// The host name or address.
        host: String,
        /// The port (else the SSH config's or 22).
        port: Option<u16>,
        /// URL query options (`identity`, `sudo`, `known_hosts`…).
        options: BTreeMap<String, String>,
    },
    /// `docker://container[?user=…]` (or `podman://…`): a running container.
    DockerContainer {
        /// The engine that runs it.
        engine: Engine,
        /// The container's name or id.
        container: String,
        /// URL query options (`user`).
        options: BTreeMap<String, String>,
    },
    /// `docker:image[:tag]` (or `podman:…`): a throwaway container from an image.
    DockerImage {
        /// The engine that runs it.
        engine: Engine,
        /// The image reference.
        image: String,
        /// URL query options (`user`, `cmd`, `entrypoint`, `env`, `network`…).
        options: BTreeMap<String, String>,
    },
    /// `docker-archive:PATH`, `oci-archive:PATH[:REF]`, `oci:DIR[:REF]`,
    /// `rootfs:DIR`: an image file or a root filesystem, read without an
    /// engine; nothing runs.
    ImageFile {
        /// Which kind of file.
        format: Format,
        /// The file or directory.
        path: String,
        /// The image in an OCI layout (`org.opencontainers.image.ref.name`).
        reference: Option<String>,
    },
}

/// The container engine behind a container or image target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Docker (or what `DOCKER_HOST`/the Docker context points at).
    Docker,
    /// Podman, through its Docker-compatible API.
    Podman,
}

impl Engine {
    /// `docker` or `podman`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }
}

/// A target string that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid target {target:?}: {reason}")]
pub struct TargetError {
    /// The target as written.
    pub target: String,
    /// What is wrong with it.
    pub reason: String,
}

const FORMS: &str = "expected local, ssh://[user@]host[:port], docker://container, docker:image[:tag], podman://container, podman:image[:tag], docker-archive:PATH, oci-archive:PATH[:REF], oci:DIR[:REF] or rootfs:DIR";

/// Percent-decodes a URL part. `+` stays `+` (a user name may hold one);
/// in the query string it means a space, as form encoding has it.
fn percent_decode(s: &str) -> Result<String, String> {
    if s.split('%').skip(1).any(|rest| {
        rest.get(..2)
            .is_none_or(|h| u8::from_str_radix(h, 16).is_err())
    }) {
        return Err(format!("bad percent-encoding in {s:?}"));
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|d| d.into_owned())
        .map_err(|_| format!("{s:?} does not decode to UTF-8"))
}

fn parse_query(q: Option<&str>) -> Result<BTreeMap<String, String>, String> {
    let mut options = BTreeMap::new();
    for pair in q.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, "true"));
        options.insert(
            percent_decode(&k.replace('+', " "))?,
            percent_decode(&v.replace('+', " "))?,
        );
    }
    Ok(options)
}

/// A URL as it may be shown: a password in it (`scheme://user:secret@host`)
/// becomes `***`.
pub fn redact_url(url: &str) -> std::borrow::Cow<'_, str> {
    let Some(scheme_end) = url.find("://") else {
        return url.into();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rsplit_once('@') {
        Some((userinfo, _)) => match userinfo.split_once(':') {
            Some((user, _)) => format!(
                "{}{user}:***@{}",
                &url[..scheme_end + 3],
                &rest[userinfo.len() + 1..]
            )
            .into(),
            None => url.into(),
        },
        None => url.into(),
    }
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| TargetError {
            target: redact_url(s).into_owned(),
            reason,
        };
        if s == "local" {
            return Ok(Target::Local);
        }
        if let Some(rest) = s.strip_prefix("ssh://") {
            let (authority, query) = match rest.split_once('?') {
                Some((a, q)) => (a, Some(q)),
                None => (rest, None),
            };
            let authority = authority.trim_end_matches('/');
            let (user, hostport) = match authority.rsplit_once('@') {
                Some((u, _)) if u.contains(':') => {
                    return Err(err(format!(
                        "a password in the target is refused (it would show in process lists, shell history and reports); give it in {} instead",
                        PASSWORD_ENV
                    )))
                }
                Some((u, h)) => (Some(percent_decode(u).map_err(err)?), h),
                None => (None, authority),
            };
            let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
                let (h, after) = v6
                    .split_once(']')
                    .ok_or_else(|| err("unclosed '[' in the host".into()))?;
                (h.to_string(), after.strip_prefix(':'))
            } else {
                match hostport.rsplit_once(':') {
                    Some((h, p)) => (h.to_string(), Some(p)),
                    None => (hostport.to_string(), None),
                }
            };
            let port = port
                .map(|p| {
                    p.parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| err(format!("port {p:?} is not a number from 1 to 65535")))
                })
                .transpose()?;
            if host.is_empty()
                || host.starts_with('-')
                || host.contains(|c: char| c.is_whitespace() || c == '/')
            {
                return Err(err(format!("{host:?} is not a host name")));
            }
            if user
                .as_deref()
                .is_some_and(|u| u.is_empty() || u.starts_with('-'))
            {
                return Err(err("the user name is empty or starts with '-'".into()));
            }
            let options = parse_query(query).map_err(err)?;
            parse_ssh_options(&options).map_err(err)?;
            return Ok(Target::Ssh {
                user,
                host,
                port,
                options,
            });
        }
        for format in [
            Format::DockerArchive,
            Format::OciArchive,
            Format::OciDir,
            Format::Rootfs,
        ] {
            let Some(rest) = s
                .strip_prefix(format.prefix())
                .and_then(|r| r.strip_prefix(':'))
            else {
                continue;
            };
            // As skopeo reads them: an OCI layout's image name follows the
            // first colon, so the path holds none.
            let (path, reference) = match format {
                Format::OciArchive | Format::OciDir => match rest.split_once(':') {
                    Some((p, r)) => (p, Some(r.to_string())),
                    None => (rest, None),
                },
                _ => (rest, None),
            };
            if path.is_empty() {
                return Err(err(format!("no path after {}:", format.prefix())));
            }
            if reference.as_deref() == Some("") {
                return Err(err("an empty image name after the path".into()));
            }
            return Ok(Target::ImageFile {
                format,
                path: path.to_string(),
                reference,
            });
        }
        for engine in [Engine::Docker, Engine::Podman] {
            if let Some(rest) = s
                .strip_prefix(engine.as_str())
                .and_then(|r| r.strip_prefix("://"))
            {
                let (name, query) = match rest.split_once('?') {
                    Some((n, q)) => (n, Some(q)),
                    None => (rest, None),
                };
                if name.is_empty() || name.starts_with('-') {
                    return Err(err(format!(
                        "no container name or id after {}://",
                        engine.as_str()
                    )));
                }
                let options = parse_query(query).map_err(err)?;
                parse_docker_options(&options, false).map_err(err)?;
                return Ok(Target::DockerContainer {
                    engine,
                    container: name.to_string(),
                    options,
                });
            }
            if let Some(rest) = s
                .strip_prefix(engine.as_str())
                .and_then(|r| r.strip_prefix(':'))
            {
                let (image, query) = match rest.split_once('?') {
                    Some((n, q)) => (n, Some(q)),
                    None => (rest, None),
                };
                if image.is_empty() || image.starts_with('-') || image.contains(char::is_whitespace)
                {
                    return Err(err(format!("no image name after {}:", engine.as_str())));
                }
                let options = parse_query(query).map_err(err)?;
                parse_docker_options(&options, true).map_err(err)?;
                return Ok(Target::DockerImage {
                    engine,
                    image: image.to_string(),
                    options,
                });
            }
        }
        Err(err(FORMS.into()))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Local => f.write_str("local"),
            Target::Ssh {
                user, host, port, ..
            } => {
                f.write_str("ssh://")?;
                if let Some(u) = user {
                    write!(f, "{u}@")?;
                }
                if host.contains(':') {
                    write!(f, "[{host}]")?;
                } else {
                    f.write_str(host)?;
                }
                if let Some(p) = port {
                    write!(f, ":{p}")?;
                }
                Ok(())
            }
            Target::DockerContainer {
                engine, container, ..
            } => write!(f, "{}://{container}", engine.as_str()),
            Target::DockerImage { engine, image, .. } => write!(f, "{}:{image}", engine.as_str()),
            Target::ImageFile {
                format,
                path,
                reference,
            } => {
                write!(f, "{}:{path}", format.prefix())?;
                match reference {
                    Some(r) => write!(f, ":{r}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl Target {
    /// The target as a `--target` string that gives it back whole: its
    /// options in the query string, percent-encoded (`Display` leaves them
    /// out).
    pub fn with_options(&self) -> String {
        use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
        const VALUE: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~')
            .remove(b'/')
            .remove(b':')
            .remove(b'@')
            .remove(b',');
        let options = match self {
            Target::Ssh { options, .. }
            | Target::DockerContainer { options, .. }
            | Target::DockerImage { options, .. } => options,
            _ => return self.to_string(),
        };
        if options.is_empty() {
            return self.to_string();
        }
        let query: Vec<String> = options
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, VALUE),
                    utf8_percent_encode(v, VALUE)
                )
            })
            .collect();
        format!("{self}?{}", query.join("&"))
    }
}

/// Splits `INFRASPEC_TARGET=a,b` into targets.
pub fn parse_list(list: &str) -> Result<Vec<Target>, TargetError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

const OPTIONS: &[&str] = &[
    "sudo",
    "sudo_user",
    "timeout",
    "connect_timeout",
    "accept_new",
    "identity",
    "known_hosts",
    "jump",
    "proxy_command",
    "ssh_config",
];

/// The options of an `ssh://` target, from its query string; checked when
/// the target is parsed.
#[derive(Debug, Clone, Default)]
pub struct SshOptions {
    /// Run probes under sudo.
    pub sudo: bool,
    /// The user sudo runs probes as (`-u`).
    pub sudo_user: Option<String>,
    /// The longest a command on this target may run.
    pub timeout: Option<Duration>,
    /// The longest connecting may take.
    pub connect_timeout: Option<Duration>,
    /// Accept and record the host key of a host not yet known.
    pub accept_new: bool,
    /// The private key to log in with.
    pub identity: Option<PathBuf>,
    /// The known_hosts file to check the host key against.
    pub known_hosts: Option<PathBuf>,
    /// ProxyJump: `[ssh://][user@]host[:port]`, comma-separated hops.
    pub jump: Option<String>,
    /// ProxyCommand: a command whose stdin and stdout carry the connection
    /// (`none`: direct); wins over the SSH config's proxy, as `-o` does.
    pub proxy_command: Option<String>,
    /// The SSH config file to read instead of `~/.ssh/config` and
    /// `/etc/ssh/ssh_config` (`ssh -F`), or `none`.
    pub ssh_config: Option<String>,
}

/// Checks and reads an `ssh://` target's options.
pub fn parse_ssh_options(options: &BTreeMap<String, String>) -> Result<SshOptions, String> {
    let mut o = SshOptions::default();
    let boolean = |k: &str, v: &str| match v {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("option {k}={v:?} must be true or false")),
    };
    for (k, v) in options {
        match k.as_str() {
            "sudo" => o.sudo = boolean(k, v)?,
            "sudo_user" => {
                if v.is_empty() || v.starts_with('-') {
                    return Err(format!("sudo_user {v:?} is not a user name"));
                }
                o.sudo = true;
                o.sudo_user = Some(v.clone())
            }
            "timeout" => o.timeout = Some(crate::model::duration::parse_duration(v)?),
            "connect_timeout" => {
                o.connect_timeout = Some(crate::model::duration::parse_duration(v)?)
            }
            "accept_new" => o.accept_new = boolean(k, v)?,
            "identity" => o.identity = Some(PathBuf::from(v)),
            "known_hosts" => o.known_hosts = Some(PathBuf::from(v)),
            "jump" => o.jump = Some(v.clone()),
            "proxy_command" => {
                if v.trim().is_empty() {
                    return Err("proxy_command is empty (none connects directly)".into());
                }
                o.proxy_command = Some(v.clone())
            }
            "ssh_config" => {
                if v.is_empty() {
                    return Err("ssh_config is empty (a file, or none)".into());
                }
                o.ssh_config = Some(v.clone())
            }
            other => {
                return Err(format!(
                    "unknown option {other:?} (ssh targets take: {})",
                    OPTIONS.join(", ")
                ))
            }
        }
    }
    Ok(o)
}

/// Options of a container or image target's query string; checked when the
/// target is parsed.
#[derive(Debug, Default, Clone)]
pub struct DockerOptions {
    /// The user probes run as in the container.
    pub user: Option<String>,
    /// The throwaway container's command.
    pub cmd: Option<Vec<String>>,
    /// The throwaway container's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=value` pairs for the throwaway container.
    pub env: Vec<String>,
    /// The network the throwaway container joins.
    pub network: Option<String>,
    /// How long the throwaway container may take to start.
    pub start_timeout: Option<Duration>,
}

fn words(v: &str) -> Result<Vec<String>, String> {
    if v.trim_start().starts_with('[') {
        serde_json::from_str(v).map_err(|e| format!("{v:?} is not a JSON list of strings: {e}"))
    } else {
        Ok(v.split_whitespace().map(str::to_string).collect())
    }
}

/// Checks and reads a container (`image` false) or image target's options.
pub fn parse_docker_options(
    options: &BTreeMap<String, String>,
    image: bool,
) -> Result<DockerOptions, String> {
    let mut o = DockerOptions::default();
    let allowed: &[&str] = if image {
        &[
            "user",
            "cmd",
            "entrypoint",
            "env",
            "network",
            "start_timeout",
        ]
    } else {
        &["user"]
    };
    for (k, v) in options {
        if !allowed.contains(&k.as_str()) {
            return Err(format!(
                "unknown option {k:?} (this target takes: {})",
                allowed.join(", ")
            ));
        }
        match k.as_str() {
            "user" => o.user = Some(v.clone()),
            "cmd" => o.cmd = Some(words(v)?),
            "entrypoint" => o.entrypoint = Some(words(v)?),
            "env" => {
                o.env = v
                    .split(',')
                    .filter(|e| !e.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            "network" => o.network = Some(v.clone()),
            "start_timeout" => o.start_timeout = Some(crate::model::duration::parse_duration(v)?),
            _ => unreachable!("checked against the allowed list"),
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plus_in_a_user_name_stays_a_plus() {
        match "ssh://ci+deploy@web1?sudo_user=a%2Db"
            .parse::<Target>()
            .unwrap()
        {
            Target::Ssh { user, options, .. } => {
                assert_eq!(user.as_deref(), Some("ci+deploy"));
                assert_eq!(options["sudo_user"], "a-b");
            }
            other => panic!("{other:?}"),
        }
        assert!("ssh://a%zz@web1".parse::<Target>().is_err());
        assert!("ssh://a%2@web1".parse::<Target>().is_err());
    }

    #[test]
    fn a_password_in_an_ssh_url_is_refused_and_never_echoed() {
        let err = "ssh://deploy:hunter2@web1".parse::<Target>().unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("INFRASPEC_SSH_PASSWORD"), "{text}");
        assert_eq!(
            redact_url("http://u:pw@example.test:8080/x?y=1"),
            "http://u:***@example.test:8080/x?y=1"
        );
        assert_eq!(
            redact_url("http://example.test/a@b"),
            "http://example.test/a@b"
        );
        assert_eq!(
            redact_url("http://token@example.test/"),
            "http://token@example.test/"
        );
    }

    #[test]
    fn every_form_parses() {
        assert_eq!("local".parse::<Target>().unwrap(), Target::Local);
        let ssh: Target = "ssh://deploy@web1:2222?sudo=true&timeout=30s"
            .parse()
            .unwrap();
        match &ssh {
            Target::Ssh {
                user,
                host,
                port,
                options,
            } => {
                assert_eq!(user.as_deref(), Some("deploy"));
                assert_eq!(host, "web1");
                assert_eq!(*port, Some(2222));
                assert_eq!(options["sudo"], "true");
                assert_eq!(options["timeout"], "30s");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(ssh.to_string(), "ssh://deploy@web1:2222");
        let v6: Target = "ssh://[::1]:22".parse().unwrap();
        assert_eq!(v6.to_string(), "ssh://[::1]:22");
        assert_eq!(
            "docker://web?user=www%2Ddata".parse::<Target>().unwrap(),
            Target::DockerContainer {
                engine: Engine::Docker,
                container: "web".into(),
                options: [("user".to_string(), "www-data".to_string())].into()
            }
        );
        let image: Target = "docker:registry.local:5000/app:1.4".parse().unwrap();
        assert_eq!(image.to_string(), "docker:registry.local:5000/app:1.4");
        for form in [
            "podman://web",
            "podman:localhost/app:1",
            "docker-archive:/tmp/a:b.tar",
            "oci-archive:/tmp/app.tar",
            "oci-archive:/tmp/app.tar:v1",
            "oci:/srv/layout:app-1",
            "rootfs:/host",
        ] {
            let t: Target = form.parse().unwrap();
            assert_eq!(t.to_string(), form);
        }
        match "oci:/srv/layout:app-1".parse::<Target>().unwrap() {
            Target::ImageFile {
                path, reference, ..
            } => assert_eq!(
                (path.as_str(), reference.as_deref()),
                ("/srv/layout", Some("app-1"))
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_targets_say_what_is_wrong() {
        for bad in [
            "",
            "web1",
            "ssh://",
            "ssh://host:99999",
            "ssh://-oProxyCommand=x",
            "docker://",
            "docker:",
            "podman://",
            "rootfs:",
            "oci:/x:",
            "ssh://h?x=%zz",
        ] {
            let e = bad.parse::<Target>().unwrap_err();
            assert!(e.to_string().starts_with("invalid target"), "{bad}: {e}");
        }
    }

    #[test]
    fn lists_from_the_environment() {
        assert_eq!(parse_list("local, docker://x").unwrap().len(), 2);
    }
}

/// Which kind of image file, as the target names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `docker save` output.
    DockerArchive,
    /// An OCI image layout in a tar.
    OciArchive,
    /// An OCI image layout in a directory.
    OciDir,
    /// An unpacked or mounted root filesystem.
    Rootfs,
}

impl Format {
    /// The target prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Format::DockerArchive => "docker-archive",
            Format::OciArchive => "oci-archive",
            Format::OciDir => "oci",
            Format::Rootfs => "rootfs",
        }
    }
}

/// Why nothing can be run on an image file.
pub const NOTHING_RUNS: &str = "nothing runs in an image file";

/// The environment variable that may hold an SSH password (nothing else is
/// read for it).
pub const PASSWORD_ENV: &str = "INFRASPEC_SSH_PASSWORD";
