//! `mjpeg-tool`: inspect, check, convert and generate MJPEG files for RTP/JPEG streaming.
//!
//! ```text
//! mjpeg-tool info FILE                       # format, frames, size, sampling, RFC 2435 verdict
//! mjpeg-tool check FILE                      # exit 0 carriable, 1 not carriable, 2 error
//! mjpeg-tool convert IN OUT [--quality Q] [--lossless-only] [--format lab|concatenated]
//! mjpeg-tool gen OUT [--size WxH] [--fps N] [--seconds S]
//! ```
//!
//! Output files ending in `.Mjpeg` (exactly, as the course lab names them) are written in the
//! lab format (5 ASCII digits of length before each JPEG); anything else as concatenated JPEG.

use bytes::Bytes;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use mjpeg::transcode::{TranscodeOptions, DEFAULT_QUALITY};
use mjpeg::{FileFormat, JpegInfo, NotCarriable, Sampling};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mjpeg-tool",
    version,
    about = "Inspect, check, convert and generate MJPEG files for RTP/JPEG (RFC 2435) streaming"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Format, frame count, resolution, sampling, frame sizes and whether RFC 2435 can carry it.
    Info {
        /// An MJPEG file (lab `.Mjpeg` or concatenated JPEG).
        file: PathBuf,
    },
    /// Exit status for scripts: 0 if every frame is RFC 2435 carriable, 1 if not, 2 on error.
    Check {
        /// An MJPEG file.
        file: PathBuf,
        /// Print nothing.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Converts between the lab and concatenated layouts, transcoding every frame RFC 2435
    /// cannot carry (lossless re-coding where possible, else 4:2:0 re-encoding).
    Convert {
        /// Input MJPEG file.
        input: PathBuf,
        /// Output file: `.Mjpeg` = lab format, anything else = concatenated JPEG.
        output: PathBuf,
        /// Output layout, overriding the extension.
        #[arg(long, value_enum)]
        format: Option<Layout>,
        /// JPEG quality (1-100) of lossy re-encoding.
        #[arg(long, default_value_t = DEFAULT_QUALITY, value_parser = clap::value_parser!(u8).range(1..=100))]
        quality: u8,
        /// Fail instead of re-encoding lossily.
        #[arg(long)]
        lossless_only: bool,
        /// The frame rate to record for the output (its `OUTPUT.fps` sidecar, which the
        /// server reads); without it, the input's sidecar is carried over if it has one.
        #[arg(long, value_parser = parse_rate)]
        fps: Option<f64>,
    },
    /// Generates a moving test pattern (RFC 2435 carriable, 4:2:0).
    Gen {
        /// Output file: `.Mjpeg` = lab format, anything else = concatenated JPEG.
        output: PathBuf,
        /// Frame size, WIDTHxHEIGHT (multiples of 8 up to 2040 for RTP/JPEG).
        #[arg(long, default_value = "384x288", value_parser = parse_size)]
        size: (u16, u16),
        /// Frames per second: the frame count follows from it, and it is recorded in the
        /// output's `OUTPUT.fps` sidecar (MJPEG files do not store a rate; the server reads it).
        #[arg(long, default_value_t = 25.0, value_parser = parse_rate)]
        fps: f64,
        /// Duration in seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Output layout, overriding the extension.
        #[arg(long, value_enum)]
        format: Option<Layout>,
    },
}

/// MJPEG file layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Layout {
    /// The course lab's: 5 ASCII digits of length, then the JPEG.
    Lab,
    /// JPEG after JPEG, as `ffmpeg -f mjpeg` writes.
    Concatenated,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    mjpeg::parse_fps(s).map_err(|e| e.to_string())
}

/// `clip.mjpeg.fps` for `clip.mjpeg`.
fn sidecar_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(mjpeg::FPS_SIDECAR_EXTENSION);
    PathBuf::from(name)
}

/// The frame rate in `path`'s sidecar: `Ok(None)` without one, an error naming a bad one.
fn read_rate(path: &Path) -> Res<Option<f64>> {
    let sidecar = sidecar_of(path);
    match std::fs::read_to_string(&sidecar) {
        Ok(text) => mjpeg::parse_fps(&text)
            .map(Some)
            .map_err(|e| fail(format!("{}: {e}", sidecar.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(fail(format!("{}: {e}", sidecar.display()))),
    }
}

/// Records `fps` in `path`'s sidecar.
fn write_rate(path: &Path, fps: f64) -> Res<()> {
    let sidecar = sidecar_of(path);
    std::fs::write(&sidecar, mjpeg::fps_text(fps))
        .map_err(|e| fail(format!("{}: {e}", sidecar.display())))
}

/// `lab (.Mjpeg)` / `concatenated JPEG`, for messages.
fn layout_name(layout: Layout) -> &'static str {
    match layout {
        Layout::Lab => "lab format",
        Layout::Concatenated => "concatenated JPEG",
    }
}

fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WIDTHxHEIGHT, got {s:?}"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u16>()
            .ok()
            .filter(|&n| (16..=8192).contains(&n))
            .ok_or_else(|| format!("{v:?} is not a size between 16 and 8192"))
    };
    Ok((parse(w)?, parse(h)?))
}

/// An error to print; the exit status is 2.
struct Failure(String);

type Res<T> = std::result::Result<T, Failure>;

fn fail(msg: impl Into<String>) -> Failure {
    Failure(msg.into())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { file } => info(&file),
        Command::Check { file, quiet } => check(&file, quiet),
        Command::Convert {
            input,
            output,
            format,
            quality,
            lossless_only,
            fps,
        } => convert(&input, &output, format, quality, lossless_only, fps),
        Command::Gen {
            output,
            size,
            fps,
            seconds,
            format,
        } => generate(&output, size, fps, seconds, format),
    };
    match result {
        Ok(code) => code,
        Err(Failure(msg)) => {
            eprintln!("mjpeg-tool: {msg}");
            ExitCode::from(2)
        }
    }
}

/// Reads and splits `path`; errors name the file and the byte offset.
fn load(path: &Path) -> Res<(Bytes, FileFormat, Vec<Bytes>)> {
    let data = std::fs::read(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    let data = Bytes::from(data);
    let (format, frames) =
        mjpeg::split_frames(&data).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    Ok((data, format, frames))
}

/// Byte offset of `frame` in `file` (frames are slices of it).
fn offset_of(file: &[u8], frame: &[u8]) -> usize {
    (frame.as_ptr() as usize).saturating_sub(file.as_ptr() as usize)
}

/// Parses every frame; an error names the file, the frame and the absolute byte offset.
fn parse_all(path: &Path, data: &[u8], frames: &[Bytes]) -> Res<Vec<JpegInfo>> {
    frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            mjpeg::parse_jpeg(f).map_err(|e| {
                fail(format!(
                    "{}: frame {i} at byte {}: {e} (offsets inside the frame)",
                    path.display(),
                    offset_of(data, f)
                ))
            })
        })
        .collect()
}

fn format_name(f: FileFormat) -> &'static str {
    match f {
        FileFormat::Lab => "lab (5-digit length + JPEG, movie.Mjpeg)",
        FileFormat::Concatenated => "concatenated JPEG (ffmpeg -f mjpeg)",
    }
}

fn sampling_text(info: &JpegInfo) -> String {
    let name = match info.sampling {
        Sampling::Yuv420 => "4:2:0",
        Sampling::Yuv422 => "4:2:2",
        Sampling::Yuv444 => "4:4:4",
        Sampling::Gray => "grayscale",
        _ => "other",
    };
    let factors: Vec<String> = info
        .components
        .iter()
        .map(|c| format!("{}x{}", c.h, c.v))
        .collect();
    let process = match info.sof_marker {
        0xC0 => "baseline",
        0xC1 => "extended sequential",
        0xC2 => "progressive",
        _ => "other process",
    };
    let huffman = if info.standard_huffman {
        "standard Huffman tables"
    } else {
        "non-standard (optimized) Huffman tables"
    };
    format!(
        "{name} (factors {}), {process}, {}-bit, {huffman}",
        factors.join(" "),
        info.precision
    )
}

fn info(path: &Path) -> Res<ExitCode> {
    let (data, format, frames) = load(path)?;
    let infos = parse_all(path, &data, &frames)?;
    println!("file:       {}", path.display());
    println!("format:     {}", format_name(format));
    println!("bytes:      {}", data.len());
    println!("frames:     {}", frames.len());
    match read_rate(path)? {
        Some(fps) => println!(
            "frame rate: {fps} fps (from {}), {:.1} s",
            sidecar_of(path).display(),
            frames.len() as f64 / fps
        ),
        None => println!(
            "frame rate: not recorded (the server plays it at its --fps, 25 by default; \
             `mjpeg-tool convert --fps N` records one)"
        ),
    }
    let first = &infos[0];
    let same_size = infos
        .iter()
        .all(|i| (i.width, i.height) == (first.width, first.height));
    println!(
        "resolution: {}x{}{}",
        first.width,
        first.height,
        if same_size {
            ""
        } else {
            " (first frame; sizes vary)"
        }
    );
    println!("sampling:   {}", sampling_text(first));
    let mut sizes: Vec<usize> = frames.iter().map(Bytes::len).collect();
    sizes.sort_unstable();
    println!(
        "frame size: min {} / median {} / max {} bytes",
        sizes[0],
        sizes[sizes.len() / 2],
        sizes[sizes.len() - 1]
    );
    let mut bad = 0usize;
    let mut lossless = 0usize;
    let mut first_reason: Option<(usize, NotCarriable)> = None;
    for (i, (info, f)) in infos.iter().zip(&frames).enumerate() {
        if let Err(reason) = info.check_rtp() {
            bad += 1;
            if mjpeg::transcode::lossless_fix(f).unwrap_or(false) {
                lossless += 1;
            }
            first_reason.get_or_insert((i, reason));
        }
    }
    match first_reason {
        None => println!(
            "RFC 2435:   carriable (RTP/JPEG type {})",
            first.rtp_type().unwrap_or(1)
        ),
        Some((i, reason)) => {
            println!(
                "RFC 2435:   NOT carriable: {bad} of {} frames (first: frame {i}: {reason})",
                frames.len()
            );
            println!(
                "            the server transcodes at load time: {lossless} losslessly \
                 (standard Huffman tables), {} lossily (re-encoded as 4:2:0); \
                 `mjpeg-tool convert` does it once",
                bad - lossless
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check(path: &Path, quiet: bool) -> Res<ExitCode> {
    let (data, _, frames) = load(path)?;
    let infos = parse_all(path, &data, &frames)?;
    let mut bad = infos
        .iter()
        .zip(&frames)
        .enumerate()
        .filter_map(|(i, (info, f))| info.check_rtp().err().map(|r| (i, f, r)));
    match bad.next() {
        None => {
            if !quiet {
                println!("{}: carriable ({} frames)", path.display(), frames.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        Some((i, f, reason)) => {
            if !quiet {
                println!(
                    "{}: NOT carriable: frame {i} at byte {}: {reason} ({} more frames not carriable)",
                    path.display(),
                    offset_of(&data, f),
                    bad.count()
                );
            }
            Ok(ExitCode::from(1))
        }
    }
}

fn bar(len: usize, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} frames ({per_sec}, eta {eta})")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(what.to_string());
    pb
}

fn layout_for(path: &Path, forced: Option<Layout>) -> Layout {
    forced.unwrap_or_else(|| {
        if path.extension().and_then(|e| e.to_str()) == Some("Mjpeg") {
            Layout::Lab
        } else {
            Layout::Concatenated
        }
    })
}

fn write_out(path: &Path, frames: &[Bytes], layout: Layout) -> Res<()> {
    let mut out = Vec::with_capacity(frames.iter().map(|f| f.len() + 5).sum());
    match layout {
        Layout::Lab => mjpeg::write_lab(frames, &mut out)
            .map_err(|e| fail(format!("{}: {e}", path.display())))?,
        Layout::Concatenated => mjpeg::write_concatenated(frames, &mut out),
    }
    std::fs::write(path, out).map_err(|e| fail(format!("{}: {e}", path.display())))
}

fn convert(
    input: &Path,
    output: &Path,
    format: Option<Layout>,
    quality: u8,
    lossless_only: bool,
    fps: Option<f64>,
) -> Res<ExitCode> {
    let fps = match fps {
        Some(fps) => Some(fps),
        None => read_rate(input)?,
    };
    let (data, _, frames) = load(input)?;
    let opts = TranscodeOptions::default()
        .with_quality(quality)
        .with_lossy(!lossless_only);
    let pb = bar(frames.len(), "transcoding");
    let progress = |done: usize| pb.set_position(done as u64);
    let (out, report) = runtime_std::media::transcode_frames(&data, &frames, &opts, &progress)
        .map_err(|e| fail(format!("{}: {e}", input.display())))?;
    pb.finish_and_clear();
    let layout = layout_for(output, format);
    write_out(output, &out, layout)?;
    if let Some(fps) = fps {
        write_rate(output, fps)?;
    }
    let st = report.stats;
    eprintln!(
        "{}: {} frames written ({}{}): {} unchanged, {} re-coded losslessly, {} re-encoded lossily",
        output.display(),
        out.len(),
        layout_name(layout),
        fps.map(|f| format!(", {f} fps")).unwrap_or_default(),
        st.unchanged,
        st.recoded,
        st.reencoded
    );
    if let Some((i, reason)) = report.first_reason {
        eprintln!("  first frame transcoded: frame {i}: {reason}");
    }
    Ok(ExitCode::SUCCESS)
}

fn generate(
    output: &Path,
    (w, h): (u16, u16),
    fps: f64,
    seconds: f64,
    format: Option<Layout>,
) -> Res<ExitCode> {
    let n = fps * seconds;
    if !(1.0..=1_000_000.0).contains(&n) {
        return Err(fail(format!(
            "--fps {fps} x --seconds {seconds} must give between 1 and 1000000 frames"
        )));
    }
    let n = n.round() as u32;
    let pb = bar(n as usize, "generating");
    let frames: Vec<Bytes> = (0..n)
        .map(|i| {
            pb.inc(1);
            mjpeg::testpattern::frame(i, w, h)
        })
        .collect();
    pb.finish_and_clear();
    let layout = layout_for(output, format);
    write_out(output, &frames, layout)?;
    write_rate(output, fps)?;
    eprintln!(
        "{}: {n} frames of {w}x{h} ({}), {fps} fps (recorded in {})",
        output.display(),
        layout_name(layout),
        sidecar_of(output).display()
    );
    Ok(ExitCode::SUCCESS)
}
