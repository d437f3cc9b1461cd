//! The client's own timers as a table (request timeouts live with each request, the reordering
//! wait with the media receiver).

use std::time::Instant;

/// One kind of timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// Send a keepalive (GET_PARAMETER or OPTIONS).
    Keepalive = 0,
    /// Send an RTCP receiver report.
    Rtcp = 1,
    /// Lab dialect: take the buffered, unterminated reply as complete.
    LabFlush = 2,
}

const COUNT: usize = 3;

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
    pub(super) fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }
}
