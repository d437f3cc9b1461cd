//! `server-mio` started twice on one port (issue 13): the second exits with status 1 and a
//! message naming the address, whatever its `--threads`, instead of sharing the port with the
//! first through `SO_REUSEPORT` (the kernel would split the clients between the two).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn server_mio() -> Command {
    Command::new(env!("CARGO_BIN_EXE_server-mio"))
}

/// A server process, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Starts `server-mio --bind 127.0.0.1 --port PORT --threads N` and waits (at most 20 s) for
/// the line it prints once it listens.
fn start(port: u16, threads: usize) -> Running {
    let mut child = server_mio()
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--threads", &threads.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server-mio");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("server-mio prints its address");
    assert!(
        first.starts_with(&format!("server-mio: RTSP on 127.0.0.1:{port}")),
        "{first}"
    );
    running
}

#[test]
fn a_second_server_on_the_same_port_exits_with_a_message() {
    let port = free_port();
    for first_threads in [2, 1] {
        let _first = start(port, first_threads);
        for threads in [2, 1] {
            // Bounded: a second server that did start would be stopped by `timeout` (124).
            let out = Command::new("timeout")
                .args(["-k", "5", "20"])
                .arg(env!("CARGO_BIN_EXE_server-mio"))
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--threads", &threads.to_string()])
                .stdin(Stdio::null())
                .output()
                .expect("run timeout (coreutils)");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(1),
                "second server (--threads {threads}, first --threads {first_threads}): {err}"
            );
            assert!(
                err.contains(&format!("127.0.0.1:{port}")) && err.contains("already in use"),
                "{err}"
            );
            assert!(out.stdout.is_empty(), "it never announced itself");
        }
    }
}
