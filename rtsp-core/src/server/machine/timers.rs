//! The timer heap: every deadline of sessions (frames, sender reports, expiry) and
//! connections (lab flush, request and idle timeouts), fired in order, only those due.

use super::conn::Conn;
use super::request::Reply;
use super::Server;
use crate::io::ConnId;
use crate::message::StatusCode;
use crate::server::session::{Session, Tx};
use crate::server::{CloseReason, Limit, ServerEvent};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What a timer-heap entry wakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum TimerKey {
    /// A session, by its [`Session::key`].
    Session(u64),
    /// A control connection (lab flush, request and idle timeouts).
    Conn(ConnId),
    /// The next frame of a file to an HTTP viewer.
    Viewer(ConnId),
}

impl Server {
    /// Puts a session's next wake-up into the timer heap if it is earlier than the entry
    /// there (later wake-ups are found when that entry comes due).
    pub(super) fn schedule_session(&mut self, key: u64) {
        let timeouts = (self.config.session_timeout, self.config.unplayed_timeout);
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        let Some(at) = session_wake(s, expires(&self.conns, s), timeouts) else {
            return;
        };
        if s.timer_at.is_none_or(|t| at < t) {
            s.timer_at = Some(at);
            self.timers.push(Reverse((at, TimerKey::Session(s.key))));
        }
    }

    /// Puts a connection's next deadline (a lower bound: the idle timeout is included even
    /// if the connection holds a session) into the timer heap.
    pub(super) fn schedule_conn(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let at = [
            c.flush_at,
            c.partial_since.map(|t| t + self.config.request_timeout),
            Some(c.last_request + self.config.idle_timeout),
            c.parked.as_ref().map(|p| p.until),
            c.http_wait_until(),
        ]
        .into_iter()
        .flatten()
        .min();
        // Connection deadlines move both ways (a request pushes the idle timeout back):
        // re-arm on any change; the old entry goes stale.
        if at != c.timer_at {
            c.timer_at = at;
            if let Some(at) = at {
                self.timers.push(Reverse((at, TimerKey::Conn(conn))));
            }
        }
    }

    /// Fire everything due at `now` (lab flushes, timeouts, frames, sender reports): only
    /// the entries at the top of the timer heap, not every session.
    pub(super) fn run_timers(&mut self) {
        let now = self.now;
        while let Some(&Reverse((at, key))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            match key {
                TimerKey::Conn(conn) => self.conn_timer(conn, at),
                TimerKey::Session(key) => self.session_timer(key, at),
                TimerKey::Viewer(conn) => self.viewer_timer(conn, at),
            }
        }
    }

    fn conn_timer(&mut self, conn: ConnId, at: Instant) {
        let now = self.now;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.timer_at != Some(at) {
            return; // stale
        }
        c.timer_at = None;
        if c.parked.as_ref().is_some_and(|p| p.until <= now) {
            // The stream did not load in time: the request gets what the catalog says now.
            self.unpark(conn, true);
        }
        if self
            .conns
            .get(&conn)
            .and_then(Conn::http_wait_until)
            .is_some_and(|t| t <= now)
        {
            self.http_wait_over(conn);
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.flush_at.is_some_and(|t| t <= now) {
            c.flush_at = None;
            self.decode(conn, true);
        }
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let held = !c.sessions.is_empty() || c.is_viewer();
        // The lab flush and the end of a wait are not the end of the connection.
        let other = [
            c.flush_at,
            c.parked.as_ref().map(|p| p.until),
            c.http_wait_until(),
        ]
        .into_iter()
        .flatten()
        .min();
        match self.conn_deadline(c, held) {
            Some((t, partial)) if t <= now => self.cut_connection(conn, partial),
            Some((t, _)) => self.arm_conn(conn, other.map_or(t, |o| o.min(t))),
            None => {
                if let Some(t) = other {
                    self.arm_conn(conn, t);
                }
            }
        }
    }

    /// Arms a connection's timer at `t` if that is earlier than its live entry.
    fn arm_conn(&mut self, conn: ConnId, t: Instant) {
        if let Some(c) = self.conns.get_mut(&conn) {
            if c.timer_at.is_none_or(|x| t < x) {
                c.timer_at = Some(t);
                self.timers.push(Reverse((t, TimerKey::Conn(conn))));
            }
        }
    }

    fn session_timer(&mut self, key: u64, at: Instant) {
        let now = self.now;
        let timeouts = (self.config.session_timeout, self.config.unplayed_timeout);
        let wallclock = self.wallclock();
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        if s.timer_at != Some(at) {
            return; // stale
        }
        s.timer_at = None;
        let expires = expires(&self.conns, s);
        if expires && s.last_seen + timeouts.0 <= now {
            self.close_session(key, CloseReason::Timeout, false);
            return;
        }
        if expires && !s.played && s.created.checked_add(timeouts.1).is_some_and(|t| t <= now) {
            self.close_session(key, CloseReason::NeverPlayed, false);
            return;
        }
        let mut tx = Tx::new(&self.config, wallclock, &mut self.rng, &mut self.out);
        s.pump(now, &mut tx);
        if let Some(next) = session_wake(s, expires, timeouts) {
            // Never due again at `now`: that would spin (pump always moves past `now`).
            let next = next.max(now + Duration::from_micros(1));
            s.timer_at = Some(next);
            self.timers.push(Reverse((next, TimerKey::Session(key))));
        }
    }

    /// When a connection times out (`true`: an incomplete request, `false`: idle).
    fn conn_deadline(&self, c: &Conn, holds_session: bool) -> Option<(Instant, bool)> {
        let partial = c
            .partial_since
            .map(|t| (t + self.config.request_timeout, true));
        let idle = (!holds_session).then(|| (c.last_request + self.config.idle_timeout, false));
        partial.into_iter().chain(idle).min_by_key(|(t, _)| *t)
    }

    /// Closes a connection whose request is too slow (408) or which idles without a session.
    fn cut_connection(&mut self, conn: ConnId, partial: bool) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let peer = c.peer;
        if partial && c.http.is_some() {
            let resp = crate::server::http::HttpResponse::error(408);
            self.event(ServerEvent::LimitExceeded {
                peer,
                limit: Limit::RequestTimeout,
            });
            self.http_answer(conn, "", "", resp);
            return;
        }
        if partial {
            // The CSeq, if the partial request has a complete `CSeq` line already (a line still
            // arriving may be cut short: `CSeq: 1` of `CSeq: 12`).
            let cseq = c.decoder.pending_cseq();
            self.send_reply(conn, cseq, Reply::new(StatusCode::REQUEST_TIMEOUT));
        }
        let limit = if partial {
            Limit::RequestTimeout
        } else {
            Limit::IdleTimeout
        };
        self.event(ServerEvent::LimitExceeded { peer, limit });
        self.drop_conn(conn, true);
    }

    /// The earliest live timer, after dropping stale entries from the top of the heap.
    pub(super) fn next_deadline(&mut self) -> Option<Instant> {
        let timer = self.next_timer();
        match (timer, self.report_due()) {
            (Some(t), Some(r)) => Some(t.min(r)),
            (t, r) => t.or(r),
        }
    }

    fn next_timer(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, key))) = self.timers.peek() {
            let live = match key {
                TimerKey::Conn(c) => self.conns.get(&c).is_some_and(|c| c.timer_at == Some(at)),
                TimerKey::Viewer(c) => self.viewer_due(c) == Some(at),
                TimerKey::Session(k) => self
                    .sessions
                    .get(&k)
                    .is_some_and(|s| s.timer_at == Some(at)),
            };
            if live {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }
}

/// Whether a silent session can expire: not while the connection it dies with is open if
/// its dialect says so ([`Dialect::session_expires`](crate::message::Dialect)). Interleaved
/// sessions are refreshed by every byte on their connection instead.
fn expires(conns: &BTreeMap<ConnId, Conn>, s: &Session) -> bool {
    s.dialect()
        .session_expires(|| s.conn().is_some_and(|c| conns.contains_key(&c)))
}

/// When a session next needs attention: its next frame, its next SR, its end-of-stream BYE,
/// or its expiry (`timeouts`: silence, and never played).
fn session_wake(s: &Session, expires: bool, timeouts: (Duration, Duration)) -> Option<Instant> {
    [
        expires.then(|| s.last_seen + timeouts.0),
        (expires && !s.played)
            .then(|| s.created.checked_add(timeouts.1))
            .flatten(),
        s.next_frame_due(),
        s.next_sr,
        s.bye_at,
    ]
    .into_iter()
    .flatten()
    .min()
}
