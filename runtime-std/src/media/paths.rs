//! Configured file paths ([`FilePath`]): a stream name served from a file or directory below
//! the media root, with its own frame rate and looping.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// A configured file path (a config file's `[paths.NAME] source = "file"`): the name `NAME`
/// and every name below it (`NAME/clip.mjpeg` when it is a directory) are served from
/// `file`, at `fps`, looping or not.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FilePath {
    /// The file or directory below the media root it serves (`/`-separated); `None`: the
    /// path's own name.
    pub file: Option<String>,
    /// Frame rate, over the file's sidecar and the catalog's rate.
    pub fps: Option<f64>,
    /// Loop at the end (`Some(true)`) or end (`Some(false)`) whatever the server's setting.
    pub looping: Option<bool>,
}

/// The configured paths of a catalog, by name.
#[derive(Debug, Clone, Default)]
pub(super) struct FilePaths(BTreeMap<String, FilePath>);

impl FilePaths {
    pub(super) fn insert(&mut self, name: String, path: FilePath) {
        self.0.insert(name, path);
    }

    /// The configured path that covers stream `name`: the path itself, or the longest one
    /// `name` is below; with the rest of the name (`""` for the path itself).
    pub(super) fn covering<'a>(&self, name: &'a str) -> Option<(&FilePath, &'a str)> {
        let mut prefix = name;
        let mut rest = "";
        loop {
            if let Some(p) = self.0.get(prefix) {
                return Some((p, rest));
            }
            let cut = prefix.rfind('/')?;
            rest = &name[cut + 1..];
            prefix = &name[..cut];
        }
    }

    /// The file below the root that serves stream `name`.
    pub(super) fn file_of<'a>(&self, name: &'a str) -> Cow<'a, str> {
        match self.covering(name) {
            Some((
                FilePath {
                    file: Some(file), ..
                },
                "",
            )) => Cow::Owned(file.clone()),
            Some((
                FilePath {
                    file: Some(file), ..
                },
                rest,
            )) => Cow::Owned(format!("{}/{rest}", file.trim_end_matches('/'))),
            _ => Cow::Borrowed(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> FilePaths {
        let mut p = FilePaths::default();
        p.insert(
            "clips".into(),
            FilePath {
                file: Some("archive/2026".into()),
                fps: Some(30.0),
                looping: Some(true),
            },
        );
        p.insert(
            "clips/slow".into(),
            FilePath {
                fps: Some(5.0),
                ..FilePath::default()
            },
        );
        p.insert(
            "movie.mjpeg".into(),
            FilePath {
                looping: Some(false),
                ..FilePath::default()
            },
        );
        p
    }

    #[test]
    fn the_longest_configured_prefix_covers_a_name() {
        let p = paths();
        assert_eq!(p.covering("clips").unwrap().0.fps, Some(30.0));
        assert_eq!(
            p.covering("clips/a.mjpeg").unwrap(),
            (&p.0["clips"], "a.mjpeg")
        );
        assert_eq!(p.covering("clips/slow/b.mjpeg").unwrap().0.fps, Some(5.0));
        assert_eq!(p.covering("movie.mjpeg").unwrap().0.looping, Some(false));
        assert!(p.covering("clipsX/a.mjpeg").is_none());
        assert!(p.covering("other.mjpeg").is_none());
    }

    #[test]
    fn an_alias_maps_the_name_and_what_is_below_it() {
        let p = paths();
        assert_eq!(p.file_of("clips"), "archive/2026");
        assert_eq!(p.file_of("clips/a.mjpeg"), "archive/2026/a.mjpeg");
        assert_eq!(p.file_of("clips/slow/b.mjpeg"), "clips/slow/b.mjpeg");
        assert_eq!(p.file_of("movie.mjpeg"), "movie.mjpeg");
        assert_eq!(p.file_of("x/../y"), "x/../y");
    }
}
