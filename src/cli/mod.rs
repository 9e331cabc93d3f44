//! The command line only: argument parsing and printing. No ledger logic lives here.

mod demo;

use clap::{Parser, Subcommand};
use partner_ledger::{ErrorCode, Ledger, Response, hex};
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
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
    },
    /// Print the last seq and its chain hash: a digest to keep elsewhere.
    Head {
        /// The ledger file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
    },
    /// Run one realistic month of a partner platform into a fresh ledger file and print its books.
    ///
    /// Distributors with resellers and solution providers, their customers, coupons, orders,
    /// usage, refunds, withdrawals and invoices, plus commands that fail as they should. The same
    /// seed gives the same journal. Exits non-zero if any answer is not the expected one or
    /// `verify` fails.
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
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        CliCommand::Apply { db, batch, file } => apply(&db, batch as usize, file),
        CliCommand::Verify { db } => verify(&db),
        CliCommand::Head { db } => head(&db),
        CliCommand::Demo { db, customers, seed } => demo::run(&db, customers, seed),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("partner-ledger: {message}");
            ExitCode::FAILURE
        }
    }
}

fn open(db: &PathBuf) -> Result<Ledger, String> {
    Ledger::open(db).map_err(|error| format!("{}: {error}", db.display()))
}

/// Reads lines on a thread so the main loop can tell whether another line is ready: a batch is
/// committed when it is full or when no further line is waiting.
fn apply(db: &PathBuf, batch: usize, file: Option<PathBuf>) -> Result<ExitCode, String> {
    let ledger = open(db)?;
    let input: Box<dyn BufRead + Send> = match &file {
        Some(path) => Box::new(std::io::BufReader::new(std::fs::File::open(path).map_err(|error| format!("{}: {error}", path.display()))?)),
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let (sender, receiver) = mpsc::sync_channel::<Result<Vec<u8>, String>>(batch.max(1024));
    let reader = std::thread::spawn(move || read_lines(input, &sender));
    let mut output = BufWriter::new(std::io::stdout().lock());
    let mut failed = false;
    while let Ok(first) = receiver.recv() {
        let mut lines = vec![first];
        while lines.len() < batch {
            match receiver.try_recv() {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        let (texts, unreadable) = split_unreadable(&lines);
        let mut responses = ledger.execute_lines(&texts).into_iter();
        for index in 0..lines.len() {
            let response = match unreadable.iter().find(|(at, _)| *at == index) {
                Some((_, message)) => invalid_line(message),
                None => responses.next().expect("one response per readable line"),
            };
            failed |= response.rejection().is_some_and(|rejection| rejection.code == ErrorCode::Storage);
            writeln!(output, "{}", response.to_line()).map_err(|error| format!("writing results: {error}"))?;
        }
        output.flush().map_err(|error| format!("writing results: {error}"))?;
        if failed {
            break;
        }
    }
    drop(receiver);
    let _ = reader.join();
    if failed {
        return Err("the store failed: later commands were not applied".to_owned());
    }
    Ok(ExitCode::SUCCESS)
}

/// Sends each non-empty line (without its line ending). Empty lines are skipped: they carry no request.
fn read_lines(mut input: Box<dyn BufRead + Send>, sender: &mpsc::SyncSender<Result<Vec<u8>, String>>) {
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
                if sender.send(Ok(buffer.clone())).is_err() {
                    return;
                }
            }
            Err(error) => {
                let _ = sender.send(Err(format!("reading input: {error}")));
                return;
            }
        }
    }
}

/// Lines that are not UTF-8 (or could not be read) are answered without reaching the ledger.
fn split_unreadable(lines: &[Result<Vec<u8>, String>]) -> (Vec<&str>, Vec<(usize, String)>) {
    let mut texts = Vec::with_capacity(lines.len());
    let mut unreadable = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        match line.as_ref().map(|bytes| std::str::from_utf8(bytes)) {
            Ok(Ok(text)) => texts.push(text),
            Ok(Err(_)) => unreadable.push((index, "line is not UTF-8".to_owned())),
            Err(message) => unreadable.push((index, message.clone())),
        }
    }
    (texts, unreadable)
}

fn invalid_line(message: &str) -> Response {
    Response::Failed { id: None, rejection: partner_ledger::Rejection::new(ErrorCode::InvalidRequest, message) }
}

fn verify(db: &PathBuf) -> Result<ExitCode, String> {
    let ledger = open(db)?;
    match ledger.verify() {
        Ok(report) => {
            println!(
                "verify: ok — {} transactions replayed, {} accounts and {} parties match, head {}:{}",
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

fn head(db: &PathBuf) -> Result<ExitCode, String> {
    let head = open(db)?.head();
    println!("{}:{}", head.seq, hex(&head.hash));
    Ok(ExitCode::SUCCESS)
}
