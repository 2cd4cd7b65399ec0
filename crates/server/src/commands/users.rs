//! `dailies user add | passwd | login-link` and `dailies token create`.

use std::io::BufRead;

use anyhow::{Context, Result, bail};

use crate::api::accounts::LOGIN_LINK_LIFETIME_MS;
use crate::app::App;
use crate::db::{sessions, users};
use crate::passwords;

/// The first line of standard input, without its line ending.
fn password_from_stdin() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if let Err(why) = passwords::check_new(&password) {
        bail!("{why}");
    }
    Ok(password)
}

pub async fn add_user(app: &App, name: &str, admin: bool, password_stdin: bool) -> Result<()> {
    // Read first: a refused password leaves no half-made user behind.
    let password = password_stdin.then(password_from_stdin).transpose()?;
    let user = users::create(&app.db, name, admin).await?;
    if let Some(p) = password {
        let hash = passwords::hash(&p).await?;
        users::set_password_hash(&app.db, &user.id, &hash, None).await?;
    }
    println!(
        "created {} '{}' ({})",
        if admin { "administrator" } else { "user" },
        user.name,
        user.id
    );
    Ok(())
}

async fn existing(app: &App, name: &str) -> Result<users::User> {
    users::by_name(&app.db, name).await?.with_context(|| {
        format!("no user named '{name}' (create one with `dailies user add {name}`)")
    })
}

/// Sets the password and ends the user's sessions.
pub async fn passwd(app: &App, name: &str) -> Result<()> {
    let user = existing(app, name).await?;
    let password = password_from_stdin()?;
    let hash = passwords::hash(&password).await?;
    users::set_password_hash(&app.db, &user.id, &hash, None).await?;
    println!("password of '{}' changed", user.name);
    Ok(())
}

/// Prints the link as the last line of stdout.
pub async fn login_link(app: &App, name: &str) -> Result<()> {
    let user = existing(app, name).await?;
    let code = sessions::create_login_link(&app.db, &user, LOGIN_LINK_LIFETIME_MS).await?;
    println!(
        "One-time login link for '{}' (valid 24 hours, works once):",
        user.name
    );
    println!("{}/login/once/{code}", app.config.public_base());
    Ok(())
}

/// Prints the new token as the last line of stdout, so scripts can take `tail -n1`.
pub async fn create_token(app: &App, name: &str, label: &str) -> Result<()> {
    let user = existing(app, name).await?;
    let token = users::create_token(&app.db, &user, label).await?;
    println!(
        "API token for '{}' (store it now; it is not shown again):",
        user.name
    );
    println!("{token}");
    Ok(())
}
