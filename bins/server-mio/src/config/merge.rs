//! Command line over file over defaults: [`apply`] sets in the parsed [`Args`] what the file
//! says wherever the flag was not given; [`effective`] reads the result back as a complete
//! `[server]` table (for `--check-config`).

use super::{Config, ServerSection};
use crate::Args;

/// Calls `$each!` with the keys of `[server]` that are fields of `Args` itself, then with
/// those of `Args::limits`. A key, its field in [`ServerSection`], its field in `Args` and
/// its flag's clap id are one name (`threads`, an `Option` in `Args`, and `users` are apart).
macro_rules! server_keys {
    ($each:ident) => {
        $each!([] port, bind, media, loop_media, session_timeout, mtu, fps, auth, realm,
            no_transcode, preload, media_cache_mb, max_file_mb, load_threads, no_gso);
        $each!([limits] max_connections, max_connections_per_ip, crowded_idle_timeout,
            max_sessions, max_sessions_per_ip, max_sessions_per_conn, unplayed_timeout,
            request_timeout, idle_timeout, max_line, max_headers, max_head, max_body,
            max_interleaved, max_pending_output, max_session_rate, lab_max_packet);
    };
}

/// Sets in `args` each key `file` has unless its flag was `given` on the command line
/// (`given(id)`: the flag with clap id `id` was, see `ArgMatches::value_source`). The
/// file's `[users]` come first; `--user` adds to them, its password winning for a name in
/// both.
pub(crate) fn apply(args: &mut Args, file: &Config, given: impl Fn(&str) -> bool) {
    let server = &file.server;
    macro_rules! take {
        ([] $($key:ident),+) => {$( take!(@ args.$key, $key); )+};
        ([$sub:ident] $($key:ident),+) => {$( take!(@ args.$sub.$key, $key); )+};
        (@ $field:expr, $key:ident) => {
            if let (Some(v), false) = (&server.$key, given(stringify!($key))) {
                $field = v.clone();
            }
        };
    }
    server_keys!(take);
    if let (Some(n), false) = (server.threads, given("threads")) {
        args.threads = Some(n);
    }
    if let (Some(port), false) = (file.http.port, given("http")) {
        args.http = Some(port);
    }
    let mut admins = file.http.admins.clone().unwrap_or_default();
    admins.extend(
        args.admins
            .drain(..)
            .filter(|a| !file.http.admins.iter().flatten().any(|x| x == a)),
    );
    args.admins = admins;
    let mut users = file.users.clone();
    users.extend(args.users.drain(..));
    args.users = users.into_iter().collect();
}

/// Every key of `[server]` as `args` has it (`threads`: the event loops it runs; the lab
/// port as `port`).
pub(crate) fn effective(args: &Args, threads: usize) -> ServerSection {
    let mut s = ServerSection::default();
    macro_rules! put {
        ([] $($key:ident),+) => {$( s.$key = Some(args.$key.clone()); )+};
        ([$sub:ident] $($key:ident),+) => {$( s.$key = Some(args.$sub.$key.clone()); )+};
    }
    server_keys!(put);
    s.port = Some(args.lab_port.unwrap_or(args.port));
    s.threads = Some(threads);
    s
}
