//! `partner-ledger serve` and `partner-ledger keys`: arguments and printing only; the server
//! lives in `partner_ledger::http`.

use super::{DEFAULT_DB, describe_open_error, open_checked};
use partner_ledger::cluster::{self, Book, Keys, Node, Publisher};
use partner_ledger::http::{Limits, Replica, ReplicaStatus, ServeOptions, Server, keys};
use partner_ledger::{AccessKey, Clock, Ledger, Party, SystemClock};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
    #[command(flatten)]
    cluster: ClusterArgs,
}

/// Where a replicated book lives (SPEC section 9).
#[derive(clap::Args, Clone, Debug)]
pub struct BookArgs {
    /// NATS JetStream servers (2.12 or later), comma-separated, that replicate the book.
    #[arg(long, value_name = "URL[,URL...]", requires = "book")]
    pub cluster: Option<String>,
    /// The book's name (its stream and buckets are named after it).
    #[arg(long, requires = "cluster")]
    pub book: Option<String>,
}

impl BookArgs {
    /// The servers and book, when both are given.
    pub fn book(&self) -> Option<(&str, &str)> {
        self.cluster.as_deref().zip(self.book.as_deref())
    }
}

/// `serve`'s replication arguments.
#[derive(clap::Args, Clone, Debug)]
pub struct ClusterArgs {
    #[command(flatten)]
    book: BookArgs,
    /// This node's name, in its lease and logs.
    #[arg(long, default_value = "node")]
    node: String,
    /// Milliseconds the leader's lease lasts unless renewed.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(300..=600_000))]
    lease_ttl_ms: u64,
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
        /// With --cluster, an operator key's domain: its partner's id (the book's registrations
        /// are not read; without --cluster it comes from the ledger file).
        #[arg(long)]
        domain: Option<String>,
        #[command(flatten)]
        cluster: BookArgs,
    },
    /// List the access keys (never their secrets).
    List {
        /// The ledger file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        #[command(flatten)]
        cluster: BookArgs,
    },
    /// Revoke an access key: it is refused from then on.
    Revoke {
        /// The ledger file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// The access key id.
        access_key: String,
        #[command(flatten)]
        cluster: BookArgs,
    },
}

pub fn serve(args: ServeArgs) -> Result<ExitCode, String> {
    init_logs();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|error| format!("starting the runtime: {error}"))?;
    if let Some((urls, book)) = args.cluster.book.book() {
        let (urls, book) = (urls.to_owned(), book.to_owned());
        return runtime.block_on(serve_replicated(args, urls, book));
    }
    serve_alone(args, &runtime)
}

fn init_logs() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PARTNER_LEDGER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

fn serve_alone(args: ServeArgs, runtime: &tokio::runtime::Runtime) -> Result<ExitCode, String> {
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

/// Serves one node of a replicated book (SPEC section 9).
async fn serve_replicated(args: ServeArgs, urls: String, book_name: String) -> Result<ExitCode, String> {
    let lease_ttl = std::time::Duration::from_millis(args.cluster.lease_ttl_ms);
    let (book, lease) = Book::open(&urls, &book_name, lease_ttl).await.map_err(|error| error.to_string())?;
    let keys = book.keys.access_keys().await.map_err(|error| error.to_string())?;
    let status = Arc::new(ReplicaStatus::default());
    let db = args.db.clone();
    let (runtime, publishing, publisher_status) = (tokio::runtime::Handle::current(), book.clone(), Arc::clone(&status));
    let opener: partner_ledger::http::Opener = Box::new(move || {
        let ledger = Ledger::open(&db)?;
        let publisher = Publisher::new(runtime.clone(), &publishing, Arc::clone(&publisher_status));
        ledger.set_replicator(Box::new(publisher), cluster::COMMIT_BYTES_MAX);
        Ok(ledger)
    });
    let limits =
        Limits { connections: args.max_connections, idle_timeout: std::time::Duration::from_secs(args.idle_timeout), ..Limits::default() };
    let scheme = if args.tls_cert.is_some() { "https" } else { "http" };
    let options = ServeOptions { listen: args.listen, tls: args.tls_cert.clone().zip(args.tls_key.clone()), limits };
    let replica = Replica { status: Arc::clone(&status), keys };
    let server = Server::bind_replicated(opener, options, replica).await.map_err(|error| match error {
        partner_ledger::http::ServeError::Open(open) => describe_open_error(&args.db, &open),
        other => format!("{}: {other}", args.db.display()),
    })?;
    let address = server.local_addr().map_err(|error| error.to_string())?;
    let node = Arc::new(Node { name: args.cluster.node.clone(), address: address.to_string(), lease_ttl });
    let tasks = node.start(&book, lease.clone(), &server.engine(), &status, server.keyring());
    tracing::info!(%address, db = %args.db.display(), book = %book_name, node = %node.name, "serving a replicated book");
    println!("listening on {scheme}://{address}");
    let (releasing, node_name) = (Arc::clone(&status), node.name.clone());
    server
        .run(async move {
            shutdown_signal().await;
            for task in tasks {
                task.abort();
            }
            // Hand the lease over at once rather than letting it lapse.
            if let Err(error) = cluster::release(&lease, &releasing, &node_name).await {
                tracing::warn!(%error, "the lease could not be released; it lapses by itself");
            }
        })
        .await;
    Ok(ExitCode::SUCCESS)
}

/// `keys` with --cluster: the book's key bucket.
fn cluster_keys(command: KeysCommand, urls: &str, book: &str) -> Result<ExitCode, String> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|error| format!("starting the runtime: {error}"))?;
    runtime.block_on(async {
        let keys = Keys::open(urls, book).await.map_err(|error| error.to_string())?;
        let failed = |error: cluster::ClusterError| format!("book {book}: {error}");
        match command {
            KeysCommand::Add { actor, domain, .. } => {
                let actor = Party::parse(&actor).map_err(|error| format!("--actor: {error}"))?;
                let domain = match (&actor, domain) {
                    (Party::Platform, _) => "platform".to_owned(),
                    (Party::Partner(id) | Party::Customer(id), None) => id.as_str().to_owned(),
                    (Party::Operator(_), None) => {
                        return Err("--domain: an operator's key needs its partner's id with --cluster".to_owned());
                    }
                    (_, Some(domain)) => domain,
                };
                let key = keys::make(&actor, domain, SystemClock.now()).map_err(|error| error.to_string())?;
                keys.put_access_key(&key).await.map_err(failed)?;
                print_new_key(&key);
            }
            KeysCommand::List { .. } => print_keys(&keys.access_keys().await.map_err(failed)?),
            KeysCommand::Revoke { access_key, .. } => {
                let mut key = keys
                    .access_keys()
                    .await
                    .map_err(failed)?
                    .into_iter()
                    .find(|key| key.access == access_key)
                    .ok_or_else(|| format!("book {book}: no access key {access_key}"))?;
                if key.revoked.is_none() {
                    key.revoked = Some(SystemClock.now());
                    keys.put_access_key(&key).await.map_err(failed)?;
                }
                println!("revoked {} ({})", key.access, key.actor);
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn print_new_key(key: &AccessKey) {
    println!("access_key: {}", key.access);
    println!("secret_key: {}", key.secret);
    println!("actor: {}", key.actor);
    println!("domain_id: {}", key.domain);
    eprintln!("The secret key is shown only now: keep it safe.");
}

fn print_keys(keys: &[AccessKey]) {
    println!("{:<20}  {:<24}  {:<20}  {:<20}  status", "access_key", "actor", "domain_id", "created");
    for key in keys {
        let status = key.revoked.map_or_else(|| "active".to_owned(), |at| format!("revoked {at}"));
        println!("{:<20}  {:<24}  {:<20}  {:<20}  {status}", key.access, key.actor, key.domain, key.created.to_string());
    }
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
    let cluster = match &command {
        KeysCommand::Add { cluster, .. } | KeysCommand::List { cluster, .. } | KeysCommand::Revoke { cluster, .. } => cluster.clone(),
    };
    if let Some((urls, book)) = cluster.book() {
        return cluster_keys(command, urls, book);
    }
    match command {
        KeysCommand::Add { db, actor, domain, .. } => {
            if domain.is_some() {
                return Err("--domain is only for --cluster: without it the domain comes from the ledger file".to_owned());
            }
            let actor = Party::parse(&actor).map_err(|error| format!("--actor: {error}"))?;
            let ledger = open_checked(&db)?;
            let key = keys::add(&ledger, &actor, SystemClock.now()).map_err(|error| format!("{}: {error}", db.display()))?;
            print_new_key(&key);
        }
        KeysCommand::List { db, .. } => {
            let ledger = open_checked(&db)?;
            print_keys(&ledger.access_keys().map_err(|error| format!("{}: {error}", db.display()))?);
        }
        KeysCommand::Revoke { db, access_key, .. } => {
            let ledger = open_checked(&db)?;
            let key = keys::revoke(&ledger, &access_key, SystemClock.now()).map_err(|error| format!("{}: {error}", db.display()))?;
            println!("revoked {} ({})", key.access, key.actor);
        }
    }
    Ok(ExitCode::SUCCESS)
}
