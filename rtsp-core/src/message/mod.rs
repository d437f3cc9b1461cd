//! RTSP/1.0 messages (RFC 2326 §6, §7): requests, responses, headers, and their
//! bounded incremental parser ([`Decoder`]) and writer.
//!
//! Reading a control connection (sans-IO: the caller owns the buffer):
//!
//! ```
//! use bytes::BytesMut;
//! use rtsp_core::message::{Decoded, Decoder, Limits, Message, Transport, HeaderName};
//!
//! let mut decoder = Decoder::new(Limits::default());
//! let mut buf = BytesMut::new();
//! buf.extend_from_slice(b"SETUP rtsp://h/test/stream=0 RTSP/1.0\r\nCSeq: 3\r\n");
//! assert_eq!(decoder.decode(&mut buf), Ok(None)); // need more bytes
//! buf.extend_from_slice(b"Transport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n");
//! let Some(Decoded::Message(Message::Request(req))) = decoder.decode(&mut buf).unwrap() else {
//!     panic!()
//! };
//! let t = Transport::parse_list(req.headers.get(&HeaderName::TRANSPORT).unwrap()).unwrap();
//! assert_eq!(t[0].client_port, Some((5000, Some(5001))));
//! assert_eq!(req.cseq(), Some(3));
//! ```
//!
//! Typed header values live in [`headers`] (re-exported here); every other header is kept
//! verbatim (trimmed) in [`Headers`].

mod decoder;
mod dialect;
mod encode;
pub mod headers;
mod parse;
mod status;
#[cfg(test)]
mod tests;

pub use decoder::{Decoded, Decoder, Limits, ParseError, TooLargeKind};
pub(crate) use dialect::is_bare_uri;
pub use dialect::Dialect;
pub use encode::write_interleaved;
pub use headers::{
    HeaderError, HeaderName, Headers, LowerTransport, NptTime, Public, Range, RtpInfo, Session,
    Transport, TransportMode,
};
pub use status::StatusCode;

use bytes::Bytes;
use std::fmt;

/// An RTSP method (RFC 2326 §10). Unknown tokens are kept as [`Method::Extension`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// OPTIONS
    Options,
    /// DESCRIBE
    Describe,
    /// ANNOUNCE
    Announce,
    /// SETUP
    Setup,
    /// PLAY
    Play,
    /// PAUSE
    Pause,
    /// TEARDOWN
    Teardown,
    /// GET_PARAMETER
    GetParameter,
    /// SET_PARAMETER
    SetParameter,
    /// REDIRECT
    Redirect,
    /// RECORD
    Record,
    /// Any other token.
    Extension(String),
}

impl Method {
    /// The method token as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Options => "OPTIONS",
            Self::Describe => "DESCRIBE",
            Self::Announce => "ANNOUNCE",
            Self::Setup => "SETUP",
            Self::Play => "PLAY",
            Self::Pause => "PAUSE",
            Self::Teardown => "TEARDOWN",
            Self::GetParameter => "GET_PARAMETER",
            Self::SetParameter => "SET_PARAMETER",
            Self::Redirect => "REDIRECT",
            Self::Record => "RECORD",
            Self::Extension(s) => s,
        }
    }

    /// Parse a method token (case-sensitive, as RFC 2326 requires).
    pub fn from_token(token: &str) -> Self {
        match token {
            "OPTIONS" => Self::Options,
            "DESCRIBE" => Self::Describe,
            "ANNOUNCE" => Self::Announce,
            "SETUP" => Self::Setup,
            "PLAY" => Self::Play,
            "PAUSE" => Self::Pause,
            "TEARDOWN" => Self::Teardown,
            "GET_PARAMETER" => Self::GetParameter,
            "SET_PARAMETER" => Self::SetParameter,
            "REDIRECT" => Self::Redirect,
            "RECORD" => Self::Record,
            other => Self::Extension(other.to_string()),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Protocol version `RTSP/major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl Version {
    /// RTSP/1.0, the only version we speak.
    pub const RTSP_1_0: Self = Self { major: 1, minor: 0 };
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RTSP/{}.{}", self.major, self.minor)
    }
}

/// An RTSP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The request-URI as sent (`*`, an absolute `rtsp://` URL, or — lab dialect — a bare name).
    pub uri: String,
    /// The version from the request line.
    pub version: Version,
    /// Headers in order of arrival.
    pub headers: Headers,
    /// The body (`Content-Length` bytes).
    pub body: Bytes,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: impl Into<String>) -> Self {
        Self {
            method,
            uri: uri.into(),
            version: Version::RTSP_1_0,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Builder-style: append a header.
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The `CSeq` header, if present and valid.
    pub fn cseq(&self) -> Option<u32> {
        self.headers
            .get(&HeaderName::CSEQ)
            .and_then(|v| v.trim().parse().ok())
    }
}

/// An RTSP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The version from the status line.
    pub version: Version,
    /// The status code.
    pub status: StatusCode,
    /// The reason phrase as sent.
    pub reason: String,
    /// Headers in order of arrival.
    pub headers: Headers,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// A response with the standard reason phrase, no headers and no body.
    pub fn new(status: StatusCode) -> Self {
        Self {
            version: Version::RTSP_1_0,
            status,
            reason: status.reason().to_string(),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Builder-style: append a header.
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The `CSeq` header, if present and valid.
    pub fn cseq(&self) -> Option<u32> {
        self.headers
            .get(&HeaderName::CSEQ)
            .and_then(|v| v.trim().parse().ok())
    }
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// The headers of the request or response.
    pub fn headers(&self) -> &Headers {
        match self {
            Self::Request(r) => &r.headers,
            Self::Response(r) => &r.headers,
        }
    }

    /// The headers, mutably.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Self::Request(r) => &mut r.headers,
            Self::Response(r) => &mut r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        match self {
            Self::Request(r) => &r.body,
            Self::Response(r) => &r.body,
        }
    }

    /// The version from the start line.
    pub fn version(&self) -> Version {
        match self {
            Self::Request(r) => r.version,
            Self::Response(r) => r.version,
        }
    }

    /// The `CSeq` header (RFC 2326 §12.17), if present and valid.
    pub fn cseq(&self) -> Option<u32> {
        match self {
            Self::Request(r) => r.cseq(),
            Self::Response(r) => r.cseq(),
        }
    }
}
