//! The command line only: argument parsing and printing. No ledger logic lives here.

mod bench;
mod chart;
mod demo;
mod export;
mod serve;
mod tables;

use clap::{Parser, Subcommand};
use partner_ledger::{ErrorCode, Ledger, OpenError, Request, Response, StoreError, hex};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;

const DEFAULT_DB: &str = "partner-ledger.redb";

#[derive(Parser)]
#[command(name = "partner-ledger", version, about = "An embedded double-entry ledger for a cloud partner sales platform")]
struct Cli {
    #[command(subcommand)]
    command: CliCommand,
}

#[derive(Subcommand)]
enum CliCommand {
    /// Apply JSON-lines commands from FILE (or standard input); one JSON result line per input line.
    Apply {
        /// The ledger file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// Commands sharing one durable commit, at most.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch: u32,
        /// Input file (standard input when absent).
        file: Option<PathBuf>,
    },
    /// Replay the journal and check the hash chain, every bound and every stored balance.
    Verify {
        /// The ledger file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// A head printed earlier by `head` (SEQ:HASH): fail unless the journal still holds
        /// transaction SEQ with that chain hash, i.e. the history up to it was neither rewritten
        /// nor truncated (transactions appended since are fine).
        #[arg(long, value_name = "SEQ:HASH", value_parser = parse_expected_head)]
        expect_head: Option<ExpectedHead>,
        /// Also check the journal against the book's stream, record by record (a replica's file:
        /// stop its node first).
        #[command(flatten)]
        cluster: serve::BookArgs,
    },
    /// Print the last seq and its chain hash: a digest to keep elsewhere.
    Head {
        /// The ledger file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
    },
    /// Run one realistic month of a partner platform into a fresh ledger file and print its books.
    ///
    /// Distributors with resellers and solution providers, their operators and customer
    /// managers, their customers (allocated funds apart from their own cash), coupons, orders
    /// (some paid by the partner on request, some requests rejected), usage, refunds,
    /// association changes, pickup vouchers, business discounts, withdrawals and invoices (by amount,
    /// billing cycle or bills), plus commands and queries that fail as they
    /// should. The same seed gives the same journal. Exits non-zero if any answer is not the
    /// expected one, the balances differ from the demo's own bookkeeping, or `verify` fails.
    Demo {
        /// The ledger file (replaced if it exists).
        #[arg(long, default_value = "partner-ledger-demo.redb")]
        db: PathBuf,
        /// Customers to create.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        customers: u32,
        /// Seed of the scenario's pseudo-random choices.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    #[command(flatten)]
    Query(tables::QueryCommand),
    /// Write the journal as an hledger journal, a Beancount file or CSV (docs/cli.md).
    Export(export::ExportArgs),
    /// Draw the daily consumption of a partner's customers in one cycle as an SVG chart.
    Chart(chart::ChartArgs),
    /// Measure allocation throughput and latency beside bare redb and SQLite baselines on this machine.
    Bench(bench::Options),
    /// Helpers of `bench`: the lean SQLite service as its own process, and the measuring parent
    /// of each whole-process run (not ledger commands).
    #[command(subcommand, hide = true, name = "bench-child")]
    BenchChild(bench::ChildCommand),
    /// Serve the ledger over HTTP: the JSON-lines door and the Huawei BSS partner API (docs/http.md).
    Serve(serve::ServeArgs),
    /// Manage the access keys that sign HTTP requests (kept in the ledger file, apart from the journal).
    #[command(subcommand)]
    Keys(serve::KeysCommand),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        CliCommand::Apply { db, batch, file } => guarded(&db, || apply(&db, batch as usize, file)),
        CliCommand::Verify { db, expect_head, cluster } => guarded(&db, || verify(&db, expect_head.as_ref(), &cluster)),
        CliCommand::Head { db } => guarded(&db, || head(&db)),
        CliCommand::Demo { db, customers, seed } => demo::run(&db, customers, seed),
        CliCommand::Query(command) => tables::run(&command),
        CliCommand::Export(args) => export::run(&args),
        CliCommand::Chart(args) => chart::run(&args),
        CliCommand::Bench(options) => bench::run(options),
        CliCommand::BenchChild(command) => bench::child_main(command),
        CliCommand::Serve(args) => serve::serve(args),
        CliCommand::Keys(command) => serve::keys(command),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("partner-ledger: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Opens (or creates) `db` after redb has checked the checksum of every page, so a file damaged
/// behind redb's back is refused as corrupted instead of being trusted: a plain open may answer
/// from a damaged page, or panic on one. The check reads the whole file once (some 20 ms for an
/// 8 MB ledger of 10,000 transactions); `verify` reads it all anyway.
fn open_checked(db: &PathBuf) -> Result<Ledger, String> {
    if !db.exists() {
        // A new file is made by the store, readable by its owner only (it will hold key secrets).
        drop(partner_ledger::Store::open(db).map_err(|error| describe_open_error(db, &OpenError(error)))?);
    }
    let database =
        partner_ledger::Store::builder(true).create(db).map_err(|error| describe_open_error(db, &OpenError(StoreError::from(error))))?;
    let store = partner_ledger::Store::from_database(database).map_err(|error| describe_open_error(db, &OpenError(error)))?;
    Ledger::from_store(store, Box::new(partner_ledger::SystemClock)).map_err(|error| describe_open_error(db, &error))
}

/// One line saying why `db` did not open, with the two common causes named plainly.
fn describe_open_error(db: &Path, error: &OpenError) -> String {
    let OpenError(cause) = error;
    let what = match cause {
        StoreError::Redb(redb::Error::DatabaseAlreadyOpen | redb::Error::LockProtocolMismatch) => {
            "the ledger is in use by another process (close it first)"
        }
        StoreError::Redb(redb::Error::Corrupted(_)) | StoreError::Corrupt(_) | StoreError::Format(_) => {
            "the ledger file is damaged or not a ledger"
        }
        StoreError::Redb(redb::Error::Io(io)) if io.kind() != std::io::ErrorKind::PermissionDenied => {
            "the ledger file is damaged, not a ledger, or unreadable"
        }
        _ => "cannot open the ledger",
    };
    one_line(&format!("{}: {what}: {cause}", db.display()))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

thread_local! {
    static PANIC_MESSAGE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs a command on the ledger file `db`, turning a panic into a one-line error naming the file.
/// redb may panic on a damaged page instead of returning an error (the integrity check at open
/// makes that rare); the user gets the file's name and the reason, not a backtrace.
fn guarded(db: &Path, command: impl FnOnce() -> Result<ExitCode, String>) -> Result<ExitCode, String> {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|location| format!(" at {}:{}", location.file(), location.line())).unwrap_or_default();
        let payload = info.payload();
        let message = payload.downcast_ref::<&str>().map(|text| (*text).to_owned()).or_else(|| payload.downcast_ref::<String>().cloned());
        let message = format!("{}{location}", message.unwrap_or_else(|| "unknown panic".to_owned()));
        PANIC_MESSAGE.with(|slot| *slot.borrow_mut() = Some(message.clone()));
        if std::thread::current().name() != Some("main") {
            eprintln!("partner-ledger: internal error: {}", one_line(&message));
        }
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(command));
    let _ = std::panic::take_hook();
    result.unwrap_or_else(|_| {
        let message = PANIC_MESSAGE.with(|slot| slot.borrow_mut().take()).unwrap_or_default();
        Err(one_line(&format!("{}: internal error while using the ledger file (it may be damaged; run verify): {message}", db.display())))
    })
}

/// `--expect-head SEQ:HASH`.
#[derive(Clone, Debug)]
struct ExpectedHead {
    seq: u64,
    hash: [u8; 32],
}

fn parse_expected_head(text: &str) -> Result<ExpectedHead, String> {
    let usage = || format!("{text:?} is not SEQ:HASH (a seq, a colon, 64 hex digits), as printed by `partner-ledger head`");
    let (seq, digits) = text.split_once(':').ok_or_else(usage)?;
    let seq = seq.parse::<u64>().map_err(|_| usage())?;
    if digits.len() != 64 || !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(usage());
    }
    let mut hash = [0u8; 32];
    for (index, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&digits[index * 2..index * 2 + 2], 16).map_err(|_| usage())?;
    }
    Ok(ExpectedHead { seq, hash })
}

/// The chain hash of transaction `seq` of a verified journal: the next transaction's previous
/// hash, or the head's (`None`: the journal ends before `seq`).
fn hash_at(ledger: &Ledger, seq: u64) -> Result<Option<[u8; 32]>, StoreError> {
    let head = ledger.head();
    if seq > head.seq {
        return Ok(None);
    }
    if seq == head.seq {
        return Ok(Some(head.hash));
    }
    let mut found = None;
    ledger.for_each_transaction(|transaction| -> Result<(), StoreError> {
        if transaction.seq == seq + 1 {
            found = Some(transaction.prev_hash);
        }
        Ok(())
    })?;
    Ok(found)
}

/// Whether the verified journal still holds `expected`; a message naming the mismatch if not.
fn check_expected_head(ledger: &Ledger, expected: &ExpectedHead) -> Result<String, String> {
    let wanted = format!("{}:{}", expected.seq, hex(&expected.hash));
    let head = ledger.head();
    match hash_at(ledger, expected.seq).map_err(|error| format!("reading the journal: {error}"))? {
        None => Err(format!("expected head {wanted}, but the journal ends at seq {}: history was truncated", head.seq)),
        Some(hash) if hash != expected.hash => {
            Err(format!("expected head {wanted}, but seq {} has hash {}: history was rewritten", expected.seq, hex(&hash)))
        }
        Some(_) if head.seq == expected.seq => Ok(format!("expected head {wanted} is the head")),
        Some(_) => Ok(format!("expected head {wanted} found, {} transactions appended since", head.seq - expected.seq)),
    }
}

/// A line as `apply`'s reader thread hands it over: decoded, or already answered (a line that
/// is not UTF-8, not a request, or could not be read never reaches the ledger).
enum Line {
    Request(Request),
    Answered(Response),
}

/// Three threads share the work: one reads and decodes the lines, this one runs them in
/// batches, one writes each batch's result lines once it is durable (while the next batch runs).
/// Reading on a thread of its own lets this one tell whether another line is ready: a batch is
/// committed when it is full or when no further line is waiting.
fn apply(db: &PathBuf, batch: usize, file: Option<PathBuf>) -> Result<ExitCode, String> {
    let ledger = open_checked(db)?;
    let input: Box<dyn BufRead + Send> = match &file {
        Some(path) => Box::new(std::io::BufReader::new(std::fs::File::open(path).map_err(|error| format!("{}: {error}", path.display()))?)),
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let (sender, receiver) = mpsc::sync_channel::<Line>(batch.max(1024));
    let reader = std::thread::spawn(move || read_lines(input, &sender));
    // A rendezvous: a batch is handed over once the one before it is written, so a failed write
    // stops `apply` after the batch it was running.
    let (results, written) = mpsc::sync_channel::<Vec<Response>>(0);
    let writer = std::thread::spawn(move || write_results(&written));
    let mut failed = false;
    while let Ok(first) = receiver.recv() {
        let mut lines = vec![first];
        while lines.len() < batch {
            match receiver.try_recv() {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        let total = lines.len();
        let (mut requests, mut answered) = (Vec::with_capacity(total), Vec::new());
        for (index, line) in lines.into_iter().enumerate() {
            match line {
                Line::Request(request) => requests.push(request),
                Line::Answered(response) => answered.push((index, response)),
            }
        }
        let mut executed = ledger.execute_batch(&requests).into_iter();
        let mut answered = answered.into_iter().peekable();
        let mut responses = Vec::with_capacity(total);
        for index in 0..total {
            let response = match answered.next_if(|(at, _)| *at == index) {
                Some((_, response)) => response,
                None => executed.next().expect("one response per request"),
            };
            failed |= response.rejection().is_some_and(|rejection| rejection.code == ErrorCode::Storage);
            responses.push(response);
        }
        if results.send(responses).is_err() || failed {
            break;
        }
    }
    drop(results);
    drop(receiver);
    let _ = reader.join();
    writer.join().map_err(|_| "writing results: the writer stopped".to_owned())??;
    if failed {
        return Err(format!("{}: the store failed: later commands were not applied", db.display()));
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes each batch's result lines to standard output, flushed per batch.
fn write_results(batches: &mpsc::Receiver<Vec<Response>>) -> Result<(), String> {
    let mut output = BufWriter::new(std::io::stdout().lock());
    for responses in batches {
        for response in responses {
            writeln!(output, "{}", response.to_line()).map_err(|error| format!("writing results: {error}"))?;
        }
        output.flush().map_err(|error| format!("writing results: {error}"))?;
    }
    Ok(())
}

/// Sends each non-empty line (without its line ending), decoded. Empty lines are skipped: they
/// carry no request.
fn read_lines(mut input: Box<dyn BufRead + Send>, sender: &mpsc::SyncSender<Line>) {
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match input.read_until(b'\n', &mut buffer) {
            Ok(0) => return,
            Ok(_) => {
                while matches!(buffer.last(), Some(b'\n' | b'\r')) {
                    buffer.pop();
                }
                if buffer.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let line = match std::str::from_utf8(&buffer) {
                    Ok(text) => match partner_ledger::decode_line(text) {
                        Ok(request) => Line::Request(request),
                        Err(error) => Line::Answered(Response::Failed { id: error.id, rejection: error.rejection }),
                    },
                    Err(_) => Line::Answered(invalid_line("line is not UTF-8")),
                };
                if sender.send(line).is_err() {
                    return;
                }
            }
            Err(error) => {
                let _ = sender.send(Line::Answered(invalid_line(&format!("reading input: {error}"))));
                return;
            }
        }
    }
}

fn invalid_line(message: &str) -> Response {
    Response::Failed { id: None, rejection: partner_ledger::Rejection::new(ErrorCode::InvalidRequest, message) }
}

fn verify(db: &PathBuf, expected: Option<&ExpectedHead>, cluster: &serve::BookArgs) -> Result<ExitCode, String> {
    let ledger = open_checked(db)?;
    match ledger.verify() {
        Ok(report) => {
            let expectation = match expected.map(|expected| check_expected_head(&ledger, expected)) {
                Some(Err(mismatch)) => {
                    println!("verify: FAILED — {mismatch}");
                    return Ok(ExitCode::FAILURE);
                }
                Some(Ok(found)) => format!("; {found}"),
                None => String::new(),
            };
            let expectation = match cluster.book() {
                Some((urls, book)) => match check_stream(&ledger, urls, book)? {
                    Ok(found) => format!("{expectation}; {found}"),
                    Err(mismatch) => {
                        println!("verify: FAILED — {mismatch}");
                        return Ok(ExitCode::FAILURE);
                    }
                },
                None => expectation,
            };
            println!(
                "verify: ok — {} transactions replayed, {} accounts and {} parties match, head {}:{}{expectation}",
                report.transactions,
                report.accounts,
                report.parties,
                report.head.seq,
                hex(&report.head.hash)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            println!("verify: FAILED — {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The journal against the book's stream: what matched, or the first difference (the outer
/// error: the stream could not be read).
fn check_stream(ledger: &Ledger, urls: &str, book: &str) -> Result<Result<String, String>, String> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|error| format!("starting the runtime: {error}"))?;
    runtime.block_on(async {
        let book = partner_ledger::cluster::Book::existing(urls, book).await.map_err(|error| error.to_string())?;
        Ok(partner_ledger::cluster::check_journal(&book, ledger).await.map(|check| {
            let behind = check.stream_last.saturating_sub(check.messages);
            format!(
                "{} records in {} stream messages match the stream ({behind} later messages not applied here)",
                check.records, check.messages
            )
        }))
    })
}

fn head(db: &PathBuf) -> Result<ExitCode, String> {
    let head = open_checked(db)?.head();
    println!("{}:{}", head.seq, hex(&head.hash));
    Ok(ExitCode::SUCCESS)
}
