//! What replication (SPEC 9) costs, measured side by side in one run on this machine: a single
//! `partner-ledger serve` beside a replicated book of three ledger nodes on three NATS JetStream
//! servers (file storage, `sync_interval: always`), the load sent to the leader. The two setups
//! alternate, three rounds each, every round on fresh processes and files:
//! - latency: one client sends signed BSS allocations (`adjust-amount`, 1.00 each, its own
//!   `X-Client-Request-Id`) one after another on one keep-alive connection: p50 and p99;
//! - throughput: 32 keep-alive clients share a fixed number of allocations: allocations/s;
//! - failover (replicated rounds only): under a steady load of 8 clients the leader node is
//!   `kill -9`ed, restarted as soon as it is dead, and the time from the kill to the next
//!   acknowledged allocation (counting only attempts started after the kill) is the gap.
//!
//! Every round ends by checking D1's cash on the leader (initial minus every allocation
//! acknowledged); it panics if the figures are not those of a working system. The table goes to
//! stdout, progress and node log warnings to stderr. Needs `nats-server` (see tests/common/nats.rs).
#[path = "../tests/common/cluster.rs"]
mod cluster;
#[path = "../tests/common/http.rs"]
mod http;
#[path = "../tests/common/nats.rs"]
mod nats;

use cluster::{LEASE_TTL_MS, Nodes, commands_at};
use http::{Answer, Call};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use nats::{NatsCluster, free_ports, nats_server_binary, tail};
use partner_ledger::AccessKey;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Rounds of each setup (alternating).
const ROUNDS: usize = 3;
/// Customers C1..C100 of distributor D1; allocations go to them in turn.
const CUSTOMERS: usize = 100;
/// D1's cash after the setup, in whole yuan: more than a round ever allocates.
const INITIAL_CASH: u64 = 1_000_000;
/// Allocations sent (untimed) before the latency run, on its connection.
const WARMUP: usize = 20;
/// Allocations of the latency run, one after another.
const LATENCY_N: usize = 500;
/// Allocations of the throughput run, and its concurrent clients.
const THROUGHPUT_N: usize = 5_000;
const THROUGHPUT_CLIENTS: usize = 32;
/// Clients of the steady load under which the leader is killed.
const FAILOVER_CLIENTS: usize = 8;
/// Allocations acknowledged under that load before the kill, and after the new leader is known.
const FAILOVER_BEFORE: usize = 300;
const FAILOVER_AFTER: usize = 200;
/// How long one attempt may take, and one allocation may keep being retried.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const PATIENCE: Duration = Duration::from_secs(90);
const BOOK: &str = "bench-book";

fn main() {
    // `cargo bench` passes `--bench` (and maybe a filter): nothing here to filter.
    let nats_version = Command::new(nats_server_binary())
        .arg("--version")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|error| format!("(unknown: {error})"));
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let started = Instant::now();

    let mut single = Vec::new();
    let mut replicated = Vec::new();
    for round in 1..=ROUNDS {
        eprintln!("[{:>6.1} s] round {round}/{ROUNDS}: single node", started.elapsed().as_secs_f64());
        single.push(runtime.block_on(single_round()));
        eprintln!("[{:>6.1} s] round {round}/{ROUNDS}: R3", started.elapsed().as_secs_f64());
        replicated.push(runtime.block_on(replicated_round(round)));
    }
    let total = started.elapsed();
    report(&single, &replicated, &nats_version, cores, total);
}

/// What one round measured.
struct Round {
    latencies: Vec<Duration>,
    throughput: f64,
    /// The failover gap, and what happened around it (replicated rounds only).
    failover: Option<(Duration, String)>,
    /// Allocations acknowledged in the whole round (checked against D1's cash).
    acknowledged: u64,
    /// Attempts that failed and were retried, by phase (latency, throughput, failover).
    retries: [usize; 3],
    /// Lines at WARN or ERROR in the ledger nodes' logs.
    log_warnings: Vec<String>,
}

impl Round {
    fn p50_ms(&self) -> f64 {
        percentile(&self.latencies, 0.50)
    }

    fn p99_ms(&self) -> f64 {
        percentile(&self.latencies, 0.99)
    }
}

/// The nearest-rank percentile `q` of `samples`, in milliseconds.
fn percentile(samples: &[Duration], q: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// The workload
// ---------------------------------------------------------------------------------------------

/// The BSS allocation number `index` of the phase `phase`: 1.00 to a customer in turn.
fn allocation(phase: &str, index: usize) -> (Call, String) {
    let request_id = format!("{phase}-{index}");
    let call = Call::new("POST", "/v2/accounts/partner-accounts/adjust-amount")
        .body(json!({"customer_id": format!("C{}", index % CUSTOMERS + 1), "amount": "1.00"}).to_string())
        .header("X-Client-Request-Id", &request_id);
    (call, request_id)
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    addr: SocketAddr,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Conn, String> {
        let connect = tokio::net::TcpStream::connect(addr);
        let stream = match tokio::time::timeout(ATTEMPT_TIMEOUT, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => return Err(format!("connect {addr}: {error}")),
            Err(_) => return Err(format!("connect {addr}: timed out")),
        };
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|error| format!("handshake {addr}: {error}"))?;
        tokio::spawn(connection);
        Ok(Conn { addr, sender })
    }

    /// `call`, signed now with `key`, on this connection.
    async fn send(&mut self, key: &AccessKey, call: &Call) -> Result<Answer, String> {
        let mut builder = hyper::Request::builder().method(call.method).uri(call.path.as_str());
        for (name, value) in call.signed_headers(self.addr, &key.access, &key.secret) {
            builder = builder.header(name, value);
        }
        let request = builder.body(Full::new(Bytes::from(call.body.clone()))).map_err(|error| error.to_string())?;
        let sender = &mut self.sender;
        let exchange = async move {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>(Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
        };
        match tokio::time::timeout(ATTEMPT_TIMEOUT, exchange).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => Err(format!("{}: {error}", self.addr)),
            Err(_) => Err(format!("{}: no answer within {ATTEMPT_TIMEOUT:?}", self.addr)),
        }
    }
}

/// An acknowledged allocation: by whom, when its successful attempt started, and when it ended.
#[derive(Clone, Copy, Debug)]
struct Ack {
    addr: SocketAddr,
    attempt_started: Instant,
    acked: Instant,
}

/// A client on one keep-alive connection to the leader (or the single node). On a refused,
/// cut-off or timed-out attempt, or a 5xx, it reconnects (following `X-Leader`, else polling the
/// nodes' health) and retries the same request: its request id makes that idempotent.
struct Client {
    addrs: Vec<SocketAddr>,
    target: Option<SocketAddr>,
    conn: Option<Conn>,
    retries: usize,
}

impl Client {
    fn new(addrs: &[SocketAddr], target: SocketAddr) -> Client {
        Client { addrs: addrs.to_vec(), target: Some(target), conn: None, retries: 0 }
    }

    async fn allocate(&mut self, key: &AccessKey, call: &Call, request_id: &str) -> Ack {
        let started = Instant::now();
        let mut last = String::new();
        while started.elapsed() < PATIENCE {
            if self.conn.is_none() {
                let target = match self.target {
                    Some(target) => target,
                    None => match cluster::poll_leader(&self.addrs).await {
                        Some(leader) => leader,
                        None => {
                            last = "no node says it leads".to_owned();
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    },
                };
                match Conn::open(target).await {
                    Ok(conn) => self.conn = Some(conn),
                    Err(error) => {
                        self.failed(None, error, &mut last).await;
                        continue;
                    }
                }
            }
            let conn = self.conn.as_mut().expect("a connection");
            let addr = conn.addr;
            let attempt_started = Instant::now();
            match conn.send(key, call).await {
                Ok(answer) if answer.status == 200 => {
                    let acked = Instant::now();
                    let transfer = answer.json()["transfer_id"].as_str().map(str::to_owned);
                    assert_eq!(transfer.as_deref(), Some(request_id), "{request_id} at {addr}: {}", answer.body);
                    self.target = Some(addr);
                    return Ack { addr, attempt_started, acked };
                }
                Ok(answer) if answer.status < 500 => panic!("{request_id} at {addr}: HTTP {}: {}", answer.status, answer.body),
                Ok(answer) => {
                    let pointed = answer.headers.get("x-leader").and_then(|value| value.to_str().ok()).and_then(|text| text.parse().ok());
                    let message = format!("{addr}: HTTP {}: {}", answer.status, answer.body);
                    self.failed(pointed.filter(|pointed| *pointed != addr && self.addrs.contains(pointed)), message, &mut last).await;
                }
                Err(error) => self.failed(None, error, &mut last).await,
            }
        }
        panic!("{request_id} got no acknowledgement within {PATIENCE:?}; last: {last}");
    }

    async fn failed(&mut self, next: Option<SocketAddr>, error: String, last: &mut String) {
        self.retries += 1;
        self.conn = None;
        // One node: always it. Several: where the refusal pointed, else whoever says it leads.
        self.target = if self.addrs.len() == 1 { Some(self.addrs[0]) } else { next };
        *last = error;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The untimed warm-up and the timed latency run on one client: the per-request times.
async fn latency_run(addrs: &[SocketAddr], target: SocketAddr, key: &AccessKey, acknowledged: &AtomicU64) -> (Vec<Duration>, usize) {
    let mut client = Client::new(addrs, target);
    for index in 0..WARMUP {
        let (call, request_id) = allocation("warm", index);
        client.allocate(key, &call, &request_id).await;
        acknowledged.fetch_add(1, Ordering::SeqCst);
    }
    let mut latencies = Vec::with_capacity(LATENCY_N);
    for index in 0..LATENCY_N {
        let (call, request_id) = allocation("lat", index);
        let sent = Instant::now();
        let ack = client.allocate(key, &call, &request_id).await;
        latencies.push(ack.acked - sent);
        acknowledged.fetch_add(1, Ordering::SeqCst);
    }
    (latencies, client.retries)
}

/// `THROUGHPUT_N` allocations shared by `THROUGHPUT_CLIENTS` clients: allocations/s.
async fn throughput_run(addrs: &[SocketAddr], target: SocketAddr, key: &AccessKey, acknowledged: &Arc<AtomicU64>) -> (f64, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..THROUGHPUT_CLIENTS {
        let (next, acknowledged, key) = (Arc::clone(&next), Arc::clone(acknowledged), key.clone());
        let mut client = Client::new(addrs, target);
        clients.spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= THROUGHPUT_N {
                    return client.retries;
                }
                let (call, request_id) = allocation("tp", index);
                client.allocate(&key, &call, &request_id).await;
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
        });
    }
    let mut retries = 0;
    while let Some(done) = clients.join_next().await {
        retries += done.expect("a throughput client panicked (see above)");
    }
    (THROUGHPUT_N as f64 / started.elapsed().as_secs_f64(), retries)
}

/// D1's cash on the node at `addr` (the leader), which must be the initial cash minus every
/// acknowledged allocation.
async fn check_cash(addr: SocketAddr, platform: &AccessKey, acknowledged: u64, what: &str) {
    let answer = commands_at(addr, platform, &[json!({"op": "balance", "party": "partner:D1"})]).await;
    assert_eq!(answer.status, 200, "{what}: balance at {addr}: {}", answer.body);
    let line = answer.lines().remove(0);
    let expected = format!("{}.00", INITIAL_CASH - acknowledged);
    assert_eq!(
        line["result"]["cash"].as_str(),
        Some(expected.as_str()),
        "{what}: D1's cash after {acknowledged} acknowledged allocations: {line}"
    );
}

/// The lines at WARN or ERROR of the log files `logs` (the ledger's and NATS's formats), each
/// read from its byte offset on.
fn warnings(logs: &[(PathBuf, usize)]) -> Vec<String> {
    let mut found = Vec::new();
    for (log, from) in logs {
        let text = std::fs::read(log).unwrap_or_default();
        let text = String::from_utf8_lossy(text.get(*from..).unwrap_or_default());
        let name = log.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
        found.extend(
            text.lines()
                .filter(|line| [" WARN ", " ERROR ", "[WRN]", "[ERR]", "[FTL]"].iter().any(|marker| line.contains(marker)))
                .map(|line| format!("{name}: {line}")),
        );
    }
    found
}

// ---------------------------------------------------------------------------------------------
// A single node
// ---------------------------------------------------------------------------------------------

/// `partner-ledger serve` without `--cluster`, on a ledger set up and keyed before it starts.
async fn single_round() -> Round {
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("single.redb");
    let setup = dir.path().join("setup.jsonl");
    let lines: Vec<String> = cluster::setup_lines(CUSTOMERS, INITIAL_CASH).iter().map(Value::to_string).collect();
    std::fs::write(&setup, lines.join("\n") + "\n").expect("the setup file");
    let output = Command::new(cluster::binary()).arg("apply").arg("--db").arg(&db).arg(&setup).output().expect("running apply");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "apply failed ({}): {stdout}\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    for line in stdout.lines() {
        let result: Value = serde_json::from_str(line).unwrap_or_else(|error| panic!("apply printed {line:?}: {error}"));
        assert_eq!(result["ok"], true, "the setup failed: {line}");
    }
    let platform = cluster::db_key(&db, "platform");
    let d1 = cluster::db_key(&db, "partner:D1");

    let addr = SocketAddr::from(([127, 0, 0, 1], free_ports(1)[0]));
    let log = dir.path().join("single.log");
    let mut child = spawn_single(&db, addr, &log);
    let acknowledged = Arc::new(AtomicU64::new(0));
    let addrs = [addr];
    let (latencies, latency_retries) = latency_run(&addrs, addr, &d1, &acknowledged).await;
    let (throughput, throughput_retries) = throughput_run(&addrs, addr, &d1, &acknowledged).await;
    let acknowledged = acknowledged.load(Ordering::SeqCst);
    check_cash(addr, &platform, acknowledged, "single node").await;
    let _ = child.kill();
    let _ = child.wait();
    let log_warnings = warnings(&[(log, 0)]);
    eprintln!(
        "  single: p50 {:.2} ms, p99 {:.2} ms, {throughput:.0} allocations/s; {acknowledged} acknowledged, D1's cash checked",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    Round { latencies, throughput, failover: None, acknowledged, retries: [latency_retries, throughput_retries, 0], log_warnings }
}

/// Starts `serve --db DB --listen ADDR` and waits for its `listening on` line.
fn spawn_single(db: &Path, addr: SocketAddr, log: &Path) -> Child {
    let log_file = std::fs::File::create(log).expect("the node's log file");
    let mut child = Command::new(cluster::binary())
        .arg("serve")
        .arg("--db")
        .arg(db)
        .args(["--listen", &addr.to_string()])
        .env("PARTNER_LEDGER_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .expect("starting partner-ledger serve");
    let mut reader = BufReader::new(child.stdout.take().expect("the node's stdout"));
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let expected = format!("listening on http://{addr}");
    if line.trim_end() != expected {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the single node did not print {expected:?} (got {line:?})\n{}", tail(log, 40));
    }
    child
}

// ---------------------------------------------------------------------------------------------
// Three replicated nodes
// ---------------------------------------------------------------------------------------------

/// NATS, three ledger nodes (lease TTL `LEASE_TTL_MS`), keys, the setup; then the runs against
/// the leader, the failover, and the check of D1's cash.
async fn replicated_round(round: usize) -> Round {
    let dir = tempfile::tempdir().expect("a temp dir");
    let nats_dir = dir.path().join("nats");
    std::fs::create_dir_all(&nats_dir).expect("the NATS directory");
    let nats = NatsCluster::start(&nats_dir);
    // NATS logs refused routes and a missing meta leader while its servers start: not counted.
    let nats_logs: Vec<(PathBuf, usize)> = (1..=3)
        .map(|index| nats_dir.join(format!("n{index}.log")))
        .map(|log| {
            let size = std::fs::metadata(&log).map_or(0, |metadata| metadata.len() as usize);
            (log, size)
        })
        .collect();
    let mut nodes = Nodes::start(dir.path(), &nats.urls(), BOOK, 3);
    let leader = nodes.leader().await;
    let platform = nodes.key("platform").await;
    let answer = commands_at(nodes.nodes[leader].addr(), &platform, &cluster::setup_lines(CUSTOMERS, INITIAL_CASH)).await;
    assert_eq!(answer.status, 200, "the setup: {}", answer.body);
    for line in answer.lines() {
        assert_eq!(line["ok"], true, "the setup failed: {line}");
    }
    let d1 = nodes.key("partner:D1").await;
    let leader = nodes.leader().await;
    let target = nodes.nodes[leader].addr();
    let addrs = nodes.addrs();

    let acknowledged = Arc::new(AtomicU64::new(0));
    let (latencies, latency_retries) = latency_run(&addrs, target, &d1, &acknowledged).await;
    let (throughput, throughput_retries) = throughput_run(&addrs, target, &d1, &acknowledged).await;
    let (gap, story, failover_retries) = failover_run(&mut nodes, &d1, &acknowledged, round).await;

    let acknowledged = acknowledged.load(Ordering::SeqCst);
    let leader = nodes.leader().await;
    check_cash(nodes.nodes[leader].addr(), &platform, acknowledged, &format!("R3 round {round}")).await;
    let top = nodes.nodes[leader].health().await.expect("the leader's health").applied_seq;
    nodes.converged(top).await;
    let mut logs: Vec<(PathBuf, usize)> = nodes.nodes.iter().map(|node| (node.log.clone(), 0)).collect();
    logs.extend(nats_logs);
    let log_warnings = warnings(&logs);
    eprintln!(
        "  R3: p50 {:.2} ms, p99 {:.2} ms, {throughput:.0} allocations/s, failover gap {} ms; {acknowledged} acknowledged, D1's cash \
         checked on the leader, all three nodes converged at seq >= {top}; {} WARN/ERROR lines in the node and NATS logs (after NATS started)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        gap.as_millis(),
        log_warnings.len()
    );
    drop(nodes);
    drop(nats);
    Round {
        latencies,
        throughput,
        failover: Some((gap, story)),
        acknowledged,
        retries: [latency_retries, throughput_retries, failover_retries],
        log_warnings,
    }
}

/// `FAILOVER_CLIENTS` clients allocate until told to stop; the leader is killed once they are
/// under way and restarted as soon as it is dead. The gap from the kill to the first
/// acknowledgement of an attempt started after it, and what happened.
async fn failover_run(nodes: &mut Nodes, key: &AccessKey, acknowledged: &Arc<AtomicU64>, round: usize) -> (Duration, String, usize) {
    let addrs = nodes.addrs();
    let leader = nodes.leader().await;
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let acks: Arc<Mutex<Vec<Ack>>> = Arc::new(Mutex::new(Vec::new()));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..FAILOVER_CLIENTS {
        let (stop, next, acks, acknowledged, key) =
            (Arc::clone(&stop), Arc::clone(&next), Arc::clone(&acks), Arc::clone(acknowledged), key.clone());
        let mut client = Client::new(&addrs, nodes.nodes[leader].addr());
        clients.spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let (call, request_id) = allocation("fo", index);
                let ack = client.allocate(&key, &call, &request_id).await;
                acknowledged.fetch_add(1, Ordering::SeqCst);
                acks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(ack);
            }
            client.retries
        });
    }
    let count = || acks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len();
    wait_for(&acks, FAILOVER_BEFORE, "before the kill").await;

    let leader = nodes.leader().await;
    let name = nodes.nodes[leader].name.clone();
    let killed_at = Instant::now();
    nodes.nodes[leader].kill9();
    let dead_after = killed_at.elapsed();
    nodes.nodes[leader].start();
    let restarted_after = killed_at.elapsed();
    let first_after = |acks: &[Ack]| acks.iter().filter(|ack| ack.attempt_started > killed_at).min_by_key(|ack| ack.acked).copied();
    let started = Instant::now();
    while first_after(&acks.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).is_none() {
        assert!(started.elapsed() < PATIENCE, "no allocation acknowledged within {PATIENCE:?} of killing {name}\n{}", nodes.logs(40));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let new_leader = nodes.leader().await;
    wait_for(&acks, count() + FAILOVER_AFTER, "after the failover").await;
    stop.store(true, Ordering::SeqCst);
    let mut retries = 0;
    while let Some(done) = clients.join_next().await {
        retries += done.expect("a failover client panicked (see above)");
    }
    let first = first_after(&acks.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).expect("an acknowledgement after the kill");
    let gap = first.acked - killed_at;
    let by = nodes.nodes[nodes.index_of(first.addr)].name.clone();
    let story = format!(
        "round {round}: kill -9 leader {name} (dead after {} ms, restarted after {} ms); first ack after the kill from {by} at {} ms; \
         leader then {}",
        dead_after.as_millis(),
        restarted_after.as_millis(),
        gap.as_millis(),
        nodes.nodes[new_leader].name
    );
    eprintln!("  {story}");
    (gap, story, retries)
}

/// Waits (60 s at most) until `acks` holds `target` acknowledgements.
async fn wait_for(acks: &Mutex<Vec<Ack>>, target: usize, what: &str) {
    let count = || acks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len();
    let started = Instant::now();
    while count() < target {
        assert!(started.elapsed() < Duration::from_secs(60), "failover load: {what}: {} of {target} acknowledged", count());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------

/// The median, min and max of `values`.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (sorted[sorted.len() / 2], sorted[0], sorted[sorted.len() - 1])
}

fn report(single: &[Round], replicated: &[Round], nats_version: &str, cores: usize, total: Duration) {
    println!();
    println!(
        "replication benchmark (benches/replication.rs): single node vs R3, alternating, {ROUNDS} rounds each, fresh processes and files each round"
    );
    println!(
        "  machine: {cores} cores visible; nats-server {nats_version}; 3 NATS servers on loopback, file storage, sync_interval: always; \
         R3 ledger nodes with --lease-ttl-ms {LEASE_TTL_MS}"
    );
    println!(
        "  workload: D1 with customers C1..C{CUSTOMERS}; signed BSS allocations (POST /v2/accounts/partner-accounts/adjust-amount, 1.00, \
         own X-Client-Request-Id) over keep-alive HTTP/1.1 to the leader (R3) or the node (single)"
    );
    println!("  latency: 1 client, {WARMUP} untimed then {LATENCY_N} timed, one after another; p50/p99 nearest rank over the {LATENCY_N}");
    println!("  throughput: {THROUGHPUT_CLIENTS} concurrent clients, {THROUGHPUT_N} allocations in total");
    println!(
        "  failover: R3 only, one kill -9 of the leader node per R3 round under {FAILOVER_CLIENTS} clients (after {FAILOVER_BEFORE} acks), \
         restarted as soon as dead; gap = kill to the first ack of an attempt started after the kill"
    );
    println!("  benchmark client in this process: tokio, 2 worker threads; whole run {:.0} s", total.as_secs_f64());
    println!();
    println!("{:<22}  {:>26}  {:>26}  {:>8}", "", "single  median (min–max)", "R3  median (min–max)", "R3/single");
    let row = |label: &str, of: &dyn Fn(&Round) -> f64, decimals: usize| {
        let (single_median, single_min, single_max) = spread(&single.iter().map(of).collect::<Vec<_>>());
        let (r3_median, r3_min, r3_max) = spread(&replicated.iter().map(of).collect::<Vec<_>>());
        let cell = |median: f64, min: f64, max: f64| format!("{median:.decimals$} ({min:.decimals$}–{max:.decimals$})");
        println!(
            "{label:<22}  {:>26}  {:>26}  {:>8.2}",
            cell(single_median, single_min, single_max),
            cell(r3_median, r3_min, r3_max),
            r3_median / single_median
        );
    };
    row("latency p50 ms", &Round::p50_ms, 2);
    row("latency p99 ms", &Round::p99_ms, 2);
    row("throughput alloc/s", &|round: &Round| round.throughput, 0);
    let gaps: Vec<f64> = replicated.iter().filter_map(|round| round.failover.as_ref()).map(|(gap, _)| gap.as_secs_f64() * 1000.0).collect();
    let (median, min, max) = spread(&gaps);
    let each: Vec<String> = gaps.iter().map(|gap| format!("{gap:.0}")).collect();
    println!("{:<22}  {:>26}  {:>26}", "failover gap ms", "-", format!("{median:.0} ({min:.0}–{max:.0})"));
    println!("  failover gaps, each kill: {} ms (median {median:.0} ms, lease TTL {LEASE_TTL_MS} ms)", each.join(", "));
    for round in replicated {
        if let Some((_, story)) = &round.failover {
            println!("    {story}");
        }
    }
    println!();
    for (label, rounds) in [("single", single), ("R3", replicated)] {
        let acked: Vec<String> = rounds.iter().map(|round| round.acknowledged.to_string()).collect();
        let retries: Vec<String> = rounds.iter().map(|round| format!("{:?}", round.retries)).collect();
        let warned: Vec<String> = rounds.iter().map(|round| round.log_warnings.len().to_string()).collect();
        println!(
            "  {label}: acknowledged per round {} (D1's cash checked each round); retried attempts [latency, throughput, failover] {}; \
             WARN/ERROR lines in the node (and NATS, after it started) logs {}",
            acked.join(", "),
            retries.join(" "),
            warned.join(", ")
        );
    }
    let mut distinct: Vec<String> = Vec::new();
    for line in single.iter().chain(replicated).flat_map(|round| &round.log_warnings) {
        // Without the timestamp, to group repeats.
        let (node, rest) = line.split_once(' ').unwrap_or(("", line));
        let message = format!("{node} {}", rest.split_once(' ').map_or(rest, |(_, rest)| rest));
        if !distinct.contains(&message) {
            distinct.push(message);
        }
    }
    for message in distinct.iter().take(10) {
        println!("  log: {}", message.chars().take(300).collect::<String>());
    }
}
