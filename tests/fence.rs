//! The fence of SPEC section 9, against a real three-server NATS JetStream cluster and without
//! timing: two ledgers that both believe they lead publish to one book. Whichever publishes
//! second from a stale position is refused by `Nats-Expected-Last-Sequence`, steps down, and
//! keeps nothing of the refused commit; after applying the stream it is the winner's copy.
#[path = "common/nats.rs"]
mod nats;

use partner_ledger::cluster::{self, Book, Publisher};
use partner_ledger::http::ReplicaStatus;
use partner_ledger::{ErrorCode, Ledger};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SETUP: [&str; 3] = [
    r#"{"op":"register_partner","id":"s1","actor":"platform","partner":"D1","kind":"distributor","at":"2026-01-05T00:00:00Z"}"#,
    r#"{"op":"register_customer","id":"s2","actor":"partner:D1","customer":"C1","partner":"D1","at":"2026-01-05T00:00:00Z"}"#,
    r#"{"op":"recharge","id":"s3","actor":"platform","party":"partner:D1","amount":"1000","at":"2026-01-05T00:00:00Z"}"#,
];
const BALANCE: &str = r#"{"op":"balance","actor":"partner:D1","party":"customer:C1"}"#;

fn allocation(id: &str, amount: &str) -> String {
    format!(r#"{{"op":"allocate","id":"{id}","actor":"partner:D1","to":"customer:C1","amount":"{amount}","at":"2026-01-05T00:01:00Z"}}"#)
}

/// A ledger that publishes to `book` and believes it leads.
fn replicated(dir: &std::path::Path, name: &str, runtime: &tokio::runtime::Runtime, book: &Book) -> (Ledger, Arc<ReplicaStatus>) {
    let status = Arc::new(ReplicaStatus::default());
    status.lead(Instant::now() + Duration::from_secs(3600), &format!("{name}:1"));
    let ledger = Ledger::open(dir.join(format!("{name}.redb"))).expect("the ledger opens");
    ledger.set_replicator(Box::new(Publisher::new(runtime.handle().clone(), book, Arc::clone(&status))), cluster::COMMIT_BYTES_MAX);
    (ledger, status)
}

/// Applies the book's stream messages `from..=to` to `ledger`.
fn follow(ledger: &Ledger, runtime: &tokio::runtime::Runtime, book: &Book, seqs: std::ops::RangeInclusive<u64>) {
    for seq in seqs {
        let (_, payload) = runtime.block_on(book.commit(seq)).expect("the stream answers").expect("the message exists");
        ledger.apply_replicated(&payload, seq).expect("the stream's commit applies");
    }
}

#[test]
fn a_writer_behind_the_stream_is_refused_steps_down_and_keeps_nothing_of_its_commit() {
    let dir = tempfile::tempdir().unwrap();
    let servers = nats::NatsCluster::start(dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (book, _lease) = runtime.block_on(Book::open(&servers.urls(), "fence", Duration::from_secs(2))).expect("the book opens");
    let (a, a_status) = replicated(dir.path(), "a", &runtime, &book);
    let (b, b_status) = replicated(dir.path(), "b", &runtime, &book);

    // A publishes first: stream message 1.
    assert!(a.execute_lines(&SETUP).iter().all(partner_ledger::Response::is_ok));
    assert_eq!(a.stream_seq(), 1);

    // B has not applied it and still expects an empty stream: refused, stepped down, unchanged.
    let refused = b.execute_line(r#"{"op":"register_partner","id":"b1","actor":"platform","partner":"D9","kind":"distributor"}"#);
    assert_eq!(refused.rejection().map(|rejection| rejection.code), Some(ErrorCode::NotLeader), "{refused:?}");
    assert!(!b_status.claims_lead(), "a fenced writer steps down");
    assert_eq!((b.head().seq, b.stream_seq()), (0, 0), "nothing of the refused commit stays");
    assert_eq!(runtime.block_on(book.last_seq()).unwrap(), 1, "the stream holds A's commit only");
    let again = b.execute_line(&allocation("b2", "7"));
    assert_eq!(again.rejection().map(|rejection| rejection.code), Some(ErrorCode::NotLeader), "a follower decides nothing");

    // B follows the stream, then takes over; A is deposed without knowing it.
    follow(&b, &runtime, &book, 1..=1);
    assert_eq!(b.head(), a.head());
    b_status.lead(Instant::now() + Duration::from_secs(3600), "b:1");
    assert!(b.execute_line(&allocation("b3", "10")).is_ok());
    assert_eq!(b.stream_seq(), 2);

    // A's next commit expects stream message 1 to be the last: refused, and not visible.
    let stale = a.execute_line(&allocation("a1", "99"));
    assert_eq!(stale.rejection().map(|rejection| rejection.code), Some(ErrorCode::NotLeader), "{stale:?}");
    assert!(!a_status.claims_lead());
    assert_eq!(a.execute_line(BALANCE).to_json()["result"]["allocated"], "0.00", "the refused allocation is not visible");
    assert_eq!(runtime.block_on(book.last_seq()).unwrap(), 2);

    // After applying the stream, A is B's copy: B's allocation, never A's.
    follow(&a, &runtime, &book, 2..=2);
    assert_eq!(a.head(), b.head());
    assert_eq!(a.execute_line(BALANCE).to_json()["result"]["allocated"], "10.00");
    for ledger in [&a, &b] {
        let book_check = runtime.block_on(cluster::check_journal(&book, ledger)).expect("the journal matches the stream");
        assert_eq!((book_check.messages, book_check.records, book_check.stream_last), (2, 4, 2));
        ledger.verify().expect("the journal verifies");
    }
}
