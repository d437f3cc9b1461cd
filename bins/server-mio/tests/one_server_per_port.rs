//! `server-mio` started twice on one port (issue 13): the second exits with status 1 and a
//! message naming the address, whatever its `--threads`, instead of sharing the port with the
//! first through `SO_REUSEPORT` (the kernel would split the clients between the two).

mod support;

use std::process::{Command, Stdio};

use support::{free_port, start};

#[test]
fn a_second_server_on_the_same_port_exits_with_a_message() {
    let port = free_port();
    for first_threads in [2, 1] {
        let _first = start(
            port,
            &["--threads", &first_threads.to_string()],
            Some("warn"),
        );
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
