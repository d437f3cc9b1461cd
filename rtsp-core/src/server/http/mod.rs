//! The HTTP side of the server ([`ServerConfig::http`](super::ServerConfig::http)): a
//! connection whose first request line is HTTP/1.0 or HTTP/1.1 is answered here, under the
//! same connection limits, request timeout and authentication as RTSP.
//!
//! * `GET /` — a page with every stream (live preview, state, size, fps, readers, `rtsp://` URL);
//! * `GET /NAME/stream.mjpg` — `multipart/x-mixed-replace` JPEG parts: a live path sends every
//!   frame as it arrives; a file plays from its first frame at its frame rate for each
//!   viewer (looping when the server or the stream loops, else the connection closes at its
//!   end);
//! * `GET /NAME/snapshot.jpg` — the latest frame of a live path, the first frame of a file;
//! * `GET /api/streams`, `GET /api/sessions` — JSON; `POST /api/sessions/ID/kick` — for the
//!   users in [`HttpConfig::admins`] only;
//! * `GET /metrics` — the Prometheus text format.
//!
//! Every response closes its connection (`Connection: close`). A part of a stream goes out as
//! [`SharedTransmit`](crate::io::SharedTransmit)s, the first with `frame_start`: a runtime
//! sheds whole parts for a viewer that does not read, as it sheds whole frames for RTSP.

mod api;
mod metrics;
mod page;
mod parse;
mod response;
mod route;

pub(crate) use metrics::{Exposition, CONTENT_TYPE as METRICS_CONTENT_TYPE};
pub use parse::{head_end, is_http_request_line, parse_request, HttpParseError, HttpRequest};
pub use response::{part_header, BOUNDARY};
pub(crate) use response::{stream_head, HttpResponse};
pub(crate) use route::Route;

/// Functions of the pure parts, for the machine.
pub(crate) mod render {
    pub(crate) use super::api::{kicked, sessions, streams};
    pub(crate) use super::page::{encode_path, render as page, SCRIPT, STYLE};
}

use core::net::SocketAddr;

/// Configuration of the HTTP side.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    /// Users (names from [`AuthConfig::users`](super::AuthConfig::users)) who may kick sessions
    /// (`POST /api/sessions/ID/kick`). Without authentication nobody may.
    pub admins: Vec<String>,
    /// The port of the RTSP listener, for the `rtsp://` URLs of the page and the API
    /// (the host is the one the browser asked for).
    pub rtsp_port: u16,
}

/// One stream as the page and `/api/streams` show it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StreamInfo {
    pub(crate) name: String,
    /// `file` or `live`.
    pub(crate) kind: &'static str,
    /// `ready`, `loading`, `error` (files); `live`, `waiting`, `offline` (live paths).
    pub(crate) state: &'static str,
    pub(crate) width: Option<u16>,
    pub(crate) height: Option<u16>,
    pub(crate) fps: Option<f64>,
    pub(crate) readers: usize,
    pub(crate) rtsp_url: String,
}

/// One session (RTSP) or viewer (HTTP) as `/api/sessions` shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SessionInfo {
    pub(crate) id: String,
    /// `rtsp` or `http`.
    pub(crate) protocol: &'static str,
    pub(crate) peer: SocketAddr,
    pub(crate) stream: String,
    /// `udp`, `tcp`, `lab` or `http`.
    pub(crate) transport: &'static str,
    /// `ready`, `playing`, `publishing`, `streaming`.
    pub(crate) state: &'static str,
    pub(crate) user: Option<String>,
    pub(crate) packets: u64,
    pub(crate) octets: u64,
    pub(crate) frames: u64,
    pub(crate) frames_skipped: u64,
    /// The last receiver report: fraction lost (1/256), cumulative lost, jitter.
    pub(crate) loss: Option<(u8, i32, u32)>,
}
