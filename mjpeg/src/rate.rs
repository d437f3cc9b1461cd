//! The frame rate of an MJPEG file, which the file itself does not record: the text of its
//! sidecar (`clip.mjpeg.fps` next to `clip.mjpeg`), which `mjpeg-tool` writes and the server
//! reads.

use thiserror::Error;

/// Extension appended to a media file's name for its frame-rate sidecar.
pub const FPS_SIDECAR_EXTENSION: &str = "fps";

/// Highest frame rate accepted.
pub const MAX_FPS: f64 = 1000.0;

/// Why a sidecar's text is not a frame rate.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("not a frame rate: {text:?} (write e.g. 25, 29.97 or 30000/1001, at most {MAX_FPS})")]
pub struct RateError {
    /// The text found (its first line, trimmed, at most 40 characters).
    pub text: String,
}

/// The frame rate in a sidecar: a number (`25`, `29.97`) or a ratio (`30000/1001`), alone on
/// its first line (blanks around it, lines starting with `#` before it and anything after it
/// are ignored); positive and at most [`MAX_FPS`].
pub fn parse_fps(text: &str) -> Result<f64, RateError> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    let value = match line.split_once('/') {
        Some((n, d)) => match (n.trim().parse::<f64>(), d.trim().parse::<f64>()) {
            (Ok(n), Ok(d)) if d != 0.0 => Some(n / d),
            _ => None,
        },
        None => line.parse::<f64>().ok(),
    };
    match value {
        Some(v) if v.is_finite() && v > 0.0 && v <= MAX_FPS => Ok(v),
        _ => Err(RateError {
            text: line.chars().take(40).collect(),
        }),
    }
}

/// The sidecar text for `fps` (what [`parse_fps`] reads back): the shortest decimal that
/// gives the same rate, and a newline.
pub fn fps_text(fps: f64) -> String {
    format!("{fps}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_refusals() {
        assert_eq!(parse_fps("25\n"), Ok(25.0));
        assert_eq!(parse_fps("  29.97  "), Ok(29.97));
        assert_eq!(
            parse_fps("# camera 2\n30000/1001\nnotes"),
            Ok(30000.0 / 1001.0)
        );
        for bad in ["", "0", "-5", "abc", "1/0", "nan", "inf", "1001", "25 fps"] {
            assert!(parse_fps(bad).is_err(), "{bad:?}");
        }
        let e = parse_fps("twenty-five").unwrap_err();
        assert!(e.to_string().contains("\"twenty-five\""), "{e}");
        for fps in [25.0, 29.97, 30000.0 / 1001.0, 0.5] {
            assert_eq!(parse_fps(&fps_text(fps)), Ok(fps));
        }
    }
}
