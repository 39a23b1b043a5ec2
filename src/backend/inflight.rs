//! Batches running on targets right now, so that a signal that ends the run
//! (Ctrl-C, SIGTERM, …) stops them on the target too: their shell, lanes,
//! running probes and temporary directory, not only the runner's side.
//!
//! A batch is registered by the engine for as long as it runs, with a *side
//! channel*: a way its backend gives to run one short command on the target
//! from another thread (a second `docker exec`, a second SSH channel, a local
//! `sh`), and the batch's stop script ([`crate::probe::stop_script`]). The
//! signal handler runs every registered stop at once, each bounded in time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs a short shell script on the target, for at most the given time;
/// made by [`super::Backend::side_channel`].
pub type SideChannel = Arc<dyn Fn(&str, Duration) + Send + Sync>;

static RUNNING: Mutex<Vec<(u64, SideChannel, String)>> = Mutex::new(Vec::new());
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A registered batch; dropping it (the batch ended) unregisters it.
pub struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut v) = RUNNING.lock() {
            v.retain(|(id, _, _)| *id != self.0);
        }
    }
}

/// Registers a batch that `stop` (a script) stops through `side`.
pub fn register(side: SideChannel, stop: String) -> Registered {
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Ok(mut v) = RUNNING.lock() {
        v.push((id, side, stop));
    }
    Registered(id)
}

/// Stops every registered batch on its target, all at once, and waits for
/// them at most `limit`. Returns how many there were.
pub fn stop_all(limit: Duration) -> usize {
    let running: Vec<(SideChannel, String)> = RUNNING
        .lock()
        .map(|v| v.iter().map(|(_, s, t)| (s.clone(), t.clone())).collect())
        .unwrap_or_default();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    for (side, script) in &running {
        let (side, script, done) = (side.clone(), script.clone(), done_tx.clone());
        std::thread::spawn(move || {
            side(&script, limit);
            let _ = done.send(());
        });
    }
    let deadline = std::time::Instant::now() + limit;
    for _ in 0..running.len() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            break;
        }
    }
    running.len()
}
