//! RTP fixed header (RFC 3550 §5.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           timestamp                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           synchronization source (SSRC) identifier            |
//! +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//! |            contributing source (CSRC) identifiers             |
//! |                             ....                              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! X=1 (RFC 3550 §5.3.1):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      defined by profile       |           length              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        header extension                       |
//! |                             ....                              |
//! ```

/// Length of the fixed part of the RTP header.
pub(crate) const FIXED_LEN: usize = 12;

/// Errors from parsing an RTP packet. Offsets and lengths are in bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Fewer than the 12 bytes of the fixed header.
    #[error("rtp packet too short: {len} bytes, need at least 12")]
    TooShort {
        /// Length of the input.
        len: usize,
    },
    /// The version field is not 2 (only checked by [`RtpPacket::parse`]).
    #[error("unsupported rtp version {version} (expected 2)")]
    BadVersion {
        /// The version found in the packet.
        version: u8,
    },
    /// The CSRC list announced by the CC field runs past the end of the packet.
    #[error("csrc list truncated: {count} csrcs need {needed} bytes, packet has {len}")]
    TruncatedCsrc {
        /// CSRC count (CC field).
        count: u8,
        /// Bytes needed for the fixed header plus the CSRC list.
        needed: usize,
        /// Length of the input.
        len: usize,
    },
    /// The header extension runs past the end of the packet.
    #[error(
        "header extension truncated at offset {offset}: need {needed} bytes, packet has {len}"
    )]
    TruncatedExtension {
        /// Offset of the extension header.
        offset: usize,
        /// Bytes needed up to the end of the extension.
        needed: usize,
        /// Length of the input.
        len: usize,
    },
    /// The P bit is set but the padding count is zero or larger than the payload.
    #[error("bad padding count {padding}: {available} bytes after the header")]
    BadPadding {
        /// Padding count from the last byte of the packet.
        padding: u8,
        /// Bytes available after the header (payload plus padding).
        available: usize,
    },
}

/// RTP header extension (RFC 3550 §5.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpExtension {
    /// The 16-bit "defined by profile" field.
    pub profile: u16,
    /// Extension data (the 32-bit words after the length field). Its length should be a multiple
    /// of 4; [`RtpHeader::write`] zero-pads it otherwise, and truncates it to 65535 words.
    pub data: Vec<u8>,
}

/// RTP fixed header, CSRC list and extension. The version is always written as 2.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpHeader {
    /// P bit: the packet ends with padding whose last byte is the padding count. [`RtpPacket::parse`]
    /// strips the padding; [`RtpHeader::write`] only sets the bit (see [`RtpPacket::write`]).
    pub padding: bool,
    /// M bit. For RFC 2435 JPEG it marks the last packet of a frame.
    pub marker: bool,
    /// Payload type (7 bits; the high bit is ignored by `write`). 26 is JPEG.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// RTP timestamp (90 kHz for JPEG).
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
    /// Contributing sources (at most 15 are written).
    pub csrc: Vec<u32>,
    /// Header extension (X bit).
    pub extension: Option<RtpExtension>,
}

impl RtpHeader {
    /// A header with the given payload type, sequence number, timestamp and SSRC, other fields clear.
    pub fn new(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32) -> Self {
        Self {
            payload_type,
            sequence,
            timestamp,
            ssrc,
            ..Self::default()
        }
    }

    /// Encoded length in bytes (what [`write`](Self::write) appends).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        FIXED_LEN + 4 * self.csrc.len().min(15) + self.extension.as_ref().map_or(0, ext_len)
    }

    /// Append the encoded header (version 2) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        self.write_with_version(2, out);
    }

    /// Append the encoded header with another version number (only the low 2 bits are used).
    /// For talking to the course lab, whose `RtpPacket` writes version 0.
    pub fn write_with_version(&self, version: u8, out: &mut Vec<u8>) {
        let cc = self.csrc.len().min(15);
        out.reserve(self.len());
        let b0 = ((version & 3) << 6)
            | (u8::from(self.padding) << 5)
            | (u8::from(self.extension.is_some()) << 4)
            | cc as u8;
        let fixed = FixedHeader {
            marker: self.marker,
            payload_type: self.payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
        };
        out.extend_from_slice(&fixed.bytes_with_first(b0));
        for c in &self.csrc[..cc] {
            out.extend_from_slice(&c.to_be_bytes());
        }
        if let Some(ext) = &self.extension {
            let words = ext_words(ext);
            out.extend_from_slice(&ext.profile.to_be_bytes());
            out.extend_from_slice(&(words as u16).to_be_bytes());
            let n = ext.data.len().min(words * 4);
            out.extend_from_slice(&ext.data[..n]);
            out.resize(out.len() + (words * 4 - n), 0);
        }
    }

    /// Parse the header of a version-2 packet; returns the header and the payload (padding removed).
    pub fn parse(buf: &[u8]) -> Result<(Self, &[u8]), RtpError> {
        let p = RtpPacket::parse(buf)?;
        Ok((p.header, p.payload))
    }
}

/// Length of the fixed RTP header: what [`FixedHeader`] writes.
pub const FIXED_HEADER_LEN: usize = FIXED_LEN;

/// The 12-byte fixed header of a sender's packet: version 2, no padding, no CSRC, no
/// extension. Written into an array with no allocation: the per-packet work of a sender's hot
/// path (the server writes one per packet of every session). [`RtpHeader::write`] writes the
/// same bytes for the same fields (it uses this writer for its first 12).
///
/// ```
/// use bytes::BufMut;
/// # use rtp_core::{FixedHeader, RtpPacket};
/// let h = FixedHeader { marker: true, payload_type: 26, sequence: 7, timestamp: 90_000, ssrc: 1 };
/// let mut packet = Vec::with_capacity(12 + 3);
/// h.put(&mut packet); // or `h.to_bytes()` / `h.write_to(&mut [0; 12])`
/// packet.put_slice(b"abc");
/// let p = RtpPacket::parse(&packet).unwrap();
/// assert_eq!((p.header.marker, p.header.sequence, p.payload), (true, 7, &b"abc"[..]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FixedHeader {
    /// M bit (for RFC 2435 JPEG: the last packet of a frame).
    pub marker: bool,
    /// Payload type (7 bits; the high bit is ignored). 26 is JPEG.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
}

impl FixedHeader {
    /// The 12 header bytes.
    #[inline]
    pub fn to_bytes(&self) -> [u8; FIXED_HEADER_LEN] {
        self.bytes_with_first(0x80)
    }

    /// Writes the 12 header bytes into `out`.
    #[inline]
    pub fn write_to(&self, out: &mut [u8; FIXED_HEADER_LEN]) {
        *out = self.to_bytes();
    }

    /// Appends the 12 header bytes to `out` (a `Vec<u8>`, a `BytesMut`, ...).
    #[inline]
    pub fn put(&self, out: &mut impl bytes::BufMut) {
        out.put_slice(&self.to_bytes());
    }

    /// The header with `b0` (version, P, X, CC) as its first byte: the one place the fixed
    /// fields are laid out.
    #[inline]
    fn bytes_with_first(&self, b0: u8) -> [u8; FIXED_HEADER_LEN] {
        let [s0, s1] = self.sequence.to_be_bytes();
        let [t0, t1, t2, t3] = self.timestamp.to_be_bytes();
        let [c0, c1, c2, c3] = self.ssrc.to_be_bytes();
        let b1 = (u8::from(self.marker) << 7) | (self.payload_type & 0x7f);
        [b0, b1, s0, s1, t0, t1, t2, t3, c0, c1, c2, c3]
    }
}

fn ext_words(ext: &RtpExtension) -> usize {
    ext.data.len().div_ceil(4).min(u16::MAX as usize)
}

fn ext_len(ext: &RtpExtension) -> usize {
    4 + 4 * ext_words(ext)
}

/// A parsed RTP packet borrowing its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The header.
    pub header: RtpHeader,
    /// The payload, without padding.
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Parse a version-2 RTP packet (RFC 3550 §5.1). Padding is validated and stripped.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        if buf.len() < FIXED_LEN {
            return Err(RtpError::TooShort { len: buf.len() });
        }
        let version = buf[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion { version });
        }
        Self::parse_lenient(buf)
    }

    /// Parse an RTP packet of any version (the course lab's `RtpPacket` writes version 0).
    /// Use [`rtp_version`] to see which version it carried.
    pub fn parse_lenient(buf: &'a [u8]) -> Result<Self, RtpError> {
        if buf.len() < FIXED_LEN {
            return Err(RtpError::TooShort { len: buf.len() });
        }
        let b0 = buf[0];
        let padding = b0 & 0x20 != 0;
        let has_ext = b0 & 0x10 != 0;
        let cc = b0 & 0x0f;
        let marker = buf[1] & 0x80 != 0;
        let payload_type = buf[1] & 0x7f;
        let sequence = u16::from_be_bytes([buf[2], buf[3]]);
        let timestamp = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let mut pos = FIXED_LEN;
        let needed = pos + 4 * usize::from(cc);
        if buf.len() < needed {
            return Err(RtpError::TruncatedCsrc {
                count: cc,
                needed,
                len: buf.len(),
            });
        }
        let csrc = buf[pos..needed]
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        pos = needed;
        let extension = if has_ext {
            let offset = pos;
            if buf.len() < pos + 4 {
                return Err(RtpError::TruncatedExtension {
                    offset,
                    needed: pos + 4,
                    len: buf.len(),
                });
            }
            let profile = u16::from_be_bytes([buf[pos], buf[pos + 1]]);
            let words = usize::from(u16::from_be_bytes([buf[pos + 2], buf[pos + 3]]));
            let end = pos + 4 + 4 * words;
            if buf.len() < end {
                return Err(RtpError::TruncatedExtension {
                    offset,
                    needed: end,
                    len: buf.len(),
                });
            }
            let data = buf[pos + 4..end].to_vec();
            pos = end;
            Some(RtpExtension { profile, data })
        } else {
            None
        };
        let mut end = buf.len();
        if padding {
            let available = end - pos;
            let count = buf[end - 1];
            if count == 0 || usize::from(count) > available {
                return Err(RtpError::BadPadding {
                    padding: count,
                    available,
                });
            }
            end -= usize::from(count);
        }
        Ok(RtpPacket {
            header: RtpHeader {
                padding,
                marker,
                payload_type,
                sequence,
                timestamp,
                ssrc,
                csrc,
                extension,
            },
            payload: &buf[pos..end],
        })
    }

    /// Append the whole packet (header, payload and, if `header.padding` is set, 1 to 4 bytes of
    /// padding so the packet length is a multiple of 4) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let start = out.len();
        self.header.write(out);
        out.extend_from_slice(self.payload);
        if self.header.padding {
            let len = out.len() - start;
            let pad = 4 - (len % 4); // 1..=4: a padded packet has at least the count byte
            out.resize(out.len() + pad - 1, 0);
            out.push(pad as u8);
        }
    }
}

/// The version field (top 2 bits) of a packet, or `None` for an empty buffer.
pub fn rtp_version(buf: &[u8]) -> Option<u8> {
    buf.first().map(|b| b >> 6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A minimal packet: V=2, PT 26, seq 0x1234, ts 0xdeadbeef, ssrc 0x01020304.
    const BASIC: [u8; 14] = [
        0x80, 26, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 0xaa, 0xbb,
    ];

    #[test]
    fn fixed_fields() {
        let p = RtpPacket::parse(&BASIC).unwrap();
        let h = &p.header;
        assert_eq!(h.payload_type, 26);
        assert_eq!(h.sequence, 0x1234);
        assert_eq!(h.timestamp, 0xdead_beef);
        assert_eq!(h.ssrc, 0x0102_0304);
        assert!(!h.marker && !h.padding);
        assert!(h.csrc.is_empty() && h.extension.is_none());
        assert_eq!(p.payload, &[0xaa, 0xbb]);
        assert_eq!(h.len(), 12);
    }

    #[test]
    fn marker_and_payload_type_share_a_byte() {
        let mut b = BASIC;
        b[1] = 0x80 | 0x7f;
        let h = RtpPacket::parse(&b).unwrap().header;
        assert!(h.marker);
        assert_eq!(h.payload_type, 127);
        let mut out = Vec::new();
        RtpHeader {
            payload_type: 0xff,
            marker: false,
            ..h
        }
        .write(&mut out);
        assert_eq!(out[1], 0x7f, "high bit of payload_type is not the marker");
    }

    #[test]
    fn version() {
        for v in [0u8, 1, 3] {
            let mut b = BASIC;
            b[0] = (v << 6) | (b[0] & 0x3f);
            assert_eq!(
                RtpPacket::parse(&b),
                Err(RtpError::BadVersion { version: v })
            );
            assert_eq!(
                RtpPacket::parse_lenient(&b).unwrap().header.sequence,
                0x1234
            );
            assert_eq!(rtp_version(&b), Some(v));
        }
        assert_eq!(rtp_version(&[]), None);
        let mut out = Vec::new();
        RtpHeader::default().write_with_version(0, &mut out);
        assert_eq!(out[0], 0);
    }

    #[test]
    fn too_short() {
        assert_eq!(
            RtpPacket::parse(&BASIC[..11]),
            Err(RtpError::TooShort { len: 11 })
        );
        assert_eq!(
            RtpPacket::parse_lenient(&[]),
            Err(RtpError::TooShort { len: 0 })
        );
        assert_eq!(
            RtpPacket::parse(&BASIC[..12]).unwrap().payload,
            &[] as &[u8]
        );
    }

    #[test]
    fn csrc_list() {
        let mut b = vec![0x82, 26, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        b.extend_from_slice(&[0, 0, 0, 10, 0, 0, 0, 11, 0xcc]);
        let p = RtpPacket::parse(&b).unwrap();
        assert_eq!(p.header.csrc, vec![10, 11]);
        assert_eq!(p.payload, &[0xcc]);
        assert_eq!(p.header.len(), 20);
        assert_eq!(
            RtpPacket::parse(&b[..19]),
            Err(RtpError::TruncatedCsrc {
                count: 2,
                needed: 20,
                len: 19
            })
        );
    }

    #[test]
    fn extension() {
        let mut b = vec![0x90, 26, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        b.extend_from_slice(&[0xbe, 0xde, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 0xee]);
        let p = RtpPacket::parse(&b).unwrap();
        assert_eq!(
            p.header.extension,
            Some(RtpExtension {
                profile: 0xbede,
                data: (1..=8).collect()
            })
        );
        assert_eq!(p.payload, &[0xee]);
        assert_eq!(p.header.len(), 24);
        assert_eq!(
            RtpPacket::parse(&b[..23]),
            Err(RtpError::TruncatedExtension {
                offset: 12,
                needed: 24,
                len: 23
            })
        );
        assert_eq!(
            RtpPacket::parse(&b[..14]),
            Err(RtpError::TruncatedExtension {
                offset: 12,
                needed: 16,
                len: 14
            })
        );
        // Writing pads data to whole words.
        let h = RtpHeader {
            extension: Some(RtpExtension {
                profile: 1,
                data: vec![9; 5],
            }),
            ..RtpHeader::default()
        };
        let mut out = Vec::new();
        h.write(&mut out);
        assert_eq!(out.len(), h.len());
        assert_eq!(&out[12..], &[0, 1, 0, 2, 9, 9, 9, 9, 9, 0, 0, 0]);
    }

    #[test]
    fn padding_stripped_and_validated() {
        let mut b = BASIC.to_vec();
        b[0] |= 0x20;
        b.extend_from_slice(&[0, 0, 3]);
        let p = RtpPacket::parse(&b).unwrap();
        assert!(p.header.padding);
        assert_eq!(p.payload, &[0xaa, 0xbb]);
        // Count 0, and count larger than what follows the header.
        let n = b.len();
        b[n - 1] = 0;
        assert_eq!(
            RtpPacket::parse(&b),
            Err(RtpError::BadPadding {
                padding: 0,
                available: 5
            })
        );
        b[n - 1] = 6;
        assert_eq!(
            RtpPacket::parse(&b),
            Err(RtpError::BadPadding {
                padding: 6,
                available: 5
            })
        );
        b[n - 1] = 5;
        assert_eq!(RtpPacket::parse(&b).unwrap().payload, &[] as &[u8]);
        // Header only with P set: the last header byte is not padding.
        let mut h = BASIC[..12].to_vec();
        h[0] |= 0x20;
        assert_eq!(
            RtpPacket::parse(&h),
            Err(RtpError::BadPadding {
                padding: 4,
                available: 0
            })
        );
    }

    #[test]
    fn packet_write_adds_padding() {
        let header = RtpHeader {
            padding: true,
            ..RtpHeader::new(26, 1, 2, 3)
        };
        for len in 0..9 {
            let payload = vec![7u8; len];
            let mut out = Vec::new();
            RtpPacket {
                header: header.clone(),
                payload: &payload,
            }
            .write(&mut out);
            assert_eq!(out.len() % 4, 0);
            assert!(out.len() > 12 + len);
            assert_eq!(RtpPacket::parse(&out).unwrap().payload, &payload[..]);
        }
    }

    #[test]
    fn header_parse_returns_payload() {
        let (h, payload) = RtpHeader::parse(&BASIC).unwrap();
        assert_eq!(h.sequence, 0x1234);
        assert_eq!(payload, &[0xaa, 0xbb]);
    }

    #[test]
    fn too_many_csrcs_are_truncated_consistently() {
        let h = RtpHeader {
            csrc: (0..20).collect(),
            ..RtpHeader::default()
        };
        let mut out = Vec::new();
        h.write(&mut out);
        assert_eq!(out.len(), h.len());
        assert_eq!(
            RtpPacket::parse(&out).unwrap().header.csrc,
            (0..15).collect::<Vec<_>>()
        );
    }

    #[test]
    fn fixed_header_is_what_rtp_header_writes() {
        for (marker, payload_type, sequence, timestamp, ssrc) in [
            (false, 0, 0, 0, 0),
            (true, 26, 65_535, u32::MAX, 0xDEAD_BEEF),
            (false, 0xff, 1234, 90_000, 7),
        ] {
            let fixed = FixedHeader {
                marker,
                payload_type,
                sequence,
                timestamp,
                ssrc,
            };
            let mut want = Vec::new();
            RtpHeader::new(payload_type, sequence, timestamp, ssrc).write(&mut want);
            want[1] |= u8::from(marker) << 7;
            assert_eq!(fixed.to_bytes().as_slice(), want.as_slice());
            let mut arr = [0xAA; FIXED_HEADER_LEN];
            fixed.write_to(&mut arr);
            assert_eq!(arr, fixed.to_bytes());
            let mut v = vec![1u8];
            fixed.put(&mut v);
            assert_eq!(&v[1..], want.as_slice());
            let mut b = bytes::BytesMut::new();
            fixed.put(&mut b);
            assert_eq!(&b[..], want.as_slice());
            let p = RtpPacket::parse(&arr).unwrap().header;
            assert_eq!(
                (p.marker, p.payload_type, p.sequence, p.timestamp, p.ssrc),
                (marker, payload_type & 0x7f, sequence, timestamp, ssrc)
            );
        }
    }

    pub(crate) fn arb_header() -> impl Strategy<Value = RtpHeader> {
        (
            any::<bool>(),
            0u8..128,
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec(any::<u32>(), 0..=15),
            prop::option::of((any::<u16>(), prop::collection::vec(any::<[u8; 4]>(), 0..10))),
        )
            .prop_map(
                |(marker, payload_type, sequence, timestamp, ssrc, csrc, ext)| RtpHeader {
                    padding: false,
                    marker,
                    payload_type,
                    sequence,
                    timestamp,
                    ssrc,
                    csrc,
                    extension: ext.map(|(profile, w)| RtpExtension {
                        profile,
                        data: w.concat(),
                    }),
                },
            )
    }

    proptest! {
        #[test]
        fn header_roundtrip(h in arb_header(), padding in any::<bool>(),
                            payload in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut out = Vec::new();
            h.write(&mut out);
            prop_assert_eq!(out.len(), h.len());
            let (parsed, rest) = RtpHeader::parse(&out).unwrap();
            prop_assert_eq!(&parsed, &h);
            prop_assert!(rest.is_empty());
            // Whole packet, with and without padding.
            let header = RtpHeader { padding, ..h };
            let mut out = Vec::new();
            RtpPacket { header: header.clone(), payload: &payload }.write(&mut out);
            let p = RtpPacket::parse(&out).unwrap();
            prop_assert_eq!(p.header, header);
            prop_assert_eq!(p.payload, &payload[..]);
        }

        #[test]
        fn parse_never_panics(b in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = RtpPacket::parse(&b);
            if let Ok(p) = RtpPacket::parse_lenient(&b) {
                prop_assert!(p.header.len() + p.payload.len() <= b.len());
            }
        }
    }
}
