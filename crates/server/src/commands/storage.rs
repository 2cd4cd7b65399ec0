//! `dailies storage migrate`: see [`crate::storage::migrate`].

use anyhow::{Context, Result};

use crate::app::App;
use crate::storage::{Storage, StorageSetting, migrate::migrate as copy_library};

pub async fn migrate(app: &App, to: &str, servers_stopped: bool) -> Result<()> {
    let setting = StorageSetting::parse(to)?;
    let data_dir_media = app.config.data_dir.join("media");
    let from = app.config.storage_setting()?;
    if setting == from {
        anyhow::bail!("the library is already in {to}");
    }
    if app.storage.is_remote() && setting == StorageSetting::DataDir && !servers_stopped {
        // media/ is scratch space for a node on S3: it would clear what is copied there.
        anyhow::bail!(
            "with S3 storage media/ in this data dir is scratch space that a running node \
             clears: stop the nodes using this data dir, then add --servers-stopped"
        );
    }
    let target = Storage::open_setting(&setting, &data_dir_media)
        .await
        .with_context(|| format!("cannot open {to}"))?;
    println!(
        "copying the library from {} to {}; the server may keep running",
        from.describe(&data_dir_media),
        setting.describe(&data_dir_media)
    );
    let done = copy_library(&app.db, &app.storage, &target).await?;
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
