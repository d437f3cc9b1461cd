//! `Session` header (RFC 2326 §12.37): `session-id [ ";" "timeout" "=" delta-seconds ]`.

use super::params::{digits, key_value, split_unquoted};
use super::HeaderError;
use std::fmt;

/// The `Session` header value.
///
/// Parsing tolerates blanks around `;` and `=` and ignores unknown parameters. Servers differ in
/// what they send: gst-rtsp-server omits `;timeout=` when it is the default 60 s, VLC always
/// sends it, live555 only on the SETUP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session id (opaque; RFC 2326 allows `[A-Za-z0-9$-_.+]`).
    pub id: String,
    /// The advertised timeout in seconds, if given.
    pub timeout: Option<u32>,
}

impl Session {
    /// A session id without a timeout.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            timeout: None,
        }
    }

    /// Builder-style: set the timeout in seconds.
    pub fn with_timeout(mut self, secs: u32) -> Self {
        self.timeout = Some(secs);
        self
    }

    /// Parse a header value.
    ///
    /// Errors: an empty id, an id with blanks, control characters or commas, or a
    /// `timeout=` that is not a number of seconds.
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        let mut parts = split_unquoted(value, b';');
        let id = parts.next().unwrap_or_default().trim();
        if id.is_empty() {
            return Err(HeaderError::new("Session", "empty session id"));
        }
        if id
            .bytes()
            .any(|b| b <= b' ' || b == 0x7f || b == b',' || b == b'"')
        {
            return Err(HeaderError::new(
                "Session",
                "invalid character in session id",
            ));
        }
        let mut timeout = None;
        for p in parts {
            let (k, v) = key_value(p);
            if k.eq_ignore_ascii_case("timeout") {
                let t = v.and_then(digits::<u32>).ok_or_else(|| {
                    HeaderError::new("Session", format!("invalid timeout `{}`", p.trim()))
                })?;
                timeout = Some(t);
            }
        }
        Ok(Self {
            id: id.to_string(),
            timeout,
        })
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

impl std::str::FromStr for Session {
    type Err = HeaderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_real_values() {
        // gst-rtsp-server, default timeout: no parameter.
        assert_eq!(
            Session::parse("5r83+Lb3oOrZWJlb").unwrap(),
            Session::new("5r83+Lb3oOrZWJlb")
        );
        assert_eq!(
            Session::parse("CowqIneJ-5U1CU_3;timeout=6").unwrap(),
            Session::new("CowqIneJ-5U1CU_3").with_timeout(6)
        );
        assert_eq!(
            Session::parse("49qYMN_..8ZWvdp.").unwrap().id,
            "49qYMN_..8ZWvdp."
        );
        // Blanks tolerated, unknown parameters ignored, timeout case-insensitive.
        assert_eq!(
            Session::parse("  123456 ; Timeout = 65 ; foo=bar ").unwrap(),
            Session::new("123456").with_timeout(65)
        );
    }

    #[test]
    fn rejects_bad_values() {
        assert!(Session::parse("").is_err());
        assert!(Session::parse(" ;timeout=5").is_err());
        assert!(Session::parse("a b").is_err());
        assert!(Session::parse("abc;timeout=x").is_err());
        assert!(Session::parse("abc;timeout=-1").is_err());
        assert!(Session::parse("abc;timeout").is_err());
    }

    #[test]
    fn display() {
        assert_eq!(
            Session::new("abc").with_timeout(60).to_string(),
            "abc;timeout=60"
        );
        assert_eq!(Session::new("abc").to_string(), "abc");
    }

    proptest! {
        #[test]
        fn roundtrip(id in "[A-Za-z0-9$_.+-]{1,24}", timeout in proptest::option::of(any::<u32>())) {
            let s = Session { id, timeout };
            prop_assert_eq!(Session::parse(&s.to_string()).unwrap(), s);
        }

        #[test]
        fn never_panics(v in "\\PC{0,40}") {
            let _ = Session::parse(&v);
        }
    }
}
