//! Screenshots as RGB pixels: binary PPM (what `/usr/bin/import` and `/usr/bin/convert`
//! write), and the colour bars of `mjpeg::testpattern` (the built-in `sample`) to look for.

use std::path::Path;
use std::process::Command;

/// An RGB picture, 8 bits a channel, rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shot {
    /// Width in pixels.
    pub w: usize,
    /// Height in pixels.
    pub h: usize,
    /// `w * h` RGB triples.
    pub rgb: Vec<u8>,
}

/// The 75% colour bars of `mjpeg::testpattern`, left to right.
pub use mjpeg::testpattern::BARS;

/// Whether two colours are within 40 of each other in every channel (JPEG and scaling).
pub fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= 40)
}

impl Shot {
    /// Binary PPM (P6, maxval 255).
    pub fn parse_ppm(data: &[u8]) -> Self {
        let mut fields = Vec::new();
        let mut i = 0;
        while fields.len() < 4 {
            while data[i].is_ascii_whitespace() {
                i += 1;
            }
            if data[i] == b'#' {
                while data[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            let start = i;
            while !data[i].is_ascii_whitespace() {
                i += 1;
            }
            fields.push(String::from_utf8_lossy(&data[start..i]).into_owned());
        }
        assert_eq!(fields[0], "P6");
        assert_eq!(fields[3], "255");
        let (w, h) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        let rgb = data[i + 1..].to_vec();
        assert_eq!(rgb.len(), w * h * 3);
        Self { w, h, rgb }
    }

    /// An image file (PNG, ...) read through `/usr/bin/convert`.
    pub fn read(path: &Path) -> Self {
        let out = Command::new("timeout")
            .args(["20", "/usr/bin/convert"])
            .arg(path)
            .args(["-depth", "8", "ppm:-"])
            .output()
            .expect("run convert");
        assert!(out.status.success(), "convert {path:?} failed: {out:?}");
        Self::parse_ppm(&out.stdout)
    }

    /// The colour at `(x, y)`.
    pub fn px(&self, x: usize, y: usize) -> [u8; 3] {
        assert!(x < self.w && y < self.h);
        let o = (y * self.w + x) * 3;
        [self.rgb[o], self.rgb[o + 1], self.rgb[o + 2]]
    }

    /// The pixels of a rectangle.
    pub fn region(&self, x: usize, y: usize, w: usize, h: usize) -> Vec<u8> {
        (y..y + h)
            .flat_map(|row| {
                let o = (row * self.w + x) * 3;
                self.rgb[o..o + w * 3].iter().copied()
            })
            .collect()
    }
}
