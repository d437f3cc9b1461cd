//! `RTP-Info` header (RFC 2326 §12.33): `url=…;seq=…;rtptime=…[, …]`.

use super::HeaderError;
use std::fmt;

/// One stream's entry in `RTP-Info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpInfo {
    /// The stream URL.
    pub url: String,
    /// Sequence number of the first packet after PLAY.
    pub seq: Option<u16>,
    /// RTP timestamp of the first packet after PLAY.
    pub rtptime: Option<u32>,
}

impl RtpInfo {
    /// Parse a header value (one or more comma-separated entries).
    pub fn parse_list(value: &str) -> Result<Vec<Self>, HeaderError> {
        let _ = value;
        Err(HeaderError::new("RTP-Info", "unimplemented"))
    }

    /// Format several entries as one header value.
    pub fn format_list(list: &[Self]) -> String {
        list.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for RtpInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "url={}", self.url)?;
        if let Some(s) = self.seq {
            write!(f, ";seq={s}")?;
        }
        if let Some(t) = self.rtptime {
            write!(f, ";rtptime={t}")?;
        }
        Ok(())
    }
}
