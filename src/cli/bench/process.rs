//! Round 2 of `partner-ledger bench`: whole processes, as an operator runs them.
//!
//! (f) `partner-ledger apply --batch B` of `--process-commands` allocations, this binary spawned
//!     as a child (`std::env::current_exe()`), timed from spawn to exit — open (with its page
//!     checksum pass), apply, close (with its checkpoint) — beside the lean SQLite JSON-lines
//!     service run the same way (`partner-ledger bench-child sqlite-apply`, a hidden subcommand:
//!     open, serve, close in its own process). Each round starts both from a fresh copy of the
//!     same setup; three rounds, the order alternating. Each child runs under `bench-child
//!     measure`, a small process that times it and reads its peak resident memory from `wait4`.
//! (g) One-shot commands on the cleanly closed files of each round: `partner-ledger balance
//!     customer:C5` beside `bench-child sqlite-balance`, and opening for writes (`apply` of an empty
//!     file: open, checksum pass, close).
//! (h) Bytes on disk per allocation after compaction (the ledger's `compact`: checkpoint,
//!     posting index and adjust records built, then redb's compaction), table by table, beside
//!     the lean SQLite file after `VACUUM`.
//! (i) `statement` of an account with 100,000 postings: first page, in process, index built.

use super::baseline::lean_sqlite::LeanSqlite;
use super::baseline::sqlite::Service;
use super::baseline::workload::{self, Allocations, amount_text};
use super::{
    Scratch, Target, Unit, failed, file_size, format_duration, print_table_growth, progress, read_batch, sqlite_size, table_stats,
};
use partner_ledger::Ledger;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Rounds of each whole-process measurement (the medians are of these).
const ROUNDS: usize = 3;
/// Postings on the account whose statement is read in (i).
const STATEMENT_POSTINGS: usize = 100_000;
/// Commands per commit while filling that account (setup, not measured).
const STATEMENT_SETUP_BATCH: usize = 8_000;
/// The one-shot query's party.
const BALANCE_PARTY: &str = "customer:C5";

/// The hidden `bench-child` subcommand: the lean SQLite service as its own process, and the
/// measuring parent of every whole-process run.
#[derive(clap::Subcommand)]
pub enum ChildCommand {
    /// Lean SQLite: JSON-lines allocations from FILE, `--batch` per durable commit, result lines to standard output.
    SqliteApply {
        /// The SQLite file (made by the bench).
        #[arg(long)]
        db: PathBuf,
        /// Commands per durable commit.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch: u32,
        /// Input file.
        file: PathBuf,
    },
    /// Lean SQLite: one party's cash as a JSON line.
    SqliteBalance {
        /// The SQLite file (made by the bench).
        #[arg(long)]
        db: PathBuf,
        /// `partner:<id>` or `customer:<id>`.
        party: String,
    },
    /// The bench's ledger setup (`--customers` over 100 distributors, posting index built,
    /// compacted) written to `--db`, and `--commands` allocations to FILE: the files a round 2
    /// run starts from, kept for profiling one command at a time.
    Setup {
        /// The ledger file to make (must not exist).
        #[arg(long)]
        db: PathBuf,
        /// Resale customers.
        #[arg(long, default_value_t = 10_000)]
        customers: u32,
        /// Allocations written to FILE.
        #[arg(long, default_value_t = 100_000)]
        commands: usize,
        /// Also the lean SQLite service's setup, at this path (must not exist).
        #[arg(long)]
        lean: Option<PathBuf>,
        /// The allocations' input file.
        file: PathBuf,
    },
    /// Runs this binary with ARGS as a child (standard output inherited) and prints its wall
    /// time in nanoseconds and its peak resident memory in KiB, from `wait4`, to standard error
    /// as `measured <ns> <KiB>`. A small process of its own, so the child's peak is not raised
    /// by the bench's memory (Linux carries the peak of the address space a child is spawned
    /// from across `exec`).
    Measure {
        /// The arguments of the measured command.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Runs `bench-child`.
pub fn child_main(command: ChildCommand) -> Result<ExitCode, String> {
    match command {
        ChildCommand::SqliteApply { db, batch, file } => {
            let mut service = Service::new(LeanSqlite::open(&db).map_err(failed("opening SQLite"))?);
            let mut input = BufReader::new(File::open(&file).map_err(failed("reading the input"))?);
            let mut output = BufWriter::new(std::io::stdout().lock());
            let mut lines = Vec::with_capacity(batch as usize);
            while read_batch(&mut input, batch as usize, &mut lines).map_err(failed("reading the input"))? {
                service.serve_batch(&lines, &mut output).map_err(failed("SQLite service"))?;
                output.flush().map_err(failed("writing results"))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ChildCommand::SqliteBalance { db, party } => {
            let sqlite = LeanSqlite::open(&db).map_err(failed("opening SQLite"))?;
            match sqlite.cash(&party).map_err(failed("SQLite"))? {
                Some(cash) => println!(r#"{{"party":"{party}","cash":"{}"}}"#, amount_text(cash)),
                None => println!(r#"{{"party":"{party}","error":"not_found"}}"#),
            }
            Ok(ExitCode::SUCCESS)
        }
        ChildCommand::Setup { db, customers, commands, lean, file } => {
            if let Some(existing) = std::iter::once(&db).chain(&lean).find(|path| path.exists()) {
                return Err(format!("{}: already exists", existing.display()));
            }
            super::setup_ledger_at(&db, customers)?;
            if let Some(lean) = lean {
                LeanSqlite::create(&lean, customers)
                    .map_err(failed("lean SQLite setup"))?
                    .compact()
                    .map_err(failed("lean SQLite VACUUM"))?;
            }
            super::write_input(&file, "p-", commands, customers)?;
            Ok(ExitCode::SUCCESS)
        }
        ChildCommand::Measure { args } => {
            let exe = std::env::current_exe().map_err(failed("finding this binary"))?;
            let measured = wait_measured(Command::new(exe).args(&args).stdin(Stdio::null()))?;
            eprintln!("measured {} {}", measured.wall.as_nanos(), measured.max_rss_bytes / 1024);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A finished child: wall time from spawn to exit, and its peak resident memory.
#[derive(Clone, Copy, Debug)]
struct Measured {
    wall: Duration,
    max_rss_bytes: u64,
}

/// Spawns `command`, waits for it with `wait4` (which reports that child's own peak resident
/// memory), and fails unless it exited 0.
fn wait_measured(command: &mut Command) -> Result<Measured, String> {
    let started = Instant::now();
    let child = command.spawn().map_err(failed("spawning a child"))?;
    let pid = libc::pid_t::try_from(child.id()).map_err(failed("child pid"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid value (plain integers), filled in by wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (`Child` only waits when asked), and both
    // pointers are to live locals.
    let reaped = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    let wall = started.elapsed();
    drop(child);
    if reaped != pid {
        return Err(format!("waiting for child {pid}: {}", std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{command:?} failed (wait status {status})"));
    }
    // Linux reports ru_maxrss in KiB.
    Ok(Measured { wall, max_rss_bytes: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024 })
}

/// Runs this binary with `args` under `bench-child measure`, standard output to `output` (or
/// nowhere): the child's wall time and peak resident memory, or why it failed.
fn measure(args: &[&str], output: Option<&Path>) -> Result<Measured, String> {
    let exe = std::env::current_exe().map_err(failed("finding this binary"))?;
    let mut command = Command::new(exe);
    command.args(["bench-child", "measure", "--"]).args(args).stdin(Stdio::null()).stderr(Stdio::piped());
    match output {
        Some(path) => command.stdout(File::create(path).map_err(failed("creating the output"))?),
        None => command.stdout(Stdio::null()),
    };
    let finished = command.output().map_err(failed("running bench-child"))?;
    let stderr = String::from_utf8_lossy(&finished.stderr);
    let report = stderr.lines().find_map(|line| line.strip_prefix("measured "));
    let numbers: Option<Vec<u64>> = report.map(|report| report.split(' ').filter_map(|number| number.parse().ok()).collect());
    match numbers.as_deref() {
        Some([nanos, kibibytes]) if finished.status.success() => {
            Ok(Measured { wall: Duration::from_nanos(*nanos), max_rss_bytes: kibibytes * 1024 })
        }
        _ => Err(format!("partner-ledger {} failed: {}", args.join(" "), stderr.trim())),
    }
}

fn text(path: &Path) -> &str {
    path.to_str().expect("the bench's paths are UTF-8")
}

/// Copies a setup file to a fresh work file, leaving no WAL or lock files from a previous round.
fn fresh_copy(from: &Path, to: &Path) -> Result<(), String> {
    for leftover in [to.to_path_buf(), to.with_extension("db-wal"), to.with_extension("db-shm")] {
        let _ = std::fs::remove_file(leftover);
    }
    std::fs::copy(from, to).map(drop).map_err(failed("copying a setup file"))
}

/// (median, min, max).
pub(super) fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    (median, sorted.first().copied().unwrap_or(0.0), sorted.last().copied().unwrap_or(0.0))
}

fn spread_text(values: &[f64], scale: f64, unit: &str) -> String {
    let (median, min, max) = spread(values);
    let digits = if median * scale < 10.0 {
        2
    } else if median * scale < 100.0 {
        1
    } else {
        0
    };
    format!("{:.digits$}{unit} ({:.digits$}–{:.digits$})", median * scale, min * scale, max * scale)
}

/// What round 2 needs from the bench: where its files go and the workload's size.
pub struct Round2<'a> {
    pub scratch: &'a Scratch,
    /// The compacted ledger after setup (closed).
    pub ledger_setup: PathBuf,
    pub customers: u32,
    pub commands: usize,
    pub batch: u32,
}

/// The whole-process samples of one system.
#[derive(Default)]
struct Samples {
    apply: Vec<Measured>,
    balance: Vec<Measured>,
    open: Vec<Measured>,
}

impl Round2<'_> {
    /// Runs (f) to (i) and adds their targets.
    pub fn run(&self, targets: &mut Vec<Target>) -> Result<(), String> {
        let started = Instant::now();
        progress(&format!("round 2: lean SQLite setup ({} customers)", self.customers));
        let lean_setup = self.scratch.path("lean-setup.db");
        let lean = LeanSqlite::create(&lean_setup, self.customers).map_err(failed("lean SQLite setup"))?;
        lean.compact().map_err(failed("lean SQLite VACUUM"))?;
        drop(lean);
        let input = self.scratch.path("process-input.jsonl");
        super::write_input(&input, "p-", self.commands, self.customers)?;
        progress(&format!("round 2 setup took {:.1} s (not measured)", started.elapsed().as_secs_f64()));
        let floor = measure(&["--version"], None)?;
        let (ledger, lean) = self.whole_processes(&input, &lean_setup)?;
        println!(
            "\npeak resident memory is each child's own (wait4 in a small measuring process); `partner-ledger --version` peaks at {:.1} MiB",
            floor.max_rss_bytes as f64 / f64::from(1u32 << 20)
        );
        self.print_processes(&ledger, &lean, targets);
        self.on_disk(&lean_setup, targets)?;
        statement_first_page(self.scratch, targets)
    }

    /// (f) and (g): `ROUNDS` rounds, each from fresh copies, the order alternating.
    fn whole_processes(&self, input: &Path, lean_setup: &Path) -> Result<(Samples, Samples), String> {
        let (mut ledger, mut lean) = (Samples::default(), Samples::default());
        let (ledger_db, lean_db) = (self.scratch.path("work-ledger.redb"), self.scratch.path("work-lean.db"));
        let (ledger_out, lean_out) = (self.scratch.path("work-ledger-out.jsonl"), self.scratch.path("work-lean-out.jsonl"));
        let empty = self.scratch.path("empty.jsonl");
        File::create(&empty).map_err(failed("creating an empty input"))?;
        let batch = self.batch.to_string();
        for round in 0..ROUNDS {
            progress(&format!("(f) round {} of {ROUNDS}: whole-process apply of {} allocations each", round + 1, self.commands));
            fresh_copy(&self.ledger_setup, &ledger_db)?;
            fresh_copy(lean_setup, &lean_db)?;
            for turn in 0..2 {
                if (round + turn) % 2 == 0 {
                    ledger.apply.push(measure(&["apply", "--db", text(&ledger_db), "--batch", &batch, text(input)], Some(&ledger_out))?);
                } else {
                    let args = ["bench-child", "sqlite-apply", "--db", text(&lean_db), "--batch", &batch, text(input)];
                    lean.apply.push(measure(&args, Some(&lean_out))?);
                }
            }
            for (system, path) in [("the ledger", &ledger_out), ("lean SQLite", &lean_out)] {
                let committed = super::count_committed(path)?;
                if committed != self.commands {
                    return Err(format!("{system} committed {committed} of {} allocations", self.commands));
                }
            }
            for turn in 0..2 {
                if (round + turn) % 2 == 0 {
                    ledger.balance.push(measure(&["balance", BALANCE_PARTY, "--db", text(&ledger_db)], None)?);
                    ledger.open.push(measure(&["apply", "--db", text(&ledger_db), text(&empty)], None)?);
                } else {
                    lean.balance.push(measure(&["bench-child", "sqlite-balance", "--db", text(&lean_db), BALANCE_PARTY], None)?);
                }
            }
        }
        Ok((ledger, lean))
    }

    fn print_processes(&self, ledger: &Samples, lean: &Samples, targets: &mut Vec<Target>) {
        let seconds = |samples: &[Measured]| samples.iter().map(|sample| sample.wall.as_secs_f64()).collect::<Vec<_>>();
        let throughput =
            |samples: &[Measured]| samples.iter().map(|sample| self.commands as f64 / sample.wall.as_secs_f64()).collect::<Vec<_>>();
        let rss = |samples: &[Measured]| samples.iter().map(|sample| sample.max_rss_bytes as f64).collect::<Vec<_>>();
        println!(
            "\n(f) whole process: apply --batch {} of {} allocations at {} customers (open, apply, close; median of {ROUNDS} (min–max))",
            self.batch, self.commands, self.customers
        );
        println!("  {:<44} {:>22} {:>26} {:>24}", "system", "wall", "throughput/s", "peak resident");
        for (name, samples) in [("ledger: partner-ledger apply", &ledger.apply), ("lean SQLite JSON-lines service", &lean.apply)] {
            println!(
                "  {name:<44} {:>22} {:>26} {:>24}",
                spread_text(&seconds(samples), 1e3, " ms"),
                spread_text(&throughput(samples), 1.0, ""),
                spread_text(&rss(samples), 1.0 / f64::from(1u32 << 20), " MiB")
            );
        }
        let ratios: Vec<f64> =
            ledger.apply.iter().zip(&lean.apply).map(|(ledger, lean)| lean.wall.as_secs_f64() / ledger.wall.as_secs_f64()).collect();
        println!(
            "  ledger ÷ lean SQLite throughput, per round: {}",
            ratios.iter().map(|ratio| format!("{ratio:.2}x")).collect::<Vec<_>>().join(", ")
        );
        println!("\n(g) one-shot commands on the cleanly closed files (wall, median of {ROUNDS} (min–max))");
        println!("  partner-ledger balance {BALANCE_PARTY}        {}", spread_text(&seconds(&ledger.balance), 1e3, " ms"));
        println!("  bench-sqlite balance (lean SQLite)       {}", spread_text(&seconds(&lean.balance), 1e3, " ms"));
        println!("  partner-ledger apply of no commands (open for writes, close)  {}", spread_text(&seconds(&ledger.open), 1e3, " ms"));
        println!("  peak resident of the one-shot balance: {}", spread_text(&rss(&ledger.balance), 1.0 / f64::from(1u32 << 20), " MiB"));
        let customers = self.customers;
        targets.push(Target::spread(
            format!("whole-process apply --batch {}, {customers} customers: ledger ÷ lean SQLite", self.batch),
            &ratios,
            2.0,
            false,
            Unit::Ratio,
        ));
        let milliseconds = |samples: &[Measured]| samples.iter().map(|sample| sample.wall.as_secs_f64() * 1e3).collect::<Vec<_>>();
        targets.push(Target::spread(
            format!("one-shot balance, {customers} customers, wall"),
            &milliseconds(&ledger.balance),
            100.0,
            true,
            Unit::Milliseconds,
        ));
        targets.push(Target::spread(
            format!("open for writes (apply of nothing), {customers} customers, wall"),
            &milliseconds(&ledger.open),
            1000.0,
            true,
            Unit::Milliseconds,
        ));
        let mebibytes =
            |samples: &[Measured]| samples.iter().map(|sample| sample.max_rss_bytes as f64 / f64::from(1u32 << 20)).collect::<Vec<_>>();
        targets.push(Target::spread(
            format!("peak resident of apply, {customers} customers"),
            &mebibytes(&ledger.apply),
            200.0,
            true,
            Unit::Mebibytes,
        ));
    }

    /// (h) The last round's files, compacted, against their compacted setups.
    fn on_disk(&self, lean_setup: &Path, targets: &mut Vec<Target>) -> Result<(), String> {
        progress("(h) compacting the last round's files");
        let (ledger_db, lean_db) = (self.scratch.path("work-ledger.redb"), self.scratch.path("work-lean.db"));
        let ledger = Ledger::open(&ledger_db).map_err(failed("opening the ledger"))?;
        ledger.compact().map_err(failed("compacting the ledger"))?;
        drop(ledger);
        let lean = LeanSqlite::open(&lean_db).map_err(failed("opening SQLite"))?;
        lean.compact().map_err(failed("SQLite VACUUM"))?;
        drop(lean);
        let count = self.commands as f64;
        let ledger_bytes = file_size(&ledger_db).saturating_sub(file_size(&self.ledger_setup)) as f64 / count;
        let lean_bytes = sqlite_size(&lean_db).saturating_sub(sqlite_size(lean_setup)) as f64 / count;
        println!("\n(h) on disk after compaction: growth over the compacted setup ÷ {} allocations", self.commands);
        println!("  ledger (with posting index and adjust records)   {ledger_bytes:>6.0} B/alloc");
        println!("  lean SQLite (VACUUM; no per-account history)      {lean_bytes:>6.0} B/alloc");
        print_table_growth(&table_stats(&self.ledger_setup)?, &table_stats(&ledger_db)?, self.commands);
        targets.push(Target::spread(
            "on disk after compaction, with statement history, bytes per allocation".to_owned(),
            &[ledger_bytes],
            160.0,
            true,
            Unit::Bytes,
        ));
        Ok(())
    }
}

/// (i) A ledger whose `partner:P0:cash` account has `STATEMENT_POSTINGS` postings (P0 allocates
/// to one customer that often); its posting index is built first (not timed), then the first
/// page of that account's statement is asked `ROUNDS` times.
fn statement_first_page(scratch: &Scratch, targets: &mut Vec<Target>) -> Result<(), String> {
    progress(&format!("(i) statement: filling one account with {STATEMENT_POSTINGS} postings (not measured)"));
    let ledger = Ledger::open(scratch.path("statement.redb")).map_err(failed("opening the statement ledger"))?;
    workload::setup_ledger(&ledger, 1)?;
    let mut stream = Allocations::new("s-", 1, 0x5);
    let mut left = STATEMENT_POSTINGS;
    while left > 0 {
        let take = left.min(STATEMENT_SETUP_BATCH);
        let (refused, first) = workload::refusals(&ledger.execute_batch(&workload::decode(&stream.take_vec(take))));
        if refused > 0 {
            return Err(format!("the statement setup refused {refused} allocations: {}", first.unwrap_or_default()));
        }
        left -= take;
    }
    let query = r#"{"op":"statement","actor":"platform","party":"partner:P0","account":"cash"}"#;
    let started = Instant::now();
    let response = ledger.execute_line(query);
    let build = started.elapsed();
    if let Some(rejection) = response.rejection() {
        return Err(format!("the statement query failed: {rejection}"));
    }
    let mut samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let response = ledger.execute_line(query);
        samples.push(started.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(response);
    }
    println!(
        "\n(i) statement of partner:P0 cash ({STATEMENT_POSTINGS} postings), first page, in process: {} (the first query, which built the index, {})",
        spread_text(&samples.iter().map(|ms| ms / 1e3).collect::<Vec<_>>(), 1e3, " ms"),
        format_duration(build)
    );
    targets.push(Target::spread(format!("statement first page, {STATEMENT_POSTINGS} postings"), &samples, 10.0, true, Unit::Milliseconds));
    Ok(())
}
