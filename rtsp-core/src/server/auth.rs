//! Server-side authentication: Digest (RFC 7616, MD5 and SHA-256, `qop=auth`) and optionally
//! Basic (RFC 7617), on top of the primitives in [`crate::auth`].
//!
//! * Every request but OPTIONS must authenticate; the check comes before anything looks at
//!   the request-URI, so a wrong or missing credential gets the same 401 whether the stream
//!   exists or not.
//! * A 401 carries a fresh server nonce in `Digest ... algorithm=SHA-256`, then
//!   `Digest ... algorithm=MD5` (most preferred first, RFC 7616 §3.7; clients that keep the
//!   last Digest challenge they can parse, like ffmpeg, end up with MD5), then `Basic` when
//!   enabled.
//! * Nonces expire after [`AuthConfig::nonce_lifetime`] (a correct answer to an expired one
//!   gets `stale=true`), at most [`AuthConfig::max_nonces`] are outstanding (oldest evicted),
//!   and each nonce count (`nc`) is accepted once and only above the last one seen for that
//!   nonce: a captured request cannot be replayed.
//! * The digest `uri` must be the request-URI.
//! * RFC 2069 answers (MD5, no `qop`: GStreamer 1.22) are accepted when
//!   [`AuthConfig::allow_rfc2069`]. Without a nonce count, such an answer could be replayed:
//!   it is accepted only on the connection whose 401 issued the nonce (there, for the nonce's
//!   lifetime, so a player does not pay a 401 on every request); on any other connection the
//!   right credentials get `stale=true` and a fresh nonce.
//! * Every nonce remembers the connection it was issued on by the connection's serial number,
//!   which is never reused (connection ids are).

use crate::auth::{verify_basic, verify_digest, Algorithm, Authorization, Challenge, Credentials};
use crate::message::HeaderName;
use crate::message::{Method, Request};
use crate::rng::Rng;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// Who may play, and how they prove it.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Accepted user names and passwords.
    pub users: Vec<Credentials>,
    /// Accept Digest (MD5 and SHA-256).
    pub digest: bool,
    /// Accept Basic (the password crosses the network in the clear: off by default).
    pub basic: bool,
    /// The realm of the challenges.
    pub realm: String,
    /// How long a nonce may be used (default 5 minutes).
    pub nonce_lifetime: Duration,
    /// Most nonces remembered at once (default 4096); the oldest are forgotten first.
    pub max_nonces: usize,
    /// Accept RFC 2069 Digest answers (MD5 without `qop`, as GStreamer 1.22 sends), on the
    /// connection that got the nonce only (default true).
    pub allow_rfc2069: bool,
    /// Who may read and who may publish each path that says so; any authenticated user
    /// may do what a path does not restrict.
    pub paths: BTreeMap<String, PathUsers>,
}

/// The users allowed on one path ([`AuthConfig::paths`]): `None` leaves the action to any
/// authenticated user. A user authenticated but not listed gets 403.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathUsers {
    /// Who may DESCRIBE, SETUP and PLAY it.
    pub read: Option<Vec<String>>,
    /// Who may ANNOUNCE and RECORD it.
    pub publish: Option<Vec<String>>,
}

impl AuthConfig {
    /// Whether `user` may read (`publish`: publish) `path`.
    pub fn allows(&self, path: &str, user: &str, publish: bool) -> bool {
        let Some(rule) = self.paths.get(path) else {
            return true;
        };
        let list = if publish { &rule.publish } else { &rule.read };
        list.as_ref()
            .is_none_or(|users| users.iter().any(|u| u == user))
    }
    /// Digest only, realm `rtsp-mjpeg`, for these users.
    pub fn new(users: Vec<Credentials>) -> Self {
        Self {
            users,
            digest: true,
            basic: false,
            realm: "rtsp-mjpeg".into(),
            nonce_lifetime: Duration::from_secs(300),
            max_nonces: 4096,
            allow_rfc2069: true,
            paths: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct NonceState {
    issued: Instant,
    /// Highest nonce count accepted so far.
    max_nc: u32,
    /// Serial number of the connection whose 401 carried it.
    conn: u64,
}

/// Issued nonces and the checks.
#[derive(Debug)]
pub(crate) struct Authenticator {
    config: AuthConfig,
    nonces: BTreeMap<String, NonceState>,
    order: VecDeque<String>,
}

/// Why a request was not authenticated: the `WWW-Authenticate` values of the 401.
pub(crate) struct Challenges(pub(crate) Vec<String>);

impl Authenticator {
    pub(crate) fn new(config: AuthConfig) -> Self {
        Self {
            config,
            nonces: BTreeMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether `req`, which arrived on the connection with serial number `conn`, may
    /// proceed: `Ok(Some(user))` for an authenticated user, `Ok(None)` for a request that
    /// needs no credentials (OPTIONS); otherwise the challenges for the 401.
    pub(crate) fn check(
        &mut self,
        req: &Request,
        conn: u64,
        now: Instant,
        rng: &mut Rng,
    ) -> Result<Option<String>, Challenges> {
        if req.method == Method::Options {
            return Ok(None);
        }
        let mut stale = false;
        for value in req.headers.get_all(&HeaderName::AUTHORIZATION) {
            let Ok(auth) = Authorization::parse(value) else {
                continue;
            };
            match self.verify(&auth, req, conn, now) {
                Verdict::Ok(user) => return Ok(Some(self.config.users[user].username.clone())),
                Verdict::Stale => stale = true,
                Verdict::No => {}
            }
        }
        Err(self.challenges(now, conn, stale, rng))
    }

    fn verify(&mut self, auth: &Authorization, req: &Request, conn: u64, now: Instant) -> Verdict {
        match auth {
            Authorization::Basic(_) => {
                if !self.config.basic {
                    return Verdict::No;
                }
                match self.config.users.iter().position(|u| verify_basic(auth, u)) {
                    Some(user) => Verdict::Ok(user),
                    None => Verdict::No,
                }
            }
            Authorization::Digest(d) => {
                if !self.config.digest || d.uri != req.uri {
                    return Verdict::No;
                }
                let Some(algorithm @ (Algorithm::Md5 | Algorithm::Sha256)) = d.algorithm else {
                    return Verdict::No;
                };
                let Some(state) = self.nonces.get(&d.nonce).copied() else {
                    return Verdict::No;
                };
                let mut challenge = Challenge::digest(&self.config.realm, &d.nonce, algorithm);
                if d.qop.is_none() {
                    // Checked for the RFC 2069 form; whether it is allowed is decided below.
                    challenge.qop.clear();
                }
                let method = req.method.as_str();
                let Some(user) = self
                    .config
                    .users
                    .iter()
                    .position(|u| verify_digest(auth, &challenge, method, u))
                else {
                    return Verdict::No;
                };
                if state.issued + self.config.nonce_lifetime <= now {
                    return Verdict::Stale;
                }
                match &d.qop {
                    // RFC 7616: the nonce count must grow.
                    Some((_, nc, _)) => {
                        let Ok(nc) = u32::from_str_radix(nc, 16) else {
                            return Verdict::No;
                        };
                        if nc <= state.max_nc {
                            return Verdict::No;
                        }
                        if let Some(s) = self.nonces.get_mut(&d.nonce) {
                            s.max_nc = nc;
                        }
                        Verdict::Ok(user)
                    }
                    // RFC 2069 form (no qop, MD5; GStreamer 1.22 sends it): without a nonce
                    // count the same answer is valid again, so it is good only on the
                    // connection that got the nonce (a capture replayed on another connection
                    // gets `stale=true` and a fresh nonce, which a real client answers at once).
                    None if self.config.allow_rfc2069 && algorithm == Algorithm::Md5 => {
                        if state.conn != conn {
                            return Verdict::Stale;
                        }
                        Verdict::Ok(user)
                    }
                    None => Verdict::No,
                }
            }
        }
    }

    fn challenges(&mut self, now: Instant, conn: u64, stale: bool, rng: &mut Rng) -> Challenges {
        let mut out = Vec::new();
        if self.config.digest {
            let nonce = self.new_nonce(now, conn, rng);
            for algorithm in [Algorithm::Sha256, Algorithm::Md5] {
                let mut c = Challenge::digest(&self.config.realm, &nonce, algorithm);
                c.stale = stale;
                out.push(c.to_header());
            }
        }
        if self.config.basic {
            out.push(Challenge::basic(&self.config.realm).to_header());
        }
        Challenges(out)
    }

    fn new_nonce(&mut self, now: Instant, conn: u64, rng: &mut Rng) -> String {
        // Forget expired nonces, then the oldest beyond the cap.
        while let Some(front) = self.order.front() {
            let expired = self
                .nonces
                .get(front)
                .is_none_or(|s| s.issued + self.config.nonce_lifetime <= now);
            if !expired && self.nonces.len() < self.config.max_nonces.max(1) {
                break;
            }
            if let Some(old) = self.order.pop_front() {
                self.nonces.remove(&old);
            }
        }
        let nonce = rng.nonce();
        self.nonces.insert(
            nonce.clone(),
            NonceState {
                issued: now,
                max_nc: 0,
                conn,
            },
        );
        self.order.push_back(nonce.clone());
        nonce
    }
}

enum Verdict {
    /// Authenticated as this user (an index into [`AuthConfig::users`]).
    Ok(usize),
    /// Right credentials, expired nonce.
    Stale,
    No,
}
