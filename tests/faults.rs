//! Injected storage faults — the Nth write or sync failing, or the power going out at it — make
//! the commands they hit answer `storage` (CBC.0999) and change nothing visible; later commands
//! answer `storage` too and nothing panics; the surviving image reopens, verifies, and holds
//! exactly the acknowledged commands (a commit in flight lands whole or not at all), also when
//! sixteen threads' commands share group commits.
#[path = "common/backends.rs"]
mod backends;

use backends::{Disk, Fault, Operation, Seeded, balance_queries, history_queries, open_ledger, workload};
use partner_ledger::{Head, Ledger, hex};
use serde_json::{Value, json};
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
/// plus statements, adjust records and the platform's customer listing (read from the redb
/// tables after a checkpoint).
fn visible(ledger: &Ledger) -> (String, Vec<Value>, Vec<Value>) {
    let answers = |queries: Vec<String>| ledger.execute_lines(&queries).iter().map(partner_ledger::Response::to_json).collect();
    let mut from_tables = history_queries(CUSTOMERS);
    from_tables.push(json!({"op": "customers", "actor": "platform", "limit": 100}).to_string());
    (head_text(&ledger.head()), answers(balance_queries(CUSTOMERS)), answers(from_tables))
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

/// Threads and allocations of the concurrent fault test.
const THREADS: usize = 16;
const EACH: usize = 10;
/// How long a sync takes in the concurrent fault test: long enough that the threads queue
/// behind each commit, so the commits carry groups even on a loaded machine.
const SYNC_TIME: std::time::Duration = std::time::Duration::from_millis(2);

/// The allocation thread `thread` sends `n`th, and its amount in fen: every amount differs, so
/// a balance tells which allocations it holds.
fn concurrent_allocation(thread: usize, n: usize) -> (String, i64) {
    let fen = i64::try_from(100 * (n + 1) + thread).expect("small");
    let line = json!({
        "op": "allocate", "id": format!("t{thread:02}-{n:02}"), "actor": "partner:D1",
        "to": format!("customer:K{thread:02}"), "amount": format!("{}.{:02}", fen / 100, fen % 100),
    });
    (line.to_string(), fen)
}

/// A distributor with ample cash and one customer per thread.
fn concurrent_setup(ledger: &Ledger) {
    let mut lines = vec![
        json!({"op": "register_partner", "id": "s-p", "actor": "platform", "partner": "D1", "kind": "distributor"}).to_string(),
        json!({"op": "recharge", "id": "s-r", "actor": "platform", "party": "partner:D1", "amount": "1000000"}).to_string(),
    ];
    for thread in 0..THREADS {
        let customer = json!({"op": "register_customer", "id": format!("s-c{thread}"), "actor": "partner:D1",
            "customer": format!("K{thread:02}"), "partner": "D1", "association": "resale"});
        lines.push(customer.to_string());
    }
    for answer in ledger.execute_lines(&lines) {
        assert!(answer.is_ok(), "{}", answer.to_line());
    }
}

/// Every thread sends its allocations one `execute` at a time, all at once: the answers of each
/// thread, in the order sent.
fn concurrent_allocations(ledger: &Ledger) -> Vec<Vec<Value>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|thread| {
                scope.spawn(move || {
                    (0..EACH).map(|n| ledger.execute_line(&concurrent_allocation(thread, n).0).to_json()).collect::<Vec<Value>>()
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().expect("a sending thread panicked")).collect()
    })
}

/// The `allocated` balance of each thread's customer, in fen.
fn allocated_fen(ledger: &Ledger) -> Vec<i64> {
    (0..THREADS)
        .map(|thread| {
            let line = json!({"op": "balance", "actor": "platform", "party": format!("customer:K{thread:02}")}).to_string();
            let answer = ledger.execute_line(&line).to_json();
            let text = answer["result"]["allocated"].as_str().unwrap_or_else(|| panic!("{answer}")).replace('.', "");
            text.parse().expect("an amount in fen")
        })
        .collect()
}

/// Sixteen threads call `execute` at once, so commands join each other's group commits, while the
/// nth write or sync fails or the power goes out at it. Every answer is a commit or `storage`
/// (CBC.0999); the acknowledged seqs follow the setup without a gap; once a thread is answered
/// `storage` nothing of it commits any more; the ledger in memory holds exactly the
/// acknowledged allocations; and the surviving image verifies, holds every acknowledged
/// allocation (resent, each is a duplicate with its seq) and, at most, the group in flight.
#[test]
fn a_fault_under_joined_group_commits_fails_whole_groups_and_keeps_every_acknowledged_command() {
    let probe = Disk::new();
    let ledger = open_ledger(&probe).expect("open a fresh ledger");
    concurrent_setup(&ledger);
    probe.set_sync_time(SYNC_TIME);
    let (writes_before, syncs_before) = probe.operations();
    let setup_head = ledger.head().seq;
    let answers = concurrent_allocations(&ledger);
    let (writes, syncs) = probe.operations();
    let (writes, syncs) = (writes - writes_before, syncs - syncs_before);
    assert!(answers.iter().flatten().all(|answer| answer["ok"] == true));
    assert_eq!(ledger.head().seq, setup_head + (THREADS * EACH) as u64);
    // One command alone: how many syncs a commit takes; fewer commits than commands means groups.
    let before = probe.operations().1;
    assert!(ledger.execute_line(&concurrent_allocation(0, EACH).0).is_ok());
    let syncs_per_commit = probe.operations().1 - before;
    let commits = syncs / syncs_per_commit.max(1);
    assert!(commits < (THREADS * EACH) as u64, "{commits} commits for {} commands: no group was joined", THREADS * EACH);
    drop(ledger);

    let (mut runs, mut hit, mut landed, mut images) = (0, 0, 0, 0);
    let steps = [(Operation::Write, writes), (Operation::Sync, syncs)];
    for (operation, count) in steps {
        for fault in [Fault::Fail, Fault::PowerLoss] {
            // Ten faults spread over the first nine tenths of the run (its length varies a little
            // with the threads' timing).
            for n in (1..=count * 9 / 10).step_by(usize::try_from(count / 10).expect("small").max(1)) {
                let what = format!("{fault:?} at {operation:?} #{n}");
                let disk = Disk::new();
                let ledger = open_ledger(&disk).expect("open a fresh ledger");
                concurrent_setup(&ledger);
                disk.set_sync_time(SYNC_TIME);
                disk.arm(operation, n, fault);
                let answers = concurrent_allocations(&ledger);
                runs += 1;
                let mut acknowledged: Vec<u64> = Vec::new();
                let mut expected = vec![0; THREADS];
                for (thread, sent) in answers.iter().enumerate() {
                    let mut failed = false;
                    for (n, answer) in sent.iter().enumerate() {
                        if answer["ok"] == true {
                            assert!(!failed, "{what}: thread {thread} committed after a storage failure: {sent:?}");
                            assert_eq!(answer["duplicate"], false, "{what}: {answer}");
                            acknowledged.push(answer["seq"].as_u64().expect("seq"));
                            expected[thread] += concurrent_allocation(thread, n).1;
                        } else {
                            assert_eq!(
                                (&answer["error"]["code"], &answer["error"]["cbc"]),
                                (&json!("storage"), &json!("CBC.0999")),
                                "{what}: {answer}"
                            );
                            failed = true;
                        }
                    }
                }
                acknowledged.sort_unstable();
                let last = setup_head + acknowledged.len() as u64;
                assert_eq!(acknowledged, (setup_head + 1..=last).collect::<Vec<u64>>(), "{what}: a gap in the acknowledged seqs");
                hit += u64::from(acknowledged.len() < THREADS * EACH);
                assert_eq!(ledger.head().seq, last, "{what}: the head in memory");
                assert_eq!(allocated_fen(&ledger), expected, "{what}: the balances in memory hold exactly the acknowledged allocations");
                drop(ledger);

                let may_land = operation == Operation::Sync || fault == Fault::PowerLoss;
                let survivors =
                    [("process restarts", disk.after_process_crash(), may_land), ("power loss", disk.after_power_loss(|_| false), false)];
                for (how, image, may_land) in survivors {
                    let what = format!("{what}, {how}");
                    let ledger = open_ledger(&image).unwrap_or_else(|error| panic!("{what}: does not reopen: {error}"));
                    ledger.verify().unwrap_or_else(|error| panic!("{what}: does not verify: {error}"));
                    images += 1;
                    let head = ledger.head().seq;
                    assert!(head == last || (may_land && head > last), "{what}: head {head}, acknowledged up to {last}");
                    landed += u64::from(head > last);
                    let mut fresh = 0;
                    for (thread, sent) in answers.iter().enumerate() {
                        for (n, original) in sent.iter().enumerate() {
                            let line = concurrent_allocation(thread, n).0;
                            let reply = ledger.execute_line(&line).to_json();
                            assert_eq!(reply["ok"], true, "{what}: {line} sent again: {reply}");
                            let seq = reply["seq"].as_u64().expect("seq");
                            if original["ok"] == true {
                                assert_eq!((&reply["duplicate"], &reply["seq"]), (&json!(true), &original["seq"]), "{what}: {line}");
                            } else if reply["duplicate"] == true {
                                // Only the group in flight may have landed, after every acknowledged one.
                                assert!(seq > last && seq <= head, "{what}: {line} landed unacknowledged at {seq}: {reply}");
                            } else {
                                fresh += 1;
                            }
                        }
                    }
                    assert_eq!(ledger.head().seq, head + fresh, "{what}: what was not held commits once when sent again");
                    let totals: Vec<i64> = (0..THREADS).map(|thread| (0..EACH).map(|n| concurrent_allocation(thread, n).1).sum()).collect();
                    assert_eq!(allocated_fen(&ledger), totals, "{what}: every allocation, once, after sending all again");
                    ledger.verify().unwrap_or_else(|error| panic!("{what}: after sending all again: {error}"));
                    drop(ledger);
                }
            }
        }
    }
    assert!(hit * 2 >= runs, "most faults hit a commit: {hit} of {runs}");
    println!(
        "faults under joined groups: {runs} runs, {hit} failed a commit, {images} images reopened, {landed} landed the group in flight; unfaulted: {commits} commits for {} commands",
        THREADS * EACH
    );
}
