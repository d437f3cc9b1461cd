//! The client's loss / duplicate / reorder statistics equal what the emulator did to the RTP
//! packets: Gilbert–Elliott burst loss, duplication, reordering, MTU drops and a bandwidth cap
//! with a bounded queue. Impairments apply inside a window with clean packets before and after
//! it, so the first and last packets (which anchor "expected") arrive; fates are exclusive, so
//! every counter is exact:
//!
//! * `duplicates == duplicated`, `reordered == held back`,
//! * `lost == dropped − duplicated` (RFC 3550: duplicates count as received),
//! * `packets == sent − dropped + duplicated`.

use it::sim::netem::{Impair, Loss, RuleId, RuleStats};
use it::sim::{seed, Setup, Sim};
use rtsp_core::server::ServerEvent;
use std::time::Duration;

const FPS: f64 = 25.0;

fn run(seed: u64, impair: Impair, mtu: usize) -> (Sim, RuleId) {
    run_with(seed, impair, mtu, true)
}

/// `windowed`: the rule matches only inside the window; otherwise always, and at the window's
/// end its queue limit is lifted (a bandwidth cap is a property of the link: packets after
/// the window must still queue behind the ones in it, or they would overtake them).
fn run_with(seed: u64, impair: Impair, mtu: usize, windowed: bool) -> (Sim, RuleId) {
    let mut sim = Sim::with_setup(
        seed,
        Setup {
            frames: 100,
            fps: FPS,
            mtu,
            looping: true,
            ..Setup::default()
        },
    );
    let c = sim.add_client(|_| {});
    let rtp = sim.client(c).rtp;
    let window = (Duration::from_secs(2), Duration::from_secs(10));
    let rule = sim.net.add(
        "impaired RTP",
        move |m| {
            m.to == rtp && m.rtp.is_some() && (!windowed || m.at >= window.0 && m.at < window.1)
        },
        impair,
    );
    let udp = sim.client(c).udp();
    sim.request(c, |c| c.setup(udp).unwrap());
    sim.request(c, |c| c.play(None).unwrap());
    sim.run_until(window.1);
    sim.net.rules[rule.0].impair.queue_limit = Duration::from_secs(60);
    sim.run_until(Duration::from_secs(12));
    sim.request(c, |c| c.pause().unwrap());
    // Paused: receiver reports go on (every ~5 s); the last ones carry the final counts.
    sim.run_for(Duration::from_secs(8));
    (sim, rule)
}

fn check(sim: &Sim, rule: RuleId) -> RuleStats {
    let ns = sim.net.stats(rule);
    let st = sim.client(0).machine.stats();
    let sent = sim.rtp_to(sim.client(0).rtp).len() as u64;
    let ctx = format!("seed {}: netem {ns:?}, client {st:?}", sim.seed);
    assert_eq!(st.duplicates, ns.duplicated, "duplicates; {ctx}");
    assert_eq!(st.reordered, ns.reordered, "reordered; {ctx}");
    assert_eq!(
        st.lost,
        ns.dropped() as i64 - ns.duplicated as i64,
        "lost; {ctx}"
    );
    assert_eq!(
        st.packets,
        sent - ns.dropped() + ns.duplicated,
        "packets; {ctx}"
    );
    // What the server hears in the client's last receiver report agrees (RFC 3550: 24-bit
    // signed cumulative loss).
    let last_rr = sim.server_events.iter().rev().find_map(|(_, e)| match e {
        ServerEvent::ReceiverReport {
            cumulative_lost, ..
        } => Some(*cumulative_lost),
        _ => None,
    });
    assert_eq!(last_rr, Some(st.lost as i32), "receiver report; {ctx}");
    ns
}

#[test]
fn sim_loss_stats_burst_loss_duplicates_reorder() {
    let mut total = RuleStats::default();
    for s in 0..6 {
        let im = Impair {
            loss: Loss::GilbertElliott {
                p_gb: 0.03,
                p_bg: 0.3,
                loss_good: 0.01,
                loss_bad: 0.6,
            },
            duplicate: 0.03,
            reorder: 0.04,
            reorder_depth: 1 + s as usize % 3,
            ..Impair::default()
        };
        let (sim, rule) = run(seed(91 + s), im, 400);
        let ns = check(&sim, rule);
        total.lost += ns.lost;
        total.duplicated += ns.duplicated;
        total.reordered += ns.reordered;
    }
    assert!(
        total.lost > 50 && total.duplicated > 20 && total.reordered > 20,
        "the impairments did something: {total:?}"
    );
}

/// Bursts: in the bad state, most packets go.
#[test]
fn sim_loss_stats_long_bursts() {
    let im = Impair {
        loss: Loss::GilbertElliott {
            p_gb: 0.02,
            p_bg: 0.05,
            loss_good: 0.0,
            loss_bad: 1.0,
        },
        ..Impair::default()
    };
    let (sim, rule) = run(seed(97), im, 400);
    let ns = check(&sim, rule);
    assert!(ns.lost > 5, "{ns:?}");
    assert!(sim.client(0).machine.stats().frames_dropped > 0);
}

/// A path MTU below the media's packet size: the big packets (first fragments, carrying the
/// quantization tables) are dropped and counted as lost, and their frames are dropped.
#[test]
fn sim_loss_stats_mtu() {
    let im = Impair {
        mtu: Some(400),
        ..Impair::default()
    };
    let (sim, rule) = run(seed(98), im, 500);
    let ns = check(&sim, rule);
    assert!(ns.mtu_dropped > 100, "{ns:?}");
    let st = sim.client(0).machine.stats();
    assert!(st.frames_dropped >= ns.mtu_dropped.min(199), "{st:?}");
    // Media packetized for the path MTU goes through untouched.
    let (sim, rule) = run(
        seed(99),
        Impair {
            mtu: Some(400),
            ..Impair::default()
        },
        372,
    );
    let ns = check(&sim, rule);
    assert_eq!(ns.mtu_dropped, 0);
    assert_eq!(sim.client(0).machine.stats().frames_dropped, 0);
}

/// A bandwidth cap below the stream's rate, with a 100 ms queue: the excess is tail-dropped,
/// counted exactly; order is kept (a FIFO), so nothing is reordered.
#[test]
fn sim_loss_stats_bandwidth_cap() {
    // ~1.5 KB per frame at 25 fps ≈ 40 KB/s; cap at 25 KB/s.
    let im = Impair {
        bandwidth: Some(25_000),
        queue_limit: Duration::from_millis(100),
        ..Impair::default()
    };
    let (sim, rule) = run_with(seed(100), im, 400, false);
    let ns = check(&sim, rule);
    assert!(ns.queue_dropped > 50, "{ns:?}");
    assert_eq!(sim.client(0).machine.stats().reordered, 0);
    // Above the stream's rate: nothing dropped, only delay.
    let im = Impair {
        bandwidth: Some(200_000),
        ..Impair::default()
    };
    let (sim, rule) = run_with(seed(101), im, 400, false);
    let ns = check(&sim, rule);
    assert_eq!(ns.dropped(), 0);
}

/// The first RTP packet after PLAY is overtaken by the second. PLAY's `RTP-Info: seq=` (which
/// arrives before any media) told the client which packet comes first, so its reordering buffer
/// puts it back in place instead of taking it as late (which lost the first frame and counted
/// one packet fewer than lost).
#[test]
fn sim_loss_stats_reordered_first_packet_keeps_the_first_frame() {
    use std::cell::Cell;
    use std::rc::Rc;
    let mut sim = Sim::with_setup(
        seed(102),
        Setup {
            frames: 100,
            mtu: 400,
            looping: true,
            ..Setup::default()
        },
    );
    let c = sim.add_client(|_| {});
    let rtp = sim.client(c).rtp;
    let first = Rc::new(Cell::new(true));
    sim.net.add(
        "hold the first packet",
        move |m| m.to == rtp && m.rtp.is_some() && first.replace(false),
        Impair {
            reorder: 1.0,
            reorder_depth: 1,
            ..Impair::default()
        },
    );
    let udp = sim.client(c).udp();
    sim.request(c, |c| c.setup(udp).unwrap());
    sim.request(c, |c| c.play(None).unwrap());
    sim.run_for(Duration::from_secs(1));
    let frames = sim.client(c).frames();
    let first = frames.first().map(|f| it::sim::media::frame_index(&f.2));
    assert_eq!(first, Some(Some(0)), "the first frame is lost");
    let st = sim.client(c).machine.stats();
    assert_eq!(
        (st.lost, st.frames_dropped, st.reordered),
        (0, 0, 1),
        "{st:?}"
    );
}
