//! `dailies storage migrate`: see [`crate::storage::migrate`].

use anyhow::{Context, Result};

use crate::app::App;
use crate::storage::{Storage, StorageSetting, migrate::migrate as copy_library};

pub async fn migrate(app: &App, to: &str) -> Result<()> {
    let setting = StorageSetting::parse(to)?;
    let data_dir_media = app.config.data_dir.join("media");
    let from = app.config.storage_setting()?;
    if setting == from {
        anyhow::bail!("the library is already in {to}");
    }
    let target = Storage::open_setting(&setting, &data_dir_media)
        .await
        .with_context(|| format!("cannot open {to}"))?;
    println!(
        "copying the library from {} to {}; the server may keep running",
        from.describe(&data_dir_media),
        setting.describe(&data_dir_media)
    );
    let done = copy_library(&app.storage, &target).await?;
    println!(
        "copied {} files ({} bytes); {} were already there",
        done.copied, done.bytes, done.skipped
    );
    println!(
        "next: set storage = \"{to}\" (or --storage {to}) on every node and restart them, \
         then run this once more to copy what arrived meanwhile"
    );
    Ok(())
}
