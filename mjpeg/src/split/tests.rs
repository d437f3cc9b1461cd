//! Unit tests of `split`.

use super::*;
use crate::testutil::*;
use crate::{write_concatenated, write_lab};

fn frames3() -> Vec<Bytes> {
    let a = jpeg_420();
    let mut parts = headers_420();
    parts.insert(
        0,
        seg(0xE1, b"\xFF\xD9\xFF\xD8 EOI/SOI inside an APP1 payload"),
    );
    let b = build(
        &parts,
        &[0x01, 0xFF, 0x00, 0xD9, 0xFF, 0xD7, 0x02, 0xFF, 0xFF, 0xFF],
    );
    let c = build(&headers_420(), &[]);
    vec![Bytes::from(a), Bytes::from(b), Bytes::from(c)]
}

fn lab(frames: &[Bytes]) -> Bytes {
    let mut v = Vec::new();
    write_lab(frames, &mut v).unwrap();
    Bytes::from(v)
}

fn concat(frames: &[Bytes]) -> Bytes {
    let mut v = Vec::new();
    write_concatenated(frames, &mut v);
    Bytes::from(v)
}

/// Feeds `data` in chunks of `chunk` bytes, draining after each push.
fn incremental(data: &[u8], chunk: usize, opts: SplitOptions) -> Result<Vec<Bytes>, MjpegError> {
    let mut s = FrameSplitter::with_options(opts);
    let mut out = Vec::new();
    for c in data.chunks(chunk.max(1)) {
        s.push(c);
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

#[test]
fn detect() {
    assert_eq!(
        detect_format(b"\xFF\xD8\xFF\xE0"),
        Some(FileFormat::Concatenated)
    );
    assert_eq!(detect_format(b"\xFF\xD8"), Some(FileFormat::Concatenated));
    assert_eq!(detect_format(b"01234\xFF\xD8"), Some(FileFormat::Lab));
    assert_eq!(detect_format(b"01234\xFF"), None);
    assert_eq!(detect_format(b"0123"), None);
    assert_eq!(detect_format(b"0123a\xFF\xD8"), None);
    assert_eq!(detect_format(b"01234\xFF\xD9"), None);
    assert_eq!(detect_format(b"\xFF\xD9"), None);
    assert_eq!(detect_format(b"\xFF"), None);
    assert_eq!(detect_format(b""), None);
    assert_eq!(detect_format(b"RIFF"), None);
}

#[test]
fn lab_and_concatenated_split_zero_copy() {
    let frames = frames3();
    for (data, fmt) in [
        (lab(&frames), FileFormat::Lab),
        (concat(&frames), FileFormat::Concatenated),
    ] {
        let (f, split) = split_frames(&data).unwrap();
        assert_eq!(f, fmt);
        assert_eq!(split, frames);
        let range = data.as_ptr() as usize..data.as_ptr() as usize + data.len();
        for s in &split {
            assert!(
                range.contains(&(s.as_ptr() as usize)),
                "not a slice of the input"
            );
        }
        for chunk in [1, 2, 3, 7, 100, 100_000] {
            assert_eq!(
                incremental(&data, chunk, SplitOptions::default()).unwrap(),
                frames
            );
        }
    }
}

#[test]
fn forced_format() {
    let frames = frames3();
    let data = concat(&frames);
    let opts = SplitOptions::default().format(FileFormat::Concatenated);
    assert_eq!(split_frames_with(&data, &opts).unwrap().1, frames);
    let e = split_frames_with(&data, &SplitOptions::default().format(FileFormat::Lab)).unwrap_err();
    assert!(
        matches!(
            e,
            MjpegError::BadLengthPrefix {
                index: 0,
                offset: 0,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn multi_scan_frame_is_one_frame() {
    let mut f = build(&headers_420(), &[0x11]);
    f.truncate(f.len() - 2);
    f.extend(seg(0xC4, &dht_standard()));
    f.extend(seg(0xDA, &sos_body(&[(1, 0x00)])));
    f.extend([0x22, 0xFF, 0xD9]);
    let frames = vec![Bytes::from(f.clone()), Bytes::from(f)];
    assert_eq!(split_frames(&concat(&frames)).unwrap().1, frames);
}

#[test]
fn empty_and_unknown() {
    assert_eq!(split_frames(&Bytes::new()), Err(MjpegError::Empty));
    let e = split_frames(&Bytes::from_static(b"RIFF....AVI ")).unwrap_err();
    assert_eq!(
        e,
        MjpegError::UnknownFormat {
            found: b"RIFF...".to_vec()
        }
    );
    assert!(matches!(
        split_frames(&Bytes::from_static(b"012")),
        Err(MjpegError::UnknownFormat { .. })
    ));
    let mut s = FrameSplitter::new();
    s.finish();
    assert_eq!(s.next_frame(), Ok(None));
    assert_eq!(s.format(), None);
}

#[test]
fn truncated_gives_offsets() {
    let frames = frames3();
    let data = concat(&frames);
    let second = frames[0].len() as u64;
    let cut = data.slice(..data.len() - 10);
    let expect = MjpegError::Truncated {
        index: 2,
        offset: second + frames[1].len() as u64,
        end: cut.len() as u64,
    };
    assert_eq!(split_frames(&cut), Err(expect.clone()));
    assert_eq!(incremental(&cut, 5, SplitOptions::default()), Err(expect));
    // Cut right after the SOI / inside the first byte of the next SOI.
    let cut = data.slice(..frames[0].len() + 1);
    assert_eq!(
        split_frames(&cut),
        Err(MjpegError::Truncated {
            index: 1,
            offset: second,
            end: second + 1
        })
    );

    let data = lab(&frames);
    let second = (LAB_PREFIX_LEN + frames[0].len()) as u64;
    let cut = data.slice(..second as usize + 3);
    let expect = MjpegError::Truncated {
        index: 1,
        offset: second,
        end: second + 3,
    };
    assert_eq!(split_frames(&cut), Err(expect.clone()));
    assert_eq!(incremental(&cut, 1, SplitOptions::default()), Err(expect));
    let cut = data.slice(..second as usize + 9);
    assert_eq!(
        split_frames(&cut),
        Err(MjpegError::Truncated {
            index: 1,
            offset: second,
            end: second + 9
        })
    );
    let e = split_frames(&cut).unwrap_err().to_string();
    assert!(
        e.contains("frame 1") && e.contains(&format!("byte {second}")),
        "{e}"
    );
}

#[test]
fn bad_length_prefix() {
    let frames = frames3();
    let mut v = lab(&frames).to_vec();
    let at = LAB_PREFIX_LEN + frames[0].len();
    v[at + 2] = b'x';
    let e = split_frames(&Bytes::from(v.clone())).unwrap_err();
    assert_eq!(
        e,
        MjpegError::BadLengthPrefix {
            index: 1,
            offset: at as u64,
            prefix: v[at..at + 5].try_into().unwrap()
        }
    );
    // Detected early with partial data too.
    let mut s = FrameSplitter::new();
    s.push(&v[..at + 3]);
    assert!(s.next_frame().unwrap().is_some());
    assert!(matches!(
        s.next_frame(),
        Err(MjpegError::BadLengthPrefix { index: 1, .. })
    ));
    // Sticky.
    s.push(b"more");
    assert!(matches!(
        s.next_frame(),
        Err(MjpegError::BadLengthPrefix { index: 1, .. })
    ));
    // Trailing newline after the last frame of a lab file.
    let mut v = lab(&frames).to_vec();
    v.push(b'\n');
    let e = split_frames(&Bytes::from(v.clone())).unwrap_err();
    assert!(
        matches!(e, MjpegError::BadLengthPrefix { index: 3, .. }),
        "{e}"
    );
}

#[test]
fn missing_soi() {
    // Lab frame that is not a JPEG.
    let data = Bytes::from_static(b"00004\xFF\xD8\xFF\xD900003abc");
    assert_eq!(
        split_frames(&data),
        Err(MjpegError::MissingSoi {
            index: 1,
            offset: 14,
            found: b"ab".to_vec()
        })
    );
    let data = Bytes::from_static(b"00004\xFF\xD8\xFF\xD900000");
    assert!(matches!(
        split_frames(&data),
        Err(MjpegError::MissingSoi {
            index: 1,
            offset: 14,
            ..
        })
    ));
    let data = Bytes::from_static(b"00004\xFF\xD8\xFF\xD900001\xFF");
    assert!(matches!(
        split_frames(&data),
        Err(MjpegError::MissingSoi {
            index: 1,
            offset: 14,
            ..
        })
    ));
    // Concatenated forced on non-JPEG data.
    let opts = SplitOptions::default().format(FileFormat::Concatenated);
    let e = split_frames_with(&Bytes::from_static(b"\x00\x01"), &opts).unwrap_err();
    assert_eq!(
        e,
        MjpegError::MissingSoi {
            index: 0,
            offset: 0,
            found: vec![0, 1]
        }
    );
}

#[test]
fn garbage_between_frames() {
    let frames = frames3();
    let mut v = frames[0].to_vec();
    v.extend_from_slice(b"\0\0");
    v.extend_from_slice(&frames[1]);
    let e = split_frames(&Bytes::from(v)).unwrap_err();
    assert_eq!(
        e,
        MjpegError::GarbageBetweenFrames {
            index: 1,
            offset: frames[0].len() as u64,
            found: vec![0, 0]
        }
    );
    // Trailing garbage after the last frame.
    let mut v = concat(&frames).to_vec();
    let n = v.len() as u64;
    v.push(b'\n');
    assert_eq!(
        split_frames(&Bytes::from(v)),
        Err(MjpegError::GarbageBetweenFrames {
            index: 3,
            offset: n,
            found: vec![b'\n']
        })
    );
}

#[test]
fn bad_markers_inside_frames() {
    // Non-FF byte where a marker is expected.
    let mut f = jpeg_420();
    f.insert(20, 0x42);
    let e = split_frames(&Bytes::from(f)).unwrap_err();
    assert_eq!(
        e,
        MjpegError::BadMarker {
            index: 0,
            offset: 20,
            found: vec![0x42, 0xFF]
        }
    );
    // A second SOI before the scan.
    let mut f = vec![0xFF, 0xD8];
    f.extend(jpeg_420());
    assert!(matches!(
        split_frames(&Bytes::from(f)),
        Err(MjpegError::BadMarker {
            index: 0,
            offset: 2,
            ..
        })
    ));
    // Segment length 0.
    let f = Bytes::from_static(b"\xFF\xD8\xFF\xE0\x00\x00");
    assert_eq!(
        split_frames(&f),
        Err(MjpegError::BadSegmentLength {
            index: 0,
            offset: 2,
            marker: 0xE0,
            len: 0
        })
    );
}

#[test]
fn frame_too_large() {
    let frames = frames3();
    let limit = frames[0].len().max(frames[2].len());
    assert!(frames[1].len() > limit);
    let opts = SplitOptions::default().max_frame_size(limit);
    let offset = frames[0].len() as u64;
    let expect = MjpegError::FrameTooLarge {
        index: 1,
        offset,
        limit,
    };
    let data = concat(&frames);
    assert_eq!(split_frames_with(&data, &opts), Err(expect.clone()));
    assert_eq!(incremental(&data, 3, opts.clone()), Err(expect));
    // A frame exactly at the limit is fine.
    let opts1 = SplitOptions::default().max_frame_size(frames[0].len());
    assert_eq!(
        split_frames_with(&concat(&frames[..1]), &opts1)
            .unwrap()
            .1
            .len(),
        1
    );
    // Lab: decided from the prefix alone.
    let data = lab(&frames);
    let offset = (LAB_PREFIX_LEN + frames[0].len()) as u64;
    assert_eq!(
        split_frames_with(&data, &opts),
        Err(MjpegError::FrameTooLarge {
            index: 1,
            offset,
            limit
        })
    );
    // The incremental splitter does not buffer much more than the limit of a frame without EOI.
    let mut s = FrameSplitter::with_options(SplitOptions::default().max_frame_size(1000));
    let head = build(&headers_420(), &[]);
    assert!(head.len() < 700);
    s.push(&head[..head.len() - 2]);
    assert_eq!(s.next_frame(), Ok(None));
    s.push(&[0x11; 200]);
    assert_eq!(s.next_frame(), Ok(None));
    s.push(&[0x11; 600]);
    assert!(matches!(
        s.next_frame(),
        Err(MjpegError::FrameTooLarge {
            index: 0,
            offset: 0,
            limit: 1000
        })
    ));
}

#[test]
fn splitter_state_accessors() {
    let frames = frames3();
    let data = lab(&frames);
    let mut s = FrameSplitter::new();
    assert_eq!(s.format(), None);
    s.push(&data[..3]);
    assert_eq!(s.next_frame(), Ok(None));
    assert_eq!(s.format(), None);
    s.push(&data[3..]);
    assert_eq!(s.format(), None);
    assert_eq!(s.next_frame().unwrap().unwrap(), frames[0]);
    assert_eq!(s.format(), Some(FileFormat::Lab));
    assert_eq!(s.frames_emitted(), 1);
    assert_eq!(s.offset(), (LAB_PREFIX_LEN + frames[0].len()) as u64);
    assert_eq!(s.buffered(), data.len() - LAB_PREFIX_LEN - frames[0].len());
}

#[test]
fn walker_resumes_without_rescanning() {
    // Feed a frame with a large scan one byte at a time: the walker's position only moves
    // forward, so this is linear.
    let scan: Vec<u8> = (0..200_000u32)
        .map(|i| (i % 251) as u8)
        .filter(|&b| b != 0xFF)
        .collect();
    let f = build(&headers_420(), &scan);
    let mut w = Walker::new();
    let mut last = 0;
    for n in 0..f.len() {
        match w.walk(&f[..n], usize::MAX).unwrap() {
            WalkStep::NeedMore => {
                assert!(w.pos >= last);
                last = w.pos;
            }
            WalkStep::Done(_) => panic!("done early at {n}"),
        }
    }
    assert_eq!(w.walk(&f, usize::MAX), Ok(WalkStep::Done(f.len())));
}
