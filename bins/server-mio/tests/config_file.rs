//! `server-mio --config FILE`: a bad file is refused (status 2, `FILE:LINE:COL: reason`),
//! `--check-config` prints what the server would run with, and a flag given on the command
//! line wins over the file.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{free_port, spawn};

/// `server-mio ARGS..`, bounded by `timeout` (a server that did start is stopped: 124).
fn run(args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["-k", "5", "30"])
        .arg(env!("CARGO_BIN_EXE_server-mio"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run timeout (coreutils)")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the file");
    path.to_str().expect("utf-8 path").to_string()
}

#[test]
fn a_bad_file_exits_2_naming_the_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "server.toml",
        "[server]\nport = 8554\n\n[paths.cam1]\nsource = \"ftp://camera/stream\"\n\
         [paths.cam2]\nsource = \"publisher\"\nfps = 0\n",
    );
    for extra in [&[][..], &["--check-config"][..], &["--list"][..]] {
        let out = run(&[&["--config", &file][..], extra].concat());
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err,
            format!(
                "{file}:5:10: paths.cam1.source: unknown scheme \"ftp\" (expected rtsp://, \
                 http://, exec:, publisher or file)\n\
                 {file}:8:7: paths.cam2.fps: only for file sources, not publisher\n"
            )
        );
        assert!(out.stdout.is_empty(), "{extra:?}");
    }
    let syntax = write(dir.path(), "syntax.toml", "[server]\nport = 80 80\n");
    let out = run(&["--config", &syntax]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        format!("{syntax}:2:8: string values must be quoted, expected literal string\n")
    );
    let out = run(&[
        "--config",
        &dir.path().join("missing.toml").to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing.toml: cannot read: "), "{err}");
}

#[test]
fn a_bad_flag_value_exits_2_like_the_file() {
    let out = run(&["--mtu", "100", "--list"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'--mtu <BYTES>': must be between 256 and 65507"),
        "{err}"
    );
}

#[test]
fn check_config_prints_the_example_as_the_server_would_run_it() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/server.example.toml");
    let out = run(&["--config", example, "--check-config", "--mtu", "1200"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    for line in [
        "[server]",
        "port = 8554",
        "mtu = 1200",
        "threads = 2",
        "alice = \"(hidden)\"",
        "[paths.cam1]",
        "source = \"rtsp://camera.example/stream\"",
        "rtsp_transport = \"auto\"",
        "[paths.pushed]",
        "publish_users = [\"cam\"]",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    }
    assert!(!text.contains("change-me"), "passwords are hidden:\n{text}");
    // What it prints is a configuration file that reads back the same.
    let dir = tempfile::tempdir().expect("temp dir");
    let printed = write(dir.path(), "printed.toml", &text);
    let again = run(&["--config", &printed, "--check-config"]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&again.stdout), text);
}

#[test]
fn the_file_sets_the_port_and_a_flag_overrides_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("media")).expect("mkdir");
    let (from_file, from_flag) = (free_port(), free_port());
    let file = write(
        dir.path(),
        "server.toml",
        &format!(
            "[server]\nport = {from_file}\nbind = \"127.0.0.1\"\nmedia = \"media\"\nthreads = 1\n\
             [paths.cam1]\nsource = \"rtsp://camera.example/stream\"\n"
        ),
    );
    let (server, first) = spawn(&["--config", &file], Some("info"));
    assert!(
        first.starts_with(&format!("server-mio: RTSP on 127.0.0.1:{from_file}, ")),
        "{first}"
    );
    // The media root is the file's `media`, relative to the file's directory.
    let media = dir.path().join("media").canonicalize().expect("media");
    assert!(
        first.contains(&format!("media root {}, ", media.display())),
        "{first}"
    );
    let logged = server
        .log
        .iter()
        .take_while(|l| !l.contains("event loops ready"))
        .any(|l| l.contains("pulled path") && l.contains("cam1"));
    assert!(logged, "the pulled path is logged at start");
    drop(server);

    let (_server, first) = spawn(
        &["--config", &file, "--port", &from_flag.to_string()],
        Some("info"),
    );
    assert!(
        first.starts_with(&format!("server-mio: RTSP on 127.0.0.1:{from_flag}, ")),
        "{first}"
    );
}

#[test]
fn file_paths_set_their_rate_and_loop_and_alias_other_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("clips")).expect("mkdir");
    let mut clip = Vec::new();
    mjpeg::write_concatenated(&mjpeg::testpattern::frames(4, 64, 48), &mut clip);
    std::fs::write(media.join("clips/a.mjpeg"), &clip).expect("write clip");
    std::fs::write(media.join("b.mjpeg"), &clip).expect("write clip");
    let port = free_port();
    let file = write(
        dir.path(),
        "server.toml",
        &format!(
            "[server]\nport = {port}\nmedia = \"media\"\nfps = 10\n\
             [paths.cam]\nsource = \"file:clips/a.mjpeg\"\nfps = 30\nloop = true\n\
             [paths.\"b.mjpeg\"]\nsource = \"file\"\nfps = 5\n"
        ),
    );
    let out = run(&["--config", &file, "--list"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("rtsp://127.0.0.1:{port}/{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
            .to_string()
    };
    // The alias plays the other file under its own name, at its rate, looping.
    let cam = line("cam");
    assert!(cam.contains("64x48, 30 fps, 4 frames"), "{cam}");
    assert!(cam.ends_with(", loops"), "{cam}");
    // A file path sets its own file's rate; an unconfigured file keeps the server's.
    assert!(line("b.mjpeg").contains(", 5 fps,"), "{stdout}");
    let plain = line("clips/a.mjpeg");
    assert!(
        plain.contains(", 10 fps,") && !plain.contains("loops"),
        "{plain}"
    );
}
