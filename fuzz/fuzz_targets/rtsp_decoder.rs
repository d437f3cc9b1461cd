//! The bounded incremental RTSP decoder. The input (after an 8-byte seed that picks the chunk
//! sizes and the dialect) is decoded in random chunks and in one piece: both must give the
//! same items and the same error. Every decoded message, written back with `Message::write`,
//! must decode to an equal message; interleaved frames likewise with `write_interleaved`.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rtsp_core::message::{write_interleaved, Decoded, Decoder, Limits, ParseError};
use rtsp_mjpeg_fuzz::{chunks, take_prefix};

/// Small limits so the fuzzer reaches them.
fn limits(flags: u8) -> Limits {
    if flags & 2 == 0 {
        Limits::default()
    } else {
        Limits {
            max_line: 64,
            max_headers: 4,
            max_head: 256,
            max_body: 128,
        }
    }
}

fn decoder(flags: u8) -> Decoder {
    Decoder::new(limits(flags)).with_lenient(flags & 1 != 0)
}

/// Decodes `parts` one after the other (draining after each), then flushes at the end if
/// `flush`. Returns the items and the error that stopped decoding.
fn run(flags: u8, parts: &[&[u8]], flush: bool) -> (Vec<Decoded>, Option<ParseError>) {
    let mut d = decoder(flags);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let total: usize = parts.iter().map(|p| p.len()).sum();
    for p in parts {
        buf.extend_from_slice(p);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(d.decode(&mut buf), Err(e.clone()), "errors are sticky");
                    return (items, Some(e));
                }
            }
        }
        let l = d.limits();
        assert!(
            buf.len() <= l.max_head + l.max_body + p.len() + 4 + 65535,
            "unbounded buffering"
        );
    }
    assert_eq!(d.stream_offset() + buf.len() as u64, total as u64);
    if flush {
        for _ in 0..=total {
            match d.flush(&mut buf) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(e) => return (items, Some(e)),
            }
        }
    }
    (items, None)
}

fuzz_target!(|input: &[u8]| {
    let (head, data) = take_prefix::<9>(input);
    let flags = head[0];
    let seed = u64::from_le_bytes(head[1..9].try_into().unwrap());
    let flush = flags & 4 != 0;

    let chunked = run(flags, &chunks(data, seed), flush);
    let whole = run(flags, &[data], flush);
    assert_eq!(chunked.0, whole.0, "chunked and one-piece decoding differ");
    match (&chunked.1, &whole.1) {
        // Which limit is reported first can depend on where the chunks end (a partial line
        // can overflow the head before it is long enough to overflow the line limit).
        (Some(ParseError::TooLarge { .. }), Some(ParseError::TooLarge { .. })) => {}
        (a, b) => assert_eq!(a, b, "chunked and one-piece decoding end differently"),
    }

    for item in &whole.0 {
        let mut wire = Vec::new();
        match item {
            Decoded::Message(m) => m.write(&mut wire),
            Decoded::Interleaved { channel, payload } => {
                write_interleaved(*channel, payload, &mut wire)
            }
        }
        // Re-parse with generous limits: writing may normalise (e.g. add Content-Length).
        let mut d = Decoder::new(Limits {
            max_line: 1 << 20,
            max_headers: 1 << 10,
            max_head: 1 << 22,
            max_body: 1 << 22,
        })
        .with_lenient(flags & 1 != 0);
        let mut buf = BytesMut::from(&wire[..]);
        match d.decode(&mut buf) {
            Ok(Some(again)) => {
                assert_eq!(
                    &again, item,
                    "re-written item decodes differently: {wire:?}"
                )
            }
            other => panic!("re-written item does not decode: {other:?} {wire:?}"),
        }
        assert!(buf.is_empty(), "re-written item left bytes over");
    }
});
