//! Media from the filesystem: [`FsCatalog`], a [`Catalog`] confined to a media root, and the
//! built-in `sample` stream.

mod cache;
mod loader;
mod paths;
mod signal;

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mjpeg::transcode::{self, TranscodeError, TranscodeOptions, TranscodeStats};
use mjpeg::NotCarriable;
use rtsp_core::server::{Catalog, LookupError, Media, MediaError};

pub use cache::CacheStats;
use cache::{MediaCache, Stamp};
use loader::{Job, Pool, Settings, Shared};
pub use paths::FilePath;
use paths::FilePaths;
pub use signal::LoadSignal;

/// Name of the built-in test-pattern stream.
pub const SAMPLE_NAME: &str = "sample";
/// Width of the built-in sample, in pixels.
pub const SAMPLE_WIDTH: u16 = 384;
/// Height of the built-in sample, in pixels.
pub const SAMPLE_HEIGHT: u16 = 288;
/// Frame rate of the built-in sample.
pub const SAMPLE_FPS: f64 = 25.0;
/// Frames in the built-in sample (10 s at 25 fps; it loops).
pub const SAMPLE_FRAMES: u32 = 250;
/// Frame rate given to files (neither MJPEG layout records one).
pub const DEFAULT_FILE_FPS: f64 = 25.0;
/// File name extensions [`FsCatalog`] serves and lists (compared case-insensitively).
pub const MJPEG_EXTENSIONS: &[&str] = &["mjpeg", "mjpg"];
/// Largest file [`FsCatalog`] loads (1 GiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1 << 30;
/// How deep [`Catalog::names`] descends below the root.
const MAX_WALK_DEPTH: usize = 16;
/// Most names [`Catalog::names`] returns.
const MAX_NAMES: usize = 10_000;

/// Why an [`FsCatalog`] could not be created.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The media root does not exist or cannot be resolved.
    #[error("media root {path}: {source}")]
    Root {
        /// The root as given.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The media root is not a directory.
    #[error("media root {0} is not a directory")]
    NotADirectory(PathBuf),
    /// The built-in sample could not be built (an MTU too small, for instance).
    #[error("built-in sample stream: {0}")]
    Sample(#[source] MediaError),
}

/// A frame of a file that [`transcode_frames`] could not make carriable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("frame {index} at byte {offset}: {source}")]
pub struct FrameError {
    /// 0-based frame index.
    pub index: usize,
    /// Byte offset of the frame in the file (0 when unknown).
    pub offset: usize,
    /// Why.
    #[source]
    pub source: TranscodeError,
}

/// What [`transcode_frames`] did to the frames of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TranscodeReport {
    /// How many frames were left, re-coded losslessly, re-encoded lossily.
    pub stats: TranscodeStats,
    /// The first reason a frame was not carriable, with that frame's index.
    pub first_reason: Option<(usize, NotCarriable)>,
}

/// Makes every frame carriable by RFC 2435 with [`transcode::make_carriable_bytes`]
/// (unchanged frames are shared, not copied), on up to 4 threads. `file` is the data the
/// frames were split from (for byte offsets in errors; frames outside it report offset 0).
/// `progress` is called with the number of frames done so far, from the worker threads.
/// The first failing frame (lowest index) is the error.
pub fn transcode_frames(
    file: &[u8],
    frames: &[Bytes],
    opts: &TranscodeOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<(Vec<Bytes>, TranscodeReport), FrameError> {
    transcode_frames_on(file, frames, opts, progress, MAX_TRANSCODE_THREADS)
}

/// Threads [`transcode_frames`] uses at most.
const MAX_TRANSCODE_THREADS: usize = 4;

/// Threads a load of [`FsCatalog`] transcodes on: one core is left to the event loops (on
/// 2 cores, the loader thread alone), at most [`MAX_TRANSCODE_THREADS`].
fn load_transcode_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.saturating_sub(1).clamp(1, MAX_TRANSCODE_THREADS)
}

/// [`transcode_frames`] on at most `max_threads` threads (fewer than the cores).
fn transcode_frames_on(
    file: &[u8],
    frames: &[Bytes],
    opts: &TranscodeOptions,
    progress: &(dyn Fn(usize) + Sync),
    max_threads: usize,
) -> Result<(Vec<Bytes>, TranscodeReport), FrameError> {
    use std::panic::AssertUnwindSafe;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let offset_of = |f: &Bytes| {
        let (base, p) = (file.as_ptr() as usize, f.as_ptr() as usize);
        if p >= base && p < base + file.len() {
            p - base
        } else {
            0
        }
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, max_threads.max(1))
        .min(frames.len().max(1));
    let chunk = frames.len().div_ceil(workers).max(1);
    let done = AtomicUsize::new(0);
    let results: Vec<Vec<Result<transcode::Transcoded, TranscodeError>>> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = frames
                .chunks(chunk)
                .map(|part| {
                    let done = &done;
                    scope.spawn(move || {
                        part.iter()
                            .map(|f| {
                                // A decoder bug must not take the server's loop down: a
                                // panic on one frame becomes that frame's error.
                                let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
                                    transcode::make_carriable_bytes(f, opts)
                                }))
                                .unwrap_or_else(|_| {
                                    Err(TranscodeError::Decode("the decoder panicked".into()))
                                });
                                progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                                r
                            })
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| match h.join() {
                    Ok(v) => v,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect()
        });
    let mut out = Vec::with_capacity(frames.len());
    let mut report = TranscodeReport::default();
    for (index, r) in results.into_iter().flatten().enumerate() {
        match r {
            Ok(t) => {
                report.stats.add(t.kind);
                if let (None, Some(reason)) = (&report.first_reason, t.reason) {
                    report.first_reason = Some((index, reason));
                }
                out.push(t.data);
            }
            Err(source) => {
                return Err(FrameError {
                    index,
                    offset: offset_of(&frames[index]),
                    source,
                })
            }
        }
    }
    Ok((out, report))
}

/// The built-in `sample` stream: a moving test pattern (frame counter, colour bars),
/// 384x288, 25 fps, 250 frames (10 s), marked as looping. Packetized for `mtu`.
pub fn sample_media(mtu: usize) -> Result<Media, MediaError> {
    let frames = mjpeg::testpattern::frames(SAMPLE_FRAMES, SAMPLE_WIDTH, SAMPLE_HEIGHT);
    Ok(Media::from_jpegs(SAMPLE_NAME, SAMPLE_FPS, frames, mtu)?.with_looping(true))
}

/// Whether `name` ends in one of the [`MJPEG_EXTENSIONS`].
fn has_mjpeg_extension(name: &Path) -> bool {
    name.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MJPEG_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// How long a lookup trusts what the previous lookup of the same name found on the
/// filesystem (see [`FsCatalog::with_revalidate`]).
pub const DEFAULT_REVALIDATE: Duration = Duration::from_secs(1);
/// Default of [`FsCatalog::with_cache_budget`]: 512 MiB.
pub const DEFAULT_CACHE_BUDGET: usize = 512 << 20;
/// Default of [`FsCatalog::with_max_loads`].
pub const DEFAULT_MAX_LOADS: usize = 2;
/// Default of [`FsCatalog::with_load_threads`].
pub const DEFAULT_LOAD_THREADS: usize = 2;

/// A [`Catalog`] serving MJPEG files below a media root, plus the built-in `sample`.
///
/// * Names are relative paths below the root (`dir/clip.mjpeg`). A name is refused (403)
///   when it is absolute or has a `..`, `.` or hidden (`.x`) component, when it resolves
///   (after following symlinks) outside the root, or when it is not a regular file
///   (FIFOs, devices, sockets). Directories and files without an MJPEG extension
///   ([`MJPEG_EXTENSIONS`]) are not found (404).
/// * [`Catalog::lookup`] never reads a file: it resolves the name and checks the file's size
///   and modification time (not even that for a name found less than [`DEFAULT_REVALIDATE`]
///   ago, see [`FsCatalog::with_revalidate`]), and answers from the cache. A file not
///   loaded yet goes to a loader thread and the answer is [`LookupError::Loading`] (the
///   server holds the request and asks again when [`Catalog::generation`] moves: the
///   runtimes register a wake-up with [`FsCatalog::load_signal`]). A file over the size
///   limit ([`FsCatalog::with_max_file_size`]) is refused before anything is read, and so
///   is a new load while [`FsCatalog::with_max_loads`] run: [`LookupError::Busy`] (503).
/// * Loader threads ([`FsCatalog::with_load_threads`]) read the file whole, split it with
///   [`mjpeg::split_frames`] (lab or concatenated format, detected), transcode it and
///   packetize it. A failure (an error naming the file and the byte offset: 500) is
///   remembered until the file's size or modification time changes, like a stream is;
///   errors opening or reading the file are not remembered.
/// * Loaded streams are kept up to a memory budget ([`FsCatalog::with_cache_budget`]), the
///   least recently used evicted first. A stream sessions still play stays alive through
///   their references (and is taken back from them at its next lookup).
/// * Frames that RTP/JPEG ([RFC 2435]) cannot carry are transcoded at load time
///   ([`transcode_frames`]): re-coded losslessly with the standard Huffman tables (ffmpeg's
///   "optimal" tables), or decoded and re-encoded as 4:2:0 (4:4:4, progressive, ...; lossy).
///   One log line per file says how many frames were re-coded and re-encoded. With
///   [`FsCatalog::with_transcode`]`(false)` such a file is refused (503,
///   [`LookupError::Unplayable`] with the first reason).
/// * `sample` is the built-in test pattern ([`sample_media`], generated by
///   [`FsCatalog::with_sample`]) unless a file named `sample` exists under the root.
///
/// [`FsCatalog::load`] and [`FsCatalog::lookup_wait`] block the caller (tools, tests,
/// `--preload`).
///
/// [RFC 2435]: https://www.rfc-editor.org/rfc/rfc2435
pub struct FsCatalog {
    root: PathBuf,
    settings: Arc<Settings>,
    sample: Option<Arc<Media>>,
    revalidate: Duration,
    max_loads: usize,
    load_threads: usize,
    shared: Shared,
    /// Started at the first load.
    pool: Option<Pool>,
}

impl std::fmt::Debug for FsCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsCatalog")
            .field("root", &self.root)
            .field("fps", &self.settings.fps)
            .field("mtu", &self.settings.mtu)
            .field("sample", &self.sample.is_some())
            .field("cache", &self.cache_stats())
            .field("transcode", &self.settings.transcode)
            .finish_non_exhaustive()
    }
}

impl FsCatalog {
    /// A catalog of the files below `root` (which must be a directory), without the
    /// built-in sample; files play at [`DEFAULT_FILE_FPS`], packetized for a 1400-byte MTU.
    pub fn new(root: impl AsRef<Path>) -> Result<Self, CatalogError> {
        let given = root.as_ref();
        let root = fs::canonicalize(given).map_err(|source| CatalogError::Root {
            path: given.to_path_buf(),
            source,
        })?;
        if !root.is_dir() {
            return Err(CatalogError::NotADirectory(given.to_path_buf()));
        }
        Ok(Self {
            root,
            settings: Arc::new(Settings {
                fps: DEFAULT_FILE_FPS,
                mtu: 1400,
                max_file_size: DEFAULT_MAX_FILE_SIZE,
                transcode: Some(TranscodeOptions::default()),
                before_load: None,
                paths: FilePaths::default(),
            }),
            sample: None,
            revalidate: DEFAULT_REVALIDATE,
            max_loads: DEFAULT_MAX_LOADS,
            load_threads: DEFAULT_LOAD_THREADS,
            shared: Shared {
                cache: Arc::new(Mutex::new(MediaCache::new(DEFAULT_CACHE_BUDGET))),
                signal: LoadSignal::new(),
            },
            pool: None,
        })
    }

    fn settings_mut(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.settings)
    }

    /// How long a name, once resolved and loaded, is served from the cache without checking
    /// the filesystem again (default [`DEFAULT_REVALIDATE`]; `Duration::ZERO` checks the
    /// path, the size and the modification time on every lookup). Confinement is applied
    /// at every check; within the window a removed or changed file keeps playing as loaded.
    pub fn with_revalidate(mut self, every: Duration) -> Self {
        self.revalidate = every;
        self
    }

    /// Serve stream `name` (and the names below it) as `path` says: from another file or
    /// directory, at its own rate, looping or not. The file is confined to the root like any
    /// other.
    pub fn with_path(mut self, name: impl Into<String>, path: FilePath) -> Self {
        self.settings_mut().paths.insert(name.into(), path);
        self
    }

    /// Frame rate for files (default [`DEFAULT_FILE_FPS`]).
    pub fn with_fps(mut self, fps: f64) -> Self {
        self.settings_mut().fps = fps;
        self
    }

    /// MTU the media are packetized for (use the server's
    /// [`ServerConfig::mtu`](rtsp_core::server::ServerConfig::mtu); set it before
    /// [`FsCatalog::with_sample`]).
    pub fn with_mtu(mut self, mtu: usize) -> Self {
        self.settings_mut().mtu = mtu;
        self
    }

    /// Largest file loaded (default 1 GiB, [`DEFAULT_MAX_FILE_SIZE`]). A larger one is
    /// refused from its size alone, before anything is read: [`LookupError::Busy`] (503)
    /// naming the file, its size and the limit.
    pub fn with_max_file_size(mut self, bytes: u64) -> Self {
        self.settings_mut().max_file_size = bytes;
        self
    }

    /// Whether frames RTP/JPEG cannot carry are transcoded at load time (default `true`,
    /// lossless where possible, else lossy at quality 90). With `false` (the server's
    /// `--no-transcode`) a file with such a frame is refused at DESCRIBE:
    /// [`LookupError::Unplayable`] (503) naming the file, the frame and the first reason.
    pub fn with_transcode(mut self, enabled: bool) -> Self {
        self.settings_mut().transcode = enabled.then(TranscodeOptions::default);
        self
    }

    /// Transcoding with these options (e.g. a lower quality, or lossless only with
    /// `allow_lossy = false`: frames that need lossy re-encoding then make the file
    /// unplayable).
    pub fn with_transcode_options(mut self, opts: TranscodeOptions) -> Self {
        self.settings_mut().transcode = Some(opts);
        self
    }

    /// Bytes of loaded streams the cache keeps (default [`DEFAULT_CACHE_BUDGET`]; see
    /// [`CacheStats::bytes`] for what counts); over it the least recently used are evicted.
    /// A stream just loaded is kept until asked for (up to a minute) even over the budget.
    pub fn with_cache_budget(self, bytes: usize) -> Self {
        self.shared.cache().set_budget(bytes, Instant::now());
        self
    }

    /// Most loads queued or running at once (default [`DEFAULT_MAX_LOADS`], at least 1);
    /// a lookup that would start another is answered [`LookupError::Busy`].
    pub fn with_max_loads(mut self, n: usize) -> Self {
        self.max_loads = n.max(1);
        self
    }

    /// Loader threads (default [`DEFAULT_LOAD_THREADS`], at least 1), started at the first
    /// load. A load transcodes on one core fewer than the machine has (at least 1, at most 4).
    pub fn with_load_threads(mut self, n: usize) -> Self {
        self.load_threads = n.max(1);
        self
    }

    /// Runs `hook` with the stream's name on the loading thread before each file is read
    /// (for tests and metrics: it may block, holding its load).
    pub fn with_before_load(mut self, hook: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.settings_mut().before_load = Some(Arc::new(hook));
        self
    }

    /// Generates the built-in `sample` stream now (a second or so of JPEG encoding).
    pub fn with_sample(mut self) -> Result<Self, CatalogError> {
        self.sample = Some(Arc::new(
            sample_media(self.settings.mtu).map_err(CatalogError::Sample)?,
        ));
        Ok(self)
    }

    /// The canonical media root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// What announces the end of each load (its generation is this catalog's
    /// [`Catalog::generation`]). Runtimes register their wake-up with it: give it to
    /// [`ServerOptions::load_signal`](crate::ServerOptions::load_signal) (as
    /// [`ServerOptions::fs`](crate::ServerOptions::fs) does) or to runtime-mio's
    /// `LoopsOptions::load_signal`.
    pub fn load_signal(&self) -> LoadSignal {
        self.shared.signal.clone()
    }

    /// Registers `f`, run on the loader thread after every load ends (see
    /// [`LoadSignal::on_loaded`]).
    pub fn on_loaded(&self, f: impl Fn() -> bool + Send + Sync + 'static) {
        self.shared.signal.on_loaded(f);
    }

    /// What the cache holds now.
    pub fn cache_stats(&self) -> CacheStats {
        self.shared.cache().stats()
    }

    /// Resolves `name` to a regular file below the root, applying every confinement rule.
    pub fn resolve(&self, name: &str) -> Result<PathBuf, LookupError> {
        self.resolve_meta(name).map(|(path, _)| path)
    }

    /// [`FsCatalog::resolve`], with the file's metadata.
    fn resolve_meta(&self, name: &str) -> Result<(PathBuf, fs::Metadata), LookupError> {
        let file = self.settings.paths.file_of(name);
        let name = file.as_ref();
        if name.is_empty() || name.contains('\0') || name.contains('\\') {
            return Err(LookupError::Forbidden);
        }
        let rel = Path::new(name);
        if rel.is_absolute() || name.starts_with('/') {
            return Err(LookupError::Forbidden);
        }
        for c in rel.components() {
            match c {
                Component::Normal(part) => {
                    if part.to_string_lossy().starts_with('.') {
                        return Err(LookupError::Forbidden);
                    }
                }
                _ => return Err(LookupError::Forbidden),
            }
        }
        let candidate = self.root.join(rel);
        let real = match fs::canonicalize(&candidate) {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(LookupError::NotFound),
            Err(_) => return Err(LookupError::Forbidden),
        };
        if !real.starts_with(&self.root) {
            tracing::warn!(name, resolved = %real.display(), "name resolves outside the media root");
            return Err(LookupError::Forbidden);
        }
        let meta = fs::metadata(&real).map_err(|_| LookupError::NotFound)?;
        if meta.is_dir() {
            return Err(LookupError::NotFound);
        }
        if !meta.is_file() {
            return Err(LookupError::Forbidden);
        }
        if name != SAMPLE_NAME && !has_mjpeg_extension(rel) {
            return Err(LookupError::NotFound);
        }
        Ok((real, meta))
    }

    /// Loads and splits the file `name` (see [`FsCatalog::resolve`]) on this thread,
    /// uncached.
    pub fn load(&self, name: &str) -> Result<Media, LookupError> {
        let (path, meta) = self.resolve_meta(name)?;
        if meta.len() > self.settings.max_file_size {
            return Err(self.settings.too_large(&path, meta.len()));
        }
        self.shared.cache().read_started();
        self.settings.load_file(name, &path).result
    }

    /// [`Catalog::lookup`], waiting up to `timeout` while the stream loads (then
    /// [`LookupError::Loading`]). Blocks: for tools, tests and preloading, never on an
    /// event loop.
    pub fn lookup_wait(
        &mut self,
        name: &str,
        timeout: Duration,
    ) -> Result<Arc<Media>, LookupError> {
        let until = Instant::now() + timeout;
        loop {
            let seen = self.shared.signal.generation();
            match self.lookup(name) {
                Err(LookupError::Loading) => {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(LookupError::Loading);
                    }
                    self.shared.signal.wait_past(seen, left);
                }
                other => return other,
            }
        }
    }

    /// Hands `name` (file `path`, version `stamp`) to the loader threads: `Loading`, or
    /// `Busy` when too many loads run.
    fn start_load(
        &mut self,
        name: &str,
        path: PathBuf,
        stamp: Stamp,
        now: Instant,
    ) -> Result<Arc<Media>, LookupError> {
        let running = self.shared.cache().loading();
        if running >= self.max_loads {
            return Err(LookupError::Busy(format!(
                "too many loads at once ({running} running, the limit)"
            )));
        }
        if self.pool.is_none() {
            let pool = Pool::start(self.load_threads, self.max_loads, &self.shared)
                .map_err(|e| LookupError::Busy(format!("cannot start a loader thread: {e}")))?;
            self.pool = Some(pool);
        }
        let Some(pool) = &self.pool else {
            return Err(LookupError::Busy("no loader thread".into()));
        };
        self.shared.cache().start(name, stamp, now);
        let job = Job {
            name: name.to_string(),
            path,
            settings: Arc::clone(&self.settings),
        };
        if pool.submit(job).is_err() {
            self.shared
                .cache()
                .finish(name, None, Err(LookupError::Loading), false, now);
            return Err(LookupError::Busy("the loader queue is full".into()));
        }
        Err(LookupError::Loading)
    }

    /// Stream names below the root, without the sample: every regular file with an MJPEG
    /// extension, as `/`-separated relative paths, sorted. Symlinked directories and hidden
    /// entries are skipped.
    pub fn file_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root, &self.root, 0, &mut out);
        out.sort();
        out
    }
}

/// One log line per file that needed transcoding.
fn log_transcoding(name: &str, path: &Path, report: &TranscodeReport) {
    let st = &report.stats;
    if !st.changed() {
        return;
    }
    let reason = report
        .first_reason
        .as_ref()
        .map(|(i, r)| format!("frame {i}: {r}"))
        .unwrap_or_default();
    if st.reencoded > 0 {
        tracing::warn!(
            name,
            file = %path.display(),
            frames = st.total(),
            recoded_lossless = st.recoded,
            reencoded_lossy = st.reencoded,
            first_reason = %reason,
            "transcoded frames RTP/JPEG cannot carry (some lossily, as 4:2:0 quality 90)"
        );
    } else {
        tracing::info!(
            name,
            file = %path.display(),
            frames = st.total(),
            recoded_lossless = st.recoded,
            first_reason = %reason,
            "re-coded frames losslessly with the standard Huffman tables for RTP/JPEG"
        );
    }
}

fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_WALK_DEPTH {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if out.len() >= MAX_NAMES {
            return;
        }
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(ft) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if ft.is_dir() {
            walk(root, &path, depth + 1, out);
            continue;
        }
        // A symlink to a file counts if it stays inside the root.
        let ok = if ft.is_symlink() {
            fs::canonicalize(&path)
                .ok()
                .filter(|real| real.starts_with(root))
                .and_then(|real| fs::metadata(real).ok())
                .is_some_and(|m| m.is_file())
        } else {
            ft.is_file()
        };
        if !ok || !has_mjpeg_extension(&path) {
            continue;
        }
        if let Ok(rel) = path.strip_prefix(root) {
            let parts: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
}

impl Catalog for FsCatalog {
    fn lookup(&mut self, name: &str) -> Result<Arc<Media>, LookupError> {
        let now = Instant::now();
        if let Some(answer) = self.shared.cache().recent(name, now, self.revalidate) {
            return answer;
        }
        let (path, meta) = match self.resolve_meta(name) {
            Ok(found) => found,
            Err(LookupError::NotFound) if name == SAMPLE_NAME => {
                let sample = self.sample.clone().ok_or(LookupError::NotFound)?;
                self.shared.cache().sample(name, Arc::clone(&sample), now);
                return Ok(sample);
            }
            Err(e) => {
                self.shared.cache().forget(name);
                return Err(e);
            }
        };
        let stamp = Stamp::of(&meta);
        if let Some(answer) = self.shared.cache().confirm(name, stamp, now) {
            return answer;
        }
        if stamp.len > self.settings.max_file_size {
            return Err(self.settings.too_large(&path, stamp.len));
        }
        self.start_load(name, path, stamp, now)
    }

    fn names(&self) -> Vec<String> {
        let mut names = self.file_names();
        if self.sample.is_some() && !names.iter().any(|n| n == SAMPLE_NAME) {
            names.insert(0, SAMPLE_NAME.to_string());
        }
        names
    }

    fn generation(&self) -> u64 {
        self.shared.signal.generation()
    }
}
