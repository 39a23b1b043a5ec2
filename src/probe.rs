//! Probes and the framed batch script that runs them.
//!
//! A probe is an argv to run on the target. The engine never runs probes one by
//! one: it renders every probe of a round into one POSIX `sh` script, sends the
//! script on the standard input of a single `sh` exec, and splits the output
//! back into per-probe results.
//!
//! Every argument is single-quoted in the script, so names from a spec reach the
//! target as data, never as shell text. Each probe's stdout and stderr go to
//! files in a private temporary directory and are then printed between marker
//! lines that carry a random per-run nonce; output that does not know the nonce
//! cannot forge another probe's result. What is kept of each stream is capped,
//! and each probe runs under `timeout(1)` where the target has it.

use std::fmt;
use std::time::Duration;

/// Most bytes kept of one probe's stdout or stderr.
pub const OUTPUT_CAP: usize = 4 << 20;

/// A command to run on the target. Its stdout streams into the batch's
/// output (what is kept of it is capped when the output is read); its stderr
/// goes through a private file. A probe with a timeout runs under
/// `timeout(1)` where the target has it; infraspec's own reads of `/proc`,
/// `/sys` and the package database run without one (the batch's timeout
/// still bounds them), which saves a process each.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Probe {
    argv: Vec<String>,
    /// How the probe is shown to people when it is a script rather than a plain
    /// command.
    shown: Option<String>,
    timeout_secs: u64,
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

    pub fn argv_slice(&self) -> &[String] {
        &self.argv
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
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
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// More than [`OUTPUT_CAP`] bytes were printed; the rest was dropped on the target.
    pub truncated: bool,
    pub timed_out: bool,
}

impl ProbeOutput {
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

/// A random token for one run, from the kernel's generator.
pub fn nonce() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_err() {
        // No /dev/urandom: fall back to clock and process id. Still unknown to
        // any file content or command output the probes read.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes[..16].copy_from_slice(&(t ^ ((std::process::id() as u128) << 64)).to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Renders the batch script for `probes`, framed with `nonce`.
pub fn render(probes: &[Probe], nonce: &str) -> String {
    let cap = OUTPUT_CAP + 1;
    let mut s = String::with_capacity(1024 + probes.len() * 64);
    s.push_str(&format!(
        r#"{{
umask 077
N={nonce}
T=
for d in "${{TMPDIR:-/tmp}}" /tmp /dev/shm /var/tmp; do
  if mkdir "$d/.infraspec-$N" 2>/dev/null; then T="$d/.infraspec-$N"; break; fi
done
if [ -z "$T" ]; then printf '\n%s fatal no writable temporary directory (tried $TMPDIR, /tmp, /dev/shm, /var/tmp)\n' "$N"; exit 70; fi
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 130' HUP INT TERM PIPE
W=
if command -v timeout >/dev/null 2>&1; then W=1; fi
p() {{
  i=$1; t=$2; shift 2
  printf '\n%s %s out\n' "$N" "$i"
  if [ "$t" -gt 0 ] && [ -n "$W" ]; then timeout -s KILL "$t" "$@" </dev/null 2>"$T/e"; s=$?; g=1; else "$@" </dev/null 2>"$T/e"; s=$?; g=0; fi
  printf '\n%s %s err\n' "$N" "$i"; if [ -s "$T/e" ]; then head -c {cap} "$T/e"; fi
  printf '\n%s %s end %s %s\n' "$N" "$i" "$s" "$g"
}}
"#
    ));
    for (i, probe) in probes.iter().enumerate() {
        s.push_str(&format!("p {i} {}", probe.timeout_secs));
        for arg in &probe.argv {
            s.push(' ');
            s.push_str(&quote(arg));
        }
        s.push('\n');
    }
    s.push_str("printf '\\n%s done\\n' \"$N\"\n}\n");
    s
}

/// Why a batch's output could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the probe script stopped on the target: {0}")]
    Fatal(String),
}

/// Splits the output of a batch script into per-probe results. A probe whose
/// frame is missing (the script was killed, the output cut) is `None`.
pub fn parse(
    output: &[u8],
    nonce: &str,
    count: usize,
) -> Result<Vec<Option<ProbeOutput>>, FrameError> {
    let mut marker = Vec::with_capacity(nonce.len() + 2);
    marker.push(b'\n');
    marker.extend_from_slice(nonce.as_bytes());
    marker.push(b' ');

    let starts = find_all(output, &marker);
    let mut results: Vec<Option<ProbeOutput>> = vec![None; count];
    let mut partial: Vec<ProbeOutput> = vec![ProbeOutput::default(); count];
    for (k, &start) in starts.iter().enumerate() {
        let header_start = start + marker.len();
        let Some(nl) = output[header_start..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let header = String::from_utf8_lossy(&output[header_start..header_start + nl]);
        let data_start = header_start + nl + 1;
        let data_end = starts
            .get(k + 1)
            .copied()
            .unwrap_or(output.len())
            .max(data_start);
        let data = &output[data_start..data_end];
        let mut words = header.split(' ');
        let first = words.next().unwrap_or_default();
        if first == "fatal" {
            return Err(FrameError::Fatal(
                header["fatal ".len().min(header.len())..].to_string(),
            ));
        }
        let Some(i) = first.parse::<usize>().ok().filter(|i| *i < count) else {
            continue;
        };
        let slot = &mut partial[i];
        match words.next() {
            Some("out") => {
                slot.truncated |= data.len() > OUTPUT_CAP;
                slot.stdout = data[..data.len().min(OUTPUT_CAP)].to_vec();
            }
            Some("err") => {
                slot.truncated |= data.len() > OUTPUT_CAP;
                slot.stderr = data[..data.len().min(OUTPUT_CAP)].to_vec();
            }
            Some("end") => {
                let status = words.next().and_then(|s| s.parse().ok()).unwrap_or(-1);
                let guarded = words.next() == Some("1");
                slot.status = status;
                // timeout(1) with -s KILL ends with 137 (coreutils, busybox) when it fired.
                slot.timed_out = guarded && status == 137;
                results[i] = Some(std::mem::take(slot));
            }
            _ => {}
        }
    }
    Ok(results)
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(pos) = haystack[from..].iter().position(|&b| b == b'\n') {
        let at = from + pos;
        if haystack[at..].starts_with(needle) {
            found.push(at);
            from = at + needle.len();
        } else {
            from = at + 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds what the target would print for these results, as the script does.
    fn frame(nonce: &str, results: &[(i32, &[u8], &[u8])]) -> Vec<u8> {
        let mut out = b"motd noise\n".to_vec();
        for (i, (status, stdout, stderr)) in results.iter().enumerate() {
            out.extend(format!("\n{nonce} {i} out\n").bytes());
            out.extend_from_slice(stdout);
            out.extend(format!("\n{nonce} {i} err\n").bytes());
            out.extend_from_slice(stderr);
            out.extend(format!("\n{nonce} {i} end {status} 1\n").bytes());
        }
        out.extend(format!("\n{nonce} done\n").bytes());
        out
    }

    #[test]
    fn frames_are_split_per_probe_and_binary_safe() {
        let n = "0123456789abcdef";
        let binary: &[u8] = b"\x00\xff\n\nno newline at end";
        let out = frame(n, &[(0, binary, b""), (3, b"", b"boom\n")]);
        let got = parse(&out, n, 2).unwrap();
        let a = got[0].as_ref().unwrap();
        assert_eq!(a.stdout, binary);
        assert_eq!(a.status, 0);
        let b = got[1].as_ref().unwrap();
        assert_eq!(b.stderr, b"boom\n");
        assert_eq!(b.status, 3);
    }

    #[test]
    fn output_without_the_nonce_cannot_forge_results() {
        let n = "0123456789abcdef";
        let forged: &[u8] = b"\nfedcba9876543210 1 end 0 1\n\nfedcba 1 out\nforged";
        let out = frame(n, &[(1, forged, b""), (1, b"real", b"")]);
        let got = parse(&out, n, 2).unwrap();
        assert_eq!(got[0].as_ref().unwrap().stdout, forged);
        assert_eq!(got[1].as_ref().unwrap().stdout, b"real");
        assert_eq!(got[1].as_ref().unwrap().status, 1);
    }

    #[test]
    fn a_cut_stream_leaves_later_probes_without_result() {
        let n = "00112233";
        let full = frame(n, &[(0, b"a", b""), (0, b"b", b"")]);
        let cut = &full[..full.len() / 2 + 8];
        let got = parse(cut, n, 2).unwrap();
        assert!(got[0].is_some());
        assert!(got[1].is_none());
    }

    #[test]
    fn fatal_setup_errors_are_reported() {
        let out = b"\nabc fatal no writable temporary directory\n";
        assert_eq!(
            parse(out, "abc", 1),
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
    fn run_under_sh(probes: &[Probe]) -> Vec<Option<ProbeOutput>> {
        use std::io::Write;
        let n = nonce();
        let mut child = std::process::Command::new("sh")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(render(probes, &n).as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        parse(&out.stdout, &n, probes.len()).unwrap()
    }

    #[test]
    fn script_runs_under_a_real_sh() {
        let probes = vec![
            Probe::argv(["printf", "%s", "a'b$(echo no)`echo no`;\nc"]),
            Probe::script("echo \"$1\" >&2; exit 7", ["x y"], "test snippet"),
            Probe::argv(["infraspec-no-such-command-xyz"]),
        ];
        let got = run_under_sh(&probes);
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

    #[test]
    fn a_probe_that_never_ends_is_killed_at_its_timeout() {
        let probes = vec![
            Probe::argv(["sleep", "30"]).with_timeout(Duration::from_secs(1)),
            Probe::argv(["echo", "after"]).untimed(),
        ];
        let started = std::time::Instant::now();
        let got = run_under_sh(&probes);
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(got[0].as_ref().unwrap().timed_out);
        assert_eq!(got[1].as_ref().unwrap().stdout, b"after\n");
    }
}
