//! A seeded network emulator for the simulator (the str0m `netem` idea): UDP rules with latency,
//! jitter, Gilbert–Elliott loss, reordering, duplication, corruption, MTU and a bandwidth cap;
//! and the TCP byte-stream pipe (in order, split at any byte, delayed, cut).
//!
//! Every datagram is matched against the rules in order; the first rule whose `when` accepts it
//! decides its fate, and counts it in that rule's [`RuleStats`]. A datagram no rule matches is
//! delivered after [`Netem::base_latency`]. Fates are exclusive per datagram (dropped, or at most
//! one of duplicated / held back / corrupted), so tests can count exactly what was done.

use super::Rng;
use core::net::SocketAddr;
use std::time::Duration;

/// What a rule sees of a datagram.
#[derive(Debug, Clone)]
pub struct Meta {
    /// Virtual time it was sent (since the simulation started).
    pub at: Duration,
    /// Source address.
    pub from: SocketAddr,
    /// Destination address.
    pub to: SocketAddr,
    /// UDP payload length.
    pub len: usize,
    /// RTP header fields, when it left the server's RTP socket and parses as RTP.
    pub rtp: Option<RtpMeta>,
    /// It left the server's RTCP socket.
    pub from_server_rtcp: bool,
    /// It goes to the server's RTCP socket.
    pub to_server_rtcp: bool,
}

/// The RTP header fields of a media datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpMeta {
    /// Sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub ts: u32,
    /// SSRC.
    pub ssrc: u32,
    /// Marker bit (last fragment of a frame).
    pub marker: bool,
}

/// Random loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Loss {
    /// No random loss.
    None,
    /// Each datagram lost with this probability.
    Bernoulli(f64),
    /// Gilbert–Elliott: a two-state Markov chain (bursts). Per datagram: first the state may
    /// change (`p_gb`: good→bad, `p_bg`: bad→good), then it is lost with the state's probability.
    GilbertElliott {
        /// P(good → bad).
        p_gb: f64,
        /// P(bad → good).
        p_bg: f64,
        /// Loss probability in the good state.
        loss_good: f64,
        /// Loss probability in the bad state.
        loss_bad: f64,
    },
}

/// Where corruption flips bits.
#[derive(Debug, Clone, PartialEq)]
pub enum Corrupt {
    /// One random bit anywhere in the datagram.
    Anywhere,
    /// One random bit among these (byte index, bit mask) positions that exist in the datagram.
    Bits(Vec<(usize, u8)>),
}

/// What a rule does to the datagrams it matches.
#[derive(Debug, Clone)]
pub struct Impair {
    /// One-way delay.
    pub latency: Duration,
    /// Extra delay, uniform in `[0, jitter]` (reorders datagrams sent close together).
    pub jitter: Duration,
    /// Random loss.
    pub loss: Loss,
    /// Probability that a datagram is delivered twice (the copy right after the original).
    pub duplicate: f64,
    /// Probability that a datagram is held back until `reorder_depth` later datagrams to the
    /// same address were delivered (or `reorder_max_hold` passed).
    pub reorder: f64,
    /// How many later datagrams overtake a held one.
    pub reorder_depth: usize,
    /// Longest a held datagram waits.
    pub reorder_max_hold: Duration,
    /// Probability that one bit is flipped.
    pub corrupt: f64,
    /// Which bits corruption may flip.
    pub corrupt_mode: Corrupt,
    /// Largest IP packet (payload + 28 bytes of IPv4 and UDP headers); bigger ones are dropped.
    pub mtu: Option<usize>,
    /// Link rate in bytes per second (serialization delay and a FIFO queue).
    pub bandwidth: Option<u64>,
    /// Most queueing delay the bandwidth cap's FIFO holds; beyond it datagrams are tail-dropped.
    pub queue_limit: Duration,
}

impl Default for Impair {
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(5),
            jitter: Duration::ZERO,
            loss: Loss::None,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_depth: 1,
            reorder_max_hold: Duration::from_millis(200),
            corrupt: 0.0,
            corrupt_mode: Corrupt::Anywhere,
            mtu: None,
            bandwidth: None,
            queue_limit: Duration::from_millis(200),
        }
    }
}

impl Impair {
    /// A perfect link with this latency.
    pub fn latency(latency: Duration) -> Self {
        Self {
            latency,
            ..Self::default()
        }
    }

    /// Drop everything (a partition).
    pub fn blackhole() -> Self {
        Self {
            loss: Loss::Bernoulli(1.0),
            ..Self::default()
        }
    }
}

/// Why a datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    /// Random loss.
    Loss,
    /// Bigger than the MTU.
    Mtu,
    /// The bandwidth cap's queue was full.
    Queue,
    /// No node owns the destination address.
    Unroutable,
}

/// What happened to one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Delivered once, unchanged.
    Delivered,
    /// Dropped.
    Dropped(Drop),
    /// Delivered twice.
    Duplicated,
    /// Held back behind later datagrams.
    Reordered,
    /// Delivered with bit `mask` of byte `byte` flipped.
    Corrupted {
        /// Byte index.
        byte: usize,
        /// Bit flipped.
        mask: u8,
    },
}

/// Counters of one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleStats {
    /// Datagrams the rule matched.
    pub matched: u64,
    /// Dropped by random loss.
    pub lost: u64,
    /// Dropped for size.
    pub mtu_dropped: u64,
    /// Dropped by the bandwidth queue.
    pub queue_dropped: u64,
    /// Delivered twice.
    pub duplicated: u64,
    /// Held back (reordered).
    pub reordered: u64,
    /// Corrupted.
    pub corrupted: u64,
}

impl RuleStats {
    /// All drops.
    pub fn dropped(&self) -> u64 {
        self.lost + self.mtu_dropped + self.queue_dropped
    }
}

/// Identifies a rule in [`Netem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RuleId(pub usize);

/// A datagram filter.
pub type When = Box<dyn Fn(&Meta) -> bool>;

/// One rule: a filter and what to do.
pub struct Rule {
    /// For messages.
    pub name: String,
    /// Which datagrams it applies to.
    pub when: When,
    /// What it does.
    pub impair: Impair,
    /// Whether it is active.
    pub enabled: bool,
    /// Counters.
    pub stats: RuleStats,
    bad: bool,
    busy_until: Duration,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("name", &self.name)
            .field("impair", &self.impair)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// The UDP emulator: rules in order, first match wins.
#[derive(Debug)]
pub struct Netem {
    /// Rules, first match wins.
    pub rules: Vec<Rule>,
    /// Latency of datagrams no rule matches.
    pub base_latency: Duration,
}

/// The decision for one datagram: delivery delays (one per copy, none when dropped), the fate,
/// and the rule that decided.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Delay of each copy (empty: dropped; a held datagram has its fallback delay).
    pub delays: Vec<Duration>,
    /// The fate.
    pub fate: Fate,
    /// The deciding rule.
    pub rule: Option<RuleId>,
}

impl Netem {
    /// No rules.
    pub fn new(base_latency: Duration) -> Self {
        Self {
            rules: Vec::new(),
            base_latency,
        }
    }

    /// Append a rule; returns its id.
    pub fn add(
        &mut self,
        name: &str,
        when: impl Fn(&Meta) -> bool + 'static,
        impair: Impair,
    ) -> RuleId {
        self.rules.push(Rule {
            name: name.to_string(),
            when: Box::new(when),
            impair,
            enabled: true,
            stats: RuleStats::default(),
            bad: false,
            busy_until: Duration::ZERO,
        });
        RuleId(self.rules.len() - 1)
    }

    /// A rule's counters.
    pub fn stats(&self, id: RuleId) -> RuleStats {
        self.rules[id.0].stats
    }

    /// Turn a rule on or off.
    pub fn set_enabled(&mut self, id: RuleId, on: bool) {
        self.rules[id.0].enabled = on;
    }

    /// Decide a datagram's fate; may corrupt `data` in place.
    pub fn decide(&mut self, meta: &Meta, data: &mut [u8], rng: &mut Rng) -> Decision {
        let Some(idx) = self.rules.iter().position(|r| r.enabled && (r.when)(meta)) else {
            return Decision {
                delays: vec![self.base_latency],
                fate: Fate::Delivered,
                rule: None,
            };
        };
        let rule = &mut self.rules[idx];
        let im = rule.impair.clone();
        rule.stats.matched += 1;
        let dropped = |rule: &mut Rule, d: Drop| {
            match d {
                Drop::Loss => rule.stats.lost += 1,
                Drop::Mtu => rule.stats.mtu_dropped += 1,
                Drop::Queue => rule.stats.queue_dropped += 1,
                Drop::Unroutable => {}
            }
            Decision {
                delays: Vec::new(),
                fate: Fate::Dropped(d),
                rule: Some(RuleId(idx)),
            }
        };
        if im.mtu.is_some_and(|mtu| meta.len + 28 > mtu) {
            return dropped(rule, Drop::Mtu);
        }
        let lose = match im.loss {
            Loss::None => false,
            Loss::Bernoulli(p) => rng.chance(p),
            Loss::GilbertElliott {
                p_gb,
                p_bg,
                loss_good,
                loss_bad,
            } => {
                if rule.bad {
                    if rng.chance(p_bg) {
                        rule.bad = false;
                    }
                } else if rng.chance(p_gb) {
                    rule.bad = true;
                }
                rng.chance(if rule.bad { loss_bad } else { loss_good })
            }
        };
        if lose {
            return dropped(rule, Drop::Loss);
        }
        let mut queue = Duration::ZERO;
        if let Some(bw) = im.bandwidth {
            let start = rule.busy_until.max(meta.at);
            let wait = start - meta.at;
            if wait > im.queue_limit {
                return dropped(rule, Drop::Queue);
            }
            let ser = Duration::from_nanos((meta.len as u64 + 28) * 1_000_000_000 / bw.max(1));
            rule.busy_until = start + ser;
            queue = rule.busy_until - meta.at;
        }
        let jitter = if im.jitter.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_nanos(rng.below(im.jitter.as_nanos() as u64 + 1))
        };
        let delay = im.latency + queue + jitter;
        let u = rng.unit();
        let (p_dup, p_re, p_cor) = (im.duplicate, im.reorder, im.corrupt);
        let (fate, delays) = if u < p_dup {
            rule.stats.duplicated += 1;
            (Fate::Duplicated, vec![delay, delay])
        } else if u < p_dup + p_re {
            rule.stats.reordered += 1;
            (Fate::Reordered, vec![delay + im.reorder_max_hold])
        } else if u < p_dup + p_re + p_cor && !data.is_empty() {
            let (byte, mask) = match &im.corrupt_mode {
                Corrupt::Anywhere => (rng.below(data.len() as u64) as usize, 1u8 << rng.below(8)),
                Corrupt::Bits(bits) => {
                    let ok: Vec<_> = bits.iter().filter(|(b, _)| *b < data.len()).collect();
                    if ok.is_empty() {
                        (0, 0)
                    } else {
                        *ok[rng.below(ok.len() as u64) as usize]
                    }
                }
            };
            if mask == 0 {
                (Fate::Delivered, vec![delay])
            } else {
                data[byte] ^= mask;
                rule.stats.corrupted += 1;
                (Fate::Corrupted { byte, mask }, vec![delay])
            }
        } else {
            (Fate::Delivered, vec![delay])
        };
        Decision {
            delays,
            fate,
            rule: Some(RuleId(idx)),
        }
    }
}

/// How a TCP pipe cuts the byte stream into reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Split {
    /// Each write arrives as one read.
    Whole,
    /// Random cut points; reads of 1..=`max` bytes.
    Random {
        /// Longest read.
        max: usize,
    },
    /// One byte per read.
    EveryByte,
    /// Cut at these absolute stream offsets (bytes since the connection opened).
    At(Vec<u64>),
}

/// One direction of a TCP connection: in-order bytes.
#[derive(Debug, Clone)]
pub struct Pipe {
    /// One-way delay.
    pub latency: Duration,
    /// Extra delay per read, uniform in `[0, jitter]` (order is kept: never before the previous read).
    pub jitter: Duration,
    /// How writes are cut into reads.
    pub split: Split,
    /// Nothing is delivered before this time (a stall).
    pub stalled_until: Duration,
    /// Arrival time of the last scheduled read (reads never overtake each other).
    pub(super) last: Duration,
    /// Bytes written so far.
    pub(super) offset: u64,
}

impl Pipe {
    /// A pipe with this latency, writes delivered whole.
    pub fn new(latency: Duration) -> Self {
        Self {
            latency,
            jitter: Duration::ZERO,
            split: Split::Whole,
            stalled_until: Duration::ZERO,
            last: Duration::ZERO,
            offset: 0,
        }
    }

    /// Cut `data` written at `now` into reads with their arrival times.
    pub(super) fn schedule(
        &mut self,
        now: Duration,
        data: &[u8],
        rng: &mut Rng,
    ) -> Vec<(Duration, Vec<u8>)> {
        let mut cuts = Vec::new();
        match &self.split {
            Split::Whole => {}
            Split::EveryByte => cuts.extend(1..data.len()),
            Split::Random { max } => {
                let max = (*max).max(1);
                let mut at = 0;
                loop {
                    at += 1 + rng.below(max as u64) as usize;
                    if at >= data.len() {
                        break;
                    }
                    cuts.push(at);
                }
            }
            Split::At(offsets) => {
                for &o in offsets {
                    if o > self.offset && o < self.offset + data.len() as u64 {
                        cuts.push((o - self.offset) as usize);
                    }
                }
                cuts.sort_unstable();
                cuts.dedup();
            }
        }
        self.offset += data.len() as u64;
        let mut out = Vec::new();
        let mut start = 0;
        for end in cuts.into_iter().chain(std::iter::once(data.len())) {
            if end <= start {
                continue;
            }
            let jitter = if self.jitter.is_zero() {
                Duration::ZERO
            } else {
                Duration::from_nanos(rng.below(self.jitter.as_nanos() as u64 + 1))
            };
            let at = (now + self.latency + jitter)
                .max(self.last)
                .max(self.stalled_until);
            self.last = at;
            out.push((at, data[start..end].to_vec()));
            start = end;
        }
        out
    }

    /// When a close written at `now` arrives (after every byte already written).
    pub(super) fn close_at(&mut self, now: Duration) -> Duration {
        let at = (now + self.latency).max(self.last).max(self.stalled_until);
        self.last = at;
        at
    }
}
