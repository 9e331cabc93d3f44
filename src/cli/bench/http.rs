//! `partner-ledger bench --http`: signed single-allocation requests (the BSS
//! `update_customer_account_amount`, as the Huawei SDK sends it) over 64 keep-alive connections
//! to an in-process `Server`, beside the same allocations through `Ledger::execute` from 64
//! threads. Both run on copies of one set-up ledger, alternately, three rounds each.
//!
//! Requests are signed and built before each timed run (as 64 independent clients would have
//! done on their own machines), so the figure is mostly the server's: TCP, HTTP parsing, the
//! signature check, translation, and the durable group commit. The clients' sending and reading
//! still run on the same two cores.

use super::baseline::workload::{self, Allocation, Allocations, PARTNERS, percentile};
use super::{Run, Scratch, failed, ledger_threads, progress};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use partner_ledger::http::auth::format_sdk_date;
use partner_ledger::http::sign::{Signable, canonical_request, sign, string_to_sign};
use partner_ledger::http::{Limits, ServeOptions, Server};
use partner_ledger::{AccessKey, Clock, Ledger, Party, SystemClock};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Keep-alive connections, and threads of the in-process comparison.
const CONNECTIONS: usize = 64;
const ROUNDS: usize = 3;
const PATH: &str = "/v2/accounts/partner-accounts/adjust-amount";

/// A request ready to send.
type Signed = hyper::Request<Full<Bytes>>;

fn signed(allocation: &Allocation, key: &AccessKey, host: &str, date: &str) -> Signed {
    let body = format!(r#"{{"customer_id": "C{}", "amount": {}}}"#, allocation.customer, workload::amount_text(allocation.amount_fen));
    let mut headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("Host".to_owned(), host.to_owned()),
        ("User-Agent".to_owned(), "huaweicloud-usdk-python/3.0".to_owned()),
        ("X-Client-Request-Id".to_owned(), allocation.id.clone()),
        ("X-Sdk-Date".to_owned(), date.to_owned()),
    ];
    let names: Vec<String> = ["content-type", "host", "user-agent", "x-client-request-id", "x-sdk-date"].map(str::to_owned).to_vec();
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let signable = Signable { method: "POST", path: PATH, query: "", headers: &pairs, body: body.as_bytes() };
    let canonical = canonical_request(&signable, &names).expect("every signed header is present once");
    let signature = sign(&key.secret, &string_to_sign(date, &canonical));
    headers.push((
        "Authorization".to_owned(),
        format!("SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={signature}", key.access, names.join(";")),
    ));
    let mut builder = hyper::Request::builder().method("POST").uri(PATH);
    for (name, value) in &headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(Full::new(Bytes::from(body))).expect("a valid request")
}

/// Sends `requests` over one keep-alive connection; per-request latencies and refusals.
async fn connection(addr: SocketAddr, requests: Vec<Signed>) -> Result<(Vec<Duration>, usize), String> {
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(failed("connecting"))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(failed("handshake"))?;
    tokio::spawn(connection);
    let (mut latencies, mut refused) = (Vec::with_capacity(requests.len()), 0);
    for request in requests {
        let started = Instant::now();
        let response = sender.send_request(request).await.map_err(failed("sending"))?;
        refused += usize::from(!response.status().is_success());
        response.into_body().collect().await.map_err(failed("reading the answer"))?;
        latencies.push(started.elapsed());
    }
    Ok((latencies, refused))
}

/// One timed HTTP run of `allocations` spread over the connections (allocation `i` on connection `i % 64`).
async fn http_run(addr: SocketAddr, keys: &[AccessKey], allocations: &[Allocation], run: &mut Run) -> Result<usize, String> {
    let date = format_sdk_date(SystemClock.now());
    let host = addr.to_string();
    let mut lanes: Vec<Vec<Signed>> = (0..CONNECTIONS).map(|_| Vec::new()).collect();
    for (index, allocation) in allocations.iter().enumerate() {
        lanes[index % CONNECTIONS].push(signed(allocation, &keys[allocation.partner as usize], &host, &date));
    }
    let started = Instant::now();
    let tasks: Vec<_> = lanes.into_iter().map(|lane| tokio::spawn(connection(addr, lane))).collect();
    let mut refused = 0;
    for task in tasks {
        let (latencies, lane_refused) = task.await.map_err(failed("a client task"))??;
        run.latencies.extend(latencies);
        refused += lane_refused;
    }
    run.busy += started.elapsed();
    run.commands += allocations.len();
    Ok(refused)
}

/// The server's own account of its batches, from `GET /v1/metrics`.
async fn server_metrics(addr: SocketAddr) -> Result<String, String> {
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(failed("connecting"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(failed("handshake"))?;
    tokio::spawn(connection);
    let request = hyper::Request::builder()
        .uri("/v1/metrics")
        .header("Host", addr.to_string())
        .body(Full::new(Bytes::new()))
        .map_err(failed("request"))?;
    let body =
        sender.send_request(request).await.map_err(failed("metrics"))?.into_body().collect().await.map_err(failed("metrics"))?.to_bytes();
    let text = String::from_utf8_lossy(&body);
    let value = |name: &str| text.lines().find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok()).unwrap_or(0.0);
    let batches = value("partner_ledger_batch_requests_count ");
    Ok(format!(
        "server: {batches:.0} batches of {:.1} requests on average, {:.2} ms per batch (decide and durable commit)",
        value("partner_ledger_batch_requests_sum ") / batches.max(1.0),
        value("partner_ledger_commit_seconds_sum ") * 1000.0 / batches.max(1.0)
    ))
}

/// Median, min and max of a column of the rounds.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (percentile(&sorted, 0.5).unwrap_or_default(), sorted.first().copied().unwrap_or_default(), sorted.last().copied().unwrap_or_default())
}

/// Runs the HTTP bench; prints each round and the medians.
pub fn run(customers: u32, commands: u32, scratch: &Scratch) -> Result<(), String> {
    progress(&format!("setting up the ledger ({customers} customers) and one key per partner"));
    let keys: Vec<AccessKey> = {
        let ledger = Ledger::open(scratch.path("http.redb")).map_err(failed("opening the ledger"))?;
        workload::setup_ledger(&ledger, customers)?;
        (0..PARTNERS)
            .map(|partner| {
                let actor = Party::parse(&format!("partner:P{partner}")).expect("a valid party");
                partner_ledger::http::keys::add(&ledger, &actor, SystemClock.now()).map_err(failed("making a key"))
            })
            .collect::<Result<_, _>>()?
    };
    std::fs::copy(scratch.path("http.redb"), scratch.path("inproc.redb")).map_err(failed("copying the ledger"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(failed("the runtime"))?;
    let http_path = scratch.path("http.redb");
    let options = ServeOptions { listen: "127.0.0.1:0".parse().expect("an address"), tls: None, limits: Limits::default() };
    let server =
        runtime.block_on(Server::bind(Box::new(move || Ledger::open(&http_path)), options)).map_err(failed("starting the server"))?;
    let addr = server.local_addr().map_err(failed("the server's address"))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = runtime.spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let inproc = Arc::new(Ledger::open(scratch.path("inproc.redb")).map_err(failed("opening the in-process copy"))?);
    let mut stream = Allocations::new("h", customers, 0x5EED_4777);
    println!(
        "\nHTTP: signed single allocations over {CONNECTIONS} keep-alive connections, beside Ledger::execute from {CONNECTIONS} threads"
    );
    println!(
        "{:<6} {:>13} {:>10} {:>10}   {:>13} {:>10} {:>10}   {:>6}",
        "round", "HTTP /s", "p50", "p99", "in-process /s", "p50", "p99", "ratio"
    );
    let mut rounds = Vec::new();
    for round in 1..=ROUNDS {
        let allocations = stream.take_vec(commands as usize);
        let mut http = Run::ledger("HTTP");
        let refused = runtime.block_on(http_run(addr, &keys, &allocations, &mut http))?;
        let requests = workload::decode(&stream.take_vec(commands as usize));
        let mut local = Run::ledger("in-process");
        let local_refused = ledger_threads(&inproc, &requests, CONNECTIONS, &mut local);
        if refused + local_refused > 0 {
            return Err(format!("{refused} HTTP and {local_refused} in-process allocations were refused"));
        }
        let ratio = http.throughput() / local.throughput();
        println!(
            "{round:<6} {:>13.0} {:>10} {:>10}   {:>13.0} {:>10} {:>10}   {ratio:>6.2}",
            http.throughput(),
            super::format_duration(http.latency(0.5)),
            super::format_duration(http.latency(0.99)),
            local.throughput(),
            super::format_duration(local.latency(0.5)),
            super::format_duration(local.latency(0.99)),
        );
        rounds.push([http.throughput(), local.throughput(), ratio]);
    }
    let column = |index: usize| spread(&rounds.iter().map(|round| round[index]).collect::<Vec<_>>());
    let (http, local, ratio) = (column(0), column(1), column(2));
    println!(
        "median of {ROUNDS} (min–max): HTTP {:.0}/s ({:.0}–{:.0}), in-process {:.0}/s ({:.0}–{:.0}), HTTP ÷ in-process {:.2} ({:.2}–{:.2})",
        http.0, http.1, http.2, local.0, local.1, local.2, ratio.0, ratio.1, ratio.2
    );
    let metrics = runtime.block_on(server_metrics(addr))?;
    println!("{metrics}");
    let _ = stop.send(());
    runtime.block_on(serving).map_err(failed("stopping the server"))?;
    let ledger = Ledger::open(scratch.path("http.redb")).map_err(failed("reopening"))?;
    let report = ledger.verify().map_err(failed("verify after the HTTP runs"))?;
    println!("verify after the HTTP runs: ok, {} transactions", report.transactions);
    Ok(())
}
