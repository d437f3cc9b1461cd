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
mod tests;
