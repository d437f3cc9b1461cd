//! What both runtimes' drivers do around a drain (runtime-mio uses it too): after an input,
//! drain the machine, feed the inputs the runtime made up itself, hand the events to the
//! application one by one (draining after each); keep input times monotonic; never spin on a
//! deadline that has passed.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rtsp_core::io::{ConnId, Input, Machine};

use crate::common::Flow;

/// An input a runtime makes up itself and feeds after a drain: a connection it opened
/// (`connect_tcp`) or dropped (write failure, queue over its cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generated {
    /// [`Input::Connected`] for a connection the runtime opened.
    Connected {
        /// The connection.
        conn: ConnId,
        /// Its peer.
        peer: SocketAddr,
    },
    /// [`Input::StreamClosed`] for a connection the runtime dropped.
    Closed(ConnId),
}

impl Generated {
    /// The input, at `now`.
    pub fn input(self, now: Instant) -> Input<'static> {
        match self {
            Self::Connected { conn, peer } => Input::Connected { now, conn, peer },
            Self::Closed(conn) => Input::StreamClosed { now, conn },
        }
    }
}

/// Where a driver writes a machine's outputs (its sockets and queues, apart from the machine).
pub trait Outputs<M: Machine> {
    /// Drains `machine` once ([`rtsp_core::io::drain`] or [`rtsp_core::io::drain_emit`]):
    /// writes or queues its transmits, closes, pushes its events onto `events`, and returns
    /// its deadline.
    fn drain_once(&mut self, machine: &mut M, events: &mut VecDeque<M::Event>) -> Option<Instant>;
    /// The next input the runtime made up itself, if any.
    fn generated(&mut self) -> Option<Generated>;
}

/// Times for inputs, kept monotonic although they are read (or stamped by reader threads) at
/// different places.
#[derive(Debug, Clone, Copy)]
pub struct InputClock {
    last: Instant,
}

impl InputClock {
    /// A clock that starts at `start`.
    pub fn new(start: Instant) -> Self {
        Self { last: start }
    }

    /// `t`, or the latest time handed out if that is later.
    pub fn at(&mut self, t: Instant) -> Instant {
        self.last = t.max(self.last);
        self.last
    }

    /// [`InputClock::at`] the current time.
    pub fn now(&mut self) -> Instant {
        self.at(Instant::now())
    }
}

/// The drain that follows every input: drain, then feed one input the runtime made up (and
/// drain again), or else hand one event to `on_event` (which may call the machine; drain
/// again), until there is neither. Returns the machine's deadline and whether `on_event` asked
/// to stop.
pub fn settle<M: Machine, O: Outputs<M>>(
    machine: &mut M,
    outputs: &mut O,
    clock: &mut InputClock,
    on_event: &mut impl FnMut(&mut M, M::Event) -> Flow,
) -> (Option<Instant>, bool) {
    let mut events = VecDeque::new();
    let mut stop = false;
    loop {
        let deadline = outputs.drain_once(machine, &mut events);
        if let Some(g) = outputs.generated() {
            machine.handle_input(g.input(clock.now()));
            continue;
        }
        match events.pop_front() {
            Some(e) => stop |= on_event(machine, e) == Flow::Stop,
            None => return (deadline, stop),
        }
    }
}

/// The deadline to wait for after feeding `Input::Timeout(now)`: a machine that answers with
/// a deadline not after `now` would make the loop spin, so it gets `now + 1 ms`.
pub fn deadline_after_timeout(deadline: Option<Instant>, now: Instant) -> Option<Instant> {
    match deadline {
        Some(d) if d <= now => {
            tracing::trace!("machine returned an expired deadline after Timeout");
            Some(now + Duration::from_millis(1))
        }
        d => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtsp_core::io::{drain, Output};

    /// Each input queues one event `n` (and `n` more outputs); counts what it was fed.
    #[derive(Default)]
    struct Probe {
        queued: VecDeque<u32>,
        inputs: Vec<String>,
    }

    impl Machine for Probe {
        type Event = u32;
        fn handle_input(&mut self, input: Input<'_>) {
            self.inputs
                .push(format!("{input:?}").split(' ').next().unwrap_or("").into());
        }
        fn poll_output(&mut self) -> Output<u32> {
            match self.queued.pop_front() {
                Some(n) => Output::Event(n),
                None => Output::Timeout(None),
            }
        }
    }

    struct Sink {
        generated: VecDeque<Generated>,
        drains: u32,
    }

    impl Outputs<Probe> for Sink {
        fn drain_once(&mut self, m: &mut Probe, events: &mut VecDeque<u32>) -> Option<Instant> {
            self.drains += 1;
            drain(m, |o| {
                if let Output::Event(e) = o {
                    events.push_back(e);
                }
            })
        }
        fn generated(&mut self) -> Option<Generated> {
            self.generated.pop_front()
        }
    }

    #[test]
    fn generated_inputs_go_first_then_events_one_by_one() {
        let mut m = Probe::default();
        m.queued.extend([1, 2]);
        let peer = "127.0.0.1:1".parse().unwrap();
        let mut sink = Sink {
            generated: VecDeque::from([
                Generated::Closed(ConnId(3)),
                Generated::Connected {
                    conn: ConnId(4),
                    peer,
                },
            ]),
            drains: 0,
        };
        let mut clock = InputClock::new(Instant::now());
        let mut seen = Vec::new();
        let (deadline, stop) = settle(&mut m, &mut sink, &mut clock, &mut |m, e| {
            seen.push((e, m.inputs.len()));
            if e == 1 {
                m.queued.push_back(7); // an event handler that calls the machine
            }
            if e == 7 {
                Flow::Stop
            } else {
                Flow::Continue
            }
        });
        assert_eq!(m.inputs, vec!["StreamClosed", "Connected"]);
        // Both generated inputs were fed before any event was handed out; 7 came from the
        // handler of 1, after 2 (events queue in order).
        assert_eq!(seen, vec![(1, 2), (2, 2), (7, 2)]);
        assert_eq!((deadline, stop), (None, true));
        // One drain per generated input, per event handled, and the first.
        assert_eq!(sink.drains, 6);
    }

    #[test]
    fn clock_never_goes_back_and_deadlines_never_spin() {
        let t0 = Instant::now();
        let mut c = InputClock::new(t0 + Duration::from_secs(1));
        assert_eq!(c.at(t0), t0 + Duration::from_secs(1));
        assert_eq!(
            c.at(t0 + Duration::from_secs(2)),
            t0 + Duration::from_secs(2)
        );
        assert!(c.now() >= t0 + Duration::from_secs(2));
        let later = t0 + Duration::from_secs(5);
        assert_eq!(deadline_after_timeout(Some(later), t0), Some(later));
        assert_eq!(deadline_after_timeout(None, t0), None);
        assert_eq!(
            deadline_after_timeout(Some(t0), t0),
            Some(t0 + Duration::from_millis(1))
        );
    }
}
