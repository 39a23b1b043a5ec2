//! `command`: a shell command line of the user's, its exit status and output.
//!
//! The command is shell text by design (`nginx -v 2>&1 | head -1`), run with
//! `sh -c` as its own probe, under the check's `timeout`. Every trailing line
//! break is dropped from stdout and stderr so that `stdout: Linux` means what
//! it says.

use std::time::Duration;

use super::{Early, Need, Observations, Observed};
use crate::matcher::Value;
use crate::probe::Probe;
use crate::spec::Property;

pub fn probe(command: &str, timeout: Option<Duration>, cap: usize) -> Probe {
    let probe = Probe::argv(["sh", "-c", command]).with_cap(cap).by_user();
    match timeout {
        Some(t) => probe.with_timeout(t),
        None => probe,
    }
}

/// Output as text without its trailing line breaks, all of them (`\n` and
/// `\r\n`), as `$(…)` and testinfra's `check_output` drop them.
fn text(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut t: &str = &s;
    while let Some(rest) = t.strip_suffix('\n') {
        t = rest.strip_suffix('\r').unwrap_or(rest);
    }
    t.to_string()
}

pub fn observe(
    obs: &Observations<'_>,
    command: &str,
    timeout: Option<Duration>,
    cap: usize,
    property: Property,
    json_path: Option<&super::document::JsonPath>,
) -> Result<Observed, Early> {
    let need = Need::Command {
        command: command.to_string(),
        timeout,
        cap,
    };
    // The exit status is whole even when the output was too long to judge.
    let out = if property == Property::ExitStatus {
        obs.raw_any_size(&need)?
    } else {
        obs.raw(&need)?
    };
    if property == Property::Stderr && out.stderr_len > out.stderr.len() as u64 {
        return Err(Early::Error(format!(
            "the stderr of `{command}` exceeded {} (it was {} bytes long) and was not judged on a part; raise the limit with the check option `max_output`",
            crate::spec::yaml::show_size(cap as u64),
            out.stderr_len
        )));
    }
    Ok(match property {
        Property::ExitStatus => Value::Int(out.status.into()),
        Property::Stdout => Value::Text(text(&out.stdout)),
        Property::Stderr => Value::Text(text(&out.stderr)),
        Property::Json => {
            let doc = super::document::parse(&out.stdout, false)
                .map_err(|e| Early::Fail(format!("stdout that is {e}")))?;
            return super::document::value_at(&doc, json_path).map(Into::into);
        }
        other => return Err(Early::Error(format!("command has no property {other}"))),
    }
    .into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_trailing_line_break_is_dropped() {
        assert_eq!(super::text(b"Linux\n"), "Linux");
        assert_eq!(super::text(b"a\nb\n\n\r\n"), "a\nb");
        assert_eq!(super::text(b"  x \n"), "  x ");
        assert_eq!(super::text(b"no break"), "no break");
    }
}
