//! Accounts: signing in and out, the signed-in user, passwords, API tokens, and the admins'
//! user list. Who may see a video is not decided here but in [`crate::api::access`].

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::auth::{self, Admin, Caller, ClientIp, Signed, Via};
use crate::api::error::ApiError;
use crate::app::App;
use crate::db::sessions;
use crate::db::users::{self, DeleteUserError, User};
use crate::ids;
use crate::passwords;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/me/password", post(change_password))
        .route("/api/tokens", get(list_tokens).post(create_token))
        .route("/api/tokens/{id}", delete(delete_token))
        .route("/api/users", get(list_users).post(create_user))
        .route("/api/users/{id}", patch(update_user).delete(delete_user))
        .route("/login/once/{code}", get(login_once))
}

/// How long a one-time login link stays usable.
pub const LOGIN_LINK_LIFETIME_MS: i64 = 24 * 3600 * 1000;

fn session_lifetime_ms(app: &App) -> i64 {
    (app.config.session_days * 86_400_000.0) as i64
}

fn user_json(u: &User) -> Value {
    json!({ "id": u.id, "name": u.name, "is_admin": u.is_admin })
}

/// Starts a session for a user and answers with the cookie set.
async fn start_session(app: &App, user: &User) -> Result<(String, sessions::Session), ApiError> {
    let lifetime = session_lifetime_ms(app);
    let (secret, session) = sessions::create(&app.db, user, lifetime).await?;
    Ok((auth::session_cookie(app, &secret, lifetime / 1000), session))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    name: String,
    password: String,
}

/// `POST /api/login`: name and password in, session cookie out. Wrong name and wrong password
/// answer the same (and take as long), so names cannot be probed; repeated failures per
/// address or per name are refused for a while (429 with Retry-After).
#[tracing::instrument(skip_all, fields(ip = %ip.0))]
async fn login(
    State(app): State<App>,
    ip: ClientIp,
    body: Result<Json<Login>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    if let Some(wait) = app.login_limit.check(ip.0, &body.name) {
        let secs = wait.as_secs().max(1);
        tracing::warn!(name = %body.name, "sign-in refused: too many failures");
        let mut res = ApiError::TooMany(format!(
            "too many failed sign-ins; try again in {secs} seconds"
        ))
        .into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        return Ok(res);
    }
    let found = if body.name.len() <= 64 {
        users::password_hash_by_name(&app.db, &body.name).await?
    } else {
        None
    };
    let (user, stored) = match found {
        Some((user, Some(hash))) => (Some(user), hash),
        _ => (None, passwords::dummy_hash().await.to_owned()),
    };
    let ok = passwords::verify(&body.password, &stored).await?;
    let Some(user) = user.filter(|_| ok) else {
        app.login_limit.failed(ip.0, &body.name);
        tracing::info!(name = %body.name, "sign-in failed");
        return Err(ApiError::Unauthorized);
    };
    app.login_limit.succeeded(&body.name);
    let (cookie, session) = start_session(&app, &user).await?;
    tracing::info!(user = %user.name, "signed in");
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(me_json(&app, &user, &Via::Session(session)).await?),
    )
        .into_response())
}

/// `POST /api/logout`: ends this browser's session (a bearer token stays valid: revoke it at
/// `DELETE /api/tokens/{id}`).
async fn logout(State(app): State<App>, signed: Signed) -> Result<Response, ApiError> {
    if let Via::Session(s) = &signed.via {
        sessions::delete(&app.db, &s.id_hash).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, auth::clear_session_cookie(&app))],
    )
        .into_response())
}

async fn me_json(app: &App, user: &User, via: &Via) -> Result<Value, ApiError> {
    let has_password = users::password_hash_by_id(&app.db, &user.id)
        .await?
        .is_some();
    let mut out = user_json(user);
    if let Some(map) = out.as_object_mut() {
        map.insert("has_password".into(), has_password.into());
        map.insert("auth".into(), via.name().into());
        map.insert("csrf_token".into(), via.csrf_token().into());
    }
    Ok(out)
}

/// `GET /api/me`: who is signed in, how, and the CSRF token their browser must echo.
async fn me(State(app): State<App>, signed: Signed) -> Result<Json<Value>, ApiError> {
    Ok(Json(me_json(&app, &signed.user, &signed.via).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    /// Required when the user has a password already.
    current: Option<String>,
    new: String,
}

/// `POST /api/me/password`: needs the current password (unless there is none yet, as after a
/// first-start login link). Every other session of the user ends.
async fn change_password(
    State(app): State<App>,
    signed: Signed,
    body: Result<Json<PasswordChange>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(body) = body?;
    if let Some(stored) = users::password_hash_by_id(&app.db, &signed.user.id).await? {
        let current = body.current.as_deref().unwrap_or_default();
        if !passwords::verify(current, &stored).await? {
            return Err(ApiError::Forbidden("the current password is wrong".into()));
        }
    }
    passwords::check_new(&body.new).map_err(ApiError::Unprocessable)?;
    let hash = passwords::hash(&body.new).await?;
    let keep = match &signed.via {
        Via::Session(s) => Some(s.id_hash.as_str()),
        _ => None,
    };
    users::set_password_hash(&app.db, &signed.user.id, &hash, keep).await?;
    tracing::info!(user = %signed.user.name, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

async fn list_tokens(State(app): State<App>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let items = users::tokens_of(&app.db, &caller.0.id).await?;
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    label: String,
}

/// `POST /api/tokens`: the secret is in this answer only; the server keeps its hash.
async fn create_token(
    State(app): State<App>,
    caller: Caller,
    body: Result<Json<NewToken>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body?;
    let label = body.label.trim();
    if label.is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
        return Err(ApiError::Unprocessable(
            "label must be 1 to 100 characters without control characters".into(),
        ));
    }
    let (info, token) = users::create_token_info(&app.db, &caller.0, label).await?;
    let mut out = serde_json::to_value(&info).map_err(anyhow::Error::from)?;
    if let Some(map) = out.as_object_mut() {
        map.insert("token".into(), token.into());
    }
    Ok((StatusCode::CREATED, Json(out)))
}

async fn delete_token(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !ids::is_valid_id(&id) || !users::delete_token(&app.db, &caller.0.id, &id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn list_users(State(app): State<App>, _admin: Admin) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = users::list(&app.db)
        .await?
        .iter()
        .map(|(u, has_password)| {
            let mut v = user_json(u);
            if let Some(m) = v.as_object_mut() {
                m.insert("has_password".into(), (*has_password).into());
            }
            v
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    #[serde(default)]
    is_admin: bool,
    password: Option<String>,
}

/// `POST /api/users` (admins): a user, with a password or without (then hand them a login link
/// from `dailies user login-link`).
async fn create_user(
    State(app): State<App>,
    _admin: Admin,
    body: Result<Json<NewUser>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body?;
    if !users::is_valid_user_name(&body.name) {
        return Err(ApiError::Unprocessable(
            "name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
                .into(),
        ));
    }
    if let Some(p) = &body.password {
        passwords::check_new(p).map_err(ApiError::Unprocessable)?;
    }
    if users::by_name(&app.db, &body.name).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "a user named '{}' already exists",
            body.name
        )));
    }
    let user = users::create(&app.db, &body.name, body.is_admin)
        .await
        .map_err(|e| ApiError::Conflict(format!("{e:#}")))?;
    if let Some(p) = &body.password {
        let hash = passwords::hash(p).await?;
        users::set_password_hash(&app.db, &user.id, &hash, None).await?;
    }
    Ok((StatusCode::CREATED, Json(user_json(&user))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    is_admin: Option<bool>,
    password: Option<String>,
}

/// `PATCH /api/users/{id}` (admins): make or unmake an admin, set a password. The last admin
/// cannot be demoted, so the server never ends up without one.
async fn update_user(
    State(app): State<App>,
    _admin: Admin,
    Path(id): Path<String>,
    body: Result<Json<UserPatch>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body?;
    let user = target_user(&app, &id).await?;
    if let Some(p) = &body.password {
        passwords::check_new(p).map_err(ApiError::Unprocessable)?;
    }
    if let Some(admin) = body.is_admin {
        if !admin && user.is_admin && users::admin_count(&app.db).await? <= 1 {
            return Err(ApiError::Conflict(
                "this is the last administrator; make someone else an administrator first".into(),
            ));
        }
        users::set_admin(&app.db, &user.id, admin).await?;
    }
    if let Some(p) = &body.password {
        let hash = passwords::hash(p).await?;
        users::set_password_hash(&app.db, &user.id, &hash, None).await?;
    }
    let updated = target_user(&app, &id).await?;
    Ok(Json(user_json(&updated)))
}

async fn target_user(app: &App, id: &str) -> Result<User, ApiError> {
    if !ids::is_valid_id(id) {
        return Err(ApiError::NotFound);
    }
    users::by_id(&app.db, id).await?.ok_or(ApiError::NotFound)
}

/// `DELETE /api/users/{id}` (admins): not oneself, not someone who still owns videos.
async fn delete_user(
    State(app): State<App>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = target_user(&app, &id).await?;
    if user.id == admin.id {
        return Err(ApiError::Conflict("you cannot delete yourself".into()));
    }
    match users::delete(&app.db, &user.id).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(ApiError::NotFound),
        Err(DeleteUserError::StillOwns) => {
            Err(ApiError::Conflict(DeleteUserError::StillOwns.to_string()))
        }
        Err(DeleteUserError::Db(e)) => Err(e.into()),
    }
}

/// `GET /login/once/{code}`: a one-time login link (first start, `dailies user login-link`).
/// Used, expired or unknown links all answer the same 404 page.
async fn login_once(
    State(app): State<App>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    if !ids::is_valid_link_secret(&code) {
        return Err(ApiError::NotFound);
    }
    let Some(user) = sessions::redeem_login_link(&app.db, &code).await? else {
        return Err(ApiError::NotFound);
    };
    let (cookie, _) = start_session(&app, &user).await?;
    tracing::info!(user = %user.name, "signed in with a login link");
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        header::HeaderValue::from_str(&cookie).map_err(anyhow::Error::from)?,
    );
    Ok(res)
}
