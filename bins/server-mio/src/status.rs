//! The status line: sessions and control connections (over every event loop) and the readers
//! of each live path, logged at INFO whenever they changed, looked at once a second:
//!
//! ```text
//! INFO server_mio::status: status sessions=3 connections=3 live=cam:3
//! ```
//!
//! One line a second at most, whatever the clients do. Scripts that run several servers
//! (`scripts/cluster-demo --check`) read the last one of each: the readers of an edge, the
//! upstream sessions of the origin.

use std::io;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use rtsp_core::server::{LivePaths, SharedCounts};

/// How often the counts are looked at.
const EVERY: Duration = Duration::from_secs(1);

/// What the status line says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Status {
    sessions: usize,
    connections: usize,
    /// `NAME:READERS` of every live path, by name, comma-separated (`none` without any).
    live: String,
}

impl Status {
    fn of(counts: &SharedCounts, live: &LivePaths) -> Self {
        let paths: Vec<String> = live
            .status()
            .iter()
            .map(|p| format!("{}:{}", p.name, p.readers))
            .collect();
        Self {
            sessions: counts.sessions(),
            connections: counts.connections(),
            live: if paths.is_empty() {
                "none".to_string()
            } else {
                paths.join(",")
            },
        }
    }
}

/// The thread that writes the status line; stopped (and joined) on drop.
pub struct StatusLog {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl StatusLog {
    /// Starts logging the status of the server that counts with `counts` and serves `live`.
    pub fn start(counts: SharedCounts, live: LivePaths) -> io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("status".into())
            .spawn(move || {
                let mut last = None;
                loop {
                    let now = Status::of(&counts, &live);
                    if last.as_ref() != Some(&now) {
                        tracing::info!(
                            sessions = now.sessions,
                            connections = now.connections,
                            live = %now.live,
                            "status"
                        );
                        last = Some(now);
                    }
                    match stopped.recv_timeout(EVERY) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                }
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for StatusLog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use rtsp_core::server::LiveSource;

    use super::*;

    #[test]
    fn the_status_names_every_live_path_with_its_readers() {
        let counts = SharedCounts::new();
        let live = LivePaths::new();
        assert_eq!(
            Status::of(&counts, &live),
            Status {
                sessions: 0,
                connections: 0,
                live: "none".into()
            }
        );
        live.add("cam", LiveSource::Pulled { on_demand: true });
        live.add("pushed", LiveSource::Publisher { replace: false });
        let now = std::time::Instant::now();
        live.reader("cam", true, now);
        live.reader("cam", true, now);
        assert_eq!(Status::of(&counts, &live).live, "cam:2,pushed:0");
        live.reader("cam", false, now);
        assert_eq!(Status::of(&counts, &live).live, "cam:1,pushed:0");
    }
}
