//! Media for simulated servers: generated test-pattern frames at 64x48, cached per process,
//! and an index from scan data back to the frame number.

use bytes::Bytes;
use rtsp_core::server::{Media, MemoryCatalog};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Width of the generated frames.
pub const WIDTH: u16 = 64;
/// Height of the generated frames.
pub const HEIGHT: u16 = 48;
/// Most frames a stream can have.
pub const MAX_FRAMES: usize = 400;

/// The source frames and the index from scan data to frame number.
type Source = (Vec<Bytes>, HashMap<Vec<u8>, usize>);

fn all() -> &'static Source {
    static ALL: OnceLock<Source> = OnceLock::new();
    ALL.get_or_init(|| {
        let frames = mjpeg::testpattern::frames(MAX_FRAMES as u32, WIDTH, HEIGHT);
        let index = frames
            .iter()
            .enumerate()
            .map(|(i, f)| (scan(f).expect("generated frames parse").to_vec(), i))
            .collect();
        (frames, index)
    })
}

/// The first `n` source frames.
pub fn frames(n: usize) -> Vec<Bytes> {
    assert!(n <= MAX_FRAMES, "at most {MAX_FRAMES} frames");
    all().0[..n].to_vec()
}

/// The entropy-coded scan data of a JPEG, if it parses.
pub fn scan(jpeg: &[u8]) -> Option<&[u8]> {
    let info = mjpeg::parse_jpeg(jpeg).ok()?;
    let s = info.scan(jpeg);
    Some(s)
}

/// The source frame index whose scan data equals this JPEG's, byte for byte.
pub fn frame_index(jpeg: &[u8]) -> Option<usize> {
    all().1.get(scan(jpeg)?).copied()
}

/// A catalog holding [`super::STREAM`]: `n` frames at `fps`, packetized for `mtu`.
pub fn catalog(n: usize, fps: f64, mtu: usize, looping: bool) -> MemoryCatalog {
    let media = Media::from_jpegs(super::STREAM, fps, frames(n), mtu).expect("media");
    // Not looping: the server's setting decides.
    let media = if looping {
        media.with_looping(true)
    } else {
        media
    };
    MemoryCatalog::new().with(media)
}
