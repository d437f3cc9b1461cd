//! Room for new connections when the table is full, and the short idle limit while it is
//! crowded: connections that hold no session are ranked for closing — those that never
//! completed a request first, oldest first; then the others by their last request. A
//! connection holding a session is never ranked.

use super::Server;
use crate::io::ConnId;
use crate::server::{Limit, ServerEvent};
use std::collections::BTreeSet;
use std::time::Instant;

/// How readily a connection without a session is closed (lower first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rank {
    /// No complete request yet (slowloris, or a client that only connected), by accept time.
    NoRequest = 0,
    /// Requests answered, no session held, by its last request.
    Idle = 1,
}

/// The connections without a session, per [`Rank`], oldest first.
#[derive(Debug, Default)]
pub(super) struct Evictable([BTreeSet<(Instant, ConnId)>; 2]);

impl Evictable {
    /// The first to close: the oldest of the lowest rank.
    fn first(&self) -> Option<ConnId> {
        self.0.iter().find_map(|set| set.first().map(|&(_, c)| c))
    }

    /// The oldest of any rank that has waited since before `before`.
    fn idle_since_before(&self, before: Instant) -> Option<ConnId> {
        self.0
            .iter()
            .filter_map(|set| set.first())
            .filter(|(since, _)| *since <= before)
            .min()
            .map(|&(_, c)| c)
    }
}

impl Evictable {
    /// Checks the sets against the connections' own keys (tests and fuzzing only).
    #[cfg(any(test, fuzzing))]
    pub(super) fn assert_matches(
        &self,
        conns: &std::collections::BTreeMap<ConnId, super::conn::Conn>,
    ) {
        let mut want: [BTreeSet<(Instant, ConnId)>; 2] = Default::default();
        for (&id, c) in conns {
            if let Some((rank, since)) = c.evict_key {
                want[rank as usize].insert((since, id));
            }
        }
        assert_eq!(self.0, want, "eviction order");
    }
}

impl Server {
    /// Puts `conn` where it belongs in the eviction order (out of it while it holds a
    /// session). Call after anything that changes its sessions or its last request.
    pub(super) fn rank_conn(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let rank = if c.requests == 0 {
            (Rank::NoRequest, c.accepted)
        } else {
            (Rank::Idle, c.last_request)
        };
        let key = (c.sessions.is_empty() && !c.is_viewer()).then_some(rank);
        if key == c.evict_key {
            return;
        }
        if let Some((rank, since)) = c.evict_key.take() {
            self.evictable.0[rank as usize].remove(&(since, conn));
        }
        if let Some((rank, since)) = key {
            self.evictable.0[rank as usize].insert((since, conn));
        }
        c.evict_key = key;
    }

    /// Forgets `conn`'s place in the eviction order (it is closing).
    pub(super) fn unrank_conn(&mut self, conn: ConnId, key: Option<(Rank, Instant)>) {
        if let Some((rank, since)) = key {
            self.evictable.0[rank as usize].remove(&(since, conn));
        }
    }

    /// Closes the first connection in the eviction order to make room; whether there was
    /// one.
    pub(super) fn evict_one(&mut self) -> bool {
        let Some(victim) = self.evictable.first() else {
            return false;
        };
        self.close_for(victim, Limit::Evicted);
        true
    }

    /// While more than half the connection slots are taken, closes the connections without
    /// a session that have waited longer than the crowded limit (oldest first).
    pub(super) fn trim_crowd(&mut self) {
        if self.counts.connections() * 2 <= self.config.max_connections {
            return;
        }
        let Some(before) = self.now.checked_sub(self.config.crowded_idle_timeout) else {
            return;
        };
        while let Some(victim) = self.evictable.idle_since_before(before) {
            self.close_for(victim, Limit::CrowdedIdle);
        }
    }

    fn close_for(&mut self, conn: ConnId, limit: Limit) {
        if let Some(peer) = self.conns.get(&conn).map(|c| c.peer) {
            self.event(ServerEvent::LimitExceeded { peer, limit });
        }
        self.drop_conn(conn, true);
    }
}
