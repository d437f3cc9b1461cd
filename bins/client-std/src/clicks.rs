//! Button clicks in the window's control bar, from the X server itself.
//!
//! minifb keeps only whether a mouse button is down, sampled when the window takes its events:
//! a press and its release handled in the same batch (a synthetic click, `xdotool click`, a
//! quick tap) never show as "down". So a second X connection (x11rb, no unsafe code) puts an
//! input-only child window over the control bar and takes its `ButtonPress` events itself —
//! every press counts, however short. The child follows the window's size (its
//! `ConfigureNotify`); the thread ends when the window is destroyed or [`ClickWatch`] is
//! dropped. Without X (or when any of this fails) the window falls back to minifb's state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ConfigureWindowAux, ConnectionExt, CreateWindowAux, EventMask, WindowClass,
};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;

use crate::window::BAR_H;

/// Ends the watching thread when dropped (at its next X event: the window's own destruction is
/// one).
pub struct ClickWatch {
    stop: Arc<AtomicBool>,
}

impl Drop for ClickWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The child window's place for a `w` x `h` parent: the bar, at the bottom.
fn bar_of(w: u32, h: u32) -> (i32, i32, u32, u32) {
    let bar = BAR_H as u32;
    (0, h.saturating_sub(bar) as i32, w.max(1), bar.min(h).max(1))
}

/// Watches clicks in the control bar of X window `parent`: `on_press(x, y)` gets each left
/// button press, relative to the bar's top-left corner.
pub fn watch(
    parent: u32,
    on_press: impl Fn(usize, usize) + Send + 'static,
) -> Result<ClickWatch, String> {
    let (conn, _) = x11rb::connect(None).map_err(|e| e.to_string())?;
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let geom = conn
        .get_geometry(parent)
        .map_err(|e| err(&e))?
        .reply()
        .map_err(|e| err(&e))?;
    let child = conn.generate_id().map_err(|e| err(&e))?;
    let (x, y, w, h) = bar_of(u32::from(geom.width), u32::from(geom.height));
    conn.create_window(
        0,
        child,
        parent,
        x as i16,
        y as i16,
        w as u16,
        h as u16,
        0,
        WindowClass::INPUT_ONLY,
        0,
        &CreateWindowAux::new().event_mask(EventMask::BUTTON_PRESS),
    )
    .map_err(|e| err(&e))?;
    // The parent's size changes and its end (StructureNotify is not exclusive: minifb selects
    // it too).
    conn.change_window_attributes(
        parent,
        &x11rb::protocol::xproto::ChangeWindowAttributesAux::new()
            .event_mask(EventMask::STRUCTURE_NOTIFY),
    )
    .map_err(|e| err(&e))?;
    conn.map_window(child).map_err(|e| err(&e))?;
    conn.flush().map_err(|e| err(&e))?;
    let stop = Arc::new(AtomicBool::new(false));
    let watch = ClickWatch { stop: stop.clone() };
    std::thread::Builder::new()
        .name("clicks".into())
        .spawn(move || run(&conn, parent, child, &stop, &on_press))
        .map_err(|e| e.to_string())?;
    Ok(watch)
}

/// The thread: presses to `on_press`, the child kept over the bar, until the parent is gone.
fn run(
    conn: &RustConnection,
    parent: u32,
    child: u32,
    stop: &AtomicBool,
    on_press: &dyn Fn(usize, usize),
) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(event) = conn.wait_for_event() else {
            return;
        };
        match event {
            Event::ButtonPress(e) if e.event == child && e.detail == 1 => {
                let x = usize::try_from(e.event_x).unwrap_or(0);
                let y = usize::try_from(e.event_y).unwrap_or(0);
                on_press(x, y);
            }
            Event::ConfigureNotify(e) if e.window == parent => {
                let (x, y, w, h) = bar_of(u32::from(e.width), u32::from(e.height));
                let aux = ConfigureWindowAux::new().x(x).y(y).width(w).height(h);
                if conn.configure_window(child, &aux).is_err() || conn.flush().is_err() {
                    return;
                }
            }
            Event::DestroyNotify(e) if e.window == parent => return,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_is_at_the_bottom() {
        assert_eq!(bar_of(640, 564), (0, 480, 640, BAR_H as u32));
        assert_eq!(bar_of(0, 10), (0, 0, 1, 10), "never empty");
    }
}
