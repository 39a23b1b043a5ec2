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
/// Set once [`stop_all`] began: no batch starts after it.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Why a batch was not started: the run is being stopped by a signal.
pub const INTERRUPTED: &str = "the run was interrupted by a signal before this batch started";

/// A registered batch; dropping it (the batch ended) unregisters it.
pub struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut v) = RUNNING.lock() {
            v.retain(|(id, _, _)| *id != self.0);
        }
    }
}

/// Registers a batch that `stop` (a script) stops through `side`; refused
/// (with [`INTERRUPTED`]) once the run is being stopped, so that no batch
/// starts on a target after the stops were sent.
pub fn register(side: SideChannel, stop: String) -> Result<Registered, &'static str> {
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut v = RUNNING.lock().map_err(|_| INTERRUPTED)?;
    // Checked under the lock that stop_all takes after setting it: either
    // this batch is in its list, or it sees the flag.
    if STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(INTERRUPTED);
    }
    v.push((id, side, stop));
    Ok(Registered(id))
}

/// Stops every registered batch on its target, all at once, and waits for
/// them at most `limit`. Returns how many there were.
pub fn stop_all(limit: Duration) -> usize {
    STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
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
