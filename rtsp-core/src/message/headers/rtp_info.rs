//! `RTP-Info` header (RFC 2326 §12.33): `url=…;seq=…;rtptime=…[, …]`.
//!
//! ```text
//! RTP-Info   = "RTP-Info" ":" 1#stream-url 1*parameter
//! stream-url = "url" "=" url
//! parameter  = ";" "seq" "=" 1*DIGIT | ";" "rtptime" "=" 1*DIGIT
//! ```

use super::params::{digits, key_value};
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
    ///
    /// Entries are split at commas followed by `url=`, so URLs containing commas survive;
    /// `;`-pieces of the URL before the first known parameter (`seq`, `rtptime`, `ssrc`) are
    /// kept in the URL. Unknown parameters are ignored. An empty value gives an empty list.
    pub fn parse_list(value: &str) -> Result<Vec<Self>, HeaderError> {
        let mut entries: Vec<&str> = Vec::new();
        let mut start = 0;
        for (i, _) in value.match_indices(',') {
            let after = value[i + 1..].trim_start();
            if after
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("url="))
            {
                entries.push(&value[start..i]);
                start = i + 1;
            }
        }
        entries.push(&value[start..]);
        entries
            .into_iter()
            .filter(|e| !e.trim().is_empty())
            .map(Self::parse)
            .collect()
    }

    /// Parse one entry.
    pub fn parse(entry: &str) -> Result<Self, HeaderError> {
        let err = |r: String| HeaderError::new("RTP-Info", r);
        let mut url: Option<String> = None;
        let mut in_url = false;
        let mut seq = None;
        let mut rtptime = None;
        for piece in entry.split(';') {
            let (k, v) = key_value(piece);
            let known = |name: &str| k.eq_ignore_ascii_case(name) && v.is_some();
            if url.is_none() && k.eq_ignore_ascii_case("url") && v.is_some() {
                url = v.map(str::to_string);
                in_url = true;
            } else if known("seq") {
                in_url = false;
                seq = Some(
                    v.and_then(digits::<u16>)
                        .ok_or_else(|| err(format!("invalid `{}`", piece.trim())))?,
                );
            } else if known("rtptime") {
                in_url = false;
                rtptime = Some(
                    v.and_then(digits::<u32>)
                        .ok_or_else(|| err(format!("invalid `{}`", piece.trim())))?,
                );
            } else if known("ssrc") {
                in_url = false;
            } else if in_url {
                if let Some(u) = url.as_mut() {
                    u.push(';');
                    u.push_str(piece);
                }
            }
        }
        let url = url
            .filter(|u| !u.is_empty())
            .ok_or_else(|| err(format!("no url in `{}`", entry.trim())))?;
        Ok(Self { url, seq, rtptime })
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn gst_reply() {
        let l = RtpInfo::parse_list(
            "url=rtsp://127.0.0.1:8554/test/stream=0;seq=27896;rtptime=958132910",
        )
        .unwrap();
        assert_eq!(
            l,
            vec![RtpInfo {
                url: "rtsp://127.0.0.1:8554/test/stream=0".into(),
                seq: Some(27896),
                rtptime: Some(958132910),
            }]
        );
    }

    #[test]
    fn several_and_odd() {
        let l = RtpInfo::parse_list(
            "url=rtsp://h/a/track1;seq=1;rtptime=2, url=rtsp://h/a,b/track2;ssrc=1234;seq=3,URL=rtsp://h/x;jsessionid=9;rtptime=4",
        )
        .unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[1].url, "rtsp://h/a,b/track2");
        assert_eq!(l[1].seq, Some(3));
        assert_eq!(l[1].rtptime, None);
        assert_eq!(l[2].url, "rtsp://h/x;jsessionid=9");
        assert_eq!(l[2].rtptime, Some(4));
        assert_eq!(RtpInfo::parse_list("").unwrap(), vec![]);
    }

    #[test]
    fn rejects() {
        assert!(RtpInfo::parse_list("seq=1;rtptime=2").is_err());
        assert!(RtpInfo::parse_list("url=x;seq=70000").is_err());
        assert!(RtpInfo::parse_list("url=x;rtptime=-1").is_err());
        assert!(RtpInfo::parse_list("url=;seq=1").is_err());
    }

    prop_compose! {
        fn arb_info()(
            url in "rtsp://[a-z0-9.]{1,10}(:[0-9]{1,5})?(/[A-Za-z0-9=._-]{1,8}){0,3}",
            seq in proptest::option::of(any::<u16>()),
            rtptime in proptest::option::of(any::<u32>()),
        ) -> RtpInfo {
            RtpInfo { url, seq, rtptime }
        }
    }

    proptest! {
        #[test]
        fn roundtrip(l in proptest::collection::vec(arb_info(), 1..4)) {
            prop_assert_eq!(RtpInfo::parse_list(&RtpInfo::format_list(&l)).unwrap(), l);
        }

        #[test]
        fn never_panics(v in "\\PC{0,60}") {
            let _ = RtpInfo::parse_list(&v);
        }
    }
}
