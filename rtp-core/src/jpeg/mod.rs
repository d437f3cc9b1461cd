//! RTP payload format for JPEG (RFC 2435).
//!
//! * [`packetize`] splits one frame (its scan data plus the few parameters RFC 2435 carries) into
//!   RTP payloads. The caller prepends RTP headers: the same timestamp for every payload of a
//!   frame, consecutive sequence numbers, and the **marker bit on the last payload only**.
//! * [`JpegDepacketizer`] is push/pull: [`push`](JpegDepacketizer::push) every RTP packet of the
//!   stream in arrival order, then [`pull`](JpegDepacketizer::pull) until `None`. Frames come out as
//!   complete JFIF files, rebuilt with [`build_jpeg_header`].
//! * [`LabDepacketizer`] / [`lab_frame`] handle the course-lab dialect, where one RTP packet
//!   carries a whole JPEG file and there is no RFC 2435 header.
//!
//! Every payload starts with the main JPEG header (RFC 2435 §3.1):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Type-specific |              Fragment Offset                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      Type     |       Q       |     Width     |     Height    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The fragment offset counts bytes of scan data only (never the headers below). Width and height
//! are in units of 8 pixels. Types 64..=127 (restart markers in the scan) add the restart marker
//! header (§3.1.7) to every payload:
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |       Restart Interval        |F|L|       Restart Count       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! and Q values 128..=255 add, in the first payload of a frame (offset 0) only, the quantization
//! table header (§3.1.8) followed by the tables:
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      MBZ      |   Precision   |             Length            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Quantization Table Data                    |
//! |                              ...                              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

mod depacketize;
mod header;
mod lab;
mod packetize;
mod tables;

pub use depacketize::{DepacketizeStats, JpegDepacketizer, JpegFrameOut};
pub use header::build_jpeg_header;
pub use lab::{lab_frame, LabDepacketizer};
pub use packetize::{packetize, packetize_with, JpegPayload};
pub use tables::make_tables;

/// The RTP payload type statically assigned to JPEG (RFC 3551).
pub const PAYLOAD_TYPE: u8 = 26;
/// The RTP clock rate of JPEG.
pub const CLOCK_RATE: u32 = 90_000;
/// Largest width or height RFC 2435 can carry (255 * 8).
pub const MAX_DIMENSION: u16 = 2040;
/// Length of the main JPEG header.
pub const MAIN_HEADER_LEN: usize = 8;
/// Length of the restart marker header (types 64..=127).
pub const RESTART_HEADER_LEN: usize = 4;
/// Length of the quantization table header (without the tables).
pub const QTABLE_HEADER_LEN: usize = 4;
/// Largest fragment offset (24 bits); [`packetize`] accepts scans up to this length.
pub const MAX_FRAGMENT_OFFSET: usize = 0xff_ffff;

/// Errors from [`packetize`]: the frame cannot be carried by RFC 2435.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketizeError {
    /// The scan data is empty.
    #[error("empty scan data")]
    EmptyScan,
    /// The scan data needs a fragment offset beyond 24 bits.
    #[error("scan of {len} bytes is too large for 24-bit fragment offsets")]
    ScanTooLarge {
        /// Scan length.
        len: usize,
    },
    /// Width or height is zero.
    #[error("zero width or height ({width}x{height})")]
    ZeroDimension {
        /// Width in pixels.
        width: u16,
        /// Height in pixels.
        height: u16,
    },
    /// Width or height is above 2040 pixels.
    #[error("{width}x{height} exceeds the RFC 2435 maximum of 2040x2040")]
    DimensionTooLarge {
        /// Width in pixels.
        width: u16,
        /// Height in pixels.
        height: u16,
    },
    /// Q is 0 or in the reserved range 100..=127.
    #[error("reserved q value {q}")]
    ReservedQ {
        /// The Q value.
        q: u8,
    },
    /// Q >= 128 but the tables are not 128 bytes (two 8-bit tables).
    #[error("q {q} needs 128 bytes of quantization tables, got {len}")]
    BadQTableLength {
        /// The Q value.
        q: u8,
        /// Length of the tables given.
        len: usize,
    },
    /// `max_payload` leaves no room for scan data after the headers.
    #[error("max payload {max_payload} too small: headers need {headers} bytes plus data")]
    MaxPayloadTooSmall {
        /// The limit given.
        max_payload: usize,
        /// Header bytes in the first payload.
        headers: usize,
    },
}

/// Errors from [`JpegDepacketizer::push`] and the lab dialect. Unless stated otherwise the frame in
/// progress is dropped (and counted in [`DepacketizeStats::frames_dropped`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DepacketizeError {
    /// The payload is shorter than its RFC 2435 headers.
    #[error("payload of seq {seq} too short: {len} bytes, headers need {needed}")]
    TooShort {
        /// RTP sequence number.
        seq: u16,
        /// Payload length.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// Type other than 0, 1, 64, 65 (only 4:2:2 and 4:2:0 YCbCr are defined).
    #[error("unsupported rfc 2435 type {type_}")]
    UnsupportedType {
        /// The type field.
        type_: u8,
    },
    /// Q is 0 or reserved (100..=127).
    #[error("reserved q value {q}")]
    ReservedQ {
        /// The Q field.
        q: u8,
    },
    /// Width or height field is 0.
    #[error("zero width or height field")]
    ZeroDimension,
    /// The quantization table header is malformed.
    #[error("bad quantization table header: precision {precision:#x}, length {length}")]
    BadQTable {
        /// Precision field.
        precision: u8,
        /// Length field.
        length: u16,
    },
    /// Q >= 128 but the frame has no tables and none are cached for this Q (Q = 255 never caches).
    #[error("no quantization tables for q {q}")]
    MissingQTables {
        /// The Q field.
        q: u8,
    },
    /// A fragment is missing: offset or sequence number not contiguous.
    #[error("fragment gap at seq {seq}: offset {offset}, expected {expected}")]
    FragmentGap {
        /// RTP sequence number of the packet.
        seq: u16,
        /// Its fragment offset.
        offset: u32,
        /// The offset expected.
        expected: u32,
    },
    /// A later fragment disagrees with the first one about type, Q or size.
    #[error("fragment at seq {seq} changes type/q/size within a frame")]
    InconsistentFragment {
        /// RTP sequence number.
        seq: u16,
    },
    /// The frame exceeds the configured maximum.
    #[error("frame exceeds {max} bytes")]
    FrameTooLarge {
        /// The configured maximum.
        max: usize,
    },
    /// Lab dialect: the payload does not start with SOI (FF D8).
    #[error("payload of seq {seq} is not a jpeg (no SOI)")]
    NotJpeg {
        /// RTP sequence number.
        seq: u16,
    },
}

/// The main JPEG header of a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MainHeader {
    pub(crate) type_specific: u8,
    pub(crate) offset: u32,
    pub(crate) type_: u8,
    pub(crate) q: u8,
    pub(crate) width8: u8,
    pub(crate) height8: u8,
}

impl MainHeader {
    pub(crate) fn parse(p: &[u8]) -> Option<Self> {
        let h: &[u8; 8] = p.get(..MAIN_HEADER_LEN)?.try_into().ok()?;
        Some(Self {
            type_specific: h[0],
            offset: u32::from_be_bytes([0, h[1], h[2], h[3]]),
            type_: h[4],
            q: h[5],
            width8: h[6],
            height8: h[7],
        })
    }

    pub(crate) fn write(&self, out: &mut impl Extend<u8>) {
        let o = self.offset.to_be_bytes();
        out.extend([
            self.type_specific,
            o[1],
            o[2],
            o[3],
            self.type_,
            self.q,
            self.width8,
            self.height8,
        ]);
    }
}

/// Whether `type_` carries the restart marker header.
pub(crate) fn has_restart_header(type_: u8) -> bool {
    (64..=127).contains(&type_)
}

#[cfg(test)]
mod tests;
