//! Ledger nodes of one replicated book (SPEC 9) as child processes of the test: started, killed,
//! stopped and resumed by signal, polled for their role; keys made through the cluster; and a
//! client that keeps sending one request to whoever leads until it gets a definite answer.
//!
//! Needs `#[path]` modules `http` (common/http.rs) and `nats` (common/nats.rs) beside it.
#![allow(dead_code)]

use crate::http::{Answer, Call, try_send_on};
use crate::nats::tail;
use partner_ledger::{AccessKey, Clock, SystemClock};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The lease TTL the tests give their nodes: short, so that failovers fit in a test.
pub const LEASE_TTL_MS: u64 = 2000;
/// How long one attempt of a request may take before the client tries again.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a node may take to print its address, and the cluster to agree on one leader.
const START_WITHIN: Duration = Duration::from_secs(60);
const LEADER_WITHIN: Duration = Duration::from_secs(30);

/// The `partner-ledger` binary cargo built for this test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_partner-ledger")
}

/// What `GET /v1/health` says.
#[derive(Clone, Debug)]
pub struct Health {
    pub role: String,
    pub applied_seq: u64,
    pub head: String,
    pub stream_seq: u64,
    pub raw: Value,
}

impl Health {
    fn parse(body: &str) -> Result<Health, String> {
        let raw: Value = serde_json::from_str(body).map_err(|error| format!("health is not JSON ({error}): {body}"))?;
        Ok(Health {
            role: raw["role"].as_str().unwrap_or("").to_owned(),
            applied_seq: raw["applied_seq"].as_u64().unwrap_or(0),
            head: raw["head"].as_str().unwrap_or("").to_owned(),
            stream_seq: raw["stream_seq"].as_u64().unwrap_or(0),
            raw,
        })
    }

    pub fn is_leader(&self) -> bool {
        self.role == "leader"
    }
}

/// One attempt: a fresh connection, `call` signed now with `key` (if any), the whole exchange
/// within `timeout`. The error says what went wrong (refused, cut off, timed out).
pub async fn attempt(addr: SocketAddr, key: Option<&AccessKey>, call: &Call, timeout: Duration) -> Result<Answer, String> {
    let headers = match key {
        Some(key) => call.signed_headers(addr, &key.access, &key.secret),
        None => vec![("Host".to_owned(), addr.to_string())],
    };
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr).await.map_err(|error| format!("connect {addr}: {error}"))?;
        try_send_on(stream, call, &headers).await.map_err(|error| format!("{addr} {}: cut off: {error}", call.path))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(format!("{addr} {}: no answer within {timeout:?}", call.path)),
    }
}

/// The health of the node at `addr`, or why not (a stopped node times out).
pub async fn health_of(addr: SocketAddr, timeout: Duration) -> Result<Health, String> {
    let answer = attempt(addr, None, &Call::new("GET", "/v1/health"), timeout).await?;
    if answer.status != 200 {
        return Err(format!("{addr} health: HTTP {}: {}", answer.status, answer.body));
    }
    Health::parse(&answer.body)
}

/// One `partner-ledger serve` process of the book, on a port fixed up front so that a restarted
/// node keeps its address.
pub struct LedgerNode {
    pub name: String,
    pub db: PathBuf,
    pub port: u16,
    pub log: PathBuf,
    urls: String,
    book: String,
    lease_ttl_ms: u64,
    child: Option<Child>,
}

impl LedgerNode {
    /// A node of `book` on the NATS `urls`, its files in `dir`; not started yet.
    pub fn new(dir: &Path, name: &str, port: u16, urls: &str, book: &str) -> LedgerNode {
        LedgerNode {
            name: name.to_owned(),
            db: dir.join(format!("{name}.redb")),
            port,
            log: dir.join(format!("{name}.log")),
            urls: urls.to_owned(),
            book: book.to_owned(),
            lease_ttl_ms: LEASE_TTL_MS,
            child: None,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_else(|| panic!("{} is not running", self.name))
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the process and waits for its `listening on` line; panics with its log otherwise.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("the node's log file");
        let mut child = Command::new(binary())
            .arg("serve")
            .arg("--db")
            .arg(&self.db)
            .args(["--listen", &self.addr().to_string(), "--cluster", &self.urls, "--book", &self.book, "--node", &self.name])
            .args(["--lease-ttl-ms", &self.lease_ttl_ms.to_string()])
            .env("PARTNER_LEDGER_LOG", "info")
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}", self.name));
        let stdout = child.stdout.take().expect("the node's stdout");
        let (first_line, receiver) = std::sync::mpsc::channel();
        let rest = self.log.with_extension("stdout");
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = first_line.send(line);
            // Keep draining, so that later output never blocks the node or breaks its pipe.
            if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(rest) {
                let _ = std::io::copy(&mut reader, &mut file);
            }
        });
        self.child = Some(child);
        let expected = format!("listening on http://{}", self.addr());
        match receiver.recv_timeout(START_WITHIN) {
            Ok(line) if line.trim_end() == expected => {}
            outcome => {
                self.kill9();
                panic!("{} did not print {expected:?} (got {outcome:?})\n{}", self.name, tail(&self.log, 60));
            }
        }
    }

    /// SIGKILL, and wait until it is gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP: the process freezes (its sockets still accept connections).
    pub fn sigstop(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// SIGCONT: a stopped process resumes.
    pub fn sigcont(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.pid()).expect("a pid fits pid_t");
        // SAFETY: kill(2) on our own child's pid; it has not been waited for, so the pid is still ours.
        let result = unsafe { libc::kill(pid, signal) };
        assert_eq!(result, 0, "kill({pid}, {signal}) on {}: {}", self.name, std::io::Error::last_os_error());
    }

    /// SIGTERM, and wait (up to 30 s) for a clean exit with status 0.
    pub fn terminate(&mut self) {
        self.signal(libc::SIGTERM);
        let mut child = self.child.take().expect("a running node");
        let started = Instant::now();
        let status: ExitStatus = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() < Duration::from_secs(30) => std::thread::sleep(Duration::from_millis(50)),
                outcome => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("{} did not exit within 30 s of SIGTERM ({outcome:?})\n{}", self.name, tail(&self.log, 60));
                }
            }
        };
        assert!(status.success(), "{} exited with {status} on SIGTERM\n{}", self.name, tail(&self.log, 60));
    }

    /// Its health now (2 s at most).
    pub async fn health(&self) -> Result<Health, String> {
        health_of(self.addr(), Duration::from_secs(2)).await
    }

    /// `partner-ledger verify --db FILE --cluster URLS --book NAME` on its file (stop it first).
    pub fn verify(&self) {
        assert!(self.child.is_none(), "stop {} before verifying its file", self.name);
        let output = Command::new(binary())
            .arg("verify")
            .arg("--db")
            .arg(&self.db)
            .args(["--cluster", &self.urls, "--book", &self.book])
            .output()
            .expect("running partner-ledger verify");
        assert!(
            output.status.success(),
            "verify of {} failed ({}):\n{}\n{}",
            self.name,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for LedgerNode {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The nodes of one book.
pub struct Nodes {
    pub nodes: Vec<LedgerNode>,
    pub urls: String,
    pub book: String,
}

impl Nodes {
    /// Starts `count` nodes (`l1`, `l2`, ...) of `book` with their files in `dir`.
    pub fn start(dir: &Path, urls: &str, book: &str, count: usize) -> Nodes {
        let ports = crate::nats::free_ports(count);
        let mut nodes: Vec<LedgerNode> =
            ports.iter().enumerate().map(|(index, port)| LedgerNode::new(dir, &format!("l{}", index + 1), *port, urls, book)).collect();
        for node in &mut nodes {
            node.start();
        }
        Nodes { nodes, urls: urls.to_owned(), book: book.to_owned() }
    }

    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.nodes.iter().map(LedgerNode::addr).collect()
    }

    /// The index of the node whose address is `addr`.
    pub fn index_of(&self, addr: SocketAddr) -> usize {
        self.nodes.iter().position(|node| node.addr() == addr).unwrap_or_else(|| panic!("{addr} is no node of this book"))
    }

    /// Polls every running node's health until exactly one says `leader`; its index. Panics
    /// after 30 s with what each node said and the logs.
    pub async fn leader(&self) -> usize {
        let started = Instant::now();
        loop {
            let said = self.healths().await;
            let leaders: Vec<usize> = said
                .iter()
                .enumerate()
                .filter(|(_, health)| health.as_ref().is_ok_and(Health::is_leader))
                .map(|(index, _)| index)
                .collect();
            if let [leader] = leaders[..] {
                return leader;
            }
            if started.elapsed() > LEADER_WITHIN {
                panic!("no single leader within {LEADER_WITHIN:?}: {said:?}\n{}", self.logs(40));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every node's health (a node not running says so).
    pub async fn healths(&self) -> Vec<Result<Health, String>> {
        let mut said = Vec::new();
        for node in &self.nodes {
            said.push(if node.is_running() { node.health().await } else { Err(format!("{} is not running", node.name)) });
        }
        said
    }

    /// Waits (up to 30 s) until every running node has applied at least `seq` and all report the
    /// same head; that head.
    pub async fn converged(&self, seq: u64) -> String {
        let started = Instant::now();
        loop {
            let said = self.healths().await;
            let running: Vec<&Result<Health, String>> =
                said.iter().zip(&self.nodes).filter(|(_, node)| node.is_running()).map(|(health, _)| health).collect();
            let heads: Vec<Option<&str>> = running
                .iter()
                .map(|health| health.as_ref().ok().filter(|health| health.applied_seq >= seq).map(|health| health.head.as_str()))
                .collect();
            if let Some(Some(first)) = heads.first()
                && heads.iter().all(|head| head == &Some(*first))
            {
                return (*first).to_owned();
            }
            if started.elapsed() > LEADER_WITHIN {
                panic!("the nodes did not converge on seq >= {seq} within {LEADER_WITHIN:?}: {said:?}\n{}", self.logs(40));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Makes a key for `actor` in the book's replicated key bucket (`keys add --cluster`), and
    /// waits until every running node accepts it.
    pub async fn key(&self, actor: &str) -> AccessKey {
        let key = cluster_key(&self.urls, &self.book, actor);
        let started = Instant::now();
        // A query every actor may make of its own; anything but 401 means the key is known.
        let probe = Call::new("POST", "/v1/commands").body(json!({"op": "balance", "party": "platform"}).to_string());
        for node in self.nodes.iter().filter(|node| node.is_running()) {
            loop {
                match attempt(node.addr(), Some(&key), &probe, ATTEMPT_TIMEOUT).await {
                    Ok(answer) if answer.status != 401 => break,
                    outcome if started.elapsed() > Duration::from_secs(15) => {
                        panic!("{} did not accept the new key of {actor} within 15 s: {outcome:?}\n{}", node.name, tail(&node.log, 40))
                    }
                    _ => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        }
        key
    }

    /// The last lines of every node's log.
    pub fn logs(&self, lines: usize) -> String {
        let tails: Vec<String> = self.nodes.iter().map(|node| tail(&node.log, lines)).collect();
        tails.join("\n")
    }
}

/// `partner-ledger keys add --actor ACTOR --cluster URLS --book NAME`, parsed.
pub fn cluster_key(urls: &str, book: &str, actor: &str) -> AccessKey {
    if let Some(partner) = actor.strip_prefix("operator:") {
        panic!("an operator key ({partner}) needs --domain: not used by these tests");
    }
    keys_add(actor, &["--cluster", urls, "--book", book])
}

/// `partner-ledger keys add --db DB --actor ACTOR` (a lone node's key), parsed.
pub fn db_key(db: &std::path::Path, actor: &str) -> AccessKey {
    keys_add(actor, &["--db", db.to_str().expect("a UTF-8 path")])
}

/// Runs `keys add --actor ACTOR` with `more` arguments and parses what it printed.
fn keys_add(actor: &str, more: &[&str]) -> AccessKey {
    let output =
        Command::new(binary()).args(["keys", "add", "--actor", actor]).args(more).output().expect("running partner-ledger keys add");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "keys add --actor {actor} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")))
            .unwrap_or_else(|| panic!("keys add printed no {name}:\n{stdout}"))
            .trim()
            .to_owned()
    };
    AccessKey {
        access: field("access_key"),
        secret: field("secret_key"),
        actor: field("actor"),
        domain: field("domain_id"),
        created: SystemClock.now(),
        revoked: None,
    }
}

/// The book every replication test and bench starts from: distributor D1 with customers
/// C1..C`customers`, all registered by the platform, and `cash` yuan of cash.
pub fn setup_lines(customers: usize, cash: u64) -> Vec<serde_json::Value> {
    let mut lines =
        vec![serde_json::json!({"op": "register_partner", "id": "setup-d1", "actor": "platform", "partner": "D1", "kind": "distributor"})];
    for number in 1..=customers {
        lines.push(serde_json::json!({"op": "register_customer", "id": format!("setup-c{number}"), "actor": "platform", "customer": format!("C{number}"), "partner": "D1"}));
    }
    lines.push(
        serde_json::json!({"op": "recharge", "id": "setup-cash", "actor": "platform", "party": "partner:D1", "amount": cash.to_string()}),
    );
    lines
}

/// Sends requests to whichever node leads, following `X-Leader` and re-polling health.
pub struct LeaderClient {
    addrs: Vec<SocketAddr>,
    hint: Mutex<Option<SocketAddr>>,
    /// How long one request may keep being retried before the test gives up on it.
    pub patience: Duration,
}

impl LeaderClient {
    pub fn new(addrs: Vec<SocketAddr>) -> LeaderClient {
        LeaderClient { addrs, hint: Mutex::new(None), patience: Duration::from_secs(90) }
    }

    fn hint(&self) -> Option<SocketAddr> {
        *self.hint.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set_hint(&self, addr: Option<SocketAddr>) {
        *self.hint.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = addr;
    }

    /// Sends `call` (signed afresh for each attempt: its date and Host change) to the leader until
    /// it gets a definite answer: a 2xx, or a 4xx (a business error, or a refused signature).
    /// Retries the same request (so its `X-Client-Request-Id`, or its command ids, must make it
    /// idempotent) on 503 and other 5xx, timeouts, refused and cut-off connections. Panics after
    /// `patience` with the last outcome.
    pub async fn send(&self, key: &AccessKey, call: &Call) -> (SocketAddr, Answer) {
        let started = Instant::now();
        let mut last = String::new();
        while started.elapsed() < self.patience {
            let target = match self.hint() {
                Some(addr) => addr,
                None => match poll_leader(&self.addrs).await {
                    Some(addr) => addr,
                    None => {
                        last = "no node says it leads".to_owned();
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            match attempt(target, Some(key), call, ATTEMPT_TIMEOUT).await {
                Ok(answer) if answer.status < 500 => {
                    self.set_hint(Some(target));
                    return (target, answer);
                }
                Ok(answer) => {
                    let pointed = answer.headers.get("x-leader").and_then(|value| value.to_str().ok()).and_then(|text| text.parse().ok());
                    self.set_hint(pointed.filter(|addr| *addr != target && self.addrs.contains(addr)));
                    last = format!("{target}: HTTP {}: {}", answer.status, answer.body);
                }
                Err(error) => {
                    self.set_hint(None);
                    last = error;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} {} got no definite answer within {:?}; last: {last}", call.method, call.path, self.patience);
    }

    /// Runs JSON lines through the leader's `/v1/commands`; the answer lines (HTTP 200 required).
    pub async fn commands(&self, key: &AccessKey, lines: &[Value]) -> Vec<Value> {
        let body: Vec<String> = lines.iter().map(Value::to_string).collect();
        let (addr, answer) = self.send(key, &Call::new("POST", "/v1/commands").body(body.join("\n"))).await;
        assert_eq!(answer.status, 200, "{addr}: {}", answer.body);
        answer.lines()
    }
}

/// Runs JSON lines through one node's `/v1/commands` (no retry): its answer.
pub async fn commands_at(addr: SocketAddr, key: &AccessKey, lines: &[Value]) -> Answer {
    let body: Vec<String> = lines.iter().map(Value::to_string).collect();
    let call = Call::new("POST", "/v1/commands").body(body.join("\n"));
    attempt(addr, Some(key), &call, Duration::from_secs(10)).await.unwrap_or_else(|error| panic!("{error}"))
}

/// A node of `addrs` that says it leads (all polled at once, 1 s each), or `None`.
pub async fn poll_leader(addrs: &[SocketAddr]) -> Option<SocketAddr> {
    let mut polls = tokio::task::JoinSet::new();
    for addr in addrs.iter().copied() {
        polls.spawn(async move { (addr, health_of(addr, Duration::from_secs(1)).await) });
    }
    let mut leader = None;
    while let Some(polled) = polls.join_next().await {
        if let Ok((addr, Ok(health))) = polled
            && health.is_leader()
        {
            leader = Some(addr);
        }
    }
    leader
}
