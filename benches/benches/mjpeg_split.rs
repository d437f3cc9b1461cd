//! Splitting a 250-frame generated MJPEG file (384x288) in both layouts: the whole file at once
//! (`split_frames`, zero-copy) and streamed through `FrameSplitter` in 64 KiB reads.
//! Throughput is file bytes.
use benches::mjpeg_file;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mjpeg::{split_frames, FileFormat, FrameSplitter};
use std::hint::black_box;

const FRAMES: u32 = 250;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mjpeg_split");
    g.sample_size(20);
    for (name, format) in [
        ("lab", FileFormat::Lab),
        ("concatenated", FileFormat::Concatenated),
    ] {
        let file = mjpeg_file(FRAMES, 384, 288, format);
        g.throughput(Throughput::Bytes(file.len() as u64));
        g.bench_function(format!("{name}/split_frames"), |b| {
            b.iter(|| {
                let (_, frames) = split_frames(black_box(&file)).expect("splits");
                assert_eq!(frames.len(), FRAMES as usize);
                frames
            })
        });
        g.bench_function(format!("{name}/frame_splitter_64k"), |b| {
            b.iter(|| {
                let mut s = FrameSplitter::new();
                let mut n = 0usize;
                for chunk in black_box(&file[..]).chunks(64 * 1024) {
                    s.push(chunk);
                    while let Some(f) = s.next_frame().expect("splits") {
                        n += black_box(f).len();
                    }
                }
                s.finish();
                assert_eq!(s.next_frame(), Ok(None));
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
