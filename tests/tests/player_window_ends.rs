//! The player window under Xvfb (issue 14): short synthetic clicks (`xdotool click`, 12 ms
//! from press to release) on PAUSE and PLAY register; after PAUSE the PAUSE button is lit (the
//! state is PAUSED, not READY); a stream that never sends media shows the reason in the window
//! and the exit code is 1 when it closes. A screenshot of the playing window is left at
//! `target/player-window-ends.png` (the source of `docs/player.png`).
//!
//! Needs the Debian packages `xvfb`, `xdotool` and `imagemagick`; without them the tests say
//! SKIPPED on stderr and pass. Needs `target/debug/client-std`.

mod interop_client_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use interop_client_support::{client_std, profile_dir, Script, Scripted};
use it::peers::{have, memory_server, Spawned};
use it::ServerRuntime;

/// client-std's layout (`window::VIDEO_H`, `BUTTON_*`): button `i`'s centre, and a pixel
/// inside it near its top-left corner.
fn button(i: usize) -> ((usize, usize), (usize, usize)) {
    let x0 = 10 + i * 120;
    ((x0 + 55, 480 + 8 + 14), (x0 + 2, 480 + 8 + 2))
}
const PLAY: usize = 1;
const PAUSE: usize = 2;
/// `window::BUTTON_ACTIVE` and `window::ALERT_TEXT`.
const LIT: [u8; 3] = [0x30, 0x70, 0x40];
const ALERT: [u8; 3] = [0xff, 0xd0, 0x60];

fn tools() -> bool {
    let missing: Vec<&str> = ["Xvfb", "xdotool", "import", "kill"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if !missing.is_empty() {
        eprintln!("SKIPPED player_window_ends: missing {missing:?} (xvfb xdotool imagemagick)");
    }
    missing.is_empty()
}

/// Xvfb on a display number it picks itself; returns it and the display name.
fn xvfb() -> (Spawned, String) {
    let mut x = Spawned::start(
        Path::new("Xvfb"),
        &[
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1024x768x24",
            "-nolisten",
            "tcp",
        ],
    )
    .expect("start Xvfb");
    let n = x
        .wait_stdout(Duration::from_secs(20), |l| l.trim().parse::<u32>().is_ok())
        .expect("Xvfb reported its display number");
    (x, format!(":{}", n.trim()))
}

/// Runs `program args..` on `display`, bounded by `timeout`; its standard output.
fn on_display(display: &str, program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new("timeout")
        .arg("20")
        .arg(program)
        .args(args)
        .env("DISPLAY", display)
        .output()
        .expect("run a tool");
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    out.stdout
}

/// The raw RGB pixels of a `w` x `h` rectangle at (x, y) of window `wid`.
fn pixels(
    display: &str,
    wid: &str,
    (x, y): (usize, usize),
    (w, h): (usize, usize),
) -> Vec<[u8; 3]> {
    let crop = format!("{w}x{h}+{x}+{y}");
    let raw = on_display(
        display,
        "import",
        &["-window", wid, "-crop", &crop, "-depth", "8", "rgb:-"],
    );
    raw.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect()
}

/// Polls window `wid` until `pred` holds of the rectangle's pixels (up to 10 s).
fn wait_pixels(
    display: &str,
    wid: &str,
    at: (usize, usize),
    size: (usize, usize),
    pred: impl Fn(&[[u8; 3]]) -> bool,
) -> bool {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if pred(&pixels(display, wid, at, size)) {
            return true;
        }
    }
    false
}

/// The window titled `title` (waits for it).
fn window(display: &str, title: &str) -> String {
    let out = on_display(display, "xdotool", &["search", "--sync", "--name", title]);
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .expect("a window id")
        .trim()
        .to_string()
}

/// A short click (`xdotool click`: 12 ms from press to release) at (x, y) of window `wid`.
fn click(display: &str, wid: &str, (x, y): (usize, usize)) {
    let (x, y) = (x.to_string(), y.to_string());
    on_display(
        display,
        "xdotool",
        &["mousemove", "--window", wid, &x, &y, "click", "1"],
    );
}

#[test]
fn short_clicks_register_and_pause_lights_paused() {
    if !tools() {
        return;
    }
    let frames = mjpeg::testpattern::frames(50, 384, 288);
    let server = memory_server(ServerRuntime::Mio, "sample", 25.0, frames, true);
    let url = server.url("sample");
    let (x, display) = xvfb();
    let mut player = Spawned::start_env(
        &client_std(),
        &[&url, "--transport", "udp"],
        &[("DISPLAY", &display)],
    )
    .expect("start client-std");
    let playing = |p: &mut Spawned| {
        p.wait_stderr(Duration::from_secs(30), |l| l == "client-std: playing")
            .is_some()
    };
    assert!(playing(&mut player), "{:?}", player.stderr);
    let wid = window(&display, &url);
    // The window is up and drawing: the picture shows (not the background).
    let picture = || {
        wait_pixels(&display, &wid, (40, 100), (1, 1), |p| {
            p[0] != [0x20, 0x20, 0x20]
        })
    };
    assert!(picture(), "no picture");

    for round in 0..3 {
        click(&display, &wid, button(PAUSE).0);
        let paused = player.wait_stderr(Duration::from_secs(10), |l| l == "client-std: paused");
        assert!(paused.is_some(), "round {round}: {:?}", player.stderr);
        // The PAUSE button is lit: the state is PAUSED (READY lights SETUP).
        let lit = wait_pixels(&display, &wid, button(PAUSE).1, (1, 1), |p| p[0] == LIT);
        assert!(lit, "round {round}: PAUSE not lit");
        click(&display, &wid, button(PLAY).0);
        assert!(playing(&mut player), "round {round}: {:?}", player.stderr);
    }

    // Playing again: the screenshot for the README.
    let png = profile_dir().join("..").join("player-window-ends.png");
    on_display(
        &display,
        "import",
        &["-window", &wid, png.to_str().expect("path")],
    );
    eprintln!("screenshot: {}", png.display());

    on_display(
        &display,
        "xdotool",
        &["windowfocus", "--sync", &wid, "key", "q"],
    );
    let out = player.finish(Duration::from_secs(20));
    assert_eq!(out.code, Some(0), "{}", out.log());
    assert!(
        out.stderr.contains("client-std: torn down"),
        "{}",
        out.log()
    );
    let _ = x.finish(Duration::ZERO);
    server.stop();
}

#[test]
fn no_media_shows_the_reason_in_the_window_and_exits_1() {
    if !tools() {
        return;
    }
    let server = Scripted::start(Script {
        silent_udp: true,
        ..Script::default()
    });
    let url = server.url("cam");
    let (x, display) = xvfb();
    let mut player = Spawned::start_env(
        &client_std(),
        &[&url, "--transport", "udp", "--no-media-timeout", "1"],
        &[("DISPLAY", &display)],
    )
    .expect("start client-std");
    let said = player.wait_stderr(Duration::from_secs(30), |l| {
        l.starts_with("client-std: error: no usable media for 1.0 s: no RTP packet arrived")
    });
    assert!(said.is_some(), "{:?}", player.stderr);
    let wid = window(&display, &url);
    // The reason, over the top of the picture area, and the window stays until closed.
    let shown = wait_pixels(&display, &wid, (0, 0), (640, 40), |p| {
        p.iter().filter(|&&px| px == ALERT).count() > 100
    });
    assert!(shown, "no message in the window");
    on_display(
        &display,
        "xdotool",
        &["windowfocus", "--sync", &wid, "key", "q"],
    );
    let out = player.finish(Duration::from_secs(20));
    assert_eq!(out.code, Some(1), "{}", out.log());
    let _ = x.finish(Duration::ZERO);
}
