//! Writing MJPEG files in both formats.

use bytes::Bytes;

use crate::split::{LAB_MAX_FRAME_LEN, LAB_PREFIX_LEN};
use crate::MjpegError;

/// Appends `frames` to `out` in the lab format: each frame preceded by its length as exactly 5
/// ASCII digits. A frame above 99999 bytes is [`MjpegError::TooLargeForLab`]; in that case nothing
/// is written.
pub fn write_lab(frames: &[Bytes], out: &mut Vec<u8>) -> Result<(), MjpegError> {
    let mut total = 0usize;
    for (index, f) in frames.iter().enumerate() {
        if f.len() > LAB_MAX_FRAME_LEN {
            return Err(MjpegError::TooLargeForLab {
                index,
                len: f.len(),
            });
        }
        total += LAB_PREFIX_LEN + f.len();
    }
    out.reserve(total);
    for f in frames {
        out.extend_from_slice(format!("{:05}", f.len()).as_bytes());
        out.extend_from_slice(f);
    }
    Ok(())
}

/// Appends `frames` to `out` back to back (the `ffmpeg -f mjpeg` layout). Frames are written as
/// given; they should be complete JPEGs (SOI..EOI) for the result to split again.
pub fn write_concatenated(frames: &[Bytes], out: &mut Vec<u8>) {
    out.reserve(frames.iter().map(Bytes::len).sum());
    for f in frames {
        out.extend_from_slice(f);
    }
}
