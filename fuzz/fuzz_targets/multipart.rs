//! `MultipartSplitter`: any input, fed whole or in chunks, gives the same parts and the same
//! error; it never panics, never buffers more than the input, and every part respects the
//! body limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mjpeg::{MultipartError, MultipartSplitter, Part};
use rtsp_mjpeg_fuzz::{chunks, take_prefix};

const MAX_PART: usize = 4096;

fn run(data: &[u8], boundary: &str, seed: Option<u64>) -> (Vec<Part>, Option<MultipartError>) {
    let Ok(mut s) = MultipartSplitter::new(boundary, MAX_PART) else {
        return (Vec::new(), None);
    };
    let pieces: Vec<&[u8]> = match seed {
        Some(seed) => chunks(data, seed),
        None => vec![data],
    };
    let mut parts = Vec::new();
    for piece in pieces {
        s.push(piece);
        loop {
            match s.next_part() {
                Ok(Some(p)) => {
                    assert!(p.body.len() <= MAX_PART);
                    parts.push(p);
                }
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(s.next_part(), Err(e.clone()), "errors stick");
                    return (parts, Some(e));
                }
            }
        }
        assert!(s.buffered() <= data.len());
    }
    (parts, None)
}

fuzz_target!(|input: &[u8]| {
    // The first bytes choose the boundary and the chunking.
    let (head, data) = take_prefix::<9>(input);
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&head[1..]);
    let seed = u64::from_le_bytes(seed);
    let boundary = ["frame", "ffmpeg", "--x", "boundarydonotcross", "a"][usize::from(head[0]) % 5];
    let whole = run(data, boundary, None);
    let chunked = run(data, boundary, Some(seed));
    assert_eq!(whole, chunked, "whole and chunked disagree");
});
