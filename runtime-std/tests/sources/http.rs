//! HTTP sources against a scripted server: multipart streams (plain and chunked), snapshots,
//! error statuses, authentication, losses and reconnection, limits, stopping.

use std::io::Write;
use std::time::{Duration, Instant};

use runtime_std::source::{self, SourceEvent, SourceSpec, SourceState};

use crate::util::*;

fn http(url: String) -> SourceSpec {
    SourceSpec::Http { url }
}

#[test]
fn multipart_frames_arrive_in_order_and_byte_identical() {
    let frames = jpegs(6);
    let body: Vec<u8> = {
        let frames = frames.clone();
        // Parts with and without Content-Length, as cameras send both.
        (0..frames.len())
            .flat_map(|i| part(&frames[i], i % 2 == 0))
            .collect()
    };
    let server = HttpServer::start(move |_, _, s| {
        write_in_pieces(s, multipart_head("").as_bytes(), 7);
        write_in_pieces(s, &body, 777);
        wait_for_close(s);
    });
    let (src, events) = start("cam", http(server.url("/video?x=1")), opts());
    events.expect_state(&SourceState::Connecting);
    events.expect_state(&SourceState::Streaming);
    // The part without a length ends at the next boundary: the last one waits for more.
    let got = events.jpegs(frames.len() - 1);
    assert_eq!(got, frames[..frames.len() - 1]);
    let stats = src.stats();
    assert_eq!(stats.frames, frames.len() as u64 - 1);
    assert_eq!(stats.bytes, got.iter().map(|f| f.len() as u64).sum::<u64>());
    assert_eq!((stats.dropped, stats.reconnects), (0, 0));
    let req = &server.requests()[0];
    assert!(req.starts_with("GET /video?x=1 HTTP/1.1\r\n"), "{req}");
    assert!(
        req.contains(&format!("\r\nHost: 127.0.0.1:{}\r\n", server.port())),
        "{req}"
    );
    assert!(!req.contains("Authorization"), "{req}");
    src.stop();
    assert_eq!(
        events.until_stopped(),
        [SourceEvent::State(SourceState::Stopped)]
    );
}

#[test]
fn chunked_multipart_stream() {
    let frames = jpegs(4);
    let mut body: Vec<u8> = frames.iter().flat_map(|f| part(f, true)).collect();
    body.extend_from_slice(b"--frame--\r\n");
    let server = HttpServer::start(move |i, _, s| {
        if i == 0 {
            let head = multipart_head("Transfer-Encoding: chunked\r\n");
            s.write_all(head.as_bytes()).unwrap();
            write_in_pieces(s, &chunked(&body, 1000), 333);
        }
        wait_for_close(s);
    });
    let (src, events) = start("chunked", http(server.url("/")), opts());
    assert_eq!(events.jpegs_after_streaming(frames.len()), frames);
    // The closing boundary (and the last chunk) end the stream: lost, then reconnect.
    let (reason, _) = events.lost();
    assert!(reason.contains("ended the stream"), "{reason}");
    events.expect_state(&SourceState::Connecting);
    drop(src);
}

#[test]
fn a_snapshot_url_is_polled() {
    let frames = jpegs(3);
    let served = frames.clone();
    let server = HttpServer::start(move |i, _, s| {
        let jpeg = &served[i % served.len()];
        // Every other response has no Content-Length: the close ends it.
        let length = if i % 2 == 0 {
            format!("Content-Length: {}\r\n", jpeg.len())
        } else {
            String::new()
        };
        let head = format!("HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n{length}\r\n");
        s.write_all(head.as_bytes()).unwrap();
        write_in_pieces(s, jpeg, 1000);
    });
    let (src, events) = start("snap", http(server.url("/snap.jpg")), opts());
    events.expect_state(&SourceState::Connecting);
    events.expect_state(&SourceState::Streaming);
    // Six polls with no state change between them: no loss, no reconnect.
    let got = events.jpegs(6);
    let want: Vec<_> = (0..6).map(|i| frames[i % frames.len()].clone()).collect();
    assert_eq!(got, want);
    assert!(server.requests().len() >= 6);
    assert!(server
        .requests()
        .iter()
        .all(|r| r.starts_with("GET /snap.jpg HTTP/1.1\r\n")));
    assert_eq!(src.stats().reconnects, 0);
    drop(src);
}

#[test]
fn not_found_is_lost_with_the_status_line_and_backs_off() {
    let server = HttpServer::start(|_, _, s| {
        let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    });
    let o = opts();
    let (src, events) = start("missing", http(server.url("/nope")), o.clone());
    let (reason, first_wait) = events.lost();
    assert_eq!(reason, "HTTP 404 Not Found");
    assert_eq!(first_wait, o.backoff_min);
    let (reason, second_wait) = events.lost();
    assert_eq!(reason, "HTTP 404 Not Found");
    assert_eq!(second_wait, o.backoff_min * 2);
    assert!(src.stats().reconnects >= 1);
    assert_eq!(src.stats().frames, 0);
}

#[test]
fn credentials_are_sent_as_basic_auth_and_a_401_says_authentication_failed() {
    let frame = jpegs(1).remove(0);
    let server = HttpServer::start(move |_, head, s| {
        // user "user", password "pw".
        if head.contains("\r\nAuthorization: Basic dXNlcjpwdw==\r\n") {
            let h = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                frame.len()
            );
            let _ = s.write_all(h.as_bytes());
            let _ = s.write_all(&frame);
        } else {
            let _ = s.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\nContent-Length: 0\r\n\r\n",
            );
        }
    });
    let with = |url: String| start("auth", http(url), opts());
    let port = server.port();
    let (src, events) = with(format!("http://user:pw@127.0.0.1:{port}/snap"));
    assert!(matches!(events.next_frame(), SourceEvent::Frame { .. }));
    drop(src);

    let (src, events) = with(format!("http://127.0.0.1:{port}/snap"));
    let (reason, _) = events.lost();
    assert!(
        reason.starts_with("authentication failed (HTTP 401 Unauthorized)"),
        "{reason}"
    );
    assert!(reason.contains("no credentials"), "{reason}");
    drop(src);

    let (src, events) = with(format!("http://user:wrong@127.0.0.1:{port}/snap"));
    let (reason, _) = events.lost();
    assert!(reason.contains("refused the credentials"), "{reason}");
    drop(src);
}

#[test]
fn another_content_type_is_lost_naming_it() {
    let server = HttpServer::start(|_, _, s| {
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 2\r\n\r\nhi",
        );
    });
    let (_src, events) = start("html", http(server.url("/")), opts());
    let (reason, _) = events.lost();
    assert!(reason.contains("\"text/html; charset=utf-8\""), "{reason}");
}

#[test]
fn a_server_closing_mid_stream_is_lost_and_frames_resume_after_the_reconnect() {
    let frames = jpegs(5);
    let served = frames.clone();
    let server = HttpServer::start(move |i, _, s| {
        s.write_all(multipart_head("").as_bytes()).unwrap();
        if i == 0 {
            // Two whole parts, then half of the third, then the connection closes.
            for f in &served[..2] {
                s.write_all(&part(f, true)).unwrap();
            }
            let third = part(&served[2], true);
            s.write_all(&third[..third.len() / 2]).unwrap();
        } else {
            for f in &served[2..] {
                s.write_all(&part(f, true)).unwrap();
            }
            wait_for_close(s);
        }
    });
    let (src, events) = start("flaky", http(server.url("/")), opts());
    assert_eq!(events.jpegs_after_streaming(2), frames[..2]);
    match events.state() {
        SourceState::Lost { reason, .. } => assert!(reason.contains("closed"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(events.jpegs_after_streaming(3), frames[2..]);
    let stats = src.stats();
    assert_eq!((stats.frames, stats.reconnects), (5, 1));
}

#[test]
fn no_data_for_the_read_timeout_is_lost() {
    let server = silent_stream_server();
    let mut o = opts();
    o.read_timeout = Duration::from_millis(300);
    let (_src, events) = start("silent", http(server.url("/")), o);
    let (reason, _) = events.lost();
    assert_eq!(reason, "no data for 0.3 s");
}

#[test]
fn stop_interrupts_a_blocked_read_promptly() {
    let server = silent_stream_server();
    let mut o = opts();
    o.read_timeout = Duration::from_secs(120);
    let (src, events) = start("blocked", http(server.url("/")), o);
    server.arrived.recv_timeout(WAIT).expect("the request");
    let t = Instant::now();
    src.stop();
    let took = t.elapsed();
    assert!(took < Duration::from_secs(1), "stop took {took:?}");
    let seen = events.until_stopped();
    assert_eq!(
        seen.first(),
        Some(&SourceEvent::State(SourceState::Connecting))
    );
    assert_no_loss(&seen);
}

#[test]
fn a_frame_over_the_limit_is_dropped_and_counted() {
    let frames = jpegs(2);
    let served = frames.clone();
    let server = HttpServer::start(move |_, _, s| {
        s.write_all(multipart_head("").as_bytes()).unwrap();
        for f in &served {
            s.write_all(&part(f, true)).unwrap();
        }
        wait_for_close(s);
    });
    let mut o = opts();
    o.max_frame_size = frames[0].len() - 1;
    let (src, events) = start("big", http(server.url("/")), o);
    let (reason, _) = events.lost();
    assert!(
        reason.contains("larger than the maximum frame size"),
        "{reason}"
    );
    assert!(src.stats().dropped >= 1);
    assert_eq!(src.stats().frames, 0);
}

#[test]
fn a_refused_connection_is_lost_and_https_is_refused_at_spawn() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (sink, events) = collector();
    let _src = source::spawn(
        "nobody",
        http(format!("http://127.0.0.1:{port}/")),
        opts(),
        sink.clone(),
    )
    .unwrap();
    let (reason, _) = events.lost();
    assert!(reason.contains("refused"), "{reason}");
    let e = source::spawn("tls", http("https://127.0.0.1/".into()), opts(), sink).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("no TLS"), "{e}");
}

/// The last events of a source without reconnect.
fn ended(reason: &str, finished: bool) -> [SourceEvent; 2] {
    let reason = reason.to_string();
    [
        SourceEvent::State(SourceState::Ended { reason, finished }),
        SourceEvent::State(SourceState::Stopped),
    ]
}

#[test]
fn without_reconnect_one_attempt_ends_finished_or_failed() {
    let frames = jpegs(3);
    let served = frames.clone();
    let server = HttpServer::start(move |i, _, s| {
        if i == 0 {
            s.write_all(multipart_head("").as_bytes()).unwrap();
            for f in &served[..2] {
                s.write_all(&part(f, true)).unwrap();
            }
            let third = part(&served[2], true);
            s.write_all(&third[..third.len() / 2]).unwrap();
        } else {
            let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let once = source::SourceOptions {
        reconnect: false,
        ..opts()
    };
    // The server closes between frames: the stream's end.
    let (src, events) = start("once", http(server.url("/")), once.clone());
    assert_eq!(events.jpegs_after_streaming(2), frames[..2]);
    assert_eq!(
        events.until_stopped(),
        ended("the server closed the connection", true)
    );
    assert_eq!(src.stats().reconnects, 0);
    // An error status: ended, not finished, and no second request.
    let (src, events) = start("once", http(server.url("/")), once);
    events.expect_state(&SourceState::Connecting);
    assert_eq!(events.until_stopped(), ended("HTTP 404 Not Found", false));
    assert_eq!(src.stats().reconnects, 0);
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn an_unlabelled_body_is_sniffed_multipart_or_jpeg() {
    let frames = jpegs(3);
    let served = frames.clone();
    let server = HttpServer::start(move |i, _, s| {
        match i {
            // `ffmpeg -f mpjpeg -listen 1` without `-content_type`.
            0 => {
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .unwrap();
                for f in &served[..2] {
                    write_in_pieces(s, &part(f, true), 5);
                }
                wait_for_close(s);
            }
            // No Content-Type, a JPEG.
            1 => {
                let head = format!(
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n",
                    served[2].len()
                );
                s.write_all(head.as_bytes()).unwrap();
                s.write_all(&served[2]).unwrap();
            }
            _ => {
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\nhello\r\n",
                );
            }
        }
    });
    let (src, events) = start("sniff", http(server.url("/")), opts());
    assert_eq!(events.jpegs_after_streaming(2), frames[..2]);
    src.stop();
    let (src, events) = start("sniff", http(server.url("/")), opts());
    assert_eq!(events.jpegs_after_streaming(1), frames[2..]);
    src.stop();
    let (_src, events) = start("sniff", http(server.url("/")), opts());
    let (reason, _) = events.lost();
    assert!(
        reason.contains("neither a multipart stream nor a JPEG"),
        "{reason}"
    );
}
