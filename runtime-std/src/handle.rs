//! [`Handle`]: how other threads reach a running runtime. Both runtimes hand out this type.

use std::sync::Arc;

use crate::common::{Command, RuntimeHandle, RuntimeStats, SharedStats};

/// What a [`Handle`] asks of its runtime.
pub enum Control<M> {
    /// Run this with the machine on the runtime's thread, then drain the machine.
    Command(Command<M>),
    /// Stop once the controls sent before have been handled.
    Stop,
}

impl<M> std::fmt::Debug for Control<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Command(_) => f.write_str("Command(..)"),
            Self::Stop => f.write_str("Stop"),
        }
    }
}

/// Passes a [`Control`] to a runtime's thread (queues it and wakes the thread); `false` once
/// the runtime has ended.
type SendControl<M> = dyn Fn(Control<M>) -> bool + Send + Sync;

/// A cloneable, thread-safe handle to a running runtime: send it commands, stop it, read its
/// counters.
pub struct Handle<M> {
    send: Arc<SendControl<M>>,
    stats: Arc<SharedStats>,
}

impl<M> Clone for Handle<M> {
    fn clone(&self) -> Self {
        Self {
            send: Arc::clone(&self.send),
            stats: Arc::clone(&self.stats),
        }
    }
}

impl<M> std::fmt::Debug for Handle<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

impl<M> Handle<M> {
    /// A handle whose controls go through `send` (for runtime implementations: queue the
    /// control for the runtime's thread and wake it; return `false` if the runtime has ended)
    /// and whose counters are `stats`.
    pub fn new(
        send: impl Fn(Control<M>) -> bool + Send + Sync + 'static,
        stats: Arc<SharedStats>,
    ) -> Self {
        Self {
            send: Arc::new(send),
            stats,
        }
    }

    /// Runs `f` on the runtime's thread with the machine, followed by a full drain of its
    /// outputs. Returns `false` if the runtime has already ended.
    pub fn command(&self, f: impl FnOnce(&mut M) + Send + 'static) -> bool {
        (self.send)(Control::Command(Box::new(f)))
    }

    /// Asks the runtime to stop after the controls already sent (commands sent before this
    /// call still run); its `run` then returns the machine. runtime-mio first gives output
    /// queued for control connections up to a second to drain.
    pub fn stop(&self) {
        (self.send)(Control::Stop);
    }

    /// A snapshot of the runtime's I/O counters.
    pub fn stats(&self) -> RuntimeStats {
        self.stats.snapshot()
    }
}

impl<M: 'static> RuntimeHandle<M> for Handle<M> {
    fn command(&self, f: Command<M>) -> bool {
        (self.send)(Control::Command(f))
    }
    fn stop(&self) {
        Self::stop(self);
    }
    fn stats(&self) -> RuntimeStats {
        Self::stats(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn controls_reach_the_sender_in_order() {
        let (tx, rx) = mpsc::channel::<Control<u32>>();
        let stats = Arc::new(SharedStats::default());
        stats.udp_sent();
        let h = Handle::new(move |c| tx.send(c).is_ok(), Arc::clone(&stats));
        let h2 = h.clone();
        assert!(h.command(|m| *m += 1));
        h2.stop();
        assert_eq!(h2.stats().udp_sent, 1);
        let mut m = 1;
        match rx.recv().unwrap() {
            Control::Command(f) => f(&mut m),
            Control::Stop => panic!("stop first"),
        }
        assert_eq!(m, 2);
        assert!(matches!(rx.recv().unwrap(), Control::Stop));
        drop(rx);
        assert!(!RuntimeHandle::command(&h, Box::new(|_: &mut u32| {})));
    }
}
