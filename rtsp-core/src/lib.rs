//! Sans-IO RTSP/1.0 (RFC 2326): messages, a bounded incremental parser, typed headers, SDP
//! (RFC 4566), URLs, authentication, and the server and client session state machines.
//!
//! Nothing here touches a socket, a thread or the clock. A runtime (see the `runtime-std` and
//! `runtime-mio` crates, or write your own) owns the sockets and reads the clock; the machines
//! only see bytes and instants:
//!
//! ```text
//!   socket bytes, timer ──► machine.handle_input(Input::{Connected, Stream, StreamClosed,
//!                                                       Datagram, Timeout} with `now`)
//!                           loop machine.poll_output():
//!                               Output::Transmit(t) ──► write t.data to t.dest
//!                               Output::Close(conn) ──► close that connection
//!                               Output::Event(e)    ──► the application
//!                               Output::Timeout(t)  ──► sleep until t or the next input
//! ```
//!
//! Every `handle_input` must be followed by a full drain of `poll_output` (until
//! `Output::Timeout`). Three kinds of time stay apart: `now` (a monotonic [`std::time::Instant`]
//! passed in), media time (90 kHz RTP timestamps), and wall-clock time (an anchor given in the
//! configuration, used only for `Date:` headers and RTCP NTP timestamps).
//!
//! # Example: a server machine answering a request, without any I/O
//!
//! ```
//! use rtsp_core::io::{ConnId, Dest, Input, Machine, Output};
//! use rtsp_core::server::{Media, MemoryCatalog, Server, ServerConfig};
//! use std::time::{Duration, Instant};
//!
//! let frames = mjpeg::testpattern::frames(10, 64, 48);
//! let media = Media::from_jpegs("sample", 25.0, frames, 1400).expect("carriable frames");
//! let start = Instant::now(); // the caller reads the clock, never the machine
//! let catalog = Box::new(MemoryCatalog::new().with(media));
//! let mut server = Server::new(ServerConfig::default(), catalog, start);
//!
//! let conn = ConnId(1);
//! let peer = "127.0.0.1:40000".parse().unwrap();
//! server.handle_input(Input::Connected { now: start, conn, peer });
//! server.handle_input(Input::Stream {
//!     now: start + Duration::from_millis(1),
//!     conn,
//!     data: b"OPTIONS rtsp://127.0.0.1:8554/sample RTSP/1.0\r\nCSeq: 7\r\n\r\n",
//! });
//!
//! let mut reply = Vec::new();
//! loop {
//!     match server.poll_output() {
//!         Output::Transmit(t) => {
//!             assert_eq!(t.dest, Dest::Stream(conn));
//!             reply.extend_from_slice(&t.data);
//!         }
//!         Output::Timeout(_) => break, // always last: nothing more until new input
//!         _ => {}
//!     }
//! }
//! let reply = String::from_utf8(reply).unwrap();
//! assert!(reply.starts_with("RTSP/1.0 200 OK\r\nCSeq: 7\r\n"));
//! assert!(reply.contains("DESCRIBE"));
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod auth;
pub mod client;
pub mod io;
pub mod message;
pub mod rng;
pub mod sdp;
pub mod server;
pub mod url;

/// The workspace README's code blocks, compiled as doctests so its examples stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme_doctests {}
