//! `Transport` header (RFC 2326 §12.39).

use super::HeaderError;
use std::fmt;

/// Lower transport of a transport spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowerTransport {
    /// `RTP/AVP`, `RTP/AVP/UDP` (and the lab's `RTP/UDP`).
    Udp,
    /// `RTP/AVP/TCP` (interleaved on the RTSP connection).
    Tcp,
}

/// `mode=` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportMode {
    /// `mode=PLAY` (default).
    Play,
    /// `mode=RECORD`.
    Record,
}

/// One transport spec. A header may hold several, comma-separated, in order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    /// The transport/profile token as sent, e.g. `RTP/AVP`, `RTP/AVP/TCP`, `RTP/UDP`.
    pub protocol: String,
    /// UDP or TCP, derived from `protocol`.
    pub lower: LowerTransport,
    /// `unicast` (true) or `multicast` (false). Absent means unicast.
    pub unicast: bool,
    /// `client_port=a[-b]`.
    pub client_port: Option<(u16, Option<u16>)>,
    /// `server_port=a[-b]`.
    pub server_port: Option<(u16, Option<u16>)>,
    /// `interleaved=a[-b]`.
    pub interleaved: Option<(u8, Option<u8>)>,
    /// `ssrc=8HEX`.
    pub ssrc: Option<u32>,
    /// `mode=`.
    pub mode: Option<TransportMode>,
    /// `destination=`.
    pub destination: Option<String>,
    /// `source=`.
    pub source: Option<String>,
    /// `ttl=`.
    pub ttl: Option<u8>,
    /// Parameters not listed above, kept in order (`name`, optional `value`).
    pub other: Vec<(String, Option<String>)>,
}

impl Transport {
    /// A plain unicast spec for this lower transport, no parameters.
    pub fn new(lower: LowerTransport) -> Self {
        Self {
            protocol: match lower {
                LowerTransport::Udp => "RTP/AVP".into(),
                LowerTransport::Tcp => "RTP/AVP/TCP".into(),
            },
            lower,
            unicast: true,
            client_port: None,
            server_port: None,
            interleaved: None,
            ssrc: None,
            mode: None,
            destination: None,
            source: None,
            ttl: None,
            other: Vec::new(),
        }
    }

    /// Parse one spec.
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        let _ = value;
        Err(HeaderError::new("Transport", "unimplemented"))
    }

    /// Parse a header value holding one or more comma-separated specs.
    pub fn parse_list(value: &str) -> Result<Vec<Self>, HeaderError> {
        let _ = value;
        Err(HeaderError::new("Transport", "unimplemented"))
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.protocol)
    }
}
