//! Cross-origin access for browser pages (protocol §3.1), off unless origins are configured.
//!
//! A page's `fetch` to another origin reaches the API only if the server allows that origin:
//! the browser first sends a preflight (`OPTIONS` with `Access-Control-Request-Method`), and
//! exposes an answer's status, body and non-safelisted headers to the page only when it names
//! the page's origin. The server allows exact origins only, never `*`, and never credentials
//! mode: clients authenticate with a bearer token they set themselves, not with cookies.

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD,
    HeaderMap, HeaderValue, ORIGIN, VARY,
};
use http::{Method, StatusCode};

use crate::error::{Error, Result};
use crate::routes::{self, Answer};

/// The methods of the API's endpoints.
const METHODS: &str = "GET, POST, PUT, DELETE";
/// The request headers a client sets that a browser does not send cross-origin without leave.
const REQUEST_HEADERS: &str =
    "authorization, content-type, if-none-match, idempotency-key, user-agent";
/// The answer headers a client reads that a browser hides from a page without leave.
const EXPOSED_HEADERS: &str = "etag, retry-after";
/// How long a browser may reuse a preflight's answer, in seconds.
const MAX_AGE: &str = "600";

/// The origins allowed to call the API from a browser; none by default.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cors {
    origins: Vec<HeaderValue>,
}

impl Cors {
    /// Allows each of `origins`, each an exact `scheme://host[:port]` as browsers send it in
    /// `Origin`. Anything else (a path, a trailing slash, `*`, `null`) is refused.
    pub(crate) fn new(origins: &[String]) -> Result<Self> {
        let origins = origins
            .iter()
            .map(|origin| parse_origin(origin))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { origins })
    }

    /// The request's `Origin` if it is allowed.
    pub(crate) fn allowed(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(ORIGIN)?;
        self.origins
            .iter()
            .find(|allowed| *allowed == origin)
            .cloned()
    }

    /// The answer to a preflight from an allowed origin, for any path: the real request then
    /// gets the endpoint's own answer, a 404 or 405 included, which the page can read.
    /// Requests that are not such a preflight get `None` and go to the endpoints.
    pub(crate) fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<Answer> {
        if method != Method::OPTIONS || !headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD) {
            return None;
        }
        let origin = self.allowed(headers)?;
        let mut answer = routes::empty(StatusCode::NO_CONTENT);
        let out = answer.headers_mut();
        out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        out.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(METHODS),
        );
        out.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(REQUEST_HEADERS),
        );
        out.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
        out.insert(VARY, HeaderValue::from_static("origin"));
        Some(answer)
    }

    /// Lets the page of `origin` (an allowed one, from [`Cors::allowed`]) read `answer`.
    /// Every answer varies by origin once any origin is allowed, so that a cache in between
    /// never hands one origin's answer to another.
    pub(crate) fn expose(&self, origin: Option<HeaderValue>, answer: &mut Answer) {
        if self.origins.is_empty() {
            return;
        }
        let headers = answer.headers_mut();
        headers.append(VARY, HeaderValue::from_static("origin"));
        if let Some(origin) = origin {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
        }
    }
}

/// An origin as browsers serialise it: lower-case scheme `http` or `https`, a host, an
/// optional port, and nothing after.
fn parse_origin(text: &str) -> Result<HeaderValue> {
    let refuse = |reason: &str| Error::InvalidOrigin(format!("{text:?}: {reason}"));
    let uri: http::Uri = text
        .parse()
        .map_err(|_| refuse("not scheme://host[:port]"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(refuse("not scheme://host[:port]"));
    };
    if !matches!(scheme, "http" | "https") {
        return Err(refuse("the scheme must be http or https"));
    }
    if authority.as_str().contains('@') {
        return Err(refuse("an origin has no user information"));
    }
    if format!("{scheme}://{authority}") != text {
        return Err(refuse("an origin has no path, query or trailing slash"));
    }
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(refuse("browsers send origins in lower case"));
    }
    HeaderValue::from_str(text).map_err(|_| refuse("not a header value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    http::header::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn origins_are_exact_scheme_host_and_port() {
        assert!(Cors::new(&["http://127.0.0.1:5173".into(), "https://app.example".into()]).is_ok());
        for bad in [
            "*",
            "null",
            "127.0.0.1:5173",
            "http://127.0.0.1:5173/",
            "http://127.0.0.1:5173/page",
            "ftp://example.com",
            "https://App.example",
            "https://user@app.example",
            "https://app.example?x",
        ] {
            let error = Cors::new(&[bad.to_owned()]).unwrap_err();
            assert!(matches!(error, Error::InvalidOrigin(_)), "{bad}: {error}");
        }
    }

    #[test]
    fn only_a_preflight_from_an_allowed_origin_is_answered() {
        let cors = Cors::new(&["http://localhost:8080".into()]).unwrap();
        let preflight = headers(&[
            ("origin", "http://localhost:8080"),
            ("access-control-request-method", "POST"),
        ]);
        let answer = cors.preflight(&Method::OPTIONS, &preflight).unwrap();
        assert_eq!(answer.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            answer.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://localhost:8080"
        );
        assert!(
            !answer
                .headers()
                .contains_key(http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
        );
        let other = headers(&[
            ("origin", "http://localhost:8081"),
            ("access-control-request-method", "POST"),
        ]);
        assert!(cors.preflight(&Method::OPTIONS, &other).is_none());
        let no_method = headers(&[("origin", "http://localhost:8080")]);
        assert!(cors.preflight(&Method::OPTIONS, &no_method).is_none());
        assert!(cors.preflight(&Method::GET, &preflight).is_none());
        assert!(
            Cors::default()
                .preflight(&Method::OPTIONS, &preflight)
                .is_none()
        );
    }
}
