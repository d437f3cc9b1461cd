//! The player window under Xvfb: client-std opens a window on our server's looping test
//! pattern; a screenshot shows the colour bars (not a blank window); clicking Pause stops the
//! picture, clicking Play makes it move again; `q` quits with exit code 0.
//!
//! Needs the Debian packages `xvfb`, `xdotool` and `imagemagick` (for `import`); without
//! them the test says SKIPPED on stderr and passes. Needs `target/debug/client-std`
//! (`cargo build -p client-std`, which `cargo test --workspace` does not always do).
//! A screenshot is left at `target/player-window.png`.

mod interop_client_support;

use interop_client_support::{client_std, profile_dir};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use it::peers::memory_server;
use it::shot::{close, Shot, BARS};
use it::ServerRuntime;

/// Picture area of the window (client-std's `window::VIDEO_W/H`): the 4:3 pattern fills it.
const VIDEO_W: usize = 640;
const VIDEO_H: usize = 480;
/// Centre of button `i` relative to the window (`window::BUTTON_*`).
fn button_centre(i: usize) -> (usize, usize) {
    (10 + i * 120 + 55, VIDEO_H + 8 + 14)
}
const PAUSE: usize = 2;
const PLAY: usize = 1;

fn on_path(tool: &str) -> bool {
    Path::new(tool).is_absolute() && Path::new(tool).exists()
        || std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
}

/// Kills a `timeout`-wrapped child by its PID with SIGTERM (forwarded to the tool), then
/// reaps it.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.0.id().to_string())
                .status();
            let _ = self.0.wait();
        }
    }
}

/// Lines of a child's stream, on a channel.
fn lines(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing `want`; returns all lines read meanwhile on failure.
fn wait_line(rx: &Receiver<String>, want: &str, within: Duration, log: &mut Vec<String>) {
    let until = Instant::now() + within;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                let hit = l.contains(want);
                log.push(l);
                if hit {
                    return;
                }
            }
            Err(RecvTimeoutError::Timeout) => panic!("no {want:?} within {within:?}: {log:#?}"),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("client exited before {want:?}: {log:#?}")
            }
        }
    }
}

/// Starts Xvfb on a display number it picks itself (`-displayfd`) and waits until it is
/// ready (it writes the number only then).
fn start_xvfb() -> (Reaped, String) {
    let mut child = Command::new("timeout")
        .args([
            "120",
            "Xvfb",
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1024x768x24",
        ])
        .args(["-nolisten", "tcp", "-nolisten", "unix-abstract"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xvfb");
    let rx = lines(child.stdout.take().expect("stdout"));
    let guard = Reaped(child);
    let n = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("Xvfb reported its display number");
    let n: u32 = n.trim().parse().expect("a display number");
    (guard, format!(":{n}"))
}

/// An RGB screenshot of the whole screen.
fn take(display: &str) -> Shot {
    let out = Command::new("timeout")
        .args([
            "20",
            "/usr/bin/import",
            "-window",
            "root",
            "-depth",
            "8",
            "ppm:-",
        ])
        .env("DISPLAY", display)
        .output()
        .expect("run import");
    assert!(out.status.success(), "import failed: {out:?}");
    Shot::parse_ppm(&out.stdout)
}

fn xdotool(display: &str, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .arg("20")
        .arg("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .expect("run xdotool");
    assert!(out.status.success(), "xdotool {args:?} failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn bars_ok(shot: &Shot, x0: usize, y0: usize) -> Result<(), String> {
    // Bars fill the top 60% of the picture; sample each one's centre at 30% height.
    for (i, want) in BARS.iter().enumerate() {
        let x = x0 + (2 * i + 1) * VIDEO_W / 16;
        let y = y0 + VIDEO_H * 3 / 10;
        let got = shot.px(x, y);
        if !close(got, *want) {
            return Err(format!("bar {i} at ({x},{y}): {got:?}, want {want:?}"));
        }
    }
    Ok(())
}

fn send(stdin: &mut ChildStdin, line: &str) {
    let _ = writeln!(stdin, "{line}");
}

#[test]
fn window_shows_the_test_pattern_and_pause_play_buttons_work() {
    let missing: Vec<&str> = ["Xvfb", "xdotool", "/usr/bin/import", "timeout", "kill"]
        .into_iter()
        .filter(|t| !on_path(t))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "SKIPPED player_window: missing {missing:?} (Debian packages: xvfb xdotool imagemagick)"
        );
        return;
    }
    let client = client_std();

    // Our server, in-process: a looping 2 s test pattern at 25 fps.
    let frames = mjpeg::testpattern::frames(50, 384, 288);
    let server = memory_server(ServerRuntime::Std, "sample", 25.0, frames, true);
    let url = server.url("sample");

    let (_xvfb, display) = start_xvfb();
    let mut child = Command::new("timeout")
        .arg("90")
        .arg(&client)
        .args([url.as_str(), "--transport", "udp", "--stats"])
        .env("DISPLAY", &display)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start client-std");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = lines(child.stdout.take().expect("stdout"));
    let stderr = lines(child.stderr.take().expect("stderr"));
    let mut player = Reaped(child);
    let mut log = Vec::new();
    wait_line(
        &stderr,
        "client-std: playing",
        Duration::from_secs(30),
        &mut log,
    );

    // The window is titled with the URL.
    let wid = xdotool(&display, &["search", "--sync", "--name", &url]);
    let wid = wid.lines().next().expect("a window id").trim().to_string();
    let geom = xdotool(&display, &["getwindowgeometry", "--shell", &wid]);
    let field = |k: &str| -> usize {
        geom.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{k} in {geom}"))
    };
    let (wx, wy, ww, wh) = (field("X"), field("Y"), field("WIDTH"), field("HEIGHT"));
    assert!(ww >= VIDEO_W && wh >= VIDEO_H, "{geom}");

    // The picture: poll screenshots until the bars show (decoding starts a moment after PLAY).
    let until = Instant::now() + Duration::from_secs(15);
    let shot = loop {
        let shot = take(&display);
        match bars_ok(&shot, wx, wy) {
            Ok(()) => break shot,
            Err(e) if Instant::now() > until => panic!("no test pattern in the window: {e}"),
            Err(_) => {}
        }
    };
    // Not one flat colour: the bars differ from each other and from the background.
    assert_ne!(shot.px(wx + 40, wy + 100), shot.px(wx + 600, wy + 100));

    let picture = |s: &Shot| s.region(wx, wy, VIDEO_W, VIDEO_H);
    // minifb samples the button state once per frame (60 Hz): hold the button like a person
    // does (150 ms), or a press and release inside one frame go unseen.
    let click = |i: usize| {
        let (x, y) = button_centre(i);
        xdotool(
            &display,
            &[
                "mousemove",
                "--window",
                &wid,
                &x.to_string(),
                &y.to_string(),
                "mousedown",
                "1",
                "sleep",
                "0.15",
                "mouseup",
                "1",
            ],
        );
    };

    // The picture moves while playing (the frame number and the sweep change).
    let first = picture(&shot);
    let until = Instant::now() + Duration::from_secs(10);
    while picture(&take(&display)) == first {
        assert!(
            Instant::now() < until,
            "the picture does not change while playing"
        );
    }

    // Pause: once the player reports it, the picture settles and then stays the same.
    click(PAUSE);
    wait_line(
        &stderr,
        "client-std: paused",
        Duration::from_secs(10),
        &mut log,
    );
    let until = Instant::now() + Duration::from_secs(10);
    let mut prev = picture(&take(&display));
    loop {
        let now = picture(&take(&display));
        if now == prev {
            break;
        }
        assert!(
            Instant::now() < until,
            "the picture keeps changing after PAUSE"
        );
        prev = now;
    }
    // Watch it for 1.5 s (about 37 frame times at 25 fps).
    let watch = Instant::now() + Duration::from_millis(1500);
    let mut shots = 0;
    while Instant::now() < watch || shots < 3 {
        assert!(
            picture(&take(&display)) == prev,
            "the picture changed while paused"
        );
        shots += 1;
    }

    // Play again: the picture moves.
    click(PLAY);
    wait_line(
        &stderr,
        "client-std: playing",
        Duration::from_secs(10),
        &mut log,
    );
    let until = Instant::now() + Duration::from_secs(10);
    while picture(&take(&display)) == prev {
        assert!(
            Instant::now() < until,
            "the picture does not move after PLAY"
        );
    }

    // A screenshot for the README (playing, status line filled in).
    let png = profile_dir().join("..").join("player-window.png");
    let _ = Command::new("timeout")
        .args(["20", "/usr/bin/import", "-window", &wid])
        .arg(&png)
        .env("DISPLAY", &display)
        .status();
    eprintln!("screenshot: {}", png.display());

    // The `q` key quits: TEARDOWN, exit 0, and the --stats line.
    xdotool(
        &display,
        &[
            "windowfocus",
            "--sync",
            &wid,
            "keydown",
            "q",
            "sleep",
            "0.15",
            "keyup",
            "q",
        ],
    );
    wait_line(
        &stderr,
        "client-std: torn down",
        Duration::from_secs(10),
        &mut log,
    );
    send(&mut stdin, "quit");
    let json = stdout
        .recv_timeout(Duration::from_secs(15))
        .expect("the --stats line");
    assert!(
        json.starts_with('{') && json.contains("\"frames_shown\":"),
        "{json}"
    );
    let shown: u64 = json
        .split("\"frames_shown\":")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .expect("frames_shown");
    assert!(shown > 10, "{json}");
    let until = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = player.0.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < until, "client-std did not exit");
        let _ = stderr
            .recv_timeout(Duration::from_millis(100))
            .map(|l| log.push(l));
    };
    assert!(status.success(), "exit {status:?}: {log:#?}");
    server.stop();
}
