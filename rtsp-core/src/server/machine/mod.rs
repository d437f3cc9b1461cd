//! The [`Server`] machine: its state, its public face and the [`Machine`] loop.
//!
//! The work is spread over the child modules by concern, each adding to `impl Server`:
//!
//! * `conn` — control connections: accept (connection limits), the decode loop, protocol
//!   errors, and the close that ends the sessions tied to a connection;
//! * `request` — the context of a request, parsed once (CSeq, session, target, dialect),
//!   the auth gate and reply assembly;
//! * `methods` — the method handlers, one file per method family (ANNOUNCE and RECORD
//!   with publishing's SETUP in `record`), and SETUP's transport choice;
//! * `timers` — the timer heap: frames, sender reports, session expiry, connection
//!   deadlines (lab flush, request and idle timeouts);
//! * `rtcp_in` — receiver reports from datagrams and interleaved channels;
//! * `publish` — publishers' RTP in, frames out to the readers;
//! * `live` — frames of live streams pushed to their readers (and HTTP viewers);
//! * `http`, `http_viewer`, `http_report` — HTTP connections ([`ServerConfig::http`]): the
//!   request, its auth and route; multipart viewers and snapshots; the page, JSON and metrics;
//! * `caches` — rendered DESCRIBE bodies and the `Date` header;
//! * `index` — the session indexes (by id, connection, RTCP address, SSRC).
//!
//! Every course-lab decision is made in [`super::lab`].

mod caches;
mod conn;
mod evict;
mod http;
mod http_report;
mod http_viewer;
mod index;
mod live;
mod methods;
mod parked;
mod publish;
mod request;
mod rtcp_in;
mod timers;

use super::auth::Authenticator;
use super::media::Catalog;
use super::session::{Session, Tx};
use super::{CloseReason, ServerConfig, ServerEvent, SessionStats, SharedCounts, SharedReports};
use crate::io::{ConnId, Dest, Emit, Input, Machine, Output, Transmit};
use crate::rng::{Rng, RngSeed};
use caches::Caches;
use conn::Conn;
use core::net::SocketAddr;
use evict::Evictable;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};
use timers::TimerKey;

/// The sans-IO RTSP server: all control connections and all sessions of one listener.
///
/// Drive it as a [`Machine`]: after [`Server::new`], drain [`Machine::poll_output`]; then
/// for every socket event or passed deadline call [`Machine::handle_input`] and drain again.
/// Time only comes from the inputs; it must not go backwards (earlier times are treated as
/// the latest one seen).
pub struct Server {
    config: ServerConfig,
    catalog: Box<dyn Catalog>,
    start: Instant,
    now: Instant,
    rng: Rng,
    conns: BTreeMap<ConnId, Conn>,
    /// Connections and sessions in all and per IP (shared with the other event loops).
    counts: SharedCounts,
    /// Connections without a session, in the order they would be closed for room.
    evictable: Evictable,
    /// Live sessions by [`Session::key`] (the timer heap and the indexes hold keys).
    sessions: HashMap<u64, Session>,
    /// Session key by session id, in id order (listings and shutdown go in that order).
    ids: BTreeMap<String, u64>,
    /// UDP sessions by the client's RTCP address: RTCP datagrams from there keep them alive.
    by_rtcp: HashMap<SocketAddr, Vec<u64>>,
    /// Publisher sessions over UDP by the address their RTP comes from.
    by_rtp_source: HashMap<SocketAddr, u64>,
    /// Sessions by SSRC: a receiver report block names its session by SSRC.
    by_ssrc: HashMap<u32, Vec<u64>>,
    /// Sessions of each live stream, by its name, in the order they were set up.
    live_readers: HashMap<String, Vec<u64>>,
    /// HTTP viewers of each live stream, by its name.
    http_viewers: HashMap<String, Vec<ConnId>>,
    /// HTTP connections whose request waits for a stream being loaded.
    http_waiting: BTreeSet<ConnId>,
    /// The latest frame of each live stream (HTTP snapshots; kept when HTTP is enabled).
    latest: HashMap<String, bytes::Bytes>,
    /// RTP packets and payload bytes of the sessions that ended, per stream (metrics).
    closed_traffic: BTreeMap<String, (u64, u64)>,
    /// Every event loop's report (see [`SharedReports`]), and this loop's number there.
    reports: SharedReports,
    report_id: usize,
    /// When this loop last stored its report.
    last_report: Option<Instant>,
    /// Sessions or viewers came or went since.
    report_dirty: bool,
    next_key: u64,
    /// Serial number of the next accepted connection.
    next_conn_serial: u64,
    /// Connections whose request waits for a stream being loaded ([`parked`]).
    parked: BTreeSet<ConnId>,
    /// The catalog's [`Catalog::generation`] when the waiting requests last asked.
    seen_generation: u64,
    /// Rendered DESCRIBE bodies and the `Date` header value.
    caches: Caches,
    /// Deadlines of sessions and connections, earliest first. Entries are checked when they
    /// come due (lazy deletion): one whose time is not the owner's `timer_at` is stale.
    timers: BinaryHeap<Reverse<(Instant, TimerKey)>>,
    out: VecDeque<Emit<ServerEvent>>,
    shut_down: bool,
    auth: Option<Authenticator>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("connections", &self.conns.len())
            .field("sessions", &self.sessions.len())
            .field("shut_down", &self.shut_down)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server with no connections. `now` is the instant at which
    /// [`ServerConfig::wallclock_at_start`] was read.
    ///
    /// A `session_timeout` below one second is raised to one second.
    pub fn new(mut config: ServerConfig, catalog: Box<dyn Catalog>, now: Instant) -> Self {
        config.session_timeout = config.session_timeout.max(Duration::from_secs(1));
        let rng = Rng::new(&config.seed.clone().unwrap_or_else(|| RngSeed::from_u64(0)));
        let auth = config.auth.clone().map(Authenticator::new);
        let counts = config.counts.clone().unwrap_or_default();
        let reports = config.reports.clone().unwrap_or_default();
        let report_id = reports.register();
        Self {
            auth,
            config,
            catalog,
            start: now,
            now,
            rng,
            conns: BTreeMap::new(),
            counts,
            evictable: Evictable::default(),
            sessions: HashMap::new(),
            ids: BTreeMap::new(),
            by_rtcp: HashMap::new(),
            by_rtp_source: HashMap::new(),
            by_ssrc: HashMap::new(),
            live_readers: HashMap::new(),
            http_viewers: HashMap::new(),
            http_waiting: BTreeSet::new(),
            latest: HashMap::new(),
            closed_traffic: BTreeMap::new(),
            report_id,
            reports,
            last_report: None,
            report_dirty: true,
            next_key: 0,
            next_conn_serial: 0,
            parked: BTreeSet::new(),
            seen_generation: 0,
            caches: Caches::default(),
            timers: BinaryHeap::new(),
            out: VecDeque::new(),
            shut_down: false,
        }
    }

    /// End every session (RTCP BYE to each client) and close every connection. Later
    /// connections are closed as soon as they arrive. Drain [`Machine::poll_output`] after it.
    pub fn shutdown(&mut self, now: Instant) {
        self.set_now(now);
        let keys: Vec<u64> = self.ids.values().copied().collect();
        for key in keys {
            self.close_session(key, CloseReason::Shutdown, true);
        }
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            self.drop_conn(conn, true);
        }
        self.shut_down = true;
    }

    /// Number of live sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Number of open control connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Whether [`Server::shutdown`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.shut_down
    }

    /// The ids of the live sessions.
    pub fn session_ids(&self) -> Vec<String> {
        self.ids.keys().cloned().collect()
    }

    /// Counters of a live session.
    pub fn session_stats(&self, session: &str) -> Option<SessionStats> {
        self.session(session).map(|s| s.stats)
    }

    fn set_now(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    fn wallclock(&self) -> Duration {
        self.config.wallclock_at_start + self.now.saturating_duration_since(self.start)
    }

    fn event(&mut self, e: ServerEvent) {
        if let ServerEvent::LimitExceeded { limit, .. } = e {
            self.counts.limit_exceeded(limit);
        }
        self.out.push_back(Output::Event(e).into());
    }

    /// What a session needs to send (for one that is out of `sessions`).
    fn tx(&mut self) -> Tx<'_> {
        let wallclock = self.wallclock();
        Tx::new(&self.config, wallclock, &mut self.rng, &mut self.out)
    }

    /// Ends a session (`bye`: with an RTCP BYE) and reports it.
    fn close_session(&mut self, key: u64, reason: CloseReason, bye: bool) {
        let now = self.now;
        let Some(mut s) = self.remove_session(key) else {
            return;
        };
        if s.intake.is_none() {
            let t = self.closed_traffic.entry(s.stream.clone()).or_default();
            t.0 += s.stats.packets;
            t.1 += s.stats.octets;
        }
        // A publisher gets no BYE: it sends, we do not.
        if bye && s.intake.is_none() {
            let mut tx = self.tx();
            s.send_rtcp(now, true, &mut tx);
        }
        // Its connections may now idle out.
        for conn in [s.control, s.conn()].into_iter().flatten() {
            self.schedule_conn(conn);
        }
        self.event(ServerEvent::SessionClosed {
            session: s.id,
            reason,
        });
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.reports.remove(self.report_id);
    }
}

impl Machine for Server {
    type Event = ServerEvent;

    fn handle_input(&mut self, input: Input<'_>) {
        match input {
            Input::Timeout(now) => self.set_now(now),
            Input::Connected { now, conn, peer } => {
                self.set_now(now);
                self.on_connected(conn, peer);
            }
            Input::Stream { now, conn, data } => {
                self.set_now(now);
                self.on_stream(conn, data);
            }
            Input::StreamClosed { now, conn } => {
                self.set_now(now);
                self.drop_conn(conn, false);
            }
            Input::Datagram {
                now,
                local,
                remote,
                data,
            } => {
                self.set_now(now);
                self.on_datagram(local, remote, data);
            }
        }
        self.retry_parked();
        self.run_timers();
        self.refresh_report();
    }

    fn poll_output(&mut self) -> Output<ServerEvent> {
        match self.out.pop_front() {
            Some(Emit::Output(o)) => o,
            Some(Emit::Shared(t)) => {
                // The contiguous form: on a stream, a whole frame in one transmit.
                let mut data = Vec::with_capacity(t.len());
                t.write_to(&mut data);
                if let Dest::Stream(_) = t.dest {
                    while let Some(Emit::Shared(n)) = self.out.front() {
                        if n.dest != t.dest || n.frame_start {
                            break;
                        }
                        n.write_to(&mut data);
                        self.out.pop_front();
                    }
                }
                Output::Transmit(Transmit { dest: t.dest, data })
            }
            None => Output::Timeout(self.next_deadline()),
        }
    }

    fn poll_emit(&mut self) -> Emit<ServerEvent> {
        self.out
            .pop_front()
            .unwrap_or_else(|| Emit::Output(Output::Timeout(self.next_deadline())))
    }
}
