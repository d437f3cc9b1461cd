//! The browser page in a real browser: `server-mio --http PORT` read by headless Chromium
//! (Debian's `chromium`). The page loads and lists the streams; one browser, driven over the
//! DevTools protocol (`tests/scripts/chromium_shots.py`), takes two screenshots 1 s apart:
//! both show the built-in `sample`'s colour bars in the first preview, and its pixels differ
//! between them: the `<img>` plays the multipart stream. (`chromium --screenshot` cannot do
//! this: it shoots when the load event fires, which for MJPEG images is after their first
//! frames, and then closes the streams.)
//!
//! Pixels, not HTML: the bars are found by colour (`it::shot::BARS`) in order along rows, and
//! the change is counted inside the picture they belong to. Skips (loudly, and passes) only
//! when `chromium`, `/usr/bin/python3` or ImageMagick's `convert` is missing; every process
//! runs under `timeout`.

mod interop_client_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use interop_client_support::server_mio;
use it::live::{free_port, ServerMio};
use it::peers::require_peer;
use it::shot::{close, Shot, BARS};

/// How long the browser may take, start to second screenshot, before `timeout` stops it.
const CHROMIUM_LIMIT: &str = "90";

/// `GET path` on `127.0.0.1:port`, the whole response (the server closes after it).
fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read the response");
    String::from_utf8_lossy(&out).into_owned()
}

/// Two screenshots of `url` in one headless Chromium, 1 s apart, after 3 s of playing, and
/// the value (JSON) of `expr` evaluated in the page after them.
fn two_shots(url: &str, first: &Path, second: &Path, expr: &str) -> (Shot, Shot, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/chromium_shots.py");
    let out = Command::new("timeout")
        .args([CHROMIUM_LIMIT, "/usr/bin/python3"])
        .arg(&script)
        .arg(url)
        .arg(first)
        .arg(second)
        .args([
            "--wait", "3", "--apart", "1", "--size", "900,700", "--eval", expr,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run chromium_shots.py");
    assert!(
        out.status.success() && first.exists() && second.exists(),
        "chromium_shots.py failed ({:?}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("eval: "))
        .unwrap_or_else(|| panic!("no eval line in:\n{stdout}"))
        .to_string();
    (Shot::read(first), Shot::read(second), value)
}

/// Where the first picture with the colour bars is: `(x0, x1, y0, y1)`, or why there is
/// none. Along each row the eight bars must come in order, left to right; the first such run
/// gives the picture's columns, the rows where it holds its height.
fn find_bars(shot: &Shot) -> Result<(usize, usize, usize, usize), String> {
    // Per row: the first run of all eight bars in order, as (left, right).
    // Scaling blends the columns where two bars meet: a few pixels of no bar's colour are
    // allowed inside a run.
    let run = |y: usize| -> Option<(usize, usize)> {
        let (mut next, mut left, mut odd) = (0, 0, 0);
        for x in 0..shot.w {
            let c = shot.px(x, y);
            match BARS.iter().position(|&b| close(c, b)) {
                Some(0) if next <= 1 => {
                    if next == 0 {
                        left = x;
                    }
                    (next, odd) = (1, 0);
                }
                Some(i) if i == next => (next, odd) = (next + 1, 0),
                Some(i) if i + 1 == next => odd = 0,
                _ if next == BARS.len() => return Some((left, x)),
                _ if next > 0 && odd < 4 => odd += 1,
                _ => (next, odd) = (0, 0),
            }
        }
        (next == BARS.len()).then_some((left, shot.w))
    };
    let rows: Vec<(usize, (usize, usize))> =
        (0..shot.h).filter_map(|y| run(y).map(|r| (y, r))).collect();
    let Some(&(y0, (x0, x1))) = rows.first() else {
        return Err("no row shows the colour bars in order".into());
    };
    // The rows of the same picture: the same columns (give or take scaling's edge pixels).
    let y1 = rows
        .iter()
        .filter(|(_, (l, r))| l.abs_diff(x0) <= 3 && r.abs_diff(x1) <= 3)
        .map(|&(y, _)| y)
        .max()
        .unwrap_or(y0);
    if x1 - x0 < 80 || y1 - y0 < 20 {
        return Err(format!("the bars are too small: {x0}..{x1} x {y0}..{y1}"));
    }
    Ok((x0, x1 - 1, y0, y1))
}

#[test]
fn chromium_shows_the_page_and_its_preview_moves() {
    let tools = ["/usr/bin/convert", "/usr/bin/python3"];
    if !require_peer("chromium") || !tools.iter().all(|t| Path::new(t).exists()) {
        eprintln!("(chromium, /usr/bin/python3 or /usr/bin/convert missing: skipped)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("zz")).unwrap();
    let mut clip = Vec::new();
    mjpeg::write_concatenated(&mjpeg::testpattern::frames(25, 160, 120), &mut clip);
    std::fs::write(media.join("zz/cam.mjpeg"), clip).unwrap();
    let http = free_port();
    let media_arg = media.to_str().unwrap().to_string();
    let http_arg = http.to_string();
    // Two streams, in name order on the page: the built-in sample first, then the clip.
    let mut server = ServerMio::start(
        &server_mio(),
        "",
        &["--media", &media_arg, "--http", &http_arg, "--loop"],
    );
    server.expect_log(Duration::from_secs(20), "event loops ready");

    // The page lists every stream, with its preview and its RTSP URL.
    let page = get(http, "/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("<dd data-field=\"readers\">0</dd>"), "{page}");
    assert!(page.contains("Content-Type: text/html"), "{page}");
    for name in ["sample", "zz/cam.mjpeg"] {
        assert!(
            page.contains(&format!("<img src=\"/{name}/stream.mjpg\"")),
            "{name}: {page}"
        );
        assert!(page.contains(&server.url(name)), "{name}: {page}");
    }

    // One browser, two screenshots 1 s apart.
    let url = format!("http://127.0.0.1:{http}/");
    let (a_png, b_png) = (dir.path().join("a.png"), dir.path().join("b.png"));
    // The page was rendered before its own preview connected (0 readers); its script has
    // since read /api/streams, where that preview is the sample's one reader.
    let readers = r#"document.querySelector('section[data-name="sample"] [data-field="readers"]').textContent"#;
    let (a, b, shown) = two_shots(&url, &a_png, &b_png, readers);
    assert_eq!(
        shown, "\"1\"",
        "the page's script keeps the readers current"
    );
    assert_eq!((a.w, a.h), (b.w, b.h));

    // The first preview (the sample's) shows its bars in both.
    let (x0, x1, y0, y1) =
        find_bars(&a).unwrap_or_else(|e| panic!("first screenshot {a_png:?}: {e}"));
    find_bars(&b).unwrap_or_else(|e| panic!("second screenshot {b_png:?}: {e}"));
    // The picture: the bars are its top 60 % (mjpeg::testpattern), the moving parts below.
    let pic_h = ((y1 - y0 + 1) * 10 / 6).min(a.h - y0);
    let (w, h) = (x1 - x0 + 1, pic_h);
    let (ra, rb) = (a.region(x0, y0, w, h), b.region(x0, y0, w, h));
    let changed = ra
        .chunks(3)
        .zip(rb.chunks(3))
        .filter(|(p, q)| p.iter().zip(q.iter()).any(|(x, y)| x.abs_diff(*y) > 40))
        .count();
    // The same frame decodes to the same pixels: a real change moves the sample's marker
    // and counter (hundreds of pixels at this size).
    assert!(
        changed >= 100,
        "the preview did not change in 1 s: {changed} of {} pixels differ ({a_png:?}, {b_png:?})",
        w * h
    );
}
