//! The shared sans-IO loop types: what goes into a machine and what comes out.
//!
//! A runtime owns the sockets and the clock. It feeds bytes and `now` into a
//! [`Machine`] with [`Machine::handle_input`], then drains [`Machine::poll_output`]
//! until it returns [`Output::Timeout`], and sleeps until that deadline or the
//! next socket event, whichever comes first.
//!
//! ```text
//!            +---------------- runtime (sockets, clock) ----------------+
//!  bytes --> | handle_input(Input{now, ..}) --> [ Machine ] --> poll_output() | --> Transmit / Close / Event
//!            |            ^                                          |      |
//!            |            +---------- sleep until Timeout(t) <--------+      |
//!            +----------------------------------------------------------+
//! ```
//!
//! Invariant: every `handle_input` must be followed by a full drain of
//! `poll_output` (until `Output::Timeout`) before the next input.

use core::net::SocketAddr;
use std::time::Instant;

/// Identifies one control (TCP) connection. Chosen by the runtime, opaque to machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// One input to a machine. Every variant carries the time it happened.
#[derive(Debug)]
pub enum Input<'a> {
    /// A deadline returned by [`Output::Timeout`] passed (spurious calls are harmless).
    Timeout(Instant),
    /// A new control connection was accepted (server) or connected (client).
    Connected {
        /// When it happened.
        now: Instant,
        /// The runtime's id for the connection.
        conn: ConnId,
        /// The remote address.
        peer: SocketAddr,
    },
    /// Bytes arrived on a control connection.
    Stream {
        /// When they were received.
        now: Instant,
        /// Which connection.
        conn: ConnId,
        /// The bytes (any split is allowed).
        data: &'a [u8],
    },
    /// The peer closed the control connection, or it failed.
    StreamClosed {
        /// When it was noticed.
        now: Instant,
        /// Which connection.
        conn: ConnId,
    },
    /// A UDP datagram arrived.
    Datagram {
        /// Receive time (matters for jitter).
        now: Instant,
        /// The local address of the socket it arrived on.
        local: SocketAddr,
        /// The sender.
        remote: SocketAddr,
        /// The payload.
        data: &'a [u8],
    },
}

/// Where a [`Transmit`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// Append to a control connection's byte stream.
    Stream(ConnId),
    /// Send a datagram from the socket bound to `local` to `remote`.
    Udp {
        /// Local socket address (the runtime maps it to its socket).
        local: SocketAddr,
        /// Remote address.
        remote: SocketAddr,
    },
}

/// Bytes a machine wants sent.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send them.
    pub dest: Dest,
    /// What to send.
    pub data: Vec<u8>,
}

/// One output of a machine, drained with [`Machine::poll_output`].
#[must_use]
#[derive(Debug)]
pub enum Output<E> {
    /// Send these bytes.
    Transmit(Transmit),
    /// Close this control connection (after sending everything queued for it).
    Close(ConnId),
    /// Something the application should know about.
    Event(E),
    /// Nothing more to do until this deadline (`None`: until new input). Always last.
    Timeout(Option<Instant>),
}

/// A sans-IO state machine driven by a runtime.
pub trait Machine {
    /// Application events this machine reports.
    type Event;
    /// Feed one input. Follow with a full drain of [`Machine::poll_output`].
    fn handle_input(&mut self, input: Input<'_>);
    /// Next output; call until it returns [`Output::Timeout`].
    fn poll_output(&mut self) -> Output<Self::Event>;
}
