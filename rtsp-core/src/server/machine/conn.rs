//! Control connections: accept (with the connection limits), the decode loop, protocol
//! errors, and the close that ends the sessions tied to a connection.

use super::evict::Rank;
use super::http::HttpConn;
use super::parked::Parked;
use super::request::Reply;
use super::Server;
use crate::io::{ConnId, Output};
use crate::message::{Decoded, Decoder, Dialect, Message, ParseError, StatusCode, TooLargeKind};
use crate::server::counts::Caps;
use crate::server::intake::Announced;
use crate::server::lab;
use crate::server::{CloseReason, Limit, ServerEvent};
use bytes::BytesMut;
use core::net::SocketAddr;
use std::time::Instant;

/// One control connection.
#[derive(Debug)]
pub(super) struct Conn {
    pub(super) peer: SocketAddr,
    /// Serial number, never reused (unlike [`ConnId`]s): what a Digest nonce is bound to.
    pub(super) serial: u64,
    /// Decodes the buffered bytes; knows the dialect the peer speaks and the `CSeq` of an
    /// incomplete request.
    pub(super) decoder: Decoder,
    pub(super) buf: BytesMut,
    /// When to take an unterminated lab request as complete.
    pub(super) flush_at: Option<Instant>,
    /// When the first byte of the incomplete item at the front of `buf` arrived.
    pub(super) partial_since: Option<Instant>,
    /// When the connection was accepted or last completed a request.
    pub(super) last_request: Instant,
    /// Due time of this connection's live entry in the timer heap.
    pub(super) timer_at: Option<Instant>,
    /// Keys of the sessions tied to it: those it controls ([`Session::control`]) and those
    /// that die with it ([`Session::conn`]: interleaved on it, or course-lab). Kept in step
    /// by [`Server::link`] and [`Server::unlink`], so that bytes, interleaved RTCP, a close
    /// or a SETUP on a connection touch only its own sessions, never all of them.
    ///
    /// [`Session::control`]: crate::server::session::Session::control
    /// [`Session::conn`]: crate::server::session::Session::conn
    pub(super) sessions: Vec<u64>,
    /// A request waiting for its stream to load; the requests behind it wait in `buf`.
    pub(super) parked: Option<Parked>,
    /// When it was accepted.
    pub(super) accepted: Instant,
    /// Complete requests received.
    pub(super) requests: u64,
    /// Its place in the eviction order while it holds no session ([`Server::rank_conn`]).
    pub(super) evict_key: Option<(Rank, Instant)>,
    /// What the last ANNOUNCE on it described, until a SETUP with `mode=record` uses it.
    pub(super) announced: Option<Announced>,
    /// Set when the connection spoke HTTP first ([`crate::server::ServerConfig::http`]).
    pub(super) http: Option<Box<HttpConn>>,
}

impl Conn {
    /// The dialect the peer speaks (as its decoder found it).
    pub(super) fn dialect(&self) -> Dialect {
        self.decoder.dialect()
    }

    /// Whether it streams to an HTTP viewer (held like a session: no idle timeout, no eviction).
    pub(super) fn is_viewer(&self) -> bool {
        self.http.as_ref().is_some_and(|h| h.viewer.is_some())
    }

    /// Until when its HTTP request waits for a stream being loaded.
    pub(super) fn http_wait_until(&self) -> Option<Instant> {
        self.http.as_ref()?.waiting.as_ref().map(|w| w.2)
    }
}

impl Server {
    pub(super) fn on_connected(&mut self, conn: ConnId, peer: SocketAddr) {
        if self.shut_down {
            self.out.push_back(Output::Close(conn).into());
            return;
        }
        if self.conns.contains_key(&conn) {
            // A reused id: the old connection is gone.
            self.drop_conn(conn, false);
        }
        if let Err(limit) = self.admit(peer) {
            self.out.push_back(Output::Close(conn).into());
            self.event(ServerEvent::LimitExceeded { peer, limit });
            return;
        }
        self.conns.insert(
            conn,
            Conn {
                peer,
                serial: self.next_conn_serial,
                decoder: lab::connection_decoder(self.config.limits),
                buf: BytesMut::new(),
                flush_at: None,
                partial_since: None,
                last_request: self.now,
                timer_at: None,
                sessions: Vec::new(),
                parked: None,
                accepted: self.now,
                requests: 0,
                evict_key: None,
                announced: None,
                http: None,
            },
        );
        self.next_conn_serial += 1;
        self.rank_conn(conn);
        self.schedule_conn(conn);
        self.event(ServerEvent::Connected { conn, peer });
    }

    /// Counts a new connection from `peer` against the connection limits; when all slots
    /// are taken, first closes the idle connections of a crowded server and, if still full,
    /// the first connection of the eviction order (never one holding a session).
    fn admit(&mut self, peer: SocketAddr) -> Result<(), Limit> {
        let caps = Caps {
            total: self.config.max_connections,
            per_ip: self.config.max_connections_per_ip,
        };
        self.trim_crowd();
        match self.counts.add_connection(peer.ip(), caps) {
            Err(Limit::Connections) if self.evict_one() => {
                self.counts.add_connection(peer.ip(), caps)
            }
            other => other,
        }
    }

    /// Forget a connection and end its interleaved sessions; `close`: also tell the runtime.
    pub(super) fn drop_conn(&mut self, conn: ConnId, close: bool) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        self.parked.remove(&conn);
        self.http_waiting.remove(&conn);
        self.unrank_conn(conn, c.evict_key);
        self.counts.remove_connection(c.peer.ip());
        if let Some(viewer) = c.http.and_then(|h| h.viewer) {
            self.report_dirty = true;
            self.end_viewer(conn, viewer);
        }
        // Only its own sessions: those that die with it end (in id order), the others (UDP
        // sessions it set up) forget it.
        let mut ending = Vec::new();
        for &key in &c.sessions {
            if let Some(s) = self.sessions.get_mut(&key) {
                if s.conn() == Some(conn) {
                    ending.push(key);
                } else if s.control == Some(conn) {
                    s.control = None;
                }
            }
        }
        self.sort_by_id(&mut ending);
        for key in ending {
            self.close_session(key, CloseReason::ConnectionClosed, false);
        }
        if close {
            self.out.push_back(Output::Close(conn).into());
        }
        self.event(ServerEvent::Disconnected { conn, peer: c.peer });
    }

    pub(super) fn on_stream(&mut self, conn: ConnId, data: &[u8]) {
        let now = self.now;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.buf.extend_from_slice(data);
        let waiting = c.parked.is_some();
        // Bytes on the connection keep its interleaved sessions alive.
        for key in &c.sessions {
            if let Some(s) = self.sessions.get_mut(key) {
                if s.conn() == Some(conn) {
                    s.last_seen = now;
                }
            }
        }
        if waiting {
            // Decoded once the waiting request is answered.
            self.parked_buffer_ok(conn);
            return;
        }
        self.decode(conn, false);
    }

    /// Decode and answer everything complete in the connection's buffer (`flush`: take an
    /// unterminated lab request as complete first), then arm the lab flush timer.
    pub(super) fn decode(&mut self, conn: ConnId, mut flush: bool) {
        if self.sniff_http(conn) {
            self.http_decode(conn);
            return;
        }
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.parked.is_some() {
                // A request waits for its stream: the rest waits behind it.
                break;
            }
            let result = if flush {
                c.decoder.flush(&mut c.buf)
            } else {
                c.decoder.decode(&mut c.buf)
            };
            match result {
                Ok(None) if flush => flush = false,
                Ok(None) => break,
                Ok(Some(Decoded::Message(Message::Request(req)))) => {
                    c.last_request = self.now;
                    c.partial_since = None;
                    c.requests += 1;
                    self.rank_conn(conn);
                    self.on_request(conn, req)
                }
                Ok(Some(Decoded::Message(Message::Response(_)))) => {}
                Ok(Some(Decoded::Interleaved { channel, payload })) => {
                    c.partial_since = None;
                    let peer = c.peer;
                    if payload.len() > self.max_interleaved(conn) {
                        self.event(ServerEvent::LimitExceeded {
                            peer,
                            limit: Limit::InterleavedFrame,
                        });
                        self.drop_conn(conn, true);
                        return;
                    }
                    self.on_interleaved(conn, channel, &payload)
                }
                Err(e) => {
                    self.on_parse_error(conn, e);
                    return;
                }
            }
        }
        let delay = self.config.lab_flush_delay;
        let now = self.now;
        if let Some(c) = self.conns.get_mut(&conn) {
            if c.parked.is_some() {
                // Bytes behind a waiting request were not read yet: not late, not for a flush.
                c.flush_at = None;
                c.partial_since = None;
            } else {
                c.flush_at = c.dialect().flush_at(&c.buf, now, delay);
                if c.buf.is_empty() {
                    c.partial_since = None;
                } else if c.partial_since.is_none() {
                    c.partial_since = Some(now);
                }
            }
        }
        self.schedule_conn(conn);
    }

    /// The control stream cannot be decoded: answer the broken request (with its `CSeq` if
    /// it can be read) and close the connection.
    fn on_parse_error(&mut self, conn: ConnId, error: ParseError) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let peer = c.peer;
        let cseq = c.decoder.pending_cseq();
        // Not RTSP at all (`ParseError::Version` is e.g. HTTP) or not parseable: 400. A request
        // in another RTSP version parses and gets 505 from `dispatch`.
        let status = match error {
            ParseError::TooLarge {
                what: TooLargeKind::Body,
                ..
            } => StatusCode::REQUEST_ENTITY_TOO_LARGE,
            ParseError::TooLarge {
                what: TooLargeKind::StartLine,
                ..
            } => StatusCode::REQUEST_URI_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        self.send_reply(conn, cseq, Reply::new(status));
        self.event(ServerEvent::ProtocolError { conn, peer, error });
        self.drop_conn(conn, true);
    }
}
