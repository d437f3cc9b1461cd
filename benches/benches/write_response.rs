//! Writing RTSP responses: a typical PLAY reply (CSeq, Session, Range, RTP-Info, Server, Date)
//! and a SETUP reply (Transport), built from headers and written into a reused buffer, one
//! message per iteration (what a server does per request). Throughput is in bytes written;
//! messages/s is 1 / time per iteration.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rtsp_core::message::{HeaderName, Response, StatusCode};
use std::hint::black_box;

fn play_response(cseq: u32) -> Response {
    Response::new(StatusCode::OK)
        .with_header(HeaderName::CSEQ, cseq.to_string())
        .with_header(HeaderName::SERVER, "rtsp-mjpeg/0.1.0")
        .with_header(HeaderName::DATE, "Wed, 25 Nov 2026 14:07:58 GMT")
        .with_header(HeaderName::SESSION, "5r83Lb3oOrZWJlb0;timeout=55")
        .with_header(HeaderName::RANGE, "npt=0.000-")
        .with_header(
            HeaderName::RTP_INFO,
            "url=rtsp://127.0.0.1:8554/sample/track1;seq=23817;rtptime=1834573921",
        )
}

fn setup_response(cseq: u32) -> Response {
    Response::new(StatusCode::OK)
        .with_header(HeaderName::CSEQ, cseq.to_string())
        .with_header(HeaderName::SERVER, "rtsp-mjpeg/0.1.0")
        .with_header(HeaderName::DATE, "Wed, 25 Nov 2026 14:07:58 GMT")
        .with_header(HeaderName::SESSION, "5r83Lb3oOrZWJlb0;timeout=55")
        .with_header(
            HeaderName::TRANSPORT,
            "RTP/AVP;unicast;client_port=8924-8925;server_port=6970-6971;ssrc=1A2B3C4D",
        )
}

fn write(c: &mut Criterion) {
    let mut g = c.benchmark_group("write_response");
    let mut out = Vec::with_capacity(1024);
    for (name, make) in [
        ("play", play_response as fn(u32) -> Response),
        ("setup", setup_response),
    ] {
        let len = {
            out.clear();
            make(4).write(&mut out);
            out.len()
        };
        g.throughput(Throughput::Bytes(len as u64));
        // Build the response (header strings allocated as the server does) and write it.
        g.bench_function(format!("{name}_build_and_write"), |b| {
            b.iter(|| {
                out.clear();
                make(black_box(4)).write(&mut out);
                black_box(out.len())
            })
        });
        // Write an already built response: the encoder alone.
        let built = make(4);
        g.bench_function(format!("{name}_write_only"), |b| {
            b.iter(|| {
                out.clear();
                black_box(&built).write(&mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, write);
criterion_main!(benches);
