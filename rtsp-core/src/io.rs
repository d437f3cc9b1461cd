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
//! `poll_output` (until `Output::Timeout`) before the next input. [`drain`] is that loop
//! ([`drain_emit`] for the zero-copy form, [`drain_bounded`] for harnesses); every runtime,
//! load tool, simulator and fuzz target in this workspace drains through them.

use bytes::Bytes;
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

/// Capacity of an [`InlineHeader`]: a `$` interleave prefix (4 bytes) plus a 12-byte RTP
/// header.
pub const INLINE_HEADER_CAPACITY: usize = 16;

/// A few bytes written per packet in front of a payload shared by many packets (an RTP
/// header, optionally preceded by the `$`-interleave prefix). Stored inline: no allocation.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct InlineHeader {
    bytes: [u8; INLINE_HEADER_CAPACITY],
    len: u8,
}

impl InlineHeader {
    /// A header holding `bytes`; `None` if longer than [`INLINE_HEADER_CAPACITY`].
    pub fn new(bytes: &[u8]) -> Option<Self> {
        let mut h = Self::default();
        h.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        h.len = bytes.len() as u8;
        Some(h)
    }

    /// Appends `bytes`; `false` (and unchanged) if they do not fit.
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        let at = usize::from(self.len);
        match self.bytes.get_mut(at..at + bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.len += bytes.len() as u8;
                true
            }
            None => false,
        }
    }

    /// The header bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl std::fmt::Debug for InlineHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InlineHeader({:02x?})", self.as_slice())
    }
}

/// A packet made of a small per-packet header and a payload shared with other packets
/// (reference-counted, never copied): the fan-out form of a media packet, which runtimes send
/// with vectored I/O (`sendmsg`/`sendmmsg` with two iovecs, UDP GSO, `writev`).
///
/// For [`Dest::Udp`] it is one datagram `header ++ body`; for [`Dest::Stream`] it is
/// appended to the byte stream (the header then starts with the `$` prefix).
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedTransmit {
    /// Where to send it.
    pub dest: Dest,
    /// The per-packet bytes, sent first.
    pub header: InlineHeader,
    /// The shared payload, sent after the header.
    pub body: Bytes,
    /// The first packet of a media frame. A runtime that must shed load on a slow stream
    /// drops whole frames: it may skip from such a packet up to (not including) the next.
    pub frame_start: bool,
}

impl SharedTransmit {
    /// Total length in bytes (header + body).
    pub fn len(&self) -> usize {
        self.header.len() + self.body.len()
    }

    /// Whether it holds no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends header and body to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.header.as_slice());
        out.extend_from_slice(&self.body);
    }

    /// The contiguous form (copies the body).
    pub fn into_transmit(self) -> Transmit {
        let mut data = Vec::with_capacity(self.len());
        self.write_to(&mut data);
        Transmit {
            dest: self.dest,
            data,
        }
    }
}

/// What [`Machine::poll_emit`] returns: an ordinary output, or a media packet in shared form.
#[must_use]
#[derive(Debug)]
pub enum Emit<E> {
    /// An ordinary output (as [`Machine::poll_output`] would return it).
    Output(Output<E>),
    /// A packet to send without copying its body.
    Shared(SharedTransmit),
}

impl<E> From<Output<E>> for Emit<E> {
    fn from(o: Output<E>) -> Self {
        Self::Output(o)
    }
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
    /// Next output like [`Machine::poll_output`] (same order, same end at
    /// [`Output::Timeout`]), except that media packets may come as [`SharedTransmit`]s:
    /// the zero-copy form for runtimes with vectored I/O. A runtime uses one of the two for
    /// a whole drain. The default returns what `poll_output` does.
    fn poll_emit(&mut self) -> Emit<Self::Event> {
        Emit::Output(self.poll_output())
    }
}

/// A drain that handed over its limit of outputs without reaching [`Output::Timeout`]: the
/// machine keeps producing output (a livelock). From [`drain_bounded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no Output::Timeout after {outputs} outputs (livelock)")]
pub struct Livelock {
    /// Outputs handed over before giving up.
    pub outputs: usize,
}

/// Drains `machine` after an input: hands every output before [`Output::Timeout`] to `f`, in
/// order, and returns that timeout's deadline. `f` never sees the `Timeout` itself.
///
/// Every runtime's and harness's loop is this loop; what differs is `f` (write, queue, count,
/// assert). `f` may not touch the machine (it is borrowed): queue events and hand them to the
/// application after the drain, then drain again.
///
/// ```
/// use rtsp_core::io::{drain, Input, Machine, Output};
/// # use std::time::Instant;
/// # struct Quiet;
/// # impl Machine for Quiet { type Event = (); fn handle_input(&mut self, _: Input<'_>) {}
/// #   fn poll_output(&mut self) -> Output<()> { Output::Timeout(None) } }
/// let mut machine = Quiet;
/// machine.handle_input(Input::Timeout(Instant::now()));
/// let mut events = Vec::new();
/// let deadline = drain(&mut machine, |out| match out {
///     Output::Transmit(t) => { /* write t.data to t.dest */ }
///     Output::Close(conn) => { /* close conn once its output is written */ }
///     Output::Event(e) => events.push(e),
///     Output::Timeout(_) => unreachable!("drain returns it"),
/// });
/// assert_eq!(deadline, None); // wait for input only
/// ```
pub fn drain<M: Machine + ?Sized>(
    machine: &mut M,
    f: impl FnMut(Output<M::Event>),
) -> Option<Instant> {
    // Unbounded in practice: no machine hands over usize::MAX outputs.
    drain_bounded(machine, usize::MAX, f).unwrap_or(None)
}

/// [`drain`] through [`Machine::poll_emit`]: media packets may come as [`Emit::Shared`] (for
/// runtimes that send them with vectored I/O, never copying the payload).
pub fn drain_emit<M: Machine + ?Sized>(
    machine: &mut M,
    f: impl FnMut(Emit<M::Event>),
) -> Option<Instant> {
    let next = || match machine.poll_emit() {
        Emit::Output(Output::Timeout(deadline)) => Ok(deadline),
        out => Err(out),
    };
    drain_loop(usize::MAX, next, f).unwrap_or(None)
}

/// [`drain`] that gives up after `limit` outputs without a [`Output::Timeout`]: for test
/// harnesses, where a machine that never stops producing output must fail, not hang.
pub fn drain_bounded<M: Machine + ?Sized>(
    machine: &mut M,
    limit: usize,
    f: impl FnMut(Output<M::Event>),
) -> Result<Option<Instant>, Livelock> {
    let next = || match machine.poll_output() {
        Output::Timeout(deadline) => Ok(deadline),
        out => Err(out),
    };
    drain_loop(limit, next, f)
}

/// The one drain loop: `next` until it gives the deadline (`Ok`), everything else (`Err`) to
/// `f`, at most `limit` times.
#[inline]
fn drain_loop<T>(
    limit: usize,
    mut next: impl FnMut() -> Result<Option<Instant>, T>,
    mut f: impl FnMut(T),
) -> Result<Option<Instant>, Livelock> {
    for _ in 0..limit {
        match next() {
            Ok(deadline) => return Ok(deadline),
            Err(out) => f(out),
        }
    }
    Err(Livelock { outputs: limit })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outputs `n` events, then `Timeout(deadline)`; with `shared`, media as `Emit::Shared`.
    struct Counter {
        left: u32,
        deadline: Option<Instant>,
        shared: bool,
    }

    impl Machine for Counter {
        type Event = u32;
        fn handle_input(&mut self, _: Input<'_>) {}
        fn poll_output(&mut self) -> Output<u32> {
            if self.left == 0 {
                return Output::Timeout(self.deadline);
            }
            self.left -= 1;
            Output::Event(self.left)
        }
        fn poll_emit(&mut self) -> Emit<u32> {
            if self.shared && self.left % 2 == 1 {
                self.left -= 1;
                return Emit::Shared(SharedTransmit {
                    dest: Dest::Stream(ConnId(self.left.into())),
                    header: InlineHeader::default(),
                    body: Bytes::new(),
                    frame_start: true,
                });
            }
            Emit::Output(self.poll_output())
        }
    }

    fn counter(left: u32, shared: bool) -> (Counter, Instant) {
        #[allow(clippy::disallowed_methods, reason = "an arbitrary instant to compare")]
        let at = Instant::now();
        let m = Counter {
            left,
            deadline: Some(at),
            shared,
        };
        (m, at)
    }

    #[test]
    fn drain_hands_over_everything_before_the_timeout_in_order() {
        let (mut m, at) = counter(3, false);
        let mut seen = Vec::new();
        let d = drain(&mut m, |o| match o {
            Output::Event(e) => seen.push(e),
            other => panic!("unexpected {other:?}"),
        });
        assert_eq!((seen, d), (vec![2, 1, 0], Some(at)));
        // Drained: the next drain sees only the timeout.
        assert_eq!(drain(&mut m, |o| panic!("{o:?}")), Some(at));
    }

    #[test]
    fn drain_emit_passes_shared_packets_through() {
        let (mut m, at) = counter(4, true);
        let (mut shared, mut events) = (Vec::new(), Vec::new());
        let d = drain_emit(&mut m, |e| match e {
            Emit::Shared(t) => shared.push(t.dest),
            Emit::Output(Output::Event(e)) => events.push(e),
            Emit::Output(o) => panic!("unexpected {o:?}"),
        });
        assert_eq!(d, Some(at));
        assert_eq!(
            shared,
            vec![Dest::Stream(ConnId(2)), Dest::Stream(ConnId(0))]
        );
        assert_eq!(events, vec![3, 1]);
    }

    #[test]
    fn drain_bounded_fails_a_machine_that_never_stops() {
        let (mut m, at) = counter(5, false);
        let mut n = 0;
        assert_eq!(drain_bounded(&mut m, 6, |_| n += 1), Ok(Some(at)));
        assert_eq!(n, 5);
        let (mut m, _) = counter(5, false);
        let err = drain_bounded(&mut m, 5, |_| {}).unwrap_err();
        assert_eq!(err, Livelock { outputs: 5 });
        assert!(err.to_string().contains("livelock"));
    }
}
