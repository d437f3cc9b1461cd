//! The server's session indexes: sessions by key and id, per connection, by RTCP address and
//! by SSRC, kept in step so that no request, datagram or close scans every session.

use super::Server;
use crate::io::ConnId;
use crate::server::session::{Delivery, Session};
use std::collections::HashMap;

impl Server {
    /// The live session with id `id`.
    pub(super) fn session(&self, id: &str) -> Option<&Session> {
        self.ids.get(id).and_then(|k| self.sessions.get(k))
    }

    /// Adds a new session and indexes it; returns its key.
    pub(super) fn insert_session(&mut self, mut s: Session) -> u64 {
        let key = self.next_key;
        self.next_key += 1;
        s.key = key;
        self.report_dirty = true;
        self.ids.insert(s.id.clone(), key);
        self.by_ssrc.entry(s.ssrc).or_default().push(key);
        if s.reads_live() {
            self.live_readers
                .entry(s.stream.clone())
                .or_default()
                .push(key);
            self.config.live.reader(&s.stream, true, self.now);
        }
        self.sessions.insert(key, s);
        self.link(key);
        key
    }

    /// Removes a session and all its index entries.
    pub(super) fn remove_session(&mut self, key: u64) -> Option<Session> {
        self.unlink(key);
        let s = self.sessions.remove(&key)?;
        self.report_dirty = true;
        self.counts.remove_session(s.peer.ip());
        if s.reads_live() {
            if let Some(readers) = self.live_readers.get_mut(&s.stream) {
                readers.retain(|&k| k != key);
                if readers.is_empty() {
                    self.live_readers.remove(&s.stream);
                }
            }
            self.config.live.reader(&s.stream, false, self.now);
        }
        if s.intake.is_some() {
            self.config.live.release(&s.stream, &s.id);
        }
        self.ids.remove(&s.id);
        remove_key(&mut self.by_ssrc, s.ssrc, key);
        Some(s)
    }

    /// Enters a session into the indexes that depend on its connections and delivery
    /// ([`Conn::sessions`](super::conn::Conn::sessions), `by_rtcp`); call
    /// [`Server::unlink`] before changing those.
    pub(super) fn link(&mut self, key: u64) {
        let Some(s) = self.sessions.get(&key) else {
            return;
        };
        let conns = session_conns(s);
        if let Delivery::Udp { rtp, rtcp } = s.delivery {
            self.by_rtcp.entry(rtcp).or_default().push(key);
            if s.intake.is_some() {
                self.by_rtp_source.insert(rtp, key);
            }
        }
        for conn in conns {
            if let Some(c) = self.conns.get_mut(&conn) {
                if !c.sessions.contains(&key) {
                    c.sessions.push(key);
                }
            }
            self.rank_conn(conn);
        }
    }

    /// Takes a session out of the indexes [`Server::link`] entered it into.
    pub(super) fn unlink(&mut self, key: u64) {
        let Some(s) = self.sessions.get(&key) else {
            return;
        };
        let conns = session_conns(s);
        if let Delivery::Udp { rtp, rtcp } = s.delivery {
            remove_key(&mut self.by_rtcp, rtcp, key);
            if self.by_rtp_source.get(&rtp) == Some(&key) {
                self.by_rtp_source.remove(&rtp);
            }
        }
        for conn in conns {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.sessions.retain(|&k| k != key);
            }
            self.rank_conn(conn);
        }
    }

    /// Sorts session keys by session id (events about several sessions go in that order).
    pub(super) fn sort_by_id(&self, keys: &mut Vec<u64>) {
        if keys.len() > 1 {
            let id = |k: &u64| self.sessions.get(k).map(|s| s.id.as_str());
            keys.sort_by(|a, b| id(a).cmp(&id(b)));
            keys.dedup();
        }
    }

    /// Checks the indexes against a full scan of the sessions (tests and fuzzing only:
    /// O(sessions)); panics on a mismatch.
    #[cfg(any(test, fuzzing))]
    #[doc(hidden)]
    pub fn assert_indexes(&self) {
        assert_eq!(self.ids.len(), self.sessions.len());
        for (id, k) in &self.ids {
            assert_eq!(&self.sessions[k].id, id);
            assert_eq!(self.sessions[k].key, *k);
        }
        for (&conn, c) in &self.conns {
            let mut want: Vec<u64> = self
                .sessions
                .values()
                .filter(|s| session_conns(s).any(|x| x == conn))
                .map(|s| s.key)
                .collect();
            let mut have = c.sessions.clone();
            want.sort_unstable();
            have.sort_unstable();
            assert_eq!(have, want, "sessions of {conn:?}");
            // Interleaved channels are unique on a connection.
            let mut channels: Vec<u8> = self
                .sessions
                .values()
                .filter_map(|s| match s.delivery {
                    Delivery::Interleaved {
                        conn: x,
                        rtp_channel,
                        rtcp_channel,
                    } if x == conn => Some([rtp_channel, rtcp_channel]),
                    _ => None,
                })
                .flatten()
                .collect();
            let n = channels.len();
            channels.sort_unstable();
            channels.dedup();
            assert_eq!(channels.len(), n, "channels of {conn:?} in use twice");
            // Ranked for eviction exactly while it holds no session.
            assert_eq!(
                c.evict_key.is_some(),
                c.sessions.is_empty(),
                "eviction rank of {conn:?}"
            );
        }
        self.evictable.assert_matches(&self.conns);
        for s in self.sessions.values() {
            // No session refers to a connection that is gone.
            for conn in session_conns(s) {
                assert!(self.conns.contains_key(&conn), "{} names {conn:?}", s.id);
            }
        }
        let by_rtcp = self.sessions.values().filter_map(|s| match s.delivery {
            Delivery::Udp { rtcp, .. } => Some((rtcp, s.key)),
            _ => None,
        });
        assert_index(&self.by_rtcp, by_rtcp, "by_rtcp");
        let by_ssrc = self.sessions.values().map(|s| (s.ssrc, s.key));
        assert_index(&self.by_ssrc, by_ssrc, "by_ssrc");
    }

    /// The keys of the sessions tied to `conn`, sorted (tests only).
    #[cfg(test)]
    pub(crate) fn conn_sessions(&self, conn: ConnId) -> Vec<u64> {
        let mut v = self.conns[&conn].sessions.clone();
        v.sort_unstable();
        v
    }

    /// A session's key (tests only).
    #[cfg(test)]
    pub(crate) fn session_key(&self, id: &str) -> u64 {
        self.ids[id]
    }

    /// A session's SSRC (tests only).
    #[cfg(test)]
    pub(crate) fn session_ssrc(&self, id: &str) -> Option<u32> {
        self.session(id).map(|s| s.ssrc)
    }

    /// Whether `conn` is open (tests only).
    #[cfg(test)]
    pub(crate) fn connection_open(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    /// Whether the RTCP indexes are empty (tests only).
    #[cfg(test)]
    pub(crate) fn rtcp_indexes_empty(&self) -> bool {
        self.by_rtcp.is_empty() && self.by_ssrc.is_empty()
    }
}

/// The connections a session is tied to: the one that set it up last and the one it dies
/// with (the same for interleaved and course-lab sessions), each once.
pub(super) fn session_conns(s: &Session) -> impl Iterator<Item = ConnId> {
    let control = s.control;
    let dies_with = s.conn().filter(|&c| Some(c) != control);
    control.into_iter().chain(dies_with)
}

/// Checks an index (no empty lists) against the `(entry, key)` pairs a full scan finds.
#[cfg(any(test, fuzzing))]
fn assert_index<K: Copy + Ord + std::fmt::Debug>(
    index: &HashMap<K, Vec<u64>>,
    scan: impl Iterator<Item = (K, u64)>,
    name: &str,
) {
    let mut want: Vec<(K, u64)> = scan.collect();
    let mut have: Vec<(K, u64)> = index
        .iter()
        .flat_map(|(a, ks)| {
            assert!(!ks.is_empty(), "{name}: an empty list");
            ks.iter().map(move |&k| (*a, k))
        })
        .collect();
    want.sort_unstable();
    have.sort_unstable();
    assert_eq!(have, want, "{name}");
}

/// Removes `key` from the list under `at`, and the list if it is empty then.
fn remove_key<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<u64>>, at: K, key: u64) {
    if let std::collections::hash_map::Entry::Occupied(mut e) = map.entry(at) {
        e.get_mut().retain(|&k| k != key);
        if e.get().is_empty() {
            e.remove();
        }
    }
}
