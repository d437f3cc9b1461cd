//! The player: the application logic of client-std as a sans-IO machine wrapping
//! [`Client`]. It adds its own timers (progress line, `--duration`, the bounded wait for the
//! TEARDOWN reply) to the client's deadline, runs commands, decides when to quit and with
//! which exit code, and turns client events into [`PlayerEvent`]s for the runtime's callback
//! (which does the printing and recording). The protocol policy — DESCRIBE → SETUP → PLAY,
//! the seek position, the fallback from UDP to TCP — is the client's [`Policy`].

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtsp_core::client::{
    ApiError, Client, ClientError, ClientEvent, ClientState, ClientStats, FallbackReason,
    NoMediaReason, Policy, TransportChoice,
};
use rtsp_core::io::{Input, Machine, Output};
use rtsp_core::message::Method;

use crate::messages;

/// How the player behaves.
#[derive(Debug, Clone)]
pub struct PlayerConfig {
    /// What the client does by itself (transport, TCP fallback, seek, auto-play); handed to
    /// the client by [`Player::new`]. With `auto_play` the player starts the sequence itself,
    /// and a failed step of it is fatal.
    pub policy: Policy,
    /// Quit after this many frames.
    pub max_frames: Option<u64>,
    /// Quit after this long (from the first input).
    pub duration: Option<Duration>,
    /// Emit [`PlayerEvent::Progress`] about once per second.
    pub progress: bool,
    /// Longest wait for the TEARDOWN reply when quitting.
    pub teardown_wait: Duration,
    /// On end of stream (RTCP BYE from the source): TEARDOWN and finish with code 0.
    pub exit_on_end: bool,
}

impl PlayerConfig {
    /// Defaults: auto-play over TCP, no limits, no progress, 3 s TEARDOWN wait, exit at the
    /// end of the stream.
    pub fn new() -> Self {
        Self {
            policy: Policy::new(TransportChoice::Tcp),
            max_frames: None,
            duration: None,
            progress: false,
            teardown_wait: Duration::from_secs(3),
            exit_on_end: true,
        }
    }
}

/// One progress sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Time since start.
    pub elapsed: Duration,
    /// Frames received so far.
    pub frames: u64,
    /// Frames per second over the last interval.
    pub fps: f64,
    /// Kilobits per second of RTP over the last interval.
    pub kbps: f64,
    /// Packets lost so far, in percent of those expected.
    pub loss_pct: f64,
    /// Interarrival jitter, milliseconds.
    pub jitter_ms: f64,
    /// Frames dropped (incomplete) so far.
    pub dropped: u64,
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>6.1}s  frames {:>6}  {:>5.1} fps  {:>7.0} kbit/s  loss {:>5.2}%  jitter {:>6.2} ms  dropped {}",
            self.elapsed.as_secs_f64(),
            self.frames,
            self.fps,
            self.kbps,
            self.loss_pct,
            self.jitter_ms,
            self.dropped
        )
    }
}

/// What the player reports to the application.
#[derive(Debug, Clone)]
pub enum PlayerEvent {
    /// A complete JPEG frame (only up to `max_frames`).
    Frame(Bytes),
    /// The once-per-second progress line.
    Progress(Progress),
    /// Answer to the `stats` command.
    Stats(ClientStats),
    /// Something worth telling the user (state changes).
    Info(String),
    /// A failure worth telling even with `--quiet`.
    Warn(String),
    /// A failure that ends playback (or, with a window, stops it: the window shows it and the
    /// exit code is non-zero when it closes).
    Failure(String),
    /// An RTSP message sent (`outgoing`) or received, for `-v`.
    Trace {
        /// Sent by us.
        outgoing: bool,
        /// The message as text.
        text: String,
    },
    /// The player is finished; exit with this code.
    Done {
        /// Process exit code.
        code: i32,
    },
}

/// The player machine. See the module docs.
pub struct Player {
    client: Client,
    cfg: PlayerConfig,
    out: VecDeque<PlayerEvent>,
    now: Option<Instant>,
    started: Option<Instant>,
    progress_at: Option<Instant>,
    stop_at: Option<Instant>,
    quit_deadline: Option<Instant>,
    quitting: Option<i32>,
    frames: u64,
    last: (Instant, u64, u64),
    done: bool,
    /// Where the server redirected us (301/302/...), if it did.
    redirect: Option<String>,
    /// The media source said BYE.
    ended: bool,
    /// When PLAY first succeeded (for the mean bitrate).
    playing_since: Option<Instant>,
    /// PAUSE succeeded and no PLAY since.
    paused: bool,
    /// Why playback failed, once it did: the exit code is non-zero whatever ends the player.
    failure: Option<String>,
}

impl Player {
    /// A player around `client`, which gets `cfg.policy`.
    pub fn new(mut client: Client, cfg: PlayerConfig) -> Self {
        client.set_policy(cfg.policy.clone());
        Self {
            client,
            cfg,
            out: VecDeque::new(),
            now: None,
            started: None,
            progress_at: None,
            stop_at: None,
            quit_deadline: None,
            quitting: None,
            frames: 0,
            last: (Instant::now(), 0, 0),
            done: false,
            redirect: None,
            ended: false,
            playing_since: None,
            paused: false,
            failure: None,
        }
    }

    /// Sets the media transport (before [`Player::start`]).
    pub fn set_transport(&mut self, transport: TransportChoice) {
        let policy = Policy {
            transport,
            ..self.client.policy().clone()
        };
        self.client.set_policy(policy);
    }

    /// The wrapped client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Frames received.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The media transport in use (changes when `--transport auto` falls back to TCP).
    pub fn transport(&self) -> TransportChoice {
        self.client.policy().transport
    }

    /// The URL the server redirected to, when it did (the player then finished with code 0).
    pub fn redirect(&self) -> Option<&str> {
        self.redirect.as_deref()
    }

    /// Whether the stream ended: the media source said BYE, or media stopped after frames
    /// and no more came for the no-media timeout.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Whether the session is paused (PAUSE succeeded, no PLAY since).
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Time since PLAY first succeeded (zero before).
    pub fn playing_time(&self) -> Duration {
        match (self.playing_since, self.now) {
            (Some(s), Some(n)) => n.saturating_duration_since(s),
            _ => Duration::ZERO,
        }
    }

    /// PLAY, from the `--seek` position when one was given.
    fn play(&mut self) -> Result<u32, ApiError> {
        let seek = self.client.policy().seek;
        self.client.play(seek)
    }

    /// Time since the first input.
    pub fn elapsed(&self) -> Duration {
        match (self.started, self.now) {
            (Some(s), Some(n)) => n.saturating_duration_since(s),
            _ => Duration::ZERO,
        }
    }

    /// Whether the player set up and plays without waiting for commands.
    fn auto_play(&self) -> bool {
        self.client.policy().auto_play
    }

    /// Starts the automatic sequence (DESCRIBE → SETUP → PLAY; lab: SETUP → PLAY) if
    /// configured to.
    pub fn start(&mut self) {
        if self.auto_play() {
            self.cmd_setup();
        }
    }

    /// Runs one stdin command line.
    pub fn command(&mut self, line: &str) {
        let cmd = line.trim().to_ascii_lowercase();
        let result = match cmd.as_str() {
            "" => return,
            "setup" => {
                self.cmd_setup();
                return;
            }
            "describe" => self.client.describe().map(drop),
            "options" => self.client.options().map(drop),
            "play" => self.play().map(drop),
            "pause" => self.client.pause().map(drop),
            "toggle" => {
                if self.client.state() == ClientState::Playing && !self.ended {
                    self.client.pause().map(drop)
                } else {
                    self.play().map(drop)
                }
            }
            "teardown" => self.client.teardown().map(drop),
            "stats" => {
                self.out.push_back(PlayerEvent::Stats(self.client.stats()));
                return;
            }
            "quit" | "exit" | "q" => {
                self.quit(0);
                return;
            }
            "help" | "?" => {
                self.info(
                    "commands: setup, play, pause, toggle, teardown, stats, quit (also: describe, options)",
                );
                return;
            }
            other => {
                self.warn(format!("unknown command \"{other}\" (try: help)"));
                return;
            }
        };
        if let Err(e) = result {
            self.warn(format!("{cmd}: {e}"));
        }
    }

    /// SETUP (the client's policy DESCRIBEs first when not described yet, and PLAYs after it
    /// with auto-play). A refused SETUP is fatal with auto-play.
    fn cmd_setup(&mut self) {
        if let Err(e) = self.client.start() {
            let describe = e.method() == Some(&Method::Describe);
            let step = if describe { "describe" } else { "setup" };
            self.warn(format!("{step}: {e}"));
            if self.auto_play() && !describe {
                self.quit(1);
            }
        }
    }

    /// Quits: TEARDOWN if a session exists (bounded wait for the reply), then close.
    pub fn quit(&mut self, code: i32) {
        if let Some(c) = self.quitting {
            // A failure after a clean quit request still makes the exit code non-zero.
            if c == 0 && code != 0 {
                self.quitting = Some(code);
            }
            return;
        }
        self.quitting = Some(code);
        match self.client.teardown() {
            Ok(_) => {
                let now = self.now.unwrap_or_else(Instant::now);
                self.quit_deadline = Some(now + self.cfg.teardown_wait);
            }
            Err(_) => self.close(),
        }
    }

    fn close(&mut self) {
        if self.client.state() == ClientState::Closed {
            self.finish();
        } else {
            self.client.close();
        }
    }

    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            let mut code = self.quitting.unwrap_or(1);
            if self.failure.is_some() && code == 0 {
                code = 1;
            }
            self.out.push_back(PlayerEvent::Done { code });
        }
    }

    fn info(&mut self, msg: impl Into<String>) {
        self.out.push_back(PlayerEvent::Info(msg.into()));
    }

    fn warn(&mut self, msg: impl Into<String>) {
        self.out.push_back(PlayerEvent::Warn(msg.into()));
    }

    /// Playback failed: say why; without a window (`exit_on_end`) quit with code 1, else keep
    /// the window showing it (the exit code is 1 when it closes).
    fn fail(&mut self, msg: String) {
        self.failure.get_or_insert_with(|| msg.clone());
        self.out.push_back(PlayerEvent::Failure(msg));
        if self.cfg.exit_on_end {
            self.quit(1);
        }
    }

    /// No frame for the no-media timeout: after frames, the end of the stream (the lab server
    /// sends no BYE); with none ever, a failure.
    fn on_no_media(&mut self, waited: Duration, reason: &NoMediaReason) {
        if self.frames > 0 {
            self.ended = true;
            self.info(format!(
                "no media for {:.1} s after {} frame(s): end of stream",
                waited.as_secs_f64(),
                self.frames
            ));
            if self.cfg.exit_on_end {
                self.quit(0);
            }
        } else {
            let msg = messages::no_media(waited, reason, self.transport());
            self.fail(msg);
        }
    }

    fn on_client_event(&mut self, ev: ClientEvent) {
        match ev {
            ClientEvent::Response {
                cseq,
                method,
                status,
            } => tracing::debug!(cseq, %method, %status, "response"),
            ClientEvent::Described { presentation, .. } => {
                self.info(format!(
                    "described: {} track(s), control {}",
                    presentation.tracks.len(),
                    presentation.aggregate_url
                ));
            }
            ClientEvent::SetupDone {
                session_id,
                timeout,
                ..
            } => {
                let how = match self.transport() {
                    TransportChoice::Udp { rtp_local, .. } => {
                        format!("UDP port {}", rtp_local.port())
                    }
                    TransportChoice::Tcp => "TCP interleaved".to_string(),
                };
                self.info(format!(
                    "session {session_id} set up ({how}, timeout {} s)",
                    timeout.as_secs()
                ));
            }
            ClientEvent::Playing { .. } => {
                self.info("playing");
                let now = self.now.unwrap_or_else(Instant::now);
                self.playing_since.get_or_insert(now);
                self.ended = false;
                self.paused = false;
            }
            ClientEvent::NoMedia { waited, reason, .. } => self.on_no_media(waited, &reason),
            ClientEvent::EndOfStream { .. } => {
                self.ended = true;
                self.info("end of stream");
                if self.cfg.exit_on_end {
                    self.quit(0);
                }
            }
            ClientEvent::Trace { outgoing, text } => {
                self.out.push_back(PlayerEvent::Trace { outgoing, text });
            }
            ClientEvent::Redirected { location, .. } => {
                self.info(format!("redirected to {location}"));
                self.redirect = Some(location);
                self.quitting.get_or_insert(0);
                self.close();
            }
            ClientEvent::Paused => {
                self.paused = true;
                self.info("paused");
            }
            ClientEvent::TornDown => {
                self.paused = false;
                self.info("torn down");
                if self.quitting.is_some() {
                    self.close();
                }
            }
            ClientEvent::Frame { data, .. } => {
                if self.max_reached() {
                    return;
                }
                self.frames += 1;
                self.out.push_back(PlayerEvent::Frame(data));
                if self.max_reached() {
                    self.info(format!("{} frames received", self.frames));
                    self.quit(0);
                }
            }
            ClientEvent::TransportFallback { reason } => self.info(match reason {
                FallbackReason::UdpRefused => "UDP refused (461): trying TCP interleaved".into(),
                FallbackReason::NoUdpMedia { waited } => format!(
                    "no RTP over UDP within {:.1} s: switching to TCP interleaved",
                    waited.as_secs_f64()
                ),
            }),
            ClientEvent::RequestFailed { method, status } => {
                let seek = self.client.policy().seek;
                let msg = messages::refusal(&self.client, &method, status, seek);
                if self.fatal_step(&method) {
                    self.failure.get_or_insert_with(|| msg.clone());
                    self.out.push_back(PlayerEvent::Failure(msg));
                } else {
                    self.warn(msg);
                }
                self.request_failed(&method);
            }
            ClientEvent::KeepaliveFailed { status } => match status {
                Some(s) => self.warn(format!("keepalive failed: {s}")),
                None => self.warn("keepalive timed out"),
            },
            ClientEvent::Error(e) => {
                self.warn(e.to_string());
                if let ClientError::RequestTimeout { method, .. }
                | ClientError::AutoStepRefused { method, .. } = &e
                {
                    self.request_failed(method);
                }
            }
            ClientEvent::Closed => {
                if self.quitting.is_none() {
                    self.warn("connection closed by the server");
                }
                self.finish();
            }
            _ => {}
        }
    }

    fn max_reached(&self) -> bool {
        self.cfg.max_frames.is_some_and(|m| self.frames >= m)
    }

    /// Whether a failure of `method` ends the player: a step of the automatic sequence.
    fn fatal_step(&self, method: &Method) -> bool {
        self.auto_play() && [Method::Describe, Method::Setup, Method::Play].contains(method)
    }

    /// A request failed or timed out: fatal for the automatic sequence; ends a quit.
    fn request_failed(&mut self, method: &Method) {
        if self.quitting.is_some() && *method == Method::Teardown {
            self.close();
            return;
        }
        if self.fatal_step(method) {
            self.quit(1);
        }
    }

    fn on_time(&mut self, now: Instant) {
        if self.started.is_none() {
            self.started = Some(now);
            self.last = (now, 0, 0);
            if self.cfg.progress {
                self.progress_at = Some(now + Duration::from_secs(1));
            }
            self.stop_at = self.cfg.duration.map(|d| now + d);
        }
        if self.stop_at.is_some_and(|t| now >= t) {
            self.stop_at = None;
            self.info("duration reached");
            self.quit(0);
        }
        if self.quit_deadline.is_some_and(|t| now >= t) {
            self.quit_deadline = None;
            self.warn("no reply to TEARDOWN; closing");
            self.close();
        }
        if let Some(t) = self.progress_at {
            if now >= t && !self.done {
                self.progress(now);
                let next = t + Duration::from_secs(1);
                self.progress_at = Some(if next <= now {
                    now + Duration::from_secs(1)
                } else {
                    next
                });
            }
        }
    }

    fn progress(&mut self, now: Instant) {
        let s = self.client.stats();
        let (then, frames0, bytes0) = self.last;
        let dt = now.saturating_duration_since(then).as_secs_f64().max(1e-3);
        let fps = self.frames.saturating_sub(frames0) as f64 / dt;
        let kbps = s.bytes.saturating_sub(bytes0) as f64 * 8.0 / dt / 1000.0;
        let lost = s.lost.max(0) as f64;
        let expected = s.packets as f64 + lost;
        let loss_pct = if expected > 0.0 {
            100.0 * lost / expected
        } else {
            0.0
        };
        self.last = (now, self.frames, s.bytes);
        self.out.push_back(PlayerEvent::Progress(Progress {
            elapsed: self.elapsed(),
            frames: self.frames,
            fps,
            kbps,
            loss_pct,
            jitter_ms: s.jitter_ms,
            dropped: s.frames_dropped,
        }));
    }

    fn own_deadline(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        [self.progress_at, self.stop_at, self.quit_deadline]
            .into_iter()
            .flatten()
            .min()
    }
}

fn input_now(input: &Input<'_>) -> Instant {
    match *input {
        Input::Timeout(now)
        | Input::Connected { now, .. }
        | Input::Stream { now, .. }
        | Input::StreamClosed { now, .. }
        | Input::Datagram { now, .. } => now,
    }
}

impl Machine for Player {
    type Event = PlayerEvent;

    fn handle_input(&mut self, input: Input<'_>) {
        let now = input_now(&input);
        self.now = Some(now);
        self.client.handle_input(input);
        self.on_time(now);
    }

    fn poll_output(&mut self) -> Output<PlayerEvent> {
        loop {
            if let Some(e) = self.out.pop_front() {
                return Output::Event(e);
            }
            match self.client.poll_output() {
                Output::Event(ev) => self.on_client_event(ev),
                Output::Transmit(t) => return Output::Transmit(t),
                Output::Close(c) => return Output::Close(c),
                Output::Timeout(d) => {
                    if !self.out.is_empty() {
                        continue;
                    }
                    let own = self.own_deadline();
                    let d = match (d, own) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    return Output::Timeout(d);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtsp_core::client::ClientConfig;
    use rtsp_core::io::ConnId;
    use rtsp_core::server::{Media, MemoryCatalog};
    use runtime_std::{bind_udp_pair, Flow, RunningServer, Runtime, ServerOptions};
    use std::net::Ipv4Addr;

    fn server() -> RunningServer {
        let frames = mjpeg::testpattern::frames(10, 32, 16);
        let media = Media::from_jpegs("clip", 100.0, frames, 1400).unwrap();
        let opts = ServerOptions::new(
            (Ipv4Addr::LOCALHOST, 0).into(),
            Box::new(MemoryCatalog::new().with(media)),
        );
        runtime_std::serve(opts).unwrap()
    }

    fn config(udp: bool) -> PlayerConfig {
        let transport = if udp {
            TransportChoice::Udp {
                rtp_local: (Ipv4Addr::LOCALHOST, 0).into(),
                rtcp_local: (Ipv4Addr::LOCALHOST, 0).into(),
            }
        } else {
            TransportChoice::Tcp
        };
        PlayerConfig {
            policy: Policy::new(transport),
            // The 10-frame clip ends after 0.1 s: most tests look at other endings.
            exit_on_end: false,
            ..PlayerConfig::new()
        }
    }

    /// Runs a player against `url` until it is done; returns the exit code, frames seen and
    /// the messages.
    fn run(url: String, server: &RunningServer, cfg: PlayerConfig) -> (i32, usize, Vec<String>) {
        run_with(ClientConfig::new(url), server, cfg)
    }

    /// [`run`] with a client configured by `ccfg`.
    fn run_with(
        ccfg: ClientConfig,
        server: &RunningServer,
        mut cfg: PlayerConfig,
    ) -> (i32, usize, Vec<String>) {
        let client = Client::new(ccfg, Instant::now()).unwrap();
        let udp = matches!(cfg.policy.transport, TransportChoice::Udp { .. });
        cfg.policy.transport = TransportChoice::Tcp;
        let mut rt = Runtime::new(Player::new(client, cfg)).unwrap();
        if udp {
            let (a, b) = bind_udp_pair(Ipv4Addr::LOCALHOST.into()).unwrap();
            let t = TransportChoice::Udp {
                rtp_local: rt.udp_socket(a).unwrap(),
                rtcp_local: rt.udp_socket(b).unwrap(),
            };
            rt.machine_mut().set_transport(t);
        }
        rt.connect_tcp(server.connect_addr()).unwrap();
        rt.machine_mut().start();
        let watchdog = Watchdog::new(rt.handle());
        let mut code = None;
        let mut frames = 0;
        let mut msgs = Vec::new();
        rt.run(|_, ev| {
            match ev {
                PlayerEvent::Frame(_) => frames += 1,
                PlayerEvent::Info(m) | PlayerEvent::Warn(m) | PlayerEvent::Failure(m) => {
                    msgs.push(m)
                }
                PlayerEvent::Done { code: c } => {
                    code = Some(c);
                    return Flow::Stop;
                }
                _ => {}
            }
            Flow::Continue
        })
        .unwrap();
        watchdog.done();
        (code.expect("player finished in time"), frames, msgs)
    }

    /// Stops a test's runtime if it has not finished within 20 s, instead of hanging.
    struct Watchdog {
        tx: std::sync::mpsc::Sender<()>,
        thread: std::thread::JoinHandle<()>,
    }

    impl Watchdog {
        fn new(handle: runtime_std::Handle<Player>) -> Self {
            let (tx, rx) = std::sync::mpsc::channel();
            let thread = std::thread::spawn(move || {
                if rx.recv_timeout(Duration::from_secs(20)).is_err() {
                    handle.stop();
                }
            });
            Self { tx, thread }
        }

        /// The runtime finished: end the watch.
        fn done(self) {
            let _ = self.tx.send(());
            self.thread.join().unwrap();
        }
    }

    #[test]
    fn frames_limit_tears_down_and_exits_zero() {
        let s = server();
        let mut cfg = config(true);
        cfg.max_frames = Some(5);
        let (code, frames, msgs) = run(s.url("clip"), &s, cfg);
        assert_eq!((code, frames), (0, 5), "{msgs:?}");
        assert!(msgs.iter().any(|m| m == "torn down"), "{msgs:?}");
    }

    #[test]
    fn end_of_stream_tears_down_and_exits_zero() {
        for udp in [true, false] {
            let s = server();
            let mut cfg = config(udp);
            cfg.exit_on_end = true;
            let (code, frames, msgs) = run(s.url("clip"), &s, cfg);
            assert_eq!((code, frames), (0, 10), "{msgs:?}");
            let end = msgs.iter().position(|m| m == "end of stream");
            let torn = msgs.iter().position(|m| m == "torn down");
            assert!(end.is_some() && torn > end, "{msgs:?}");
        }
    }

    /// The control bytes the player wrote since the last call.
    fn written(p: &mut Player) -> String {
        let mut text = String::new();
        loop {
            match p.poll_output() {
                Output::Transmit(t) => text.push_str(&String::from_utf8_lossy(&t.data)),
                Output::Timeout(_) => return text,
                _ => {}
            }
        }
    }

    #[test]
    fn seek_sends_a_range() {
        let client =
            Client::new(ClientConfig::new("rtsp://127.0.0.1:1/x"), Instant::now()).unwrap();
        let mut cfg = config(false);
        cfg.policy.seek = Some(Duration::from_millis(2500));
        cfg.policy.auto_play = false;
        let mut p = Player::new(client, cfg);
        // PLAY before SETUP is refused by the client.
        p.command("play");
        assert!(matches!(p.out.pop_front(), Some(PlayerEvent::Warn(m)) if m.contains("PLAY")));
        // Set up, then the `play` command asks for the `--seek` position.
        let (now, conn) = (Instant::now(), ConnId(1));
        let peer = (Ipv4Addr::LOCALHOST, 1).into();
        p.handle_input(Input::Connected { now, conn, peer });
        p.client.setup(TransportChoice::Tcp).unwrap();
        assert!(written(&mut p).starts_with("SETUP "));
        let data = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nSession: s1\r\n\r\n";
        p.handle_input(Input::Stream { now, conn, data });
        written(&mut p);
        p.command("play");
        let play = written(&mut p);
        assert!(play.starts_with("PLAY "), "{play}");
        assert!(play.contains("\r\nRange: npt=2.500-\r\n"), "{play}");
    }

    #[test]
    fn duration_limit_over_tcp() {
        let s = server();
        let mut cfg = config(false);
        cfg.duration = Some(Duration::from_millis(300));
        let (code, frames, msgs) = run(s.url("clip"), &s, cfg);
        assert_eq!(code, 0, "{msgs:?}");
        assert!(frames > 0);
        assert!(msgs.iter().any(|m| m == "duration reached"), "{msgs:?}");
    }

    #[test]
    fn missing_stream_exits_non_zero() {
        let s = server();
        let (code, frames, msgs) = run(s.url("nope"), &s, config(true));
        assert_eq!((code, frames), (1, 0));
        assert!(
            msgs.iter()
                .any(|m| m.contains("404") && m.contains("no stream \"nope\"")),
            "{msgs:?}"
        );
    }

    /// The lab dialect has no BYE: the stream ends when no frame came for the no-media
    /// timeout after frames — TEARDOWN, exit 0, every frame received.
    #[test]
    fn lab_stream_ends_after_the_no_media_timeout() {
        let s = server();
        let mut ccfg = ClientConfig::lab(s.connect_addr().to_string(), "clip");
        // Frames come every 100 ms: a loaded machine can delay one by a few hundred.
        ccfg.no_media_timeout = Some(Duration::from_millis(1500));
        let mut cfg = config(true);
        cfg.exit_on_end = true;
        cfg.policy.tcp_fallback = false;
        let (code, frames, msgs) = run_with(ccfg, &s, cfg);
        assert_eq!((code, frames), (0, 10), "{msgs:?}");
        let end = msgs
            .iter()
            .position(|m| m.ends_with("after 10 frame(s): end of stream"));
        let torn = msgs.iter().position(|m| m == "torn down");
        assert!(end.is_some() && torn > end, "{msgs:?}");
    }

    /// Paused: no wait for frames; the label says so.
    #[test]
    fn pause_is_paused_not_ready() {
        let s = server();
        let client = Client::new(ClientConfig::new(s.url("clip")), Instant::now()).unwrap();
        let mut cfg = config(false);
        cfg.policy.auto_play = true;
        let mut rt = Runtime::new(Player::new(client, cfg)).unwrap();
        rt.connect_tcp(s.connect_addr()).unwrap();
        rt.machine_mut().start();
        let watchdog = Watchdog::new(rt.handle());
        let mut paused = None;
        rt.run(|p, ev| {
            match ev {
                PlayerEvent::Info(m) if m == "playing" => p.command("pause"),
                PlayerEvent::Info(m) if m == "paused" => {
                    paused = Some((p.paused(), p.client().state()));
                    p.quit(0);
                }
                PlayerEvent::Done { .. } => return Flow::Stop,
                _ => {}
            }
            Flow::Continue
        })
        .unwrap();
        watchdog.done();
        assert_eq!(paused, Some((true, ClientState::Ready)));
    }

    #[test]
    fn server_going_away_exits_non_zero() {
        let s = server();
        let url = s.url("clip");
        let client = Client::new(ClientConfig::new(url), Instant::now()).unwrap();
        let mut rt = Runtime::new(Player::new(client, config(false))).unwrap();
        rt.connect_tcp(s.connect_addr()).unwrap();
        rt.machine_mut().start();
        let handle = rt.handle();
        let mut code = None;
        let mut stopper = Some(s);
        rt.run(|_, ev| {
            match ev {
                // Stop the server once media flows.
                PlayerEvent::Frame(_) => {
                    if let Some(s) = stopper.take() {
                        s.stop();
                        s.join().unwrap();
                    }
                }
                PlayerEvent::Done { code: c } => {
                    code = Some(c);
                    return Flow::Stop;
                }
                _ => {}
            }
            Flow::Continue
        })
        .unwrap();
        drop(handle);
        assert_eq!(code, Some(1));
    }

    #[test]
    fn commands_and_quit_before_setup() {
        let s = server();
        let client = Client::new(ClientConfig::new(s.url("clip")), Instant::now()).unwrap();
        let mut cfg = config(false);
        cfg.policy.auto_play = false;
        let mut p = Player::new(client, cfg);
        p.command("play");
        p.command("bogus");
        p.command("stats");
        p.quit(0);
        let mut events = Vec::new();
        loop {
            match p.poll_output() {
                Output::Event(e) => events.push(e),
                Output::Timeout(_) => break,
                _ => {}
            }
        }
        assert!(matches!(&events[0], PlayerEvent::Warn(m) if m.contains("PLAY")));
        assert!(matches!(&events[1], PlayerEvent::Warn(m) if m.contains("unknown command")));
        assert!(matches!(&events[2], PlayerEvent::Stats(_)));
        assert!(matches!(events.last(), Some(PlayerEvent::Done { code: 0 })));
    }
}
