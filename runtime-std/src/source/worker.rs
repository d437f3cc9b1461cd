//! [`spawn`]: a source's thread (connect, hand on frames, back off, reconnect) and its
//! [`SourceHandle`].

use std::io;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::backoff::Backoff;
use super::emit::{Emitter, Ended};
use super::stats::{SharedStats, SourceStats};
use super::stop::StopSignal;
use super::{exec, http, rtsp, HttpUrl, Sink, SourceOptions, SourceSpec, SourceState};

/// Longest [`SourceHandle::stop`] waits for the source's thread; a thread still running then
/// is left to end by itself (and logged).
const STOP_WAIT: Duration = Duration::from_secs(5);

/// Starts a source named `name` (for logs and the thread's name) on its own thread. It
/// reports [`SourceState::Connecting`] at once, then frames and states to `sink` (see the
/// [module docs](super)) until stopped.
///
/// Fails at once (`InvalidInput`) when the spec cannot work at all: a URL that does not parse
/// (or is `https://`), an empty command. Everything that may change (names, servers,
/// commands) is tried on the source's thread, again and again.
pub fn spawn(
    name: &str,
    spec: SourceSpec,
    opts: SourceOptions,
    sink: Sink,
) -> io::Result<SourceHandle> {
    check(&spec)?;
    let stop = Arc::new(StopSignal::default());
    let stats = Arc::new(SharedStats::default());
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let thread = {
        let (name, stop, stats) = (name.to_string(), stop.clone(), stats.clone());
        std::thread::Builder::new()
            .name(format!("source-{}", name.replace('\0', "")))
            .spawn(move || {
                run(&name, &spec, &opts, &sink, &stop, &stats);
                drop(done_tx);
            })?
    };
    Ok(SourceHandle {
        name: name.to_string(),
        stop,
        stats,
        done: done_rx,
        thread: Some(thread),
    })
}

/// Refuses specs that can never work.
fn check(spec: &SourceSpec) -> io::Result<()> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    match spec {
        SourceSpec::Rtsp { url, .. } => rtsp_core::url::RtspUrl::parse(url)
            .map(drop)
            .map_err(|e| invalid(format!("{e}"))),
        SourceSpec::Http { url } => HttpUrl::parse(url)
            .map(drop)
            .map_err(|e| invalid(format!("{e}"))),
        SourceSpec::Exec { command } if command.trim().is_empty() => {
            Err(invalid("empty command".into()))
        }
        SourceSpec::Exec { .. } => Ok(()),
    }
}

/// The source's thread: attempts, losses and waits until the stop.
fn run(
    name: &str,
    spec: &SourceSpec,
    opts: &SourceOptions,
    sink: &Sink,
    stop: &StopSignal,
    stats: &SharedStats,
) {
    let mut backoff = Backoff::new(opts.backoff_min, opts.backoff_max);
    let mut first = true;
    while !stop.is_stopped() {
        if !first {
            stats.reconnect();
        }
        first = false;
        let mut em = Emitter::new(name, sink, stats, opts.max_frame_size);
        tracing::info!(source = %name, %spec, "connecting");
        em.state(SourceState::Connecting);
        let ended = match spec {
            SourceSpec::Rtsp { url, tcp } => rtsp::run(url, *tcp, opts, &mut em, stop),
            SourceSpec::Http { url } => http::run(url, opts, &mut em, stop),
            SourceSpec::Exec { command } => exec::run(command, opts, &mut em, stop),
        };
        let (reason, finished) = match ended {
            _ if stop.is_stopped() => break,
            Ended::Lost(reason) => (reason, false),
            Ended::Finished(reason) => (reason, true),
            Ended::Stopped => break,
        };
        if !opts.reconnect {
            tracing::info!(source = %name, %reason, finished, "source ended");
            em.state(SourceState::Ended { reason, finished });
            break;
        }
        if em.frames() > 0 {
            backoff.reset();
        }
        let retry_in = backoff.next_delay();
        tracing::info!(source = %name, %reason, retry_in = ?retry_in, "source lost");
        em.state(SourceState::Lost { reason, retry_in });
        if stop.wait(retry_in) {
            break;
        }
    }
    tracing::info!(source = %name, "stopped");
    (sink)(super::SourceEvent::State(SourceState::Stopped));
}

/// A running source: its counters, and the way to stop it. Dropping it stops it too.
pub struct SourceHandle {
    name: String,
    stop: Arc<StopSignal>,
    stats: Arc<SharedStats>,
    /// Disconnects when the source's thread ends.
    done: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SourceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceHandle")
            .field("name", &self.name)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl SourceHandle {
    /// The name given to [`spawn`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SourceStats {
        self.stats.snapshot()
    }

    /// Whether the source's thread has ended (only after a stop).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the source and waits for its thread (which reports [`SourceState::Stopped`]
    /// last). Returns within about a second; a thread blocked beyond 5 s (a slow name lookup)
    /// is left to end by itself.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.stop();
        match self.done.recv_timeout(STOP_WAIT) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                if thread.join().is_err() {
                    tracing::warn!(source = %self.name, "source thread panicked");
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                tracing::warn!(source = %self.name, "source thread did not stop in time; detached");
            }
        }
    }
}

impl Drop for SourceHandle {
    fn drop(&mut self) {
        self.shut_down();
    }
}
