//! `--record FILE`: every received frame appended to a file.
//!
//! Each frame (with its lab length prefix) goes to the file in one `write` of the whole frame,
//! unbuffered: whatever ends the process — a signal, `kill -9`, a crash — the file holds whole
//! frames, all but possibly the one being written when the process was killed mid-write,
//! and those play.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The file layout, chosen by the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordFormat {
    /// `.Mjpeg` (exactly, as the lab names it): each frame prefixed by its length in 5
    /// ASCII digits.
    Lab,
    /// Anything else: the JPEGs back to back (what `ffmpeg -f mjpeg` reads).
    Concatenated,
}

impl RecordFormat {
    /// The format for a file name: `.Mjpeg` is the lab's, anything else concatenated JPEG.
    pub fn for_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("Mjpeg") => Self::Lab,
            _ => Self::Concatenated,
        }
    }
}

/// Appends frames to a file.
pub struct Recorder {
    path: PathBuf,
    out: File,
    /// The frame being written (prefix + JPEG), reused.
    buf: Vec<u8>,
    format: RecordFormat,
    /// Frames written.
    pub written: u64,
    /// Frames too large for the lab format's 5-digit prefix (skipped).
    pub skipped: u64,
}

impl Recorder {
    /// Creates (truncates) `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            out: File::create(path)?,
            buf: Vec::new(),
            format: RecordFormat::for_path(path),
            written: 0,
            skipped: 0,
        })
    }

    /// The file's layout.
    pub fn format(&self) -> RecordFormat {
        self.format
    }

    /// Appends one JPEG, whole, in one write. Returns `Ok(false)` when the frame was skipped
    /// (over 99999 bytes in the lab format).
    pub fn write(&mut self, jpeg: &[u8]) -> io::Result<bool> {
        let frame = match self.format {
            RecordFormat::Concatenated => jpeg,
            RecordFormat::Lab => {
                if jpeg.len() > mjpeg::LAB_MAX_FRAME_LEN {
                    self.skipped += 1;
                    return Ok(false);
                }
                self.buf.clear();
                self.buf
                    .extend_from_slice(format!("{:05}", jpeg.len()).as_bytes());
                self.buf.extend_from_slice(jpeg);
                &self.buf
            }
        };
        self.out.write_all(frame)?;
        self.written += 1;
        Ok(true)
    }

    /// Closes the file (nothing is buffered: every frame is already in it).
    pub fn finish(mut self) -> io::Result<PathBuf> {
        self.out.flush()?;
        Ok(self.path)
    }
}

/// Records `jpeg` (after a write error the recording stops, and the error is kept for the
/// end of the run) and offers it to the window, if there is one.
pub fn deliver(
    recorder: &mut Option<Recorder>,
    error: &mut Option<String>,
    window: Option<&std::sync::Arc<crate::window::Shared>>,
    jpeg: bytes::Bytes,
) {
    if let Some(rec) = recorder.as_mut() {
        if let Err(e) = rec.write(&jpeg) {
            *error = Some(e.to_string());
            *recorder = None;
        }
    }
    if let Some(w) = window {
        w.offer(jpeg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("client-std-{}-{name}", std::process::id()))
    }

    #[test]
    fn format_by_extension() {
        assert_eq!(
            RecordFormat::for_path(Path::new("a.Mjpeg")),
            RecordFormat::Lab
        );
        assert_eq!(
            RecordFormat::for_path(Path::new("a.mjpeg")),
            RecordFormat::Concatenated
        );
        assert_eq!(
            RecordFormat::for_path(Path::new("a.jpg")),
            RecordFormat::Concatenated
        );
        assert_eq!(
            RecordFormat::for_path(Path::new("noext")),
            RecordFormat::Concatenated
        );
    }

    #[test]
    fn both_formats_split_back_into_the_frames() {
        let frames = mjpeg::testpattern::frames(3, 32, 16);
        for (name, format) in [
            ("rec.Mjpeg", mjpeg::FileFormat::Lab),
            ("rec.mjpeg", mjpeg::FileFormat::Concatenated),
        ] {
            let path = temp(name);
            let mut rec = Recorder::create(&path).unwrap();
            for f in &frames {
                assert!(rec.write(f).unwrap());
            }
            rec.finish().unwrap();
            let data = Bytes::from(std::fs::read(&path).unwrap());
            let (got_format, got) = mjpeg::split_frames(&data).unwrap();
            assert_eq!(got_format, format);
            assert_eq!(got, frames);
            std::fs::remove_file(&path).unwrap();
        }
    }

    /// Nothing is held back: after every write the file is whole frames only (what a
    /// `kill -9` at that moment leaves).
    #[test]
    fn every_write_leaves_whole_frames_in_the_file() {
        let frames = mjpeg::testpattern::frames(4, 64, 48);
        for name in ["whole.Mjpeg", "whole.mjpeg"] {
            let path = temp(name);
            let mut rec = Recorder::create(&path).unwrap();
            for (i, f) in frames.iter().enumerate() {
                rec.write(f).unwrap();
                let data = Bytes::from(std::fs::read(&path).unwrap());
                let (_, got) = mjpeg::split_frames(&data).unwrap();
                assert_eq!(got, frames[..=i], "{name} after frame {i}");
            }
            drop(rec);
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn lab_format_skips_frames_over_99999_bytes() {
        let path = temp("big.Mjpeg");
        let mut rec = Recorder::create(&path).unwrap();
        assert!(!rec.write(&vec![0u8; 100_000]).unwrap());
        assert_eq!((rec.written, rec.skipped), (0, 1));
        rec.finish().unwrap();
        std::fs::remove_file(&path).unwrap();
    }
}
