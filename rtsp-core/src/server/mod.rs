//! The RTSP server machine: one sans-IO [`Server`] for all control connections and all
//! media sessions.
//!
//! # The I/O loop
//!
//! The runtime owns three kinds of sockets — a TCP listener and its accepted control
//! connections, and the two UDP sockets every session shares ([`ServerConfig::rtp_local`]
//! and [`ServerConfig::rtcp_local`]) — and the clock. It turns what happens into
//! [`Input`](crate::io::Input)s, feeds them to [`Machine::handle_input`](crate::io::Machine::handle_input), and then drains
//! [`Machine::poll_output`](crate::io::Machine::poll_output) until [`Output::Timeout`](crate::io::Output::Timeout):
//!
//! ```text
//!  accept ------------> Input::Connected{conn, peer}
//!  TCP bytes ---------> Input::Stream{conn, data}        ---> [ Server ] ---> Output::Transmit{Dest::Stream(conn)}   (replies, $-interleaved RTP/RTCP)
//!  TCP EOF/error -----> Input::StreamClosed{conn}                         ---> Output::Transmit{Dest::Udp{local, remote}} (RTP, RTCP)
//!  UDP datagram ------> Input::Datagram{local, remote}                    ---> Output::Close(conn)
//!  deadline passed ---> Input::Timeout(now)                               ---> Output::Event(ServerEvent)   (for logs)
//!                                                                          ---> Output::Timeout(deadline)    (always last)
//! ```
//!
//! The deadline is the earliest of: the next frame of every playing session, the next RTCP
//! sender report, every session's expiry, and the course-lab flush timer of connections
//! holding an unterminated request. Frames are paced in virtual time (frame `n` after PLAY
//! is due at `play_start + n / fps`), so late polls never accumulate drift; a runtime that
//! falls far behind gets the current frame, not a burst.
//!
//! ```no_run
//! use rtsp_core::io::{Input, Machine, Output};
//! use rtsp_core::server::{MemoryCatalog, Server, ServerConfig};
//! use std::time::Instant;
//!
//! let mut server = Server::new(ServerConfig::default(), Box::new(MemoryCatalog::new()), Instant::now());
//! loop {
//!     let deadline = loop {
//!         match server.poll_output() {
//!             Output::Transmit(t) => { /* write t.data to t.dest */ }
//!             Output::Close(conn) => { /* flush and close conn */ }
//!             Output::Event(e) => { /* log e */ }
//!             Output::Timeout(deadline) => break deadline,
//!         }
//!     };
//!     // ... wait for a socket event or `deadline`, then for example:
//!     server.handle_input(Input::Timeout(Instant::now()));
//! }
//! ```
//!
//! # Behaviour
//!
//! * Methods: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER and
//!   SET_PARAMETER (RFC 2326), pipelined requests answered in order. Every reply echoes
//!   `CSeq` and carries `Server` and `Date`; replies about a session carry
//!   `Session: id;timeout=T`, where `T` is a few seconds below the enforced
//!   [`ServerConfig::session_timeout`].
//! * Transports: `RTP/AVP[/UDP];unicast;client_port=a-b` (RTP from `rtp_local`, RTCP from
//!   `rtcp_local`, to the control connection's peer address) and
//!   `RTP/AVP/TCP;unicast;interleaved=a-b` (`$`-framed on the control connection; such a
//!   session ends with its connection). Anything else gets 461.
//! * RTP/JPEG (RFC 2435, RFC 3550): per-session random SSRC, initial sequence number and
//!   timestamp from [`ServerConfig::seed`]; 90 kHz timestamps from the frame index; the
//!   payloads come pre-packetized from [`Media`]. RTCP SR + SDES every ~5 s, BYE at
//!   TEARDOWN and at the end of a non-looping stream; receiver reports (UDP from the client's
//!   RTCP port, or the interleaved RTCP channel) are parsed and keep the session alive, as do
//!   requests naming it. Silent sessions are reaped after the timeout.
//! * The course-lab dialect (a bare file name as request-URI, LF-only lines, no final empty
//!   line, `Transport: RTP/UDP; client_port= N`): unterminated requests are completed after
//!   [`ServerConfig::lab_flush_delay`] without more bytes; replies put `CSeq` on line 2 and a
//!   numeric `Session` on line 3; RTP carries one whole JPEG per packet (no RFC 2435 header,
//!   PT 26, sequence number = frame number from 1). That client sends neither keepalives
//!   nor RTCP, so its session lives as long as its control connection instead of expiring.
//! * Request-URIs map to stream names (see [`Catalog`]); `..`, absolute paths, backslashes
//!   and NUL are refused before the catalog is asked.
//! * Limits (each in [`ServerConfig`]): request line/header sizes and count, body size
//!   (413), request completion time (408 + close: slowloris), idle connections, connections
//!   in total and per IP address, sessions (453), interleaved frame size, RTP rate per
//!   session; each reported as [`ServerEvent::LimitExceeded`] or
//!   [`ServerEvent::ProtocolError`].
//! * Authentication ([`ServerConfig::auth`]): Digest MD5/SHA-256 (RFC 7616) and optionally
//!   Basic; 401 with `WWW-Authenticate` before anything looks at the stream name, nonce
//!   expiry (`stale=true`) and nonce-count replay protection. OPTIONS needs none.
//! * HTTP ([`ServerConfig::http`], see [`http`]): a connection whose first line is an
//!   HTTP/1.x request line gets the page, the multipart streams, snapshots, the JSON API and
//!   the metrics, under the same limits and authentication.
//! * Status codes: 400 (garbage — the connection is closed after a parse error — or no
//!   CSeq), 403/404 (names), 405 (ANNOUNCE/RECORD/REDIRECT), 451 (SET_PARAMETER with
//!   parameters), 453 ([`ServerConfig::max_sessions`]), 454 (unknown session), 455 (method
//!   not valid in this state, e.g. PLAY before SETUP), 457 (bad Range), 459 (SETUP of another
//!   stream into a session), 461 (transport), 500/503 (media that cannot be loaded/played),
//!   501 (unknown method), 505 (not RTSP/1.x), 551 (`Require`).

mod auth;
mod counts;
mod date;
pub mod http;
mod intake;
mod lab;
mod live_clock;
mod live_paths;
mod machine;
mod media;
mod path;
mod reports;
mod rtcp;
mod session;

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests read the clock once, as the epoch of their virtual time"
)]
mod tests;

pub use auth::{AuthConfig, PathUsers};
pub use counts::SharedCounts;
pub use http::HttpConfig;
pub use intake::IntakeStats;
pub use live_clock::LiveClock;
pub use live_paths::{LiveLookup, LivePathStatus, LivePaths, LiveSource, PublishRefusal};
pub use machine::Server;
pub use media::{Catalog, LiveFrame, LookupError, Media, MediaError, MemoryCatalog, MIN_MTU};
pub use reports::SharedReports;

use crate::io::ConnId;
use crate::message::{Limits, Method, ParseError, StatusCode};
use crate::rng::RngSeed;
use core::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Configuration of a [`Server`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Local address of the UDP socket RTP leaves from (all sessions share it); its port is
    /// the first `server_port` in SETUP replies. Junk arriving on it is ignored.
    pub rtp_local: SocketAddr,
    /// Local address of the UDP socket for RTCP (SR/BYE out, RR in); its port is the second
    /// `server_port`.
    pub rtcp_local: SocketAddr,
    /// The process's other UDP sockets (e.g. the other event loops' RTP/RTCP pairs): like
    /// `rtp_local` and `rtcp_local`, never a destination of media, and what comes from them
    /// is no client's RTCP.
    pub own_udp: Vec<SocketAddr>,
    /// Sessions silent for this long are reaped (default 60 s). Replies advertise a few
    /// seconds less, because some players send their keepalive at exactly the advertised time.
    pub session_timeout: Duration,
    /// The `Server` header value.
    pub server_name: String,
    /// Largest IP payload of an RTP datagram (UDP header + RTP packet), default 1400. Used
    /// when building [`Media`] ([`Media::from_jpegs`] takes it).
    pub mtu: usize,
    /// Seed of the generator of session ids, Digest nonces, SSRCs and initial sequence
    /// numbers and timestamps (ChaCha20). `None` (the default): the runtime draws one from the
    /// OS, one per event loop. A machine built without a runtime and with `None` uses a fixed
    /// seed: predictable ids, for tests only.
    pub seed: Option<RngSeed>,
    /// Limits of the request decoder (per connection); exceeding one is a 400 and a close.
    pub limits: Limits,
    /// Most sessions at once (in all event loops sharing [`ServerConfig::counts`]); SETUP
    /// beyond it gets 453.
    pub max_sessions: usize,
    /// Most sessions of clients at one IP address (default 16); SETUP beyond it gets 453.
    pub max_sessions_per_ip: usize,
    /// Most sessions one control connection may set up and hold (default 4); SETUP beyond
    /// it gets 453.
    pub max_sessions_per_conn: usize,
    /// A session set up and never played is reaped after this long (default 20 s). Course-lab
    /// sessions, which die with their connection, wait for their user's click instead.
    pub unplayed_timeout: Duration,
    /// How long an unterminated course-lab request waits for more bytes before it is taken as
    /// complete (default 300 ms).
    pub lab_flush_delay: Duration,
    /// Loop every stream at its end instead of stopping with an RTCP BYE.
    pub loop_media: bool,
    /// How long after the last frame of a non-looping stream its RTCP BYE (and
    /// [`ServerEvent::EndOfStream`]) follows, at least one frame interval (default 100 ms).
    /// RTP and RTCP travel on different sockets (UDP) and through different queues in
    /// players: a BYE right behind the last frame ended ffmpeg's and GStreamer's reception
    /// before that frame was handled.
    pub bye_delay: Duration,
    /// Wall-clock time at the `now` given to [`Server::new`], as time since the UNIX epoch
    /// (for `Date` headers and RTCP NTP timestamps; the machine never reads the clock).
    pub wallclock_at_start: Duration,
    /// Largest RTP packet sent to the course-lab client (default 20480: the lab client
    /// receives into a 20480-byte buffer and would get a truncated JPEG). Frames that do not
    /// fit are skipped (counted in [`SessionStats::frames_skipped`], reported once per
    /// session as [`Limit::LabFrameTooLarge`]); the lab client then sees the next frame, whose
    /// number is still higher, so it keeps playing.
    pub lab_max_packet: usize,
    /// A request must be complete this long after its first byte arrived (default 10 s);
    /// otherwise the server answers 408 and closes the connection (slowloris).
    pub request_timeout: Duration,
    /// A connection that carries no session and sent no complete request for this long is
    /// closed (default 300 s: the course-lab client connects at start-up and sends SETUP
    /// only when its user clicks). Connections with a session live as long as it does.
    pub idle_timeout: Duration,
    /// Most control connections at once (default 1000, in all event loops sharing
    /// [`ServerConfig::counts`]). When they are all open, a new one takes the place of the
    /// connection that holds no session and has waited longest: first those that never
    /// completed a request, then the others by their last request ([`Limit::Evicted`]). A
    /// connection with a session is never closed for another; with none to close, the new
    /// one is closed at once.
    pub max_connections: usize,
    /// Most control connections from one IP address at once (default 32).
    pub max_connections_per_ip: usize,
    /// While more than half of [`ServerConfig::max_connections`] are open, a connection that
    /// holds no session is closed after this long without a complete request (default 10 s),
    /// instead of [`ServerConfig::idle_timeout`] (checked as connections arrive).
    pub crowded_idle_timeout: Duration,
    /// Counts shared with the server's other event loops (connections and sessions, in all
    /// and per IP). `None`: this server counts alone.
    pub counts: Option<SharedCounts>,
    /// Reports shared with the server's other event loops (sessions, viewers, traffic), for
    /// the HTTP API and `/metrics`. `None`: this server reports alone.
    pub reports: Option<SharedReports>,
    /// Largest interleaved (`$`) frame accepted from a client, payload bytes (default 8192;
    /// clients only send RTCP on them). A larger one closes the connection.
    pub max_interleaved: usize,
    /// Cap on the RTP payload rate of one session, bytes per second (default 25 MB/s;
    /// 0 = no cap). Frames beyond the budget (a token bucket holding one second) are
    /// skipped, reported once per session as [`Limit::SessionRate`].
    pub max_session_rate: u64,
    /// Authentication (`None`, the default: anyone may play). See [`AuthConfig`].
    pub auth: Option<AuthConfig>,
    /// Longest wait for a stream the catalog is loading ([`LookupError::Loading`]); the
    /// request then gets 503 (default 30 s).
    pub load_timeout: Duration,
    /// The live paths (published or pulled), shared with the other event loops and the
    /// source threads: clones share one registry. Empty by default: no live path.
    pub live: LivePaths,
    /// The HTTP side (`None`, the default: HTTP requests get 400 like any non-RTSP bytes).
    pub http: Option<HttpConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            rtp_local: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            rtcp_local: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            own_udp: Vec::new(),
            session_timeout: Duration::from_secs(60),
            server_name: concat!("rtsp-mjpeg/", env!("CARGO_PKG_VERSION")).to_string(),
            mtu: 1400,
            seed: None,
            limits: Limits::default(),
            max_sessions: 100,
            max_sessions_per_ip: 16,
            max_sessions_per_conn: 4,
            unplayed_timeout: Duration::from_secs(20),
            lab_flush_delay: Duration::from_millis(300),
            loop_media: false,
            bye_delay: Duration::from_millis(100),
            wallclock_at_start: Duration::ZERO,
            lab_max_packet: 20_480,
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            max_connections: 1000,
            max_connections_per_ip: 32,
            crowded_idle_timeout: Duration::from_secs(10),
            counts: None,
            reports: None,
            max_interleaved: 8192,
            max_session_rate: 25_000_000,
            auth: None,
            load_timeout: Duration::from_secs(30),
            live: LivePaths::new(),
            http: None,
        }
    }
}

impl ServerConfig {
    /// The timeout advertised in `Session: id;timeout=T`: the enforced timeout minus a
    /// margin (a tenth of it, between 1 and 5 s), at least 1 s.
    pub fn advertised_timeout(&self) -> u64 {
        let secs = self.session_timeout.as_secs();
        let margin = (secs / 10).clamp(1, 5);
        secs.saturating_sub(margin).max(1)
    }
}

/// Why a session ended.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent TEARDOWN.
    Teardown,
    /// Nothing was heard from the client for [`ServerConfig::session_timeout`].
    Timeout,
    /// The control connection carrying its interleaved data closed.
    ConnectionClosed,
    /// [`Server::shutdown`].
    Shutdown,
    /// Set up and never played within [`ServerConfig::unplayed_timeout`].
    NeverPlayed,
    /// A publisher replaced by a new one ([`LiveSource::Publisher`] `replace`), or ended by
    /// the application ([`Server::kick`]).
    Kicked,
}

/// A limit of [`ServerConfig`] that a client ran into.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`ServerConfig::max_connections`]: the connection was closed at once (no idle
    /// connection could make room).
    Connections,
    /// [`ServerConfig::max_connections`]: this connection, holding no session, was closed to
    /// make room for a new one.
    Evicted,
    /// [`ServerConfig::crowded_idle_timeout`]: closed while the server was crowded.
    CrowdedIdle,
    /// [`ServerConfig::max_sessions`]: SETUP got 453.
    Sessions,
    /// [`ServerConfig::max_sessions_per_ip`]: SETUP got 453.
    SessionsPerIp,
    /// [`ServerConfig::max_sessions_per_conn`]: SETUP got 453.
    SessionsPerConnection,
    /// [`ServerConfig::max_connections_per_ip`]: the connection was closed at once.
    ConnectionsPerIp,
    /// [`ServerConfig::request_timeout`]: 408 and close.
    RequestTimeout,
    /// [`ServerConfig::idle_timeout`]: closed.
    IdleTimeout,
    /// [`ServerConfig::max_interleaved`]: closed.
    InterleavedFrame,
    /// [`ServerConfig::max_session_rate`]: frames are being skipped.
    SessionRate,
    /// [`ServerConfig::lab_max_packet`]: a frame too large for the course-lab client was skipped.
    LabFrameTooLarge,
    /// While a request waited for its stream to load, the client sent more than one
    /// message's worth ([`Limits::max_head`] + [`Limits::max_body`]) behind it: closed.
    BufferedWhileLoading,
}

impl Limit {
    /// A short snake-case name (metrics labels).
    pub fn name(self) -> &'static str {
        match self {
            Self::Connections => "connections",
            Self::Evicted => "evicted",
            Self::CrowdedIdle => "crowded_idle",
            Self::Sessions => "sessions",
            Self::SessionsPerIp => "sessions_per_ip",
            Self::SessionsPerConnection => "sessions_per_connection",
            Self::ConnectionsPerIp => "connections_per_ip",
            Self::RequestTimeout => "request_timeout",
            Self::IdleTimeout => "idle_timeout",
            Self::InterleavedFrame => "interleaved_frame",
            Self::SessionRate => "session_rate",
            Self::LabFrameTooLarge => "lab_frame_too_large",
            Self::BufferedWhileLoading => "buffered_while_loading",
        }
    }
}

/// Counters of one session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// RTP packets sent.
    pub packets: u64,
    /// RTP payload octets sent.
    pub octets: u64,
    /// Frames sent.
    pub frames: u64,
    /// Frames not sent: the runtime polled too late (pacing skipped ahead) or, in the
    /// course-lab mode, a JPEG too large for one datagram.
    pub frames_skipped: u64,
}

/// What happened, for logs. Nothing needs to be done about these.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// A control connection was accepted.
    Connected {
        /// The connection.
        conn: ConnId,
        /// The client.
        peer: SocketAddr,
    },
    /// A control connection ended (by the peer, or closed by the server).
    Disconnected {
        /// The connection.
        conn: ConnId,
        /// The client.
        peer: SocketAddr,
    },
    /// A request was answered.
    Request {
        /// The connection.
        conn: ConnId,
        /// The client.
        peer: SocketAddr,
        /// The method.
        method: Method,
        /// The request-URI as sent.
        uri: String,
        /// The status of the reply.
        status: StatusCode,
    },
    /// The control stream could not be parsed; the server answered 400/505 and closed it.
    ProtocolError {
        /// The connection.
        conn: ConnId,
        /// The client.
        peer: SocketAddr,
        /// What was wrong.
        error: ParseError,
    },
    /// The catalog refused a stream.
    LookupFailed {
        /// The stream name asked for.
        stream: String,
        /// Why.
        error: LookupError,
    },
    /// SETUP created a session.
    SessionCreated {
        /// Session id.
        session: String,
        /// The client.
        peer: SocketAddr,
    },
    /// A non-looping stream reached its end; the session sent RTCP BYE and stopped.
    EndOfStream {
        /// Session id.
        session: String,
        /// What the session sent (a client that got everything has `stats.frames` frames).
        stats: SessionStats,
    },
    /// A receiver report about one of our streams arrived.
    ReceiverReport {
        /// Session id.
        session: String,
        /// Fraction lost since the last report, in 1/256.
        fraction_lost: u8,
        /// Cumulative packets lost.
        cumulative_lost: i32,
        /// Interarrival jitter, in 90 kHz units.
        jitter: u32,
    },
    /// A client ran into a limit (see [`Limit`] for what the server did about it).
    LimitExceeded {
        /// The client.
        peer: SocketAddr,
        /// Which limit.
        limit: Limit,
    },
    /// RECORD: a publisher session started sending the live path `stream`.
    Recording {
        /// Session id of the publisher.
        session: String,
        /// The path.
        stream: String,
    },
    /// A frame of a live path arrived from a publisher of this server and went to this
    /// server's readers. A runtime with several event loops hands it to the others
    /// ([`Server::push_frame`]); a log ignores it.
    Published {
        /// The path.
        stream: String,
        /// The frame, packetized.
        frame: LiveFrame,
    },
    /// A publisher of a path that replaces its publishers took the place of `session`, which
    /// another event loop holds: the runtime should end it there ([`Server::kick`]).
    PublisherReplaced {
        /// The path.
        stream: String,
        /// Session id of the publisher replaced.
        session: String,
    },
    /// An admin asked to kick (`POST /api/sessions/ID/kick`) a session or HTTP viewer that
    /// another event loop reports: the runtime should end it on the other loops
    /// ([`Server::kick`]).
    KickRequested {
        /// Session id.
        session: String,
    },
    /// An HTTP request was answered ([`ServerConfig::http`]).
    HttpRequest {
        /// The connection.
        conn: ConnId,
        /// The client.
        peer: SocketAddr,
        /// The method.
        method: String,
        /// The request target as sent.
        target: String,
        /// The status of the answer.
        status: u16,
    },
    /// A session ended and its resources were freed.
    SessionClosed {
        /// Session id.
        session: String,
        /// Why.
        reason: CloseReason,
    },
}
