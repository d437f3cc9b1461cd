//! Error types: [`MjpegError`] (file splitting and writing), [`JpegError`] (header parsing) and
//! [`NotCarriable`] (why RFC 2435 cannot carry a valid JPEG).

use crate::header_types::{marker_name, Sampling};

/// Bytes as spaced hex, for messages: `FF D8`.
fn hex(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    if parts.is_empty() {
        "nothing".to_string()
    } else {
        parts.join(" ")
    }
}

/// Sampling factors (h, v) as `2x1`.
fn hv((h, v): (u8, u8)) -> String {
    format!("{h}x{v}")
}

/// Ids as `0, 1, 1`.
fn list(ids: &[u8]) -> String {
    let parts: Vec<String> = ids.iter().map(u8::to_string).collect();
    parts.join(", ")
}

/// (DC, AC) pairs as `(0, 0), (1, 1)`.
fn pairs(p: &[(u8, u8)]) -> String {
    let parts: Vec<String> = p.iter().map(|(a, b)| format!("({a}, {b})")).collect();
    parts.join(", ")
}

/// An error while splitting an MJPEG file into frames or writing one.
///
/// Offsets are absolute byte offsets in the file (or stream) given to the splitter; `index` is
/// the 0-based index of the frame being read. The caller adds the file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MjpegError {
    /// The input is empty.
    #[error("empty MJPEG file")]
    Empty,
    /// The input starts neither with a JPEG SOI marker (`FF D8`) nor with 5 ASCII digits followed by
    /// SOI, so it is neither a concatenated-JPEG file nor a lab (`movie.Mjpeg`) file.
    #[error("unknown file format: starts with {}, expected FF D8 (concatenated JPEG) or 5 ASCII digits then FF D8 (lab format)", hex(found))]
    UnknownFormat {
        /// Up to the first 7 bytes of the input.
        found: Vec<u8>,
    },
    /// A lab-format length prefix is not 5 ASCII digits.
    #[error(
        "frame {index}: bad length prefix {} at byte {offset} (expected 5 ASCII digits)",
        hex(prefix)
    )]
    BadLengthPrefix {
        /// Index of the frame this prefix belongs to.
        index: usize,
        /// Offset of the prefix.
        offset: u64,
        /// The 5 bytes found.
        prefix: [u8; 5],
    },
    /// A frame does not start with the JPEG SOI marker `FF D8`.
    #[error(
        "frame {index}: missing SOI marker (FF D8) at byte {offset}, found {}",
        hex(found)
    )]
    MissingSoi {
        /// Index of the frame.
        index: usize,
        /// Offset where the SOI was expected.
        offset: u64,
        /// Up to 2 bytes found there.
        found: Vec<u8>,
    },
    /// Bytes that are not the start of a JPEG (`FF D8`) follow the end (EOI) of the previous frame
    /// in a concatenated-JPEG file (also used for trailing garbage after the last frame).
    #[error(
        "garbage at byte {offset} where frame {index} should start: found {}, expected FF D8",
        hex(found)
    )]
    GarbageBetweenFrames {
        /// Index of the frame that should start here.
        index: usize,
        /// Offset of the first unexpected byte.
        offset: u64,
        /// Up to 2 bytes found there.
        found: Vec<u8>,
    },
    /// Inside the marker segments of a frame, a byte other than `FF` was found where a marker was
    /// expected, or a marker that cannot appear there (a second SOI, `FF 00`).
    #[error("frame {index}: bad marker at byte {offset}: found {}", hex(found))]
    BadMarker {
        /// Index of the frame.
        index: usize,
        /// Offset of the bad marker (or of the non-`FF` byte).
        offset: u64,
        /// The two bytes found (or one at the end of the data).
        found: Vec<u8>,
    },
    /// A marker segment has a length field below 2.
    #[error("frame {index}: marker FF{marker:02X} at byte {offset} has invalid length {len}")]
    BadSegmentLength {
        /// Index of the frame.
        index: usize,
        /// Offset of the marker.
        offset: u64,
        /// The marker code (second byte).
        marker: u8,
        /// The length field.
        len: u16,
    },
    /// The data ends inside a frame (or inside a lab length prefix).
    #[error("frame {index} starting at byte {offset} is truncated: data ends at byte {end}")]
    Truncated {
        /// Index of the truncated frame.
        index: usize,
        /// Offset where the frame (or its lab length prefix) starts.
        offset: u64,
        /// Offset where the data ends.
        end: u64,
    },
    /// A frame is larger than the configured maximum frame size.
    #[error("frame {index} starting at byte {offset} is larger than the limit of {limit} bytes")]
    FrameTooLarge {
        /// Index of the frame.
        index: usize,
        /// Offset where the frame starts.
        offset: u64,
        /// The limit in bytes.
        limit: usize,
    },
    /// A frame is too large for the lab format (at most 99999 bytes, 5 decimal digits).
    #[error("frame {index} has {len} bytes, the lab format allows at most 99999")]
    TooLargeForLab {
        /// Index of the frame.
        index: usize,
        /// Its length.
        len: usize,
    },
}

/// An error while parsing the headers of one JPEG image ([`parse_jpeg`](crate::parse_jpeg)).
///
/// Offsets are relative to the start of the frame; the caller adds the frame's file offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JpegError {
    /// The data does not start with SOI (`FF D8`).
    #[error("missing SOI marker (FF D8) at byte 0")]
    MissingSoi,
    /// The data ends inside a marker or a marker segment.
    #[error("truncated JPEG: data ends inside the marker segment starting at byte {offset}")]
    Truncated {
        /// Offset of the marker whose segment is incomplete.
        offset: usize,
    },
    /// A byte other than `FF` where a marker was expected.
    #[error("expected a marker at byte {offset}, found byte {found:02X}")]
    ExpectedMarker {
        /// Offset of the unexpected byte.
        offset: usize,
        /// The byte found.
        found: u8,
    },
    /// A marker that is not allowed at this point (a second SOI, `FF 00`, EOI before any scan).
    #[error("unexpected marker FF{marker:02X} at byte {offset}")]
    UnexpectedMarker {
        /// Offset of the marker.
        offset: usize,
        /// The marker code.
        marker: u8,
    },
    /// A marker segment length below 2.
    #[error("marker FF{marker:02X} at byte {offset} has invalid length {len}")]
    BadSegmentLength {
        /// Offset of the marker.
        offset: usize,
        /// The marker code.
        marker: u8,
        /// The length field.
        len: u16,
    },
    /// A coding process this crate does not handle (lossless, hierarchical or arithmetic coding).
    #[error("unsupported JPEG process at byte {offset}: {process} (marker FF{marker:02X}); only baseline, extended sequential and progressive Huffman JPEG are parsed")]
    UnsupportedProcess {
        /// Offset of the marker.
        offset: usize,
        /// The SOFn (or DAC) marker code.
        marker: u8,
        /// Human-readable name of the process.
        process: &'static str,
    },
    /// A DQT, DHT, SOF, DRI or SOS segment whose content is invalid.
    #[error("invalid {} segment at byte {offset}: {reason}", marker_name(*marker))]
    InvalidSegment {
        /// Offset of the marker.
        offset: usize,
        /// The marker code.
        marker: u8,
        /// What is wrong.
        reason: &'static str,
    },
    /// A scan (SOS) before the frame header (SOF).
    #[error("SOS at byte {offset} before any SOF frame header")]
    MissingSof {
        /// Offset of the SOS marker.
        offset: usize,
    },
    /// The entropy-coded data is not terminated by EOI (`FF D9`): the frame is probably truncated.
    #[error(
        "missing EOI: the entropy-coded data starting at byte {offset} runs to the end of the data"
    )]
    MissingEoi {
        /// Offset where the entropy-coded data (or the unfinished part) starts.
        offset: usize,
    },
}

/// Why a valid JPEG cannot be sent as RTP/JPEG ([RFC 2435]): see
/// [`JpegInfo::check_rtp`](crate::JpegInfo::check_rtp).
///
/// [RFC 2435]: https://www.rfc-editor.org/rfc/rfc2435
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotCarriable {
    /// Progressive JPEG (SOF2); RFC 2435 carries only baseline sequential scans.
    #[error("progressive JPEG: RFC 2435 carries only baseline (sequential) JPEG")]
    Progressive,
    /// Sample precision other than 8 bits.
    #[error("{bits}-bit samples: RFC 2435 carries only 8-bit samples")]
    Precision {
        /// Bits per sample.
        bits: u8,
    },
    /// Not 3 components (grayscale has 1; CMYK has 4). RFC 2435 types 0 and 1 are 3-component
    /// YCbCr, so grayscale JPEG is not carriable.
    #[error("{count} component(s): RFC 2435 carries only 3-component YCbCr (grayscale is not carriable)")]
    Components {
        /// Number of components in the frame header.
        count: usize,
    },
    /// Chroma subsampling other than 4:2:0 (Y 2x2, Cb/Cr 1x1; type 1) or 4:2:2 (Y 2x1, Cb/Cr 1x1; type 0).
    #[error("{sampling} sampling (factors Y {}, Cb {}, Cr {}): RFC 2435 carries only Y 2x2 or 2x1 with Cb and Cr 1x1", hv(*y), hv(*cb), hv(*cr))]
    Sampling {
        /// The subsampling ratio.
        sampling: Sampling,
        /// Y (h, v) sampling factors.
        y: (u8, u8),
        /// Cb (h, v) sampling factors.
        cb: (u8, u8),
        /// Cr (h, v) sampling factors.
        cr: (u8, u8),
    },
    /// Width or height above 2040: RFC 2435 carries width/8 and height/8 in one byte each.
    #[error("{width}x{height} is too large: RFC 2435 carries at most 2040x2040")]
    TooLarge {
        /// Width in pixels.
        width: u16,
        /// Height in pixels.
        height: u16,
    },
    /// Width or height not a multiple of 8: RFC 2435 carries width/8 and height/8, so receivers
    /// would decode a larger picture (rounded up) than the one sent.
    #[error(
        "{width}x{height} is not a multiple of 8: RFC 2435 carries the size in units of 8 pixels"
    )]
    NotMultipleOf8 {
        /// Width in pixels.
        width: u16,
        /// Height in pixels.
        height: u16,
    },
    /// A component references a quantization table that is not defined.
    #[error("quantization table {id} is referenced but not defined")]
    MissingQTable {
        /// The table id.
        id: u8,
    },
    /// A referenced quantization table has 16-bit values; RFC 2435 Q=255 headers send 8-bit tables here.
    #[error("quantization table {id} has 16-bit values: only 8-bit tables are carried")]
    QTable16Bit {
        /// The table id.
        id: u8,
    },
    /// Cb and Cr use different quantization tables; RFC 2435 sends one luma and one chroma table.
    #[error(
        "components use quantization tables {}: RFC 2435 needs Cb and Cr to share one table",
        list(ids)
    )]
    QTableMapping {
        /// Table id per component (Y, Cb, Cr).
        ids: Vec<u8>,
    },
    /// At least one Huffman table differs from the standard tables of JPEG Annex K.3, which every
    /// RFC 2435 receiver assumes (such frames decode as garbage).
    #[error("non-standard (e.g. optimized) Huffman tables: RFC 2435 receivers assume the JPEG Annex K.3 tables")]
    NonStandardHuffman,
    /// The scan does not use Huffman tables 0 for Y and 1 for Cb/Cr, as RFC 2435 receivers assume.
    #[error("the scan uses Huffman tables (DC, AC) {} for Y, Cb, Cr: RFC 2435 needs (0, 0), (1, 1), (1, 1)", pairs(selectors))]
    HuffmanSelectors {
        /// (DC, AC) table ids per scan component.
        selectors: Vec<(u8, u8)>,
    },
    /// More than one scan; RFC 2435 carries a single interleaved scan.
    #[error("{count} scans: RFC 2435 carries a single interleaved scan")]
    MultipleScans {
        /// Number of SOS segments.
        count: u32,
    },
    /// Marker segments (DQT, DHT, DRI, APPn, COM, …) between the scan data and EOI: the scan
    /// must be followed directly by EOI. Such segments redefine tables after the scan (which
    /// RFC 2435 receivers, rebuilding the headers from the RTP/JPEG header, never see) and would
    /// be carried inside the scan data. (A further SOS is reported as
    /// [`MultipleScans`](Self::MultipleScans).)
    #[error(
        "{} segment after the scan data: RFC 2435 carries one scan followed by EOI (no tables redefined after the scan)",
        marker_name(*marker)
    )]
    SegmentAfterScan {
        /// The marker code that ends the scan data (the first one that is neither RSTn nor EOI).
        marker: u8,
    },
    /// The scan is not interleaved over the 3 components in frame order.
    #[error(
        "the scan covers components {}: RFC 2435 needs one interleaved scan of Y, Cb, Cr",
        list(ids)
    )]
    NonInterleavedScan {
        /// Component ids in the scan.
        ids: Vec<u8>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages are for users: no Rust debug formatting (`Yuv444`, `(1, 2)`, `[FF, D9]`).
    #[test]
    fn messages_read_as_text() {
        let texts = [
            NotCarriable::Sampling {
                sampling: Sampling::Yuv444,
                y: (1, 2),
                cb: (1, 2),
                cr: (1, 2),
            }
            .to_string(),
            NotCarriable::QTableMapping { ids: vec![0, 1, 2] }.to_string(),
            NotCarriable::HuffmanSelectors {
                selectors: vec![(0, 0), (1, 0), (1, 1)],
            }
            .to_string(),
            MjpegError::UnknownFormat {
                found: vec![0x47, 0x49, 0x46],
            }
            .to_string(),
            MjpegError::BadMarker {
                index: 3,
                offset: 10,
                found: vec![0xFF, 0x00],
            }
            .to_string(),
        ];
        assert_eq!(
            texts[0],
            "4:4:4 sampling (factors Y 1x2, Cb 1x2, Cr 1x2): RFC 2435 carries only Y 2x2 or 2x1 with Cb and Cr 1x1"
        );
        assert!(texts[1].contains("tables 0, 1, 2:"), "{}", texts[1]);
        assert!(
            texts[2].contains("(0, 0), (1, 0), (1, 1) for"),
            "{}",
            texts[2]
        );
        assert!(texts[3].contains("starts with 47 49 46,"), "{}", texts[3]);
        assert!(texts[4].ends_with("found FF 00"), "{}", texts[4]);
        for t in &texts {
            assert!(!t.contains('[') && !t.contains("Yuv"), "{t}");
        }
    }
}
