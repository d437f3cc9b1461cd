//! The media cache of [`FsCatalog`](super::FsCatalog): loaded streams up to a byte budget
//! (least recently used evicted first), failures (until their file changes), the loads
//! running, and the built-in sample.

use std::collections::HashMap;
use std::fs::Metadata;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use rtsp_core::server::{LookupError, Media};

/// Failures and evicted entries kept at most (each is a name and a short text).
const MAX_SMALL_ENTRIES: usize = 1024;
/// How long a stream just loaded is spared by eviction when nobody has asked for it yet
/// (the requests waiting for it come back for it first; longer than the server's load
/// timeout).
const FRESH_GRACE: Duration = Duration::from_secs(60);

/// What a lookup answers.
type Answer = Result<Arc<Media>, LookupError>;

/// What identifies one version of a file: its length and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    pub(super) len: u64,
    pub(super) modified: Option<SystemTime>,
}

impl Stamp {
    pub(super) fn of(meta: &Metadata) -> Self {
        Self {
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

enum State {
    /// A loader thread is on it.
    Loading,
    /// Loaded, counted in the budget.
    Ready { media: Arc<Media>, cost: usize },
    /// Evicted from the budget; sessions may still play it.
    Evicted(Weak<Media>),
    /// The load failed; answered again until the file changes.
    Failed(LookupError),
    /// The built-in sample (no file, not counted).
    Sample(Arc<Media>),
}

struct Entry {
    stamp: Stamp,
    state: State,
    /// When the file was last checked (or loaded).
    checked: Instant,
    /// Least recently used: the smallest tick.
    used: u64,
    /// Loaded and not asked for since (spared by eviction for [`FRESH_GRACE`]).
    fresh: bool,
}

/// What an [`FsCatalog`](super::FsCatalog)'s cache holds (a snapshot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Streams loaded and counted in the budget.
    pub streams: usize,
    /// Their bytes (JPEG frames plus their RTP/JPEG payloads).
    pub bytes: usize,
    /// The budget ([`FsCatalog::with_cache_budget`](super::FsCatalog::with_cache_budget)).
    pub budget: usize,
    /// Failures remembered.
    pub failures: usize,
    /// Loads queued or running.
    pub loading: usize,
    /// Files read so far (loads started, synchronous ones included).
    pub reads: u64,
    /// Streams evicted so far to stay within the budget.
    pub evictions: u64,
}

/// The bytes a stream holds: its JPEG frames and their RTP/JPEG payloads (the frames split
/// from a file share the file's buffer, so this is about twice the file's size).
pub(super) fn media_cost(media: &Media) -> usize {
    (0..media.frame_count())
        .map(|i| {
            media.jpeg(i).map_or(0, |j| j.len())
                + media
                    .fragments(i)
                    .map_or(0, |f| f.iter().map(|p| p.len()).sum())
        })
        .sum()
}

/// Names to cache entries. Every method is quick: the catalog calls them on the event loop.
pub(super) struct MediaCache {
    entries: HashMap<String, Entry>,
    budget: usize,
    bytes: usize,
    streams: usize,
    tick: u64,
    loading: usize,
    small: usize,
    failures: usize,
    reads: u64,
    evictions: u64,
}

impl MediaCache {
    pub(super) fn new(budget: usize) -> Self {
        Self {
            entries: HashMap::new(),
            budget,
            bytes: 0,
            streams: 0,
            tick: 0,
            loading: 0,
            small: 0,
            failures: 0,
            reads: 0,
            evictions: 0,
        }
    }

    pub(super) fn set_budget(&mut self, budget: usize, now: Instant) {
        self.budget = budget;
        self.evict(now);
    }

    pub(super) fn stats(&self) -> CacheStats {
        CacheStats {
            streams: self.streams,
            bytes: self.bytes,
            budget: self.budget,
            failures: self.failures,
            loading: self.loading,
            reads: self.reads,
            evictions: self.evictions,
        }
    }

    /// Counts a file read.
    pub(super) fn read_started(&mut self) {
        self.reads += 1;
    }

    /// Loads queued or running.
    pub(super) fn loading(&self) -> usize {
        self.loading
    }

    /// The answer for `name` without touching the filesystem: a load running, or what was
    /// found less than `window` ago. `None`: check the file.
    pub(super) fn recent(&mut self, name: &str, now: Instant, window: Duration) -> Option<Answer> {
        let e = self.entries.get(name)?;
        if matches!(e.state, State::Loading) {
            return Some(Err(LookupError::Loading));
        }
        if now.saturating_duration_since(e.checked) >= window {
            return None;
        }
        self.answer(name, now)
    }

    /// The answer for `name` whose file is now `stamp`: what the cache has for that very
    /// version, or `None` (then nothing is cached for it any more).
    pub(super) fn confirm(&mut self, name: &str, stamp: Stamp, now: Instant) -> Option<Answer> {
        let e = self.entries.get_mut(name)?;
        match e.state {
            State::Loading => return Some(Err(LookupError::Loading)),
            State::Sample(_) => {}
            _ if e.stamp == stamp => {
                e.checked = now;
                if let Some(answer) = self.answer(name, now) {
                    return Some(answer);
                }
            }
            _ => {}
        }
        self.forget(name);
        None
    }

    /// The cached answer for `name` (marked used), reviving an evicted stream that is still
    /// alive. `None` (and the entry dropped) when an evicted stream is gone.
    fn answer(&mut self, name: &str, now: Instant) -> Option<Answer> {
        self.tick += 1;
        let tick = self.tick;
        let e = self.entries.get_mut(name)?;
        e.used = tick;
        e.fresh = false;
        let revived = match &e.state {
            State::Ready { media, .. } | State::Sample(media) => {
                return Some(Ok(Arc::clone(media)))
            }
            State::Failed(err) => return Some(Err(err.clone())),
            State::Loading => return Some(Err(LookupError::Loading)),
            State::Evicted(weak) => weak.upgrade(),
        };
        let Some(media) = revived else {
            self.forget(name);
            return None;
        };
        let cost = media_cost(&media);
        e.state = State::Ready {
            media: Arc::clone(&media),
            cost,
        };
        self.small -= 1;
        self.bytes += cost;
        self.streams += 1;
        self.evict(now);
        Some(Ok(media))
    }

    /// Remembers the built-in sample under `name`.
    pub(super) fn sample(&mut self, name: &str, media: Arc<Media>, now: Instant) {
        self.forget(name);
        self.entries.insert(
            name.to_string(),
            Entry {
                stamp: Stamp {
                    len: 0,
                    modified: None,
                },
                state: State::Sample(media),
                checked: now,
                used: self.tick,
                fresh: false,
            },
        );
    }

    /// Drops what is cached for `name` (not a load running).
    pub(super) fn forget(&mut self, name: &str) {
        if self
            .entries
            .get(name)
            .is_some_and(|e| matches!(e.state, State::Loading))
        {
            return;
        }
        if let Some(e) = self.entries.remove(name) {
            self.uncount(&e.state);
        }
    }

    fn uncount(&mut self, state: &State) {
        match state {
            State::Ready { cost, .. } => {
                self.bytes -= cost;
                self.streams -= 1;
            }
            State::Failed(_) => {
                self.small -= 1;
                self.failures -= 1;
            }
            State::Evicted(_) => self.small -= 1,
            State::Loading => self.loading -= 1,
            State::Sample(_) => {}
        }
    }

    /// Marks `name` (file version `stamp`) as loading.
    pub(super) fn start(&mut self, name: &str, stamp: Stamp, now: Instant) {
        self.forget(name);
        self.loading += 1;
        self.entries.insert(
            name.to_string(),
            Entry {
                stamp,
                state: State::Loading,
                checked: now,
                used: self.tick,
                fresh: false,
            },
        );
    }

    /// The end of the load of `name`: `stamp` is the version read (`None` when the file
    /// could not be read: nothing is remembered then). Failures are remembered when
    /// `remember_failure`.
    pub(super) fn finish(
        &mut self,
        name: &str,
        stamp: Option<Stamp>,
        result: Result<Arc<Media>, LookupError>,
        remember_failure: bool,
        now: Instant,
    ) {
        if let Some(e) = self.entries.remove(name) {
            self.uncount(&e.state);
        }
        let state = match (stamp, result) {
            (Some(_), Ok(media)) => {
                let cost = media_cost(&media);
                self.bytes += cost;
                self.streams += 1;
                State::Ready { media, cost }
            }
            (Some(_), Err(err)) if remember_failure => {
                self.small += 1;
                self.failures += 1;
                State::Failed(err)
            }
            _ => return,
        };
        self.tick += 1;
        let fresh = matches!(state, State::Ready { .. });
        self.entries.insert(
            name.to_string(),
            Entry {
                stamp: stamp.unwrap_or(Stamp {
                    len: 0,
                    modified: None,
                }),
                state,
                checked: now,
                used: self.tick,
                fresh,
            },
        );
        self.evict(now);
    }

    /// Evicts the least recently used streams while over the budget (sparing those just
    /// loaded that nobody has asked for yet), then bounds the small entries.
    fn evict(&mut self, now: Instant) {
        while self.bytes > self.budget {
            let victim = self
                .entries
                .iter()
                .filter(|(_, e)| matches!(e.state, State::Ready { .. }))
                .filter(|(_, e)| {
                    !(e.fresh && now.saturating_duration_since(e.checked) < FRESH_GRACE)
                })
                .min_by_key(|(_, e)| e.used)
                .map(|(n, _)| n.clone());
            let Some(name) = victim else { break };
            let Some(e) = self.entries.get_mut(&name) else {
                break;
            };
            if let State::Ready { media, cost } = &e.state {
                let (weak, cost) = (Arc::downgrade(media), *cost);
                e.state = State::Evicted(weak);
                self.bytes -= cost;
                self.streams -= 1;
                self.small += 1;
                self.evictions += 1;
                tracing::debug!(name, bytes = cost, "evicted from the media cache");
            }
        }
        if self.small > MAX_SMALL_ENTRIES {
            // Streams no session holds any more go first, then the oldest failures.
            self.entries.retain(|_, e| match &e.state {
                State::Evicted(w) => w.strong_count() > 0,
                _ => true,
            });
            self.recount_small();
            while self.small > MAX_SMALL_ENTRIES {
                let oldest = self
                    .entries
                    .iter()
                    .filter(|(_, e)| matches!(e.state, State::Failed(_) | State::Evicted(_)))
                    .min_by_key(|(_, e)| e.used)
                    .map(|(n, _)| n.clone());
                let Some(name) = oldest else { break };
                self.forget(&name);
            }
        }
    }

    fn recount_small(&mut self) {
        self.failures = self
            .entries
            .values()
            .filter(|e| matches!(e.state, State::Failed(_)))
            .count();
        self.small = self.failures
            + self
                .entries
                .values()
                .filter(|e| matches!(e.state, State::Evicted(_)))
                .count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(name: &str, frames: u32) -> Arc<Media> {
        let jpegs = mjpeg::testpattern::frames(frames, 64, 48);
        Arc::new(Media::from_jpegs(name, 25.0, jpegs, 1400).unwrap())
    }

    fn stamp(len: u64) -> Stamp {
        Stamp {
            len,
            modified: None,
        }
    }

    #[test]
    fn least_recently_used_goes_first_and_a_live_stream_comes_back() {
        let t = Instant::now();
        let a = media("a", 2);
        let cost = media_cost(&a);
        let mut c = MediaCache::new(2 * cost + cost / 2);
        for (n, m) in [("a", a.clone()), ("b", media("b", 2))] {
            c.start(n, stamp(1), t);
            c.finish(n, Some(stamp(1)), Ok(m), true, t);
        }
        // Both asked for once (no longer fresh), `a` first: `b` is the most recent.
        assert!(c.confirm("a", stamp(1), t).unwrap().is_ok());
        assert!(c.confirm("b", stamp(1), t).unwrap().is_ok());
        c.start("c", stamp(1), t);
        c.finish("c", Some(stamp(1)), Ok(media("c", 2)), true, t);
        let s = c.stats();
        assert_eq!((s.streams, s.bytes, s.evictions), (2, 2 * cost, 1));
        // `a` was evicted, but it is still alive here: it comes back without a load (and
        // `b`, now the least recently used, goes).
        let again = c.confirm("a", stamp(1), t).unwrap().unwrap();
        assert!(Arc::ptr_eq(&again, &a));
        assert_eq!(c.stats().evictions, 2);
        drop((a, again));
        // `b` is gone for good: checking it finds nothing.
        assert!(c.confirm("b", stamp(1), t).is_none());
    }

    #[test]
    fn a_stream_nobody_asked_for_yet_is_spared() {
        let t = Instant::now();
        let mut c = MediaCache::new(1);
        c.start("a", stamp(1), t);
        c.finish("a", Some(stamp(1)), Ok(media("a", 1)), true, t);
        assert_eq!(c.stats().streams, 1);
        // Once asked for, the next load evicts it; the newcomer stays until asked for.
        assert!(c.recent("a", t, Duration::from_secs(1)).unwrap().is_ok());
        c.start("b", stamp(1), t);
        c.finish("b", Some(stamp(1)), Ok(media("b", 1)), true, t);
        let s = c.stats();
        assert_eq!((s.streams, s.evictions), (1, 1));
        // After the grace period even an unclaimed stream goes.
        c.set_budget(1, t + FRESH_GRACE);
        assert_eq!(c.stats().streams, 0);
    }

    #[test]
    fn failures_are_remembered_per_version_and_bounded() {
        let t = Instant::now();
        let mut c = MediaCache::new(0);
        let bad = LookupError::Invalid("x".into());
        c.start("x", stamp(5), t);
        assert_eq!(c.loading(), 1);
        assert_eq!(
            c.recent("x", t, Duration::ZERO).and_then(Result::err),
            Some(LookupError::Loading)
        );
        c.finish("x", Some(stamp(5)), Err(bad.clone()), true, t);
        assert_eq!(c.loading(), 0);
        assert_eq!(c.confirm("x", stamp(5), t).and_then(Result::err), Some(bad));
        assert!(c.confirm("x", stamp(6), t).is_none());
        assert_eq!(c.stats().failures, 0);
        // Unreadable files (no version) and unremembered failures leave nothing.
        c.start("y", stamp(1), t);
        c.finish("y", None, Err(LookupError::NotFound), true, t);
        c.start("z", stamp(1), t);
        c.finish("z", Some(stamp(1)), Err(LookupError::NotFound), false, t);
        assert!(c.entries.is_empty());
        for i in 0..MAX_SMALL_ENTRIES + 10 {
            let n = format!("f{i}");
            c.start(&n, stamp(1), t);
            c.finish(&n, Some(stamp(1)), Err(LookupError::Forbidden), true, t);
        }
        assert_eq!(c.stats().failures, MAX_SMALL_ENTRIES);
        // The oldest went.
        assert!(c.confirm("f0", stamp(1), t).is_none());
        assert!(c.confirm("f100", stamp(1), t).is_some());
    }
}
