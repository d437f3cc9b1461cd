//! rtsp-load spreads its sessions over source addresses (issue 13): against a server that
//! takes at most 16 connections per IP address, 100 sessions from one address cannot all
//! play; from 127.0.0.2, 127.0.0.3, ... (8 sessions an address by default) every one does.
//! The server's own events say where the sessions came from. Bounded (seconds), loopback
//! only.
//!
//! Needs `target/debug/rtsp-load` (`scripts/test` builds every binary first).

mod interop_client_support;

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use interop_client_support::workspace_binary;
use it::make_media_dir;
use it::peers::{report_fields, run_peer, EventServer};
use rtsp_core::server::{ServerConfig, ServerEvent};

const SESSIONS: usize = 100;
const PER_IP: usize = 16;

#[test]
fn a_hundred_sessions_play_from_several_addresses_under_a_per_ip_limit() {
    let (dir, name, _) = make_media_dir(10, false);
    let config = ServerConfig {
        max_connections_per_ip: PER_IP,
        loop_media: true,
        ..ServerConfig::default()
    };
    assert!(config.max_sessions >= SESSIONS, "{}", config.max_sessions);
    let server = EventServer::start(dir.path(), 25.0, config);
    let rtsp_load = workspace_binary(
        "rtsp-load",
        &["bins/rtsp-load/src", "rtsp-core/src", "runtime-mio/src"],
    );
    let sessions = SESSIONS.to_string();
    let out = run_peer(
        rtsp_load.to_str().expect("utf-8 path"),
        &[
            &server.url(&name),
            "--sessions",
            &sessions,
            "--duration",
            "3",
            "--quiet",
        ],
        Duration::from_secs(60),
    );
    let f = report_fields(&out.stdout);
    assert_eq!(out.code, Some(0), "{}", out.log());
    assert_eq!(f["established"], sessions, "{}", out.log());
    assert_eq!(f["failed"], "0", "{}", out.log());
    // Every session received frames in the measurement window.
    let fps_min: f64 = f["fps_min"].parse().expect("fps_min");
    assert!(fps_min > 0.0, "{}", out.log());
    // The report names the addresses: 13 of them, 127.0.0.2 to 127.0.0.14.
    assert_eq!(f["sources"], "13", "{}", out.log());
    assert_eq!(f["source_range"], "127.0.0.2-127.0.0.14", "{}", out.log());

    // The server saw every session, from at least 7 addresses, none over the limit.
    let mut per_ip: HashMap<IpAddr, usize> = HashMap::new();
    for ev in server.drain_events() {
        if let ServerEvent::SessionCreated { peer, .. } = ev {
            *per_ip.entry(peer.ip()).or_default() += 1;
        }
    }
    assert_eq!(per_ip.values().sum::<usize>(), SESSIONS, "{per_ip:?}");
    assert!(per_ip.len() >= 7, "{per_ip:?}");
    assert!(per_ip.values().all(|&n| n <= 8), "{per_ip:?}");
    assert!(
        per_ip
            .keys()
            .all(|ip| ip.to_string().starts_with("127.0.0.")),
        "{per_ip:?}"
    );
}
