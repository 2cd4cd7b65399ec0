//! `dailies user add` and `dailies token create`.

use anyhow::{Context, Result};

use crate::app::App;
use crate::db::users;

pub async fn add_user(app: &App, name: &str, admin: bool) -> Result<()> {
    let user = users::create(&app.db, name, admin).await?;
    println!(
        "created {} '{}' ({})",
        if admin { "administrator" } else { "user" },
        user.name,
        user.id
    );
    Ok(())
}

/// Prints the new token as the last line of stdout, so scripts can take `tail -n1`.
pub async fn create_token(app: &App, name: &str, label: &str) -> Result<()> {
    let user = users::by_name(&app.db, name).await?.with_context(|| {
        format!("no user named '{name}' (create one with `dailies user add {name}`)")
    })?;
    let token = users::create_token(&app.db, &user, label).await?;
    println!(
        "API token for '{}' (store it now; it is not shown again):",
        user.name
    );
    println!("{token}");
    Ok(())
}
