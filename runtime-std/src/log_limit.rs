//! Flood control for log lines: [`LogLimiter`], a token bucket per (kind of line, peer IP)
//! plus one shared by every peer, and [`Suppressed`], the summary of what it held back.
//!
//! A client that sends a million bad requests must not write a million log lines: each
//! (kind, peer) may log a burst, then a few lines a second; all peers together are capped as
//! well. What is dropped is counted and reported later in one line per (kind, peer):
//! `suppressed 12345 similar lines (request refused) from 127.0.0.5 in the last 10 s`.
//! The first lines of every kind from every peer always pass, and so do lines about the
//! server itself (no peer): those are limited per kind only, never crowded out by peers.
//!
//! No clock is read here: every call takes `now`, so the limiter runs on virtual time in
//! tests.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How many lines a [`LogLimiter`] lets through, and how often it reports the rest.
#[derive(Debug, Clone)]
pub struct LogLimitConfig {
    /// Lines one (kind, peer) may log at once.
    pub burst: u32,
    /// Once its burst is spent, one (kind, peer) may log a line every this long.
    pub every: Duration,
    /// Lines every peer together may log at once.
    pub global_burst: u32,
    /// Once that burst is spent, every peer together may log a line every this long.
    pub global_every: Duration,
    /// How often the counts of suppressed lines are reported (at most).
    pub report_every: Duration,
    /// Most (kind, peer) pairs followed at once; lines from further peers share one bucket
    /// per kind.
    pub max_keys: usize,
    /// Most summary lines per report; the rest are added up in one more.
    pub max_summaries: usize,
}

impl Default for LogLimitConfig {
    fn default() -> Self {
        Self {
            burst: 10,
            every: Duration::from_millis(500),
            global_burst: 200,
            global_every: Duration::from_millis(20),
            report_every: Duration::from_secs(10),
            max_keys: 4096,
            max_summaries: 10,
        }
    }
}

/// Whose lines a summary counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// One peer.
    Peer(IpAddr),
    /// The server itself (lines without a peer).
    Server,
    /// This many peers together (those beyond [`LogLimitConfig::max_summaries`] in one
    /// report).
    Peers(usize),
    /// Peers beyond [`LogLimitConfig::max_keys`], not told apart.
    Untracked,
}

/// Lines of one kind from one source that a [`LogLimiter`] held back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    /// The kind of line (as given to [`LogLimiter::admit`]).
    pub kind: &'static str,
    /// Whose.
    pub source: Source,
    /// How many.
    pub count: u64,
    /// From the first of them to the report.
    pub span: Duration,
}

impl fmt::Display for Suppressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "suppressed {} similar lines ({})", self.count, self.kind)?;
        match self.source {
            Source::Peer(ip) => write!(f, " from {ip}")?,
            Source::Server => {}
            Source::Peers(n) => write!(f, " from {n} other peers")?,
            Source::Untracked => write!(f, " from peers too many to follow")?,
        }
        // Whole seconds, rounded up: "in the last 0 s" would read as nothing.
        let secs = self.span.as_secs() + u64::from(self.span.subsec_nanos() > 0);
        write!(f, " in the last {} s", secs.max(1))
    }
}

/// A token bucket of `burst` lines refilled with one every `every`, kept as the time it
/// will be full again (`full_at`, the "theoretical arrival time" of GCRA): exact on any clock.
#[derive(Debug, Clone)]
struct Bucket {
    full_at: Instant,
    every: Duration,
    /// How far `full_at` may run ahead of now: the burst after the first line.
    slack: Duration,
}

impl Bucket {
    fn full(burst: u32, every: Duration, now: Instant) -> Self {
        Self {
            full_at: now,
            every,
            slack: every * burst.max(1).saturating_sub(1),
        }
    }

    fn has_token(&self, now: Instant) -> bool {
        self.full_at.saturating_duration_since(now) <= self.slack
    }

    fn take(&mut self, now: Instant) {
        self.full_at = self.full_at.max(now) + self.every;
    }

    fn is_full(&self, now: Instant) -> bool {
        self.full_at <= now
    }
}

/// Which lines share a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    /// A kind from one peer.
    Peer(&'static str, IpAddr),
    /// A kind about the server.
    Server(&'static str),
    /// A kind from every peer beyond `max_keys`.
    Overflow(&'static str),
}

#[derive(Debug, Clone)]
struct Entry {
    bucket: Bucket,
    /// Lines dropped since the last report, and when the first of them was.
    suppressed: u64,
    since: Option<Instant>,
}

/// Decides which log lines to write: [`LogLimiter::admit`] for each line,
/// [`LogLimiter::due`] now and then for the summaries of what was held back.
#[derive(Debug)]
pub struct LogLimiter {
    config: LogLimitConfig,
    entries: HashMap<Key, Entry>,
    global: Bucket,
    /// When the pending summaries are due (set by the first drop after a report).
    next_report: Option<Instant>,
    /// When idle entries were last forgotten to make room (at most once a second).
    swept: Instant,
}

/// How often a full [`LogLimiter`] looks for idle entries to forget.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

impl LogLimiter {
    /// A limiter whose buckets are full at `now`.
    pub fn new(config: LogLimitConfig, now: Instant) -> Self {
        let global = Bucket::full(config.global_burst, config.global_every, now);
        Self {
            config,
            entries: HashMap::new(),
            global,
            next_report: None,
            swept: now,
        }
    }

    /// Whether a line of `kind` about `peer` (`None`: about the server itself) may be written
    /// at `now`. When not, it is counted for a later [`Suppressed`] summary.
    pub fn admit(&mut self, kind: &'static str, peer: Option<IpAddr>, now: Instant) -> bool {
        let key = match peer {
            None => Key::Server(kind),
            Some(ip) if self.follows(Key::Peer(kind, ip), now) => Key::Peer(kind, ip),
            Some(_) => Key::Overflow(kind),
        };
        let (burst, every) = (self.config.burst, self.config.every);
        let entry = self.entries.entry(key).or_insert_with(|| Entry {
            bucket: Bucket::full(burst, every, now),
            suppressed: 0,
            since: None,
        });
        // Lines about the server do not draw on (nor wait for) the peers' shared bucket.
        let shared = peer.is_some();
        let pass = entry.bucket.has_token(now) && (!shared || self.global.has_token(now));
        if pass {
            entry.bucket.take(now);
            if shared {
                self.global.take(now);
            }
        } else {
            entry.suppressed += 1;
            entry.since.get_or_insert(now);
            self.next_report
                .get_or_insert(now + self.config.report_every);
        }
        pass
    }

    /// Whether `key` has (or may get) an entry of its own: under `max_keys` entries, after
    /// forgetting idle ones when full (at most once a second: the sweep costs an entry each).
    fn follows(&mut self, key: Key, now: Instant) -> bool {
        if self.entries.contains_key(&key) || self.entries.len() < self.config.max_keys {
            return true;
        }
        if now >= self.swept + SWEEP_EVERY {
            self.forget_idle(now);
        }
        self.entries.len() < self.config.max_keys
    }

    /// Drops the entries with nothing to report whose bucket is full again: they are as
    /// good as new.
    fn forget_idle(&mut self, now: Instant) {
        self.swept = now;
        self.entries
            .retain(|_, e| e.suppressed > 0 || !e.bucket.is_full(now));
    }

    /// The summaries due at `now`: every count of suppressed lines, once
    /// [`LogLimitConfig::report_every`] has passed since the first of them (empty before).
    pub fn due(&mut self, now: Instant) -> Vec<Suppressed> {
        match self.next_report {
            Some(t) if now >= t => self.flush(now),
            _ => Vec::new(),
        }
    }

    /// Every pending summary, due or not (when the server stops): largest counts first, at
    /// most [`LogLimitConfig::max_summaries`] about single peers, the other peers' added up
    /// in one per kind; then those about the server and about untracked peers (one per kind).
    pub fn flush(&mut self, now: Instant) -> Vec<Suppressed> {
        self.next_report = None;
        let mut peers = Vec::new();
        let mut others = Vec::new();
        for (key, e) in &mut self.entries {
            let Some(since) = e.since.take() else {
                continue;
            };
            let (kind, source) = match *key {
                Key::Peer(kind, ip) => (kind, Source::Peer(ip)),
                Key::Server(kind) => (kind, Source::Server),
                Key::Overflow(kind) => (kind, Source::Untracked),
            };
            let s = Suppressed {
                kind,
                source,
                count: std::mem::take(&mut e.suppressed),
                span: now.saturating_duration_since(since),
            };
            match source {
                Source::Peer(_) => peers.push(s),
                _ => others.push(s),
            }
        }
        self.forget_idle(now);
        let by_count = |a: &Suppressed, b: &Suppressed| {
            (b.count, a.kind, a.source).cmp(&(a.count, b.kind, b.source))
        };
        peers.sort_by(by_count);
        let rest = peers.split_off(peers.len().min(self.config.max_summaries));
        let mut merged: Vec<Suppressed> = Vec::new();
        for s in rest {
            match merged.iter_mut().find(|m| m.kind == s.kind) {
                Some(m) => {
                    m.count += s.count;
                    m.span = m.span.max(s.span);
                    if let Source::Peers(n) = &mut m.source {
                        *n += 1;
                    }
                }
                None => merged.push(Suppressed {
                    source: Source::Peers(1),
                    ..s
                }),
            }
        }
        others.sort_by(by_count);
        peers.extend(merged);
        peers.extend(others);
        peers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([127, 0, 0, last]))
    }

    /// The config of the tests: burst 3 and 1 line/s per (kind, peer); 10 and 5/s in all.
    fn config() -> LogLimitConfig {
        LogLimitConfig {
            burst: 3,
            every: S,
            global_burst: 10,
            global_every: S / 5,
            report_every: 10 * S,
            max_keys: 100,
            max_summaries: 4,
        }
    }

    /// Offers `n` lines of `kind` from `peer` at `at`: how many passed.
    fn offer(
        l: &mut LogLimiter,
        kind: &'static str,
        peer: Option<IpAddr>,
        at: Instant,
        n: u32,
    ) -> u32 {
        (0..n).filter(|_| l.admit(kind, peer, at)).count() as u32
    }

    #[test]
    fn a_burst_passes_then_the_rate() {
        let t0 = Instant::now();
        let mut l = LogLimiter::new(config(), t0);
        assert_eq!(offer(&mut l, "refused", ip(5), t0, 1000), 3);
        // Half a second: no whole token yet; one second: one line.
        assert_eq!(offer(&mut l, "refused", ip(5), t0 + S / 2, 10), 0);
        assert_eq!(offer(&mut l, "refused", ip(5), t0 + S, 10), 1);
        // A minute of flood at 100 lines/s: about one a second.
        let passed: u32 = (1..=600)
            .map(|i| offer(&mut l, "refused", ip(5), t0 + S + i * S / 10, 10))
            .sum();
        assert_eq!(passed, 60);
        // Other kinds and other peers have their own buckets.
        assert_eq!(offer(&mut l, "protocol error", ip(5), t0 + 61 * S, 10), 3);
        assert_eq!(offer(&mut l, "refused", ip(6), t0 + 61 * S, 10), 3);
    }

    #[test]
    fn summaries_come_after_the_report_interval_with_the_counts() {
        let t0 = Instant::now();
        let mut l = LogLimiter::new(config(), t0);
        assert_eq!(offer(&mut l, "request refused", ip(5), t0, 3), 3);
        assert!(
            l.due(t0 + 60 * S).is_empty(),
            "nothing dropped, nothing to say"
        );
        let t1 = t0 + 100 * S;
        assert_eq!(offer(&mut l, "request refused", ip(5), t1, 12348), 3);
        assert!(l.due(t1 + 9 * S).is_empty(), "not before 10 s");
        let due = l.due(t1 + 10 * S);
        assert_eq!(
            due,
            [Suppressed {
                kind: "request refused",
                source: Source::Peer(IpAddr::from([127, 0, 0, 5])),
                count: 12345,
                span: 10 * S,
            }]
        );
        assert_eq!(
            due[0].to_string(),
            "suppressed 12345 similar lines (request refused) from 127.0.0.5 in the last 10 s"
        );
        // Reported once; the bucket refilled meanwhile.
        assert!(l.due(t1 + 30 * S).is_empty());
        assert_eq!(offer(&mut l, "request refused", ip(5), t1 + 30 * S, 5), 3);
    }

    #[test]
    fn every_peer_together_is_capped_but_not_the_server() {
        let t0 = Instant::now();
        let mut l = LogLimiter::new(config(), t0);
        // 50 peers, 3 lines each would pass alone: 10 in all.
        let passed: u32 = (1..=50)
            .map(|p| offer(&mut l, "refused", ip(p), t0, 3))
            .sum();
        assert_eq!(passed, 10);
        // Lines about the server are limited per kind only.
        assert_eq!(offer(&mut l, "stream lookup failed", None, t0, 5), 3);
        // One second: 5 more lines for the peers in all.
        let passed: u32 = (1..=50)
            .map(|p| offer(&mut l, "refused", ip(p), t0 + S, 3))
            .sum();
        assert_eq!(passed, 5);
    }

    #[test]
    fn a_report_names_the_largest_floods_and_adds_up_the_rest() {
        let t0 = Instant::now();
        let mut cfg = config();
        cfg.global_burst = 1000;
        let mut l = LogLimiter::new(cfg, t0);
        // Peer p drops 10 * p lines (p = 1..=6), the server 7.
        for p in 1..=6 {
            offer(&mut l, "refused", ip(p), t0, 3 + 10 * u32::from(p));
        }
        offer(&mut l, "lookup failed", None, t0, 10);
        let lines: Vec<String> = l
            .flush(t0 + 2 * S)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "suppressed 60 similar lines (refused) from 127.0.0.6 in the last 2 s",
                "suppressed 50 similar lines (refused) from 127.0.0.5 in the last 2 s",
                "suppressed 40 similar lines (refused) from 127.0.0.4 in the last 2 s",
                "suppressed 30 similar lines (refused) from 127.0.0.3 in the last 2 s",
                "suppressed 30 similar lines (refused) from 2 other peers in the last 2 s",
                "suppressed 7 similar lines (lookup failed) in the last 2 s",
            ]
        );
        assert!(
            l.flush(t0 + 3 * S).is_empty(),
            "each count is reported once"
        );
    }

    #[test]
    fn peers_beyond_the_tracked_ones_share_a_bucket_until_others_go_idle() {
        let t0 = Instant::now();
        let mut cfg = config();
        cfg.max_keys = 4;
        cfg.global_burst = 1000;
        let mut l = LogLimiter::new(cfg, t0);
        for p in 1..=4 {
            assert_eq!(offer(&mut l, "refused", ip(p), t0, 3), 3);
        }
        // Peers 5..=20 share one bucket: 3 lines among them.
        let passed: u32 = (5..=20)
            .map(|p| offer(&mut l, "refused", ip(p), t0, 1))
            .sum();
        assert_eq!(passed, 3);
        let lines: Vec<String> = l.flush(t0 + S).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            ["suppressed 13 similar lines (refused) from peers too many to follow in the last 1 s"]
        );
        // Once the first four are idle (buckets full again), new peers are followed.
        assert_eq!(offer(&mut l, "refused", ip(30), t0 + 10 * S, 3), 3);
        assert!(l.entries.len() <= 4, "{}", l.entries.len());
    }

    #[test]
    fn spans_round_up_to_whole_seconds() {
        let s = |span| Suppressed {
            kind: "k",
            source: Source::Server,
            count: 1,
            span,
        };
        assert_eq!(
            s(Duration::ZERO).to_string(),
            "suppressed 1 similar lines (k) in the last 1 s"
        );
        assert!(s(Duration::from_millis(2500))
            .to_string()
            .ends_with("in the last 3 s"));
    }
}
