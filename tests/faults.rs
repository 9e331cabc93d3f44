//! Injected storage faults — the Nth write or sync failing, or the power going out at it — make
//! the commands they hit answer `storage` (CBC.0999) and change nothing visible; later commands
//! answer `storage` too and nothing panics; the surviving image reopens, verifies, and holds
//! exactly the acknowledged commands (a commit in flight lands whole or not at all).
#[path = "common/backends.rs"]
mod backends;

use backends::{Disk, Fault, Operation, Seeded, balance_queries, history_queries, open_ledger, workload};
use partner_ledger::{Head, Ledger, hex};
use serde_json::Value;
use std::ops::Range;

const CUSTOMERS: usize = 12;
const LINES: usize = 120;

/// The workload with a history query (a statement, which first brings the state and history
/// tables up to date: more writes for faults to hit) after about every third chunk, cut into
/// chunks of 1 to 6 lines. Each chunk is one `execute_lines` call, so one durable commit; a
/// query is a chunk of its own.
fn lines_and_chunks() -> (Vec<String>, Vec<Range<usize>>) {
    let commands = workload(CUSTOMERS, LINES);
    let history = history_queries(CUSTOMERS);
    let mut seed = Seeded(11);
    let (mut lines, mut chunks) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < commands.len() {
        let end = (start + 1 + usize::try_from(seed.below(6)).expect("small")).min(commands.len());
        chunks.push(lines.len()..lines.len() + end - start);
        lines.extend_from_slice(&commands[start..end]);
        if seed.below(3) == 0 {
            chunks.push(lines.len()..lines.len() + 1);
            lines.push(history[usize::try_from(seed.below(history.len() as u64)).expect("small")].clone());
        }
        start = end;
    }
    (lines, chunks)
}

fn head_text(head: &Head) -> String {
    format!("{}:{}", head.seq, hex(&head.hash))
}

/// What a reader can see without the journal: the head and every party's balance (from memory),
/// plus statements and adjust records (read from the redb tables).
fn visible(ledger: &Ledger) -> (String, Vec<Value>, Vec<Value>) {
    let answers = |queries: Vec<String>| ledger.execute_lines(&queries).iter().map(partner_ledger::Response::to_json).collect();
    (head_text(&ledger.head()), answers(balance_queries(CUSTOMERS)), answers(history_queries(CUSTOMERS)))
}

/// One uninterrupted run with the same chunks: every response, and what is visible (and the
/// head) at each chunk boundary.
struct Reference {
    lines: Vec<String>,
    chunks: Vec<Range<usize>>,
    responses: Vec<Value>,
    boundaries: Vec<(String, Vec<Value>, Vec<Value>)>,
}

impl Reference {
    fn new() -> Reference {
        let (lines, chunks) = lines_and_chunks();
        let disk = Disk::new();
        let ledger = open_ledger(&disk).expect("open a fresh ledger");
        let mut responses = Vec::new();
        let mut boundaries = vec![visible(&ledger)];
        for chunk in &chunks {
            responses.extend(ledger.execute_lines(&lines[chunk.clone()]).iter().map(partner_ledger::Response::to_json));
            boundaries.push(visible(&ledger));
        }
        assert!(responses.iter().all(|response| response["ok"] == true || response["error"]["code"] != "storage"));
        let committed = responses.iter().filter(|response| response["seq"].is_u64()).count();
        assert!(committed > LINES * 9 / 10, "the workload should mostly commit: {committed} of {LINES}");
        ledger.verify().expect("the reference verifies");
        Reference { lines, chunks, responses, boundaries }
    }
}

/// Figures of one test, printed at the end.
#[derive(Debug, Default)]
struct Figures {
    runs: u64,
    faults_injected: u64,
    answers_storage: u64,
    images_reopened: u64,
    faults_hitting_a_query: u64,
    in_flight_commit_landed: u64,
    in_flight_commit_lost: u64,
    faults_absorbed_by_redb: u64,
    /// Statements and adjust records read after a fault: [answered storage, answered as before].
    history_answers_after_a_fault: [u64; 2],
}

/// What a run with one fault saw.
struct Run {
    /// Index of the chunk whose commit failed, if any.
    failed_chunk: Option<usize>,
}

/// Runs the workload with `fault` armed at the `n`th `operation`; checks every answer on the
/// faulty ledger; returns the disk and what happened.
fn run_with_fault(reference: &Reference, operation: Operation, n: u64, fault: Fault, figures: &mut Figures) -> (Disk, Run) {
    let disk = Disk::new();
    let ledger = open_ledger(&disk).expect("open a fresh ledger");
    disk.arm(operation, n, fault);
    let mut failed_chunk = None;
    for (index, chunk) in reference.chunks.iter().enumerate() {
        let responses: Vec<Value> =
            ledger.execute_lines(&reference.lines[chunk.clone()]).iter().map(partner_ledger::Response::to_json).collect();
        let storage = responses.iter().filter(|response| response["error"]["code"] == "storage").count();
        if storage == 0 && failed_chunk.is_none() {
            assert_eq!(responses, reference.responses[chunk.clone()], "{operation:?} #{n}: an unfaulted chunk answers as the reference");
            continue;
        }
        // A failed commit fails every command of its batch, and each says so with the SPEC code.
        // Later, nothing can commit any more (redb answers PreviousIo): a command that needs a
        // commit answers `storage`, one that fails on its own merits answers its own error.
        let first_failure = failed_chunk.is_none();
        for response in &responses {
            assert_eq!(response["ok"], false, "{operation:?} #{n}: after a failed commit: {response}");
            if first_failure || response["error"]["code"] == "storage" {
                assert_eq!(response["error"]["code"], "storage", "{operation:?} #{n}: {response}");
                assert_eq!(response["error"]["cbc"], "CBC.0999", "{operation:?} #{n}: {response}");
            }
        }
        figures.answers_storage += u64::try_from(storage).expect("small");
        if first_failure && !reference.responses[chunk.start]["seq"].is_u64() && reference.responses[chunk.start]["ok"] == true {
            figures.faults_hitting_a_query += 1;
        }
        let first = *failed_chunk.get_or_insert(index);
        if first_failure || index + 1 == reference.chunks.len() {
            check_unchanged(&ledger, &reference.boundaries[first], &format!("{operation:?} #{n}"), figures);
        }
    }
    if failed_chunk.is_none() && disk.injected() > 0 {
        figures.faults_absorbed_by_redb += 1;
    }
    figures.runs += 1;
    figures.faults_injected += disk.injected();
    drop(ledger);
    (disk, Run { failed_chunk })
}

/// Nothing visible changed since `before`, the boundary before the failed chunk: the head and
/// every balance are the same.
fn check_unchanged(ledger: &Ledger, before: &(String, Vec<Value>, Vec<Value>), what: &str, figures: &mut Figures) {
    let (head, balances, history) = visible(ledger);
    let (expected_head, expected_balances, expected_history) = before;
    assert_eq!(&head, expected_head, "{what}: the head moved after a failed commit");
    assert_eq!(&balances, expected_balances, "{what}: a balance changed after a failed commit");
    // Statements and adjust records first bring the history tables up to date, a write that
    // redb refuses after an I/O error (PreviousIo): they may answer `storage`, but never
    // something else than before.
    for (answer, expected) in history.iter().zip(expected_history) {
        assert!(answer == expected || answer["error"]["code"] == "storage", "{what}: {answer} (before: {expected})");
        figures.history_answers_after_a_fault[usize::from(answer == expected)] += 1;
    }
}

/// Reopens `image` and checks it: it verifies; it holds the reference's state at the boundary
/// before the failed chunk (nothing of it landed) or, when `may_land`, after it (all of it
/// landed); every acknowledged command answers as a duplicate with its seq and result; and
/// sending the whole workload again ends at the reference's final head.
fn check_image(reference: &Reference, image: &Disk, run: &Run, may_land: bool, what: &str, figures: &mut Figures) {
    let ledger = open_ledger(image).unwrap_or_else(|error| panic!("{what}: the surviving image does not reopen: {error}"));
    figures.images_reopened += 1;
    if let Err(error) = ledger.verify() {
        panic!("{what}: the surviving image does not verify: {error}");
    }
    let last = reference.chunks.len();
    let before = run.failed_chunk.unwrap_or(last);
    let seen = visible(&ledger);
    let boundary = if seen == reference.boundaries[before] {
        figures.in_flight_commit_lost += u64::from(run.failed_chunk.is_some());
        before
    } else if may_land && before < last && seen == reference.boundaries[before + 1] {
        figures.in_flight_commit_landed += 1;
        before + 1
    } else {
        panic!(
            "{what}: the image holds head {} — neither the acknowledged state {} nor that plus the batch in flight",
            seen.0, reference.boundaries[before].0
        );
    };
    let held = reference.chunks.get(boundary).map_or(reference.lines.len(), |chunk| chunk.start);
    let replies = ledger.execute_lines(&reference.lines);
    for (index, (reply, original)) in replies.iter().map(partner_ledger::Response::to_json).zip(&reference.responses).enumerate() {
        if index < held && original["seq"].is_u64() {
            assert_eq!(reply["duplicate"], true, "{what}: line {index} was acknowledged: {reply}");
            assert_eq!((&reply["seq"], &reply["result"]), (&original["seq"], &original["result"]), "{what}: line {index}");
        } else if index >= held {
            assert_eq!(&reply, original, "{what}: line {index}, sent again, answers as in the uninterrupted run");
        }
    }
    assert_eq!(visible(&ledger), reference.boundaries[last], "{what}: after the whole workload again");
    ledger.verify().unwrap_or_else(|error| panic!("{what}: after the whole workload again: {error}"));
}

fn report(name: &str, figures: &Figures) {
    println!("{name}: {figures:?}");
}

/// Fails every write, one run per N, then every sync: each fault that hits a commit answers
/// `storage`; the surviving image (with or without a power loss afterwards) is consistent.
#[test]
fn a_failed_write_or_sync_answers_storage_and_commits_nothing_acknowledged_away() {
    let reference = Reference::new();
    let (writes, syncs) = operations_of_the_workload(&reference);
    for (operation, count) in [(Operation::Write, writes), (Operation::Sync, syncs)] {
        let mut figures = Figures::default();
        for n in 1..=count {
            let (disk, run) = run_with_fault(&reference, operation, n, Fault::Fail, &mut figures);
            assert!(run.failed_chunk.is_some(), "{operation:?} #{n}: the fault fails a commit");
            // The machine stays up: everything written survives, so a commit whose sync failed
            // may have landed (fsync's usual ambiguity); a failed write never lands a commit.
            let may_land = operation == Operation::Sync;
            check_image(
                &reference,
                &disk.after_process_crash(),
                &run,
                may_land,
                &format!("{operation:?} #{n} fails, process restarts"),
                &mut figures,
            );
            // The power goes out after the failure: only what was synced survives.
            let what = format!("{operation:?} #{n} fails, then power loss");
            check_image(&reference, &disk.after_power_loss(|_| false), &run, false, &what, &mut figures);
        }
        assert_eq!(figures.faults_injected, count, "every armed fault was injected");
        report(&format!("failed {operation:?}"), &figures);
    }
}

/// Cuts the power at every write and at every sync of the workload; the unsynced writes that
/// reach the disk are none, all, or a pseudo-random part of them.
#[test]
fn a_power_loss_mid_commit_leaves_the_acknowledged_commands_and_nothing_half_applied() {
    let reference = Reference::new();
    let (writes, syncs) = operations_of_the_workload(&reference);
    for (operation, count) in [(Operation::Write, writes), (Operation::Sync, syncs)] {
        let mut figures = Figures::default();
        for n in 1..=count {
            let (disk, run) = run_with_fault(&reference, operation, n, Fault::PowerLoss, &mut figures);
            assert!(run.failed_chunk.is_some(), "{operation:?} #{n}: a power loss during a commit fails it");
            let mut seed = Seeded(n * 31 + operation as u64);
            let unsynced = disk.unsynced();
            let keep_half: Vec<bool> = (0..unsynced).map(|_| seed.below(2) == 0).collect();
            let keep_prefix = usize::try_from(seed.below(unsynced as u64 + 1)).expect("small");
            let images = [
                ("none", disk.after_power_loss(|_| false)),
                ("all", disk.after_power_loss(|_| true)),
                ("half", disk.after_power_loss(|index| keep_half[index])),
                ("prefix", disk.after_power_loss(|index| index < keep_prefix)),
            ];
            for (kept, image) in images {
                let what = format!("power loss at {operation:?} #{n}, {kept} of {unsynced} unsynced writes kept");
                check_image(&reference, &image, &run, true, &what, &mut figures);
            }
        }
        assert_eq!(figures.faults_injected, count, "every armed fault was injected");
        report(&format!("power loss at {operation:?}"), &figures);
    }
}

/// Faults while the ledger file is being created: opening fails with an error (no panic), and
/// the surviving image opens afterwards as an empty, verified ledger.
#[test]
fn a_fault_while_creating_the_file_fails_the_open_cleanly() {
    let probe = Disk::new();
    let opened = open_ledger(&probe).expect("open a fresh ledger");
    let (writes, syncs) = probe.operations();
    drop(opened);
    let (mut failed_opens, mut reopened) = (0, 0);
    let mut refused = std::collections::BTreeSet::new();
    for (operation, count) in [(Operation::Write, writes), (Operation::Sync, syncs)] {
        for n in 1..=count {
            for fault in [Fault::Fail, Fault::PowerLoss] {
                let disk = Disk::new();
                disk.arm(operation, n, fault);
                let opened = open_ledger(&disk);
                assert_eq!(disk.injected(), 1, "{operation:?} #{n} is reached while creating the file");
                if let Err(error) = &opened {
                    assert!(error.contains("injected fault") || error.contains("I/O") || error.contains("previous I/O"), "{error}");
                    failed_opens += 1;
                }
                drop(opened);
                // A file whose creation was cut short either opens as an empty ledger that
                // verifies, or is refused with redb's error: never a panic, never a half ledger.
                for image in [disk.after_process_crash(), disk.after_power_loss(|_| false)] {
                    match open_ledger(&image) {
                        Ok(ledger) => {
                            let report = ledger.verify().unwrap_or_else(|error| panic!("{operation:?} #{n} {fault:?}: {error}"));
                            assert_eq!(report.transactions, 0);
                            reopened += 1;
                        }
                        Err(error) => {
                            assert!(error.starts_with("redb: "), "{operation:?} #{n} {fault:?}: {error}");
                            refused.insert(error);
                        }
                    }
                }
            }
        }
    }
    assert!(failed_opens > 0 && reopened > 0);
    println!(
        "faults while creating: {writes} writes and {syncs} syncs, {failed_opens} opens failed cleanly, {reopened} images reopened empty, refused with {refused:?}"
    );
}

/// Writes and syncs the workload's commits make, counted on an unfaulted run.
fn operations_of_the_workload(reference: &Reference) -> (u64, u64) {
    let disk = Disk::new();
    let ledger = open_ledger(&disk).expect("open a fresh ledger");
    let (writes_before, syncs_before) = disk.operations();
    for chunk in &reference.chunks {
        ledger.execute_lines(&reference.lines[chunk.clone()]);
    }
    let (writes, syncs) = disk.operations();
    assert_eq!(head_text(&ledger.head()), reference.boundaries[reference.chunks.len()].0);
    (writes - writes_before, syncs - syncs_before)
}
