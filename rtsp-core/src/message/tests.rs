//! Decoder and writer tests: hand-written edge cases, the course-lab dialect, the captured
//! exchanges in `testdata/transcripts/`, and property tests (round trips, arbitrary splits,
//! arbitrary bytes).

use super::*;
use bytes::BytesMut;
use proptest::prelude::*;

fn decode_all(dec: &mut Decoder, buf: &mut BytesMut) -> Result<Vec<Decoded>, ParseError> {
    let mut out = Vec::new();
    while let Some(item) = dec.decode(buf)? {
        out.push(item);
    }
    Ok(out)
}

fn decode_str(s: &str) -> Result<Vec<Decoded>, ParseError> {
    decode_all(&mut Decoder::default(), &mut BytesMut::from(s.as_bytes()))
}

fn one_message(s: &str) -> Message {
    let items = decode_str(s).unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    match items.into_iter().next() {
        Some(Decoded::Message(m)) => m,
        other => panic!("not a message: {other:?}"),
    }
}

fn request(m: Message) -> Request {
    match m {
        Message::Request(r) => r,
        Message::Response(r) => panic!("response {r:?}"),
    }
}

fn response(m: Message) -> Response {
    match m {
        Message::Response(r) => r,
        Message::Request(r) => panic!("request {r:?}"),
    }
}

/// Every strict prefix of `bytes` decodes to `Ok(None)` without consuming a partial item, and
/// the whole gives the same result as decoding it at once.
fn assert_prefixes_need_more(bytes: &[u8]) {
    for i in 0..bytes.len() {
        let mut dec = Decoder::default();
        let mut buf = BytesMut::from(&bytes[..i]);
        let items = decode_all(&mut dec, &mut buf).unwrap();
        assert!(items.is_empty(), "prefix {i} gave {items:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Requests and responses
// ---------------------------------------------------------------------------------------------

#[test]
fn request_crlf() {
    let s = "OPTIONS rtsp://127.0.0.1:8554/test RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Lavf59.27.100\r\n\r\n";
    let r = request(one_message(s));
    assert_eq!(r.method, Method::Options);
    assert_eq!(r.uri, "rtsp://127.0.0.1:8554/test");
    assert_eq!(r.version, Version::RTSP_1_0);
    assert_eq!(r.cseq(), Some(1));
    assert_eq!(
        r.headers.get(&HeaderName::USER_AGENT),
        Some("Lavf59.27.100")
    );
    assert!(r.body.is_empty());
    assert_prefixes_need_more(s.as_bytes());
}

#[test]
fn request_lf_only_and_star() {
    let r = request(one_message("OPTIONS * RTSP/1.0\nCSeq: 1\n\n"));
    assert_eq!(r.uri, "*");
    assert_eq!(r.cseq(), Some(1));
}

#[test]
fn lab_request_line_with_bare_name() {
    let r = request(one_message(
        "SETUP movie.Mjpeg RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/UDP; client_port= 25000\r\n\r\n",
    ));
    assert_eq!(r.method, Method::Setup);
    assert_eq!(r.uri, "movie.Mjpeg");
    let t = Transport::parse(r.headers.get(&HeaderName::TRANSPORT).unwrap()).unwrap();
    assert_eq!(t.client_port, Some((25000, None)));
}

#[test]
fn response_with_body() {
    let body = "v=0\r\ns=x\r\n";
    let s = format!(
        "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let r = response(one_message(&s));
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.reason, "OK");
    assert_eq!(&r.body[..], body.as_bytes());
    assert_prefixes_need_more(s.as_bytes());
}

#[test]
fn header_values_trimmed_names_case_insensitive_unknown_kept() {
    let r = request(one_message(
        "DESCRIBE rtsp://h/x RTSP/1.0\r\ncseq:   3  \r\nuser-agent:\tprobe\r\nX-Custom : a b \r\nEmpty:\r\n\r\n",
    ));
    assert_eq!(r.cseq(), Some(3));
    assert_eq!(r.headers.get(&HeaderName::USER_AGENT), Some("probe"));
    assert_eq!(r.headers.get(&HeaderName::new("x-custom")), Some("a b"));
    assert_eq!(r.headers.get(&HeaderName::new("empty")), Some(""));
    // Spelling as sent is kept (VLC's `Cseq`).
    let r = response(one_message("RTSP/1.0 200 OK\r\nCseq: 4\r\n\r\n"));
    assert_eq!(r.headers.iter().next().unwrap().0.as_str(), "Cseq");
    assert_eq!(r.cseq(), Some(4));
}

#[test]
fn obs_fold_continuation_lines() {
    let r = request(one_message(
        "PLAY rtsp://h/x RTSP/1.0\r\nSession: abc\r\n ;timeout=60\r\n\t\r\nCSeq: 5\r\n\r\n",
    ));
    assert_eq!(r.headers.get(&HeaderName::SESSION), Some("abc ;timeout=60"));
    assert_eq!(
        Session::parse(r.headers.get(&HeaderName::SESSION).unwrap()).unwrap(),
        Session::new("abc").with_timeout(60)
    );
    assert_eq!(r.cseq(), Some(5));
    // A continuation with no header before it is malformed in strict mode.
    let e = decode_str("PLAY * RTSP/1.0\r\n x\r\n\r\n").unwrap_err();
    assert_eq!(
        e,
        ParseError::Malformed {
            offset: 17,
            context: "continuation line"
        }
    );
}

#[test]
fn status_line_variants() {
    let r = response(one_message("RTSP/1.0 461 Unsupported transport\r\n\r\n"));
    assert_eq!(r.status, StatusCode::UNSUPPORTED_TRANSPORT);
    assert_eq!(r.reason, "Unsupported transport");
    let r = response(one_message("RTSP/1.0 200\r\n\r\n"));
    assert_eq!(r.reason, "");
    let r = response(one_message("RTSP/1.0 299 Whatever\r\n\r\n"));
    assert_eq!(r.status, StatusCode(299));
}

/// Fuzz `status-digits` (fuzz/artifacts/rtsp_decoder/crash-c01bbebe…): `020` decoded as status
/// 20, which `Response::write` wrote back as `20` (not 3 digits) and which then did not decode.
#[test]
fn status_code_below_100_is_malformed_and_write_keeps_three_digits() {
    let err = decode_str("RTSP/0.0 020 OK\r\nCSnt: Lavst\n\n").unwrap_err();
    assert!(matches!(err, ParseError::Malformed { .. }), "{err:?}");
    assert!(decode_str("RTSP/1.0 20 OK\r\n\r\n").is_err());
    // Written with three digits, whatever the value.
    let r = response(one_message("RTSP/1.0 100 Continue\r\n\r\n"));
    assert!(r.to_bytes().starts_with(b"RTSP/1.0 100 Continue\r\n"));
    let mut r = r;
    r.status = StatusCode(7);
    assert!(r.to_bytes().starts_with(b"RTSP/1.0 007 "));
}

#[test]
fn other_rtsp_versions_are_parsed_not_rejected() {
    let r = request(one_message(
        "OPTIONS rtsp://h/x RTSP/2.0\r\nCSeq: 9\r\n\r\n",
    ));
    assert_eq!(r.version, Version { major: 2, minor: 0 });
    let r = response(one_message("RTSP/2.0 200 OK\r\nCSeq: 9\r\n\r\n"));
    assert_eq!(r.version, Version { major: 2, minor: 0 });
}

#[test]
fn non_rtsp_protocol_is_a_version_error() {
    assert_eq!(
        decode_str("CSeq: 1\r\n\r\n").unwrap_err(),
        ParseError::Malformed {
            offset: 4,
            context: "space"
        }
    );
    let mut dec = Decoder::default();
    let mut buf = BytesMut::from(&b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"[..]);
    assert_eq!(dec.decode(&mut buf), Err(ParseError::Version { offset: 2 }));
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\n\r\n"[..]);
    assert_eq!(
        Decoder::default().decode(&mut buf),
        Err(ParseError::Version { offset: 0 })
    );
}

#[test]
fn leading_empty_lines_and_keepalive_crlfs() {
    let s = "\r\n\r\n\nOPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n\r\n";
    let mut dec = Decoder::default();
    let mut buf = BytesMut::from(s.as_bytes());
    let items = decode_all(&mut dec, &mut buf).unwrap();
    assert_eq!(items.len(), 2);
    assert!(buf.is_empty());
    assert_eq!(dec.stream_offset(), s.len() as u64);
}

#[test]
fn interleaved_frames_between_messages() {
    let mut wire = Vec::new();
    write_interleaved(0, &[1, 2, 3], &mut wire);
    wire.extend_from_slice(b"RTSP/1.0 200 OK\r\nCSeq: 4\r\n\r\n");
    write_interleaved(1, &[], &mut wire);
    write_interleaved(255, &[0x24; 300], &mut wire);
    wire.extend_from_slice(b"\r\n");
    write_interleaved(0, b"$\r\n", &mut wire);
    let mut buf = BytesMut::from(&wire[..]);
    let items = decode_all(&mut Decoder::default(), &mut buf).unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(
        items[0],
        Decoded::Interleaved {
            channel: 0,
            payload: Bytes::from_static(&[1, 2, 3])
        }
    );
    assert!(matches!(items[1], Decoded::Message(Message::Response(_))));
    assert_eq!(
        items[2],
        Decoded::Interleaved {
            channel: 1,
            payload: Bytes::new()
        }
    );
    assert!(
        matches!(&items[3], Decoded::Interleaved { channel: 255, payload } if payload.len() == 300)
    );
    assert!(
        matches!(&items[4], Decoded::Interleaved { channel: 0, payload } if &payload[..] == b"$\r\n")
    );
    assert_prefixes_need_more(&wire[..7]);
}

#[test]
fn interleaved_header_and_payload_in_separate_reads() {
    // live555 writes the `$`+length header and the RTP packet as separate TCP segments.
    let mut dec = Decoder::default();
    let mut buf = BytesMut::from(&b"$\x00\x00\x05"[..]);
    assert_eq!(dec.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"hello");
    assert_eq!(
        dec.decode(&mut buf),
        Ok(Some(Decoded::Interleaved {
            channel: 0,
            payload: Bytes::from_static(b"hello")
        }))
    );
}

#[test]
fn content_length_rules() {
    // Conflicting values.
    assert!(matches!(
        decode_str("RTSP/1.0 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        Err(ParseError::Malformed { .. })
    ));
    // Repeated equal values are fine.
    let r = response(one_message(
        "RTSP/1.0 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nab",
    ));
    assert_eq!(&r.body[..], b"ab");
    // Not a number.
    assert_eq!(
        decode_str("RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n").unwrap_err(),
        ParseError::Malformed {
            offset: 0,
            context: "Content-Length"
        }
    );
    // No Content-Length: no body, the next bytes are the next message.
    let items =
        decode_str("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\nRTSP/1.0 200 OK\r\nCSeq: 2\r\n\r\n").unwrap();
    assert_eq!(items.len(), 2);
}

#[test]
fn malformed_errors_carry_offset_and_context() {
    let first = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n";
    let s = format!("{first}OPTIONS * RTSP/1.0\r\nCSeq: 2\r\nno colon here\r\n\r\n");
    let mut dec = Decoder::default();
    let mut buf = BytesMut::from(s.as_bytes());
    assert!(dec.decode(&mut buf).unwrap().is_some());
    let err = dec.decode(&mut buf).unwrap_err();
    let line_start = first.len() + "OPTIONS * RTSP/1.0\r\nCSeq: 2\r\n".len();
    // "no" is a token, blanks are allowed before the colon, which is missing at column 3.
    assert_eq!(
        err,
        ParseError::Malformed {
            offset: (line_start + 3) as u64,
            context: "colon"
        }
    );
    // Sticky: the stream cannot continue.
    assert_eq!(dec.decode(&mut buf).unwrap_err(), err);
    assert_eq!(dec.flush(&mut buf).unwrap_err(), err);

    // Garbage where a start line should be.
    assert!(matches!(
        decode_str("\x16\x03\x01\x02\x00\x01\x00\x01\x7f\x03\x03\n"),
        Err(ParseError::Malformed { offset: 0, .. })
    ));
    assert!(matches!(
        decode_str("OPTIONS *\r\n\r\n"),
        Err(ParseError::Malformed { offset: 9, .. })
    ));
    // A space before the version number.
    assert!(decode_str("OPTIONS * RTSP/ 1.0\r\n\r\n").is_err());
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

fn small_limits() -> Limits {
    Limits {
        max_line: 40,
        max_headers: 3,
        max_head: 100,
        max_body: 10,
    }
}

#[test]
fn limit_line_length_detected_before_the_line_ends() {
    let mut dec = Decoder::new(small_limits());
    let mut buf = BytesMut::from(&b"OPTIONS rtsp://host/"[..]);
    assert_eq!(dec.decode(&mut buf), Ok(None));
    buf.extend_from_slice(&[b'a'; 30]);
    assert_eq!(
        dec.decode(&mut buf),
        Err(ParseError::TooLarge {
            what: TooLargeKind::StartLine,
            limit: 40,
            offset: 0
        })
    );
    // A header line that is complete but too long.
    let mut dec = Decoder::new(small_limits());
    let s = format!("OPTIONS * RTSP/1.0\r\nX: {}\r\n\r\n", "b".repeat(40));
    let mut buf = BytesMut::from(s.as_bytes());
    assert_eq!(
        dec.decode(&mut buf),
        Err(ParseError::TooLarge {
            what: TooLargeKind::HeaderLine,
            limit: 40,
            offset: 20
        })
    );
    // Exactly at the limit is fine (CR not counted).
    let s = format!("OPTIONS * RTSP/1.0\r\nX: {}\r\n\r\n", "b".repeat(37));
    let mut buf = BytesMut::from(s.as_bytes());
    assert!(Decoder::new(small_limits())
        .decode(&mut buf)
        .unwrap()
        .is_some());
}

#[test]
fn limit_header_count_head_and_body() {
    let s = "OPTIONS * RTSP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    assert_eq!(
        decode_all(
            &mut Decoder::new(small_limits()),
            &mut BytesMut::from(s.as_bytes())
        ),
        Err(ParseError::TooLarge {
            what: TooLargeKind::Headers,
            limit: 3,
            offset: 38
        })
    );
    let limits = Limits {
        max_headers: 100,
        ..small_limits()
    };
    let s = format!("OPTIONS * RTSP/1.0\r\n{}", "Abc: 12345678\r\n".repeat(6));
    let mut buf = BytesMut::from(s.as_bytes());
    assert_eq!(
        Decoder::new(limits).decode(&mut buf),
        Err(ParseError::TooLarge {
            what: TooLargeKind::Head,
            limit: 100,
            offset: 0
        })
    );
    let s = "RTSP/1.0 200 OK\r\nContent-Length: 11\r\n\r\n";
    assert_eq!(
        Decoder::new(small_limits()).decode(&mut BytesMut::from(s.as_bytes())),
        Err(ParseError::TooLarge {
            what: TooLargeKind::Body,
            limit: 10,
            offset: 0
        })
    );
    let s = "RTSP/1.0 200 OK\r\nContent-Length: 99999999999999999999999999\r\n\r\n";
    let limits = Limits {
        max_line: 100,
        ..small_limits()
    };
    assert!(matches!(
        Decoder::new(limits).decode(&mut BytesMut::from(s.as_bytes())),
        Err(ParseError::TooLarge {
            what: TooLargeKind::Body,
            ..
        })
    ));
    let s = "RTSP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    assert!(Decoder::new(small_limits())
        .decode(&mut BytesMut::from(s.as_bytes()))
        .unwrap()
        .is_some());
}

// ---------------------------------------------------------------------------------------------
// Lenient mode and flush (the course lab)
// ---------------------------------------------------------------------------------------------

#[test]
fn lab_python_client_request_needs_flush() {
    // The lab's Python client: LF only, no final line ending, no empty line.
    let s = "SETUP movie.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000";
    let mut dec = Decoder::new(Limits::default()).with_lenient(true);
    let mut buf = BytesMut::from(s.as_bytes());
    assert_eq!(dec.decode(&mut buf), Ok(None));
    let r = match dec.flush(&mut buf).unwrap() {
        Some(Decoded::Message(m)) => request(m),
        other => panic!("{other:?}"),
    };
    assert_eq!(r.uri, "movie.Mjpeg");
    assert_eq!(r.cseq(), Some(1));
    assert_eq!(
        r.headers.get(&HeaderName::TRANSPORT),
        Some("RTP/UDP; client_port= 25000")
    );
    assert!(buf.is_empty());
    assert_eq!(dec.flush(&mut buf), Ok(None));
    assert_eq!(dec.stream_offset(), s.len() as u64);
    // The next request decodes normally.
    buf.extend_from_slice(b"PLAY movie.Mjpeg RTSP/1.0\nCSeq: 2\nSession: 123456\n");
    assert_eq!(dec.decode(&mut buf), Ok(None));
    assert!(matches!(dec.flush(&mut buf), Ok(Some(Decoded::Message(_)))));
}

#[test]
fn lab_server_reply_without_empty_line_and_file_list() {
    let s = "RTSP/1.0 200 OK\r\nCSeq: 1\r\nSession: 123456\r\nmovie.Mjpeg\r\nother movie.Mjpeg\r\n";
    let mut strict = Decoder::default();
    let mut buf = BytesMut::from(s.as_bytes());
    assert!(matches!(
        strict.flush(&mut buf),
        Err(ParseError::Malformed { .. })
    ));

    let mut dec = Decoder::default().with_lenient(true);
    let mut buf = BytesMut::from(s.as_bytes());
    assert_eq!(dec.decode(&mut buf), Ok(None));
    let r = match dec.flush(&mut buf).unwrap() {
        Some(Decoded::Message(m)) => response(m),
        other => panic!("{other:?}"),
    };
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.cseq(), Some(1));
    assert_eq!(
        Session::parse(r.headers.get(&HeaderName::SESSION).unwrap())
            .unwrap()
            .id,
        "123456"
    );
    assert_eq!(r.headers.len(), 2);
    assert!(buf.is_empty());
}

#[test]
fn lenient_skips_junk_before_a_start_line() {
    let mut dec = Decoder::default().with_lenient(true);
    let mut buf = BytesMut::from(&b"junk line\r\n\x01\x02\nOPTIONS * RTSP/1.0\r\n\r\n"[..]);
    let items = decode_all(&mut dec, &mut buf).unwrap();
    assert_eq!(items.len(), 1);
    // but a foreign protocol is still reported
    let mut buf = BytesMut::from(&b"GET / HTTP/1.0\r\n\r\n"[..]);
    assert!(matches!(
        Decoder::default().with_lenient(true).decode(&mut buf),
        Err(ParseError::Version { .. })
    ));
}

#[test]
fn dialect_is_detected_from_the_first_lab_request_line() {
    // Off by default: the lab's header junk is an error.
    let lab = "SETUP movie.Mjpeg RTSP/1.0\nCSeq: 1\nno colon here\n\n";
    let mut plain = Decoder::default();
    assert!(plain.decode(&mut BytesMut::from(lab.as_bytes())).is_err());
    assert_eq!(plain.dialect(), Dialect::Standard);
    assert_eq!(
        Decoder::default().with_lenient(true).dialect(),
        Dialect::Lab
    );
    // Standard requests (CRLF, or an rtsp:// URL) leave it standard.
    let mut dec = Decoder::default().detect_dialect(true);
    let mut buf = BytesMut::from(&b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n"[..]);
    buf.extend_from_slice(b"SETUP rtsp://h/movie.Mjpeg RTSP/1.0\nCSeq: 2\n\n");
    buf.extend_from_slice(b"SETUP movie.Mjpeg RTSP/1.0\r\nCSeq: 3\r\n\r\n");
    assert_eq!(decode_all(&mut dec, &mut buf).unwrap().len(), 3);
    assert_eq!(dec.dialect(), Dialect::Standard);
    assert!(!dec.is_lenient());
    // The first lab line turns lenient mode on for its own header lines and what follows.
    buf.extend_from_slice(lab.as_bytes());
    let items = decode_all(&mut dec, &mut buf).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        request(match &items[0] {
            Decoded::Message(m) => m.clone(),
            other => panic!("{other:?}"),
        })
        .cseq(),
        Some(1)
    );
    assert_eq!(dec.dialect(), Dialect::Lab);
    buf.extend_from_slice(b"junk\nOPTIONS * RTSP/1.0\r\nCSeq: 4\r\n\r\n");
    assert_eq!(decode_all(&mut dec, &mut buf).unwrap().len(), 1);
    assert_eq!(dec.dialect(), Dialect::Lab);
}

#[test]
fn pending_cseq_of_a_partial_or_failed_message() {
    let mut dec = Decoder::default();
    let mut buf = BytesMut::from(&b"OPTIONS * RTSP/1.0\r\nCSeq: 1"[..]);
    assert_eq!(dec.decode(&mut buf), Ok(None));
    // The CSeq line is not complete yet (`CSeq: 1` may become `CSeq: 12`).
    assert_eq!(dec.pending_cseq(), None);
    buf.extend_from_slice(b"7\r\nUser-Agent: slow");
    assert_eq!(dec.decode(&mut buf), Ok(None));
    assert_eq!(dec.pending_cseq(), Some(17));
    // Head complete, body still arriving.
    buf.extend_from_slice(b"\r\nContent-Length: 4\r\n\r\nab");
    assert_eq!(dec.decode(&mut buf), Ok(None));
    assert_eq!(dec.pending_cseq(), Some(17));
    buf.extend_from_slice(b"cd");
    assert!(matches!(dec.decode(&mut buf), Ok(Some(_))));
    assert_eq!(dec.pending_cseq(), None);

    // After a failure: the CSeq of the failed message, even from lines after the fault.
    let limits = Limits {
        max_line: 40,
        ..Limits::default()
    };
    let long = format!(
        "DESCRIBE rtsp://h/{} RTSP/1.0\r\nCSeq: 5\r\n\r\n",
        "a".repeat(40)
    );
    let mut dec = Decoder::new(limits);
    let e = dec
        .decode(&mut BytesMut::from(long.as_bytes()))
        .unwrap_err();
    assert!(matches!(
        e,
        ParseError::TooLarge {
            what: TooLargeKind::StartLine,
            ..
        }
    ));
    assert_eq!(dec.pending_cseq(), Some(5));
    let mut dec = Decoder::default();
    let garbage = b"\x16\x03\x01 hello garbage\r\nCSeq: 7\r\n\r\n";
    assert!(dec.decode(&mut BytesMut::from(&garbage[..])).is_err());
    assert_eq!(dec.pending_cseq(), Some(7));
    let mut dec = Decoder::default();
    assert!(dec
        .decode(&mut BytesMut::from(
            &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..]
        ))
        .is_err());
    assert_eq!(dec.pending_cseq(), None);
}

#[test]
fn too_large_kinds_keep_their_words() {
    let e = ParseError::TooLarge {
        what: TooLargeKind::Body,
        limit: 10,
        offset: 3,
    };
    assert_eq!(e.to_string(), "body exceeds limit of 10 at byte 3");
    let words: Vec<String> = [
        TooLargeKind::StartLine,
        TooLargeKind::HeaderLine,
        TooLargeKind::Headers,
        TooLargeKind::Head,
        TooLargeKind::Buffered,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        words,
        [
            "start line",
            "header line",
            "headers",
            "head",
            "buffered control data"
        ]
    );
}

#[test]
fn flush_semantics() {
    // Complete items first, then the partial message.
    let mut dec = Decoder::default();
    let mut buf =
        BytesMut::from(&b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2"[..]);
    let a = dec.flush(&mut buf).unwrap().unwrap();
    let b = dec.flush(&mut buf).unwrap().unwrap();
    assert!(matches!(a, Decoded::Message(ref m) if m.cseq() == Some(1)));
    assert!(matches!(b, Decoded::Message(ref m) if m.cseq() == Some(2)));
    assert_eq!(dec.flush(&mut buf), Ok(None));
    // Only CRLFs: nothing.
    let mut buf = BytesMut::from(&b"\r\n\r\n"[..]);
    assert_eq!(Decoder::default().flush(&mut buf), Ok(None));
    assert!(buf.is_empty());
    // A declared body that is not all there is an error.
    let mut buf = BytesMut::from(&b"RTSP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nab"[..]);
    assert!(matches!(
        Decoder::default().flush(&mut buf),
        Err(ParseError::Malformed {
            context: "body (truncated)",
            ..
        })
    ));
    // An incomplete interleaved frame stays buffered.
    let mut buf = BytesMut::from(&b"$\x00\x00\x09abc"[..]);
    assert_eq!(Decoder::default().flush(&mut buf), Ok(None));
    assert_eq!(buf.len(), 7);
    // Unterminated line, flushed after a blank-free head with a trailing CR.
    let mut buf = BytesMut::from(&b"OPTIONS * RTSP/1.0\r\nCSeq: 7\r"[..]);
    match Decoder::default().flush(&mut buf).unwrap() {
        Some(Decoded::Message(m)) => assert_eq!(m.cseq(), Some(7)),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Captured exchanges
// ---------------------------------------------------------------------------------------------

const TRANSCRIPTS: &[(&str, &str)] = &[
    (
        "ffmpeg-tcp",
        include_str!("../../testdata/transcripts/exchange-ffmpeg-tcp.txt"),
    ),
    (
        "ffmpeg-udp",
        include_str!("../../testdata/transcripts/exchange-ffmpeg-udp.txt"),
    ),
    (
        "ffprobe-udp",
        include_str!("../../testdata/transcripts/exchange-ffprobe-udp.txt"),
    ),
    (
        "gst-tcp",
        include_str!("../../testdata/transcripts/exchange-gst-tcp.txt"),
    ),
    (
        "gst-udp",
        include_str!("../../testdata/transcripts/exchange-gst-udp.txt"),
    ),
    (
        "raw-errors",
        include_str!("../../testdata/transcripts/exchange-raw-errors.txt"),
    ),
    (
        "keepalive",
        include_str!("../../testdata/transcripts/exchange-keepalive-timeout6.txt"),
    ),
];

/// Rebuild the wire bytes of each `(connection, direction)` stream of a transcript:
/// returns `(stream key, bytes, number of messages)`.
fn transcript_streams(text: &str, eol: &str) -> Vec<(String, Vec<u8>, usize)> {
    let mut streams: Vec<(String, Vec<u8>, usize)> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let Some(tag) = line.strip_prefix("[t=") else {
            continue;
        };
        if tag.contains("interleaved") || !tag.contains(" tcp#") {
            continue;
        }
        let key = tag
            .split_once(' ')
            .map(|(_, k)| k.trim_end_matches(']').to_string())
            .unwrap_or_default();
        let mut block = Vec::new();
        while i < lines.len() && !lines[i].starts_with("[t=") && !lines[i].starts_with("# ") {
            block.push(lines[i]);
            i += 1;
        }
        let head_end = block
            .iter()
            .position(|l| l.is_empty())
            .unwrap_or(block.len());
        let mut bytes = Vec::new();
        for l in &block[..head_end] {
            bytes.extend_from_slice(l.as_bytes());
            bytes.extend_from_slice(eol.as_bytes());
        }
        bytes.extend_from_slice(eol.as_bytes());
        if let Some(marker) = block.iter().position(|l| l.starts_with("<-- body ")) {
            let declared: usize = block[marker]["<-- body ".len()..]
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let mut body = Vec::new();
            for l in &block[head_end + 1..marker] {
                body.extend_from_slice(l.as_bytes());
                body.extend_from_slice(b"\r\n"); // bodies are CRLF on the wire
            }
            assert_eq!(body.len(), declared, "body length in {key}");
            bytes.extend_from_slice(&body);
        }
        match streams.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, b, n)) => {
                b.extend_from_slice(&bytes);
                *n += 1;
            }
            None => streams.push((key, bytes, 1)),
        }
    }
    streams
}

#[test]
fn transcripts_decode_crlf_and_lf() {
    let mut total = 0;
    for (name, text) in TRANSCRIPTS {
        for eol in ["\r\n", "\n"] {
            for (key, bytes, count) in transcript_streams(text, eol) {
                let mut dec = Decoder::default();
                let mut buf = BytesMut::from(&bytes[..]);
                let items =
                    decode_all(&mut dec, &mut buf).unwrap_or_else(|e| panic!("{name} {key}: {e}"));
                assert_eq!(items.len(), count, "{name} {key}");
                assert!(buf.is_empty(), "{name} {key}");
                for item in &items {
                    let Decoded::Message(m) = item else { panic!() };
                    // Every message in these captures except two hand-written probes has a CSeq.
                    if m.cseq().is_none() {
                        assert_eq!(*name, "raw-errors");
                    }
                    if let Some(v) = m.headers().get(&HeaderName::TRANSPORT) {
                        Transport::parse_list(v).unwrap_or_else(|e| {
                            assert!(v.starts_with("RAW/"), "{v}: {e}");
                            vec![]
                        });
                    }
                    if let Some(v) = m.headers().get(&HeaderName::SESSION) {
                        Session::parse(v).unwrap();
                    }
                    if let Some(v) = m.headers().get(&HeaderName::RANGE) {
                        Range::parse(v).unwrap();
                    }
                    if let Some(v) = m.headers().get(&HeaderName::RTP_INFO) {
                        assert_eq!(RtpInfo::parse_list(v).unwrap().len(), 1);
                    }
                    if let Some(v) = m.headers().get(&HeaderName::PUBLIC) {
                        assert!(Public::parse(v).contains(&Method::Options));
                    }
                    if !m.body().is_empty() {
                        let sdp =
                            crate::sdp::parse(std::str::from_utf8(m.body()).unwrap()).unwrap();
                        assert_eq!(sdp.media.len(), 1);
                    }
                    total += 1;
                }
                // Byte-by-byte gives the same items.
                let mut dec = Decoder::default();
                let mut buf = BytesMut::new();
                let mut again = Vec::new();
                for b in &bytes {
                    buf.extend_from_slice(&[*b]);
                    again.extend(decode_all(&mut dec, &mut buf).unwrap());
                }
                assert_eq!(again, items, "{name} {key} byte by byte");
            }
        }
    }
    assert!(total > 150, "{total}");
}

#[test]
fn transcript_version_2_request_is_returned() {
    let streams = transcript_streams(TRANSCRIPTS[5].1, "\r\n");
    let (_, bytes, _) = streams.iter().find(|(k, _, _)| k == "tcp#1 C->S").unwrap();
    let items = decode_all(&mut Decoder::default(), &mut BytesMut::from(&bytes[..])).unwrap();
    let v2: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Decoded::Message(Message::Request(r)) if r.version.major == 2 => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(v2.len(), 1);
    assert_eq!(v2[0].cseq(), Some(9));
    let foo = items.iter().any(|i| {
        matches!(i, Decoded::Message(Message::Request(r)) if r.method == Method::Extension("FOO".into()))
    });
    assert!(foo);
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

#[test]
fn writer_adds_content_length_and_frames_interleaved() {
    let r = Response::new(StatusCode::OK)
        .with_header(HeaderName::CSEQ, "2")
        .with_header(HeaderName::CONTENT_TYPE, "application/sdp");
    let r = Response {
        body: Bytes::from_static(b"v=0\r\n"),
        ..r
    };
    assert_eq!(
        r.to_bytes(),
        b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n"
    );
    let mut out = Vec::new();
    write_interleaved(1, &[9; 3], &mut out);
    assert_eq!(out, [b'$', 1, 0, 3, 9, 9, 9]);
    let mut out = Vec::new();
    write_interleaved(0, &vec![0; 70_000], &mut out);
    assert_eq!(out.len(), 4 + 65_535);
}

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

fn arb_method() -> impl Strategy<Value = Method> {
    prop_oneof![
        prop::sample::select(vec![
            "OPTIONS",
            "DESCRIBE",
            "ANNOUNCE",
            "SETUP",
            "PLAY",
            "PAUSE",
            "TEARDOWN",
            "GET_PARAMETER",
            "SET_PARAMETER",
            "REDIRECT",
            "RECORD",
        ])
        .prop_map(Method::from_token),
        "[A-Z][A-Za-z0-9_.!~-]{0,12}".prop_map(|t| Method::from_token(&t)),
    ]
}

fn arb_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(
        (
            "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,15}".prop_filter("not Content-Length", |n| {
                !n.eq_ignore_ascii_case("content-length")
            }),
            prop_oneof![
                Just(String::new()),
                "[!-~]([ -~]{0,30}[!-~])?",
                "[!-~\u{a0}-\u{10ffff}]{1,8}",
            ],
        ),
        0..8,
    )
}

fn finish(mut headers: Headers, body: Vec<u8>, cl_when_empty: bool) -> (Headers, Bytes) {
    if !body.is_empty() || cl_when_empty {
        headers.append(HeaderName::CONTENT_LENGTH, body.len().to_string());
    }
    (headers, Bytes::from(body))
}

fn to_headers(list: Vec<(String, String)>) -> Headers {
    let mut h = Headers::new();
    for (n, v) in list {
        h.append(HeaderName::new(n), v);
    }
    h
}

prop_compose! {
    fn arb_version()(major in 0u8..=255, minor in 0u8..=255, v1 in any::<bool>()) -> Version {
        if v1 { Version::RTSP_1_0 } else { Version { major, minor } }
    }
}

prop_compose! {
    fn arb_request()(
        method in arb_method(),
        uri in prop_oneof![
            Just("*".to_string()),
            "rtsp://[a-z0-9.]{1,12}(:[0-9]{1,5})?(/[A-Za-z0-9=._~%-]{0,10}){0,3}(\\?[a-z]=[0-9])?",
            "[A-Za-z0-9._-]{1,12}",
        ],
        version in arb_version(),
        headers in arb_headers(),
        body in proptest::collection::vec(any::<u8>(), 0..120),
        cl_when_empty in any::<bool>(),
    ) -> Message {
        let (headers, body) = finish(to_headers(headers), body, cl_when_empty);
        Message::Request(Request { method, uri, version, headers, body })
    }
}

prop_compose! {
    fn arb_response()(
        version in arb_version(),
        code in 100u16..=999,
        reason in prop_oneof![Just(String::new()), "[A-Za-z]([A-Za-z -]{0,20}[A-Za-z])?"],
        headers in arb_headers(),
        body in proptest::collection::vec(any::<u8>(), 0..120),
        cl_when_empty in any::<bool>(),
    ) -> Message {
        let (headers, body) = finish(to_headers(headers), body, cl_when_empty);
        Message::Response(Response { version, status: StatusCode(code), reason, headers, body })
    }
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![arb_request(), arb_response()]
}

fn arb_item() -> impl Strategy<Value = Decoded> {
    prop_oneof![
        3 => arb_message().prop_map(Decoded::Message),
        1 => (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..80))
            .prop_map(|(channel, p)| Decoded::Interleaved { channel, payload: Bytes::from(p) }),
    ]
}

/// Write a message with the given line ending in the head.
fn write_with_eol(m: &Message, eol: &str) -> Vec<u8> {
    let mut v = Vec::new();
    m.write(&mut v);
    if eol == "\r\n" {
        return v;
    }
    let body_len = m.body().len();
    let (head, body) = v.split_at(v.len() - body_len);
    let mut out = String::from_utf8(head.to_vec())
        .unwrap()
        .replace("\r\n", eol)
        .into_bytes();
    out.extend_from_slice(body);
    out
}

fn write_items(items: &[Decoded], eol: &str, keepalive: &[bool]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if keepalive.get(i).copied().unwrap_or(false) {
            out.extend_from_slice(eol.as_bytes());
        }
        match item {
            Decoded::Message(m) => out.extend_from_slice(&write_with_eol(m, eol)),
            Decoded::Interleaved { channel, payload } => {
                write_interleaved(*channel, payload, &mut out)
            }
        }
    }
    out
}

fn feed_in_chunks(bytes: &[u8], cuts: &[usize], lenient: bool) -> Result<Vec<Decoded>, ParseError> {
    let mut dec = Decoder::default().with_lenient(lenient);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut prev = 0;
    for &c in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let c = c.clamp(prev, bytes.len());
        buf.extend_from_slice(&bytes[prev..c]);
        prev = c;
        out.extend(decode_all(&mut dec, &mut buf)?);
    }
    assert!(buf.is_empty());
    Ok(out)
}

proptest! {
    #[test]
    fn message_roundtrip(m in arb_message(), lf in any::<bool>()) {
        let eol = if lf { "\n" } else { "\r\n" };
        let bytes = write_with_eol(&m, eol);
        let mut buf = BytesMut::from(&bytes[..]);
        let mut dec = Decoder::default();
        prop_assert_eq!(dec.decode(&mut buf).unwrap(), Some(Decoded::Message(m)));
        prop_assert!(buf.is_empty());
        prop_assert_eq!(dec.stream_offset(), bytes.len() as u64);
    }

    #[test]
    fn lenient_decodes_valid_streams_identically(
        items in proptest::collection::vec(arb_item(), 1..4),
        keepalive in proptest::collection::vec(any::<bool>(), 4),
    ) {
        let bytes = write_items(&items, "\r\n", &keepalive);
        prop_assert_eq!(feed_in_chunks(&bytes, &[], true).unwrap(), items);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn split_anywhere_and_byte_by_byte(
        items in proptest::collection::vec(arb_item(), 1..4),
        keepalive in proptest::collection::vec(any::<bool>(), 4),
        lf in any::<bool>(),
    ) {
        let eol = if lf { "\n" } else { "\r\n" };
        let bytes = write_items(&items, eol, &keepalive);
        let whole = feed_in_chunks(&bytes, &[], false).unwrap();
        prop_assert_eq!(&whole, &items);
        for i in 0..=bytes.len() {
            prop_assert_eq!(&feed_in_chunks(&bytes, &[i], false).unwrap(), &items, "split at {}", i);
        }
        let every: Vec<usize> = (1..bytes.len()).collect();
        prop_assert_eq!(&feed_in_chunks(&bytes, &every, false).unwrap(), &items);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(
        chunks in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..64),
                "[ -~\r\n$:]{0,64}".prop_map(String::into_bytes),
                Just(b"RTSP/1.0 200 OK\r\nContent-Length: 5\r\n".to_vec()),
                Just(b"\r\n".to_vec()),
            ],
            0..12,
        ),
        lenient in any::<bool>(),
        flush_at_end in any::<bool>(),
    ) {
        let limits = Limits { max_line: 50, max_headers: 4, max_head: 120, max_body: 30 };
        let mut dec = Decoder::new(limits).with_lenient(lenient);
        let mut buf = BytesMut::new();
        let mut failed = false;
        for c in chunks {
            buf.extend_from_slice(&c);
            loop {
                match dec.decode(&mut buf) {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => { failed = true; break; }
                }
            }
            if failed { break; }
            prop_assert!(buf.len() <= (limits.max_head + limits.max_body).max(4 + 65_535));
            prop_assert!(buf.len() <= limits.max_head + limits.max_body || buf.first() == Some(&b'$'));
        }
        if flush_at_end && !failed {
            while let Ok(Some(_)) = dec.flush(&mut buf) {}
        }
    }

    #[test]
    fn mutated_messages_never_panic(m in arb_message(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut bytes = m.to_bytes();
        for (i, b) in flips {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        for lenient in [false, true] {
            let mut dec = Decoder::default().with_lenient(lenient);
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = dec.decode(&mut buf) {}
            let _ = dec.flush(&mut buf);
        }
    }
}
