//! No corrupt frame under corruption.
//!
//! * Header corruption (a flipped bit in the RTP header — version, payload type, sequence
//!   number, timestamp, SSRC — or in the RFC 2435 header — fragment offset, type, Q, width,
//!   height) is detectable: every frame the client emits must equal a source frame byte for byte
//!   in its scan data.
//! * Corruption anywhere (scan bytes included, which RTP/JPEG cannot detect — real networks rely
//!   on the UDP checksum): the client never panics, emits no more mismatching frames than the
//!   emulator made undetectable flips, and plays cleanly once corruption stops.

use it::sim::netem::{Corrupt, Fate, Impair};
use it::sim::{media, seed, Setup, Sim};
use std::time::Duration;

fn header_bits() -> Vec<(usize, u8)> {
    let mut v = vec![(0, 0x80), (0, 0x40)];
    v.extend((0..7).map(|b| (1, 1u8 << b))); // PT, not the marker
    for byte in (2..12).chain(13..20) {
        v.extend((0..8).map(|b| (byte, 1u8 << b)));
    }
    v
}

fn run(seed: u64, mode: Corrupt, p: f64) -> Sim {
    let mut sim = Sim::with_setup(
        seed,
        Setup {
            frames: 100,
            fps: 25.0,
            mtu: 300, // several fragments per frame
            looping: true,
            ..Setup::default()
        },
    );
    let c = sim.add_client(|_| {});
    let rtp = sim.client(c).rtp;
    sim.net.add(
        "corrupt RTP",
        move |m| m.to == rtp && m.rtp.is_some() && m.at < Duration::from_secs(8),
        Impair {
            corrupt: p,
            corrupt_mode: mode,
            ..Impair::default()
        },
    );
    let udp = sim.client(c).udp();
    sim.request(c, |c| c.setup(udp).unwrap());
    sim.request(c, |c| c.play(None).unwrap());
    sim.run_until(Duration::from_secs(10));
    sim
}

#[test]
fn sim_corruption_header_bits_never_yield_a_corrupt_frame() {
    for s in 0..4 {
        let sim = run(seed(111 + s), Corrupt::Bits(header_bits()), 0.1);
        let frames = sim.client(0).frames();
        let corrupted = sim
            .udp_log
            .iter()
            .filter(|r| matches!(r.fate, Fate::Corrupted { .. }))
            .count();
        assert!(corrupted > 40, "{corrupted} corrupted");
        for (t, ts, data) in &frames {
            assert!(
                media::frame_index(data).is_some(),
                "seed {}: corrupt frame emitted at {t:?} (ts {ts})",
                sim.seed
            );
        }
        assert!(frames.len() > 150, "{} frames", frames.len());
    }
}

#[test]
fn sim_corruption_anywhere_is_contained() {
    for s in 0..4 {
        let sim = run(seed(121 + s), Corrupt::Anywhere, 0.05);
        let undetectable = sim
            .udp_log
            .iter()
            .filter(|r| match r.fate {
                // Payload bytes past the RFC 2435 main header, or the P/X/CC bits, or the marker.
                Fate::Corrupted { byte, mask } => {
                    byte >= 20 || (byte == 0 && mask & 0x3F != 0) || (byte == 1 && mask == 0x80)
                }
                _ => false,
            })
            .count();
        let frames = sim.client(0).frames();
        let bad: Vec<_> = frames
            .iter()
            .filter(|(_, _, d)| media::frame_index(d).is_none())
            .collect();
        assert!(
            bad.len() <= undetectable,
            "seed {}: {} corrupt frames, {undetectable} undetectable flips",
            sim.seed,
            bad.len()
        );
        // After the corruption window: clean, consecutive frames.
        let tail: Vec<usize> = frames
            .iter()
            .filter(|(t, _, _)| *t > Duration::from_millis(8_300))
            .map(|(_, _, d)| media::frame_index(d).expect("clean frame after the window"))
            .collect();
        assert!(tail.len() >= 35, "{} frames after the window", tail.len());
        for w in tail.windows(2) {
            assert_eq!(w[1], (w[0] + 1) % 100);
        }
    }
}
