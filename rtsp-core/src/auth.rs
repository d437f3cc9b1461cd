//! HTTP authentication as RTSP uses it: Basic (RFC 7617) and Digest (RFC 7616, with the
//! RFC 2617 forms real cameras still send), for both sides.
//!
//! Client side: parse the server's `WWW-Authenticate` with [`Challenge::parse`], pick one with
//! [`Challenge::best`], and build the `Authorization` value of each request with
//! [`Challenge::authorization`] (a [`DigestState`] counts the nonce uses).
//!
//! Server side: send [`Challenge::to_header`] in a 401, read the request's `Authorization`
//! with [`Authorization::parse`], and check it with [`verify_basic`] or [`verify_digest`].
//!
//! ```
//! use rtsp_core::auth::{Challenge, Credentials, DigestState};
//! let challenges = Challenge::parse(r#"Digest realm="cam", nonce="abc", qop="auth""#).unwrap();
//! let c = Challenge::best(&challenges).unwrap();
//! let creds = Credentials::new("user", "pass");
//! let mut state = DigestState::new("0a4f113b");
//! let value = c.authorization(&creds, "DESCRIBE", "rtsp://h/s", &mut state);
//! assert!(value.starts_with("Digest username=\"user\""));
//! ```
//!
//! Pure: no clock and no randomness. Client nonces (`cnonce`) come from the caller.

use md5::{Digest as _, Md5};
use sha2::Sha256;
use std::fmt::Write as _;

/// A parse failure of an authentication header.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The header is empty or holds no scheme.
    #[error("empty authentication header")]
    Empty,
    /// A quoted string is not closed.
    #[error("unterminated quoted string at byte {offset}")]
    Unterminated {
        /// Byte offset of the opening quote.
        offset: usize,
    },
    /// A parameter is malformed (`=` without a name, a stray character ...).
    #[error("malformed parameter at byte {offset}")]
    Malformed {
        /// Byte offset where parsing failed.
        offset: usize,
    },
    /// A Digest challenge or response lacks a required parameter.
    #[error("digest parameter {name} missing")]
    Missing {
        /// The parameter.
        name: &'static str,
    },
    /// The Basic credentials are not valid base64 of `user:password`.
    #[error("invalid basic credentials")]
    BadBasic,
}

/// The authentication scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `Basic` (RFC 7617): user and password in base64.
    Basic,
    /// `Digest` (RFC 7616 / RFC 2617).
    Digest,
    /// Any other scheme, by name (never answered).
    Other(String),
}

/// The Digest hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `MD5` (also the default when absent).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// Parse the `algorithm=` value (case-insensitive). Unknown names give `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "MD5" => Some(Self::Md5),
            "MD5-SESS" => Some(Self::Md5Sess),
            "SHA-256" => Some(Self::Sha256),
            "SHA-256-SESS" => Some(Self::Sha256Sess),
            _ => None,
        }
    }

    /// The name as written in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    fn is_sess(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    /// Lower-case hex of the hash of `data`.
    pub fn hex(self, data: &str) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => hex(&Md5::digest(data.as_bytes())),
            Self::Sha256 | Self::Sha256Sess => hex(&Sha256::digest(data.as_bytes())),
        }
    }

    /// Preference among several Digest challenges (higher is better).
    fn strength(self) -> u8 {
        match self {
            Self::Md5 | Self::Md5Sess => 1,
            Self::Sha256 | Self::Sha256Sess => 2,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// User name and password (from `rtsp://user:pass@host/...`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

impl Credentials {
    /// Credentials from a user name and password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }
}

/// One challenge of a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme.
    pub scheme: Scheme,
    /// `realm`.
    pub realm: String,
    /// `nonce` (Digest).
    pub nonce: String,
    /// `opaque` (Digest), echoed back.
    pub opaque: Option<String>,
    /// `algorithm` (Digest; MD5 when absent). `None` when the server named one we lack.
    pub algorithm: Option<Algorithm>,
    /// The `qop` options offered (`auth`, `auth-int`); empty for RFC 2069-style digests.
    pub qop: Vec<String>,
    /// `stale=true`: the nonce expired but the credentials were right (retry at once).
    pub stale: bool,
    /// `userhash=true` (RFC 7616): send the hashed user name.
    pub userhash: bool,
}

impl Challenge {
    /// A Basic challenge for `realm` (server side).
    pub fn basic(realm: impl Into<String>) -> Self {
        Self {
            scheme: Scheme::Basic,
            realm: realm.into(),
            nonce: String::new(),
            opaque: None,
            algorithm: None,
            qop: Vec::new(),
            stale: false,
            userhash: false,
        }
    }

    /// A Digest challenge (server side) with `qop="auth"`.
    pub fn digest(
        realm: impl Into<String>,
        nonce: impl Into<String>,
        algorithm: Algorithm,
    ) -> Self {
        Self {
            scheme: Scheme::Digest,
            realm: realm.into(),
            nonce: nonce.into(),
            opaque: None,
            algorithm: Some(algorithm),
            qop: vec!["auth".into()],
            stale: false,
            userhash: false,
        }
    }

    /// Parse every challenge of one `WWW-Authenticate` value
    /// (`Digest realm="a", nonce="b", Basic realm="a"`). Parameters other schemes carry
    /// are kept out of the way; unknown parameters are ignored.
    pub fn parse(value: &str) -> Result<Vec<Self>, AuthError> {
        let mut out: Vec<Self> = Vec::new();
        for item in parse_items(value)? {
            match item {
                Item::Scheme(name, first) => {
                    let scheme = match name.to_ascii_lowercase().as_str() {
                        "basic" => Scheme::Basic,
                        "digest" => Scheme::Digest,
                        _ => Scheme::Other(name),
                    };
                    let mut c = Self {
                        algorithm: Some(Algorithm::Md5),
                        ..Self::basic("")
                    };
                    c.scheme = scheme;
                    if let Some((k, v)) = first {
                        c.set(&k, v);
                    }
                    out.push(c);
                }
                Item::Param(k, v) => match out.last_mut() {
                    Some(c) => c.set(&k, v),
                    None => return Err(AuthError::Empty),
                },
            }
        }
        if out.is_empty() {
            return Err(AuthError::Empty);
        }
        for c in &mut out {
            if c.scheme != Scheme::Digest {
                c.algorithm = None;
            }
        }
        Ok(out)
    }

    /// Parse all `WWW-Authenticate` values of a response; unparseable ones are skipped.
    pub fn parse_all<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Self> {
        values
            .into_iter()
            .filter_map(|v| Self::parse(v).ok())
            .flatten()
            .collect()
    }

    fn set(&mut self, key: &str, value: String) {
        match key.to_ascii_lowercase().as_str() {
            "realm" => self.realm = value,
            "nonce" => self.nonce = value,
            "opaque" => self.opaque = Some(value),
            "algorithm" => self.algorithm = Algorithm::parse(&value),
            "qop" => {
                self.qop = value
                    .split(',')
                    .map(|q| q.trim().to_ascii_lowercase())
                    .filter(|q| !q.is_empty())
                    .collect();
            }
            "stale" => self.stale = value.eq_ignore_ascii_case("true"),
            "userhash" => self.userhash = value.eq_ignore_ascii_case("true"),
            _ => {}
        }
    }

    /// Whether we can answer this challenge.
    pub fn is_supported(&self) -> bool {
        match self.scheme {
            Scheme::Basic => true,
            Scheme::Digest => {
                self.algorithm.is_some()
                    && !self.nonce.is_empty()
                    && (self.qop.is_empty() || self.qop.iter().any(|q| q == "auth"))
            }
            Scheme::Other(_) => false,
        }
    }

    /// The strongest challenge we can answer: Digest SHA-256, then Digest MD5, then Basic.
    pub fn best(challenges: &[Self]) -> Option<&Self> {
        challenges
            .iter()
            .filter(|c| c.is_supported())
            .max_by_key(|c| match c.scheme {
                Scheme::Digest => 1 + c.algorithm.map_or(0, Algorithm::strength),
                _ => 0,
            })
    }

    /// The `Authorization` value answering this challenge for one request
    /// (`method` and request-URI `uri`). Digest with qop uses and advances `state`.
    pub fn authorization(
        &self,
        creds: &Credentials,
        method: &str,
        uri: &str,
        state: &mut DigestState,
    ) -> String {
        match self.scheme {
            Scheme::Digest => self.digest_authorization(creds, method, uri, state),
            _ => basic_authorization(creds),
        }
    }

    fn digest_authorization(
        &self,
        creds: &Credentials,
        method: &str,
        uri: &str,
        state: &mut DigestState,
    ) -> String {
        let algorithm = self.algorithm.unwrap_or(Algorithm::Md5);
        if state.nonce != self.nonce {
            state.nonce = self.nonce.clone();
            state.nc = 0;
        }
        let qop = (!self.qop.is_empty()).then(|| {
            state.nc = state.nc.wrapping_add(1);
            (state.nc, state.cnonce.clone())
        });
        let nc_text = qop.as_ref().map(|(nc, _)| format!("{nc:08x}"));
        let response = digest_response(&DigestInput {
            algorithm,
            username: &creds.username,
            realm: &self.realm,
            password: &creds.password,
            nonce: &self.nonce,
            method,
            uri,
            qop: qop
                .as_ref()
                .zip(nc_text.as_deref())
                .map(|((_, cnonce), nc)| ("auth", nc, cnonce.as_str())),
        });
        let username = if self.userhash {
            algorithm.hex(&format!("{}:{}", creds.username, self.realm))
        } else {
            creds.username.clone()
        };
        let mut v = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\"",
            quote(&username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(uri)
        );
        if self.algorithm.is_some_and(|a| a != Algorithm::Md5) {
            let _ = write!(v, ", algorithm={}", algorithm.as_str());
        }
        if let (Some((_, cnonce)), Some(nc)) = (&qop, &nc_text) {
            let _ = write!(v, ", qop=auth, nc={nc}, cnonce={}", quote(cnonce));
        }
        if let Some(opaque) = &self.opaque {
            let _ = write!(v, ", opaque={}", quote(opaque));
        }
        if self.userhash {
            v.push_str(", userhash=true");
        }
        v
    }

    /// The `WWW-Authenticate` value for this challenge (server side).
    pub fn to_header(&self) -> String {
        match &self.scheme {
            Scheme::Basic => format!("Basic realm={}", quote(&self.realm)),
            Scheme::Other(name) => format!("{name} realm={}", quote(&self.realm)),
            Scheme::Digest => {
                let mut v = format!(
                    "Digest realm={}, nonce={}",
                    quote(&self.realm),
                    quote(&self.nonce)
                );
                if let Some(a) = self.algorithm {
                    let _ = write!(v, ", algorithm={}", a.as_str());
                }
                if !self.qop.is_empty() {
                    let _ = write!(v, ", qop={}", quote(&self.qop.join(",")));
                }
                if let Some(o) = &self.opaque {
                    let _ = write!(v, ", opaque={}", quote(o));
                }
                if self.stale {
                    v.push_str(", stale=true");
                }
                v
            }
        }
    }
}

/// What a client keeps between Digest requests: its `cnonce` and the nonce count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestState {
    /// Client nonce sent with `qop=auth` (the caller makes it unpredictable).
    pub cnonce: String,
    /// Requests answered with the current nonce.
    pub nc: u32,
    nonce: String,
}

impl DigestState {
    /// A state with this client nonce.
    pub fn new(cnonce: impl Into<String>) -> Self {
        Self {
            cnonce: cnonce.into(),
            nc: 0,
            nonce: String::new(),
        }
    }
}

/// The inputs of a Digest `response` (RFC 7616 §3.4.1).
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// User name (not hashed).
    pub username: &'a str,
    /// Realm.
    pub realm: &'a str,
    /// Password.
    pub password: &'a str,
    /// Server nonce.
    pub nonce: &'a str,
    /// Request method (`DESCRIBE`).
    pub method: &'a str,
    /// The `uri` parameter (the request-URI).
    pub uri: &'a str,
    /// `(qop, nc, cnonce)` when a qop is used; `None` for the RFC 2069 form.
    pub qop: Option<(&'a str, &'a str, &'a str)>,
}

/// The Digest `response` value: lower-case hex of
/// `H(HA1:nonce[:nc:cnonce:qop]:HA2)` with `HA1 = H(user:realm:pass)` (sess:
/// `H(H(user:realm:pass):nonce:cnonce)`) and `HA2 = H(method:uri)`.
pub fn digest_response(input: &DigestInput<'_>) -> String {
    let a = input.algorithm;
    let mut ha1 = a.hex(&format!(
        "{}:{}:{}",
        input.username, input.realm, input.password
    ));
    if a.is_sess() {
        let cnonce = input.qop.map_or("", |q| q.2);
        ha1 = a.hex(&format!("{ha1}:{}:{cnonce}", input.nonce));
    }
    let ha2 = a.hex(&format!("{}:{}", input.method, input.uri));
    match input.qop {
        Some((qop, nc, cnonce)) => {
            a.hex(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", input.nonce))
        }
        None => a.hex(&format!("{ha1}:{}:{ha2}", input.nonce)),
    }
}

/// `Basic base64(user:pass)`.
pub fn basic_authorization(creds: &Credentials) -> String {
    format!(
        "Basic {}",
        base64_encode(format!("{}:{}", creds.username, creds.password).as_bytes())
    )
}

/// A parsed `Authorization` request header (server side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// Basic credentials, decoded.
    Basic(Credentials),
    /// A Digest response.
    Digest(DigestAuthorization),
}

/// The parameters of a Digest `Authorization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestAuthorization {
    /// `username` (hashed when `userhash`).
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `uri`.
    pub uri: String,
    /// `response` (hex).
    pub response: String,
    /// `algorithm` (MD5 when absent; `None` when unknown).
    pub algorithm: Option<Algorithm>,
    /// `qop`, `nc` and `cnonce`, when a qop was used.
    pub qop: Option<(String, String, String)>,
    /// `opaque`.
    pub opaque: Option<String>,
    /// `userhash=true`.
    pub userhash: bool,
}

impl Authorization {
    /// Parse an `Authorization` header value.
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        let value = value.trim();
        let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let raw = base64_decode(rest.trim()).ok_or(AuthError::BadBasic)?;
            let text = String::from_utf8(raw).map_err(|_| AuthError::BadBasic)?;
            let (u, p) = text.split_once(':').ok_or(AuthError::BadBasic)?;
            return Ok(Self::Basic(Credentials::new(u, p)));
        }
        if !scheme.eq_ignore_ascii_case("digest") {
            return Err(AuthError::Empty);
        }
        let mut d = DigestAuthorization {
            username: String::new(),
            realm: String::new(),
            nonce: String::new(),
            uri: String::new(),
            response: String::new(),
            algorithm: Some(Algorithm::Md5),
            qop: None,
            opaque: None,
            userhash: false,
        };
        let (mut qop, mut nc, mut cnonce) = (None, None, None);
        let (mut have_user, mut have_nonce, mut have_resp) = (false, false, false);
        for item in parse_items(value)? {
            let (k, v) = match item {
                Item::Scheme(_, Some(kv)) => kv,
                Item::Param(k, v) => (k, v),
                Item::Scheme(_, None) => continue,
            };
            match k.to_ascii_lowercase().as_str() {
                "username" => (d.username, have_user) = (v, true),
                "realm" => d.realm = v,
                "nonce" => (d.nonce, have_nonce) = (v, true),
                "uri" => d.uri = v,
                "response" => (d.response, have_resp) = (v.to_ascii_lowercase(), true),
                "algorithm" => d.algorithm = Algorithm::parse(&v),
                "qop" => qop = Some(v),
                "nc" => nc = Some(v),
                "cnonce" => cnonce = Some(v),
                "opaque" => d.opaque = Some(v),
                "userhash" => d.userhash = v.eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        for (ok, name) in [
            (have_user, "username"),
            (have_nonce, "nonce"),
            (have_resp, "response"),
        ] {
            if !ok {
                return Err(AuthError::Missing { name });
            }
        }
        if let Some(q) = qop {
            let nc = nc.ok_or(AuthError::Missing { name: "nc" })?;
            let cnonce = cnonce.ok_or(AuthError::Missing { name: "cnonce" })?;
            d.qop = Some((q, nc, cnonce));
        }
        Ok(Self::Digest(d))
    }
}

/// Server side: whether a Basic `Authorization` carries exactly these credentials.
pub fn verify_basic(auth: &Authorization, expected: &Credentials) -> bool {
    matches!(auth, Authorization::Basic(c) if constant_eq(c.username.as_bytes(), expected.username.as_bytes())
        && constant_eq(c.password.as_bytes(), expected.password.as_bytes()))
}

/// Server side: whether a Digest `Authorization` answers `challenge` (same realm and nonce)
/// for this `method` with `expected` credentials. The caller checks that `uri` names the
/// request's resource, and that the nonce is still valid (issued by it, not too old).
pub fn verify_digest(
    auth: &Authorization,
    challenge: &Challenge,
    method: &str,
    expected: &Credentials,
) -> bool {
    let Authorization::Digest(d) = auth else {
        return false;
    };
    let Some(algorithm) = d.algorithm else {
        return false;
    };
    if challenge.scheme != Scheme::Digest
        || d.nonce != challenge.nonce
        || d.realm != challenge.realm
        || challenge.algorithm.unwrap_or(Algorithm::Md5) != algorithm
        || (!challenge.qop.is_empty() && d.qop.is_none())
    {
        return false;
    }
    let user_ok = if d.userhash {
        d.username == algorithm.hex(&format!("{}:{}", expected.username, d.realm))
    } else {
        d.username == expected.username
    };
    if !user_ok {
        return false;
    }
    let want = digest_response(&DigestInput {
        algorithm,
        username: &expected.username,
        realm: &d.realm,
        password: &expected.password,
        nonce: &d.nonce,
        method,
        uri: &d.uri,
        qop: d
            .qop
            .as_ref()
            .map(|(q, nc, cn)| (q.as_str(), nc.as_str(), cn.as_str())),
    });
    constant_eq(want.as_bytes(), d.response.as_bytes())
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for ch in s.chars() {
        if ch == '"' || ch == '\\' {
            q.push('\\');
        }
        q.push(ch);
    }
    q.push('"');
    q
}

/// One comma-separated element of an auth header.
#[derive(Debug)]
enum Item {
    /// A scheme name, maybe followed by its first parameter (`Digest realm="x"`).
    Scheme(String, Option<(String, String)>),
    /// `name=value` (value unquoted).
    Param(String, String),
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&b)
}

/// Split into scheme names and `name=value` parameters, honouring quoted strings.
fn parse_items(s: &str) -> Result<Vec<Item>, AuthError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut items = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t') {
            *i += 1;
        }
    };
    let token = |i: &mut usize| -> &str {
        let start = *i;
        while *i < b.len() && is_tchar(b[*i]) {
            *i += 1;
        }
        &s[start..*i]
    };
    // Parses `= value` after a name; `i` is at the '='.
    let value = |i: &mut usize| -> Result<String, AuthError> {
        *i += 1;
        skip_ws(i);
        if *i < b.len() && b[*i] == b'"' {
            let open = *i;
            *i += 1;
            let mut v = Vec::new();
            loop {
                match b.get(*i) {
                    None => return Err(AuthError::Unterminated { offset: open }),
                    Some(b'"') => {
                        *i += 1;
                        break;
                    }
                    Some(b'\\') if *i + 1 < b.len() => {
                        v.push(b[*i + 1]);
                        *i += 2;
                    }
                    Some(&c) => {
                        v.push(c);
                        *i += 1;
                    }
                }
            }
            Ok(String::from_utf8_lossy(&v).into_owned())
        } else {
            let start = *i;
            while *i < b.len() && (is_tchar(b[*i]) || b[*i] == b'=') {
                *i += 1;
            }
            Ok(s[start..*i].to_string())
        }
    };
    loop {
        skip_ws(&mut i);
        while i < b.len() && b[i] == b',' {
            i += 1;
            skip_ws(&mut i);
        }
        if i >= b.len() {
            break;
        }
        let name = token(&mut i).to_string();
        if name.is_empty() {
            return Err(AuthError::Malformed { offset: i });
        }
        let after_name = i;
        skip_ws(&mut i);
        if i < b.len() && b[i] == b'=' {
            let v = value(&mut i)?;
            items.push(Item::Param(name, v));
        } else if i >= b.len() || b[i] == b',' {
            items.push(Item::Scheme(name, None));
        } else if i > after_name {
            // `Scheme param=value` or `Scheme token68`.
            let pstart = i;
            let pname = token(&mut i).to_string();
            skip_ws(&mut i);
            if !pname.is_empty() && i < b.len() && b[i] == b'=' {
                let v = value(&mut i)?;
                items.push(Item::Scheme(name, Some((pname, v))));
            } else {
                // token68 (or junk): keep the scheme, drop the rest of this element.
                while i < b.len() && b[i] != b',' {
                    i += 1;
                }
                let _ = pstart;
                items.push(Item::Scheme(name, None));
            }
        } else {
            return Err(AuthError::Malformed { offset: i });
        }
        skip_ws(&mut i);
        if i < b.len() && b[i] != b',' {
            return Err(AuthError::Malformed { offset: i });
        }
    }
    Ok(items)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= n {
                out.push(B64[((v >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (padding optional). `None` on any invalid character.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
