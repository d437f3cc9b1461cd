//! Media the server plays: frames pre-packetized once, and the catalog that names them.

use crate::message::StatusCode;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Bytes of UDP header counted in [`ServerConfig::mtu`](super::ServerConfig::mtu)
/// (the MTU is IP payload: UDP header + RTP header + RTP payload).
const UDP_HEADER_LEN: usize = 8;
/// The fixed RTP header we write (no CSRC, no extension).
pub(crate) const RTP_HEADER_LEN: usize = 12;
/// The smallest MTU [`Media::from_jpegs`] accepts: room for the RFC 2435 headers, the in-band
/// tables and some scan data.
pub const MIN_MTU: usize = 256;

/// One frame: the JPEG as loaded and its RTP/JPEG payloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MediaFrame {
    /// The complete JPEG file (the course-lab RTP mode sends it whole).
    pub(crate) jpeg: Bytes,
    /// RFC 2435 payloads (main header, tables in the first, scan data), in order.
    pub(crate) fragments: Vec<Bytes>,
}

/// A stream the server can play: JPEG frames at a fixed rate, each packetized once into
/// RFC 2435 payloads that every session shares (only the 12-byte RTP header is per session).
#[derive(Debug, Clone)]
pub struct Media {
    name: String,
    fps: f64,
    width: u16,
    height: u16,
    looping: Option<bool>,
    /// A live stream: its frames come through [`Server::push_frame`](super::Server::push_frame),
    /// `frames` only holds one to describe it.
    live: bool,
    frames: Vec<MediaFrame>,
}

/// Why [`Media::from_jpegs`] refused its input.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MediaError {
    /// No frames at all.
    #[error("no frames")]
    Empty,
    /// The frame rate is not a finite number in `(0, 1000]`.
    #[error("invalid frame rate {0}")]
    FrameRate(f64),
    /// The MTU leaves no room for RTP/JPEG payloads.
    #[error("MTU of {mtu} bytes is too small (at least {min})")]
    Mtu {
        /// The MTU given.
        mtu: usize,
        /// The minimum ([`MIN_MTU`]).
        min: usize,
    },
    /// A frame is not a valid JPEG.
    #[error("frame {index}: {source}")]
    Jpeg {
        /// 0-based frame index.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: mjpeg::JpegError,
    },
    /// A frame is a valid JPEG that RFC 2435 cannot carry (progressive, 4:4:4, optimized
    /// Huffman tables, ...): it must be transcoded first.
    #[error("frame {index} cannot be sent as RTP/JPEG: {source}")]
    NotCarriable {
        /// 0-based frame index.
        index: usize,
        /// Why.
        #[source]
        source: mjpeg::NotCarriable,
    },
    /// The RFC 2435 packetizer refused a frame.
    #[error("frame {index}: {source}")]
    Packetize {
        /// 0-based frame index.
        index: usize,
        /// Why.
        #[source]
        source: rtp_core::jpeg::PacketizeError,
    },
}

impl Media {
    /// Build a stream from JPEG frames played at `fps` frames per second.
    ///
    /// Every frame is parsed ([`mjpeg::parse_jpeg`]), checked for RTP/JPEG
    /// ([`mjpeg::JpegInfo::check_rtp`]) and packetized once
    /// ([`rtp_core::jpeg::packetize`], Q = 255 with the frame's own tables in band) into
    /// payloads that fit RTP packets of `mtu` bytes of IP payload (UDP header included).
    /// The original JPEGs are kept too (the course-lab client gets whole JPEGs).
    /// The width and height reported are those of the first frame.
    pub fn from_jpegs(
        name: &str,
        fps: f64,
        frames: Vec<Bytes>,
        mtu: usize,
    ) -> Result<Self, MediaError> {
        if !(fps.is_finite() && fps > 0.0 && fps <= 1000.0) {
            return Err(MediaError::FrameRate(fps));
        }
        if mtu < MIN_MTU {
            return Err(MediaError::Mtu { mtu, min: MIN_MTU });
        }
        if frames.is_empty() {
            return Err(MediaError::Empty);
        }
        let max_payload = mtu - UDP_HEADER_LEN - RTP_HEADER_LEN;
        let mut out = Vec::with_capacity(frames.len());
        let (mut width, mut height) = (0, 0);
        for (index, jpeg) in frames.into_iter().enumerate() {
            let info =
                mjpeg::parse_jpeg(&jpeg).map_err(|source| MediaError::Jpeg { index, source })?;
            info.check_rtp()
                .map_err(|source| MediaError::NotCarriable { index, source })?;
            if index == 0 {
                (width, height) = (info.width, info.height);
            }
            let fragments = packetize_frame(&info, &jpeg, max_payload)
                .map_err(|source| MediaError::Packetize { index, source })?;
            out.push(MediaFrame { jpeg, fragments });
        }
        Ok(Self {
            name: name.to_string(),
            fps,
            width,
            height,
            looping: None,
            live: false,
            frames: out,
        })
    }

    /// A live stream named `name`: what DESCRIBE and SETUP know of it (its size, from
    /// `frame`, and its nominal rate `fps`, for the SDP). Its readers get the frames given
    /// to [`Server::push_frame`](super::Server::push_frame) for `name`, from the next whole
    /// frame after their PLAY; it has no length, no end and no seeking.
    pub fn live(name: &str, fps: f64, frame: &LiveFrame) -> Result<Self, MediaError> {
        if !(fps.is_finite() && fps > 0.0 && fps <= 1000.0) {
            return Err(MediaError::FrameRate(fps));
        }
        Ok(Self {
            name: name.to_string(),
            fps,
            width: frame.width,
            height: frame.height,
            looping: None,
            live: true,
            frames: vec![frame.frame.clone()],
        })
    }

    /// What a publisher's session holds before its stream has a frame: a live stream
    /// without frames, never played.
    pub(crate) fn pending_live(name: &str) -> Self {
        Self {
            name: name.to_string(),
            fps: 25.0,
            width: 0,
            height: 0,
            looping: None,
            live: true,
            frames: Vec::new(),
        }
    }

    /// Whether this is a live stream ([`Media::live`]).
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Builder-style: this stream loops (`true`) or ends (`false`) at its end, whatever
    /// [`ServerConfig::loop_media`](super::ServerConfig::loop_media) says (generated streams,
    /// configured paths). Without it the server's setting decides.
    pub fn with_looping(mut self, looping: bool) -> Self {
        self.looping = Some(looping);
        self
    }

    /// Whether this stream always loops (see [`Media::with_looping`]).
    pub fn looping(&self) -> bool {
        self.looping == Some(true)
    }

    /// Whether this stream loops on a server whose own setting is `server_default`.
    pub fn loops(&self, server_default: bool) -> bool {
        self.looping.unwrap_or(server_default)
    }

    /// The stream's name (its path under the media root).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Frames per second.
    pub fn fps(&self) -> f64 {
        self.fps
    }

    /// Width of the first frame, in pixels.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Height of the first frame, in pixels.
    pub fn height(&self) -> u16 {
        self.height
    }

    /// Number of frames.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// Play time: frame count / frame rate.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.frames.len() as f64 / self.fps)
    }

    /// The original JPEG of frame `index`.
    pub fn jpeg(&self, index: usize) -> Option<&Bytes> {
        self.frames.get(index).map(|f| &f.jpeg)
    }

    /// The RFC 2435 payloads of frame `index` (the last one is sent with the marker bit).
    pub fn fragments(&self, index: usize) -> Option<&[Bytes]> {
        self.frames.get(index).map(|f| f.fragments.as_slice())
    }

    pub(crate) fn frame(&self, index: usize) -> Option<&MediaFrame> {
        self.frames.get(index)
    }
}

/// One frame of a live stream: the JPEG, packetized once into RFC 2435 payloads that every
/// reader shares, and its time on the source's 90 kHz clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFrame {
    frame: MediaFrame,
    at: u64,
    width: u16,
    height: u16,
}

impl LiveFrame {
    /// Parses, checks and packetizes `jpeg` (as [`Media::from_jpegs`] does a file's frames)
    /// for RTP packets of `mtu` bytes; `at` is its time on the source's 90 kHz clock (from the
    /// publisher's RTP timestamps, or from its arrival), which readers' RTP timestamps follow.
    pub fn from_jpeg(jpeg: Bytes, at: u64, mtu: usize) -> Result<Self, MediaError> {
        if mtu < MIN_MTU {
            return Err(MediaError::Mtu { mtu, min: MIN_MTU });
        }
        let index = 0;
        let info = mjpeg::parse_jpeg(&jpeg).map_err(|source| MediaError::Jpeg { index, source })?;
        info.check_rtp()
            .map_err(|source| MediaError::NotCarriable { index, source })?;
        let fragments = packetize_frame(&info, &jpeg, mtu - UDP_HEADER_LEN - RTP_HEADER_LEN)
            .map_err(|source| MediaError::Packetize { index, source })?;
        Ok(Self {
            frame: MediaFrame { jpeg, fragments },
            at,
            width: info.width,
            height: info.height,
        })
    }

    /// Its time on the source's 90 kHz clock.
    pub fn at(&self) -> u64 {
        self.at
    }

    /// Width in pixels.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u16 {
        self.height
    }

    /// The JPEG.
    pub fn jpeg(&self) -> &Bytes {
        &self.frame.jpeg
    }

    pub(crate) fn media_frame(&self) -> &MediaFrame {
        &self.frame
    }
}

/// RFC 2435 payloads of one parsed, carriable JPEG.
fn packetize_frame(
    info: &mjpeg::JpegInfo,
    jpeg: &[u8],
    max_payload: usize,
) -> Result<Vec<Bytes>, rtp_core::jpeg::PacketizeError> {
    // check_rtp guarantees 3 components, 8-bit tables and 4:2:0 or 4:2:2 sampling.
    let qtables = info.qtables_for_rtp();
    let type_ = info.rtp_type().unwrap_or(1);
    let payload = rtp_core::jpeg::JpegPayload {
        type_,
        q: 255,
        width: info.width,
        height: info.height,
        restart_interval: info.restart_interval,
        qtables: &qtables,
        scan: info.scan(jpeg),
    };
    rtp_core::jpeg::packetize(&payload, max_payload)
}

/// Why a [`Catalog`] could not provide a stream. The server maps each to a status code
/// ([`LookupError::status`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No such stream: 404.
    #[error("no such stream")]
    NotFound,
    /// The name is not allowed (outside the media root, hidden, ...): 403.
    #[error("forbidden")]
    Forbidden,
    /// The stream exists but its file could not be loaded (truncated, corrupt); the text
    /// names the file and the offset: 500.
    #[error("invalid media: {0}")]
    Invalid(String),
    /// The stream is valid but cannot be sent as RTP/JPEG (and was not transcoded): 503,
    /// as gst-rtsp-server answers for 4:4:4.
    #[error("unplayable media: {0}")]
    Unplayable(String),
    /// The stream is being loaded off the event loop: the server holds the request (and the
    /// connection's later ones) and asks again when [`Catalog::generation`] changes; after
    /// [`ServerConfig::load_timeout`](super::ServerConfig::load_timeout) it answers 503.
    #[error("loading")]
    Loading,
    /// Too many loads at once, or the file is over the catalog's size limit: 503 (the
    /// text says which).
    #[error("busy: {0}")]
    Busy(String),
}

impl LookupError {
    /// The status code the server answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Invalid(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unplayable(_) | Self::Loading | Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Where the server finds streams by name. The application supplies one (a filesystem
/// catalog confined to a media root, or a [`MemoryCatalog`]).
///
/// The server only passes names that are relative paths without `.`/`..` components,
/// backslashes, NUL or control characters, percent-decoded, without the track suffix and
/// without leading or trailing `/` — but implementations that touch a filesystem must still
/// confine themselves to their root.
pub trait Catalog: Send {
    /// The stream named `path` (e.g. `movie.Mjpeg`, `dir/clip.mjpeg`). Called on DESCRIBE and
    /// SETUP; may load and cache.
    ///
    /// Must be quick: it runs on the event loop. A catalog that has to read or transcode a
    /// file starts that elsewhere and answers [`LookupError::Loading`] until it is done.
    fn lookup(&mut self, path: &str) -> Result<Arc<Media>, LookupError>;
    /// The names of the streams known (for listings and logs; may be incomplete).
    fn names(&self) -> Vec<String>;
    /// A number that changes whenever a load started by [`Catalog::lookup`] ends (in success
    /// or failure). The server asks again for the streams it is waiting for when it changes;
    /// the catalog's owner must then give the server an input (e.g. a timeout) so it looks.
    /// Catalogs that never answer [`LookupError::Loading`] keep the default.
    fn generation(&self) -> u64 {
        0
    }
}

/// A [`Catalog`] of in-memory streams, for tests and generated streams.
#[derive(Debug, Clone, Default)]
pub struct MemoryCatalog {
    streams: BTreeMap<String, Arc<Media>>,
}

impl MemoryCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a stream under its [`Media::name`]; returns the shared handle.
    pub fn insert(&mut self, media: Media) -> Arc<Media> {
        let media = Arc::new(media);
        self.streams
            .insert(media.name().to_string(), Arc::clone(&media));
        media
    }

    /// Add (or replace) a shared stream under `name`.
    pub fn insert_arc(&mut self, name: impl Into<String>, media: Arc<Media>) {
        self.streams.insert(name.into(), media);
    }

    /// Builder-style [`MemoryCatalog::insert`].
    pub fn with(mut self, media: Media) -> Self {
        self.insert(media);
        self
    }
}

impl Catalog for MemoryCatalog {
    fn lookup(&mut self, path: &str) -> Result<Arc<Media>, LookupError> {
        self.streams.get(path).cloned().ok_or(LookupError::NotFound)
    }

    fn names(&self) -> Vec<String> {
        self.streams.keys().cloned().collect()
    }
}
