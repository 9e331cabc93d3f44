//! The replication seams of the ledger, without a NATS server (SPEC section 9): a follower
//! applies commits as recorded and checks that they continue its journal; a leader commits
//! locally only what its replicator acknowledged, and takes back what it refused.

use partner_ledger::{Commit, ReplicaError, Replicator};
use partner_ledger::{ErrorCode, Ledger, Rejection};
use std::sync::{Arc, Mutex};

const SETUP: [&str; 5] = [
    r#"{"op":"register_partner","id":"s1","actor":"platform","partner":"D1","kind":"distributor","at":"2026-01-05T00:00:00Z"}"#,
    r#"{"op":"register_customer","id":"s2","actor":"partner:D1","customer":"C1","partner":"D1","at":"2026-01-05T00:00:00Z"}"#,
    r#"{"op":"recharge","id":"s3","actor":"platform","party":"partner:D1","amount":"1000","at":"2026-01-05T00:00:00Z"}"#,
    r#"{"op":"allocate","id":"a1","actor":"partner:D1","to":"customer:C1","amount":"10","at":"2026-01-05T00:00:01Z"}"#,
    r#"{"op":"allocate","id":"a2","actor":"partner:D1","to":"customer:C1","amount":"15","at":"2026-01-05T00:00:02Z"}"#,
];

const BALANCE: &str = r#"{"op":"balance","actor":"partner:D1","party":"customer:C1"}"#;

fn open(dir: &tempfile::TempDir, name: &str) -> Ledger {
    Ledger::open(dir.path().join(name)).expect("the ledger opens")
}

/// A commit of `ledger`'s journal records `seqs`, as the stream carries it.
fn commit_of(ledger: &Ledger, seqs: std::ops::RangeInclusive<u64>) -> Vec<u8> {
    let records: Vec<_> = seqs.map(|seq| ledger.journal_record(seq).expect("readable").expect("present")).collect();
    partner_ledger::records::encode_commit(records.iter().map(|(hash, body)| (hash, body.as_slice())))
}

fn leader_with_history(dir: &tempfile::TempDir) -> Ledger {
    let leader = open(dir, "leader.redb");
    for line in SETUP {
        assert!(leader.execute_line(line).is_ok(), "{line}");
    }
    leader
}

#[test]
fn a_follower_applies_commits_as_recorded_and_ends_where_the_leader_is() {
    let dir = tempfile::tempdir().unwrap();
    let leader = leader_with_history(&dir);
    let follower = open(&dir, "follower.redb");
    follower.apply_replicated(&commit_of(&leader, 1..=3), 1).expect("the first commit applies");
    let head = follower.apply_replicated(&commit_of(&leader, 4..=5), 2).expect("the second commit applies");
    assert_eq!(head, leader.head());
    assert_eq!(follower.stream_seq(), 2);
    assert_eq!(follower.execute_line(BALANCE).to_json()["result"], leader.execute_line(BALANCE).to_json()["result"]);
    assert_eq!(follower.execute_line(BALANCE).to_json()["result"]["allocated"], "25.00");
    // A commit seen again (a follower that re-reads the stream) changes nothing.
    assert_eq!(follower.apply_replicated(&commit_of(&leader, 4..=5), 2).unwrap(), leader.head());
    // A resent request is a duplicate on the follower too: the request ids came with the commits.
    let report = follower.verify().expect("the follower's journal verifies");
    assert_eq!(report.head, leader.head());
    drop(follower);
    let reopened = open(&dir, "follower.redb");
    assert_eq!((reopened.head(), reopened.stream_seq()), (leader.head(), 2), "the stream position survives a reopen");
}

#[test]
fn a_commit_that_does_not_continue_the_journal_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let leader = leader_with_history(&dir);
    let follower = open(&dir, "follower.redb");
    follower.apply_replicated(&commit_of(&leader, 1..=3), 1).unwrap();
    let before = (follower.head(), follower.stream_seq(), follower.execute_line(BALANCE).to_json());

    // A gap: seq 5 after seq 3.
    let gap = follower.apply_replicated(&commit_of(&leader, 5..=5), 2);
    assert!(matches!(gap, Err(ReplicaError::Diverged(_))), "{gap:?}");
    // A record whose bytes no longer match its hash.
    let mut tampered = commit_of(&leader, 4..=5);
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(matches!(follower.apply_replicated(&tampered, 2), Err(ReplicaError::Diverged(_))));
    // A cut-off commit.
    let whole = commit_of(&leader, 4..=5);
    assert!(matches!(follower.apply_replicated(&whole[..whole.len() - 3], 2), Err(ReplicaError::Diverged(_))));
    // Another book's history at seq 4: same seq, another chain (its partner got 2000, not 1000).
    let other_dir = tempfile::tempdir().unwrap();
    let other = open(&other_dir, "other.redb");
    for line in SETUP.iter().map(|line| line.replace(r#""amount":"1000""#, r#""amount":"2000""#)) {
        assert!(other.execute_line(&line).is_ok());
    }
    let foreign = follower.apply_replicated(&commit_of(&other, 4..=4), 2);
    assert!(matches!(foreign, Err(ReplicaError::Diverged(_))), "a record of another chain must not apply: {foreign:?}");

    assert_eq!((follower.head(), follower.stream_seq(), follower.execute_line(BALANCE).to_json()), before);
    follower.apply_replicated(&commit_of(&leader, 4..=5), 2).expect("the right commit still applies");
    assert_eq!(follower.head(), leader.head());
}

/// A replicator that acknowledges or refuses as told, and remembers what it was asked.
#[derive(Clone, Default)]
struct Scripted {
    refuse: Arc<Mutex<bool>>,
    published: Arc<Mutex<Vec<(u64, u64, u64)>>>,
}

impl Replicator for Scripted {
    fn accepting(&self) -> Result<(), Rejection> {
        Ok(())
    }

    fn publish(&mut self, commit: &Commit<'_>) -> Result<u64, Rejection> {
        if *self.refuse.lock().unwrap() {
            return Err(Rejection::new(ErrorCode::NotLeader, "127.0.0.1:9"));
        }
        let mut published = self.published.lock().unwrap();
        published.push((commit.expected, commit.first_seq, commit.last_seq));
        Ok(commit.expected + 1)
    }
}

#[test]
fn a_leader_commits_only_what_the_stream_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let leader = open(&dir, "leader.redb");
    let replicator = Scripted::default();
    leader.set_replicator(Box::new(replicator.clone()), 1 << 20);
    let results = leader.execute_lines(&SETUP[..3]);
    assert!(results.iter().all(partner_ledger::Response::is_ok), "{results:?}");
    assert_eq!(leader.stream_seq(), 1);

    *replicator.refuse.lock().unwrap() = true;
    let refused = leader.execute_lines(&SETUP[3..]);
    for response in &refused {
        let rejection = response.rejection().expect("refused");
        assert_eq!((rejection.code, rejection.message.as_str()), (ErrorCode::NotLeader, "127.0.0.1:9"));
    }
    assert_eq!(leader.head().seq, 3, "nothing the stream refused is committed");
    assert_eq!(leader.execute_line(BALANCE).to_json()["result"]["allocated"], "0.00", "nor visible");

    *replicator.refuse.lock().unwrap() = false;
    let accepted = leader.execute_lines(&SETUP[3..]);
    assert!(accepted.iter().all(partner_ledger::Response::is_ok), "{accepted:?}");
    assert_eq!(leader.execute_line(BALANCE).to_json()["result"]["allocated"], "25.00");
    // Each commit followed the stream position the previous one left: the fence's expectation.
    assert_eq!(*replicator.published.lock().unwrap(), vec![(0, 1, 3), (1, 4, 5)]);
    assert_eq!(leader.stream_seq(), 2);
    leader.verify().expect("the leader's journal verifies");
}

#[test]
fn a_replicated_commit_is_cut_to_the_size_a_stream_message_holds() {
    let dir = tempfile::tempdir().unwrap();
    let leader = open(&dir, "leader.redb");
    let replicator = Scripted::default();
    // About one record per commit.
    leader.set_replicator(Box::new(replicator.clone()), 1);
    let results = leader.execute_lines(&SETUP);
    assert!(results.iter().all(partner_ledger::Response::is_ok), "{results:?}");
    let published = replicator.published.lock().unwrap().clone();
    assert_eq!(published, (0..5).map(|n| (n, n + 1, n + 1)).collect::<Vec<_>>());
}

#[test]
fn min_seq_belongs_to_queries_and_an_in_process_ledger_answers_not_applied_beyond_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let leader = leader_with_history(&dir);
    let within = leader.execute_line(r#"{"op":"balance","actor":"partner:D1","party":"customer:C1","min_seq":5}"#);
    assert_eq!(within.to_json()["result"]["allocated"], "25.00");
    let beyond = leader.execute_line(r#"{"op":"balance","actor":"partner:D1","party":"customer:C1","min_seq":6}"#);
    assert_eq!(beyond.rejection().map(|rejection| (rejection.code, rejection.code.cbc())), Some((ErrorCode::NotApplied, "CBC.0999")));
    for bad in [r#""min_seq":-1"#, r#""min_seq":"5""#, r#""min_seq":1.5"#] {
        let line = format!(r#"{{"op":"balance","actor":"partner:D1","party":"customer:C1",{bad}}}"#);
        assert_eq!(leader.execute_line(&line).rejection().map(|rejection| rejection.code), Some(ErrorCode::InvalidRequest), "{bad}");
    }
    let head = leader.head();
    let command = leader.execute_line(r#"{"op":"allocate","id":"a9","actor":"partner:D1","to":"customer:C1","amount":"1","min_seq":1}"#);
    assert_eq!(command.rejection().map(|rejection| rejection.code), Some(ErrorCode::InvalidRequest), "min_seq is not a command field");
    assert_eq!(leader.head(), head, "the refused command changed nothing");
}
