//! `Range` header (RFC 2326 §12.29, §3.6): only `npt` is interpreted.
//!
//! ```text
//! npt-range = ( npt-time "-" [ npt-time ] ) | ( "-" npt-time )
//! npt-time  = "now" | npt-sec | npt-hhmmss
//! npt-sec   = 1*DIGIT [ "." *DIGIT ]
//! npt-hhmmss = npt-hh ":" npt-mm ":" npt-ss [ "." *DIGIT ]   ; mm, ss < 60
//! ```

use super::params::split_unquoted;
use super::HeaderError;
use std::fmt;

/// A normal-play-time instant (RFC 2326 §3.6).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NptTime {
    /// `now`
    Now,
    /// Seconds from the start (from `12.5` or `h:mm:ss.frac`). Always finite and `>= 0` when
    /// parsed.
    Seconds(f64),
}

impl NptTime {
    /// Parse one `npt-time`.
    pub fn parse(s: &str) -> Result<Self, HeaderError> {
        let s = s.trim();
        let err = || HeaderError::new("Range", format!("invalid npt time `{s}`"));
        if s.eq_ignore_ascii_case("now") {
            return Ok(Self::Now);
        }
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let fields: Vec<&str> = int.split(':').collect();
        let all_digits = |f: &str| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit());
        if !fields.iter().all(|f| all_digits(f)) {
            return Err(err());
        }
        // Both parts are all digits, so "<digits>.<digits>0" is a valid float literal; parsing
        // it whole (rather than adding the fraction) keeps the value correctly rounded.
        let with_frac = |whole: &str| -> Result<f64, HeaderError> {
            format!("{whole}.{frac}0").parse::<f64>().map_err(|_| err())
        };
        let secs = match fields.as_slice() {
            [sec] => with_frac(sec)?,
            [h, m, sec] => {
                if m.len() > 2 || sec.len() > 2 {
                    return Err(err());
                }
                let h: f64 = h.parse().map_err(|_| err())?;
                let m: f64 = m.parse().map_err(|_| err())?;
                let sec = with_frac(sec)?;
                if m >= 60.0 || sec >= 60.0 {
                    return Err(err());
                }
                h * 3600.0 + m * 60.0 + sec
            }
            _ => return Err(err()),
        };
        if !secs.is_finite() {
            return Err(err());
        }
        Ok(Self::Seconds(secs))
    }

    /// The seconds, or `None` for `now`.
    pub fn seconds(self) -> Option<f64> {
        match self {
            Self::Now => None,
            Self::Seconds(s) => Some(s),
        }
    }
}

impl fmt::Display for NptTime {
    /// `now`, or seconds with three decimals (`12.500`). Negative or non-finite values (which
    /// parsing never produces) are written as `0.000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Now => f.write_str("now"),
            Self::Seconds(s) if s.is_finite() && s >= 0.0 => write!(f, "{s:.3}"),
            Self::Seconds(_) => f.write_str("0.000"),
        }
    }
}

/// The `Range` header value.
///
/// Parse examples: `npt=0-`, `npt=0.000-`, `npt=now-`, `npt=12.5-20`, `npt=1:02:03.5-`,
/// `npt=-20` (start 0). A `;time=` parameter is ignored. `Display` writes `npt=0.000-`,
/// `npt=now-`, `npt=12.500-20.000`.
#[derive(Debug, Clone, PartialEq)]
pub enum Range {
    /// `npt=start-[end]`.
    Npt {
        /// Start.
        start: NptTime,
        /// End, if given.
        end: Option<NptTime>,
    },
    /// Any other unit (`smpte=…`, `clock=…`), kept verbatim.
    Other(String),
}

impl Range {
    /// `npt=<start>-` (open end).
    pub fn from_start(start: NptTime) -> Self {
        Self::Npt { start, end: None }
    }

    /// Parse a header value.
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        let spec = split_unquoted(value, b';')
            .next()
            .unwrap_or_default()
            .trim();
        let Some((unit, times)) = spec.split_once('=') else {
            return Err(HeaderError::new("Range", format!("no unit in `{spec}`")));
        };
        let unit = unit.trim();
        if !unit.eq_ignore_ascii_case("npt") {
            if unit.is_empty() {
                return Err(HeaderError::new("Range", "empty unit"));
            }
            return Ok(Self::Other(value.trim().to_string()));
        }
        let Some((start, end)) = times.split_once('-') else {
            return Err(HeaderError::new("Range", format!("no `-` in `{spec}`")));
        };
        let (start, end) = (start.trim(), end.trim());
        if start.is_empty() && end.is_empty() {
            return Err(HeaderError::new("Range", "empty npt range"));
        }
        let start = if start.is_empty() {
            NptTime::Seconds(0.0)
        } else {
            NptTime::parse(start)?
        };
        let end = if end.is_empty() {
            None
        } else {
            Some(NptTime::parse(end)?)
        };
        Ok(Self::Npt { start, end })
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Npt { start, end } => {
                write!(f, "npt={start}-")?;
                if let Some(end) = end {
                    write!(f, "{end}")?;
                }
                Ok(())
            }
            Self::Other(s) => f.write_str(s),
        }
    }
}

impl std::str::FromStr for Range {
    type Err = HeaderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn npt(start: NptTime, end: Option<NptTime>) -> Range {
        Range::Npt { start, end }
    }
    use NptTime::{Now, Seconds};

    #[test]
    fn parses() {
        assert_eq!(Range::parse("npt=0-").unwrap(), npt(Seconds(0.0), None));
        assert_eq!(Range::parse("npt=0.000-").unwrap(), npt(Seconds(0.0), None));
        assert_eq!(Range::parse("npt=now-").unwrap(), npt(Now, None));
        assert_eq!(
            Range::parse("npt=12.5-20").unwrap(),
            npt(Seconds(12.5), Some(Seconds(20.0)))
        );
        assert_eq!(
            Range::parse("npt=1:02:03.5-").unwrap(),
            npt(Seconds(3723.5), None)
        );
        assert_eq!(
            Range::parse(" NPT = 12.477960 - ").unwrap(),
            npt(Seconds(12.47796), None)
        );
        assert_eq!(
            Range::parse("npt=-20").unwrap(),
            npt(Seconds(0.0), Some(Seconds(20.0)))
        );
        assert_eq!(
            Range::parse("npt=5-;time=19970123T143720Z").unwrap(),
            npt(Seconds(5.0), None)
        );
        assert_eq!(Range::parse("npt=5.-").unwrap(), npt(Seconds(5.0), None));
        assert_eq!(
            Range::parse("clock=19961108T142300Z-19961108T143520Z").unwrap(),
            Range::Other("clock=19961108T142300Z-19961108T143520Z".into())
        );
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "npt",
            "npt=",
            "npt=-",
            "npt=5",
            "npt=a-",
            "npt=inf-",
            "npt=nan-",
            "npt=-1-",
            "npt=1:60:00-",
            "npt=1:2-",
            "npt=1:02:03:04-",
            "npt=+5-",
            "npt=1e3-",
            "=5-",
            "npt=.5-",
        ] {
            assert!(Range::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display() {
        assert_eq!(npt(Seconds(0.0), None).to_string(), "npt=0.000-");
        assert_eq!(npt(Now, None).to_string(), "npt=now-");
        assert_eq!(
            npt(Seconds(12.5), Some(Seconds(20.0))).to_string(),
            "npt=12.500-20.000"
        );
        assert_eq!(npt(Seconds(-1.0), None).to_string(), "npt=0.000-");
        assert_eq!(npt(Seconds(f64::NAN), None).to_string(), "npt=0.000-");
        assert_eq!(Range::from_start(Now), npt(Now, None));
    }

    fn arb_npt() -> impl Strategy<Value = NptTime> {
        prop_oneof![
            Just(NptTime::Now),
            (0u64..1_000_000_000_000).prop_map(|ms| NptTime::Seconds(ms as f64 / 1000.0)),
        ]
    }

    proptest! {
        #[test]
        fn roundtrip(start in arb_npt(), end in proptest::option::of(arb_npt())) {
            let r = npt(start, end);
            prop_assert_eq!(Range::parse(&r.to_string()).unwrap(), r);
        }

        #[test]
        fn parsed_seconds_are_finite(v in "npt=[0-9:.]{0,12}-[0-9:.]{0,12}") {
            if let Ok(Range::Npt { start, end }) = Range::parse(&v) {
                for t in [Some(start), end].into_iter().flatten() {
                    if let NptTime::Seconds(s) = t {
                        prop_assert!(s.is_finite() && s >= 0.0);
                    }
                }
            }
        }

        #[test]
        fn never_panics(v in "\\PC{0,40}") {
            let _ = Range::parse(&v);
        }
    }
}
