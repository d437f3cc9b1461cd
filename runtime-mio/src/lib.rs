//! runtime-mio: drives any [`rtsp_core::io::Machine`] on one `mio::Poll` event loop.
//!
//! Same API shape as `runtime_std` ([`Runtime::new`], [`Runtime::tcp_listener`],
//! [`Runtime::udp_socket`], [`Runtime::connect_tcp`], [`Runtime::handle`], [`Runtime::run`],
//! [`serve`]), but one thread and no blocking:
//!
//! ```text
//! loop {
//!     poll.poll(&mut events, deadline - now)
//!     for ev in events {                       // every input is followed by a full drain
//!         WAKER    => run commands from Handle::command, or stop
//!         listener => accept..WouldBlock       -> Input::Connected
//!         conn     => WRITABLE: flush queue;  READABLE: read..WouldBlock -> Input::Stream / StreamClosed
//!         udp      => recv_from..WouldBlock    -> Input::Datagram
//!     }
//!     if deadline <= now { Input::Timeout(now) }
//! }
//! drain: loop match machine.poll_emit() {
//!     Shared(Udp)       => batched: at the end of the drain (or before any other UDP send)
//!                          one sendmmsg per socket, header + shared payload as two iovecs,
//!                          runs to one destination as one UDP GSO message (probed at start)
//!     Shared(Stream)    => queued (whole frames dropped while the queue is over the frame cap)
//!     Transmit(Stream)  => queued (bounded); queues are written with writev at the end of the
//!                          drain, the rest on WRITABLE
//!     Transmit(Udp)     => send_to; WouldBlock drops the datagram (counted)
//!     Close(conn)       => close once its queue is written
//!     Event(e)          => on_event(&mut machine, e) after the drain, then drain again
//!     Timeout(t)        => deadline = t; break
//! }
//! ```
//!
//! ```no_run
//! # use rtsp_core::io::{Input, Machine, Output};
//! # struct Echo;
//! # impl Machine for Echo { type Event = (); fn handle_input(&mut self, _: Input<'_>) {}
//! #   fn poll_output(&mut self) -> Output<()> { Output::Timeout(None) } }
//! use runtime_mio::{Flow, Runtime};
//! let mut rt = Runtime::new(Echo)?;
//! rt.tcp_listener(std::net::TcpListener::bind("127.0.0.1:0")?)?;
//! let handle = rt.handle();                  // handle.stop() from another thread ends run()
//! let _machine = rt.run(|_machine, _event| Flow::Continue)?;
//! # Ok::<(), std::io::Error>(())
//! ```

//! Also here: [`ServerLoops`] (several loops on one RTSP port, `server-mio --threads N`) and
//! [`udp`], the batched `sendmmsg`/UDP GSO sender (the crate's only `unsafe`).

#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod driver;
mod loops;
mod output;
mod serve;
#[cfg(target_os = "linux")]
pub mod udp;

pub use driver::{Runtime, Spawned};
pub use loops::{LoopsError, LoopsOptions, ServerLoops, SharedCatalog, ShutdownHandle};
pub use runtime_std::media;
pub use runtime_std::wake_on_load;
pub use runtime_std::{
    bind_udp_pair, bind_udp_pair_at, BoundServer, Command, Control, Flow, Handle, RunningServer,
    RuntimeHandle, RuntimeStats, ServerOptions, DEFAULT_MAX_PENDING_OUTPUT,
};
pub use runtime_std::{live, source};
pub use serve::{serve, server_runtime};
