//! [`StopSignal`]: how a source's thread learns that it must stop, and how a blocked call of
//! that thread is woken.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Run by [`StopSignal::stop`] to unblock the source's thread (shut a socket down, kill a
/// child, stop a runtime). It runs with the signal's lock held, so it must be quick and must
/// not touch the signal.
pub(super) type StopHook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Inner {
    stopped: bool,
    hook: Option<StopHook>,
}

/// A one-way stop flag with a wait that a stop interrupts, and an optional hook that wakes
/// whatever the source's thread is blocked in.
#[derive(Default)]
pub(super) struct StopSignal {
    inner: Mutex<Inner>,
    cv: Condvar,
}

impl std::fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopSignal")
            .field("stopped", &self.is_stopped())
            .finish_non_exhaustive()
    }
}

impl StopSignal {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the flag (once), runs the hook, wakes [`StopSignal::wait`].
    pub(super) fn stop(&self) {
        let mut inner = self.lock();
        if inner.stopped {
            return;
        }
        inner.stopped = true;
        if let Some(hook) = inner.hook.take() {
            hook();
        }
        drop(inner);
        self.cv.notify_all();
    }

    /// Whether [`StopSignal::stop`] was called.
    pub(super) fn is_stopped(&self) -> bool {
        self.lock().stopped
    }

    /// Waits `timeout` unless a stop comes first. Returns whether the source must stop.
    pub(super) fn wait(&self, timeout: Duration) -> bool {
        let inner = self.lock();
        let (inner, _) = self
            .cv
            .wait_timeout_while(inner, timeout, |i| !i.stopped)
            .unwrap_or_else(PoisonError::into_inner);
        inner.stopped
    }

    /// Runs `hook` at stop, as long as the returned guard lives. `None` (and the hook is not
    /// run) when the stop already came.
    pub(super) fn on_stop(&self, hook: StopHook) -> Option<HookGuard<'_>> {
        let mut inner = self.lock();
        if inner.stopped {
            return None;
        }
        inner.hook = Some(hook);
        Some(HookGuard { signal: self })
    }
}

/// Removes the hook when dropped. A hook running at that moment finishes first (it holds the
/// lock), so after the drop it can no longer act on what it was given (e.g. a process id that
/// is about to be reaped).
#[must_use = "the hook is removed when the guard is dropped"]
pub(super) struct HookGuard<'a> {
    signal: &'a StopSignal,
}

impl Drop for HookGuard<'_> {
    fn drop(&mut self) {
        self.signal.lock().hook = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn stop_runs_the_hook_once_and_later_hooks_are_refused() {
        let s = StopSignal::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let guard = s.on_stop(Box::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
        }));
        assert!(guard.is_some());
        s.stop();
        s.stop();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        drop(guard);
        assert!(s.on_stop(Box::new(|| panic!("must not run"))).is_none());
        assert!(s.is_stopped());
    }

    #[test]
    fn a_dropped_guard_removes_the_hook() {
        let s = StopSignal::default();
        drop(s.on_stop(Box::new(|| panic!("removed before the stop"))));
        s.stop();
    }

    #[test]
    fn wait_returns_at_once_after_a_stop_from_another_thread() {
        let s = Arc::new(StopSignal::default());
        assert!(!s.wait(Duration::ZERO));
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.wait(Duration::from_secs(60)));
        s.stop();
        assert!(t.join().unwrap());
    }
}
