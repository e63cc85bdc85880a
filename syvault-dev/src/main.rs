//! `syvault-dev serve`: run the SyVault reference server locally.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use syvault_dev::wire::Access;
use syvault_dev::{DevServer, Result, demo};

/// The SyVault Secrets Manager reference server, for tests and local development.
#[derive(Debug, Parser)]
#[command(name = "syvault-dev", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API under /api/sm/v1 until interrupted (Ctrl-C).
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8200")]
    addr: SocketAddr,
    /// Persist the state, admin keys included, in this JSON file (mode 0600) and load it at
    /// start. Without it the state lives in memory only.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Seed demo data (folder "Production" with secrets "Database" and "Stripe API Key", and
    /// with --postgres-admin-url the dynamic target "Database (dynamic)"), bootstrap a demo
    /// client, write its credentials to --credentials, and print their UIDs and a one-time
    /// token for a second client.
    #[arg(long)]
    demo: bool,
    /// Where --demo writes the demo client's credentials: a JSON object with the server URL,
    /// the client id and the client secret (mode 0600).
    #[arg(long, value_name = "FILE", default_value = "syvault-credentials.json")]
    credentials: PathBuf,
    /// Serve HTTPS with a development CA generated into (or reused from) this directory;
    /// clients trust DIR/ca.pem. Plain HTTP without it.
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<PathBuf>,
    /// With --tls-dir: accept only clients presenting a certificate signed by a client CA
    /// generated into (or reused from) DIR/client-ca.pem; clients use DIR/client.pem and
    /// DIR/client-key.pem.
    #[arg(long, requires = "tls_dir")]
    require_client_cert: bool,
    /// Milliseconds a rotation waits before each of its steps (pending, running, done).
    #[arg(long, value_name = "MS", default_value_t = 250)]
    rotation_delay_ms: u64,
    /// Seconds a new one-time token stays valid.
    #[arg(long, value_name = "SECS", default_value_t = 86_400)]
    token_lifetime_secs: u64,
    /// Milliseconds a client may take to send a request body; a slower one gets 408 and its
    /// connection is closed.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    body_timeout_ms: u64,
    /// Connections served at once; further ones wait until one closes.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Milliseconds a write of an answer may stay blocked because the client does not read;
    /// the connection is then closed.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    write_timeout_ms: u64,
    /// Requests served on one connection, pipelined or not; the last answer closes it.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    max_requests_per_connection: u32,
    /// Seconds the change log behind incremental listings keeps a change; a client's sync
    /// token older than the oldest change kept is answered 410 and the client lists in full.
    #[arg(long, value_name = "SECS", default_value_t = 86_400)]
    sync_retention_secs: u64,
    /// Changes the change log keeps at most; the oldest go first.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    sync_log_capacity: u32,
    /// Act as a server that does not know incremental listings: ignore `since`, answer every
    /// listing in full and send no sync token (for testing clients against such servers).
    #[arg(long)]
    no_incremental_listings: bool,
    /// Bind dynamic secrets (leases) and rotation to a real PostgreSQL server, reached with this
    /// admin connection URL (postgresql://user:password@host:port/database). It is never
    /// logged. The environment variable `SYVAULT_POSTGRES_ADMIN_URL`, used when the option is absent,
    /// keeps it out of the process list.
    #[arg(long, value_name = "URL")]
    postgres_admin_url: Option<String>,
    /// Milliseconds one call to the PostgreSQL server may take (connecting and all the
    /// statements of a lease creation, renewal, revocation or rotation); also the admin
    /// sessions' statement and lock timeout. A call that runs out is answered 502.
    #[arg(long, value_name = "MS", default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..))]
    postgres_timeout_ms: u64,
    /// Active leases one client may hold at once; one more is answered 409.
    #[arg(long, value_name = "N", default_value_t = 20)]
    max_leases_per_client: u32,
    /// Seconds between two sweeps that drop the leased roles (`vf_tmp_…`) on the PostgreSQL
    /// server that no lease holds (one also runs at start-up).
    #[arg(long, value_name = "SECS", default_value_t = 300,
        value_parser = clap::value_parser!(u64).range(1..))]
    orphan_sweep_interval_secs: u64,
    /// Let browser pages of this origin (exactly `scheme://host[:port]`) call the API: answer
    /// their CORS preflights and expose answers to them. Repeat for more origins. Off by
    /// default; never `*`, never with credentials (cookies).
    #[arg(long, value_name = "ORIGIN")]
    cors_origin: Vec<String>,
    /// With --demo: how many one-time tokens to print, each for a client of its own with read
    /// access to Production.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "demo",
        value_parser = clap::value_parser!(u32).range(1..=100))]
    demo_tokens: u32,
}

fn main() -> ExitCode {
    let level = std::env::var("SYVAULT_LOG")
        .ok()
        .and_then(|level| level.parse().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve(args) = Cli::parse().command;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("syvault-dev: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("syvault-dev: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    let mut builder = DevServer::builder();
    for origin in &args.cors_origin {
        builder = builder.cors_origin(origin);
    }
    let server = builder
        .addr(args.addr)
        .data_file(args.data)
        .tls_dir(args.tls_dir.clone())
        .require_client_certificates(args.require_client_cert)
        .rotation_delay(Duration::from_millis(args.rotation_delay_ms))
        .token_lifetime(Duration::from_secs(args.token_lifetime_secs))
        .body_timeout(Duration::from_millis(args.body_timeout_ms))
        .max_connections(usize::try_from(args.max_connections).unwrap_or(usize::MAX))
        .write_timeout(Duration::from_millis(args.write_timeout_ms))
        .max_requests_per_connection(
            usize::try_from(args.max_requests_per_connection).unwrap_or(usize::MAX),
        )
        .incremental_listings(!args.no_incremental_listings)
        .sync_retention(Duration::from_secs(args.sync_retention_secs))
        .sync_log_capacity(usize::try_from(args.sync_log_capacity).unwrap_or(usize::MAX))
        .postgres_admin_url(
            args.postgres_admin_url
                .or_else(|| std::env::var("SYVAULT_POSTGRES_ADMIN_URL").ok()),
        )
        .postgres_timeout(Duration::from_millis(args.postgres_timeout_ms))
        .max_leases_per_client(usize::try_from(args.max_leases_per_client).unwrap_or(usize::MAX))
        .orphan_sweep_interval(Duration::from_secs(args.orphan_sweep_interval_secs))
        .start()
        .await?;
    println!("SyVault dev server listening on {}", server.url());
    if let Some(dir) = &args.tls_dir {
        println!("Clients must trust {}", dir.join("ca.pem").display());
        if args.require_client_cert {
            println!(
                "Clients must present {} with key {}",
                dir.join("client.pem").display(),
                dir.join("client-key.pem").display()
            );
        }
    }
    if args.demo
        && let Err(err) = demo(&server, &args.credentials, args.demo_tokens).await
    {
        server.shutdown().await;
        return Err(err);
    }
    stop_signal().await;
    println!("Stopping");
    server.shutdown().await;
    Ok(())
}

/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM. A handler that cannot be installed counts
/// as a signal, so the server still stops cleanly instead of running unstoppable.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn demo(server: &DevServer, credentials: &std::path::Path, tokens: u32) -> Result<()> {
    let seed = server.seed_demo().await?;
    demo::write_credentials(&seed.credentials, credentials)?;
    println!(
        "Demo client {} bootstrapped; credentials written to {}",
        seed.credentials.client_id,
        credentials.display()
    );
    let admin = server.admin();
    for _ in 0..tokens {
        let second = admin.create_client(seed.application_id, "second demo client")?;
        admin.grant(second.client_id, seed.folder_id, Access::Read)?;
        // Printing the token is the point of --demo: it is for the person at the terminal.
        println!(
            "One-time token for a second client (read access to Production): {}",
            second.token.expose()
        );
    }
    // What a reader needs to try their own code against this server; none of it is secret.
    println!("Folder Production: {}", seed.folder_id);
    println!("Secret Production/Database: {}", seed.database_uid);
    println!("Secret Production/Stripe API Key: {}", seed.stripe_uid);
    if let Some(uid) = seed.dynamic_uid {
        println!(
            "Dynamic target Production/Database (dynamic): {uid} (lease with `sy lease create {uid} --ttl 1h`)"
        );
    }
    let file = std::path::absolute(credentials).unwrap_or_else(|_| credentials.to_path_buf());
    println!("export SY_CREDENTIALS_FILE={}", file.display());
    Ok(())
}
