//! Lossless re-coding of sequential Huffman JPEG: the entropy-coded data is decoded into
//! quantized DCT coefficients (ITU T.81 Annex F.2: byte stuffing, restart markers, DC
//! prediction), then encoded again as one interleaved scan with the standard tables of Annex K.3
//! (RFC 2435 Appendix A). The coefficients, and so the pixels, stay exactly the same.

use super::TranscodeError;
#[cfg(test)]
use crate::huffman;
use crate::huffman::HuffmanSpec;

/// Zig-zag index → natural (row-major) index is not needed: coefficients are kept in zig-zag
/// order from decoding to encoding, as both sides work in that order.
const BLOCK: usize = 64;

/// Longest accepted width × height in blocks per component (bounds memory on hostile headers):
/// 8192 × 8192 pixels.
const MAX_BLOCKS: usize = 1024 * 1024;

/// A Huffman decoding table (T.81 F.2.2.3: MAXCODE / VALPTR / MINCODE), plus an 8-bit lookahead.
#[derive(Clone)]
pub(super) struct DecodeTable {
    maxcode: [i32; 18],
    valptr: [i32; 17],
    mincode: [i32; 17],
    values: Vec<u8>,
    /// For the next 8 bits: (code length, symbol), length 0 = longer than 8 bits.
    lookahead: [(u8, u8); 256],
}

impl DecodeTable {
    /// Builds the table from a DHT entry; `None` when the code lengths overflow (invalid table).
    pub(super) fn new(bits: &[u8; 16], values: &[u8]) -> Option<Self> {
        let mut maxcode = [-1i32; 18];
        let mut valptr = [0i32; 17];
        let mut mincode = [0i32; 17];
        let mut lookahead = [(0u8, 0u8); 256];
        let mut code: i32 = 0;
        let mut k: usize = 0;
        for len in 1..=16usize {
            let n = usize::from(bits[len - 1]);
            if n > 0 {
                valptr[len] = i32::try_from(k).ok()?;
                mincode[len] = code;
                for _ in 0..n {
                    if code >= 1 << len {
                        return None;
                    }
                    if len <= 8 {
                        let shift = 8 - len;
                        let first = usize::try_from(code).ok()? << shift;
                        let sym = *values.get(k)?;
                        for slot in lookahead.iter_mut().skip(first).take(1 << shift) {
                            *slot = (u8::try_from(len).ok()?, sym);
                        }
                    }
                    code += 1;
                    k += 1;
                }
                maxcode[len] = code - 1;
            }
            code <<= 1;
        }
        maxcode[17] = i32::MAX;
        if k > values.len() {
            return None;
        }
        Some(Self {
            maxcode,
            valptr,
            mincode,
            values: values[..k].to_vec(),
            lookahead,
        })
    }
}

/// Reads entropy-coded bits: `FF 00` is a data byte FF; any other marker stops the data (zeros
/// are read past it, as libjpeg does, and the caller decides whether that is an error).
struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte to load.
    pos: usize,
    acc: u64,
    nbits: u32,
    /// A marker was reached at this position (`data[pos] == FF`, not stuffing).
    marker_at: Option<usize>,
    /// Bits read past the end of the data (a truncated scan).
    overrun: u32,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Self {
            data,
            pos,
            acc: 0,
            nbits: 0,
            marker_at: None,
            overrun: 0,
        }
    }

    fn fill(&mut self) {
        while self.nbits <= 56 {
            let mut byte = 0u8;
            if self.marker_at.is_none() {
                match self.data.get(self.pos) {
                    Some(0xFF) => match self.data.get(self.pos + 1) {
                        Some(0x00) => {
                            byte = 0xFF;
                            self.pos += 2;
                        }
                        _ => self.marker_at = Some(self.pos),
                    },
                    Some(&b) => {
                        byte = b;
                        self.pos += 1;
                    }
                    None => self.marker_at = Some(self.pos),
                }
            }
            if self.marker_at.is_some() {
                self.overrun = self.overrun.saturating_add(8);
            }
            self.acc |= u64::from(byte) << (56 - self.nbits);
            self.nbits += 8;
        }
    }

    fn peek(&mut self, n: u32) -> u32 {
        if self.nbits < n {
            self.fill();
        }
        (self.acc >> (64 - n)) as u32
    }

    fn consume(&mut self, n: u32) {
        self.acc <<= n;
        self.nbits -= n;
    }

    fn bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let v = self.peek(n);
        self.consume(n);
        v
    }

    /// Decodes one Huffman symbol; `None` for a code not in the table.
    fn symbol(&mut self, t: &DecodeTable) -> Option<u8> {
        let look = self.peek(8) as usize;
        let (len, sym) = t.lookahead[look];
        if len > 0 {
            self.consume(u32::from(len));
            return Some(sym);
        }
        let word = self.peek(16) as i32;
        for len in 9..=16usize {
            let code = word >> (16 - len);
            if code <= t.maxcode[len] {
                self.consume(len as u32);
                let idx = t.valptr[len] + code - t.mincode[len];
                return t.values.get(usize::try_from(idx).ok()?).copied();
            }
        }
        None
    }

    /// Bits consumed past real data (including the current lookahead that was real).
    fn overran(&self) -> bool {
        // Bits still buffered that came from past the end are not consumed yet.
        self.overrun > self.nbits
    }

    /// Discards the partial byte and any buffered bits, returning the byte position just after
    /// the last byte whose bits were (at least partly) consumed.
    fn align(&mut self) -> usize {
        // Buffered whole bytes were loaded but not used: step back over them.
        let real_buffered = self.nbits.saturating_sub(self.overrun) / 8;
        let mut pos = self.marker_at.unwrap_or(self.pos);
        for _ in 0..real_buffered {
            // Step back one data byte (a stuffed FF 00 counts as one byte).
            if pos >= 2 && self.data[pos - 1] == 0x00 && self.data[pos - 2] == 0xFF {
                pos -= 2;
            } else {
                pos -= 1;
            }
        }
        self.acc = 0;
        self.nbits = 0;
        self.overrun = 0;
        self.marker_at = None;
        self.pos = pos;
        pos
    }
}

/// Extends a `size`-bit magnitude to a signed value (T.81 F.2.2.1 EXTEND).
fn extend(v: u32, size: u32) -> i32 {
    if size == 0 {
        return 0;
    }
    let v = v as i32;
    if v < 1 << (size - 1) {
        v - (1 << size) + 1
    } else {
        v
    }
}

/// Quantized coefficients of one component, in zig-zag order, block by block, for the whole
/// MCU-padded plane.
pub(super) struct Plane {
    pub(super) h: usize,
    pub(super) v: usize,
    /// Blocks per row in the padded plane (MCUs × sampling factor).
    pub(super) bw: usize,
    /// Blocks actually inside the component (non-interleaved scans cover only these).
    pub(super) cw: usize,
    pub(super) ch: usize,
    pub(super) coefs: Vec<i16>,
}

/// The frame being re-coded: geometry and planes.
pub(super) struct Frame {
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) mcux: usize,
    pub(super) mcuy: usize,
    /// Component ids in frame order.
    pub(super) ids: Vec<u8>,
    pub(super) planes: Vec<Plane>,
}

impl Frame {
    /// Allocates zeroed planes for a frame of `width` × `height` with `comps` = (id, h, v).
    pub(super) fn new(
        width: usize,
        height: usize,
        comps: &[(u8, u8, u8)],
    ) -> Result<Self, TranscodeError> {
        let hmax = usize::from(comps.iter().map(|c| c.1).max().unwrap_or(1));
        let vmax = usize::from(comps.iter().map(|c| c.2).max().unwrap_or(1));
        let mcux = width.div_ceil(8 * hmax);
        let mcuy = height.div_ceil(8 * vmax);
        let mut planes = Vec::with_capacity(comps.len());
        for &(_, h, v) in comps {
            let (h, v) = (usize::from(h), usize::from(v));
            let (bw, bh) = (mcux * h, mcuy * v);
            if bw * bh > MAX_BLOCKS {
                return Err(TranscodeError::TooLargeToRecode { width, height });
            }
            planes.push(Plane {
                h,
                v,
                bw,
                cw: (width * h).div_ceil(hmax).div_ceil(8),
                ch: (height * v).div_ceil(vmax).div_ceil(8),
                coefs: vec![0; bw * bh * BLOCK],
            });
        }
        Ok(Self {
            width,
            height,
            mcux,
            mcuy,
            ids: comps.iter().map(|c| c.0).collect(),
            planes,
        })
    }
}

/// One component of a scan being decoded.
pub(super) struct ScanComp<'t> {
    /// Index into [`Frame::planes`].
    pub(super) plane: usize,
    pub(super) dc: &'t DecodeTable,
    pub(super) ac: &'t DecodeTable,
}

fn entropy_err(offset: usize, reason: &'static str) -> TranscodeError {
    TranscodeError::Entropy { offset, reason }
}

/// Decodes one 8x8 block into `out` (zig-zag order); `pred` is the component's DC predictor.
fn decode_block(
    r: &mut BitReader<'_>,
    c: &ScanComp<'_>,
    pred: &mut i32,
    out: &mut [i16],
) -> Result<(), &'static str> {
    let s = r.symbol(c.dc).ok_or("invalid DC Huffman code")?;
    if s > 11 {
        return Err("DC difference category above 11");
    }
    let diff = extend(r.bits(u32::from(s)), u32::from(s));
    *pred += diff;
    out[0] = i16::try_from(*pred).map_err(|_| "DC coefficient out of range")?;
    let mut k = 1usize;
    while k < BLOCK {
        let rs = r.symbol(c.ac).ok_or("invalid AC Huffman code")?;
        let (run, size) = (usize::from(rs >> 4), u32::from(rs & 0x0F));
        if size == 0 {
            if run == 15 {
                k += 16;
                continue;
            }
            if run == 0 {
                break; // EOB
            }
            return Err("invalid AC symbol (size 0, run not 0 or 15)");
        }
        k += run;
        if k >= BLOCK {
            return Err("AC coefficients past the end of the block");
        }
        if size > 10 {
            return Err("AC coefficient size above 10");
        }
        out[k] = extend(r.bits(size), size) as i16;
        k += 1;
    }
    if k > BLOCK {
        return Err("zero run past the end of the block");
    }
    Ok(())
}

/// Decodes one sequential scan starting at `start` (first byte after the SOS header) into
/// `frame`; returns the position of the marker that ends it.
pub(super) fn decode_scan(
    data: &[u8],
    start: usize,
    frame: &mut Frame,
    comps: &[ScanComp<'_>],
    restart_interval: u16,
) -> Result<usize, TranscodeError> {
    let mut r = BitReader::new(data, start);
    let mut preds = vec![0i32; comps.len()];
    let interleaved = comps.len() > 1;
    let (units_x, units_y) = if interleaved {
        (frame.mcux, frame.mcuy)
    } else {
        let p = &frame.planes[comps[0].plane];
        (p.cw, p.ch)
    };
    let total = units_x * units_y;
    let ri = usize::from(restart_interval);
    let mut expected_rst = 0u8;
    for mcu in 0..total {
        if ri > 0 && mcu > 0 && mcu % ri == 0 {
            let at = r.align();
            let mut p = at;
            // Fill bytes (FF) may precede the marker.
            while data.get(p) == Some(&0xFF) && data.get(p + 1) == Some(&0xFF) {
                p += 1;
            }
            match (data.get(p), data.get(p + 1)) {
                (Some(0xFF), Some(&m)) if m == 0xD0 + expected_rst => {}
                _ => return Err(entropy_err(p, "expected restart marker missing")),
            }
            expected_rst = (expected_rst + 1) & 7;
            r = BitReader::new(data, p + 2);
            preds.iter_mut().for_each(|p| *p = 0);
        }
        let (mx, my) = (mcu % units_x, mcu / units_x);
        for (ci, c) in comps.iter().enumerate() {
            let plane = &mut frame.planes[c.plane];
            let (nh, nv) = if interleaved {
                (plane.h, plane.v)
            } else {
                (1, 1)
            };
            for by in 0..nv {
                for bx in 0..nh {
                    let (x, y) = (mx * nh + bx, my * nv + by);
                    let idx = (y * plane.bw + x) * BLOCK;
                    let at = r.pos;
                    let block = plane
                        .coefs
                        .get_mut(idx..idx + BLOCK)
                        .ok_or_else(|| entropy_err(at, "block outside the plane"))?;
                    block.fill(0);
                    decode_block(&mut r, c, &mut preds[ci], block)
                        .map_err(|reason| entropy_err(at, reason))?;
                    if r.overran() {
                        return Err(entropy_err(at, "entropy-coded data ends inside the scan"));
                    }
                }
            }
        }
    }
    let mut end = r.align();
    // Skip to the next marker (trailing fill bits are already dropped; tolerate stray bytes).
    while let Some(&b) = data.get(end) {
        if b == 0xFF {
            match data.get(end + 1) {
                Some(0x00 | 0xD0..=0xD7) => end += 2,
                Some(0xFF) => end += 1,
                _ => break,
            }
        } else {
            end += 1;
        }
    }
    Ok(end)
}

/// Code and length per symbol of a Huffman spec (T.81 Annex C).
struct EncodeTable {
    code: [u16; 256],
    len: [u8; 256],
}

impl EncodeTable {
    fn new(spec: &HuffmanSpec) -> Self {
        let mut t = Self {
            code: [0; 256],
            len: [0; 256],
        };
        let mut code: u16 = 0;
        let mut k = 0usize;
        for (i, &n) in spec.bits.iter().enumerate() {
            for _ in 0..n {
                let sym = usize::from(spec.values[k]);
                t.code[sym] = code;
                t.len[sym] = (i + 1) as u8;
                code = code.wrapping_add(1);
                k += 1;
            }
            code <<= 1;
        }
        t
    }
}

/// Writes bits MSB first with `FF 00` stuffing.
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u32,
    nbits: u32,
}

impl BitWriter<'_> {
    fn put(&mut self, value: u32, n: u32) {
        if n == 0 {
            return;
        }
        self.acc = (self.acc << n) | (value & ((1 << n) - 1));
        self.nbits += n;
        while self.nbits >= 8 {
            let b = (self.acc >> (self.nbits - 8)) as u8;
            self.out.push(b);
            if b == 0xFF {
                self.out.push(0x00);
            }
            self.nbits -= 8;
        }
        self.acc &= (1 << self.nbits) - 1;
    }

    /// Pads the last byte with 1 bits.
    fn flush(&mut self) {
        if self.nbits > 0 {
            let pad = 8 - self.nbits;
            self.put((1 << pad) - 1, pad);
        }
    }
}

fn magnitude(v: i32) -> (u32, u32) {
    let size = 32 - v.unsigned_abs().leading_zeros();
    let bits = if v < 0 { (v - 1) as u32 } else { v as u32 };
    (size, bits)
}

fn encode_block(
    w: &mut BitWriter<'_>,
    block: &[i16],
    pred: &mut i32,
    dc: &EncodeTable,
    ac: &EncodeTable,
) -> Result<(), &'static str> {
    let diff = i32::from(block[0]) - *pred;
    *pred = i32::from(block[0]);
    let (size, bits) = magnitude(diff);
    if size > 11 {
        return Err("DC difference out of range for baseline");
    }
    w.put(
        u32::from(dc.code[size as usize]),
        u32::from(dc.len[size as usize]),
    );
    w.put(bits, size);
    let mut run = 0u32;
    for &c in &block[1..] {
        if c == 0 {
            run += 1;
            continue;
        }
        while run > 15 {
            w.put(u32::from(ac.code[0xF0]), u32::from(ac.len[0xF0]));
            run -= 16;
        }
        let (size, bits) = magnitude(i32::from(c));
        if size > 10 {
            return Err("AC coefficient out of range for baseline");
        }
        let sym = ((run << 4) | size) as usize;
        w.put(u32::from(ac.code[sym]), u32::from(ac.len[sym]));
        w.put(bits, size);
        run = 0;
    }
    if run > 0 {
        w.put(u32::from(ac.code[0]), u32::from(ac.len[0]));
    }
    Ok(())
}

/// Encodes the frame as one interleaved scan with `specs` (DC 0, AC 0, DC 1, AC 1: table 0 for
/// the first component, 1 for the others), with RSTn every `restart_interval` MCUs when non-zero.
pub(super) fn encode_scan(
    frame: &Frame,
    restart_interval: u16,
    specs: &[HuffmanSpec; 4],
    out: &mut Vec<u8>,
) -> Result<(), TranscodeError> {
    let tables = [
        (EncodeTable::new(&specs[0]), EncodeTable::new(&specs[1])),
        (EncodeTable::new(&specs[2]), EncodeTable::new(&specs[3])),
    ];
    let mut w = BitWriter {
        out,
        acc: 0,
        nbits: 0,
    };
    let mut preds = vec![0i32; frame.planes.len()];
    let ri = usize::from(restart_interval);
    let total = frame.mcux * frame.mcuy;
    let mut rst = 0u8;
    for mcu in 0..total {
        if ri > 0 && mcu > 0 && mcu % ri == 0 {
            w.flush();
            w.out.extend_from_slice(&[0xFF, 0xD0 + rst]);
            rst = (rst + 1) & 7;
            preds.iter_mut().for_each(|p| *p = 0);
        }
        let (mx, my) = (mcu % frame.mcux, mcu / frame.mcux);
        for (ci, plane) in frame.planes.iter().enumerate() {
            let (dc, ac) = &tables[usize::from(ci > 0)];
            for by in 0..plane.v {
                for bx in 0..plane.h {
                    let (x, y) = (mx * plane.h + bx, my * plane.v + by);
                    let idx = (y * plane.bw + x) * BLOCK;
                    encode_block(
                        &mut w,
                        &plane.coefs[idx..idx + BLOCK],
                        &mut preds[ci],
                        dc,
                        ac,
                    )
                    .map_err(|reason| TranscodeError::Encode(reason.to_string()))?;
                }
            }
        }
    }
    w.flush();
    Ok(())
}

/// Test support: encodes one component as its own (non-interleaved) scan, blocks in raster
/// order over the component's own area, without restart markers.
#[cfg(test)]
pub(super) fn encode_component_scan(
    frame: &Frame,
    plane: usize,
    dc: &HuffmanSpec,
    ac: &HuffmanSpec,
    out: &mut Vec<u8>,
) {
    let (dc, ac) = (EncodeTable::new(dc), EncodeTable::new(ac));
    let p = &frame.planes[plane];
    let mut w = BitWriter {
        out,
        acc: 0,
        nbits: 0,
    };
    let mut pred = 0;
    for y in 0..p.ch {
        for x in 0..p.cw {
            let idx = (y * p.bw + x) * BLOCK;
            encode_block(&mut w, &p.coefs[idx..idx + BLOCK], &mut pred, &dc, &ac)
                .expect("baseline coefficients");
        }
    }
    w.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_and_magnitude_are_inverse() {
        for v in -2047i32..=2047 {
            let (size, bits) = magnitude(v);
            let bits = if size == 0 {
                0
            } else {
                bits & ((1 << size) - 1)
            };
            assert_eq!(extend(bits, size), v, "{v}");
        }
    }

    #[test]
    fn standard_tables_decode_what_they_encode() {
        for spec in huffman::STANDARD_TABLES {
            let enc = EncodeTable::new(&spec);
            let dec = DecodeTable::new(&spec.bits, spec.values).unwrap();
            let mut out = Vec::new();
            let mut w = BitWriter {
                out: &mut out,
                acc: 0,
                nbits: 0,
            };
            for &s in spec.values {
                w.put(
                    u32::from(enc.code[usize::from(s)]),
                    u32::from(enc.len[usize::from(s)]),
                );
            }
            w.flush();
            let mut r = BitReader::new(&out, 0);
            for &s in spec.values {
                assert_eq!(r.symbol(&dec), Some(s));
            }
        }
    }

    #[test]
    fn oversubscribed_table_is_refused() {
        let mut bits = [0u8; 16];
        bits[0] = 3; // three 1-bit codes
        assert!(DecodeTable::new(&bits, &[1, 2, 3]).is_none());
    }
}
