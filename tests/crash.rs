//! SIGKILL of `partner-ledger apply` at random moments, many times over one long workload, loses
//! no acknowledged result (a replay answers it as a duplicate with the same seq and result),
//! half-applies nothing (`verify` passes after every kill), and ends with exactly the balances and
//! the head (seq and chain hash) of one uninterrupted run. The same holds for kills in the work
//! deferred past the commits: during the closing checkpoint of the state tables and during the
//! catch-up of the history tables (the posting index and adjust records).
#[path = "common/backends.rs"]
mod backends;

use backends::{Seeded, balance_queries, history_queries, workload};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const CUSTOMERS: usize = 60;
const LINES: usize = 3000;
const KILLS: u64 = 30;
const BATCH: &str = "16";
/// No kill waits for more answers than this: the rest of the workload keeps the child busy.
const LAST_KILL_AT: usize = LINES - 400;

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_partner-ledger"))
}

fn run(arguments: &[&str]) -> Output {
    let output = binary().args(arguments).output().expect("run partner-ledger");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{arguments:?} panicked: {stderr}");
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// `verify` on `db` must pass.
fn verify(db: &Path, after: &str) {
    let output = run(&["verify", "--db", db.to_str().expect("UTF-8 path")]);
    let stdout = text(&output.stdout);
    assert!(output.status.success() && stdout.starts_with("verify: ok"), "{after}: verify failed: {stdout}{}", text(&output.stderr));
}

/// `head` of `db`: (seq, "SEQ:HASH").
fn head(db: &Path) -> (u64, String) {
    let output = run(&["head", "--db", db.to_str().expect("UTF-8 path")]);
    assert!(output.status.success(), "head: {}", text(&output.stderr));
    let line = text(&output.stdout).trim().to_owned();
    let seq = line.split(':').next().and_then(|seq| seq.parse().ok()).unwrap_or_else(|| panic!("head printed {line:?}"));
    (seq, line)
}

/// Answers of `queries` applied to `db` (queries commit nothing).
fn answers(db: &Path, queries: &[String]) -> Vec<Value> {
    let input = db.with_extension("queries.jsonl");
    std::fs::write(&input, queries.join("\n") + "\n").expect("write queries");
    let output = run(&["apply", "--db", db.to_str().expect("UTF-8 path"), input.to_str().expect("UTF-8 path")]);
    assert!(output.status.success(), "queries: {}", text(&output.stderr));
    text(&output.stdout).lines().map(|line| serde_json::from_str(line).expect("a JSON result line")).collect()
}

/// A child `apply` on `db`, its input fed in chunks by one thread and its output collected by
/// another.
struct Applying {
    child: Child,
    feeder: JoinHandle<()>,
    printed: mpsc::Receiver<Value>,
    collector: JoinHandle<Vec<u8>>,
}

impl Applying {
    /// Starts `apply` and feeds it `lines` in chunks of 1 to 64 lines, pausing up to 2 ms
    /// between chunks, so that batches of many sizes form and a kill finds it reading,
    /// deciding or committing.
    fn start(db: &Path, lines: &[String], seed: u64) -> Applying {
        let mut child = binary()
            .args(["apply", "--db", db.to_str().expect("UTF-8 path"), "--batch", BATCH])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn partner-ledger apply");
        let mut stdin = child.stdin.take().expect("stdin");
        let lines = lines.to_vec();
        let feeder = std::thread::spawn(move || {
            let mut seed = Seeded(seed);
            let mut start = 0;
            while start < lines.len() {
                let end = (start + 1 + usize::try_from(seed.below(64)).expect("small")).min(lines.len());
                let chunk = lines[start..end].join("\n") + "\n";
                if stdin.write_all(chunk.as_bytes()).is_err() {
                    return; // killed
                }
                start = end;
                std::thread::sleep(Duration::from_micros(seed.below(2000)));
            }
        });
        let mut stdout = child.stdout.take().expect("stdout");
        let (sender, printed) = mpsc::channel();
        let collector = std::thread::spawn(move || {
            // Only complete lines are acknowledged: a kill may cut the last one short.
            let (mut pending, mut buffer) = (Vec::new(), [0u8; 8192]);
            while let Ok(read) = stdout.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                pending.extend_from_slice(&buffer[..read]);
                while let Some(end) = pending.iter().position(|byte| *byte == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let value = serde_json::from_slice(&line).expect("a complete result line is JSON");
                    if sender.send(value).is_err() {
                        return pending;
                    }
                }
            }
            pending
        });
        Applying { child, feeder, printed, collector }
    }

    /// Waits until `count` result lines were printed, then a moment more, then sends SIGKILL.
    /// Returns every complete line printed and whether a torn line was cut off.
    fn kill_after(mut self, count: usize, jitter: Duration) -> (Vec<Value>, bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut printed = Vec::new();
        while printed.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.printed.recv_timeout(left) {
                Ok(value) => printed.push(value),
                Err(error) => panic!("apply printed {} of the {count} lines awaited: {error}", printed.len()),
            }
        }
        std::thread::sleep(jitter);
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("wait");
        assert!(!status.success(), "killed, apply cannot have succeeded");
        printed.extend(self.printed.iter());
        let torn = !self.collector.join().expect("collector").is_empty();
        let _ = self.feeder.join();
        (printed, torn)
    }

    /// Lets it run to the end of its input.
    fn finish(self) -> Vec<Value> {
        self.feeder.join().expect("feeder");
        let output = self.child.wait_with_output().expect("wait");
        let stderr = text(&output.stderr);
        assert!(output.status.success() && stderr.is_empty(), "apply failed: {stderr}");
        let printed: Vec<Value> = self.printed.iter().collect();
        assert!(self.collector.join().expect("collector").is_empty());
        printed
    }
}

/// Figures of the run.
#[derive(Debug, Default)]
struct Figures {
    kills: u64,
    lines_acknowledged_before_kills: usize,
    committed_but_unacknowledged_at_kill: u64,
    torn_output_lines: u64,
    duplicates_answered: usize,
}

/// The first run's answers, line by line, on a fresh file and without interruption.
fn uninterrupted(db: &Path, lines: &[String]) -> Vec<Value> {
    let input = db.with_extension("jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").expect("write the workload");
    let output = run(&["apply", "--db", db.to_str().expect("UTF-8 path"), "--batch", BATCH, input.to_str().expect("UTF-8 path")]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let answers: Vec<Value> = text(&output.stdout).lines().map(|line| serde_json::from_str(line).expect("JSON")).collect();
    assert_eq!(answers.len(), lines.len());
    let committed = answers.iter().filter(|answer| answer["ok"] == true).count();
    assert!(committed > lines.len() * 9 / 10, "the workload mostly commits: {committed}");
    assert!(committed < lines.len(), "the workload has commands that fail as they should");
    answers
}

/// Checks the answers one run printed against what earlier runs acknowledged and against the
/// uninterrupted run. `acknowledged[i]` is the last answer printed for line i.
fn check_answers(printed: &[Value], acknowledged: &mut Vec<Value>, reference: &[Value], run: u64, figures: &mut Figures) {
    for (index, answer) in printed.iter().enumerate() {
        let original = &reference[index];
        assert_eq!(answer["id"], original["id"], "run {run}: answers come in input order");
        let what = format!("run {run}, line {index}: {answer}");
        if original["ok"] == true {
            // Committed in the uninterrupted run: here with the same seq and result, first as
            // new, and once acknowledged (or committed unacknowledged) as a duplicate.
            assert_eq!(answer["ok"], true, "{what} (uninterrupted: {original})");
            assert_eq!((&answer["seq"], &answer["result"]), (&original["seq"], &original["result"]), "{what}");
            if let Some(earlier) = acknowledged.get(index) {
                assert_eq!(answer["duplicate"], true, "{what}: acknowledged before as {earlier}, so a replay is a duplicate");
            }
            figures.duplicates_answered += usize::from(answer["duplicate"] == true);
        } else {
            // Failed in the uninterrupted run: it never commits (sent again later it goes back
            // in time), and the first time it is decided it fails the same way.
            assert_eq!(answer["ok"], false, "{what} (uninterrupted: {original})");
            assert_ne!(answer["error"]["code"], "storage", "{what}");
            if index >= acknowledged.len() && answer["error"]["code"] != "time_went_backwards" {
                assert_eq!(answer["error"], original["error"], "{what}");
            }
        }
        if index >= acknowledged.len() {
            acknowledged.push(answer.clone());
        }
    }
}

#[test]
fn killing_apply_loses_no_acknowledged_command_and_half_applies_nothing() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let lines = workload(CUSTOMERS, LINES);
    let reference_db = dir.path().join("uninterrupted.redb");
    let reference = uninterrupted(&reference_db, &lines);
    let db = dir.path().join("killed.redb");
    let mut acknowledged: Vec<Value> = Vec::new();
    let mut figures = Figures::default();
    let mut seed = Seeded(2026);
    for run in 0..KILLS {
        // Kill somewhere past what is acknowledged, spreading the kills over the workload but
        // leaving enough of it that the child cannot finish within the jitter.
        let frontier = acknowledged.len();
        let span = (LAST_KILL_AT.saturating_sub(frontier)) / usize::try_from(KILLS - run).expect("small");
        let target = frontier + 1 + usize::try_from(seed.below(u64::try_from(span.max(1) * 2).expect("small"))).expect("small");
        let target = target.min(LAST_KILL_AT.max(frontier + 1));
        let jitter = Duration::from_micros(seed.below(3000));
        let (printed, torn) = Applying::start(&db, &lines, seed.below(u64::MAX)).kill_after(target, jitter);
        figures.kills += 1;
        figures.torn_output_lines += u64::from(torn);
        check_answers(&printed, &mut acknowledged, &reference, run, &mut figures);
        // Nothing half-applied: the file verifies, and it holds every acknowledged commit. The
        // checks open a copy, since opening writes (recovery, checkpoint): the next `apply`
        // must recover the killed file by itself.
        let copy = dir.path().join("after-kill.redb");
        std::fs::copy(&db, &copy).expect("copy the killed file");
        verify(&copy, &format!("kill {run}"));
        let (seq, _) = head(&copy);
        let acknowledged_seq = acknowledged.iter().filter_map(|answer| answer["seq"].as_u64()).max().unwrap_or(0);
        assert!(seq >= acknowledged_seq, "kill {run}: head seq {seq} is behind the acknowledged seq {acknowledged_seq}");
        figures.committed_but_unacknowledged_at_kill += u64::from(seq > acknowledged_seq);
    }
    figures.lines_acknowledged_before_kills = acknowledged.len();
    assert!(acknowledged.len() > LINES / 2, "the kills were spread over the workload: {}", acknowledged.len());
    // The last replay runs to the end.
    let printed = Applying::start(&db, &lines, 7).finish();
    assert_eq!(printed.len(), LINES);
    check_answers(&printed, &mut acknowledged, &reference, KILLS, &mut figures);
    verify(&db, "the last run");
    assert_eq!(head(&db), head(&reference_db), "the same journal, hash for hash, as the uninterrupted run");
    let mut queries = balance_queries(CUSTOMERS);
    queries.extend(history_queries(CUSTOMERS));
    assert_eq!(answers(&db, &queries), answers(&reference_db, &queries), "the same balances as the uninterrupted run");
    println!("crash: {figures:?} in {:?}", started.elapsed());
}

/// The deferred work's workload: long enough that the closing checkpoint and the history
/// catch-up take a while, with no checkpoint before the close (fewer than 65,536 commits).
const DEFERRED_CUSTOMERS: usize = 400;
const DEFERRED_LINES: usize = 24_000;
/// Kills per kind of deferred work.
const DEFERRED_KILLS: u64 = 10;

/// What the file's `meta` table says of the deferred work: whether the checkpoint and the history
/// tables reach the journal head (its last record). Read with redb directly, on a copy (opening
/// repairs the file).
fn deferred_state(db: &Path, scratch: &Path) -> (bool, bool) {
    const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
    const JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("journal");
    std::fs::copy(db, scratch).expect("copy");
    let database = redb::Database::open(scratch).expect("open the copy with redb");
    let txn = database.begin_read().expect("read");
    let last = txn.open_table(JOURNAL).expect("journal table").last().expect("read the journal").map(|(key, _)| key.value());
    let meta = txn.open_table(META).expect("meta table");
    let seq = |name: &str| {
        meta.get(name).expect("read meta").map(|value| partner_ledger::records::decode_head(value.value()).expect("a head").seq)
    };
    (seq("checkpoint") == last, seq("history") == last)
}

/// When to stop a child `apply`.
#[derive(Clone, Copy)]
enum Stop {
    /// Let it exit by itself.
    Never,
    /// SIGKILL this long after its last answer.
    AfterLastAnswer(Duration),
    /// SIGKILL this long after it started.
    AfterStart(Duration),
}

/// Runs `apply --batch 1000` of `input` on `db` and stops it as `stop` says. Returns the answers
/// printed and the time from the last answer (or the start, for [`Stop::AfterStart`]) to its end.
fn apply_and_stop(db: &Path, input: &[String], stop: Stop) -> (Vec<Value>, Duration) {
    let started = Instant::now();
    let mut child = binary()
        .args(["apply", "--db", db.to_str().expect("UTF-8 path"), "--batch", "1000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn partner-ledger apply");
    let text = input.join("\n") + "\n";
    let mut stdin = child.stdin.take().expect("stdin");
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(text.as_bytes());
    });
    if let Stop::AfterStart(delay) = stop {
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait().expect("wait");
        feeder.join().expect("feeder");
        return (Vec::new(), started.elapsed());
    }
    let mut stdout = child.stdout.take().expect("stdout");
    let (mut printed, mut pending, mut buffer) = (Vec::new(), Vec::new(), [0u8; 65536]);
    while printed.len() < input.len() {
        let read = stdout.read(&mut buffer).expect("read the answers");
        assert!(read > 0, "apply ended after {} of {} answers", printed.len(), input.len());
        pending.extend_from_slice(&buffer[..read]);
        while let Some(end) = pending.iter().position(|byte| *byte == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            printed.push(serde_json::from_slice::<Value>(&line).expect("a result line is JSON"));
        }
    }
    let last_answer = Instant::now();
    if let Stop::AfterLastAnswer(delay) = stop {
        std::thread::sleep(delay);
        let _ = child.kill();
    }
    let status = child.wait().expect("wait");
    feeder.join().expect("feeder");
    if let Stop::Never = stop {
        assert!(status.success(), "apply failed");
    }
    (printed, last_answer.elapsed())
}

/// A random delay within `span`.
fn within(seed: &mut Seeded, span: Duration) -> Duration {
    Duration::from_micros(seed.below(u64::try_from(span.as_micros()).expect("small").max(1)))
}

#[test]
fn a_kill_during_the_closing_checkpoint_or_the_history_catch_up_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lines = workload(DEFERRED_CUSTOMERS, DEFERRED_LINES);
    let reference_db = dir.path().join("uninterrupted.redb");
    let reference = uninterrupted(&reference_db, &lines);
    let scratch = dir.path().join("scratch.redb");
    assert_eq!(deferred_state(&reference_db, &scratch), (true, false), "a clean close checkpoints; history waits for a history query");
    let mut queries = balance_queries(DEFERRED_CUSTOMERS);
    queries.extend(history_queries(DEFERRED_CUSTOMERS));
    std::fs::copy(&reference_db, &scratch).expect("copy");
    let expected = answers(&scratch, &queries);
    let killed = dir.path().join("killed.redb");
    let check = |what: &str| {
        verify(&killed, what);
        assert_eq!(head(&killed), head(&reference_db), "{what}: the same head as the uninterrupted run");
        assert_eq!(answers(&killed, &queries), expected, "{what}: the same answers as the uninterrupted run");
    };
    let mut seed = Seeded(2027);

    // (a) The closing checkpoint: every command answered, then SIGKILL somewhere in the close
    // (its length measured on one uninterrupted close of the same workload).
    let (_, close) = apply_and_stop(&dir.path().join("timing.redb"), &lines, Stop::Never);
    let mut interrupted = 0;
    for kill in 0..DEFERRED_KILLS {
        let _ = std::fs::remove_file(&killed);
        let delay = within(&mut seed, close);
        let (printed, _) = apply_and_stop(&killed, &lines, Stop::AfterLastAnswer(delay));
        for (index, answer) in printed.iter().enumerate() {
            let original = &reference[index];
            let what = format!("checkpoint kill {kill}, line {index}");
            assert_eq!(
                (&answer["ok"], &answer["seq"], &answer["result"]),
                (&original["ok"], &original["seq"], &original["result"]),
                "{what}"
            );
        }
        interrupted += u32::from(!deferred_state(&killed, &scratch).0);
        check(&format!("checkpoint kill {kill}, {delay:?} after the last answer"));
    }
    assert!(interrupted > 0, "some kills landed before the closing checkpoint committed");
    println!(
        "crash (checkpoint): {interrupted} of {DEFERRED_KILLS} kills before the closing checkpoint committed; the close took {close:?}"
    );

    // (b) The history catch-up: a statement query on the checkpointed file makes the ledger
    // write the posting index and adjust records of the whole journal first; SIGKILL during it.
    let statement = [history_queries(DEFERRED_CUSTOMERS)[0].clone()];
    // The catch-up runs after the open and before the answer: kills are spread from the end of
    // an open (timed with a query that reads no history) to the end of the whole run.
    let timed = |source: &Path, query: &[String]| {
        std::fs::copy(source, &killed).expect("copy");
        let started = Instant::now();
        let (printed, _) = apply_and_stop(&killed, query, Stop::Never);
        assert_eq!(printed.len(), 1);
        started.elapsed()
    };
    let open = timed(&reference_db, &balance_queries(1)[..1]);
    let run = timed(&reference_db, &statement);
    let mut interrupted = 0;
    for kill in 0..DEFERRED_KILLS {
        std::fs::copy(&reference_db, &killed).expect("copy");
        let delay = open + within(&mut seed, run.saturating_sub(open));
        apply_and_stop(&killed, &statement, Stop::AfterStart(delay));
        interrupted += u32::from(!deferred_state(&killed, &scratch).1);
        check(&format!("history kill {kill}, {delay:?} after the start"));
    }
    assert!(interrupted > 0, "some kills landed before the history catch-up committed");
    println!("crash (history): {interrupted} of {DEFERRED_KILLS} kills before the history catch-up committed; open {open:?}, run {run:?}");

    // (c) A catch-up that merges: the history caught up to the first workload's head, then more
    // commands applied; a statement query then appends each touched account's new postings to
    // its last posting block, rewriting the blocks that have room (format 5). SIGKILL during it.
    let merging = dir.path().join("merging.redb");
    std::fs::copy(&reference_db, &merging).expect("copy");
    apply_and_stop(&merging, &statement, Stop::Never);
    assert_eq!(deferred_state(&merging, &scratch), (true, true), "the statement caught the history up");
    let first_head = head(&merging).0;
    let more = workload(DEFERRED_CUSTOMERS, lines.len() + MERGED_LINES);
    apply_and_stop(&merging, &more[lines.len()..], Stop::Never);
    assert_eq!(deferred_state(&merging, &scratch), (true, false), "the new commands wait for a history query");
    let merged_head = head(&merging);
    std::fs::copy(&merging, &scratch).expect("copy");
    let merged_expected = answers(&scratch, &queries);
    assert!(merged_blocks(&scratch, first_head) > 0, "the uninterrupted catch-up merged into blocks written before it");
    let open = timed(&merging, &balance_queries(1)[..1]);
    let run = timed(&merging, &statement);
    let mut interrupted = 0;
    for kill in 0..DEFERRED_KILLS {
        std::fs::copy(&merging, &killed).expect("copy");
        let delay = open + within(&mut seed, run.saturating_sub(open));
        apply_and_stop(&killed, &statement, Stop::AfterStart(delay));
        interrupted += u32::from(!deferred_state(&killed, &scratch).1);
        let what = format!("merge kill {kill}, {delay:?} after the start");
        verify(&killed, &what);
        assert_eq!(head(&killed), merged_head, "{what}: the same head");
        assert_eq!(answers(&killed, &queries), merged_expected, "{what}: the same answers as the uninterrupted run");
    }
    assert!(interrupted > 0, "some kills landed before the merging catch-up committed");
    println!("crash (merge): {interrupted} of {DEFERRED_KILLS} kills before the merging catch-up committed; open {open:?}, run {run:?}");
}

/// Commands applied after the history was caught up, in part (c).
const MERGED_LINES: usize = 6_000;

/// How many posting blocks of `db` hold postings from both sides of `seq`: blocks a catch-up
/// after `seq` merged new postings into. Read with redb directly.
fn merged_blocks(db: &Path, seq: u64) -> usize {
    const POSTINGS: TableDefinition<(&[u8], u64), &[u8]> = TableDefinition::new("posting_blocks");
    let database = redb::Database::open(db).expect("open with redb");
    let txn = database.begin_read().expect("read");
    let table = txn.open_table(POSTINGS).expect("posting blocks");
    let mut merged = 0;
    for entry in table.iter().expect("iter") {
        let (key, value) = entry.expect("read");
        let block = partner_ledger::records::decode_posting_block(key.value().1, value.value()).expect("a block");
        merged +=
            usize::from(block.first().is_some_and(|posting| posting.seq <= seq) && block.last().is_some_and(|posting| posting.seq > seq));
    }
    merged
}
