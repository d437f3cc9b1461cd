//! `Transport` header (RFC 2326 §12.39).
//!
//! ```text
//! Transport       = "Transport" ":" 1#transport-spec
//! transport-spec  = transport-protocol/profile[/lower-transport] *parameter
//! parameter       = ( "unicast" | "multicast" ) | ";" "destination" [ "=" address ]
//!                 | ";" "interleaved" "=" channel [ "-" channel ] | ";" "ttl" "=" ttl
//!                 | ";" "client_port" "=" port [ "-" port ] | ";" "server_port" "=" port [ "-" port ]
//!                 | ";" "ssrc" "=" ssrc | ";" "mode" = <"> 1#mode <"> | …
//! ```

use super::params::{digits, key_value, split_unquoted, unquote};
use super::HeaderError;
use std::fmt;

/// Lower transport of a transport spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowerTransport {
    /// `RTP/AVP`, `RTP/AVP/UDP` (and the lab's `RTP/UDP`).
    Udp,
    /// `RTP/AVP/TCP` (interleaved on the RTSP connection, RFC 2326 §10.12).
    Tcp,
}

/// `mode=` parameter (RFC 2326 §12.39).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportMode {
    /// `mode=PLAY` (default).
    Play,
    /// `mode=RECORD`.
    Record,
}

/// One transport spec. A header may hold several, comma-separated, in order of preference
/// ([`Transport::parse_list`]).
///
/// [`Transport::parse`] accepts only the RTP profiles this stack speaks — `RTP/AVP`,
/// `RTP/AVP/UDP`, `RTP/AVP/TCP` (any case) and the course lab's `RTP/UDP` — and returns an
/// error for anything else (`RAW/RAW/UDP`, …): a server answers that with
/// 461 Unsupported Transport. `multicast` parses (with `unicast == false`); rejecting it is
/// the server's decision.
///
/// `Display` writes a canonical form, e.g. `RTP/AVP;unicast;client_port=5000-5001;
/// server_port=6970-6971;ssrc=0000ABCD;mode=play` or `RTP/AVP/TCP;unicast;interleaved=0-1`, in
/// the order cast, destination, source, interleaved, ttl, client_port, server_port, ssrc,
/// mode, then `other`. `parse(&t.to_string()) == t`.
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
    /// `ssrc=8HEX`. A value that is not 1–8 hex digits is kept in `other` instead.
    pub ssrc: Option<u32>,
    /// `mode=` (quoted or not, any case). Other modes (ffmpeg's `receive`) are kept in `other`.
    pub mode: Option<TransportMode>,
    /// `destination[=address]` (`Some("")` when given without a value).
    pub destination: Option<String>,
    /// `source[=address]` (`Some("")` when given without a value).
    pub source: Option<String>,
    /// `ttl=`. A value that is not 0–255 is kept in `other` instead.
    pub ttl: Option<u8>,
    /// Parameters not listed above, kept in order (`name`, optional `value`, as sent).
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

    /// The lower transport a protocol token names, or `None` if it is not an RTP profile
    /// we speak.
    pub fn lower_transport_of(protocol: &str) -> Option<LowerTransport> {
        let p = protocol.trim();
        let is = |s: &str| p.eq_ignore_ascii_case(s);
        if is("RTP/AVP") || is("RTP/AVP/UDP") || is("RTP/UDP") {
            Some(LowerTransport::Udp)
        } else if is("RTP/AVP/TCP") {
            Some(LowerTransport::Tcp)
        } else {
            None
        }
    }

    /// Parse one spec (no top-level commas; use [`Transport::parse_list`] for a header value).
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        let err = |reason: String| HeaderError::new("Transport", reason);
        let mut parts = split_unquoted(value, b';');
        let protocol = parts.next().unwrap_or_default().trim();
        if protocol.is_empty() {
            return Err(err("empty transport spec".into()));
        }
        let lower = Self::lower_transport_of(protocol)
            .ok_or_else(|| err(format!("unsupported transport protocol `{protocol}`")))?;
        let mut t = Self::new(lower);
        t.protocol = protocol.to_string();
        for p in parts {
            let (k, v) = key_value(p);
            if k.is_empty() {
                if v.is_none() {
                    continue; // `;;` or a trailing `;`
                }
                return Err(err(format!("parameter without a name `{}`", p.trim())));
            }
            let need = |v: Option<&str>| -> Result<String, HeaderError> {
                v.map(str::to_string)
                    .ok_or_else(|| err(format!("`{k}` needs a value")))
            };
            match k.to_ascii_lowercase().as_str() {
                "unicast" => t.unicast = true,
                "multicast" => t.unicast = false,
                "client_port" => {
                    t.client_port = Some(range(&need(v)?).ok_or_else(|| err(bad(k, v)))?)
                }
                "server_port" => {
                    t.server_port = Some(range(&need(v)?).ok_or_else(|| err(bad(k, v)))?)
                }
                "interleaved" => {
                    t.interleaved = Some(range(&need(v)?).ok_or_else(|| err(bad(k, v)))?)
                }
                "destination" => t.destination = Some(v.unwrap_or_default().to_string()),
                "source" => t.source = Some(v.unwrap_or_default().to_string()),
                "ssrc" if v.and_then(hex_u32).is_some() => t.ssrc = v.and_then(hex_u32),
                "ttl" if v.and_then(digits::<u8>).is_some() => t.ttl = v.and_then(digits::<u8>),
                "mode" if v.and_then(mode).is_some() => t.mode = v.and_then(mode),
                _ => t.other.push((k.to_string(), v.map(str::to_string))),
            }
        }
        Ok(t)
    }

    /// Parse a header value holding one or more comma-separated specs, in order of preference.
    ///
    /// Specs this stack cannot use (other protocols, malformed parameters) are skipped; the
    /// error of the first one is returned when none is left.
    pub fn parse_list(value: &str) -> Result<Vec<Self>, HeaderError> {
        let mut out = Vec::new();
        let mut first_err = None;
        for spec in split_unquoted(value, b',') {
            if spec.trim().is_empty() {
                continue;
            }
            match Self::parse(spec) {
                Ok(t) => out.push(t),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match (out.is_empty(), first_err) {
            (true, Some(e)) => Err(e),
            (true, None) => Err(HeaderError::new("Transport", "empty header")),
            _ => Ok(out),
        }
    }

    /// Format several specs as one header value.
    pub fn format_list(list: &[Self]) -> String {
        list.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn bad(k: &str, v: Option<&str>) -> String {
    format!("invalid `{k}={}`", v.unwrap_or_default())
}

/// `a[-b]` with both sides parsed as `T`.
fn range<T: std::str::FromStr>(v: &str) -> Option<(T, Option<T>)> {
    match v.split_once('-') {
        Some((a, b)) => Some((digits(a.trim())?, Some(digits(b.trim())?))),
        None => Some((digits(v.trim())?, None)),
    }
}

/// `ssrc = 8*8(HEX)`; we accept 1–8 hex digits.
fn hex_u32(v: &str) -> Option<u32> {
    let v = unquote(v);
    if v.is_empty() || v.len() > 8 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(v, 16).ok()
}

fn mode(v: &str) -> Option<TransportMode> {
    let v = unquote(v).trim();
    if v.eq_ignore_ascii_case("play") {
        Some(TransportMode::Play)
    } else if v.eq_ignore_ascii_case("record") {
        Some(TransportMode::Record)
    } else {
        None
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn opt_range<T: fmt::Display>(
            f: &mut fmt::Formatter<'_>,
            name: &str,
            r: &Option<(T, Option<T>)>,
        ) -> fmt::Result {
            match r {
                Some((a, Some(b))) => write!(f, ";{name}={a}-{b}"),
                Some((a, None)) => write!(f, ";{name}={a}"),
                None => Ok(()),
            }
        }
        fn opt_addr(f: &mut fmt::Formatter<'_>, name: &str, a: &Option<String>) -> fmt::Result {
            match a.as_deref() {
                Some("") => write!(f, ";{name}"),
                Some(a) => write!(f, ";{name}={a}"),
                None => Ok(()),
            }
        }
        f.write_str(&self.protocol)?;
        f.write_str(if self.unicast {
            ";unicast"
        } else {
            ";multicast"
        })?;
        opt_addr(f, "destination", &self.destination)?;
        opt_addr(f, "source", &self.source)?;
        opt_range(f, "interleaved", &self.interleaved)?;
        if let Some(ttl) = self.ttl {
            write!(f, ";ttl={ttl}")?;
        }
        opt_range(f, "client_port", &self.client_port)?;
        opt_range(f, "server_port", &self.server_port)?;
        if let Some(ssrc) = self.ssrc {
            write!(f, ";ssrc={ssrc:08X}")?;
        }
        match self.mode {
            Some(TransportMode::Play) => f.write_str(";mode=play")?,
            Some(TransportMode::Record) => f.write_str(";mode=record")?,
            None => {}
        }
        for (k, v) in &self.other {
            match v {
                Some(v) => write!(f, ";{k}={v}")?,
                None => write!(f, ";{k}")?,
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Transport {
    type Err = HeaderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn udp(client: (u16, u16)) -> Transport {
        let mut t = Transport::new(LowerTransport::Udp);
        t.client_port = Some((client.0, Some(client.1)));
        t
    }

    #[test]
    fn client_requests() {
        // ffmpeg
        let t = Transport::parse("RTP/AVP/UDP;unicast;client_port=8924-8925").unwrap();
        assert_eq!(t.protocol, "RTP/AVP/UDP");
        assert_eq!(t.lower, LowerTransport::Udp);
        assert_eq!(t.client_port, Some((8924, Some(8925))));
        // gst / live555
        let t = Transport::parse("RTP/AVP;unicast;client_port=38514-38515").unwrap();
        assert_eq!(t, udp((38514, 38515)));
        // TCP, all three
        let t = Transport::parse("RTP/AVP/TCP;unicast;interleaved=0-1").unwrap();
        assert_eq!(t.lower, LowerTransport::Tcp);
        assert_eq!(t.interleaved, Some((0, Some(1))));
        // The course lab.
        let t = Transport::parse("RTP/UDP; client_port= 25000").unwrap();
        assert_eq!(t.protocol, "RTP/UDP");
        assert_eq!(t.lower, LowerTransport::Udp);
        assert!(t.unicast);
        assert_eq!(t.client_port, Some((25000, None)));
        // ffmpeg RECORD pusher
        let t = Transport::parse("RTP/AVP/UDP;unicast;client_port=5000-5001;mode=record").unwrap();
        assert_eq!(t.mode, Some(TransportMode::Record));
        // multicast parses; the server decides.
        assert!(!Transport::parse("RTP/AVP;multicast").unwrap().unicast);
    }

    #[test]
    fn server_replies() {
        // gst-rtsp-server: /UDP dropped, ssrc hex, mode quoted upper case.
        let t = Transport::parse(
            "RTP/AVP;unicast;client_port=8924-8925;server_port=42136-42137;ssrc=BEB8626E;mode=\"PLAY\"",
        )
        .unwrap();
        assert_eq!(t.server_port, Some((42136, Some(42137))));
        assert_eq!(t.ssrc, Some(0xBEB8_626E));
        assert_eq!(t.mode, Some(TransportMode::Play));
        assert!(t.other.is_empty());
        assert_eq!(
            t.to_string(),
            "RTP/AVP;unicast;client_port=8924-8925;server_port=42136-42137;ssrc=BEB8626E;mode=play"
        );
        // VLC: keeps /UDP, mode unquoted lower case.
        let t = Transport::parse(
            "RTP/AVP/UDP;unicast;client_port=5000-5001;server_port=5002-5003;ssrc=1A2B3C4D;mode=play",
        )
        .unwrap();
        assert_eq!(t.mode, Some(TransportMode::Play));
        // live555: destination and source, no ssrc or mode.
        let t = Transport::parse(
            "RTP/AVP;unicast;destination=127.0.0.1;source=127.0.0.1;client_port=38514-38515;server_port=6970-6971",
        )
        .unwrap();
        assert_eq!(t.destination.as_deref(), Some("127.0.0.1"));
        assert_eq!(t.source.as_deref(), Some("127.0.0.1"));
        assert_eq!(t.ssrc, None);
        assert_eq!(t.mode, None);
        // ffmpeg listen: mode=receive is kept in `other`.
        let t = Transport::parse(
            "RTP/AVP/UDP;unicast;mode=receive;source=127.0.0.1;client_port=5000-5001;server_port=5000-5001",
        )
        .unwrap();
        assert_eq!(t.mode, None);
        assert_eq!(
            t.other,
            vec![("mode".to_string(), Some("receive".to_string()))]
        );
        assert_eq!(Transport::parse(&t.to_string()).unwrap(), t);
        // gst TCP reply
        let t = Transport::parse("RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=B88C0421;mode=\"PLAY\"")
            .unwrap();
        assert_eq!(
            t.to_string(),
            "RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=B88C0421;mode=play"
        );
    }

    #[test]
    fn canonical_display() {
        let mut t = udp((5000, 5001));
        t.server_port = Some((6000, Some(6001)));
        t.ssrc = Some(0xAB);
        t.mode = Some(TransportMode::Play);
        assert_eq!(
            t.to_string(),
            "RTP/AVP;unicast;client_port=5000-5001;server_port=6000-6001;ssrc=000000AB;mode=play"
        );
        let mut t = Transport::new(LowerTransport::Tcp);
        t.interleaved = Some((0, Some(1)));
        assert_eq!(t.to_string(), "RTP/AVP/TCP;unicast;interleaved=0-1");
    }

    #[test]
    fn odd_but_accepted() {
        let t = Transport::parse(" rtp/avp/tcp ; UNICAST ; Interleaved = 2 - 3 ;; ").unwrap();
        assert_eq!(t.lower, LowerTransport::Tcp);
        assert_eq!(t.interleaved, Some((2, Some(3))));
        let t = Transport::parse("RTP/AVP;unicast;ssrc=xyz;ttl=999;port=5000-5001;append").unwrap();
        assert_eq!(t.ssrc, None);
        assert_eq!(t.ttl, None);
        assert_eq!(t.other.len(), 4);
        assert_eq!(Transport::parse(&t.to_string()).unwrap(), t);
        let t = Transport::parse("RTP/AVP;mode=\"PLAY,RECORD\"").unwrap();
        assert_eq!(t.other[0].1.as_deref(), Some("\"PLAY,RECORD\""));
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "RAW/RAW/UDP;unicast;client_port=5000-5001",
            "RTP/AVP;client_port=70000",
            "RTP/AVP;client_port=5000-",
            "RTP/AVP;client_port",
            "RTP/AVP;client_port=a-b",
            "RTP/AVP/TCP;interleaved=0-256",
            "RTP/AVP;=5",
        ] {
            assert!(Transport::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lists() {
        let l = Transport::parse_list(
            "RTP/AVP/TCP;unicast;interleaved=0-1, RAW/RAW/UDP;unicast, RTP/AVP;unicast;client_port=1-2",
        )
        .unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].lower, LowerTransport::Tcp);
        assert_eq!(l[1].client_port, Some((1, Some(2))));
        assert!(Transport::parse_list("RAW/RAW/UDP").is_err());
        assert!(Transport::parse_list(" , ").is_err());
        assert_eq!(Transport::format_list(&l), format!("{},{}", l[0], l[1]));
        assert_eq!(
            Transport::parse_list(&Transport::format_list(&l)).unwrap(),
            l
        );
    }

    fn arb_range<T: Arbitrary + Clone + 'static>() -> impl Strategy<Value = Option<(T, Option<T>)>>
    {
        proptest::option::of((any::<T>(), proptest::option::of(any::<T>())))
    }

    prop_compose! {
        fn arb_transport()(
            proto in prop::sample::select(vec!["RTP/AVP", "RTP/AVP/UDP", "RTP/AVP/TCP", "RTP/UDP", "rtp/avp/tcp"]),
            unicast in any::<bool>(),
            client_port in arb_range::<u16>(),
            server_port in arb_range::<u16>(),
            interleaved in arb_range::<u8>(),
            ssrc in proptest::option::of(any::<u32>()),
            mode in proptest::option::of(prop::sample::select(vec![TransportMode::Play, TransportMode::Record])),
            destination in proptest::option::of("[a-z0-9.:]{0,15}"),
            source in proptest::option::of("[a-z0-9.:]{0,15}"),
            ttl in proptest::option::of(any::<u8>()),
            other in proptest::collection::vec(("x-[a-z_]{1,8}", proptest::option::of("[A-Za-z0-9._/-]{0,10}")), 0..3),
        ) -> Transport {
            Transport {
                protocol: proto.to_string(),
                lower: Transport::lower_transport_of(proto).unwrap(),
                unicast, client_port, server_port, interleaved, ssrc, mode, destination, source, ttl, other,
            }
        }
    }

    proptest! {
        #[test]
        fn roundtrip(t in arb_transport()) {
            prop_assert_eq!(Transport::parse(&t.to_string()).unwrap(), t);
        }

        #[test]
        fn roundtrip_list(l in proptest::collection::vec(arb_transport(), 1..4)) {
            prop_assert_eq!(Transport::parse_list(&Transport::format_list(&l)).unwrap(), l);
        }

        #[test]
        fn never_panics(v in "\\PC{0,60}") {
            let _ = Transport::parse_list(&v);
        }
    }
}
