//! Origin → edges scale-out, end to end on loopback: `scripts/cluster-demo --check` starts an
//! origin server-mio (ffmpeg's test pattern as an `exec:` path; the built-in sample without
//! ffmpeg), three edge server-mio pulling it, and HAProxy (TCP mode, leastconn) in front of
//! the edges, then runs six readers (client-std and ffmpeg, TCP interleaved) through HAProxy.
//! The script is what is tested; this test checks its verdict line and, independently, the
//! files it leaves: the readers' outputs, the servers' status lines and HAProxy's log.
//!
//! Needs `target/debug/{server-mio,client-std}` (`scripts/test` builds every binary first) and
//! HAProxy (Debian `haproxy`; without it the test says SKIPPED and passes). Bounded: the
//! script by `timeout` (45 s), each reader by its own; it takes about 15 s.

mod interop_client_support;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use interop_client_support::{client_std, server_mio};
use it::peers::{have, require_peer};

const EDGES: usize = 3;
const READERS: usize = 6;
const FRAMES: usize = 50;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// `key=value` fields of the script's `cluster-check:` line.
fn verdict(stdout: &str) -> BTreeMap<String, String> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("cluster-check: "))
        .unwrap_or_else(|| panic!("no cluster-check line in:\n{stdout}"));
    line.split_whitespace()
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The number right after the first `key` in `text`.
fn number_after(text: &str, key: &str) -> Option<usize> {
    let at = text.find(key)? + key.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The largest number after `key` (`sessions=`, `live=cam:`) on the `status` lines of a
/// server's log.
fn most(log: &str, key: &str) -> usize {
    log.lines()
        .filter(|l| l.contains(" status "))
        .filter_map(|l| number_after(l, key))
        .max()
        .unwrap_or(0)
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn readers_through_haproxy_reach_every_edge_and_the_origin_carries_one_session_per_edge() {
    if !require_peer("haproxy") {
        return;
    }
    let server = server_mio();
    client_std();
    let source = if have("ffmpeg") {
        "ffmpeg"
    } else {
        eprintln!(
            "NOTE: no ffmpeg: the origin serves its built-in sample, every reader is client-std"
        );
        "sample"
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new("timeout")
        .args(["-k", "5", "45"])
        .arg(root().join("scripts/cluster-demo"))
        .arg("--check")
        .env("BIN_DIR", server.parent().expect("target/<profile>"))
        .env("CLUSTER_DIR", dir.path())
        .env("LB_PORT", free_port().to_string())
        .env("ORIGIN_PORT", "0")
        .env("EDGE_PORTS", ["0"; EDGES].join(" "))
        .env("ORIGIN_SOURCE", source)
        .env("READERS", READERS.to_string())
        .env("FRAMES", FRAMES.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run timeout (coreutils) and bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let log = format!(
        "exit {:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the check failed:\n{log}");

    // The script's verdict.
    let v = verdict(&stdout);
    assert_eq!(v["readers_ok"], format!("{READERS}/{READERS}"), "{log}");
    assert_eq!(v["edges"], EDGES.to_string(), "{log}");
    assert_eq!(v["origin_upstream"], EDGES.to_string(), "{log}");
    let edge_readers: Vec<usize> = v["edge_readers"]
        .split(',')
        .map(|n| n.parse().expect("a count"))
        .collect();
    assert_eq!(edge_readers.len(), EDGES, "{log}");
    assert!(edge_readers.iter().all(|&n| n >= 1), "{log}");

    // What it left behind, read here: every reader got its frames...
    let dir = dir.path();
    for i in 1..=READERS {
        let reader = read(dir, &format!("reader{i}.out"));
        let frames = if reader.starts_with('{') {
            number_after(&reader, "\"frames_received\":").expect("client-std --stats")
        } else {
            // ffmpeg's framemd5: one line per frame after the # header.
            reader.lines().filter(|l| !l.starts_with('#')).count()
        };
        assert!(frames >= FRAMES, "reader{i}: {reader}\n{log}");
    }
    // ...each edge had readers of cam and pulled it once, the origin had one session per
    // edge at most (and one per edge, since every edge had readers)...
    for e in 1..=EDGES {
        let edge = read(dir, &format!("edge{e}.log"));
        assert!(most(&edge, "live=cam:") >= 1, "edge{e}:\n{edge}");
        let before_stop = edge.split("interrupted").next().unwrap_or_default();
        assert_eq!(
            before_stop.matches("connecting source=cam").count(),
            1,
            "edge{e}:\n{edge}"
        );
    }
    let origin = read(dir, "origin.log");
    assert_eq!(most(&origin, "sessions="), EDGES, "origin:\n{origin}");
    // ...and HAProxy spread the readers' connections over every edge (its tcplog names the
    // server of each connection; the script's readiness probe carried no byte).
    let haproxy = read(dir, "haproxy.log");
    let mut per_edge = [0usize; EDGES];
    for line in haproxy.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = fields.iter().position(|f| f.starts_with("edges/edge")) else {
            continue;
        };
        let bytes: u64 = fields.get(at + 2).and_then(|b| b.parse().ok()).unwrap_or(0);
        let edge: usize = fields[at]["edges/edge".len()..]
            .parse()
            .expect("edge number");
        if bytes > 0 {
            per_edge[edge - 1] += 1;
        }
    }
    assert_eq!(
        per_edge.iter().sum::<usize>(),
        READERS,
        "haproxy:\n{haproxy}"
    );
    assert!(per_edge.iter().all(|&n| n >= 1), "haproxy:\n{haproxy}");
}
