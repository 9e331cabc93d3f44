//! `partner-ledger serve` and `partner-ledger keys`: arguments and printing only; the server
//! lives in `partner_ledger::http`.

use super::{DEFAULT_DB, describe_open_error, open_checked};
use partner_ledger::http::{Limits, ServeOptions, Server, keys};
use partner_ledger::{Clock, Ledger, Party, SystemClock};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// `serve`'s arguments.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// The ledger file.
    #[arg(long, default_value = DEFAULT_DB)]
    db: PathBuf,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// A PEM certificate chain: serve TLS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Open connections, at most.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// Seconds a connection may stay silent before it is closed.
    #[arg(long, default_value_t = 60)]
    idle_timeout: u64,
}

/// `keys`'s subcommands.
#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Make a new access key for a party or operator; prints the access key and, once, the secret.
    Add {
        /// The ledger file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// Who the key acts as: `partner:P1`, `customer:C1`, `operator:O1` or `platform`.
        #[arg(long)]
        actor: String,
    },
    /// List the access keys (never their secrets).
    List {
        /// The ledger file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
    },
    /// Revoke an access key: it is refused from then on.
    Revoke {
        /// The ledger file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// The access key id.
        access_key: String,
    },
}

pub fn serve(args: ServeArgs) -> Result<ExitCode, String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PARTNER_LEDGER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|error| format!("starting the runtime: {error}"))?;
    let db = args.db.clone();
    let opener: partner_ledger::http::Opener = Box::new(move || Ledger::open(&db));
    let limits =
        Limits { connections: args.max_connections, idle_timeout: std::time::Duration::from_secs(args.idle_timeout), ..Limits::default() };
    let scheme = if args.tls_cert.is_some() { "https" } else { "http" };
    let options = ServeOptions { listen: args.listen, tls: args.tls_cert.clone().zip(args.tls_key.clone()), limits };
    runtime.block_on(async move {
        let server = Server::bind(opener, options).await.map_err(|error| match error {
            partner_ledger::http::ServeError::Open(open) => describe_open_error(&args.db, &open),
            other => format!("{}: {other}", args.db.display()),
        })?;
        let address = server.local_addr().map_err(|error| error.to_string())?;
        tracing::info!(%address, db = %args.db.display(), "serving");
        // The first line on standard output tells a supervisor (or a test) where to connect.
        println!("listening on {scheme}://{address}");
        server.run(shutdown_signal()).await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

pub fn keys(command: KeysCommand) -> Result<ExitCode, String> {
    match command {
        KeysCommand::Add { db, actor } => {
            let actor = Party::parse(&actor).map_err(|error| format!("--actor: {error}"))?;
            let ledger = open_checked(&db)?;
            let key = keys::add(&ledger, &actor, SystemClock.now()).map_err(|error| format!("{}: {error}", db.display()))?;
            println!("access_key: {}", key.access);
            println!("secret_key: {}", key.secret);
            println!("actor: {}", key.actor);
            println!("domain_id: {}", key.domain);
            eprintln!("The secret key is shown only now: keep it safe.");
        }
        KeysCommand::List { db } => {
            let ledger = open_checked(&db)?;
            let keys = ledger.access_keys().map_err(|error| format!("{}: {error}", db.display()))?;
            println!("{:<20}  {:<24}  {:<20}  {:<20}  status", "access_key", "actor", "domain_id", "created");
            for key in keys {
                let status = key.revoked.map_or_else(|| "active".to_owned(), |at| format!("revoked {at}"));
                println!("{:<20}  {:<24}  {:<20}  {:<20}  {status}", key.access, key.actor, key.domain, key.created.to_string());
            }
        }
        KeysCommand::Revoke { db, access_key } => {
            let ledger = open_checked(&db)?;
            let key = keys::revoke(&ledger, &access_key, SystemClock.now()).map_err(|error| format!("{}: {error}", db.display()))?;
            println!("revoked {} ({})", key.access, key.actor);
        }
    }
    Ok(ExitCode::SUCCESS)
}
