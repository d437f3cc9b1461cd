//! The RTSP/1.0 message grammar (RFC 2326 §4, §6, §7, §15), one nom function per ABNF rule.
//!
//! Private: the [`super::Decoder`] finds line boundaries and enforces limits, then hands each
//! complete line to these rules. Input is always a complete line without its `CRLF`/`LF`, so the
//! `complete` flavour of nom combinators is used. nom types never leave this module: the
//! `pub(super)` entry points return [`Fail`] (column + grammar context).

use super::{Method, Version};
use nom::{
    branch::alt,
    bytes::complete::{tag, take_while, take_while1, take_while_m_n},
    character::complete::{char, digit1},
    combinator::{all_consuming, map, map_res, rest, verify},
    error::{context, ContextError, ErrorKind, FromExternalError, ParseError as NomParseError},
    number::complete::{be_u16, be_u8},
    sequence::{preceded, separated_pair, terminated, tuple},
    IResult,
};

/// A grammar failure inside one line: where (byte column in the line) and which rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fail {
    /// Byte offset inside the parsed slice.
    pub column: usize,
    /// The innermost grammar rule that failed.
    pub context: &'static str,
}

/// nom error type that remembers the position and the innermost `context`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GrammarError<'a> {
    input: &'a [u8],
    context: &'static str,
}

impl<'a> NomParseError<&'a [u8]> for GrammarError<'a> {
    fn from_error_kind(input: &'a [u8], _kind: ErrorKind) -> Self {
        Self { input, context: "" }
    }

    fn append(_input: &'a [u8], _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

impl<'a, E> FromExternalError<&'a [u8], E> for GrammarError<'a> {
    fn from_external_error(input: &'a [u8], _kind: ErrorKind, _e: E) -> Self {
        Self { input, context: "" }
    }
}

impl<'a> ContextError<&'a [u8]> for GrammarError<'a> {
    fn add_context(_input: &'a [u8], ctx: &'static str, other: Self) -> Self {
        if other.context.is_empty() {
            Self {
                input: other.input,
                context: ctx,
            }
        } else {
            other
        }
    }
}

type Res<'a, T> = IResult<&'a [u8], T, GrammarError<'a>>;

/// Run a rule over a whole line and turn a nom error into a [`Fail`].
fn run<'a, T>(
    line: &'a [u8],
    what: &'static str,
    mut rule: impl FnMut(&'a [u8]) -> Res<'a, T>,
) -> Result<T, Fail> {
    match rule(line) {
        Ok((_, v)) => Ok(v),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(Fail {
            column: line.len().saturating_sub(e.input.len()),
            context: if e.context.is_empty() {
                what
            } else {
                e.context
            },
        }),
        // Complete combinators never return Incomplete; treat it as a failure at the end.
        Err(nom::Err::Incomplete(_)) => Err(Fail {
            column: line.len(),
            context: what,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Character classes (RFC 2326 §15.1, RFC 2616 §2.2)
// ---------------------------------------------------------------------------------------------

/// `tchar`: any CHAR except CTLs and separators (RFC 2616 §2.2 `token`).
pub(super) fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// SP / HTAB.
fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Trim SP / HTAB on both sides.
pub(super) fn trim_ws(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ws(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ws(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/// `token = 1*<any CHAR except CTLs or tspecials>`.
fn token(i: &[u8]) -> Res<'_, &[u8]> {
    context("token", take_while1(is_tchar))(i)
}

/// `1*(SP / HTAB)` — RFC 2326 says exactly one SP; we accept runs of blanks.
fn sp(i: &[u8]) -> Res<'_, &[u8]> {
    context("space", take_while1(is_ws))(i)
}

/// `*(SP / HTAB)`.
fn ows(i: &[u8]) -> Res<'_, &[u8]> {
    take_while(is_ws)(i)
}

/// `Method = "DESCRIBE" | … | extension-method` (RFC 2326 §6.1), `extension-method = token`.
fn method(i: &[u8]) -> Res<'_, Method> {
    context(
        "method",
        map(token, |t| {
            // tchar is ASCII, so this is valid UTF-8.
            Method::from_token(&String::from_utf8_lossy(t))
        }),
    )(i)
}

/// `Request-URI = "*" | absolute_URI` (RFC 2326 §6.1). We also accept a bare name (lab dialect),
/// i.e. any run of visible characters.
fn request_uri(i: &[u8]) -> Res<'_, &[u8]> {
    context("request-uri", take_while1(|c: u8| c > b' ' && c != 0x7f))(i)
}

/// A `major.minor` pair of `1*DIGIT` that fit in a byte.
fn version_numbers(i: &[u8]) -> Res<'_, Version> {
    context(
        "version number",
        map_res(
            separated_pair(digit1, char('.'), digit1),
            |(maj, min): (&[u8], &[u8])| -> Result<Version, ()> {
                let parse = |d: &[u8]| -> Result<u8, ()> {
                    std::str::from_utf8(d)
                        .map_err(|_| ())?
                        .parse::<u8>()
                        .map_err(|_| ())
                };
                Ok(Version {
                    major: parse(maj)?,
                    minor: parse(min)?,
                })
            },
        ),
    )(i)
}

/// What a protocol-version token named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Proto {
    /// `RTSP/major.minor` (any numbers; the caller decides whether it supports them).
    Rtsp(Version),
    /// Another protocol, e.g. `HTTP/1.1`.
    Other,
}

/// `RTSP-Version = "RTSP" "/" 1*DIGIT "." 1*DIGIT` (RFC 2326 §3.1). Other `NAME/d.d`
/// protocols are recognised as [`Proto::Other`] so the decoder can report a version error.
fn rtsp_version(i: &[u8]) -> Res<'_, Proto> {
    context(
        "RTSP-Version",
        alt((
            map(
                preceded(nom::bytes::complete::tag_no_case("RTSP/"), version_numbers),
                Proto::Rtsp,
            ),
            map(
                tuple((
                    take_while1(|c: u8| c.is_ascii_alphabetic()),
                    char('/'),
                    version_numbers,
                )),
                |_| Proto::Other,
            ),
        )),
    )(i)
}

/// `Request-Line = Method SP Request-URI SP RTSP-Version CRLF` (RFC 2326 §6.1).
fn request_line_rule(i: &[u8]) -> Res<'_, (Method, &[u8], Proto)> {
    context(
        "request line",
        all_consuming(map(
            tuple((method, sp, request_uri, sp, rtsp_version, ows)),
            |(m, _, u, _, v, _)| (m, u, v),
        )),
    )(i)
}

/// `Status-Code = 3DIGIT` (RFC 2326 §7.1.1). The defined classes start with 1–5; any code
/// 100–999 is accepted (a leading `0` is rejected: `020` could not be written back as 3 digits
/// with the same meaning).
fn status_code(i: &[u8]) -> Res<'_, u16> {
    context(
        "status code",
        verify(
            map(
                take_while_m_n(3, 3, |c: u8| c.is_ascii_digit()),
                |d: &[u8]| d.iter().fold(0u16, |acc, c| acc * 10 + u16::from(c - b'0')),
            ),
            |c: &u16| *c >= 100,
        ),
    )(i)
}

/// `Reason-Phrase = *<TEXT, excluding CR, LF>` (RFC 2326 §7.1.1); surrounding blanks trimmed.
fn reason_phrase(i: &[u8]) -> Res<'_, &[u8]> {
    map(rest, trim_ws)(i)
}

/// `Status-Line = RTSP-Version SP Status-Code SP Reason-Phrase CRLF` (RFC 2326 §7.1).
/// The reason phrase (and the blank before it) may be missing.
fn status_line_rule(i: &[u8]) -> Res<'_, (Proto, u16, &[u8])> {
    context(
        "status line",
        all_consuming(map(
            tuple((
                rtsp_version,
                sp,
                status_code,
                alt((preceded(sp, reason_phrase), map(ows, |_| &b""[..]))),
            )),
            |(v, _, c, r)| (v, c, r),
        )),
    )(i)
}

/// `field-name = token` (RFC 2616 §4.2).
fn field_name(i: &[u8]) -> Res<'_, &[u8]> {
    context("header name", token)(i)
}

/// `message-header = field-name ":" [ field-value ]` (RFC 2326 §4.2, RFC 2616 §4.2).
/// Blanks before the colon are tolerated; the value is trimmed.
fn header_field_rule(i: &[u8]) -> Res<'_, (&[u8], &[u8])> {
    context(
        "header field",
        map(
            tuple((field_name, ows, context("colon", char(':')), rest)),
            |(n, _, _, v)| (n, trim_ws(v)),
        ),
    )(i)
}

/// `interleaved = "$" channel length` (RFC 2326 §10.12): a one-byte channel and a 16-bit
/// big-endian length.
fn interleaved_rule(i: &[u8]) -> Res<'_, (u8, u16)> {
    context(
        "interleaved frame",
        map(tuple((tag("$"), be_u8, be_u16)), |(_, ch, len)| (ch, len)),
    )(i)
}

/// `Content-Length = 1*DIGIT` (RFC 2326 §12.14), blanks trimmed.
fn content_length_rule(i: &[u8]) -> Res<'_, &[u8]> {
    context(
        "Content-Length",
        all_consuming(terminated(preceded(ows, digit1), ows)),
    )(i)
}

/// `obs-fold`: a line starting with SP / HTAB continues the previous header (RFC 2616 §2.2 LWS).
fn continuation_rule(i: &[u8]) -> Res<'_, &[u8]> {
    context("continuation line", map(preceded(sp, rest), trim_ws))(i)
}

/// Whether a start line is a status line: it begins with `NAME/` (methods cannot contain `/`).
fn looks_like_status_line(i: &[u8]) -> Res<'_, ()> {
    map(
        terminated(take_while1(|c: u8| c.is_ascii_alphabetic()), char('/')),
        |_| (),
    )(i)
}

// ---------------------------------------------------------------------------------------------
// Entry points for the decoder
// ---------------------------------------------------------------------------------------------

/// A parsed start line, borrowing from the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StartLine<'a> {
    /// `Method SP Request-URI SP RTSP-Version`.
    Request {
        /// The method.
        method: Method,
        /// The raw request-URI.
        uri: &'a [u8],
        /// The version token.
        version: Proto,
    },
    /// `RTSP-Version SP Status-Code SP Reason-Phrase`.
    Status {
        /// The version token.
        version: Proto,
        /// The code (100–999).
        code: u16,
        /// The reason phrase (trimmed, may be empty).
        reason: &'a [u8],
    },
}

/// Parse a request or status line (without its line ending).
pub(super) fn start_line(line: &[u8]) -> Result<StartLine<'_>, Fail> {
    if looks_like_status_line(line).is_ok() {
        run(line, "status line", status_line_rule).map(|(version, code, reason)| {
            StartLine::Status {
                version,
                code,
                reason,
            }
        })
    } else {
        run(line, "request line", request_line_rule).map(|(method, uri, version)| {
            StartLine::Request {
                method,
                uri,
                version,
            }
        })
    }
}

/// Parse a header line (without its line ending) into trimmed name and value.
pub(super) fn header_field(line: &[u8]) -> Result<(&[u8], &[u8]), Fail> {
    run(line, "header field", header_field_rule)
}

/// Whether a header line is an obs-fold continuation, and its trimmed content.
pub(super) fn continuation(line: &[u8]) -> Option<&[u8]> {
    continuation_rule(line).ok().map(|(_, v)| v)
}

/// Parse the 4-byte interleaved frame header.
pub(super) fn interleaved_header(head: &[u8]) -> Result<(u8, u16), Fail> {
    run(head, "interleaved frame", interleaved_rule)
}

/// Parse a `Content-Length` value. `Ok(None)` when the digits do not fit in a `usize`.
pub(super) fn content_length(value: &[u8]) -> Result<Option<usize>, Fail> {
    let digits = run(value, "Content-Length", content_length_rule)?;
    let mut n: usize = 0;
    for d in digits {
        n = match n
            .checked_mul(10)
            .and_then(|n| n.checked_add(usize::from(d - b'0')))
        {
            Some(n) => n,
            None => return Ok(None),
        };
    }
    Ok(Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_token() {
        assert_eq!(token(b"CSeq: 1").unwrap(), (&b": 1"[..], &b"CSeq"[..]));
        assert_eq!(token(b"X-Foo_bar.1~").unwrap().1, b"X-Foo_bar.1~");
        assert!(token(b":x").is_err());
        assert!(token(b"").is_err());
        assert!(token(b" a").is_err());
    }

    #[test]
    fn rule_sp_and_ows() {
        assert_eq!(sp(b" \t x").unwrap(), (&b"x"[..], &b" \t "[..]));
        assert!(sp(b"x").is_err());
        assert_eq!(ows(b"x").unwrap(), (&b"x"[..], &b""[..]));
        assert_eq!(trim_ws(b" \t a b \t"), b"a b");
        assert_eq!(trim_ws(b"   "), b"");
    }

    #[test]
    fn rule_method() {
        assert_eq!(method(b"OPTIONS *").unwrap().1, Method::Options);
        assert_eq!(method(b"GET_PARAMETER x").unwrap().1, Method::GetParameter);
        assert_eq!(method(b"FOO x").unwrap().1, Method::Extension("FOO".into()));
        // Case-sensitive: lower case is an extension method.
        assert_eq!(
            method(b"play x").unwrap().1,
            Method::Extension("play".into())
        );
        assert!(method(b"/x").is_err());
    }

    #[test]
    fn rule_request_uri() {
        assert_eq!(request_uri(b"* RTSP/1.0").unwrap().1, b"*");
        assert_eq!(
            request_uri(b"rtsp://h:554/a?b=c RTSP/1.0").unwrap().1,
            b"rtsp://h:554/a?b=c"
        );
        assert_eq!(
            request_uri(b"movie.Mjpeg RTSP/1.0").unwrap().1,
            b"movie.Mjpeg"
        );
        assert!(request_uri(b" x").is_err());
        assert!(request_uri(b"\x7f").is_err());
    }

    #[test]
    fn rule_version() {
        assert_eq!(
            rtsp_version(b"RTSP/1.0").unwrap().1,
            Proto::Rtsp(Version::RTSP_1_0)
        );
        assert_eq!(
            rtsp_version(b"RTSP/2.0").unwrap().1,
            Proto::Rtsp(Version { major: 2, minor: 0 })
        );
        assert_eq!(
            rtsp_version(b"rtsp/1.10").unwrap().1,
            Proto::Rtsp(Version {
                major: 1,
                minor: 10
            })
        );
        assert_eq!(rtsp_version(b"HTTP/1.1").unwrap().1, Proto::Other);
        assert!(rtsp_version(b"RTSP/1").is_err());
        assert!(rtsp_version(b"RTSP/256.0").is_err());
        assert!(rtsp_version(b"RTSP/x.0").is_err());
    }

    #[test]
    fn rule_request_line() {
        let (m, u, v) = request_line_rule(b"SETUP movie.Mjpeg RTSP/1.0").unwrap().1;
        assert_eq!(m, Method::Setup);
        assert_eq!(u, b"movie.Mjpeg");
        assert_eq!(v, Proto::Rtsp(Version::RTSP_1_0));
        assert!(request_line_rule(b"OPTIONS  *\tRTSP/1.0 ").is_ok());
        assert!(request_line_rule(b"OPTIONS *").is_err());
        assert!(request_line_rule(b"OPTIONS * RTSP/1.0 extra").is_err());
        assert!(request_line_rule(b"").is_err());
    }

    #[test]
    fn rule_status_code() {
        assert_eq!(status_code(b"200 OK").unwrap().1, 200);
        assert_eq!(status_code(b"999").unwrap().1, 999);
        assert!(status_code(b"20").is_err());
        assert!(status_code(b"x00").is_err());
        // Fuzz `status-digits`: below 100 is not a status code (it would be written as 2 digits).
        assert!(status_code(b"020").is_err());
        assert!(status_code(b"000").is_err());
        assert_eq!(status_code(b"100").unwrap().1, 100);
        assert!(status_line_rule(b"RTSP/1.0 020 OK").is_err());
        // Four digits: the rule takes three, the status line then fails on the fourth.
        assert!(status_line_rule(b"RTSP/1.0 2000 OK").is_err());
    }

    #[test]
    fn rule_reason_phrase() {
        assert_eq!(reason_phrase(b" Not Found ").unwrap().1, b"Not Found");
        assert_eq!(reason_phrase(b"").unwrap().1, b"");
    }

    #[test]
    fn rule_status_line() {
        let (v, c, r) = status_line_rule(b"RTSP/1.0 461 Unsupported transport")
            .unwrap()
            .1;
        assert_eq!(v, Proto::Rtsp(Version::RTSP_1_0));
        assert_eq!(c, 461);
        assert_eq!(r, b"Unsupported transport");
        assert_eq!(status_line_rule(b"RTSP/1.0 200").unwrap().1 .2, b"");
        assert_eq!(status_line_rule(b"RTSP/1.0 200 ").unwrap().1 .2, b"");
        assert!(status_line_rule(b"RTSP/1.0").is_err());
        assert!(status_line_rule(b"RTSP/1.0 OK").is_err());
    }

    #[test]
    fn rule_field_name_and_header_field() {
        assert_eq!(field_name(b"CSeq:").unwrap().1, b"CSeq");
        assert_eq!(
            header_field_rule(b"Session:  abc;timeout=60 \t").unwrap().1,
            (&b"Session"[..], &b"abc;timeout=60"[..])
        );
        assert_eq!(
            header_field_rule(b"CSeq : 1").unwrap().1,
            (&b"CSeq"[..], &b"1"[..])
        );
        assert_eq!(header_field_rule(b"X-Empty:").unwrap().1 .1, b"");
        let f = header_field(b"movie.Mjpeg").unwrap_err();
        assert_eq!(f.context, "colon");
        assert_eq!(f.column, 11);
        let f = header_field(b": x").unwrap_err();
        assert_eq!(f.context, "token");
        assert_eq!(f.column, 0);
    }

    #[test]
    fn rule_continuation() {
        assert_eq!(continuation(b"  ;timeout=60 "), Some(&b";timeout=60"[..]));
        assert_eq!(continuation(b"\tx"), Some(&b"x"[..]));
        assert_eq!(continuation(b"x"), None);
    }

    #[test]
    fn rule_interleaved() {
        assert_eq!(interleaved_header(b"$\x01\x05\xdc").unwrap(), (1, 1500));
        assert!(interleaved_header(b"#\x01\x00\x00").is_err());
        assert!(interleaved_header(b"$\x01").is_err());
    }

    #[test]
    fn rule_content_length() {
        assert_eq!(content_length(b"372").unwrap(), Some(372));
        assert_eq!(content_length(b" 0 ").unwrap(), Some(0));
        assert_eq!(content_length(b"99999999999999999999999999").unwrap(), None);
        assert!(content_length(b"-1").is_err());
        assert!(content_length(b"12a").is_err());
        assert!(content_length(b"").is_err());
    }

    #[test]
    fn start_line_dispatch_and_errors() {
        assert!(matches!(
            start_line(b"RTSP/1.0 200 OK"),
            Ok(StartLine::Status { code: 200, .. })
        ));
        assert!(matches!(
            start_line(b"HTTP/1.1 200 OK"),
            Ok(StartLine::Status {
                version: Proto::Other,
                ..
            })
        ));
        assert!(matches!(
            start_line(b"GET / HTTP/1.1"),
            Ok(StartLine::Request {
                version: Proto::Other,
                ..
            })
        ));
        let f = start_line(b"OPTIONS * RTSP/x").unwrap_err();
        assert_eq!(f.column, 15);
        assert_eq!(f.context, "version number");
        let f = start_line(b"v=0").unwrap_err();
        assert_eq!(f.context, "space");
        let f = start_line(b"\x00\x01").unwrap_err();
        assert_eq!(f.column, 0);
    }
}
