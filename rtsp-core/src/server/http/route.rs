//! What an HTTP request target names.

/// A route of the HTTP side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/`: the page listing the streams.
    Page,
    /// `/NAME/stream.mjpg`: the stream as multipart JPEG (raw name, not yet decoded).
    Stream(String),
    /// `/NAME/snapshot.jpg`: the latest frame.
    Snapshot(String),
    /// `/api/streams`.
    Streams,
    /// `/api/sessions`.
    Sessions,
    /// `/api/sessions/ID/kick`.
    Kick(String),
    /// `/metrics`.
    Metrics,
    /// `/style.css`.
    Style,
    /// `/page.js`.
    Script,
    /// Anything else: 404.
    NotFound,
}

impl Route {
    /// The route of a target path (query and fragment already removed).
    pub(crate) fn of(path: &str) -> Self {
        match path {
            "/" | "/index.html" => return Self::Page,
            "/api/streams" => return Self::Streams,
            "/api/sessions" => return Self::Sessions,
            "/metrics" => return Self::Metrics,
            "/style.css" => return Self::Style,
            "/page.js" => return Self::Script,
            _ => {}
        }
        if let Some(id) = path
            .strip_prefix("/api/sessions/")
            .and_then(|p| p.strip_suffix("/kick"))
            .filter(|id| !id.is_empty() && !id.contains('/'))
        {
            return Self::Kick(id.to_string());
        }
        let name = |suffix: &str| {
            path.strip_prefix('/')
                .and_then(|p| p.strip_suffix(suffix))
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        };
        if let Some(n) = name("/stream.mjpg") {
            return Self::Stream(n);
        }
        if let Some(n) = name("/snapshot.jpg") {
            return Self::Snapshot(n);
        }
        Self::NotFound
    }

    /// The methods the route answers (for 405 and `Allow`).
    pub(crate) fn allow(&self) -> &'static str {
        match self {
            Self::Kick(_) => "POST",
            _ => "GET, HEAD",
        }
    }

    /// Whether `method` is allowed on it.
    pub(crate) fn allows(&self, method: &str) -> bool {
        self.allow().split(", ").any(|m| m == method)
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn targets_map_to_routes() {
        assert_eq!(Route::of("/"), Route::Page);
        assert_eq!(
            Route::of("/a/b.mjpeg/stream.mjpg"),
            Route::Stream("a/b.mjpeg".into())
        );
        assert_eq!(
            Route::of("/cam/snapshot.jpg"),
            Route::Snapshot("cam".into())
        );
        assert_eq!(Route::of("/stream.mjpg"), Route::NotFound);
        assert_eq!(
            Route::of("/api/sessions/12AB/kick"),
            Route::Kick("12AB".into())
        );
        assert_eq!(Route::of("/api/sessions//kick"), Route::NotFound);
        assert_eq!(Route::of("/metrics"), Route::Metrics);
        assert_eq!(Route::of("/page.js"), Route::Script);
        assert!(Route::of("/metrics").allows("HEAD"));
        assert!(!Route::Kick("1".into()).allows("GET"));
    }
}
