//! Decoding RTSP messages captured from real peers: ffmpeg's SETUP and PLAY requests and
//! gst-rtsp-server's DESCRIBE response with its SDP, one message per iteration (what a server
//! or client does per request), plus the SDP parse a client does after DESCRIBE.
use benches::{DESCRIBE_RESPONSE, PLAY_REQUEST, SETUP_REQUEST};
use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rtsp_core::message::{Decoded, Decoder};
use std::hint::black_box;

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_message");
    for (name, text) in [
        ("setup_request", SETUP_REQUEST),
        ("play_request", PLAY_REQUEST),
        ("describe_response_sdp", DESCRIBE_RESPONSE),
    ] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        let mut buf = BytesMut::with_capacity(text.len());
        g.bench_function(name, |b| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(black_box(text.as_bytes()));
                let mut d = Decoder::default();
                match d.decode(&mut buf) {
                    Ok(Some(Decoded::Message(m))) => m,
                    other => panic!("fixture does not decode: {other:?}"),
                }
            })
        });
    }
    let sdp = &DESCRIBE_RESPONSE[DESCRIBE_RESPONSE.find("v=0").expect("has SDP")..];
    g.throughput(Throughput::Bytes(sdp.len() as u64));
    g.bench_function("sdp_parse", |b| {
        b.iter(|| rtsp_core::sdp::parse(black_box(sdp)).expect("fixture SDP parses"))
    });
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
