//! The server machine's per-session cost of setting sessions up, in process and without
//! sockets: 1000 clients, each on its own connection, send DESCRIBE, SETUP and PLAY as bytes
//! (UDP `client_port` or TCP `interleaved` transport); one iteration is a fresh `Server` and
//! all 1000 set-ups, so the per-element figure is the cost of one client's set-up with up to
//! 1000 sessions already live. Also, with 1000 sessions live: one DESCRIBE, one RTCP receiver
//! report (UDP datagram or interleaved frame), and closing a connection with its session.
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rtsp_core::io::{ConnId, Dest, Input, Machine, Output};
use rtsp_core::server::{Media, MemoryCatalog, Server, ServerConfig};
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const SESSIONS: u64 = 1000;
const URL: &str = "rtsp://127.0.0.1:8554/sample";

fn config() -> ServerConfig {
    benches::many_sessions_config(Duration::from_secs(3600))
}

fn catalog(frames: &[Bytes]) -> MemoryCatalog {
    let media = Media::from_jpegs("sample", 25.0, frames.to_vec(), 1400).expect("media");
    MemoryCatalog::new().with(media)
}

/// Drain everything; returns the bytes written to `conn` (replies), dropping the rest.
fn drain(s: &mut Server, conn: Option<ConnId>, text: &mut Vec<u8>) {
    loop {
        match s.poll_output() {
            Output::Timeout(_) => return,
            Output::Transmit(t) if Some(t.dest) == conn.map(Dest::Stream) => {
                text.extend_from_slice(&t.data)
            }
            o => {
                let _ = black_box(o);
            }
        }
    }
}

/// The id of the last `Session:` header in `replies`.
fn session_id(replies: &[u8]) -> String {
    let text = std::str::from_utf8(replies).expect("utf-8 replies");
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with("Session:"))
        .unwrap_or_else(|| panic!("no session in {text}"));
    let v = line["Session:".len()..].trim();
    v.split(';').next().unwrap().to_string()
}

/// Client `i`'s address and its connection id.
fn client(i: u64) -> (ConnId, SocketAddr) {
    let peer = SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 40_000));
    (ConnId(i + 1), peer)
}

/// Connect, DESCRIBE, SETUP and PLAY client `i`; returns its session id and SSRC.
fn set_up_one(
    s: &mut Server,
    now: Instant,
    i: u64,
    tcp: bool,
    text: &mut Vec<u8>,
) -> (String, u32) {
    let (conn, peer) = client(i);
    s.handle_input(Input::Connected { now, conn, peer });
    drain(s, None, text);
    let transport = if tcp {
        "RTP/AVP/TCP;unicast;interleaved=0-1".to_string()
    } else {
        let port = 30_000 + 2 * (i % 10_000);
        format!("RTP/AVP;unicast;client_port={port}-{}", port + 1)
    };
    let req = format!(
        "DESCRIBE {URL} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n\
         SETUP {URL}/stream=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: {transport}\r\n\r\n"
    );
    text.clear();
    s.handle_input(Input::Stream {
        now,
        conn,
        data: req.as_bytes(),
    });
    drain(s, Some(conn), text);
    let id = session_id(text);
    let ssrc = ssrc(text);
    let play = format!("PLAY {URL} RTSP/1.0\r\nCSeq: 3\r\nSession: {id}\r\n\r\n");
    text.clear();
    s.handle_input(Input::Stream {
        now,
        conn,
        data: play.as_bytes(),
    });
    drain(s, Some(conn), text);
    assert!(text.starts_with(b"RTSP/1.0 200 OK"), "PLAY failed");
    (id, ssrc)
}

/// [`set_up_one`] for clients `0..n`.
fn set_up(s: &mut Server, now: Instant, n: u64, tcp: bool) -> Vec<(String, u32)> {
    let mut text = Vec::with_capacity(4096);
    (0..n)
        .map(|i| set_up_one(s, now, i, tcp, &mut text))
        .collect()
}

/// The `ssrc=` of the Transport header in `replies`.
fn ssrc(replies: &[u8]) -> u32 {
    let text = std::str::from_utf8(replies).unwrap();
    let at = text.find("ssrc=").expect("ssrc") + 5;
    let hex: String = text[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    u32::from_str_radix(&hex, 16).unwrap()
}

/// An RTCP RR about `ssrc` (one report block).
fn receiver_report(ssrc: u32) -> Vec<u8> {
    let mut rr = vec![0x81, 201, 0, 7, 0, 0, 0, 1];
    rr.extend_from_slice(&ssrc.to_be_bytes());
    rr.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 7]);
    rr.extend_from_slice(&[0; 8]);
    rr
}

fn bench(c: &mut Criterion) {
    let frames = mjpeg::testpattern::frames(25, 384, 288);
    let mut g = c.benchmark_group("server_setup_1000");
    g.throughput(Throughput::Elements(SESSIONS));
    g.sample_size(10);
    for (name, tcp) in [("udp", false), ("tcp_interleaved", true)] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || catalog(&frames),
                |cat| {
                    let now = Instant::now();
                    let mut s = Server::new(config(), Box::new(cat), now);
                    black_box(set_up(&mut s, now, SESSIONS, tcp).len());
                    s
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();

    // Single operations on a server holding 1000 live sessions.
    let mut g = c.benchmark_group("server_1000_sessions");
    g.throughput(Throughput::Elements(1));
    for (name, tcp) in [("udp", false), ("tcp_interleaved", true)] {
        let now = Instant::now();
        let mut s = Server::new(config(), Box::new(catalog(&frames)), now);
        let ids = set_up(&mut s, now, SESSIONS, tcp);
        let mut text = Vec::new();
        let describe = format!("DESCRIBE {URL} RTSP/1.0\r\nCSeq: 9\r\n\r\n");
        let (conn, peer) = client(SESSIONS / 2);
        g.bench_function(format!("describe/{name}"), |b| {
            b.iter(|| {
                text.clear();
                s.handle_input(Input::Stream {
                    now,
                    conn,
                    data: describe.as_bytes(),
                });
                drain(&mut s, Some(conn), &mut text);
                black_box(text.len())
            })
        });
        let (_, ssrc) = ids[(SESSIONS / 2) as usize];
        let rr = receiver_report(ssrc);
        if tcp {
            let mut framed = vec![b'$', 1];
            framed.extend_from_slice(&(rr.len() as u16).to_be_bytes());
            framed.extend_from_slice(&rr);
            g.bench_function(format!("rtcp_rr/{name}"), |b| {
                b.iter(|| {
                    s.handle_input(Input::Stream {
                        now,
                        conn,
                        data: &framed,
                    });
                    drain(&mut s, None, &mut text);
                })
            });
        } else {
            let port = 30_000 + 2 * (SESSIONS / 2) + 1;
            let remote = SocketAddr::new(peer.ip(), port as u16);
            let local: SocketAddr = "127.0.0.1:6971".parse().unwrap();
            g.bench_function(format!("rtcp_rr/{name}"), |b| {
                b.iter(|| {
                    s.handle_input(Input::Datagram {
                        now,
                        local,
                        remote,
                        data: &rr,
                    });
                    drain(&mut s, None, &mut text);
                })
            });
        }
        // Churn: one client leaves (TEARDOWN for UDP, whose sessions outlive their
        // connection; just the close for TCP, whose session ends with it) and a new client
        // sets up, so the server keeps 1000 sessions.
        let mut next = SESSIONS;
        let mut live: std::collections::VecDeque<(u64, String)> = (0..SESSIONS)
            .zip(ids.into_iter().map(|(id, _)| id))
            .collect();
        g.bench_function(format!("churn/{name}"), |b| {
            b.iter(|| {
                let (old, id) = live.pop_front().unwrap();
                let (conn, _) = client(old);
                if !tcp {
                    let req =
                        format!("TEARDOWN {URL} RTSP/1.0\r\nCSeq: 4\r\nSession: {id}\r\n\r\n");
                    s.handle_input(Input::Stream {
                        now,
                        conn,
                        data: req.as_bytes(),
                    });
                    drain(&mut s, None, &mut text);
                }
                s.handle_input(Input::StreamClosed { now, conn });
                drain(&mut s, None, &mut text);
                let (id, _) = set_up_one(&mut s, now, next, tcp, &mut text);
                live.push_back((next, id));
                next += 1;
            })
        });
        assert_eq!(s.session_count(), SESSIONS as usize);
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
