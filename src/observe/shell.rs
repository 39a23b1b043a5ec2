//! The shell observer: one framed `sh` script per round, on the target.

use std::time::Duration;

use crate::backend::Backend;
use crate::probe::{self, Probe};

/// Why a batch gave no results.
#[derive(Debug, Clone)]
pub enum BatchError {
    /// The target has no `/bin/sh` to run the script.
    NoShell(String),
    /// The batch failed for another reason, named.
    Failed(String),
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::NoShell(m) | BatchError::Failed(m) => f.write_str(m),
        }
    }
}

/// Runs one framed batch of probes on the target: one exec.
///
/// Each probe gets its own answer: a probe that finished keeps its output even
/// when a later one was cut off (the batch timed out, the connection ended).
/// An `Err` means nothing of the batch can be trusted or nothing ran.
pub fn run_batch(
    backend: &dyn Backend,
    probes: &[Probe],
    timeout: Duration,
    cpus: Option<u32>,
) -> Result<Vec<probe::Answer>, BatchError> {
    let timeout = backend.exec_limit(timeout);
    let nonce = probe::nonce();
    let token = probe::dir_token();
    let script = probe::render_in(probes, &nonce, &token, probe::Schedule::new(cpus, timeout));
    // While it runs, a signal that ends this process stops it on the target.
    let _running = backend
        .side_channel()
        .map(|side| crate::backend::inflight::register(side, probe::stop_script(&token)))
        .transpose()
        .map_err(|e| BatchError::Failed(e.to_string()))?;
    // The script prints at most `cap` bytes of each stream of each probe,
    // and a header: the batch's own limit follows, so that a check's
    // `max_output` is never cut by the batch's.
    let cap = probes
        .iter()
        .map(|p| p.cap().saturating_mul(2).saturating_add(256))
        .fold(64 << 10, usize::saturating_add)
        .max(crate::backend::EXEC_OUTPUT_CAP);
    let out = backend
        .exec_capped(&["sh".to_string()], script.as_bytes(), timeout, cap)
        .map_err(|e| BatchError::Failed(e.to_string()))?;
    let mut results =
        probe::parse(&out.stdout, &nonce, probes).map_err(|e| BatchError::Failed(e.to_string()))?;
    let late = format!(
        "the batch did not finish within {}s and was stopped before this probe finished",
        timeout.as_secs()
    );
    for r in results.iter_mut() {
        if r.as_ref().is_err_and(|e| e == probe::STOPPED) {
            *r = Err(late.clone());
        }
    }
    let cut_why = if out.timed_out {
        Some(late)
    } else if out.truncated {
        Some(format!(
            "the target printed more than {} MiB in one batch, more than its probes can print; the rest was dropped",
            cap >> 20
        ))
    } else {
        None
    };
    if let Some(why) = &cut_why {
        for r in results.iter_mut().filter(|r| r.is_err()) {
            *r = Err(why.clone());
        }
    }
    if !probes.is_empty() && results.iter().all(Result::is_err) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let status = out.status.map_or("killed by a signal".to_string(), |s| {
            format!("exit status {s}")
        });
        if let Some(why) = cut_why {
            return Err(BatchError::Failed(why));
        }
        let lost = results.iter().all(|r| {
            r.as_ref()
                .err()
                .is_some_and(|e| e.starts_with("the probe did not run"))
        });
        if lost {
            return Err(BatchError::Failed(
                results[0].clone().err().unwrap_or_default(),
            ));
        }
        return Err(if matches!(out.status, Some(126) | Some(127)) {
            // Docker reports a missing executable on the exec's own output.
            let said = format!(
                "{} {}",
                String::from_utf8_lossy(&out.stdout).trim(),
                stderr.trim()
            );
            BatchError::NoShell(format!(
                "the target has no /bin/sh to run probes ({status}): {}",
                said.trim()
            ))
        } else {
            let why = match out.status {
                Some(137) => " — killed (the container or the shell was killed)",
                Some(143) => " — terminated",
                None => " — the connection ended",
                _ => "",
            };
            BatchError::Failed(format!(
                "the probe script gave no results ({status}{why}): {}",
                crate::model::text::escape_text(stderr.trim())
            ))
        });
    }
    Ok(results)
}
