//! Client configuration.

use core::net::SocketAddr;
use std::time::Duration;

use crate::message::Limits;
use crate::rng::RngSeed;

/// Default [`ClientConfig::end_of_stream_grace`]: generous against a loaded host delaying
/// the RTP socket's reader behind the RTCP one, short enough not to hold up an exit.
pub const DEFAULT_END_OF_STREAM_GRACE: Duration = Duration::from_millis(150);

/// Which request format the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// RTSP/1.0 as RFC 2326 and real servers (gst-rtsp-server, VLC, live555) speak it.
    #[default]
    Standard,
    /// The course lab's dialect: no OPTIONS/DESCRIBE, a bare file name as request-URI,
    /// LF-only lines, `Transport: RTP/UDP; client_port= N`, unterminated replies, one whole
    /// JPEG per RTP packet without an RFC 2435 header.
    Lab,
}

impl core::fmt::Display for Dialect {
    /// `standard` or `lab`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Standard => "standard",
            Self::Lab => "lab",
        })
    }
}

/// Everything a [`Client`](super::Client) needs to know up front.
///
/// Build it with [`ClientConfig::new`] (standard URL) or [`ClientConfig::lab`], then adjust fields.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `rtsp://host[:port]/path` (standard). For [`Dialect::Lab`]: `host:port` (or an
    /// `rtsp://host:port/file` URL whose path is the file name when `lab_file` is `None`).
    pub url: String,
    /// Request format.
    pub dialect: Dialect,
    /// Lab dialect: the file name sent as request-URI (e.g. `movie.Mjpeg`).
    pub lab_file: Option<String>,
    /// `User-Agent` header value (standard dialect only).
    pub user_agent: String,
    /// How long to wait for a response before reporting [`ClientError::RequestTimeout`](super::ClientError::RequestTimeout).
    pub request_timeout: Duration,
    /// Largest JPEG frame accepted; bigger frames are dropped and counted.
    pub max_frame_len: usize,
    /// Seed of the generator of our RTCP SSRC, Digest client nonces and RTCP interval jitter
    /// (ChaCha20). `None` (the default): the runtime draws one from the OS; a client built
    /// without a runtime and with `None` uses a fixed seed (tests).
    pub seed: Option<RngSeed>,
    /// Lab dialect: a reply is complete when no byte arrived for this long and it still has no
    /// terminating empty line (the lab server sends none).
    pub lab_reply_delay: Duration,
    /// Size limits for the control stream decoder.
    pub limits: Limits,
    /// Mean interval between RTCP receiver reports (randomised ×0.5–1.5, RFC 3550 §6.2).
    pub rtcp_interval: Duration,
    /// Session timeout assumed when the server's `Session` header carries none (RFC 2326: 60 s).
    pub default_session_timeout: Duration,
    /// UDP reordering window in packets (0 disables reordering: packets go to the
    /// depacketizer in arrival order). Not used over TCP.
    pub reorder_window: usize,
    /// Longest time a packet waits in the reordering buffer for a missing predecessor.
    pub reorder_delay: Duration,
    /// Over UDP, how long after the media source's RTCP BYE the client still takes RTP before
    /// reporting [`ClientEvent::EndOfStream`](super::ClientEvent::EndOfStream): RTP and RTCP
    /// use different sockets, so the last packets may be handled after the BYE. Zero reports
    /// the end at once. Not used over TCP (one ordered stream).
    pub end_of_stream_grace: Duration,
    /// While playing, report [`ClientEvent::NoMedia`](super::ClientEvent::NoMedia) when no
    /// complete frame came for this long (since PLAY succeeded or the last frame). `None` (the
    /// default) or zero: never.
    pub no_media_timeout: Option<Duration>,
    /// RTCP SDES CNAME; `None` derives one from the seed.
    pub cname: Option<String>,
    /// Report every RTSP message sent and received as [`ClientEvent::Trace`](super::ClientEvent::Trace).
    pub trace_messages: bool,
}

impl ClientConfig {
    /// Defaults for a standard `rtsp://` URL: 10 s request timeout, 8 MiB frame cap,
    /// RTCP every ~5 s, reordering window of 32 packets / 50 ms, end-of-stream grace of
    /// [`DEFAULT_END_OF_STREAM_GRACE`], no no-media timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            dialect: Dialect::Standard,
            lab_file: None,
            user_agent: concat!("rtsp-core/", env!("CARGO_PKG_VERSION")).to_string(),
            request_timeout: Duration::from_secs(10),
            max_frame_len: 8 * 1024 * 1024,
            seed: None,
            lab_reply_delay: Duration::from_millis(300),
            limits: Limits::default(),
            rtcp_interval: Duration::from_secs(5),
            default_session_timeout: Duration::from_secs(60),
            reorder_window: 32,
            reorder_delay: Duration::from_millis(50),
            end_of_stream_grace: DEFAULT_END_OF_STREAM_GRACE,
            no_media_timeout: None,
            cname: None,
            trace_messages: false,
        }
    }

    /// Defaults for the lab dialect: `server` is `host:port`, `file` the file name to request.
    pub fn lab(server: impl Into<String>, file: impl Into<String>) -> Self {
        Self {
            dialect: Dialect::Lab,
            lab_file: Some(file.into()),
            ..Self::new(server)
        }
    }
}

/// How media should reach the client, chosen by the application (which binds the ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportChoice {
    /// RTP and RTCP over UDP to these local sockets (RTCP port = RTP port + 1 by convention).
    /// The lab dialect uses only `rtp_local`.
    Udp {
        /// Local address of the RTP socket.
        rtp_local: SocketAddr,
        /// Local address of the RTCP socket.
        rtcp_local: SocketAddr,
    },
    /// Interleaved in the RTSP TCP connection (`RTP/AVP/TCP;interleaved=0-1`).
    Tcp,
}
