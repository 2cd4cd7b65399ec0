//! `dailies`: one binary for the server, its workers and its admin commands.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use dailies::app::App;
use dailies::cli::{Cli, Command, StorageCommand, SwarmCommand, TokenCommand, UserCommand};
use dailies::commands;
use dailies::config::Config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("DAILIES_LOG")
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // A client command: it needs no data dir or database of its own.
    if let Command::Upload {
        files,
        server,
        token,
        raw_width,
        raw_height,
        raw_fps,
        raw_pix_fmt,
    } = cli.command
    {
        let given = [&raw_width, &raw_height, &raw_fps, &raw_pix_fmt];
        let raw = match given.iter().any(|v| v.is_some()) {
            true => Some(
                dailies_media::RawVideoFormat::parse(
                    raw_width.as_deref(),
                    raw_height.as_deref(),
                    raw_fps.as_deref(),
                    raw_pix_fmt.as_deref(),
                )
                .map_err(|e| anyhow::anyhow!("{e}").context("--raw-* options"))?,
            ),
            false => None,
        };
        return tokio::task::spawn_blocking(move || {
            commands::upload::upload(&files, &server, &token, raw)
        })
        .await?;
    }
    // The swarm simulator needs no data dir either.
    if let Command::Swarm(SwarmCommand::Simulate {
        peers,
        chunks,
        seed,
        preset,
        scenario,
        quiet,
    }) = &cli.command
    {
        let args = commands::swarm::SimulateArgs {
            peers: *peers,
            chunks: *chunks,
            seed: *seed,
            preset,
            scenario: scenario.as_deref(),
            quiet: *quiet,
        };
        return commands::swarm::simulate_command(&args);
    }
    if let Command::Swarm(cmd) = cli.command {
        return commands::swarm::network_command(cmd).await;
    }
    let config = Config::load(&cli.overrides())?;
    match cli.command {
        Command::Upload { .. } | Command::Swarm(_) => unreachable!("handled above"),
        Command::Probe { file } => commands::probe::probe(&config, &file).await,
        Command::Migrate => {
            let app = App::open(config).await?;
            println!("database is up to date ({})", app.db.kind.name());
            Ok(())
        }
        Command::Serve { .. } => commands::serve::serve(App::open(config).await?).await,
        Command::Worker { listen, .. } => {
            commands::serve::worker_only(App::open(config).await?, listen).await
        }
        Command::User(UserCommand::Add {
            name,
            admin,
            password_stdin,
        }) => {
            commands::users::add_user(&App::open(config).await?, &name, admin, password_stdin).await
        }
        Command::User(UserCommand::Passwd { name, .. }) => {
            commands::users::passwd(&App::open(config).await?, &name).await
        }
        Command::User(UserCommand::LoginLink { name }) => {
            commands::users::login_link(&App::open(config).await?, &name).await
        }
        Command::Token(TokenCommand::Create { name, label }) => {
            commands::users::create_token(&App::open(config).await?, &name, &label).await
        }
        Command::Storage(StorageCommand::Migrate {
            to,
            servers_stopped,
        }) => commands::storage::migrate(&App::open(config).await?, &to, servers_stopped).await,
        Command::Import {
            files,
            user,
            no_wait,
        } => commands::import::import(&App::open(config).await?, &files, &user, !no_wait).await,
    }
}
