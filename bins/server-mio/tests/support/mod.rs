//! Running `server-mio` in a test: on a free loopback port, killed on drop, its output read
//! line by line.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// A server process, killed on drop.
pub struct Running {
    /// The process.
    pub child: Child,
    /// Lines of its standard error (its log); the channel closes when it exits.
    pub log: Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free on 127.0.0.1 a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// The lines `r` yields, read to its end on a thread (a pipe closed early would fail the
/// server's next write).
pub fn lines(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Starts `server-mio --bind 127.0.0.1 --port PORT ARGS..` with `RUST_LOG` set to
/// `rust_log` (`None`: unset, the default logging) and waits (at most 30 s) for the line it
/// prints once it listens.
pub fn start(port: u16, args: &[&str], rust_log: Option<&str>) -> Running {
    let port_arg = port.to_string();
    let all = [&["--bind", "127.0.0.1", "--port", &port_arg][..], args].concat();
    let (running, first) = spawn(&all, rust_log);
    assert!(
        first.starts_with(&format!("server-mio: RTSP on 127.0.0.1:{port}")),
        "{first}"
    );
    running
}

/// Starts `server-mio ARGS..` with `RUST_LOG` set to `rust_log` (`None`: unset) and returns
/// it with the first line it prints (waiting at most 30 s for it).
pub fn spawn(args: &[&str], rust_log: Option<&str>) -> (Running, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server-mio"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match rust_log {
        Some(filter) => cmd.env("RUST_LOG", filter),
        None => cmd.env_remove("RUST_LOG"),
    };
    let mut child = cmd.spawn().expect("spawn server-mio");
    let stdout = lines(child.stdout.take().expect("stdout"));
    let log = lines(child.stderr.take().expect("stderr"));
    let running = Running { child, log };
    let first = stdout
        .recv_timeout(Duration::from_secs(30))
        .expect("server-mio prints its address");
    // Keep reading stdout on its thread until the server exits.
    std::thread::spawn(move || stdout.iter().for_each(drop));
    (running, first)
}
