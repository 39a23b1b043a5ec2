//! `infraspec add` and `infraspec autoadd`: checks written from what a target
//! has.
//!
//! The resources asked for become ordinary checks, one per property worth
//! asserting, observed in the usual batch (one round trip after the facts,
//! and one more only for `http`). What was observed is written back as
//! expectations: as YAML spec items or as a `spec!` block. Volatile values
//! (pids, times, sizes of growing files) are never asserted; what is not
//! there is asserted absent, with a comment.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use sha2::Digest;

use crate::facts::Facts;
use crate::matcher::{Matcher, Value};
use crate::model::file::FileType;
use crate::observe::{BatchError, Session};
use crate::resource::{self, Early, Need, NoAnswer, Observations};
use crate::spec::{Check, Expectation, Property, Protocol, Resource, ResourceKind};

/// Files up to this size get a `sha256` (computed by infraspec from their
/// content, read in the same batch).
pub const HASH_LIMIT: usize = 64 * 1024;
/// Command output up to this size is asserted; longer output is noted.
const STDOUT_LIMIT: usize = 4096;

/// How `add` writes what it found.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddOptions {
    /// Assert a small text file's whole `content` as well as its checksum.
    pub content: bool,
    /// Assert what holds only on this machine today: a package's exact
    /// version (else the installed version as a floor) and how many
    /// processes run (else only that they run).
    pub pin: bool,
}

/// One resource as found: what to assert, and notes for the reader.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The resource.
    pub kind: ResourceKind,
    /// Its name.
    pub name: String,
    /// For a port: the protocol and address a socket listens on.
    pub listen: Option<(Protocol, String)>,
    /// Property values to assert, in order.
    pub asserts: Vec<(Property, Value)>,
    /// Comment lines: what is absent, what could not be asserted and why.
    pub notes: Vec<String>,
    /// A time-sync service: containers use the host's clock.
    pub skip_in_container: bool,
    /// A package's version is asserted exactly (`--pin`), not as a floor.
    pub exact_version: bool,
}

impl Found {
    fn new(kind: ResourceKind, name: &str) -> Found {
        Found {
            kind,
            name: name.to_string(),
            listen: None,
            asserts: Vec::new(),
            notes: Vec::new(),
            skip_in_container: kind == ResourceKind::Service
                && crate::rules::TIME_SYNC_SERVICES.contains(&name),
            exact_version: false,
        }
    }
}

/// The kinds `add` observes, and the properties it asserts of each, the one
/// that says whether the resource is there first.
pub fn properties(kind: ResourceKind) -> Option<&'static [Property]> {
    use Property as P;
    Some(match kind {
        ResourceKind::Package => &[P::Installed, P::Version],
        ResourceKind::Service => &[P::Running, P::Enabled],
        ResourceKind::Port => &[P::Listening],
        ResourceKind::File => &[P::Exists, P::Type, P::Mode, P::Owner, P::Group],
        ResourceKind::User => &[P::Exists, P::Uid, P::Gid, P::Home, P::Shell, P::Groups],
        ResourceKind::Group => &[P::Exists, P::Gid],
        ResourceKind::Process => &[P::Running, P::Count, P::User],
        ResourceKind::Command => &[P::ExitStatus, P::Stdout],
        ResourceKind::KernelParam => &[P::Exists, P::Value],
        ResourceKind::KernelModule => &[P::Loaded],
        ResourceKind::Mount => &[P::Exists, P::Filesystem, P::Device, P::Options],
        ResourceKind::Interface => &[P::Exists, P::Mtu, P::Addresses],
        ResourceKind::Host => &[P::Resolvable, P::Addresses],
        ResourceKind::Http => &[P::Status],
        ResourceKind::UnixSocket => &[P::Listening],
        ResourceKind::DockerImage | ResourceKind::Certificate => return None,
    })
}

/// The kinds `add` takes, for errors and help.
pub fn kinds() -> Vec<&'static str> {
    ResourceKind::ALL
        .iter()
        .filter(|k| properties(**k).is_some())
        .map(|k| k.as_str())
        .collect()
}

/// Whether a property says the resource is there, so that a `false` means
/// absent rather than, say, stopped.
fn presence(kind: ResourceKind, p: Property) -> bool {
    matches!(
        (kind, p),
        (ResourceKind::Package, Property::Installed)
            | (_, Property::Exists)
            | (ResourceKind::Process, Property::Running)
            | (ResourceKind::KernelModule, Property::Loaded)
            | (ResourceKind::Host, Property::Resolvable)
    )
}

/// A check that asks `property` of `resource`, for its needs.
fn asking(resource: &Resource, property: Property) -> Check {
    let mut c = Check::new(
        resource.clone(),
        Expectation::new(property, Matcher::Eq(true.into())),
    );
    if resource.kind == ResourceKind::File && property == Property::Content {
        c.options.max_output = Some(HASH_LIMIT as u64);
    }
    c
}

/// What autoadd needs beyond `add`'s checks: the socket inodes of the
/// processes of each name.
fn socket_needs(names: &[String]) -> Vec<Need> {
    names
        .iter()
        .map(|n| Need::ProcessSockets(n.clone()))
        .collect()
}

/// Observes `wanted` in one batch and says what to assert of each.
pub fn observe(
    session: &Session<'_>,
    wanted: &[Resource],
    opts: AddOptions,
    timeout: Duration,
) -> Result<Vec<Found>, BatchError> {
    let checks = checks_for(wanted);
    session.observe_with(&checks, &[], timeout, |obs| {
        wanted
            .iter()
            .flat_map(|r| found(session, obs, r, opts))
            .collect()
    })
}

fn checks_for(wanted: &[Resource]) -> Vec<Check> {
    let mut checks = Vec::new();
    for r in wanted {
        for p in properties(r.kind).unwrap_or(&[]) {
            checks.push(asking(r, *p));
        }
        if r.kind == ResourceKind::File {
            checks.push(asking(r, Property::Content));
        }
    }
    checks
}

/// What `autoadd NAME` looks for: the package, service, process, user and
/// group of that name, and the ports the processes listen on. Only what is
/// there is kept; when nothing is, one note says so.
pub fn autoadd(
    session: &Session<'_>,
    names: &[String],
    opts: AddOptions,
    timeout: Duration,
) -> Result<Vec<Found>, String> {
    use ResourceKind as K;
    let mut wanted = Vec::new();
    for name in names {
        for kind in [K::Package, K::Service, K::Process, K::User, K::Group] {
            wanted.push(Resource::new(kind, name.as_str())?);
        }
    }
    let mut checks = checks_for(&wanted);
    // The ports' tables too, so that the sockets can be named.
    let port_check = asking(
        &Resource::new(K::Port, "1").expect("a valid port"),
        Property::Listening,
    );
    checks.push(port_check.clone());
    let extra = socket_needs(names);
    session
        .observe_with(&checks, &extra, timeout, |obs| {
            let mut out = Vec::new();
            for name in names {
                let mut mine: Vec<Found> = wanted
                    .iter()
                    .filter(|r| &r.name == name)
                    .flat_map(|r| found(session, obs, r, opts))
                    // What could not be observed stays, as its comment.
                    .filter(|f| is_there(f) || (f.asserts.is_empty() && !f.notes.is_empty()))
                    .collect();
                let ports = match session.cannot_observe(&port_check) {
                    Some(why) => Err(format!("not asserted: {why}")),
                    None => process_ports(obs, name).map_err(|e| e.to_string()),
                };
                match ports {
                    Ok(ports) => mine.extend(ports),
                    Err(e) => mine.push(Found {
                        notes: vec![format!("the ports of {name}'s processes: {e}")],
                        ..Found::new(K::Port, "0")
                    }),
                }
                if mine.is_empty() {
                    let mut f = Found::new(K::Package, name);
                    f.notes.push(format!(
                    "nothing named {name} was found: no package, service, process, user or group"
                ));
                    f.asserts.push((Property::Installed, Value::Bool(false)));
                    mine.push(f);
                }
                out.extend(mine);
            }
            out
        })
        .map_err(|e| e.to_string())
}

/// Whether autoadd keeps a found resource: it is there (a service that
/// neither runs nor is enabled is not).
fn is_there(f: &Found) -> bool {
    if f.asserts.is_empty() {
        return false;
    }
    match f.kind {
        ResourceKind::Service => f.asserts.iter().any(|(_, v)| *v == Value::Bool(true)),
        _ => !f
            .asserts
            .iter()
            .any(|(p, v)| presence(f.kind, *p) && *v == Value::Bool(false)),
    }
}

/// The listening sockets of the processes named `name`, as port checks.
fn process_ports(obs: &Observations<'_>, name: &str) -> Result<Vec<Found>, NoAnswer> {
    let out = obs.raw(&Need::ProcessSockets(name.to_string()))?;
    let inodes: BTreeSet<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok())
        .collect();
    Ok(listeners(
        resource::port::sockets(obs)?
            .iter()
            .filter(|s| inodes.contains(&s.inode)),
    ))
}

/// One port check for each distinct port, protocol and address listening
/// among `sockets`.
fn listeners<'s>(sockets: impl Iterator<Item = &'s resource::port::Socket>) -> Vec<Found> {
    let mut seen = BTreeSet::new();
    sockets
        .filter(|s| s.listening() && seen.insert((s.port, s.protocol, s.address)))
        .map(|s| {
            let mut f = Found::new(ResourceKind::Port, &s.port.to_string());
            f.listen = Some((s.protocol, s.address.to_string()));
            f.asserts.push((Property::Listening, Value::Bool(true)));
            f
        })
        .collect()
}

/// What to assert of one resource, from the batch's answers.
fn found(
    session: &Session<'_>,
    obs: &Observations<'_>,
    r: &Resource,
    opts: AddOptions,
) -> Vec<Found> {
    if r.kind == ResourceKind::Port {
        return port(obs, r);
    }
    let mut f = Found::new(r.kind, &r.name);
    f.exact_version = opts.pin;
    for p in properties(r.kind).unwrap_or(&[]) {
        let check = asking(r, *p);
        if let Some(why) = session.cannot_observe(&check) {
            f.notes.push(format!("{p} is not asserted: {why}"));
            continue;
        }
        match resource::observe(&check, obs).map(|o| o.value) {
            Ok(Value::Bool(false)) if presence(r.kind, *p) => {
                f.asserts = vec![(*p, Value::Bool(false))];
                f.notes = vec![format!("{} was not found", r)];
                return vec![f];
            }
            Ok(v) => {
                if let Some(note) = volatile(r.kind, *p, &v, opts) {
                    f.notes.push(note);
                } else {
                    f.asserts.push((*p, v));
                }
            }
            // The resource is not there to have the property (a package
            // that is not installed has no version): its presence says it.
            Err(Early::Fail(_)) => {}
            Err(Early::Skip(why)) => f.notes.push(format!("{p} is not asserted: {why}")),
            Err(Early::Error(why)) => f
                .notes
                .push(format!("{p} could not be observed: {}", comment(&why))),
        }
    }
    if r.kind == ResourceKind::File {
        file_content(obs, r, opts, &mut f);
    }
    if r.kind == ResourceKind::Process {
        return per_user(f);
    }
    vec![f]
}

/// The properties of one process check hold for one and the same process,
/// so where processes of one name run under several users (nginx's root
/// master and www-data workers) no one user is asserted of them all: a note
/// says who runs them.
fn per_user(mut f: Found) -> Vec<Found> {
    let users = f.asserts.iter().find_map(|(p, v)| match (p, v) {
        (Property::User, Value::List(users)) => Some(users.clone()),
        _ => None,
    });
    if let Some(users) = users.filter(|u| u.iter().collect::<BTreeSet<_>>().len() > 1) {
        f.asserts.retain(|(p, _)| *p != Property::User);
        let distinct: BTreeSet<&String> = users.iter().collect();
        f.notes.push(format!(
            "user is not asserted: its processes run as {} (the properties of one check hold for one process)",
            comment(&distinct.into_iter().cloned().collect::<Vec<_>>().join(", "))
        ));
    }
    vec![f]
}

/// A file's checksum (and content, when asked) if it is a small regular file.
fn file_content(obs: &Observations<'_>, r: &Resource, opts: AddOptions, f: &mut Found) {
    let regular = f.asserts.iter().any(|(p, v)| {
        *p == Property::Type
            && matches!(
                v,
                Value::FileType {
                    target: Some(FileType::File),
                    ..
                }
            )
    });
    if !regular {
        return;
    }
    let size = match obs.stat(&r.name) {
        Ok(resource::file::Found::Exists(st)) => st.size,
        _ => 0,
    };
    if size > HASH_LIMIT as u64 {
        f.notes.push(format!(
            "sha256 is not asserted: the file is larger than {} KiB",
            HASH_LIMIT / 1024
        ));
        return;
    }
    match obs.content(&r.name, HASH_LIMIT) {
        Ok(bytes) => {
            let hex: String = sha2::Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            f.asserts.push((Property::Sha256, Value::Text(hex)));
            if opts.content {
                match String::from_utf8(bytes.to_vec()) {
                    Ok(text) => f.asserts.push((Property::Content, Value::Text(text))),
                    Err(_) => f
                        .notes
                        .push("content is not asserted: not UTF-8 text".into()),
                }
            }
        }
        Err(why) => f.notes.push(format!(
            "sha256 is not asserted: the content could not be read: {}",
            comment(&why.to_string())
        )),
    }
}

/// The sockets listening on a port, one check each; or the port asserted
/// closed.
fn port(obs: &Observations<'_>, r: &Resource) -> Vec<Found> {
    let number: u16 = r.name.parse().unwrap_or(0);
    let sockets = match resource::port::sockets(obs) {
        Ok(s) => s,
        Err(e) => {
            let mut f = Found::new(r.kind, &r.name);
            f.notes
                .push(format!("listening could not be observed: {e}"));
            return vec![f];
        }
    };
    let mut out = listeners(sockets.iter().filter(|s| s.port == number));
    if out.is_empty() {
        let mut f = Found::new(r.kind, &r.name);
        f.asserts.push((Property::Listening, Value::Bool(false)));
        f.notes.push(format!("nothing listens on port {number}"));
        out.push(f);
    }
    out
}

/// Why a value is not asserted, when it would not hold for long.
fn volatile(kind: ResourceKind, p: Property, v: &Value, opts: AddOptions) -> Option<String> {
    match (kind, p, v) {
        // Workers often follow the CPUs: a count is this machine's, today.
        (ResourceKind::Process, Property::Count, Value::Int(n)) if !opts.pin => Some(format!(
            "count is not asserted: {n} now, which may follow the machine (--pin asserts it)"
        )),
        (ResourceKind::Command, Property::Stdout, Value::Text(t)) if t.len() > STDOUT_LIMIT => {
            Some(format!(
                "stdout is not asserted: {} bytes, more than {STDOUT_LIMIT}",
                t.len()
            ))
        }
        _ => None,
    }
}

/// Text from the target as the rest of one comment line, in YAML and in
/// Rust: every line break either knows (`\n`, `\r`, NEL, LS, PS) and every
/// other control character is written as an escape, so nothing from the
/// target can end the comment and start a check.
fn comment(s: &str) -> String {
    s.chars()
        .flat_map(|c| -> Vec<char> {
            match c {
                '\n' => vec!['\\', 'n'],
                '\r' => vec!['\\', 'r'],
                '\t' => vec![' '],
                c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                    format!("\\u{{{:x}}}", c as u32).chars().collect()
                }
                c => vec![c],
            }
        })
        .collect()
}

/// Where and when things were observed, for the comment above them.
pub fn observed_on(target: &str, facts: &Facts, now: std::time::SystemTime) -> String {
    format!(
        "observed on {target} ({}, {}) at {}",
        facts.os_pretty,
        facts.arch,
        utc(now)
    )
}

/// `2026-11-23T13:05:00Z`.
fn utc(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Text as a YAML scalar: plain when that reads back as the same string,
/// else double-quoted (JSON's escapes, which YAML reads).
fn yaml_str(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._+-@".contains(c))
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        // JSON leaves NEL, LS and PS raw; YAML 1.1 readers take them for
        // line breaks, so they are escaped too.
        serde_json::to_string(s)
            .expect("a string serializes")
            .replace('\u{85}', "\\u0085")
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029")
    }
}

/// A YAML scalar for a value, as the spec format reads it back.
fn yaml_value(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Text(s) | Value::Version(s, _) => yaml_str(s),
        Value::Named { name, .. } => yaml_str(name),
        Value::Mode(m) => format!("'{m:04o}'"),
        Value::FileType { link: true, .. } => FileType::Symlink.as_str().into(),
        Value::FileType { target, .. } => target.map_or("missing", |t| t.as_str()).into(),
        Value::Json(j) => match serde_json::from_str::<serde_json::Value>(j) {
            Ok(serde_json::Value::String(s)) => yaml_str(&s),
            Ok(serde_json::Value::Array(_) | serde_json::Value::Object(_)) => {
                format!("{{eq: {j}}}")
            }
            _ => j.clone(),
        },
        Value::List(items) => format!(
            "{{eq: [{}]}}",
            items
                .iter()
                .map(|i| yaml_str(i))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The found resources as YAML spec items (indented for a `checks:` list),
/// each preceded by its notes.
pub fn yaml_items(found: &[Found]) -> String {
    let mut out = String::new();
    for f in found {
        for n in &f.notes {
            let _ = writeln!(out, "  # {}", comment(n));
        }
        if f.asserts.is_empty() && f.listen.is_none() {
            continue;
        }
        let name = match f.kind {
            ResourceKind::Port => f.name.clone(),
            _ => yaml_str(&f.name),
        };
        let _ = writeln!(out, "  - {}: {name}", f.kind.as_str());
        if let Some((protocol, address)) = &f.listen {
            let _ = writeln!(out, "    protocol: {}", protocol.as_str());
            let _ = writeln!(out, "    address: {}", yaml_str(address));
        }
        for (p, v) in &f.asserts {
            let value = match (p, v) {
                (Property::Version, Value::Version(s, _)) if !f.exact_version => {
                    format!("{{version: {}}}", yaml_str(&format!(">= {s}")))
                }
                _ => yaml_value(v),
            };
            let _ = writeln!(out, "    {}: {value}", p.as_str());
        }
        if f.skip_in_container {
            let _ = writeln!(
                out,
                "    skip_in_container: true   # containers use the host's clock"
            );
        }
    }
    out
}

/// A whole YAML spec of the found resources.
pub fn yaml(found: &[Found], header: &str) -> String {
    format!(
        "# infraspec add: {}\nchecks:\n{}",
        comment(header),
        yaml_items(found)
    )
}

/// Adds items to an existing YAML spec, keeping its text (comments, order,
/// layout). A resource the list already has a block item for (the same kind
/// and name, and for a port the same protocol and address) is updated in
/// place, so that running `add -o` again does not duplicate it; the others
/// go at the end of its top-level `checks:` list. A file without `checks:`
/// gets one at its end.
pub fn append_yaml(existing: &str, header: &str, found: &[Found]) -> String {
    let lines: Vec<&str> = existing.lines().collect();
    let Some(start) = lines.iter().position(|l| {
        l.strip_prefix("checks:")
            .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
    }) else {
        let mut out = existing.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("checks:\n");
        out.push_str(&format!(
            "  # infraspec add: {}\n{}",
            comment(header),
            yaml_items(found)
        ));
        return out;
    };
    // The list ends where the next top-level key starts (trailing comments
    // and blank lines before it stay with what follows).
    let mut end = lines.len();
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        let top = !l.is_empty() && !l.starts_with([' ', '\t', '#', '-']);
        if top {
            end = i;
            break;
        }
    }
    let mut cut = end;
    while cut > start + 1 && (lines[cut - 1].trim().is_empty() || lines[cut - 1].starts_with('#')) {
        cut -= 1;
    }
    // The list's block items, and which found resource each is.
    let blocks = item_blocks(&lines[start + 1..cut], start + 1);
    let mut replaced: Vec<Option<String>> = vec![None; blocks.len()];
    let mut appended = Vec::new();
    for f in found {
        let asserted = !(f.asserts.is_empty() && f.listen.is_none());
        let at = blocks.iter().enumerate().position(|(k, b)| {
            replaced[k].is_none() && asserted && b.2.as_ref() == Some(&identity(f))
        });
        match at {
            Some(k) => replaced[k] = Some(yaml_items(std::slice::from_ref(f))),
            None => appended.push(f.clone()),
        }
    }
    let mut out = String::new();
    let mut i = 0;
    while i < cut {
        match blocks.iter().position(|b| b.0 == i) {
            Some(k) if replaced[k].is_some() => {
                out.push_str(replaced[k].as_deref().unwrap_or_default());
                i = blocks[k].1;
            }
            _ => {
                out.push_str(lines[i]);
                out.push('\n');
                i += 1;
            }
        }
    }
    if !appended.is_empty() {
        out.push_str(&format!(
            "  # infraspec add: {}\n{}",
            comment(header),
            yaml_items(&appended)
        ));
    }
    for l in &lines[cut..] {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// What a spec item is about: its kind, its name and, for a port, the
/// protocol and address it listens on.
type Identity = (String, String, Option<(String, String)>);

fn identity(f: &Found) -> Identity {
    (
        f.kind.as_str().to_string(),
        f.name.clone(),
        f.listen
            .as_ref()
            .map(|(p, a)| (p.as_str().to_string(), a.clone())),
    )
}

/// The block items (`- kind: name` and the lines indented under it) of a
/// list's lines (`first` is the index of `list[0]` in the file): where
/// each starts and ends, and what it is about when it reads as one item.
fn item_blocks(list: &[&str], first: usize) -> Vec<(usize, usize, Option<Identity>)> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let Some(item) = list
        .iter()
        .find(|l| l.trim_start().starts_with("- "))
        .map(|l| indent(l))
    else {
        return Vec::new();
    };
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < list.len() {
        let l = list[i];
        if indent(l) != item || !l.trim_start().starts_with("- ") {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < list.len() && !list[j].trim().is_empty() && indent(list[j]) > item {
            j += 1;
        }
        let text = list[i..j].join("\n");
        blocks.push((first + i, first + j, block_identity(&text)));
        i = j;
    }
    blocks
}

fn block_identity(text: &str) -> Option<Identity> {
    // Read as the spec loader reads it: one model of what an item is.
    let checks = crate::spec::yaml::load_str(&format!("checks:\n{text}\n"), "existing").ok()?;
    let c = checks.first()?;
    let listen = match (
        &c.expectation.listen.protocol,
        &c.expectation.listen.address,
    ) {
        (Some(p), Some(a)) => Some((p.as_str().to_string(), a.clone())),
        _ => None,
    };
    Some((
        c.resource.kind.as_str().to_string(),
        c.resource.name.clone(),
        listen,
    ))
}

/// The found resources as a `spec!` block for a `harness = false` test.
pub fn rust(found: &[Found], header: &str) -> String {
    let mut out = format!(
        "// infraspec add: {}\nuse infraspec::prelude::*;\n\ninfraspec::spec! {{\n",
        comment(header)
    );
    for f in found {
        for n in &f.notes {
            let _ = writeln!(out, "    // {}", comment(n));
        }
        if f.asserts.is_empty() {
            continue;
        }
        if f.skip_in_container {
            out.push_str("    #[skip_in_container]\n");
        }
        let name = match f.kind {
            ResourceKind::Port => f.name.clone(),
            _ => format!("{:?}", f.name),
        };
        let _ = writeln!(out, "    describe {}({name}) {{", f.kind.as_str());
        for (p, v) in &f.asserts {
            let _ = writeln!(out, "        {}", rust_line(f, *p, v));
        }
        out.push_str("    }\n");
    }
    out.push_str("}\n");
    out
}

fn rust_line(f: &Found, p: Property, v: &Value) -> String {
    let state = |matcher: String, yes: bool| {
        format!(
            "it {{ {} {matcher} }}",
            if yes { "should" } else { "should_not" }
        )
    };
    match (p, v) {
        (Property::Version, Value::Version(s, _)) if !f.exact_version => {
            format!(
                "its(version) {{ should be_version({:?}) }}",
                format!(">= {s}")
            )
        }
        (Property::Listening, Value::Bool(b)) if f.kind == ResourceKind::Port => {
            let mut m = "be_listening()".to_string();
            if let Some((protocol, address)) = &f.listen {
                let _ = write!(m, ".with(Protocol::{protocol:?}).on({address:?})");
            }
            state(m, *b)
        }
        (Property::Installed, Value::Bool(b)) => state("be_installed()".into(), *b),
        (Property::Running, Value::Bool(b)) => state("be_running()".into(), *b),
        (Property::Enabled, Value::Bool(b)) => state("be_enabled()".into(), *b),
        (Property::Exists, Value::Bool(b)) => state("exist()".into(), *b),
        (Property::Loaded, Value::Bool(b)) => state("be_loaded()".into(), *b),
        (Property::Resolvable, Value::Bool(b)) => state("be_resolvable()".into(), *b),
        (Property::Type, Value::FileType { target, link }) => {
            let m = match (link, target) {
                (true, _) => "be_symlink()",
                (false, Some(FileType::File)) => "be_file()",
                (false, Some(FileType::Directory)) => "be_directory()",
                (false, Some(FileType::Socket)) => "be_socket()",
                (false, Some(FileType::Pipe)) => "be_pipe()",
                (false, other) => {
                    return format!(
                        "// type {} has no DSL matcher: not asserted",
                        other.map_or("missing", |t| t.as_str())
                    )
                }
            };
            state(m.into(), true)
        }
        (Property::Mode, Value::Mode(m)) => state(format!("be_mode(0o{m:o})"), true),
        (Property::Owner, v) if f.kind == ResourceKind::File => {
            state(format!("be_owned_by({})", rust_value(v)), true)
        }
        (Property::Group, v) if f.kind == ResourceKind::File => {
            state(format!("be_grouped_into({})", rust_value(v)), true)
        }
        (_, v) => format!("its({}) {{ should eq({}) }}", p.as_str(), rust_value(v)),
    }
}

fn rust_value(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Text(s) | Value::Version(s, _) => format!("{s:?}"),
        Value::Named { name, .. } => format!("{name:?}"),
        Value::Mode(m) => format!("\"{m:04o}\""),
        Value::FileType { link: true, .. } => "\"symlink\"".into(),
        Value::FileType { target, .. } => format!("{:?}", target.map_or("missing", |t| t.as_str())),
        Value::List(items) => format!("vec!{items:?}"),
        Value::Json(j) => match serde_json::from_str::<serde_json::Value>(j) {
            Ok(serde_json::Value::String(s)) => format!("{s:?}"),
            Ok(serde_json::Value::Bool(_)) => j.clone(),
            Ok(serde_json::Value::Number(n)) if n.is_i64() => j.clone(),
            _ => format!("{j:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(kind: ResourceKind, name: &str, asserts: Vec<(Property, Value)>) -> Found {
        Found {
            asserts,
            ..Found::new(kind, name)
        }
    }

    #[test]
    fn dates_are_utc_civil_dates() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_795_439_100);
        assert_eq!(utc(t), "2026-11-23T13:05:00Z");
        assert_eq!(utc(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = std::time::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc(leap), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn yaml_items_read_back_as_the_same_checks() {
        let items = vec![
            found(
                ResourceKind::Package,
                "bash",
                vec![
                    (Property::Installed, Value::Bool(true)),
                    (
                        Property::Version,
                        Value::Version("5.2.15-2+b2".into(), crate::version::Scheme::Deb),
                    ),
                ],
            ),
            found(
                ResourceKind::User,
                "root",
                vec![
                    (Property::Uid, Value::Int(0)),
                    (Property::Groups, Value::List(vec!["root".into()])),
                ],
            ),
            found(
                ResourceKind::File,
                "/etc/odd \"name\"\n",
                vec![
                    (Property::Mode, Value::Mode(0o644)),
                    (
                        Property::Type,
                        Value::FileType {
                            target: Some(FileType::File),
                            link: false,
                        },
                    ),
                    (Property::Content, Value::Text("a: 'b'\n# c\n".into())),
                ],
            ),
        ];
        let text = yaml(&items, "observed on local");
        let checks = crate::spec::yaml::load_str(&text, "added.yaml").expect(&text);
        let names: Vec<String> = checks.iter().map(|c| c.name()).collect();
        assert_eq!(
            names,
            [
                "package bash should be installed",
                "package bash version should be version >= 5.2.15-2+b2",
                "user root uid should eq 0",
                "user root groups should eq [\"root\"]",
                "file /etc/odd \"name\"\n should be mode 0644",
                "file /etc/odd \"name\"\n should be a file",
                "file /etc/odd \"name\"\n content should eq \"a: 'b'\\n# c\\n\"",
            ],
            "{text}"
        );
    }

    #[test]
    fn nothing_from_the_target_ends_a_comment() {
        let evil = "Debian\r- command: touch /tmp/pwned\n- command: id\u{85}- command: a\u{2028}- command: b\u{2029}- command: c";
        let mut items = vec![found(
            ResourceKind::Package,
            "bash",
            vec![(Property::Installed, Value::Bool(true))],
        )];
        items[0].notes.push(evil.into());
        for text in [
            yaml(&items, evil),
            append_yaml("checks:\n  - package: nginx\n", evil, &items),
        ] {
            let checks = crate::spec::yaml::load_str(&text, "added.yaml").expect(&text);
            assert!(
                checks
                    .iter()
                    .all(|c| c.resource.kind != ResourceKind::Command),
                "{text}"
            );
            for line in text.split(['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}']) {
                assert!(!line.trim_start().starts_with("- command"), "{text:?}");
            }
        }
        let rust_text = rust(&items, evil);
        for line in rust_text.split(['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}']) {
            assert!(!line.trim_start().starts_with("- command"), "{rust_text:?}");
        }
        let odd = found(
            ResourceKind::File,
            "/etc/a\u{85}b\u{2028}c",
            vec![(Property::Exists, Value::Bool(true))],
        );
        let text = yaml(&[odd], "h");
        assert!(
            !text.contains('\u{85}') && !text.contains('\u{2028}'),
            "{text:?}"
        );
        let back = crate::spec::yaml::load_str(&text, "added.yaml").expect(&text);
        assert_eq!(back[0].resource.name, "/etc/a\u{85}b\u{2028}c");
    }

    #[test]
    fn appending_keeps_comments_and_what_follows_the_list() {
        let existing =
            "# my spec\nchecks:\n  # web\n  - package: nginx\n\n# trailing\nsettings: {}\n";
        let items = [found(
            ResourceKind::User,
            "www-data",
            vec![(Property::Uid, Value::Int(33))],
        )];
        let out = append_yaml(existing, "observed on local", &items);
        assert_eq!(
            out,
            "# my spec\nchecks:\n  # web\n  - package: nginx\n  # infraspec add: observed on local\n  - user: www-data\n    uid: 33\n\n# trailing\nsettings: {}\n"
        );
        let bare = append_yaml("# only a comment", "h", &items);
        assert!(
            bare.starts_with("# only a comment\nchecks:\n  # infraspec add: h\n"),
            "{bare}"
        );
    }

    #[test]
    fn adding_again_updates_an_item_in_place_and_appends_the_rest() {
        let existing = "checks:\n  # mine\n  - package: nginx\n    installed: true\n    version: \"1.22\"\n  - {file: /etc/motd}\n  - port: 80\n    protocol: tcp\n    address: \"0.0.0.0\"\n    listening: true\nafter: 1\n";
        let mut nginx = found(
            ResourceKind::Package,
            "nginx",
            vec![
                (Property::Installed, Value::Bool(true)),
                (
                    Property::Version,
                    Value::Version("1.24".into(), crate::version::Scheme::Deb),
                ),
            ],
        );
        let mut port = found(
            ResourceKind::Port,
            "80",
            vec![(Property::Listening, Value::Bool(true))],
        );
        port.listen = Some((Protocol::Tcp, "::".into()));
        let user = found(
            ResourceKind::User,
            "www-data",
            vec![(Property::Uid, Value::Int(33))],
        );
        let out = append_yaml(existing, "h", &[nginx.clone(), port, user]);
        assert_eq!(
            out,
            "checks:\n  # mine\n  - package: nginx\n    installed: true\n    version: {version: \">= 1.24\"}\n  - {file: /etc/motd}\n  - port: 80\n    protocol: tcp\n    address: \"0.0.0.0\"\n    listening: true\n  # infraspec add: h\n  - port: 80\n    protocol: tcp\n    address: \"::\"\n    listening: true\n  - user: www-data\n    uid: 33\nafter: 1\n"
        );
        // Pinned, the exact version.
        nginx.exact_version = true;
        let out = append_yaml(&out, "h2", &[nginx]);
        assert!(out.contains("    version: \"1.24\"\n"), "{out}");
        assert!(!out.contains("h2"), "nothing appended: {out}");
    }

    #[test]
    fn rust_lines_use_the_dsl_matchers() {
        let mut p = found(
            ResourceKind::Port,
            "80",
            vec![(Property::Listening, Value::Bool(true))],
        );
        p.listen = Some((Protocol::Tcp, "0.0.0.0".into()));
        let text = rust(
            &[
                p,
                found(
                    ResourceKind::Package,
                    "nginx",
                    vec![(Property::Installed, Value::Bool(false))],
                ),
                found(
                    ResourceKind::User,
                    "root",
                    vec![(Property::Groups, Value::List(vec!["root".into()]))],
                ),
            ],
            "h",
        );
        assert!(text.contains("describe port(80) {\n        it { should be_listening().with(Protocol::Tcp).on(\"0.0.0.0\") }"), "{text}");
        assert!(text.contains("it { should_not be_installed() }"), "{text}");
        assert!(
            text.contains("its(groups) { should eq(vec![\"root\"]) }"),
            "{text}"
        );
    }
}
