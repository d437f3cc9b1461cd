//! [`LiveHub`]: the pulled live paths — their sources started and stopped as readers want
//! them, their frames made carriable, packetized once and handed to every event loop.

use std::io;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mjpeg::transcode::{self, TranscodeOptions};
use rtsp_core::server::{LiveFrame, LivePaths, LiveSource, Media};

use super::LiveFanout;
use crate::source::{self, SourceEvent, SourceHandle, SourceOptions, SourceSpec, SourceState};

/// How often the hub looks whether on-demand sources should start or stop.
const SUPERVISE_EVERY: Duration = Duration::from_millis(100);

/// A path whose frames the server pulls.
#[derive(Debug, Clone)]
pub struct PulledPath {
    /// The path name readers ask for.
    pub name: String,
    /// Where its frames come from.
    pub spec: SourceSpec,
    /// Timeouts, backoff and limits of its source.
    pub options: SourceOptions,
    /// Start the source only while readers want the path.
    pub on_demand: bool,
    /// On demand: how long the source keeps running after the last reader left.
    pub linger: Duration,
    /// The rate its description announces (`a=framerate`); the frames keep their own times.
    pub fps: f64,
}

impl PulledPath {
    /// A path pulled from `spec` at all times, announced at 25 fps.
    pub fn new(name: &str, spec: SourceSpec) -> Self {
        Self {
            name: name.to_string(),
            spec,
            options: SourceOptions::default(),
            on_demand: false,
            linger: Duration::from_secs(10),
            fps: 25.0,
        }
    }
}

/// How a pulled path is doing, for listings and logs.
#[derive(Debug, Clone, PartialEq)]
pub struct PulledStatus {
    /// The path.
    pub name: String,
    /// Whether its source runs now.
    pub running: bool,
    /// The last state its source reported.
    pub state: Option<SourceState>,
    /// Frames handed to the event loops.
    pub frames: u64,
    /// Frames refused (not a JPEG RTP/JPEG can carry, even after transcoding).
    pub refused: u64,
}

/// The pulled paths of a server: declared in its [`LivePaths`] at [`LiveHub::start`], their
/// sources run on their own threads (always, or on demand), and their frames reach every
/// event loop through a [`LiveFanout`]. Frames a source cannot send as RTP/JPEG are
/// transcoded on the source's thread (as files are at load), never on an event loop.
pub struct LiveHub {
    stop: mpsc::Sender<()>,
    supervisor: Option<JoinHandle<()>>,
    paths: Arc<Vec<Arc<Pulled>>>,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHub")
            .field("paths", &self.paths.len())
            .finish_non_exhaustive()
    }
}

/// One pulled path and its source, if running.
struct Pulled {
    path: PulledPath,
    live: LivePaths,
    fanout: LiveFanout,
    mtu: usize,
    transcode: Option<TranscodeOptions>,
    state: Mutex<PulledState>,
    source: Mutex<Option<SourceHandle>>,
}

#[derive(Default)]
struct PulledState {
    epoch: u64,
    last: Option<SourceState>,
    frames: u64,
    refused: u64,
}

impl LiveHub {
    /// Declares `paths` as pulled live paths of `live`, and starts supervising them: a
    /// source that is not on demand starts now, one on demand when a reader asks
    /// ([`LivePaths::wanted`]). Frames are packetized for RTP packets of `mtu` bytes;
    /// `transcode`: how to make frames RFC 2435 cannot carry carriable (`None`: refuse them).
    pub fn start(
        live: &LivePaths,
        fanout: &LiveFanout,
        paths: Vec<PulledPath>,
        mtu: usize,
        transcode: Option<TranscodeOptions>,
    ) -> io::Result<Self> {
        let paths: Vec<Arc<Pulled>> = paths
            .into_iter()
            .map(|path| {
                live.add(
                    &path.name,
                    LiveSource::Pulled {
                        on_demand: path.on_demand,
                    },
                );
                Arc::new(Pulled {
                    path,
                    live: live.clone(),
                    fanout: fanout.clone(),
                    mtu,
                    transcode: transcode.clone(),
                    state: Mutex::default(),
                    source: Mutex::new(None),
                })
            })
            .collect();
        let paths = Arc::new(paths);
        let (stop, stopped) = mpsc::channel();
        let supervised = Arc::clone(&paths);
        let supervisor = std::thread::Builder::new()
            .name("live-hub".into())
            .spawn(move || supervise(&supervised, &stopped))?;
        Ok(Self {
            stop,
            supervisor: Some(supervisor),
            paths,
        })
    }

    /// Every pulled path's state, in the order given.
    pub fn status(&self) -> Vec<PulledStatus> {
        self.paths
            .iter()
            .map(|p| {
                let s = lock(&p.state);
                PulledStatus {
                    name: p.path.name.clone(),
                    running: lock(&p.source).is_some(),
                    state: s.last.clone(),
                    frames: s.frames,
                    refused: s.refused,
                }
            })
            .collect()
    }

    /// Stops every source (each within its bounded stop) and the supervisor.
    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.supervisor.take() {
            let _ = t.join();
        }
        for p in self.paths.iter() {
            if let Some(s) = lock(&p.source).take() {
                s.stop();
            }
        }
    }
}

impl Drop for LiveHub {
    fn drop(&mut self) {
        self.shut();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The supervisor: starts the sources that are wanted and stops those no longer wanted,
/// every [`SUPERVISE_EVERY`] until told to stop.
fn supervise(paths: &[Arc<Pulled>], stopped: &mpsc::Receiver<()>) {
    loop {
        let now = Instant::now();
        for p in paths {
            let wanted = p.live.wanted(&p.path.name, now, p.path.linger);
            let mut source = lock(&p.source);
            match (wanted, source.is_some()) {
                (true, false) => match p.spawn() {
                    Ok(s) => *source = Some(s),
                    Err(e) => {
                        tracing::warn!(path = %p.path.name, error = %e, "cannot start source")
                    }
                },
                (false, true) => {
                    tracing::info!(path = %p.path.name, "no readers: stopping the source");
                    if let Some(s) = source.take() {
                        // Stopping may take a moment: not on this thread.
                        let _ = std::thread::Builder::new()
                            .name("live-stop".into())
                            .spawn(move || s.stop());
                    }
                }
                _ => {}
            }
        }
        match stopped.recv_timeout(SUPERVISE_EVERY) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
    }
}

impl Pulled {
    fn spawn(self: &Arc<Self>) -> io::Result<SourceHandle> {
        let me = Arc::clone(self);
        let sink = Arc::new(move |ev: SourceEvent| me.on_event(ev));
        source::spawn(
            &self.path.name,
            self.path.spec.clone(),
            self.path.options.clone(),
            sink,
        )
    }

    fn on_event(&self, ev: SourceEvent) {
        match ev {
            SourceEvent::Frame {
                jpeg,
                arrival,
                rtp_timestamp,
            } => self.on_frame(jpeg, arrival, rtp_timestamp),
            SourceEvent::State(state) => {
                let mut s = lock(&self.state);
                if matches!(state, SourceState::Connecting) {
                    // A new run of the source: its clock starts afresh on the timeline.
                    s.epoch = self.live.new_epoch();
                }
                s.last = Some(state);
            }
        }
    }

    /// A frame from the source: made carriable, stamped on the path's timeline,
    /// packetized once, described if it is the first, and handed to every loop.
    fn on_frame(&self, jpeg: Bytes, arrival: Instant, rtp: Option<u32>) {
        let name = &self.path.name;
        let jpeg = match &self.transcode {
            Some(opts) => match transcode::make_carriable_bytes(&jpeg, opts) {
                Ok(t) => t.data,
                Err(e) => return self.refuse(&e.to_string()),
            },
            None => jpeg,
        };
        let epoch = lock(&self.state).epoch;
        let at = self.live.stamp(name, epoch, rtp, arrival);
        let frame = match LiveFrame::from_jpeg(jpeg, at, self.mtu) {
            Ok(f) => f,
            Err(e) => return self.refuse(&e.to_string()),
        };
        let fps = self.path.fps;
        self.live.frame(name, (frame.width(), frame.height()), || {
            Media::live(name, fps, &frame).ok()
        });
        self.fanout.frame(None, name, &frame);
        lock(&self.state).frames += 1;
    }

    fn refuse(&self, why: &str) {
        let mut s = lock(&self.state);
        s.refused += 1;
        // The first of a run, then every 100th: a broken source must not flood the log.
        if s.refused % 100 == 1 {
            tracing::warn!(path = %self.path.name, refused = s.refused, reason = why, "frame refused");
        }
    }
}
