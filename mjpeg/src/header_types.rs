//! Vocabulary of JPEG headers that the parser ([`crate::jpeg`]) and its errors
//! ([`crate::error`]) both use: the chroma subsampling kind and marker names. It depends on
//! neither, so they need not import each other.

/// Chroma subsampling, derived from the frame header's sampling factors.
///
/// The classification is by ratio (e.g. Y 2x2 with Cb/Cr 1x2 is 4:2:2); RFC 2435 additionally
/// needs the exact factors, see [`NotCarriable::Sampling`](crate::NotCarriable::Sampling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sampling {
    /// 4:2:0: luma has twice the chroma resolution horizontally and vertically.
    Yuv420,
    /// 4:2:2: luma has twice the chroma resolution horizontally only.
    Yuv422,
    /// 4:4:4: all components have the same sampling factors.
    Yuv444,
    /// One component (grayscale).
    Gray,
    /// Anything else (4:1:1, 4:4:0, 4 components, Cb and Cr sampled differently, ...).
    Other,
}

impl core::fmt::Display for Sampling {
    /// `4:2:0`, `4:2:2`, `4:4:4`, `grayscale` or `other`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Yuv420 => "4:2:0",
            Self::Yuv422 => "4:2:2",
            Self::Yuv444 => "4:4:4",
            Self::Gray => "grayscale",
            Self::Other => "other",
        })
    }
}

/// Name of a marker, for messages.
pub(crate) fn marker_name(marker: u8) -> &'static str {
    match marker {
        0xC0 => "SOF0",
        0xC1 => "SOF1",
        0xC2 => "SOF2",
        0xC4 => "DHT",
        0xD8 => "SOI",
        0xD9 => "EOI",
        0xDA => "SOS",
        0xDB => "DQT",
        0xDD => "DRI",
        0xFE => "COM",
        0xE0..=0xEF => "APPn",
        _ => "marker",
    }
}
