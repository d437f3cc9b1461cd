//! Reading a file into [`Media`] ([`Settings::load_file`]: read, split, transcode,
//! packetize) and the loader threads of [`FsCatalog`](super::FsCatalog) that do it off the
//! event loops ([`Pool`]).

use std::fs;
use std::io::{self, Read};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use mjpeg::transcode::{TranscodeError, TranscodeOptions};
use rtsp_core::server::{LookupError, Media, MediaError};

use super::cache::{MediaCache, Stamp};
use super::paths::FilePaths;
use super::signal::LoadSignal;
use super::{load_transcode_threads, log_transcoding, transcode_frames_on};

/// A callback run with a stream's name before its file is read (see
/// [`FsCatalog::with_before_load`](super::FsCatalog::with_before_load)).
type BeforeLoad = dyn Fn(&str) + Send + Sync;

/// How files become media: what the builder methods of `FsCatalog` set.
#[derive(Clone)]
pub(super) struct Settings {
    pub(super) fps: f64,
    pub(super) mtu: usize,
    pub(super) max_file_size: u64,
    pub(super) transcode: Option<TranscodeOptions>,
    pub(super) before_load: Option<Arc<BeforeLoad>>,
    /// Configured file paths (rate, looping, aliases).
    pub(super) paths: FilePaths,
}

/// What reading one file gave.
pub(super) struct Loaded {
    /// The version read (`None`: the file could not be opened).
    pub(super) stamp: Option<Stamp>,
    pub(super) result: Result<Media, LookupError>,
    /// Whether the failure is the file's content (kept until the file changes), not an I/O
    /// error that may pass.
    pub(super) remember: bool,
}

impl Settings {
    /// The refusal of a file of `len` bytes over the size limit, naming it.
    pub(super) fn too_large(&self, path: &Path, len: u64) -> LookupError {
        LookupError::Busy(format!(
            "{}: file of {len} bytes is over the size limit of {} bytes",
            path.display(),
            self.max_file_size
        ))
    }

    /// Reads, splits, transcodes and packetizes the file of `name` at `path`, on this thread.
    pub(super) fn load_file(&self, name: &str, path: &Path) -> Loaded {
        if let Some(hook) = &self.before_load {
            hook(name);
        }
        let (data, stamp) = match self.read(path) {
            Ok(r) => r,
            Err((stamp, e)) => {
                return Loaded {
                    stamp,
                    result: Err(e),
                    remember: false,
                }
            }
        };
        let configured = self.paths.covering(name).map(|(p, _)| p.clone());
        let configured = configured.unwrap_or_default();
        let fps = match read_fps_sidecar(path) {
            Ok(fps) => configured.fps.or(fps).unwrap_or(self.fps),
            Err(e) => {
                return Loaded {
                    stamp: Some(stamp),
                    result: Err(e),
                    remember: true,
                }
            }
        };
        // A decoder bug must not take a loader thread down: a panic is this file's failure.
        let result =
            std::panic::catch_unwind(AssertUnwindSafe(|| self.build(name, path, data, fps)))
                .map(|built| match configured.looping {
                    Some(looping) => built.map(|m| m.with_looping(looping)),
                    None => built,
                })
                .unwrap_or_else(|_| {
                    Err(LookupError::Invalid(format!(
                        "{}: the loader panicked",
                        path.display()
                    )))
                });
        Loaded {
            stamp: Some(stamp),
            result,
            remember: true,
        }
    }

    fn read(&self, path: &Path) -> Result<(Bytes, Stamp), (Option<Stamp>, LookupError)> {
        let fail = |e: io::Error| LookupError::Invalid(format!("{}: {e}", path.display()));
        let mut file = fs::File::open(path).map_err(|e| (None, fail(e)))?;
        let meta = file.metadata().map_err(|e| (None, fail(e)))?;
        if !meta.is_file() {
            return Err((None, LookupError::Forbidden));
        }
        let stamp = Stamp::of(&meta);
        if meta.len() > self.max_file_size {
            return Err((None, self.too_large(path, meta.len())));
        }
        let mut data = Vec::with_capacity(meta.len() as usize);
        file.by_ref()
            .take(self.max_file_size + 1)
            .read_to_end(&mut data)
            .map_err(|e| (None, fail(e)))?;
        if data.len() as u64 > self.max_file_size {
            // It grew while being read.
            return Err((None, self.too_large(path, data.len() as u64)));
        }
        Ok((Bytes::from(data), stamp))
    }

    fn build(&self, name: &str, path: &Path, data: Bytes, fps: f64) -> Result<Media, LookupError> {
        let (_, frames) = mjpeg::split_frames(&data)
            .map_err(|e| LookupError::Invalid(format!("{}: {e}", path.display())))?;
        let frames = match &self.transcode {
            Some(opts) => transcode_file(name, path, &data, &frames, opts)?,
            None => frames,
        };
        Media::from_jpegs(name, fps, frames, self.mtu).map_err(|e| match e {
            MediaError::NotCarriable { .. } => LookupError::Unplayable(format!(
                "{}: {e}{}",
                path.display(),
                if self.transcode.is_none() {
                    " (transcoding is disabled)"
                } else {
                    ""
                }
            )),
            _ => LookupError::Invalid(format!("{}: {e}", path.display())),
        })
    }
}

/// The frame rate in the sidecar of the media file at `path` (`clip.mjpeg.fps`), if it has
/// one: a regular file (not a link) of at most 1 KiB. A sidecar that says no frame rate is
/// the file's failure, naming the sidecar.
pub(super) fn read_fps_sidecar(path: &Path) -> Result<Option<f64>, LookupError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(mjpeg::FPS_SIDECAR_EXTENSION);
    let sidecar = PathBuf::from(name);
    let bad = |why: String| LookupError::Invalid(format!("{}: {why}", sidecar.display()));
    match fs::symlink_metadata(&sidecar) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
        Ok(m) if !m.is_file() => return Err(bad("not a regular file".into())),
        Ok(m) if m.len() > 1024 => return Err(bad(format!("{} bytes, more than 1 KiB", m.len()))),
        Ok(_) => {}
    }
    let text = fs::read_to_string(&sidecar).map_err(|e| bad(e.to_string()))?;
    mjpeg::parse_fps(&text)
        .map(Some)
        .map_err(|e| bad(e.to_string()))
}

/// Transcodes the frames of one file, logging what was done.
fn transcode_file(
    name: &str,
    path: &Path,
    data: &[u8],
    frames: &[Bytes],
    opts: &TranscodeOptions,
) -> Result<Vec<Bytes>, LookupError> {
    let threads = load_transcode_threads();
    let (frames, report) =
        transcode_frames_on(data, frames, opts, &|_| {}, threads).map_err(|e| {
            let text = format!("{}: {e}", path.display());
            match e.source {
                TranscodeError::NotCarriable(_) => LookupError::Unplayable(text),
                _ => LookupError::Invalid(text),
            }
        })?;
    log_transcoding(name, path, &report);
    Ok(frames)
}

/// One load for the pool.
pub(super) struct Job {
    pub(super) name: String,
    pub(super) path: PathBuf,
    pub(super) settings: Arc<Settings>,
}

/// What the loader threads share with the catalog.
#[derive(Clone)]
pub(super) struct Shared {
    pub(super) cache: Arc<Mutex<MediaCache>>,
    pub(super) signal: LoadSignal,
}

impl Shared {
    pub(super) fn cache(&self) -> std::sync::MutexGuard<'_, MediaCache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads `job` on this thread, stores the result (media or failure) with the version of
    /// the file read, and announces it. Returns the stored answer.
    pub(super) fn run(&self, job: &Job) -> Result<Arc<Media>, LookupError> {
        let started = Instant::now();
        self.cache().read_started();
        let loaded = job.settings.load_file(&job.name, &job.path);
        let result = loaded.result.map(Arc::new);
        match &result {
            Ok(media) => tracing::info!(
                name = job.name,
                file = %job.path.display(),
                frames = media.frame_count(),
                width = media.width(),
                height = media.height(),
                elapsed = ?started.elapsed(),
                "loaded media"
            ),
            Err(e) => tracing::warn!(
                name = job.name,
                error = %e,
                elapsed = ?started.elapsed(),
                remembered = loaded.remember,
                "cannot load media"
            ),
        }
        self.cache().finish(
            &job.name,
            loaded.stamp,
            result.clone(),
            loaded.remember,
            Instant::now(),
        );
        self.signal.loaded();
        result
    }
}

/// A fixed set of loader threads fed through a bounded queue; they end when the pool (the
/// catalog) is dropped and their load is done.
pub(super) struct Pool {
    tx: SyncSender<Job>,
}

impl Pool {
    /// `threads` loader threads, a queue of `queue` jobs.
    pub(super) fn start(threads: usize, queue: usize, shared: &Shared) -> io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let (rx, shared) = (Arc::clone(&rx), shared.clone());
            std::thread::Builder::new()
                .name(format!("media-loader-{i}"))
                .spawn(move || worker(&rx, &shared))?;
        }
        Ok(Self { tx })
    }

    /// Queues `job`; gives it back when the queue is full.
    pub(super) fn submit(&self, job: Job) -> Result<(), Job> {
        self.tx.try_send(job).map_err(|e| match e {
            TrySendError::Full(j) | TrySendError::Disconnected(j) => j,
        })
    }
}

fn worker(rx: &Mutex<Receiver<Job>>, shared: &Shared) {
    loop {
        let job = match rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let _ = shared.run(&job);
    }
}
