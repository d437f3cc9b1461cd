//! The player window: the latest frame scaled into a minifb window, the lab's four buttons
//! and a status line, all drawn by this module (rectangles and a 5x7 bitmap font).
//!
//! Three threads, never blocking each other:
//!
//! ```text
//!  runtime thread (network, Player)  --put-->  FrameSlot (latest JPEG; an older one is replaced)
//!  decoder thread (zune-jpeg)        <-take--  FrameSlot
//!                                    --put-->  picture slot (latest decoded frame)
//!  main thread (window, 60 Hz)       <-take--  picture slot; clicks/keys --> Handle::command
//! ```
//!
//! A slow decoder or display only replaces frames waiting in a slot (counted as display
//! drops); the runtime thread never waits for either.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use minifb::{Key, MouseButton, MouseMode, Window, WindowOptions};

/// Default size of the picture area (the window adds the control bar below it).
pub const VIDEO_W: usize = 640;
/// Default height of the picture area.
pub const VIDEO_H: usize = 480;
/// Height of the control bar (buttons, state label and two status lines).
pub const BAR_H: usize = 84;
/// Buttons: left edge of the first, width, gap, top offset in the bar, height.
pub const BUTTON_X0: usize = 10;
/// Button width.
pub const BUTTON_W: usize = 110;
/// Gap between buttons.
pub const BUTTON_GAP: usize = 10;
/// Top of the buttons, relative to the bar.
pub const BUTTON_Y: usize = 8;
/// Button height.
pub const BUTTON_H: usize = 28;

/// The buttons, left to right, with the stdin command each one sends.
pub const BUTTONS: [(&str, &str); 4] = [
    ("SETUP", "setup"),
    ("PLAY", "play"),
    ("PAUSE", "pause"),
    ("TEARDOWN", "teardown"),
];

const BACKGROUND: u32 = 0x0020_2020;
const BAR: u32 = 0x0030_3038;
const BUTTON: u32 = 0x0050_5a6a;
const BUTTON_ACTIVE: u32 = 0x0030_7040;
const TEXT: u32 = 0x00f0_f0f0;
const ALERT_BOX: u32 = 0x0040_1010;
const ALERT_TEXT: u32 = 0x00ff_d060;
/// Scale of the bar's text: 5x7 glyphs drawn 2x2, 12 pixels a character.
const TEXT_SCALE: usize = 2;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the status line shows (written by the runtime thread, read by the window).
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// `INIT`, `READY`, `PLAYING`, `PAUSED`, `ENDED`, `CLOSED`.
    pub state: String,
    /// Frames per second over the last second.
    pub fps: f64,
    /// RTP bitrate, kbit/s.
    pub kbps: f64,
    /// Loss, percent.
    pub loss_pct: f64,
    /// Interarrival jitter, ms.
    pub jitter_ms: f64,
    /// Why playback failed, shown over the picture area.
    pub message: Option<String>,
}

/// A decoded frame, 0RGB pixels.
struct Picture {
    w: usize,
    h: usize,
    pixels: Vec<u32>,
}

#[derive(Default)]
struct Slot {
    jpeg: Option<Bytes>,
    closed: bool,
}

/// State shared by the runtime, decoder and window threads.
#[derive(Default)]
pub struct Shared {
    slot: Mutex<Slot>,
    cv: Condvar,
    picture: Mutex<Option<Picture>>,
    /// The status line.
    pub status: Mutex<Status>,
    /// Frames replaced in a slot before the decoder or the window took them.
    pub display_dropped: AtomicU64,
    /// Frames the decoder could not decode.
    pub decode_errors: AtomicU64,
    /// Frames drawn.
    pub shown: AtomicU64,
    /// The runtime has finished.
    pub done: AtomicBool,
}

impl Shared {
    /// A new shared state.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Offers a received frame to the decoder; replaces (and counts) one it has not taken.
    /// Never blocks beyond a short lock.
    pub fn offer(&self, jpeg: Bytes) {
        let mut s = lock(&self.slot);
        if s.jpeg.replace(jpeg).is_some() {
            self.display_dropped.fetch_add(1, Ordering::Relaxed);
        }
        drop(s);
        self.cv.notify_one();
    }

    /// Ends the decoder thread.
    pub fn close(&self) {
        lock(&self.slot).closed = true;
        self.cv.notify_all();
    }

    fn take_jpeg(&self) -> Option<Bytes> {
        let mut s = lock(&self.slot);
        loop {
            if s.closed {
                return None;
            }
            if let Some(j) = s.jpeg.take() {
                return Some(j);
            }
            s = self.cv.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Decodes one JPEG to 0RGB pixels.
fn decode(jpeg: &[u8]) -> Option<Picture> {
    let mut d = zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(jpeg));
    let raw = d.decode().ok()?;
    let info = d.info()?;
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    if w == 0 || h == 0 {
        return None;
    }
    let channels = raw.len() / (w * h);
    let pixels: Vec<u32> = match channels {
        1 => raw
            .iter()
            .map(|&g| u32::from_be_bytes([0, g, g, g]))
            .collect(),
        3 | 4 => raw
            .chunks_exact(channels)
            .map(|p| u32::from_be_bytes([0, p[0], p[1], p[2]]))
            .collect(),
        _ => return None,
    };
    Some(Picture { w, h, pixels })
}

/// Starts [`decoder_loop`] on its own thread (`decoder`).
pub fn spawn_decoder(shared: &Arc<Shared>) -> Result<std::thread::JoinHandle<()>, String> {
    let shared = Arc::clone(shared);
    std::thread::Builder::new()
        .name("decoder".into())
        .spawn(move || decoder_loop(&shared))
        .map_err(|e| e.to_string())
}

/// The decoder thread's loop: until [`Shared::close`].
pub fn decoder_loop(shared: &Shared) {
    while let Some(jpeg) = shared.take_jpeg() {
        match decode(&jpeg) {
            Some(p) => {
                if lock(&shared.picture).replace(p).is_some() {
                    shared.display_dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => {
                shared.decode_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The picture area of a `w` x `h` window: (x, y, width, height) of the letterboxed picture
/// of a `pw` x `ph` frame.
pub fn picture_rect(w: usize, h: usize, pw: usize, ph: usize) -> (usize, usize, usize, usize) {
    let area_h = h.saturating_sub(BAR_H);
    if pw == 0 || ph == 0 || w == 0 || area_h == 0 {
        return (0, 0, 0, 0);
    }
    // Fit, keeping the aspect ratio.
    let (mut dw, mut dh) = (w, ph * w / pw);
    if dh > area_h {
        dh = area_h;
        dw = pw * area_h / ph;
    }
    ((w - dw) / 2, (area_h - dh) / 2, dw.max(1), dh.max(1))
}

/// Which button (index in [`BUTTONS`]) is at window position (x, y).
pub fn button_at(h: usize, x: usize, y: usize) -> Option<usize> {
    let top = h.saturating_sub(BAR_H) + BUTTON_Y;
    if y < top || y >= top + BUTTON_H || x < BUTTON_X0 {
        return None;
    }
    let i = (x - BUTTON_X0) / (BUTTON_W + BUTTON_GAP);
    let within = (x - BUTTON_X0) % (BUTTON_W + BUTTON_GAP) < BUTTON_W;
    (i < BUTTONS.len() && within).then_some(i)
}

/// A frame buffer to draw into.
struct Canvas<'a> {
    buf: &'a mut [u32],
    w: usize,
    h: usize,
}

impl Canvas<'_> {
    fn rect(&mut self, x: usize, y: usize, w: usize, h: usize, c: u32) {
        let (x1, y1) = ((x + w).min(self.w), (y + h).min(self.h));
        for row in y.min(y1)..y1 {
            self.buf[row * self.w + x.min(x1)..row * self.w + x1].fill(c);
        }
    }

    /// Width in pixels of `text` drawn at `scale`.
    fn text_width(text: &str, scale: usize) -> usize {
        (text.chars().count() * 6 * scale).saturating_sub(scale)
    }

    /// Draws `text` at (x, y) at [`TEXT_SCALE`], or smaller when it would not fit the width.
    fn fitted_text(&mut self, x: usize, y: usize, text: &str, c: u32) {
        let room = self.w.saturating_sub(x + 4);
        let scale = if Self::text_width(text, TEXT_SCALE) <= room {
            TEXT_SCALE
        } else {
            1
        };
        self.text(x, y, text, scale, c);
    }

    /// Draws `text` (upper-cased) at (x, y), each font pixel `scale` x `scale`.
    fn text(&mut self, x: usize, y: usize, text: &str, scale: usize, c: u32) {
        for (i, ch) in text.chars().enumerate() {
            let g = glyph(ch);
            let gx = x + i * 6 * scale;
            for (row, bits) in g.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        self.rect(gx + col * scale, y + row * scale, scale, scale, c);
                    }
                }
            }
        }
    }

    /// The picture, nearest-neighbour scaled into its letterboxed rectangle.
    fn picture(&mut self, p: &Picture) {
        let (x0, y0, dw, dh) = picture_rect(self.w, self.h, p.w, p.h);
        let xmap: Vec<usize> = (0..dw).map(|x| x * p.w / dw).collect();
        for y in 0..dh {
            let sy = y * p.h / dh;
            let src = &p.pixels[sy * p.w..(sy + 1) * p.w];
            let row = (y0 + y) * self.w + x0;
            for (d, &sx) in self.buf[row..row + dw].iter_mut().zip(&xmap) {
                *d = src[sx];
            }
        }
    }
}

/// Draws the whole window.
fn render(buf: &mut [u32], w: usize, h: usize, pic: Option<&Picture>, status: &Status) {
    let mut c = Canvas { buf, w, h };
    let area_h = h.saturating_sub(BAR_H);
    c.rect(0, 0, w, area_h, BACKGROUND);
    match pic {
        Some(p) => c.picture(p),
        None if status.message.is_none() => c.text(10, 10, "NO PICTURE YET", 2, TEXT),
        None => {}
    }
    if let Some(m) = &status.message {
        alert(&mut c, m, area_h);
    }
    c.rect(0, area_h, w, BAR_H, BAR);
    for (i, (label, _)) in BUTTONS.iter().enumerate() {
        let x = BUTTON_X0 + i * (BUTTON_W + BUTTON_GAP);
        let active = matches!(
            (i, status.state.as_str()),
            (0, "READY") | (1, "PLAYING") | (2, "PAUSED") | (3, "INIT")
        );
        c.rect(
            x,
            area_h + BUTTON_Y,
            BUTTON_W,
            BUTTON_H,
            if active { BUTTON_ACTIVE } else { BUTTON },
        );
        let tw = label.len() * 12 - 2;
        c.text(
            x + (BUTTON_W.saturating_sub(tw)) / 2,
            area_h + BUTTON_Y + 7,
            label,
            2,
            TEXT,
        );
    }
    // The state right of the buttons, then two status lines, all at TEXT_SCALE when they fit.
    let right = BUTTON_X0 + BUTTONS.len() * (BUTTON_W + BUTTON_GAP);
    c.fitted_text(right, area_h + BUTTON_Y + 7, &status.state, TEXT);
    let size = pic.map_or_else(|| "-".to_string(), |p| format!("{}X{}", p.w, p.h));
    let (line1, line2) = status_lines(status, &size);
    let y1 = area_h + BUTTON_Y + BUTTON_H + 8;
    c.fitted_text(BUTTON_X0, y1, &line1, TEXT);
    c.fitted_text(BUTTON_X0, y1 + 7 * TEXT_SCALE + 6, &line2, TEXT);
}

/// The status lines under the buttons: rate and loss, then jitter and the picture size.
fn status_lines(status: &Status, size: &str) -> (String, String) {
    (
        format!(
            "{:.1} FPS  {:.0} KBIT/S  LOSS {:.2}%",
            status.fps, status.kbps, status.loss_pct
        ),
        format!("JITTER {:.2} MS  {size}", status.jitter_ms),
    )
}

/// A failure over the top of the picture area: a dark box, the text wrapped to its width.
fn alert(c: &mut Canvas<'_>, message: &str, area_h: usize) {
    let per_line = (c.w.saturating_sub(20) / (6 * TEXT_SCALE)).max(8);
    let lines = wrap(message, per_line);
    let line_h = 7 * TEXT_SCALE + 6;
    let box_h = (lines.len() * line_h + 12).min(area_h);
    c.rect(0, 0, c.w, box_h, ALERT_BOX);
    for (i, l) in lines.iter().enumerate() {
        let y = 8 + i * line_h;
        if y + line_h > box_h {
            break;
        }
        c.text(10, y, l, TEXT_SCALE, ALERT_TEXT);
    }
}

/// `text` in lines of at most `width` characters, broken at spaces where possible.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while !word.is_empty() {
            let used = line.chars().count();
            let gap = usize::from(used > 0);
            if used + gap + word.len() <= width {
                if gap == 1 {
                    line.push(' ');
                }
                line.extend(word.drain(..));
            } else if used > 0 {
                lines.push(std::mem::take(&mut line));
            } else {
                // A word longer than a line: cut it.
                line.extend(word.drain(..width.min(word.len())));
                lines.push(std::mem::take(&mut line));
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The X window id of `win` (minifb's X11 backend), if it has one.
fn x11_window(win: &Window) -> Option<u32> {
    use raw_window_handle::{HasWindowHandle, RawWindowHandle};
    match win.window_handle().ok()?.as_raw() {
        RawWindowHandle::Xlib(h) => u32::try_from(h.window).ok(),
        RawWindowHandle::Xcb(h) => Some(h.window.get()),
        _ => None,
    }
}

/// How often the window takes input events (mouse state, keys).
const POLL: Duration = Duration::from_millis(4);
/// Shortest time between two drawings (60 Hz).
const DRAW: Duration = Duration::from_millis(16);

/// Every key press, in order, as minifb reports it (its `get_keys_pressed` compares states once
/// per update, so a press and release between two updates would be lost). Auto-repeat (more
/// presses without a release) counts once.
#[derive(Clone, Default)]
struct KeyQueue(Arc<Mutex<KeyState>>);

#[derive(Default)]
struct KeyState {
    pressed: Vec<Key>,
    down: Vec<Key>,
}

impl KeyQueue {
    fn take(&self) -> Vec<Key> {
        std::mem::take(&mut lock(&self.0).pressed)
    }
}

impl minifb::InputCallback for KeyQueue {
    fn add_char(&mut self, _uni_char: u32) {}

    fn set_key_state(&mut self, key: Key, down: bool) {
        let mut st = lock(&self.0);
        let was_down = st.down.contains(&key);
        if down && !was_down {
            st.down.push(key);
            st.pressed.push(key);
        } else if !down {
            st.down.retain(|k| *k != key);
        }
    }
}

/// Opens the window and runs it on this thread until it is closed (then asks the player to
/// quit) or the runtime finishes. Keys: s setup, p play, space play/pause, t teardown,
/// q / Esc quit.
/// `send` hands a command (`setup`, `play`, `toggle`, `teardown`, `quit` ...) to the player.
pub fn run(
    title: &str,
    shared: &Arc<Shared>,
    send: impl Fn(&'static str) + Clone + Send + 'static,
) -> Result<(), String> {
    let opts = WindowOptions {
        resize: true,
        ..WindowOptions::default()
    };
    let mut win = Window::new(title, VIDEO_W, VIDEO_H + BAR_H, opts)
        .map_err(|e| format!("cannot open a window: {e} (use --headless)"))?;
    // Events are taken every POLL (a press and a release in one batch would go unseen: minifb
    // keeps only the button's state), drawing at most every DRAW.
    win.set_target_fps(0);
    let keys = KeyQueue::default();
    win.set_input_callback(Box::new(keys.clone()));
    // Clicks on the buttons straight from the X server (every press, however short); without
    // it, from minifb's button state below.
    let clicks = x11_window(&win).and_then(|id| {
        let send = send.clone();
        crate::clicks::watch(id, move |x, y| {
            if let Some(i) = button_at(BAR_H, x, y) {
                send(BUTTONS[i].1);
            }
        })
        .map_err(|e| tracing::debug!("clicks from minifb only: {e}"))
        .ok()
    });
    let mut buf = Vec::new();
    let mut current: Option<Picture> = None;
    let mut mouse_was_down = false;
    let mut last_status = String::new();
    let mut last_size = (0, 0);
    let mut drawn_at: Option<Instant> = None;
    while win.is_open() && !shared.done.load(Ordering::SeqCst) {
        for key in keys.take() {
            match key {
                Key::S => send("setup"),
                Key::P => send("play"),
                Key::Space => send("toggle"),
                Key::T => send("teardown"),
                Key::Q | Key::Escape => send("quit"),
                _ => {}
            }
        }
        let (w, h) = win.get_size();
        let down = win.get_mouse_down(MouseButton::Left);
        if down && !mouse_was_down && clicks.is_none() {
            if let Some((x, y)) = win.get_mouse_pos(MouseMode::Discard) {
                if let Some(i) = button_at(h, x.max(0.0) as usize, y.max(0.0) as usize) {
                    send(BUTTONS[i].1);
                }
            }
        }
        mouse_was_down = down;
        let due = drawn_at.is_none_or(|t| t.elapsed() >= DRAW);
        let mut dirty = false;
        if due {
            if let Some(p) = lock(&shared.picture).take() {
                current = Some(p);
                shared.shown.fetch_add(1, Ordering::Relaxed);
                dirty = true;
            }
            let status = lock(&shared.status).clone();
            let key = format!("{status:?}");
            if key != last_status || (w, h) != last_size {
                last_status = key;
                last_size = (w, h);
                dirty = true;
            }
            if dirty && w > 0 && h > 0 {
                buf.resize(w * h, 0);
                render(&mut buf, w, h, current.as_ref(), &status);
                win.update_with_buffer(&buf, w, h)
                    .map_err(|e| format!("window update failed: {e}"))?;
                drawn_at = Some(Instant::now());
            }
        }
        if !dirty {
            win.update();
            std::thread::sleep(POLL);
        }
    }
    if !shared.done.load(Ordering::SeqCst) {
        send("quit");
    }
    Ok(())
}

/// The 5x7 glyph of `ch` (rows top to bottom, bit 4 = leftmost column). Lower case is drawn
/// as upper case; unknown characters as `?`.
fn glyph(ch: char) -> [u8; 7] {
    match ch.to_ascii_uppercase() {
        ' ' => [0; 7],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '/' => [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        ',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        '=' => [0, 0, 0x1F, 0, 0x1F, 0, 0],
        '_' => [0, 0, 0, 0, 0, 0, 0x1F],
        ';' => [0, 0x0C, 0x0C, 0, 0x0C, 0x04, 0x08],
        '"' => [0x0A, 0x0A, 0, 0, 0, 0, 0],
        '\'' | '`' => [0x04, 0x04, 0, 0, 0, 0, 0],
        '!' => [0x04, 0x04, 0x04, 0x04, 0x04, 0, 0x04],
        '+' => [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0],
        '@' => [0x0E, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0E],
        '[' => [0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E],
        ']' => [0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E],
        '<' => [0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02],
        '>' => [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08],
        _ => [0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_fits_and_buttons_are_hit() {
        let (w, h) = (VIDEO_W, VIDEO_H + BAR_H);
        // The 4:3 test pattern fills the default picture area exactly.
        assert_eq!(picture_rect(w, h, 384, 288), (0, 0, 640, 480));
        // A wide picture is letterboxed, centred.
        assert_eq!(picture_rect(w, h, 1280, 480), (0, 120, 640, 240));
        let y = VIDEO_H + BUTTON_Y + BUTTON_H / 2;
        for i in 0..BUTTONS.len() {
            let x = BUTTON_X0 + i * (BUTTON_W + BUTTON_GAP) + BUTTON_W / 2;
            assert_eq!(button_at(h, x, y), Some(i));
        }
        assert_eq!(button_at(h, 5, y), None);
        assert_eq!(button_at(h, BUTTON_X0 + BUTTON_W + 2, y), None, "gap");
        assert_eq!(button_at(h, 50, 10), None, "picture area");
        let last = BUTTONS.len() * (BUTTON_W + BUTTON_GAP);
        assert!(last < w);
    }

    #[test]
    fn renders_the_picture_scaled_and_the_controls() {
        let frame = mjpeg::testpattern::frame(0, 384, 288);
        let pic = decode(&frame).expect("decodes");
        assert_eq!((pic.w, pic.h), (384, 288));
        let (w, h) = (VIDEO_W, VIDEO_H + BAR_H);
        let mut buf = vec![0; w * h];
        let status = Status {
            state: "PLAYING".into(),
            ..Status::default()
        };
        render(&mut buf, w, h, Some(&pic), &status);
        // Second bar (yellow) at 30% height.
        let px = buf[144 * w + 640 * 3 / 16];
        let (r, g, b) = ((px >> 16) & 0xff, (px >> 8) & 0xff, px & 0xff);
        assert!(r > 150 && g > 150 && b < 60, "{r} {g} {b}");
        // Button labels are drawn (some text-coloured pixels in the first button).
        let top = VIDEO_H + BUTTON_Y;
        let text_px = (top..top + BUTTON_H)
            .flat_map(|y| (BUTTON_X0..BUTTON_X0 + BUTTON_W).map(move |x| (x, y)))
            .filter(|&(x, y)| buf[y * w + x] == TEXT)
            .count();
        assert!(text_px > 20, "{text_px}");
    }

    /// After PAUSE the label says PAUSED and the PAUSE button is lit; the status lines are
    /// drawn 2x (12 pixels a character) at the default size; a failure shows over the picture.
    #[test]
    fn paused_label_readable_status_and_failure_message() {
        let (w, h) = (VIDEO_W, VIDEO_H + BAR_H);
        let mut buf = vec![0; w * h];
        let status = Status {
            state: "PAUSED".into(),
            fps: 25.0,
            kbps: 12345.0,
            loss_pct: 1.5,
            jitter_ms: 2.25,
            message: Some(
                "no usable media for 10.0 s: no RTP packet arrived; try --transport tcp".into(),
            ),
        };
        render(&mut buf, w, h, None, &status);
        let button = |i: usize| {
            let x = BUTTON_X0 + i * (BUTTON_W + BUTTON_GAP) + 2;
            buf[(VIDEO_H + BUTTON_Y + 2) * w + x]
        };
        assert_eq!(button(2), BUTTON_ACTIVE, "PAUSE lit");
        assert_eq!(button(0), BUTTON, "SETUP not lit");
        // The status lines: text pixels come in 2x2 blocks, and they fit the width.
        let (line1, line2) = status_lines(&status, "-");
        for l in [&line1, &line2] {
            assert!(
                Canvas::text_width(l, TEXT_SCALE) + BUTTON_X0 < w,
                "{l} fits at 2x"
            );
        }
        let y1 = VIDEO_H + BUTTON_Y + BUTTON_H + 8;
        let rows: Vec<usize> = (y1..y1 + 7 * TEXT_SCALE)
            .filter(|&y| (0..w).any(|x| buf[y * w + x] == TEXT))
            .collect();
        assert_eq!(
            rows.len(),
            7 * TEXT_SCALE,
            "a 2x line is 14 rows tall: {rows:?}"
        );
        // The state label right of the buttons.
        let right = BUTTON_X0 + BUTTONS.len() * (BUTTON_W + BUTTON_GAP);
        let label = (VIDEO_H..VIDEO_H + BUTTON_Y + BUTTON_H)
            .flat_map(|y| (right..w).map(move |x| (x, y)))
            .filter(|&(x, y)| buf[y * w + x] == TEXT)
            .count();
        assert!(label > 100, "{label}");
        // The failure, over the top of the picture area.
        let alert = (0..40)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| buf[y * w + x] == ALERT_TEXT)
            .count();
        assert!(alert > 100, "{alert}");
    }

    /// A press and release between two polls is one press; auto-repeat adds none.
    #[test]
    fn key_presses_are_queued_once() {
        use minifb::InputCallback;
        let q = KeyQueue::default();
        let mut cb = q.clone();
        cb.set_key_state(Key::P, true);
        cb.set_key_state(Key::P, false);
        cb.set_key_state(Key::Space, true);
        cb.set_key_state(Key::Space, true);
        assert_eq!(q.take(), [Key::P, Key::Space]);
        assert!(q.take().is_empty());
    }

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh x", 3), ["abc", "def", "gh", "x"]);
        assert!(wrap("", 5).is_empty());
    }

    #[test]
    fn slot_keeps_only_the_latest_frame() {
        let s = Shared::new();
        s.offer(Bytes::from_static(b"a"));
        s.offer(Bytes::from_static(b"b"));
        assert_eq!(s.display_dropped.load(Ordering::Relaxed), 1);
        assert_eq!(s.take_jpeg().as_deref(), Some(&b"b"[..]));
        s.close();
        assert_eq!(s.take_jpeg(), None);
        assert!(decode(b"not a jpeg").is_none());
    }
}
