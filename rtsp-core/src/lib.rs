//! Sans-IO RTSP/1.0 (RFC 2326): messages, a bounded incremental parser, SDP, and the
//! server and client session state machines.
//!
//! Nothing here touches a socket, a thread or the clock: bytes and `now` go in through
//! [`io::Machine::handle_input`]; bytes to send, events and the next deadline come out of
//! [`io::Machine::poll_output`].

#![deny(missing_docs)]

pub mod auth;
pub mod client;
pub mod io;
pub mod message;
pub mod sdp;
pub mod server;
pub mod url;
