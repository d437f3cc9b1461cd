//! Case-insensitive header names.

use std::borrow::Cow;
use std::fmt;

/// A header name. Compares and hashes without regard to ASCII case; keeps the spelling it was given.
#[derive(Debug, Clone)]
pub struct HeaderName(Cow<'static, str>);

impl HeaderName {
    /// A header name from a string (any spelling).
    pub fn new(name: impl Into<String>) -> Self {
        Self(Cow::Owned(name.into()))
    }

    /// A constant header name.
    pub const fn from_static(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    /// The name as spelled.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `Accept`
    pub const ACCEPT: Self = Self::from_static("Accept");
    /// `Allow`
    pub const ALLOW: Self = Self::from_static("Allow");
    /// `Authorization`
    pub const AUTHORIZATION: Self = Self::from_static("Authorization");
    /// `Cache-Control`
    pub const CACHE_CONTROL: Self = Self::from_static("Cache-Control");
    /// `Connection`
    pub const CONNECTION: Self = Self::from_static("Connection");
    /// `Content-Base`
    pub const CONTENT_BASE: Self = Self::from_static("Content-Base");
    /// `Content-Length`
    pub const CONTENT_LENGTH: Self = Self::from_static("Content-Length");
    /// `Content-Location`
    pub const CONTENT_LOCATION: Self = Self::from_static("Content-Location");
    /// `Content-Type`
    pub const CONTENT_TYPE: Self = Self::from_static("Content-Type");
    /// `CSeq`
    pub const CSEQ: Self = Self::from_static("CSeq");
    /// `Date`
    pub const DATE: Self = Self::from_static("Date");
    /// `Location`
    pub const LOCATION: Self = Self::from_static("Location");
    /// `Proxy-Require`
    pub const PROXY_REQUIRE: Self = Self::from_static("Proxy-Require");
    /// `Public`
    pub const PUBLIC: Self = Self::from_static("Public");
    /// `Range`
    pub const RANGE: Self = Self::from_static("Range");
    /// `Require`
    pub const REQUIRE: Self = Self::from_static("Require");
    /// `RTP-Info`
    pub const RTP_INFO: Self = Self::from_static("RTP-Info");
    /// `Scale`
    pub const SCALE: Self = Self::from_static("Scale");
    /// `Server`
    pub const SERVER: Self = Self::from_static("Server");
    /// `Session`
    pub const SESSION: Self = Self::from_static("Session");
    /// `Transport`
    pub const TRANSPORT: Self = Self::from_static("Transport");
    /// `Unsupported`
    pub const UNSUPPORTED: Self = Self::from_static("Unsupported");
    /// `User-Agent`
    pub const USER_AGENT: Self = Self::from_static("User-Agent");
    /// `WWW-Authenticate`
    pub const WWW_AUTHENTICATE: Self = Self::from_static("WWW-Authenticate");
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for HeaderName {}

impl std::hash::Hash for HeaderName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for b in self.0.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
