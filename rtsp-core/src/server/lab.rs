//! The course-lab dialect: every decision the server makes about it, in one place.
//!
//! The course lab's Python client speaks a dialect of RTSP/1.0: a bare file name as
//! request-URI, LF-only lines, requests without the final empty line, `Transport: RTP/UDP;
//! client_port= N`; it reads replies by line position, wants one whole JPEG per RTP packet
//! (no RFC 2435 header) numbered from 1, and sends neither keepalives nor RTCP. The rest of
//! the server never tests for the lab itself: it asks the [`Dialect`] of a connection, a
//! request or a session one of the questions answered here.
//!
//! * A connection speaks the lab dialect once its decoder has seen a lab request line
//!   ([`connection_decoder`]); from then on the decoder is lenient.
//! * A request does if its connection does or its request-URI is a bare name
//!   ([`Dialect::of_request`]).
//! * A session does if it was set up with lab delivery ([`lab_transport`],
//!   [`Delivery::dialect`]).

use super::media::RTP_HEADER_LEN;
use super::session::Delivery;
use crate::message::headers::Session as SessionHeader;
use crate::message::{is_bare_uri, Decoder, Dialect, Limits, LowerTransport, Transport};
use core::net::SocketAddr;
use std::time::{Duration, Instant};

/// Largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65_507;

/// The decoder of a new control connection: standard until the first lab request line
/// (ended by a bare LF, naming a bare file) turns it lenient for good.
pub(super) fn connection_decoder(limits: Limits) -> Decoder {
    Decoder::new(limits).detect_dialect(true)
}

impl Dialect {
    /// The dialect of a request on a connection speaking `conn`: a bare request-URI is the
    /// lab client's even before its connection is known as lab.
    pub(super) fn of_request(conn: Self, uri: &str) -> Self {
        if conn == Self::Lab || is_bare_uri(uri) {
            Self::Lab
        } else {
            Self::Standard
        }
    }

    /// When the request waiting unterminated in `buf` is taken as complete (the lab client
    /// never sends the final empty line): [`ServerConfig::lab_flush_delay`] after the last
    /// bytes, on a lab connection whose buffered bytes hold no CR.
    ///
    /// [`ServerConfig::lab_flush_delay`]: super::ServerConfig::lab_flush_delay
    pub(super) fn flush_at(self, buf: &[u8], now: Instant, delay: Duration) -> Option<Instant> {
        let pending = self == Self::Lab && !buf.is_empty() && !buf.contains(&b'\r');
        pending.then(|| now + delay)
    }

    /// The `Session` header of a reply about no session. The lab client reads the session
    /// from line 3 of every reply, so it gets one anyway: the numeric id its request named,
    /// else `0`. Standard replies have none.
    pub(super) fn session_fallback(self, named: Option<String>) -> Option<String> {
        (self == Self::Lab).then(|| {
            named
                .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                .unwrap_or_else(|| "0".to_string())
        })
    }

    /// `Session: id;timeout=T` of a session's replies; the lab client wants the bare
    /// (numeric) id.
    pub(super) fn session_header(self, id: &str, advertised_timeout: u64) -> String {
        let header = SessionHeader::new(id);
        match self {
            Self::Lab => header.to_string(),
            Self::Standard => {
                let secs = u32::try_from(advertised_timeout).unwrap_or(u32::MAX);
                header.with_timeout(secs).to_string()
            }
        }
    }

    /// Whether the SETUP reply's `Transport` names the session's SSRC.
    pub(super) fn names_ssrc(self) -> bool {
        self == Self::Standard
    }

    /// Whether the session sends RTCP (SR, SDES, BYE) and takes receiver reports: the lab
    /// client does neither.
    pub(super) fn has_rtcp(self) -> bool {
        self == Self::Standard
    }

    /// Whether a session dies with the control connection that set it up (not only with an
    /// interleaved one): the lab client never reconnects.
    pub(super) fn dies_with_control(self) -> bool {
        self == Self::Lab
    }

    /// Whether a silent session may expire, given whether the connection it dies with is
    /// open (asked only for the lab): a lab session may not while it is (its client sends
    /// nothing while it plays), so it lives as long as its control connection.
    pub(super) fn session_expires(self, conn_open: impl FnOnce() -> bool) -> bool {
        self != Self::Lab || !conn_open()
    }

    /// The RTP sequence number of the next packet: the lab client wants the frame number
    /// of media-clock frame `k` (1, 2, … only growing; 0 would mean a restart), the others
    /// the running sequence number `seq`.
    pub(super) fn rtp_seq(self, k: u64, seq: u16) -> u16 {
        match self {
            Self::Lab => (k % 65_535) as u16 + 1,
            Self::Standard => seq,
        }
    }
}

impl Delivery {
    /// The dialect of a session delivered this way.
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Self::Lab { .. } => Dialect::Lab,
            Self::Udp { .. } | Self::Interleaved { .. } => Dialect::Standard,
        }
    }
}

/// Lab delivery, for a transport spec `RTP/UDP` (not `RTP/AVP`) in a SETUP of a bare name:
/// one whole JPEG per packet to `rtp` (the client's port at the control connection's
/// address), from `rtp_local_port`; single ports in the reply.
pub(super) fn lab_transport(
    bare: bool,
    spec: &Transport,
    rtp: SocketAddr,
    rtp_local_port: u16,
) -> Option<(Delivery, Transport)> {
    if !bare || !spec.protocol.eq_ignore_ascii_case("RTP/UDP") {
        return None;
    }
    let mut reply = Transport::new(LowerTransport::Udp);
    reply.protocol = spec.protocol.clone();
    reply.client_port = Some((rtp.port(), None));
    reply.server_port = Some((rtp_local_port, None));
    Some((Delivery::Lab { rtp }, reply))
}

/// Whether a JPEG of `len` bytes fits one packet to the lab client, which receives into a
/// [`ServerConfig::lab_max_packet`](super::ServerConfig::lab_max_packet)-byte buffer (and
/// no datagram is larger than 65 507 bytes).
pub(super) fn fits_lab_packet(len: usize, lab_max_packet: usize) -> bool {
    RTP_HEADER_LEN + len <= MAX_DATAGRAM.min(lab_max_packet)
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests read the clock once, as the epoch of their virtual time"
)]
mod tests {
    use super::*;

    #[test]
    fn dialect_questions() {
        let (lab, std) = (Dialect::Lab, Dialect::Standard);
        assert_eq!(Dialect::of_request(std, "movie.Mjpeg"), lab);
        assert_eq!(Dialect::of_request(std, "rtsp://h/movie.Mjpeg"), std);
        assert_eq!(Dialect::of_request(std, "*"), std);
        assert_eq!(Dialect::of_request(lab, "rtsp://h/movie.Mjpeg"), lab);
        let now = Instant::now();
        let d = Duration::from_millis(300);
        assert_eq!(
            lab.flush_at(b"PLAY x RTSP/1.0\nCSeq: 2", now, d),
            Some(now + d)
        );
        assert_eq!(lab.flush_at(b"PLAY x RTSP/1.0\r\n", now, d), None);
        assert_eq!(lab.flush_at(b"", now, d), None);
        assert_eq!(std.flush_at(b"PLAY x RTSP/1.0\n", now, d), None);
        assert_eq!(lab.session_fallback(Some("123".into())), Some("123".into()));
        assert_eq!(lab.session_fallback(Some("12a".into())), Some("0".into()));
        assert_eq!(lab.session_fallback(None), Some("0".into()));
        assert_eq!(std.session_fallback(Some("123".into())), None);
        assert_eq!(lab.session_header("42", 55), "42");
        assert_eq!(std.session_header("42", 55), "42;timeout=55");
        assert!(!lab.session_expires(|| true) && lab.session_expires(|| false));
        assert!(std.session_expires(|| unreachable!("asked only for the lab")));
        assert_eq!((lab.rtp_seq(0, 9), lab.rtp_seq(65_535, 9)), (1, 1));
        assert_eq!(std.rtp_seq(0, 9), 9);
    }

    #[test]
    fn lab_delivery_needs_a_bare_name_and_rtp_udp() {
        let rtp: SocketAddr = "192.168.1.7:25000".parse().unwrap();
        let spec = Transport::parse_list("RTP/UDP; client_port= 25000").unwrap()[0].clone();
        let (delivery, reply) = lab_transport(true, &spec, rtp, 6970).unwrap();
        assert_eq!(delivery, Delivery::Lab { rtp });
        assert_eq!(delivery.dialect(), Dialect::Lab);
        assert_eq!(reply.client_port, Some((25000, None)));
        assert_eq!(reply.server_port, Some((6970, None)));
        assert!(lab_transport(false, &spec, rtp, 6970).is_none());
        let avp = Transport::parse_list("RTP/AVP;unicast;client_port=25000-25001").unwrap();
        assert!(lab_transport(true, &avp[0], rtp, 6970).is_none());
        assert!(fits_lab_packet(20_480 - RTP_HEADER_LEN, 20_480));
        assert!(!fits_lab_packet(20_480 - RTP_HEADER_LEN + 1, 20_480));
        assert!(!fits_lab_packet(MAX_DATAGRAM, usize::MAX));
    }
}
