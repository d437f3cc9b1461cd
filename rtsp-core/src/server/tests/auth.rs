//! Authentication.

use super::*;

fn auth_config(basic: bool) -> ServerConfig {
    let mut auth = AuthConfig::new(vec![crate::auth::Credentials::new("alice", "s3cret")]);
    auth.basic = basic;
    auth.nonce_lifetime = Duration::from_secs(30);
    ServerConfig {
        auth: Some(auth),
        ..config()
    }
}

fn challenges(r: &Response) -> Vec<crate::auth::Challenge> {
    crate::auth::Challenge::parse_all(r.headers.get_all(&HeaderName::WWW_AUTHENTICATE))
}

fn with_auth(method: &str, uri: &str, cseq: u32, auth: &str) -> String {
    req(method, uri, cseq, &[&format!("Authorization: {auth}")])
}

/// A UDP SETUP of `test` with the `Authorization` value `auth`: its reply.
fn setup_with_auth(h: &mut H, cseq: u32, auth: &str) -> Response {
    h.ask(
        C1,
        "SETUP",
        "rtsp://h/test/stream=0",
        cseq,
        &[
            &format!("Authorization: {auth}"),
            "Transport: RTP/AVP;unicast;client_port=5000-5001",
        ],
    )
}

#[test]
fn auth_challenges_before_anything_else() {
    let mut h = H::connected_with(auth_config(false));
    // OPTIONS needs nothing.
    assert_eq!(
        status_of(&mut h, &req("OPTIONS", "*", 1, &[])),
        StatusCode::OK
    );
    // Existing or not, forbidden or not: the same 401, and the catalog is never asked.
    let mut shapes = Vec::new();
    for (i, uri) in [
        "rtsp://h/test",
        "rtsp://h/nope",
        "rtsp://h/secret",
        "rtsp://h/../x",
    ]
    .iter()
    .enumerate()
    {
        let r = h.ask(C1, "DESCRIBE", uri, 2 + i as u32, &[]);
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}");
        let c = challenges(&r);
        let algs: Vec<_> = c.iter().map(|c| (c.scheme.clone(), c.algorithm)).collect();
        assert_eq!(
            algs,
            vec![
                (
                    crate::auth::Scheme::Digest,
                    Some(crate::auth::Algorithm::Sha256)
                ),
                (
                    crate::auth::Scheme::Digest,
                    Some(crate::auth::Algorithm::Md5)
                ),
            ],
            "{uri}"
        );
        assert!(c.iter().all(|c| c.qop == vec!["auth".to_string()]));
        shapes.push((r.status, r.headers.len(), r.body.len()));
    }
    assert!(shapes.windows(2).all(|w| w[0] == w[1]), "{shapes:?}");
    assert!(h.asked.lock().unwrap().is_empty());
    // Wrong password: 401 for an existing and a missing stream alike.
    for uri in ["rtsp://h/test", "rtsp://h/nope"] {
        let r = h.ask(C1, "DESCRIBE", uri, 9, &[]);
        let c = crate::auth::Challenge::best(&challenges(&r))
            .unwrap()
            .clone();
        let mut st = crate::auth::DigestState::new("abcd");
        let bad = crate::auth::Credentials::new("alice", "wrong");
        let a = c.authorization(&bad, "DESCRIBE", uri, &mut st);
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", uri, 10, &a)),
            StatusCode::UNAUTHORIZED
        );
    }
    assert!(h.asked.lock().unwrap().is_empty());
}

#[test]
fn digest_md5_and_sha256_with_replay_protection_and_expiry() {
    let good = crate::auth::Credentials::new("alice", "s3cret");
    for alg in [crate::auth::Algorithm::Md5, crate::auth::Algorithm::Sha256] {
        let mut h = H::connected_with(auth_config(false));
        let r = h.ask(C1, "DESCRIBE", "rtsp://h/test", 1, &[]);
        let c = challenges(&r)
            .into_iter()
            .find(|c| c.algorithm == Some(alg))
            .unwrap();
        let mut st = crate::auth::DigestState::new("0a4f113b");
        let a1 = c.authorization(&good, "DESCRIBE", "rtsp://h/test", &mut st);
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 2, &a1)),
            StatusCode::OK,
            "{alg:?}"
        );
        // The same Authorization again (same nc): a replay.
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 3, &a1)),
            StatusCode::UNAUTHORIZED
        );
        // The next nc works; a digest for another URI does not.
        let a2 = c.authorization(&good, "DESCRIBE", "rtsp://h/test", &mut st);
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 4, &a2)),
            StatusCode::OK
        );
        let a3 = c.authorization(&good, "DESCRIBE", "rtsp://h/other", &mut st);
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 5, &a3)),
            StatusCode::UNAUTHORIZED
        );
        // A whole session with the nonce.
        let a = c.authorization(&good, "SETUP", "rtsp://h/test/stream=0", &mut st);
        let r = setup_with_auth(&mut h, 6, &a);
        assert_eq!(r.status, StatusCode::OK);
        // After the nonce lifetime: stale=true, and a fresh nonce works.
        h.advance(Duration::from_secs(31));
        let a = c.authorization(&good, "DESCRIBE", "rtsp://h/test", &mut st);
        let r = h.request(C1, &with_auth("DESCRIBE", "rtsp://h/test", 7, &a));
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let fresh = challenges(&r)
            .into_iter()
            .find(|c| c.algorithm == Some(alg))
            .unwrap();
        assert!(fresh.stale);
        assert_ne!(fresh.nonce, c.nonce);
        let a = fresh.authorization(&good, "DESCRIBE", "rtsp://h/test", &mut st);
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 8, &a)),
            StatusCode::OK
        );
    }
}

#[test]
fn basic_only_when_enabled() {
    let basic = crate::auth::basic_authorization(&crate::auth::Credentials::new("alice", "s3cret"));
    let mut h = H::connected_with(auth_config(false));
    assert_eq!(
        status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 1, &basic)),
        StatusCode::UNAUTHORIZED
    );
    let mut h = H::connected_with(auth_config(true));
    let r = h.ask(C1, "DESCRIBE", "rtsp://h/test", 1, &[]);
    assert!(challenges(&r)
        .iter()
        .any(|c| c.scheme == crate::auth::Scheme::Basic));
    assert_eq!(
        status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 2, &basic)),
        StatusCode::OK
    );
    let wrong = crate::auth::basic_authorization(&crate::auth::Credentials::new("alice", "x"));
    assert_eq!(
        status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 3, &wrong)),
        StatusCode::UNAUTHORIZED
    );
}

/// Unauthenticated requests naming a session do not keep it alive.
#[test]
fn unauthenticated_keepalives_do_not_count() {
    let good = crate::auth::Credentials::new("alice", "s3cret");
    let mut cfg = auth_config(false);
    cfg.session_timeout = Duration::from_secs(10);
    let mut h = H::connected_with(cfg);
    let r = h.ask(C1, "DESCRIBE", "rtsp://h/test", 1, &[]);
    let c = crate::auth::Challenge::best(&challenges(&r))
        .unwrap()
        .clone();
    let mut st = crate::auth::DigestState::new("77");
    let a = c.authorization(&good, "SETUP", "rtsp://h/test/stream=0", &mut st);
    let r = setup_with_auth(&mut h, 2, &a);
    let sess = format!("Session: {}", session_of(&r));
    for i in 0..3 {
        h.advance(Duration::from_secs(4));
        let r = h.ask(C1, "GET_PARAMETER", "rtsp://h/test", 3 + i, &[&sess]);
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        h.server.session_count(),
        0,
        "reaped despite the refused keepalives"
    );
}

/// GStreamer 1.22 answers Digest in the RFC 2069 form (MD5, no qop). Such an answer has no
/// nonce count, so it is accepted again and again on the connection whose 401 issued the
/// nonce (a player must not pay a 401 on every request), but on another connection, or with
/// a connection id reused after a close, the same answer is a replay: 401 `stale=true`. It
/// is refused everywhere when not allowed.
#[test]
fn rfc2069_digest_is_bound_to_its_connection() {
    let good = crate::auth::Credentials::new("alice", "s3cret");
    for allow in [true, false] {
        let mut cfg = auth_config(false);
        if let Some(a) = cfg.auth.as_mut() {
            a.allow_rfc2069 = allow;
        }
        let mut h = H::connected_with(cfg);
        let r = h.ask(C1, "DESCRIBE", "rtsp://h/test", 1, &[]);
        let mut c = challenges(&r)
            .into_iter()
            .find(|c| c.algorithm == Some(crate::auth::Algorithm::Md5))
            .unwrap();
        c.qop.clear();
        let mut st = crate::auth::DigestState::new("x");
        let a = c.authorization(&good, "DESCRIBE", "rtsp://h/test", &mut st);
        assert!(!a.contains("qop"));
        let want = if allow {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        for cseq in 2..6 {
            assert_eq!(
                status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", cseq, &a)),
                want,
                "request {cseq} on the nonce's connection"
            );
        }
        // The same answer on another connection, and on a new connection that got the
        // first one's id: a replay.
        let c2 = ConnId(2);
        h.connect(c2);
        let r = h.request(c2, &with_auth("DESCRIBE", "rtsp://h/test", 6, &a));
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "replayed elsewhere");
        assert_eq!(challenges(&r)[0].stale, allow);
        h.close(C1);
        h.connect(C1);
        let r = h.request(C1, &with_auth("DESCRIBE", "rtsp://h/test", 7, &a));
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "replayed on a reused id"
        );
        assert_eq!(challenges(&r)[0].stale, allow);
        // SHA-256 without qop is never accepted.
        let mut c256 = c.clone();
        c256.algorithm = Some(crate::auth::Algorithm::Sha256);
        let r = h.ask(C1, "DESCRIBE", "rtsp://h/test", 4, &[]);
        c256.nonce = challenges(&r)[0].nonce.clone();
        let a = c256.authorization(&good, "DESCRIBE", "rtsp://h/test", &mut st);
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 5, &a)),
            StatusCode::UNAUTHORIZED
        );
    }
}

/// RFC 2326 keeps the control connection across a 401 and across the end of a stream: a
/// player still has PAUSE and TEARDOWN to send. A 401 answered with credentials, the file
/// played to its end over TCP, then PAUSE and TEARDOWN: all on the one connection, which the
/// server never closes.
#[test]
fn the_connection_outlives_a_401_and_the_end_of_the_stream() {
    let mut h = H::connected_with(auth_config(true));
    let basic = crate::auth::basic_authorization(&crate::auth::Credentials::new("alice", "s3cret"));
    for cseq in 1..4 {
        let r = h.ask(C1, "DESCRIBE", "rtsp://h/test", cseq, &[]);
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = h.ask(
        C1,
        "SETUP",
        "rtsp://h/test/stream=0",
        4,
        &[
            &format!("Authorization: {basic}"),
            "Transport: RTP/AVP/TCP;unicast;interleaved=0-1",
        ],
    );
    assert_eq!(r.status, StatusCode::OK);
    let sid = session_of(&r);
    let auth = format!("Authorization: {basic}");
    let session = format!("Session: {sid}");
    let r = h.ask(C1, "PLAY", "rtsp://h/test/", 5, &[&auth, &session]);
    assert_eq!(r.status, StatusCode::OK);
    // Well past the end of the (non-looping) file.
    h.advance(Duration::from_secs_f64(FRAMES as f64 / FPS + 2.0));
    assert!(
        events(&h.outs)
            .iter()
            .any(|e| matches!(e, ServerEvent::EndOfStream { .. })),
        "the file did not end"
    );
    for (cseq, method) in [(6, "PAUSE"), (7, "TEARDOWN")] {
        let r = h.ask(C1, method, "rtsp://h/test/", cseq, &[&auth, &session]);
        assert_eq!(r.status, StatusCode::OK, "{method} after the end");
    }
    assert!(!closed(&h.outs, C1), "the server closed the connection");
}
