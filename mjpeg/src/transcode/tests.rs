use super::*;
use crate::NotCarriable;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

const OPTIMAL_420: &[u8] = include_bytes!("../../testdata/ffmpeg-420-optimal.jpg");
const FFMPEG_422: &[u8] = include_bytes!("../../testdata/ffmpeg-422.jpg");
const FFMPEG_444: &[u8] = include_bytes!("../../testdata/ffmpeg-444.jpg");

fn decode(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut d = zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(jpeg));
    let px = d.decode().expect("zune-jpeg decodes");
    let info = d.info().expect("info");
    (usize::from(info.width), usize::from(info.height), px)
}

/// Mean absolute difference per sample over the top-left `w` x `h` RGB pixels.
fn mad(a: &(usize, usize, Vec<u8>), b: &(usize, usize, Vec<u8>)) -> f64 {
    let (w, h) = (a.0.min(b.0), a.1.min(b.1));
    let mut sum = 0u64;
    for y in 0..h {
        for x in 0..w * 3 {
            let (pa, pb) = (a.2[y * a.0 * 3 + x], b.2[y * b.0 * 3 + x]);
            sum += u64::from(pa.abs_diff(pb));
        }
    }
    sum as f64 / (w * h * 3) as f64
}

/// Mean absolute difference of luma (BT.601 weights) over the common top-left area: chroma
/// subsampling of the tiny, sharp-edged ffmpeg test frames moves colours a lot but not luma.
fn luma_mad(a: &(usize, usize, Vec<u8>), b: &(usize, usize, Vec<u8>)) -> f64 {
    let (w, h) = (a.0.min(b.0), a.1.min(b.1));
    let luma = |img: &(usize, usize, Vec<u8>), x: usize, y: usize| {
        let p = &img.2[(y * img.0 + x) * 3..][..3];
        0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
    };
    let mut sum = 0.0;
    for y in 0..h {
        for x in 0..w {
            sum += (luma(a, x, y) - luma(b, x, y)).abs();
        }
    }
    sum / (w * h) as f64
}

/// A smooth, colourful test image.
fn rgb(w: u16, h: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(usize::from(w) * usize::from(h) * 3);
    for y in 0..usize::from(h) {
        for x in 0..usize::from(w) {
            v.push((x * 255 / usize::from(w)) as u8);
            v.push((y * 255 / usize::from(h)) as u8);
            v.push(((x + y) * 255 / usize::from(w + h)) as u8);
        }
    }
    v
}

fn encode(
    w: u16,
    h: u16,
    sampling: SamplingFactor,
    optimized: bool,
    restart: Option<u16>,
    progressive: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, 85);
    enc.set_sampling_factor(sampling);
    enc.set_optimized_huffman_tables(optimized);
    enc.set_progressive(progressive);
    if let Some(r) = restart {
        enc.set_restart_interval(r);
    }
    enc.encode(&rgb(w, h), w, h, ColorType::Rgb).unwrap();
    out
}

fn assert_lossless(input: &[u8]) -> Transcoded {
    let out = make_carriable(input, &TranscodeOptions::default()).unwrap();
    assert_eq!(out.kind, TranscodeKind::Recoded);
    let info = parse_jpeg(&out.data).unwrap();
    assert_eq!(info.check_rtp(), Ok(()));
    assert!(info.standard_huffman);
    let (a, b) = (decode(input), decode(&out.data));
    assert_eq!((a.0, a.1), (b.0, b.1), "size");
    assert!(a.2 == b.2, "pixels differ after lossless re-coding");
    out
}

#[test]
fn carriable_frame_is_unchanged_and_shared() {
    let f = crate::testpattern::frame(3, 64, 48);
    let out = make_carriable_bytes(&f, &TranscodeOptions::default()).unwrap();
    assert_eq!(out.kind, TranscodeKind::Unchanged);
    assert_eq!(out.reason, None);
    assert_eq!(out.data.as_ptr(), f.as_ptr(), "no copy");
}

#[test]
fn ffmpeg_optimal_huffman_420_is_recoded_losslessly() {
    let before = parse_jpeg(OPTIMAL_420).unwrap();
    assert_eq!(before.check_rtp(), Err(NotCarriable::NonStandardHuffman));
    assert_eq!(lossless_fix(OPTIMAL_420), Ok(true));
    let out = assert_lossless(OPTIMAL_420);
    assert_eq!(out.reason, Some(NotCarriable::NonStandardHuffman));
    let after = parse_jpeg(&out.data).unwrap();
    assert_eq!(after.qtables_for_rtp(), before.qtables_for_rtp());
    assert_eq!(after.rtp_type(), Some(1));
}

#[test]
fn ffmpeg_422_is_carriable_after_transcoding() {
    let out = make_carriable(FFMPEG_422, &TranscodeOptions::default()).unwrap();
    let info = parse_jpeg(&out.data).unwrap();
    assert_eq!(info.check_rtp(), Ok(()));
    if out.kind == TranscodeKind::Recoded {
        assert_eq!(decode(FFMPEG_422).2, decode(&out.data).2);
        assert_eq!(info.rtp_type(), Some(0));
    }
    let (a, b) = (decode(FFMPEG_422), decode(&out.data));
    assert!(luma_mad(&a, &b) < 2.0, "luma {}", luma_mad(&a, &b));
    assert!(mad(&a, &b) < 12.0, "rgb {}", mad(&a, &b));
}

/// `frame` coded again with the luma and chroma Huffman tables swapped (valid, non-standard).
fn with_swapped_tables(frame: &[u8]) -> Vec<u8> {
    use crate::huffman::{HuffmanSpec, AC_CHROMA, AC_LUMA, DC_CHROMA, DC_LUMA};
    let info = parse_jpeg(frame).unwrap();
    let (coefs, ri) = decode_frame(frame, &info).unwrap();
    let specs: [HuffmanSpec; 4] = [
        HuffmanSpec { id: 0, ..DC_CHROMA },
        HuffmanSpec { id: 0, ..AC_CHROMA },
        HuffmanSpec { id: 1, ..DC_LUMA },
        HuffmanSpec { id: 1, ..AC_LUMA },
    ];
    write_frame(&info, &coefs, ri, &specs).unwrap()
}

#[test]
fn non_standard_tables_with_restart_markers_are_recoded_losslessly() {
    for restart in [1, 3, 7] {
        // jpeg-encoder cannot combine optimized tables with restart markers; swap the tables.
        let standard = encode(96, 64, SamplingFactor::F_2_2, false, Some(restart), false);
        assert_eq!(parse_jpeg(&standard).unwrap().restart_interval, restart);
        let input = with_swapped_tables(&standard);
        assert_eq!(
            parse_jpeg(&input).unwrap().check_rtp(),
            Err(NotCarriable::NonStandardHuffman)
        );
        assert_eq!(decode(&input).2, decode(&standard).2);
        let out = assert_lossless(&input);
        assert_eq!(parse_jpeg(&out.data).unwrap().restart_interval, restart);
        // Same coefficients, same tables: the scan is byte for byte the original one.
        let (a, b) = (
            parse_jpeg(&standard).unwrap(),
            parse_jpeg(&out.data).unwrap(),
        );
        assert_eq!(a.scan(&standard), b.scan(&out.data));
    }
}

#[test]
fn optimized_422_and_odd_sizes_are_recoded_losslessly() {
    assert_lossless(&encode(80, 48, SamplingFactor::F_2_1, true, None, false));
    // 77x45: rounded up to 80x48, the visible part identical.
    let input = encode(77, 45, SamplingFactor::F_2_2, false, None, false);
    assert_eq!(
        parse_jpeg(&input).unwrap().check_rtp(),
        Err(NotCarriable::NotMultipleOf8 {
            width: 77,
            height: 45
        })
    );
    let out = make_carriable(&input, &TranscodeOptions::default()).unwrap();
    assert_eq!(out.kind, TranscodeKind::Recoded);
    let (a, b) = (decode(&input), decode(&out.data));
    assert_eq!((b.0, b.1), (80, 48));
    for y in 0..45 {
        assert_eq!(
            a.2[y * 77 * 3..(y + 1) * 77 * 3],
            b.2[y * 80 * 3..y * 80 * 3 + 77 * 3]
        );
    }
}

#[test]
fn ffmpeg_444_is_reencoded_as_420() {
    let out = make_carriable(FFMPEG_444, &TranscodeOptions::default()).unwrap();
    assert_eq!(out.kind, TranscodeKind::Reencoded);
    assert!(matches!(out.reason, Some(NotCarriable::Sampling { .. })));
    let info = parse_jpeg(&out.data).unwrap();
    assert_eq!(info.check_rtp(), Ok(()));
    assert_eq!(info.rtp_type(), Some(1));
    // 96x64 colour bars with 1-pixel detail: 4:2:0 moves the colours of edge pixels, not luma.
    let (a, b) = (decode(FFMPEG_444), decode(&out.data));
    assert!(luma_mad(&a, &b) < 2.0, "luma {}", luma_mad(&a, &b));
    assert!(mad(&a, &b) < 12.0, "rgb {}", mad(&a, &b));
}

#[test]
fn progressive_grayscale_and_444_are_reencoded() {
    let progressive = encode(64, 48, SamplingFactor::F_2_2, false, None, true);
    let s444 = encode(64, 48, SamplingFactor::F_1_1, true, None, false);
    let s411 = encode(64, 48, SamplingFactor::F_4_1, false, None, false);
    let mut gray = Vec::new();
    Encoder::new(&mut gray, 90)
        .encode(&[128u8; 40 * 24], 40, 24, ColorType::Luma)
        .unwrap();
    for (name, input) in [
        ("progressive", progressive),
        ("444", s444),
        ("411", s411),
        ("gray", gray),
    ] {
        assert!(parse_jpeg(&input).unwrap().check_rtp().is_err(), "{name}");
        assert_eq!(lossless_fix(&input), Ok(false), "{name}");
        let out = make_carriable(&input, &TranscodeOptions::default()).unwrap();
        assert_eq!(out.kind, TranscodeKind::Reencoded, "{name}");
        assert_eq!(parse_jpeg(&out.data).unwrap().check_rtp(), Ok(()), "{name}");
        let d = mad(&decode(&input), &decode(&out.data));
        assert!(d < 3.0, "{name}: mean absolute difference {d}");
    }
}

#[test]
fn lossy_can_be_refused() {
    let opts = TranscodeOptions::default().with_lossy(false);
    assert!(matches!(
        make_carriable(FFMPEG_444, &opts),
        Err(TranscodeError::NotCarriable(NotCarriable::Sampling { .. }))
    ));
    // The lossless path still works.
    assert_eq!(
        make_carriable(OPTIMAL_420, &opts).unwrap().kind,
        TranscodeKind::Recoded
    );
}

#[test]
fn garbage_is_an_error() {
    assert!(matches!(
        make_carriable(b"not a jpeg", &TranscodeOptions::default()),
        Err(TranscodeError::Jpeg(_))
    ));
}

#[test]
fn corrupt_entropy_data_never_panics() {
    let info = parse_jpeg(OPTIMAL_420).unwrap();
    let opts = TranscodeOptions::default().with_lossy(false);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut errors = 0;
    for _ in 0..300 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut f = OPTIMAL_420.to_vec();
        let at = info.scan_offset + (seed as usize % info.scan_len);
        f[at] = (seed >> 32) as u8;
        if seed.is_multiple_of(3) {
            f.truncate(at + 1);
            f.extend_from_slice(&[0xFF, 0xD9]);
        }
        if let Ok(out) = make_carriable(&f, &opts) {
            assert_eq!(parse_jpeg(&out.data).unwrap().check_rtp(), Ok(()));
        } else {
            errors += 1;
        }
    }
    assert!(errors > 0, "some corruptions must be detected");
}

/// `frame` (3 components, no restart interval) written with one scan per component.
fn non_interleaved(frame: &[u8]) -> Vec<u8> {
    use crate::huffman::{AC_CHROMA, AC_LUMA, DC_CHROMA, DC_LUMA};
    let info = parse_jpeg(frame).unwrap();
    let (coefs, ri) = decode_frame(frame, &info).unwrap();
    assert_eq!(ri, 0);
    // Headers up to (not including) the SOS of the interleaved version.
    let whole = write_frame(&info, &coefs, 0, &STANDARD_TABLES).unwrap();
    let sos = whole.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let mut out = whole[..sos].to_vec();
    for (i, c) in info.components.iter().enumerate() {
        let sel = if i == 0 { 0x00 } else { 0x11 };
        segment(&mut out, 0xDA, &[1, c.id, sel, 0, 63, 0]);
        let (dc, ac) = if i == 0 {
            (&DC_LUMA, &AC_LUMA)
        } else {
            (&DC_CHROMA, &AC_CHROMA)
        };
        entropy::encode_component_scan(&coefs, i, dc, ac, &mut out);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

#[test]
fn non_interleaved_scans_are_recoded_losslessly() {
    for (w, h, sampling) in [
        (96, 64, SamplingFactor::F_2_2),
        (88, 40, SamplingFactor::F_2_2),
        (72, 48, SamplingFactor::F_2_1),
    ] {
        let standard = encode(w, h, sampling, false, None, false);
        let input = non_interleaved(&standard);
        let info = parse_jpeg(&input).unwrap();
        assert_eq!(info.scan_count, 3);
        assert!(info
            .rtp_problems()
            .contains(&NotCarriable::MultipleScans { count: 3 }));
        // zune-jpeg 0.5 mis-decodes non-interleaved baseline scans (ffmpeg decodes this input
        // to the same pixels as `standard`), so check the output against `standard` instead:
        // same coefficients, same tables, so the very same pixels, and the same scan bytes
        // when the size is whole MCUs (else the padding blocks, which a non-interleaved scan
        // does not code, differ).
        let out = make_carriable(&input, &TranscodeOptions::default()).unwrap();
        assert_eq!(out.kind, TranscodeKind::Recoded);
        let (a, b) = (
            parse_jpeg(&standard).unwrap(),
            parse_jpeg(&out.data).unwrap(),
        );
        assert_eq!(b.check_rtp(), Ok(()));
        if w % 16 == 0 && h % 16 == 0 {
            assert_eq!(a.scan(&standard), b.scan(&out.data), "{w}x{h}: scan bytes");
        }
        assert!(
            decode(&out.data).2 == decode(&standard).2,
            "{w}x{h}: pixels"
        );
    }
}

#[test]
fn corrupt_frames_never_panic_on_the_lossy_path() {
    let progressive = encode(48, 32, SamplingFactor::F_2_2, false, None, true);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for base in [FFMPEG_444, FFMPEG_422, &progressive[..]] {
        let info = parse_jpeg(base).unwrap();
        for _ in 0..150 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut f = base.to_vec();
            // Anywhere after SOI: headers and scan data alike.
            let at = 2 + seed as usize % (f.len() - 2);
            f[at] = (seed >> 40) as u8;
            if seed.is_multiple_of(5) {
                f.truncate(at.max(info.scan_offset) + 1);
                f.extend_from_slice(&[0xFF, 0xD9]);
            }
            if let Ok(out) = make_carriable(&f, &TranscodeOptions::default()) {
                assert_eq!(parse_jpeg(&out.data).unwrap().check_rtp(), Ok(()));
            }
        }
    }
}
