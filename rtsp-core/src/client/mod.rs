//! The sans-IO RTSP/1.0 client machine: [`Client`].
//!
//! One `Client` plays one RTSP presentation (its first JPEG video track). It owns no socket and
//! reads no clock; a runtime drives it through the [`Machine`] loop of [`crate::io`]:
//!
//! ```text
//!   runtime                                        Client
//!   -------                                        ------
//!   connect TCP to client.server()  ----------->   Input::Connected { conn, peer }
//!   bind UDP ports, call client.setup(Udp{..})     (requests made before Connected are queued)
//!   control bytes                   ----------->   Input::Stream { conn, data }
//!   datagram on rtp/rtcp socket     ----------->   Input::Datagram { local, remote, data }
//!   deadline passed                 ----------->   Input::Timeout(now)
//!                                   <-----------   Output::Transmit { Dest::Stream(conn) | Dest::Udp{local, remote} }
//!                                   <-----------   Output::Event(ClientEvent::{Described, SetupDone, Frame, ...})
//!                                   <-----------   Output::Close(conn)
//!   sleep until (or next socket event) <--------   Output::Timeout(deadline)   (always last)
//! ```
//!
//! After every `handle_input` and after every API call (`options`, `describe`, `setup`, `play`,
//! `pause`, `teardown`, `close`), drain [`Machine::poll_output`] until it returns
//! [`Output::Timeout`]. API calls carry no `now`: a request sent from one gets its timeout armed
//! at the next input, so the deadline returned right after such a call may already have passed —
//! the runtime then feeds `Input::Timeout(now)` at once, as for any passed deadline.
//!
//! The calls return the request's CSeq, or an [`ApiError`] when the call is not valid in the
//! current state (PLAY before SETUP, a second SETUP while one is outstanding ...): nothing is
//! sent then. Responses are matched by CSeq (whatever the header's spelling) and reported as
//! [`ClientEvent::Response`] plus one outcome event ([`ClientEvent::Described`],
//! [`ClientEvent::SetupDone`], [`ClientEvent::Playing`], [`ClientEvent::Paused`],
//! [`ClientEvent::TornDown`] or [`ClientEvent::RequestFailed`]).
//!
//! Timers the client owns: one timeout per outstanding request; the keepalive
//! (GET_PARAMETER when the OPTIONS reply's `Public` lists it, else OPTIONS, every
//! min(T/2, T−5) s of the session timeout T) while a session exists; RTCP receiver reports
//! (~5 s, over UDP to the server's RTCP port or on the odd interleaved channel); the
//! reordering buffer's wait; the end-of-stream grace after an RTCP BYE over UDP; and, in the
//! lab dialect, the end of an unterminated reply.
//!
//! Media: RTP arrives on `rtp_local` or the even interleaved channel. Packets from an SSRC other
//! than the locked one (from the SETUP reply, else the first packet) are ignored. Over UDP a
//! small reordering buffer puts packets back in sequence order; the RFC 2435 depacketizer then
//! emits complete JPEGs as [`ClientEvent::Frame`] and drops (and counts) frames with a missing
//! fragment. [`Client::stats`] gives RFC 3550 loss and jitter. The first PLAY reply's
//! `RTP-Info: seq=` (the track's entry, else the only one) names the first packet: the
//! reordering buffer waits for it and loss counts from it — unless the first packet that
//! arrives is more than 100 after it, or before it (a wrong announcement): then that packet is
//! the start.
//!
//! Losing the control connection while a session exists (Ready or Playing) or a request is
//! outstanding is [`ClientError::ConnectionLost`], then [`ClientEvent::Closed`]. A server that
//! falls silent — two keepalives in a row unanswered and no RTP/RTCP for the session timeout
//! (a partition, a dead host) — is [`ClientError::ServerSilent`]: the client closes.
//!
//! The end of the stream: an RTCP BYE from the media source (not one answering our TEARDOWN)
//! is reported once as [`ClientEvent::EndOfStream`], after every frame that can still be
//! completed; the application usually answers with TEARDOWN. Over UDP, RTP and RTCP come
//! through different sockets (and reader threads), so the last RTP may be handled after the
//! BYE: the end is reported [`ClientConfig::end_of_stream_grace`] after the BYE (a deadline
//! like any other), RTP arriving until then still makes frames, and packets still held for
//! reordering are released then. TEARDOWN or close during the grace cancels the report; a
//! PLAY reply during it reports the end at once (before [`ClientEvent::Playing`]). Over TCP
//! the end is reported at once, after the frames already received on the connection.
//!
//! Authentication: with credentials in the URL (`rtsp://user:pass@host/...`), a `401` is
//! answered once per request with the strongest challenge offered (Digest SHA-256, Digest
//! MD5, Basic; see [`crate::auth`]) and every later request carries a fresh `Authorization`.
//! A second 401 (or a 401 without credentials) is a [`ClientEvent::RequestFailed`], unless the
//! server marks the nonce `stale`.
//!
//! Redirects: a 3xx with `Location` is reported as [`ClientEvent::Redirected`]; following it
//! needs a new connection, so the application creates a new `Client` for the location.
//!
//! With [`ClientConfig::trace_messages`] every RTSP message sent or received is also reported
//! as [`ClientEvent::Trace`] (for `-v` logs).
//!
//! The lab dialect ([`Dialect::Lab`]) sends the course lab's LF-only requests
//! (`SETUP movie.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000\n\n`), one at
//! a time, and takes each RTP packet as one whole JPEG.

mod config;
mod describe;
mod event;
mod loss;
mod media;
mod reorder;
mod target;
#[cfg(test)]
mod tests;
mod timer;

pub use config::{ClientConfig, Dialect, TransportChoice, DEFAULT_END_OF_STREAM_GRACE};
pub use event::{
    ApiError, ClientError, ClientEvent, ClientState, ClientStats, Presentation, Track,
};

use core::net::SocketAddr;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use self::media::{Media, MediaOptions, Path};
use self::target::Target;
use self::timer::{Timer, TimerTable};
use crate::auth::{Challenge, Credentials, DigestState};
use crate::io::{ConnId, Dest, Input, Machine, Output, Transmit};
use crate::message::headers::{Public, Range, RtpInfo, Session, Transport};
use crate::message::{
    write_interleaved, Decoded, Decoder, HeaderName, Message, Method, ParseError, Request,
    Response, StatusCode,
};
use crate::url::RtspUrl;

/// What a request was for (decides how its response is handled).
#[derive(Debug, Clone)]
enum Kind {
    /// OPTIONS asked for by the application.
    Options,
    /// A keepalive (GET_PARAMETER or OPTIONS).
    Keepalive,
    /// DESCRIBE of this URL.
    Describe { url: String },
    /// SETUP with this transport.
    Setup { choice: TransportChoice },
    /// PLAY.
    Play,
    /// PAUSE.
    Pause,
    /// TEARDOWN.
    Teardown,
}

impl Kind {
    /// Requests that change the session state: only one may be outstanding.
    fn is_state_changing(&self) -> bool {
        matches!(
            self,
            Self::Describe { .. } | Self::Setup { .. } | Self::Play | Self::Pause
        )
    }
}

/// A request written (or waiting to be written) to the control connection.
#[derive(Debug)]
struct Pending {
    cseq: u32,
    method: Method,
    kind: Kind,
    /// Bytes not yet sent (not connected yet, or the lab dialect's one-at-a-time rule).
    unsent: Option<Vec<u8>>,
    /// When it times out; `None` until sent and the time is known.
    deadline: Option<Instant>,
    /// Request-URI and extra headers, to send it again with credentials after a 401.
    uri: String,
    headers: Vec<(HeaderName, String)>,
    /// This is already the retry with credentials.
    auth_retry: bool,
}

/// Consecutive unanswered keepalives after which a server that also sends no RTP/RTCP for the
/// session timeout is given up on ([`ClientError::ServerSilent`]).
const SILENT_KEEPALIVES: u32 = 2;

/// The session the server gave us.
#[derive(Debug, Clone)]
struct SessionInfo {
    id: String,
    timeout: Duration,
    /// The SETUP request-URI (the track's URL, to find its `RTP-Info` entry).
    track_url: String,
    /// Keepalives in a row that got no response (any response resets it).
    keepalive_misses: u32,
    /// When the session was set up or last (re)started playing: silence counts from the later
    /// of this and the last RTP/RTCP packet.
    heard_at: Instant,
}

/// splitmix64: a small deterministic PRNG for our SSRC and RTCP interval jitter.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `base` (at most a day) × a factor uniformly in [0.5, 1.5).
    fn jittered(&mut self, base: Duration) -> Duration {
        let f = 0.5 + (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        base.min(Duration::from_secs(86_400)).mul_f64(f)
    }
}

/// The sans-IO RTSP client. See the [module docs](self) for the I/O loop.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    target: Target,
    state: ClientState,
    /// Latest time seen in an input.
    now: Instant,
    epoch: Instant,
    conn: Option<ConnId>,
    peer: Option<SocketAddr>,
    decoder: Decoder,
    rx: BytesMut,
    next_cseq: u32,
    /// Outstanding requests, oldest first (sent or still queued).
    pending: VecDeque<Pending>,
    out: VecDeque<Output<ClientEvent>>,
    session: Option<SessionInfo>,
    /// The OPTIONS reply's `Public` listed GET_PARAMETER.
    get_parameter_ok: bool,
    presentation: Option<Presentation>,
    media: Option<Media>,
    /// Statistics of the last media receiver, once it is gone.
    final_stats: ClientStats,
    /// A request was sent from an API call: its deadline waits for the next input's `now`.
    need_now: bool,
    timers: TimerTable,
    rng: Rng,
    our_ssrc: u32,
    cname: String,
    /// Credentials from the URL, if any.
    credentials: Option<Credentials>,
    /// The challenge being answered, once the server asked for authentication.
    auth: Option<(Challenge, DigestState)>,
}

impl Client {
    /// A client for `config`, created at `now`. Fails when the URL (or lab file) is unusable.
    pub fn new(config: ClientConfig, now: Instant) -> Result<Self, ClientError> {
        let target = Target::from_config(&config)?;
        let mut rng = Rng(config.seed);
        let our_ssrc = rng.next_u64() as u32;
        let cname = config
            .cname
            .clone()
            .unwrap_or_else(|| format!("rtsp-core-{our_ssrc:08x}@client"));
        let decoder = Decoder::new(config.limits).with_lenient(config.dialect == Dialect::Lab);
        let credentials = target
            .url
            .credentials()
            .map(|(u, p)| Credentials::new(u, p));
        Ok(Self {
            config,
            target,
            state: ClientState::Init,
            now,
            epoch: now,
            conn: None,
            peer: None,
            decoder,
            rx: BytesMut::new(),
            next_cseq: 1,
            pending: VecDeque::new(),
            out: VecDeque::new(),
            session: None,
            get_parameter_ok: false,
            presentation: None,
            media: None,
            final_stats: ClientStats::default(),
            need_now: false,
            timers: TimerTable::default(),
            rng,
            our_ssrc,
            cname,
            credentials,
            auth: None,
        })
    }

    fn cfg(&self) -> &ClientConfig {
        &self.config
    }

    fn is_lab(&self) -> bool {
        self.cfg().dialect == Dialect::Lab
    }

    // ----------------------------------------------------------------------------------------
    // Getters

    /// Host and port the runtime should connect the control (TCP) connection to.
    pub fn server(&self) -> (&str, u16) {
        (self.target.url.host(), self.target.url.port())
    }

    /// The configured URL, parsed (credentials included; the lab dialect's `host:port` reads as
    /// `rtsp://host:port`).
    pub fn url(&self) -> &RtspUrl {
        &self.target.url
    }

    /// The request-URI of DESCRIBE (and of SETUP without DESCRIBE): the URL without
    /// credentials; in the lab dialect, the file name.
    pub fn request_url(&self) -> &str {
        &self.target.request_uri
    }

    /// The session state.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The session id, once SETUP succeeded.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.id.as_str())
    }

    /// The described presentation, once DESCRIBE succeeded.
    pub fn presentation(&self) -> Option<&Presentation> {
        self.presentation.as_ref()
    }

    /// Reception statistics (all zero before SETUP).
    ///
    /// After TEARDOWN or close they stay frozen at their last values (for a final report).
    pub fn stats(&self) -> ClientStats {
        self.media.as_ref().map_or(self.final_stats, Media::stats)
    }

    /// Drop the media receiver, keeping its statistics.
    fn drop_media(&mut self) {
        if let Some(media) = self.media.take() {
            self.final_stats = media.stats();
        }
    }

    // ----------------------------------------------------------------------------------------
    // Application commands

    fn check(&self, method: Method, allowed: &[ClientState]) -> Result<(), ApiError> {
        if self.state == ClientState::Closed {
            return Err(ApiError::Closed);
        }
        if !allowed.contains(&self.state) {
            return Err(ApiError::InvalidState {
                method,
                state: self.state,
            });
        }
        if let Some(p) = self.pending.iter().find(|p| p.kind.is_state_changing()) {
            return Err(ApiError::Busy {
                method,
                pending: p.method.clone(),
            });
        }
        if self
            .pending
            .iter()
            .any(|p| matches!(p.kind, Kind::Teardown))
        {
            return Err(ApiError::Busy {
                method,
                pending: Method::Teardown,
            });
        }
        Ok(())
    }

    fn not_in_lab(&self, method: Method) -> Result<(), ApiError> {
        if self.is_lab() {
            Err(ApiError::NotSupported {
                method,
                dialect: Dialect::Lab,
            })
        } else {
            Ok(())
        }
    }

    /// The URL PLAY, PAUSE, TEARDOWN and keepalives go to.
    fn aggregate_url(&self) -> String {
        match &self.presentation {
            Some(p) => p.aggregate_url.clone(),
            None => self.target.request_uri.clone(),
        }
    }

    /// Send OPTIONS (standard dialect). Its `Public` decides the keepalive method.
    pub fn options(&mut self) -> Result<u32, ApiError> {
        if self.state == ClientState::Closed {
            return Err(ApiError::Closed);
        }
        self.not_in_lab(Method::Options)?;
        let uri = self.target.request_uri.clone();
        Ok(self.send(Method::Options, &uri, Vec::new(), Kind::Options, None))
    }

    /// Send DESCRIBE for the URL (standard dialect).
    pub fn describe(&mut self) -> Result<u32, ApiError> {
        self.not_in_lab(Method::Describe)?;
        self.check(Method::Describe, &[ClientState::Init])?;
        let uri = self.target.request_uri.clone();
        let headers = vec![(HeaderName::ACCEPT, "application/sdp".to_string())];
        let kind = Kind::Describe { url: uri.clone() };
        Ok(self.send(Method::Describe, &uri, headers, kind, None))
    }

    /// Send SETUP for track 0: the first JPEG video track of the SDP, or — without DESCRIBE —
    /// the URL itself (lab: the file name). The application has bound the UDP ports.
    pub fn setup(&mut self, transport: TransportChoice) -> Result<u32, ApiError> {
        self.check(Method::Setup, &[ClientState::Init])?;
        let (uri, value) = match (self.cfg().dialect, transport) {
            (Dialect::Lab, TransportChoice::Tcp) => {
                return Err(ApiError::NotSupported {
                    method: Method::Setup,
                    dialect: Dialect::Lab,
                })
            }
            (Dialect::Lab, TransportChoice::Udp { rtp_local, .. }) => {
                // Exactly this spacing: the lab server takes the 4th space-separated token.
                (
                    self.target.request_uri.clone(),
                    format!("RTP/UDP; client_port= {}", rtp_local.port()),
                )
            }
            (Dialect::Standard, choice) => {
                let uri = match &self.presentation {
                    Some(p) => match p.selected {
                        Some(i) => p.tracks[i].control_url.clone(),
                        None => self.target.request_uri.clone(),
                    },
                    None => self.target.request_uri.clone(),
                };
                let value = match choice {
                    TransportChoice::Udp {
                        rtp_local,
                        rtcp_local,
                    } => format!(
                        "RTP/AVP;unicast;client_port={}-{}",
                        rtp_local.port(),
                        rtcp_local.port()
                    ),
                    TransportChoice::Tcp => "RTP/AVP/TCP;unicast;interleaved=0-1".to_string(),
                };
                (uri, value)
            }
        };
        let headers = vec![(HeaderName::TRANSPORT, value)];
        Ok(self.send(
            Method::Setup,
            &uri,
            headers,
            Kind::Setup { choice: transport },
            None,
        ))
    }

    /// Send PLAY to the aggregate URL, with an optional `Range` (e.g. `npt=10-` to seek).
    /// Valid in Ready (and in Playing, to seek).
    pub fn play(&mut self, range: Option<Range>) -> Result<u32, ApiError> {
        self.check(Method::Play, &[ClientState::Ready, ClientState::Playing])?;
        let mut headers = Vec::new();
        if let (Some(r), false) = (range, self.is_lab()) {
            headers.push((HeaderName::RANGE, r.to_string()));
        }
        let uri = self.aggregate_url();
        Ok(self.send(Method::Play, &uri, headers, Kind::Play, None))
    }

    /// Send PAUSE. Valid in Playing.
    pub fn pause(&mut self) -> Result<u32, ApiError> {
        self.check(Method::Pause, &[ClientState::Playing])?;
        let uri = self.aggregate_url();
        Ok(self.send(Method::Pause, &uri, Vec::new(), Kind::Pause, None))
    }

    /// Send TEARDOWN (and an RTCP BYE). Valid while a session exists, even with another request
    /// outstanding. The control connection stays open afterwards (see [`Client::close`]).
    pub fn teardown(&mut self) -> Result<u32, ApiError> {
        if self.state == ClientState::Closed {
            return Err(ApiError::Closed);
        }
        if self.session.is_none() {
            return Err(ApiError::InvalidState {
                method: Method::Teardown,
                state: self.state,
            });
        }
        if self
            .pending
            .iter()
            .any(|p| matches!(p.kind, Kind::Teardown))
        {
            return Err(ApiError::Busy {
                method: Method::Teardown,
                pending: Method::Teardown,
            });
        }
        let now = self.now;
        // The session ends: an end of stream still in its grace is not reported.
        if let Some(media) = self.media.as_mut() {
            media.take_end_grace();
        }
        self.send_rtcp(now, true);
        self.timers.stop(Timer::Keepalive);
        self.timers.stop(Timer::Rtcp);
        let uri = self.aggregate_url();
        Ok(self.send(Method::Teardown, &uri, Vec::new(), Kind::Teardown, None))
    }

    /// Close the control connection ([`Output::Close`]) and end the client
    /// ([`ClientEvent::Closed`]). Does not send TEARDOWN. Harmless when already closed.
    pub fn close(&mut self) {
        self.shut_down(None, true);
    }

    // ----------------------------------------------------------------------------------------
    // Requests

    /// Build a request, queue it, and write it if possible. Returns its CSeq.
    fn send(
        &mut self,
        method: Method,
        uri: &str,
        headers: Vec<(HeaderName, String)>,
        kind: Kind,
        now: Option<Instant>,
    ) -> u32 {
        self.send_with(method, uri, headers, kind, now, false)
    }

    fn send_with(
        &mut self,
        method: Method,
        uri: &str,
        headers: Vec<(HeaderName, String)>,
        kind: Kind,
        now: Option<Instant>,
        auth_retry: bool,
    ) -> u32 {
        let cseq = self.next_cseq;
        self.next_cseq = self.next_cseq.wrapping_add(1).max(1);
        let session = self.session.as_ref().map(|s| s.id.clone());
        let data = if self.is_lab() {
            // The lab's exact format: LF only, CSeq on line 2, Transport or Session on line 3.
            let mut s = format!("{method} {uri} RTSP/1.0\nCSeq: {cseq}\n");
            for (name, value) in &headers {
                s.push_str(&format!("{name}: {value}\n"));
            }
            if let (Some(id), false) = (&session, method == Method::Setup) {
                s.push_str(&format!("Session: {id}\n"));
            }
            s.push('\n');
            s.into_bytes()
        } else {
            let mut req = Request::new(method.clone(), uri)
                .with_header(HeaderName::CSEQ, cseq.to_string())
                .with_header(HeaderName::USER_AGENT, self.cfg().user_agent.clone());
            for (name, value) in &headers {
                req.headers.append(name.clone(), value.clone());
            }
            if let (Some((challenge, state)), Some(creds)) = (self.auth.as_mut(), &self.credentials)
            {
                let value = challenge.authorization(creds, method.as_str(), uri, state);
                req.headers.append(HeaderName::AUTHORIZATION, value);
            }
            if let Some(id) = session {
                req.headers.append(HeaderName::SESSION, id);
            }
            req.to_bytes()
        };
        self.pending.push_back(Pending {
            cseq,
            method,
            kind,
            unsent: Some(data),
            deadline: None,
            uri: uri.to_string(),
            headers,
            auth_retry,
        });
        self.flush_requests(now);
        cseq
    }

    /// Write queued requests: all of them (standard), or the next one when none is outstanding
    /// (lab). `now`: the current time if known (inside `handle_input`).
    fn flush_requests(&mut self, now: Option<Instant>) {
        let Some(conn) = self.conn else {
            return;
        };
        let lab = self.is_lab();
        let timeout = self.cfg().request_timeout;
        let trace = self.cfg().trace_messages;
        let mut in_flight = self.pending.iter().any(|p| p.unsent.is_none());
        for p in self.pending.iter_mut() {
            let Some(data) = p.unsent.take() else {
                continue;
            };
            if lab && in_flight {
                p.unsent = Some(data);
                break;
            }
            in_flight = true;
            match now {
                Some(now) => p.deadline = Some(after(now, timeout)),
                None => self.need_now = true,
            }
            if trace {
                self.out.push_back(Output::Event(ClientEvent::Trace {
                    outgoing: true,
                    text: String::from_utf8_lossy(&data).into_owned(),
                }));
            }
            self.out.push_back(Output::Transmit(Transmit {
                dest: Dest::Stream(conn),
                data,
            }));
        }
    }

    // ----------------------------------------------------------------------------------------
    // Input handling

    fn on_stream(&mut self, now: Instant, data: &[u8]) {
        let limits = self.cfg().limits;
        // The decoder bounds each message; this bounds what it has not looked at yet.
        let cap = limits.max_head + limits.max_body + 70_000;
        self.rx.extend_from_slice(data);
        loop {
            match self.decoder.decode(&mut self.rx) {
                Ok(Some(item)) => self.on_decoded(now, item),
                Ok(None) => break,
                Err(e) => {
                    self.shut_down(Some(ClientError::Parse(e)), true);
                    return;
                }
            }
            if self.state == ClientState::Closed {
                return;
            }
        }
        if self.rx.len() > cap {
            let e = ParseError::TooLarge {
                what: crate::message::TooLargeKind::Buffered,
                limit: cap,
                offset: self.decoder.stream_offset(),
            };
            self.shut_down(Some(ClientError::Parse(e)), true);
            return;
        }
        if self.is_lab() && !self.rx.is_empty() {
            let at = after(now, self.cfg().lab_reply_delay);
            self.timers.set(Timer::LabFlush, at);
        } else {
            self.timers.stop(Timer::LabFlush);
        }
    }

    /// The lab reply timer fired (or the connection closed): take what is buffered as a reply.
    fn lab_flush(&mut self, now: Instant) {
        self.timers.stop(Timer::LabFlush);
        loop {
            match self.decoder.flush(&mut self.rx) {
                Ok(Some(item)) => self.on_decoded(now, item),
                Ok(None) => break,
                Err(e) => {
                    self.shut_down(Some(ClientError::Parse(e)), true);
                    return;
                }
            }
            if self.rx.is_empty() || self.state == ClientState::Closed {
                break;
            }
        }
    }

    fn on_decoded(&mut self, now: Instant, item: Decoded) {
        if let (Decoded::Message(m), true) = (&item, self.cfg().trace_messages) {
            let text = String::from_utf8_lossy(&m.to_bytes()).into_owned();
            self.emit(ClientEvent::Trace {
                outgoing: false,
                text,
            });
        }
        match item {
            Decoded::Message(Message::Response(resp)) => self.on_response(now, resp),
            Decoded::Message(Message::Request(req)) => self.on_server_request(req),
            Decoded::Interleaved { channel, payload } => {
                if let Some(media) = self.media.as_mut() {
                    match media.channel_role(channel) {
                        Some(true) => media.handle_rtp(now, &payload, &mut self.out),
                        Some(false) => {
                            if let Some(ssrc) = media.handle_rtcp(now, &payload) {
                                self.on_bye(now, ssrc);
                            }
                        }
                        None => {}
                    }
                }
            }
        }
    }

    /// Servers may send requests (ANNOUNCE, GET_PARAMETER, OPTIONS); we implement none.
    fn on_server_request(&mut self, req: Request) {
        let (Some(conn), false) = (self.conn, self.is_lab()) else {
            return;
        };
        let mut resp = Response::new(StatusCode::NOT_IMPLEMENTED);
        if let Some(cseq) = req.cseq() {
            resp.headers.append(HeaderName::CSEQ, cseq.to_string());
        }
        self.out.push_back(Output::Transmit(Transmit {
            dest: Dest::Stream(conn),
            data: resp.to_bytes(),
        }));
    }

    fn on_datagram(&mut self, now: Instant, local: SocketAddr, data: &[u8]) {
        let Some(media) = self.media.as_mut() else {
            return;
        };
        match media.udp_role(local) {
            Some(true) => media.handle_rtp(now, data, &mut self.out),
            Some(false) => {
                if let Some(ssrc) = media.handle_rtcp(now, data) {
                    self.on_bye(now, ssrc);
                }
            }
            None => {}
        }
    }

    /// The media source said BYE (once per media receiver): the end of the stream, unless it
    /// answers our TEARDOWN. Over UDP the last RTP may still be on its way through the other
    /// socket: the end is reported when the grace is over (see [`Client::run_timers`]). Over
    /// TCP everything sent before the BYE was already handled: the end is reported now.
    fn on_bye(&mut self, now: Instant, ssrc: u32) {
        let tearing_down = self
            .pending
            .iter()
            .any(|p| matches!(p.kind, Kind::Teardown));
        if tearing_down {
            return;
        }
        let grace = self.cfg().end_of_stream_grace;
        match self.media.as_mut() {
            Some(media) if media.is_udp() && !grace.is_zero() => {
                media.start_end_grace(ssrc, after(now, grace));
            }
            _ => self.end_stream(ssrc),
        }
    }

    /// Report the end of the stream: first the frames the reordering buffer can still
    /// complete, then [`ClientEvent::EndOfStream`].
    fn end_stream(&mut self, ssrc: u32) {
        if let Some(media) = self.media.as_mut() {
            media.flush(&mut self.out);
        }
        self.emit(ClientEvent::EndOfStream { ssrc });
    }

    fn on_response(&mut self, now: Instant, resp: Response) {
        if resp.status.0 < 200 {
            return; // 1xx: the final response follows.
        }
        let idx = match resp.cseq() {
            Some(cseq) => self
                .pending
                .iter()
                .position(|p| p.cseq == cseq && p.unsent.is_none()),
            // No CSeq (some broken servers): the oldest request sent.
            None => self.pending.iter().position(|p| p.unsent.is_none()),
        };
        let Some(p) = idx.and_then(|i| self.pending.remove(i)) else {
            return; // Unsolicited, or it already timed out.
        };
        if let Some(session) = self.session.as_mut() {
            // The server answers: whatever else is wrong, it is not silent.
            session.keepalive_misses = 0;
        }
        let status = resp.status;
        self.out.push_back(Output::Event(ClientEvent::Response {
            cseq: p.cseq,
            method: p.method.clone(),
            status,
        }));
        self.flush_requests(Some(now));
        if status == StatusCode::UNAUTHORIZED && self.retry_with_auth(&p, &resp, now) {
            return;
        }
        if let Some(location) = redirect_location(&p, &resp) {
            self.emit(ClientEvent::Redirected {
                method: p.method,
                status,
                location,
            });
            return;
        }
        let ok = status.is_success();
        match p.kind {
            Kind::Keepalive => {
                if ok {
                    self.note_public(&resp);
                } else {
                    self.emit(ClientEvent::KeepaliveFailed {
                        status: Some(status),
                    });
                }
            }
            Kind::Teardown => self.on_teardown_done(p.method, status),
            _ if !ok => self.emit(ClientEvent::RequestFailed {
                method: p.method,
                status,
            }),
            Kind::Options => self.note_public(&resp),
            Kind::Describe { url } => self.on_described(p.cseq, &resp, &url),
            Kind::Setup { choice } => self.on_setup_done(now, p.cseq, &resp, choice, &p.uri),
            Kind::Play => {
                // The BYE came before this reply: report the old stream's end before the new
                // one starts, not in the middle of it.
                if let Some(ssrc) = self.media.as_mut().and_then(Media::take_end_grace) {
                    self.end_stream(ssrc);
                }
                self.state = ClientState::Playing;
                let range = resp
                    .headers
                    .get(&HeaderName::RANGE)
                    .and_then(|v| Range::parse(v).ok());
                let rtp_info = resp
                    .headers
                    .get(&HeaderName::RTP_INFO)
                    .and_then(|v| RtpInfo::parse_list(v).ok())
                    .unwrap_or_default();
                if let Some(session) = self.session.as_mut() {
                    session.heard_at = now;
                    let seq = track_seq(&rtp_info, &session.track_url);
                    if let (Some(seq), Some(media)) = (seq, self.media.as_mut()) {
                        media.announce_seq(seq);
                    }
                }
                self.emit(ClientEvent::Playing {
                    cseq: p.cseq,
                    range,
                    rtp_info,
                });
            }
            Kind::Pause => {
                self.state = ClientState::Ready;
                self.emit(ClientEvent::Paused);
            }
        }
    }

    /// A 401: answer the server's challenge with the URL's credentials and send the request
    /// again — once, unless the server says the nonce was merely stale. Returns whether it
    /// was sent again.
    fn retry_with_auth(&mut self, p: &Pending, resp: &Response, now: Instant) -> bool {
        if self.credentials.is_none() || self.is_lab() {
            return false;
        }
        let challenges = Challenge::parse_all(resp.headers.get_all(&HeaderName::WWW_AUTHENTICATE));
        let Some(challenge) = Challenge::best(&challenges).cloned() else {
            return false;
        };
        if p.auth_retry && !challenge.stale {
            return false;
        }
        let cnonce = format!("{:016x}", self.rng.next_u64());
        self.auth = Some((challenge, DigestState::new(cnonce)));
        self.send_with(
            p.method.clone(),
            &p.uri,
            p.headers.clone(),
            p.kind.clone(),
            Some(now),
            true,
        );
        true
    }

    fn note_public(&mut self, resp: &Response) {
        if let Some(public) = resp.headers.get(&HeaderName::PUBLIC) {
            self.get_parameter_ok = Public::parse(public).contains(&Method::GetParameter);
        }
    }

    fn on_described(&mut self, cseq: u32, resp: &Response, url: &str) {
        let p = describe::presentation(resp, url);
        let usable = p.selected.is_some();
        self.presentation = Some(p.clone());
        self.emit(ClientEvent::Described {
            cseq,
            presentation: p,
        });
        if !usable {
            self.emit(ClientEvent::Error(ClientError::NoVideoTrack));
        }
    }

    fn on_setup_done(
        &mut self,
        now: Instant,
        cseq: u32,
        resp: &Response,
        choice: TransportChoice,
        uri: &str,
    ) {
        let bad = |reason: &str| ClientError::BadResponse {
            cseq,
            method: Method::Setup,
            reason: reason.to_string(),
        };
        let Some(raw) = resp.headers.get(&HeaderName::SESSION) else {
            self.emit(ClientEvent::Error(bad("no Session header")));
            return;
        };
        let session = Session::parse(raw).unwrap_or_else(|_| Session {
            id: raw.split(';').next().unwrap_or_default().trim().to_string(),
            timeout: None,
        });
        if session.id.is_empty() || !session.id.bytes().all(|b| b.is_ascii_graphic()) {
            self.emit(ClientEvent::Error(bad("unusable session id")));
            return;
        }
        let timeout = session
            .timeout
            .filter(|&t| t > 0)
            .map_or(self.cfg().default_session_timeout, |t| {
                Duration::from_secs(u64::from(t))
            });
        let transport = resp
            .headers
            .get(&HeaderName::TRANSPORT)
            .and_then(|v| Transport::parse_list(v).ok())
            .and_then(|l| l.into_iter().next());
        let path = match choice {
            TransportChoice::Udp {
                rtp_local,
                rtcp_local,
            } => {
                let server_rtcp = match (self.peer, transport.as_ref().and_then(|t| t.server_port))
                {
                    (Some(peer), Some((rtp, rtcp))) => {
                        let port = rtcp.unwrap_or(rtp.wrapping_add(1));
                        (port != 0).then(|| SocketAddr::new(peer.ip(), port))
                    }
                    _ => None,
                };
                Path::Udp {
                    rtp_local,
                    rtcp_local,
                    server_rtcp,
                }
            }
            TransportChoice::Tcp => {
                let (rtp_channel, rtcp_channel) =
                    match transport.as_ref().and_then(|t| t.interleaved) {
                        Some((a, b)) => (a, b.unwrap_or(a.wrapping_add(1))),
                        None => (0, 1),
                    };
                Path::Tcp {
                    rtp_channel,
                    rtcp_channel,
                }
            }
        };
        let opts = MediaOptions {
            lab: self.is_lab(),
            max_frame_len: self.cfg().max_frame_len,
            reorder_window: self.cfg().reorder_window,
            reorder_delay: self.cfg().reorder_delay,
        };
        let mut media = Media::new(path, &opts, self.epoch);
        let ssrc = transport.as_ref().and_then(|t| t.ssrc);
        if let Some(ssrc) = ssrc {
            media.expect_ssrc(ssrc);
        }
        self.media = Some(media);
        self.session = Some(SessionInfo {
            id: session.id.clone(),
            timeout,
            track_url: uri.to_string(),
            keepalive_misses: 0,
            heard_at: now,
        });
        self.state = ClientState::Ready;
        if !self.is_lab() {
            self.timers
                .set(Timer::Keepalive, after(now, keepalive_interval(timeout)));
            let first = self.rng.jittered(self.cfg().rtcp_interval);
            self.timers.set(Timer::Rtcp, after(now, first));
        }
        self.emit(ClientEvent::SetupDone {
            cseq,
            session_id: session.id,
            timeout,
            transport,
            ssrc,
        });
    }

    fn on_teardown_done(&mut self, method: Method, status: StatusCode) {
        if !status.is_success() {
            self.emit(ClientEvent::RequestFailed { method, status });
        }
        // Either way the session is gone for us.
        self.session = None;
        self.drop_media();
        self.timers.stop(Timer::Keepalive);
        self.timers.stop(Timer::Rtcp);
        self.state = ClientState::Init;
        self.emit(ClientEvent::TornDown);
    }

    // ----------------------------------------------------------------------------------------
    // Timers

    fn next_deadline(&self) -> Option<Instant> {
        if self.state == ClientState::Closed {
            return None;
        }
        let mut next: Option<Instant> = None;
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        if self.need_now {
            consider(Some(self.now));
        }
        for p in &self.pending {
            consider(p.deadline);
        }
        consider(self.timers.next());
        consider(self.media.as_ref().and_then(Media::deadline));
        consider(self.silence().map(|(_, _, at)| at));
        next
    }

    /// Once [`SILENT_KEEPALIVES`] keepalives in a row went unanswered: their number, when the
    /// server was last heard (its last RTP/RTCP packet, or the SETUP / PLAY reply if later),
    /// and when it counts as silent (the session timeout after that).
    fn silence(&self) -> Option<(u32, Instant, Instant)> {
        let session = self.session.as_ref()?;
        if session.keepalive_misses < SILENT_KEEPALIVES {
            return None;
        }
        let heard = match self.media.as_ref().and_then(Media::last_heard) {
            Some(t) => t.max(session.heard_at),
            None => session.heard_at,
        };
        let at = after(heard, session.timeout);
        Some((session.keepalive_misses, heard, at))
    }

    fn run_timers(&mut self, now: Instant) {
        if self.state == ClientState::Closed {
            return;
        }
        // Requests sent from API calls: their timeouts start now.
        if self.need_now {
            self.need_now = false;
            let timeout = self.cfg().request_timeout;
            for p in self.pending.iter_mut() {
                if p.unsent.is_none() && p.deadline.is_none() {
                    p.deadline = Some(after(now, timeout));
                }
            }
        }
        // Request timeouts.
        while let Some(i) = self
            .pending
            .iter()
            .position(|p| p.deadline.is_some_and(|d| d <= now))
        {
            let Some(p) = self.pending.remove(i) else {
                break;
            };
            if matches!(p.kind, Kind::Keepalive) {
                if let Some(session) = self.session.as_mut() {
                    session.keepalive_misses += 1;
                }
                self.emit(ClientEvent::KeepaliveFailed { status: None });
            } else {
                self.emit(ClientEvent::Error(ClientError::RequestTimeout {
                    cseq: p.cseq,
                    method: p.method,
                }));
            }
            self.flush_requests(Some(now));
        }
        if let Some((keepalives, heard, at)) = self.silence() {
            if at <= now {
                let error = ClientError::ServerSilent {
                    keepalives,
                    silent_for: now.saturating_duration_since(heard),
                };
                self.shut_down(Some(error), true);
                return;
            }
        }
        if self.timers.is_due(Timer::LabFlush, now) {
            self.lab_flush(now);
            if self.state == ClientState::Closed {
                return;
            }
        }
        if let Some(media) = self.media.as_mut() {
            media.release_ready(now, &mut self.out);
        }
        if let Some(ssrc) = self.media.as_mut().and_then(|m| m.take_end_due(now)) {
            self.end_stream(ssrc);
        }
        if self.timers.is_due(Timer::Keepalive, now) {
            self.keepalive(now);
        }
        if self.timers.is_due(Timer::Rtcp, now) {
            self.send_rtcp(now, false);
            let next = self.rng.jittered(self.cfg().rtcp_interval);
            self.timers.set(Timer::Rtcp, after(now, next));
        }
    }

    fn keepalive(&mut self, now: Instant) {
        let Some(session) = self.session.as_ref() else {
            self.timers.stop(Timer::Keepalive);
            return;
        };
        let at = after(now, keepalive_interval(session.timeout));
        self.timers.set(Timer::Keepalive, at);
        if self
            .pending
            .iter()
            .any(|p| matches!(p.kind, Kind::Keepalive))
        {
            return;
        }
        let method = if self.get_parameter_ok {
            Method::GetParameter
        } else {
            Method::Options
        };
        let uri = self.aggregate_url();
        self.send(method, &uri, Vec::new(), Kind::Keepalive, Some(now));
    }

    /// Send an RTCP receiver report (+ SDES, + BYE) if there is somewhere to send it.
    fn send_rtcp(&mut self, now: Instant, bye: bool) {
        if self.is_lab() {
            return;
        }
        let (our_ssrc, conn) = (self.our_ssrc, self.conn);
        let Some(media) = self.media.as_mut() else {
            return;
        };
        let dest_data = match media.path {
            Path::Udp {
                rtcp_local,
                server_rtcp: Some(remote),
                ..
            } => Some((
                Dest::Udp {
                    local: rtcp_local,
                    remote,
                },
                media.build_rtcp(now, our_ssrc, &self.cname, bye),
            )),
            Path::Tcp { rtcp_channel, .. } => conn.map(|conn| {
                let rtcp = media.build_rtcp(now, our_ssrc, &self.cname, bye);
                let mut framed = Vec::with_capacity(rtcp.len() + 4);
                write_interleaved(rtcp_channel, &rtcp, &mut framed);
                (Dest::Stream(conn), framed)
            }),
            Path::Udp { .. } => None,
        };
        if let Some((dest, data)) = dest_data {
            self.out
                .push_back(Output::Transmit(Transmit { dest, data }));
        }
    }

    // ----------------------------------------------------------------------------------------

    fn emit(&mut self, event: ClientEvent) {
        self.out.push_back(Output::Event(event));
    }

    /// End the client: report `error`, close the connection if asked, emit `Closed`.
    fn shut_down(&mut self, error: Option<ClientError>, close_conn: bool) {
        if self.state == ClientState::Closed {
            return;
        }
        if let Some(e) = error {
            self.emit(ClientEvent::Error(e));
        }
        if close_conn {
            if let Some(conn) = self.conn {
                self.out.push_back(Output::Close(conn));
            }
        }
        self.state = ClientState::Closed;
        self.pending.clear();
        self.session = None;
        self.drop_media();
        self.conn = None;
        self.rx.clear();
        self.need_now = false;
        self.timers.stop_all();
        self.emit(ClientEvent::Closed);
    }
}

/// The target of a redirect (3xx with `Location`, resolved against the request-URI) for a
/// request that may be redirected.
fn redirect_location(p: &Pending, resp: &Response) -> Option<String> {
    let code = resp.status.0;
    let redirect = matches!(code, 301 | 302 | 303 | 305 | 307 | 308);
    if !redirect || matches!(p.kind, Kind::Keepalive | Kind::Teardown) {
        return None;
    }
    let location = resp.headers.get(&HeaderName::LOCATION)?.trim();
    if location.is_empty() {
        return None;
    }
    Some(crate::url::join(&p.uri, location))
}

/// The first sequence number PLAY's `RTP-Info` announces for the track at `track_url`: its
/// entry, else the only entry.
fn track_seq(rtp_info: &[RtpInfo], track_url: &str) -> Option<u16> {
    let norm = |u: &str| u.trim().trim_end_matches('/').to_string();
    let track = norm(track_url);
    let matches = |info: &RtpInfo| {
        let url = norm(&info.url);
        !url.is_empty()
            && (url == track
                || (!url.contains("://")
                    && track.ends_with(&format!("/{}", url.trim_start_matches('/')))))
    };
    match rtp_info.iter().find(|i| matches(i)) {
        Some(info) => info.seq,
        None if rtp_info.len() == 1 => rtp_info[0].seq,
        None => None,
    }
}

/// `now + d`, saturating far in the future instead of overflowing (configured or announced
/// durations may be absurd).
fn after(now: Instant, d: Duration) -> Instant {
    let d = d.min(Duration::from_secs(10 * 365 * 86_400));
    now.checked_add(d).unwrap_or(now)
}

/// Keepalive period for session timeout `t`: min(T/2, T−5), at least 0.5 s.
fn keepalive_interval(t: Duration) -> Duration {
    let half = t / 2;
    let iv = match t.checked_sub(Duration::from_secs(5)) {
        Some(early) if !early.is_zero() => half.min(early),
        _ => half,
    };
    iv.max(Duration::from_millis(500))
}

impl Machine for Client {
    type Event = ClientEvent;

    fn handle_input(&mut self, input: Input<'_>) {
        let now = match &input {
            Input::Timeout(now) => *now,
            Input::Connected { now, .. }
            | Input::Stream { now, .. }
            | Input::StreamClosed { now, .. }
            | Input::Datagram { now, .. } => *now,
        };
        // Inputs from several reader threads may arrive slightly out of order.
        let now = now.max(self.now);
        self.now = now;
        if self.state == ClientState::Closed {
            return;
        }
        match input {
            Input::Timeout(_) => {}
            Input::Connected { conn, peer, .. } => {
                self.conn = Some(conn);
                self.peer = Some(peer);
                self.rx.clear();
                self.decoder = Decoder::new(self.cfg().limits).with_lenient(self.is_lab());
                self.flush_requests(Some(now));
            }
            Input::Stream { conn, data, .. } => {
                if self.conn == Some(conn) {
                    self.on_stream(now, data);
                }
            }
            Input::StreamClosed { conn, .. } => {
                if self.conn == Some(conn) {
                    if self.is_lab() && !self.rx.is_empty() {
                        self.lab_flush(now);
                    }
                    // Outstanding requests get no answer; a session (Ready or Playing) is
                    // gone without TEARDOWN: either way the application must hear why.
                    let outstanding = self.pending.len();
                    let lost = outstanding > 0 || self.session.is_some();
                    let err = lost.then_some(ClientError::ConnectionLost {
                        pending: outstanding,
                    });
                    self.shut_down(err, false);
                }
            }
            Input::Datagram { local, data, .. } => self.on_datagram(now, local, data),
        }
        self.run_timers(now);
    }

    fn poll_output(&mut self) -> Output<ClientEvent> {
        match self.out.pop_front() {
            Some(o) => o,
            None => Output::Timeout(self.next_deadline()),
        }
    }
}
