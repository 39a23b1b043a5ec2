//! Probes and the framed batch script that runs them.
//!
//! A probe is an argv to run on the target. The engine never runs probes one by
//! one: it renders every probe of a round into one POSIX `sh` script, sends the
//! script on the standard input of a single `sh` exec, and splits the output
//! back into per-probe results.
//!
//! # Why the framing cannot be forged
//!
//! Nothing a probe prints reaches the batch's output directly. Each probe's
//! stdout and stderr go to fresh files in a private (0700) directory, with
//! stdin from `/dev/null`. Only when the probe has ended does the script
//! print a header with the probe's exit status and the byte length of each
//! stream, then exactly that many bytes (at most the probe's cap) of each
//! file. The reader takes the lengths from the header and never looks inside
//! the data for markers, so no output, however crafted, can end a frame early
//! or start another. Headers also carry a random per-batch nonce that exists
//! only in the script (stdin, never argv, environment or a file name), and the
//! frames must follow each other with nothing in between: bytes that some
//! process pushed into the stream by other means make the batch an error,
//! never a pass.
//!
//! The whole script is one `{ … }` group, so the shell has read all of it
//! before the first probe runs, and a probe cannot read the rest of the
//! script from the shell's stdin.
//!
//! # Fail closed
//!
//! A probe whose output files cannot be created is reported as not run, with
//! the reason. A probe's output beyond its cap is not silently cut: the header
//! carries the full length, and [`ProbeOutput::truncated`] tells the checks.
//! Probes with a timeout are killed by a watchdog in the script itself (a
//! background `sleep`), so the timeout holds on targets without `timeout(1)`;
//! a background child of a probe holds only its own files, never the batch's
//! output, so it cannot keep the run alive.

use std::fmt;
use std::time::Duration;

/// Default cap on what is kept of one probe's stdout or stderr. A probe that
/// prints more is an error for the checks that need it (see
/// [`ProbeOutput::truncated`]); `max_output` raises it for a check.
pub const OUTPUT_CAP: usize = 4 << 20;

/// The cap of infraspec's own reads of the target's tables (the process
/// table, the package database): large, so that no busy host hides an entry,
/// and still an error when exceeded.
pub const TABLE_CAP: usize = 64 << 20;

/// A command to run on the target, with how long it may run and how much of
/// its output is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Probe {
    argv: Vec<String>,
    /// How the probe is shown to people when it is a script rather than a plain
    /// command.
    shown: Option<String>,
    timeout_secs: u64,
    cap: usize,
    /// Reads the process or socket tables: runs before every other probe of
    /// its batch, with nothing else of infraspec's running.
    alone: bool,
    /// A command the spec's author wrote: it runs in the target's own
    /// environment and locale. infraspec's own probes run with `LC_ALL=C`,
    /// so that what they print reads the same on every target.
    user: bool,
}

impl Probe {
    /// Default time a probe may run before it is killed.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// A plain command, run as argv.
    pub fn argv<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Probe {
            argv: argv.into_iter().map(Into::into).collect(),
            shown: None,
            timeout_secs: Self::DEFAULT_TIMEOUT.as_secs(),
            cap: OUTPUT_CAP,
            alone: false,
            user: false,
        }
    }

    /// A fixed shell snippet from infraspec itself, run as `sh -c SNIPPET sh
    /// ARGS…`: the snippet is constant text, and whatever came from a spec is
    /// passed as positional parameters. `shown` is what people read for it.
    pub fn script<I, S>(snippet: &str, args: I, shown: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut argv = vec!["sh".to_string(), "-c".into(), snippet.into(), "sh".into()];
        argv.extend(args.into_iter().map(Into::into));
        Probe {
            argv,
            shown: Some(shown.into()),
            timeout_secs: Self::DEFAULT_TIMEOUT.as_secs(),
            cap: OUTPUT_CAP,
            alone: false,
            user: false,
        }
    }

    /// The same probe with another timeout (rounded up to whole seconds).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout_secs = timeout.as_secs_f64().ceil().max(1.0) as u64;
        self
    }

    /// The same probe without its own timeout: for reads that cannot block
    /// (`/proc`, `/sys`, a local database), bounded by the batch's timeout.
    pub fn untimed(mut self) -> Self {
        self.timeout_secs = 0;
        self
    }

    /// The same probe, run before the batch's other probes and with none of
    /// them running: for reads of the process and socket tables, which would
    /// otherwise see infraspec's own probes (and their timer) as processes.
    /// It runs untimed, so it must be a read that cannot block.
    pub fn alone(mut self) -> Self {
        self.alone = true;
        self.timeout_secs = 0;
        self
    }

    /// The same probe, as a command the spec's author wrote: it keeps the
    /// target's locale (infraspec's own probes run with `LC_ALL=C`).
    pub fn by_user(mut self) -> Self {
        self.user = true;
        self
    }

    /// The same probe keeping up to `cap` bytes of each stream.
    pub fn with_cap(mut self, cap: usize) -> Self {
        self.cap = cap.max(1);
        self
    }

    pub fn argv_slice(&self) -> &[String] {
        &self.argv
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// Most bytes kept of each of the probe's streams.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Whether this is a command the spec's author wrote ([`Probe::by_user`]).
    pub fn is_users(&self) -> bool {
        self.user
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(shown) = &self.shown {
            return f.write_str(shown);
        }
        for (i, arg) in self.argv.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&display_word(arg))?;
        }
        Ok(())
    }
}

/// Quotes a word for display only when it needs it.
pub fn display_word(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=+,%@".contains(&b));
    if plain {
        arg.to_string()
    } else {
        quote(arg)
    }
}

/// Quotes a word for POSIX sh: inside single quotes every byte is literal, and a
/// single quote is written as `'\''`.
pub fn quote(arg: &str) -> String {
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('\'');
    for c in arg.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// What one probe printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProbeOutput {
    pub status: i32,
    /// What was kept of stdout: at most the probe's cap.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// How many bytes the probe really printed on each stream.
    pub stdout_len: u64,
    pub stderr_len: u64,
    /// The probe's watchdog killed it at its timeout.
    pub timed_out: bool,
}

impl ProbeOutput {
    /// Output that was kept whole.
    pub fn new(status: i32, stdout: Vec<u8>, stderr: Vec<u8>) -> ProbeOutput {
        ProbeOutput {
            status,
            stdout_len: stdout.len() as u64,
            stderr_len: stderr.len() as u64,
            stdout,
            stderr,
            timed_out: false,
        }
    }

    /// More was printed on stdout than was kept.
    pub fn truncated(&self) -> bool {
        self.stdout_len > self.stdout.len() as u64
    }

    /// A short excerpt of stderr for error messages.
    pub fn stderr_excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let text = text.trim();
        let mut lines: Vec<&str> = text.lines().take(3).collect();
        if text.lines().count() > 3 {
            lines.push("…");
        }
        let joined = lines.join(" / ");
        if joined.chars().count() > 300 {
            let cut: String = joined.chars().take(300).collect();
            format!("{cut}…")
        } else {
            joined
        }
    }
}

/// The answer of a probe the script stopped at the batch's deadline (or never
/// started because the deadline had passed): the runner words it with the
/// batch's timeout.
pub const STOPPED: &str = "stopped at the batch's deadline";

/// The answer of a probe after which the script could not write one byte
/// to its temporary directory: the filesystem was full, so the probe's own
/// output may have been cut short (a cut `getent` reads as "no such user").
pub const FULL: &str = "its output may be cut: the temporary directory on the target was full \
                        when the probe ended (no space left to write a byte)";

/// A probe's answer: its output, or why there is none (it did not run, its
/// frame was cut).
pub type Answer = Result<ProbeOutput, String>;

/// A random token from the kernel's generator, as hex.
pub fn nonce() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_err() {
        // No /dev/urandom: fall back to clock, process id and a counter. The
        // framing does not rest on this being secret (see the module docs).
        static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as u128;
        bytes
            .copy_from_slice(&(t ^ ((std::process::id() as u128) << 64) ^ (n << 96)).to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The script's fixed part: the private directory, the tools it relies on,
/// and the functions that run probes (`p`), keep time (`w`) and print frames
/// (`e`). Files are created with `true >FILE`, never `: >FILE`: a
/// redirection that fails on the special builtin `:` ends a POSIX shell, and a
/// full disk must cost one probe, not the batch.
///
/// `p I TIMEOUT CAP USER ARGV…` runs ARGV (with `LC_ALL=C` unless USER is 1:
/// a command the spec's author wrote) with stdin from /dev/null and stdout and
/// stderr to fresh files, and appends `I STATUS KILLED CAP` to its lane's
/// status file (`I lost` when its files cannot be created, `I late` when the
/// batch's deadline passed before it could start). KILLED is 1 when the
/// watchdog killed it at its timeout, 2 at the batch's deadline, and 3 when
/// one byte could not be written to a fresh file after it ended: a full
/// filesystem, so its output may have been cut short ([`FULL`]). Lane 0 runs in the script
/// itself, one probe after the other; lanes 1… are background subshells that
/// run at the same time. A probe in a lane runs in the background and its
/// lane records `PID TIMEOUT I` in `$T/cLANE` while it runs, for the watchdog.
/// Where the target has `setsid`, such a probe runs in a session of its own,
/// so that it is killed with everything it started (`kill -KILL -PID`);
/// not an untimed read of infraspec's own (TIMEOUT 0: a read that cannot
/// block and starts nothing), which the deadline kills by its PID.
///
/// `w`, the watchdog, is one background loop for the whole batch: once a
/// second (`$S 1`, the batch's only timer: `sleep`, `busybox sleep`, perl's
/// sleep, or `y`, a loop on /proc/uptime) it kills, with SIGKILL and with its
/// process group, every probe that has been seen running for its timeout,
/// marking it `I.k`; when the batch's deadline `W` comes, it marks and kills
/// whatever still runs (`I.d`) and stops lanes from starting more (it
/// removes `go`), so the batch prints what finished before the runner gives
/// up on it. A probe is never killed early: it is timed from the first tick
/// that sees it. It ends when `run` is removed (see [`render`]) or the
/// directory is gone, never by a signal. Both signals are removals, which
/// need no free inode: a full /tmp cannot keep the watchdog running.
///
/// `q`, the trap on HUP, INT, TERM and PIPE (sent by [`stop_script`] when the
/// run is interrupted), kills the lanes, the watchdog, its timer and every
/// running probe's process group, and removes the directory.
///
/// `e` prints the frames of the lanes in `$E`: `\nNONCE I STATUS KILLED
/// OUTLEN ERRLEN\n`, then exactly min(OUTLEN, CAP) and min(ERRLEN, CAP) bytes.
/// The lengths of all output files come from one `wc -c`, and the headers go
/// to small files so that one `cat` prints every frame that fits its cap; a
/// probe whose files cannot be created or measured prints `\nNONCE I lost
/// REASON\n` instead. Only digits read back from files reach `eval`.
const PRELUDE: &str = r#"umask 077
T=
for d in "${TMPDIR:-/tmp}" /tmp /dev/shm /var/tmp "${HOME:-/}"; do
  [ -d "$d" ] && [ -w "$d" ] || continue
  if mkdir "$d/.infraspec-$D" 2>/dev/null; then
    if { true >"$d/.infraspec-$D/s0"; } 2>/dev/null; then T="$d/.infraspec-$D"; break; fi
    rm -rf "$d/.infraspec-$D"
  fi
done
B="stopped at the batch's deadline"
if [ -z "$T" ]; then printf '\n%s fatal %s\n' "$N" 'no writable temporary directory with a free inode (tried $TMPDIR, /tmp, /dev/shm, /var/tmp, $HOME)'; exit 70; fi
V=; P=
trap 'rm -rf "$T"' EXIT
trap 'q; exit 143' HUP INT TERM PIPE
q() {
  trap '' HUP INT TERM PIPE
  for y in 1 2; do
    for f in "$T"/c*; do
      x=; read -r x t i <"$f" 2>/dev/null
      case $x in ''|*[!0-9]*) ;; *) kill -KILL -"$x" "$x" 2>/dev/null;; esac
    done
    [ "$y" = 2 ] || kill -KILL $V $P 2>/dev/null
  done
  z=; read -r z <"$T/zw" 2>/dev/null
  case $z in ''|*[!0-9]*) ;; *) kill -KILL "$z" 2>/dev/null;; esac
  rm -rf "$T"
}
for x in wc cat head; do command -v "$x" >/dev/null 2>&1 || { printf '\n%s fatal %s\n' "$N" "the target has no $x, which reading probe output needs"; exit 70; }; done
l=1
while [ "$l" -le "$K" ]; do
  { true >"$T/s$l" && true >"$T/c$l"; } 2>/dev/null || { printf '\n%s fatal %s\n' "$N" "cannot create files in $T (disk or inodes full?)"; exit 70; }
  l=$((l + 1))
done
{ true >"$T/run" && true >"$T/go" && echo "$$" >"$T/pid"; } 2>/dev/null || { printf '\n%s fatal %s\n' "$N" "cannot create files in $T (disk or inodes full?)"; exit 70; }
S=
if command -v sleep >/dev/null 2>&1; then S=sleep
elif command -v busybox >/dev/null 2>&1 && busybox sleep 0 >/dev/null 2>&1; then S="busybox sleep"
elif command -v perl >/dev/null 2>&1; then S="perl -e sleep(1)"
elif { read -r u _ </proc/uptime; } 2>/dev/null; then S=y
fi
y() {
  read -r u _ </proc/uptime; u=${u%.*}${u#*.}; u=${u#"${u%%[!0]*}"}
  while :; do
    read -r v _ </proc/uptime; v=${v%.*}${v#*.}; v=${v#"${v%%[!0]*}"}
    [ $((${v:-0} - ${u:-0})) -ge 100 ] && return 0
  done
}
G=
command -v setsid >/dev/null 2>&1 && G=setsid
L=0
p() {
  i=$1; t=$2; c=$3; u=$4; shift 4
  if [ ! -e "$T/go" ]; then echo "$i late" >>"$T/s$L"; return; fi
  o="$T/$i.o"; e="$T/$i.e"
  if ! { true >"$o" && true >"$e"; } 2>/dev/null; then echo "$i lost" >>"$T/s$L"; return; fi
  if [ "$L" -eq 0 ]; then
    if [ "$u" = 1 ]; then "$@" </dev/null >"$o" 2>"$e"; else LC_ALL=C "$@" </dev/null >"$o" 2>"$e"; fi; s=$?
  else
    if [ "$u" = 1 ]; then $G "$@" </dev/null >"$o" 2>"$e" & elif [ "$t" = 0 ]; then LC_ALL=C "$@" </dev/null >"$o" 2>"$e" & else LC_ALL=C $G "$@" </dev/null >"$o" 2>"$e" & fi
    x=$!
    [ "$u" = 1 ] && [ -n "$G" ] && echo "$x" >>"$T/u$L"
    echo "$x $t $i" >"$T/c$L"
    wait "$x"; s=$?
    true >"$T/c$L"
  fi
  m=0
  { printf x >"$T/$i.f"; } 2>/dev/null || m=3
  [ -e "$T/$i.k" ] && m=1
  [ -e "$T/$i.d" ] && m=2
  echo "$i $s $m $c" >>"$T/s$L"
}
w() {
  k=0
  while :; do
    [ -e "$T/run" ] || exit 0
    $S 1 </dev/null >/dev/null 2>&1 &
    z=$!
    echo "$z" >"$T/zw" 2>/dev/null
    [ -e "$T/run" ] || { kill -KILL "$z" 2>/dev/null; exit 0; }
    wait "$z"
    [ -e "$T/run" ] || exit 0
    k=$((k + 1))
    [ "$k" -ge "$W" ] && rm -f "$T/go"
    for f in "$T"/c*; do
      x=; t=; i=
      read -r x t i <"$f" 2>/dev/null
      case "$x.$t.$i" in *[!0-9.]*|.*|*..*|*.) continue;; esac
      eval "a=\${a$i:-}"
      [ -n "$a" ] || { a=$k; eval "a$i=$k"; }
      if [ "$k" -ge "$W" ]; then
        true >"$T/$i.d" 2>/dev/null; kill -KILL -"$x" "$x" 2>/dev/null
      elif [ "$t" -gt 0 ] && [ $((k - a)) -ge "$t" ]; then
        true >"$T/$i.k" 2>/dev/null; kill -KILL -"$x" "$x" 2>/dev/null
      fi
    done
  done
}
e() {
  set --
  for l in $E; do
    while read -r i s m c; do
      case "$i.$s" in *[!0-9.]*) continue;; esac
      eval "zo$i= ze$i="
      [ -s "$T/$i.o" ] && set -- "$@" "$T/$i.o"
      [ -s "$T/$i.e" ] && set -- "$@" "$T/$i.e"
    done <"$T/s$l"
  done
  if [ "$#" -gt 0 ]; then
    wc -c "$@" >"$T/z" 2>/dev/null
    while read -r n f; do
      f=${f##*/}
      case "$n.${f%.[oe]}" in *[!0-9.]*|.*|*.) continue;; esac
      case $f in *.o) eval "zo${f%.o}=\$n";; *.e) eval "ze${f%.e}=\$n";; esac
    done <"$T/z"
  fi
  set --
  for l in $E; do
    while read -r i s m c; do
      case $i in ''|*[!0-9]*) continue;; esac
      r=
      case $s in
        lost) r="its output files could not be created in $T (disk or inodes full?)";;
        late) r="$B";;
        *) a=0; b=0
           [ -s "$T/$i.o" ] && eval "a=\${zo$i:-}"
           [ -s "$T/$i.e" ] && eval "b=\${ze$i:-}"
           [ -n "$a" ] && [ -n "$b" ] || r="its output could not be measured (disk full?)";;
      esac
      if [ -n "$r" ]; then
        [ "$#" -eq 0 ] || cat -- "$@"; set --
        printf '\n%s %s lost %s\n' "$N" "$i" "$r"
        continue
      fi
      if { printf '\n%s %s %s %s %s %s\n' "$N" "$i" "$s" "$m" "$a" "$b" >"$T/$i.h"; } 2>/dev/null; then
        set -- "$@" "$T/$i.h"
      else
        [ "$#" -eq 0 ] || cat -- "$@"; set --
        printf '\n%s %s %s %s %s %s\n' "$N" "$i" "$s" "$m" "$a" "$b"
      fi
      if [ "$a" -gt "$c" ]; then
        [ "$#" -eq 0 ] || cat -- "$@"; set --
        head -c "$c" "$T/$i.o"
      elif [ "$a" -gt 0 ]; then set -- "$@" "$T/$i.o"; fi
      if [ "$b" -gt "$c" ]; then
        [ "$#" -eq 0 ] || cat -- "$@"; set --
        head -c "$c" "$T/$i.e"
      elif [ "$b" -gt 0 ]; then set -- "$@" "$T/$i.e"; fi
      if [ "$#" -ge 300 ]; then cat -- "$@"; set --; fi
    done <"$T/s$l"
  done
  [ "$#" -eq 0 ] || cat -- "$@"
}
"#;

/// What a batch with commands of the spec's author runs after them (see
/// [`render`]): `r` stops what those commands left and reports what it
/// cannot prove is theirs.
///
/// `J`, taken just before the first command starts, is the start time (in
/// clock ticks since boot, from `/proc/self/stat` of a fresh subshell) from
/// which a process is new. Each command runs in a session of its own
/// (`setsid`, its PID recorded in `$T/uLANE`): every process still in one of
/// those sessions is theirs and is killed. A new process that is this
/// shell's descendant is theirs too (where the shell is a child subreaper,
/// everything they started stays below it) and is killed. What is left
/// and new, live, of this shell's cgroup, reachable by its user (the same
/// effective uid, or any when it is root), not an ancestor of this shell,
/// and an orphan (its oldest new ancestor's parent is PID 1, or gone) may
/// have been started by a command
/// that left its session: it is reported as `\nNONCE left PID\n` and is not
/// killed, since the target's own init may have started it. Without a
/// readable /proc the answer is `\nNONCE left unknown\n`. Only digits read
/// from /proc reach `eval`; the loop runs without a process of its own.
const SWEEP: &str = r#"r() {
  if [ -z "$J" ] || ! [ -r "/proc/$$/stat" ]; then printf '\n%s left unknown\n' "$N"; return; fi
  l=; read -r l <"/proc/$$/stat"; l=${l##*) }; set -- $l; O=$4
  X=
  for f in "$T"/u*; do
    [ -f "$f" ] || continue
    while read -r x; do case $x in ''|*[!0-9]*) ;; "$O") ;; *) X="$X $x";; esac; done <"$f"
  done
  C=; while read -r l; do C="$C|$l"; done <"/proc/$$/cgroup" 2>/dev/null
  I=; while read -r a b c d; do [ "$a" = Uid: ] && I=$c && break; done <"/proc/$$/status" 2>/dev/null
  n=0
  while :; do
    n=$((n + 1)); k=; H=
    for f in /proc/[0-9]*/stat; do
      q=${f#/proc/}; q=${q%/stat}
      case $q in ''|*[!0-9]*) continue;; esac
      l=; { read -r l <"$f"; } 2>/dev/null || continue
      l=${l##*) }
      set -- $l
      case "$2.$4.${20:-}" in *[!0-9.]*|.*|*..*|*.) continue;; esac
      eval "y$q=$2 b$q=${20}"
      [ "$1" = Z ] || [ "$q" = "$$" ] && continue
      case " $X " in *" $4 "*) kill -KILL "$q" 2>/dev/null; k=1; continue;; esac
      [ "${20}" -ge "$J" ] && H="$H $q"
    done
    A=" 0 1 "; a=$$; m=0
    while [ "$m" -lt 64 ]; do
      m=$((m + 1)); eval "z=\${y$a:-}"
      case $z in ''|0|1) break;; esac
      A="$A$z "; a=$z
    done
    R=
    for h in $H; do
      case $A in *" $h "*) continue;; esac
      a=$h; m=0; o=
      while [ "$m" -lt 64 ]; do
        m=$((m + 1))
        eval "z=\${y$a:-}"
        if [ "$z" = "$$" ]; then o=mine; break; fi
        case $z in ''|0|1) o=orphan; break;; esac
        eval "g=\${b$z:-}"
        if [ -z "$g" ]; then o=orphan; break; fi
        [ "$g" -ge "$J" ] || break
        a=$z
      done
      case $o in
        mine) kill -KILL "$h" 2>/dev/null; k=1;;
        orphan)
          if [ -n "$I" ] && [ "$I" != 0 ]; then
            e=; while read -r a b c d; do [ "$a" = Uid: ] && e=$c && break; done <"/proc/$h/status" 2>/dev/null
            [ "$e" = "$I" ] || continue
          fi
          g=; while read -r l; do g="$g|$l"; done <"/proc/$h/cgroup" 2>/dev/null
          [ "$g" = "$C" ] && R="$R $h";;
      esac
    done
    [ -n "$k" ] && [ "$n" -lt 20 ] || break
  done
  for h in $R; do printf '\n%s left %s\n' "$N" "$h"; done
  [ -z "$k" ] || printf '\n%s left unknown\n' "$N"
}
"#;

/// How a batch is run: how many lanes run probes at the same time, and the
/// deadline by which the script stops what still runs and prints what it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Lanes running probes at the same time (at least 1).
    pub lanes: usize,
    /// Seconds after which the script stops the probes still running.
    pub deadline_secs: u64,
    /// The runner itself stops everything the author's commands start
    /// ([`crate::backend::Shell::contain`]): the script's own sweep after
    /// them (its `r` function) is left out.
    pub contained: bool,
}

impl Schedule {
    /// Lanes for a target with `cpus` CPUs, and a deadline a little before
    /// the runner's `timeout` for the whole batch, so that what finished is
    /// printed before the runner gives up.
    pub fn new(cpus: Option<u32>, timeout: Duration) -> Schedule {
        Schedule {
            lanes: cpus.unwrap_or(2).clamp(1, 8) as usize,
            // The watchdog's seconds run a little slow (each tick is a
            // `sleep 1` and a look at the lanes): a tenth of the time, 2 to
            // 10 s, is left for that and for printing.
            deadline_secs: {
                let t = timeout.as_secs();
                t.saturating_sub((t / 10).clamp(2, 10)).max(1)
            },
            contained: false,
        }
    }

    /// The same schedule, for a round the runner contains.
    pub fn contained(self, contained: bool) -> Schedule {
        Schedule { contained, ..self }
    }
}

/// Renders the batch script for `probes`, framed with `nonce`.
///
/// Probes that read the process or socket tables run first, alone, one after
/// the other, so that no other probe (and no timer) is in what they see; the
/// rest run in `schedule.lanes` lanes at the same time.
pub fn render(probes: &[Probe], nonce: &str, schedule: Schedule) -> String {
    render_in(probes, nonce, &dir_token(), schedule)
}

/// A fresh name for a batch's private directory (`.infraspec-TOKEN`): not
/// the nonce, which no command on the target may learn.
pub fn dir_token() -> String {
    self::nonce()[..16].to_string()
}

/// The script that stops the batch whose directory is `.infraspec-TOKEN`,
/// run on the target through a second exec: it asks the batch's shell to
/// stop (SIGTERM: the shell's trap kills its lanes, the watchdog and every
/// running probe's process group, and removes the directory), and whatever
/// is still there after two seconds it kills and removes itself.
pub fn stop_script(token: &str) -> String {
    assert!(
        token.bytes().all(|b| b.is_ascii_hexdigit()),
        "a directory token is hex"
    );
    format!(
        r#"for d in "${{TMPDIR:-/tmp}}" /tmp /dev/shm /var/tmp "${{HOME:-/}}"; do
  T="$d/.infraspec-{token}"
  [ -d "$T" ] || continue
  p=; read -r p <"$T/pid" 2>/dev/null
  case $p in ''|*[!0-9]*) ;; *) kill -TERM "$p" 2>/dev/null;; esac
  n=0
  while [ -d "$T" ] && [ "$n" -lt 20 ]; do sleep 0.1 2>/dev/null || n=$((n + 1)); n=$((n + 1)); done
  [ -d "$T" ] || continue
  for f in "$T"/c*; do
    x=; read -r x t i <"$f" 2>/dev/null
    case $x in ''|*[!0-9]*) ;; *) kill -KILL -"$x" "$x" 2>/dev/null;; esac
  done
  case $p in ''|*[!0-9]*) ;; *) kill -KILL "$p" 2>/dev/null;; esac
  rm -rf "$T"
done
"#
    )
}

/// [`render`], with the private directory named by `token` (from
/// [`dir_token`]), so that [`stop_script`] can find the batch.
pub fn render_in(probes: &[Probe], nonce: &str, token: &str, schedule: Schedule) -> String {
    let (alone, rest): (Vec<_>, Vec<_>) = probes.iter().enumerate().partition(|(_, p)| p.alone);
    // infraspec's own probes run, and are measured and printed, before any
    // command of the spec's author runs: nothing such a command can reach
    // (its descriptors, its directory) then holds an own probe's unread output.
    let (own, user): (Vec<_>, Vec<_>) = rest.iter().copied().partition(|(_, p)| !p.user);
    let own_lanes = schedule.lanes.max(1).min(own.len());
    let user_lanes = schedule.lanes.max(1).min(user.len());
    let mut s = String::with_capacity(PRELUDE.len() + 512 + probes.len() * 64);
    s.push_str("{\n");
    s.push_str(&format!(
        "N={nonce}\nprintf '\\n%s start\\n' \"$N\"\nD={}\nK={}\nW={}\n",
        token,
        own_lanes + user_lanes,
        schedule.deadline_secs.max(1)
    ));
    s.push_str(PRELUDE);
    let line = |s: &mut String, i: usize, probe: &Probe| {
        s.push_str(&format!(
            "p {i} {} {} {}",
            probe.timeout_secs,
            probe.cap,
            u8::from(probe.user)
        ));
        for arg in &probe.argv {
            s.push(' ');
            s.push_str(&quote(arg));
        }
        s.push('\n');
    };
    for (i, probe) in &alone {
        line(&mut s, *i, probe);
    }
    s.push_str("E=0\ne\n");
    if !rest.is_empty() {
        // Reads that cannot block need no watchdog; the runner's timeout
        // for the whole batch still bounds them.
        if rest.iter().any(|(_, p)| p.timeout_secs > 0) {
            s.push_str("[ -z \"$S\" ] || { w </dev/null >/dev/null 2>&1 & V=$!; }\n");
        }
        // Each group in lanes of its own numbers, printed when it is done.
        for (group, lanes, first) in [(&own, own_lanes, 1), (&user, user_lanes, own_lanes + 1)] {
            if lanes == 0 {
                continue;
            }
            if first > own_lanes {
                // From here on a process is new (see SWEEP).
                s.push_str("J=$(l=; read -r l </proc/self/stat 2>/dev/null; l=${l##*) }; set -- $l; echo \"${20:-}\")\ncase $J in *[!0-9]*) J=;; esac\n");
            }
            s.push_str("P=\n");
            for lane in 0..lanes {
                s.push_str(&format!("(\nL={}\n", first + lane));
                for (i, probe) in group.iter().skip(lane).step_by(lanes) {
                    line(&mut s, *i, probe);
                }
                s.push_str(") </dev/null &\nP=\"$P $!\"\n");
            }
            s.push_str("for x in $P; do wait \"$x\"; done\nP=\n");
            let these: Vec<String> = (first..first + lanes).map(|l| l.to_string()).collect();
            s.push_str(&format!("E=\"{}\"\ne\n", these.join(" ")));
        }
        // The watchdog is stopped without a signal it could miss (a TERM
        // that arrives before a subshell has reset its traps is lost): it
        // sees `run` gone before and after each tick, and the current tick
        // is killed so that it does not wait for it.
        s.push_str("[ -z \"$V\" ] || { rm -f \"$T/run\"; z=; read -r z <\"$T/zw\" 2>/dev/null && kill -KILL \"$z\" 2>/dev/null; wait \"$V\"; }\n");
        if !user.is_empty() && !schedule.contained {
            // What the author's commands left is stopped, or reported,
            // before the batch ends: the next round trusts nothing of it.
            s.push_str(SWEEP);
            s.push_str("r\n");
        }
    }
    // The directory goes before the last line: a shell kept for the next
    // round leaves nothing behind it.
    s.push_str(&format!(
        "rm -rf \"$T\"\nprintf '\\n%s done %s\\n' \"$N\" {}\n}}\n",
        probes.len()
    ));
    s
}

/// How the runner knows that a batch written to a kept shell has printed
/// all it will: its `done` line, or a `fatal` line (then the shell exits).
pub struct RoundEnd {
    start: Vec<u8>,
    done: Vec<u8>,
    fatal: Vec<u8>,
    /// Where the next look starts: what was looked at before holds no end.
    from: std::cell::Cell<usize>,
}

impl RoundEnd {
    /// The end of the batch framed with `nonce`.
    pub fn new(nonce: &str) -> RoundEnd {
        RoundEnd {
            start: format!("\n{nonce} start\n").into_bytes(),
            done: format!("\n{nonce} done ").into_bytes(),
            fatal: format!("\n{nonce} fatal ").into_bytes(),
            from: std::cell::Cell::new(0),
        }
    }

    /// Whether `out`, the batch's output so far (it only grows), holds a
    /// whole `done` or `fatal` line. Each byte is looked at about once.
    pub fn seen(&self, out: &[u8]) -> bool {
        let from = self.from.get();
        let at = [&self.done, &self.fatal]
            .iter()
            .filter_map(|m| find(out, m, from).map(|i| (i, m.len())))
            .min();
        match at {
            Some((i, len)) if out[i + len..].contains(&b'\n') => true,
            Some((i, _)) => {
                self.from.set(i);
                false
            }
            None => {
                self.from.set(
                    out.len()
                        .saturating_sub(self.done.len().max(self.fatal.len())),
                );
                false
            }
        }
    }

    /// Whether `out` starts with the batch's first line.
    pub fn starts(&self, out: &[u8]) -> bool {
        out.starts_with(&self.start)
    }
}

/// One frame as the script prints it, for backends and tests that answer a
/// batch without a shell: the header, then the kept part of each stream.
pub fn frame(nonce: &str, index: usize, out: &ProbeOutput, cap: usize) -> Vec<u8> {
    let kept_out = &out.stdout[..out.stdout.len().min(cap)];
    let kept_err = &out.stderr[..out.stderr.len().min(cap)];
    let mut bytes = format!(
        "\n{nonce} {index} {} {} {} {}\n",
        out.status,
        u8::from(out.timed_out),
        out.stdout_len.max(out.stdout.len() as u64),
        out.stderr_len.max(out.stderr.len() as u64)
    )
    .into_bytes();
    bytes.extend_from_slice(kept_out);
    bytes.extend_from_slice(kept_err);
    bytes
}

/// The line that ends a batch of `count` probes.
pub fn frame_end(nonce: &str, count: usize) -> Vec<u8> {
    format!("\n{nonce} done {count}\n").into_bytes()
}

/// Why a batch's output could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the probe script stopped on the target: {0}")]
    Fatal(String),
    /// Bytes that the script did not write stand between frames: something
    /// on the target wrote into infraspec's output.
    #[error("the probe output was tampered with: {0}; nothing from this batch is trusted")]
    Tampered(String),
}

/// What the batch's sweep (after the author's commands) saw left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Left {
    /// Processes that may have been started by a command that left its
    /// session, still running when the batch ended.
    pub pids: Vec<u32>,
    /// The sweep could not tell (no readable /proc, or processes that kept
    /// coming back).
    pub unknown: bool,
}

impl Left {
    /// Whether anything may have outlived the batch's commands.
    pub fn any(&self) -> bool {
        self.unknown || !self.pids.is_empty()
    }
}

/// One round's output, read: each probe's answer, and what its commands
/// left behind.
#[derive(Debug, Clone, Default)]
pub struct Round {
    pub answers: Vec<Answer>,
    pub left: Left,
    /// The batch's last line came: the script ran to its end.
    pub complete: bool,
}

/// Splits the output of a batch script into per-probe answers. A probe whose
/// frame is missing or cut (the script was killed, the connection ended) is
/// an `Err` saying so; what finished before keeps its answer.
pub fn parse(output: &[u8], nonce: &str, probes: &[Probe]) -> Result<Vec<Answer>, FrameError> {
    parse_round(output, nonce, probes).map(|r| r.answers)
}

/// [`parse`], with what the sweep after the author's commands reported.
pub fn parse_round(output: &[u8], nonce: &str, probes: &[Probe]) -> Result<Round, FrameError> {
    let mut left = Left::default();
    let count = probes.len();
    let mut marker = Vec::with_capacity(nonce.len() + 2);
    marker.push(b'\n');
    marker.extend_from_slice(nonce.as_bytes());
    marker.push(b' ');

    let missing =
        || Err("no result: the probe script ended before this probe finished".to_string());
    let mut results: Vec<Answer> = (0..count).map(|_| missing()).collect();
    let mut seen = vec![false; count];
    let mut seen_start = false;
    // Anything before the first frame (a login banner, sudo's lecture) is not
    // ours and is skipped; from the first frame on, frames follow each other.
    let Some(mut at) = find(output, &marker, 0) else {
        return Ok(Round {
            answers: results,
            left,
            complete: false,
        });
    };
    loop {
        if at >= output.len() {
            break;
        }
        if !output[at..].starts_with(&marker) {
            let rest = &output[at..];
            // A stream that was cut in the middle of a header is only short.
            if marker.starts_with(rest) {
                break;
            }
            return Err(FrameError::Tampered(format!(
                "{} unexpected byte(s) at offset {at}",
                rest.len()
            )));
        }
        let header_start = at + marker.len();
        let Some(nl) = output[header_start..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let header = String::from_utf8_lossy(&output[header_start..header_start + nl]).into_owned();
        let data_start = header_start + nl + 1;
        let mut words = header.split(' ');
        let first = words.next().unwrap_or_default();
        let bad = || FrameError::Tampered(format!("a malformed frame header {header:?}"));
        match first {
            "fatal" => {
                return Err(FrameError::Fatal(
                    header["fatal ".len().min(header.len())..].to_string(),
                ))
            }
            // The script's first line: from here on, only frames may follow
            // (bytes a probe pushes into the stream land after it).
            "start" if !seen_start && !seen.iter().any(|s| *s) => {
                seen_start = true;
                at = data_start;
                continue;
            }
            "done" => {
                if words.next() != Some(count.to_string().as_str()) {
                    return Err(bad());
                }
                if data_start < output.len() {
                    return Err(FrameError::Tampered(format!(
                        "{} byte(s) after the end of the batch",
                        output.len() - data_start
                    )));
                }
                return Ok(Round {
                    answers: results,
                    left,
                    complete: true,
                });
            }
            "left" => {
                match words.next() {
                    Some("unknown") => left.unknown = true,
                    Some(pid) => left.pids.push(pid.parse().map_err(|_| bad())?),
                    None => return Err(bad()),
                }
                at = data_start;
                continue;
            }
            _ => {}
        }
        let i = first
            .parse::<usize>()
            .ok()
            .filter(|i| *i < count && !seen[*i])
            .ok_or_else(bad)?;
        seen[i] = true;
        let second = words.next().unwrap_or_default();
        if second == "lost" {
            let why = header.splitn(3, ' ').nth(2).unwrap_or_default();
            results[i] = Err(if why == STOPPED {
                STOPPED.to_string()
            } else {
                format!("the probe did not run: {why}")
            });
            at = data_start;
            continue;
        }
        let numbers: Vec<u64> = std::iter::once(second)
            .chain(words)
            .map(|w| w.parse::<i64>().map(|n| n as u64))
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        let [status, killed, out_len, err_len] = numbers[..] else {
            return Err(bad());
        };
        let cap = probes[i].cap as u64;
        let kept_out = out_len.min(cap) as usize;
        let kept_err = err_len.min(cap) as usize;
        let end = data_start.saturating_add(kept_out).saturating_add(kept_err);
        if end > output.len() {
            results[i] = Err("the probe's output was cut: the connection ended or the batch timed out while it was read".into());
            break;
        }
        if killed == 2 {
            results[i] = Err(STOPPED.to_string());
            at = end;
            continue;
        }
        if killed == 3 {
            results[i] = Err(FULL.to_string());
            at = end;
            continue;
        }
        results[i] = Ok(ProbeOutput {
            status: status as i64 as i32,
            stdout: output[data_start..data_start + kept_out].to_vec(),
            stderr: output[data_start + kept_out..end].to_vec(),
            stdout_len: out_len,
            stderr_len: err_len,
            timed_out: killed == 1,
        });
        at = end;
    }
    Ok(Round {
        answers: results,
        left,
        complete: false,
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (from..=haystack.len() - needle.len()).find(|&i| haystack[i..].starts_with(needle))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds what the target would print for these results, as the script does.
    fn frame(nonce: &str, results: &[(i32, &[u8], &[u8])]) -> Vec<u8> {
        let mut out = b"motd noise\n".to_vec();
        for (i, (status, stdout, stderr)) in results.iter().enumerate() {
            let o = ProbeOutput::new(*status, stdout.to_vec(), stderr.to_vec());
            out.extend(super::frame(nonce, i, &o, OUTPUT_CAP));
        }
        out.extend(frame_end(nonce, results.len()));
        out
    }

    fn probes(n: usize) -> Vec<Probe> {
        (0..n).map(|i| Probe::argv(["p", &i.to_string()])).collect()
    }

    #[test]
    fn a_round_ends_at_its_whole_done_or_fatal_line_however_it_is_cut() {
        let nonce = "n0nce";
        let whole = b"\nn0nce start\n\nn0nce 0 0 0 2 0\nok\nn0nce done 1\n";
        // Fed byte by byte, as a slow pipe may give it: the end is seen at
        // the done line's newline and not a byte before.
        let end = RoundEnd::new(nonce);
        let first = (1..=whole.len()).find(|&n| end.seen(&whole[..n]));
        assert_eq!(first, Some(whole.len()));
        assert!(end.starts(whole));
        let fatal = b"\nn0nce fatal no writable temporary directory\n";
        let end = RoundEnd::new(nonce);
        assert!(!end.seen(&fatal[..fatal.len() - 1]));
        assert!(end.seen(fatal));
        // Another batch's lines, or a probe's data, end nothing.
        let end = RoundEnd::new(nonce);
        assert!(!end.seen(b"\nother done 1\nn0nce done"));
        assert!(!end.starts(b"junk\nn0nce start\n"));
    }

    #[test]
    fn frames_are_split_per_probe_and_binary_safe() {
        let n = "0123456789abcdef";
        let binary: &[u8] = b"\x00\xff\n\nno newline at end";
        let out = frame(n, &[(0, binary, b""), (3, b"", b"boom\n")]);
        let got = parse(&out, n, &probes(2)).unwrap();
        let a = got[0].as_ref().unwrap();
        assert_eq!((a.stdout.as_slice(), a.status), (binary, 0));
        let b = got[1].as_ref().unwrap();
        assert_eq!((b.stderr.as_slice(), b.status), (&b"boom\n"[..], 3));
    }

    #[test]
    fn output_that_knows_the_nonce_still_cannot_forge_results() {
        let n = "0123456789abcdef";
        // A probe that prints whole frames, with the right nonce, for itself
        // and for the next probe.
        let forged = format!("\n{n} 1 0 0 6 0\nforged\n{n} done 2\n");
        let out = frame(n, &[(1, forged.as_bytes(), b""), (1, b"real", b"")]);
        let got = parse(&out, n, &probes(2)).unwrap();
        assert_eq!(got[0].as_ref().unwrap().stdout, forged.as_bytes());
        assert_eq!(got[1].as_ref().unwrap().stdout, b"real");
        assert_eq!(got[1].as_ref().unwrap().status, 1);
    }

    #[test]
    fn bytes_pushed_between_frames_make_the_batch_an_error() {
        let n = "00112233";
        let mut out = frame(n, &[(0, b"a", b"")]);
        let at = out.len() - format!("\n{n} done 1\n").len();
        out.splice(at..at, format!("\n{n} 1 0 0 0 0\n").bytes());
        assert!(matches!(
            parse(&out, n, &probes(2)),
            Err(FrameError::Tampered(_))
        ));
        let mut out = frame(n, &[(0, b"a", b"")]);
        out.extend_from_slice(b"trailing");
        assert!(matches!(
            parse(&out, n, &probes(1)),
            Err(FrameError::Tampered(_))
        ));
    }

    #[test]
    fn a_cut_stream_keeps_what_finished_and_names_what_did_not() {
        let n = "00112233";
        let full = frame(n, &[(0, b"aaaa", b""), (0, b"bbbb", b"")]);
        let second = full.windows(4).position(|w| w == b"bbbb").unwrap();
        let got = parse(&full[..second + 2], n, &probes(2)).unwrap();
        assert_eq!(got[0].as_ref().unwrap().stdout, b"aaaa");
        assert!(got[1].as_ref().unwrap_err().contains("cut"));
    }

    #[test]
    fn output_over_the_cap_is_marked_not_silently_cut() {
        let n = "00112233";
        let mut out = format!("\n{n} 0 0 0 10 0\n").into_bytes();
        out.extend_from_slice(b"abcd");
        out.extend(format!("\n{n} done 1\n").bytes());
        let probes = vec![Probe::argv(["x"]).with_cap(4)];
        let got = parse(&out, n, &probes).unwrap();
        let o = got[0].as_ref().unwrap();
        assert!(o.truncated());
        assert_eq!((o.stdout.as_slice(), o.stdout_len), (&b"abcd"[..], 10));
    }

    #[test]
    fn fatal_setup_errors_are_reported() {
        let out = b"\nabc fatal no writable temporary directory\n";
        assert_eq!(
            parse(out, "abc", &probes(1)),
            Err(FrameError::Fatal("no writable temporary directory".into()))
        );
    }

    #[test]
    fn quoting_keeps_every_byte_literal() {
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(display_word("nginx"), "nginx");
        assert_eq!(display_word("a b"), "'a b'");
    }

    /// Runs the rendered batch under a real `sh` and parses its output.
    fn run_under_sh(probes: &[Probe], env: &[(&str, &str)]) -> Vec<Answer> {
        run_scheduled(probes, env, Schedule::new(Some(2), Duration::from_secs(60))).0
    }

    /// The answers, and the PID of the batch's shell.
    pub(crate) fn run_scheduled(
        probes: &[Probe],
        env: &[(&str, &str)],
        schedule: Schedule,
    ) -> (Vec<Answer>, u32) {
        use std::io::Write;
        let n = nonce();
        let mut child = std::process::Command::new("/bin/sh")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(render(probes, &n, schedule).as_bytes())
            .unwrap();
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        (parse(&out.stdout, &n, probes).unwrap(), pid)
    }

    #[test]
    fn script_runs_under_a_real_sh() {
        let probes = vec![
            Probe::argv(["printf", "%s", "a'b$(echo no)`echo no`;\nc"]),
            Probe::script("echo \"$1\" >&2; exit 7", ["x y"], "test snippet"),
            Probe::argv(["infraspec-no-such-command-xyz"]),
        ];
        let got = run_under_sh(&probes, &[]);
        assert_eq!(
            got[0].as_ref().unwrap().stdout,
            b"a'b$(echo no)`echo no`;\nc"
        );
        let second = got[1].as_ref().unwrap();
        assert_eq!(
            (second.status, second.stderr.as_slice()),
            (7, &b"x y\n"[..])
        );
        assert_eq!(got[2].as_ref().unwrap().status, 127);
    }

    /// Issue 26, case 18: infraspec's own probes read the C locale; a
    /// command the spec's author wrote keeps the target's.
    #[test]
    fn own_probes_run_in_the_c_locale_and_user_commands_in_the_targets() {
        let probes = vec![
            Probe::argv(["sh", "-c", "echo \"$LC_ALL\""]),
            Probe::argv(["sh", "-c", "echo \"$LC_ALL\""]).by_user(),
            // Read first, alone, in the script's own shell (lane 0).
            Probe::argv(["sh", "-c", "echo \"$LC_ALL\""]).alone(),
        ];
        for lanes in [1, 2] {
            let schedule = Schedule::new(Some(lanes), Duration::from_secs(60));
            let got = run_scheduled(&probes, &[("LC_ALL", "xx_XX.UTF-8")], schedule).0;
            let text =
                |i: usize| String::from_utf8_lossy(&got[i].as_ref().unwrap().stdout).into_owned();
            assert_eq!(
                (text(0), text(1)),
                ("C\n".to_string(), "xx_XX.UTF-8\n".to_string())
            );
        }
    }

    #[test]
    fn a_probe_that_never_ends_is_killed_at_its_timeout_without_timeout_1() {
        // PATH without coreutils' timeout: only sh, sleep, wc, head, kill.
        let dir = std::env::temp_dir().join(format!("infraspec-path-{}", nonce()));
        std::fs::create_dir_all(&dir).unwrap();
        for tool in ["sleep", "wc", "head", "rm", "mkdir", "cat"] {
            let real = ["/usr/bin", "/bin"]
                .iter()
                .map(|d| std::path::Path::new(d).join(tool))
                .find(|p| p.exists())
                .unwrap();
            std::os::unix::fs::symlink(real, dir.join(tool)).unwrap();
        }
        let path = dir.to_string_lossy().into_owned();
        let probes = vec![
            Probe::argv(["sleep", "30"]).with_timeout(Duration::from_secs(1)),
            Probe::argv(["cat", "/dev/null"]).untimed(),
        ];
        let started = std::time::Instant::now();
        let got = run_under_sh(&probes, &[("PATH", &path)]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert!(got[0].as_ref().unwrap().timed_out, "{got:?}");
        assert_eq!(got[1].as_ref().unwrap().status, 0);
    }

    #[test]
    fn a_background_child_cannot_hold_the_batch_open() {
        let probes = vec![Probe::argv(["sh", "-c", "sleep 30 & echo started"])];
        let started = std::time::Instant::now();
        let got = run_under_sh(&probes, &[]);
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(got[0].as_ref().unwrap().stdout, b"started\n");
    }

    #[test]
    fn lanes_run_probes_at_the_same_time() {
        // Each waits for the other's file: both succeed only when they run
        // at the same time.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let meet = "true >\"$1/$2\"; n=0; while [ ! -e \"$1/$3\" ]; do n=$((n+1)); [ $n -gt 500 ] && exit 9; sleep 0.01; done";
        let probes = vec![
            Probe::script(meet, [d, "a", "b"], "a").with_timeout(Duration::from_secs(20)),
            Probe::script(meet, [d, "b", "a"], "b").with_timeout(Duration::from_secs(20)),
        ];
        let got = run_under_sh(&probes, &[]);
        assert_eq!(got[0].as_ref().unwrap().status, 0, "{got:?}");
        assert_eq!(got[1].as_ref().unwrap().status, 0, "{got:?}");
    }

    #[test]
    fn the_deadline_stops_what_runs_and_keeps_what_finished() {
        let probes = vec![
            Probe::argv(["echo", "first"]),
            Probe::argv(["sleep", "30"]),
            Probe::argv(["echo", "never"]),
        ];
        let one_lane = Schedule {
            lanes: 1,
            deadline_secs: 1,
            contained: false,
        };
        let started = std::time::Instant::now();
        let (got, _) = run_scheduled(&probes, &[], one_lane);
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(got[0].as_ref().unwrap().stdout, b"first\n");
        assert_eq!(got[1], Err(STOPPED.to_string()));
        assert_eq!(got[2], Err(STOPPED.to_string()));
    }

    /// Whether process `pid` lives (a zombie does not).
    fn alive(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    }

    #[test]
    fn the_sweep_stops_the_commands_sessions_and_reports_what_left_them_in_every_shell() {
        use std::io::Write;
        let shells: Vec<Vec<&str>> = [vec!["/bin/sh"], vec!["bash"], vec!["busybox", "sh"]]
            .into_iter()
            .filter(|argv| {
                std::process::Command::new(argv[0])
                    .args(&argv[1..])
                    .args(["-c", "true"])
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .collect();
        assert!(shells.len() >= 2, "dash and bash at least: {shells:?}");
        for shell in shells {
            let probes = [
                Probe::argv(["echo", "own"]),
                Probe::argv([
                    "sh",
                    "-c",
                    "sleep 30 </dev/null >/dev/null 2>&1 & echo $!; setsid sleep 30 </dev/null >/dev/null 2>&1 & echo $!",
                ])
                .by_user(),
            ];
            let n = nonce();
            let mut child = std::process::Command::new(shell[0])
                .args(&shell[1..])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let script = render(&probes, &n, Schedule::new(Some(2), Duration::from_secs(60)));
            child
                .stdin
                .take()
                .unwrap()
                .write_all(script.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            let round = parse_round(&out.stdout, &n, &probes).unwrap();
            let pids =
                String::from_utf8(round.answers[1].as_ref().unwrap().stdout.clone()).unwrap();
            let [stays, leaves] = pids.split_whitespace().collect::<Vec<_>>()[..] else {
                panic!("{shell:?}: {pids:?}");
            };
            assert!(round.complete, "{shell:?}");
            assert!(
                !alive(stays),
                "{shell:?}: the child in the session outlived the batch"
            );
            assert_eq!(
                round.left,
                Left {
                    pids: vec![leaves.parse().unwrap()],
                    unknown: false
                },
                "{shell:?}"
            );
            assert!(alive(leaves), "{shell:?}: only reported, never killed");
            // SAFETY: kill(2) on the test's own leftover.
            unsafe {
                libc::kill(leaves.parse().unwrap(), libc::SIGKILL);
            }
        }
    }
}
