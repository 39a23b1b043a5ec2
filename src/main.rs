//! The `infraspec` command: runs YAML specs and ad-hoc checks against targets.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use std::collections::{BTreeSet, HashMap};

use infraspec::engine::{self, Options};
use infraspec::report;
use infraspec::spec::vars::{Var, Vars};
use infraspec::spec::yaml;

/// A target's variables from the inventory, and the spec files its groups
/// name.
type HostVars = (Vars, Vec<PathBuf>);

/// Targets that share variables and spec files, and the checks loaded for
/// them.
struct CheckSet {
    vars: Vars,
    extra_specs: Vec<PathBuf>,
    /// Indexes into the run's targets.
    targets: Vec<usize>,
    checks: Vec<infraspec::spec::Check>,
}
use infraspec::target::{self, Target};

mod add_cli;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
    Junit,
    Tap,
}

impl Format {
    fn render(self, reports: &[infraspec::TargetReport]) -> String {
        self.render_shard(reports, None, false)
    }

    /// Renders one shard of a run: a JSON report says which it is.
    fn render_shard(
        self,
        reports: &[infraspec::TargetReport],
        shard: Option<&report::json::Shard>,
        quiet: bool,
    ) -> String {
        match self {
            Format::Human => report::human::render_with(reports, quiet),
            Format::Json => report::json::render_shard(reports, shard),
            Format::Junit => report::junit::render(reports),
            Format::Tap => report::tap::render(reports),
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// Turns colors on or off for this process: `auto` colors a terminal
    /// unless `NO_COLOR` is set.
    fn apply(self, to_terminal: bool) {
        colored::control::set_override(match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        });
    }
}

/// Behaviour tests for machines: one spec for the local machine, SSH hosts,
/// containers and images.
#[derive(Debug, Parser)]
#[command(
    name = "infraspec",
    version,
    args_conflicts_with_subcommands = true,
    term_width = 80,
    after_help = "Examples:\n  infraspec examples/local.yaml\n  infraspec -c 'port: 22' -c '{file: /etc/motd, content: {contains: hello}}'\n  infraspec --format json -o report.json spec.yaml\n\nExit codes: 0 every check passed, 1 a check failed or could not be observed,\n2 nothing could be checked (bad arguments, invalid spec, unreachable target, no check ran).\n\nA spec file named like a command (add, autoadd, merge, serve, schema, inventory, help) runs as ./add."
)]
struct Cli {
    /// Where to run the checks: local, ssh://[user@]host[:port], docker://container,
    /// docker:image[:tag]. Repeat for several targets.
    #[arg(
        long = "target",
        short = 't',
        value_name = "TARGET",
        env = "INFRASPEC_TARGET",
        value_delimiter = ','
    )]
    targets: Vec<String>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,

    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,

    /// Also write a JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Also write a TAP report to FILE.
    #[arg(long, value_name = "FILE")]
    tap: Option<PathBuf>,

    /// A check in YAML flow syntax, e.g. 'port: 80'. Repeatable.
    #[arg(long = "check", short = 'c', value_name = "CHECK")]
    checks: Vec<String>,

    /// Color in human output (NO_COLOR in the environment means never).
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,

    /// Do not apply the built-in rules that skip checks a container or a target
    /// without init system cannot answer.
    #[arg(long)]
    no_auto_skip: bool,

    /// A file of targets, one per line, with optional name=LABEL, groups=a,b
    /// and specs=a.yaml (or an Ansible inventory).
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,

    /// Only the inventory's targets in GROUP (repeatable: any of them).
    #[arg(long, value_name = "GROUP")]
    group: Vec<String>,

    /// Check only shard K of N of the selected targets (1-based): a split that
    /// does not depend on the order targets are listed in, for CI matrices.
    #[arg(long, value_name = "K/N", value_parser = shard)]
    shard: Option<(usize, usize)>,

    /// How many targets to check at once; 0 means as many as there are
    /// targets, up to 32.
    #[arg(long, value_name = "N", default_value_t = 0)]
    parallel: usize,

    /// Print the scripts that would run (facts, probes) and exit, running nothing.
    #[arg(long)]
    explain: bool,

    /// Report round trips, probes and the time of each phase per target, on stderr.
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    verbose: u8,

    /// Run only checks whose name contains TEXT (repeatable: any of them).
    #[arg(long, value_name = "TEXT")]
    filter: Vec<String>,

    /// Run only checks with one of these tags (comma-separated).
    #[arg(long, value_name = "TAGS", value_delimiter = ',')]
    tags: Vec<String>,

    /// List the checks that would run, without connecting to any target.
    #[arg(long)]
    list: bool,

    /// Re-observe failing checks until they pass or DURATION has passed (e.g.
    /// 60s), for images whose app needs time to start. A check's own
    /// `eventually` takes precedence.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    retry_timeout: Option<std::time::Duration>,

    /// Pause between observations with --retry-timeout.
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "1s")]
    sleep: std::time::Duration,

    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) and exit.
    #[arg(long, value_name = "SHELL")]
    completions: Option<clap_complete::Shell>,

    /// Print the manual page (roff) and exit: `infraspec --man | man -l -`;
    /// `--man=DIR` writes it and the pages of the subcommands into DIR.
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true)]
    man: Option<Option<std::path::PathBuf>>,

    /// Human output: only what failed or could not be observed, the recap
    /// and the summary.
    #[arg(long, short = 'q')]
    quiet: bool,

    /// Exit 1 when any check was skipped, for gates that must not pass on
    /// skips (an image file cannot answer everything).
    #[arg(long)]
    fail_on_skip: bool,

    /// Make spec warnings errors (exit 2, nothing run): e.g. a `contains`
    /// whose text looks like a pattern.
    #[arg(long)]
    strict: bool,

    /// Trust SSH hosts whose key is not in known_hosts yet, and record their key.
    /// A changed key is always refused.
    #[arg(long)]
    ssh_accept_new: bool,

    /// The SSH config to read for ssh:// targets instead of ~/.ssh/config
    /// and /etc/ssh/ssh_config, as `ssh -F FILE` (`none`: no config). A
    /// target's own `?ssh_config=` wins.
    #[arg(long, value_name = "FILE")]
    ssh_config: Option<String>,

    /// Variables for `{{ name }}` in specs from a YAML file of `name: value`
    /// (repeatable; later files win).
    #[arg(long = "vars", value_name = "FILE")]
    vars_files: Vec<PathBuf>,

    /// A variable for `{{ name }}` in specs (repeatable); wins over the spec,
    /// the inventory, --vars and INFRASPEC_VAR_<name>.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    var: Vec<String>,

    /// YAML spec files.
    #[arg(value_name = "SPEC")]
    specs: Vec<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

/// `infraspec serve`'s own options; the rest is a run's command line.
#[derive(Debug, Args)]
struct ServeCli {
    /// Where to listen (loopback unless given).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,

    /// Answer with a result younger than DURATION instead of running again.
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "5s")]
    cache: std::time::Duration,

    /// The run, as `infraspec` takes it: targets, inventory, variables, specs
    /// (`infraspec serve --listen 0.0.0.0:8080 -t docker://web site.yaml`).
    #[arg(
        value_name = "RUN",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true
    )]
    run: Vec<String>,
}

/// Serves the run `s.run` describes until SIGTERM or Ctrl-C.
fn serve(s: ServeCli) -> anyhow::Result<u8> {
    let cli = match Cli::try_parse_from(std::iter::once("infraspec".to_string()).chain(s.run)) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return Ok(if e.use_stderr() { 2 } else { 0 });
        }
    };
    if cli.command.is_some() {
        anyhow::bail!("serve runs specs: give it targets and spec files, not a subcommand");
    }
    if cli.output.is_some() || cli.junit.is_some() || cli.json.is_some() || cli.tap.is_some() {
        anyhow::bail!("serve answers with its reports: -o, --junit, --json and --tap do not apply");
    }
    let prepared = match prepare(&cli)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    let listener = std::net::TcpListener::bind(&s.listen)
        .with_context(|| format!("cannot listen on {}", s.listen))?;
    let at = listener
        .local_addr()
        .map_or(s.listen.clone(), |a| a.to_string());
    eprintln!(
        "infraspec: serving http://{at}/healthz and /metrics: {} target(s), {} check(s), results kept {}",
        prepared.targets.len(),
        prepared.sets.iter().map(|s| s.checks.len()).sum::<usize>(),
        humantime(s.cache)
    );
    infraspec::backend::docker::exit_zero_on_signal();
    let prepared = std::sync::Arc::new(prepared);
    infraspec::serve::serve(
        listener,
        infraspec::serve::Service {
            run: Box::new(move || prepared.check(&cli, false)),
            cache: s.cache,
        },
    )
}

/// A duration as written on the command line (`5s`, `1500ms`).
fn humantime(d: std::time::Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// What infraspec does besides running specs.
#[derive(Debug, Subcommand)]
enum Command {
    /// Write checks asserting what a target has: KIND NAME pairs
    /// (`package nginx port 80`).
    Add(add_cli::AddCli),
    /// Write checks for everything a name stands for on a target: its
    /// package, service, processes, their ports, its user and group.
    Autoadd(add_cli::AddCli),
    /// Join the JSON reports of several runs (CI shards) into one report.
    Merge(MergeCli),
    /// Serve a health endpoint: GET /healthz runs the spec (200 when every
    /// check passed, 503 otherwise), GET /metrics gives Prometheus metrics.
    Serve(ServeCli),
    /// Print the JSON Schema (draft 2020-12) of spec files, for editors
    /// (docs/cli.md: the yaml-language-server modeline).
    Schema,
    /// Show what infraspec reads from an inventory: `--list` prints it as
    /// JSON in the shape of `ansible-inventory --list`, each host's target
    /// under `_meta.hostvars.HOST.infraspec_target`.
    Inventory(InventoryCli),
    /// Show how infraspec reaches an ssh:// target, as `ssh -G` shows it:
    /// the host, port, user, identity files, known-hosts files and proxy the
    /// SSH config gives it, or the config's error.
    SshConfig(SshConfigCli),
}

/// `infraspec ssh-config TARGET`.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  infraspec ssh-config web1
  infraspec ssh-config 'ssh://deploy@web1:2222?ssh_config=./ssh_config'")]
struct SshConfigCli {
    /// The target: `ssh://[user@]host[:port][?options]`, or a host name.
    target: String,

    /// The SSH config to read instead of ~/.ssh/config and
    /// /etc/ssh/ssh_config (`none`: no config).
    #[arg(short = 'F', long = "ssh-config", value_name = "FILE")]
    ssh_config: Option<String>,
}

/// `infraspec ssh-config`: what the SSH config resolves for one target.
fn ssh_config(cli: SshConfigCli) -> anyhow::Result<u8> {
    let written = if cli.target.contains("://") {
        cli.target.clone()
    } else {
        format!("ssh://{}", cli.target)
    };
    let target: infraspec::Target = written
        .parse()
        .map_err(|e| anyhow::anyhow!("{}: {e}", cli.target))?;
    let infraspec::Target::Ssh {
        user,
        host,
        port,
        mut options,
    } = target
    else {
        anyhow::bail!("{}: not an ssh:// target", cli.target);
    };
    if let Some(f) = cli.ssh_config {
        options.entry("ssh_config".into()).or_insert(f);
    }
    let text = infraspec::backend::ssh::describe(user.as_deref(), &host, port, &options)
        .map_err(|e| anyhow::anyhow!("{}: {e}", cli.target))?;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(0)
}

/// `infraspec inventory --inventory FILE --list`.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  infraspec inventory -i hosts.ini --list
  diff <(infraspec inventory -i hosts.ini --list | jq -S 'del(._meta.hostvars[].infraspec_target)') <(ansible-inventory -i hosts.ini --list | jq -S .)")]
struct InventoryCli {
    /// The inventory: infraspec's own, or Ansible's (INI, YAML, or the JSON
    /// `ansible-inventory --list` prints).
    #[arg(short = 'i', long, value_name = "FILE", env = "INFRASPEC_INVENTORY")]
    inventory: PathBuf,

    /// Print the whole inventory as JSON (the only mode: kept for
    /// `ansible-inventory`'s muscle memory).
    #[arg(long)]
    list: bool,
}

/// `infraspec inventory --list`: every host, group and variable, and the
/// target each host becomes.
fn inventory(cli: InventoryCli) -> anyhow::Result<u8> {
    let shown = format!("the inventory {}", cli.inventory.display());
    let text = read_capped(
        &cli.inventory,
        &shown,
        infraspec::inventory::ansible::MAX_INVENTORY_BYTES,
        "an inventory",
    )?;
    let listing = infraspec::inventory::read(&text, &cli.inventory.display().to_string())
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut hostvars = serde_json::Map::new();
    for e in &listing.entries {
        let mut vars: serde_json::Map<String, serde_json::Value> = e
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), (**v).clone()))
            .collect();
        vars.insert(
            "infraspec_target".into(),
            serde_json::Value::String(e.target.with_options()),
        );
        let name = e.name.clone().unwrap_or_else(|| e.target.to_string());
        hostvars.insert(name, serde_json::Value::Object(vars));
    }
    let mut out = serde_json::Map::new();
    out.insert("_meta".into(), serde_json::json!({ "hostvars": hostvars }));
    for g in &listing.groups {
        let mut body = serde_json::Map::new();
        if !g.hosts.is_empty() {
            body.insert("hosts".into(), serde_json::json!(g.hosts));
        }
        if !g.children.is_empty() {
            body.insert("children".into(), serde_json::json!(g.children));
        }
        if !body.is_empty() {
            out.insert(g.name.clone(), serde_json::Value::Object(body));
        }
    }
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(out))? + "\n";
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(0)
}

fn main() -> ExitCode {
    // Ctrl-C or SIGTERM during a run stops its batches on the targets and
    // removes throwaway containers before exiting.
    infraspec::backend::docker::install_signal_cleanup();
    // Subcommands come first and take no spec: a spec file named like one
    // runs as ./add.
    let result = match Cli::try_parse() {
        Ok(mut cli) => match cli.command.take() {
            Some(Command::Add(add)) => add_cli::main(false, add),
            Some(Command::Autoadd(add)) => add_cli::main(true, add),
            Some(Command::Merge(m)) => merge(m),
            Some(Command::Serve(s)) => serve(s),
            Some(Command::Inventory(i)) => inventory(i),
            Some(Command::SshConfig(c)) => ssh_config(c),
            Some(Command::Schema) => {
                let schema = infraspec::spec::schema::json_schema();
                let text = serde_json::to_string_pretty(&schema).expect("a JSON value") + "\n";
                let _ = std::io::stdout().lock().write_all(text.as_bytes());
                Ok(0)
            }
            None => run(cli),
        },
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // A signal handler is removing throwaway containers and will end the
    // process with 130: what failed meanwhile is its doing, not a result.
    while infraspec::backend::docker::interrupted() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("infraspec: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Progress on stderr for runs that take a while: on a terminal, a line
/// (targets done, time so far, the targets still being checked) from the
/// first second, cleared when the run ends; elsewhere (a CI log) a line
/// every 30 seconds naming what the run still waits for.
struct Progress {
    pending: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// Dropped to stop the ticker at once (it waits on the other end).
    stop: Option<std::sync::mpsc::Sender<()>>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(targets: Vec<String>, terminal: bool) -> Progress {
        use std::sync::mpsc::RecvTimeoutError;
        let total = targets.len();
        let pending = std::sync::Arc::new(std::sync::Mutex::new(targets));
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let ticker = {
            let pending = pending.clone();
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let mut shown = false;
                let mut logged = 0;
                // A tick every 200 ms, until the sender is dropped: the end
                // of the run does not wait for a tick.
                while let Err(RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(std::time::Duration::from_millis(200))
                {
                    let secs = started.elapsed().as_secs();
                    let due = if terminal {
                        started.elapsed().as_secs_f64() > 1.0
                    } else {
                        secs / 30 > logged
                    };
                    if !due {
                        continue;
                    }
                    let left = pending.lock().map(|p| p.clone()).unwrap_or_default();
                    let mut waiting = left.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
                    if left.len() > 3 {
                        waiting.push_str(&format!(" and {} more", left.len() - 3));
                    }
                    let line = format!(
                        "{}/{total} targets done, {secs}s; checking {}",
                        total - left.len(),
                        report::escape_line(&waiting)
                    );
                    if terminal {
                        let width = 100;
                        let line: String = line.chars().take(width).collect();
                        eprint!("\r\x1b[2Kchecking: {line}");
                        shown = true;
                    } else {
                        logged = secs / 30;
                        eprintln!("infraspec: still checking: {line}");
                    }
                }
                if shown {
                    eprint!("\r\x1b[2K");
                }
            })
        };
        Progress {
            pending,
            stop: Some(stop),
            ticker: Some(ticker),
        }
    }

    fn one_done(&self, target: &str) {
        if let Ok(mut p) = self.pending.lock() {
            if let Some(at) = p.iter().position(|t| t == target) {
                p.remove(at);
            }
        }
    }

    fn finish(mut self) {
        drop(self.stop.take());
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

/// Joins the JSON reports of several runs (the shards of a CI matrix) into
/// one report, with the exit code that one run over every target would have.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  infraspec merge shard-*.json --format junit -o fleet.xml\n\nA spec file named `merge` is run as ./merge."
)]
struct MergeCli {
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,

    /// Write the report to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,

    /// Colors in human output.
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,

    /// JSON reports written by `infraspec --format json` (or `--json FILE`).
    #[arg(value_name = "REPORT", required = true)]
    reports: Vec<PathBuf>,
}

fn merge(cli: MergeCli) -> anyhow::Result<u8> {
    cli.color
        .apply(cli.output.is_none() && std::io::stdout().is_terminal());
    let mut reports = Vec::new();
    let mut shards = Vec::new();
    for path in &cli.reports {
        let shown = path.display().to_string();
        let text = read_capped(path, &shown, 256 << 20, "an infraspec report")?;
        let (shard, read) = report::json::parse_shard(&text, &shown).map_err(anyhow::Error::msg)?;
        let names = read.iter().map(|r| r.target.clone()).collect();
        shards.push((shown, shard, names));
        reports.extend(read);
    }
    report::json::check_shards(&shards).map_err(anyhow::Error::msg)?;
    let text = cli.format.render(&reports);
    match &cli.output {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("failed to write {}", path.display()))?,
        None => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
    }
    Ok(report::exit_code(&reports) as u8)
}

/// A report file's text, refused at once when it is larger than any report
/// infraspec writes could sensibly be (`/dev/zero` is not read to its end).
fn read_capped(
    path: &std::path::Path,
    shown: &str,
    cap: u64,
    what: &str,
) -> anyhow::Result<String> {
    use infraspec::textfile::TextFileError;
    infraspec::textfile::read_named(path, cap).map_err(|e| match e {
        TextFileError::Io(e) => anyhow::anyhow!("cannot read {shown}: {e}"),
        TextFileError::TooLarge => {
            anyhow::anyhow!("{shown} is larger than {} MiB: not {what}", cap >> 20)
        }
        TextFileError::NotUtf8(e) => anyhow::anyhow!("{shown} is not UTF-8 text: {e}"),
        other @ TextFileError::NotRegular(_) => anyhow::anyhow!("cannot read {shown}: {other}"),
    })
}

/// The identity of a sharded run, the same on every shard: a digest of every
/// target before the split (as the split orders them) and of every check.
fn run_identity<'c>(
    target_keys: &[String],
    checks: impl Iterator<Item = &'c infraspec::spec::Check>,
) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut keys = target_keys.to_vec();
    keys.sort();
    for k in &keys {
        h.update(k.as_bytes());
        h.update([0u8]);
    }
    h.update([1u8]);
    for c in checks {
        h.update(c.name().as_bytes());
        h.update([0u8]);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn shard(text: &str) -> Result<(usize, usize), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.parse::<usize>().ok()?, n.parse::<usize>().ok()?)));
    match parsed {
        Some((k, n)) if (1..=n).contains(&k) => Ok((k, n)),
        _ => Err(format!(
            "{text:?} is not a shard: K/N with 1 <= K <= N, such as 2/4"
        )),
    }
}

/// Which targets shard `k` of `n` checks: the targets are ordered by their
/// label and full description (options included), so that the split does not
/// depend on the order they were listed in, and dealt out in turn.
fn shard_key(target: &Target, label: &Option<String>) -> String {
    format!(
        "{}\0{:?}",
        label.clone().unwrap_or_else(|| target.to_string()),
        target
    )
}

fn shard_of(targets: &[Target], labels: &[Option<String>], (k, n): (usize, usize)) -> Vec<bool> {
    let key = |i: usize| shard_key(&targets[i], &labels[i]);
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by_key(|&i| key(i));
    let mut keep = vec![false; targets.len()];
    for (position, &i) in order.iter().enumerate() {
        keep[i] = position % n == k - 1;
    }
    keep
}

fn duration(text: &str) -> Result<std::time::Duration, String> {
    yaml::parse_duration(text)
}

/// What a run checks, made once from the command line: the targets, their
/// checks (loaded with each target's variables), and what the report needs.
struct Prepared {
    targets: Vec<Target>,
    labels: Vec<Option<String>>,
    sets: Vec<CheckSet>,
    /// Which shard of which run this is, with `--shard`.
    shard: Option<report::json::Shard>,
    empty_shard: bool,
}

impl Prepared {
    /// Checks every target (progress on stderr when `progress`), reports
    /// labelled as the inventory names them.
    fn check(&self, cli: &Cli, progress: bool) -> Vec<infraspec::TargetReport> {
        let mut per_target: Vec<&[infraspec::spec::Check]> = vec![&[]; self.targets.len()];
        for set in &self.sets {
            for &i in &set.targets {
                per_target[i] = &set.checks;
            }
        }
        let opts = Options {
            auto_skip: !cli.no_auto_skip,
            connect: infraspec::backend::ConnectOptions {
                ssh_accept_new: cli.ssh_accept_new,
                ssh_config: cli.ssh_config.clone(),
            },
            parallel: cli.parallel,
            ..Options::default()
        };
        let progress = progress.then(|| {
            Progress::start(
                self.targets.iter().map(|t| t.to_string()).collect(),
                std::io::stderr().is_terminal(),
            )
        });
        let mut reports = engine::run_each_with(&self.targets, &per_target, &opts, &|r| {
            if let Some(p) = &progress {
                p.one_done(&r.target)
            }
        });
        if let Some(p) = progress {
            p.finish();
        }
        for (report, label) in reports.iter_mut().zip(&self.labels) {
            if let Some(label) = label {
                report.target = label.clone();
            }
        }
        reports
    }
}

/// Reads the command line's targets, inventory, variables and specs into
/// what a run checks; `Err(code)` when the command is done without a run
/// (`--list`, `--explain`, or spec errors already printed).
fn prepare(cli: &Cli) -> anyhow::Result<Result<Prepared, u8>> {
    // Targets from --target / INFRASPEC_TARGET and the inventory, with labels.
    let mut targets: Vec<Target> = cli
        .targets
        .iter()
        .map(|t| target::parse_list(t))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    let mut labels: Vec<Option<String>> = vec![None; targets.len()];
    // Each target's variables from the inventory, and the spec files its
    // groups name (`infraspec_specs`, relative to the inventory).
    let mut host_vars: Vec<HostVars> = vec![Default::default(); targets.len()];
    if let Some(path) = &cli.inventory {
        let shown = format!("the inventory {}", path.display());
        let text = read_capped(
            path,
            &shown,
            infraspec::inventory::ansible::MAX_INVENTORY_BYTES,
            "an inventory",
        )?;
        let entries = infraspec::inventory::parse(&text, &path.display().to_string())
            .map_err(|e| anyhow::anyhow!(e))?;
        let beside = path.parent().map(PathBuf::from).unwrap_or_default();
        // A value many hosts share is made text once, and shared (the map
        // keeps each value alive, so that its address names it).
        type Shared = (std::sync::Arc<serde_json::Value>, std::sync::Arc<str>);
        let mut texts: HashMap<*const serde_json::Value, Shared> = HashMap::new();
        for e in entries {
            if cli.group.is_empty() || e.groups.iter().any(|g| cli.group.contains(g)) {
                let mut vars = Vars::default();
                let mut specs = Vec::new();
                for (k, v) in &e.vars {
                    let text = texts
                        .entry(std::sync::Arc::as_ptr(v))
                        .or_insert_with(|| {
                            (
                                v.clone(),
                                infraspec::inventory::ansible::values::text(v).into(),
                            )
                        })
                        .1
                        .clone();
                    if k == "infraspec_specs" {
                        specs.extend(
                            text.split(',')
                                .map(str::trim)
                                .filter(|f| !f.is_empty())
                                .map(|f| beside.join(f)),
                        );
                    } else if infraspec::spec::vars::valid_name(k) {
                        vars.set(k, Var::typed(text));
                    }
                }
                targets.push(e.target);
                labels.push(e.name);
                host_vars.push((vars, specs));
            }
        }
        if targets.is_empty() {
            anyhow::bail!(
                "no target: the inventory has none in group(s) {}",
                cli.group.join(", ")
            );
        }
    } else if !cli.group.is_empty() {
        anyhow::bail!("--group selects targets of an --inventory");
    }
    if targets.is_empty() {
        targets.push(Target::Local);
        labels.push(None);
        host_vars.push(Default::default());
    }
    let mut empty_shard = false;
    // Variables from outside the specs, the same for every target.
    let mut common = Vars::default();
    for f in &cli.vars_files {
        common.overlay(&infraspec::spec::vars::read_file(f).map_err(anyhow::Error::msg)?);
    }
    common.overlay(&Vars::from_env());
    for a in &cli.var {
        common.parse_assignment(a).map_err(anyhow::Error::msg)?;
    }
    // Targets whose variables the specs use have the same values (and that
    // run the same spec files) share one load: a fleet whose hosts differ
    // only in what the specs do not use is loaded once. Which names the specs
    // use is asked only when the targets' own variables differ.
    let uniform = host_vars.windows(2).all(|w| w[0] == w[1]);
    let mut used_by: HashMap<&[PathBuf], BTreeSet<String>> = HashMap::new();
    let mut set_of: HashMap<(Vars, &[PathBuf]), usize> = HashMap::new();
    // Hosts whose values are the very same (an inventory shares a group's
    // values between its hosts) are matched by where the values are, before
    // any value is hashed or compared.
    type Identity<'v> = (Vec<(String, *const u8, bool, bool)>, &'v [PathBuf]);
    let mut set_by_identity: HashMap<Identity<'_>, usize> = HashMap::new();
    let identity = |vars: &Vars| -> Vec<(String, *const u8, bool, bool)> {
        vars.0
            .iter()
            .map(|(k, v)| (k.clone(), v.value.as_ptr(), v.typed, v.sensitive))
            .collect()
    };
    let mut sets: Vec<CheckSet> = Vec::new();
    for (i, (inventory_vars, extra_specs)) in host_vars.iter().enumerate() {
        let mut vars = inventory_vars.clone();
        vars.overlay(&common);
        if !uniform {
            let used = used_by.entry(extra_specs).or_insert_with(|| {
                let options = yaml::LoadOptions {
                    vars: common.clone(),
                };
                let mut used = BTreeSet::new();
                for path in cli.specs.iter().chain(extra_specs) {
                    used.extend(yaml::variables_used(path, &options));
                }
                for text in &cli.checks {
                    used.extend(yaml::check_variables_used(text));
                }
                used
            });
            vars.0.retain(|name, _| used.contains(name));
        }
        let key = (identity(&vars), extra_specs.as_slice());
        if let Some(&set) = set_by_identity.get(&key) {
            sets[set].targets.push(i);
            continue;
        }
        let set = match set_of.entry((vars, extra_specs)) {
            std::collections::hash_map::Entry::Occupied(set) => {
                sets[*set.get()].targets.push(i);
                *set.get()
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                sets.push(CheckSet {
                    vars: slot.key().0.clone(),
                    extra_specs: extra_specs.clone(),
                    targets: vec![i],
                    checks: Vec::new(),
                });
                slot.insert(sets.len() - 1);
                sets.len() - 1
            }
        };
        set_by_identity.insert(key, set);
    }
    let mut errors: Vec<yaml::SpecError> = Vec::new();
    for set in &mut sets {
        let options = yaml::LoadOptions {
            vars: set.vars.clone(),
        };
        for path in cli.specs.iter().chain(&set.extra_specs) {
            match yaml::load_file_with(path, &options) {
                Ok(c) => set.checks.extend(c),
                Err(e) => errors.extend(e.0),
            }
        }
        for (i, text) in cli.checks.iter().enumerate() {
            match yaml::load_check_with(text, &format!("-c #{}", i + 1), &options) {
                Ok(c) => set.checks.extend(c),
                Err(e) => errors.extend(e.0),
            }
        }
    }
    // The same error in every target's load is said once.
    let mut said = std::collections::HashSet::new();
    errors.retain(|e| said.insert(e.to_string()));
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("infraspec: {e}");
        }
        let in_specs = errors
            .iter()
            .filter(|e| e.line > 0 || e.key.is_some())
            .count();
        if in_specs > 0 {
            eprintln!("infraspec: {in_specs} error(s) in the spec; nothing was run");
        } else {
            eprintln!("infraspec: nothing was run");
        }
        return Ok(Err(2));
    }
    if sets.iter().all(|s| s.checks.is_empty()) {
        anyhow::bail!("no checks given: name a spec file or use -c 'port: 22' (see --help)");
    }
    // What is printed here about many checks at once (warnings, scripts)
    // is shown through all their secrets; reports mask each check's own.
    let mut secrets = infraspec::spec::Secrets::default();
    for c in sets.iter().flat_map(|s| &s.checks) {
        secrets.extend(c.options.secrets.clone());
    }
    let redact = |text: &str| secrets.mask(text);
    let mut warnings: Vec<String> = Vec::new();
    for set in &sets {
        for w in infraspec::spec::lint(&set.checks) {
            let w = redact(&w.to_string());
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    for w in &warnings {
        eprintln!("infraspec: warning: {w}");
    }
    if cli.strict && !warnings.is_empty() {
        eprintln!(
            "infraspec: {} warning(s) in the spec, and --strict makes them errors; nothing was run",
            warnings.len()
        );
        return Ok(Err(2));
    }
    let given = sets.iter().map(|s| s.checks.len()).max().unwrap_or(0);
    for set in &mut sets {
        set.checks.retain(|c| {
            let name = c.name();
            (cli.filter.is_empty() || cli.filter.iter().any(|f| name.contains(f.as_str())))
                && (cli.tags.is_empty() || c.options.tags.iter().any(|t| cli.tags.contains(t)))
        });
    }
    if sets.iter().all(|s| s.checks.is_empty()) {
        anyhow::bail!("no check selected: --filter/--tags matched none of the {given} checks");
    }
    // What identifies the run on every shard: every target, and every
    // target's checks, before the split.
    let shard = cli.shard.map(|(index, of)| report::json::Shard {
        index,
        of,
        targets: Some(report::json::TargetSet {
            count: targets.len(),
            digest: report::json::targets_digest(
                targets
                    .iter()
                    .zip(&labels)
                    .map(|(t, l)| l.clone().unwrap_or_else(|| t.to_string()))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str),
            ),
        }),
        run: run_identity(
            &targets
                .iter()
                .zip(&labels)
                .map(|(t, l)| shard_key(t, l))
                .collect::<Vec<_>>(),
            sets.iter().flat_map(|s| &s.checks),
        ),
    });
    if let Some(shard) = cli.shard {
        let keep = shard_of(&targets, &labels, shard);
        let total = targets.len();
        let mut moved_to: Vec<Option<usize>> = vec![None; total];
        let mut kept = 0;
        for (i, k) in keep.iter().enumerate() {
            if *k {
                moved_to[i] = Some(kept);
                kept += 1;
            }
        }
        (targets, labels) = targets
            .into_iter()
            .zip(labels)
            .zip(keep)
            .filter_map(|(pair, kept)| kept.then_some(pair))
            .unzip();
        for set in &mut sets {
            set.targets = set.targets.iter().filter_map(|&i| moved_to[i]).collect();
        }
        sets.retain(|s| !s.targets.is_empty());
        if targets.is_empty() {
            eprintln!(
                "infraspec: shard {}/{} has no target ({total} target(s) over {} shards): nothing to check",
                shard.0, shard.1, shard.1
            );
            empty_shard = true;
        }
    }
    let shown_targets = |set: &CheckSet| {
        set.targets
            .iter()
            .map(|&i| labels[i].clone().unwrap_or_else(|| targets[i].to_string()))
            .map(|t| report::escape_line(&t))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if cli.list {
        let mut out = String::new();
        for set in &sets {
            if sets.len() > 1 {
                out.push_str(&format!("# with the variables of {}\n", shown_targets(set)));
            }
            for c in &set.checks {
                let at = c
                    .origin
                    .as_ref()
                    .map(|o| format!("  ({o})"))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "{}{}\n",
                    report::escape_line(&c.name()),
                    report::escape_line(&at)
                ));
            }
        }
        out.push_str(&format!(
            "{} checks, {} target(s): {}\n",
            sets.iter().map(|s| s.checks.len()).max().unwrap_or(0),
            targets.len(),
            targets
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let _ = std::io::stdout().lock().write_all(out.as_bytes());
        return Ok(Err(0));
    }
    if cli.explain {
        let mut out = String::new();
        for set in &sets {
            let at: Vec<&Target> = set.targets.iter().map(|&i| &targets[i]).collect();
            out.push_str(&format!(
                "# infraspec --explain: {} checks for {}\n",
                set.checks.len(),
                at.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            out.push_str(&engine::explain(&set.checks));
        }
        let _ = std::io::stdout().lock().write_all(redact(&out).as_bytes());
        return Ok(Err(0));
    }
    if let Some(timeout) = cli.retry_timeout {
        for c in sets
            .iter_mut()
            .flat_map(|s| s.checks.iter_mut())
            .filter(|c| c.options.eventually.is_none())
        {
            c.options.eventually = Some(infraspec::spec::Eventually {
                timeout,
                interval: cli.sleep,
            });
        }
    }
    Ok(Ok(Prepared {
        targets,
        labels,
        sets,
        shard,
        empty_shard,
    }))
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    if let Some(shell) = cli.completions {
        use clap::CommandFactory;
        // Written whole, so that a reader that stops early (`| head`) ends
        // the write quietly rather than a panic on a closed pipe.
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "infraspec", &mut script);
        let _ = std::io::stdout().lock().write_all(&script);
        return Ok(0);
    }
    if let Some(dir) = &cli.man {
        use clap::CommandFactory;
        match dir {
            None => {
                let mut page = Vec::new();
                clap_mangen::Man::new(Cli::command()).render(&mut page)?;
                let _ = std::io::stdout().lock().write_all(&page);
            }
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                clap_mangen::generate_to(Cli::command(), dir).with_context(|| {
                    format!("cannot write the manual pages into {}", dir.display())
                })?;
            }
        }
        return Ok(0);
    }
    cli.color
        .apply(cli.output.is_none() && std::io::stdout().is_terminal());

    let prepared = match prepare(&cli)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    let Prepared {
        ref shard,
        empty_shard,
        ..
    } = prepared;
    let reports = prepared.check(&cli, true);
    if cli.verbose > 0 {
        for r in &reports {
            let s = &r.stats;
            eprintln!(
                "infraspec: {}: {}, {}, {}; connect {} ms, facts {} ms, checks {} ms, total {} ms",
                report::escape_line(&r.target),
                report::counted(s.round_trips, "round trip"),
                report::counted(s.execs, "exec"),
                report::counted(s.probes as u64, "probe"),
                s.connect.as_millis(),
                s.facts.as_millis(),
                s.checks.as_millis(),
                s.total.as_millis()
            );
        }
    }
    // Interrupted: the handler is cleaning up and exits; print no half report.
    while infraspec::backend::docker::interrupted() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for (path, format) in [
        (&cli.junit, Format::Junit),
        (&cli.json, Format::Json),
        (&cli.tap, Format::Tap),
    ] {
        if let Some(path) = path {
            std::fs::write(path, format.render_shard(&reports, shard.as_ref(), false))
                .with_context(|| format!("failed to write {}", path.display()))?;
        }
    }
    let text = cli.format.render_shard(&reports, shard.as_ref(), cli.quiet);
    match &cli.output {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("failed to write {}", path.display()))?;
            // The console still says how the run went: what failed, and
            // the counts.
            let _ = std::io::stdout()
                .lock()
                .write_all(report::human::recap(&reports).as_bytes());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not worth an error.
            let _ = stdout.write_all(text.as_bytes());
        }
    }
    if empty_shard {
        return Ok(0);
    }
    let summary = report::Summary::of(&reports);
    let code = report::exit_code(&reports);
    if reports.iter().all(|r| r.error.is_none())
        && summary.passed + summary.failed + summary.errors == 0
    {
        eprintln!(
            "infraspec: no check was judged: all {} check(s) were skipped (the report says why); exit 2",
            summary.skipped
        );
    } else if code == 0 && cli.fail_on_skip && summary.skipped > 0 {
        eprintln!(
            "infraspec: {} check(s) skipped, and --fail-on-skip makes that a failure",
            summary.skipped
        );
        return Ok(1);
    }
    Ok(code as u8)
}
