//! NTP timestamps (RFC 3550 §4).
use std::time::Duration;

/// A 64-bit NTP timestamp: seconds since 1900-01-01 in the high 32 bits, fraction in the low 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
    pub const UNIX_EPOCH_OFFSET_SECS: u64 = 2_208_988_800;

    /// From a duration since the Unix epoch (e.g. `SystemTime::now().duration_since(UNIX_EPOCH)`
    /// read by the caller). Wraps modulo 2^32 seconds like NTP era 0/1.
    pub fn from_unix(since_epoch: Duration) -> Self {
        let secs = since_epoch
            .as_secs()
            .wrapping_add(Self::UNIX_EPOCH_OFFSET_SECS)
            & 0xffff_ffff;
        let frac = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
        Self((secs << 32) | frac)
    }

    /// Back to a duration since the Unix epoch, assuming NTP era 0 (`None` before 1970).
    pub fn to_unix(self) -> Option<Duration> {
        let secs = self.seconds().checked_sub(Self::UNIX_EPOCH_OFFSET_SECS)?;
        let nanos = (u64::from(self.fraction()) * 1_000_000_000) >> 32;
        Some(Duration::new(secs, nanos as u32))
    }

    /// Build from whole seconds and a 32-bit binary fraction.
    pub fn from_parts(seconds: u32, fraction: u32) -> Self {
        Self((u64::from(seconds) << 32) | u64::from(fraction))
    }

    /// The integer seconds part.
    pub fn seconds(self) -> u64 {
        self.0 >> 32
    }

    /// The 32-bit fraction part.
    pub fn fraction(self) -> u32 {
        self.0 as u32
    }

    /// The middle 32 bits, as used for LSR in RTCP report blocks (RFC 3550 §6.4.1).
    pub fn middle32(self) -> u32 {
        (self.0 >> 16) as u32
    }
}

impl From<NtpTime> for u64 {
    /// The 64-bit wire form (what an RTCP SR carries).
    fn from(t: NtpTime) -> Self {
        t.0
    }
}

/// Convert a duration to the 1/65536 s units of DLSR (saturating at `u32::MAX`).
pub fn duration_to_ntp_short(d: Duration) -> u32 {
    let v = (d.as_secs() << 16) | ((u64::from(d.subsec_nanos()) << 16) / 1_000_000_000);
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Convert 1/65536 s units (DLSR, RTT in "NTP short format") to a duration.
pub fn ntp_short_to_duration(v: u32) -> Duration {
    let secs = u64::from(v >> 16);
    let nanos = (u64::from(v & 0xffff) * 1_000_000_000) >> 16;
    Duration::new(secs, nanos as u32)
}

/// Round-trip time from a report block (RFC 3550 §6.4.1): `arrival - lsr - dlsr`, all in 1/65536 s
/// (`arrival` is [`NtpTime::middle32`] of when the RR arrived). `None` when LSR is 0 (no SR seen)
/// or the result is negative.
pub fn rtt_from_report(arrival_middle32: u32, lsr: u32, dlsr: u32) -> Option<Duration> {
    if lsr == 0 {
        return None;
    }
    let rtt = arrival_middle32.wrapping_sub(lsr).wrapping_sub(dlsr);
    if rtt as i32 >= 0 {
        Some(ntp_short_to_duration(rtt))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_conversion() {
        let t = NtpTime::from_unix(Duration::new(0, 0));
        assert_eq!(t.seconds(), 2_208_988_800);
        assert_eq!(t.fraction(), 0);
        let t = NtpTime::from_unix(Duration::new(1_700_000_000, 500_000_000));
        assert_eq!(t.seconds(), 1_700_000_000 + 2_208_988_800);
        assert_eq!(t.fraction(), 0x8000_0000);
        assert_eq!(t.to_unix(), Some(Duration::new(1_700_000_000, 500_000_000)));
        assert_eq!(NtpTime::from_parts(5, 0).to_unix(), None);
        // Nanosecond precision survives the round trip within 1 ns.
        let d = Duration::new(1_800_000_000, 123_456_789);
        let back = NtpTime::from_unix(d).to_unix().unwrap();
        assert!(d - back <= Duration::from_nanos(1));
    }

    #[test]
    fn from_unix_is_the_64_bit_wire_form() {
        // Seconds since 1900 in the high word (modulo 2^32: era 1 from 2036 on), the fraction
        // of a second in 2^-32 units in the low word.
        for d in [
            Duration::ZERO,
            Duration::from_millis(500),
            Duration::new(1_795_615_705, 123_456_789),
            Duration::new(2_085_978_496, 1), // 2036-02-07: NTP era 1 starts
            Duration::new(u64::from(u32::MAX) * 3, 999_999_999),
        ] {
            let secs = d.as_secs().wrapping_add(2_208_988_800);
            let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
            assert_eq!(
                u64::from(NtpTime::from_unix(d)),
                (secs << 32) | frac,
                "{d:?}"
            );
        }
        assert_eq!(
            NtpTime::from_unix(Duration::from_millis(500)).fraction(),
            1 << 31
        );
        assert_eq!(
            NtpTime::from_unix(Duration::new(2_085_978_496, 0)).seconds(),
            0
        );
    }

    #[test]
    fn parts_and_middle() {
        let t = NtpTime::from_parts(0x1122_3344, 0x5566_7788);
        assert_eq!(t.0, 0x1122_3344_5566_7788);
        assert_eq!(t.middle32(), 0x3344_5566);
    }

    #[test]
    fn short_format_and_rtt() {
        assert_eq!(
            duration_to_ntp_short(Duration::from_millis(1500)),
            0x0001_8000
        );
        assert_eq!(
            ntp_short_to_duration(0x0001_8000),
            Duration::from_millis(1500)
        );
        assert_eq!(
            duration_to_ntp_short(Duration::from_secs(100_000)),
            u32::MAX
        );
        // RFC 3550 §6.4.1 example: A = 0xb710_8000, LSR = 0xb705_2000, DLSR = 0x0005_4000 -> 6.125 s.
        assert_eq!(
            rtt_from_report(0xb710_8000, 0xb705_2000, 0x0005_4000),
            Some(Duration::from_millis(6125))
        );
        assert_eq!(rtt_from_report(0xb710_8000, 0, 0x0005_4000), None);
        assert_eq!(rtt_from_report(0xb705_2000, 0xb705_2000, 1), None);
    }
}
