//! RFC 2435 depacketization: the RTP packets (MTU 1400) of a 384x288 and a 1280x720
//! test-pattern frame parsed, pushed and pulled as one complete JFIF frame per iteration.
//! Throughput is RTP packet bytes.
use benches::{restamp, test_frame, RtpFrame};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rtp_core::jpeg::JpegDepacketizer;
use rtp_core::RtpPacket;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("depacketize_jpeg");
    for (w, h) in [(384u16, 288u16), (1280, 720)] {
        let f = RtpFrame::new(test_frame(w, h));
        let mut packets = f.rtp_packets(0, 0);
        let bytes: usize = packets.iter().map(Vec::len).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        let mut d = JpegDepacketizer::new(16 * 1024 * 1024);
        let (mut seq, mut ts) = (0u16, 0u32);
        g.bench_function(format!("{w}x{h}/{}_packets", packets.len()), |b| {
            b.iter(|| {
                // A new frame each time: next sequence numbers, next timestamp.
                seq = seq.wrapping_add(packets.len() as u16);
                ts = ts.wrapping_add(3600);
                restamp(&mut packets, seq, ts);
                for p in &packets {
                    let pkt = RtpPacket::parse(p).expect("fixture parses");
                    d.push(&pkt).expect("fixture depacketizes");
                }
                d.pull().expect("one frame per iteration")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
