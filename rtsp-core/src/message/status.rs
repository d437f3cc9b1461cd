//! Status codes (RFC 2326 §7.1.1).

use std::fmt;

/// An RTSP status code. Any 100–999 value is representable; known ones have constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(pub u16);

macro_rules! codes {
    ($($name:ident = $code:literal, $reason:literal;)*) => {
        impl StatusCode {
            $(
                #[doc = concat!("`", stringify!($code), " ", $reason, "`")]
                pub const $name: Self = Self($code);
            )*

            /// The standard reason phrase (`"Unknown"` for codes without one).
            pub fn reason(self) -> &'static str {
                match self.0 {
                    $($code => $reason,)*
                    _ => "Unknown",
                }
            }
        }
    };
}

codes! {
    CONTINUE = 100, "Continue";
    OK = 200, "OK";
    MOVED_PERMANENTLY = 301, "Moved Permanently";
    FOUND = 302, "Found";
    BAD_REQUEST = 400, "Bad Request";
    UNAUTHORIZED = 401, "Unauthorized";
    FORBIDDEN = 403, "Forbidden";
    NOT_FOUND = 404, "Not Found";
    METHOD_NOT_ALLOWED = 405, "Method Not Allowed";
    REQUEST_TIMEOUT = 408, "Request Timeout";
    LENGTH_REQUIRED = 411, "Length Required";
    REQUEST_ENTITY_TOO_LARGE = 413, "Request Entity Too Large";
    REQUEST_URI_TOO_LARGE = 414, "Request-URI Too Large";
    UNSUPPORTED_MEDIA_TYPE = 415, "Unsupported Media Type";
    PARAMETER_NOT_UNDERSTOOD = 451, "Parameter Not Understood";
    NOT_ENOUGH_BANDWIDTH = 453, "Not Enough Bandwidth";
    SESSION_NOT_FOUND = 454, "Session Not Found";
    METHOD_NOT_VALID_IN_THIS_STATE = 455, "Method Not Valid in This State";
    HEADER_FIELD_NOT_VALID = 456, "Header Field Not Valid for Resource";
    INVALID_RANGE = 457, "Invalid Range";
    AGGREGATE_OPERATION_NOT_ALLOWED = 459, "Aggregate Operation Not Allowed";
    ONLY_AGGREGATE_OPERATION_ALLOWED = 460, "Only Aggregate Operation Allowed";
    UNSUPPORTED_TRANSPORT = 461, "Unsupported Transport";
    INTERNAL_SERVER_ERROR = 500, "Internal Server Error";
    NOT_IMPLEMENTED = 501, "Not Implemented";
    SERVICE_UNAVAILABLE = 503, "Service Unavailable";
    RTSP_VERSION_NOT_SUPPORTED = 505, "RTSP Version Not Supported";
    OPTION_NOT_SUPPORTED = 551, "Option not supported";
}

impl StatusCode {
    /// 2xx.
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}
