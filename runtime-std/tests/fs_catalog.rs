//! `FsCatalog`: confinement to the media root, loading (off the caller's thread), caching
//! (failures too, within a budget), limits, listing, the sample.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, SystemTime};

use rtsp_core::server::{Catalog, LookupError, Media};
use runtime_std::media::{CatalogError, FilePath, FsCatalog, SAMPLE_FRAMES, SAMPLE_NAME};

/// Bound on one load in these tests.
const WAIT: Duration = Duration::from_secs(30);

/// A lookup that waits for the load (lookups answer `Loading` while a file loads).
fn get(cat: &mut FsCatalog, name: &str) -> Result<Arc<Media>, LookupError> {
    cat.lookup_wait(name, WAIT)
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "fs-catalog-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn lab_file(frames: u32) -> Vec<u8> {
    let mut out = Vec::new();
    mjpeg::write_lab(&mjpeg::testpattern::frames(frames, 64, 48), &mut out).unwrap();
    out
}

fn concatenated_file(frames: u32) -> Vec<u8> {
    let mut out = Vec::new();
    mjpeg::write_concatenated(&mjpeg::testpattern::frames(frames, 64, 48), &mut out);
    out
}

/// `outside/` holds a file that must never be served; `outside/root/` is the media root.
fn setup() -> (TempDir, PathBuf) {
    let dir = TempDir::new();
    fs::write(dir.path().join("x.mjpeg"), lab_file(2)).unwrap();
    let root = dir.path().join("root");
    fs::create_dir_all(root.join("clips")).unwrap();
    fs::write(root.join("movie.Mjpeg"), lab_file(3)).unwrap();
    fs::write(root.join("clips/a.mjpeg"), concatenated_file(4)).unwrap();
    (dir, root)
}

#[test]
fn serves_files_in_both_formats() {
    let (_dir, root) = setup();
    let mut cat = FsCatalog::new(&root).unwrap();
    let m = get(&mut cat, "movie.Mjpeg").unwrap();
    assert_eq!((m.frame_count(), m.width(), m.height()), (3, 64, 48));
    assert_eq!(m.name(), "movie.Mjpeg");
    let a = get(&mut cat, "clips/a.mjpeg").unwrap();
    assert_eq!(a.frame_count(), 4);
}

#[test]
fn configured_paths_set_rate_looping_and_aliases() {
    let (_dir, root) = setup();
    fs::write(root.join("movie.Mjpeg.fps"), "12\n").unwrap();
    let mut cat = FsCatalog::new(&root)
        .unwrap()
        .with_fps(10.0)
        .with_path(
            "cam",
            FilePath {
                file: Some("clips/a.mjpeg".into()),
                fps: Some(30.0),
                looping: Some(true),
            },
        )
        .with_path(
            "movie.Mjpeg",
            FilePath {
                looping: Some(false),
                ..FilePath::default()
            },
        )
        .with_path(
            "old",
            FilePath {
                file: Some("clips".into()),
                fps: Some(5.0),
                ..FilePath::default()
            },
        )
        .with_path(
            "escape",
            FilePath {
                file: Some("../x.mjpeg".into()),
                ..FilePath::default()
            },
        );
    // An alias serves another file under the path's own name, at the path's rate, looping.
    let cam = get(&mut cat, "cam").unwrap();
    assert_eq!((cam.name(), cam.frame_count(), cam.fps()), ("cam", 4, 30.0));
    assert!(cam.loops(false));
    // The sidecar's rate stays where the path sets none; `loop = false` wins over the server's.
    let movie = get(&mut cat, "movie.Mjpeg").unwrap();
    assert_eq!(movie.fps(), 12.0);
    assert!(!movie.loops(true));
    // A directory alias serves what is below it.
    let a = get(&mut cat, "old/a.mjpeg").unwrap();
    assert_eq!(
        (a.name(), a.frame_count(), a.fps()),
        ("old/a.mjpeg", 4, 5.0)
    );
    assert!(a.loops(true) && !a.loops(false));
    // Unconfigured names keep the catalog's settings; an alias cannot leave the root, and
    // the names below an alias are checked like any other.
    assert_eq!(get(&mut cat, "clips/a.mjpeg").unwrap().fps(), 10.0);
    assert_eq!(get(&mut cat, "escape").unwrap_err(), LookupError::Forbidden);
    assert_eq!(
        get(&mut cat, "old/../../x.mjpeg").unwrap_err(),
        LookupError::Forbidden
    );
}

#[test]
fn refuses_names_that_escape_the_root() {
    let (dir, root) = setup();
    let mut cat = FsCatalog::new(&root).unwrap();
    let outside = dir.path().join("x.mjpeg");
    for name in [
        "../x.mjpeg",
        "clips/../../x.mjpeg",
        "./movie.Mjpeg",
        "/etc/passwd",
        outside.to_str().unwrap(),
        "..",
        "",
        "a\\..\\x.mjpeg",
        "movie.Mjpeg\0",
    ] {
        assert_eq!(
            get(&mut cat, name).unwrap_err(),
            LookupError::Forbidden,
            "{name:?}"
        );
    }
    // An absolute path to a file that IS inside the root is refused too.
    let inside = root.join("movie.Mjpeg");
    assert_eq!(
        get(&mut cat, inside.to_str().unwrap()).unwrap_err(),
        LookupError::Forbidden
    );
}

#[test]
fn symlinks_out_are_refused_symlinks_in_are_served() {
    let (dir, root) = setup();
    std::os::unix::fs::symlink(dir.path().join("x.mjpeg"), root.join("out.mjpeg")).unwrap();
    std::os::unix::fs::symlink(dir.path(), root.join("updir")).unwrap();
    std::os::unix::fs::symlink(root.join("movie.Mjpeg"), root.join("in.mjpeg")).unwrap();
    let mut cat = FsCatalog::new(&root).unwrap();
    assert_eq!(
        get(&mut cat, "out.mjpeg").unwrap_err(),
        LookupError::Forbidden
    );
    assert_eq!(
        get(&mut cat, "updir/x.mjpeg").unwrap_err(),
        LookupError::Forbidden
    );
    assert_eq!(get(&mut cat, "in.mjpeg").unwrap().frame_count(), 3);
    let names = cat.names();
    assert!(names.contains(&"in.mjpeg".to_string()));
    assert!(!names
        .iter()
        .any(|n| n.contains("out") || n.contains("updir")));
}

#[test]
fn special_files_are_refused_without_blocking() {
    let (_dir, root) = setup();
    let fifo = root.join("pipe.mjpeg");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let mut cat = FsCatalog::new(&root).unwrap();
    // Opening a FIFO for reading would block forever: it must be refused before that.
    assert_eq!(
        get(&mut cat, "pipe.mjpeg").unwrap_err(),
        LookupError::Forbidden
    );
    assert!(!cat.names().iter().any(|n| n.contains("pipe")));
    // Devices, through a symlink inside the root, are outside it anyway.
    std::os::unix::fs::symlink("/dev/zero", root.join("zero.mjpeg")).unwrap();
    assert_eq!(
        get(&mut cat, "zero.mjpeg").unwrap_err(),
        LookupError::Forbidden
    );
}

#[test]
fn missing_directories_hidden_and_other_extensions() {
    let (_dir, root) = setup();
    fs::write(root.join(".hidden.mjpeg"), lab_file(1)).unwrap();
    fs::write(root.join("notes.txt"), b"hello").unwrap();
    let mut cat = FsCatalog::new(&root).unwrap();
    assert_eq!(
        get(&mut cat, "nope.mjpeg").unwrap_err(),
        LookupError::NotFound
    );
    assert_eq!(get(&mut cat, "clips").unwrap_err(), LookupError::NotFound);
    assert_eq!(
        get(&mut cat, "notes.txt").unwrap_err(),
        LookupError::NotFound
    );
    assert_eq!(
        get(&mut cat, ".hidden.mjpeg").unwrap_err(),
        LookupError::Forbidden
    );
    // Without the sample enabled and no such file, `sample` does not exist.
    assert_eq!(
        get(&mut cat, SAMPLE_NAME).unwrap_err(),
        LookupError::NotFound
    );
}

#[test]
fn corrupt_files_name_the_file_and_offset() {
    let (_dir, root) = setup();
    let mut data = lab_file(3);
    data.truncate(data.len() - 10);
    fs::write(root.join("cut.Mjpeg"), &data).unwrap();
    fs::write(root.join("junk.mjpeg"), b"this is not a video").unwrap();
    let mut cat = FsCatalog::new(&root).unwrap();
    match get(&mut cat, "cut.Mjpeg").unwrap_err() {
        LookupError::Invalid(msg) => {
            assert!(msg.contains("cut.Mjpeg"), "{msg}");
            assert!(msg.contains("byte"), "{msg}");
        }
        e => panic!("unexpected {e:?}"),
    }
    match get(&mut cat, "junk.mjpeg").unwrap_err() {
        LookupError::Invalid(msg) => assert!(msg.contains("junk.mjpeg"), "{msg}"),
        e => panic!("unexpected {e:?}"),
    }
}

#[test]
fn loaded_media_are_cached_until_the_file_changes() {
    let (_dir, root) = setup();
    let mut cat = FsCatalog::new(&root)
        .unwrap()
        .with_revalidate(Duration::ZERO);
    let a = get(&mut cat, "movie.Mjpeg").unwrap();
    let b = get(&mut cat, "movie.Mjpeg").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    fs::write(root.join("movie.Mjpeg"), lab_file(5)).unwrap();
    let c = get(&mut cat, "movie.Mjpeg").unwrap();
    assert_eq!(c.frame_count(), 5);
}

#[test]
fn within_the_revalidation_window_the_filesystem_is_not_consulted() {
    let (_dir, root) = setup();
    let mut cat = FsCatalog::new(&root)
        .unwrap()
        .with_revalidate(Duration::from_secs(3600))
        .with_sample()
        .unwrap();
    let a = get(&mut cat, "movie.Mjpeg").unwrap();
    let frames = a.frame_count();
    // Changed, then removed: the window serves what was loaded.
    fs::write(root.join("movie.Mjpeg"), lab_file(frames as u32 + 2)).unwrap();
    assert!(Arc::ptr_eq(&a, &get(&mut cat, "movie.Mjpeg").unwrap()));
    fs::remove_file(root.join("movie.Mjpeg")).unwrap();
    assert!(Arc::ptr_eq(&a, &get(&mut cat, "movie.Mjpeg").unwrap()));
    // The built-in sample is remembered too, even once a file named `sample` appears.
    let s = get(&mut cat, SAMPLE_NAME).unwrap();
    fs::write(root.join(SAMPLE_NAME), lab_file(2)).unwrap();
    assert!(Arc::ptr_eq(&s, &get(&mut cat, SAMPLE_NAME).unwrap()));
    // Refusals and misses are never cached.
    assert_eq!(
        get(&mut cat, "nope.mjpeg").unwrap_err(),
        LookupError::NotFound
    );
    fs::write(root.join("nope.mjpeg"), lab_file(3)).unwrap();
    assert_eq!(get(&mut cat, "nope.mjpeg").unwrap().frame_count(), 3);
    // A zero window sees every change at once.
    let mut cat = cat.with_revalidate(Duration::ZERO);
    assert_eq!(get(&mut cat, SAMPLE_NAME).unwrap().frame_count(), 2);
    assert_eq!(
        get(&mut cat, "movie.Mjpeg").unwrap_err(),
        LookupError::NotFound
    );
}

#[test]
fn names_walk_the_root() {
    let (_dir, root) = setup();
    fs::create_dir_all(root.join("deep/er")).unwrap();
    fs::write(root.join("deep/er/b.mjpg"), lab_file(1)).unwrap();
    fs::write(root.join("readme.txt"), b"x").unwrap();
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::write(root.join(".git/c.mjpeg"), lab_file(1)).unwrap();
    let cat = FsCatalog::new(&root).unwrap();
    assert_eq!(
        cat.names(),
        vec!["clips/a.mjpeg", "deep/er/b.mjpg", "movie.Mjpeg"]
    );
}

#[test]
fn builtin_sample_and_file_override() {
    let (_dir, root) = setup();
    let mut cat = FsCatalog::new(&root)
        .unwrap()
        .with_revalidate(Duration::ZERO)
        .with_sample()
        .unwrap();
    let s = get(&mut cat, SAMPLE_NAME).unwrap();
    assert_eq!(s.frame_count(), SAMPLE_FRAMES as usize);
    assert_eq!((s.width(), s.height(), s.fps()), (384, 288, 25.0));
    assert!(s.looping());
    assert!(s.duration().as_secs_f64() >= 10.0);
    assert_eq!(cat.names()[0], SAMPLE_NAME);
    // A file named `sample` wins over the built-in one.
    fs::write(root.join(SAMPLE_NAME), lab_file(2)).unwrap();
    assert_eq!(get(&mut cat, SAMPLE_NAME).unwrap().frame_count(), 2);
}

#[test]
fn bad_roots_are_reported() {
    let dir = TempDir::new();
    match FsCatalog::new(dir.path().join("missing")) {
        Err(CatalogError::Root { path, .. }) => assert!(path.ends_with("missing")),
        other => panic!("unexpected {other:?}"),
    }
    fs::write(dir.path().join("file"), b"x").unwrap();
    assert!(matches!(
        FsCatalog::new(dir.path().join("file")),
        Err(CatalogError::NotADirectory(_))
    ));
}

/// A before-load hook that reports each load starting (its name on the returned receiver)
/// and holds it until the test sends on the returned sender (bounded by [`WAIT`]).
fn gate() -> (
    impl Fn(&str) + Send + Sync + 'static,
    mpsc::Receiver<String>,
    mpsc::Sender<()>,
) {
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let (started_tx, release_rx) = (Mutex::new(started_tx), Mutex::new(release_rx));
    let hook = move |name: &str| {
        let _ = started_tx.lock().unwrap().send(name.to_string());
        let _ = release_rx.lock().unwrap().recv_timeout(WAIT);
    };
    (hook, started, release)
}

/// A channel fed by the catalog after each load.
fn loaded_events(cat: &FsCatalog) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel();
    cat.on_loaded(move || tx.send(()).is_ok());
    rx
}

#[test]
fn lookup_answers_loading_at_once_and_the_media_once_loaded() {
    let (_dir, root) = setup();
    let (hook, started, release) = gate();
    let mut cat = FsCatalog::new(&root).unwrap().with_before_load(hook);
    let loaded = loaded_events(&cat);
    let g0 = cat.generation();
    assert_eq!(cat.lookup("movie.Mjpeg").err(), Some(LookupError::Loading));
    assert_eq!(started.recv_timeout(WAIT).unwrap(), "movie.Mjpeg");
    // Asked again while it loads: still loading, no second load.
    assert_eq!(cat.lookup("movie.Mjpeg").err(), Some(LookupError::Loading));
    assert_eq!(cat.generation(), g0);
    release.send(()).unwrap();
    loaded
        .recv_timeout(WAIT)
        .expect("the load ends and says so");
    assert_eq!(cat.generation(), g0 + 1);
    let m = cat.lookup("movie.Mjpeg").expect("loaded");
    assert_eq!(m.frame_count(), 3);
    assert_eq!(cat.cache_stats().reads, 1);
    assert!(started.try_recv().is_err());
}

/// Sets the modification time of `path`.
fn set_mtime(path: &Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn a_failure_is_remembered_until_the_file_changes() {
    let (_dir, root) = setup();
    let path = root.join("bad.Mjpeg");
    let good = lab_file(3);
    let mut bad = good.clone();
    bad[0] = b'x'; // neither layout: the split fails
    fs::write(&path, &bad).unwrap();
    let t = fs::metadata(&path).unwrap().modified().unwrap();
    let mut cat = FsCatalog::new(&root)
        .unwrap()
        .with_revalidate(Duration::ZERO);
    let err = get(&mut cat, "bad.Mjpeg").unwrap_err();
    assert!(
        matches!(&err, LookupError::Invalid(m) if m.contains("bad.Mjpeg")),
        "{err:?}"
    );
    assert_eq!(cat.cache_stats().reads, 1);
    // The same length and modification time, but now a valid file: the cached failure is
    // the answer, so the file was not read again.
    fs::write(&path, &good).unwrap();
    set_mtime(&path, t);
    for _ in 0..3 {
        assert_eq!(cat.lookup("bad.Mjpeg").err(), Some(err.clone()));
    }
    let s = cat.cache_stats();
    assert_eq!((s.reads, s.failures), (1, 1));
    // A new modification time: read again.
    set_mtime(&path, t + Duration::from_secs(2));
    assert_eq!(get(&mut cat, "bad.Mjpeg").unwrap().frame_count(), 3);
    let s = cat.cache_stats();
    assert_eq!((s.reads, s.failures, s.streams), (2, 0, 1));
}

#[test]
fn a_file_over_the_size_limit_is_refused_without_being_read() {
    let (_dir, root) = setup();
    let len = fs::metadata(root.join("movie.Mjpeg")).unwrap().len();
    let reads = Arc::new(AtomicU32::new(0));
    let r = Arc::clone(&reads);
    let mut cat = FsCatalog::new(&root)
        .unwrap()
        .with_max_file_size(len - 1)
        .with_before_load(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        });
    let want = format!(
        "file of {len} bytes is over the size limit of {} bytes",
        len - 1
    );
    for err in [
        cat.lookup("movie.Mjpeg").unwrap_err(),
        cat.load("movie.Mjpeg").unwrap_err(),
    ] {
        match &err {
            LookupError::Busy(m) => {
                assert!(m.contains("movie.Mjpeg") && m.contains(&want), "{m}")
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        assert_eq!(err.status().0, 503);
    }
    assert_eq!(reads.load(Ordering::SeqCst), 0);
    assert_eq!(cat.cache_stats().reads, 0);
    // A smaller file under the same root loads.
    fs::write(root.join("small.mjpeg"), lab_file(1)).unwrap();
    assert_eq!(get(&mut cat, "small.mjpeg").unwrap().frame_count(), 1);
}

#[test]
fn a_new_load_beyond_max_loads_is_busy() {
    let (_dir, root) = setup();
    let (hook, started, release) = gate();
    let mut cat = FsCatalog::new(&root)
        .unwrap()
        .with_max_loads(1)
        .with_before_load(hook);
    let loaded = loaded_events(&cat);
    assert_eq!(cat.lookup("movie.Mjpeg").err(), Some(LookupError::Loading));
    assert_eq!(started.recv_timeout(WAIT).unwrap(), "movie.Mjpeg");
    match cat.lookup("clips/a.mjpeg") {
        Err(LookupError::Busy(m)) => assert!(m.contains("too many loads"), "{m}"),
        other => panic!("expected Busy, got {other:?}"),
    }
    // The one running is still just loading.
    assert_eq!(cat.lookup("movie.Mjpeg").err(), Some(LookupError::Loading));
    assert_eq!(cat.cache_stats().loading, 1);
    release.send(()).unwrap();
    loaded.recv_timeout(WAIT).unwrap();
    assert!(cat.lookup("movie.Mjpeg").is_ok());
    // Room again.
    assert_eq!(
        cat.lookup("clips/a.mjpeg").err(),
        Some(LookupError::Loading)
    );
    assert_eq!(started.recv_timeout(WAIT).unwrap(), "clips/a.mjpeg");
    release.send(()).unwrap();
    loaded.recv_timeout(WAIT).unwrap();
    assert_eq!(cat.lookup("clips/a.mjpeg").unwrap().frame_count(), 4);
}

#[test]
fn the_least_recently_used_stream_is_evicted_beyond_the_budget() {
    let (_dir, root) = setup();
    for n in ["a", "b", "c"] {
        fs::write(root.join(format!("{n}.mjpeg")), lab_file(3)).unwrap();
    }
    let cost = {
        let mut c = FsCatalog::new(&root).unwrap();
        get(&mut c, "a.mjpeg").unwrap();
        c.cache_stats().bytes
    };
    assert!(cost > 0);
    let budget = 2 * cost + cost / 2;
    let mut cat = FsCatalog::new(&root)
        .unwrap()
        .with_revalidate(Duration::ZERO)
        .with_cache_budget(budget);
    let a = get(&mut cat, "a.mjpeg").unwrap();
    let b = get(&mut cat, "b.mjpeg").unwrap();
    let _c = get(&mut cat, "c.mjpeg").unwrap();
    let s = cat.cache_stats();
    assert_eq!(
        (s.streams, s.bytes, s.evictions, s.reads),
        (2, 2 * cost, 1, 3)
    );
    // `a` was the least recently used. Nobody holds it any more: it is read again (and
    // `b`, now the least recently used, makes room).
    drop(a);
    get(&mut cat, "a.mjpeg").unwrap();
    let s = cat.cache_stats();
    assert_eq!((s.streams, s.evictions, s.reads), (2, 2, 4));
    // `b` is still held (a session playing it): it comes back without a read.
    assert!(Arc::ptr_eq(&b, &cat.lookup("b.mjpeg").unwrap()));
    let s = cat.cache_stats();
    assert_eq!(s.reads, 4);
    assert!(s.bytes <= budget, "{s:?}");
}

/// A file's frame rate comes from its sidecar (`NAME.fps`) when it has one, else from the
/// catalog's default; a sidecar that says no frame rate makes the file fail, naming the
/// sidecar; a sidecar that is a link is not followed.
#[test]
fn frame_rate_from_the_sidecar() {
    let dir = TempDir::new();
    fs::write(dir.path().join("a.mjpeg"), concatenated_file(3)).unwrap();
    fs::write(dir.path().join("b.mjpeg"), concatenated_file(3)).unwrap();
    fs::write(dir.path().join("b.mjpeg.fps"), "30000/1001\n").unwrap();
    fs::write(dir.path().join("c.mjpeg"), concatenated_file(3)).unwrap();
    fs::write(dir.path().join("c.mjpeg.fps"), "fast\n").unwrap();
    fs::write(dir.path().join("d.mjpeg"), concatenated_file(3)).unwrap();
    fs::write(dir.path().join("rate"), "50\n").unwrap();
    std::os::unix::fs::symlink(dir.path().join("rate"), dir.path().join("d.mjpeg.fps")).unwrap();
    let mut cat = FsCatalog::new(dir.path()).unwrap().with_fps(12.0);
    assert_eq!(get(&mut cat, "a.mjpeg").unwrap().fps(), 12.0);
    assert_eq!(get(&mut cat, "b.mjpeg").unwrap().fps(), 30000.0 / 1001.0);
    match get(&mut cat, "c.mjpeg") {
        Err(LookupError::Invalid(msg)) => {
            assert!(
                msg.contains("c.mjpeg.fps") && msg.contains("\"fast\""),
                "{msg}"
            )
        }
        other => panic!("{other:?}"),
    }
    match get(&mut cat, "d.mjpeg") {
        Err(LookupError::Invalid(msg)) => assert!(msg.contains("not a regular file"), "{msg}"),
        other => panic!("{other:?}"),
    }
}
