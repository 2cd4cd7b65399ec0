//! Users and their API tokens.

use anyhow::{Result, bail};
use sqlx::Row;

use super::{Db, now_ms};
use crate::ids;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub is_admin: bool,
}

/// User names become folder names under `incoming/`, so they are kept to a safe alphabet.
pub fn is_valid_user_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
    })
}

pub async fn by_name(db: &Db, name: &str) -> Result<Option<User>> {
    let row = sqlx::query("SELECT id, name, is_admin FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<User>> {
    let row = sqlx::query("SELECT id, name, is_admin FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn admin_count(db: &Db) -> Result<i64> {
    Ok(
        sqlx::query("SELECT COUNT(*) AS n FROM users WHERE is_admin = 1")
            .fetch_one(&db.pool)
            .await?
            .try_get("n")?,
    )
}

pub async fn make_admin(db: &Db, mut user: User) -> Result<User> {
    sqlx::query("UPDATE users SET is_admin = 1 WHERE id = $1")
        .bind(&user.id)
        .execute(&db.pool)
        .await?;
    user.is_admin = true;
    Ok(user)
}

/// Creates a user; fails if the name is taken or not allowed.
pub async fn create(db: &Db, name: &str, is_admin: bool) -> Result<User> {
    if !is_valid_user_name(name) {
        bail!(
            "'{name}' is not a valid user name: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        );
    }
    let user = User {
        id: ids::new_id(),
        name: name.to_owned(),
        is_admin,
    };
    let res =
        sqlx::query("INSERT INTO users (id, name, is_admin, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&user.id)
            .bind(&user.name)
            .bind(i64::from(is_admin))
            .bind(now_ms())
            .execute(&db.pool)
            .await;
    match res {
        Ok(_) => Ok(user),
        Err(e) if super::is_unique_violation(&e) => bail!("a user named '{name}' already exists"),
        Err(e) => Err(e.into()),
    }
}

/// Finds a user by name or creates an ordinary one: drop-folder owners appear on first use.
pub async fn get_or_create(db: &Db, name: &str) -> Result<User> {
    if let Some(user) = by_name(db, name).await? {
        return Ok(user);
    }
    match create(db, name, false).await {
        Ok(user) => Ok(user),
        // Someone else created it between our lookup and insert.
        Err(_) => by_name(db, name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("cannot create user '{name}'")),
    }
}

/// Makes a new API token for a user and returns the secret; only its hash is stored.
pub async fn create_token(db: &Db, user: &User, label: &str) -> Result<String> {
    Ok(create_token_info(db, user, label).await?.1)
}

/// `last_used_at` is refreshed at most this often, so requests do not each write.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// The user a bearer token belongs to, if it is a live token.
pub async fn by_token(db: &Db, token: &str) -> Result<Option<User>> {
    let hash = ids::token_hash(token);
    let row = sqlx::query(
        "SELECT u.id, u.name, u.is_admin, t.last_used_at FROM api_tokens t \
         JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let last_used: Option<i64> = row.try_get("last_used_at")?;
    let now = now_ms();
    if last_used.is_none_or(|t| now - t > LAST_USED_RESOLUTION_MS) {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(&hash)
            .execute(&db.pool)
            .await?;
    }
    Ok(Some(user_from_row(&row)?))
}

/// Every user, by name, with whether they can sign in with a password.
pub async fn list(db: &Db) -> Result<Vec<(User, bool)>> {
    let rows = sqlx::query(
        "SELECT id, name, is_admin, password_hash IS NOT NULL AS has_password FROM users ORDER BY name",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| Ok((user_from_row(r)?, flag(r, "has_password")?)))
        .collect()
}

/// Booleans from expressions come back as integers on SQLite and as booleans on PostgreSQL.
fn flag(row: &sqlx::any::AnyRow, col: &str) -> Result<bool> {
    if let Ok(b) = row.try_get::<bool, _>(col) {
        return Ok(b);
    }
    Ok(row.try_get::<i64, _>(col)? != 0)
}

pub async fn set_admin(db: &Db, id: &str, is_admin: bool) -> Result<()> {
    sqlx::query("UPDATE users SET is_admin = $1 WHERE id = $2")
        .bind(i64::from(is_admin))
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Stores a new password hash (an argon2 PHC string) and ends the user's other sessions, so a
/// changed password locks out whoever knew the old one.
pub async fn set_password_hash(
    db: &Db,
    id: &str,
    hash: &str,
    keep_session: Option<&str>,
) -> Result<()> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(id)
        .bind(keep_session.unwrap_or(""))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The user and their password hash, for a login attempt.
pub async fn password_hash_by_name(db: &Db, name: &str) -> Result<Option<(User, Option<String>)>> {
    let row = sqlx::query("SELECT id, name, is_admin, password_hash FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| Ok((user_from_row(&r)?, r.try_get("password_hash")?)))
        .transpose()
}

pub async fn password_hash_by_id(db: &Db, id: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        Some(r) => r.try_get("password_hash")?,
        None => None,
    })
}

/// Why a user could not be deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteUserError {
    #[error("the user still owns videos, uploads, encodes or thumbnails; delete those first")]
    StillOwns,
    #[error(transparent)]
    Db(#[from] anyhow::Error),
}

/// Deletes a user with their tokens, sessions and login links. Their comments stay under the
/// name they were written with; what they own (videos and their requests) must go first, since
/// nobody else should silently inherit it.
pub async fn delete(db: &Db, id: &str) -> Result<bool, DeleteUserError> {
    let run = async {
        let mut tx = db.pool.begin().await?;
        sqlx::query("UPDATE comments SET author_id = NULL WHERE author_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let res = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(res.rows_affected() == 1)
    };
    match run.await {
        Ok(done) => Ok(done),
        Err(e) if super::is_foreign_key_violation(&e) => Err(DeleteUserError::StillOwns),
        Err(e) => Err(DeleteUserError::Db(e.into())),
    }
}

/// The user a trusted reverse proxy vouches for, created on first sight and kept in step with
/// what the proxy says (name and admin flag) afterwards.
pub async fn upsert_external(
    db: &Db,
    external_id: &str,
    name: &str,
    is_admin: bool,
) -> Result<User> {
    if !is_valid_user_name(name) {
        bail!("the proxy sent an invalid user name '{name}'");
    }
    let row = sqlx::query("SELECT id, name, is_admin FROM users WHERE external_id = $1")
        .bind(external_id)
        .fetch_optional(&db.pool)
        .await?;
    if let Some(row) = row {
        let user = user_from_row(&row)?;
        if user.name != name || user.is_admin != is_admin {
            sqlx::query("UPDATE users SET name = $1, is_admin = $2 WHERE id = $3")
                .bind(name)
                .bind(i64::from(is_admin))
                .bind(&user.id)
                .execute(&db.pool)
                .await?;
        }
        return Ok(User {
            id: user.id,
            name: name.to_owned(),
            is_admin,
        });
    }
    // A local account of that name not yet tied to the proxy (the first-start admin, users
    // made before the proxy was set up) becomes that person's: the trusted proxy is the
    // authority on names.
    let adopted = sqlx::query(
        "UPDATE users SET external_id = $1, is_admin = $2 WHERE name = $3 AND external_id IS NULL",
    )
    .bind(external_id)
    .bind(i64::from(is_admin))
    .bind(name)
    .execute(&db.pool)
    .await?;
    if adopted.rows_affected() == 1 {
        return by_name(db, name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("user '{name}' vanished"));
    }
    let user = User {
        id: ids::new_id(),
        name: name.to_owned(),
        is_admin,
    };
    let res = sqlx::query(
        "INSERT INTO users (id, name, is_admin, created_at, external_id) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&user.id)
    .bind(&user.name)
    .bind(i64::from(is_admin))
    .bind(now_ms())
    .bind(external_id)
    .execute(&db.pool)
    .await;
    match res {
        Ok(_) => Ok(user),
        Err(e) if super::is_unique_violation(&e) => {
            // Another request created it at the same time, or a local account has that name.
            let row = sqlx::query("SELECT id, name, is_admin FROM users WHERE external_id = $1")
                .bind(external_id)
                .fetch_optional(&db.pool)
                .await?;
            match row {
                Some(r) => user_from_row(&r),
                None => bail!("another proxy user is already named '{name}'"),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// An API token as its owner sees it later: never the secret.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub async fn tokens_of(db: &Db, user_id: &str) -> Result<Vec<TokenInfo>> {
    let rows = sqlx::query(
        "SELECT id, label, created_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TokenInfo {
                id: r.try_get("id")?,
                label: r.try_get("label")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
            })
        })
        .collect()
}

/// Creates a token and returns its row with the secret (shown once).
pub async fn create_token_info(db: &Db, user: &User, label: &str) -> Result<(TokenInfo, String)> {
    let token = ids::new_token();
    let info = TokenInfo {
        id: ids::new_id(),
        label: label.to_owned(),
        created_at: now_ms(),
        last_used_at: None,
    };
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, label, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&info.id)
    .bind(&user.id)
    .bind(label)
    .bind(ids::token_hash(&token))
    .bind(info.created_at)
    .execute(&db.pool)
    .await?;
    Ok((info, token))
}

/// Revokes one of the user's tokens; false when they have no such token.
pub async fn delete_token(db: &Db, user_id: &str, token_id: &str) -> Result<bool> {
    let res = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(token_id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(res.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::is_valid_user_name;

    #[test]
    fn user_names() {
        for ok in ["alice", "Bob", "a", "john.doe", "x_1-2"] {
            assert!(is_valid_user_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "-x",
            ".hidden",
            "é",
            "a b",
            &"a".repeat(65),
        ] {
            assert!(!is_valid_user_name(bad), "{bad}");
        }
    }
}
