//! Minimal SDP (RFC 4566) for RTP/JPEG (RFC 2435) presentations: the description our server
//! sends in a DESCRIBE reply ([`SessionDescription`]), and a tolerant parser ([`parse`]) that
//! extracts what a client needs from real servers' descriptions.
//!
//! The server's description (CRLF line endings, RFC 4566 §5):
//!
//! ```text
//! v=0
//! o=- <id> <version> IN IP4 <origin address>
//! s=<session name>
//! t=0 0
//! a=control:*
//! a=range:npt=0-<duration>          (npt=0- when live / unknown)
//! m=video 0 RTP/AVP 26
//! c=IN IP4 0.0.0.0
//! a=rtpmap:26 JPEG/90000
//! a=control:stream=0
//! a=framerate:25
//! a=x-dimensions:<width>,<height>   (only when the size is known)
//! ```
//!
//! The control attributes are relative to the `Content-Base` of the DESCRIBE reply
//! (RFC 2326 §C.1.1); clients resolve them with [`crate::url::join`].

use crate::message::{NptTime, Range};
use bytes::Bytes;
use core::net::IpAddr;
use std::fmt;

/// RTP payload type of JPEG (RFC 3551 §6, table 5).
pub const JPEG_PAYLOAD_TYPE: u8 = 26;
/// RTP clock rate of video payloads (RFC 3551 §5): 90 kHz.
pub const VIDEO_CLOCK_RATE: u32 = 90_000;

/// Builder for the session description our server sends (RFC 4566, RFC 2326 §C.1).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionDescription {
    /// `s=` session name (CR/LF are replaced by blanks; empty becomes `s= `).
    pub session_name: String,
    /// Address in `o=` (`IN IP4` or `IN IP6`).
    pub origin: IpAddr,
    /// `<sess-id>` in `o=` (RFC 4566 §5.2: a numeric string; use an NTP timestamp or a random
    /// number from the seeded RNG).
    pub session_id: u64,
    /// `<sess-version>` in `o=`.
    pub session_version: u64,
    /// Media-level `a=control:` (relative to the Content-Base), default `stream=0`.
    pub control: String,
    /// `a=framerate:` in frames per second (omitted when `None`, zero, negative or not finite).
    pub framerate: Option<f64>,
    /// Duration in seconds for `a=range:npt=0-D`; `None` (or not finite / negative) gives
    /// `npt=0-` (live or unknown length).
    pub duration: Option<f64>,
    /// `(width, height)` in pixels for `a=x-dimensions:W,H`, when known.
    pub dimensions: Option<(u16, u16)>,
}

impl SessionDescription {
    /// A description with control `stream=0`, framerate 25, no duration, no dimensions,
    /// session id and version 0 and 1.
    pub fn new(session_name: impl Into<String>, origin: IpAddr) -> Self {
        Self {
            session_name: session_name.into(),
            origin,
            session_id: 0,
            session_version: 1,
            control: "stream=0".into(),
            framerate: Some(25.0),
            duration: None,
            dimensions: None,
        }
    }

    /// Builder-style: the `o=` session id.
    pub fn session_id(mut self, id: u64) -> Self {
        self.session_id = id;
        self
    }

    /// Builder-style: the `o=` session version.
    pub fn session_version(mut self, version: u64) -> Self {
        self.session_version = version;
        self
    }

    /// Builder-style: the media-level control attribute (e.g. `stream=0`).
    pub fn control(mut self, control: impl Into<String>) -> Self {
        self.control = control.into();
        self
    }

    /// Builder-style: frames per second.
    pub fn framerate(mut self, fps: f64) -> Self {
        self.framerate = Some(fps);
        self
    }

    /// Builder-style: duration in seconds (`None` = live / unknown).
    pub fn duration(mut self, secs: Option<f64>) -> Self {
        self.duration = secs;
        self
    }

    /// Builder-style: picture size in pixels.
    pub fn dimensions(mut self, width: u16, height: u16) -> Self {
        self.dimensions = Some((width, height));
        self
    }

    /// The description as bytes (a DESCRIBE reply body, `Content-Type: application/sdp`).
    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(self.to_string())
    }
}

/// One line of text: CR and LF replaced so a value cannot start a new SDP line.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

fn positive(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite() && *v > 0.0)
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (family, any) = match self.origin {
            IpAddr::V4(_) => ("IP4", "0.0.0.0"),
            IpAddr::V6(_) => ("IP6", "::"),
        };
        let name = one_line(&self.session_name);
        let name = if name.trim().is_empty() { " " } else { &name };
        write!(f, "v=0\r\n")?;
        write!(
            f,
            "o=- {} {} IN {family} {}\r\n",
            self.session_id, self.session_version, self.origin
        )?;
        write!(f, "s={name}\r\n")?;
        write!(f, "t=0 0\r\n")?;
        write!(f, "a=control:*\r\n")?;
        match self.duration.filter(|d| d.is_finite() && *d >= 0.0) {
            // `+ 0.0` turns -0.0 into 0.0, which would otherwise print as "-0".
            Some(d) => write!(f, "a=range:npt=0-{}\r\n", d + 0.0)?,
            None => write!(f, "a=range:npt=0-\r\n")?,
        }
        write!(f, "m=video 0 RTP/AVP {JPEG_PAYLOAD_TYPE}\r\n")?;
        write!(f, "c=IN {family} {any}\r\n")?;
        write!(
            f,
            "a=rtpmap:{JPEG_PAYLOAD_TYPE} JPEG/{VIDEO_CLOCK_RATE}\r\n"
        )?;
        write!(f, "a=control:{}\r\n", one_line(&self.control))?;
        if let Some(fps) = positive(self.framerate) {
            write!(f, "a=framerate:{fps}\r\n")?;
        }
        if let Some((w, h)) = self.dimensions {
            write!(f, "a=x-dimensions:{w},{h}\r\n")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Why a session description could not be used.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// The first non-empty line is not `v=` (e.g. an HTML error page in the body).
    #[error("not a session description (no v= line first)")]
    NotSdp,
    /// `v=` is not `0` (RFC 4566 §5.1).
    #[error("unsupported SDP version at line {line}")]
    Version {
        /// 1-based line number.
        line: usize,
    },
    /// An `m=` line is malformed (RFC 4566 §5.14).
    #[error("malformed m= line {line}: {reason}")]
    Media {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`
/// (RFC 4566 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// The payload type.
    pub payload_type: u8,
    /// Encoding name as written (`JPEG`).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters (audio channels), if any.
    pub params: Option<String>,
}

impl RtpMap {
    /// Whether the encoding is JPEG (RFC 2435), ignoring case.
    pub fn is_jpeg(&self) -> bool {
        self.encoding.eq_ignore_ascii_case("JPEG")
    }
}

/// The static payload type table of RFC 3551 §6 (tables 4 and 5), for descriptions that omit
/// `a=rtpmap` for static types (live555, ffmpeg do for PT 26).
pub fn static_rtpmap(payload_type: u8) -> Option<RtpMap> {
    let (enc, rate, params) = match payload_type {
        0 => ("PCMU", 8000, Some("1")),
        3 => ("GSM", 8000, Some("1")),
        4 => ("G723", 8000, Some("1")),
        8 => ("PCMA", 8000, Some("1")),
        9 => ("G722", 8000, Some("1")),
        10 => ("L16", 44100, Some("2")),
        11 => ("L16", 44100, Some("1")),
        14 => ("MPA", 90000, None),
        26 => ("JPEG", VIDEO_CLOCK_RATE, None),
        31 => ("H261", VIDEO_CLOCK_RATE, None),
        32 => ("MPV", VIDEO_CLOCK_RATE, None),
        33 => ("MP2T", VIDEO_CLOCK_RATE, None),
        34 => ("H263", VIDEO_CLOCK_RATE, None),
        _ => return None,
    };
    Some(RtpMap {
        payload_type,
        encoding: enc.into(),
        clock_rate: rate,
        params: params.map(String::from),
    })
}

/// One `m=` section and the attributes a client needs from it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MediaDescription {
    /// `video`, `audio`, … as written.
    pub media_type: String,
    /// The port (0 in RTSP descriptions: ports are negotiated by SETUP).
    pub port: u16,
    /// Transport protocol, e.g. `RTP/AVP`.
    pub proto: String,
    /// Payload types from the format list (non-numeric formats are skipped).
    pub payload_types: Vec<u8>,
    /// `a=rtpmap:` lines, in order.
    pub rtpmaps: Vec<RtpMap>,
    /// `a=control:` (relative like `stream=0` / `track1`, or absolute like VLC's).
    pub control: Option<String>,
    /// Media-level `a=range:`.
    pub range: Option<Range>,
    /// `a=framerate:` (frames per second).
    pub framerate: Option<f64>,
    /// `a=x-dimensions:W,H` (or `a=framesize:<pt> W-H`).
    pub dimensions: Option<(u16, u16)>,
    /// Address of a media-level `c=` line.
    pub connection: Option<String>,
}

impl MediaDescription {
    /// The rtpmap of a payload type: the `a=rtpmap` line, else the static table
    /// ([`static_rtpmap`]).
    pub fn rtpmap(&self, payload_type: u8) -> Option<RtpMap> {
        self.rtpmaps
            .iter()
            .find(|m| m.payload_type == payload_type)
            .cloned()
            .or_else(|| static_rtpmap(payload_type))
    }

    /// The first payload type of the format list that carries JPEG.
    pub fn jpeg_payload_type(&self) -> Option<u8> {
        self.payload_types
            .iter()
            .copied()
            .find(|&pt| self.rtpmap(pt).is_some_and(|m| m.is_jpeg()))
    }
}

/// What [`parse`] extracts from a session description.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sdp {
    /// `s=`, trimmed.
    pub session_name: String,
    /// The address in `o=`, as written (may be a host name: VLC).
    pub origin_address: Option<String>,
    /// Session-level `a=control:` (usually `*`).
    pub control: Option<String>,
    /// Session-level `a=range:`.
    pub range: Option<Range>,
    /// Address of a session-level `c=` line.
    pub connection: Option<String>,
    /// The `m=` sections, in order.
    pub media: Vec<MediaDescription>,
}

impl Sdp {
    /// Presentation length in seconds from `a=range:npt=A-B` (session level, else the first
    /// media with one); `None` for open or non-npt ranges.
    pub fn duration(&self) -> Option<f64> {
        let range = self
            .range
            .as_ref()
            .or_else(|| self.media.iter().find_map(|m| m.range.as_ref()))?;
        match range {
            Range::Npt {
                start,
                end: Some(NptTime::Seconds(end)),
            } => Some(end - start.seconds().unwrap_or(0.0)).filter(|d| *d >= 0.0),
            _ => None,
        }
    }

    /// The first video media that carries JPEG, with its payload type.
    pub fn jpeg_video(&self) -> Option<(&MediaDescription, u8)> {
        self.media
            .iter()
            .filter(|m| m.media_type.eq_ignore_ascii_case("video"))
            .find_map(|m| m.jpeg_payload_type().map(|pt| (m, pt)))
    }
}

/// Parse a session description (RFC 4566), tolerantly: CRLF or LF line endings, unknown line
/// types and attributes ignored, malformed optional attributes ignored, a missing `a=rtpmap`
/// for static payload types allowed (see [`MediaDescription::rtpmap`]).
///
/// Errors only when the text is not SDP at all (first line not `v=`), the version is not 0, or
/// an `m=` line cannot be read.
pub fn parse(text: &str) -> Result<Sdp, SdpError> {
    let mut sdp = Sdp::default();
    let mut seen_version = false;
    for (idx, raw) in text.split('\n').enumerate() {
        let line_no = idx + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw).trim_end();
        if line.is_empty() {
            continue;
        }
        let (kind, value) = match line.split_once('=') {
            Some((k, v)) if k.len() == 1 => (k.as_bytes()[0], v),
            _ if !seen_version => return Err(SdpError::NotSdp),
            _ => continue, // tolerate junk lines
        };
        if !seen_version {
            if kind != b'v' {
                return Err(SdpError::NotSdp);
            }
            if value.trim() != "0" {
                return Err(SdpError::Version { line: line_no });
            }
            seen_version = true;
            continue;
        }
        match kind {
            b'm' => sdp.media.push(media_line(value, line_no)?),
            b's' if sdp.media.is_empty() => sdp.session_name = value.trim().to_string(),
            b'o' if sdp.media.is_empty() => {
                sdp.origin_address = value.split_whitespace().nth(5).map(String::from)
            }
            b'c' => {
                let addr = value.split_whitespace().nth(2).map(|a| {
                    // `addr/ttl[/count]` for multicast
                    a.split('/').next().unwrap_or(a).to_string()
                });
                match sdp.media.last_mut() {
                    Some(m) => m.connection = addr,
                    None => sdp.connection = addr,
                }
            }
            b'a' => {
                let (name, val) = match value.split_once(':') {
                    Some((n, v)) => (n.trim(), Some(v.trim())),
                    None => (value.trim(), None),
                };
                match sdp.media.last_mut() {
                    Some(m) => media_attribute(m, name, val),
                    None => match (name, val) {
                        ("control", Some(v)) => sdp.control = Some(v.to_string()),
                        ("range", Some(v)) => sdp.range = Range::parse(v).ok(),
                        _ => {}
                    },
                }
            }
            _ => {}
        }
    }
    if !seen_version {
        return Err(SdpError::NotSdp);
    }
    Ok(sdp)
}

/// `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` (RFC 4566 §5.14).
fn media_line(value: &str, line: usize) -> Result<MediaDescription, SdpError> {
    let err = |reason| SdpError::Media { line, reason };
    let mut it = value.split_whitespace();
    let media_type = it.next().ok_or(err("no media type"))?;
    let port = it.next().ok_or(err("no port"))?;
    let port = port.split('/').next().unwrap_or(port);
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|_| port.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(err("invalid port"))?;
    let proto = it.next().ok_or(err("no protocol"))?;
    let payload_types = it
        .filter_map(|f| f.parse::<u8>().ok().filter(|pt| *pt < 128))
        .collect();
    Ok(MediaDescription {
        media_type: media_type.to_string(),
        port,
        proto: proto.to_string(),
        payload_types,
        ..MediaDescription::default()
    })
}

fn media_attribute(m: &mut MediaDescription, name: &str, val: Option<&str>) {
    let Some(val) = val else { return };
    match name {
        "control" => m.control = Some(val.to_string()),
        "range" => m.range = Range::parse(val).ok(),
        "rtpmap" => {
            if let Some(map) = rtpmap(val) {
                m.rtpmaps.push(map);
            }
        }
        "framerate" => {
            m.framerate = val.parse::<f64>().ok().filter(|f| {
                f.is_finite() && *f > 0.0 && val.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            })
        }
        "x-dimensions" => {
            if let Some((w, h)) = val.split_once(',') {
                if let (Ok(w), Ok(h)) = (w.trim().parse(), h.trim().parse()) {
                    m.dimensions = Some((w, h));
                }
            }
        }
        "framesize" if m.dimensions.is_none() => {
            // `a=framesize:<pt> <width>-<height>`
            if let Some((_, size)) = val.split_once(' ') {
                if let Some((w, h)) = size.trim().split_once('-') {
                    if let (Ok(w), Ok(h)) = (w.trim().parse(), h.trim().parse()) {
                        m.dimensions = Some((w, h));
                    }
                }
            }
        }
        _ => {}
    }
}

/// `<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`.
fn rtpmap(val: &str) -> Option<RtpMap> {
    let (pt, rest) = val.split_once(char::is_whitespace)?;
    let payload_type = pt.parse::<u8>().ok().filter(|pt| *pt < 128)?;
    let mut parts = rest.trim().splitn(3, '/');
    let encoding = parts.next()?.trim();
    let clock_rate = parts.next()?.trim().parse::<u32>().ok()?;
    if encoding.is_empty() {
        return None;
    }
    Some(RtpMap {
        payload_type,
        encoding: encoding.to_string(),
        clock_rate,
        params: parts.next().map(|p| p.trim().to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;

    const GST: &str = include_str!("../testdata/sdp/gst-rtsp-server-1.22.sdp");
    const VLC: &str = include_str!("../testdata/sdp/vlc-3.0.24-reconstructed.sdp");
    const LIVE555: &str = include_str!("../testdata/sdp/live555-2024.06.26-reconstructed.sdp");
    const FFMPEG: &str = include_str!("../testdata/sdp/ffmpeg-announce-lf-reconstructed.sdp");

    #[test]
    fn builds_server_description() {
        let sd = SessionDescription::new("movie.mjpeg", IpAddr::V4(Ipv4Addr::new(192, 168, 1, 2)))
            .session_id(123)
            .session_version(4)
            .framerate(25.0)
            .duration(Some(20.0))
            .dimensions(384, 288);
        assert_eq!(
            sd.to_string(),
            "v=0\r\n\
             o=- 123 4 IN IP4 192.168.1.2\r\n\
             s=movie.mjpeg\r\n\
             t=0 0\r\n\
             a=control:*\r\n\
             a=range:npt=0-20\r\n\
             m=video 0 RTP/AVP 26\r\n\
             c=IN IP4 0.0.0.0\r\n\
             a=rtpmap:26 JPEG/90000\r\n\
             a=control:stream=0\r\n\
             a=framerate:25\r\n\
             a=x-dimensions:384,288\r\n"
        );
        assert_eq!(sd.to_bytes(), Bytes::from(sd.to_string()));
    }

    #[test]
    fn builds_live_and_odd_values() {
        let sd = SessionDescription::new("a\r\nb=c", IpAddr::V6(Ipv6Addr::LOCALHOST))
            .framerate(29.97)
            .duration(None);
        let s = sd.to_string();
        assert!(s.contains("o=- 0 1 IN IP6 ::1\r\n"), "{s}");
        assert!(s.contains("s=a  b=c\r\n"), "{s}");
        assert!(s.contains("a=range:npt=0-\r\n"), "{s}");
        assert!(s.contains("c=IN IP6 ::\r\n"), "{s}");
        assert!(s.contains("a=framerate:29.97\r\n"), "{s}");
        assert!(!s.contains("x-dimensions"), "{s}");
        let s = SessionDescription::new("", IpAddr::V4(Ipv4Addr::LOCALHOST))
            .duration(Some(f64::NAN))
            .framerate(f64::INFINITY)
            .to_string();
        assert!(s.contains("s= \r\n"));
        assert!(s.contains("a=range:npt=0-\r\n"));
        // Found by fuzzing: a negative zero duration printed as "npt=0--0" did not parse back.
        let z = SessionDescription::new("", IpAddr::V4(Ipv4Addr::LOCALHOST))
            .duration(Some(-0.0))
            .to_string();
        assert!(z.contains("a=range:npt=0-0\r\n"), "{z}");
        assert_eq!(parse(&z).expect("parses").duration(), Some(0.0));
        assert!(!s.contains("framerate"));
        assert_eq!(s.lines().count(), s.matches("\r\n").count());
    }

    #[test]
    fn own_description_parses_back() {
        let sd = SessionDescription::new("x", IpAddr::V4(Ipv4Addr::LOCALHOST))
            .framerate(25.0)
            .duration(Some(19.96))
            .dimensions(640, 480);
        let p = parse(&sd.to_string()).unwrap();
        assert_eq!(p.session_name, "x");
        assert_eq!(p.origin_address.as_deref(), Some("127.0.0.1"));
        assert_eq!(p.control.as_deref(), Some("*"));
        assert_eq!(p.duration(), Some(19.96));
        let (m, pt) = p.jpeg_video().unwrap();
        assert_eq!(pt, 26);
        assert_eq!(m.control.as_deref(), Some("stream=0"));
        assert_eq!(m.framerate, Some(25.0));
        assert_eq!(m.dimensions, Some((640, 480)));
        assert_eq!(m.rtpmap(26).unwrap().clock_rate, 90_000);
    }

    #[test]
    fn parses_gst_rtsp_server() {
        let p = parse(GST).unwrap();
        assert_eq!(p.session_name, "Session streamed with GStreamer");
        assert_eq!(p.control.as_deref(), Some("*"));
        assert_eq!(p.range, Some(Range::from_start(NptTime::Now)));
        assert_eq!(p.duration(), None);
        assert_eq!(p.media.len(), 1);
        let m = &p.media[0];
        assert_eq!(m.media_type, "video");
        assert_eq!(m.port, 0);
        assert_eq!(m.proto, "RTP/AVP");
        assert_eq!(m.payload_types, vec![26]);
        assert_eq!(
            m.rtpmaps,
            vec![RtpMap {
                payload_type: 26,
                encoding: "JPEG".into(),
                clock_rate: 90000,
                params: None
            }]
        );
        assert_eq!(m.control.as_deref(), Some("stream=0"));
        assert_eq!(m.framerate, Some(30.0));
        assert_eq!(m.connection.as_deref(), Some("0.0.0.0"));
        assert_eq!(m.dimensions, None);
        assert_eq!(
            crate::url::join("rtsp://127.0.0.1:8554/test/", m.control.as_deref().unwrap()),
            "rtsp://127.0.0.1:8554/test/stream=0"
        );
        // LF-only copy gives the same result.
        assert_eq!(parse(&GST.replace("\r\n", "\n")).unwrap(), p);
    }

    #[test]
    fn parses_vlc_absolute_control() {
        let p = parse(VLC).unwrap();
        assert_eq!(p.control.as_deref(), Some("rtsp://127.0.0.1:8554/x"));
        assert_eq!(p.origin_address.as_deref(), Some("host-cadb910"));
        assert_eq!(p.connection.as_deref(), Some("0.0.0.0"));
        let (m, pt) = p.jpeg_video().unwrap();
        assert_eq!(pt, 26);
        assert!(m.rtpmaps.is_empty());
        let control = m.control.as_deref().unwrap();
        assert_eq!(control, "rtsp://127.0.0.1:8554/x/trackID=0");
        assert_eq!(
            crate::url::join("rtsp://127.0.0.1:8554/x", control),
            "rtsp://127.0.0.1:8554/x/trackID=0"
        );
    }

    #[test]
    fn parses_live555_without_rtpmap() {
        let p = parse(LIVE555).unwrap();
        assert_eq!(p.range, Some(Range::from_start(NptTime::Seconds(0.0))));
        let (m, pt) = p.jpeg_video().unwrap();
        assert_eq!(pt, 26);
        assert_eq!(m.rtpmap(26).unwrap().encoding, "JPEG");
        assert_eq!(m.control.as_deref(), Some("track1"));
        assert_eq!(
            crate::url::join("rtsp://127.0.0.1:8554/proxyStream/", "track1"),
            "rtsp://127.0.0.1:8554/proxyStream/track1"
        );
    }

    #[test]
    fn parses_ffmpeg_announce_lf_only() {
        assert!(!FFMPEG.contains('\r'));
        let p = parse(FFMPEG).unwrap();
        assert_eq!(p.session_name, "No Name");
        assert_eq!(p.connection.as_deref(), Some("127.0.0.1"));
        let (m, pt) = p.jpeg_video().unwrap();
        assert_eq!(pt, 26);
        assert_eq!(m.control.as_deref(), Some("streamid=0"));
    }

    #[test]
    fn tolerates_and_rejects() {
        assert_eq!(parse(""), Err(SdpError::NotSdp));
        assert_eq!(parse("<html>error</html>"), Err(SdpError::NotSdp));
        assert_eq!(parse("s=x\nv=0\n"), Err(SdpError::NotSdp));
        assert_eq!(parse("v=1\n"), Err(SdpError::Version { line: 1 }));
        assert!(matches!(
            parse("v=0\nm=video\n"),
            Err(SdpError::Media { line: 2, .. })
        ));
        assert!(matches!(
            parse("v=0\nm=video x RTP/AVP 26\n"),
            Err(SdpError::Media {
                reason: "invalid port",
                ..
            })
        ));
        let p = parse(
            "\n\nv=0\r\njunk\r\nx=unknown\r\nm=video 5000/2 RTP/AVP 96 26 abc\r\n\
             a=rtpmap:96 H264/90000\r\na=rtpmap:bad\r\na=framerate:inf\r\n\
             a=framesize:26 320-240\r\na=recvonly\r\nm=audio 0 RTP/AVP 0\r\n",
        )
        .unwrap();
        assert_eq!(p.media.len(), 2);
        assert_eq!(p.media[0].port, 5000);
        assert_eq!(p.media[0].payload_types, vec![96, 26]);
        assert_eq!(p.media[0].rtpmaps.len(), 1);
        assert_eq!(p.media[0].framerate, None);
        assert_eq!(p.media[0].dimensions, Some((320, 240)));
        assert_eq!(p.media[0].jpeg_payload_type(), Some(26));
        assert_eq!(p.media[1].rtpmap(0).unwrap().encoding, "PCMU");
        assert_eq!(p.jpeg_video().unwrap().1, 26);
    }

    #[test]
    fn duration_from_range() {
        let p = parse("v=0\na=range:npt=0-20.5\nm=video 0 RTP/AVP 26\n").unwrap();
        assert_eq!(p.duration(), Some(20.5));
        let p = parse("v=0\nm=video 0 RTP/AVP 26\na=range:npt=1-3\n").unwrap();
        assert_eq!(p.duration(), Some(2.0));
    }

    proptest! {
        #[test]
        fn builder_output_parses_back(
            name in "[ -~]{0,20}",
            id in any::<u64>(),
            ver in any::<u64>(),
            fps in 1u32..=240,
            dur in proptest::option::of(0u32..100_000),
            dims in proptest::option::of((any::<u16>(), any::<u16>())),
            control in "[A-Za-z0-9=._-]{1,12}",
        ) {
            let mut sd = SessionDescription::new(name.clone(), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
                .session_id(id).session_version(ver).control(control.clone())
                .framerate(f64::from(fps)).duration(dur.map(|d| f64::from(d) / 100.0));
            sd.dimensions = dims;
            let p = parse(&sd.to_string()).unwrap();
            prop_assert_eq!(p.session_name.as_str(), name.trim());
            prop_assert_eq!(p.duration(), dur.map(|d| f64::from(d) / 100.0));
            let (m, pt) = p.jpeg_video().unwrap();
            prop_assert_eq!(pt, 26);
            prop_assert_eq!(m.control.as_deref(), Some(control.as_str()));
            prop_assert_eq!(m.framerate, Some(f64::from(fps)));
            prop_assert_eq!(m.dimensions, dims);
        }

        #[test]
        fn never_panics(s in "(\\PC{0,30}\r?\n){0,8}") {
            let _ = parse(&s);
            let _ = parse(&format!("v=0\n{s}"));
        }
    }
}
