//! The exec source: `sh -c COMMAND` in its own process group, its standard output split into
//! JPEGs with [`mjpeg::FrameSplitter`].
//!
//! A pipe has no read timeout, so a reader thread moves the output into a bounded channel and
//! the source's thread waits on that with the read timeout. Whatever ends the attempt (a stop,
//! the output ending, a timeout, a bad stream, a panicking sink), the process group is killed
//! (`SIGKILL`) and the shell reaped before the attempt returns.

use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mjpeg::{FrameSplitter, MjpegError, SplitOptions};

use super::emit::{Emitter, Ended};
use super::stop::StopSignal;
use super::SourceOptions;

/// Bytes read from the pipe at a time.
const READ_BUF: usize = 64 * 1024;
/// Chunks of output queued for the source's thread.
const QUEUE: usize = 8;
/// Longest wait for the reader thread once the process group is dead.
const READER_WAIT: Duration = Duration::from_secs(1);

/// How the output pump ended.
enum Pumped {
    /// The command's output ended (it exited or closed its standard output).
    Eof,
    /// Anything else.
    Ended(Ended),
}

/// Runs the command once, until it ends, fails, or the source stops.
pub(super) fn run(
    command: &str,
    opts: &SourceOptions,
    em: &mut Emitter<'_>,
    stop: &StopSignal,
) -> Ended {
    let mut group = match Group::spawn(command, opts.discard_exec_stderr) {
        Ok(g) => g,
        Err(e) => return Ended::lost(format!("cannot run sh: {e}")),
    };
    let pgid = group.pgid;
    tracing::debug!(source = %em.name(), pgid, "command started");
    let (tx, rx) = mpsc::sync_channel(QUEUE);
    let reader = match group
        .child
        .stdout
        .take()
        .map(|out| spawn_reader(out, tx, pgid))
    {
        Some(Ok(t)) => t,
        Some(Err(e)) => return Ended::lost(format!("cannot start the output reader: {e}")),
        None => return Ended::lost("the command's output is not piped"),
    };
    let pumped = match stop.on_stop(Box::new(move || kill_group(pgid))) {
        // The guard is gone by the end of this statement: no hook can signal after the reaping.
        Some(_guard) => pump(&rx, opts, em, stop),
        None => Pumped::Ended(Ended::Stopped),
    };
    let ended = match (pumped, group.reap()) {
        _ if stop.is_stopped() => Ended::Stopped,
        (Pumped::Ended(ended), _) => ended,
        (Pumped::Eof, Ok(s)) if s.signal() == Some(libc::SIGKILL) => {
            Ended::lost("the command closed its standard output")
        }
        (Pumped::Eof, Ok(s)) => Ended::lost(format!("the command ended ({s})")),
        (Pumped::Eof, Err(e)) => Ended::lost(format!(
            "the command's output ended (its status is unknown: {e})"
        )),
    };
    finish_reader(rx, reader);
    ended
}

/// The command's process group, led by its shell. Dropping it (a panicking sink included)
/// kills the group and reaps the shell.
struct Group {
    child: Child,
    pgid: u32,
    reaped: bool,
}

impl Group {
    /// `sh -c command` in a new process group, standard output piped.
    fn spawn(command: &str, discard_stderr: bool) -> io::Result<Self> {
        let stderr = if discard_stderr {
            Stdio::null()
        } else {
            Stdio::inherit()
        };
        let child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .process_group(0)
            .spawn()?;
        Ok(Self {
            pgid: child.id(),
            child,
            reaped: false,
        })
    }

    /// Kills the group, then reaps the shell (once). In this order: until the shell is reaped
    /// its id cannot name another process group.
    fn reap(&mut self) -> io::Result<ExitStatus> {
        if self.reaped {
            return Err(io::Error::other("already reaped"));
        }
        kill_group(self.pgid);
        let status = self.child.wait();
        // Even a failed wait ends it: the id may no longer be ours to signal.
        self.reaped = true;
        status
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.reap();
        }
    }
}

/// Splits the output into frames until it ends, times out, or turns out to be unusable.
fn pump(
    rx: &Receiver<Vec<u8>>,
    opts: &SourceOptions,
    em: &mut Emitter<'_>,
    stop: &StopSignal,
) -> Pumped {
    let max = em.max_frame_size();
    let mut splitter = FrameSplitter::with_options(SplitOptions::default().max_frame_size(max));
    loop {
        let chunk = match rx.recv_timeout(opts.read_timeout) {
            Ok(chunk) => chunk,
            Err(_) if stop.is_stopped() => return Pumped::Ended(Ended::Stopped),
            Err(RecvTimeoutError::Disconnected) => {
                splitter.finish();
                if let Err(e) = drain(&mut splitter, em) {
                    tracing::debug!(source = %em.name(), reason = ?e, "output ended mid-frame");
                }
                return Pumped::Eof;
            }
            Err(RecvTimeoutError::Timeout) => {
                return Pumped::Ended(Ended::lost(format!(
                    "no output for {:.1} s",
                    opts.read_timeout.as_secs_f64()
                )))
            }
        };
        splitter.push(&chunk);
        if let Err(ended) = drain(&mut splitter, em) {
            return Pumped::Ended(ended);
        }
    }
}

/// Hands on every complete frame the splitter holds.
fn drain(splitter: &mut FrameSplitter, em: &mut Emitter<'_>) -> Result<(), Ended> {
    loop {
        match splitter.next_frame() {
            Ok(Some(frame)) => em.frame(frame, None),
            Ok(None) => return Ok(()),
            Err(MjpegError::FrameTooLarge { index, .. }) => {
                return Err(em.too_large(format!("output frame {index}")))
            }
            Err(e) => return Err(Ended::lost(format!("the output is not MJPEG: {e}"))),
        }
    }
}

fn spawn_reader(
    mut out: ChildStdout,
    tx: SyncSender<Vec<u8>>,
    pgid: u32,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("source-exec-{pgid}"))
        .spawn(move || {
            let mut buf = vec![0; READ_BUF];
            loop {
                match out.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        })
}

/// Lets the reader thread end: it does once every process holding the pipe is gone and it
/// is not blocked handing over a chunk. A process outside the group holding the pipe would
/// keep it alive: it is then left to end by itself.
fn finish_reader(rx: Receiver<Vec<u8>>, reader: JoinHandle<()>) {
    let until = Instant::now() + READER_WAIT;
    loop {
        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(_) => {}
            Err(RecvTimeoutError::Disconnected) => {
                let _ = reader.join();
                return;
            }
            Err(RecvTimeoutError::Timeout) => {
                tracing::debug!("the command's output is still open; reader thread detached");
                return;
            }
        }
    }
}

/// `SIGKILL` to the process group `pgid` (the command's shell and everything it started that
/// stayed in its group).
#[allow(unsafe_code)]
fn kill_group(pgid: u32) {
    // Never 0 or 1: kill(0) and kill(-1) would reach our own group or every process.
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill(2) takes two integers and reads or writes no memory of ours. The group is
    // the one our unreaped child leads (callers never call this after reaping it), so the id
    // names no other process group. An error (the group is already gone) needs no handling.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}
