//! Small helpers shared by the typed headers: splitting `a;b=c` parameter lists and
//! comma-separated lists without breaking quoted strings (RFC 2616 §2.2 `quoted-string`).

/// Split `s` at every `sep` that is not inside a double-quoted string.
pub(super) fn split_unquoted(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    let mut pieces = Vec::new();
    for (i, b) in s.bytes().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if in_quotes => escaped = true,
            b'"' => in_quotes = !in_quotes,
            _ if b == sep && !in_quotes => {
                pieces.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&s[start..]);
    pieces.into_iter()
}

/// `name [ "=" value ]`, both trimmed.
pub(super) fn key_value(s: &str) -> (&str, Option<&str>) {
    match s.split_once('=') {
        Some((k, v)) => (k.trim(), Some(v.trim())),
        None => (s.trim(), None),
    }
}

/// Remove one pair of surrounding double quotes, if present.
pub(super) fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// `1*DIGIT` as an unsigned integer of type `T` (no sign, no blanks inside).
pub(super) fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_quotes() {
        let v: Vec<_> = split_unquoted(r#"a;mode="PLAY;RECORD";b"#, b';').collect();
        assert_eq!(v, ["a", r#"mode="PLAY;RECORD""#, "b"]);
        let v: Vec<_> = split_unquoted(r#"x="a\"b,c",y"#, b',').collect();
        assert_eq!(v, [r#"x="a\"b,c""#, "y"]);
        let v: Vec<_> = split_unquoted("", b',').collect();
        assert_eq!(v, [""]);
    }

    #[test]
    fn key_value_and_unquote() {
        assert_eq!(
            key_value(" client_port= 25000 "),
            ("client_port", Some("25000"))
        );
        assert_eq!(key_value("unicast"), ("unicast", None));
        assert_eq!(unquote("\"PLAY\""), "PLAY");
        assert_eq!(unquote("\"x"), "\"x");
        assert_eq!(digits::<u16>("65535"), Some(65535));
        assert_eq!(digits::<u16>("65536"), None);
        assert_eq!(digits::<u16>("+1"), None);
        assert_eq!(digits::<u16>(""), None);
    }
}
