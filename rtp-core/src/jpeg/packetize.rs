//! RFC 2435 packetization.
use bytes::{Bytes, BytesMut};

use super::{
    has_restart_header, MainHeader, PacketizeError, MAIN_HEADER_LEN, MAX_DIMENSION,
    MAX_FRAGMENT_OFFSET, QTABLE_HEADER_LEN, RESTART_HEADER_LEN,
};

/// One JPEG frame, reduced to what RFC 2435 carries.
///
/// Usually built from a parsed baseline JPEG (e.g. `mjpeg::parse_jpeg`): type 0 for 4:2:2 and 1
/// for 4:2:0 (add 64 when the frame has a restart interval), Q = 255 with the frame's own two
/// quantization tables, and the entropy-coded scan (with or without the trailing EOI; receivers
/// append one when it is missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegPayload<'a> {
    /// RFC 2435 type: 0 (4:2:2), 1 (4:2:0), or those plus 64 with restart markers.
    pub type_: u8,
    /// Q: 1..=99 selects the RFC 2435 Appendix A tables; 128..=255 sends `qtables` in-band.
    pub q: u8,
    /// Width in pixels (1..=2040; rounded up to a multiple of 8 on the wire).
    pub width: u16,
    /// Height in pixels (1..=2040; rounded up to a multiple of 8 on the wire).
    pub height: u16,
    /// Restart interval in MCUs (DRI), used for types 64..=127.
    pub restart_interval: u16,
    /// For Q >= 128: the tables as sent, 64 bytes each (luma then chroma), 8-bit, zig-zag order.
    /// Ignored for Q < 128.
    pub qtables: &'a [u8],
    /// The entropy-coded scan data.
    pub scan: &'a [u8],
}

impl JpegPayload<'_> {
    /// Check the frame can be carried and return the header lengths (first payload, later payloads).
    fn validate(&self, max_payload: usize) -> Result<(usize, usize), PacketizeError> {
        let (width, height) = (self.width, self.height);
        if width == 0 || height == 0 {
            return Err(PacketizeError::ZeroDimension { width, height });
        }
        if width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(PacketizeError::DimensionTooLarge { width, height });
        }
        if self.scan.is_empty() {
            return Err(PacketizeError::EmptyScan);
        }
        if self.q == 0 || (100..128).contains(&self.q) {
            return Err(PacketizeError::ReservedQ { q: self.q });
        }
        if self.q >= 128 && self.qtables.len() != 128 {
            return Err(PacketizeError::BadQTableLength {
                q: self.q,
                len: self.qtables.len(),
            });
        }
        let rest = MAIN_HEADER_LEN
            + if has_restart_header(self.type_) {
                RESTART_HEADER_LEN
            } else {
                0
            };
        let first = rest
            + if self.q >= 128 {
                QTABLE_HEADER_LEN + self.qtables.len()
            } else {
                0
            };
        if max_payload <= first {
            return Err(PacketizeError::MaxPayloadTooSmall {
                max_payload,
                headers: first,
            });
        }
        // Every fragment offset must fit in 24 bits (conservatively: the whole scan length).
        if self.scan.len() > MAX_FRAGMENT_OFFSET {
            return Err(PacketizeError::ScanTooLarge {
                len: self.scan.len(),
            });
        }
        Ok((first, rest))
    }
}

/// Split a frame into RTP payloads of at most `max_payload` bytes each (RFC 2435 headers plus
/// scan data), in order. The caller adds one RTP header per payload (same timestamp, consecutive
/// sequence numbers) and sets the **marker bit on the last one**.
///
/// The payloads share one allocation, so a server can packetize a file once and send the same
/// `Bytes` to every session.
pub fn packetize(p: &JpegPayload<'_>, max_payload: usize) -> Result<Vec<Bytes>, PacketizeError> {
    let (first, rest) = p.validate(max_payload)?;
    let n_after_first = p
        .scan
        .len()
        .saturating_sub(max_payload - first)
        .div_ceil(max_payload - rest);
    let total = p.scan.len() + first + n_after_first * rest;
    let mut buf = BytesMut::with_capacity(total);
    let mut out = Vec::with_capacity(1 + n_after_first);
    packetize_with(p, max_payload, |payload, _last| {
        buf.extend_from_slice(payload);
        out.push(buf.split().freeze());
    })?;
    Ok(out)
}

/// Like [`packetize`], but hands each payload to `emit(payload, is_last)` from one reused buffer
/// instead of allocating. `is_last` is where the caller sets the RTP marker bit.
pub fn packetize_with(
    p: &JpegPayload<'_>,
    max_payload: usize,
    mut emit: impl FnMut(&[u8], bool),
) -> Result<(), PacketizeError> {
    let (first, rest) = p.validate(max_payload)?;
    let mut buf = Vec::with_capacity(max_payload);
    let mut offset = 0usize;
    while offset < p.scan.len() {
        buf.clear();
        MainHeader {
            type_specific: 0,
            offset: offset as u32,
            type_: p.type_,
            q: p.q,
            width8: p.width.div_ceil(8) as u8,
            height8: p.height.div_ceil(8) as u8,
        }
        .write(&mut buf);
        if has_restart_header(p.type_) {
            // F = 1, L = 1, restart count = 0x3fff: fragments are not aligned to restart intervals.
            buf.extend_from_slice(&p.restart_interval.to_be_bytes());
            buf.extend_from_slice(&[0xff, 0xff]);
        }
        let header_len = if offset == 0 { first } else { rest };
        if offset == 0 && p.q >= 128 {
            // MBZ = 0, precision = 0 (8-bit tables), length.
            buf.extend_from_slice(&[0, 0]);
            buf.extend_from_slice(&(p.qtables.len() as u16).to_be_bytes());
            buf.extend_from_slice(p.qtables);
        }
        let n = (max_payload - header_len).min(p.scan.len() - offset);
        buf.extend_from_slice(&p.scan[offset..offset + n]);
        offset += n;
        emit(&buf, offset == p.scan.len());
    }
    Ok(())
}
