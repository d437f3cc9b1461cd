//! RTP fixed header (RFC 3550 §5.1).

/// Errors from parsing an RTP packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Fewer than the 12 bytes of the fixed header.
    #[error("rtp packet too short: {len} bytes, need at least 12")]
    TooShort {
        /// Length of the input.
        len: usize,
    },
    /// The version field is not 2.
    #[error("unsupported rtp version {version}")]
    BadVersion {
        /// The version found in the packet.
        version: u8,
    },
}

/// RTP header extension (RFC 3550 §5.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpExtension {
    /// The 16-bit "defined by profile" field.
    pub profile: u16,
    /// Extension data; its length should be a multiple of 4 (`write` zero-pads it).
    pub data: Vec<u8>,
}

/// RTP fixed header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpHeader {
    /// P bit.
    pub padding: bool,
    /// M bit.
    pub marker: bool,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
    /// Contributing sources (at most 15).
    pub csrc: Vec<u32>,
    /// Header extension.
    pub extension: Option<RtpExtension>,
}

impl RtpHeader {
    /// Encoded length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        12
    }
    /// Append the encoded header to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let _ = out;
    }
}

/// A parsed RTP packet borrowing its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The header.
    pub header: RtpHeader,
    /// The payload, without padding.
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Parse a version-2 RTP packet.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        Err(RtpError::TooShort { len: buf.len() })
    }
    /// Parse an RTP packet of any version.
    pub fn parse_lenient(buf: &'a [u8]) -> Result<Self, RtpError> {
        Err(RtpError::TooShort { len: buf.len() })
    }
}

/// Version field of a packet.
pub fn rtp_version(buf: &[u8]) -> Option<u8> {
    buf.first().map(|b| b >> 6)
}
