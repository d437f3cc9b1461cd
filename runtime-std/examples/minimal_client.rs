//! A minimal RTSP/MJPEG client on the library: DESCRIBE, SETUP (TCP interleaved), PLAY, print
//! each frame, TEARDOWN after N frames. The sans-IO `Client` machine runs on runtime-std.
//!
//! ```sh
//! cargo run -p runtime-mio --example minimal_server &      # or: server-mio
//! cargo run -p runtime-std --example minimal_client -- rtsp://127.0.0.1:8554/stream 50
//! ```

use rtsp_core::client::{Client, ClientConfig, ClientEvent, TransportChoice};
use rtsp_core::url::RtspUrl;
use runtime_std::{Flow, Runtime};
use std::error::Error;
use std::net::ToSocketAddrs;
use std::time::Instant;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "rtsp://127.0.0.1:8554/stream".to_string());
    let wanted: usize = args.next().map_or(Ok(25), |n| n.parse())?;

    let parsed = RtspUrl::parse(&url)?;
    let addr = (parsed.host(), parsed.port())
        .to_socket_addrs()?
        .next()
        .ok_or("the host has no address")?;

    // The machine owns the RTSP session; the runtime owns the socket and the clock.
    let client = Client::new(ClientConfig::new(url.as_str()), Instant::now())?;
    let mut rt = Runtime::new(client)?;
    rt.connect_tcp(addr)?;
    // Commands reach the machine on the runtime's thread; this one runs first.
    rt.handle().command(|c: &mut Client| {
        let _ = c.describe();
    });

    let mut frames = 0usize;
    let mut status = Ok(());
    rt.run(|c, event| {
        let step = match event {
            ClientEvent::Described { .. } => c.setup(TransportChoice::Tcp).map(drop),
            ClientEvent::SetupDone { .. } => c.play(None).map(drop),
            ClientEvent::Frame { timestamp, data } => {
                frames += 1;
                match mjpeg::parse_jpeg(&data) {
                    Ok(i) => println!(
                        "frame {frames}: rtp time {timestamp}, {}x{}, {} bytes",
                        i.width,
                        i.height,
                        data.len()
                    ),
                    Err(e) => println!("frame {frames}: rtp time {timestamp}: bad JPEG: {e}"),
                }
                if frames == wanted {
                    c.teardown().map(drop)
                } else {
                    Ok(())
                }
            }
            ClientEvent::EndOfStream { .. } => c.teardown().map(drop),
            ClientEvent::TornDown | ClientEvent::Closed => return Flow::Stop,
            ClientEvent::RequestFailed {
                method,
                status: code,
            } => {
                status = Err(format!("{method:?} failed: {code:?}"));
                return Flow::Stop;
            }
            ClientEvent::Error(e) => {
                status = Err(e.to_string());
                return Flow::Stop;
            }
            _ => Ok(()),
        };
        match step {
            Ok(()) => Flow::Continue,
            Err(e) => {
                status = Err(e.to_string());
                Flow::Stop
            }
        }
    })?;
    println!("{frames} frames received");
    Ok(status?)
}
