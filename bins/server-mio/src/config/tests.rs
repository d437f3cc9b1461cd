//! The configuration file: parsing, every refusal at its line and column, the merge with the
//! command line, and `--check-config`'s output read back.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};
use serde::de::{Error as _, Visitor};
use serde::Deserialize;

use super::*;
use crate::Args;

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(text, Path::new("s.toml")).map_err(|e| e.to_string())
}

/// What `text` is refused with.
#[track_caller]
fn refused(text: &str) -> String {
    match parse(text) {
        Ok(cfg) => panic!("accepted: {cfg:?}"),
        Err(e) => e,
    }
}

/// The keys of `[server]`, as serde names them to a deserializer.
fn server_keys() -> BTreeSet<&'static str> {
    struct Fields(&'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for &mut Fields {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(Self::Error::custom("a struct only"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(Self::Error::custom("fields taken"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields = Fields(&[]);
    let _ = ServerSection::deserialize(&mut fields);
    fields.0.iter().copied().collect()
}

/// `Args` as clap parses `argv` (after the program name), and which flags it was given.
fn args(argv: &[&str]) -> (Args, impl Fn(&str) -> bool) {
    let matches = Args::command()
        .try_get_matches_from(std::iter::once("server-mio").chain(argv.iter().copied()))
        .expect("flags parse");
    let args = Args::from_arg_matches(&matches).expect("flags parse");
    let given =
        move |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    (args, given)
}

#[test]
fn an_empty_file_is_no_change() {
    assert_eq!(parse(""), Ok(Config::default()));
    assert_eq!(parse("[server]\n[users]\n"), Ok(Config::default()));
}

#[test]
fn every_flag_is_a_key_of_the_same_name() {
    // `--user` is `[users]`, `--publish NAME` is `[paths.NAME] source = "publisher"`.
    let not_keys = [
        "user",
        "publish",
        "publish_replace",
        "list",
        "config",
        "check_config",
        // `[http] port` and `[http] admins`.
        "http",
        "admin",
        "help",
        "version",
    ];
    let flags: BTreeSet<String> = Args::command()
        .get_arguments()
        .filter_map(|a| a.get_long())
        .map(|long| long.replace('-', "_"))
        .filter(|name| !not_keys.contains(&name.as_str()))
        .collect();
    let keys: BTreeSet<String> = server_keys().iter().map(|k| k.to_string()).collect();
    assert_eq!(flags, keys);
}

#[test]
fn the_example_sets_every_key_and_each_kind_of_path() {
    let text = include_str!("../../server.example.toml");
    let cfg = Config::parse(text, Path::new("/etc/srv/server.toml")).expect("example parses");
    let set = toml::Table::try_from(&cfg.server).expect("serializes");
    let set: BTreeSet<&str> = set.keys().map(String::as_str).collect();
    assert_eq!(set, server_keys(), "keys the example leaves out");
    // Relative to the file's directory.
    assert_eq!(cfg.server.media, Some(PathBuf::from("/etc/srv/.")));
    assert_eq!(cfg.server.auth, Some(vec![AuthScheme::Digest]));
    assert_eq!(
        cfg.users.keys().collect::<Vec<_>>(),
        ["alice", "cam"].iter().collect::<Vec<_>>()
    );
    let cam1 = PathConfig {
        on_demand: true,
        read_users: Some(vec!["alice".into()]),
        ..PathConfig::new(Source::Rtsp("rtsp://camera.example/stream".into()))
    };
    assert_eq!(cfg.paths["cam1"], cam1);
    let esp = &cfg.paths["esp"];
    assert_eq!(
        (&esp.source, esp.snapshot_interval),
        (
            &Source::Http("http://esp32cam.example/stream".into()),
            Duration::from_millis(500)
        )
    );
    let pushed = &cfg.paths["pushed"];
    assert_eq!(
        (&pushed.source, pushed.replace, &pushed.publish_users[..]),
        (&Source::Publisher, false, &["cam".to_string()][..])
    );
    assert!(
        matches!(&cfg.paths["pipe"].source, Source::Exec(c) if c.starts_with("ffmpeg -f v4l2"))
    );
    let clips = &cfg.paths["clips"];
    assert_eq!(
        (&clips.source, clips.fps, clips.looping),
        (&Source::File(None), Some(30.0), Some(true))
    );
    assert_eq!(cfg.paths.len(), 5);
}

#[test]
fn paths_take_their_defaults() {
    let cfg = parse(
        "[paths.a]\nsource = \"exec:cat x.mjpeg\"\n\
         [paths.b]\nsource = \"file:clips/b.mjpeg\"\n\
         [paths.c]\nsource = \"rtsp://cam/s\"\non_demand = true\non_demand_close_after = 2.5\n\
         rtsp_transport = \"tcp\"\n",
    )
    .unwrap();
    assert_eq!(
        cfg.paths["a"],
        PathConfig::new(Source::Exec("cat x.mjpeg".into()))
    );
    let b = &cfg.paths["b"];
    assert_eq!(b.source, Source::File(Some("clips/b.mjpeg".into())));
    assert_eq!(
        (b.fps, b.looping, b.read_users.as_ref()),
        (None, None, None)
    );
    assert_eq!(b.on_demand_close_after, Duration::from_secs(10));
    assert_eq!(b.snapshot_interval, Duration::from_secs(1));
    let c = &cfg.paths["c"];
    assert_eq!(
        (c.on_demand, c.on_demand_close_after, c.rtsp_transport),
        (true, Duration::from_millis(2500), RtspTransport::Tcp)
    );
}

#[test]
fn media_is_relative_to_the_file() {
    let at = |file: &str, media: &str| {
        let text = format!("[server]\nmedia = {media:?}\n");
        Config::parse(&text, Path::new(file)).unwrap().server.media
    };
    assert_eq!(at("conf/s.toml", "m"), Some(PathBuf::from("conf/m")));
    assert_eq!(at("s.toml", "m"), Some(PathBuf::from("m")));
    assert_eq!(at("conf/s.toml", "/srv/m"), Some(PathBuf::from("/srv/m")));
}

#[test]
fn syntax_and_type_errors_point_at_the_place() {
    assert_eq!(
        refused("[server\n"),
        "s.toml:1:8: unclosed table, expected `]`"
    );
    assert_eq!(
        refused("[server]\nport = 1\nport = 2\n"),
        "s.toml:3:1: duplicate key"
    );
    assert_eq!(
        refused("[server]\nport = \"x\"\n"),
        "s.toml:2:8: server.port: invalid type: string \"x\", expected u16"
    );
    assert_eq!(
        refused("[server]\nport = 70000\n"),
        "s.toml:2:8: server.port: invalid value: integer `70000`, expected u16"
    );
    assert_eq!(
        refused("[server]\nbind = \"1.2.3\"\n"),
        "s.toml:2:8: server.bind: invalid IP address syntax"
    );
    assert_eq!(
        refused("[server]\nauth = [\"ntlm\"]\n"),
        "s.toml:2:9: server.auth: unknown variant `ntlm`, expected `digest` or `basic`"
    );
    assert_eq!(
        refused("[paths.a]\nsource = \"publisher\"\nreplace = 1\n"),
        "s.toml:3:11: paths.a.replace: invalid type: integer `1`, expected a boolean"
    );
}

#[test]
fn the_http_table_sets_the_port_and_known_admins() {
    let cfg = parse("[users]\nalice = \"x\"\n[http]\nport = 8080\nadmins = [\"alice\"]\n").unwrap();
    assert_eq!(cfg.http.port, Some(8080));
    assert_eq!(cfg.http.admins, Some(vec!["alice".to_string()]));
    let e = refused("[http]\nadmins = [\"bob\"]\n");
    assert!(e.contains("http.admins: unknown user \"bob\""), "{e}");
    let e = refused("[http]\nprot = 1\n");
    assert!(e.contains("unknown field `prot`"), "{e}");
}

#[test]
fn unknown_keys_are_refused() {
    assert_eq!(
        refused("x = 1\n"),
        "s.toml:1:1: unknown field `x`, expected one of `server`, `users`, `paths`, `http`"
    );
    let e = refused("[server]\nport = 1\nprot = 2\n");
    assert!(
        e.starts_with("s.toml:3:1: server: unknown field `prot`, expected one of `port`, "),
        "{e}"
    );
    let e = refused("[paths.a]\nsource = \"file\"\n  speed = 2\n");
    assert!(
        e.starts_with("s.toml:3:3: paths.a: unknown field `speed`, expected one of `source`,"),
        "{e}"
    );
    assert_eq!(
        refused("[paths.a]\nfps = 2\n"),
        "s.toml:1:1: paths.a: missing field `source`"
    );
}

#[test]
fn server_values_have_their_flags_limits() {
    let cases = [
        (
            "mtu = 100",
            "2:7: server.mtu: must be between 256 and 65507",
        ),
        (
            "session_timeout = 0",
            "2:19: server.session_timeout: must be at least 1 second",
        ),
        (
            "request_timeout = 0",
            "2:19: server.request_timeout: must be at least 1 second",
        ),
        (
            "idle_timeout = 0",
            "2:16: server.idle_timeout: must be at least 1 second",
        ),
        ("fps = 0", "2:7: server.fps: must be in (0, 1000]"),
        ("fps = 1000.5", "2:7: server.fps: must be in (0, 1000]"),
        (
            "threads = 0",
            "2:11: server.threads: must be between 1 and 256",
        ),
        (
            "load_threads = 65",
            "2:16: server.load_threads: must be between 1 and 64",
        ),
        (
            "max_file_mb = 0",
            "2:15: server.max_file_mb: must be at least 1",
        ),
        (
            "auth = []",
            "2:8: server.auth: must name digest and/or basic",
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(
            refused(&format!("[server]\n{line}\n")),
            format!("s.toml:{expected}")
        );
    }
    let ok =
        parse("[server]\nmtu = 256\nfps = 12.5\nthreads = 256\nauth = [\"basic\", \"digest\"]\n")
            .unwrap();
    assert_eq!(
        (ok.server.mtu, ok.server.fps, ok.server.threads),
        (Some(256), Some(12.5), Some(256))
    );
}

#[test]
fn sources_are_refused_with_the_reason() {
    // The brief's own example: line 7, column 10.
    let text = "[server]\nport = 8554\n\n[users]\nalice = \"pw\"\n\n\
                [paths.cam1]\nsource = \"ftp://camera/stream\"\n";
    let text = text.replacen("\n\n[paths.cam1]", "\n[paths.cam1]", 1);
    assert_eq!(
        refused(&text),
        "s.toml:7:10: paths.cam1.source: unknown scheme \"ftp\" (expected rtsp://, http://, \
         exec:, publisher or file)"
    );
    let source = |s: &str| refused(&format!("[paths.p]\nsource = {s:?}\n"));
    assert_eq!(
        source("https://cam/x.mjpg"),
        "s.toml:2:10: paths.p.source: https:// is not supported (no TLS): use http://, or a \
         local proxy that ends TLS"
    );
    assert_eq!(
        source("rtsps://cam/x"),
        "s.toml:2:10: paths.p.source: rtsps:// (RTSP over TLS) is not supported: use rtsp://, \
         or a local proxy that ends TLS"
    );
    assert_eq!(
        source("rtsp://cam:99999/x"),
        "s.toml:2:10: paths.p.source: \"rtsp://cam:99999/x\": invalid port at byte 11"
    );
    assert_eq!(
        source("files"),
        "s.toml:2:10: paths.p.source: unknown source \"files\" (expected rtsp://, http://, \
         exec:, publisher or file)"
    );
    assert_eq!(
        source("file:/etc/passwd"),
        "s.toml:2:10: paths.p.source: file:/etc/passwd: a name does not start with /"
    );
}

#[test]
fn path_names_are_confined() {
    let name = |n: &str| refused(&format!("[paths.{n}]\nsource = \"publisher\"\n"));
    assert_eq!(
        name("\"a b\""),
        "s.toml:1:8: paths.\"a b\": ' ' is not allowed in a name (only A-Z a-z 0-9 . _ / -)"
    );
    assert_eq!(
        name("\"/abs\""),
        "s.toml:1:8: paths.\"/abs\": a name does not start with /"
    );
    assert_eq!(
        name("\"a/../b\""),
        "s.toml:1:8: paths.\"a/../b\": a name has no empty, . or .. segment"
    );
    assert_eq!(name("\"\""), "s.toml:1:8: paths.\"\": the name is empty");
    let ok = parse("[paths.\"live/cam-1.v2\"]\nsource = \"publisher\"\n").unwrap();
    assert!(ok.paths.contains_key("live/cam-1.v2"));
}

#[test]
fn keys_are_refused_where_their_source_does_not_use_them() {
    let path =
        |source: &str, key: &str| refused(&format!("[paths.p]\nsource = {source:?}\n{key}\n"));
    let pull = "only for pull sources (rtsp://, http://, exec:)";
    assert_eq!(
        path("file", "on_demand = true"),
        format!("s.toml:3:13: paths.p.on_demand: {pull}, not file")
    );
    assert_eq!(
        path("publisher", "on_demand_close_after = 3"),
        format!("s.toml:3:25: paths.p.on_demand_close_after: {pull}, not publisher")
    );
    assert_eq!(
        path("http://cam/", "rtsp_transport = \"tcp\""),
        "s.toml:3:18: paths.p.rtsp_transport: only for rtsp:// sources, not http"
    );
    assert_eq!(
        path("rtsp://cam/", "snapshot_interval = 1"),
        "s.toml:3:21: paths.p.snapshot_interval: only for http:// sources, not rtsp"
    );
    assert_eq!(
        path("exec:cat", "replace = true"),
        "s.toml:3:11: paths.p.replace: only for publisher sources, not exec"
    );
    assert_eq!(
        path("file", "publish_users = []"),
        "s.toml:3:17: paths.p.publish_users: only for publisher sources, not file"
    );
    assert_eq!(
        path("exec:cat", "fps = 10"),
        "s.toml:3:7: paths.p.fps: only for file sources, not exec"
    );
    assert_eq!(
        path("rtsp://cam/", "loop = true"),
        "s.toml:3:8: paths.p.loop: only for file sources, not rtsp"
    );
}

#[test]
fn path_values_are_checked() {
    let path =
        |source: &str, key: &str| refused(&format!("[paths.p]\nsource = {source:?}\n{key}\n"));
    assert_eq!(
        path("file", "fps = 1001"),
        "s.toml:3:7: paths.p.fps: must be in (0, 1000]"
    );
    assert_eq!(
        path("http://cam/x.jpg", "snapshot_interval = 0"),
        "s.toml:3:21: paths.p.snapshot_interval: must be in (0, 3600] seconds"
    );
    assert_eq!(
        path("http://cam/x.jpg", "snapshot_interval = -0.5"),
        "s.toml:3:21: paths.p.snapshot_interval: must be in (0, 3600] seconds"
    );
    assert_eq!(
        path("exec:cat", "on_demand = true\non_demand_close_after = -1"),
        "s.toml:4:25: paths.p.on_demand_close_after: must be in [0, 86400] seconds"
    );
    assert_eq!(
        path("exec:cat", "on_demand_close_after = 5"),
        "s.toml:3:25: paths.p.on_demand_close_after: has no effect without on_demand = true"
    );
    let zero =
        parse("[paths.p]\nsource = \"rtsp://cam/\"\non_demand = true\non_demand_close_after = 0\n")
            .unwrap();
    assert_eq!(zero.paths["p"].on_demand_close_after, Duration::ZERO);
}

#[test]
fn users_are_checked_and_named_users_must_exist() {
    assert_eq!(
        refused("[users]\n\"a:b\" = \"pw\"\n"),
        "s.toml:2:1: users.\"a:b\": a user name is non-empty, without ':'"
    );
    assert_eq!(
        refused("[users]\nalice = \"\"\n"),
        "s.toml:2:9: users.alice: the password is empty"
    );
    let users = "[users]\nalice = \"pw\"\ncam = \"pw2\"\n";
    assert_eq!(
        refused(&format!(
            "{users}[paths.p]\nsource = \"publisher\"\npublish_users = [\"cam\", \"bob\"]\n"
        )),
        "s.toml:6:25: paths.p.publish_users: unknown user \"bob\" (not in [users])"
    );
    assert_eq!(
        refused(&format!(
            "{users}[paths.p]\nsource = \"file\"\nread_users = [\"carol\"]\n"
        )),
        "s.toml:6:15: paths.p.read_users: unknown user \"carol\" (not in [users])"
    );
    assert_eq!(
        refused(&format!(
            "{users}[paths.p]\nsource = \"file\"\nread_users = []\n"
        )),
        "s.toml:6:14: paths.p.read_users: is empty, so nobody could read (leave it out to \
         follow the global authentication)"
    );
    let ok = parse(&format!(
        "{users}[paths.p]\nsource = \"publisher\"\npublish_users = []\nread_users = [\"alice\"]\n"
    ))
    .unwrap();
    assert_eq!(ok.users["cam"], "pw2");
    assert!(ok.paths["p"].publish_users.is_empty());
    assert_eq!(ok.paths["p"].read_users, Some(vec!["alice".to_string()]));
}

#[test]
fn every_problem_is_told_in_file_order() {
    let text = "[paths.z]\nsource = \"ftp://x\"\n\
                [paths.a]\nsource = \"file\"\nfps = 0\non_demand = true\n";
    assert_eq!(
        refused(text),
        "s.toml:2:10: paths.z.source: unknown scheme \"ftp\" (expected rtsp://, http://, \
         exec:, publisher or file)\n\
         s.toml:5:7: paths.a.fps: must be in (0, 1000]\n\
         s.toml:6:13: paths.a.on_demand: only for pull sources (rtsp://, http://, exec:), not \
         file"
    );
}

#[test]
fn an_unreadable_file_is_named() {
    let e = Config::load(Path::new("/nonexistent/s.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/s.toml: cannot read: "),
        "{e}"
    );
}

#[test]
fn flags_given_win_over_the_file_which_wins_over_the_defaults() {
    let file = parse(
        "[server]\nport = 7000\nmtu = 1200\nmax_body = 100\nthreads = 3\nloop = true\n\
         [users]\nalice = \"file\"\nbob = \"file\"\n",
    )
    .unwrap();
    let (mut a, given) = args(&[
        "--port",
        "9000",
        "--max-body",
        "200",
        "--user",
        "alice:flag",
        "--user",
        "carol:flag",
    ]);
    merge::apply(&mut a, &file, given);
    assert_eq!((a.port, a.mtu, a.limits.max_body), (9000, 1200, 200));
    assert_eq!((a.threads, a.loop_media), (Some(3), true));
    // Not in the file: the default.
    assert_eq!(a.session_timeout, 60);
    let users: Vec<(&str, &str)> = a
        .users
        .iter()
        .map(|(n, p)| (n.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        users,
        [("alice", "flag"), ("bob", "file"), ("carol", "flag")]
    );
    // A flag given with its default value still wins.
    let (mut a, given) = args(&["--mtu", "1400", "--threads", "1"]);
    merge::apply(&mut a, &file, given);
    assert_eq!((a.mtu, a.threads, a.port), (1400, Some(1), 7000));
    // The lab's positional port wins over the file's too.
    let (mut a, given) = args(&["9100"]);
    merge::apply(&mut a, &file, given);
    assert_eq!(merge::effective(&a, 1).port, Some(9100));
}

#[test]
fn every_key_goes_into_args_and_back() {
    // Every key, none at its default: a key `apply` or `effective` forgot comes back as
    // the default (or `None`).
    let text = "[server]\nport = 1\nbind = \"127.0.0.2\"\nmedia = \"/m\"\nloop = true\n\
                session_timeout = 2\nmtu = 1000\nfps = 3.5\nmax_connections = 4\n\
                max_connections_per_ip = 5\ncrowded_idle_timeout = 6\nmax_sessions = 7\n\
                max_sessions_per_ip = 8\nmax_sessions_per_conn = 9\nunplayed_timeout = 10\n\
                request_timeout = 11\nidle_timeout = 12\nmax_line = 13\nmax_headers = 14\n\
                max_head = 15\nmax_body = 16\nmax_interleaved = 17\nmax_pending_output = 18\n\
                max_session_rate = 19\nlab_max_packet = 20\nauth = [\"basic\"]\n\
                realm = \"r\"\nthreads = 21\nno_transcode = true\npreload = true\n\
                media_cache_mb = 22\nmax_file_mb = 23\nload_threads = 24\nno_gso = true\n";
    let file = parse(text).unwrap();
    assert_eq!(
        toml::Table::try_from(&file.server).unwrap().len(),
        server_keys().len()
    );
    let (mut a, given) = args(&[]);
    merge::apply(&mut a, &file, given);
    assert_eq!(merge::effective(&a, 21), file.server);
}

#[test]
fn the_effective_configuration_reads_back() {
    let text = include_str!("../../server.example.toml").replace(
        "camera.example/stream",
        "viewer:secret@camera.example/stream",
    );
    let file = Config::parse(&text, Path::new("/etc/srv/server.toml")).unwrap();
    let (mut a, given) = args(&["--port", "9000"]);
    merge::apply(&mut a, &file, given);
    let server = merge::effective(&a, 2);
    let users = a.users.iter().map(|(n, _)| n.as_str());
    let printed = effective_toml(&server, users, &file.paths, &file.http).unwrap();
    assert!(printed.contains("port = 9000\n"), "{printed}");
    assert!(printed.contains("alice = \"(hidden)\"\n"), "{printed}");
    assert!(
        !printed.contains("change-me") && !printed.contains("secret"),
        "{printed}"
    );
    assert!(
        printed.contains("source = \"rtsp://viewer:***@camera.example/stream\"\n"),
        "{printed}"
    );
    let back = Config::parse(&printed, Path::new("/elsewhere/p.toml")).expect("reads back");
    assert_eq!(back.server, server);
    assert_eq!(
        back.users.keys().collect::<Vec<_>>(),
        file.users.keys().collect::<Vec<_>>()
    );
    let mut paths = file.paths.clone();
    paths.get_mut("cam1").unwrap().source =
        Source::Rtsp("rtsp://viewer:***@camera.example/stream".into());
    assert_eq!(back.paths, paths);
}
