//! `split_frames` on the whole input and `FrameSplitter` fed the same bytes in chunks must agree
//! (same frames, same format, same error); a successful split must write back to the input.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mjpeg::{split_frames, write_concatenated, write_lab, FileFormat, FrameSplitter, MjpegError};
use rtsp_mjpeg_fuzz::{chunks, take_prefix};

/// Feeds `data` in chunks; returns the frames before the first error, and that error.
fn incremental(data: &[u8], seed: u64) -> (Option<FileFormat>, Vec<Bytes>, Option<MjpegError>) {
    let mut s = FrameSplitter::new();
    let mut frames = Vec::new();
    let drain = |s: &mut FrameSplitter, frames: &mut Vec<Bytes>| loop {
        match s.next_frame() {
            Ok(Some(f)) => frames.push(f),
            Ok(None) => return None,
            Err(e) => {
                // Errors are sticky.
                assert_eq!(s.next_frame(), Err(e.clone()));
                return Some(e);
            }
        }
    };
    for c in chunks(data, seed) {
        s.push(c);
        if let Some(e) = drain(&mut s, &mut frames) {
            return (s.format(), frames, Some(e));
        }
        assert!(s.buffered() <= data.len());
    }
    s.finish();
    let err = drain(&mut s, &mut frames);
    if err.is_none() {
        assert_eq!(s.buffered(), 0, "clean end with bytes left over");
        assert_eq!(s.offset(), data.len() as u64);
    }
    assert_eq!(s.frames_emitted(), frames.len());
    (s.format(), frames, err)
}

/// Whether the two errors agree. The bytes quoted in `found`/`prefix` may differ in length: the
/// splitter quotes what it has buffered when it sees the problem, `split_frames` quotes up to
/// the full width. Everything else must be equal.
fn same_error(a: &MjpegError, b: &MjpegError) -> bool {
    fn prefix_of(x: &[u8], y: &[u8]) -> bool {
        let n = x.len().min(y.len());
        x[..n] == y[..n]
    }
    use MjpegError::*;
    match (a, b) {
        (UnknownFormat { found: x }, UnknownFormat { found: y }) => prefix_of(x, y),
        (
            MissingSoi {
                index: i,
                offset: o,
                found: x,
            },
            MissingSoi {
                index: j,
                offset: p,
                found: y,
            },
        )
        | (
            GarbageBetweenFrames {
                index: i,
                offset: o,
                found: x,
            },
            GarbageBetweenFrames {
                index: j,
                offset: p,
                found: y,
            },
        )
        | (
            BadMarker {
                index: i,
                offset: o,
                found: x,
            },
            BadMarker {
                index: j,
                offset: p,
                found: y,
            },
        ) => (i, o) == (j, p) && prefix_of(x, y),
        (
            BadLengthPrefix {
                index: i,
                offset: o,
                prefix: x,
            },
            BadLengthPrefix {
                index: j,
                offset: p,
                prefix: y,
            },
        ) => {
            // The short one is zero-padded: compare up to its first non-digit.
            let n = x
                .iter()
                .zip(y)
                .take_while(|(a, b)| a == b && a.is_ascii_digit())
                .count();
            (i, o) == (j, p) && n < 5 && x[n] == y[n] && !x[n].is_ascii_digit()
        }
        _ => a == b,
    }
}

fuzz_target!(|input: &[u8]| {
    let (seed, data) = take_prefix::<8>(input);
    let seed = u64::from_le_bytes(seed);
    let whole = split_frames(&Bytes::copy_from_slice(data));
    let (format, frames, err) = incremental(data, seed);
    match whole {
        Ok((whole_format, whole_frames)) => {
            assert_eq!(err, None, "split_frames succeeded, FrameSplitter failed");
            assert_eq!(format, Some(whole_format));
            assert_eq!(frames, whole_frames);
            let mut out = Vec::new();
            match whole_format {
                FileFormat::Concatenated => {
                    for f in &frames {
                        assert!(f.starts_with(&[0xFF, 0xD8]) && f.ends_with(&[0xFF, 0xD9]));
                    }
                    write_concatenated(&frames, &mut out);
                }
                FileFormat::Lab => {
                    for f in &frames {
                        assert!(f.starts_with(&[0xFF, 0xD8]));
                    }
                    write_lab(&frames, &mut out).expect("lab frames fit the lab format");
                }
            }
            assert_eq!(out, data, "frames do not write back to the input");
        }
        Err(MjpegError::Empty) => {
            assert!(data.is_empty());
            assert_eq!((err, frames.len()), (None, 0));
        }
        Err(e) => {
            let err = err.expect("split_frames failed, FrameSplitter did not");
            assert!(same_error(&err, &e), "different errors: {err:?} / {e:?}");
        }
    }
});
