//! Browser sessions and one-time login links. Both are kept in the database, not in a
//! process's memory, so every API node behind a load balancer accepts the same cookie, and both
//! are stored only as hashes of their secrets.

use anyhow::Result;
use sqlx::Row;

use super::users::User;
use super::{Db, now_ms};
use crate::ids;

/// A signed-in browser: the user and the CSRF token its state-changing requests must echo.
#[derive(Clone, Debug)]
pub struct Session {
    pub id_hash: String,
    pub user: User,
    pub csrf_token: String,
}

/// Starts a session; returns the cookie's secret (never stored) and the session.
pub async fn create(db: &Db, user: &User, lifetime_ms: i64) -> Result<(String, Session)> {
    let secret = ids::new_token();
    let session = Session {
        id_hash: ids::token_hash(&secret),
        user: user.clone(),
        csrf_token: ids::new_link_secret(),
    };
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&session.id_hash)
    .bind(&user.id)
    .bind(&session.csrf_token)
    .bind(now)
    .bind(now + lifetime_ms)
    .execute(&db.pool)
    .await?;
    Ok((secret, session))
}

/// The live session a cookie's secret names, if any.
pub async fn by_secret(db: &Db, secret: &str) -> Result<Option<Session>> {
    let hash = ids::token_hash(secret);
    let row = sqlx::query(
        "SELECT u.id, u.name, u.is_admin, s.csrf_token FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2",
    )
    .bind(&hash)
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Session {
        id_hash: hash,
        user: User {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        },
        csrf_token: row.try_get("csrf_token")?,
    }))
}

pub async fn delete(db: &Db, id_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Removes expired sessions and login links (run by maintenance).
pub async fn sweep(db: &Db) -> Result<u64> {
    let now = now_ms();
    let a = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&db.pool)
        .await?
        .rows_affected();
    let b = sqlx::query("DELETE FROM login_links WHERE expires_at <= $1")
        .bind(now)
        .execute(&db.pool)
        .await?
        .rows_affected();
    Ok(a + b)
}

/// Makes a one-time login link's code for a user; only its hash is stored.
pub async fn create_login_link(db: &Db, user: &User, lifetime_ms: i64) -> Result<String> {
    let code = ids::new_link_secret();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO login_links (code_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(ids::token_hash(&code))
    .bind(&user.id)
    .bind(now)
    .bind(now + lifetime_ms)
    .execute(&db.pool)
    .await?;
    Ok(code)
}

/// Uses up a login link: the user it was for, if the code is live and unused. Marking it used
/// is one conditional update, so two clicks racing cannot both sign in.
pub async fn redeem_login_link(db: &Db, code: &str) -> Result<Option<User>> {
    let hash = ids::token_hash(code);
    let now = now_ms();
    let res = sqlx::query(
        "UPDATE login_links SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(&hash)
    .execute(&db.pool)
    .await?;
    if res.rows_affected() != 1 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT u.id, u.name, u.is_admin FROM login_links l JOIN users u ON u.id = l.user_id \
         WHERE l.code_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(User {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            is_admin: r.try_get::<i64, _>("is_admin")? != 0,
        })
    })
    .transpose()
}
