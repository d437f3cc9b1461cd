//! The sans-IO fence, checked: no core crate (mjpeg, rtp-core, rtsp-core) names a runtime
//! (`runtime-*`), `mio` or `socket2` among its dependencies, dev-dependencies or
//! build-dependencies (examples that need a runtime live in the runtimes). Each core crate's
//! `clippy.toml` rejects clocks, threads, sockets and files in its code; this test keeps the
//! I/O crates out of its manifest.

use std::path::Path;

/// The core crates, by directory under the workspace root.
const CORE: [&str; 3] = ["mjpeg", "rtp-core", "rtsp-core"];

/// Whether a crate name is one a core crate must not depend on.
fn forbidden(name: &str) -> bool {
    name.starts_with("runtime-") || name == "mio" || name == "socket2"
}

/// The dependency names a manifest declares that a core crate must not have, with the
/// section they are in. Reads every dependency table: `[dependencies]`, `[dev-dependencies]`,
/// `[build-dependencies]`, their `[target.'cfg(..)'.*]` forms and `[*.dependencies.NAME]`
/// tables; a renamed dependency counts by its `package`.
fn forbidden_deps(manifest: &str) -> Vec<(String, String)> {
    let is_dep_table = |t: &str| {
        let last = t.rsplit('.').next().unwrap_or(t);
        matches!(
            last,
            "dependencies" | "dev-dependencies" | "build-dependencies"
        )
    };
    let mut found = Vec::new();
    let mut table = String::new();
    for raw in manifest.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            table = header.trim_end_matches(']').trim().to_string();
            // `[dependencies.NAME]`: the table names the dependency.
            if let Some((parent, name)) = table.rsplit_once('.') {
                if is_dep_table(parent) && forbidden(name.trim_matches(|c| c == '"' || c == '\'')) {
                    found.push((table.clone(), name.to_string()));
                }
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().trim_matches('"');
        if is_dep_table(&table) {
            // `name = ...`, `name.workspace = true`, `alias = { package = "name", .. }`.
            let name = key.split('.').next().unwrap_or(key);
            let package = value
                .split("package")
                .nth(1)
                .and_then(|rest| rest.split('"').nth(1));
            for n in [Some(name), package].into_iter().flatten() {
                if forbidden(n) {
                    found.push((table.clone(), n.to_string()));
                }
            }
        } else if key == "package" && table.rsplit_once('.').is_some_and(|(p, _)| is_dep_table(p)) {
            // `[dependencies.alias]` with `package = "name"`.
            if let Some(n) = value.split('"').nth(1) {
                if forbidden(n) {
                    found.push((table.clone(), n.to_string()));
                }
            }
        }
    }
    found
}

#[test]
fn core_crates_name_no_runtime_mio_or_socket2() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in CORE {
        let path = root.join(krate).join("Cargo.toml");
        let manifest = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        assert!(
            manifest.contains("[dependencies]"),
            "{} has no [dependencies] table: the check would see nothing",
            path.display()
        );
        let bad = forbidden_deps(&manifest);
        assert!(
            bad.is_empty(),
            "{krate} is a sans-IO core crate but depends on {bad:?} (move the code that needs \
             them to a runtime crate)"
        );
    }
}

#[test]
fn core_crates_carry_the_lint_fences() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in CORE {
        let lib = std::fs::read_to_string(root.join(krate).join("src/lib.rs")).expect("lib.rs");
        for attr in [
            "#![forbid(unsafe_code)]",
            "#![deny(missing_docs)]",
            "clippy::print_stdout",
            "clippy::print_stderr",
            "clippy::dbg_macro",
        ] {
            assert!(lib.contains(attr), "{krate}/src/lib.rs lacks {attr}");
        }
        let clippy = std::fs::read_to_string(root.join(krate).join("clippy.toml"))
            .unwrap_or_else(|e| panic!("{krate}/clippy.toml: {e}"));
        for path in [
            "std::time::Instant::now",
            "std::time::SystemTime::now",
            "std::thread::spawn",
            "std::net::UdpSocket",
            "std::net::TcpStream",
            "std::fs::File",
        ] {
            assert!(
                clippy.contains(&format!("\"{path}\"")),
                "{krate}/clippy.toml does not disallow {path}"
            );
        }
    }
}

#[test]
fn the_check_finds_every_form_of_a_forbidden_dependency() {
    let clean = r#"
[package]
name = "x"
description = "mentions mio and runtime-std in prose only"

[dependencies]
bytes.workspace = true
nom = "7"          # not mio

[dev-dependencies]
proptest = { version = "1" }
"#;
    assert_eq!(forbidden_deps(clean), vec![]);
    let cases = [
        ("[dependencies]\nmio = \"1\"\n", "mio"),
        (
            "[dev-dependencies]\nruntime-std.workspace = true\n",
            "runtime-std",
        ),
        (
            "[dev-dependencies]\nruntime-mio = { path = \"../runtime-mio\" }\n",
            "runtime-mio",
        ),
        ("[build-dependencies]\nsocket2 = \"0.6\"\n", "socket2"),
        ("[target.'cfg(unix)'.dependencies]\nmio = \"1\"\n", "mio"),
        ("[dependencies.socket2]\nversion = \"0.6\"\n", "socket2"),
        (
            "[dependencies]\nnet = { package = \"mio\", version = \"1\" }\n",
            "mio",
        ),
        (
            "[dev-dependencies.rt]\npackage = \"runtime-std\"\n",
            "runtime-std",
        ),
    ];
    for (manifest, want) in cases {
        let found = forbidden_deps(manifest);
        assert!(
            found.iter().any(|(_, n)| n == want),
            "{want} not found in {manifest:?}: {found:?}"
        );
    }
    // Outside dependency tables the same names are not dependencies.
    assert_eq!(
        forbidden_deps("[features]\nmio = []\n[package]\nname = \"socket2\"\n"),
        vec![]
    );
}
