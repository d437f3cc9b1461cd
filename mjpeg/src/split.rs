//! Splitting MJPEG files into JPEG frames: format detection, the marker walker, the whole-file
//! [`split_frames`] and the incremental [`FrameSplitter`].

use bytes::{Buf, Bytes, BytesMut};

use crate::MjpegError;

/// Default [`SplitOptions::max_frame_size`]: 16 MiB.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 16 * 1024 * 1024;

/// Length of the lab format's ASCII length prefix.
pub const LAB_PREFIX_LEN: usize = 5;

/// Largest frame the lab format can hold (5 decimal digits).
pub const LAB_MAX_FRAME_LEN: usize = 99_999;

/// The two MJPEG file layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// The course lab's `movie.Mjpeg`: each JPEG is preceded by its length as exactly 5 ASCII
    /// decimal digits (e.g. `b"08573"`), with nothing else between frames.
    Lab,
    /// JPEGs back to back, SOI..EOI, as written by `ffmpeg -f mjpeg`.
    Concatenated,
}

/// Options for [`split_frames_with`] and [`FrameSplitter::with_options`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SplitOptions {
    /// Expected format; `None` (the default) detects it from the first bytes.
    pub format: Option<FileFormat>,
    /// Frames larger than this are an error ([`MjpegError::FrameTooLarge`]). It also bounds the
    /// memory the [`FrameSplitter`] buffers for one frame. Default [`DEFAULT_MAX_FRAME_SIZE`].
    pub max_frame_size: usize,
}

impl Default for SplitOptions {
    fn default() -> Self {
        Self {
            format: None,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
        }
    }
}

impl SplitOptions {
    /// Sets the expected format (no detection).
    #[must_use]
    pub fn format(mut self, format: FileFormat) -> Self {
        self.format = Some(format);
        self
    }

    /// Sets the maximum frame size in bytes.
    #[must_use]
    pub fn max_frame_size(mut self, max: usize) -> Self {
        self.max_frame_size = max;
        self
    }
}

/// Result of looking at the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detection {
    Format(FileFormat),
    NeedMore,
    Unknown,
}

fn detect(data: &[u8]) -> Detection {
    match data.first() {
        None => Detection::NeedMore,
        Some(0xFF) => match data.get(1) {
            None => Detection::NeedMore,
            Some(0xD8) => Detection::Format(FileFormat::Concatenated),
            Some(_) => Detection::Unknown,
        },
        Some(_) => {
            // Lab: 5 digits then SOI.
            let head = &data[..data.len().min(LAB_PREFIX_LEN + 2)];
            for (i, &b) in head.iter().enumerate() {
                let ok = match i {
                    0..=4 => b.is_ascii_digit(),
                    5 => b == 0xFF,
                    _ => b == 0xD8,
                };
                if !ok {
                    return Detection::Unknown;
                }
            }
            if head.len() == LAB_PREFIX_LEN + 2 {
                Detection::Format(FileFormat::Lab)
            } else {
                Detection::NeedMore
            }
        }
    }
}

/// Detects the file format from the first bytes: `FF D8` is a concatenated-JPEG file; 5 ASCII
/// digits followed by `FF D8` is a lab file. `None` if neither (or if fewer than 2, resp. 7, bytes
/// are given).
pub fn detect_format(data: &[u8]) -> Option<FileFormat> {
    match detect(data) {
        Detection::Format(f) => Some(f),
        Detection::NeedMore | Detection::Unknown => None,
    }
}

/// Outcome of one walk step over a concatenated-JPEG frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WalkStep {
    /// More data is needed; the walker keeps its position.
    NeedMore,
    /// The frame ends (exclusive) at this offset, just after EOI.
    Done(usize),
}

/// Errors of the walker; offsets are relative to the frame start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WalkError {
    BadMarker { at: usize },
    BadSegmentLength { at: usize, marker: u8, len: u16 },
    TooLarge,
}

/// Resumable walk over one JPEG frame starting at offset 0 of the data it is given (which must
/// start with SOI and may grow between calls): marker segments by their length fields, then
/// entropy-coded data (skipping `FF 00` stuffing, RSTn and fill bytes) until EOI. Markers after a
/// scan (more scans, DHT, DNL) switch back to segment walking.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Walker {
    pos: usize,
    in_scan: bool,
}

impl Walker {
    pub(crate) fn new() -> Self {
        Self {
            pos: 2,
            in_scan: false,
        }
    }

    /// Advances over `data` (the frame so far). Every iteration moves `pos` forward or returns.
    pub(crate) fn walk(&mut self, data: &[u8], max: usize) -> Result<WalkStep, WalkError> {
        loop {
            if self.pos > max {
                return Err(WalkError::TooLarge);
            }
            if self.in_scan {
                let rest = data.get(self.pos..).unwrap_or(&[]);
                match rest.iter().position(|&b| b == 0xFF) {
                    None => {
                        self.pos = data.len().max(self.pos);
                        if self.pos > max {
                            return Err(WalkError::TooLarge);
                        }
                        return Ok(WalkStep::NeedMore);
                    }
                    Some(k) => self.pos += k,
                }
                let Some(&next) = data.get(self.pos + 1) else {
                    return Ok(WalkStep::NeedMore);
                };
                match next {
                    0x00 | 0xD0..=0xD7 => self.pos += 2,
                    0xFF => self.pos += 1,
                    0xD9 => return self.done(self.pos + 2, max),
                    _ => self.in_scan = false,
                }
            } else {
                let Some(&b) = data.get(self.pos) else {
                    return Ok(WalkStep::NeedMore);
                };
                if b != 0xFF {
                    return Err(WalkError::BadMarker { at: self.pos });
                }
                let Some(&m) = data.get(self.pos + 1) else {
                    return Ok(WalkStep::NeedMore);
                };
                match m {
                    0xFF => self.pos += 1,
                    0xD9 => return self.done(self.pos + 2, max),
                    0x00 | 0xD8 => return Err(WalkError::BadMarker { at: self.pos }),
                    0x01 | 0xD0..=0xD7 => self.pos += 2,
                    _ => {
                        let (Some(&hi), Some(&lo)) =
                            (data.get(self.pos + 2), data.get(self.pos + 3))
                        else {
                            return Ok(WalkStep::NeedMore);
                        };
                        let len = u16::from_be_bytes([hi, lo]);
                        if len < 2 {
                            return Err(WalkError::BadSegmentLength {
                                at: self.pos,
                                marker: m,
                                len,
                            });
                        }
                        let next = self.pos + 2 + usize::from(len);
                        if next > max {
                            return Err(WalkError::TooLarge);
                        }
                        if next > data.len() {
                            return Ok(WalkStep::NeedMore);
                        }
                        self.pos = next;
                        if m == 0xDA {
                            self.in_scan = true;
                        }
                    }
                }
            }
        }
    }

    fn done(&self, end: usize, max: usize) -> Result<WalkStep, WalkError> {
        if end > max {
            Err(WalkError::TooLarge)
        } else {
            Ok(WalkStep::Done(end))
        }
    }
}

/// What the core found at the front of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// Need more bytes.
    NeedMore,
    /// End of input reached cleanly (only with `eof`).
    End,
    /// A frame occupies `start..end` of the data; the first `end` bytes are consumed.
    Frame { start: usize, end: usize },
}

/// Format-independent splitting state shared by [`split_frames`] and [`FrameSplitter`].
#[derive(Debug, Clone)]
struct Core {
    format: Option<FileFormat>,
    max: usize,
    /// Index of the next frame.
    index: usize,
    /// Walker for the current concatenated frame, once its SOI was seen.
    walker: Option<Walker>,
}

fn head(data: &[u8], n: usize) -> Vec<u8> {
    data[..data.len().min(n)].to_vec()
}

impl Core {
    fn new(opts: &SplitOptions) -> Self {
        Self {
            format: opts.format,
            max: opts.max_frame_size,
            index: 0,
            walker: None,
        }
    }

    /// Looks for the next frame at the front of `data`, which starts at absolute offset `base`.
    /// `eof`: no more data will come.
    fn poll(&mut self, data: &[u8], base: u64, eof: bool) -> Result<Found, MjpegError> {
        let truncated = |index| MjpegError::Truncated {
            index,
            offset: base,
            end: base + data.len() as u64,
        };
        let format = match self.format {
            Some(f) => f,
            None => match detect(data) {
                Detection::Format(f) => {
                    self.format = Some(f);
                    f
                }
                Detection::NeedMore if !eof => return Ok(Found::NeedMore),
                Detection::NeedMore if data.is_empty() => return Ok(Found::End),
                Detection::NeedMore | Detection::Unknown => {
                    return Err(MjpegError::UnknownFormat {
                        found: head(data, LAB_PREFIX_LEN + 2),
                    })
                }
            },
        };
        if data.is_empty() {
            return Ok(if eof { Found::End } else { Found::NeedMore });
        }
        match format {
            FileFormat::Lab => self.poll_lab(data, base, eof),
            FileFormat::Concatenated => {
                let walker = match &mut self.walker {
                    Some(w) => w,
                    None => {
                        let have = data.len().min(2);
                        if data[..have] != [0xFF, 0xD8][..have] {
                            let found = head(data, 2);
                            return Err(if self.index == 0 {
                                MjpegError::MissingSoi {
                                    index: 0,
                                    offset: base,
                                    found,
                                }
                            } else {
                                MjpegError::GarbageBetweenFrames {
                                    index: self.index,
                                    offset: base,
                                    found,
                                }
                            });
                        }
                        if have < 2 {
                            return if eof {
                                Err(truncated(self.index))
                            } else {
                                Ok(Found::NeedMore)
                            };
                        }
                        self.walker.insert(Walker::new())
                    }
                };
                let index = self.index;
                match walker.walk(data, self.max) {
                    Ok(WalkStep::NeedMore) if eof => Err(truncated(index)),
                    Ok(WalkStep::NeedMore) => Ok(Found::NeedMore),
                    Ok(WalkStep::Done(end)) => {
                        self.walker = None;
                        self.index += 1;
                        Ok(Found::Frame { start: 0, end })
                    }
                    Err(WalkError::TooLarge) => Err(MjpegError::FrameTooLarge {
                        index,
                        offset: base,
                        limit: self.max,
                    }),
                    Err(WalkError::BadMarker { at }) => Err(MjpegError::BadMarker {
                        index,
                        offset: base + at as u64,
                        found: data[at..data.len().min(at + 2)].to_vec(),
                    }),
                    Err(WalkError::BadSegmentLength { at, marker, len }) => {
                        Err(MjpegError::BadSegmentLength {
                            index,
                            offset: base + at as u64,
                            marker,
                            len,
                        })
                    }
                }
            }
        }
    }

    fn poll_lab(&mut self, data: &[u8], base: u64, eof: bool) -> Result<Found, MjpegError> {
        let index = self.index;
        let truncated = || MjpegError::Truncated {
            index,
            offset: base,
            end: base + data.len() as u64,
        };
        let Some(prefix) = data.get(..LAB_PREFIX_LEN) else {
            if data.iter().any(|b| !b.is_ascii_digit()) {
                let mut prefix = [0u8; LAB_PREFIX_LEN];
                prefix[..data.len()].copy_from_slice(data);
                return Err(MjpegError::BadLengthPrefix {
                    index,
                    offset: base,
                    prefix,
                });
            }
            return if eof {
                Err(truncated())
            } else {
                Ok(Found::NeedMore)
            };
        };
        let mut len = 0usize;
        for &b in prefix {
            if !b.is_ascii_digit() {
                let mut p = [0u8; LAB_PREFIX_LEN];
                p.copy_from_slice(prefix);
                return Err(MjpegError::BadLengthPrefix {
                    index,
                    offset: base,
                    prefix: p,
                });
            }
            len = len * 10 + usize::from(b - b'0');
        }
        if len > self.max {
            return Err(MjpegError::FrameTooLarge {
                index,
                offset: base,
                limit: self.max,
            });
        }
        let body = &data[LAB_PREFIX_LEN..];
        // Check the SOI as soon as its bytes are there.
        let have = body.len().min(2);
        if len < 2 || body[..have] != [0xFF, 0xD8][..have] {
            return Err(MjpegError::MissingSoi {
                index,
                offset: base + LAB_PREFIX_LEN as u64,
                found: head(body, have),
            });
        }
        if body.len() < len {
            return if eof {
                Err(truncated())
            } else {
                Ok(Found::NeedMore)
            };
        }
        self.index += 1;
        Ok(Found::Frame {
            start: LAB_PREFIX_LEN,
            end: LAB_PREFIX_LEN + len,
        })
    }
}

/// Splits a whole MJPEG file (format detected) into frames that are zero-copy slices of `data`.
///
/// Errors carry the absolute byte offset and the frame index (see [`MjpegError`]); an empty file
/// is [`MjpegError::Empty`].
pub fn split_frames(data: &Bytes) -> Result<(FileFormat, Vec<Bytes>), MjpegError> {
    split_frames_with(data, &SplitOptions::default())
}

/// [`split_frames`] with options (forced format, maximum frame size).
pub fn split_frames_with(
    data: &Bytes,
    opts: &SplitOptions,
) -> Result<(FileFormat, Vec<Bytes>), MjpegError> {
    if data.is_empty() {
        return Err(MjpegError::Empty);
    }
    let mut core = Core::new(opts);
    let mut frames = Vec::new();
    let mut pos = 0usize;
    loop {
        let rest = &data[pos..];
        match core.poll(rest, pos as u64, true)? {
            Found::Frame { start, end } => {
                frames.push(data.slice(pos + start..pos + end));
                pos += end;
            }
            // With eof = true, NeedMore does not happen; treat it as the end anyway.
            Found::End | Found::NeedMore => break,
        }
    }
    // `core.format` is set: data is non-empty, so poll detected it or returned an error.
    let format = core.format.unwrap_or(FileFormat::Concatenated);
    Ok((format, frames))
}

/// Incremental MJPEG splitter for streaming readers: [`push`](Self::push) bytes as they arrive,
/// then call [`next_frame`](Self::next_frame) until it returns `Ok(None)`; at end of file call
/// [`finish`](Self::finish) and drain again, so a truncated last frame is reported.
///
/// Pushed bytes are copied once into an internal buffer; frames are zero-copy slices of it.
/// Buffering per frame is bounded by [`SplitOptions::max_frame_size`] as long as the caller drains
/// frames after each push. Errors are sticky: after one, `next_frame` returns the same error.
///
/// ```
/// use mjpeg::FrameSplitter;
/// let mut s = FrameSplitter::new();
/// s.push(b"00004\xFF\xD8");
/// assert_eq!(s.next_frame().unwrap(), None); // need more
/// s.push(b"\xFF\xD9");
/// assert_eq!(&s.next_frame().unwrap().unwrap()[..], b"\xFF\xD8\xFF\xD9");
/// s.finish();
/// assert_eq!(s.next_frame().unwrap(), None); // clean end
/// ```
#[derive(Debug)]
pub struct FrameSplitter {
    core: Core,
    buf: BytesMut,
    /// Absolute offset of `buf[0]`.
    consumed: u64,
    eof: bool,
    error: Option<MjpegError>,
}

impl Default for FrameSplitter {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameSplitter {
    /// A splitter that detects the format and uses the default maximum frame size.
    pub fn new() -> Self {
        Self::with_options(SplitOptions::default())
    }

    /// A splitter with options.
    pub fn with_options(opts: SplitOptions) -> Self {
        Self {
            core: Core::new(&opts),
            buf: BytesMut::new(),
            consumed: 0,
            eof: false,
            error: None,
        }
    }

    /// Appends input bytes. Call [`next_frame`](Self::next_frame) until `Ok(None)` afterwards.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Marks the end of the input: remaining bytes that do not form a complete frame become a
    /// [`MjpegError::Truncated`] error on the next [`next_frame`](Self::next_frame).
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// The next complete frame: `Ok(None)` means more input is needed (or, after
    /// [`finish`](Self::finish), that the input ended cleanly).
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, MjpegError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        match self.core.poll(&self.buf, self.consumed, self.eof) {
            Ok(Found::NeedMore | Found::End) => Ok(None),
            Ok(Found::Frame { start, end }) => {
                self.buf.advance(start);
                let frame = self.buf.split_to(end - start).freeze();
                self.consumed += end as u64;
                Ok(Some(frame))
            }
            Err(e) => {
                self.error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// The detected (or configured) format, once known.
    pub fn format(&self) -> Option<FileFormat> {
        self.core.format
    }

    /// Number of frames returned so far (the index of the next frame).
    pub fn frames_emitted(&self) -> usize {
        self.core.index
    }

    /// Absolute offset of the first byte not yet returned as part of a frame.
    pub fn offset(&self) -> u64 {
        self.consumed
    }

    /// Number of bytes buffered but not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests;
