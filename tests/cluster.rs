//! Replication (SPEC 9): three `partner-ledger serve` nodes keep one book on a three-server NATS
//! JetStream cluster; followers answer `min_seq` reads and refuse writes with the leader's
//! address, a leader cut off from its lease is fenced, and nothing acknowledged is lost (or
//! applied twice) when ledger nodes and a NATS server are killed under load.
//!
//! Every process is a child of the test and is killed when the test ends, even by a panic; a
//! failed test keeps its directory (logs, configurations, ledger files) and prints its path.
#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/http.rs"]
mod http;
#[path = "common/nats.rs"]
mod nats;

use cluster::{LeaderClient, Nodes, attempt, commands_at};
use http::{Answer, Call};
use nats::NatsCluster;
use partner_ledger::AccessKey;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Customers C1..C10, all of distributor D1.
const CUSTOMERS: usize = 10;
/// D1's cash after the setup, in whole yuan.
const INITIAL_CASH: u64 = 100_000;

#[test]
fn a_three_node_nats_cluster_starts_elects_and_restarts_a_server() {
    let _serial = one_at_a_time();
    let dir = TestDir::new();
    let mut cluster = NatsCluster::start(dir.path());
    assert_eq!(cluster.urls().split(',').count(), 3, "{}", cluster.urls());
    cluster.kill(1);
    assert!(!cluster.is_running(1));
    // The other two keep a meta leader (a quorum of two out of three).
    cluster.assert_healthy();
    cluster.restart(1);
    assert!(cluster.is_running(1));
    cluster.assert_healthy();
}

/// A replicated book: NATS, three ledger nodes, keys for the platform and D1, and the setup of
/// `setup_lines` committed through the leader. Fields drop in order: the nodes before NATS,
/// and the directory last.
struct Book {
    nodes: Nodes,
    nats: NatsCluster,
    platform: AccessKey,
    d1: AccessKey,
    client: Arc<LeaderClient>,
    _dir: TestDir,
}

/// A temporary directory that stays (and says where) when the test fails.
struct TestDir(Option<tempfile::TempDir>);

impl TestDir {
    fn new() -> TestDir {
        TestDir(Some(tempfile::tempdir().expect("a temp dir")))
    }

    fn path(&self) -> &std::path::Path {
        self.0.as_ref().map(tempfile::TempDir::path).expect("the directory until drop")
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(dir) = self.0.take()
        {
            eprintln!("the test failed: its files stay in {}", dir.keep().display());
        }
    }
}

impl Book {
    async fn start() -> Book {
        let dir = TestDir::new();
        let nats_dir = dir.path().join("nats");
        std::fs::create_dir_all(&nats_dir).expect("the NATS directory");
        let nats = NatsCluster::start(&nats_dir);
        let nodes = Nodes::start(dir.path(), &nats.urls(), "test-book", 3);
        nodes.leader().await;
        let platform = nodes.key("platform").await;
        let client = Arc::new(LeaderClient::new(nodes.addrs()));
        let answers = client.commands(&platform, &cluster::setup_lines(CUSTOMERS, INITIAL_CASH)).await;
        for answer in &answers {
            assert_eq!(answer["ok"], true, "the setup failed: {answer}");
        }
        let d1 = nodes.key("partner:D1").await;
        Book { nodes, nats, platform, d1, client, _dir: dir }
    }

    fn addr(&self, index: usize) -> SocketAddr {
        self.nodes.nodes[index].addr()
    }

    /// `allocated` of customer `customer` as node `index` reads it once it has applied `min_seq`.
    async fn allocated(&self, index: usize, customer: &str, min_seq: u64) -> String {
        let result = self.query(index, json!({"op": "balance", "party": format!("customer:{customer}"), "min_seq": min_seq})).await;
        result["allocated"].as_str().unwrap_or_else(|| panic!("no allocated in {result}")).to_owned()
    }

    /// `cash` of D1 as node `index` reads it once it has applied `min_seq`.
    async fn d1_cash(&self, index: usize, min_seq: u64) -> String {
        let result = self.query(index, json!({"op": "balance", "party": "partner:D1", "min_seq": min_seq})).await;
        result["cash"].as_str().unwrap_or_else(|| panic!("no cash in {result}")).to_owned()
    }

    /// One query line through node `index` as the platform: its result.
    async fn query(&self, index: usize, line: Value) -> Value {
        let answer = commands_at(self.addr(index), &self.platform, std::slice::from_ref(&line)).await;
        assert_eq!(answer.status, 200, "{} {line}: {}", self.nodes.nodes[index].name, answer.body);
        let lines = answer.lines();
        assert_eq!(lines[0]["ok"], true, "{} {line}: {}", self.nodes.nodes[index].name, lines[0]);
        lines[0]["result"].clone()
    }
}

/// The BSS allocation of `amount` to `customer` under the request id `request_id`.
fn allocate(customer: &str, amount: &str, request_id: &str) -> Call {
    Call::new("POST", "/v2/accounts/partner-accounts/adjust-amount")
        .body(json!({"customer_id": customer, "amount": amount}).to_string())
        .header("X-Client-Request-Id", request_id)
}

/// Asserts the answer of a node that does not lead: 503, `CBC.0999`, `not_leader: <leader>` and
/// `X-Leader: <leader>`.
fn assert_not_leader(answer: &Answer, leader: SocketAddr, what: &str) {
    assert_eq!(answer.status, 503, "{what}: {}", answer.body);
    let pointed = answer.headers.get("x-leader").and_then(|value| value.to_str().ok());
    assert_eq!(pointed, Some(leader.to_string().as_str()), "{what}: X-Leader ({:?})", answer.headers);
    let body = answer.json();
    assert_eq!(body["error_code"], "CBC.0999", "{what}: {body}");
    assert_eq!(body["error_msg"], format!("not_leader: {leader}"), "{what}: {body}");
}

/// One cluster at a time: three parallel clusters on a shared two-core machine would starve
/// their nodes past the lease TTL and fail over for no reason the test chose.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime")
}

#[test]
fn a_follower_answers_a_min_seq_read_of_a_just_acknowledged_write() {
    let _serial = one_at_a_time();
    runtime().block_on(async {
        let book = Book::start().await;
        let leader = book.nodes.leader().await;
        let followers: Vec<usize> = (0..3).filter(|index| *index != leader).collect();

        // A write acknowledged by the leader, read at once from a follower through `min_seq`.
        let lines = [json!({"op": "allocate", "id": "f1", "to": "customer:C1", "amount": "7.00"})];
        let answer = commands_at(book.addr(leader), &book.d1, &lines).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let seq = answer.lines()[0]["seq"].as_u64().unwrap_or_else(|| panic!("a committed line has a seq: {}", answer.body));
        assert_eq!(book.allocated(followers[0], "C1", seq).await, "7.00", "the follower's min_seq read");

        // The same through the BSS door's `X-Min-Seq`, on the other follower.
        let lines = [json!({"op": "allocate", "id": "f2", "to": "customer:C1", "amount": "3.00"})];
        let answer = commands_at(book.addr(leader), &book.d1, &lines).await;
        let seq = answer.lines()[0]["seq"].as_u64().unwrap_or_else(|| panic!("a committed line has a seq: {}", answer.body));
        let query = Call::new("POST", "/v2/accounts/customer-accounts/balances/batch-query")
            .body(json!({"customer_infos": [{"customer_id": "C1"}]}).to_string())
            .header("X-Min-Seq", &seq.to_string());
        let answer = attempt(book.addr(followers[1]), Some(&book.d1), &query, Duration::from_secs(10)).await.expect("an answer");
        assert_eq!(answer.status, 200, "{}", answer.body);
        let amount = answer.json()["customer_balances"][0]["amount"].as_f64();
        assert_eq!(amount, Some(10.0), "the follower's X-Min-Seq read: {}", answer.body);

        // Writes sent to a follower are refused with the leader's address, and change nothing.
        for follower in followers.iter().copied() {
            let answer = attempt(book.addr(follower), Some(&book.d1), &allocate("C1", "5.00", "to-a-follower"), Duration::from_secs(10))
                .await
                .expect("an answer");
            assert_not_leader(&answer, book.addr(leader), "a BSS allocation sent to a follower");
            let lines = [json!({"op": "allocate", "id": "to-a-follower-2", "to": "customer:C1", "amount": "5.00"})];
            let answer = commands_at(book.addr(follower), &book.d1, &lines).await;
            assert_not_leader(&answer, book.addr(leader), "an allocate line sent to a follower");
        }
        for index in 0..3 {
            assert_eq!(book.allocated(index, "C1", seq).await, "10.00", "{}", book.nodes.nodes[index].name);
        }
    });
}

#[test]
fn a_leader_cut_off_from_its_lease_is_fenced_and_steps_down() {
    let _serial = one_at_a_time();
    runtime().block_on(async {
        let book = Book::start().await;
        let old = book.nodes.leader().await;
        let (_, answer) = book.client.send(&book.d1, &allocate("C1", "1.00", "before")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);

        // Frozen, the old leader cannot renew its lease; a request sent to it waits in its socket.
        book.nodes.nodes[old].sigstop();
        let stopped = Instant::now();
        let (old_addr, d1) = (book.addr(old), book.d1.clone());
        let fenced =
            tokio::spawn(async move { attempt(old_addr, Some(&d1), &allocate("C1", "5.00", "fenced"), Duration::from_secs(90)).await });

        let new = book.nodes.leader().await;
        assert_ne!(new, old, "a stopped node cannot be the one leader");
        // Not asserted against the TTL: the lease was last renewed before the stop, so it may lapse sooner.
        eprintln!("{} leads {:?} after {} was stopped", book.nodes.nodes[new].name, stopped.elapsed(), book.nodes.nodes[old].name);
        // A client that never heard of the old leader: one that had would leave its retries of
        // "after" in the frozen node's socket too.
        let client = LeaderClient::new((0..3).filter(|index| *index != old).map(|index| book.addr(index)).collect());
        let (addr, answer) = client.send(&book.d1, &allocate("C1", "2.00", "after")).await;
        assert_eq!((answer.status, addr), (200, book.addr(new)), "{}", answer.body);

        book.nodes.nodes[old].sigcont();
        let answer = fenced.await.expect("the request task").expect("the resumed old leader answers");
        assert_eq!(answer.status, 503, "the old leader must refuse the request it held: {}", answer.body);
        let message = answer.json()["error_msg"].as_str().unwrap_or("").to_owned();
        assert!(message.starts_with("not_leader"), "{}", answer.body);

        // The old node follows, catches up, and nobody has the fenced allocation.
        let top = book.nodes.nodes[new].health().await.expect("the new leader's health").applied_seq;
        book.nodes.converged(top).await;
        let started = Instant::now();
        loop {
            let health = book.nodes.nodes[old].health().await;
            if health.as_ref().is_ok_and(|health| health.role == "follower") {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "the old leader did not step down: {health:?}\n{}", book.nodes.logs(40));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(book.nodes.leader().await, new);
        let top = book.nodes.nodes[new].health().await.expect("the new leader's health").applied_seq;
        for index in 0..3 {
            assert_eq!(
                book.allocated(index, "C1", top).await,
                "3.00",
                "{}: only the acknowledged allocations",
                book.nodes.nodes[index].name
            );
        }
        book.nodes.converged(top).await;
    });
}

/// Allocations sent by the kill test at least, and at most; and how long the load may run.
const MIN_ALLOCATIONS: usize = 3_000;
const MAX_ALLOCATIONS: usize = 60_000;
const LOAD_WITHIN: Duration = Duration::from_secs(150);
const WORKERS: usize = 8;

/// What the kill test's clients share.
struct Load {
    next: AtomicUsize,
    chaos_done: AtomicBool,
    started: Instant,
    acknowledged: Vec<AtomicU64>,
    successes: Mutex<Vec<Duration>>,
}

impl Load {
    fn count(&self) -> usize {
        self.successes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    /// Waits until `more` further allocations were acknowledged (60 s at most).
    async fn progress(&self, more: usize) {
        let target = self.count() + more;
        let started = Instant::now();
        while self.count() < target {
            assert!(started.elapsed() < Duration::from_secs(60), "no progress: {} of {target} acknowledged", self.count());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// One client: signed allocations of 1.00, each under its own request id, until the load ends.
async fn worker(load: Arc<Load>, client: Arc<LeaderClient>, key: AccessKey) {
    loop {
        let index = load.next.fetch_add(1, Ordering::SeqCst);
        let enough = index >= MIN_ALLOCATIONS && load.chaos_done.load(Ordering::SeqCst);
        if enough || index >= MAX_ALLOCATIONS || load.started.elapsed() > LOAD_WITHIN {
            return;
        }
        let customer = index % CUSTOMERS;
        let request_id = format!("kill-{index}");
        let (addr, answer) = client.send(&key, &allocate(&format!("C{}", customer + 1), "1.00", &request_id)).await;
        assert_eq!(answer.status, 200, "{request_id} at {addr}: {}", answer.body);
        assert_eq!(answer.json()["transfer_id"], request_id.as_str(), "{request_id} at {addr}");
        load.acknowledged[customer].fetch_add(1, Ordering::SeqCst);
        load.successes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(load.started.elapsed());
    }
}

/// SIGKILLs the leader node, restarts it after 1.5 s, and waits until one node leads.
async fn kill_leader(book: &mut Book, load: &Load, events: &mut Vec<(Duration, String)>) {
    let leader = book.nodes.leader().await;
    events.push((load.started.elapsed(), format!("kill -9 leader {}", book.nodes.nodes[leader].name)));
    book.nodes.nodes[leader].kill9();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    book.nodes.nodes[leader].start();
    events.push((load.started.elapsed(), format!("{} restarted", book.nodes.nodes[leader].name)));
    let now = book.nodes.leader().await;
    events.push((load.started.elapsed(), format!("leader is {}", book.nodes.nodes[now].name)));
}

#[test]
fn acknowledged_allocations_survive_leader_and_nats_kills() {
    let _serial = one_at_a_time();
    runtime().block_on(async {
        let mut book = Book::start().await;
        let load = Arc::new(Load {
            next: AtomicUsize::new(0),
            chaos_done: AtomicBool::new(false),
            started: Instant::now(),
            acknowledged: (0..CUSTOMERS).map(|_| AtomicU64::new(0)).collect(),
            successes: Mutex::new(Vec::new()),
        });
        let workers: Vec<_> =
            (0..WORKERS).map(|_| tokio::spawn(worker(Arc::clone(&load), Arc::clone(&book.client), book.d1.clone()))).collect();

        // The chaos, on this thread (its waits block only this test's own thread).
        let mut events = Vec::new();
        load.progress(200).await;
        kill_leader(&mut book, &load, &mut events).await;
        load.progress(200).await;
        events.push((load.started.elapsed(), "SIGKILL NATS n1".to_owned()));
        book.nats.kill(0);
        tokio::time::sleep(Duration::from_secs(2)).await;
        book.nats.restart(0);
        events.push((load.started.elapsed(), "NATS n1 restarted and healthy".to_owned()));
        load.progress(200).await;
        kill_leader(&mut book, &load, &mut events).await;
        load.progress(200).await;
        load.chaos_done.store(true, Ordering::SeqCst);
        for worker in workers {
            worker.await.expect("a client task panicked (see above)");
        }

        let mut successes = load.successes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        successes.sort();
        report_gaps(&successes, &events);
        let sent: Vec<u64> = load.acknowledged.iter().map(|count| count.load(Ordering::SeqCst)).collect();
        let total: u64 = sent.iter().sum();
        eprintln!("{total} allocations acknowledged in {:?}: {sent:?}", load.started.elapsed());
        assert!(total >= MIN_ALLOCATIONS as u64 || load.started.elapsed() > LOAD_WITHIN, "{total} allocations only");

        // Every acknowledged allocation applied exactly once, on every node.
        let leader = book.nodes.leader().await;
        let top = book.nodes.nodes[leader].health().await.expect("the leader's health").applied_seq;
        for index in 0..3 {
            let name = book.nodes.nodes[index].name.clone();
            for (customer, count) in sent.iter().enumerate() {
                let allocated = book.allocated(index, &format!("C{}", customer + 1), top).await;
                assert_eq!(allocated, format!("{count}.00"), "{name}: C{} was acknowledged {count} allocations", customer + 1);
            }
            assert_eq!(book.d1_cash(index, top).await, format!("{}.00", INITIAL_CASH - total), "{name}: D1's cash");
        }
        let head = book.nodes.converged(top).await;
        eprintln!("all three nodes at head {head} (seq >= {top})");
        for node in &mut book.nodes.nodes {
            node.terminate();
        }
        for node in &book.nodes.nodes {
            node.verify();
        }
    });
}

/// Prints the chaos events and the gaps between acknowledgements longer than half a second.
fn report_gaps(successes: &[Duration], events: &[(Duration, String)]) {
    for (at, event) in events {
        eprintln!("{:>8.3} s  {event}", at.as_secs_f64());
    }
    let mut longest = Duration::ZERO;
    for pair in successes.windows(2) {
        let gap = pair[1] - pair[0];
        longest = longest.max(gap);
        if gap > Duration::from_millis(500) {
            eprintln!("no acknowledgement from {:.3} s to {:.3} s: a gap of {gap:?}", pair[0].as_secs_f64(), pair[1].as_secs_f64());
        }
    }
    eprintln!("longest failover gap (no successful answer): {longest:?}");
}
