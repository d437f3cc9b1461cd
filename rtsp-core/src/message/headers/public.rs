//! `Public` (RFC 2326 §12.28) and `Allow` (§12.4) headers: a comma-separated method list.

use super::super::Method;
use std::fmt;

/// A list of methods, as in `Public: OPTIONS, DESCRIBE, SETUP` or VLC's
/// `Public: DESCRIBE,SETUP,TEARDOWN` (no blanks). Empty items are skipped when parsing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Public(pub Vec<Method>);

impl Public {
    /// Parse a header value (never fails: every non-empty item is a method token or an
    /// [`Method::Extension`]).
    pub fn parse(value: &str) -> Self {
        Self(
            value
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(Method::from_token)
                .collect(),
        )
    }

    /// Whether `method` is in the list.
    pub fn contains(&self, method: &Method) -> bool {
        self.0.contains(method)
    }
}

impl fmt::Display for Public {
    /// Items joined with `", "`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(m.as_str())?;
        }
        Ok(())
    }
}

impl From<Vec<Method>> for Public {
    fn from(v: Vec<Method>) -> Self {
        Self(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gst_and_vlc() {
        let p = Public::parse(
            "OPTIONS, DESCRIBE, ANNOUNCE, GET_PARAMETER, PAUSE, PLAY, RECORD, SETUP, SET_PARAMETER, TEARDOWN",
        );
        assert_eq!(p.0.len(), 10);
        assert!(p.contains(&Method::GetParameter));
        let p = Public::parse("DESCRIBE,SETUP,TEARDOWN,PLAY,PAUSE,GET_PARAMETER");
        assert_eq!(p.0.len(), 6);
        assert!(!p.contains(&Method::Options));
        assert_eq!(Public::parse(" , ").0, vec![]);
    }

    #[test]
    fn roundtrip() {
        let p = Public(vec![Method::Options, Method::Extension("X-FOO".into())]);
        assert_eq!(p.to_string(), "OPTIONS, X-FOO");
        assert_eq!(Public::parse(&p.to_string()), p);
    }
}
