//! [`SharedReports`]: what each event loop's machine last said about its sessions, viewers
//! and traffic, so that the HTTP API and `/metrics` of any loop answer for the whole server.

use super::http::SessionInfo;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Readers of each path by transport (`udp`, `tcp`, `lab`, `http`).
pub(crate) type Readers = BTreeMap<String, BTreeMap<&'static str, usize>>;

/// One event loop's report.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoopReport {
    /// Its RTSP sessions (id order), then its HTTP viewers.
    pub(crate) sessions: Vec<SessionInfo>,
    pub(crate) readers: Readers,
    /// RTP packets and payload bytes sent per path, ended sessions included.
    pub(crate) traffic: BTreeMap<String, (u64, u64)>,
    /// Packets lost per path, as the last receiver report of each current session says.
    pub(crate) lost: BTreeMap<String, i64>,
}

impl LoopReport {
    /// Adds `other` to this one.
    fn add(&mut self, other: &Self) {
        self.sessions.extend(other.sessions.iter().cloned());
        for (path, by) in &other.readers {
            let mine = self.readers.entry(path.clone()).or_default();
            for (t, n) in by {
                *mine.entry(t).or_default() += n;
            }
        }
        for (path, (p, o)) in &other.traffic {
            let t = self.traffic.entry(path.clone()).or_default();
            t.0 += p;
            t.1 += o;
        }
        for (path, n) in &other.lost {
            *self.lost.entry(path.clone()).or_default() += n;
        }
    }
}

/// The reports of every event loop of a server, shared: give one to every loop's
/// [`ServerConfig::reports`](super::ServerConfig::reports) (a server without one reports
/// alone). Each machine refreshes its own at most once a second, and at once when its
/// sessions or viewers come or go.
#[derive(Clone, Default)]
pub struct SharedReports(Arc<Mutex<BTreeMap<usize, LoopReport>>>);

impl std::fmt::Debug for SharedReports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedReports")
            .field("loops", &self.lock().len())
            .finish()
    }
}

impl SharedReports {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<usize, LoopReport>> {
        // A panic elsewhere while holding it leaves plain data behind: keep using it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A number for a new event loop's machine, with an empty report.
    pub(crate) fn register(&self) -> usize {
        let mut r = self.lock();
        let id = r.keys().next_back().map_or(0, |k| k + 1);
        r.insert(id, LoopReport::default());
        id
    }

    /// Replaces loop `id`'s report.
    pub(crate) fn store(&self, id: usize, report: LoopReport) {
        self.lock().insert(id, report);
    }

    /// Forgets loop `id` (its machine is gone).
    pub(crate) fn remove(&self, id: usize) {
        self.lock().remove(&id);
    }

    /// Every loop's report added up, with `own` (fresh) in place of loop `id`'s.
    pub(crate) fn merged(&self, id: usize, own: LoopReport) -> LoopReport {
        let r = self.lock();
        let mut all = LoopReport::default();
        for (k, report) in r.iter() {
            if *k == id {
                all.add(&own);
            } else {
                all.add(report);
            }
        }
        if !r.contains_key(&id) {
            all.add(&own);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(path: &str, transport: &'static str, n: usize, packets: u64) -> LoopReport {
        let mut r = LoopReport::default();
        r.readers
            .entry(path.to_string())
            .or_default()
            .insert(transport, n);
        r.traffic.insert(path.to_string(), (packets, packets * 100));
        r.lost.insert(path.to_string(), 1);
        r
    }

    #[test]
    fn reports_add_up_with_the_callers_own_fresh_one() {
        let shared = SharedReports::default();
        let (a, b) = (shared.register(), shared.register());
        assert_ne!(a, b);
        shared.store(a, report("cam", "udp", 2, 10));
        shared.store(b, report("cam", "udp", 3, 5));
        // Loop `a` asks with a fresher view of itself than it stored.
        let all = shared.merged(a, report("cam", "udp", 4, 20));
        assert_eq!(all.readers["cam"]["udp"], 7);
        assert_eq!(all.traffic["cam"], (25, 2500));
        assert_eq!(all.lost["cam"], 2);
        shared.remove(b);
        assert_eq!(
            shared.merged(a, report("cam", "tcp", 1, 1)).readers["cam"].len(),
            1
        );
    }
}
