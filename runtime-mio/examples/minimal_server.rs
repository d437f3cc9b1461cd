//! A minimal RTSP/MJPEG server on the library: one stream, served with the mio runtime.
//!
//! ```sh
//! cargo run -p runtime-mio --example minimal_server                  # generated test pattern
//! cargo run -p runtime-mio --example minimal_server -- clip.mjpeg    # any MJPEG file
//! ffplay rtsp://127.0.0.1:8554/stream                              # in another terminal
//! ```
//!
//! A file's frames are made RTP/JPEG carriable first (`mjpeg::transcode`): ffmpeg's default
//! output (4:4:4, optimized Huffman tables) is re-coded or re-encoded as 4:2:0.
//! Options: `--port N` (default 8554), `--seconds S` (stop after S seconds; default: run until
//! Ctrl-C).

use bytes::Bytes;
use mjpeg::transcode::{make_carriable_bytes, TranscodeOptions};
use rtsp_core::server::{Media, MemoryCatalog};
use runtime_mio::ServerOptions;
use std::error::Error;
use std::time::Duration;

const NAME: &str = "stream";
const FPS: f64 = 25.0;
const MTU: usize = 1400;

/// The frames to serve: a file's (transcoded where needed) or 5 s of test pattern.
fn frames(file: Option<&str>) -> Result<Vec<Bytes>, Box<dyn Error>> {
    let Some(path) = file else {
        return Ok(mjpeg::testpattern::frames(125, 320, 240));
    };
    let data = Bytes::from(std::fs::read(path)?);
    let (_format, frames) = mjpeg::split_frames(&data).map_err(|e| format!("{path}: {e}"))?;
    let opts = TranscodeOptions::default();
    let mut out = Vec::with_capacity(frames.len());
    for (i, frame) in frames.iter().enumerate() {
        let t =
            make_carriable_bytes(frame, &opts).map_err(|e| format!("{path}: frame {i}: {e}"))?;
        out.push(t.data);
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn Error>> {
    let (mut file, mut port, mut seconds) = (None, 8554u16, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next().ok_or("--port needs a value")?.parse()?,
            "--seconds" => seconds = Some(args.next().ok_or("--seconds needs a value")?.parse()?),
            _ => file = Some(arg),
        }
    }

    // Frames are packetized once into RFC 2435 payloads that every session shares.
    let media = Media::from_jpegs(NAME, FPS, frames(file.as_deref())?, MTU)?.with_looping(true);
    let catalog = MemoryCatalog::new().with(media);

    // `serve` binds the RTSP listener and the RTP/RTCP pair, and runs the sans-IO `Server`
    // machine on a mio event loop thread (runtime_std::serve is the blocking-thread twin).
    let opts = ServerOptions::new(([127, 0, 0, 1], port).into(), Box::new(catalog));
    let server = runtime_mio::serve(opts)?;
    println!("serving {}", server.url(NAME));
    println!("play it: ffplay -rtsp_transport tcp {}", server.url(NAME));

    if let Some(s) = seconds {
        std::thread::sleep(Duration::from_secs_f64(s));
        server.stop(); // ends every session (RTCP BYE) and the loop
    }
    server.join()?;
    Ok(())
}
