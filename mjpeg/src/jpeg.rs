//! JPEG header parsing ([`parse_jpeg`]) and the RFC 2435 carriability check
//! ([`JpegInfo::check_rtp`]).

use crate::error::{JpegError, NotCarriable};
use crate::header_types::Sampling;
use crate::huffman;

/// Largest width or height RFC 2435 can carry (255 * 8: the size is sent in units of 8 pixels in
/// one byte each).
pub const RTP_MAX_DIMENSION: u16 = 2040;

/// A quantization table from a DQT segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QTable {
    /// Table id (destination, 0..=3).
    pub id: u8,
    /// Bits per value: 8 or 16.
    pub precision: u8,
    /// The 64 values in zig-zag order, as stored in the file.
    pub values: [u16; 64],
}

/// One component of the frame header (SOF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    /// Component id (`C`), usually 1, 2, 3 (or 0, 1, 2).
    pub id: u8,
    /// Horizontal sampling factor (1..=4).
    pub h: u8,
    /// Vertical sampling factor (1..=4).
    pub v: u8,
    /// Quantization table id (0..=3).
    pub qtable: u8,
}

/// One component of a scan header (SOS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanComponent {
    /// Component id, as in [`Component::id`].
    pub id: u8,
    /// DC Huffman table id.
    pub dc_table: u8,
    /// AC Huffman table id.
    pub ac_table: u8,
}

/// What [`parse_jpeg`] found in a JPEG's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpegInfo {
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Bits per sample (8 for nearly all JPEGs, 12 for some extended ones).
    pub precision: u8,
    /// Chroma subsampling.
    pub sampling: Sampling,
    /// Progressive (SOF2).
    pub progressive: bool,
    /// Quantization tables in order of definition (a redefinition replaces the table in place).
    pub qtables: Vec<QTable>,
    /// Quantization table id per component, in frame-header order (Y, Cb, Cr).
    pub component_qtables: Vec<u8>,
    /// Restart interval in MCUs (DRI); 0 = none.
    pub restart_interval: u16,
    /// Every DHT table equals the JPEG Annex K.3 table for its class and id (id 0 = luma,
    /// 1 = chroma); also `true` when there is no DHT at all.
    pub standard_huffman: bool,
    /// Entropy-coded data starts here: the first byte after the (first) SOS header.
    pub scan_offset: usize,
    /// Length of the first scan's entropy-coded data: up to (not including) the first marker
    /// after it other than RSTn — the final EOI for a single-scan image.
    pub scan_len: usize,
    /// The marker code that ends the first scan's entropy-coded data (at
    /// `scan_offset + scan_len`, after any fill bytes): `0xD9` (EOI) when the image is one scan
    /// followed by EOI; SOS, DQT, DHT, DRI, … when more segments follow the scan.
    pub scan_end_marker: u8,
    /// The SOFn marker code (0xC0 baseline, 0xC1 extended sequential, 0xC2 progressive).
    pub sof_marker: u8,
    /// Frame-header components with their sampling factors.
    pub components: Vec<Component>,
    /// Components of the first scan, with their Huffman table selectors.
    pub scan_components: Vec<ScanComponent>,
    /// Number of scans (SOS segments).
    pub scan_count: u32,
}

fn unsupported_process(marker: u8) -> Option<&'static str> {
    Some(match marker {
        0xC3 => "lossless (SOF3)",
        0xC5..=0xC7 => "hierarchical/differential (SOF5-7)",
        0xC9 | 0xCA => "arithmetic coding (SOF9/SOF10)",
        0xCB => "lossless arithmetic coding (SOF11)",
        0xCC => "arithmetic coding (DAC)",
        0xCD..=0xCF => "hierarchical arithmetic coding (SOF13-15)",
        _ => return None,
    })
}

#[derive(Default)]
struct Parser {
    sof: Option<(u8, u8, u16, u16)>, // (marker, precision, height, width)
    components: Vec<Component>,
    qtables: Vec<QTable>,
    restart_interval: u16,
    standard_huffman: bool,
    scan_offset: usize,
    /// End of the first scan's entropy-coded data and the marker found there.
    scan_end: usize,
    scan_end_marker: u8,
    scan_components: Vec<ScanComponent>,
    scan_count: u32,
}

fn invalid(offset: usize, marker: u8, reason: &'static str) -> JpegError {
    JpegError::InvalidSegment {
        offset,
        marker,
        reason,
    }
}

impl Parser {
    fn dqt(&mut self, body: &[u8], at: usize) -> Result<(), JpegError> {
        let err = |reason| invalid(at, 0xDB, reason);
        if body.is_empty() {
            return Err(err("no table"));
        }
        let mut i = 0;
        while let Some(&pqtq) = body.get(i) {
            let (pq, id) = (pqtq >> 4, pqtq & 0x0F);
            if pq > 1 {
                return Err(err("table precision must be 0 (8-bit) or 1 (16-bit)"));
            }
            if id > 3 {
                return Err(err("table id above 3"));
            }
            let n = if pq == 0 { 64 } else { 128 };
            let Some(raw) = body.get(i + 1..i + 1 + n) else {
                return Err(err("table extends past the segment"));
            };
            let mut values = [0u16; 64];
            if pq == 0 {
                for (v, &b) in values.iter_mut().zip(raw) {
                    *v = u16::from(b);
                }
            } else {
                for (v, b) in values.iter_mut().zip(raw.chunks_exact(2)) {
                    *v = u16::from_be_bytes([b[0], b[1]]);
                }
            }
            let table = QTable {
                id,
                precision: if pq == 0 { 8 } else { 16 },
                values,
            };
            match self.qtables.iter_mut().find(|t| t.id == id) {
                Some(t) => *t = table,
                None => self.qtables.push(table),
            }
            i += 1 + n;
        }
        Ok(())
    }

    fn dht(&mut self, body: &[u8], at: usize) -> Result<(), JpegError> {
        let err = |reason| invalid(at, 0xC4, reason);
        if body.is_empty() {
            return Err(err("no table"));
        }
        let mut i = 0;
        while let Some(&tcth) = body.get(i) {
            let (class, id) = (tcth >> 4, tcth & 0x0F);
            if class > 1 {
                return Err(err("table class must be 0 (DC) or 1 (AC)"));
            }
            if id > 3 {
                return Err(err("table id above 3"));
            }
            let Some(bits) = body.get(i + 1..i + 17) else {
                return Err(err("table extends past the segment"));
            };
            let n: usize = bits.iter().map(|&b| usize::from(b)).sum();
            if n > 256 {
                return Err(err("more than 256 codes"));
            }
            let Some(values) = body.get(i + 17..i + 17 + n) else {
                return Err(err("table extends past the segment"));
            };
            self.standard_huffman &= huffman::is_standard(class, id, bits, values);
            i += 17 + n;
        }
        Ok(())
    }

    fn dri(&mut self, body: &[u8], at: usize) -> Result<(), JpegError> {
        match body {
            [hi, lo] => {
                self.restart_interval = u16::from_be_bytes([*hi, *lo]);
                Ok(())
            }
            _ => Err(invalid(at, 0xDD, "length must be 4")),
        }
    }

    fn sof(&mut self, marker: u8, body: &[u8], at: usize) -> Result<(), JpegError> {
        let err = |reason| invalid(at, marker, reason);
        if self.sof.is_some() {
            return Err(err("second frame header"));
        }
        let [precision, h0, h1, w0, w1, nf, rest @ ..] = body else {
            return Err(err("shorter than 6 bytes"));
        };
        let (height, width) = (
            u16::from_be_bytes([*h0, *h1]),
            u16::from_be_bytes([*w0, *w1]),
        );
        if *nf == 0 {
            return Err(err("no components"));
        }
        if rest.len() != 3 * usize::from(*nf) {
            return Err(err("length does not match the component count"));
        }
        if height == 0 {
            return Err(err("height 0 (defined later by DNL) is not supported"));
        }
        if width == 0 {
            return Err(err("width 0"));
        }
        for c in rest.chunks_exact(3) {
            let comp = Component {
                id: c[0],
                h: c[1] >> 4,
                v: c[1] & 0x0F,
                qtable: c[2],
            };
            if !(1..=4).contains(&comp.h) || !(1..=4).contains(&comp.v) {
                return Err(err("sampling factor outside 1..=4"));
            }
            if comp.qtable > 3 {
                return Err(err("quantization table id above 3"));
            }
            if self.components.iter().any(|o| o.id == comp.id) {
                return Err(err("duplicate component id"));
            }
            self.components.push(comp);
        }
        self.sof = Some((marker, *precision, height, width));
        Ok(())
    }

    fn sos(&mut self, body: &[u8], at: usize) -> Result<(), JpegError> {
        let err = |reason| invalid(at, 0xDA, reason);
        if self.sof.is_none() {
            return Err(JpegError::MissingSof { offset: at });
        }
        let Some((&ns, rest)) = body.split_first() else {
            return Err(err("empty"));
        };
        if !(1..=4).contains(&ns) {
            return Err(err("component count outside 1..=4"));
        }
        if rest.len() != 2 * usize::from(ns) + 3 {
            return Err(err("length does not match the component count"));
        }
        let mut comps = Vec::with_capacity(usize::from(ns));
        for c in rest[..2 * usize::from(ns)].chunks_exact(2) {
            let sc = ScanComponent {
                id: c[0],
                dc_table: c[1] >> 4,
                ac_table: c[1] & 0x0F,
            };
            if !self.components.iter().any(|f| f.id == sc.id) {
                return Err(err("component not in the frame header"));
            }
            if sc.dc_table > 3 || sc.ac_table > 3 {
                return Err(err("Huffman table id above 3"));
            }
            comps.push(sc);
        }
        self.scan_count += 1;
        if self.scan_count == 1 {
            self.scan_components = comps;
        }
        Ok(())
    }

    fn sampling(&self) -> Sampling {
        match self.components.as_slice() {
            [_] => Sampling::Gray,
            [y, cb, cr] => {
                let f = |c: &Component| (c.h, c.v);
                if f(y) == f(cb) && f(cb) == f(cr) {
                    Sampling::Yuv444
                } else if f(cb) != f(cr) {
                    Sampling::Other
                } else if y.h == 2 * cb.h && y.v == 2 * cb.v {
                    Sampling::Yuv420
                } else if y.h == 2 * cb.h && y.v == cb.v {
                    Sampling::Yuv422
                } else {
                    Sampling::Other
                }
            }
            _ => Sampling::Other,
        }
    }
}

/// Parses the headers of one JPEG image.
///
/// Walks SOI, then marker segments by their length fields: APPn, COM and unknown segments are
/// skipped; DQT (8- and 16-bit tables, several per segment), SOF0/SOF1/SOF2, DHT, DRI and SOS are
/// decoded. Other SOFn (lossless, hierarchical, arithmetic) and DAC give
/// [`JpegError::UnsupportedProcess`]. After each SOS the entropy-coded data is skipped (`FF 00`
/// stuffing, RSTn and fill bytes) up to the next marker; the image ends at EOI. Bytes after EOI
/// are ignored. Offsets in errors are relative to `frame`. Never panics.
pub fn parse_jpeg(frame: &[u8]) -> Result<JpegInfo, JpegError> {
    if frame.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return Err(JpegError::MissingSoi);
    }
    let mut p = Parser {
        standard_huffman: true,
        ..Parser::default()
    };
    let mut pos = 2usize;
    let eoi = loop {
        let Some(&b) = frame.get(pos) else {
            return Err(JpegError::Truncated { offset: pos });
        };
        if b != 0xFF {
            return Err(JpegError::ExpectedMarker {
                offset: pos,
                found: b,
            });
        }
        // Fill bytes: any number of FF before the marker code.
        while frame.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let at = pos;
        let Some(&marker) = frame.get(at + 1) else {
            return Err(JpegError::Truncated { offset: at });
        };
        match marker {
            0xD9 if p.scan_count > 0 => break at,
            0xD9 | 0xD8 | 0x00 => return Err(JpegError::UnexpectedMarker { offset: at, marker }),
            0x01 | 0xD0..=0xD7 => {
                pos = at + 2;
                continue;
            }
            _ => {}
        }
        let (Some(&hi), Some(&lo)) = (frame.get(at + 2), frame.get(at + 3)) else {
            return Err(JpegError::Truncated { offset: at });
        };
        let len = u16::from_be_bytes([hi, lo]);
        if len < 2 {
            return Err(JpegError::BadSegmentLength {
                offset: at,
                marker,
                len,
            });
        }
        let end = at + 2 + usize::from(len);
        let Some(body) = frame.get(at + 4..end) else {
            return Err(JpegError::Truncated { offset: at });
        };
        if let Some(process) = unsupported_process(marker) {
            return Err(JpegError::UnsupportedProcess {
                offset: at,
                marker,
                process,
            });
        }
        match marker {
            0xDB => p.dqt(body, at)?,
            0xC4 => p.dht(body, at)?,
            0xDD => p.dri(body, at)?,
            0xC0..=0xC2 => p.sof(marker, body, at)?,
            0xDA => p.sos(body, at)?,
            _ => {} // APPn, COM, DNL, reserved: skipped by length
        }
        pos = end;
        if marker == 0xDA {
            if p.scan_count == 1 {
                p.scan_offset = end;
            }
            // Entropy-coded data: stop at the first real marker.
            loop {
                match frame
                    .get(pos..)
                    .and_then(|r| r.iter().position(|&b| b == 0xFF))
                {
                    Some(k) => pos += k,
                    None => return Err(JpegError::MissingEoi { offset: end }),
                }
                match frame.get(pos + 1) {
                    None => return Err(JpegError::MissingEoi { offset: end }),
                    Some(0x00 | 0xD0..=0xD7) => pos += 2,
                    Some(0xFF) => pos += 1,
                    Some(&m) => {
                        if p.scan_count == 1 {
                            p.scan_end = pos;
                            p.scan_end_marker = m;
                        }
                        break;
                    }
                }
            }
        }
    };
    let Some((sof_marker, precision, height, width)) = p.sof else {
        // Unreachable in practice: EOI is only accepted after a scan, and SOS needs a SOF.
        return Err(JpegError::MissingSof { offset: eoi });
    };
    Ok(JpegInfo {
        width,
        height,
        precision,
        sampling: p.sampling(),
        progressive: sof_marker == 0xC2,
        component_qtables: p.components.iter().map(|c| c.qtable).collect(),
        qtables: p.qtables,
        restart_interval: p.restart_interval,
        standard_huffman: p.standard_huffman,
        scan_offset: p.scan_offset,
        scan_len: p.scan_end.saturating_sub(p.scan_offset),
        scan_end_marker: p.scan_end_marker,
        sof_marker,
        components: p.components,
        scan_components: p.scan_components,
        scan_count: p.scan_count,
    })
}

impl JpegInfo {
    /// The entropy-coded data of `frame` (the slice this info was parsed from):
    /// `frame[scan_offset..scan_offset + scan_len]`, or empty if out of range.
    pub fn scan<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        frame
            .get(self.scan_offset..self.scan_offset.saturating_add(self.scan_len))
            .unwrap_or(&[])
    }

    /// Checks that RFC 2435 (RTP/JPEG) can carry this image; returns the first problem found.
    ///
    /// Carriable means: sequential 8-bit 3-component YCbCr with Y 2x2 or 2x1 and Cb/Cr 1x1,
    /// width and height multiples of 8 and at most 2040 (a size that is not a multiple of 8 is
    /// rejected because receivers would round it up), 8-bit quantization tables with Cb and Cr
    /// sharing one, standard Huffman tables, one interleaved scan. Progressive, 12-bit, grayscale,
    /// 4:4:4 and optimized-Huffman JPEGs are not. See [`rtp_problems`](Self::rtp_problems) for
    /// every problem at once.
    pub fn check_rtp(&self) -> Result<(), NotCarriable> {
        match self.rtp_problems().into_iter().next() {
            Some(p) => Err(p),
            None => Ok(()),
        }
    }

    /// Every reason RFC 2435 cannot carry this image (empty = carriable). RFC 2435 receivers
    /// rebuild the JPEG headers from the RTP/JPEG header alone, so the image must be exactly what
    /// they rebuild:
    /// * sequential (baseline SOF0, or SOF1 with baseline tables), not progressive; 8-bit samples;
    /// * 3 components (YCbCr; grayscale is not carriable) with Y 2x2 (type 1, 4:2:0) or Y 2x1
    ///   (type 0, 4:2:2) and Cb, Cr 1x1;
    /// * width and height at most 2040 and multiples of 8: RFC 2435 sends width/8 and height/8 in
    ///   one byte each, so any other size would be rounded up by receivers;
    /// * 8-bit quantization tables, Cb and Cr sharing one (Y may share it too);
    /// * the standard Huffman tables (JPEG Annex K.3) or none, used as DC/AC 0 for Y and 1 for
    ///   Cb/Cr;
    /// * one interleaved scan of Y, Cb, Cr, followed directly by EOI (no DQT, DHT, DRI or other
    ///   segment after the scan data: receivers would never see tables redefined there).
    ///
    /// A restart interval (DRI) is carriable (types 64/65 with a restart marker header).
    pub fn rtp_problems(&self) -> Vec<NotCarriable> {
        let mut out = Vec::new();
        if self.progressive {
            out.push(NotCarriable::Progressive);
        }
        if self.precision != 8 {
            out.push(NotCarriable::Precision {
                bits: self.precision,
            });
        }
        if self.components.len() != 3 {
            out.push(NotCarriable::Components {
                count: self.components.len(),
            });
        } else {
            let f = |c: &Component| (c.h, c.v);
            let (y, cb, cr) = (
                f(&self.components[0]),
                f(&self.components[1]),
                f(&self.components[2]),
            );
            if !matches!(y, (2, 2) | (2, 1)) || cb != (1, 1) || cr != (1, 1) {
                out.push(NotCarriable::Sampling {
                    sampling: self.sampling,
                    y,
                    cb,
                    cr,
                });
            }
        }
        if self.width > RTP_MAX_DIMENSION || self.height > RTP_MAX_DIMENSION {
            out.push(NotCarriable::TooLarge {
                width: self.width,
                height: self.height,
            });
        } else if !self.width.is_multiple_of(8) || !self.height.is_multiple_of(8) {
            out.push(NotCarriable::NotMultipleOf8 {
                width: self.width,
                height: self.height,
            });
        }
        let ids = &self.component_qtables;
        if ids.len() == 3 && ids[1] != ids[2] {
            out.push(NotCarriable::QTableMapping { ids: ids.clone() });
        }
        let mut seen = Vec::new();
        for &id in ids.iter().take(3) {
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            match self.qtable(id) {
                None => out.push(NotCarriable::MissingQTable { id }),
                Some(t) if t.precision != 8 => out.push(NotCarriable::QTable16Bit { id }),
                Some(_) => {}
            }
        }
        if !self.standard_huffman {
            out.push(NotCarriable::NonStandardHuffman);
        }
        if self.scan_count > 1 {
            out.push(NotCarriable::MultipleScans {
                count: self.scan_count,
            });
        } else if self.scan_end_marker != 0xD9 {
            out.push(NotCarriable::SegmentAfterScan {
                marker: self.scan_end_marker,
            });
        }
        let frame_ids: Vec<u8> = self.components.iter().map(|c| c.id).collect();
        let scan_ids: Vec<u8> = self.scan_components.iter().map(|c| c.id).collect();
        if self.components.len() == 3 && scan_ids != frame_ids {
            out.push(NotCarriable::NonInterleavedScan { ids: scan_ids });
        } else if self.components.len() == 3 {
            let selectors: Vec<(u8, u8)> = self
                .scan_components
                .iter()
                .map(|c| (c.dc_table, c.ac_table))
                .collect();
            if selectors != [(0, 0), (1, 1), (1, 1)] {
                out.push(NotCarriable::HuffmanSelectors { selectors });
            }
        }
        out
    }

    /// The quantization table with this id.
    pub fn qtable(&self, id: u8) -> Option<&QTable> {
        self.qtables.iter().find(|t| t.id == id)
    }

    /// The RFC 2435 type: 0 for 4:2:2 (Y 2x1), 1 for 4:2:0 (Y 2x2), plus 64 when a restart interval
    /// is set (types 64/65 carry a restart marker header). `None` for any other sampling.
    /// Meaningful when [`check_rtp`](Self::check_rtp) is `Ok`.
    pub fn rtp_type(&self) -> Option<u8> {
        let base = match self.sampling {
            Sampling::Yuv422 => 0,
            Sampling::Yuv420 => 1,
            _ => return None,
        };
        Some(if self.restart_interval > 0 {
            base + 64
        } else {
            base
        })
    }

    /// Width and height in 8-pixel units as RFC 2435 sends them; `None` if not carriable (above
    /// 2040 or not a multiple of 8).
    pub fn rtp_dimensions(&self) -> Option<(u8, u8)> {
        if !self.width.is_multiple_of(8) || !self.height.is_multiple_of(8) {
            return None;
        }
        Some((
            u8::try_from(self.width / 8).ok()?,
            u8::try_from(self.height / 8).ok()?,
        ))
    }

    /// The quantization tables to send in an RFC 2435 quantization table header (Q >= 128): the
    /// luma table (component 0's) then the chroma table (component 1's), 64 bytes each in zig-zag
    /// order as stored in the file. When all components reference one table it is sent twice.
    ///
    /// Empty if a referenced table is missing or has 16-bit values (see
    /// [`check_rtp`](Self::check_rtp)); with a single component the luma table is duplicated.
    pub fn qtables_for_rtp(&self) -> Vec<u8> {
        let Some(&luma) = self.component_qtables.first() else {
            return Vec::new();
        };
        let chroma = self.component_qtables.get(1).copied().unwrap_or(luma);
        let mut out = Vec::with_capacity(128);
        for id in [luma, chroma] {
            match self.qtable(id) {
                Some(t) if t.precision == 8 => {
                    // Values of 8-bit tables always fit in a byte.
                    out.extend(t.values.iter().map(|&v| u8::try_from(v).unwrap_or(u8::MAX)));
                }
                _ => return Vec::new(),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    /// Replaces the part at `i` of the typical headers.
    fn with_part(i: usize, part: Vec<u8>) -> Vec<u8> {
        let mut parts = headers_420();
        parts[i] = part;
        build(&parts, SCAN)
    }

    fn sof(comps: &[(u8, u8, u8)]) -> Vec<u8> {
        seg(0xC0, &sof_body(8, 64, 48, comps))
    }

    #[test]
    fn typical_420() {
        let f = jpeg_420();
        let info = parse_jpeg(&f).unwrap();
        assert_eq!((info.width, info.height, info.precision), (64, 48, 8));
        assert_eq!(info.sampling, Sampling::Yuv420);
        assert!(!info.progressive);
        assert_eq!(info.sof_marker, 0xC0);
        assert_eq!(info.component_qtables, vec![0, 1, 1]);
        assert_eq!(info.qtables.len(), 2);
        assert_eq!(info.qtables[1].id, 1);
        assert_eq!(info.qtables[1].precision, 8);
        assert_eq!(info.qtables[1].values[0], 100);
        assert_eq!(info.qtables[1].values[63], 163);
        assert_eq!(info.restart_interval, 0);
        assert!(info.standard_huffman);
        assert_eq!(info.scan_count, 1);
        assert_eq!(info.scan(&f), SCAN);
        assert_eq!(info.scan_offset + info.scan_len + 2, f.len());
        assert_eq!(info.check_rtp(), Ok(()));
        assert_eq!(info.rtp_type(), Some(1));
        assert_eq!(info.rtp_dimensions(), Some((8, 6)));
        let q = info.qtables_for_rtp();
        assert_eq!(q.len(), 128);
        assert_eq!(&q[..64], &qtable8(0, 1)[1..]);
        assert_eq!(&q[64..], &qtable8(1, 100)[1..]);
    }

    #[test]
    fn app_and_com_segments_are_skipped_even_with_eoi_inside() {
        let mut parts = headers_420();
        parts.insert(0, seg(0xE1, b"Exif\0\0\xFF\xD8\xFF\xD9 thumbnail"));
        parts.insert(3, seg(0xFE, b"comment \xFF\xD9"));
        parts.insert(4, seg(0xEF, &[0xFF; 40]));
        let f = build(&parts, SCAN);
        let info = parse_jpeg(&f).unwrap();
        assert_eq!(info.scan(&f), SCAN);
        assert_eq!(info.check_rtp(), Ok(()));
    }

    #[test]
    fn fill_bytes_before_markers() {
        let mut parts = headers_420();
        parts[2].insert(0, 0xFF);
        parts[5].insert(0, 0xFF);
        let mut f = build(&parts, SCAN);
        let n = f.len();
        f.insert(n - 2, 0xFF); // FF FF D9
        let info = parse_jpeg(&f).unwrap();
        assert_eq!(info.scan(&f), [SCAN, &[0xFF]].concat());
    }

    #[test]
    fn dqt_several_tables_in_one_segment_and_16_bit() {
        let mut body = qtable8(0, 5);
        body.extend(qtable16(1, 300));
        let mut parts = headers_420();
        parts[1] = seg(0xDB, &body);
        parts.remove(2);
        let f = build(&parts, SCAN);
        let info = parse_jpeg(&f).unwrap();
        assert_eq!(info.qtables.len(), 2);
        assert_eq!(info.qtables[0].precision, 8);
        assert_eq!(info.qtables[1].precision, 16);
        assert_eq!(info.qtables[1].values[0], 300);
        assert_eq!(info.qtables[1].values[63], 363);
        assert_eq!(info.check_rtp(), Err(NotCarriable::QTable16Bit { id: 1 }));
        assert!(info.qtables_for_rtp().is_empty());
    }

    #[test]
    fn dqt_redefinition_replaces() {
        let mut parts = headers_420();
        parts.insert(3, seg(0xDB, &qtable8(0, 50)));
        let info = parse_jpeg(&build(&parts, SCAN)).unwrap();
        assert_eq!(info.qtables.len(), 2);
        assert_eq!(info.qtable(0).unwrap().values[0], 50);
    }

    #[test]
    fn dqt_errors() {
        let bad = |body: &[u8]| parse_jpeg(&with_part(1, seg(0xDB, body))).unwrap_err();
        let e = bad(&[0x20]);
        assert!(
            matches!(e, JpegError::InvalidSegment { marker: 0xDB, offset, .. } if offset == 20),
            "{e}"
        );
        assert!(matches!(bad(&[0x04]), JpegError::InvalidSegment { .. }));
        assert!(matches!(
            bad(&qtable8(0, 0)[..40]),
            JpegError::InvalidSegment { .. }
        ));
        assert!(matches!(bad(&[]), JpegError::InvalidSegment { .. }));
        assert!(bad(&[0x20]).to_string().contains("DQT"));
    }

    #[test]
    fn one_qtable_for_all_components_is_duplicated() {
        let mut parts = headers_420();
        parts.remove(2);
        parts[2] = sof(&[(1, 0x22, 0), (2, 0x11, 0), (3, 0x11, 0)]);
        let info = parse_jpeg(&build(&parts, SCAN)).unwrap();
        assert_eq!(info.check_rtp(), Ok(()));
        let q = info.qtables_for_rtp();
        assert_eq!(q.len(), 128);
        assert_eq!(q[..64], q[64..]);
        assert_eq!(&q[..64], &qtable8(0, 1)[1..]);
    }

    #[test]
    fn qtable_mapping_problems() {
        let f = with_part(3, sof(&[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 2)]));
        let info = parse_jpeg(&f).unwrap();
        let p = info.rtp_problems();
        assert!(p.contains(&NotCarriable::QTableMapping { ids: vec![0, 1, 2] }));
        assert!(p.contains(&NotCarriable::MissingQTable { id: 2 }));
        let f = with_part(3, sof(&[(1, 0x22, 3), (2, 0x11, 1), (3, 0x11, 1)]));
        let info = parse_jpeg(&f).unwrap();
        assert_eq!(info.check_rtp(), Err(NotCarriable::MissingQTable { id: 3 }));
        assert!(info.qtables_for_rtp().is_empty());
    }

    #[test]
    fn sof0_samplings() {
        let s = |comps: &[(u8, u8, u8)]| parse_jpeg(&with_part(3, sof(comps))).unwrap();
        let i422 = s(&[(1, 0x21, 0), (2, 0x11, 1), (3, 0x11, 1)]);
        assert_eq!(i422.sampling, Sampling::Yuv422);
        assert_eq!(i422.check_rtp(), Ok(()));
        assert_eq!(i422.rtp_type(), Some(0));

        let i444 = s(&[(1, 0x11, 0), (2, 0x11, 1), (3, 0x11, 1)]);
        assert_eq!(i444.sampling, Sampling::Yuv444);
        assert!(matches!(
            i444.check_rtp(),
            Err(NotCarriable::Sampling {
                sampling: Sampling::Yuv444,
                ..
            })
        ));
        assert_eq!(i444.rtp_type(), None);

        // ffmpeg's yuvj422p layout: ratio 4:2:2 but factors RFC 2435 cannot express.
        let ff422 = s(&[(1, 0x22, 0), (2, 0x12, 1), (3, 0x12, 1)]);
        assert_eq!(ff422.sampling, Sampling::Yuv422);
        assert_eq!(
            ff422.check_rtp(),
            Err(NotCarriable::Sampling {
                sampling: Sampling::Yuv422,
                y: (2, 2),
                cb: (1, 2),
                cr: (1, 2)
            })
        );

        let i411 = s(&[(1, 0x41, 0), (2, 0x11, 1), (3, 0x11, 1)]);
        assert_eq!(i411.sampling, Sampling::Other);
        let odd = s(&[(1, 0x22, 0), (2, 0x11, 1), (3, 0x21, 1)]);
        assert_eq!(odd.sampling, Sampling::Other);
    }

    #[test]
    fn gray_is_not_carriable() {
        let mut parts = headers_420();
        parts[3] = sof(&[(1, 0x11, 0)]);
        parts[5] = seg(0xDA, &sos_body(&[(1, 0x00)]));
        let info = parse_jpeg(&build(&parts, SCAN)).unwrap();
        assert_eq!(info.sampling, Sampling::Gray);
        assert_eq!(info.check_rtp(), Err(NotCarriable::Components { count: 1 }));
        assert!(info
            .check_rtp()
            .unwrap_err()
            .to_string()
            .contains("grayscale"));
        assert_eq!(info.qtables_for_rtp().len(), 128);
    }

    #[test]
    fn sof1_is_carriable_sof2_is_progressive() {
        let body = sof_body(8, 64, 48, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)]);
        let info = parse_jpeg(&with_part(3, seg(0xC1, &body))).unwrap();
        assert_eq!(info.sof_marker, 0xC1);
        assert_eq!(info.check_rtp(), Ok(()));
        let info = parse_jpeg(&with_part(3, seg(0xC2, &body))).unwrap();
        assert!(info.progressive);
        assert_eq!(info.check_rtp(), Err(NotCarriable::Progressive));
    }

    #[test]
    fn precision_12() {
        let body = sof_body(12, 64, 48, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)]);
        let info = parse_jpeg(&with_part(3, seg(0xC1, &body))).unwrap();
        assert_eq!(info.check_rtp(), Err(NotCarriable::Precision { bits: 12 }));
    }

    #[test]
    fn unsupported_processes() {
        let body = sof_body(8, 64, 48, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)]);
        for m in [0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF] {
            let e = parse_jpeg(&with_part(3, seg(m, &body))).unwrap_err();
            assert!(
                matches!(e, JpegError::UnsupportedProcess { marker, .. } if marker == m),
                "{m:02X}: {e}"
            );
        }
        let mut parts = headers_420();
        parts.insert(4, seg(0xCC, &[0x00, 0x10]));
        let e = parse_jpeg(&build(&parts, SCAN)).unwrap_err();
        assert!(e.to_string().contains("arithmetic"), "{e}");
    }

    #[test]
    fn sof_errors() {
        let bad = |body: Vec<u8>| parse_jpeg(&with_part(3, seg(0xC0, &body))).unwrap_err();
        let c3 = [(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)];
        assert!(bad(sof_body(8, 64, 0, &c3)).to_string().contains("DNL"));
        assert!(bad(sof_body(8, 0, 48, &c3)).to_string().contains("width 0"));
        assert!(bad(sof_body(8, 64, 48, &[]))
            .to_string()
            .contains("no components"));
        assert!(bad(sof_body(8, 64, 48, &[(1, 0x52, 0)]))
            .to_string()
            .contains("sampling"));
        assert!(bad(sof_body(8, 64, 48, &[(1, 0x22, 4)]))
            .to_string()
            .contains("id above 3"));
        assert!(bad(sof_body(8, 64, 48, &[(1, 0x22, 0), (1, 0x11, 0)]))
            .to_string()
            .contains("duplicate"));
        let mut short = sof_body(8, 64, 48, &c3);
        short.pop();
        assert!(bad(short).to_string().contains("component count"));
        assert!(bad(vec![8, 0]).to_string().contains("shorter"));
        // Second SOF.
        let mut parts = headers_420();
        parts.insert(4, parts[3].clone());
        let e = parse_jpeg(&build(&parts, SCAN)).unwrap_err();
        assert!(e.to_string().contains("second frame header"), "{e}");
    }

    #[test]
    fn dimensions() {
        let c3 = [(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)];
        let dims = |w, h| parse_jpeg(&with_part(3, seg(0xC0, &sof_body(8, w, h, &c3)))).unwrap();
        let i = dims(2040, 2040);
        assert_eq!(i.check_rtp(), Ok(()));
        assert_eq!(i.rtp_dimensions(), Some((255, 255)));
        let i = dims(2048, 1080);
        assert_eq!(
            i.check_rtp(),
            Err(NotCarriable::TooLarge {
                width: 2048,
                height: 1080
            })
        );
        assert_eq!(i.rtp_dimensions(), None);
        let i = dims(100, 48);
        assert_eq!(
            i.check_rtp(),
            Err(NotCarriable::NotMultipleOf8 {
                width: 100,
                height: 48
            })
        );
        assert_eq!(i.rtp_dimensions(), None);
    }

    #[test]
    fn dht_standard_nonstandard_and_absent() {
        // Tables split over several segments: still standard.
        let mut parts = headers_420();
        let mut segs = Vec::new();
        for t in crate::huffman::STANDARD_TABLES {
            let mut b = Vec::new();
            t.write_dht_entry(&mut b);
            segs.push(seg(0xC4, &b));
        }
        parts.splice(4..5, segs);
        assert!(parse_jpeg(&build(&parts, SCAN)).unwrap().standard_huffman);

        // One value changed.
        let mut body = dht_standard();
        let last = body.len() - 1;
        body[last] ^= 1;
        let info = parse_jpeg(&with_part(4, seg(0xC4, &body))).unwrap();
        assert!(!info.standard_huffman);
        assert_eq!(info.check_rtp(), Err(NotCarriable::NonStandardHuffman));

        // Standard content under another id.
        let mut body = Vec::new();
        crate::huffman::DC_LUMA.write_dht_entry(&mut body);
        body[0] = 0x02;
        let mut parts = headers_420();
        parts.insert(5, seg(0xC4, &body));
        assert!(!parse_jpeg(&build(&parts, SCAN)).unwrap().standard_huffman);

        // Luma and chroma swapped.
        let mut body = Vec::new();
        crate::huffman::DC_LUMA.write_dht_entry(&mut body);
        body[0] = 0x01;
        assert!(
            !parse_jpeg(&with_part(4, seg(0xC4, &body)))
                .unwrap()
                .standard_huffman
        );

        // No DHT at all (implicit standard tables, as in AVI MJPEG).
        let mut parts = headers_420();
        parts.remove(4);
        let info = parse_jpeg(&build(&parts, SCAN)).unwrap();
        assert!(info.standard_huffman);
        assert_eq!(info.check_rtp(), Ok(()));
    }

    #[test]
    fn dht_errors() {
        let bad = |body: &[u8]| parse_jpeg(&with_part(4, seg(0xC4, body))).unwrap_err();
        assert!(bad(&[0x20]).to_string().contains("class"));
        assert!(bad(&[0x04]).to_string().contains("id above 3"));
        assert!(bad(&[0x00, 1, 2]).to_string().contains("past the segment"));
        let mut b = vec![0x00, 0, 1];
        b.extend([0; 14]);
        assert!(bad(&b).to_string().contains("past the segment"));
        let mut b = vec![0x00];
        b.extend([255; 16]);
        assert!(bad(&b).to_string().contains("256"));
        assert!(bad(&[]).to_string().contains("no table"));
    }

    #[test]
    fn dri_and_restart_markers() {
        let mut parts = headers_420();
        parts.insert(4, seg(0xDD, &[0x00, 0x04]));
        let f = build(&parts, SCAN);
        let info = parse_jpeg(&f).unwrap();
        assert_eq!(info.restart_interval, 4);
        assert_eq!(info.rtp_type(), Some(65));
        assert_eq!(info.scan(&f), SCAN); // RST markers stay inside the scan
        assert_eq!(info.check_rtp(), Ok(()));
        let mut parts = headers_420();
        parts.insert(4, seg(0xDD, &[0x00]));
        let e = parse_jpeg(&build(&parts, SCAN)).unwrap_err();
        assert!(
            matches!(e, JpegError::InvalidSegment { marker: 0xDD, .. }),
            "{e}"
        );
    }

    #[test]
    fn sos_checks() {
        // Before SOF.
        let mut parts = headers_420();
        parts.swap(3, 5);
        let e = parse_jpeg(&build(&parts, SCAN)).unwrap_err();
        assert!(matches!(e, JpegError::MissingSof { .. }), "{e}");

        // Unknown component / bad table ids / bad counts.
        let bad = |body: Vec<u8>| parse_jpeg(&with_part(5, seg(0xDA, &body))).unwrap_err();
        assert!(bad(sos_body(&[(9, 0x00)]))
            .to_string()
            .contains("not in the frame header"));
        assert!(bad(sos_body(&[(1, 0x40)])).to_string().contains("above 3"));
        assert!(bad(sos_body(&[])).to_string().contains("component count"));
        assert!(bad(vec![]).to_string().contains("empty"));
        let mut b = sos_body(&[(1, 0)]);
        b.push(0);
        assert!(bad(b).to_string().contains("length"));

        // Wrong Huffman selectors.
        let f = with_part(5, seg(0xDA, &sos_body(&[(1, 0x00), (2, 0x00), (3, 0x11)])));
        assert_eq!(
            parse_jpeg(&f).unwrap().check_rtp(),
            Err(NotCarriable::HuffmanSelectors {
                selectors: vec![(0, 0), (0, 0), (1, 1)]
            })
        );
    }

    #[test]
    fn several_scans() {
        // Non-interleaved: one scan per component, a DHT between scans.
        let mut parts = headers_420();
        parts[5] = seg(0xDA, &sos_body(&[(1, 0x00)]));
        let mut f = build(&parts, &[0x11, 0x22]);
        f.truncate(f.len() - 2);
        let first_scan_end = f.len();
        f.extend(seg(0xC4, &dht_standard()));
        f.extend(seg(0xDA, &sos_body(&[(2, 0x11)])));
        f.extend([0x33, 0xFF, 0x00]);
        f.extend(seg(0xDA, &sos_body(&[(3, 0x11)])));
        f.extend([0x44, 0xFF, 0xD9]);
        let info = parse_jpeg(&f).unwrap();
        assert_eq!(info.scan_count, 3);
        assert_eq!(info.scan_components.len(), 1);
        assert_eq!(info.scan_offset, first_scan_end - 2);
        // The scan is the first one only, up to the DHT.
        assert_eq!(info.scan_offset + info.scan_len, first_scan_end);
        assert_eq!(info.scan(&f), [0x11, 0x22]);
        assert_eq!(info.scan_end_marker, 0xC4);
        let p = info.rtp_problems();
        assert!(p.contains(&NotCarriable::MultipleScans { count: 3 }));
        assert!(p.contains(&NotCarriable::NonInterleavedScan { ids: vec![1] }));
    }

    /// Fuzz `post-scan-dqt` (fuzz/artifacts/jpeg_parse/crash-aabd17c2…, and the seed
    /// fuzz/corpus/jpeg_parse/post-scan-dqt.jpg): a DQT between the scan data and EOI was
    /// accepted by `check_rtp`, carried inside `scan()`, and redefined the tables
    /// `qtables_for_rtp` sends.
    #[test]
    fn segments_between_scan_and_eoi_are_not_carriable() {
        for f in [
            &include_bytes!("../testdata/fuzz-post-scan-dqt-crash.jpg")[..],
            &include_bytes!("../testdata/fuzz-post-scan-dqt.jpg")[..],
        ] {
            let info = parse_jpeg(f).unwrap();
            assert_eq!(info.scan_count, 1);
            assert_eq!(info.scan_end_marker, 0xDB);
            let end = info.scan_offset + info.scan_len;
            assert_eq!(f[end..end + 2], [0xFF, 0xDB], "the scan ends at the DQT");
            assert!(!info.scan(f).windows(2).any(|w| w == [0xFF, 0xDB]));
            assert_eq!(
                info.check_rtp(),
                Err(NotCarriable::SegmentAfterScan { marker: 0xDB })
            );
            let msg = info.check_rtp().unwrap_err().to_string();
            assert!(msg.contains("DQT segment after the scan"), "{msg}");
        }
        // Built by hand: DQT, DHT, DRI, COM after the scan; the scan itself stays carriable.
        for (marker, body) in [
            (0xDB, qtable8(0, 7)),
            (0xC4, dht_standard()),
            (0xDD, vec![0, 4]),
            (0xFE, b"late".to_vec()),
        ] {
            let mut f = jpeg_420();
            let eoi = f.len() - 2;
            f.truncate(eoi);
            f.extend(seg(marker, &body));
            f.extend([0xFF, 0xD9]);
            let info = parse_jpeg(&f).unwrap();
            assert_eq!(info.scan(&f), SCAN, "{marker:02X}");
            assert_eq!(info.scan_offset + info.scan_len, eoi);
            assert_eq!(
                info.check_rtp(),
                Err(NotCarriable::SegmentAfterScan { marker })
            );
        }
        // Fill bytes and RSTn before EOI are fine.
        let mut f = jpeg_420();
        let eoi = f.len() - 2;
        f.truncate(eoi);
        f.extend([0xFF, 0xD0, 0x12, 0xFF, 0xFF, 0xD9]);
        let info = parse_jpeg(&f).unwrap();
        assert_eq!(info.scan_end_marker, 0xD9);
        assert_eq!(info.check_rtp(), Ok(()));
    }

    #[test]
    fn trailing_bytes_after_eoi_are_ignored() {
        let mut f = jpeg_420();
        f.extend_from_slice(b"\0\0junk");
        let info = parse_jpeg(&f).unwrap();
        assert_eq!(info.scan(&f), SCAN);
    }

    #[test]
    fn structural_errors_carry_offsets() {
        assert_eq!(parse_jpeg(b""), Err(JpegError::MissingSoi));
        assert_eq!(parse_jpeg(b"\xFF\xD9"), Err(JpegError::MissingSoi));
        assert_eq!(
            parse_jpeg(b"\xFF\xD8"),
            Err(JpegError::Truncated { offset: 2 })
        );
        assert_eq!(
            parse_jpeg(b"\xFF\xD8\xFF\xD9"),
            Err(JpegError::UnexpectedMarker {
                offset: 2,
                marker: 0xD9
            })
        );
        assert_eq!(
            parse_jpeg(b"\xFF\xD8\xFF\xD8"),
            Err(JpegError::UnexpectedMarker {
                offset: 2,
                marker: 0xD8
            })
        );
        assert_eq!(
            parse_jpeg(b"\xFF\xD8\x00"),
            Err(JpegError::ExpectedMarker {
                offset: 2,
                found: 0
            })
        );
        assert_eq!(
            parse_jpeg(b"\xFF\xD8\xFF\xE0\x00\x01"),
            Err(JpegError::BadSegmentLength {
                offset: 2,
                marker: 0xE0,
                len: 1
            })
        );

        let f = jpeg_420();
        // Truncated inside the DHT segment (headers: SOI 2, APP0 18, DQT 69, DQT 69, SOF0 19).
        let dht_at = 2 + 18 + 69 + 69 + 19;
        assert_eq!(f[dht_at + 1], 0xC4);
        assert_eq!(
            parse_jpeg(&f[..dht_at + 30]),
            Err(JpegError::Truncated { offset: dht_at })
        );
        assert_eq!(
            parse_jpeg(&f[..dht_at + 1]),
            Err(JpegError::Truncated { offset: dht_at })
        );
        // Truncated in the scan.
        let info = parse_jpeg(&f).unwrap();
        assert_eq!(
            parse_jpeg(&f[..f.len() - 2]),
            Err(JpegError::MissingEoi {
                offset: info.scan_offset
            })
        );
        assert_eq!(
            parse_jpeg(&f[..f.len() - 1]),
            Err(JpegError::MissingEoi {
                offset: info.scan_offset
            })
        );
        // Garbage between segments.
        let mut g = f.clone();
        g.insert(20, 0x42);
        assert_eq!(
            parse_jpeg(&g),
            Err(JpegError::ExpectedMarker {
                offset: 20,
                found: 0x42
            })
        );
    }

    #[test]
    fn scan_is_bounded() {
        let info = parse_jpeg(&jpeg_420()).unwrap();
        assert!(info.scan(&[1, 2, 3]).is_empty());
    }

    #[test]
    fn every_prefix_and_byte_flip_is_handled() {
        let f = jpeg_420();
        for n in 0..f.len() {
            assert!(parse_jpeg(&f[..n]).is_err(), "prefix {n}");
        }
        for i in 0..f.len() {
            for bit in 0..8 {
                let mut g = f.clone();
                g[i] ^= 1 << bit;
                if let Ok(info) = parse_jpeg(&g) {
                    let _ = info.check_rtp();
                    let _ = info.qtables_for_rtp();
                    let _ = info.scan(&g);
                }
            }
        }
    }
}
