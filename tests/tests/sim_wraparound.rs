//! Sequence number and RTP timestamp wraparound: a server seed is chosen so that the first
//! session's initial sequence number is within a few hundred packets of 65535 and its initial
//! timestamp within a few seconds of 2^32; the client must see every frame, in order, with
//! 90 kHz steps across both wraps, no loss, duplicate or reorder reported — on a clean network,
//! with reordering and duplication around the wrap, and over TCP.

use it::sim::netem::Impair;
use it::sim::{media, seed, Scenario};
use rtsp_core::client::ClientEvent;
use rtsp_core::rng::RngSeed;
use std::time::Duration;

const FRAMES: usize = 50;
/// Frames played: both wraps must happen within them.
const PLAYED: u64 = 250;
/// The server's initial values are at most this far from the wrap.
const SEQ_MARGIN: u32 = 120;
/// ... and at least this far (about 10 frames of ~4 packets), so the sequence number wraps
/// inside the impaired window, which starts after the first packets.
const SEQ_AHEAD: u32 = 40;
const TS_MARGIN: u64 = 3600 * 120;

/// Server seeds (`RngSeed::from_u64(seed)`) whose first session starts within
/// `SEQ_AHEAD..=SEQ_MARGIN` packets of the sequence number wrap and `TS_MARGIN` ticks of the
/// timestamp wrap, with that initial sequence number and timestamp. The server draws the
/// session id (two draws), then SSRC, sequence number and timestamp (each the high 32 bits of
/// one ChaCha20 draw); these were found by replaying that order over seeds 1.. (about one seed
/// in 8 million qualifies, too slow to search here). Checked against RTP-Info below: if the
/// generator or the draw order changes, the test says so.
const WRAP_SEEDS: [(u64, u16, u32); 6] = [
    (698_401, 65_450, 4_294_699_757),
    (5_329_037, 65_461, 4_294_940_863),
    (8_508_131, 65_416, 4_294_550_105),
    (10_200_714, 65_493, 4_294_911_613),
    (13_524_884, 65_481, 4_294_587_656),
    (13_727_344, 65_451, 4_294_565_795),
];

fn wrap(tcp: bool, impair: Option<Impair>, seed: u64) {
    let (server_seed, seq0, ts0) = WRAP_SEEDS[(seed % WRAP_SEEDS.len() as u64) as usize];
    assert!((65_536 - SEQ_MARGIN..=65_536 - SEQ_AHEAD).contains(&u32::from(seq0)));
    assert!(u64::from(ts0) >= (1 << 32) - TS_MARGIN);
    // ~4 packets per frame: reordering happens within a frame's burst or across one frame
    // interval (40 ms), inside the client's 50 ms reordering wait.
    let mut sim = Scenario::new(seed)
        .media(FRAMES, 25.0, true)
        .mtu(400)
        .server(|s| s.seed = Some(RngSeed::from_u64(server_seed)))
        .build();
    // The reordering buffer waits longer than the emulator ever holds a packet back (200 ms), so
    // reordering never costs a frame here.
    let c = sim.add_client(|cfg| cfg.reorder_delay = Duration::from_millis(250));
    let rtp = sim.client(c).rtp;
    // Impairments start after the first packets and end before the last ones: a reordered
    // first packet or a held-back last one would be "lost" for any receiver (see
    // `sim_loss_stats`), which is not what this test is about.
    let window = (
        Duration::from_millis(100),
        Duration::from_secs_f64(PLAYED as f64 / 25.0 - 0.5),
    );
    let reorder = impair.map(|im| {
        sim.net.add(
            "around the wrap",
            move |m| m.to == rtp && m.rtp.is_some() && m.at >= window.0 && m.at < window.1,
            im,
        )
    });
    sim.setup_and_play(c, tcp);
    let info = sim.client(c).events.iter().find_map(|(_, e)| match e {
        ClientEvent::Playing { rtp_info, .. } => rtp_info.first().cloned(),
        _ => None,
    });
    let info = info.expect("RTP-Info");
    assert_eq!(
        (info.seq, info.rtptime),
        (Some(seq0), Some(ts0)),
        "server seed {server_seed}: the server no longer draws id, SSRC, seq, ts in this order — update WRAP_SEEDS"
    );
    sim.run_for(Duration::from_secs_f64(PLAYED as f64 / 25.0));
    sim.request(c, |c| c.pause().unwrap());
    sim.run_for(Duration::from_millis(300));

    let frames = sim.client(c).frames();
    assert!(frames.len() as u64 >= PLAYED, "{} frames", frames.len());
    for (i, (_, ts, data)) in frames.iter().enumerate() {
        assert_eq!(media::frame_index(data), Some(i % FRAMES), "frame {i}");
        assert_eq!(
            *ts,
            ts0.wrapping_add(3600 * i as u32),
            "frame {i} timestamp"
        );
    }
    let last_ts = frames.last().unwrap().1;
    assert!(last_ts < ts0, "the timestamp wrapped");
    if !tcp {
        let seqs: Vec<u16> = sim
            .rtp_to(rtp)
            .iter()
            .map(|r| r.meta.rtp.unwrap().seq)
            .collect();
        assert!(
            seqs.contains(&65_535) && seqs.contains(&0),
            "the sequence number wrapped"
        );
        if reorder.is_some() {
            let wrap_at = sim
                .rtp_to(rtp)
                .iter()
                .find(|r| r.meta.rtp.unwrap().seq == 0)
                .unwrap()
                .meta
                .at;
            assert!(
                wrap_at >= window.0,
                "the wrap ({wrap_at:?}) is inside the impaired window"
            );
        }
    }
    let st = sim.client(c).machine.stats();
    let (dup, re) = reorder.map_or((0, 0), |r| {
        let s = sim.net.stats(r);
        (s.duplicated, s.reordered)
    });
    assert_eq!(st.frames_dropped, 0, "{st:?}");
    assert_eq!(st.duplicates, dup, "{st:?}");
    assert_eq!(st.reordered, re, "{st:?}");
    assert_eq!(st.lost, -(dup as i64), "{st:?}");
}

#[test]
fn sim_wraparound_clean() {
    wrap(false, None, seed(81));
}

#[test]
fn sim_wraparound_tcp() {
    wrap(true, None, seed(82));
}

#[test]
fn sim_wraparound_with_reorder_and_duplicates() {
    for s in 0..3 {
        let im = Impair {
            reorder: 0.1,
            reorder_depth: 2,
            duplicate: 0.05,
            ..Impair::default()
        };
        wrap(false, Some(im), seed(83 + s));
    }
}
