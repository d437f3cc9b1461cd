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
//! `pause`, `teardown`, `close`, `start`), drain [`Machine::poll_output`] until it returns
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
//! reordering buffer's wait; the end-of-stream grace after an RTCP BYE over UDP; in the lab
//! dialect, the end of an unterminated reply; with the [`Policy`]'s TCP fallback, the check
//! that RTP arrived over UDP after PLAY; and, with [`ClientConfig::no_media_timeout`], the wait
//! for a frame while playing ([`ClientEvent::NoMedia`] with a [`NoMediaReason`]).
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
//! A 401 to the retry (or a 401 without credentials) is a [`ClientEvent::RequestFailed`]: a
//! request is sent at most twice, even when the server marks every new nonce `stale` (a server
//! doing that forever would otherwise get the request in a loop). [`Client::last_refusal`]
//! tells whether the credentials were tried and whether the server called the nonce stale.
//!
//! Redirects: a 3xx with `Location` is reported as [`ClientEvent::Redirected`]; following it
//! needs a new connection, so the application creates a new `Client` for the location.
//!
//! With [`ClientConfig::trace_messages`] every RTSP message sent or received is also reported
//! as [`ClientEvent::Trace`] (for `-v` logs).
//!
//! The playback policy ([`Policy`], set with [`Client::set_policy`]): [`Client::start`] runs
//! DESCRIBE → SETUP → PLAY by itself (lab: SETUP → PLAY; without [`Policy::auto_play`] it
//! stops after SETUP), with the policy's transport and PLAY from its seek position. With
//! [`Policy::tcp_fallback`] a UDP session falls back to TCP interleaved — SETUP again over TCP
//! when SETUP over UDP is answered 461, or TEARDOWN, SETUP and PLAY over TCP when no RTP
//! arrives over UDP within [`Policy::udp_wait`] of PLAY — reported as
//! [`ClientEvent::TransportFallback`]. See the [`policy`](Policy) docs.
//!
//! The lab dialect ([`Dialect::Lab`]) sends the course lab's LF-only requests
//! (`SETUP movie.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000\n\n`), one at
//! a time, and takes each RTP packet as one whole JPEG. Every way it differs is decided in one
//! place (the private `lab` module), as questions the rest of the client asks its [`Dialect`].

mod commands;
mod config;
mod conn;
mod describe;
mod event;
mod lab;
mod loss;
mod media;
mod no_media;
mod policy;
mod reorder;
mod request;
mod response;
mod rtp_in;
mod setup;
mod target;
#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests read the clock once, as the epoch of their virtual time"
)]
mod tests;
mod timers;

pub use config::{ClientConfig, Dialect, TransportChoice, DEFAULT_END_OF_STREAM_GRACE};
pub use event::{
    ApiError, ClientError, ClientEvent, ClientState, ClientStats, FallbackReason, NoMediaReason,
    Presentation, Refusal, Track,
};
pub use policy::Policy;

use core::net::SocketAddr;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use self::media::Media;
use self::no_media::MediaWatch;
use self::policy::AutoState;
use self::request::Pending;
use self::target::Target;
use self::timers::TimerTable;
use crate::auth::{Challenge, Credentials, DigestState};
use crate::io::{ConnId, Input, Machine, Output};
use crate::message::Decoder;
use crate::rng::{Rng, RngSeed};
use crate::url::RtspUrl;

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

/// The sans-IO RTSP client. See the [module docs](self) for the I/O loop.
///
/// Its methods live in files by concern: `commands` (the application's requests), `request`
/// (sending, the pending table, authentication), `response` (replies), `setup` (the SETUP
/// reply), `conn` (the control connection), `rtp_in` (media and RTCP), `timers`, `lab` (the
/// lab dialect's rules) and `policy` (the automatic sequence and the TCP fallback).
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
    /// The application's playback policy.
    policy: Policy,
    /// Where the policy's automatic sequence stands.
    auto: AutoState,
    /// What the server said about the last request it refused.
    last_refusal: Option<Refusal>,
    /// Waiting for a frame while playing (see `no_media.rs`).
    no_media: Option<MediaWatch>,
}

impl Client {
    /// A client for `config`, created at `now`. Fails when the URL (or lab file) is unusable.
    ///
    /// Its [`Policy`] is [`Policy::new`]`(`[`TransportChoice::Tcp`]`)` until
    /// [`Client::set_policy`].
    pub fn new(config: ClientConfig, now: Instant) -> Result<Self, ClientError> {
        let target = Target::from_config(&config)?;
        let mut rng = Rng::new(&config.seed.clone().unwrap_or_else(|| RngSeed::from_u64(0)));
        let our_ssrc = rng.next_u32();
        let cname = config
            .cname
            .clone()
            .unwrap_or_else(|| format!("rtsp-core-{our_ssrc:08x}@client"));
        let decoder = Self::decoder_for(&config);
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
            policy: Policy::new(TransportChoice::Tcp),
            auto: AutoState::default(),
            last_refusal: None,
            no_media: None,
        })
    }

    fn cfg(&self) -> &ClientConfig {
        &self.config
    }

    /// The configured dialect (its rules are in `lab.rs`).
    fn dialect(&self) -> Dialect {
        self.config.dialect
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

    /// What the server said when it last refused a request (the latest
    /// [`ClientEvent::RequestFailed`]): its reason phrase and text, and for a 401 whether the
    /// credentials were tried.
    pub fn last_refusal(&self) -> Option<&Refusal> {
        self.last_refusal.as_ref()
    }

    /// Reception statistics (all zero before SETUP).
    ///
    /// After TEARDOWN or close they stay frozen at their last values (for a final report).
    pub fn stats(&self) -> ClientStats {
        self.media.as_ref().map_or(self.final_stats, Media::stats)
    }

    /// Drop the media receiver, keeping its statistics.
    fn drop_media(&mut self) {
        self.unwatch_media();
        if let Some(media) = self.media.take() {
            self.final_stats = media.stats();
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
        self.auto = AutoState::default();
        self.emit(ClientEvent::Closed);
    }
}

/// `now + d`, saturating far in the future instead of overflowing (configured or announced
/// durations may be absurd).
fn after(now: Instant, d: Duration) -> Instant {
    let d = d.min(Duration::from_secs(10 * 365 * 86_400));
    now.checked_add(d).unwrap_or(now)
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
            Input::Connected { conn, peer, .. } => self.on_connected(now, conn, peer),
            Input::Stream { conn, data, .. } => {
                if self.conn == Some(conn) {
                    self.on_stream(now, data);
                }
            }
            Input::StreamClosed { conn, .. } => {
                if self.conn == Some(conn) {
                    self.on_stream_closed(now);
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
