//! What is wrong with a configuration file, and where: each problem with the line and column
//! of the offending key or value (from toml's byte spans), printed as `FILE:LINE:COL: reason`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A configuration file that cannot be used: every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    file: PathBuf,
    problems: Vec<Problem>,
}

/// One problem: where (`None`: the file as a whole, e.g. it cannot be read) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Line and column of the offending key or value.
    pub at: Option<Position>,
    /// What is wrong, starting with the key (`paths.cam1.source: unknown scheme "ftp" …`).
    pub reason: String,
}

/// A place in the file, both 1-based; the column counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` of `text` (past the end: just after the last character).
    pub fn of(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl ConfigError {
    /// `file` cannot be read.
    pub(crate) fn unreadable(file: &Path, e: &std::io::Error) -> Self {
        Self {
            file: file.to_path_buf(),
            problems: vec![Problem {
                at: None,
                reason: format!("cannot read: {e}"),
            }],
        }
    }

    /// What toml refused (syntax, types, unknown keys, a value out of its limits), at its
    /// span, the reason prefixed with the key toml was reading.
    pub(crate) fn from_toml(file: &Path, text: &str, e: &toml::de::Error) -> Self {
        let reason = match toml_key(e) {
            Some(key) => format!("{key}: {}", e.message()),
            None => e.message().to_string(),
        };
        Self {
            file: file.to_path_buf(),
            problems: vec![Problem {
                at: e.span().map(|s| Position::of(text, s.start)),
                reason,
            }],
        }
    }
}

/// The dotted key a toml error was raised under (`server.port`), if any. toml keeps it
/// private and writes it on a last line `in `KEY`` when the error carries no input text.
fn toml_key(e: &toml::de::Error) -> Option<String> {
    let mut bare = e.clone();
    bare.set_input(None);
    let text = bare.to_string();
    let key = text
        .lines()
        .last()?
        .strip_prefix("in `")?
        .strip_suffix('`')?;
    (!key.is_empty()).then(|| key.to_string())
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:", self.file.display())?;
            if let Some(at) = p.at {
                write!(f, "{}:{}:", at.line, at.column)?;
            }
            write!(f, " {}", p.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Problems gathered while checking a parsed file.
pub(crate) struct Problems<'t> {
    text: &'t str,
    /// With the byte offset they are sorted by.
    list: Vec<(usize, Problem)>,
}

impl<'t> Problems<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        Self {
            text,
            list: Vec::new(),
        }
    }

    /// A problem at the bytes `span` of the text (`None`: the file as a whole).
    pub(crate) fn push(&mut self, span: Option<Range<usize>>, reason: impl Into<String>) {
        let at = span.as_ref().map(|s| Position::of(self.text, s.start));
        let offset = span.map_or(0, |s| s.start);
        self.list.push((
            offset,
            Problem {
                at,
                reason: reason.into(),
            },
        ));
    }

    /// `Ok` when there were none, else every problem in file order.
    pub(crate) fn finish(mut self, file: &Path) -> Result<(), ConfigError> {
        if self.list.is_empty() {
            return Ok(());
        }
        self.list.sort_by_key(|(offset, _)| *offset);
        Err(ConfigError {
            file: file.to_path_buf(),
            problems: self.list.into_iter().map(|(_, p)| p).collect(),
        })
    }
}

/// `a.b."c d"`: a dotted TOML key, each part quoted unless it is a bare key.
pub(crate) fn key_path(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            let bare = !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if bare {
                p.to_string()
            } else {
                format!("{p:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(Position::of(text, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::of(text, 6), Position { line: 2, column: 1 });
        // After "bé = " (é is two bytes).
        assert_eq!(Position::of(text, 12), Position { line: 2, column: 6 });
        // Inside é, and past the end.
        assert_eq!(Position::of(text, 8), Position { line: 2, column: 2 });
        assert_eq!(Position::of(text, 99), Position { line: 3, column: 1 });
    }

    #[test]
    fn problems_print_in_file_order() {
        let text = "x = 1\ny = 2\n";
        let mut p = Problems::new(text);
        p.push(Some(10..11), "y: second");
        p.push(Some(4..5), "x: first");
        let e = p.finish(Path::new("s.toml")).unwrap_err();
        assert_eq!(e.to_string(), "s.toml:1:5: x: first\ns.toml:2:5: y: second");
        assert!(Problems::new(text).finish(Path::new("s.toml")).is_ok());
    }

    #[test]
    fn key_paths_quote_what_is_not_bare() {
        assert_eq!(key_path(&["paths", "cam1", "fps"]), "paths.cam1.fps");
        assert_eq!(
            key_path(&["paths", "clips/a.mjpeg", "fps"]),
            r#"paths."clips/a.mjpeg".fps"#
        );
        assert_eq!(key_path(&["users", ""]), r#"users."""#);
    }
}
