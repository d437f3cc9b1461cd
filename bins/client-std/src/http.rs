//! `client-std http://...`: an HTTP MJPEG stream (`multipart/x-mixed-replace`) or a JPEG
//! snapshot, pulled by runtime-std's HTTP source (one attempt, no reconnect) and played,
//! recorded and counted like an RTSP stream.
//!
//! A snapshot URL (`image/jpeg`) is fetched again every second, like a camera's still image
//! refreshed, until `--frames`, `--duration`, `quit` or a failed request; `--frames 1` saves
//! one picture. The end of the stream is the server ending the multipart body or closing the
//! connection between frames (exit 0 after frames), or no frame for `--no-media-timeout`
//! after frames; anything else ends with exit 1 and the reason.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use runtime_std::source::{self, HttpUrl, SourceEvent, SourceOptions, SourceSpec, SourceState};

use crate::args::Args;
use crate::inputs::{install_inputs, UserInput};
use crate::summary::{self, StatsJson};
use crate::{finish_recording, open_recorder, window};

/// Time between two progress lines (and window status updates).
const TICK: Duration = Duration::from_secs(1);
/// Time between two requests of a snapshot URL.
const SNAPSHOT_INTERVAL: Duration = Duration::from_secs(1);

/// Whether `url` is for this module (`http://`, or `https://` to be refused with a reason).
pub fn is_http(url: &str) -> bool {
    url.trim().split_once("://").is_some_and(|(scheme, _)| {
        scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
    })
}

/// The usage checks for an HTTP URL: it parses, and no RTSP-only option is given.
pub fn check_usage(args: &Args, url: &str) -> Result<(), String> {
    let parsed = HttpUrl::parse(url).map_err(|e| e.to_string())?;
    if parsed.port() == 0 {
        return Err("invalid URL: port 0 cannot be connected to".into());
    }
    let rtsp_only = [
        (args.seek.is_some(), "--seek"),
        (args.rtp_port.is_some(), "--rtp-port"),
        (args.interactive, "--interactive"),
        (args.transport != crate::TransportArg::Auto, "--transport"),
    ];
    match rtsp_only.iter().find(|(given, _)| *given) {
        Some((_, name)) => Err(format!("{name} applies to rtsp:// URLs only, not http://")),
        None => Ok(()),
    }
}

/// What the main loop waits for.
enum Msg {
    Source(SourceEvent),
    Input(UserInput),
    /// A window button or key.
    Command(&'static str),
}

/// Plays `url` until its end, `--frames`, `--duration` or a quit; returns the exit code.
pub fn run(args: &Args, url: &str) -> Result<u8, String> {
    let shown_url = HttpUrl::parse(url).map_err(|e| e.to_string())?.to_string();
    let mut play = Play {
        recorder: open_recorder(args)?,
        record_error: None,
        window: crate::want_window(args).then(window::Shared::new),
        quiet: args.quiet,
        tty: std::io::stderr().is_terminal(),
        frames: 0,
        bytes: 0,
        started: Instant::now(),
        first_frame: None,
        last_frame: None,
        tick: (0, 0),
        exit: None,
        ended: false,
        quit: false,
    };
    let (tx, rx) = mpsc::channel::<Msg>();
    let (to_loop, input_tx) = (tx.clone(), tx.clone());
    install_inputs(Arc::new(move |input| {
        let _ = input_tx.send(Msg::Input(input));
    }))?;
    let no_media =
        (args.no_media_timeout > 0.0).then(|| Duration::from_secs_f64(args.no_media_timeout));
    let opts = SourceOptions {
        reconnect: false,
        snapshot_interval: SNAPSHOT_INTERVAL,
        // The player's frame-level watch (below) comes first; this bounds a silent socket.
        read_timeout: no_media.map_or(Duration::from_secs(u32::MAX.into()), |t| {
            t.saturating_mul(2) + Duration::from_secs(1)
        }),
        ..SourceOptions::default()
    };
    let sink: source::Sink = Arc::new(move |ev| {
        let _ = to_loop.send(Msg::Source(ev));
    });
    let spec = SourceSpec::Http {
        url: url.to_string(),
    };
    let src = source::spawn("http", spec, opts, sink).map_err(|e| e.to_string())?;
    if !args.quiet {
        eprintln!("client-std: requesting {shown_url}");
    }

    let limits = Limits {
        frames: args.frames,
        until: args
            .duration
            .map(|d| play.started + Duration::from_secs_f64(d)),
        no_media,
        progress: !args.quiet && play.window.is_none(),
        exit_on_end: play.window.is_none(),
    };
    let code = match play.window.clone() {
        None => play.run_loop(&rx, &limits),
        Some(shared) => {
            let decoder = window::spawn_decoder(&shared)?;
            let (code, play_back) = std::thread::scope(|scope| {
                let player = {
                    let (shared, limits) = (shared.clone(), &limits);
                    scope.spawn(move || {
                        let code = play.run_loop(&rx, limits);
                        shared.done.store(true, Ordering::SeqCst);
                        (code, play)
                    })
                };
                let cmd_tx = tx.clone();
                let send = move |cmd: &'static str| {
                    let _ = cmd_tx.send(Msg::Command(cmd));
                };
                if let Err(e) = window::run(&shown_url, &shared, send.clone()) {
                    eprintln!("client-std: {e}");
                    send("quit");
                }
                player
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            play = play_back;
            shared.close();
            let _ = decoder.join();
            code
        }
    };
    drop(tx);
    src.stop();
    let mut exit = code;
    if finish_recording(play.recorder.take(), play.record_error.take(), args.quiet) {
        exit = exit.max(1);
    }
    let elapsed = play
        .first_frame
        .map_or(Duration::ZERO, |t| play.last_frame.unwrap_or(t) - t);
    if !args.quiet && (exit == 0 || play.frames > 0) {
        eprintln!(
            "client-std: {}, {} byte(s) over HTTP",
            summary::rate(play.frames, play.started.elapsed()),
            play.bytes
        );
    }
    if args.stats {
        let mut json = StatsJson {
            frames_received: play.frames,
            bytes_received: play.bytes,
            mean_bitrate_kbps: summary::kbps(play.bytes, elapsed),
            duration_s: play.started.elapsed().as_secs_f64(),
            transport: "http",
            end_of_stream: play.ended,
            exit_code: exit,
            ..StatsJson::default()
        };
        json.display(play.window.as_ref());
        println!("{json}");
    }
    Ok(exit)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// When to stop by itself.
struct Limits {
    frames: Option<u64>,
    until: Option<Instant>,
    no_media: Option<Duration>,
    /// Headless progress lines.
    progress: bool,
    /// At the end of the stream, exit (headless); a window stays open until closed.
    exit_on_end: bool,
}

/// The playing state.
struct Play {
    recorder: Option<crate::record::Recorder>,
    record_error: Option<String>,
    window: Option<Arc<window::Shared>>,
    quiet: bool,
    tty: bool,
    frames: u64,
    bytes: u64,
    started: Instant,
    first_frame: Option<Instant>,
    last_frame: Option<Instant>,
    /// Frames and bytes at the last tick.
    tick: (u64, u64),
    /// Set once the run is decided (the code); the window may still be open.
    exit: Option<u8>,
    /// The stream ended (not a quit, not a failure).
    ended: bool,
    /// The user asked to quit (a window stays open at the end until then).
    quit: bool,
}

impl Play {
    /// Handles messages until the run is over; returns the exit code.
    fn run_loop(&mut self, rx: &mpsc::Receiver<Msg>, limits: &Limits) -> u8 {
        let mut next_tick = Instant::now() + TICK;
        loop {
            if let (Some(code), true) = (self.exit, self.quit || limits.exit_on_end || !self.ended)
            {
                return code;
            }
            let now = Instant::now();
            let mut deadline = next_tick;
            if self.exit.is_none() {
                if let Some(until) = limits.until {
                    if now >= until {
                        self.say("--duration reached");
                        self.exit = Some(0);
                        continue;
                    }
                    deadline = deadline.min(until);
                }
                if let Some(t) = limits.no_media {
                    let since = self.last_frame.unwrap_or(self.started);
                    if now >= since + t {
                        self.no_media(t);
                        continue;
                    }
                    deadline = deadline.min(since + t);
                }
            }
            match rx.recv_timeout(deadline.saturating_duration_since(now)) {
                Ok(Msg::Source(ev)) => self.on_source(ev, limits),
                Ok(Msg::Input(UserInput::Quit)) => self.quit(),
                Ok(Msg::Input(UserInput::Line(line))) => self.command(&line),
                Ok(Msg::Command(cmd)) => self.command(cmd),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return self.exit.unwrap_or(1),
            }
            if Instant::now() >= next_tick {
                next_tick = Instant::now() + TICK;
                self.progress(limits.progress);
            }
        }
    }

    fn on_source(&mut self, ev: SourceEvent, limits: &Limits) {
        match ev {
            SourceEvent::Frame { jpeg, arrival, .. } => {
                if self.exit.is_some() {
                    return;
                }
                self.frames += 1;
                self.bytes += jpeg.len() as u64;
                self.first_frame.get_or_insert(arrival);
                self.last_frame = Some(arrival);
                let window = self.window.as_ref();
                crate::record::deliver(&mut self.recorder, &mut self.record_error, window, jpeg);
                if limits.frames.is_some_and(|n| self.frames >= n) {
                    self.exit = Some(0);
                }
            }
            SourceEvent::State(SourceState::Streaming) => {
                self.say("streaming");
                self.set_state("PLAYING");
            }
            SourceEvent::State(SourceState::Ended { reason, finished }) if self.exit.is_none() => {
                if finished && self.frames > 0 {
                    self.say(&format!("end of stream ({reason})"));
                    self.end();
                } else {
                    self.fail(&reason);
                }
            }
            _ => {}
        }
    }

    /// No frame for `t`: the end after frames, a failure before.
    fn no_media(&mut self, t: Duration) {
        let secs = t.as_secs_f64();
        if self.frames > 0 {
            self.say(&format!(
                "no frame for {secs:.1} s: taking it as the end of the stream"
            ));
            self.end();
        } else {
            self.fail(&format!("no frame within {secs:.1} s (--no-media-timeout)"));
        }
    }

    /// The user's quit: exit 0 unless the run is already decided.
    fn quit(&mut self) {
        self.quit = true;
        self.exit.get_or_insert(0);
    }

    fn end(&mut self) {
        self.ended = true;
        self.exit = Some(0);
        self.set_state("ENDED");
    }

    fn fail(&mut self, reason: &str) {
        self.clear_line();
        eprintln!("client-std: error: {reason}");
        self.exit = Some(1);
        if let Some(w) = &self.window {
            lock(&w.status).message = Some(reason.to_string());
        }
    }

    fn command(&mut self, line: &str) {
        match line.trim().to_ascii_lowercase().as_str() {
            "" => {}
            "quit" | "exit" | "q" => self.quit(),
            "stats" => {
                let _ = writeln!(
                    std::io::stdout(),
                    "stats: bytes {} frames {}",
                    self.bytes,
                    self.frames
                );
            }
            other => self.say(&format!(
                "`{other}` does nothing for an http:// stream (quit and stats do)"
            )),
        }
    }

    /// A progress line (headless) and the window's status, once per tick.
    fn progress(&mut self, line: bool) {
        let (frames, bytes) = (self.frames - self.tick.0, self.bytes - self.tick.1);
        self.tick = (self.frames, self.bytes);
        let fps = frames as f64 / TICK.as_secs_f64();
        let kbps = summary::kbps(bytes, TICK);
        if let Some(w) = &self.window {
            let mut st = lock(&w.status);
            st.fps = fps;
            st.kbps = kbps;
        }
        if line && self.exit.is_none() {
            let text = format!(
                "{:>6.1}s  frames {:>6}  {fps:>5.1} fps  {kbps:>7.0} kbit/s",
                self.started.elapsed().as_secs_f64(),
                self.frames
            );
            if self.tty {
                eprint!("\r{text}  ");
            } else {
                eprintln!("{text}");
            }
        }
    }

    fn set_state(&self, state: &str) {
        if let Some(w) = &self.window {
            lock(&w.status).state = state.to_string();
        }
    }

    fn say(&self, msg: &str) {
        if !self.quiet {
            self.clear_line();
            eprintln!("client-std: {msg}");
        }
    }

    /// Ends a progress line on a terminal before a message.
    fn clear_line(&self) {
        if self.tty && !self.quiet && self.window.is_none() {
            eprint!("\r");
        }
    }
}
