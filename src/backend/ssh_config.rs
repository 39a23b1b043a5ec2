//! A small `~/.ssh/config` reader: the keywords infraspec needs, with OpenSSH's
//! rules (first value wins, `Host` patterns with `*`, `?` and `!`).
//!
//! Our own parser rather than a crate: the crates on offer either pull in a
//! large dependency tree or drop OpenSSH's first-value-wins rule. `Match` blocks
//! and `Include` are not followed; their keywords do not apply.

use std::path::{Path, PathBuf};

/// What the config says about one host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostConfig {
    pub host_name: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_files: Vec<PathBuf>,
    pub user_known_hosts_file: Option<PathBuf>,
    pub strict_host_key_checking: Option<String>,
    pub connect_timeout: Option<u64>,
    /// `ProxyJump`: the hosts to go through, `[user@]host[:port]` each;
    /// empty for `none`.
    pub proxy_jump: Option<String>,
}

/// `*` matches any run, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether a `Host` line's patterns select `host`: some pattern matches and no
/// negated one does.
fn host_matches(patterns: &[&str], host: &str) -> bool {
    let mut matched = false;
    for p in patterns {
        if let Some(neg) = p.strip_prefix('!') {
            if glob(neg, host) {
                return false;
            }
        } else if glob(p, host) {
            matched = true;
        }
    }
    matched
}

fn expand_path(raw: &str, home: &Path, host: &str, user: &str) -> PathBuf {
    let mut s = raw
        .replace("%d", &home.to_string_lossy())
        .replace("%h", host)
        .replace("%r", user)
        .replace("%%", "%");
    if let Some(rest) = s.strip_prefix("~/") {
        s = home.join(rest).to_string_lossy().into_owned();
    }
    PathBuf::from(s)
}

/// Reads the settings for `host` (the name the user wrote, maybe an alias) from
/// config text.
pub fn parse(text: &str, host: &str, home: &Path, local_user: &str) -> HostConfig {
    let mut cfg = HostConfig::default();
    let mut active = true;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
            Some((k, v)) => (
                k,
                v.trim_start_matches(|c: char| c.is_whitespace() || c == '=')
                    .trim(),
            ),
            None => (line, ""),
        };
        let value = value.trim_matches('"');
        let key = key.to_ascii_lowercase();
        match key.as_str() {
            "host" => {
                let patterns: Vec<&str> = value.split_whitespace().collect();
                active = host_matches(&patterns, host);
                continue;
            }
            "match" => {
                active = false;
                continue;
            }
            _ => {}
        }
        if !active {
            continue;
        }
        match key.as_str() {
            "hostname" if cfg.host_name.is_none() => {
                cfg.host_name = Some(value.replace("%h", host))
            }
            "user" if cfg.user.is_none() => cfg.user = Some(value.to_string()),
            "port" if cfg.port.is_none() => cfg.port = value.parse().ok(),
            "identityfile" => {
                let user = cfg.user.as_deref().unwrap_or(local_user);
                cfg.identity_files
                    .push(expand_path(value, home, host, user))
            }
            "userknownhostsfile" if cfg.user_known_hosts_file.is_none() => {
                let first = value.split_whitespace().next().unwrap_or(value);
                cfg.user_known_hosts_file = Some(expand_path(first, home, host, local_user))
            }
            "stricthostkeychecking" if cfg.strict_host_key_checking.is_none() => {
                cfg.strict_host_key_checking = Some(value.to_ascii_lowercase())
            }
            "proxyjump" if cfg.proxy_jump.is_none() => {
                cfg.proxy_jump = Some(if value.eq_ignore_ascii_case("none") {
                    String::new()
                } else {
                    value.to_string()
                })
            }
            "connecttimeout" if cfg.connect_timeout.is_none() => {
                cfg.connect_timeout = value.parse().ok()
            }
            _ => {}
        }
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
# production web servers
Host web1 web1.example
    HostName 10.0.0.11
    User deploy
    Port 2222
    IdentityFile ~/.ssh/deploy_ed25519

Host web* !web9
    User ops
    StrictHostKeyChecking accept-new

Host *
    User fallback
    UserKnownHostsFile ~/.ssh/known_hosts_infra
    IdentityFile ~/.ssh/id_ed25519
    ConnectTimeout=7
"#;

    fn cfg(host: &str) -> HostConfig {
        parse(CONFIG, host, Path::new("/home/me"), "me")
    }

    #[test]
    fn first_value_wins_and_identity_files_accumulate() {
        let c = cfg("web1");
        assert_eq!(c.host_name.as_deref(), Some("10.0.0.11"));
        assert_eq!(c.user.as_deref(), Some("deploy"));
        assert_eq!(c.port, Some(2222));
        assert_eq!(
            c.identity_files,
            [
                PathBuf::from("/home/me/.ssh/deploy_ed25519"),
                PathBuf::from("/home/me/.ssh/id_ed25519")
            ]
        );
        assert_eq!(c.strict_host_key_checking.as_deref(), Some("accept-new"));
        assert_eq!(
            c.user_known_hosts_file,
            Some(PathBuf::from("/home/me/.ssh/known_hosts_infra"))
        );
        assert_eq!(c.connect_timeout, Some(7));
    }

    #[test]
    fn wildcards_and_negation() {
        assert_eq!(cfg("web2").user.as_deref(), Some("ops"));
        assert_eq!(cfg("web9").user.as_deref(), Some("fallback"));
        assert_eq!(cfg("db1").host_name, None);
        assert!(glob("w?b*", "web12"));
        assert!(!glob("w?b", "wb"));
    }
}
