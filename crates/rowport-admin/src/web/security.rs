//! Tokens, cookies, the CSRF and Origin checks, and the security headers of every response.

use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "rowport_session";
/// The cookie that carries the login form's CSRF token before there is a session.
pub const LOGIN_CSRF_COOKIE: &str = "rowport_login_csrf";

/// 32 random bytes as 64 hex digits: session ids, CSRF tokens, upload tokens, passwords.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in time that depends only on their lengths.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name` in the request's headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax (Strict would drop the session on links
/// from other sites), Path=/, Secure when asked.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// True when the request's `Origin` (else `Referer`) is the request's own host or one of
/// `allowed`. A request without either header passes: browsers send `Origin` on every
/// cross-site POST, so its absence means a same-site or non-browser client, and the CSRF
/// token still has to match.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            let referer = headers.get(header::REFERER)?.to_str().ok()?;
            let (scheme, rest) = referer.split_once("://")?;
            let host = rest.split('/').next()?;
            Some(format!("{scheme}://{host}"))
        });
    let Some(origin) = origin else {
        return true;
    };
    if origin == "null" {
        return false;
    }
    if allowed.iter().any(|a| a.trim_end_matches('/') == origin) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match origin.split_once("://") {
        Some((_, origin_host)) => !host.is_empty() && origin_host == host,
        None => false,
    }
}

/// Adds the security headers to every response: a CSP that allows no inline script or style
/// and nothing from elsewhere, frame denial, nosniff, no referrer leaks, and no caching of
/// pages that show data.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_of(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origins() {
        let same = headers_of(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://127.0.0.1:8000"),
        ]);
        assert!(origin_allowed(&same, &[]));
        let foreign = headers_of(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "https://evil.example"),
        ]);
        assert!(!origin_allowed(&foreign, &[]));
        assert!(origin_allowed(&foreign, &["https://evil.example".into()]));
        let referer = headers_of(&[("host", "a:1"), ("referer", "http://b:1/x")]);
        assert!(!origin_allowed(&referer, &[]));
        let null = headers_of(&[("host", "a:1"), ("origin", "null")]);
        assert!(!origin_allowed(&null, &[]));
    }

    #[test]
    fn tokens_and_cookies() {
        let t = random_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, random_token());
        assert!(same_secret(&t, &t.clone()));
        assert!(!same_secret(&t, &random_token()));
        let h = headers_of(&[("cookie", "a=1; rowport_session=abc")]);
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
    }
}
