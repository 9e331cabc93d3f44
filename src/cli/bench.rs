//! `partner-ledger bench`: the ledger beside in-run baselines on this machine — the bare redb
//! transfer pattern, one bare redb durable commit, and the same double-entry work in SQLite
//! (WAL, `synchronous=FULL`, prepared statements). The baselines are the code of
//! `benches/baseline/`, shared with `cargo bench --bench ledger`.
//!
//! Workload: 100 distributors recharged generously, `--customers` resale customers spread over
//! them (setup is not timed), then allocations to pseudo-random customers. The systems run
//! interleaved — commit by commit, or in rounds for the threads — because a shared machine's
//! CPU and fsync latency change over time, and side by side they change alike:
//! (a) JSON lines in and out at `--batch` per commit, as `apply` does, beside a SQLite JSON-lines
//!     service; (b) the library batch API at 8,000 per commit beside SQLite and bare redb;
//! (c) single durable commands beside one bare redb durable commit; (d) 1 thread against
//!     `--threads` threads of single durable commands; (e) bytes on disk per allocation after
//!     compaction, table by table.
//!
//! The ledger defers work past its commits (the checkpoint of its state tables, and the posting
//! index built on the first history query), which the SQLite baseline does inside its commits:
//! (a) and (b) time that work at the end of the phase and show the ledger with and without it.

#[path = "../../benches/baseline/mod.rs"]
mod baseline;
mod http;
mod process;

pub use process::{ChildCommand, child_main};

use baseline::bare_redb::{self, BareRedb};
use baseline::sqlite::{Outcome, Service, SqliteLedger};
use baseline::workload::{self, Allocations, PARTNERS, percentile};
use partner_ledger::{CommitStats, Ledger, Request};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A history query: it makes the ledger build its posting index and adjust records.
const HISTORY_QUERY: &str = r#"{"op":"statement","actor":"platform","party":"partner:P0","limit":1}"#;
/// Rounds of the threads phase (each runs the four configurations once).
const THREAD_ROUNDS: usize = 4;
/// redb's page size (its default).
const REDB_PAGE_BYTES: u64 = 4096;
/// Commands per commit of the library batch phase (the issue's "8,000 per commit").
const LIBRARY_BATCH: usize = 8_000;
/// The library batch phase runs at least this many commits, so its percentiles mean something.
const LIBRARY_COMMITS_MIN: usize = 4;
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// Options of `partner-ledger bench`.
#[derive(clap::Args)]
pub struct Options {
    /// Resale customers, spread over 100 distributors.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=20_000_000))]
    customers: u32,
    /// Allocations in each throughput phase.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    commands: u32,
    /// Commands per durable commit in the JSON-lines phase (as `apply --batch`).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch: u32,
    /// Single durable commands in the latency phase and in each threads run (the threads runs
    /// split them over 4 rounds: 1,000 a round by default, so that a round's start, where the
    /// first caller commits alone, weighs little).
    #[arg(long, default_value_t = 4000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    singles: u32,
    /// Threads sharing one ledger in the concurrency phase.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: u32,
    /// Allocations applied by each whole-process run (round 2).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    process_commands: u32,
    /// Only round 2 (whole processes, one-shot queries, memory, bytes on disk, statement), not the
    /// in-process phases (a) to (e) and their SQLite and bare redb setups.
    #[arg(long)]
    round2_only: bool,
    /// Where to make the bench's scratch folder (removed afterwards): put it on the disk to measure.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Measure the HTTP server instead: signed single allocations over 64 keep-alive connections
    /// beside `Ledger::execute` from 64 threads, `--commands` per run, three rounds.
    #[arg(long)]
    http: bool,
}

/// One system's share of a phase: commands, the time spent on them, and per-commit (or
/// per-command) latencies. `deferred` is work the ledger does after its commits (checkpoint,
/// posting index): counted in `busy`, not in the latencies.
struct Run {
    system: String,
    commands: usize,
    busy: Duration,
    latencies: Vec<Duration>,
    deferred: Vec<(&'static str, Duration)>,
    ledger: bool,
}

impl Run {
    fn new(system: &str) -> Run {
        Run { system: system.to_owned(), commands: 0, busy: Duration::ZERO, latencies: Vec::new(), deferred: Vec::new(), ledger: false }
    }

    fn ledger(system: &str) -> Run {
        Run { ledger: true, ..Run::new(system) }
    }

    fn record(&mut self, commands: usize, elapsed: Duration) {
        self.commands += commands;
        self.busy += elapsed;
        self.latencies.push(elapsed);
    }

    fn defer(&mut self, what: &'static str, elapsed: Duration) {
        self.busy += elapsed;
        self.deferred.push((what, elapsed));
    }

    /// The same run without its deferred work: the commit path alone.
    fn commit_path(&self) -> Run {
        let deferred: Duration = self.deferred.iter().map(|(_, elapsed)| *elapsed).sum();
        Run {
            system: format!("{}, commit path only", self.system),
            busy: self.busy.saturating_sub(deferred),
            deferred: Vec::new(),
            latencies: self.latencies.clone(),
            ..*self
        }
    }

    fn throughput(&self) -> f64 {
        self.commands as f64 / self.busy.as_secs_f64().max(1e-9)
    }

    fn latency(&self, fraction: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        percentile(&sorted, fraction).unwrap_or_default()
    }
}

/// A target of the performance issue and what this run measured for it: one value, or the
/// median of several with their min and max.
struct Target {
    what: String,
    measured: f64,
    range: Option<(f64, f64)>,
    bound: f64,
    at_most: bool,
    unit: Unit,
}

/// How a target's numbers print.
#[derive(Clone, Copy)]
enum Unit {
    Ratio,
    Bytes,
    Milliseconds,
    Mebibytes,
}

impl Unit {
    fn format(self, value: f64) -> String {
        match self {
            Unit::Ratio => format!("{value:.2}x"),
            Unit::Bytes => format!("{value:.0} B"),
            Unit::Milliseconds if value < 10.0 => format!("{value:.2} ms"),
            Unit::Milliseconds => format!("{value:.0} ms"),
            Unit::Mebibytes => format!("{value:.0} MiB"),
        }
    }
}

impl Target {
    /// The median of `values` (and their min and max when there are several).
    fn spread(what: String, values: &[f64], bound: f64, at_most: bool, unit: Unit) -> Target {
        let (measured, min, max) = process::spread(values);
        let range = (values.len() > 1).then_some((min, max));
        Target { what, measured, range, bound, at_most, unit }
    }
}

/// The bench's files, in a scratch folder removed when this is dropped.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Everything the phases share: the systems, and how many allocations each has committed.
struct Bench {
    options: Options,
    scratch: Scratch,
    ledger: Option<Ledger>,
    sqlite: Option<SqliteLedger>,
    bare: Option<BareRedb>,
    commit: Option<BareRedb>,
    committed: [usize; 3],
    sizes_before: [u64; 3],
    tables_before: BTreeMap<String, (u64, u64)>,
    targets: Vec<Target>,
}

const LEDGER: usize = 0;
const SQLITE: usize = 1;
const BARE: usize = 2;

pub fn run(options: Options) -> Result<ExitCode, String> {
    let dir = options.dir.join(format!("partner-ledger-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let scratch = Scratch { dir };
    print_environment(&options, &scratch);
    if options.http {
        http::run(options.customers, options.commands, &scratch)?;
        return Ok(ExitCode::SUCCESS);
    }
    if options.round2_only {
        setup_ledger_at(&scratch.path("ledger.redb"), options.customers)?;
        let mut targets = Vec::new();
        round2(&options, &scratch, &mut targets)?;
        print_targets(&targets);
        return Ok(ExitCode::SUCCESS);
    }
    let mut bench = setup(options, scratch)?;
    round2(&bench.options, &bench.scratch, &mut bench.targets)?;
    bench.open_systems()?;
    bench.json_lines()?;
    bench.library_batch()?;
    bench.single_durable()?;
    bench.threads()?;
    bench.on_disk_size()?;
    print_targets(&bench.targets);
    Ok(ExitCode::SUCCESS)
}

/// `map_err` helper: what failed, then why.
fn failed<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |error| format!("{what}: {error}")
}

fn print_environment(options: &Options, scratch: &Scratch) {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let load = std::fs::read_to_string("/proc/loadavg").ok().and_then(|text| text.split_whitespace().next().map(str::to_owned));
    println!(
        "partner-ledger bench: {} customers over {PARTNERS} distributors, {} allocations a phase, {} cores{}",
        options.customers,
        options.commands,
        cores,
        load.map_or(String::new(), |load| format!(", load average {load} before the run"))
    );
    println!("files in {} (removed at the end)", scratch.dir.display());
}

fn progress(message: &str) {
    eprintln!("… {message}");
}

/// Round 2 (`process.rs`) on a copy of the compacted ledger setup.
fn round2(options: &Options, scratch: &Scratch, targets: &mut Vec<Target>) -> Result<(), String> {
    let ledger_setup = scratch.path("process-setup.redb");
    std::fs::copy(scratch.path("ledger.redb"), &ledger_setup).map_err(failed("copying the ledger setup"))?;
    let round2 = process::Round2 {
        scratch,
        ledger_setup,
        customers: options.customers,
        commands: options.process_commands as usize,
        batch: options.batch,
    };
    round2.run(targets)
}

/// The ledger's setup at `path` (`customers` over `PARTNERS` distributors), its posting index
/// built, closed and compacted: the bench's `ledger.redb`, or `bench-child setup`'s file.
fn setup_ledger_at(path: &Path, customers: u32) -> Result<(), String> {
    let started = Instant::now();
    progress(&format!("setting up the ledger ({} commands)", customers as usize + 2 * PARTNERS as usize));
    {
        let ledger = Ledger::open(path).map_err(failed("opening the ledger"))?;
        workload::setup_ledger(&ledger, customers)?;
        // The setup's own posting index is built here, so no phase pays for it.
        let response = ledger.execute_line(HISTORY_QUERY);
        if let Some(rejection) = response.rejection() {
            return Err(format!("the history query failed: {rejection}"));
        }
    }
    BareRedb::compact(path).map_err(failed("compacting"))?;
    progress(&format!("ledger setup took {:.1} s (not measured)", started.elapsed().as_secs_f64()));
    Ok(())
}

/// Sets the three systems up alike, then compacts each, so the phases start from compact files
/// and the size phase can subtract the setup. The systems are opened by `open_systems`.
fn setup(options: Options, scratch: Scratch) -> Result<Bench, String> {
    setup_ledger_at(&scratch.path("ledger.redb"), options.customers)?;
    let started = Instant::now();
    progress("setting up SQLite and bare redb");
    SqliteLedger::create(&scratch.path("sqlite.db"), options.customers)
        .map_err(failed("SQLite setup"))?
        .compact()
        .map_err(failed("SQLite VACUUM"))?;
    drop(BareRedb::create(&scratch.path("bare.redb"), options.customers).map_err(failed("bare redb setup"))?);
    BareRedb::compact(&scratch.path("bare.redb")).map_err(failed("compacting"))?;
    let sizes_before =
        [file_size(&scratch.path("ledger.redb")), sqlite_size(&scratch.path("sqlite.db")), file_size(&scratch.path("bare.redb"))];
    let tables_before = table_stats(&scratch.path("ledger.redb"))?;
    progress(&format!("SQLite and bare redb setup took {:.1} s (not measured)", started.elapsed().as_secs_f64()));
    Ok(Bench {
        options,
        scratch,
        ledger: None,
        sqlite: None,
        bare: None,
        commit: None,
        committed: [0; 3],
        sizes_before,
        tables_before,
        targets: Vec::new(),
    })
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |metadata| metadata.len())
}

/// The SQLite database with its WAL (empty after a checkpoint).
fn sqlite_size(path: &Path) -> u64 {
    let wal = path.with_extension("db-wal");
    file_size(path) + file_size(&wal)
}

/// Reads up to `count` non-empty lines into `lines` (cleared first); false when none was left.
fn read_batch(reader: &mut impl BufRead, count: usize, lines: &mut Vec<String>) -> std::io::Result<bool> {
    lines.clear();
    let mut line = String::new();
    while lines.len() < count {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let trimmed = line.trim_end_matches(['\n', '\r']);
        if !trimmed.is_empty() {
            lines.push(trimmed.to_owned());
        }
    }
    Ok(!lines.is_empty())
}

impl Bench {
    /// Opens the three systems' compacted setups for the in-process phases.
    fn open_systems(&mut self) -> Result<(), String> {
        self.ledger = Some(Ledger::open(self.scratch.path("ledger.redb")).map_err(failed("reopening the ledger"))?);
        self.sqlite = Some(SqliteLedger::open(&self.scratch.path("sqlite.db")).map_err(failed("reopening SQLite"))?);
        self.bare = Some(BareRedb::open(&self.scratch.path("bare.redb")).map_err(failed("reopening bare redb"))?);
        self.commit = Some(BareRedb::create(&self.scratch.path("commit.redb"), 0).map_err(failed("bare redb commit file"))?);
        Ok(())
    }

    fn commit(&mut self) -> &mut BareRedb {
        self.commit.as_mut().expect("the bare commit file is open")
    }

    fn ledger(&self) -> &Ledger {
        self.ledger.as_ref().expect("the ledger is open until the size phase")
    }

    fn sqlite(&mut self) -> &mut SqliteLedger {
        self.sqlite.as_mut().expect("SQLite is open until the size phase")
    }

    fn bare(&mut self) -> &mut BareRedb {
        self.bare.as_mut().expect("bare redb is open until the size phase")
    }

    /// The ledger's work deferred past its commits, timed into `run`: the checkpoint of the
    /// state tables, then the posting index and adjust records (built by the first history
    /// query). The SQLite baseline writes the equivalent rows inside its commits.
    fn finish_ledger(&self, run: &mut Run) -> Result<(), String> {
        let started = Instant::now();
        self.ledger().checkpoint().map_err(failed("ledger checkpoint"))?;
        run.defer("checkpoint", started.elapsed());
        let started = Instant::now();
        let response = self.ledger().execute_line(HISTORY_QUERY);
        run.defer("posting index", started.elapsed());
        match response.rejection() {
            Some(rejection) => Err(format!("the history query failed: {rejection}")),
            None => Ok(()),
        }
    }

    /// (a) `apply`-style: read JSON lines from a file, run them `--batch` per durable commit, write
    /// one JSON result line each to a file once durable — the ledger and the SQLite service,
    /// interleaved commit by commit.
    fn json_lines(&mut self) -> Result<(), String> {
        let (count, batch) = (self.options.commands as usize, self.options.batch as usize);
        progress(&format!("(a) JSON lines: {count} allocations, {batch} per commit"));
        let input = self.scratch.path("allocations.jsonl");
        write_input(&input, "a-", count, self.options.customers)?;
        let open = |path: &Path| File::open(path).map(BufReader::new).map_err(failed("reading the input"));
        let create = |name: &str| File::create(self.scratch.path(name)).map(BufWriter::new).map_err(failed("writing results"));
        let (mut ledger_in, mut sqlite_in) = (open(&input)?, open(&input)?);
        let (mut ledger_out, mut sqlite_out) = (create("ledger-results.jsonl")?, create("sqlite-results.jsonl")?);
        let mut service = Service::new(self.sqlite.take().expect("SQLite is open"));
        let (mut ledger_run, mut sqlite_run) = (Run::ledger("ledger (apply-style)"), Run::new("SQLite JSON-lines service"));
        let mut lines = Vec::with_capacity(batch);
        for round in 0usize.. {
            let mut more = false;
            for turn in 0..2 {
                let started = Instant::now();
                if (round + turn) % 2 == 0 {
                    if read_batch(&mut ledger_in, batch, &mut lines).map_err(failed("reading"))? {
                        more = true;
                        for response in self.ledger().execute_lines(&lines) {
                            writeln!(ledger_out, "{}", response.to_line()).map_err(failed("writing results"))?;
                        }
                        ledger_out.flush().map_err(failed("writing results"))?;
                        ledger_run.record(lines.len(), started.elapsed());
                    }
                } else if read_batch(&mut sqlite_in, batch, &mut lines).map_err(failed("reading"))? {
                    more = true;
                    service.serve_batch(&lines, &mut sqlite_out).map_err(failed("SQLite service"))?;
                    sqlite_out.flush().map_err(failed("writing results"))?;
                    sqlite_run.record(lines.len(), started.elapsed());
                }
            }
            if !more {
                break;
            }
        }
        self.sqlite = Some(service.ledger);
        self.finish_ledger(&mut ledger_run)?;
        drop((ledger_out, sqlite_out));
        let ledger_ok = count_committed(&self.scratch.path("ledger-results.jsonl"))?;
        let sqlite_ok = count_committed(&self.scratch.path("sqlite-results.jsonl"))?;
        self.committed[LEDGER] += ledger_ok;
        self.committed[SQLITE] += sqlite_ok;
        let commit_path = ledger_run.commit_path();
        print_section(
            &format!("(a) JSON lines in and out, {batch} per commit, files in and out (latency per commit)"),
            &[&ledger_run, &commit_path, &sqlite_run],
            false,
        );
        print_deferred(&ledger_run);
        print_refusals(&[(&ledger_run.system, count - ledger_ok), (&sqlite_run.system, count - sqlite_ok)]);
        self.target(
            format!("apply --batch {batch}: ledger ÷ SQLite service throughput"),
            ledger_run.throughput() / sqlite_run.throughput(),
            1.5,
            false,
        );
        self.target(
            "  the same, ledger commit path only (row 2)".to_owned(),
            commit_path.throughput() / sqlite_run.throughput(),
            1.5,
            false,
        );
        Ok(())
    }

    /// (b) `execute_batch` of decoded requests, 8,000 per commit, beside SQLite and bare redb on
    /// the same allocations, interleaved commit by commit with the order rotating.
    fn library_batch(&mut self) -> Result<(), String> {
        let commits = (self.options.commands as usize).div_ceil(LIBRARY_BATCH).max(LIBRARY_COMMITS_MIN);
        progress(&format!("(b) library batch API: {} allocations, {LIBRARY_BATCH} per commit", commits * LIBRARY_BATCH));
        let mut stream = Allocations::new("b-", self.options.customers, SEED ^ 0xB);
        let mut runs = [Run::ledger("ledger execute_batch"), Run::new("SQLite (rusqlite)"), Run::new("bare redb transfer")];
        let mut refused = [0usize; 3];
        for commit in 0..commits {
            let allocations = stream.take_vec(LIBRARY_BATCH);
            let requests = workload::decode(&allocations);
            for turn in 0..3 {
                let system = (commit + turn) % 3;
                let started = Instant::now();
                refused[system] += match system {
                    LEDGER => workload::refusals(&self.ledger().execute_batch(&requests)).0,
                    SQLITE => sqlite_refusals(&self.sqlite().allocate_batch(&allocations).map_err(failed("SQLite"))?),
                    _ => self.bare().transfer_batch(&allocations).map(|()| 0).map_err(failed("bare redb"))?,
                };
                runs[system].record(LIBRARY_BATCH, started.elapsed());
            }
        }
        let [mut ledger_run, sqlite_run, bare_run] = runs;
        self.finish_ledger(&mut ledger_run)?;
        for (system, run) in [(LEDGER, &ledger_run), (SQLITE, &sqlite_run), (BARE, &bare_run)] {
            self.committed[system] += run.commands - refused[system];
        }
        let commit_path = ledger_run.commit_path();
        print_section(
            &format!("(b) library batch API, {LIBRARY_BATCH} per commit (latency per commit)"),
            &[&ledger_run, &commit_path, &sqlite_run, &bare_run],
            false,
        );
        print_deferred(&ledger_run);
        print_refusals(&[(&ledger_run.system, refused[LEDGER]), (&sqlite_run.system, refused[SQLITE])]);
        let customers = self.options.customers;
        let bound = if customers >= 1_000_000 { 1.5 } else { 1.0 };
        self.target(
            format!("execute_batch ×{LIBRARY_BATCH} at {customers} customers: ledger ÷ SQLite throughput"),
            ledger_run.throughput() / sqlite_run.throughput(),
            bound,
            false,
        );
        self.target(
            "  the same, ledger commit path only (row 2)".to_owned(),
            commit_path.throughput() / sqlite_run.throughput(),
            bound,
            false,
        );
        println!("  batched throughput at 1,000,000 customers >= 0.5x that at 10,000: compare the ledger row of two runs");
        Ok(())
    }

    /// (c) one allocation per durable commit (`Ledger::execute`) beside one bare redb durable
    /// commit of one insert, one bare redb transfer and one SQLite allocation, in rotation.
    fn single_durable(&mut self) -> Result<(), String> {
        let count = self.options.singles as usize;
        progress(&format!("(c) single durable commands: {count} each"));
        let allocations = Allocations::new("c-", self.options.customers, SEED ^ 0xC).take_vec(count);
        let requests = workload::decode(&allocations);
        let mut runs = [
            Run::ledger("ledger execute"),
            Run::new("SQLite allocation"),
            Run::new("bare redb transfer"),
            Run::new("bare redb commit (1 insert)"),
        ];
        let mut refused = [0usize; 3];
        for (index, (allocation, request)) in allocations.iter().zip(&requests).enumerate() {
            for turn in 0..4 {
                let system = (index + turn) % 4;
                let one = std::slice::from_ref(allocation);
                let started = Instant::now();
                match system {
                    LEDGER => refused[LEDGER] += usize::from(!self.ledger().execute(request).is_ok()),
                    SQLITE => refused[SQLITE] += sqlite_refusals(&self.sqlite().allocate_batch(one).map_err(failed("SQLite"))?),
                    BARE => self.bare().transfer_batch(one).map_err(failed("bare redb"))?,
                    _ => self.commit().commit_one().map_err(failed("bare redb"))?,
                }
                runs[system].record(1, started.elapsed());
            }
        }
        for system in [LEDGER, SQLITE, BARE] {
            self.committed[system] += count - refused[system];
        }
        print_section(
            "(c) single durable command (latency per command; ratio: ledger p50 ÷ p50)",
            &[&runs[0], &runs[1], &runs[2], &runs[3]],
            true,
        );
        print_refusals(&[(&runs[0].system, refused[0]), (&runs[1].system, refused[1])]);
        let ratio = runs[0].latency(0.5).as_secs_f64() / runs[3].latency(0.5).as_secs_f64().max(1e-9);
        self.target("single durable command: ledger p50 ÷ bare redb commit p50".to_owned(), ratio, 1.3, true);
        Ok(())
    }

    /// (d) `--singles` single durable commands from 1 thread and as many from `--threads`
    /// threads sharing one `Arc<Ledger>`; the same for bare redb commits as the floor. The four
    /// runs alternate in rounds, since this machine's fsync latency changes over time.
    fn threads(&mut self) -> Result<(), String> {
        let (count, threads) = (self.options.singles as usize, self.options.threads as usize);
        progress(&format!("(d) threads: {count} single durable commands from 1 and from {threads} threads, in {THREAD_ROUNDS} rounds"));
        let ledger = Arc::new(self.ledger.take().expect("the ledger is open"));
        let mut stream = Allocations::new("d-", self.options.customers, SEED ^ 0xD);
        let mut runs = [
            Run::ledger("ledger, 1 thread"),
            Run::ledger(&format!("ledger, {threads} threads")),
            Run::new("bare redb commit, 1 thread"),
            Run::new(&format!("bare redb commit, {threads} threads")),
        ];
        let mut refused = 0;
        let mut key = 1 << 40;
        let mut groups = [CommitStats::default(); 2];
        for round in 0..THREAD_ROUNDS {
            let share = count / THREAD_ROUNDS + usize::from(round < count % THREAD_ROUNDS);
            for (index, run) in runs.iter_mut().enumerate() {
                let width = if index % 2 == 0 { 1 } else { threads };
                if index < 2 {
                    let before = ledger.commit_stats();
                    refused += ledger_threads(&ledger, &workload::decode(&stream.take_vec(share)), width, run);
                    groups[index] += ledger.commit_stats().since(&before);
                } else {
                    commit_threads(self.commit().database(), share, width, key, run)?;
                    key += share as u64;
                }
            }
        }
        self.ledger = Some(Arc::try_unwrap(ledger).map_err(|_| "a thread kept the ledger".to_owned())?);
        self.committed[LEDGER] += 2 * count - refused;
        print_section(
            &format!("(d) {threads} threads against 1 (latency per command; throughput: commands ÷ wall time)"),
            &[&runs[0], &runs[1], &runs[2], &runs[3]],
            None,
        );
        let (ledger_ratio, bare_ratio) = (runs[1].throughput() / runs[0].throughput(), runs[3].throughput() / runs[2].throughput());
        println!("  {threads} threads ÷ 1 thread throughput: ledger {ledger_ratio:.2}x, bare redb {bare_ratio:.2}x");
        for (run, group) in runs.iter().zip(&groups) {
            print_groups(run, group);
        }
        print_refusals(&[("the ledger", refused)]);
        self.target(format!("{threads} threads ÷ 1 thread of single durable commands"), ledger_ratio, 8.0, false);
        Ok(())
    }

    /// (e) Verifies the ledger (which also checkpoints it and builds its history indexes), closes
    /// every system, compacts its file, and divides the growth since the compacted setup by the
    /// allocations it committed; then the ledger's growth table by table.
    fn on_disk_size(&mut self) -> Result<(), String> {
        progress("(e) verifying the ledger and compacting the files");
        let started = Instant::now();
        let report = self.ledger().verify().map_err(failed("verify"))?;
        println!(
            "\nverify: ok, {} transactions replayed in {:.1} s (not measured above)",
            report.transactions,
            started.elapsed().as_secs_f64()
        );
        drop(self.ledger.take());
        drop(self.bare.take());
        let paths = [self.scratch.path("ledger.redb"), self.scratch.path("sqlite.db"), self.scratch.path("bare.redb")];
        let raw = [file_size(&paths[LEDGER]), sqlite_size(&paths[SQLITE]), file_size(&paths[BARE])];
        let sqlite = self.sqlite.take().expect("SQLite is open");
        sqlite.compact().map_err(failed("SQLite VACUUM"))?;
        drop(sqlite);
        BareRedb::compact(&paths[LEDGER]).map_err(failed("compacting"))?;
        BareRedb::compact(&paths[BARE]).map_err(failed("compacting"))?;
        let compacted = [file_size(&paths[LEDGER]), sqlite_size(&paths[SQLITE]), file_size(&paths[BARE])];
        println!("\n(e) on disk: growth since the compacted setup ÷ allocations committed");
        println!("  {:<30} {:>12} {:>14} {:>14} {:>12}", "system", "allocations", "raw B/alloc", "compacted", "B/alloc");
        let names = ["ledger (redb)", "SQLite (VACUUM)", "bare redb transfer"];
        for system in [LEDGER, SQLITE, BARE] {
            let allocations = self.committed[system].max(1) as f64;
            println!(
                "  {:<30} {:>12} {:>14.0} {:>14} {:>12.0}",
                names[system],
                self.committed[system],
                raw[system].saturating_sub(self.sizes_before[system]) as f64 / allocations,
                format_bytes(compacted[system]),
                compacted[system].saturating_sub(self.sizes_before[system]) as f64 / allocations
            );
        }
        print_table_growth(&self.tables_before, &table_stats(&paths[LEDGER])?, self.committed[LEDGER]);
        let per_allocation = compacted[LEDGER].saturating_sub(self.sizes_before[LEDGER]) as f64 / self.committed[LEDGER].max(1) as f64;
        self.targets.push(Target::spread(
            "on disk after compaction, bytes per allocation (phases a–d)".to_owned(),
            &[per_allocation],
            160.0,
            true,
            Unit::Bytes,
        ));
        Ok(())
    }

    fn target(&mut self, what: String, measured: f64, bound: f64, at_most: bool) {
        self.targets.push(Target { what, measured, range: None, bound, at_most, unit: Unit::Ratio });
    }
}

/// Writes `count` allocations as JSON lines with ids `<prefix><n>`: the input of phases (a) and (f).
fn write_input(path: &Path, prefix: &str, count: usize, customers: u32) -> Result<(), String> {
    let mut writer = BufWriter::new(File::create(path).map_err(failed("writing the input"))?);
    let mut stream = Allocations::new(prefix, customers, SEED);
    for _ in 0..count {
        writeln!(writer, "{}", stream.next_allocation().to_line()).map_err(failed("writing the input"))?;
    }
    writer.flush().map_err(failed("writing the input"))
}

/// Each table of a closed redb file: (entries, bytes in its pages).
fn table_stats(path: &Path) -> Result<BTreeMap<String, (u64, u64)>, String> {
    use redb::{ReadableDatabase, ReadableTableMetadata, TableHandle};
    let db = redb::Database::open(path).map_err(failed("opening the ledger file"))?;
    let txn = db.begin_read().map_err(failed("reading the ledger file"))?;
    let mut tables = BTreeMap::new();
    for handle in txn.list_tables().map_err(failed("listing tables"))? {
        let name = handle.name().to_owned();
        let table = txn.open_untyped_table(handle).map_err(failed("opening a table"))?;
        let stats = table.stats().map_err(failed("table stats"))?;
        let pages = stats.leaf_pages() + stats.branch_pages();
        tables.insert(name, (table.len().map_err(failed("table length"))?, pages * REDB_PAGE_BYTES));
    }
    Ok(tables)
}

fn print_table_growth(before: &BTreeMap<String, (u64, u64)>, after: &BTreeMap<String, (u64, u64)>, allocations: usize) {
    println!("  ledger tables after compaction (pages of {REDB_PAGE_BYTES} B; growth ÷ {allocations} allocations):");
    for (name, (entries, bytes)) in after {
        let (entries_before, bytes_before) = before.get(name).copied().unwrap_or_default();
        println!(
            "    {name:<18} {:>10} entries (+{:>9}) {:>12} {:>10.0} B/alloc",
            entries,
            entries.saturating_sub(entries_before),
            format_bytes(*bytes),
            bytes.saturating_sub(bytes_before) as f64 / allocations.max(1) as f64
        );
    }
}

fn sqlite_refusals(outcomes: &[Outcome]) -> usize {
    outcomes.iter().filter(|outcome| !matches!(outcome, Outcome::Committed(_))).count()
}

/// Result lines of a file that say `"ok":true`.
fn count_committed(path: &Path) -> Result<usize, String> {
    let reader = BufReader::new(File::open(path).map_err(failed("reading results"))?);
    let mut committed = 0;
    for line in reader.lines() {
        committed += usize::from(line.map_err(failed("reading results"))?.contains(r#""ok":true"#));
    }
    Ok(committed)
}

/// Runs `requests` through `Ledger::execute` from `threads` threads (request `i` on thread
/// `i % threads`) and adds them to `run`, timed by wall clock. Returns the refusals.
fn ledger_threads(ledger: &Arc<Ledger>, requests: &[Request], threads: usize, run: &mut Run) -> usize {
    let started = Instant::now();
    let results: Vec<(Vec<Duration>, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let ledger = Arc::clone(ledger);
                scope.spawn(move || {
                    let mut latencies = Vec::new();
                    let mut refused = 0;
                    for request in requests.iter().skip(thread).step_by(threads) {
                        let one = Instant::now();
                        refused += usize::from(!ledger.execute(request).is_ok());
                        latencies.push(one.elapsed());
                    }
                    (latencies, refused)
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap_or_default()).collect()
    });
    run.commands += requests.len();
    run.busy += started.elapsed();
    let mut refused = 0;
    for (latencies, thread_refused) in results {
        run.latencies.extend(latencies);
        refused += thread_refused;
    }
    refused
}

/// `count` bare redb durable commits of one insert from `threads` threads (keys from
/// `first_key`), added to `run`.
fn commit_threads(db: &redb::Database, count: usize, threads: usize, first_key: u64, run: &mut Run) -> Result<(), String> {
    let started = Instant::now();
    let results: Vec<Result<Vec<Duration>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                scope.spawn(move || {
                    let mut latencies = Vec::new();
                    for index in (thread..count).step_by(threads) {
                        let one = Instant::now();
                        bare_redb::commit_one_shared(db, first_key + index as u64).map_err(failed("bare redb"))?;
                        latencies.push(one.elapsed());
                    }
                    Ok(latencies)
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap_or_else(|_| Err("a thread panicked".to_owned()))).collect()
    });
    run.commands += count;
    run.busy += started.elapsed();
    for latencies in results {
        run.latencies.extend(latencies?);
    }
    Ok(())
}

/// A section: its title and one row per system. With `ratio_by_latency` set, each baseline row
/// also gets the ratio of each ledger row against it: throughput (ledger ÷ baseline, higher is
/// better for the ledger) or p50 latency (ledger ÷ baseline, lower is better).
fn print_section(title: &str, runs: &[&Run], ratio_by_latency: impl Into<Option<bool>>) {
    let ratio_by_latency = ratio_by_latency.into();
    let ledgers: Vec<&Run> = if ratio_by_latency.is_some() { runs.iter().copied().filter(|run| run.ledger).collect() } else { Vec::new() };
    println!("\n{title}");
    let headers: String = ledgers.iter().enumerate().map(|(index, _)| format!(" {:>9}", format!("÷ row {}", index + 1))).collect();
    println!("  {:<38} {:>9} {:>13} {:>10} {:>10}{headers}", "system", "commands", "throughput/s", "p50", "p99");
    for run in runs {
        let ratios: String = ledgers
            .iter()
            .map(|ledger| match (run.ledger, ratio_by_latency) {
                (true, _) | (_, None) => format!(" {:>9}", ""),
                (false, Some(true)) => format!(" {:>8.2}x", ledger.latency(0.5).as_secs_f64() / run.latency(0.5).as_secs_f64().max(1e-12)),
                (false, Some(false)) => format!(" {:>8.2}x", ledger.throughput() / run.throughput()),
            })
            .collect();
        println!(
            "  {:<38} {:>9} {:>13.0} {:>10} {:>10}{ratios}",
            run.system,
            run.commands,
            run.throughput(),
            format_duration(run.latency(0.5)),
            format_duration(run.latency(0.99))
        );
    }
}

/// How `run`'s commands shared durable commits: commands per commit, and each commit cycle (the
/// run's wall time ÷ commits) split into the journal write with its sync and the rest (deciding,
/// waking callers, handing over).
fn print_groups(run: &Run, group: &CommitStats) {
    let commits = group.commits.max(1);
    let cycle = run.busy / u32::try_from(commits).unwrap_or(u32::MAX);
    let committing = group.committing / u32::try_from(commits).unwrap_or(u32::MAX);
    println!(
        "  {}: {} durable commits of {:.1} commands; per commit {} writing and syncing, {} the rest of the cycle ({} in all)",
        run.system,
        group.commits,
        group.commands as f64 / commits as f64,
        format_duration(committing),
        format_duration(cycle.saturating_sub(committing)),
        format_duration(cycle)
    );
}

fn print_deferred(run: &Run) {
    let parts: Vec<String> = run.deferred.iter().map(|(what, elapsed)| format!("{what} {}", format_duration(*elapsed))).collect();
    if !parts.is_empty() {
        println!("  row 1 includes the ledger's deferred work after the phase: {}; row 2 leaves it out", parts.join(", "));
    }
}

fn print_refusals(runs: &[(&str, usize)]) {
    for (system, refused) in runs {
        if *refused > 0 {
            println!("  warning: {system} refused {refused} commands (they count in its throughput)");
        }
    }
}

fn print_targets(targets: &[Target]) {
    println!("\ntargets (ratios measured side by side in this run)");
    for target in targets {
        let met = if target.at_most { target.measured <= target.bound } else { target.measured >= target.bound };
        let relation = if target.at_most { "<=" } else { ">=" };
        let unit = target.unit;
        let measured = match target.range {
            Some((min, max)) => format!("{} ({}–{})", unit.format(target.measured), unit.format(min), unit.format(max)),
            None => unit.format(target.measured),
        };
        let bound = unit.format(target.bound);
        println!("  {:<72} {measured:>26}   target {relation} {bound:<8} {}", target.what, if met { "met" } else { "MISSED" });
    }
}

fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds >= 1.0 {
        format!("{seconds:.2} s")
    } else if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.0} µs", seconds * 1e6)
    }
}

fn format_bytes(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.2} GiB", bytes as f64 / f64::from(1u32 << 30))
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    }
}
