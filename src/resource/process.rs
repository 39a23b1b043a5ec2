//! `process`: running, how many, as which users. Read from `/proc/*/status` in
//! one `cat`, so no `ps` is needed on the target.

use super::{stdout_text, user, Early, Need, NoAnswer, Observations, Observed};
use crate::matcher::{Matcher, Value};
use crate::probe::Probe;
use crate::spec::Property;

/// One entry of the process table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub name: String,
    pub uid: u32,
    /// How many PID namespaces deep the process is, counted from the one
    /// `/proc` belongs to (`NSpid:` entries): 1 for this namespace, more for
    /// a container's processes seen from its host.
    pub ns_depth: u8,
    /// The parent's PID (`PPid:`).
    pub ppid: u32,
}

/// A first line naming the batch shell that runs the read (the snippet's
/// parent), so that the batch's own processes can be left out; `Hidden:` with
/// the options of a /proc mounted `hidepid` (and `Groups:`, the checking
/// user's groups), where other users' processes are hidden; then every
/// `/proc/PID/status`.
const HIDDEN_AND_TABLE: &str = r#"echo "Batch:	$PPID"
while read -r _ _ _ _ m _ r; do
  [ "$m" = /proc ] || continue
  case $r in *hidepid=[12]*|*hidepid=invisible*|*hidepid=noaccess*) echo "Hidden:	$r"; echo "Groups:	$(id -G 2>/dev/null)";; esac
done </proc/self/mountinfo 2>/dev/null
cat /proc/[0-9]*/status 2>/dev/null
:"#;

/// Why the process table is not the whole of it for the checking user
/// (`uid`): /proc mounted `hidepid=1|2` shows other users' processes to root
/// and to the `gid=` group only. `None` when the table is whole.
pub fn hidden(text: &str, uid: Option<u32>) -> Option<String> {
    let line = |key: &str| {
        text.lines()
            .take_while(|l| !l.starts_with("Name:"))
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
    };
    let options = line("Hidden:")?;
    if uid == Some(0) {
        return None;
    }
    let gid = options
        .split([',', ' '])
        .find_map(|o| o.strip_prefix("gid="));
    let groups = line("Groups:").unwrap_or_default();
    if gid.is_some_and(|g| groups.split(' ').any(|mine| mine == g)) {
        return None;
    }
    let hidepid = options
        .split([',', ' '])
        .find(|o| o.starts_with("hidepid="))
        .unwrap_or("hidepid");
    Some(format!(
        "the process table is incomplete: /proc is mounted with {hidepid}, so the checking user sees \
         only its own processes; check as root (?sudo=true){}",
        gid.map(|g| format!(" or as a member of group {g} (/proc's gid=)"))
            .unwrap_or_default()
    ))
}
pub fn probe() -> Probe {
    Probe::script(
        HIDDEN_AND_TABLE,
        Vec::<String>::new(),
        "cat /proc/[0-9]*/status",
    )
}

/// Parses concatenated `/proc/PID/status` files. Zombies (`State: Z`) and
/// dead entries (`X`) have exited: they are not running and are left out.
/// So are the batch shell named on a `Batch:` line and everything it started
/// (the shell running the read, `cat`): infraspec's own processes are not
/// the target's.
pub fn parse(text: &str) -> Vec<Proc> {
    let batch = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("Batch:"))
        .and_then(|p| p.trim().parse::<u32>().ok());
    let mut procs = parse_status(text);
    if let Some(batch) = batch {
        let mut ours = std::collections::BTreeSet::from([batch]);
        // Parents may be listed after their children: repeat until no more
        // descendants are found.
        while let Some(child) = procs
            .iter()
            .find(|p| !ours.contains(&p.pid) && ours.contains(&p.ppid))
        {
            ours.insert(child.pid);
        }
        procs.retain(|p| !ours.contains(&p.pid));
    }
    procs
}

fn parse_status(text: &str) -> Vec<Proc> {
    let mut procs = Vec::new();
    let mut current: Option<(Proc, bool, bool)> = None;
    let mut exited = false;
    let mut flush = |c: Option<(Proc, bool, bool)>, exited: bool| {
        if let Some((proc, true, true)) = c {
            if !exited {
                procs.push(proc);
            }
        }
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if key == "Name" {
            let proc = Proc {
                pid: 0,
                name: value.to_string(),
                uid: 0,
                ns_depth: 1,
                ppid: 0,
            };
            flush(current.replace((proc, false, false)), exited);
            exited = false;
            continue;
        }
        let Some((proc, has_pid, has_uid)) = current.as_mut() else {
            continue;
        };
        match key {
            "Pid" => {
                if let Ok(pid) = value.parse() {
                    proc.pid = pid;
                    *has_pid = true;
                }
            }
            "Uid" => {
                if let Some(uid) = value.split_whitespace().next().and_then(|u| u.parse().ok()) {
                    proc.uid = uid;
                    *has_uid = true;
                }
            }
            "State" => exited = value.starts_with(['Z', 'X']),
            "PPid" => proc.ppid = value.parse().unwrap_or(0),
            "NSpid" => {
                proc.ns_depth = value.split_whitespace().count().clamp(1, 255) as u8;
            }
            _ => {}
        }
    }
    flush(current, exited);
    procs
}

/// Whether a process called `comm` is `wanted`: the kernel keeps only the first
/// 15 bytes of a process name.
pub fn name_matches(comm: &str, wanted: &str) -> bool {
    comm == wanted || (wanted.len() > 15 && wanted.is_char_boundary(15) && comm == &wanted[..15])
}

/// The process table of the target, parsed once per batch.
pub fn table<'s>(obs: &'s Observations<'_>) -> Result<&'s Vec<Proc>, NoAnswer> {
    if let Some(given) = given!(obs, &Need::Processes, Processes) {
        return given;
    }
    obs.cached(&obs.processes, || {
        // Processes that end between the glob and the read make cat complain;
        // the snippet ends with `:` so the rest of the table still counts.
        let out = obs.ok(&Need::Processes)?;
        let text = stdout_text(out);
        if let Some(why) = hidden(&text, obs.facts.uid) {
            return Err(NoAnswer::Denied(why));
        }
        Ok(parse(&text))
    })
}

/// What a check of `property` needs, with `same` the item's other
/// expectations on one process.
pub fn needs(name: &str, property: Property, same: &[(Property, Matcher)]) -> Vec<Need> {
    let mut needs = vec![Need::Processes];
    for p in std::iter::once(property).chain(same.iter().map(|(p, _)| *p)) {
        let need = match p {
            Property::User => Need::PasswdAll,
            // The table says which processes are infraspec's own (the batch
            // and what it started): their command lines are left out too.
            Property::Args => Need::ProcessArgs(name.to_string()),
            _ => continue,
        };
        if !needs.contains(&need) {
            needs.push(need);
        }
    }
    needs
}

/// A script that runs `body` with `$d` set to `/proc/PID` for every process
/// named `$1` (the kernel's 15-byte `comm`). Names are read with the shell's
/// `read`; only the matching processes cost more.
macro_rules! for_each_named {
    ($body:literal) => {
        concat!(
            "n=$1; s=$(printf '%.15s' \"$n\")\n",
            "for d in /proc/[0-9]*; do\n",
            "  c=; read -r c < \"$d/comm\" 2>/dev/null || continue\n",
            "  if [ \"$c\" = \"$n\" ] || [ \"$c\" = \"$s\" ]; then\n",
            $body,
            "\n  fi\ndone\n:"
        )
    };
}

/// The command line of every process named `$1`, one a line after its PID,
/// arguments joined by spaces.
const ARGS: &str = for_each_named!(
    r#"    a=$(tr '\000' ' ' < "$d/cmdline" 2>/dev/null) && printf '%s %s\n' "${d#/proc/}" "$a""#
);

/// `PID ARGS` lines as the command line of each process in `table`, by
/// PID: those of infraspec's own batch, absent from the table, are left out.
fn args_of(text: &str, table: &[Proc]) -> Vec<(u32, String)> {
    text.lines()
        .filter_map(|l| {
            let (pid, args) = l.split_once(' ')?;
            let pid: u32 = pid.parse().ok()?;
            let args = args.trim_end();
            (table.iter().any(|p| p.pid == pid) && !args.is_empty())
                .then(|| (pid, args.to_string()))
        })
        .collect()
}

/// The socket inodes open in every process named `$1`: the targets of its
/// `/proc/PID/fd` links that are sockets.
const SOCKETS: &str = for_each_named!(
    r#"    for f in "$d"/fd/*; do
      l=$(readlink "$f" 2>/dev/null) || continue
      case $l in socket:*) echo "$l";; esac
    done"#
);

pub fn sockets_probe(name: &str) -> Probe {
    Probe::script(
        SOCKETS,
        [name],
        format!(
            "readlink /proc/[0-9]*/fd/* (of the processes named {})",
            crate::probe::display_word(name)
        ),
    )
}

pub fn args_probe(name: &str) -> Probe {
    Probe::script(
        ARGS,
        [name],
        format!(
            "cat /proc/[0-9]*/cmdline (of the processes named {})",
            crate::probe::display_word(name)
        ),
    )
}

/// One process's value of `property` (`user` as a list of its one user,
/// `args` its command line), for judging it alone.
fn value_of(
    proc: &Proc,
    property: Property,
    user: &dyn Fn(u32) -> String,
    args: &[(u32, String)],
) -> Option<Value> {
    match property {
        Property::User => Some(Value::List(vec![user(proc.uid)])),
        Property::Args => args
            .iter()
            .find(|(pid, _)| *pid == proc.pid)
            .map(|(_, a)| Value::Text(a.clone())),
        _ => None,
    }
}

/// `property` of the processes named `name`, of those that meet every
/// expectation of `same` (the item's others on one process) when it has
/// any: the properties of one check hold for one and the same process.
pub fn observe(
    obs: &Observations<'_>,
    name: &str,
    property: Property,
    same: &[(Property, Matcher)],
) -> Result<Observed, Early> {
    let procs = table(obs)?;
    let wants = |p: Property| property == p || same.iter().any(|(q, _)| *q == p);
    let args = if wants(Property::Args) {
        let out = obs.ok(&Need::ProcessArgs(name.to_string()))?;
        args_of(&stdout_text(out), procs)
    } else {
        Vec::new()
    };
    let passwd = if wants(Property::User) {
        user::all_users(obs)?
    } else {
        &[]
    };
    let user = |uid: u32| {
        passwd
            .iter()
            .find(|e| e.uid == uid)
            .map(|e| e.name.clone())
            .unwrap_or_else(|| uid.to_string())
    };
    let mut matching: Vec<&Proc> = Vec::new();
    for p in procs.iter().filter(|p| name_matches(&p.name, name)) {
        let mut meets = true;
        for (q, m) in same {
            // A process whose command line is gone (it ended between the
            // reads) meets nothing asked of it.
            let Some(value) = value_of(p, *q, &user, &args) else {
                meets = false;
                break;
            };
            meets &= m.eval(&value).map_err(Early::Error)?;
        }
        if meets {
            matching.push(p);
        }
    }
    let none = || {
        if same.is_empty() {
            "not running".to_string()
        } else {
            let what: Vec<String> = same.iter().map(|(q, m)| format!("{q} {m}")).collect();
            format!("no process named {name} with {}", what.join(" and "))
        }
    };
    match property {
        Property::Running => Ok(Value::Bool(!matching.is_empty()).into()),
        Property::Count => Ok(Value::Int(matching.len() as i64).into()),
        Property::User => {
            if matching.is_empty() {
                return Err(Early::Fail(none()));
            }
            let mut users: Vec<String> = matching.iter().map(|p| user(p.uid)).collect();
            users.sort();
            users.dedup();
            Ok(Value::List(users).into())
        }
        Property::Args => {
            let lines: Vec<String> = args
                .iter()
                .filter(|(pid, _)| matching.iter().any(|p| p.pid == *pid))
                .map(|(_, a)| a.clone())
                .collect();
            if lines.is_empty() {
                return Err(Early::Fail(none()));
            }
            Ok(Value::Text(lines.join("\n")).into())
        }
        other => Err(Early::Error(format!("process has no property {other}"))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hidden_process_table_is_no_answer_but_for_root_and_the_gid_group() {
        let text = "Batch:\t7\nHidden:\t- proc proc rw,nosuid,nodev,noexec,relatime,hidepid=2,gid=27\nGroups:\t33 100\nName:\tsh\n";
        let why = super::hidden(text, Some(33)).unwrap();
        assert!(
            why.contains("hidepid=2") && why.contains("group 27"),
            "{why}"
        );
        assert_eq!(super::hidden(text, Some(0)), None);
        let member = text.replace("Groups:\t33 100", "Groups:\t33 27");
        assert_eq!(super::hidden(&member, Some(33)), None);
        assert_eq!(super::hidden("Batch:\t7\nName:\tsh\n", Some(33)), None);
        // Not known to be root: not whole.
        assert!(super::hidden(text, None).is_some());
    }

    #[test]
    fn args_leave_out_processes_the_table_leaves_out() {
        let table = super::parse("Batch:\t7\nName:\tnginx\nState:\tS\nPid:\t10\nPPid:\t1\nUid:\t0\t0\t0\t0\nName:\tsh\nState:\tS\nPid:\t7\nPPid:\t1\nUid:\t0\t0\t0\t0\n");
        let text = "10 nginx: master process \n7 sh -s \n99 sh gone\n";
        assert_eq!(
            super::args_of(text, &table),
            [(10, "nginx: master process".to_string())]
        );
    }

    use super::*;
    use crate::testing::fixture;

    #[test]
    fn status_files_from_debian_12() {
        let procs = parse(&String::from_utf8(fixture("proc/status-debian-12.txt")).unwrap());
        let names: Vec<&str> = procs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["sleep", "sleep", "sh"]);
        assert_eq!(procs[0].pid, 5005);
        assert_eq!(procs[0].uid, 0);
        assert_eq!(procs[1].uid, 33);
    }

    #[test]
    fn zombies_are_not_running() {
        let text = "Name:\tnginx\nState:\tZ (zombie)\nPid:\t7\nUid:\t0\t0\t0\t0\n\
                    Name:\tnginx\nState:\tS (sleeping)\nPid:\t8\nUid:\t33\t33\t33\t33\n\
                    Name:\tgone\nState:\tX (dead)\nPid:\t9\nUid:\t0\t0\t0\t0\n";
        let procs = parse(text);
        assert_eq!(procs.len(), 1, "{procs:?}");
        assert_eq!((procs[0].pid, procs[0].uid), (8, 33));
    }

    #[test]
    fn the_batch_and_what_it_started_are_left_out() {
        let text = "Batch:\t10\n\
                    Name:\tcat\nState:\tR\nPid:\t12\nPPid:\t11\nUid:\t0\t0\t0\t0\n\
                    Name:\tsh\nState:\tS\nPid:\t10\nPPid:\t1\nUid:\t0\t0\t0\t0\n\
                    Name:\tsh\nState:\tS\nPid:\t11\nPPid:\t10\nUid:\t0\t0\t0\t0\n\
                    Name:\tsh\nState:\tS\nPid:\t9\nPPid:\t1\nUid:\t0\t0\t0\t0\n";
        let procs = parse(text);
        assert_eq!(procs.iter().map(|p| p.pid).collect::<Vec<_>>(), [9]);
    }

    #[test]
    fn long_names_match_the_kernels_15_bytes() {
        assert!(name_matches("systemd-journal", "systemd-journald"));
        assert!(!name_matches("systemd-journa", "systemd-journald"));
        assert!(name_matches("nginx", "nginx"));
        assert!(!name_matches("nginx", "ngin"));
    }

    #[test]
    fn a_probe_that_reads_the_process_table_sees_none_of_the_batch() {
        // A uniquely named `sleep` as a probe of the same batch: the table,
        // read alone before it and without the batch's own processes, has
        // neither it nor any shell of the batch.
        let dir = tempfile::tempdir().unwrap();
        let name = format!("isx{}", &crate::probe::nonce()[..8]);
        let sleep = ["/usr/bin/sleep", "/bin/sleep"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap();
        std::os::unix::fs::symlink(sleep, dir.path().join(&name)).unwrap();
        let probes = vec![
            crate::probe::Probe::argv([dir.path().join(&name).to_str().unwrap(), "2"]),
            probe().alone().with_cap(crate::probe::TABLE_CAP),
        ];
        let schedule = crate::probe::Schedule::new(Some(2), std::time::Duration::from_secs(60));
        let (got, batch) = crate::probe::tests::run_scheduled(&probes, &[], schedule);
        let text = String::from_utf8_lossy(&got[1].as_ref().unwrap().stdout).into_owned();
        let procs = parse(&text);
        assert!(!procs.iter().any(|p| p.name == name), "{procs:?}");
        // Other tests of this process run shells too: only this batch's own
        // shell and its children must be missing.
        assert!(
            !procs.iter().any(|p| p.pid == batch || p.ppid == batch),
            "the batch shell or a child of it is listed: {procs:?}"
        );
    }
}
