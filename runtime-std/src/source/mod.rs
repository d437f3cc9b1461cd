//! Live frame sources: the pull side of a live MJPEG hub. Each source runs on its own thread,
//! pulls complete JPEG frames from somewhere and hands them to a callback (the *sink*).
//!
//! | [`SourceSpec`] | where the frames come from |
//! |---|---|
//! | [`Rtsp`](SourceSpec::Rtsp) | an RTSP/RTP JPEG stream, played with [`rtsp_core::client::Client`] on a [`Runtime`](crate::Runtime) (DESCRIBE → SETUP → PLAY); credentials in the URL are used (Basic or Digest) |
//! | [`Http`](SourceSpec::Http) | an `http://` URL: a `multipart/x-mixed-replace` MJPEG stream (IP cameras, mjpg-streamer, `ffmpeg -f mpjpeg`), or a single `image/jpeg` snapshot polled every [`SourceOptions::snapshot_interval`] |
//! | [`Exec`](SourceSpec::Exec) | a shell command (`sh -c`) writing concatenated JPEGs to its standard output (`ffmpeg ... -f mjpeg -`) |
//!
//! ```no_run
//! use std::sync::Arc;
//! use runtime_std::source::{self, SourceEvent, SourceOptions, SourceSpec};
//! let spec = SourceSpec::Http { url: "http://camera.local/video.mjpg".into() };
//! let sink = Arc::new(|event: SourceEvent| match event {
//!     SourceEvent::Frame { jpeg, .. } => println!("frame of {} bytes", jpeg.len()),
//!     SourceEvent::State(state) => println!("{state}"),
//!     _ => {}
//! });
//! let source = source::spawn("cam1", spec, SourceOptions::default(), sink)?;
//! // ...
//! source.stop(); // or drop it
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Life of a source
//!
//! ```text
//!  Connecting ──first frame──> Streaming ──loss──> Lost{reason, retry_in} ──wait──> Connecting ...
//!       └──────────failure─────────────────────────────^          any time: stop ──> Stopped (last event)
//! ```
//!
//! Every loss or failure (refused connection, HTTP error status, the command exiting, the RTSP
//! server closing or going silent, no data for [`SourceOptions::read_timeout`]) is reported
//! as [`SourceState::Lost`] with a reason for people, and the source tries again after a
//! capped exponential [`Backoff`] ([`SourceOptions::backoff_min`] doubling up to
//! [`SourceOptions::backoff_max`], back to the minimum once a frame arrived). A player that
//! wants one stream and its end sets [`SourceOptions::reconnect`] to `false`: the first loss
//! is then [`SourceState::Ended`], which tells a stream the server ended from a failure.
//!
//! # Threads and stopping
//!
//! The sink is called on the source's thread, frames in the order they came: it should hand
//! them on quickly (a slow sink delays the source, and for RTSP over UDP packets may be lost).
//! Nothing runs on an event loop. Every blocking call is bounded or is interrupted by a stop:
//! connecting polls a non-blocking socket while waiting for the stop; reads have the read
//! timeout and a stop shuts the socket down (HTTP), kills the command's process group
//! (exec), or stops the RTSP runtime; the wait between attempts is a condition variable. So
//! [`SourceHandle::stop`] (and dropping the handle) returns within about a second. One
//! exception: resolving a host name is a blocking `getaddrinfo` call on the source's thread,
//! bounded only by the resolver's own timeouts; use IP addresses where that matters.
//!
//! # Limits
//!
//! Frames larger than [`SourceOptions::max_frame_size`] are dropped and counted
//! ([`SourceStats::dropped`]). For HTTP and exec the size is only known from the stream
//! itself, which cannot be resynchronised once a frame is skipped: the source is then lost
//! and reconnects (the command is restarted). The RTSP client drops an oversize frame and goes
//! on.
//!
//! HTTP is plain `http://` only: there is no TLS (`https://` is refused by [`spawn`]).

mod backoff;
mod chunked;
mod emit;
mod exec;
mod http;
mod http_head;
mod http_url;
mod net;
mod rtsp;
mod stats;
mod stop;
mod worker;

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;

pub use backoff::Backoff;
pub use http_url::{HttpUrl, HttpUrlError};
pub use stats::SourceStats;
pub use worker::{spawn, SourceHandle};

/// Where a source pulls its frames from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceSpec {
    /// An RTSP stream of RTP/JPEG (`rtsp://[user:pass@]host[:port]/path`).
    Rtsp {
        /// The URL; credentials in it answer the server's challenge (Basic or Digest).
        url: String,
        /// Force RTP interleaved in the RTSP connection. Otherwise UDP, falling back to TCP
        /// when the server refuses UDP or no RTP arrives over it
        /// ([`Policy::tcp_fallback`](rtsp_core::client::Policy::tcp_fallback)).
        tcp: bool,
    },
    /// `http://[user:pass@]host[:port]/path`: a `multipart/x-mixed-replace` stream of JPEGs,
    /// or one `image/jpeg` polled every [`SourceOptions::snapshot_interval`]. Credentials in
    /// the URL are sent as Basic authentication. No TLS. A body without a content type or
    /// with `application/octet-stream` (`ffmpeg -f mpjpeg` without `-content_type`) is taken
    /// for what its first bytes say: a `--boundary` line, or a JPEG's SOI.
    Http {
        /// The URL.
        url: String,
    },
    /// A command run with `sh -c` whose standard output is concatenated JPEGs (or the lab's
    /// length-prefixed format), e.g. `ffmpeg -i rtsp://... -f mjpeg -`. Standard input is
    /// `/dev/null`; standard error is inherited unless
    /// [`SourceOptions::discard_exec_stderr`]. The command runs in its own process group,
    /// which is killed (`SIGKILL`) when the source stops or gives up on it, so a pipeline's
    /// processes go too. When the command exits the source is lost and runs it again.
    Exec {
        /// The shell command line.
        command: String,
    },
}

impl fmt::Display for SourceSpec {
    /// The spec for logs: URLs without their credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rtsp { url, tcp } => {
                let shown = rtsp_core::url::RtspUrl::parse(url)
                    .map_or_else(|_| "(invalid rtsp URL)".to_string(), |u| u.to_string());
                write!(f, "{shown}{}", if *tcp { " (TCP)" } else { "" })
            }
            Self::Http { url } => match HttpUrl::parse(url) {
                Ok(u) => write!(f, "{u}"),
                Err(_) => f.write_str("(invalid http URL)"),
            },
            Self::Exec { command } => write!(f, "exec `{command}`"),
        }
    }
}

/// How a source behaves. `Default` gives the values listed on each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOptions {
    /// HTTP snapshot (`image/jpeg`) sources: time from one request to the next. Default 1 s.
    pub snapshot_interval: Duration,
    /// First wait after a loss. Default 0.5 s.
    pub backoff_min: Duration,
    /// Longest wait after repeated losses. Default 30 s.
    pub backoff_max: Duration,
    /// Longest wait for a TCP connection (HTTP and RTSP). Default 5 s.
    pub connect_timeout: Duration,
    /// No data (HTTP bytes, command output) or no frame (RTSP) for this long: the source is
    /// lost. Also the RTSP request timeout. Default 10 s.
    pub read_timeout: Duration,
    /// Largest frame handed to the sink; larger ones are dropped and counted. Default 8 MiB.
    pub max_frame_size: usize,
    /// Exec sources: send the command's standard error to `/dev/null` instead of this
    /// process's standard error. Default `false` (inherited: the command's complaints are
    /// the only clue to why it fails).
    pub discard_exec_stderr: bool,
    /// Try again after a loss (the backoff). `false`: one attempt (an HTTP snapshot source
    /// still polls until a request fails), which ends with [`SourceState::Ended`]; what a
    /// player wants. Default `true`.
    pub reconnect: bool,
}

/// Default [`SourceOptions::max_frame_size`]: 8 MiB (the RTSP client's own default).
pub const DEFAULT_MAX_FRAME_SIZE: usize = 8 * 1024 * 1024;

impl Default for SourceOptions {
    fn default() -> Self {
        Self {
            snapshot_interval: Duration::from_secs(1),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            discard_exec_stderr: false,
            reconnect: true,
        }
    }
}

/// What a source hands its sink.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceEvent {
    /// A complete JPEG (SOI .. EOI), at most [`SourceOptions::max_frame_size`] bytes.
    Frame {
        /// The JPEG.
        jpeg: Bytes,
        /// When it was complete here.
        arrival: Instant,
        /// Its RTP timestamp (90 kHz), for RTSP sources.
        rtp_timestamp: Option<u32>,
    },
    /// The source's state changed.
    State(SourceState),
}

/// Where a source stands ([`SourceEvent::State`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceState {
    /// Connecting (or starting the command); the first state, and again after each
    /// [`SourceState::Lost`] wait.
    Connecting,
    /// The first frame of this connection arrived.
    Streaming,
    /// The connection failed or was lost; the next attempt comes in `retry_in`.
    Lost {
        /// What happened, for people (the HTTP status line, the content type, the command's
        /// exit status, the RTSP client's error ...).
        reason: String,
        /// The wait before the next attempt.
        retry_in: Duration,
    },
    /// Without [`SourceOptions::reconnect`]: the one attempt ended, and no other follows
    /// ([`SourceState::Stopped`] comes next).
    Ended {
        /// What happened, for people (as for [`SourceState::Lost`]).
        reason: String,
        /// The server ended the stream between frames (HTTP: the end of the multipart body
        /// or the connection closed), rather than an error or a timeout.
        finished: bool,
    },
    /// The source was stopped; the last event.
    Stopped,
}

impl fmt::Display for SourceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connecting => f.write_str("connecting"),
            Self::Streaming => f.write_str("streaming"),
            Self::Lost { reason, retry_in } => write!(
                f,
                "lost: {reason}; retrying in {:.1} s",
                retry_in.as_secs_f64()
            ),
            Self::Ended { reason, .. } => write!(f, "ended: {reason}"),
            Self::Stopped => f.write_str("stopped"),
        }
    }
}

/// The callback a source hands its events to (on the source's thread).
pub type Sink = std::sync::Arc<dyn Fn(SourceEvent) + Send + Sync>;
