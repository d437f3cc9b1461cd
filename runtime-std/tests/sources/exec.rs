//! Exec sources: `sh -c` commands writing concatenated JPEGs; the process group is killed
//! and reaped on stop and on loss.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use runtime_std::source::{self, Sink, SourceEvent, SourceSpec};

use crate::util::*;

/// A directory of its own under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("runtime-std-sources-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes the frames back to back to `path`.
fn write_mjpeg(path: &Path, frames: &[bytes::Bytes]) {
    let data: Vec<u8> = frames.iter().flat_map(|f| f.iter().copied()).collect();
    std::fs::write(path, data).unwrap();
}

fn exec(command: String) -> SourceSpec {
    SourceSpec::Exec { command }
}

/// The live processes (by pid) whose process group is `pgid`, from `/proc`. Zombies do not
/// count: they are dead, waiting for their parent (for orphans of a killed shell, init) to
/// reap them.
fn group_members(pgid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().take(3).collect();
        if fields.len() == 3 && fields[2] == pgid.to_string() && fields[0] != "Z" {
            found.push(pid);
        }
    }
    found
}

/// Waits (bounded) until no live process is left in the process group `pgid`; returns the
/// ones still alive after the bound. The shell is reaped by the source, but the `SIGKILL` to
/// the rest of the group is delivered asynchronously, and they are not our children to wait
/// for: /proc is looked at again every few milliseconds, for at most [`WAIT`].
fn group_gone(pgid: u32) -> Vec<u32> {
    let until = std::time::Instant::now() + WAIT;
    loop {
        let alive = group_members(pgid);
        if alive.is_empty() || std::time::Instant::now() > until {
            return alive;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The shell's pid, written by `echo $$ > FILE` in the command (it is also the group id).
fn read_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn the_output_of_cat_becomes_the_frames_and_its_exit_is_a_loss() {
    let dir = TempDir::new("cat");
    let frames = jpegs(5);
    let file = dir.path("clip.mjpeg");
    write_mjpeg(&file, &frames);
    let (src, events) = start("cat", exec(format!("cat '{}'", file.display())), opts());
    assert_eq!(events.jpegs_after_streaming(frames.len()), frames);
    let (reason, _) = events.lost();
    assert_eq!(reason, "the command ended (exit status: 0)");
    // It runs again: the same frames once more.
    assert_eq!(events.jpegs_after_streaming(frames.len()), frames);
    assert!(src.stats().reconnects >= 1);
}

#[test]
fn stop_kills_the_whole_process_group_and_reaps_it() {
    let dir = TempDir::new("stop");
    let frames = jpegs(2);
    let file = dir.path("clip.mjpeg");
    let pid_file = dir.path("pid");
    write_mjpeg(&file, &frames);
    // `sleep` is a second process of the group, started before the frames are written.
    let command = format!(
        "sleep 1000 & echo $$ > '{}'; cat '{}'; wait",
        pid_file.display(),
        file.display()
    );
    let (src, events) = start("stop", exec(command), opts());
    assert_eq!(events.jpegs_after_streaming(frames.len()), frames);
    let pgid = read_pid(&pid_file);
    let members = group_members(pgid);
    assert!(members.len() >= 2, "shell and sleep expected: {members:?}");
    src.stop();
    assert_eq!(group_gone(pgid), Vec::<u32>::new());
    assert!(
        !Path::new(&format!("/proc/{pgid}")).exists(),
        "the shell was not reaped"
    );
}

#[test]
fn no_output_for_the_read_timeout_kills_the_command() {
    let dir = TempDir::new("silent");
    let pid_file = dir.path("pid");
    let command = format!("echo $$ > '{}'; sleep 1000; echo never", pid_file.display());
    let mut o = opts();
    o.read_timeout = Duration::from_millis(300);
    o.backoff_min = Duration::from_secs(60);
    let (_src, events) = start("silent", exec(command), o);
    let (reason, _) = events.lost();
    assert_eq!(reason, "no output for 0.3 s");
    // The attempt killed and reaped its command before reporting the loss.
    let pgid = read_pid(&pid_file);
    assert_eq!(group_gone(pgid), Vec::<u32>::new());
}

#[test]
fn output_that_is_not_mjpeg_is_a_loss() {
    let (_src, events) = start("garbage", exec("echo hello; sleep 1000".into()), opts());
    let (reason, _) = events.lost();
    assert!(reason.starts_with("the output is not MJPEG"), "{reason}");
}

#[test]
fn an_empty_command_is_refused_at_spawn() {
    let (sink, _events) = collector();
    let e = source::spawn("empty", exec("  ".into()), opts(), sink).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn a_panicking_sink_still_kills_the_command() {
    let dir = TempDir::new("panic");
    let file = dir.path("clip.mjpeg");
    let pid_file = dir.path("pid");
    write_mjpeg(&file, &jpegs(1));
    let command = format!(
        "sleep 1000 & echo $$ > '{}'; cat '{}'; wait",
        pid_file.display(),
        file.display()
    );
    let (tx, rx) = mpsc::channel();
    let sink: Sink = Arc::new(move |e| {
        if let SourceEvent::Frame { .. } = e {
            let _ = tx.send(());
            panic!("the sink fails (on purpose)");
        }
    });
    let src = source::spawn("panic", exec(command), opts(), sink).unwrap();
    rx.recv_timeout(WAIT).expect("a frame");
    // The sink (and its sender) is dropped last as the source's thread unwinds: once the
    // channel is disconnected, the attempt's clean-up has run. No stop was asked for yet, so
    // the stop hook did not do it.
    assert_eq!(rx.recv_timeout(WAIT), Err(RecvTimeoutError::Disconnected));
    assert_eq!(group_gone(read_pid(&pid_file)), Vec::<u32>::new());
    src.stop();
}
