//! Media from the filesystem: [`FsCatalog`], a [`Catalog`] confined to a media root, and the
//! built-in `sample` stream.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use mjpeg::transcode::{self, TranscodeError, TranscodeOptions, TranscodeStats};
use mjpeg::NotCarriable;
use rtsp_core::server::{Catalog, LookupError, Media, MediaError};

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
/// Largest file [`FsCatalog`] loads.
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
        .clamp(1, 4)
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

struct Cached {
    media: Arc<Media>,
    len: u64,
    modified: Option<SystemTime>,
    /// When the name was last resolved on the filesystem.
    checked: Instant,
}

/// How long a lookup trusts what the previous lookup of the same name found on the
/// filesystem (see [`FsCatalog::with_revalidate`]).
pub const DEFAULT_REVALIDATE: Duration = Duration::from_secs(1);

/// A [`Catalog`] serving MJPEG files below a media root, plus the built-in `sample`.
///
/// * Names are relative paths below the root (`dir/clip.mjpeg`). A name is refused (403)
///   when it is absolute or has a `..`, `.` or hidden (`.x`) component, when it resolves
///   (after following symlinks) outside the root, or when it is not a regular file
///   (FIFOs, devices, sockets). Directories and files without an MJPEG extension
///   ([`MJPEG_EXTENSIONS`]) are not found (404).
/// * Files are read whole and split with [`mjpeg::split_frames`] (lab or concatenated
///   format, detected); an error names the file and the byte offset (500). Loaded media are
///   cached and reloaded when the file's size or modification time changes. A name found
///   less than [`DEFAULT_REVALIDATE`] ago is served from the cache without touching the
///   filesystem (a burst of DESCRIBE/SETUP costs no path walks); see
///   [`FsCatalog::with_revalidate`].
/// * Frames that RTP/JPEG ([RFC 2435]) cannot carry are transcoded at load time
///   ([`transcode_frames`]): re-coded losslessly with the standard Huffman tables (ffmpeg's
///   "optimal" tables), or decoded and re-encoded as 4:2:0 (4:4:4, progressive, ...; lossy).
///   One log line per file says how many frames were re-coded and re-encoded. With
///   [`FsCatalog::with_transcode`]`(false)` such a file is refused (503,
///   [`LookupError::Unplayable`] with the first reason).
/// * `sample` is the built-in test pattern ([`sample_media`]) unless a file named `sample`
///   exists under the root (enable it with [`FsCatalog::with_sample`]).
///
/// Loading happens on the caller's thread (the server's loop) at the first DESCRIBE/SETUP of
/// a stream; transcoding runs on up to 4 threads meanwhile.
///
/// [RFC 2435]: https://www.rfc-editor.org/rfc/rfc2435
pub struct FsCatalog {
    root: PathBuf,
    fps: f64,
    mtu: usize,
    max_file_size: u64,
    sample: Option<Arc<Media>>,
    cache: HashMap<String, Cached>,
    revalidate: Duration,
    transcode: Option<TranscodeOptions>,
}

impl std::fmt::Debug for FsCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsCatalog")
            .field("root", &self.root)
            .field("fps", &self.fps)
            .field("mtu", &self.mtu)
            .field("sample", &self.sample.is_some())
            .field("cached", &self.cache.len())
            .field("transcode", &self.transcode)
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
            fps: DEFAULT_FILE_FPS,
            mtu: 1400,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            sample: None,
            cache: HashMap::new(),
            revalidate: DEFAULT_REVALIDATE,
            transcode: Some(TranscodeOptions::default()),
        })
    }

    /// How long a name, once resolved and loaded, is served from the cache without checking
    /// the filesystem again (default [`DEFAULT_REVALIDATE`]; `Duration::ZERO` checks the
    /// path, the size and the modification time on every lookup). Confinement is applied
    /// at every check; within the window a removed or changed file keeps playing as loaded.
    pub fn with_revalidate(mut self, every: Duration) -> Self {
        self.revalidate = every;
        self
    }

    /// Frame rate for files (default [`DEFAULT_FILE_FPS`]).
    pub fn with_fps(mut self, fps: f64) -> Self {
        self.fps = fps;
        self
    }

    /// MTU the media are packetized for (use the server's
    /// [`ServerConfig::mtu`](rtsp_core::server::ServerConfig::mtu); set it before
    /// [`FsCatalog::with_sample`]).
    pub fn with_mtu(mut self, mtu: usize) -> Self {
        self.mtu = mtu;
        self
    }

    /// Largest file loaded (default 1 GiB); larger ones are refused with 500.
    pub fn with_max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes;
        self
    }

    /// Whether frames RTP/JPEG cannot carry are transcoded at load time (default `true`,
    /// lossless where possible, else lossy at quality 90). With `false` (the server's
    /// `--no-transcode`) a file with such a frame is refused at DESCRIBE:
    /// [`LookupError::Unplayable`] (503) naming the file, the frame and the first reason.
    pub fn with_transcode(mut self, enabled: bool) -> Self {
        self.transcode = enabled.then(TranscodeOptions::default);
        self
    }

    /// Transcoding with these options (e.g. a lower quality, or lossless only with
    /// `allow_lossy = false`: frames that need lossy re-encoding then make the file
    /// unplayable).
    pub fn with_transcode_options(mut self, opts: TranscodeOptions) -> Self {
        self.transcode = Some(opts);
        self
    }

    /// Generates the built-in `sample` stream now (a second or so of JPEG encoding).
    pub fn with_sample(mut self) -> Result<Self, CatalogError> {
        self.sample = Some(Arc::new(
            sample_media(self.mtu).map_err(CatalogError::Sample)?,
        ));
        Ok(self)
    }

    /// The canonical media root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves `name` to a regular file below the root, applying every confinement rule.
    pub fn resolve(&self, name: &str) -> Result<PathBuf, LookupError> {
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
        Ok(real)
    }

    /// Loads and splits the file `name` (see [`FsCatalog::resolve`]), uncached.
    pub fn load(&self, name: &str) -> Result<Media, LookupError> {
        let path = self.resolve(name)?;
        let (data, _, _) = self.read(&path)?;
        self.build(name, &path, data)
    }

    fn read(&self, path: &Path) -> Result<(Bytes, u64, Option<SystemTime>), LookupError> {
        let fail = |e: io::Error| LookupError::Invalid(format!("{}: {e}", path.display()));
        let mut file = fs::File::open(path).map_err(fail)?;
        let meta = file.metadata().map_err(fail)?;
        if !meta.is_file() {
            return Err(LookupError::Forbidden);
        }
        if meta.len() > self.max_file_size {
            return Err(LookupError::Invalid(format!(
                "{}: file of {} bytes is larger than the limit of {} bytes",
                path.display(),
                meta.len(),
                self.max_file_size
            )));
        }
        let mut data = Vec::with_capacity(meta.len() as usize);
        file.by_ref()
            .take(self.max_file_size + 1)
            .read_to_end(&mut data)
            .map_err(fail)?;
        Ok((Bytes::from(data), meta.len(), meta.modified().ok()))
    }

    fn build(&self, name: &str, path: &Path, data: Bytes) -> Result<Media, LookupError> {
        let (_, frames) = mjpeg::split_frames(&data)
            .map_err(|e| LookupError::Invalid(format!("{}: {e}", path.display())))?;
        let frames = match &self.transcode {
            Some(opts) => transcode_file(name, path, &data, &frames, opts)?,
            None => frames,
        };
        Media::from_jpegs(name, self.fps, frames, self.mtu).map_err(|e| match e {
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

/// Transcodes the frames of one file for [`FsCatalog`], logging what was done.
fn transcode_file(
    name: &str,
    path: &Path,
    data: &[u8],
    frames: &[Bytes],
    opts: &TranscodeOptions,
) -> Result<Vec<Bytes>, LookupError> {
    let (frames, report) = transcode_frames(data, frames, opts, &|_| {}).map_err(|e| {
        let text = format!("{}: {e}", path.display());
        match e.source {
            TranscodeError::NotCarriable(_) => LookupError::Unplayable(text),
            _ => LookupError::Invalid(text),
        }
    })?;
    log_transcoding(name, path, &report);
    Ok(frames)
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
        if let Some(c) = self.cache.get(name) {
            if now.saturating_duration_since(c.checked) < self.revalidate {
                return Ok(c.media.clone());
            }
        }
        let path = match self.resolve(name) {
            Ok(p) => p,
            Err(LookupError::NotFound) if name == SAMPLE_NAME => {
                let sample = self.sample.clone().ok_or(LookupError::NotFound)?;
                self.cache.insert(
                    name.to_string(),
                    Cached {
                        media: sample.clone(),
                        len: 0,
                        modified: None,
                        checked: now,
                    },
                );
                return Ok(sample);
            }
            Err(e) => {
                self.cache.remove(name);
                return Err(e);
            }
        };
        let meta = fs::metadata(&path).map_err(|_| LookupError::NotFound)?;
        if let Some(c) = self.cache.get_mut(name) {
            let from_file = self
                .sample
                .as_ref()
                .is_none_or(|s| !Arc::ptr_eq(s, &c.media));
            if from_file && c.len == meta.len() && c.modified == meta.modified().ok() {
                c.checked = now;
                return Ok(c.media.clone());
            }
        }
        let (data, len, modified) = self.read(&path)?;
        let media = Arc::new(self.build(name, &path, data)?);
        tracing::info!(
            name,
            file = %path.display(),
            frames = media.frame_count(),
            width = media.width(),
            height = media.height(),
            "loaded media"
        );
        self.cache.insert(
            name.to_string(),
            Cached {
                media: media.clone(),
                len,
                modified,
                checked: now,
            },
        );
        Ok(media)
    }

    fn names(&self) -> Vec<String> {
        let mut names = self.file_names();
        if self.sample.is_some() && !names.iter().any(|n| n == SAMPLE_NAME) {
            names.insert(0, SAMPLE_NAME.to_string());
        }
        names
    }
}
