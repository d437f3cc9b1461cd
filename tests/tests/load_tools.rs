//! The measuring tools of BENCHMARKS.md on a small scale, against real sockets: `rtsp-load`
//! against `server-mio` (UDP with and without GRO, TCP) and against `rtsp-ceiling`
//! (`--no-play`), and `udp-ceiling`. Each run is bounded (seconds) and loopback only.
//!
//! Needs `target/debug/{server-mio,rtsp-load,rtsp-ceiling,udp-ceiling}` (`scripts/test` builds
//! every binary first).

mod interop_client_support;

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use interop_client_support::workspace_binary;

/// A workspace binary, checked against its own sources and those of the workspace crates it
/// is built from (rtsp-ceiling uses none: only mio and socket2).
fn bin(name: &str) -> PathBuf {
    let own = format!("bins/{name}/src");
    let mut sources = vec![own.as_str()];
    if name != "rtsp-ceiling" {
        // runtime-mio brings runtime-std, rtsp-core, rtp-core and mjpeg.
        sources.extend([
            "rtsp-core/src",
            "rtp-core/src",
            "runtime-mio/src",
            "runtime-std/src",
            "mjpeg/src",
        ]);
    }
    workspace_binary(name, &sources)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A server process, killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `program args` and waits (at most 10 s) until it accepts on `port`.
fn serve(program: PathBuf, args: &[&str], port: u16) -> Server {
    let child = Command::new(program)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let server = Server(child);
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "server did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Runs a tool under `timeout` and parses its machine-readable last line.
fn run(program: PathBuf, args: &[&str]) -> (Output, HashMap<String, String>) {
    let out = Command::new("timeout")
        .arg("60")
        .arg(program)
        .args(args)
        .output()
        .expect("run tool");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let last = stdout.lines().last().unwrap_or("").to_string();
    let fields = last
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_end_matches('%').to_string()))
        .collect();
    (out, fields)
}

fn num(f: &HashMap<String, String>, key: &str) -> f64 {
    f.get(key)
        .unwrap_or_else(|| panic!("no {key} in {f:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not a number in {f:?}"))
}

/// The `--setup-trace` CSV: per session, the five marks (None when not reached).
fn trace(path: &std::path::Path) -> Vec<Vec<Option<f64>>> {
    let text = std::fs::read_to_string(path).expect("trace written");
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    assert_eq!(
        lines.next(),
        Some("session,connect,connected,described,setup,playing")
    );
    lines
        .map(|l| l.split(',').skip(1).map(|v| v.parse().ok()).collect())
        .collect()
}

fn load_against_server(extra: &[&str]) -> (HashMap<String, String>, Vec<Vec<Option<f64>>>) {
    let port = free_port();
    let p = port.to_string();
    let _server = serve(
        bin("server-mio"),
        &["--bind", "127.0.0.1", "--port", &p, "--threads", "1"],
        port,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("trace.csv");
    let url = format!("rtsp://127.0.0.1:{port}/sample");
    let csv_arg = csv.to_str().expect("utf-8 path");
    let mut args = vec![
        url.as_str(),
        "--sessions",
        "6",
        "--duration",
        "3",
        "--quiet",
        "--setup-trace",
        csv_arg,
    ];
    args.extend_from_slice(extra);
    let (out, f) = run(bin("rtsp-load"), &args);
    assert!(out.status.success(), "rtsp-load failed: {out:?}");
    (f, trace(&csv))
}

#[test]
fn rtsp_load_counts_every_packet_of_every_session() {
    for extra in [&[][..], &["--gro"][..]] {
        let (f, rows) = load_against_server(extra);
        assert_eq!(num(&f, "established"), 6.0, "{extra:?}: {f:?}");
        assert_eq!(num(&f, "loss"), 0.0, "{extra:?}: {f:?}");
        // Lateness is a benchmark figure, not a test's: a loaded machine is late. It is
        // counted among the frames.
        assert!(num(&f, "late") <= num(&f, "frames"), "{extra:?}: {f:?}");
        assert!(num(&f, "pps") > 6.0 * 25.0 * 3.0, "{extra:?}: {f:?}");
        let fps = num(&f, "fps_mean");
        assert!((24.0..=26.0).contains(&fps), "{extra:?}: fps {fps}");
        assert_eq!(f["gro"], (!extra.is_empty()).to_string());
        // Every session passed the five marks in order.
        assert_eq!(rows.len(), 6);
        for r in &rows {
            let marks: Vec<f64> = r.iter().map(|m| m.expect("every mark")).collect();
            assert!(marks.windows(2).all(|w| w[0] <= w[1]), "{marks:?}");
        }
    }
}

#[test]
fn rtsp_load_over_tcp_counts_frames_from_the_client_machine() {
    let (f, _) = load_against_server(&["--transport", "tcp"]);
    assert_eq!(num(&f, "established"), 6.0, "{f:?}");
    assert_eq!(num(&f, "loss"), 0.0, "{f:?}");
    assert!(num(&f, "frames") >= 6.0 * 25.0, "{f:?}");
}

#[test]
fn rtsp_load_without_play_against_the_canned_responder() {
    let port = free_port();
    let p = port.to_string();
    let _server = serve(
        bin("rtsp-ceiling"),
        &["--port", &p, "--threads", "1", "--seconds", "30"],
        port,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("trace.csv");
    let url = format!("rtsp://127.0.0.1:{port}/x");
    for no_play in [true, false] {
        let mut args = vec![
            url.as_str(),
            "--sessions",
            "5",
            "--duration",
            "1",
            "--quiet",
            "--setup-trace",
            csv.to_str().expect("utf-8 path"),
        ];
        if no_play {
            args.push("--no-play");
        }
        let (out, f) = run(bin("rtsp-load"), &args);
        assert!(out.status.success(), "rtsp-load failed: {out:?}");
        assert_eq!(num(&f, "established"), 5.0, "{f:?}");
        assert_eq!(num(&f, "pps"), 0.0, "the responder sends no media: {f:?}");
        for r in trace(&csv) {
            assert!(r[3].is_some(), "SETUP answered");
            assert_eq!(r[4].is_some(), !no_play, "PLAY only without --no-play");
        }
    }
}

#[test]
fn udp_ceiling_delivers_what_it_sends() {
    for extra in [&[][..], &["--gro"][..]] {
        let mut args = vec!["--sessions", "20", "--duration", "1", "--mode", "gso"];
        args.extend_from_slice(extra);
        let (out, f) = run(bin("udp-ceiling"), &args);
        assert!(out.status.success(), "udp-ceiling failed: {out:?}");
        assert_eq!(num(&f, "loss"), 0.0, "{f:?}");
        assert!(num(&f, "recv_pps") > 0.0, "{f:?}");
        assert_eq!(num(&f, "sent_pps"), num(&f, "recv_pps"), "{f:?}");
    }
}
