//! [`Backoff`]: the capped exponential wait between reconnection attempts.

use std::time::Duration;

/// Capped exponential backoff: the first wait is `min`, each later one doubles, up to `max`;
/// [`Backoff::reset`] starts again from `min` (a source calls it once a frame arrived).
///
/// Pure arithmetic: it never sleeps or reads the clock, the caller waits.
///
/// ```
/// use runtime_std::source::Backoff;
/// use std::time::Duration;
/// let ms = Duration::from_millis;
/// let mut b = Backoff::new(ms(500), ms(3000));
/// let waits: Vec<_> = (0..5).map(|_| b.next_delay()).collect();
/// assert_eq!(waits, [ms(500), ms(1000), ms(2000), ms(3000), ms(3000)]);
/// b.reset();
/// assert_eq!(b.next_delay(), ms(500));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    /// The wait [`Backoff::next_delay`] returns next.
    next: Duration,
}

impl Backoff {
    /// Waits from `min` doubling to `max`. A `max` below `min` is raised to `min`.
    pub fn new(min: Duration, max: Duration) -> Self {
        let max = max.max(min);
        Self {
            min,
            max,
            next: min,
        }
    }

    /// The wait before the next attempt; the one after it is twice as long (at most `max`).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = delay.saturating_mul(2).min(self.max);
        delay
    }

    /// The wait [`Backoff::next_delay`] will return, without advancing.
    pub fn peek(&self) -> Duration {
        self.next
    }

    /// Starts again from `min` (the source worked again).
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn doubles_from_min_and_stops_at_max() {
        let mut b = Backoff::new(ms(500), ms(5000));
        let waits: Vec<_> = (0..7).map(|_| b.next_delay()).collect();
        assert_eq!(
            waits,
            [
                ms(500),
                ms(1000),
                ms(2000),
                ms(4000),
                ms(5000),
                ms(5000),
                ms(5000)
            ]
        );
    }

    #[test]
    fn reset_starts_again_from_min() {
        let mut b = Backoff::new(ms(100), ms(1000));
        for _ in 0..10 {
            b.next_delay();
        }
        assert_eq!(b.peek(), ms(1000));
        b.reset();
        assert_eq!(b.peek(), ms(100));
        assert_eq!(b.next_delay(), ms(100));
        assert_eq!(b.next_delay(), ms(200));
    }

    #[test]
    fn max_below_min_is_raised_to_min() {
        let mut b = Backoff::new(ms(800), ms(10));
        assert_eq!(b.next_delay(), ms(800));
        assert_eq!(b.next_delay(), ms(800));
    }

    #[test]
    fn zero_min_stays_zero() {
        let mut b = Backoff::new(Duration::ZERO, ms(10));
        assert_eq!(b.next_delay(), Duration::ZERO);
        assert_eq!(b.next_delay(), Duration::ZERO);
    }

    #[test]
    fn huge_durations_saturate_instead_of_overflowing() {
        let mut b = Backoff::new(Duration::MAX / 2 + ms(1), Duration::MAX);
        b.next_delay();
        assert_eq!(b.next_delay(), Duration::MAX);
        assert_eq!(b.next_delay(), Duration::MAX);
    }
}
