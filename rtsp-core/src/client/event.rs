//! What the client reports: events, errors, state and statistics.

use bytes::Bytes;
use core::fmt;
use rtp_core::jpeg::DepacketizeError;
use rtp_core::RtpError;
use std::time::Duration;

use super::config::Dialect;
use crate::message::headers::{Range, RtpInfo, Transport};
use crate::message::{Method, ParseError, StatusCode};

/// The client's session state (RFC 2326 Appendix A.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// No session (before SETUP, or after TEARDOWN).
    Init,
    /// A session is set up and not playing (after SETUP or PAUSE).
    Ready,
    /// Media is flowing (after PLAY).
    Playing,
    /// The control connection is gone; every call fails with [`ApiError::Closed`].
    Closed,
}

impl fmt::Display for ClientState {
    /// The state as a user reads it: `no session is set up`, `the session is ready (not
    /// playing)`, `the session is playing`, `the connection is closed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Init => "no session is set up",
            Self::Ready => "the session is ready (not playing)",
            Self::Playing => "the session is playing",
            Self::Closed => "the connection is closed",
        })
    }
}

/// One track of a described presentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Media type from `m=` (`video`, `audio`, ...).
    pub media: String,
    /// First payload type listed on the `m=` line.
    pub payload_type: Option<u8>,
    /// Encoding name from `a=rtpmap`, else from the static payload type table (PT 26: `JPEG`).
    pub encoding: Option<String>,
    /// RTP clock rate (90000 for JPEG).
    pub clock_rate: u32,
    /// `a=framerate`, if present.
    pub framerate: Option<f64>,
    /// `a=x-dimensions` / `a=framesize`, if present.
    pub dimensions: Option<(u16, u16)>,
    /// Absolute control URL (the SETUP request-URI), resolved against the base URL.
    pub control_url: String,
}

impl Track {
    /// Whether this is RTP/JPEG video (PT 26 or an rtpmap naming JPEG).
    pub fn is_jpeg(&self) -> bool {
        self.media.eq_ignore_ascii_case("video")
            && (self.payload_type == Some(26)
                || self
                    .encoding
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case("JPEG")))
    }
}

/// What DESCRIBE returned, with control URLs already resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Presentation {
    /// Aggregate control URL: PLAY, PAUSE, TEARDOWN and keepalives go here.
    pub aggregate_url: String,
    /// The base URL control attributes were resolved against
    /// (Content-Base, else Content-Location, else the request URL).
    pub base_url: String,
    /// The tracks in SDP order.
    pub tracks: Vec<Track>,
    /// Index in `tracks` of the track [`Client::setup`](super::Client::setup) will use:
    /// the first JPEG video track.
    pub selected: Option<usize>,
    /// Session-level `a=range`, if present and parseable.
    pub range: Option<Range>,
    /// The SDP as received.
    pub sdp: Bytes,
}

/// Something the application should know about. Drained with `poll_output`.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum ClientEvent {
    /// A response arrived to one of our requests (any status, keepalives included).
    Response {
        /// The CSeq it answered.
        cseq: u32,
        /// The method of that request.
        method: Method,
        /// Its status.
        status: StatusCode,
    },
    /// DESCRIBE succeeded.
    Described {
        /// The CSeq of the DESCRIBE.
        cseq: u32,
        /// Parsed SDP with resolved control URLs.
        presentation: Presentation,
    },
    /// SETUP succeeded; the state is now [`ClientState::Ready`].
    SetupDone {
        /// The CSeq of the SETUP.
        cseq: u32,
        /// The session id.
        session_id: String,
        /// Session timeout (from the `Session` header, else the configured default).
        timeout: Duration,
        /// The server's `Transport` reply, if it sent a parseable one (the lab sends none).
        transport: Option<Transport>,
        /// The SSRC media is expected from, when the server announced one.
        ssrc: Option<u32>,
    },
    /// PLAY succeeded; the state is now [`ClientState::Playing`].
    Playing {
        /// The CSeq of the PLAY.
        cseq: u32,
        /// The server's `Range`, if any.
        range: Option<Range>,
        /// The server's `RTP-Info` entries, if any.
        rtp_info: Vec<RtpInfo>,
    },
    /// PAUSE succeeded; the state is now [`ClientState::Ready`].
    Paused,
    /// TEARDOWN completed; the state is now [`ClientState::Init`]. The control connection stays
    /// open: call [`Client::close`](super::Client::close) (or set up again).
    TornDown,
    /// A complete JPEG frame (never a frame with a missing fragment).
    Frame {
        /// Its RTP timestamp (90 kHz; the lab sends seconds).
        timestamp: u32,
        /// The complete JPEG (SOI .. EOI).
        data: Bytes,
    },
    /// The media source sent an RTCP BYE: the stream ended (a non-looping file played to its
    /// end, or the server is shutting the session down). Reported at most once per SETUP,
    /// after every [`ClientEvent::Frame`] of the stream that can still be completed: over
    /// TCP at once (after the frames received before the BYE); over UDP only when
    /// [`ClientConfig::end_of_stream_grace`](super::ClientConfig::end_of_stream_grace) has
    /// passed since the BYE — RTP arriving in that time still becomes frames, then the packets
    /// held for reordering are released. Not reported when TEARDOWN is sent (or the client
    /// closes) first. The session still exists: the application usually answers with TEARDOWN.
    EndOfStream {
        /// The SSRC that said BYE.
        ssrc: u32,
    },
    /// Playing, and no complete frame for
    /// [`ClientConfig::no_media_timeout`](super::ClientConfig::no_media_timeout) (since PLAY
    /// succeeded, or since the last frame). Reported once per PLAY; nothing else changes — the
    /// application decides: after frames (`frames > 0`) the media most likely just stopped (a
    /// server that sends no RTCP BYE, like the lab's, at the end of its file); with none at all
    /// the stream is unusable, and `reason` says why.
    NoMedia {
        /// How long no frame came.
        waited: Duration,
        /// Frames completed since SETUP before the wait began (0: none ever).
        frames: u64,
        /// What arrived instead.
        reason: NoMediaReason,
    },
    /// The server redirected a request (3xx with `Location`). Nothing more is sent: the
    /// application connects to `location` with a new client if it wants to follow.
    Redirected {
        /// The redirected request.
        method: Method,
        /// The 3xx status.
        status: StatusCode,
        /// The new URL (resolved against the request-URI; without credentials).
        location: String,
    },
    /// A request other than a keepalive got a non-2xx status. The state is unchanged.
    RequestFailed {
        /// Which request.
        method: Method,
        /// The status the server sent.
        status: StatusCode,
    },
    /// The [`Policy`](super::Policy) gave up on UDP and sets the session up again over TCP
    /// interleaved (SETUP, and PLAY when it was playing or about to): the server refused UDP,
    /// or no RTP came over it. After [`FallbackReason::NoUdpMedia`] the UDP session is torn
    /// down first ([`ClientEvent::TornDown`] follows).
    TransportFallback {
        /// Why.
        reason: FallbackReason,
    },
    /// A keepalive (GET_PARAMETER or OPTIONS) failed or timed out. Not fatal.
    KeepaliveFailed {
        /// The status, or `None` when it timed out.
        status: Option<StatusCode>,
    },
    /// An RTSP message as sent or received, rendered as text (only with
    /// [`ClientConfig::trace_messages`](super::ClientConfig::trace_messages)): for `-v` logs.
    Trace {
        /// `true` for a request we sent, `false` for a message from the server.
        outgoing: bool,
        /// The message (start line, headers, body; binary bytes replaced).
        text: String,
    },
    /// Something went wrong. If it was fatal, [`ClientEvent::Closed`] follows.
    Error(ClientError),
    /// The client is closed (connection lost, closed by us, or a fatal error). Last event.
    Closed,
}

/// Why no frame came ([`ClientEvent::NoMedia`]). Its `Display` is a sentence for users.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoMediaReason {
    /// No packet arrived on the media path (the RTP socket or interleaved channel).
    NoPackets,
    /// Packets arrived, but none was RTP of this stream: unparseable, or from another SSRC.
    NotOurRtp {
        /// How many were ignored during the wait.
        ignored: u64,
        /// Why the last unparseable one was refused (`None`: they came from another SSRC).
        error: Option<RtpError>,
    },
    /// RTP packets of the stream arrived, but they completed no frame.
    Undecodable {
        /// RTP packets of the stream during the wait.
        packets: u64,
        /// Frames the depacketizer dropped during the wait.
        frames_dropped: u64,
        /// Its last complaint, if it had one (frames with empty or corrupt JPEG data, or that
        /// never end, are dropped without one).
        error: Option<DepacketizeError>,
    },
}

impl fmt::Display for NoMediaReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPackets => write!(f, "no RTP packet arrived"),
            Self::NotOurRtp { ignored, error } => {
                write!(
                    f,
                    "{ignored} packet(s) arrived, none of them RTP of this stream"
                )?;
                match error {
                    Some(e) => write!(f, " (the last one: {e})"),
                    None => write!(f, " (they came from another SSRC)"),
                }
            }
            Self::Undecodable {
                packets,
                frames_dropped,
                error,
            } => {
                write!(
                    f,
                    "{packets} RTP packet(s) arrived but made no complete frame"
                )?;
                match (error, frames_dropped) {
                    (Some(e), _) => write!(f, " ({frames_dropped} dropped; last error: {e})"),
                    (None, 0) => write!(f, " (no packet ended a frame)"),
                    (None, n) => write!(f, " ({n} dropped: empty or corrupt JPEG data)"),
                }
            }
        }
    }
}

/// What the server said when it refused a request (the last [`ClientEvent::RequestFailed`]),
/// from [`Client::last_refusal`](super::Client::last_refusal): enough for a message a user can
/// act on.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The refused request.
    pub method: Method,
    /// Its request-URI.
    pub uri: String,
    /// The status.
    pub status: StatusCode,
    /// The server's reason phrase, when it is not the standard one for the status.
    pub reason_phrase: Option<String>,
    /// The server's explanation from a short text body (its first lines, joined with `; `,
    /// control characters removed, at most [`Refusal::MAX_TEXT`] characters).
    pub text: Option<String>,
    /// 401: the request already carried credentials from the URL (they were refused).
    pub credentials_refused: bool,
    /// 401: the server's challenge said `stale=true` (a new nonce, the same credentials).
    pub stale: bool,
}

impl Refusal {
    /// Longest [`Refusal::text`], in characters.
    pub const MAX_TEXT: usize = 200;
}

/// Why the [`Policy`](super::Policy) fell back from UDP to TCP interleaved
/// ([`ClientEvent::TransportFallback`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackReason {
    /// The server answered SETUP over UDP with 461 Unsupported Transport (no
    /// [`ClientEvent::RequestFailed`] is reported for it).
    UdpRefused,
    /// PLAY succeeded over UDP, but no RTP arrived within `waited`.
    NoUdpMedia {
        /// How long the client waited ([`Policy::udp_wait`](super::Policy::udp_wait)).
        waited: Duration,
    },
}

/// Client failures, reported as [`ClientEvent::Error`] or from [`Client::new`](super::Client::new).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// The configured URL cannot be used.
    #[error("invalid URL \"{url}\": {reason}")]
    InvalidUrl {
        /// The URL as configured.
        url: String,
        /// Why.
        reason: String,
    },
    /// No response arrived within `request_timeout`.
    #[error("{method} (CSeq {cseq}) timed out")]
    RequestTimeout {
        /// The request's CSeq.
        cseq: u32,
        /// Its method.
        method: Method,
    },
    /// The control stream could not be decoded; the connection is closed (fatal).
    #[error("control stream: {0}")]
    Parse(#[from] ParseError),
    /// A 2xx response lacked something required, or carried something unusable.
    #[error("bad {method} response (CSeq {cseq}): {reason}")]
    BadResponse {
        /// The request's CSeq.
        cseq: u32,
        /// Its method.
        method: Method,
        /// What was wrong.
        reason: String,
    },
    /// The SDP has no RTP/JPEG video track (SETUP would use the request URL).
    #[error("no JPEG video track in the SDP")]
    NoVideoTrack,
    /// The control connection closed while requests were outstanding or a session existed
    /// (Ready or Playing: the session is lost without TEARDOWN). Fatal.
    #[error("control connection lost ({pending} request(s) unanswered)")]
    ConnectionLost {
        /// How many requests got no response.
        pending: usize,
    },
    /// The server went silent: [`ClientEvent::KeepaliveFailed`] for `keepalives` keepalives in
    /// a row (no response at all) and no RTP or RTCP for `silent_for`, at least the session
    /// timeout — the server has dropped the session by now, or cannot be reached. The
    /// connection is closed (fatal).
    #[error(
        "server silent for {:.1} s ({keepalives} keepalive(s) unanswered, no RTP/RTCP)",
        silent_for.as_secs_f64()
    )]
    ServerSilent {
        /// Keepalives in a row that got no response.
        keepalives: u32,
        /// Time since the last RTP/RTCP packet (or the SETUP / PLAY reply).
        silent_for: Duration,
    },
    /// A request the [`Policy`](super::Policy) makes by itself (SETUP after DESCRIBE, PLAY
    /// after SETUP, the TEARDOWN and SETUP of a TCP fallback) was refused by the client's own
    /// state checks — the application's calls got in its way. Nothing was sent; the automatic
    /// sequence stops.
    #[error("{method}: {error}")]
    AutoStepRefused {
        /// The request the policy tried.
        method: Method,
        /// Why it was refused.
        error: ApiError,
    },
}

/// Misuse of the client API: the call was refused and nothing was sent.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The method is not valid in the current state (e.g. PLAY before SETUP).
    #[error("{method} is not valid now: {state}")]
    InvalidState {
        /// The refused method.
        method: Method,
        /// The state the client is in.
        state: ClientState,
    },
    /// Another state-changing request is still waiting for its response.
    #[error("{method} refused: {pending} is still outstanding")]
    Busy {
        /// The refused method.
        method: Method,
        /// The outstanding one.
        pending: Method,
    },
    /// The dialect cannot express this request (e.g. DESCRIBE or TCP in the lab dialect).
    #[error("{method} is not supported by the {dialect} dialect")]
    NotSupported {
        /// The refused method.
        method: Method,
        /// The configured dialect.
        dialect: Dialect,
    },
    /// The client is closed.
    #[error("client is closed")]
    Closed,
}

impl ApiError {
    /// The refused request's method (`None` for [`ApiError::Closed`]).
    pub fn method(&self) -> Option<&Method> {
        match self {
            Self::InvalidState { method, .. }
            | Self::Busy { method, .. }
            | Self::NotSupported { method, .. } => Some(method),
            Self::Closed => None,
        }
    }
}

/// Reception statistics (RFC 3550 Appendix A) and frame counters.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClientStats {
    /// RTP packets accepted (right SSRC, parseable), duplicates included.
    pub packets: u64,
    /// Bytes of those RTP packets (headers included).
    pub bytes: u64,
    /// Complete frames emitted as [`ClientEvent::Frame`].
    pub frames: u64,
    /// Frames dropped: a missing or inconsistent fragment, oversize, or not a JPEG (lab).
    pub frames_dropped: u64,
    /// Cumulative packets lost (expected − received; RFC 3550 A.3; may go negative with duplicates).
    pub lost: i64,
    /// Fraction lost in the last RTCP interval, 0.0–1.0.
    pub fraction_lost: f64,
    /// Interarrival jitter in milliseconds (RFC 3550 A.8; 0 in the lab dialect).
    pub jitter_ms: f64,
    /// Duplicate packets seen.
    pub duplicates: u64,
    /// Packets that arrived after a later-numbered one.
    pub reordered: u64,
    /// Packets ignored: unparseable, or from another SSRC than the locked one.
    pub ignored: u64,
    /// RTCP sender reports received from the media source.
    pub sender_reports: u64,
    /// The SSRC media is locked to, once known.
    pub ssrc: Option<u32>,
}
