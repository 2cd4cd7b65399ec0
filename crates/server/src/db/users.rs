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
    let token = ids::new_token();
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, label, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ids::new_id())
    .bind(&user.id)
    .bind(label)
    .bind(ids::token_hash(&token))
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(token)
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
