//! The server's log: [`log_server_event`] writes each [`ServerEvent`] with `tracing`, through
//! one [`LogLimiter`] for the whole process, so that no client can flood the log;
//! [`server_event_handler`] is the event callback of every server (the log, then a hook).

use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use rtsp_core::message::Method;
use rtsp_core::server::{Server, ServerEvent};

use crate::common::Flow;
use crate::log_limit::{LogLimitConfig, LogLimiter, Suppressed};
use crate::serve::ServerEventHook;

/// The log limiter of the whole process: every server and event loop shares it, as they
/// share the log (a client flooding several loops is limited once).
fn log_limiter() -> MutexGuard<'static, LogLimiter> {
    static LIMITER: OnceLock<Mutex<LogLimiter>> = OnceLock::new();
    LIMITER
        .get_or_init(|| Mutex::new(LogLimiter::new(LogLimitConfig::default(), Instant::now())))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Writes summaries of suppressed lines.
fn log_suppressed(summaries: &[Suppressed]) {
    for s in summaries {
        tracing::warn!("{s}");
    }
}

/// Whether a line of `kind` about `peer` may be written now (see [`LogLimiter::admit`]):
/// never when its level is not `enabled` (nothing is counted then). Writes the summaries that
/// fell due first, whether or not.
fn admit(kind: &'static str, peer: Option<IpAddr>, enabled: bool) -> bool {
    let now = Instant::now();
    let (pass, due) = {
        let mut limiter = log_limiter();
        (enabled && limiter.admit(kind, peer, now), limiter.due(now))
    };
    log_suppressed(&due);
    pass
}

/// Whether a runtime may write its own log line of `kind` about `peer` now (e.g. a refused
/// connection): the answer of the limiter [`log_server_event`] uses, shared by the whole
/// process. Ask only when the line's level is enabled: a line held back is counted and
/// summed up later.
pub fn log_line_allowed(kind: &'static str, peer: Option<IpAddr>) -> bool {
    admit(kind, peer, true)
}

/// A `tracing` event at `$level` (an ident: INFO, ...) for a line of `$kind` about `$peer`,
/// when that level is enabled and the process's [`LogLimiter`] lets it through.
macro_rules! limited {
    ($level:ident, $kind:expr, $peer:expr, $($event:tt)+) => {
        if admit($kind, $peer, tracing::enabled!(tracing::Level::$level)) {
            tracing::event!(tracing::Level::$level, $($event)+)
        }
    };
}

/// Logs a server event with `tracing`: sessions, requests (but successful keepalives),
/// protocol errors and limits at info/warn, with the client's address; connections and
/// keepalives at debug. Floods are held back: each kind of line from each client IP (and
/// each kind about the server itself) may log a burst, then a few lines a second, with a cap
/// over every client; what was dropped is summed up every 10 s at most (see
/// [`crate::log_limit`]) and when the server stops.
pub fn log_server_event(ev: &ServerEvent) {
    match ev {
        ServerEvent::Connected { conn, peer } => {
            limited!(DEBUG, "connection accepted", Some(peer.ip()), conn = conn.0, %peer, "connection accepted")
        }
        ServerEvent::Disconnected { conn, peer } => {
            limited!(DEBUG, "connection closed", Some(peer.ip()), conn = conn.0, %peer, "connection closed")
        }
        ServerEvent::Request {
            peer,
            method,
            uri,
            status,
            ..
        } => {
            // Keepalives every few seconds per client stay at debug; what a client did
            // (DESCRIBE, SETUP, PLAY, ..., and every refusal) is logged at info.
            let keepalive = matches!(
                method,
                Method::Options | Method::GetParameter | Method::SetParameter
            );
            let ip = Some(peer.ip());
            if !status.is_success() {
                limited!(INFO, "request refused", ip, %peer, %method, uri, %status, "request")
            } else if keepalive {
                limited!(DEBUG, "keepalive", ip, %peer, %method, uri, %status, "request")
            } else {
                limited!(INFO, "request", ip, %peer, %method, uri, %status, "request")
            }
        }
        ServerEvent::ProtocolError { peer, error, .. } => {
            limited!(INFO, "protocol error", Some(peer.ip()), %peer, %error, "protocol error; connection closed")
        }
        ServerEvent::LookupFailed { stream, error } => {
            limited!(WARN, "stream lookup failed", None, stream, %error, "stream lookup failed")
        }
        ServerEvent::SessionCreated { session, peer } => {
            limited!(INFO, "session created", Some(peer.ip()), session, %peer, "session created")
        }
        ServerEvent::EndOfStream { session, stats } => limited!(
            INFO,
            "end of stream",
            None,
            session,
            frames = stats.frames,
            skipped = stats.frames_skipped,
            "end of stream"
        ),
        ServerEvent::ReceiverReport {
            session,
            fraction_lost,
            cumulative_lost,
            jitter,
        } => limited!(
            DEBUG,
            "receiver report",
            None,
            session,
            fraction_lost,
            cumulative_lost,
            jitter,
            "receiver report"
        ),
        ServerEvent::SessionClosed { session, reason } => {
            limited!(
                INFO,
                "session closed",
                None,
                session,
                ?reason,
                "session closed"
            )
        }
        ServerEvent::LimitExceeded { peer, limit } => {
            limited!(WARN, "client over a limit", Some(peer.ip()), %peer, ?limit, "client over a limit")
        }
        ServerEvent::Recording { session, stream } => {
            tracing::info!(%session, %stream, "publisher recording");
        }
        ServerEvent::PublisherReplaced { stream, session } => {
            tracing::info!(%session, %stream, "publisher replaced");
        }
        ServerEvent::HttpRequest {
            peer,
            method,
            target,
            status,
            ..
        } => {
            let ip = Some(peer.ip());
            if *status >= 400 {
                limited!(INFO, "http request refused", ip, %peer, method, target, status, "http request")
            } else {
                limited!(INFO, "http request", ip, %peer, method, target, status, "http request")
            }
        }
        ServerEvent::KickRequested { session } => {
            tracing::info!(%session, "kick asked over HTTP: asking the other event loops");
        }
        // One per frame: for the other event loops, not for the log.
        ServerEvent::Published { .. } => {}
        _ => limited!(DEBUG, "server event", None, ?ev, "server event"),
    }
}

/// What [`server_event_handler`] runs: the log, then the hook. Dropped (its server
/// stopped), it writes every pending summary of suppressed lines.
struct EventLog {
    hook: Option<ServerEventHook>,
}

impl EventLog {
    fn on_event(&mut self, ev: &ServerEvent) {
        log_server_event(ev);
        if let Some(h) = self.hook.as_mut() {
            h(ev);
        }
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        let pending = log_limiter().flush(Instant::now());
        log_suppressed(&pending);
    }
}

/// The event callback [`serve`](crate::serve()) runs with: log (see [`log_server_event`]),
/// then the hook. When the callback is dropped (its server stopped), the summaries of lines
/// still held back are written.
pub fn server_event_handler(
    hook: Option<ServerEventHook>,
) -> impl FnMut(&mut Server, ServerEvent) -> Flow + Send + 'static {
    let mut log = EventLog { hook };
    move |_server, ev| {
        log.on_event(&ev);
        Flow::Continue
    }
}
