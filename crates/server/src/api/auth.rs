//! Who is asking. A request is signed in by exactly one of:
//!
//! * `Authorization: Bearer <API token>` (scripts, the CLI); a bad token is a 401, never a
//!   fall-through to another method;
//! * `X-Remote-User-*` headers, only from a `trusted_proxies` address ([`crate::api::proxy`]);
//! * the `dailies_session` cookie of a browser that signed in (`POST /api/login` or a one-time
//!   login link).
//!
//! Browsers send cookies and proxy sign-ins on every request, also those a hostile page starts,
//! so their state-changing requests (anything but GET, HEAD, OPTIONS) must carry
//! `X-CSRF-Token`: the session's token from `GET /api/me`. A page on another site can neither
//! read that token nor set a custom header without a CORS preflight, which dailies never
//! approves. Bearer tokens are not sent by browsers on their own, so they need no CSRF token.
//!
//! Every protected handler takes a [`Caller`] (a signed-in user) or an
//! [`crate::api::access::Requester`] (a user, a share-link holder or nobody).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};

use crate::api::error::ApiError;
use crate::app::App;
use crate::db::sessions::{self, Session};
use crate::db::users::{self, User};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "dailies_session";
/// The header carrying the CSRF token on state-changing cookie requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The CSRF token of proxy sign-ins, which have no session to keep one in: the custom header
/// alone is what a cross-site request cannot send.
pub const PROXY_CSRF: &str = "proxy";

/// How the request was signed in.
#[derive(Clone, Debug)]
pub enum Via {
    Token,
    Session(Session),
    Proxy,
}

impl Via {
    pub fn name(&self) -> &'static str {
        match self {
            Via::Token => "token",
            Via::Session(_) => "session",
            Via::Proxy => "proxy",
        }
    }

    /// What `X-CSRF-Token` must be on state-changing requests; `None` for bearer tokens.
    pub fn csrf_token(&self) -> Option<&str> {
        match self {
            Via::Token => None,
            Via::Session(s) => Some(&s.csrf_token),
            Via::Proxy => Some(PROXY_CSRF),
        }
    }
}

/// A signed-in user and how.
#[derive(Clone, Debug)]
pub struct Signed {
    pub user: User,
    pub via: Via,
}

/// The authenticated user of a request.
#[derive(Clone, Debug)]
pub struct Caller(pub User);

impl Caller {
    /// Owners see their own videos; admins see everyone's. (Share links are decided in
    /// [`crate::api::access`].)
    pub fn may_see(&self, owner_id: &str) -> bool {
        crate::api::access::user_manages(&self.0, owner_id)
    }
}

/// The connection's address (the server runs with `ConnectInfo`); unspecified when missing, as
/// in a router driven without a socket.
pub fn peer_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// The value of one cookie in the request, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Constant-time comparison, so a CSRF token cannot be guessed byte by byte from timing.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Who signed the request in, if anyone. Errors: a bad bearer token (401), a state-changing
/// browser request without the right CSRF token (403), unusable proxy headers (400).
pub async fn authenticate(parts: &Parts, app: &App) -> Result<Option<Signed>, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| ApiError::Unauthorized)?;
        // The scheme name is case-insensitive (RFC 9110); tokens are short, so anything long
        // is refused before it costs a hash and a query.
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or(ApiError::Unauthorized)?;
        let user = users::by_token(&app.db, token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        return Ok(Some(Signed {
            user,
            via: Via::Token,
        }));
    }
    let mut signed = None;
    if crate::api::proxy::is_trusted(app, peer_ip(parts))
        && let Some(user) = crate::api::proxy::user_from_headers(app, &parts.headers).await?
    {
        signed = Some(Signed {
            user,
            via: Via::Proxy,
        });
    }
    if signed.is_none()
        && let Some(secret) = cookie(&parts.headers, SESSION_COOKIE).filter(|s| s.len() <= 256)
        && let Some(session) = sessions::by_secret(&app.db, secret).await?
    {
        signed = Some(Signed {
            user: session.user.clone(),
            via: Via::Session(session),
        });
    }
    if let Some(s) = &signed
        && !is_safe(&parts.method)
    {
        let expected = s.via.csrf_token().unwrap_or_default();
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !same(sent, expected) {
            return Err(ApiError::Forbidden(
                "missing or wrong X-CSRF-Token: send the csrf_token from GET /api/me".into(),
            ));
        }
    }
    Ok(signed)
}

impl FromRequestParts<App> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        authenticate(parts, app)
            .await?
            .ok_or(ApiError::Unauthorized)
    }
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let signed = authenticate(parts, app)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Caller(signed.user))
    }
}

/// An administrator; anyone else gets 404 (admin pages do not announce themselves).
#[derive(Clone, Debug)]
pub struct Admin(pub User);

impl FromRequestParts<App> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Caller(user) = Caller::from_request_parts(parts, app).await?;
        if !user.is_admin {
            return Err(ApiError::NotFound);
        }
        Ok(Admin(user))
    }
}

/// The client's address: the connection's, or — behind a trusted proxy — the last address the
/// proxy appended to `X-Forwarded-For` (earlier entries are whatever the client claimed).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<App> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let peer = peer_ip(parts);
        if crate::api::proxy::is_trusted(app, peer)
            && let Some(forwarded) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
        {
            return Ok(ClientIp(forwarded));
        }
        Ok(ClientIp(peer))
    }
}

/// `Set-Cookie` for a new session: HttpOnly (scripts never see it), SameSite=Lax (not sent on
/// cross-site subrequests or form posts), Secure when the public URL is https.
pub fn session_cookie(app: &App, secret: &str, max_age_secs: i64) -> String {
    let secure = if app.config.public_base().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie(app: &App) -> String {
    session_cookie(app, "", 0)
}
