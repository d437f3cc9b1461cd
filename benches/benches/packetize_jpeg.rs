//! RFC 2435 packetization of test-pattern frames (384x288 and 1280x720) at MTU 1400: from a
//! parsed frame (`packetize`, what the server does once per frame of a file), without
//! allocating (`packetize_with`), and including the JPEG header parse. Throughput is JPEG bytes.
use benches::{test_frame, RtpFrame, MAX_PAYLOAD};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rtp_core::jpeg::{packetize, packetize_with};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("packetize_jpeg");
    for (w, h) in [(384u16, 288u16), (1280, 720)] {
        let f = RtpFrame::new(test_frame(w, h));
        let payload = f.payload();
        g.throughput(Throughput::Bytes(f.jpeg.len() as u64));
        g.bench_function(format!("{w}x{h}/packetize"), |b| {
            b.iter(|| packetize(black_box(&payload), MAX_PAYLOAD).expect("packetizes"))
        });
        g.bench_function(format!("{w}x{h}/packetize_with"), |b| {
            b.iter(|| {
                let mut n = 0usize;
                packetize_with(black_box(&payload), MAX_PAYLOAD, |p, _last| n += p.len())
                    .expect("packetizes");
                n
            })
        });
        g.bench_function(format!("{w}x{h}/parse_and_packetize"), |b| {
            b.iter(|| RtpFrame::new(black_box(f.jpeg.clone())).payloads(MAX_PAYLOAD))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
