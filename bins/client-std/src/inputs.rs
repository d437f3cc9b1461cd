//! What the user asks for outside the window: Ctrl-C, SIGTERM and SIGHUP, and commands on
//! standard input, handed to the current player.

use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// What the user asks for outside the window.
pub(crate) enum UserInput {
    /// Ctrl-C, SIGTERM or SIGHUP.
    Quit,
    /// A line on standard input (a command).
    Line(String),
}

/// Where [`UserInput`] goes: the current player.
pub(crate) type InputSink = Arc<dyn Fn(UserInput) + Send + Sync>;

/// Ctrl-C, SIGTERM and SIGHUP (TEARDOWN, the recording finished, statistics, exit 0; a second
/// one exits at once with 130, the recording holding whole frames only) and stdin commands,
/// handed to `deliver` (the latest one given: a redirect starts a new player).
pub(crate) fn install_inputs(deliver: InputSink) -> Result<(), String> {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    static CURRENT: Mutex<Option<InputSink>> = Mutex::new(None);
    *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = Some(deliver);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    let current = || {
        CURRENT
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    ctrlc::set_handler(move || {
        if interrupted.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        if let Some(deliver) = current() {
            deliver(UserInput::Quit);
        }
    })
    .map_err(|e| format!("cannot install the signal handler (Ctrl-C, SIGTERM, SIGHUP): {e}"))?;
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let Ok(line) = line else { break };
                if let Some(deliver) = current() {
                    deliver(UserInput::Line(line));
                }
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}
