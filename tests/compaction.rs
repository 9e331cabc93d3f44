//! Compacting a ledger (`Ledger::compact`: a checkpoint, the history tables caught up, the
//! posting index and the balances rewritten in key order, then redb's compaction) changes no
//! answer: every balance, statement and adjust record and the head are the same before and after
//! and after reopening, `verify` passes, commands go on from the same head, and the file does not
//! grow.
#[path = "common/backends.rs"]
mod backends;

use backends::{balance_queries, history_queries, workload};
use partner_ledger::Ledger;

const CUSTOMERS: usize = 40;
const LINES: usize = 1500;

fn answers(ledger: &Ledger, queries: &[String]) -> Vec<String> {
    queries.iter().map(|query| ledger.execute_line(query).to_line()).collect()
}

#[test]
fn compaction_changes_no_answer_and_the_file_does_not_grow() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.redb");
    let lines = workload(CUSTOMERS, LINES);
    let (first, rest) = lines.split_at(LINES / 2);
    let queries: Vec<String> = balance_queries(CUSTOMERS).into_iter().chain(history_queries(CUSTOMERS)).collect();
    let ledger = Ledger::open(&path).expect("open");
    ledger.execute_lines(first);
    // History built halfway, then more commands: the index is caught up in two steps.
    let halfway = answers(&ledger, &queries);
    ledger.execute_lines(rest);
    let before = answers(&ledger, &queries);
    assert_ne!(halfway, before, "the second half changed something");
    let head = ledger.head();
    drop(ledger);
    let size_before = std::fs::metadata(&path).expect("size").len();

    let ledger = Ledger::open(&path).expect("reopen");
    ledger.compact().expect("compact");
    assert_eq!(answers(&ledger, &queries), before, "answers after compacting");
    assert_eq!(ledger.head(), head);
    drop(ledger);
    assert!(std::fs::metadata(&path).expect("size").len() <= size_before, "compaction grew the file");

    let ledger = Ledger::open(&path).expect("reopen after compacting");
    assert_eq!(answers(&ledger, &queries), before, "answers after reopening the compacted file");
    ledger.verify().expect("the compacted file verifies");
    let response = ledger.execute_line(r#"{"op":"recharge","id":"after-compaction","actor":"platform","party":"partner:D1","amount":"1"}"#);
    assert!(response.is_ok(), "{}", response.to_line());
    assert_eq!(ledger.head().seq, head.seq + 1);
    ledger.compact().expect("compact again");
    ledger.verify().expect("verifies after the second compaction");
}
