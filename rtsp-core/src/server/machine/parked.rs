//! Requests waiting for media the catalog is loading off the event loop
//! ([`LookupError::Loading`](crate::server::LookupError::Loading)).
//!
//! A DESCRIBE or SETUP whose stream is loading is held, already authenticated, on its
//! connection; the connection's later requests wait behind it (replies keep their order).
//! When [`Catalog::generation`](crate::server::Catalog::generation) changes the server asks
//! again; after [`ServerConfig::load_timeout`](crate::server::ServerConfig::load_timeout) the
//! request gets the catalog's answer as it is then (503 while still loading). Bytes that
//! arrive meanwhile are kept up to one message's worth ([`Limit::BufferedWhileLoading`]).

use super::Server;
use crate::io::ConnId;
use crate::message::Request;
use crate::server::{Limit, ServerEvent};
use std::time::Instant;

/// A request held on its connection.
#[derive(Debug)]
pub(super) struct Parked {
    pub(super) req: Request,
    /// The user it authenticated as.
    pub(super) user: Option<String>,
    /// When it stops waiting.
    pub(super) until: Instant,
}

impl Server {
    /// Holds `req` on `conn` until its stream is loaded (or the load timeout).
    pub(super) fn park(&mut self, conn: ConnId, req: Request, user: Option<String>) {
        let until = self.now + self.config.load_timeout;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.parked = Some(Parked { req, user, until });
            self.parked.insert(conn);
        }
    }

    /// After an input: if the catalog finished a load since the last look, answer the
    /// requests that were waiting (those still loading wait on).
    pub(super) fn retry_parked(&mut self) {
        if self.parked.is_empty() && self.http_waiting.is_empty() {
            return;
        }
        // Both only grow: their sum changes when either does.
        let generation = self
            .catalog
            .generation()
            .wrapping_add(self.config.live.generation());
        if generation == self.seen_generation {
            return;
        }
        self.seen_generation = generation;
        let conns: Vec<ConnId> = self.parked.iter().copied().collect();
        for conn in conns {
            self.unpark(conn, false);
        }
        self.retry_http_waiting();
    }

    /// Answers the request held on `conn` (`timed_out`: as it stands, without waiting any
    /// longer), then goes on with the requests buffered behind it.
    pub(super) fn unpark(&mut self, conn: ConnId, timed_out: bool) {
        let Some(p) = self.conns.get_mut(&conn).and_then(|c| c.parked.take()) else {
            self.parked.remove(&conn);
            return;
        };
        self.parked.remove(&conn);
        self.serve(conn, p.req, p.user, !timed_out);
        let still = self.conns.get(&conn).is_some_and(|c| c.parked.is_some());
        if !still {
            self.decode(conn, false);
        }
    }

    /// Bytes arrived on a connection whose request waits: keep at most one message's worth.
    /// Returns false when the connection was closed for sending more.
    pub(super) fn parked_buffer_ok(&mut self, conn: ConnId) -> bool {
        let limit = self.config.limits.max_head + self.config.limits.max_body;
        let Some(c) = self.conns.get(&conn) else {
            return false;
        };
        if c.buf.len() <= limit {
            return true;
        }
        let peer = c.peer;
        self.event(ServerEvent::LimitExceeded {
            peer,
            limit: Limit::BufferedWhileLoading,
        });
        self.drop_conn(conn, true);
        false
    }
}
