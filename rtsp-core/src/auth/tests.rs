//! Unit tests of `auth`.

use super::*;

#[test]
fn base64_round_trip_and_rfc_vectors() {
    for (plain, enc) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foobar", "Zm9vYmFy"),
        ("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
    ] {
        assert_eq!(base64_encode(plain.as_bytes()), enc);
        assert_eq!(base64_decode(enc).unwrap(), plain.as_bytes());
    }
    assert!(base64_decode("Zm9v!").is_none());
}

#[test]
fn basic_rfc7617_example() {
    let c = Credentials::new("Aladdin", "open sesame");
    let v = basic_authorization(&c);
    assert_eq!(v, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    let parsed = Authorization::parse(&v).unwrap();
    assert!(verify_basic(&parsed, &c));
    assert!(!verify_basic(&parsed, &Credentials::new("Aladdin", "x")));
    assert_eq!(Authorization::parse("Basic !!!"), Err(AuthError::BadBasic));
}

/// RFC 2617 §3.5 example (MD5, qop=auth).
#[test]
fn digest_md5_rfc2617_example() {
    let hdr = r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
    let cs = Challenge::parse(hdr).unwrap();
    assert_eq!(cs.len(), 1);
    let c = &cs[0];
    assert_eq!(c.scheme, Scheme::Digest);
    assert_eq!(c.qop, vec!["auth", "auth-int"]);
    assert_eq!(c.algorithm, Some(Algorithm::Md5));
    let mut st = DigestState::new("0a4f113b");
    let creds = Credentials::new("Mufasa", "Circle Of Life");
    let v = c.authorization(&creds, "GET", "/dir/index.html", &mut st);
    assert!(
        v.contains(r#"response="6629fae49393a05397450978507c4ef1""#),
        "{v}"
    );
    assert!(v.contains("nc=00000001") && v.contains(r#"cnonce="0a4f113b""#));
    assert!(v.contains(r#"opaque="5ccc069c403ebaf9f0171e9517f40e41""#));
    // The server side accepts it, and rejects a wrong password or method.
    let a = Authorization::parse(&v).unwrap();
    assert!(verify_digest(&a, c, "GET", &creds));
    assert!(!verify_digest(&a, c, "PUT", &creds));
    assert!(!verify_digest(
        &a,
        c,
        "GET",
        &Credentials::new("Mufasa", "x")
    ));
    // The nonce count advances.
    let v2 = c.authorization(&creds, "GET", "/dir/index.html", &mut st);
    assert!(v2.contains("nc=00000002"));
}

/// RFC 7616 §3.9.1 example (SHA-256 and MD5 challenges; the client picks SHA-256).
#[test]
fn digest_sha256_rfc7616_example() {
    let hdrs = [
        r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
    ];
    let cs = Challenge::parse_all(hdrs);
    assert_eq!(cs.len(), 2);
    let best = Challenge::best(&cs).unwrap();
    assert_eq!(best.algorithm, Some(Algorithm::Sha256));
    let creds = Credentials::new("Mufasa", "Circle of Life");
    let mut st = DigestState::new("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
    let v = best.authorization(&creds, "GET", "/dir/index.html", &mut st);
    assert!(
        v.contains(
            r#"response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1""#
        ),
        "{v}"
    );
    assert!(v.contains("algorithm=SHA-256"));
    let md5 = &cs[1];
    let mut st = DigestState::new("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
    let v = md5.authorization(&creds, "GET", "/dir/index.html", &mut st);
    assert!(
        v.contains(r#"response="8ca523f5e9506fed4657c9700eebdbec""#),
        "{v}"
    );
    let a = Authorization::parse(&v).unwrap();
    assert!(verify_digest(&a, md5, "GET", &creds));
    assert!(
        !verify_digest(&a, best, "GET", &creds),
        "algorithm mismatch"
    );
}

#[test]
fn rfc2069_digest_without_qop() {
    // Typical IP camera: no qop, no algorithm.
    let cs = Challenge::parse(r#"Digest realm="IP Camera", nonce="a1b2c3""#).unwrap();
    let c = &cs[0];
    assert!(c.is_supported() && c.qop.is_empty());
    let creds = Credentials::new("admin", "12345");
    let mut st = DigestState::new("x");
    let v = c.authorization(&creds, "DESCRIBE", "rtsp://cam/live", &mut st);
    let ha1 = Algorithm::Md5.hex("admin:IP Camera:12345");
    let ha2 = Algorithm::Md5.hex("DESCRIBE:rtsp://cam/live");
    let want = Algorithm::Md5.hex(&format!("{ha1}:a1b2c3:{ha2}"));
    assert!(v.contains(&format!("response=\"{want}\"")), "{v}");
    assert!(!v.contains("nc=") && !v.contains("algorithm"));
    assert!(verify_digest(
        &Authorization::parse(&v).unwrap(),
        c,
        "DESCRIBE",
        &creds
    ));
}

#[test]
fn several_challenges_in_one_header_and_server_round_trip() {
    let cs = Challenge::parse(r#"Basic realm="a", Digest realm="b", nonce="n", stale=TRUE, Foo x"#)
        .unwrap();
    assert_eq!(cs.len(), 3);
    assert_eq!(cs[0].scheme, Scheme::Basic);
    assert_eq!(cs[0].realm, "a");
    assert!(cs[1].stale && cs[1].nonce == "n");
    assert_eq!(cs[2].scheme, Scheme::Other("Foo".into()));
    assert_eq!(Challenge::best(&cs).unwrap().scheme, Scheme::Digest);
    assert!(Challenge::best(&cs[2..]).is_none());

    for alg in [
        Algorithm::Md5,
        Algorithm::Sha256,
        Algorithm::Md5Sess,
        Algorithm::Sha256Sess,
    ] {
        let mut server = Challenge::digest("rtsp \"srv\"", "nonce-1", alg);
        server.opaque = Some("op".into());
        let parsed = Challenge::parse(&server.to_header()).unwrap();
        assert_eq!(parsed, vec![server.clone()]);
        let creds = Credentials::new("u", "p:w");
        let mut st = DigestState::new("cn");
        let v = parsed[0].authorization(&creds, "PLAY", "rtsp://h/s/", &mut st);
        let a = Authorization::parse(&v).unwrap();
        assert!(verify_digest(&a, &server, "PLAY", &creds), "{alg:?}");
        assert!(!verify_digest(
            &a,
            &Challenge::digest("rtsp \"srv\"", "other", alg),
            "PLAY",
            &creds
        ));
    }
    let b = Challenge::basic("r");
    assert_eq!(Challenge::parse(&b.to_header()).unwrap(), vec![b]);
}

#[test]
fn malformed_headers_are_errors_not_panics() {
    for bad in [
        "",
        "   ",
        "Digest realm=\"x",
        "=x",
        "Digest , =",
        "Digest realm=\"a\" junk",
    ] {
        assert!(Challenge::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        Authorization::parse(r#"Digest username="u", nonce="n""#),
        Err(AuthError::Missing { name: "response" })
    );
    assert!(Authorization::parse("Bearer x").is_err());
    // Arbitrary bytes never panic.
    let mut seed = 7u64;
    for _ in 0..2000 {
        let len = (seed % 40) as usize;
        let s: String = (0..len)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                b" ,=\"\\aDigestBasicrealm"[(seed >> 59) as usize % 22] as char
            })
            .collect();
        let _ = Challenge::parse(&s);
        let _ = Authorization::parse(&s);
    }
}
