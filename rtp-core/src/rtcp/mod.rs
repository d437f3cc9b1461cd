//! RTCP (RFC 3550 §6): SR, RR, SDES, BYE and compound packets.
use crate::NtpTime;

/// Errors from parsing RTCP. `offset` is where the offending packet starts in the compound packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtcpError {
    /// Less than a 4-byte common header left at `offset`.
    #[error("rtcp packet truncated at offset {offset}: {len} bytes left")]
    TooShort {
        /// Offset of the packet.
        offset: usize,
        /// Bytes left.
        len: usize,
    },
    /// The version is not 2.
    #[error("rtcp version {version} at offset {offset} (expected 2)")]
    BadVersion {
        /// Offset of the packet.
        offset: usize,
        /// The version found.
        version: u8,
    },
    /// The length field runs past the end of the buffer.
    #[error("rtcp packet at offset {offset} claims {needed} bytes, {available} available")]
    Truncated {
        /// Offset of the packet.
        offset: usize,
        /// Bytes the length field announces.
        needed: usize,
        /// Bytes available from `offset`.
        available: usize,
    },
    /// The P bit is set but the padding count is 0 or larger than the packet body.
    #[error("bad rtcp padding count {padding} at offset {offset}")]
    BadPadding {
        /// Offset of the packet.
        offset: usize,
        /// The padding count.
        padding: u8,
    },
    /// The packet body does not match its type (e.g. more report blocks than fit).
    #[error("malformed rtcp packet type {packet_type} at offset {offset}: {what}")]
    Malformed {
        /// Offset of the packet.
        offset: usize,
        /// Its packet type.
        packet_type: u8,
        /// What is wrong.
        what: &'static str,
    },
}

/// A report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// SSRC of the source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative number of packets lost (signed 24-bit on the wire; clamped by `write`).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Last SR timestamp (middle 32 bits of its NTP time), 0 if none.
    pub last_sr: u32,
    /// Delay since last SR in 1/65536 s, 0 if none.
    pub delay_since_last_sr: u32,
}

/// Sender report (PT 200).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SenderReport {
    /// SSRC of the sender.
    pub ssrc: u32,
    /// Wallclock time when the report was sent.
    pub ntp_time: NtpTime,
    /// RTP timestamp corresponding to `ntp_time`.
    pub rtp_timestamp: u32,
    /// Packets sent.
    pub packet_count: u32,
    /// Payload octets sent.
    pub octet_count: u32,
    /// Report blocks (at most 31).
    pub reports: Vec<ReportBlock>,
}

/// Receiver report (PT 201).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiverReport {
    /// SSRC of the packet sender.
    pub ssrc: u32,
    /// Report blocks (at most 31).
    pub reports: Vec<ReportBlock>,
}

/// One SDES item (RFC 3550 §6.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesItem {
    /// Item type: 1 = CNAME, 2 = NAME, ... (never 0).
    pub kind: u8,
    /// Item text (at most 255 bytes).
    pub value: Vec<u8>,
}

/// SDES chunk: items about one source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SdesChunk {
    /// The source.
    pub ssrc: u32,
    /// Its items.
    pub items: Vec<SdesItem>,
}

/// Source description (PT 202).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sdes {
    /// Chunks (at most 31).
    pub chunks: Vec<SdesChunk>,
}

/// Goodbye (PT 203).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bye {
    /// Sources leaving (at most 31).
    pub ssrcs: Vec<u32>,
    /// Optional reason (at most 255 bytes).
    pub reason: Option<Vec<u8>>,
}

/// One RTCP packet of a compound packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpPacket {
    /// SR.
    SenderReport(SenderReport),
    /// RR.
    ReceiverReport(ReceiverReport),
    /// SDES.
    Sdes(Sdes),
    /// BYE.
    Bye(Bye),
}

/// SR packet type.
pub const PT_SR: u8 = 200;
/// RR packet type.
pub const PT_RR: u8 = 201;
/// SDES packet type.
pub const PT_SDES: u8 = 202;
/// BYE packet type.
pub const PT_BYE: u8 = 203;
/// SDES CNAME item type.
pub const SDES_CNAME: u8 = 1;

/// Largest value of a 5-bit count field.
const MAX_COUNT: usize = 31;
/// Length of one report block.
const REPORT_BLOCK_LEN: usize = 24;

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl RtcpPacket {
    /// Parse a compound RTCP packet (RFC 3550 §6.1) into its SR, RR, SDES and BYE packets.
    /// Other packet types (APP, feedback, XR, ...) are skipped. Every packet must have version 2
    /// and a length within the buffer. Never panics.
    ///
    /// Common header of each packet:
    /// ```text
    ///  0                   1                   2                   3
    ///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |V=2|P|    RC   |      PT       |    length (words - 1)         |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// ```
    pub fn parse_compound(buf: &[u8]) -> Result<Vec<Self>, RtcpError> {
        let mut out = Vec::new();
        let mut offset = 0;
        if buf.is_empty() {
            return Err(RtcpError::TooShort { offset, len: 0 });
        }
        while offset < buf.len() {
            let rest = &buf[offset..];
            if rest.len() < 4 {
                return Err(RtcpError::TooShort {
                    offset,
                    len: rest.len(),
                });
            }
            let version = rest[0] >> 6;
            if version != 2 {
                return Err(RtcpError::BadVersion { offset, version });
            }
            let padded = rest[0] & 0x20 != 0;
            let count = usize::from(rest[0] & 0x1f);
            let packet_type = rest[1];
            let needed = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
            if rest.len() < needed {
                return Err(RtcpError::Truncated {
                    offset,
                    needed,
                    available: rest.len(),
                });
            }
            let mut body = &rest[4..needed];
            if padded {
                let padding = body.last().copied().unwrap_or(0);
                if padding == 0 || usize::from(padding) > body.len() {
                    return Err(RtcpError::BadPadding { offset, padding });
                }
                body = &body[..body.len() - usize::from(padding)];
            }
            let malformed = |what| RtcpError::Malformed {
                offset,
                packet_type,
                what,
            };
            match packet_type {
                PT_SR => out.push(Self::SenderReport(
                    SenderReport::parse_body(count, body)
                        .ok_or_else(|| malformed("sr shorter than its report blocks"))?,
                )),
                PT_RR => out.push(Self::ReceiverReport(
                    ReceiverReport::parse_body(count, body)
                        .ok_or_else(|| malformed("rr shorter than its report blocks"))?,
                )),
                PT_SDES => out.push(Self::Sdes(
                    Sdes::parse_body(count, body)
                        .ok_or_else(|| malformed("truncated sdes chunk"))?,
                )),
                PT_BYE => out.push(Self::Bye(
                    Bye::parse_body(count, body).ok_or_else(|| malformed("truncated bye"))?,
                )),
                _ => {}
            }
            offset += needed;
        }
        Ok(out)
    }

    /// Append this packet to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::SenderReport(p) => p.write(out),
            Self::ReceiverReport(p) => p.write(out),
            Self::Sdes(p) => p.write(out),
            Self::Bye(p) => p.write(out),
        }
    }

    /// The RTCP packet type (200..=203).
    pub fn packet_type(&self) -> u8 {
        match self {
            Self::SenderReport(_) => PT_SR,
            Self::ReceiverReport(_) => PT_RR,
            Self::Sdes(_) => PT_SDES,
            Self::Bye(_) => PT_BYE,
        }
    }
}

/// Append a compound packet: each packet in order (RFC 3550 wants an SR or RR first and an SDES
/// with CNAME in every compound packet; that is up to the caller).
pub fn write_compound(packets: &[RtcpPacket], out: &mut Vec<u8>) {
    for p in packets {
        p.write(out);
    }
}

/// Write a common header with a placeholder length; returns its position for [`finish`].
fn begin(out: &mut Vec<u8>, count: usize, packet_type: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0x80 | (count.min(MAX_COUNT) as u8), packet_type, 0, 0]);
    start
}

/// Fill in the length field of the packet that starts at `start` (the body is already 32-bit aligned).
fn finish(out: &mut [u8], start: usize) {
    let words = ((out.len() - start) / 4 - 1).min(usize::from(u16::MAX)) as u16;
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
}

impl ReportBlock {
    /// Report block layout (RFC 3550 §6.4.1):
    /// ```text
    /// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
    /// |                 SSRC_1 (SSRC of first source)                 |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// | fraction lost |       cumulative number of packets lost       |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |           extended highest sequence number received           |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |                      interarrival jitter                      |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |                         last SR (LSR)                         |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |                   delay since last SR (DLSR)                  |
    /// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
    /// ```
    fn parse(b: &[u8]) -> Self {
        let lost = be32(&b[4..8]);
        // Sign-extend the 24-bit cumulative loss.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        Self {
            ssrc: be32(&b[0..4]),
            fraction_lost: b[4],
            cumulative_lost,
            extended_highest_seq: be32(&b[8..12]),
            jitter: be32(&b[12..16]),
            last_sr: be32(&b[16..20]),
            delay_since_last_sr: be32(&b[20..24]),
        }
    }

    /// Append the 24-byte block; `cumulative_lost` is clamped to the signed 24-bit range.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32 & 0xff_ffff;
        out.extend_from_slice(&((u32::from(self.fraction_lost) << 24) | lost).to_be_bytes());
        out.extend_from_slice(&self.extended_highest_seq.to_be_bytes());
        out.extend_from_slice(&self.jitter.to_be_bytes());
        out.extend_from_slice(&self.last_sr.to_be_bytes());
        out.extend_from_slice(&self.delay_since_last_sr.to_be_bytes());
    }
}

fn parse_blocks(count: usize, b: &[u8]) -> Option<Vec<ReportBlock>> {
    let blocks = b.get(..count * REPORT_BLOCK_LEN)?;
    Some(
        blocks
            .chunks_exact(REPORT_BLOCK_LEN)
            .map(ReportBlock::parse)
            .collect(),
    )
}

fn write_blocks(blocks: &[ReportBlock], out: &mut Vec<u8>) {
    for b in blocks.iter().take(MAX_COUNT) {
        b.write(out);
    }
}

impl SenderReport {
    /// SR body after the common header (RFC 3550 §6.4.1):
    /// ```text
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |                         SSRC of sender                        |
    /// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
    /// |              NTP timestamp, most significant word             |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |             NTP timestamp, least significant word             |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |                         RTP timestamp                         |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |                     sender's packet count                     |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |                      sender's octet count                     |
    /// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
    /// |                 report blocks (RC of them)                    |
    /// ```
    fn parse_body(count: usize, b: &[u8]) -> Option<Self> {
        let h = b.get(..24)?;
        Some(Self {
            ssrc: be32(&h[0..4]),
            ntp_time: NtpTime((u64::from(be32(&h[4..8])) << 32) | u64::from(be32(&h[8..12]))),
            rtp_timestamp: be32(&h[12..16]),
            packet_count: be32(&h[16..20]),
            octet_count: be32(&h[20..24]),
            reports: parse_blocks(count, &b[24..])?,
        })
    }

    /// Append the SR (at most 31 report blocks).
    pub fn write(&self, out: &mut Vec<u8>) {
        let start = begin(out, self.reports.len(), PT_SR);
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(&self.ntp_time.0.to_be_bytes());
        out.extend_from_slice(&self.rtp_timestamp.to_be_bytes());
        out.extend_from_slice(&self.packet_count.to_be_bytes());
        out.extend_from_slice(&self.octet_count.to_be_bytes());
        write_blocks(&self.reports, out);
        finish(out, start);
    }
}

impl ReceiverReport {
    /// RR body: the reporter's SSRC, then RC report blocks (RFC 3550 §6.4.2).
    fn parse_body(count: usize, b: &[u8]) -> Option<Self> {
        Some(Self {
            ssrc: be32(b.get(..4)?),
            reports: parse_blocks(count, &b[4..])?,
        })
    }

    /// Append the RR (at most 31 report blocks).
    pub fn write(&self, out: &mut Vec<u8>) {
        let start = begin(out, self.reports.len(), PT_RR);
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        write_blocks(&self.reports, out);
        finish(out, start);
    }
}

impl Sdes {
    /// An SDES with one chunk carrying a CNAME item.
    pub fn cname(ssrc: u32, cname: &str) -> Self {
        Self {
            chunks: vec![SdesChunk {
                ssrc,
                items: vec![SdesItem {
                    kind: SDES_CNAME,
                    value: cname.as_bytes().to_vec(),
                }],
            }],
        }
    }

    /// The CNAME given for `ssrc`, if any.
    pub fn cname_of(&self, ssrc: u32) -> Option<&[u8]> {
        self.chunks
            .iter()
            .filter(|c| c.ssrc == ssrc)
            .flat_map(|c| &c.items)
            .find(|i| i.kind == SDES_CNAME)
            .map(|i| &i.value[..])
    }

    /// SDES body (RFC 3550 §6.5): SC chunks, each an SSRC then items
    /// `| type | length | text ... |`, ended by a zero type byte and padded to 32 bits.
    fn parse_body(count: usize, b: &[u8]) -> Option<Self> {
        let mut chunks = Vec::with_capacity(count);
        let mut pos = 0;
        for _ in 0..count {
            let ssrc = be32(b.get(pos..pos + 4)?);
            pos += 4;
            let mut items = Vec::new();
            loop {
                let kind = *b.get(pos)?;
                if kind == 0 {
                    pos += 1;
                    pos = pos.div_ceil(4) * 4; // to the next 32-bit boundary
                    break;
                }
                let len = usize::from(*b.get(pos + 1)?);
                let value = b.get(pos + 2..pos + 2 + len)?.to_vec();
                items.push(SdesItem { kind, value });
                pos += 2 + len;
            }
            chunks.push(SdesChunk { ssrc, items });
        }
        Some(Self { chunks })
    }

    /// Append the SDES (at most 31 chunks; item values truncated to 255 bytes; items of type 0
    /// are skipped since 0 ends a chunk).
    pub fn write(&self, out: &mut Vec<u8>) {
        let start = begin(out, self.chunks.len(), PT_SDES);
        for c in self.chunks.iter().take(MAX_COUNT) {
            let chunk_start = out.len();
            out.extend_from_slice(&c.ssrc.to_be_bytes());
            for i in c.items.iter().filter(|i| i.kind != 0) {
                let v = &i.value[..i.value.len().min(255)];
                out.push(i.kind);
                out.push(v.len() as u8);
                out.extend_from_slice(v);
            }
            // At least one zero byte ends the item list, then pad to 32 bits.
            out.push(0);
            let len = (out.len() - chunk_start).div_ceil(4) * 4;
            out.resize(chunk_start + len, 0);
        }
        finish(out, start);
    }
}

impl Bye {
    /// BYE body (RFC 3550 §6.6): SC SSRCs, then optionally `| length | reason ... |`.
    fn parse_body(count: usize, b: &[u8]) -> Option<Self> {
        let ssrcs = b.get(..count * 4)?.chunks_exact(4).map(be32).collect();
        let rest = &b[count * 4..];
        let reason = match rest.first() {
            Some(&len) if len > 0 => Some(rest.get(1..1 + usize::from(len))?.to_vec()),
            _ => None,
        };
        Some(Self { ssrcs, reason })
    }

    /// Append the BYE (at most 31 SSRCs; reason truncated to 255 bytes, an empty reason is omitted).
    pub fn write(&self, out: &mut Vec<u8>) {
        let start = begin(out, self.ssrcs.len(), PT_BYE);
        for s in self.ssrcs.iter().take(MAX_COUNT) {
            out.extend_from_slice(&s.to_be_bytes());
        }
        if let Some(r) = self.reason.as_ref().filter(|r| !r.is_empty()) {
            let r = &r[..r.len().min(255)];
            out.push(r.len() as u8);
            out.extend_from_slice(r);
            let len = (out.len() - start).div_ceil(4) * 4;
            out.resize(start + len, 0);
        }
        finish(out, start);
    }
}

#[cfg(test)]
mod tests;
