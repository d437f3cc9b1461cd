//! End to end over real loopback sockets: a server with a generated file on an ephemeral
//! port, our client doing SETUP/PLAY/PAUSE/PLAY/TEARDOWN, on both runtimes (mio server +
//! std client, std server + mio client), over UDP and TCP interleaved.
//!
//! Checks: every received frame has the file frame's entropy-coded scan data and decodes to
//! the same pixels, in order, none missing; while paused the server's socket layer sends no
//! RTP and the client's socket receives none.

use it::{
    decode_pixels, make_media_dir, recv_until, scan_of, spawn_client, ClientRuntime, Ev,
    ServerRuntime,
};
use rtsp_core::client::TransportChoice;
use std::time::Duration;

const FRAMES: usize = 40;
const FPS: f64 = 20.0;
/// Generous bound for any single step (a loaded CI machine, debug build).
const STEP: Duration = Duration::from_secs(20);

fn lifecycle(server_rt: ServerRuntime, client_rt: ClientRuntime, tcp: bool, lab_format: bool) {
    let (dir, name, frames) = make_media_dir(FRAMES, lab_format);
    let server = it::start_server(server_rt, dir.path(), FPS);
    let url = server.url(&name);
    let client = spawn_client(client_rt, &url, tcp);

    client.command(|c| {
        c.describe().expect("describe");
    });
    recv_until(&client.events, STEP, |e| matches!(e, Ev::Described)).expect("DESCRIBE reply");

    let choice = if tcp {
        TransportChoice::Tcp
    } else {
        TransportChoice::Udp {
            rtp_local: client.rtp_local,
            rtcp_local: client.rtcp_local,
        }
    };
    client.command(move |c| {
        c.setup(choice).expect("setup");
    });
    recv_until(&client.events, STEP, |e| matches!(e, Ev::SetupDone)).expect("SETUP reply");
    let session = client
        .query(|c| c.session_id().map(str::to_string))
        .expect("session id");

    // PLAY until half the frames are in.
    client.command(|c| {
        c.play(None).expect("play");
    });
    let mut got: Vec<(u32, bytes::Bytes)> = Vec::new();
    recv_until(&client.events, STEP, |e| {
        if let Ev::Frame(ts, data) = e {
            got.push((*ts, data.clone()));
        }
        got.len() >= FRAMES / 2
    })
    .expect("first half of the frames");

    // PAUSE: from the reply on, the server must send nothing and the client receive nothing.
    client.command(|c| {
        c.pause().expect("pause");
    });
    recv_until(&client.events, STEP, |e| {
        if let Ev::Frame(ts, data) = e {
            got.push((*ts, data.clone()));
        }
        matches!(e, Ev::Paused)
    })
    .expect("PAUSE reply");
    let sid = session.clone();
    let sent_at_pause = server
        .query(move |s| s.session_stats(&sid).map(|st| st.packets))
        .expect("server session exists while paused");
    let udp_at_pause = server.stats().udp_sent;
    // Stay paused for 15 frame intervals, watching for any frame event.
    let quiet = recv_until(&client.events, Duration::from_secs_f64(15.0 / FPS), |e| {
        if let Ev::Frame(ts, data) = e {
            got.push((*ts, data.clone()));
        }
        false
    });
    assert!(quiet.is_err(), "no event expected while paused");
    let sid = session.clone();
    let sent_after = server
        .query(move |s| s.session_stats(&sid).map(|st| st.packets))
        .expect("server session still exists");
    assert_eq!(sent_at_pause, sent_after, "server sent RTP while paused");
    if !tcp {
        // RTCP SRs may legitimately go out while paused; RTP may not. The runtime counts
        // every datagram it hands to the OS: allow only RTCP (at most a couple of SRs).
        let udp_after = server.stats().udp_sent;
        assert!(
            udp_after - udp_at_pause <= 2,
            "server socket sent {} datagrams while paused",
            udp_after - udp_at_pause
        );
        let received = client.query(|c| c.stats().packets);
        assert_eq!(
            received, sent_at_pause,
            "client socket saw a different packet count than the server sent"
        );
    }

    // PLAY again: resumes where it paused, through to the end of the file.
    client.command(|c| {
        c.play(None).expect("play again");
    });
    recv_until(&client.events, STEP, |e| {
        if let Ev::Frame(ts, data) = e {
            got.push((*ts, data.clone()));
        }
        got.len() >= FRAMES
    })
    .expect("the rest of the frames");

    client.command(|c| {
        c.teardown().expect("teardown");
    });
    recv_until(&client.events, STEP, |e| matches!(e, Ev::TornDown)).expect("TEARDOWN reply");
    let sid = session.clone();
    let gone = server.query(move |s| s.session_stats(&sid).is_none());
    assert!(gone, "server still has the session after TEARDOWN");

    // Every frame, in order, none missing, same scan data, same pixels.
    assert_eq!(got.len(), FRAMES, "frame count");
    let step = (90_000.0 / FPS) as u32;
    for (i, ((ts, data), original)) in got.iter().zip(&frames).enumerate() {
        assert_eq!(
            scan_of(data),
            scan_of(original),
            "frame {i}: scan data differs"
        );
        assert_eq!(
            decode_pixels(data),
            decode_pixels(original),
            "frame {i}: pixels differ"
        );
        if i > 0 {
            assert_eq!(
                ts.wrapping_sub(got[i - 1].0),
                step,
                "frame {i}: timestamp step"
            );
        }
    }
    client.stop();
    server.stop();
}

#[test]
fn udp_mio_server_std_client_lab_file() {
    lifecycle(ServerRuntime::Mio, ClientRuntime::Std, false, true);
}

#[test]
fn tcp_mio_server_std_client_concatenated_file() {
    lifecycle(ServerRuntime::Mio, ClientRuntime::Std, true, false);
}

#[test]
fn udp_std_server_mio_client_concatenated_file() {
    lifecycle(ServerRuntime::Std, ClientRuntime::Mio, false, false);
}

#[test]
fn tcp_std_server_mio_client_lab_file() {
    lifecycle(ServerRuntime::Std, ClientRuntime::Mio, true, true);
}
