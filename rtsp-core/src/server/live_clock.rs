//! [`LiveClock`]: one steady 90 kHz timeline for a live path, whatever feeds it.

use std::time::{Duration, Instant};

/// How far a source's RTP clock may run from the arrival clock before the timeline stops
/// following it and re-anchors on arrival time (a source that restarted its clock, or one
/// whose timestamps are nonsense).
const MAX_DRIFT: Duration = Duration::from_secs(5);
/// 90 kHz ticks per second.
const HZ: u64 = 90_000;

/// The 90 kHz timeline of one live path: every frame gets a time on it
/// ([`LiveClock::stamp`]), from the source's RTP timestamps when it has them (a publisher, a
/// pulled RTSP stream) and from arrival otherwise (HTTP, a command's output). Times only go
/// forward: a new source (a publisher replacing another, a reconnected pull) continues the
/// timeline where the old one stopped, plus the time that passed, so readers see one
/// continuous stream.
#[derive(Debug, Clone, Default)]
pub struct LiveClock {
    /// The last frame: its time on the timeline and when it arrived.
    last: Option<(u64, Instant)>,
    /// The source's RTP clock as followed: its epoch, the last timestamp, the timeline time
    /// that timestamp maps to.
    rtp: Option<(u64, u32, u64)>,
}

impl LiveClock {
    /// A timeline that starts at 0 with its first frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// The time of a frame that arrived at `now` from the source run `epoch` (a number that
    /// changes whenever the source changes or reconnects), with RTP timestamp `rtp` if the
    /// source has one. Strictly increasing.
    pub fn stamp(&mut self, epoch: u64, rtp: Option<u32>, now: Instant) -> u64 {
        let by_arrival = match self.last {
            None => 0,
            Some((at, t)) => at + ticks(now.saturating_duration_since(t)),
        };
        let floor = self.last.map_or(0, |(at, _)| at + 1);
        let at = match (rtp, self.rtp) {
            (Some(ts), Some((e, last_ts, last_at))) if e == epoch => {
                let delta = ts.wrapping_sub(last_ts) as i32;
                let followed = last_at.saturating_add_signed(i64::from(delta));
                if followed.abs_diff(by_arrival) > ticks(MAX_DRIFT) {
                    by_arrival
                } else {
                    followed
                }
            }
            _ => by_arrival,
        };
        let at = at.max(floor);
        self.rtp = rtp.map(|ts| (epoch, ts, at));
        self.last = Some((at, now));
        at
    }
}

/// A duration in 90 kHz ticks.
fn ticks(d: Duration) -> u64 {
    (d.as_nanos() * u128::from(HZ) / 1_000_000_000) as u64
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, reason = "the epoch of virtual time")]
mod tests {
    use super::*;

    #[test]
    fn follows_the_source_rtp_clock() {
        let t0 = Instant::now();
        let mut c = LiveClock::new();
        assert_eq!(c.stamp(1, Some(1000), t0), 0);
        // Arrival jitter does not move the timeline: the RTP clock does.
        let t = t0 + Duration::from_millis(55);
        assert_eq!(c.stamp(1, Some(1000 + 3600), t), 3600);
        let t = t + Duration::from_millis(25);
        assert_eq!(c.stamp(1, Some(1000 + 7200), t), 7200);
    }

    #[test]
    fn wraps_with_the_rtp_timestamp() {
        let t0 = Instant::now();
        let mut c = LiveClock::new();
        c.stamp(1, Some(u32::MAX - 1000), t0);
        let t = t0 + Duration::from_millis(40);
        assert_eq!(c.stamp(1, Some(2600), t), 3601);
    }

    #[test]
    fn arrival_time_without_rtp() {
        let t0 = Instant::now();
        let mut c = LiveClock::new();
        assert_eq!(c.stamp(1, None, t0), 0);
        assert_eq!(c.stamp(1, None, t0 + Duration::from_millis(40)), 3600);
        // Two frames in the same instant still get increasing times.
        assert_eq!(c.stamp(1, None, t0 + Duration::from_millis(40)), 3601);
    }

    #[test]
    fn a_new_source_continues_the_timeline() {
        let t0 = Instant::now();
        let mut c = LiveClock::new();
        c.stamp(1, Some(5_000_000), t0);
        c.stamp(1, Some(5_003_600), t0 + Duration::from_millis(40));
        // The publisher went away; another one, with its own clock, 2 s later.
        let t = t0 + Duration::from_millis(2040);
        assert_eq!(c.stamp(2, Some(17), t), 3600 + 180_000);
        let t = t + Duration::from_millis(40);
        assert_eq!(c.stamp(2, Some(17 + 3600), t), 3600 + 183_600);
    }

    #[test]
    fn a_jumping_source_clock_is_not_followed() {
        let t0 = Instant::now();
        let mut c = LiveClock::new();
        c.stamp(1, Some(0), t0);
        // 100 s ahead after 40 ms: re-anchored on arrival.
        let t = t0 + Duration::from_millis(40);
        assert_eq!(c.stamp(1, Some(9_000_000), t), 3600);
        // Backwards: never before the last time.
        let t = t + Duration::from_millis(1);
        let at = c.stamp(1, Some(9_000_000 - 90_000), t);
        assert!(at > 3600, "{at}");
    }
}
