//! `FsCatalog`: confinement to the media root, loading, caching, listing, the sample.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rtsp_core::server::{Catalog, LookupError};
use runtime_std::media::{CatalogError, FsCatalog, SAMPLE_FRAMES, SAMPLE_NAME};

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
    let m = cat.lookup("movie.Mjpeg").unwrap();
    assert_eq!((m.frame_count(), m.width(), m.height()), (3, 64, 48));
    assert_eq!(m.name(), "movie.Mjpeg");
    let a = cat.lookup("clips/a.mjpeg").unwrap();
    assert_eq!(a.frame_count(), 4);
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
            cat.lookup(name).unwrap_err(),
            LookupError::Forbidden,
            "{name:?}"
        );
    }
    // An absolute path to a file that IS inside the root is refused too.
    let inside = root.join("movie.Mjpeg");
    assert_eq!(
        cat.lookup(inside.to_str().unwrap()).unwrap_err(),
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
    assert_eq!(cat.lookup("out.mjpeg").unwrap_err(), LookupError::Forbidden);
    assert_eq!(
        cat.lookup("updir/x.mjpeg").unwrap_err(),
        LookupError::Forbidden
    );
    assert_eq!(cat.lookup("in.mjpeg").unwrap().frame_count(), 3);
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
        cat.lookup("pipe.mjpeg").unwrap_err(),
        LookupError::Forbidden
    );
    assert!(!cat.names().iter().any(|n| n.contains("pipe")));
    // Devices, through a symlink inside the root, are outside it anyway.
    std::os::unix::fs::symlink("/dev/zero", root.join("zero.mjpeg")).unwrap();
    assert_eq!(
        cat.lookup("zero.mjpeg").unwrap_err(),
        LookupError::Forbidden
    );
}

#[test]
fn missing_directories_hidden_and_other_extensions() {
    let (_dir, root) = setup();
    fs::write(root.join(".hidden.mjpeg"), lab_file(1)).unwrap();
    fs::write(root.join("notes.txt"), b"hello").unwrap();
    let mut cat = FsCatalog::new(&root).unwrap();
    assert_eq!(cat.lookup("nope.mjpeg").unwrap_err(), LookupError::NotFound);
    assert_eq!(cat.lookup("clips").unwrap_err(), LookupError::NotFound);
    assert_eq!(cat.lookup("notes.txt").unwrap_err(), LookupError::NotFound);
    assert_eq!(
        cat.lookup(".hidden.mjpeg").unwrap_err(),
        LookupError::Forbidden
    );
    // Without the sample enabled and no such file, `sample` does not exist.
    assert_eq!(cat.lookup(SAMPLE_NAME).unwrap_err(), LookupError::NotFound);
}

#[test]
fn corrupt_files_name_the_file_and_offset() {
    let (_dir, root) = setup();
    let mut data = lab_file(3);
    data.truncate(data.len() - 10);
    fs::write(root.join("cut.Mjpeg"), &data).unwrap();
    fs::write(root.join("junk.mjpeg"), b"this is not a video").unwrap();
    let mut cat = FsCatalog::new(&root).unwrap();
    match cat.lookup("cut.Mjpeg").unwrap_err() {
        LookupError::Invalid(msg) => {
            assert!(msg.contains("cut.Mjpeg"), "{msg}");
            assert!(msg.contains("byte"), "{msg}");
        }
        e => panic!("unexpected {e:?}"),
    }
    match cat.lookup("junk.mjpeg").unwrap_err() {
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
    let a = cat.lookup("movie.Mjpeg").unwrap();
    let b = cat.lookup("movie.Mjpeg").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    fs::write(root.join("movie.Mjpeg"), lab_file(5)).unwrap();
    let c = cat.lookup("movie.Mjpeg").unwrap();
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
    let a = cat.lookup("movie.Mjpeg").unwrap();
    let frames = a.frame_count();
    // Changed, then removed: the window serves what was loaded.
    fs::write(root.join("movie.Mjpeg"), lab_file(frames as u32 + 2)).unwrap();
    assert!(Arc::ptr_eq(&a, &cat.lookup("movie.Mjpeg").unwrap()));
    fs::remove_file(root.join("movie.Mjpeg")).unwrap();
    assert!(Arc::ptr_eq(&a, &cat.lookup("movie.Mjpeg").unwrap()));
    // The built-in sample is remembered too, even once a file named `sample` appears.
    let s = cat.lookup(SAMPLE_NAME).unwrap();
    fs::write(root.join(SAMPLE_NAME), lab_file(2)).unwrap();
    assert!(Arc::ptr_eq(&s, &cat.lookup(SAMPLE_NAME).unwrap()));
    // Refusals and misses are never cached.
    assert_eq!(cat.lookup("nope.mjpeg").unwrap_err(), LookupError::NotFound);
    fs::write(root.join("nope.mjpeg"), lab_file(3)).unwrap();
    assert_eq!(cat.lookup("nope.mjpeg").unwrap().frame_count(), 3);
    // A zero window sees every change at once.
    let mut cat = cat.with_revalidate(Duration::ZERO);
    assert_eq!(cat.lookup(SAMPLE_NAME).unwrap().frame_count(), 2);
    assert_eq!(
        cat.lookup("movie.Mjpeg").unwrap_err(),
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
    let s = cat.lookup(SAMPLE_NAME).unwrap();
    assert_eq!(s.frame_count(), SAMPLE_FRAMES as usize);
    assert_eq!((s.width(), s.height(), s.fps()), (384, 288, 25.0));
    assert!(s.looping());
    assert!(s.duration().as_secs_f64() >= 10.0);
    assert_eq!(cat.names()[0], SAMPLE_NAME);
    // A file named `sample` wins over the built-in one.
    fs::write(root.join(SAMPLE_NAME), lab_file(2)).unwrap();
    assert_eq!(cat.lookup(SAMPLE_NAME).unwrap().frame_count(), 2);
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
