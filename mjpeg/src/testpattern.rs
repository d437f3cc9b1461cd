//! Test-pattern JPEG frames (feature `gen`): colour bars, a bar sweeping across, and the frame
//! number in big 7-segment digits, so consecutive frames differ.
//!
//! The frames are RFC 2435 carriable when width and height are multiples of 8 (at most 2040):
//! baseline, 8-bit, YCbCr 4:2:0, standard Huffman tables, quality [`QUALITY`].
//!
//! ```
//! let f = mjpeg::testpattern::frame(7, 384, 288);
//! let info = mjpeg::parse_jpeg(&f).unwrap();
//! assert_eq!((info.width, info.height), (384, 288));
//! assert!(info.check_rtp().is_ok());
//! ```

use bytes::Bytes;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// Default width used by the server.
pub const DEFAULT_WIDTH: u16 = 384;
/// Default height used by the server.
pub const DEFAULT_HEIGHT: u16 = 288;
/// JPEG quality (1..=100) of the generated frames.
pub const QUALITY: u8 = 80;
/// Smallest width or height generated; smaller requests are raised to this.
pub const MIN_DIMENSION: u16 = 16;

type Rgb = [u8; 3];

/// 75% colour bars: white, yellow, cyan, green, magenta, red, blue, black (the top 60 % of
/// every frame, left to right).
pub const BARS: [[u8; 3]; 8] = [
    [191, 191, 191],
    [191, 191, 0],
    [0, 191, 191],
    [0, 191, 0],
    [191, 0, 191],
    [191, 0, 0],
    [0, 0, 191],
    [0, 0, 0],
];

/// 7-segment masks for 0..=9, bit 0 = segment a (top) .. bit 6 = g (middle).
const SEGMENTS: [u8; 10] = [0x3F, 0x06, 0x5B, 0x4F, 0x66, 0x6D, 0x7D, 0x07, 0x7F, 0x6F];

/// A rectangle of the canvas.
#[derive(Clone, Copy)]
struct Cell {
    x: usize,
    y: usize,
    w: usize,
    h: usize,
}

struct Canvas {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            rgb: vec![0; w * h * 3],
        }
    }

    /// Fills the rectangle, clipped to the canvas.
    fn rect(&mut self, x: usize, y: usize, w: usize, h: usize, c: Rgb) {
        let (x1, y1) = ((x + w).min(self.w), (y + h).min(self.h));
        for row in y.min(y1)..y1 {
            let start = (row * self.w + x.min(x1)) * 3;
            let end = (row * self.w + x1) * 3;
            for px in self.rgb[start..end].chunks_exact_mut(3) {
                px.copy_from_slice(&c);
            }
        }
    }

    /// Draws one 7-segment digit in `cell` with segments `t` pixels thick.
    fn digit(&mut self, d: usize, cell: Cell, t: usize, c: Rgb) {
        let Cell { x, y, w: dw, h: dh } = cell;
        let t = t.min(dw).min(dh / 2);
        let mask = SEGMENTS[d % 10];
        let half = dh / 2;
        let segs = [
            (x, y, dw, t),                                // a
            (x + dw - t, y, t, half),                     // b
            (x + dw - t, y + half, t, dh - half),         // c
            (x, y + dh - t, dw, t),                       // d
            (x, y + half, t, dh - half),                  // e
            (x, y, t, half),                              // f
            (x, (y + half).saturating_sub(t / 2), dw, t), // g
        ];
        for (i, &(sx, sy, sw, sh)) in segs.iter().enumerate() {
            if mask & (1 << i) != 0 {
                self.rect(sx, sy, sw, sh, c);
            }
        }
    }
}

/// Renders frame `index` as packed RGB (3 bytes per pixel, `width * height * 3` bytes), with the
/// size raised to at least [`MIN_DIMENSION`].
pub fn render_rgb(index: u32, width: u16, height: u16) -> Vec<u8> {
    let (w, h) = (
        usize::from(width.max(MIN_DIMENSION)),
        usize::from(height.max(MIN_DIMENSION)),
    );
    let mut c = Canvas::new(w, h);

    // Colour bars in the top 60%.
    let bars_h = h * 3 / 5;
    for (i, colour) in BARS.iter().enumerate() {
        let x0 = i * w / BARS.len();
        let x1 = (i + 1) * w / BARS.len();
        c.rect(x0, 0, x1 - x0, bars_h, *colour);
    }

    // Sweep band: grey ramp with a white bar moving right by `step` pixels per frame.
    let band_h = (h / 8).max(2);
    for x in 0..w {
        let v = u8::try_from(x * 160 / w + 16).unwrap_or(u8::MAX);
        c.rect(x, bars_h, 1, band_h, [v, v, v]);
    }
    let bar_w = (w / 24).max(2);
    let step = (w / 96).max(1);
    let travel = w + bar_w;
    let pos = (index as usize % travel.div_ceil(step)) * step;
    // The bar covers [pos - bar_w, pos), clipped: it enters on the left and leaves on the right.
    let x = pos.saturating_sub(bar_w);
    c.rect(x, bars_h, pos - x, band_h, [255, 255, 255]);

    // Frame counter in the remaining bottom area, black background, yellow digits.
    let top = bars_h + band_h;
    let area_h = h.saturating_sub(top);
    let text = format!("{index:05}");
    let n = text.len();
    let margin = (area_h / 8).max(1);
    let avail_w = w.saturating_sub(2 * margin);
    let mut dh = area_h.saturating_sub(2 * margin);
    let pitch = (dh * 2 / 3).min(avail_w / n);
    let dw = pitch * 3 / 4;
    dh = dh.min(dw * 2);
    let t = (dw / 5).max(1);
    if dw >= 3 && dh >= 3 {
        let y = top + (area_h - dh) / 2;
        for (i, ch) in text.bytes().enumerate() {
            let d = usize::from(ch - b'0');
            let cell = Cell {
                x: margin + i * pitch,
                y,
                w: dw,
                h: dh,
            };
            c.digit(d, cell, t, [255, 255, 0]);
        }
    }
    c.rgb
}

/// Generates test-pattern frame `index` as a JPEG (baseline, 4:2:0, standard Huffman tables,
/// quality [`QUALITY`]). Width and height are raised to at least [`MIN_DIMENSION`]; use
/// multiples of 8 up to 2040 for RTP/JPEG.
pub fn frame(index: u32, width: u16, height: u16) -> Bytes {
    let (w, h) = (width.max(MIN_DIMENSION), height.max(MIN_DIMENSION));
    let rgb = render_rgb(index, w, h);
    let mut out = Vec::with_capacity(usize::from(w) * usize::from(h) / 4);
    let mut enc = Encoder::new(&mut out, QUALITY);
    enc.set_sampling_factor(SamplingFactor::F_2_2);
    enc.set_optimized_huffman_tables(false);
    // The only encoder errors are zero dimensions and a short pixel buffer, both excluded above,
    // and writing to a Vec cannot fail.
    enc.encode(&rgb, w, h, ColorType::Rgb)
        .expect("encoding a test pattern into a Vec cannot fail");
    Bytes::from(out)
}

/// Generates frames `0..n` (see [`frame`]).
pub fn frames(n: u32, width: u16, height: u16) -> Vec<Bytes> {
    (0..n).map(|i| frame(i, width, height)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_jpeg, Sampling};

    fn decode(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
        let mut d =
            zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(jpeg));
        let pixels = d.decode().expect("zune-jpeg decodes the test pattern");
        let info = d.info().expect("info after decode");
        (usize::from(info.width), usize::from(info.height), pixels)
    }

    #[test]
    fn default_size_is_rtp_carriable_and_decodes() {
        let f = frame(0, DEFAULT_WIDTH, DEFAULT_HEIGHT);
        let info = parse_jpeg(&f).unwrap();
        assert_eq!(info.check_rtp(), Ok(()));
        assert_eq!((info.width, info.height), (384, 288));
        assert_eq!(info.sampling, Sampling::Yuv420);
        assert_eq!(info.rtp_type(), Some(1));
        assert!(info.standard_huffman);
        assert!(!info.progressive);
        assert_eq!(info.precision, 8);
        assert_eq!(info.qtables_for_rtp().len(), 128);
        let (w, h, px) = decode(&f);
        assert_eq!((w, h), (384, 288));
        assert_eq!(px.len(), 384 * 288 * 3);
    }

    #[test]
    fn other_sizes() {
        for (w, h) in [(16, 16), (64, 48), (320, 240), (640, 480), (100, 30)] {
            let f = frame(3, w, h);
            let info = parse_jpeg(&f).unwrap();
            assert_eq!((info.width, info.height), (w, h));
            let (dw, dh, _) = decode(&f);
            assert_eq!((dw, dh), (usize::from(w), usize::from(h)));
            assert_eq!(
                info.check_rtp().is_ok(),
                w % 8 == 0 && h % 8 == 0,
                "{w}x{h}"
            );
        }
        // Tiny requests are raised to the minimum.
        let info = parse_jpeg(&frame(0, 0, 1)).unwrap();
        assert_eq!((info.width, info.height), (MIN_DIMENSION, MIN_DIMENSION));
    }

    #[test]
    fn consecutive_frames_differ() {
        let fs = frames(4, 96, 64);
        for pair in fs.windows(2) {
            assert_ne!(pair[0], pair[1]);
        }
        // Deterministic.
        assert_eq!(frame(2, 96, 64), fs[2]);
        // Both the sweep and the counter change the picture.
        let a = render_rgb(10, 96, 64);
        let b = render_rgb(11, 96, 64);
        assert_ne!(a, b);
    }

    #[test]
    fn counter_digits_are_drawn() {
        // The counter area of frame 8 (all segments) has more lit pixels than frame 1.
        let lit = |rgb: &[u8]| rgb.chunks_exact(3).filter(|p| p == &[255, 255, 0]).count();
        let f1 = render_rgb(11111, 384, 288);
        let f8 = render_rgb(88888, 384, 288);
        assert!(lit(&f8) > 2 * lit(&f1), "{} vs {}", lit(&f8), lit(&f1));
        assert!(lit(&f1) > 0);
    }

    #[test]
    fn large_index() {
        let f = frame(u32::MAX, 64, 48);
        parse_jpeg(&f).unwrap().check_rtp().unwrap();
    }
}
