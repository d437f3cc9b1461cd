//! RTP fixed header: parse a 1400-byte RTP/JPEG packet, write a header into a reused buffer,
//! and both (what a server does per packet and session when it stamps shared payloads); and
//! `fixed`: the 12-byte `FixedHeader` the server writes per packet in front of a shared payload.
use benches::{test_frame, RtpFrame};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rtp_core::{FixedHeader, RtpHeader, RtpPacket};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let f = RtpFrame::new(test_frame(384, 288));
    let packet = f.rtp_packets(1000, 90_000).swap_remove(0);
    let mut g = c.benchmark_group("rtp_header");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse", |b| {
        b.iter(|| {
            RtpPacket::parse(black_box(&packet))
                .expect("parses")
                .payload
                .len()
        })
    });
    let header = RtpHeader::new(26, 1000, 90_000, 0x1234_5678);
    let mut out = Vec::with_capacity(64);
    g.bench_function("write", |b| {
        b.iter(|| {
            out.clear();
            black_box(&header).write(&mut out);
            out.len()
        })
    });
    let mut fixed = FixedHeader {
        marker: false,
        payload_type: 26,
        sequence: 1000,
        timestamp: 90_000,
        ssrc: 0x1234_5678,
    };
    g.bench_function("fixed", |b| {
        b.iter(|| {
            fixed.sequence = fixed.sequence.wrapping_add(1);
            black_box(black_box(&fixed).to_bytes())
        })
    });
    g.bench_function("parse_write", |b| {
        b.iter(|| {
            let p = RtpPacket::parse(black_box(&packet)).expect("parses");
            out.clear();
            p.header.write(&mut out);
            out.len() + p.payload.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
