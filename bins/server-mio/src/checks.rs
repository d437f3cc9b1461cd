//! The limits a flag and its config-file key share: one check each, used by clap's value
//! parsers (`--mtu 100` is refused like any bad flag, status 2) and by the configuration file
//! (`server.mtu = 100` is refused with its file, line and column).
//!
//! Each check returns the value, or why it is refused without naming the flag or the key
//! (`must be between 508 and 65507`): the caller says which.

use std::fmt::Display;
use std::str::FromStr;

use rtsp_core::server::MIN_MTU;

/// Largest UDP payload over IPv4.
const MAX_MTU: usize = 65_507;

/// `--mtu`: a datagram an RTP/JPEG packet fits in, and no larger than UDP allows.
pub(crate) fn mtu(v: usize) -> Result<usize, String> {
    if (MIN_MTU..=MAX_MTU).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be between {MIN_MTU} and {MAX_MTU}"))
    }
}

/// `--session-timeout`, `--request-timeout`, `--idle-timeout`: whole seconds, at least one.
pub(crate) fn seconds(v: u64) -> Result<u64, String> {
    if v >= 1 {
        Ok(v)
    } else {
        Err("must be at least 1 second".into())
    }
}

/// `--fps`, and a path's `fps`: a frame rate in (0, 1000].
pub(crate) fn fps(v: f64) -> Result<f64, String> {
    if v.is_finite() && v > 0.0 && v <= 1000.0 {
        Ok(v)
    } else {
        Err("must be in (0, 1000]".into())
    }
}

/// `--threads`: 1 to 256 event loops.
pub(crate) fn threads(v: usize) -> Result<usize, String> {
    if (1..=256).contains(&v) {
        Ok(v)
    } else {
        Err("must be between 1 and 256".into())
    }
}

/// `--load-threads`: 1 to 64 loader threads.
pub(crate) fn load_threads(v: usize) -> Result<usize, String> {
    if (1..=64).contains(&v) {
        Ok(v)
    } else {
        Err("must be between 1 and 64".into())
    }
}

/// `--max-file-mb`: at least 1 MiB.
pub(crate) fn max_file_mb(v: u64) -> Result<u64, String> {
    if v >= 1 {
        Ok(v)
    } else {
        Err("must be at least 1".into())
    }
}

/// A clap value parser: the text parsed as a `T`, then `check`ed.
pub(crate) fn parsed<T>(
    check: fn(T) -> Result<T, String>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: FromStr + 'static,
    T::Err: Display,
{
    move |s: &str| check(s.parse::<T>().map_err(|e| e.to_string())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_the_reasons_name_them() {
        assert_eq!(mtu(MIN_MTU), Ok(MIN_MTU));
        assert_eq!(mtu(65_507), Ok(65_507));
        assert_eq!(
            mtu(65_508),
            Err(format!("must be between {MIN_MTU} and 65507"))
        );
        assert!(mtu(MIN_MTU - 1).is_err());
        assert_eq!(seconds(0), Err("must be at least 1 second".into()));
        assert_eq!(fps(1000.0), Ok(1000.0));
        for bad in [0.0, -1.0, 1000.5, f64::NAN, f64::INFINITY] {
            assert_eq!(fps(bad), Err("must be in (0, 1000]".into()), "{bad}");
        }
        assert_eq!((threads(1), threads(256)), (Ok(1), Ok(256)));
        assert!(threads(0).is_err() && threads(257).is_err());
        assert!(load_threads(0).is_err() && load_threads(65).is_err());
        assert_eq!(max_file_mb(0), Err("must be at least 1".into()));
    }

    #[test]
    fn the_value_parser_parses_then_checks() {
        let p = parsed(mtu);
        assert_eq!(p("1200"), Ok(1200));
        assert_eq!(p("12"), Err(format!("must be between {MIN_MTU} and 65507")));
        assert!(p("x").unwrap_err().contains("invalid digit"));
    }
}
