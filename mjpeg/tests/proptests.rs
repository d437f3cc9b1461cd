//! Property tests: write/split round trips in both formats, incremental splitting with random
//! read sizes, and arbitrary or mutated input never panicking the splitter or the parser.

use std::sync::OnceLock;

use bytes::Bytes;
use mjpeg::{
    parse_jpeg, split_frames, split_frames_with, write_concatenated, write_lab, FileFormat,
    FrameSplitter, MjpegError, SplitOptions,
};
use proptest::prelude::*;

fn seg(marker: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(body.len() + 2).unwrap();
    let mut v = vec![0xFF, marker];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// A structurally valid JPEG: SOI, APPn/COM segments with arbitrary payloads (which may contain
/// `FF D9`), a gray SOF0, SOS, entropy data with stuffing, restart markers and fill bytes, EOI.
fn jpeg_frame() -> impl Strategy<Value = Bytes> {
    let segment = (
        prop_oneof![0xE0u8..=0xEF, Just(0xFE)],
        prop::collection::vec(any::<u8>(), 0..200),
    );
    let scan_item = prop_oneof![
        8 => any::<u8>().prop_map(|b| if b == 0xFF { vec![0xFF, 0x00] } else { vec![b] }),
        1 => (0xD0u8..=0xD7).prop_map(|m| vec![0xFF, m]),
        1 => Just(vec![0xFF, 0x00, 0xD9]),
    ];
    (
        prop::collection::vec(segment, 0..4),
        prop::collection::vec(scan_item, 0..300),
        0usize..3,
    )
        .prop_map(|(segs, scan, fill)| {
            let mut f = vec![0xFF, 0xD8];
            for (m, body) in segs {
                f.extend(seg(m, &body));
            }
            f.extend(seg(0xC0, &[8, 0, 16, 0, 16, 1, 1, 0x11, 0]));
            f.extend(seg(0xDA, &[1, 1, 0, 0, 63, 0]));
            for item in scan {
                f.extend(item);
            }
            f.extend(std::iter::repeat_n(0xFF, fill));
            f.extend([0xFF, 0xD9]);
            Bytes::from(f)
        })
}

fn split_incremental(data: &[u8], chunks: &[usize]) -> Result<Vec<Bytes>, MjpegError> {
    let mut s = FrameSplitter::new();
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = chunks
            .get(i % chunks.len().max(1))
            .copied()
            .unwrap_or(1)
            .clamp(1, rest.len());
        i += 1;
        s.push(&rest[..n]);
        rest = &rest[n..];
        while let Some(f) = s.next_frame()? {
            out.push(f);
        }
    }
    s.finish();
    while let Some(f) = s.next_frame()? {
        out.push(f);
    }
    Ok(out)
}

/// Real encoder output: ffmpeg frames and (with the `gen` feature) generated test patterns.
fn real_frames() -> &'static [Bytes] {
    static FRAMES: OnceLock<Vec<Bytes>> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let ffmpeg = [
            Bytes::from_static(include_bytes!("../testdata/ffmpeg-420-optimal.jpg")),
            Bytes::from_static(include_bytes!("../testdata/ffmpeg-422.jpg")),
        ];
        #[cfg(feature = "gen")]
        let generated = mjpeg::testpattern::frames(2, 64, 48);
        #[cfg(not(feature = "gen"))]
        let generated = Vec::new();
        ffmpeg.into_iter().chain(generated).collect()
    })
}

proptest! {
    #[test]
    fn concatenated_round_trip(frames in prop::collection::vec(jpeg_frame(), 1..6),
                               chunks in prop::collection::vec(1usize..500, 1..8)) {
        let mut data = Vec::new();
        write_concatenated(&frames, &mut data);
        let (format, split) = split_frames(&Bytes::from(data.clone())).unwrap();
        prop_assert_eq!(format, FileFormat::Concatenated);
        prop_assert_eq!(&split, &frames);
        prop_assert_eq!(&split_incremental(&data, &chunks).unwrap(), &frames);
        for f in &frames {
            // The parser's scan ends where the splitter found the EOI.
            let info = parse_jpeg(f).unwrap();
            prop_assert_eq!(info.scan_offset + info.scan_len + 2, f.len());
        }
    }

    #[test]
    fn lab_round_trip(frames in prop::collection::vec(jpeg_frame(), 1..6),
                      chunks in prop::collection::vec(1usize..500, 1..8)) {
        let mut data = Vec::new();
        write_lab(&frames, &mut data).unwrap();
        let (format, split) = split_frames(&Bytes::from(data.clone())).unwrap();
        prop_assert_eq!(format, FileFormat::Lab);
        prop_assert_eq!(&split, &frames);
        prop_assert_eq!(&split_incremental(&data, &chunks).unwrap(), &frames);
    }

    #[test]
    fn lab_round_trip_any_payload(frames in prop::collection::vec(
            prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| {
                let mut f = vec![0xFF, 0xD8];
                f.extend(b);
                Bytes::from(f)
            }), 1..6)) {
        // The lab format only needs the SOI; the rest is opaque.
        let mut data = Vec::new();
        write_lab(&frames, &mut data).unwrap();
        prop_assert_eq!(split_frames(&Bytes::from(data)).unwrap().1, frames);
    }

    #[test]
    fn truncation_is_reported_not_panicked(frames in prop::collection::vec(jpeg_frame(), 1..4),
                                          lab in any::<bool>(), cut in any::<prop::sample::Index>()) {
        let mut data = Vec::new();
        if lab { write_lab(&frames, &mut data).unwrap() } else { write_concatenated(&frames, &mut data) }
        let n = cut.index(data.len());
        let r = split_frames(&Bytes::from(data[..n].to_vec()));
        if let Err(MjpegError::Truncated { offset, end, .. }) = &r {
            prop_assert!(*offset < *end);
            prop_assert_eq!(*end, n as u64);
        }
        if let Ok((_, got)) = r {
            prop_assert!(got.len() <= frames.len());
        }
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..2000),
                                chunks in prop::collection::vec(1usize..64, 1..4),
                                max in 0usize..3000) {
        let b = Bytes::from(data.clone());
        let _ = split_frames(&b);
        let _ = split_frames_with(&b, &SplitOptions::default().max_frame_size(max));
        let _ = split_frames_with(&b, &SplitOptions::default().format(FileFormat::Lab));
        let _ = split_frames_with(&b, &SplitOptions::default().format(FileFormat::Concatenated));
        let _ = split_incremental(&data, &chunks);
        if let Ok(info) = parse_jpeg(&data) {
            let _ = info.check_rtp();
            let _ = info.qtables_for_rtp();
            let _ = info.scan(&data);
        }
        // Same with a valid start, to get past the first checks.
        let mut j = vec![0xFF, 0xD8, 0xFF];
        j.extend(&data);
        let _ = parse_jpeg(&j);
        let _ = split_frames(&Bytes::from(j));
    }

    #[test]
    fn mutated_real_frames_never_panic(which in any::<prop::sample::Index>(),
                                       edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6)) {
        let frames = real_frames();
        let mut f = frames[which.index(frames.len())].to_vec();
        for (at, byte, kind) in edits {
            if f.is_empty() { break; }
            let i = at.index(f.len());
            match kind {
                0 => f[i] = byte,
                1 => { f.insert(i, byte); }
                _ => f.truncate(i),
            }
        }
        if let Ok(info) = parse_jpeg(&f) {
            let _ = info.check_rtp();
            let _ = info.rtp_problems();
            let _ = info.qtables_for_rtp();
            prop_assert!(info.scan(&f).len() <= f.len());
        }
        let mut file = Vec::new();
        write_concatenated(&[Bytes::from(f.clone()), Bytes::from(f)], &mut file);
        let _ = split_frames(&Bytes::from(file));
    }
}
