//! MJPEG files and JPEG headers, without I/O.
//!
//! This crate is sans-IO: it never touches files, sockets, threads or clocks. The caller reads
//! the bytes and adds the file name to errors.
//!
//! * **Splitting** MJPEG files into JPEG frames, in both layouts ([`FileFormat`]): the course
//!   lab's `movie.Mjpeg` (each frame preceded by its length as 5 ASCII digits) and concatenated
//!   JPEG as written by `ffmpeg -f mjpeg`. Concatenated files are split by walking the JPEG
//!   markers (segments by their length fields, then the entropy-coded data skipping `FF 00`
//!   stuffing and RSTn, up to EOI), never by searching for `FF D9`. [`split_frames`] splits a
//!   whole file into zero-copy [`Bytes`](bytes::Bytes) slices; [`FrameSplitter`] does the same
//!   incrementally for streaming readers. Frames are limited in size
//!   ([`SplitOptions::max_frame_size`], default 16 MiB).
//! * **Writing** both layouts: [`write_lab`], [`write_concatenated`].
//! * **Parsing** JPEG headers ([`parse_jpeg`] → [`JpegInfo`]) and checking that RTP/JPEG
//!   ([RFC 2435]) can carry the image ([`JpegInfo::check_rtp`]), plus the values the RTP layer
//!   sends ([`JpegInfo::rtp_type`], [`JpegInfo::rtp_dimensions`], [`JpegInfo::qtables_for_rtp`],
//!   [`JpegInfo::scan`]). The standard Huffman tables are in [`huffman`].
//! * **Transcoding** any JPEG into one RFC 2435 can carry ([`transcode::make_carriable`]):
//!   lossless re-coding with the standard Huffman tables, or lossy re-encoding as 4:2:0
//!   (feature `transcode`, on by default).
//! * **MJPEG over HTTP**: [`MultipartSplitter`] splits a `multipart/x-mixed-replace` body
//!   (IP cameras, ESP32-CAM, mjpg-streamer, `ffmpeg -f mpjpeg`) into its parts, incrementally
//!   and within limits.
//! * **Generating** test-pattern frames ([`testpattern`], feature `gen`, on by default).
//!
//! No function panics on any input bytes; every loop is bounded by the input length.
//!
//! ```
//! use bytes::Bytes;
//! use mjpeg::{parse_jpeg, split_frames, write_lab, FileFormat};
//!
//! # #[cfg(feature = "gen")] {
//! // Three generated frames, written in the lab format, then split again.
//! let frames = mjpeg::testpattern::frames(3, 64, 48);
//! let mut file = Vec::new();
//! write_lab(&frames, &mut file)?;
//! let (format, split) = split_frames(&Bytes::from(file))?;
//! assert_eq!(format, FileFormat::Lab);
//! assert_eq!(split, frames);
//!
//! // Each frame can be sent as RTP/JPEG type 1 (4:2:0) with two 64-byte quantization tables.
//! let info = parse_jpeg(&split[0])?;
//! info.check_rtp()?;
//! assert_eq!(info.rtp_type(), Some(1));
//! assert_eq!(info.qtables_for_rtp().len(), 128);
//! let scan: &[u8] = info.scan(&split[0]);
//! assert!(!scan.is_empty());
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [RFC 2435]: https://www.rfc-editor.org/rfc/rfc2435
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

mod error;
mod header_types;
pub mod huffman;
mod jpeg;
mod multipart;
mod rate;
mod split;
#[cfg(feature = "gen")]
pub mod testpattern;
pub mod transcode;
mod write;

#[cfg(test)]
mod testutil;

pub use error::{JpegError, MjpegError, NotCarriable};
pub use header_types::Sampling;
pub use jpeg::{parse_jpeg, Component, JpegInfo, QTable, ScanComponent, RTP_MAX_DIMENSION};
pub use multipart::{MultipartError, MultipartSplitter, Part, MAX_PART_HEADERS, MAX_SKIP};
pub use rate::{fps_text, parse_fps, RateError, FPS_SIDECAR_EXTENSION, MAX_FPS};
pub use split::{
    detect_format, split_frames, split_frames_with, FileFormat, FrameSplitter, SplitOptions,
    DEFAULT_MAX_FRAME_SIZE, LAB_MAX_FRAME_LEN, LAB_PREFIX_LEN,
};
pub use write::{write_concatenated, write_lab};
