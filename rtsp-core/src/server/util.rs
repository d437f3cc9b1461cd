//! Small private helpers: a seeded PRNG, RFC 1123 dates and NTP time from a wall-clock anchor.

use std::time::Duration;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, seedable, good enough for SSRCs and session ids.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform-ish value in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31) (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// An RFC 1123 date (`Wed, 25 Nov 2026 14:08:25 GMT`) for `since_epoch` after 1970-01-01 UTC.
pub(crate) fn http_date(since_epoch: Duration) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = since_epoch.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m as usize).saturating_sub(1).min(11)],
        y,
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// 64-bit NTP timestamp (seconds since 1900 in the high word, fraction in the low word).
pub(crate) fn ntp_time(since_epoch: Duration) -> u64 {
    const UNIX_TO_NTP: u64 = 2_208_988_800;
    let secs = since_epoch.as_secs().wrapping_add(UNIX_TO_NTP);
    let frac = ((u64::from(since_epoch.subsec_nanos())) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(http_date(Duration::ZERO), "Thu, 01 Jan 1970 00:00:00 GMT");
        // 2026-11-25 14:08:25 UTC (the date in the interop transcripts).
        assert_eq!(
            http_date(Duration::from_secs(1_795_615_705)),
            "Wed, 25 Nov 2026 14:08:25 GMT"
        );
        assert_eq!(
            http_date(Duration::from_secs(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
    }

    #[test]
    fn ntp() {
        assert_eq!(ntp_time(Duration::ZERO) >> 32, 2_208_988_800);
        assert_eq!(ntp_time(Duration::from_millis(500)) & 0xFFFF_FFFF, 1 << 31);
    }

    #[test]
    fn prng_is_deterministic() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(a.next_u64(), SplitMix64::new(8).next_u64());
        assert!(a.below(10) < 10);
    }
}
