//! Lossy path: decode with zune-jpeg to RGB, fit the size to RFC 2435 (scale down over 2040
//! pixels, pad to a multiple of 8), encode with jpeg-encoder as baseline 4:2:0 with the standard
//! Huffman tables.

use super::TranscodeError;
use crate::jpeg::RTP_MAX_DIMENSION;
use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

/// Largest input decoded (pixels per side): bounds memory on hostile headers.
const MAX_DECODE_DIMENSION: usize = 16384;

pub(super) fn reencode(frame: &[u8], quality: u8) -> Result<Vec<u8>, TranscodeError> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(MAX_DECODE_DIMENSION)
        .set_max_height(MAX_DECODE_DIMENSION);
    let mut d = JpegDecoder::new_with_options(ZCursor::new(frame), options);
    let pixels = d
        .decode()
        .map_err(|e| TranscodeError::Decode(format!("{e:?}")))?;
    let info = d
        .info()
        .ok_or_else(|| TranscodeError::Decode("no image information".into()))?;
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    if w == 0 || h == 0 {
        return Err(TranscodeError::Decode("empty image".into()));
    }
    let rgb = match pixels.len() / (w * h) {
        3 if pixels.len() == w * h * 3 => pixels,
        1 if pixels.len() == w * h => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        4 if pixels.len() == w * h * 4 => pixels
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        _ => {
            return Err(TranscodeError::Decode(format!(
                "unexpected decoded size {} for {w}x{h}",
                pixels.len()
            )))
        }
    };
    let (rgb, w, h) = fit(rgb, w, h);
    let mut out = Vec::with_capacity(w * h / 4);
    let mut enc = Encoder::new(&mut out, quality.clamp(1, 100));
    enc.set_sampling_factor(SamplingFactor::F_2_2);
    enc.set_optimized_huffman_tables(false);
    enc.set_progressive(false);
    enc.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    let (w16, h16) = (
        u16::try_from(w).map_err(|_| TranscodeError::Encode("width".into()))?,
        u16::try_from(h).map_err(|_| TranscodeError::Encode("height".into()))?,
    );
    enc.encode(&rgb, w16, h16, ColorType::Rgb)
        .map_err(|e| TranscodeError::Encode(e.to_string()))?;
    Ok(out)
}

/// Scales down by an integer factor (box filter) until both sides are at most 2040, then pads
/// to multiples of 8 by repeating the last column and row.
fn fit(rgb: Vec<u8>, w: usize, h: usize) -> (Vec<u8>, usize, usize) {
    let max = usize::from(RTP_MAX_DIMENSION);
    let (rgb, w, h) = if w > max || h > max {
        let k = w.max(h).div_ceil(max);
        let (nw, nh) = ((w / k).max(1), (h / k).max(1));
        let mut out = vec![0u8; nw * nh * 3];
        for y in 0..nh {
            for x in 0..nw {
                for c in 0..3 {
                    let mut sum = 0usize;
                    for dy in 0..k {
                        for dx in 0..k {
                            let (sx, sy) = ((x * k + dx).min(w - 1), (y * k + dy).min(h - 1));
                            sum += usize::from(rgb[(sy * w + sx) * 3 + c]);
                        }
                    }
                    out[(y * nw + x) * 3 + c] = (sum / (k * k)) as u8;
                }
            }
        }
        (out, nw, nh)
    } else {
        (rgb, w, h)
    };
    let (pw, ph) = (w.next_multiple_of(8), h.next_multiple_of(8));
    if (pw, ph) == (w, h) {
        return (rgb, w, h);
    }
    let mut out = vec![0u8; pw * ph * 3];
    for y in 0..ph {
        let sy = y.min(h - 1);
        let row = &rgb[sy * w * 3..(sy + 1) * w * 3];
        let dst = &mut out[y * pw * 3..(y + 1) * pw * 3];
        dst[..w * 3].copy_from_slice(row);
        let last = [row[(w - 1) * 3], row[(w - 1) * 3 + 1], row[(w - 1) * 3 + 2]];
        for px in dst[w * 3..].chunks_exact_mut(3) {
            px.copy_from_slice(&last);
        }
    }
    (out, pw, ph)
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn fit_pads_with_edge_pixels() {
        let rgb: Vec<u8> = (0..(10 * 9 * 3)).map(|i| (i % 251) as u8).collect();
        let (out, w, h) = fit(rgb.clone(), 10, 9);
        assert_eq!((w, h), (16, 16));
        assert_eq!(&out[..30], &rgb[..30]);
        assert_eq!(&out[15 * 3..16 * 3], &rgb[9 * 3..10 * 3]);
        assert_eq!(&out[15 * 16 * 3..15 * 16 * 3 + 30], &rgb[8 * 30..9 * 30]);
    }

    #[test]
    fn fit_scales_down_large_images() {
        let (out, w, h) = fit(vec![7u8; 4100 * 16 * 3], 4100, 16);
        assert_eq!((w, h), (1368, 8));
        assert!(out.iter().all(|&v| v == 7));
    }
}
