//! Simulated fan-out, in process and without sockets: a `Server` machine with a
//! `MemoryCatalog` holding 25 test-pattern frames at 384x288, 1000 sessions set up with byte
//! requests (DESCRIBE, SETUP with a UDP transport, PLAY) on 1000 connections, all playing.
//! One iteration advances virtual time by one frame interval (40 ms) and drains `poll_emit`
//! (the zero-copy form server-mio uses) or `poll_output` (the copying form), counting
//! datagrams: the machine's whole cost of sending one frame to every session.
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rtsp_core::io::{ConnId, Dest, Emit, Input, Machine, Output};
use rtsp_core::server::{Media, MemoryCatalog, Server};
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const SESSIONS: u64 = 1000;
const FPS: f64 = 25.0;
const INTERVAL: Duration = Duration::from_millis(40);

fn frames() -> Vec<Bytes> {
    mjpeg::testpattern::frames(25, 384, 288)
}

/// What one drain produced.
#[derive(Default, Debug, Clone, Copy)]
struct Drained {
    udp: u64,
    other: u64,
}

fn drain(s: &mut Server, shared: bool) -> Drained {
    let mut d = Drained::default();
    loop {
        let o = if shared {
            match s.poll_emit() {
                Emit::Shared(t) => {
                    black_box(&t);
                    d.udp += 1;
                    continue;
                }
                Emit::Output(o) => o,
            }
        } else {
            s.poll_output()
        };
        match o {
            Output::Timeout(_) => return d,
            Output::Transmit(t) => {
                if let Dest::Udp { .. } = t.dest {
                    d.udp += 1;
                } else {
                    d.other += 1;
                }
                let _ = black_box(t);
            }
            other => {
                let _ = black_box(other);
                d.other += 1;
            }
        }
    }
}

fn setup(frames: Vec<Bytes>) -> (Server, Instant) {
    // Virtual time runs far ahead during a long measurement; never reap.
    let config = benches::many_sessions_config(Duration::from_secs(10 * 365 * 86_400));
    let media = Media::from_jpegs("sample", FPS, frames, config.mtu).expect("test pattern media");
    let catalog = MemoryCatalog::new().with(media);
    let t0 = Instant::now();
    let mut s = Server::new(config, Box::new(catalog), t0);
    drain(&mut s, true);
    let url = "rtsp://127.0.0.1:8554/sample";
    for i in 0..SESSIONS {
        let conn = ConnId(i + 1);
        let peer: SocketAddr = format!("127.0.0.1:{}", 20_000 + i).parse().unwrap();
        s.handle_input(Input::Connected {
            now: t0,
            conn,
            peer,
        });
        drain(&mut s, true);
        let port = 30_000 + 2 * i;
        let setup = format!(
            "DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n\
             SETUP {url}/stream=0 RTSP/1.0\r\nCSeq: 2\r\n\
             Transport: RTP/AVP;unicast;client_port={port}-{}\r\n\r\n",
            port + 1
        );
        let out = request(&mut s, t0, conn, setup.as_bytes());
        let id = session_id(&out).unwrap_or_else(|| panic!("SETUP failed: {out}"));
        let play = format!("PLAY {url} RTSP/1.0\r\nCSeq: 3\r\nSession: {id}\r\n\r\n");
        let out = request(&mut s, t0, conn, play.as_bytes());
        assert!(out.contains("RTSP/1.0 200 OK"), "PLAY failed: {out}");
    }
    assert_eq!(s.session_count(), SESSIONS as usize);
    (s, t0)
}

/// Feed bytes, return everything written back on the stream as text (media is dropped).
fn request(s: &mut Server, now: Instant, conn: ConnId, data: &[u8]) -> String {
    s.handle_input(Input::Stream { now, conn, data });
    let mut text = String::new();
    loop {
        match s.poll_output() {
            Output::Timeout(_) => return text,
            Output::Transmit(t) if t.dest == Dest::Stream(conn) => {
                text.push_str(&String::from_utf8_lossy(&t.data));
            }
            _ => {}
        }
    }
}

fn session_id(replies: &str) -> Option<String> {
    let line = replies
        .lines()
        .rev()
        .find(|l| l.to_ascii_lowercase().starts_with("session:"))?;
    let v = line.split_once(':')?.1.trim();
    Some(v.split(';').next()?.trim().to_string())
}

fn fanout(c: &mut Criterion) {
    let frames = frames();
    let mut g = c.benchmark_group("fanout_1000");
    for (name, shared) in [("poll_emit", true), ("poll_output", false)] {
        let started = Instant::now();
        let (mut s, t0) = setup(frames.clone());
        let took = started.elapsed();
        eprintln!(
            "fanout_1000/{name}: {SESSIONS} connections set up (DESCRIBE+SETUP, PLAY) in \
             {:.1} ms, {:.1} µs per session",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e6 / SESSIONS as f64
        );
        let mut now = t0;
        // Settle: first frames out, every session on the same schedule.
        for _ in 0..3 {
            now += INTERVAL;
            s.handle_input(Input::Timeout(now));
            drain(&mut s, shared);
        }
        // Datagrams per frame interval, for the per-packet throughput figure.
        let mut total = 0;
        for _ in 0..25 {
            now += INTERVAL;
            s.handle_input(Input::Timeout(now));
            total += drain(&mut s, shared).udp;
        }
        let per_frame = total / 25;
        eprintln!(
            "fanout_1000/{name}: {per_frame} datagrams per frame interval \
             ({:.2} per session)",
            per_frame as f64 / SESSIONS as f64
        );
        g.throughput(Throughput::Elements(per_frame));
        g.bench_function(name, |b| {
            b.iter(|| {
                now += INTERVAL;
                s.handle_input(Input::Timeout(now));
                black_box(drain(&mut s, shared))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
