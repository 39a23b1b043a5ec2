//! The network observer: what is reached from the target's point of view
//! (http requests, TCP connections, TLS certificates), on a bounded pool.

use std::time::Duration;

use crate::backend::Backend;
use crate::resource::{self, Observations};
use crate::spec::Check;
use std::thread;

/// After the batch, one more round for what is reached from the target's
/// point of view over the network: http requests, TCP connections and the
/// certificates TLS servers present, all at once. Says whether there was a
/// network round.
pub(crate) fn network_round<'c>(
    backend: &dyn Backend,
    checks: impl Iterator<Item = &'c Check> + Clone,
    obs: &mut Observations<'_>,
) -> bool {
    let mut keys: Vec<resource::http::Key> = checks
        .clone()
        .filter(|c| c.resource.kind == crate::spec::ResourceKind::Http)
        .map(resource::http_key)
        .collect();
    keys.sort_by(|a, b| a.url.cmp(&b.url));
    keys.dedup();
    let mut reach: Vec<(String, u16, Duration)> =
        checks.clone().filter_map(resource::reach_key).collect();
    reach.sort();
    reach.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    // One request per server, given the longest time any check allows it.
    let mut servers: Vec<(String, Duration)> = checks
        .clone()
        .filter_map(resource::certificate::fetch_key)
        .collect();
    servers.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    servers.dedup_by(|a, b| a.0 == b.0);
    let network = !(keys.is_empty() && reach.is_empty() && servers.is_empty());
    if network {
        // A name the target's resolver answered in this round's batch is
        // connected to at that address: the forward need not resolve it
        // again (a container's would run `getent` in one more exec).
        let resolved: Resolved = keys
            .iter()
            .filter_map(|k| resource::http::host_port(&k.url).ok().map(|(h, _, _)| h))
            .chain(reach.iter().map(|(h, _, _)| h.clone()))
            .filter_map(|name| {
                let first = resource::host::resolved(obs, &name)?.into_iter().next()?;
                Some((name, first))
            })
            .collect();
        enum Job<'j> {
            Http(&'j resource::http::Key),
            Tcp(&'j (String, u16, Duration)),
            Tls(&'j (String, Duration)),
        }
        // One per request, consumed at once: boxing the big variant would
        // buy nothing.
        #[allow(clippy::large_enum_variant)]
        enum Done {
            Http(
                resource::http::Key,
                Result<resource::http::Response, String>,
            ),
            Tcp((String, u16), Result<resource::host::Reach, String>),
            Tls(String, Result<Vec<u8>, String>),
        }
        let jobs: Vec<Job<'_>> = keys
            .iter()
            .map(Job::Http)
            .chain(reach.iter().map(Job::Tcp))
            .chain(servers.iter().map(Job::Tls))
            .collect();
        let done = bounded(&jobs, NETWORK_WORKERS, |job, panicked| match job {
            Job::Http(k) => Done::Http(
                (*k).clone(),
                panicked.map_or_else(|| super::http::fetch(backend, k, &resolved), Err),
            ),
            Job::Tcp((host, port, timeout)) => Done::Tcp(
                (host.clone(), *port),
                panicked.map_or_else(
                    || connect(backend, resolved.via(host), *port, *timeout),
                    Err,
                ),
            ),
            Job::Tls((name, timeout)) => Done::Tls(
                name.clone(),
                panicked.map_or_else(
                    || {
                        let (host, port) = resource::certificate::tls_address(name)
                            .expect("checked when the spec loaded");
                        super::tls::fetch(backend, &host, port, *timeout)
                    },
                    Err,
                ),
            ),
        });
        for d in done {
            match d {
                Done::Http(k, r) => {
                    obs.http.insert(k, r);
                }
                Done::Tcp(k, r) => {
                    obs.reach.insert(k, r);
                }
                Done::Tls(k, r) => {
                    obs.certs.insert(k, r);
                }
            }
        }
    }
    network
}

/// Addresses of names the target's resolver gave this round.
#[derive(Default)]
pub(crate) struct Resolved(std::collections::HashMap<String, String>);

impl Resolved {
    /// What to connect to for `host`: its address where the target gave
    /// one, else the name.
    pub(crate) fn via<'a>(&'a self, host: &'a str) -> &'a str {
        self.0.get(host).map_or(host, String::as_str)
    }
}

impl FromIterator<(String, String)> for Resolved {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Resolved(iter.into_iter().collect())
    }
}

/// Requests of the network round that run at the same time, at most.
const NETWORK_WORKERS: usize = 16;

/// Runs `work(item, None)` for every item on at most `workers` threads, and
/// returns the results in the items' order. A panic in one item's work
/// (hostile server data deep in a TLS or HTTP library, say) is that item's
/// answer: `work(item, Some(why))` makes its result, and the run goes on.
fn bounded<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    work: impl Fn(&T, Option<String>) -> R + Sync,
) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    work(item, None)
                }))
                .unwrap_or_else(|panic| {
                    let text = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "no message".into());
                    work(
                        item,
                        Some(format!(
                            "the request failed inside infraspec (a panic: {text}); the other checks were not affected"
                        )),
                    )
                });
                *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            });
        }
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every item was worked on")
        })
        .collect()
}

/// Tries a TCP connection to `host:port` from the target's point of view
/// (through the backend's forward: an SSH `direct-tcpip` channel, the
/// container's network, or this machine), within `timeout`. `Err` when the
/// attempt itself could not be made: then nothing is known of `host:port`.
fn connect(
    backend: &dyn Backend,
    host: &str,
    port: u16,
    timeout: std::time::Duration,
) -> Result<resource::host::Reach, String> {
    use crate::backend::ForwardError;
    let mut forward = match backend.forward(host, port, timeout) {
        Ok(f) => f,
        Err(ForwardError::Dns(why) | ForwardError::Unreachable(why)) => {
            return Ok(resource::host::Reach::Refused(why))
        }
        Err(ForwardError::Failed(why)) => return Err(why),
    };
    let reach = match forward.connect(timeout) {
        Ok(stream) => {
            drop(stream);
            resource::host::Reach::Accepted
        }
        Err(e) => resource::host::Reach::Refused(format!("connecting to {host}:{port}: {e}")),
    };
    drop(forward);
    Ok(reach)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_network_pool_is_bounded_and_a_panic_is_one_items_answer() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let items: Vec<usize> = (0..40).collect();
        let out = bounded(&items, 4, |&i, panicked| {
            if let Some(why) = panicked {
                return Err(why);
            }
            let running = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(running, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            now.fetch_sub(1, Ordering::SeqCst);
            if i == 7 {
                panic!("hostile bytes");
            }
            Ok(i * 2)
        });
        assert!(most.load(Ordering::SeqCst) <= 4, "{most:?}");
        assert_eq!(out.len(), 40);
        for (i, r) in out.iter().enumerate() {
            if i == 7 {
                let e = r.as_ref().unwrap_err();
                assert!(e.contains("panic: hostile bytes"), "{e}");
            } else {
                assert_eq!(r, &Ok(i * 2));
            }
        }
    }
}
