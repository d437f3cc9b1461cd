//! `Range` header (RFC 2326 §12.29, §3.6): only `npt` is interpreted.

use super::HeaderError;
use std::fmt;

/// A normal-play-time instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NptTime {
    /// `now`
    Now,
    /// Seconds from the start (from `12.5` or `h:mm:ss.frac`).
    Seconds(f64),
}

/// The `Range` header value.
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
    /// Parse a header value.
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        let _ = value;
        Err(HeaderError::new("Range", "unimplemented"))
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        Ok(())
    }
}
