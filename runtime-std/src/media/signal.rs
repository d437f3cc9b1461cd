//! [`LoadSignal`]: how the loader threads of an [`FsCatalog`](super::FsCatalog) tell the rest
//! of the process that a load ended (the catalog's generation, callbacks, blocking waits).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A callback run after each load ends; it returns `false` to be removed (its runtime ended).
type LoadedFn = dyn Fn() -> bool + Send + Sync;

#[derive(Default)]
struct Inner {
    generation: AtomicU64,
    /// Pairs with `changed` for [`LoadSignal::wait_past`].
    lock: Mutex<()>,
    changed: Condvar,
    notifiers: Mutex<Vec<Box<LoadedFn>>>,
    /// Threads in [`LoadSignal::wait_past`].
    waiters: AtomicUsize,
    /// Whether the "nobody is woken" warning was logged.
    warned: AtomicBool,
}

/// What a catalog's loads look like from other threads: a generation number that moves when
/// a load ends (the [`Catalog::generation`](rtsp_core::server::Catalog::generation) of
/// [`FsCatalog`](super::FsCatalog), read without any lock), callbacks that wake the event
/// loops, and a blocking wait for tools and tests. Clones share one signal.
#[derive(Clone, Default)]
pub struct LoadSignal(Arc<Inner>);

impl std::fmt::Debug for LoadSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadSignal")
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl LoadSignal {
    /// A signal no load has moved yet (generation 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of loads ended so far.
    pub fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::SeqCst)
    }

    /// Registers `f`, called on the loader thread after every load ends (its result is in
    /// the cache by then). It must be quick (e.g. queue a command for an event loop) and must
    /// not call back into this signal; it returns `false` to be dropped.
    pub fn on_loaded(&self, f: impl Fn() -> bool + Send + Sync + 'static) {
        self.0
            .notifiers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(f));
    }

    /// Announces that a load ended: moves the generation, wakes [`LoadSignal::wait_past`]
    /// and runs the callbacks. Call it after the result is visible to lookups.
    pub fn loaded(&self) {
        {
            let _g = self.0.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.0.generation.fetch_add(1, Ordering::SeqCst);
        }
        self.0.changed.notify_all();
        let mut notifiers = self.0.notifiers.lock().unwrap_or_else(|e| e.into_inner());
        notifiers.retain(|f| f());
        if notifiers.is_empty()
            && self.0.waiters.load(Ordering::SeqCst) == 0
            && !self.0.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                "a media load ended but no event loop is told: requests waiting for it are \
                 answered only at their load timeout (serve an FsCatalog with ServerOptions::fs, \
                 or register LoadSignal::on_loaded)"
            );
        }
    }

    /// Blocks until the generation differs from `seen` or `timeout` passes; returns the
    /// generation then. Not for event loops.
    pub fn wait_past(&self, seen: u64, timeout: Duration) -> u64 {
        let until = Instant::now() + timeout;
        self.0.waiters.fetch_add(1, Ordering::SeqCst);
        let mut g = self.0.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = self.generation();
            let left = until.saturating_duration_since(Instant::now());
            if now != seen || left.is_zero() {
                drop(g);
                self.0.waiters.fetch_sub(1, Ordering::SeqCst);
                return now;
            }
            g = self
                .0
                .changed
                .wait_timeout(g, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn callbacks_run_per_load_until_they_ask_to_go() {
        let s = LoadSignal::new();
        let (tx, rx) = mpsc::channel();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        s.on_loaded(move || tx.send(()).is_ok());
        s.on_loaded(move || c.fetch_add(1, Ordering::SeqCst) == 0);
        s.loaded();
        s.loaded();
        s.loaded();
        assert_eq!(s.generation(), 3);
        assert_eq!(rx.try_iter().count(), 3);
        // The second asked to go after its first call.
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        drop(rx);
        s.loaded();
        assert!(s.0.notifiers.lock().unwrap().is_empty());
    }

    #[test]
    fn wait_past_returns_when_the_generation_moves_or_at_its_timeout() {
        let s = LoadSignal::new();
        assert_eq!(s.wait_past(0, Duration::from_millis(1)), 0);
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.wait_past(0, Duration::from_secs(30)));
        // Announce until the waiter has seen it (it may not be waiting yet: that is fine).
        s.loaded();
        assert_eq!(t.join().unwrap(), 1);
        assert_eq!(s.wait_past(0, Duration::from_secs(30)), 1);
    }
}
