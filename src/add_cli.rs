//! `infraspec add` and `infraspec autoadd`: the command line around
//! `infraspec::add`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use infraspec::add::{self, AddOptions};
use infraspec::engine::Options;
use infraspec::observe::Session;
use infraspec::spec::{yaml, Resource, ResourceKind};
use infraspec::target::{self, Target};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum AddFormat {
    Yaml,
    Rust,
}

/// Writes checks asserting what a target has: `infraspec add KIND NAME…`
/// observes the named resources; `infraspec autoadd NAME…` finds the package,
/// service, processes, their listening ports, the user and the group of each
/// name.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  infraspec add package nginx service nginx port 80 file /etc/nginx/nginx.conf\n  infraspec add --target docker:web:1.4 -o web.yaml user www-data\n  infraspec autoadd --target ssh://web1 nginx\n  infraspec add --format rust package bash > tests/infra.rs\n\nA spec file named `add` or `autoadd` is run as ./add."
)]
pub struct AddCli {
    /// Where to observe: local, ssh://[user@]host[:port], docker://container,
    /// docker:image[:tag].
    #[arg(
        long = "target",
        short = 't',
        value_name = "TARGET",
        env = "INFRASPEC_TARGET"
    )]
    target: Option<String>,

    /// yaml (spec items) or rust (a `spec!` block for `cargo test`).
    #[arg(long, value_enum, default_value = "yaml")]
    format: AddFormat,

    /// Write to FILE. An existing YAML spec is appended to (its comments and
    /// order kept); Rust output is never written over an existing file.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,

    /// Also assert the whole content of small text files (not only sha256).
    #[arg(long)]
    content: bool,

    /// Assert what holds on this machine today: a package's exact version
    /// (else the installed one as a floor, `>= VERSION`) and a process
    /// count (else only that it runs).
    #[arg(long)]
    pin: bool,

    /// Trust an SSH host's key on first contact and record it.
    #[arg(long = "ssh-accept-new")]
    ssh_accept_new: bool,

    /// add: KIND NAME pairs (`package nginx port 80`); autoadd: names.
    #[arg(value_name = "ITEM", required = true)]
    items: Vec<String>,
}

/// Runs `infraspec add` (`auto` false) or `autoadd`. Returns the exit code.
pub fn main(auto: bool, cli: AddCli) -> anyhow::Result<u8> {
    let target: Target = match &cli.target {
        Some(t) => {
            let mut all = target::parse_list(t)?;
            if all.len() != 1 {
                bail!("add observes one target; {t:?} names {}", all.len());
            }
            all.remove(0)
        }
        None => Target::Local,
    };
    let opts = AddOptions {
        content: cli.content,
        pin: cli.pin,
    };
    let wanted = if auto {
        for n in &cli.items {
            Resource::new(ResourceKind::Package, n.as_str()).map_err(anyhow::Error::msg)?;
        }
        Vec::new()
    } else {
        pairs(&cli.items)?
    };
    if let (Some(path), AddFormat::Rust) = (&cli.output, cli.format) {
        if path.exists() {
            bail!(
                "{} exists; Rust output is not written over a file (choose another path)",
                path.display()
            );
        }
    }

    let run_opts = Options {
        connect: infraspec::backend::ConnectOptions {
            ssh_accept_new: cli.ssh_accept_new,
            ssh_config: None,
        },
        ..Options::default()
    };
    let backend = infraspec::backend::connect(&target, &run_opts.connect)
        .with_context(|| format!("connecting to {target}"))?;
    // Facts from a shell, or from the target's files where nothing runs
    // (an image file, a container without a shell).
    let session = Session::open(
        backend.as_ref(),
        run_opts.batch_timeout,
        &mut Default::default(),
    )
    .map_err(|e| anyhow::anyhow!("gathering facts on {target}: {e}"))?;
    let facts = session.facts().clone();
    let found = if auto {
        add::autoadd(&session, &cli.items, opts, run_opts.batch_timeout)
            .map_err(|e| anyhow::anyhow!("observing {target}: {e}"))?
    } else {
        add::observe(&session, &wanted, opts, run_opts.batch_timeout)
            .map_err(|e| anyhow::anyhow!("observing {target}: {e}"))?
    };
    drop(session);
    drop(backend);
    let header = add::observed_on(&target.to_string(), &facts, std::time::SystemTime::now());

    let text = match (cli.format, &cli.output) {
        (AddFormat::Rust, _) => add::rust(&found, &header),
        (AddFormat::Yaml, Some(path)) if path.exists() => {
            let existing = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            add::append_yaml(&existing, &header, &found)
        }
        (AddFormat::Yaml, _) => add::yaml(&found, &header),
    };
    if cli.format == AddFormat::Yaml {
        // What is written must load as a spec: never leave a broken file.
        let shown = cli
            .output
            .as_ref()
            .map_or("the output".to_string(), |p| p.display().to_string());
        if let Err(e) = yaml::load_str(&text, &shown) {
            bail!("the spec would not load after adding ({e}); nothing was written");
        }
    }
    match &cli.output {
        Some(path) => write_whole(path, &text)?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(0)
}

/// `KIND NAME` pairs, with the kinds `add` takes named when one is wrong.
fn pairs(items: &[String]) -> anyhow::Result<Vec<Resource>> {
    if !items.len().is_multiple_of(2) {
        bail!(
            "add takes KIND NAME pairs; {:?} has no name (kinds: {})",
            items[items.len() - 1],
            add::kinds().join(", ")
        );
    }
    items
        .chunks(2)
        .map(|pair| {
            let kind = ResourceKind::from_key(&pair[0])
                .filter(|k| add::properties(*k).is_some())
                .ok_or_else(|| {
                    let kinds = add::kinds();
                    let near = kinds
                        .iter()
                        .map(|k| (strsim::jaro_winkler(k, &pair[0]), k))
                        .filter(|(score, _)| *score > 0.8)
                        .max_by(|a, b| a.0.total_cmp(&b.0))
                        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
                        .unwrap_or_default();
                    anyhow::anyhow!(
                        "unknown kind {:?}{near}; add takes: {}",
                        pair[0],
                        kinds.join(", ")
                    )
                })?;
            Resource::new(kind, pair[1].as_str()).map_err(anyhow::Error::msg)
        })
        .collect()
}

/// Replaces the file at `path` with `text` at once (a temporary file beside
/// it, then a rename), so that an interrupted write leaves the old file. A
/// symbolic link is written through (the file it leads to is replaced, the
/// link stays), and the file keeps its mode and, where this process may
/// set them, its owner and group: a 0600 spec that holds `auth:` stays 0600.
fn write_whole(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let path = match std::fs::canonicalize(path) {
        Ok(real) => real,
        // A new file, or a link that leads nowhere yet: written where it is.
        Err(_) => path.to_path_buf(),
    };
    let before = std::fs::metadata(&path).ok();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.infraspec-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("spec"),
        std::process::id()
    ));
    let written = (|| -> std::io::Result<()> {
        let _ = std::fs::remove_file(&tmp);
        // Created private, then given the old file's mode: never readable by
        // others in between.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        if let Some(m) = &before {
            // As root, the old owner; otherwise a chown may be refused, and
            // the file is then this user's, as a new file would be.
            let _ = std::os::unix::fs::fchown(&f, Some(m.uid()), Some(m.gid()));
            f.set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
        } else {
            let umask = current_umask();
            f.set_permissions(std::fs::Permissions::from_mode(0o666 & !umask))?;
        }
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", tmp.display()));
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
}

/// The process's umask (read by setting it, and setting it back at once).
fn current_umask() -> u32 {
    // SAFETY: umask has no preconditions; the old value is restored at once.
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old as u32
    }
}
