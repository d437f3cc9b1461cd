//! runtime-std: a blocking runtime that drives any [`rtsp_core::io::Machine`] over real
//! sockets, plus the media catalog that serves files from a directory.
//!
//! # The I/O loop
//!
//! The machine is sans-IO: it never touches a socket or the clock. [`Runtime`] owns the
//! sockets; one reader thread per socket (and one accept thread per listener) pushes what
//! arrives into a single channel, stamped with the time it arrived. The driver thread owns
//! the machine:
//!
//! ```text
//! loop {
//!     msg = channel.recv_timeout(deadline - now)         // or: the deadline passed
//!     machine.handle_input(Input::{Connected, Stream, StreamClosed, Datagram, Timeout})
//!     loop match machine.poll_output() {                 // full drain after every input
//!         Transmit{Dest::Stream(conn), ..} => tcp[conn].write_all(..)
//!         Transmit{Dest::Udp{local, remote}, ..} => udp[local].send_to(.., remote)
//!         Close(conn)                       => tcp[conn].shutdown()
//!         Event(e)                          => queued; after the drain: on_event(&mut machine, e), drain again
//!         Timeout(t)                        => { deadline = t; break }
//!     }
//! }
//! ```
//!
//! Other threads (stdin, Ctrl-C) reach the machine through a cloneable [`Handle`]:
//! [`Handle::command`] runs a closure with `&mut machine` on the driver thread (followed by a
//! drain), and [`Handle::stop`] ends the loop.
//!
//! ```no_run
//! # use rtsp_core::io::{Input, Machine, Output};
//! # struct Echo;
//! # impl Machine for Echo { type Event = (); fn handle_input(&mut self, _: Input<'_>) {}
//! #   fn poll_output(&mut self) -> Output<()> { Output::Timeout(None) } }
//! use runtime_std::{Flow, Runtime};
//! let mut rt = Runtime::new(Echo)?;
//! let addr = rt.tcp_listener(std::net::TcpListener::bind("127.0.0.1:0")?)?;
//! let handle = rt.handle();                   // give this to a Ctrl-C handler: handle.stop()
//! let _machine = rt.run(|_machine, _event| Flow::Continue)?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`source`] pulls live JPEG frames (RTSP, HTTP MJPEG or snapshots, a command's output) on
//! threads of their own, reconnecting with backoff.
//!
//! [`serve`] wires the whole server (listener, RTP/RTCP port pair, catalog) in one call;
//! runtime-mio offers the same API on a `mio` event loop. What both runtimes share lives
//! here: [`Handle`], [`drive`] (the drain-then-dispatch step, monotonic input times),
//! [`serve_with`], the UDP pair binding and the counters, and the server's log
//! ([`log_server_event`]), whose flood control is [`log_limit`].

#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod common;
pub mod drive;
mod driver;
mod event_log;
mod handle;
pub mod live;
pub mod log_limit;
pub mod media;
mod serve;
pub mod source;
mod wake;

pub use common::{
    bind_udp_pair, bind_udp_pair_at, connect_control, find_udp, find_udp_index, wake_addr, Command,
    Flow, RuntimeHandle, RuntimeStats, SharedStats, SpawnedWith,
};
pub use driver::{Runtime, Spawned};
pub use event_log::{log_line_allowed, log_server_event, server_event_handler};
pub use handle::{Control, Handle};
pub use serve::{
    os_seed, serve, serve_with, BoundServer, RunningServer, ServerEventFn, ServerEventHook,
    ServerOptions, DEFAULT_MAX_PENDING_OUTPUT,
};
pub use wake::wake_on_load;
