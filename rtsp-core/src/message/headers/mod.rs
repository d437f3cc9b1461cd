//! Header names, the header list, and typed headers (one module per header).

mod name;
mod params;
mod public;
mod range;
mod rtp_info;
mod session;
mod transport;

pub use name::HeaderName;
pub use public::Public;
pub use range::{NptTime, Range};
pub use rtp_info::RtpInfo;
pub use session::Session;
pub use transport::{LowerTransport, Transport, TransportMode};

/// Error from parsing a typed header value (RFC 2326 §12).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {header} header: {reason}")]
pub struct HeaderError {
    /// The header's name.
    pub header: &'static str,
    /// What was wrong.
    pub reason: String,
}

impl HeaderError {
    pub(crate) fn new(header: &'static str, reason: impl Into<String>) -> Self {
        Self {
            header,
            reason: reason.into(),
        }
    }
}

/// Ordered header list. Lookups ignore the case of names (RFC 2326 §4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(HeaderName, String)>);

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// The first value of `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All values of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &HeaderName) -> bool {
        self.get(name).is_some()
    }

    /// Append a header (keeps any existing one of the same name).
    pub fn append(&mut self, name: HeaderName, value: impl Into<String>) {
        self.0.push((name, value.into()));
    }

    /// Replace every value of `name` with one value.
    pub fn set(&mut self, name: HeaderName, value: impl Into<String>) {
        self.remove(&name);
        self.0.push((name, value.into()));
    }

    /// Remove every value of `name`.
    pub fn remove(&mut self, name: &HeaderName) {
        self.0.retain(|(n, _)| n != name);
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterate `(name, value)` in order.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &str)> {
        self.0.iter().map(|(n, v)| (n, v.as_str()))
    }

    /// The value of the last header line (for obs-fold continuation lines).
    pub(crate) fn last_value_mut(&mut self) -> Option<&mut String> {
        self.0.last_mut().map(|(_, v)| v)
    }
}
