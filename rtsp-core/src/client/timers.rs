//! Time: the client's timer table, its next deadline, and what happens when deadlines pass —
//! request timeouts, keepalives, a silent server, RTCP reports, the reordering wait, the
//! end-of-stream grace, the no-media watch, the lab's unterminated replies and the policy's UDP
//! media check.

use std::time::{Duration, Instant};

use super::media::Media;
use super::request::Kind;
use super::{after, Client, ClientError, ClientEvent};
use crate::message::Method;

/// Consecutive unanswered keepalives after which a server that also sends no RTP/RTCP for the
/// session timeout is given up on ([`ClientError::ServerSilent`]).
const SILENT_KEEPALIVES: u32 = 2;

/// One kind of timer (request timeouts live with each request, the reordering wait and the
/// end-of-stream grace with the media receiver).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// Send a keepalive (GET_PARAMETER or OPTIONS).
    Keepalive = 0,
    /// Send an RTCP receiver report.
    Rtcp = 1,
    /// Lab dialect: take the buffered, unterminated reply as complete.
    LabFlush = 2,
    /// The policy's TCP fallback: check that RTP arrived over UDP since PLAY.
    UdpCheck = 3,
}

const COUNT: usize = 4;

/// When each [`Timer`] fires, if armed.
#[derive(Debug, Clone, Default)]
pub(super) struct TimerTable([Option<Instant>; COUNT]);

impl TimerTable {
    pub(super) fn set(&mut self, timer: Timer, at: Instant) {
        self.0[timer as usize] = Some(at);
    }

    pub(super) fn stop(&mut self, timer: Timer) {
        self.0[timer as usize] = None;
    }

    pub(super) fn stop_all(&mut self) {
        self.0 = [None; COUNT];
    }

    /// Whether `timer` is armed and due at `now`.
    pub(super) fn is_due(&self, timer: Timer, now: Instant) -> bool {
        self.0[timer as usize].is_some_and(|t| t <= now)
    }

    /// The earliest armed timer.
    fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }
}

/// Keepalive period for session timeout `t`: min(T/2, T−5), at least 0.5 s.
pub(super) fn keepalive_interval(t: Duration) -> Duration {
    let half = t / 2;
    let iv = match t.checked_sub(Duration::from_secs(5)) {
        Some(early) if !early.is_zero() => half.min(early),
        _ => half,
    };
    iv.max(Duration::from_millis(500))
}

impl Client {
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        if self.closed() {
            return None;
        }
        [
            self.need_now.then_some(self.now),
            self.pending.iter().filter_map(|p| p.deadline).min(),
            self.timers.next(),
            self.media.as_ref().and_then(Media::deadline),
            self.silence().map(|(_, _, at)| at),
            self.no_media_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Once [`SILENT_KEEPALIVES`] keepalives in a row went unanswered: their number, when the
    /// server was last heard (its last RTP/RTCP packet, or the SETUP / PLAY reply if later),
    /// and when it counts as silent (the session timeout after that).
    fn silence(&self) -> Option<(u32, Instant, Instant)> {
        let session = self.session.as_ref()?;
        if session.keepalive_misses < SILENT_KEEPALIVES {
            return None;
        }
        let heard = match self.media.as_ref().and_then(Media::last_heard) {
            Some(t) => t.max(session.heard_at),
            None => session.heard_at,
        };
        let at = after(heard, session.timeout);
        Some((session.keepalive_misses, heard, at))
    }

    pub(super) fn run_timers(&mut self, now: Instant) {
        if self.closed() {
            return;
        }
        self.arm_request_timeouts(now);
        self.expire_requests(now);
        if let Some((keepalives, heard, at)) = self.silence() {
            if at <= now {
                let error = ClientError::ServerSilent {
                    keepalives,
                    silent_for: now.saturating_duration_since(heard),
                };
                self.shut_down(Some(error), true);
                return;
            }
        }
        if self.timers.is_due(Timer::LabFlush, now) {
            self.lab_flush(now);
            if self.closed() {
                return;
            }
        }
        if let Some(media) = self.media.as_mut() {
            media.release_ready(now, &mut self.out);
        }
        if let Some(ssrc) = self.media.as_mut().and_then(|m| m.take_end_due(now)) {
            self.end_stream(ssrc);
        }
        self.check_media(now);
        if self.timers.is_due(Timer::Keepalive, now) {
            self.keepalive(now);
        }
        if self.timers.is_due(Timer::Rtcp, now) {
            self.send_rtcp(now, false);
            let next = self.rng.jittered(self.cfg().rtcp_interval);
            self.timers.set(Timer::Rtcp, after(now, next));
        }
        if self.timers.is_due(Timer::UdpCheck, now) {
            self.timers.stop(Timer::UdpCheck);
            self.policy_check_udp(now);
        }
    }

    /// Requests sent from API calls: their timeouts start now.
    fn arm_request_timeouts(&mut self, now: Instant) {
        if !self.need_now {
            return;
        }
        self.need_now = false;
        let timeout = self.cfg().request_timeout;
        for p in self.pending.iter_mut() {
            if p.unsent.is_none() && p.deadline.is_none() {
                p.deadline = Some(after(now, timeout));
            }
        }
    }

    /// Requests whose time is up: a keepalive counts as missed, anything else is an error.
    fn expire_requests(&mut self, now: Instant) {
        while let Some(i) = self
            .pending
            .iter()
            .position(|p| p.deadline.is_some_and(|d| d <= now))
        {
            let Some(p) = self.pending.remove(i) else {
                break;
            };
            if matches!(p.kind, Kind::Keepalive) {
                if let Some(session) = self.session.as_mut() {
                    session.keepalive_misses += 1;
                }
                self.emit(ClientEvent::KeepaliveFailed { status: None });
            } else {
                self.policy_step_failed(&p.kind);
                self.emit(ClientEvent::Error(ClientError::RequestTimeout {
                    cseq: p.cseq,
                    method: p.method,
                }));
            }
            self.flush_requests(Some(now));
        }
    }

    fn keepalive(&mut self, now: Instant) {
        let Some(session) = self.session.as_ref() else {
            self.timers.stop(Timer::Keepalive);
            return;
        };
        let at = after(now, keepalive_interval(session.timeout));
        self.timers.set(Timer::Keepalive, at);
        if self
            .pending
            .iter()
            .any(|p| matches!(p.kind, Kind::Keepalive))
        {
            return;
        }
        let method = if self.get_parameter_ok {
            Method::GetParameter
        } else {
            Method::Options
        };
        let uri = self.aggregate_url();
        self.send(method, &uri, Vec::new(), Kind::Keepalive, Some(now));
    }
}
