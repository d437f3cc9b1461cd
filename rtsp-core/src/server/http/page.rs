//! `GET /`: the page listing every stream with a live preview, its state, size, frame rate,
//! readers and `rtsp://` URL. HTML, CSS and a small script (`/page.js`, no framework: it
//! refreshes the figures from `/api/streams`) served by the binary; the page works without
//! the script too.

use super::StreamInfo;

const PAGE: &str = include_str!("page.html");
/// The page's style sheet (`/style.css`).
pub(crate) const STYLE: &str = include_str!("style.css");
/// The page's script (`/page.js`).
pub(crate) const SCRIPT: &str = include_str!("page.js");

/// The page for `streams`, titled `title`.
pub(crate) fn render(title: &str, streams: &[StreamInfo]) -> String {
    let mut cards = String::new();
    for s in streams {
        cards.push_str(&card(s));
    }
    if streams.is_empty() {
        cards.push_str("<p>No streams.</p>\n");
    }
    PAGE.replace("{{title}}", &escape(title))
        .replace("{{count}}", &format!("{} streams", streams.len()))
        .replace("{{streams}}", &cards)
}

fn card(s: &StreamInfo) -> String {
    let name = escape(&s.name);
    let path = escape(&encode_path(&s.name));
    let size = match (s.width, s.height) {
        (Some(w), Some(h)) => format!("{w}×{h}"),
        _ => "–".into(),
    };
    let fps = s.fps.map_or_else(|| "–".into(), |f| format!("{f:.2}"));
    // No preview of a path with nothing to show (a publisher path nobody publishes, a file
    // that cannot play): an image that never gets a frame only keeps the page loading. A
    // pulled path waiting for frames keeps its preview: the viewer is what starts an
    // on-demand pull.
    let preview = match s.state {
        "offline" | "error" => format!(
            "<p class=\"no-preview\">{} (reload the page once it is live)</p>",
            s.state
        ),
        _ => format!(
            "<a href=\"/{path}/stream.mjpg\"><img src=\"/{path}/stream.mjpg\" alt=\"{name}\"></a>"
        ),
    };
    format!(
        "<section class=\"stream\" data-name=\"{name}\">\n<h2>{name}</h2>\n\
         {preview}\n\
         <dl><dt>kind</dt><dd>{kind}</dd><dt>state</dt><dd data-field=\"state\" class=\"state-{state}\">{state}</dd>\
         <dt>size</dt><dd data-field=\"size\">{size}</dd><dt>fps</dt><dd data-field=\"fps\">{fps}</dd>\
         <dt>readers</dt><dd data-field=\"readers\">{readers}</dd></dl>\n\
         <input readonly value=\"{url}\" onfocus=\"this.select()\" aria-label=\"RTSP URL\">\n\
         <p><a href=\"/{path}/snapshot.jpg\">snapshot</a></p>\n</section>\n",
        kind = s.kind,
        state = s.state,
        readers = s.readers,
        url = escape(&s.rtsp_url),
    )
}

/// HTML escaping of text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a stream name for a URL path (keeps unreserved characters and `/`).
pub(crate) fn encode_path(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_encoded() {
        let s = StreamInfo {
            name: "a <b>.mjpeg".into(),
            kind: "file",
            state: "ready",
            width: Some(64),
            height: Some(48),
            fps: Some(25.0),
            readers: 2,
            rtsp_url: "rtsp://h:554/a%20%3Cb%3E.mjpeg".into(),
        };
        let page = render("t", &[s]);
        assert!(page.contains("<img src=\"/a%20%3Cb%3E.mjpeg/stream.mjpg\""));
        assert!(page.contains("<h2>a &lt;b&gt;.mjpeg</h2>"));
        // The script finds each card by its name and each figure by its field.
        assert!(page.contains("<section class=\"stream\" data-name=\"a &lt;b&gt;.mjpeg\">"));
        for field in ["state", "size", "fps", "readers"] {
            assert!(page.contains(&format!("data-field=\"{field}\"")), "{field}");
        }
        assert!(page.contains("<script src=\"/page.js\" defer></script>"));
        assert!(page.contains("64×48"));
    }

    #[test]
    fn only_paths_with_something_to_show_get_a_preview() {
        let card_of = |state: &'static str| {
            card(&StreamInfo {
                name: "cam".into(),
                kind: "live",
                state,
                width: None,
                height: None,
                fps: None,
                readers: 0,
                rtsp_url: "rtsp://h:554/cam".into(),
            })
        };
        for state in ["offline", "error"] {
            let c = card_of(state);
            assert!(!c.contains("<img"), "{c}");
            assert!(c.contains("no-preview"), "{c}");
        }
        for state in ["live", "waiting", "ready", "loading"] {
            assert!(
                card_of(state).contains("<img src=\"/cam/stream.mjpg\""),
                "{state}"
            );
        }
    }
}
