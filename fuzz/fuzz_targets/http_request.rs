//! The HTTP side of the server: `http::parse_request` on any bytes under small limits, and
//! the whole `Server` (HTTP on, a file and a live stream) fed the same bytes in chunks on one
//! connection, with the clock moving.
//!
//! Invariants:
//! * the parser never panics; a complete head is a prefix within `max_head`, its target
//!   starts with `/`, it has at most `max_headers` headers, and it parses the same alone;
//! * an error stays an error when more bytes follow (a refused head cannot become good);
//! * the machine's first bytes on the connection are an HTTP/1.1 status line (or an RTSP one
//!   when the bytes are not HTTP), nothing is written after `Output::Close`, and a drain ends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtsp_core::io::{drain_bounded, ConnId, Dest, Input, Machine, Output};
use rtsp_core::message::Limits;
use rtsp_core::server::http::{parse_request, BOUNDARY};
use rtsp_core::server::{HttpConfig, LiveFrame, Media, MemoryCatalog, Server, ServerConfig};
use rtsp_mjpeg_fuzz::chunks;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const CONN: ConnId = ConnId(1);

fn base() -> Instant {
    static B: OnceLock<Instant> = OnceLock::new();
    *B.get_or_init(Instant::now)
}

fn frames() -> &'static Vec<bytes::Bytes> {
    static F: OnceLock<Vec<bytes::Bytes>> = OnceLock::new();
    F.get_or_init(|| mjpeg::testpattern::frames(3, 32, 24))
}

fn check_parser(data: &[u8], limits: &Limits) {
    match parse_request(data, limits) {
        Ok(Some((req, len))) => {
            assert!(len <= data.len() && len <= limits.max_head);
            assert!(req.target.starts_with('/'));
            assert!(req.headers.len() <= limits.max_headers.max(1));
            let again = parse_request(&data[..len], limits).expect("the head alone parses");
            assert_eq!(again.map(|(r, l)| (r, l)), Some((req, len)));
        }
        Ok(None) => {}
        Err(e) => {
            let mut more = data.to_vec();
            more.extend_from_slice(b"\r\n\r\n");
            assert!(parse_request(&more, limits).is_err(), "{e} became good");
            assert!([400, 413, 414, 431].contains(&e.status()));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (&knob, data) = data.split_first().unwrap_or((&0, &[]));
    let limits = Limits {
        max_line: 16 + usize::from(knob & 0x3f) * 8,
        max_headers: 1 + usize::from(knob >> 6) * 4,
        max_head: 64 + usize::from(knob) * 4,
        ..Limits::default()
    };
    check_parser(data, &limits);

    let media = Media::from_jpegs("clip", 50.0, frames().clone(), 400).expect("media");
    let live = Media::live("cam", 25.0, &LiveFrame::from_jpeg(frames()[0].clone(), 0, 400).expect("frame")).expect("live");
    let catalog = MemoryCatalog::new().with(media).with(live);
    let config = ServerConfig {
        http: Some(HttpConfig::default()),
        limits,
        ..ServerConfig::default()
    };
    let mut now = base();
    let mut server = Server::new(config, Box::new(catalog), now);
    let mut out = Vec::new();
    let mut closed = false;
    let drain = |server: &mut Server, out: &mut Vec<u8>, closed: &mut bool| {
        drain_bounded(server, 100_000, |o| match o {
            Output::Transmit(t) if t.dest == Dest::Stream(CONN) => {
                assert!(!*closed, "written after Close");
                out.extend_from_slice(&t.data);
            }
            Output::Close(c) if c == CONN => *closed = true,
            _ => {}
        })
        .expect("a drain ends");
    };
    let peer = "127.0.0.1:4000".parse().expect("addr");
    server.handle_input(Input::Connected { now, conn: CONN, peer });
    drain(&mut server, &mut out, &mut closed);
    for (i, piece) in chunks(data, u64::from(knob)).into_iter().enumerate() {
        now += Duration::from_millis(7 * i as u64);
        server.handle_input(Input::Stream { now, conn: CONN, data: piece });
        drain(&mut server, &mut out, &mut closed);
        let frame = LiveFrame::from_jpeg(frames()[i % 3].clone(), i as u64, 400).expect("frame");
        server.push_frame("cam", &frame, now);
        drain(&mut server, &mut out, &mut closed);
    }
    server.handle_input(Input::Timeout(now + Duration::from_secs(1)));
    drain(&mut server, &mut out, &mut closed);
    if !out.is_empty() {
        assert!(
            out.starts_with(b"HTTP/1.1 ") || out.starts_with(b"RTSP/1.0 "),
            "{:?}",
            String::from_utf8_lossy(&out[..out.len().min(64)])
        );
    }
    // A stream's parts are framed: each boundary line is followed by the part's headers.
    let marker = format!("\r\n--{BOUNDARY}\r\n");
    if out.starts_with(b"HTTP/1.1 200 OK") {
        for (i, _) in out.windows(marker.len()).enumerate().filter(|(_, w)| *w == marker.as_bytes()) {
            let rest = &out[i + marker.len()..];
            assert!(rest.is_empty() || rest.starts_with(b"Content-Type: image/jpeg\r\n"));
        }
    }
});
