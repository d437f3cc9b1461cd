//! The [`Server`] machine: connections, request dispatch, sessions and timers.

use super::auth::{Authenticator, Challenges};
use super::media::{Catalog, LookupError, Media};
use super::path::{self, PathError, Target};
use super::rtcp;
use super::session::{Delivery, Session, Tx};
use super::util::{http_date, SplitMix64};
use super::{CloseReason, Limit, ServerConfig, ServerEvent, SessionStats};
use crate::io::{ConnId, Dest, Emit, Input, Machine, Output, Transmit};
use crate::message::headers::{LowerTransport, NptTime, Range, RtpInfo, Session as SessionHeader};
use crate::message::headers::{Transport, TransportMode};
use crate::message::{
    Decoded, Decoder, HeaderName, Message, Method, ParseError, Request, Response, StatusCode,
    TooLargeKind,
};
use crate::sdp::SessionDescription;
use bytes::{Bytes, BytesMut};
use core::net::{IpAddr, SocketAddr};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

mod index;

/// The methods we implement, for `Public` and `Allow`.
const PUBLIC: &str =
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

/// One control connection.
#[derive(Debug)]
struct Conn {
    peer: SocketAddr,
    decoder: Decoder,
    buf: BytesMut,
    /// The peer speaks the course-lab dialect (bare names, LF-only, unterminated requests).
    lab: bool,
    /// When to take an unterminated lab request as complete.
    flush_at: Option<Instant>,
    /// When the first byte of the incomplete item at the front of `buf` arrived.
    partial_since: Option<Instant>,
    /// When the connection was accepted or last completed a request.
    last_request: Instant,
    /// Due time of this connection's live entry in the timer heap.
    timer_at: Option<Instant>,
    /// Keys of the sessions tied to it: those it controls ([`Session::control`]) and those
    /// that die with it ([`Session::conn`]: interleaved on it, or course-lab). Kept in step
    /// by [`Server::link`] and [`Server::unlink`], so that bytes, interleaved RTCP, a close
    /// or a SETUP on a connection touch only its own sessions, never all of them.
    sessions: Vec<u64>,
}

/// What a timer-heap entry wakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKey {
    /// A session, by its [`Session::key`].
    Session(u64),
    /// A control connection (lab flush, request and idle timeouts).
    Conn(ConnId),
}

/// A reply being built by a method handler.
struct Reply {
    status: StatusCode,
    /// `Session` header value, if the reply is about a session.
    session: Option<String>,
    headers: Vec<(HeaderName, String)>,
    body: Bytes,
    /// Outputs that must follow the reply (events, RTCP BYE).
    after: Vec<Emit<ServerEvent>>,
}

impl Reply {
    fn new(status: StatusCode) -> Self {
        Self {
            status,
            session: None,
            headers: Vec::new(),
            body: Bytes::new(),
            after: Vec::new(),
        }
    }

    fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl From<StatusCode> for Reply {
    fn from(status: StatusCode) -> Self {
        Self::new(status)
    }
}

impl From<PathError> for Reply {
    fn from(e: PathError) -> Self {
        Self::new(match e {
            PathError::BadRequest => StatusCode::BAD_REQUEST,
            PathError::Forbidden => StatusCode::FORBIDDEN,
            PathError::NotFound => StatusCode::NOT_FOUND,
        })
    }
}

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
    rng: SplitMix64,
    conns: BTreeMap<ConnId, Conn>,
    /// Open connections per peer address.
    per_ip: HashMap<IpAddr, usize>,
    /// Live sessions by [`Session::key`] (the timer heap and the indexes hold keys).
    sessions: HashMap<u64, Session>,
    /// Session key by session id, in id order (listings and shutdown go in that order).
    ids: BTreeMap<String, u64>,
    /// UDP sessions by the client's RTCP address: RTCP datagrams from there keep them alive.
    by_rtcp: HashMap<SocketAddr, Vec<u64>>,
    /// Sessions by SSRC: a receiver report block names its session by SSRC.
    by_ssrc: HashMap<u32, Vec<u64>>,
    next_key: u64,
    /// Rendered DESCRIBE bodies (a few, most recent last).
    sdp_cache: Vec<SdpEntry>,
    /// The `Date` header value and the wall-clock second it is for.
    date: Option<(u64, String)>,
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
        let rng = SplitMix64::new(config.seed);
        let auth = config.auth.clone().map(Authenticator::new);
        Self {
            auth,
            config,
            catalog,
            start: now,
            now,
            rng,
            conns: BTreeMap::new(),
            per_ip: HashMap::new(),
            sessions: HashMap::new(),
            ids: BTreeMap::new(),
            by_rtcp: HashMap::new(),
            by_ssrc: HashMap::new(),
            next_key: 0,
            sdp_cache: Vec::new(),
            date: None,
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
        self.out.push_back(Output::Event(e).into());
    }

    // ----------------------------------------------------------------------------------
    // Connections

    fn on_connected(&mut self, conn: ConnId, peer: SocketAddr) {
        if self.shut_down {
            self.out.push_back(Output::Close(conn).into());
            return;
        }
        if self.conns.contains_key(&conn) {
            // A reused id: the old connection is gone.
            self.drop_conn(conn, false);
        }
        let limit = if self.conns.len() >= self.config.max_connections {
            Some(Limit::Connections)
        } else if self.per_ip.get(&peer.ip()).copied().unwrap_or(0)
            >= self.config.max_connections_per_ip
        {
            Some(Limit::ConnectionsPerIp)
        } else {
            None
        };
        if let Some(limit) = limit {
            self.out.push_back(Output::Close(conn).into());
            self.event(ServerEvent::LimitExceeded { peer, limit });
            return;
        }
        self.conns.insert(
            conn,
            Conn {
                peer,
                decoder: Decoder::new(self.config.limits),
                buf: BytesMut::new(),
                lab: false,
                flush_at: None,
                partial_since: None,
                last_request: self.now,
                timer_at: None,
                sessions: Vec::new(),
            },
        );
        *self.per_ip.entry(peer.ip()).or_default() += 1;
        self.schedule_conn(conn);
        self.event(ServerEvent::Connected { conn, peer });
    }

    /// Forget a connection and end its interleaved sessions; `close`: also tell the runtime.
    fn drop_conn(&mut self, conn: ConnId, close: bool) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        if let Some(n) = self.per_ip.get_mut(&c.peer.ip()) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&c.peer.ip());
            }
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

    fn on_stream(&mut self, conn: ConnId, data: &[u8]) {
        let now = self.now;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.buf.extend_from_slice(data);
        // Bytes on the connection keep its interleaved sessions alive.
        for key in &c.sessions {
            if let Some(s) = self.sessions.get_mut(key) {
                if s.conn() == Some(conn) {
                    s.last_seen = now;
                }
            }
        }
        self.decode(conn, false);
    }

    /// Decode and answer everything complete in the connection's buffer (`flush`: take an
    /// unterminated lab request as complete first), then arm the lab flush timer.
    fn decode(&mut self, conn: ConnId, mut flush: bool) {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if !c.lab && looks_lab(&c.buf) {
                c.lab = true;
                c.decoder = c.decoder.clone().with_lenient(true);
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
                    self.on_request(conn, req)
                }
                Ok(Some(Decoded::Message(Message::Response(_)))) => {}
                Ok(Some(Decoded::Interleaved { channel, payload })) => {
                    c.partial_since = None;
                    if payload.len() > self.config.max_interleaved {
                        let peer = c.peer;
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
            let pending = c.lab && !c.buf.is_empty() && !c.buf.contains(&b'\r');
            c.flush_at = pending.then(|| now + delay);
            if c.buf.is_empty() {
                c.partial_since = None;
            } else if c.partial_since.is_none() {
                c.partial_since = Some(now);
            }
        }
        self.schedule_conn(conn);
    }

    fn on_parse_error(&mut self, conn: ConnId, error: ParseError) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let peer = c.peer;
        // Not RTSP at all (`ParseError::Version` is e.g. HTTP) or not parseable: 400. A request
        // in another RTSP version parses and gets 505 from `dispatch`.
        let cseq = sniff_cseq(&c.buf);
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
        let mut resp = Response::new(status);
        if let Some(cseq) = cseq {
            resp.headers.append(HeaderName::CSEQ, cseq.to_string());
        }
        self.common_headers(&mut resp);
        self.out.push_back(Emit::Output(Output::Transmit(Transmit {
            dest: Dest::Stream(conn),
            data: resp.to_bytes(),
        })));
        self.event(ServerEvent::ProtocolError { conn, peer, error });
        self.drop_conn(conn, true);
    }

    fn on_interleaved(&mut self, conn: ConnId, channel: u8, payload: &[u8]) {
        let blocks = rtcp::parse_report_blocks(payload).unwrap_or_default();
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let mut keys: Vec<u64> = c
            .sessions
            .iter()
            .copied()
            .filter(|k| {
                self.sessions.get(k).is_some_and(|s| {
                    matches!(s.delivery, Delivery::Interleaved { conn: c, rtcp_channel, .. }
                        if c == conn && rtcp_channel == channel)
                })
            })
            .collect();
        self.sort_by_id(&mut keys);
        for key in keys {
            self.receiver_reports(key, &blocks);
        }
    }

    fn on_datagram(&mut self, local: SocketAddr, remote: SocketAddr, data: &[u8]) {
        // RTP from clients (hole punching) is ignored; only RTCP matters.
        if local != self.config.rtcp_local {
            return;
        }
        let blocks = rtcp::parse_report_blocks(data).unwrap_or_default();
        let now = self.now;
        // The sessions sending RTCP to `remote` (it is their client port), and those a report
        // block names by SSRC if they belong to the sender's host: two index look-ups.
        let mut keys: Vec<u64> = self.by_rtcp.get(&remote).cloned().unwrap_or_default();
        for b in &blocks {
            for k in self.by_ssrc.get(&b.ssrc).into_iter().flatten() {
                if self
                    .sessions
                    .get(k)
                    .is_some_and(|s| !s.is_lab() && s.peer.ip() == remote.ip())
                {
                    keys.push(*k);
                }
            }
        }
        self.sort_by_id(&mut keys);
        for key in &keys {
            if let Some(s) = self.sessions.get_mut(key) {
                s.last_seen = now;
            }
        }
        for key in keys {
            self.receiver_reports(key, &blocks);
        }
    }

    fn receiver_reports(&mut self, key: u64, blocks: &[rtcp::ReportBlock]) {
        let Some(s) = self.sessions.get(&key) else {
            return;
        };
        let ssrc = s.ssrc;
        let id = s.id.clone();
        for b in blocks.iter().filter(|b| b.ssrc == ssrc) {
            self.event(ServerEvent::ReceiverReport {
                session: id.clone(),
                fraction_lost: b.fraction_lost,
                cumulative_lost: b.cumulative_lost,
                jitter: b.jitter,
            });
        }
    }

    // ----------------------------------------------------------------------------------
    // Requests

    fn common_headers(&mut self, resp: &mut Response) {
        resp.headers
            .append(HeaderName::SERVER, self.config.server_name.clone());
        // Formatted once per wall-clock second, not per reply.
        let secs = self.wallclock().as_secs();
        let date = match &self.date {
            Some((at, date)) if *at == secs => date.clone(),
            _ => {
                let date = http_date(Duration::from_secs(secs));
                self.date = Some((secs, date.clone()));
                date
            }
        };
        resp.headers.append(HeaderName::DATE, date);
    }

    fn on_request(&mut self, conn: ConnId, req: Request) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let peer = c.peer;
        let lab = c.lab || path::is_bare(&req.uri);
        let cseq = req.cseq();
        // Authentication comes first: a refused request learns nothing about the stream.
        let now = self.now;
        let refused = match (&mut self.auth, cseq) {
            (Some(auth), Some(_)) => auth.check(&req, now, &mut self.rng).err(),
            _ => None,
        };
        // Any (authenticated) request naming a live session keeps it alive.
        let req_session = session_id(&req);
        if let Some(s) = req_session
            .as_deref()
            .and_then(|id| self.ids.get(id))
            .and_then(|k| self.sessions.get_mut(k))
            .filter(|_| refused.is_none())
        {
            s.last_seen = self.now;
        }
        let reply = if cseq.is_none() {
            Reply::new(StatusCode::BAD_REQUEST)
        } else if let Some(Challenges(challenges)) = refused {
            let mut reply = Reply::new(StatusCode::UNAUTHORIZED);
            for c in challenges {
                reply = reply.header(HeaderName::WWW_AUTHENTICATE, c);
            }
            reply
        } else {
            self.dispatch(conn, peer, &req)
        };

        // Line 2 CSeq, line 3 Session: the course-lab client parses replies by position.
        let mut resp = Response::new(reply.status);
        if let Some(cseq) = cseq {
            resp.headers.append(HeaderName::CSEQ, cseq.to_string());
        }
        let session_value = match (reply.session, lab) {
            (Some(v), _) => Some(v),
            (None, true) => Some(
                req_session
                    .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                    .unwrap_or_else(|| "0".to_string()),
            ),
            (None, false) => None,
        };
        if let Some(v) = session_value {
            resp.headers.append(HeaderName::SESSION, v);
        }
        self.common_headers(&mut resp);
        for (name, value) in reply.headers {
            resp.headers.append(name, value);
        }
        resp.body = reply.body;
        self.out.push_back(Emit::Output(Output::Transmit(Transmit {
            dest: Dest::Stream(conn),
            data: resp.to_bytes(),
        })));
        self.event(ServerEvent::Request {
            conn,
            peer,
            method: req.method,
            uri: req.uri,
            status: reply.status,
        });
        self.out.extend(reply.after);
    }

    fn dispatch(&mut self, conn: ConnId, peer: SocketAddr, req: &Request) -> Reply {
        if req.version.major != 1 {
            return StatusCode::RTSP_VERSION_NOT_SUPPORTED.into();
        }
        let (require, proxy_require) = (HeaderName::REQUIRE, HeaderName::PROXY_REQUIRE);
        let required: Vec<&str> = req
            .headers
            .get_all(&require)
            .chain(req.headers.get_all(&proxy_require))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        if !required.is_empty() {
            return Reply::new(StatusCode::OPTION_NOT_SUPPORTED)
                .header(HeaderName::UNSUPPORTED, required.join(", "));
        }
        match req.method {
            Method::Options => {
                let mut reply = Reply::new(StatusCode::OK).header(HeaderName::PUBLIC, PUBLIC);
                reply.session = session_id(req)
                    .and_then(|id| self.session(&id))
                    .map(|s| self.session_header(s));
                reply
            }
            Method::Describe => self.describe(req),
            Method::Setup => self.setup(conn, peer, req),
            Method::Play => self.play(req),
            Method::Pause => self.pause(req),
            Method::Teardown => self.teardown(req),
            Method::GetParameter => self.parameter(req, false),
            Method::SetParameter => self.parameter(req, true),
            Method::Announce | Method::Record | Method::Redirect => {
                Reply::new(StatusCode::METHOD_NOT_ALLOWED).header(HeaderName::ALLOW, PUBLIC)
            }
            Method::Extension(_) => StatusCode::NOT_IMPLEMENTED.into(),
        }
    }

    /// The stream a request names (a track suffix, if any, must be track 0).
    fn stream_target(req: &Request) -> Result<(String, bool), Reply> {
        match path::parse_target(&req.uri)? {
            Target::Server => Err(StatusCode::BAD_REQUEST.into()),
            Target::Stream { track: Some(t), .. } if t != 0 => Err(StatusCode::NOT_FOUND.into()),
            Target::Stream { name, bare, .. } => Ok((name, bare)),
        }
    }

    fn lookup(&mut self, name: &str) -> Result<Arc<Media>, Reply> {
        self.catalog.lookup(name).map_err(|error| {
            let mut reply = Reply::new(error.status());
            if !matches!(error, LookupError::NotFound) {
                reply
                    .after
                    .push(Emit::Output(Output::Event(ServerEvent::LookupFailed {
                        stream: name.to_string(),
                        error,
                    })));
            }
            reply
        })
    }

    fn describe(&mut self, req: &Request) -> Reply {
        let (name, _) = match Self::stream_target(req) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let media = match self.lookup(&name) {
            Ok(m) => m,
            Err(r) => return r,
        };
        let base = content_base(&req.uri);
        let mut reply = Reply::new(StatusCode::OK)
            .header(HeaderName::CONTENT_BASE, base)
            .header(HeaderName::CONTENT_TYPE, "application/sdp");
        reply.body = self.sdp(&media);
        reply
    }

    /// The DESCRIBE body of `media`. It depends on the media, the configuration and the
    /// wall-clock second (the `o=` session id), not on the request (the control URL is
    /// relative to `Content-Base`), so it is rendered once per stream and second and then
    /// shared; a stream the catalog replaces (another `Arc`) is rendered afresh.
    fn sdp(&mut self, media: &Arc<Media>) -> Bytes {
        let secs = self.wallclock().as_secs();
        let same = |e: &SdpEntry| std::ptr::eq(e.media.as_ptr(), Arc::as_ptr(media));
        if let Some(e) = self.sdp_cache.iter().find(|e| same(e) && e.secs == secs) {
            return e.body.clone();
        }
        let looping = self.config.loop_media || media.looping();
        let duration = (!looping).then(|| media.duration().as_secs_f64());
        let body = SessionDescription::new(media.name(), self.config.rtp_local.ip())
            .session_id(secs)
            .control("stream=0")
            .framerate(media.fps())
            .duration(duration)
            .dimensions(media.width(), media.height())
            .to_bytes();
        // One entry per stream (the older second goes), the oldest out beyond the bound;
        // entries of streams nobody holds any more go too.
        self.sdp_cache
            .retain(|e| !same(e) && e.media.strong_count() > 0);
        if self.sdp_cache.len() >= SDP_CACHE {
            self.sdp_cache.remove(0);
        }
        self.sdp_cache.push(SdpEntry {
            media: Arc::downgrade(media),
            secs,
            body: body.clone(),
        });
        body
    }

    /// `Session: id;timeout=T`; the course-lab client wants the bare (numeric) id.
    fn session_header(&self, s: &Session) -> String {
        let header = SessionHeader::new(s.id.clone());
        if s.is_lab() {
            header.to_string()
        } else {
            let secs = u32::try_from(self.config.advertised_timeout()).unwrap_or(u32::MAX);
            header.with_timeout(secs).to_string()
        }
    }

    fn new_session_id(&mut self) -> String {
        loop {
            let id = (1_000_000_000_000_000 + self.rng.below(9_000_000_000_000_000)).to_string();
            if !self.ids.contains_key(&id) {
                return id;
            }
        }
    }

    fn setup(&mut self, conn: ConnId, peer: SocketAddr, req: &Request) -> Reply {
        let (name, bare) = match Self::stream_target(req) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let existing = match session_id(req) {
            Some(id) => match self.session(&id) {
                None => return StatusCode::SESSION_NOT_FOUND.into(),
                Some(s) if s.stream != name => {
                    return StatusCode::AGGREGATE_OPERATION_NOT_ALLOWED.into()
                }
                Some(s) if s.is_playing() => {
                    return StatusCode::METHOD_NOT_VALID_IN_THIS_STATE.into()
                }
                Some(s) => Some(s.key),
            },
            None => None,
        };
        if existing.is_none() && self.sessions.len() >= self.config.max_sessions {
            return StatusCode::NOT_ENOUGH_BANDWIDTH.into();
        }
        let specs: Vec<Transport> = req
            .headers
            .get_all(&HeaderName::TRANSPORT)
            .filter_map(|v| Transport::parse_list(v).ok())
            .flatten()
            .collect();
        let Some((delivery, mut transport)) = self.choose_transport(conn, peer, bare, &specs)
        else {
            return StatusCode::UNSUPPORTED_TRANSPORT.into();
        };
        let key = match existing {
            Some(key) => {
                // Its connections and delivery change: re-index.
                self.unlink(key);
                if let Some(s) = self.sessions.get_mut(&key) {
                    s.delivery = delivery;
                    s.control = Some(conn);
                    s.peer = peer;
                    s.track_url = req.uri.clone();
                }
                self.link(key);
                key
            }
            None => {
                let media = match self.lookup(&name) {
                    Ok(m) => m,
                    Err(r) => return r,
                };
                let id = self.new_session_id();
                let mut session = Session::new(
                    id.clone(),
                    peer,
                    name,
                    media,
                    req.uri.clone(),
                    delivery,
                    self.config.loop_media,
                    &mut self.rng,
                    self.now,
                );
                session.control = Some(conn);
                let key = self.insert_session(session);
                self.schedule_session(key);
                self.event(ServerEvent::SessionCreated { session: id, peer });
                key
            }
        };
        let Some(s) = self.sessions.get(&key) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into();
        };
        if !s.is_lab() {
            transport.ssrc = Some(s.ssrc);
        }
        let mut reply =
            Reply::new(StatusCode::OK).header(HeaderName::TRANSPORT, transport.to_string());
        reply.session = Some(self.session_header(s));
        reply
    }

    /// The first transport spec we can serve: its delivery and the reply's Transport
    /// (without `ssrc`).
    fn choose_transport(
        &self,
        conn: ConnId,
        peer: SocketAddr,
        bare: bool,
        specs: &[Transport],
    ) -> Option<(Delivery, Transport)> {
        for spec in specs {
            if !spec.unicast || spec.mode == Some(TransportMode::Record) {
                continue;
            }
            match spec.lower {
                LowerTransport::Udp => {
                    let Some((rtp_port, rtcp_port)) = spec.client_port else {
                        continue;
                    };
                    let rtp = SocketAddr::new(peer.ip(), rtp_port);
                    if rtp_port == 0 {
                        continue;
                    }
                    let mut reply = Transport::new(LowerTransport::Udp);
                    reply.protocol = spec.protocol.clone();
                    if bare && spec.protocol.eq_ignore_ascii_case("RTP/UDP") {
                        reply.client_port = Some((rtp_port, None));
                        reply.server_port = Some((self.config.rtp_local.port(), None));
                        return Some((Delivery::Lab { rtp }, reply));
                    }
                    let Some(rtcp_port) = rtcp_port.or(rtp_port.checked_add(1)) else {
                        continue;
                    };
                    reply.client_port = Some((rtp_port, Some(rtcp_port)));
                    reply.server_port = Some((
                        self.config.rtp_local.port(),
                        Some(self.config.rtcp_local.port()),
                    ));
                    let rtcp = SocketAddr::new(peer.ip(), rtcp_port);
                    return Some((Delivery::Udp { rtp, rtcp }, reply));
                }
                LowerTransport::Tcp => {
                    // The channels in use on this connection: its own sessions only.
                    let mut used = ChannelSet::default();
                    let mine = self.conns.get(&conn).map_or(&[][..], |c| &c.sessions);
                    for s in mine.iter().filter_map(|k| self.sessions.get(k)) {
                        if let Delivery::Interleaved {
                            conn: c,
                            rtp_channel,
                            rtcp_channel,
                        } = s.delivery
                        {
                            if c == conn {
                                used.insert(rtp_channel);
                                used.insert(rtcp_channel);
                            }
                        }
                    }
                    let requested = spec.interleaved.and_then(|(a, b)| {
                        let b = b.or(a.checked_add(1))?;
                        (a != b && !used.contains(a) && !used.contains(b)).then_some((a, b))
                    });
                    let free = || {
                        (0..=127u8)
                            .map(|i| (2 * i, 2 * i + 1))
                            .find(|&(a, b)| !used.contains(a) && !used.contains(b))
                    };
                    let Some((a, b)) = requested.or_else(free) else {
                        continue;
                    };
                    let mut reply = Transport::new(LowerTransport::Tcp);
                    reply.protocol = spec.protocol.clone();
                    reply.interleaved = Some((a, Some(b)));
                    return Some((
                        Delivery::Interleaved {
                            conn,
                            rtp_channel: a,
                            rtcp_channel: b,
                        },
                        reply,
                    ));
                }
            }
        }
        None
    }

    /// The session a PLAY/PAUSE/TEARDOWN applies to: 455 without a Session header (nothing
    /// was set up), 454 for an unknown one, 404 if the URI names another stream.
    fn session_for(&self, req: &Request) -> Result<u64, Reply> {
        let Some(id) = session_id(req) else {
            return Err(StatusCode::METHOD_NOT_VALID_IN_THIS_STATE.into());
        };
        let Some(s) = self.session(&id) else {
            return Err(StatusCode::SESSION_NOT_FOUND.into());
        };
        match path::parse_target(&req.uri)? {
            Target::Server => {}
            Target::Stream { name, track, .. } => {
                if name != s.stream || track.is_some_and(|t| t != 0) {
                    return Err(StatusCode::NOT_FOUND.into());
                }
            }
        }
        Ok(s.key)
    }

    fn play(&mut self, req: &Request) -> Reply {
        let key = match self.session_for(req) {
            Ok(key) => key,
            Err(r) => return r,
        };
        let now = self.now;
        let header = self.sessions.get(&key).map(|s| self.session_header(s));
        let Some(s) = self.sessions.get_mut(&key) else {
            return StatusCode::SESSION_NOT_FOUND.into();
        };
        let seek = match req.headers.get(&HeaderName::RANGE) {
            None => None,
            Some(v) => match Range::parse(v) {
                Ok(Range::Npt {
                    start: NptTime::Now,
                    ..
                }) => None,
                Ok(Range::Npt {
                    start: NptTime::Seconds(x),
                    ..
                }) if x.is_finite() && x >= 0.0 => {
                    // The frame at or before X (a little slack for decimal rounding).
                    let frame = (x * s.media.fps() + 1e-6).floor();
                    if frame >= s.media.frame_count() as f64 {
                        return StatusCode::INVALID_RANGE.into();
                    }
                    Some(frame as usize)
                }
                _ => return StatusCode::INVALID_RANGE.into(),
            },
        };
        if !s.is_playing() || seek.is_some() {
            s.play(now, seek);
        }

        let range = Range::Npt {
            start: NptTime::Seconds(s.position_secs()),
            end: (!s.looping).then(|| NptTime::Seconds(s.media.duration().as_secs_f64())),
        };
        let rtp_info = RtpInfo {
            url: s.track_url.clone(),
            seq: Some(s.next_seq()),
            rtptime: Some(s.rtp_time(s.k)),
        };
        let mut reply = Reply::new(StatusCode::OK)
            .header(HeaderName::RANGE, range.to_string())
            .header(HeaderName::RTP_INFO, rtp_info.to_string());
        reply.session = header;
        self.schedule_session(key);
        reply
    }

    fn pause(&mut self, req: &Request) -> Reply {
        let key = match self.session_for(req) {
            Ok(key) => key,
            Err(r) => return r,
        };
        let header = self.sessions.get(&key).map(|s| self.session_header(s));
        let Some(s) = self.sessions.get_mut(&key) else {
            return StatusCode::SESSION_NOT_FOUND.into();
        };
        s.pause();
        let range = Range::from_start(NptTime::Seconds(s.position_secs())).to_string();
        let mut reply = Reply::new(StatusCode::OK).header(HeaderName::RANGE, range);
        reply.session = header;
        reply
    }

    fn teardown(&mut self, req: &Request) -> Reply {
        let key = match self.session_for(req) {
            Ok(key) => key,
            Err(r) => return r,
        };
        let mut reply = Reply::new(StatusCode::OK);
        reply.session = self.sessions.get(&key).map(|s| s.id.clone());
        // The BYE and the event follow the reply.
        let mark = self.out.len();
        self.close_session(key, CloseReason::Teardown, true);
        let after: Vec<_> = self.out.drain(mark..).collect();
        reply.after = after;
        reply
    }

    fn parameter(&mut self, req: &Request, set: bool) -> Reply {
        let mut reply = Reply::new(StatusCode::OK);
        if let Some(id) = session_id(req) {
            match self.session(&id) {
                Some(s) => reply.session = Some(self.session_header(s)),
                None => return StatusCode::SESSION_NOT_FOUND.into(),
            }
        }
        if set && !req.body.iter().all(u8::is_ascii_whitespace) {
            reply.status = StatusCode::PARAMETER_NOT_UNDERSTOOD;
        }
        reply
    }

    // ----------------------------------------------------------------------------------
    // Sessions and timers

    /// What a session needs to send (for one that is out of `sessions`).
    fn tx(&mut self) -> Tx<'_> {
        Tx {
            rtp_local: self.config.rtp_local,
            rtcp_local: self.config.rtcp_local,
            max_rate: self.config.max_session_rate,
            lab_max_packet: self.config.lab_max_packet,
            wallclock: self.wallclock(),
            rng: &mut self.rng,
            out: &mut self.out,
        }
    }

    fn close_session(&mut self, key: u64, reason: CloseReason, bye: bool) {
        let now = self.now;
        let Some(mut s) = self.remove_session(key) else {
            return;
        };
        if bye {
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

    /// Puts a session's next wake-up into the timer heap if it is earlier than the entry
    /// there (later wake-ups are found when that entry comes due).
    fn schedule_session(&mut self, key: u64) {
        let timeout = self.config.session_timeout;
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        let Some(at) = session_wake(s, expires(&self.conns, s), timeout) else {
            return;
        };
        if s.timer_at.is_none_or(|t| at < t) {
            s.timer_at = Some(at);
            self.timers.push(Reverse((at, TimerKey::Session(s.key))));
        }
    }

    /// Puts a connection's next deadline (a lower bound: the idle timeout is included even
    /// if the connection holds a session) into the timer heap.
    fn schedule_conn(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let at = [
            c.flush_at,
            c.partial_since.map(|t| t + self.config.request_timeout),
            Some(c.last_request + self.config.idle_timeout),
        ]
        .into_iter()
        .flatten()
        .min();
        // Connection deadlines move both ways (a request pushes the idle timeout back):
        // re-arm on any change; the old entry goes stale.
        if at != c.timer_at {
            c.timer_at = at;
            if let Some(at) = at {
                self.timers.push(Reverse((at, TimerKey::Conn(conn))));
            }
        }
    }

    /// Fire everything due at `now` (lab flushes, timeouts, frames, sender reports): only
    /// the entries at the top of the timer heap, not every session.
    fn run_timers(&mut self) {
        let now = self.now;
        while let Some(&Reverse((at, key))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            match key {
                TimerKey::Conn(conn) => self.conn_timer(conn, at),
                TimerKey::Session(key) => self.session_timer(key, at),
            }
        }
    }

    fn conn_timer(&mut self, conn: ConnId, at: Instant) {
        let now = self.now;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.timer_at != Some(at) {
            return; // stale
        }
        c.timer_at = None;
        if c.flush_at.is_some_and(|t| t <= now) {
            c.flush_at = None;
            self.decode(conn, true);
        }
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let held = !c.sessions.is_empty();
        match self.conn_deadline(c, held) {
            Some((t, partial)) if t <= now => self.cut_connection(conn, partial),
            Some((t, _)) => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    let t = c.flush_at.map_or(t, |f| f.min(t));
                    if c.timer_at.is_none_or(|x| t < x) {
                        c.timer_at = Some(t);
                        self.timers.push(Reverse((t, TimerKey::Conn(conn))));
                    }
                }
            }
            None => self.schedule_conn_flush(conn),
        }
    }

    /// Re-arms only the lab flush timer of a connection that has no other deadline.
    fn schedule_conn_flush(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            if let Some(t) = c.flush_at {
                if c.timer_at.is_none_or(|x| t < x) {
                    c.timer_at = Some(t);
                    self.timers.push(Reverse((t, TimerKey::Conn(conn))));
                }
            }
        }
    }

    fn session_timer(&mut self, key: u64, at: Instant) {
        let now = self.now;
        let timeout = self.config.session_timeout;
        let wallclock = self.wallclock();
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        if s.timer_at != Some(at) {
            return; // stale
        }
        s.timer_at = None;
        let expires = expires(&self.conns, s);
        if expires && s.last_seen + timeout <= now {
            self.close_session(key, CloseReason::Timeout, false);
            return;
        }
        let mut tx = Tx {
            rtp_local: self.config.rtp_local,
            rtcp_local: self.config.rtcp_local,
            max_rate: self.config.max_session_rate,
            lab_max_packet: self.config.lab_max_packet,
            wallclock,
            rng: &mut self.rng,
            out: &mut self.out,
        };
        s.pump(now, &mut tx);
        if let Some(next) = session_wake(s, expires, timeout) {
            // Never due again at `now`: that would spin (pump always moves past `now`).
            let next = next.max(now + Duration::from_micros(1));
            s.timer_at = Some(next);
            self.timers.push(Reverse((next, TimerKey::Session(key))));
        }
    }

    /// When a connection times out (`true`: an incomplete request, `false`: idle).
    fn conn_deadline(&self, c: &Conn, holds_session: bool) -> Option<(Instant, bool)> {
        let partial = c
            .partial_since
            .map(|t| (t + self.config.request_timeout, true));
        let idle = (!holds_session).then(|| (c.last_request + self.config.idle_timeout, false));
        partial.into_iter().chain(idle).min_by_key(|(t, _)| *t)
    }

    /// Closes a connection whose request is too slow (408) or which idles without a session.
    fn cut_connection(&mut self, conn: ConnId, partial: bool) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let peer = c.peer;
        if partial {
            let mut resp = Response::new(StatusCode::REQUEST_TIMEOUT);
            // The CSeq, if the partial request has a complete `CSeq` line already (a line still
            // arriving may be cut short: `CSeq: 1` of `CSeq: 12`).
            let complete = c.buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            if let Some(cseq) = sniff_cseq(&c.buf[..complete]) {
                resp.headers.append(HeaderName::CSEQ, cseq.to_string());
            }
            self.common_headers(&mut resp);
            self.out.push_back(Emit::Output(Output::Transmit(Transmit {
                dest: Dest::Stream(conn),
                data: resp.to_bytes(),
            })));
        }
        let limit = if partial {
            Limit::RequestTimeout
        } else {
            Limit::IdleTimeout
        };
        self.event(ServerEvent::LimitExceeded { peer, limit });
        self.drop_conn(conn, true);
    }

    /// The earliest live timer, after dropping stale entries from the top of the heap.
    fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, key))) = self.timers.peek() {
            let live = match key {
                TimerKey::Conn(c) => self.conns.get(&c).is_some_and(|c| c.timer_at == Some(at)),
                TimerKey::Session(k) => self
                    .sessions
                    .get(&k)
                    .is_some_and(|s| s.timer_at == Some(at)),
            };
            if live {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }
}

/// A set of interleaved channel numbers (0..=255).
#[derive(Default)]
struct ChannelSet([u64; 4]);

impl ChannelSet {
    fn insert(&mut self, ch: u8) {
        self.0[usize::from(ch >> 6)] |= 1 << (ch & 63);
    }

    fn contains(&self, ch: u8) -> bool {
        self.0[usize::from(ch >> 6)] & (1 << (ch & 63)) != 0
    }
}

/// A rendered DESCRIBE body and what it was rendered from.
struct SdpEntry {
    /// The media (weak: the cache does not keep a stream the catalog dropped alive, and the
    /// allocation it points to is not reused while this exists, so pointer equality is
    /// identity).
    media: Weak<Media>,
    /// The wall-clock second in the `o=` line.
    secs: u64,
    body: Bytes,
}

/// Most DESCRIBE bodies cached.
const SDP_CACHE: usize = 8;

/// Whether a session can expire: not while the connection it dies with is open (the
/// course-lab client sends nothing while it plays). Interleaved sessions are refreshed by
/// every byte on their connection instead.
fn expires(conns: &BTreeMap<ConnId, Conn>, s: &Session) -> bool {
    !(s.is_lab() && s.conn().is_some_and(|c| conns.contains_key(&c)))
}

/// When a session next needs attention: its next frame, its next SR or its expiry.
fn session_wake(s: &Session, expires: bool, timeout: Duration) -> Option<Instant> {
    [
        expires.then(|| s.last_seen + timeout),
        s.next_frame_due(),
        s.next_sr,
    ]
    .into_iter()
    .flatten()
    .min()
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
        self.run_timers();
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

/// The session id of a request's `Session` header.
fn session_id(req: &Request) -> Option<String> {
    let v = req.headers.get(&HeaderName::SESSION)?;
    match SessionHeader::parse(v) {
        Ok(s) => Some(s.id),
        // Unparseable: keep what precedes any parameter, so the lookup fails with 454.
        Err(_) => Some(v.split(';').next().unwrap_or("").trim().to_string()),
    }
}

/// `Content-Base`: the presentation URL (track suffix removed) with a trailing slash.
fn content_base(uri: &str) -> String {
    let uri = &uri[..uri.find(['?', '#']).unwrap_or(uri.len())];
    let mut base = uri.to_string();
    if let Ok(Target::Stream { track: Some(_), .. }) = path::parse_target(uri) {
        let trimmed = base.trim_end_matches('/');
        if let Some((head, _)) = trimmed.rsplit_once('/') {
            base = head.to_string();
        }
    }
    if !base.ends_with('/') {
        base.push('/');
    }
    base
}

/// A course-lab request: the first line is LF-terminated (no CR) and names a bare file.
fn looks_lab(buf: &[u8]) -> bool {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        return false;
    };
    let line = &buf[..nl];
    if line.contains(&b'\r') {
        return false;
    }
    let Ok(line) = std::str::from_utf8(line) else {
        return false;
    };
    let mut parts = line.split_ascii_whitespace();
    let (Some(_method), Some(uri), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    version.starts_with("RTSP/") && path::is_bare(uri)
}

/// Best effort: the CSeq of the (unparseable) message at the front of `buf`.
fn sniff_cseq(buf: &[u8]) -> Option<u32> {
    let head = &buf[..buf.len().min(16 * 1024)];
    let text = String::from_utf8_lossy(head);
    for line in text.lines().skip(1) {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("cseq") {
                return value.trim().parse().ok();
            }
        }
    }
    None
}
