//! Every way to run a server over an `FsCatalog` wakes its loops when a load ends: a DESCRIBE
//! of a file not loaded yet is answered 200 as soon as the load is done, well before the
//! server's load timeout (set to a minute here, longer than the clients wait), on
//! `runtime_std::serve`, `runtime_mio::serve` and `ServerLoops` with several loops.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rtsp_core::server::ServerConfig;
use runtime_mio::media::FsCatalog;
use runtime_mio::{LoopsOptions, ServerLoops, ServerOptions, SharedCatalog};

/// How long a client waits for its reply (the load itself takes milliseconds).
const REPLY_WAIT: Duration = Duration::from_secs(15);

/// A media root holding `clip.mjpeg`, removed on drop.
struct Root(PathBuf);

impl Root {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("loading-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut file = Vec::new();
        mjpeg::write_concatenated(&mjpeg::testpattern::frames(3, 64, 48), &mut file);
        std::fs::write(dir.join("clip.mjpeg"), file).unwrap();
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config() -> ServerConfig {
    ServerConfig {
        load_timeout: Duration::from_secs(60),
        seed: Some(rtsp_core::rng::RngSeed::from_u64(3)),
        ..ServerConfig::default()
    }
}

/// Opens a connection and sends DESCRIBE of the clip.
fn send_describe(addr: SocketAddr) -> TcpStream {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(REPLY_WAIT)).unwrap();
    write!(
        c,
        "DESCRIBE rtsp://{addr}/clip.mjpeg RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n"
    )
    .unwrap();
    c
}

/// The status line of the reply on `c` (within [`REPLY_WAIT`]).
fn status_line(c: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(2).any(|w| w == b"\r\n") {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("no reply within {REPLY_WAIT:?}: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&got);
    text.lines().next().unwrap_or("").to_string()
}

#[test]
fn both_serves_answer_a_describe_when_its_load_ends() {
    for mio in [false, true] {
        let root = Root::new(if mio { "mio" } else { "std" });
        let catalog = FsCatalog::new(root.path()).unwrap();
        let loads = catalog.load_signal();
        let mut opts = ServerOptions::fs("127.0.0.1:0".parse().unwrap(), catalog);
        opts.config = config();
        let server = if mio {
            runtime_mio::serve(opts)
        } else {
            runtime_std::serve(opts)
        }
        .unwrap();
        let mut c = send_describe(server.connect_addr());
        assert_eq!(status_line(&mut c), "RTSP/1.0 200 OK", "mio: {mio}");
        assert_eq!(loads.generation(), 1);
        server.stop();
        server.join().unwrap();
    }
}

#[test]
fn every_loop_answers_when_the_shared_load_ends() {
    let root = Root::new("loops");
    let catalog = FsCatalog::new(root.path()).unwrap();
    let loads = catalog.load_signal();
    let catalog = SharedCatalog::new(catalog).with_load_signal(loads.clone());
    let mut opts = LoopsOptions::new("127.0.0.1:0".parse().unwrap());
    opts.loops = 3;
    opts.config = config();
    opts.load_signal = Some(loads.clone());
    let loops = ServerLoops::bind(&opts, &catalog).unwrap();
    let addr = loops.local_addr();
    let stop = loops.shutdown_handle();
    let t = std::thread::spawn(move || loops.run("loading-test"));
    // Connections spread over the loops (SO_REUSEPORT); all ask before any reply.
    let mut conns: Vec<TcpStream> = (0..9).map(|_| send_describe(addr)).collect();
    for c in &mut conns {
        assert_eq!(status_line(c), "RTSP/1.0 200 OK");
    }
    // One load for all of them.
    assert_eq!(loads.generation(), 1);
    stop.shutdown();
    t.join().unwrap().unwrap();
}
