//! [`LivePaths`]: the live streams of a server, shared by all its event loops and by the
//! threads that pull sources — which names are live, what DESCRIBE says of them, who
//! publishes them, who reads them and when someone last asked for them.

use super::live_clock::LiveClock;
use super::media::Media;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Where a live path's frames come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveSource {
    /// Clients publish it (ANNOUNCE, SETUP with `mode=record`, RECORD). `replace`: a new
    /// publisher takes the place of the current one, instead of being refused.
    Publisher {
        /// Whether a second publisher replaces the first.
        replace: bool,
    },
    /// The application pulls it (from a camera, another server, a command) and hands its
    /// frames to every event loop ([`Server::push_frame`](super::Server::push_frame)).
    /// `on_demand`: it only runs while someone asks for it ([`LivePaths::wanted`]).
    Pulled {
        /// Whether the source is started only when readers want it.
        on_demand: bool,
    },
}

/// What [`LivePaths::lookup`] found for a name.
#[derive(Debug, Clone)]
pub enum LiveLookup {
    /// Not a live path: the catalog's business.
    NotLive,
    /// A live path with frames: its description.
    Ready(Arc<Media>),
    /// A live path whose source is starting or has a publisher but no frame yet: wait.
    Starting,
    /// A published path that nobody publishes (and never did since the server started).
    NoPublisher,
}

/// Why a client may not publish a path ([`LivePaths::claim`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PublishRefusal {
    /// The path is not configured for publishing.
    #[error("not a path clients may publish")]
    NotPublishable,
    /// Someone publishes it already (and the path does not replace publishers).
    #[error("someone publishes this path already")]
    Busy,
}

/// The state of one live path, for listings and metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct LivePathStatus {
    /// The path name.
    pub name: String,
    /// Where its frames come from.
    pub source: LiveSource,
    /// Whether it has had a frame (and so can be described).
    pub has_media: bool,
    /// The session id of its publisher, if published now.
    pub publisher: Option<String>,
    /// Sessions reading it, in every event loop.
    pub readers: usize,
    /// Frames it has had.
    pub frames: u64,
    /// Width and height of its last frame.
    pub size: Option<(u16, u16)>,
}

/// The live paths, shared: clones are handles to the same registry. Give the same one to
/// every event loop's [`ServerConfig::live`](super::ServerConfig::live) and to whatever
/// pulls sources. Nothing here blocks but a short mutex, and nothing reads the clock: times
/// come from the callers.
#[derive(Clone, Default)]
pub struct LivePaths(Arc<Mutex<Registry>>);

#[derive(Default)]
struct Registry {
    paths: BTreeMap<String, Entry>,
    /// Bumped whenever a path gets its description (or loses it): requests waiting for a
    /// live path look again.
    generation: u64,
    /// Source runs (publishers, reconnections), numbered for [`LiveClock`].
    next_epoch: u64,
}

struct Entry {
    source: LiveSource,
    media: Option<Arc<Media>>,
    publisher: Option<String>,
    readers: usize,
    /// When a reader last asked for it (DESCRIBE, SETUP, or still reading).
    wanted_at: Option<Instant>,
    clock: LiveClock,
    frames: u64,
    size: Option<(u16, u16)>,
}

impl std::fmt::Debug for LivePaths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LivePaths")
            .field("paths", &self.lock().paths.len())
            .finish_non_exhaustive()
    }
}

impl LivePaths {
    /// No live paths.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Declares (or re-declares) the live path `name`. Its description, if it had one, stays.
    pub fn add(&self, name: &str, source: LiveSource) {
        let mut r = self.lock();
        match r.paths.get_mut(name) {
            Some(e) => e.source = source,
            None => {
                r.paths.insert(
                    name.to_string(),
                    Entry {
                        source,
                        media: None,
                        publisher: None,
                        readers: 0,
                        wanted_at: None,
                        clock: LiveClock::new(),
                        frames: 0,
                        size: None,
                    },
                );
            }
        }
    }

    /// Whether `name` is a live path.
    pub fn contains(&self, name: &str) -> bool {
        self.lock().paths.contains_key(name)
    }

    /// Where `name`'s frames come from, if it is live.
    pub fn source(&self, name: &str) -> Option<LiveSource> {
        self.lock().paths.get(name).map(|e| e.source)
    }

    /// What a reader asking for `name` at `now` gets (and a note that it was wanted then).
    pub fn lookup(&self, name: &str, now: Instant) -> LiveLookup {
        let mut r = self.lock();
        let Some(e) = r.paths.get_mut(name) else {
            return LiveLookup::NotLive;
        };
        e.wanted_at = Some(now);
        match (&e.media, e.source) {
            (Some(m), _) => LiveLookup::Ready(Arc::clone(m)),
            (None, LiveSource::Publisher { .. }) if e.publisher.is_none() => {
                LiveLookup::NoPublisher
            }
            (None, _) => LiveLookup::Starting,
        }
    }

    /// A number that changes whenever a live path gets its first frame: requests waiting
    /// for one look again.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Makes `session` the publisher of `name`. Returns the session it replaced, if the path
    /// replaces publishers and had one (its owner should end it).
    pub fn claim(&self, name: &str, session: &str) -> Result<Option<String>, PublishRefusal> {
        let mut r = self.lock();
        let e = r
            .paths
            .get_mut(name)
            .ok_or(PublishRefusal::NotPublishable)?;
        let LiveSource::Publisher { replace } = e.source else {
            return Err(PublishRefusal::NotPublishable);
        };
        match &e.publisher {
            Some(old) if old == session => Ok(None),
            Some(_) if !replace => Err(PublishRefusal::Busy),
            _ => Ok(e.publisher.replace(session.to_string())),
        }
    }

    /// Whether a new publisher could claim `name` now (ANNOUNCE asks before SETUP claims).
    pub fn may_publish(&self, name: &str) -> Result<(), PublishRefusal> {
        let r = self.lock();
        let e = r.paths.get(name).ok_or(PublishRefusal::NotPublishable)?;
        match e.source {
            LiveSource::Publisher { replace } if replace || e.publisher.is_none() => Ok(()),
            LiveSource::Publisher { .. } => Err(PublishRefusal::Busy),
            LiveSource::Pulled { .. } => Err(PublishRefusal::NotPublishable),
        }
    }

    /// `session` stops publishing `name` (if it still does). Readers keep the description.
    pub fn release(&self, name: &str, session: &str) {
        let mut r = self.lock();
        if let Some(e) = r.paths.get_mut(name) {
            if e.publisher.as_deref() == Some(session) {
                e.publisher = None;
            }
        }
    }

    /// The session that publishes `name`, if any.
    pub fn publisher(&self, name: &str) -> Option<String> {
        self.lock().paths.get(name)?.publisher.clone()
    }

    /// A number for a new run of a source (a publisher, a pull that reconnected): what
    /// [`LivePaths::stamp`] takes as `epoch`.
    pub fn new_epoch(&self) -> u64 {
        let mut r = self.lock();
        r.next_epoch += 1;
        r.next_epoch
    }

    /// The time of a frame of `name` on its timeline ([`LiveClock::stamp`]).
    pub fn stamp(&self, name: &str, epoch: u64, rtp: Option<u32>, now: Instant) -> u64 {
        let mut r = self.lock();
        match r.paths.get_mut(name) {
            Some(e) => e.clock.stamp(epoch, rtp, now),
            None => 0,
        }
    }

    /// A frame of `name` arrived, `width` × `height`. `describe`: builds the description
    /// from it when the path has none yet, or when the frame's size changed (called with
    /// the lock held: keep it quick). Returns whether the description changed.
    pub fn frame(
        &self,
        name: &str,
        size: (u16, u16),
        describe: impl FnOnce() -> Option<Media>,
    ) -> bool {
        let mut r = self.lock();
        let Some(e) = r.paths.get_mut(name) else {
            return false;
        };
        e.frames += 1;
        let changed = e.media.is_none() || e.size != Some(size);
        e.size = Some(size);
        if !changed {
            return false;
        }
        let Some(media) = describe() else {
            return false;
        };
        e.media = Some(Arc::new(media));
        r.generation += 1;
        true
    }

    /// A reader of `name` was set up (`true`) or ended (`false`), at `now`.
    pub fn reader(&self, name: &str, added: bool, now: Instant) {
        let mut r = self.lock();
        if let Some(e) = r.paths.get_mut(name) {
            if added {
                e.readers += 1;
            } else {
                e.readers = e.readers.saturating_sub(1);
            }
            e.wanted_at = Some(now);
        }
    }

    /// Sessions reading `name`, in every event loop.
    pub fn readers(&self, name: &str) -> usize {
        self.lock().paths.get(name).map_or(0, |e| e.readers)
    }

    /// Whether the source of `name` should run at `now`: always, unless it is on demand;
    /// then while it has readers, and for `linger` after the last one left or the last
    /// DESCRIBE asked.
    pub fn wanted(&self, name: &str, now: Instant, linger: std::time::Duration) -> bool {
        let r = self.lock();
        let Some(e) = r.paths.get(name) else {
            return false;
        };
        match e.source {
            LiveSource::Pulled { on_demand: true } => {
                e.readers > 0
                    || e.wanted_at
                        .is_some_and(|t| now.saturating_duration_since(t) < linger)
            }
            _ => true,
        }
    }

    /// Every live path's state, by name.
    pub fn status(&self) -> Vec<LivePathStatus> {
        self.lock()
            .paths
            .iter()
            .map(|(name, e)| LivePathStatus {
                name: name.clone(),
                source: e.source,
                has_media: e.media.is_some(),
                publisher: e.publisher.clone(),
                readers: e.readers,
                frames: e.frames,
                size: e.size,
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, reason = "the epoch of virtual time")]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn one_publisher_per_path_unless_it_replaces() {
        let live = LivePaths::new();
        live.add("cam", LiveSource::Publisher { replace: false });
        live.add("relay", LiveSource::Pulled { on_demand: false });
        assert_eq!(live.claim("nope", "1"), Err(PublishRefusal::NotPublishable));
        assert_eq!(
            live.claim("relay", "1"),
            Err(PublishRefusal::NotPublishable)
        );
        assert_eq!(live.may_publish("cam"), Ok(()));
        assert_eq!(live.claim("cam", "1"), Ok(None));
        assert_eq!(live.may_publish("cam"), Err(PublishRefusal::Busy));
        assert_eq!(live.claim("cam", "2"), Err(PublishRefusal::Busy));
        // Only the publisher can let go.
        live.release("cam", "2");
        assert_eq!(live.publisher("cam").as_deref(), Some("1"));
        live.release("cam", "1");
        assert_eq!(live.claim("cam", "2"), Ok(None));

        live.add("cam", LiveSource::Publisher { replace: true });
        assert_eq!(live.claim("cam", "3"), Ok(Some("2".to_string())));
        assert_eq!(live.publisher("cam").as_deref(), Some("3"));
    }

    #[test]
    fn lookups_say_what_a_reader_gets() {
        let t0 = Instant::now();
        let live = LivePaths::new();
        live.add("cam", LiveSource::Publisher { replace: false });
        live.add("relay", LiveSource::Pulled { on_demand: true });
        assert!(matches!(live.lookup("file.mjpeg", t0), LiveLookup::NotLive));
        assert!(matches!(live.lookup("cam", t0), LiveLookup::NoPublisher));
        assert!(matches!(live.lookup("relay", t0), LiveLookup::Starting));
        live.claim("cam", "1").unwrap();
        assert!(matches!(live.lookup("cam", t0), LiveLookup::Starting));
        let g = live.generation();
        let frame = mjpeg::testpattern::frames(1, 32, 16).remove(0);
        let lf = super::super::LiveFrame::from_jpeg(frame, 0, 1400).unwrap();
        let describe = || Media::live("cam", 25.0, &lf).ok();
        assert!(live.frame("cam", (32, 16), describe));
        assert_ne!(live.generation(), g);
        // The same size again: nothing to describe anew.
        assert!(!live.frame("cam", (32, 16), || panic!("described twice")));
        let LiveLookup::Ready(m) = live.lookup("cam", t0) else {
            panic!("not ready");
        };
        assert!(m.is_live());
        // The publisher leaves: the description stays for the readers.
        live.release("cam", "1");
        assert!(matches!(live.lookup("cam", t0), LiveLookup::Ready(_)));
        let s = &live.status()[0];
        assert_eq!(
            (s.name.as_str(), s.frames, s.size),
            ("cam", 2, Some((32, 16)))
        );
    }

    #[test]
    fn on_demand_sources_run_while_wanted() {
        let t0 = Instant::now();
        let linger = Duration::from_secs(10);
        let live = LivePaths::new();
        live.add("relay", LiveSource::Pulled { on_demand: true });
        live.add("always", LiveSource::Pulled { on_demand: false });
        assert!(live.wanted("always", t0, linger));
        assert!(!live.wanted("relay", t0, linger));
        live.lookup("relay", t0);
        assert!(live.wanted("relay", t0 + Duration::from_secs(9), linger));
        assert!(!live.wanted("relay", t0 + Duration::from_secs(10), linger));
        live.reader("relay", true, t0);
        assert!(live.wanted("relay", t0 + Duration::from_secs(60), linger));
        live.reader("relay", false, t0 + Duration::from_secs(60));
        assert_eq!(live.readers("relay"), 0);
        assert!(live.wanted("relay", t0 + Duration::from_secs(69), linger));
        assert!(!live.wanted("relay", t0 + Duration::from_secs(70), linger));
    }
}
