//! `Session` header (RFC 2326 §12.37): `id[;timeout=secs]`.

use super::HeaderError;
use std::fmt;

/// The `Session` header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session id (opaque; RFC 2326 allows `[A-Za-z0-9$-_.+]`).
    pub id: String,
    /// The advertised timeout in seconds, if given.
    pub timeout: Option<u32>,
}

impl Session {
    /// Parse a header value.
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        let _ = value;
        Err(HeaderError::new("Session", "unimplemented"))
    }
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)?;
        if let Some(t) = self.timeout {
            write!(f, ";timeout={t}")?;
        }
        Ok(())
    }
}
