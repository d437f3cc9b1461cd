//! The `mjpeg-tool` binary, run as a script would: exit statuses, outputs, error messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const OPTIMAL_420: &[u8] = include_bytes!("../../../mjpeg/testdata/ffmpeg-420-optimal.jpg");
const FFMPEG_444: &[u8] = include_bytes!("../../../mjpeg/testdata/ffmpeg-444.jpg");

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mjpeg-tool"))
        .args(args)
        .output()
        .expect("run mjpeg-tool")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// `n` copies of `jpeg`, concatenated, in `dir/name`.
fn file_of(dir: &Path, name: &str, jpeg: &[u8], n: usize) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, jpeg.repeat(n)).expect("write");
    path
}

fn frames(path: &Path) -> (mjpeg::FileFormat, Vec<bytes::Bytes>) {
    let data = bytes::Bytes::from(std::fs::read(path).expect("read"));
    mjpeg::split_frames(&data).expect("split")
}

#[test]
fn gen_writes_a_carriable_test_pattern_in_both_layouts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = dir.path().join("movie.Mjpeg");
    let out = tool(&[
        "gen",
        p(&lab),
        "--size",
        "64x48",
        "--fps",
        "10",
        "--seconds",
        "0.5",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let (format, f) = frames(&lab);
    assert_eq!(format, mjpeg::FileFormat::Lab);
    assert_eq!(f.len(), 5);
    let info = mjpeg::parse_jpeg(&f[0]).expect("JPEG");
    assert_eq!((info.width, info.height), (64, 48));

    let cat = dir.path().join("clip.mjpeg");
    let out = tool(&[
        "gen",
        p(&cat),
        "--size",
        "32x16",
        "--fps",
        "2",
        "--seconds",
        "1",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(frames(&cat).0, mjpeg::FileFormat::Concatenated);
    let out = tool(&["check", p(&cat)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = tool(&["gen", p(&cat), "--size", "64by48"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn info_describes_the_file_and_why_it_is_not_carriable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = file_of(dir.path(), "ffmpeg.mjpeg", FFMPEG_444, 3);
    let out = tool(&["info", p(&f)]);
    assert!(out.status.success(), "{}", text(&out));
    let s = String::from_utf8_lossy(&out.stdout);
    for want in [
        "concatenated",
        "frames:     3",
        "96x64",
        "4:4:4",
        &format!("min {0} / median {0} / max {0}", FFMPEG_444.len()),
        "NOT carriable: 3 of 3",
        "0 losslessly",
        "3 lossily",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    let g = file_of(dir.path(), "optimal.mjpeg", OPTIMAL_420, 2);
    let s = String::from_utf8_lossy(&tool(&["info", p(&g)]).stdout).into_owned();
    assert!(s.contains("non-standard"), "{s}");
    assert!(s.contains("2 losslessly"), "{s}");
}

#[test]
fn check_exit_status_is_0_1_or_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = file_of(dir.path(), "bad.mjpeg", OPTIMAL_420, 2);
    let out = tool(&["check", p(&bad)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("frame 0 at byte 0"), "{s}");
    assert!(s.contains("Huffman"), "{s}");
    let out = tool(&["check", "--quiet", p(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());

    // Truncated: exit 2, the message names the file and the byte offset.
    let mut data = FFMPEG_444.repeat(2);
    data.truncate(FFMPEG_444.len() + 100);
    let trunc = dir.path().join("trunc.mjpeg");
    std::fs::write(&trunc, data).expect("write");
    let out = tool(&["check", p(&trunc)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("trunc.mjpeg"), "{err}");
    assert!(err.contains(&format!("byte {}", FFMPEG_444.len())), "{err}");

    let out = tool(&["check", p(&dir.path().join("missing.mjpeg"))]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn convert_makes_every_frame_carriable_and_switches_layout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut mixed = OPTIMAL_420.repeat(2);
    mixed.extend_from_slice(FFMPEG_444);
    let input = dir.path().join("mixed.mjpeg");
    std::fs::write(&input, &mixed).expect("write");

    let lab = dir.path().join("movie.Mjpeg");
    let out = tool(&["convert", p(&input), p(&lab)]);
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2 re-coded losslessly, 1 re-encoded lossily"),
        "{err}"
    );
    let (format, f) = frames(&lab);
    assert_eq!(format, mjpeg::FileFormat::Lab);
    assert_eq!(f.len(), 3);
    assert_eq!(tool(&["check", p(&lab)]).status.code(), Some(0));

    // Back to concatenated: carriable frames pass through unchanged.
    let cat = dir.path().join("back.mjpeg");
    let out = tool(&["convert", p(&lab), p(&cat)]);
    assert!(out.status.success(), "{}", text(&out));
    let (format, g) = frames(&cat);
    assert_eq!(format, mjpeg::FileFormat::Concatenated);
    assert_eq!(f, g);

    // Lossless only: the 4:4:4 frame makes it fail, naming the frame and its offset.
    let out = tool(&["convert", "--lossless-only", p(&input), p(&cat)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("frame 2 at byte {}", 2 * OPTIMAL_420.len())),
        "{err}"
    );
}

/// The frame rate travels in the `NAME.fps` sidecar: `gen` and `convert --fps` write it,
/// `convert` carries the input's over, `info` shows it (or says it is not recorded); a bad
/// rate is a usage error. No message shows Rust debug formatting.
#[test]
fn the_frame_rate_is_recorded_beside_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clip = dir.path().join("clip.mjpeg");
    let out = tool(&[
        "gen",
        p(&clip),
        "--size",
        "32x16",
        "--fps",
        "12.5",
        "--seconds",
        "1",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("clip.mjpeg.fps")).unwrap(),
        "12.5\n"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("(Concatenated)") && !err.contains("(Lab)"),
        "{err}"
    );
    let out = tool(&["info", p(&clip)]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("frame rate: 12.5 fps (from "),
        "{}",
        text(&out)
    );
    // Carried over by convert, or replaced with --fps.
    let lab = dir.path().join("movie.Mjpeg");
    let out = tool(&["convert", p(&clip), p(&lab)]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("movie.Mjpeg.fps")).unwrap(),
        "12.5\n"
    );
    let out = tool(&["convert", p(&clip), p(&lab), "--fps", "30000/1001"]);
    assert!(out.status.success(), "{}", text(&out));
    let rate = std::fs::read_to_string(dir.path().join("movie.Mjpeg.fps")).unwrap();
    assert_eq!(mjpeg::parse_fps(&rate), Ok(30000.0 / 1001.0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lab format") && !err.contains("(Lab)"),
        "{err}"
    );
    // No sidecar: info says so.
    let bare = file_of(dir.path(), "bare.mjpeg", OPTIMAL_420, 2);
    let out = tool(&["info", p(&bare)]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("frame rate: not recorded"),
        "{}",
        text(&out)
    );
    let out = tool(&["convert", p(&clip), p(&lab), "--fps", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
