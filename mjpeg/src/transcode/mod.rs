//! Making any JPEG carriable by RTP/JPEG ([RFC 2435]): [`make_carriable`].
//!
//! RFC 2435 receivers rebuild the JPEG headers from a few RTP header fields, so they can only
//! decode baseline 8-bit YCbCr 4:2:0 or 4:2:2 JPEG coded with the standard Huffman tables of
//! JPEG Annex K.3. Encoders often write something else: `ffmpeg -f mjpeg` writes "optimal"
//! Huffman tables (and 4:4:4 by default); cameras and photo tools write progressive JPEG.
//! Sent as they are, such frames decode as garbage at every receiver. Three outcomes:
//!
//! * [`TranscodeKind::Unchanged`]: the frame is already carriable ([`JpegInfo::check_rtp`]).
//! * [`TranscodeKind::Recoded`] (lossless): a sequential 8-bit frame with the right sampling
//!   (Y 2x2 or 2x1, Cb/Cr 1x1) and quantization tables, but with other Huffman tables, other
//!   table selectors, several (non-interleaved) scans, or a size that is not a multiple of 8. Its
//!   entropy-coded data is Huffman-decoded into the quantized DCT coefficients (byte stuffing,
//!   restart markers and DC prediction handled) and encoded again as one interleaved scan with
//!   the standard tables; the restart interval is kept. The coefficients, and so the decoded
//!   pixels, are exactly those of the input. A width or height that is not a multiple of 8 is
//!   rounded up to the next multiple of 8, exposing the encoder's padding in the last MCU
//!   (RFC 2435 receivers would round it up anyway).
//! * [`TranscodeKind::Reencoded`] (lossy, feature `transcode`): anything else a decoder can read
//!   (4:4:4, 4:4:0, 4:1:1, other factors, grayscale, progressive, 12-bit, CMYK, separate chroma
//!   quantization tables, Adobe RGB, over 2040 pixels) is decoded with `zune-jpeg` to RGB and
//!   encoded again with `jpeg-encoder` as baseline 4:2:0 with the standard tables at
//!   [`TranscodeOptions::quality`] (default 90). Images over 2040 pixels wide or high are scaled
//!   down by an integer factor; sizes are padded to a multiple of 8 by repeating edge pixels.
//!
//! Everything here is pure (no I/O) and never panics on any input bytes. Every output is checked
//! with [`parse_jpeg`] and [`JpegInfo::check_rtp`] before it is returned.
//!
//! ```
//! use mjpeg::transcode::{make_carriable, TranscodeKind, TranscodeOptions};
//!
//! # #[cfg(feature = "gen")] {
//! let frame = mjpeg::testpattern::frame(0, 64, 48); // already carriable
//! let out = make_carriable(&frame, &TranscodeOptions::default())?;
//! assert_eq!(out.kind, TranscodeKind::Unchanged);
//! assert_eq!(out.data, frame);
//! # }
//! # Ok::<(), mjpeg::transcode::TranscodeError>(())
//! ```
//!
//! [RFC 2435]: https://www.rfc-editor.org/rfc/rfc2435

mod entropy;
#[cfg(feature = "transcode")]
mod lossy;

use bytes::Bytes;

use crate::error::{JpegError, NotCarriable};
use crate::huffman::STANDARD_TABLES;
use crate::jpeg::{parse_jpeg, JpegInfo, RTP_MAX_DIMENSION};
use entropy::{DecodeTable, Frame, ScanComp};

/// Default JPEG quality (1..=100) of lossy re-encoding.
pub const DEFAULT_QUALITY: u8 = 90;

/// How [`make_carriable`] may change a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TranscodeOptions {
    /// JPEG quality (1..=100) of lossy re-encoding; default [`DEFAULT_QUALITY`].
    pub quality: u8,
    /// Allow lossy re-encoding (default `true`); when `false`, frames that cannot be re-coded
    /// losslessly give [`TranscodeError::NotCarriable`]. Without the `transcode` feature lossy
    /// re-encoding is never available.
    pub allow_lossy: bool,
}

impl Default for TranscodeOptions {
    fn default() -> Self {
        Self {
            quality: DEFAULT_QUALITY,
            allow_lossy: true,
        }
    }
}

impl TranscodeOptions {
    /// The defaults: lossy allowed, quality [`DEFAULT_QUALITY`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder-style: sets [`TranscodeOptions::quality`] (clamped to 1..=100).
    pub fn with_quality(mut self, quality: u8) -> Self {
        self.quality = quality.clamp(1, 100);
        self
    }

    /// Builder-style: sets [`TranscodeOptions::allow_lossy`].
    pub fn with_lossy(mut self, allow: bool) -> Self {
        self.allow_lossy = allow;
        self
    }
}

/// What [`make_carriable`] did to a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TranscodeKind {
    /// Already carriable; the output is the input.
    Unchanged,
    /// Re-coded losslessly with the standard Huffman tables (same pixels).
    Recoded,
    /// Decoded and encoded again as baseline 4:2:0 (lossy).
    Reencoded,
}

/// A carriable frame produced by [`make_carriable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcoded {
    /// The JPEG, carriable by RFC 2435.
    pub data: Bytes,
    /// What was done.
    pub kind: TranscodeKind,
    /// The first reason the input was not carriable (`None` when unchanged).
    pub reason: Option<NotCarriable>,
}

/// Counts of [`TranscodeKind`]s over many frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TranscodeStats {
    /// Frames left as they were.
    pub unchanged: usize,
    /// Frames re-coded losslessly.
    pub recoded: usize,
    /// Frames re-encoded lossily.
    pub reencoded: usize,
}

impl TranscodeStats {
    /// Counts one frame.
    pub fn add(&mut self, kind: TranscodeKind) {
        match kind {
            TranscodeKind::Unchanged => self.unchanged += 1,
            TranscodeKind::Recoded => self.recoded += 1,
            TranscodeKind::Reencoded => self.reencoded += 1,
        }
    }

    /// Adds another count.
    pub fn merge(&mut self, other: Self) {
        self.unchanged += other.unchanged;
        self.recoded += other.recoded;
        self.reencoded += other.reencoded;
    }

    /// Frames counted.
    pub fn total(&self) -> usize {
        self.unchanged + self.recoded + self.reencoded
    }

    /// Whether any frame was changed.
    pub fn changed(&self) -> bool {
        self.recoded + self.reencoded > 0
    }
}

/// Why [`make_carriable`] failed. Offsets are relative to the start of the frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TranscodeError {
    /// The frame's headers are not valid JPEG.
    #[error(transparent)]
    Jpeg(#[from] JpegError),
    /// The frame needs lossy re-encoding, which is disabled
    /// ([`TranscodeOptions::allow_lossy`]) or not compiled in (feature `transcode`).
    #[error("{0} (lossless re-coding cannot fix this and lossy re-encoding is disabled)")]
    NotCarriable(NotCarriable),
    /// The entropy-coded data is corrupt (lossless path).
    #[error("corrupt entropy-coded data at byte {offset}: {reason}")]
    Entropy {
        /// Offset of the block (or marker) where decoding failed.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A scan that the lossless path cannot read (a progressive scan header in a sequential
    /// frame, an undefined Huffman table, ...).
    #[error("invalid scan at byte {offset}: {reason}")]
    Scan {
        /// Offset of the SOS (or DHT) marker.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The image is too large to re-code (more than 8192x8192 pixels).
    #[error("{width}x{height} is too large to transcode")]
    TooLargeToRecode {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
    /// The decoder (zune-jpeg) could not decode the frame for lossy re-encoding.
    #[error("cannot decode the JPEG: {0}")]
    Decode(String),
    /// Encoding failed.
    #[error("cannot encode the JPEG: {0}")]
    Encode(String),
    /// The transcoded frame is still not carriable (a bug; the frame is refused rather than
    /// sent undecodable).
    #[error("transcoded frame is still not carriable: {0}")]
    StillNotCarriable(NotCarriable),
}

/// Makes `frame` carriable by RFC 2435: returns it unchanged, re-coded losslessly, or
/// re-encoded (see the [module docs](self)). The data of an unchanged frame is a copy; use
/// [`make_carriable_bytes`] to share it instead.
pub fn make_carriable(frame: &[u8], opts: &TranscodeOptions) -> Result<Transcoded, TranscodeError> {
    transcode_with(frame, opts, || Bytes::copy_from_slice(frame))
}

/// [`make_carriable`] for a frame already in [`Bytes`]: an unchanged frame is returned as a
/// cheap clone (no copy).
pub fn make_carriable_bytes(
    frame: &Bytes,
    opts: &TranscodeOptions,
) -> Result<Transcoded, TranscodeError> {
    transcode_with(frame, opts, || frame.clone())
}

fn transcode_with(
    frame: &[u8],
    opts: &TranscodeOptions,
    unchanged: impl FnOnce() -> Bytes,
) -> Result<Transcoded, TranscodeError> {
    let info = parse_jpeg(frame)?;
    let problems = info.rtp_problems();
    let Some(reason) = problems.first().cloned() else {
        return Ok(Transcoded {
            data: unchanged(),
            kind: TranscodeKind::Unchanged,
            reason: None,
        });
    };
    let mut lossless_error = None;
    if lossless_possible(frame, &info, &problems) {
        match recode(frame, &info).and_then(verified) {
            Ok(data) => {
                return Ok(Transcoded {
                    data,
                    kind: TranscodeKind::Recoded,
                    reason: Some(reason),
                })
            }
            Err(e) => lossless_error = Some(e),
        }
    }
    if !opts.allow_lossy || !cfg!(feature = "transcode") {
        return Err(lossless_error.unwrap_or(TranscodeError::NotCarriable(reason)));
    }
    #[cfg(feature = "transcode")]
    {
        let data = verified(lossy::reencode(frame, opts.quality)?)?;
        Ok(Transcoded {
            data,
            kind: TranscodeKind::Reencoded,
            reason: Some(reason),
        })
    }
    #[cfg(not(feature = "transcode"))]
    {
        Err(lossless_error.unwrap_or(TranscodeError::NotCarriable(reason)))
    }
}

/// Whether `frame` is not carriable but [`make_carriable`] would fix it losslessly
/// ([`TranscodeKind::Recoded`], unless its entropy data turns out corrupt); `false` for a
/// carriable frame and for one that needs lossy re-encoding. Checks headers only, for reports
/// (`mjpeg-tool info`) without doing the work.
pub fn lossless_fix(frame: &[u8]) -> Result<bool, JpegError> {
    let info = parse_jpeg(frame)?;
    let problems = info.rtp_problems();
    Ok(!problems.is_empty() && lossless_possible(frame, &info, &problems))
}

fn verified(data: Vec<u8>) -> Result<Bytes, TranscodeError> {
    let info = parse_jpeg(&data).map_err(|e| TranscodeError::Encode(e.to_string()))?;
    info.check_rtp()
        .map_err(TranscodeError::StillNotCarriable)?;
    Ok(Bytes::from(data))
}

/// The problems the lossless path fixes: everything about the entropy coding and the size
/// rounding, nothing about sampling, precision, process or quantization.
fn lossless_possible(frame: &[u8], info: &JpegInfo, problems: &[NotCarriable]) -> bool {
    let fixable = problems.iter().all(|p| {
        matches!(
            p,
            NotCarriable::NonStandardHuffman
                | NotCarriable::HuffmanSelectors { .. }
                | NotCarriable::MultipleScans { .. }
                | NotCarriable::NonInterleavedScan { .. }
                | NotCarriable::NotMultipleOf8 { .. }
        )
    });
    fixable
        && matches!(info.sof_marker, 0xC0 | 0xC1)
        && info.width <= RTP_MAX_DIMENSION
        && info.height <= RTP_MAX_DIMENSION
        && adobe_transform(frame) != Some(0)
}

/// The transform flag of an Adobe APP14 segment before the first SOS (0 = RGB, not YCbCr).
fn adobe_transform(frame: &[u8]) -> Option<u8> {
    let mut pos = 2usize;
    loop {
        if *frame.get(pos)? != 0xFF {
            return None;
        }
        let marker = *frame.get(pos + 1)?;
        if marker == 0xFF {
            pos += 1;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([
            *frame.get(pos + 2)?,
            *frame.get(pos + 3)?,
        ]));
        let body = frame.get(pos + 4..pos + 2 + len)?;
        if marker == 0xEE && body.len() >= 12 && body.starts_with(b"Adobe") {
            return Some(body[11]);
        }
        pos += 2 + len;
    }
}

type Tables = [[Option<DecodeTable>; 4]; 2];

/// Lossless path: decodes every sequential scan into coefficients and writes a new JPEG with
/// one interleaved scan and the standard tables.
fn recode(data: &[u8], info: &JpegInfo) -> Result<Vec<u8>, TranscodeError> {
    let (frame, restart_interval) = decode_frame(data, info)?;
    write_frame(info, &frame, restart_interval, &STANDARD_TABLES)
}

/// Decodes every sequential scan of `data` into quantized coefficients; returns them with the
/// restart interval.
fn decode_frame(data: &[u8], info: &JpegInfo) -> Result<(Frame, u16), TranscodeError> {
    let comps: Vec<(u8, u8, u8)> = info.components.iter().map(|c| (c.id, c.h, c.v)).collect();
    let mut frame = Frame::new(usize::from(info.width), usize::from(info.height), &comps)?;
    let mut tables: Tables = Default::default();
    let mut restart_interval = 0u16;
    let mut pos = 2usize;
    let bad = |offset, reason| TranscodeError::Scan { offset, reason };
    // parse_jpeg has validated the segment structure; this walk re-reads it for the tables.
    loop {
        let at = pos;
        match (data.get(at), data.get(at + 1)) {
            (Some(0xFF), Some(0xFF)) => {
                pos += 1;
                continue;
            }
            (Some(0xFF), Some(0xD9)) => break,
            (Some(0xFF), Some(0xD0..=0xD7 | 0x01)) => {
                pos += 2;
                continue;
            }
            (Some(0xFF), Some(_)) => {}
            _ => return Err(bad(at, "expected a marker")),
        }
        let marker = data[at + 1];
        let len = match (data.get(at + 2), data.get(at + 3)) {
            (Some(&hi), Some(&lo)) => usize::from(u16::from_be_bytes([hi, lo])),
            _ => return Err(bad(at, "truncated segment")),
        };
        let body = data
            .get(at + 4..at + 2 + len)
            .ok_or_else(|| bad(at, "truncated segment"))?;
        pos = at + 2 + len;
        match marker {
            0xC4 => read_dht(body, &mut tables).ok_or_else(|| bad(at, "invalid Huffman table"))?,
            0xDD if body.len() == 2 => restart_interval = u16::from_be_bytes([body[0], body[1]]),
            0xDA => {
                let ns = usize::from(*body.first().ok_or_else(|| bad(at, "empty SOS"))?);
                let spec = body
                    .get(1 + 2 * ns..4 + 2 * ns)
                    .ok_or_else(|| bad(at, "short SOS"))?;
                if spec != [0, 63, 0] {
                    return Err(bad(at, "not a sequential scan (Ss, Se, Ah/Al)"));
                }
                let mut scan = Vec::with_capacity(ns);
                for c in body[1..1 + 2 * ns].chunks_exact(2) {
                    let plane = frame
                        .ids
                        .iter()
                        .position(|&id| id == c[0])
                        .ok_or_else(|| bad(at, "scan component not in the frame"))?;
                    let dc = tables[0][usize::from(c[1] >> 4) & 3]
                        .as_ref()
                        .ok_or_else(|| bad(at, "undefined DC Huffman table"))?;
                    let ac = tables[1][usize::from(c[1] & 0x0F) & 3]
                        .as_ref()
                        .ok_or_else(|| bad(at, "undefined AC Huffman table"))?;
                    scan.push(ScanComp { plane, dc, ac });
                }
                pos = entropy::decode_scan(data, pos, &mut frame, &scan, restart_interval)?;
            }
            _ => {}
        }
    }
    Ok((frame, restart_interval))
}

fn read_dht(body: &[u8], tables: &mut Tables) -> Option<()> {
    let mut i = 0;
    while let Some(&tcth) = body.get(i) {
        let (class, id) = (usize::from(tcth >> 4), usize::from(tcth & 0x0F));
        let bits: [u8; 16] = body.get(i + 1..i + 17)?.try_into().ok()?;
        let n: usize = bits.iter().map(|&b| usize::from(b)).sum();
        let values = body.get(i + 17..i + 17 + n)?;
        *tables.get_mut(class)?.get_mut(id)? = Some(DecodeTable::new(&bits, values)?);
        i += 17 + n;
    }
    Some(())
}

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    // Bodies written here are at most a few hundred bytes.
    out.extend_from_slice(
        &u16::try_from(body.len() + 2)
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(body);
}

/// Writes SOI, APP0 (JFIF), DQT, SOF0, DHT (`specs`: DC 0, AC 0, DC 1, AC 1), DRI, SOS, the
/// scan and EOI.
fn write_frame(
    info: &JpegInfo,
    frame: &Frame,
    restart_interval: u16,
    specs: &[crate::huffman::HuffmanSpec; 4],
) -> Result<Vec<u8>, TranscodeError> {
    let mut out = Vec::with_capacity(info.scan_len + 1024);
    out.extend_from_slice(&[0xFF, 0xD8]);
    segment(
        &mut out,
        0xE0,
        &[b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0],
    );
    let mut dqt = Vec::new();
    let mut written = Vec::new();
    for &id in &info.component_qtables {
        if written.contains(&id) {
            continue;
        }
        written.push(id);
        let t =
            info.qtable(id)
                .ok_or(TranscodeError::NotCarriable(NotCarriable::MissingQTable {
                    id,
                }))?;
        dqt.push(id);
        // check_rtp (via lossless_possible) guarantees 8-bit tables.
        dqt.extend(t.values.iter().map(|&v| u8::try_from(v).unwrap_or(u8::MAX)));
    }
    segment(&mut out, 0xDB, &dqt);
    let w = u16::try_from(frame.width.next_multiple_of(8)).unwrap_or(u16::MAX);
    let h = u16::try_from(frame.height.next_multiple_of(8)).unwrap_or(u16::MAX);
    let mut sof = vec![8];
    sof.extend_from_slice(&h.to_be_bytes());
    sof.extend_from_slice(&w.to_be_bytes());
    sof.push(3);
    for c in &info.components {
        sof.extend_from_slice(&[c.id, c.h << 4 | c.v, c.qtable]);
    }
    segment(&mut out, 0xC0, &sof);
    let mut dht = Vec::new();
    for t in specs {
        t.write_dht_entry(&mut dht);
    }
    segment(&mut out, 0xC4, &dht);
    if restart_interval > 0 {
        segment(&mut out, 0xDD, &restart_interval.to_be_bytes());
    }
    let mut sos = vec![3];
    for (i, c) in info.components.iter().enumerate() {
        sos.extend_from_slice(&[c.id, if i == 0 { 0x00 } else { 0x11 }]);
    }
    sos.extend_from_slice(&[0, 63, 0]);
    segment(&mut out, 0xDA, &sos);
    entropy::encode_scan(frame, restart_interval, specs, &mut out)?;
    out.extend_from_slice(&[0xFF, 0xD9]);
    Ok(out)
}

#[cfg(all(test, feature = "transcode", feature = "gen"))]
mod tests;
