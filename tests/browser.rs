//! The partner console end to end in a real headless Chromium (through chromedriver), against a
//! served demo ledger: a distributor signs in, allocates to a customer and sees its balance change,
//! rejects one partner-payment request and pays another, issues a coupon, opens the dashboard and
//! every other page, and signs out; a customer manager is refused a customer outside its own; a
//! customer sees its pages. Every page visited is saved as a PNG under
//! `target/test-output/browser/`. A missing browser or driver fails the test: it never skips.
#[path = "common/http.rs"]
mod http;

use fantoccini::{Client, ClientBuilder, Locator};
use http::Served;
use partner_ledger::http::Limits;
use partner_ledger::{Clock, Ledger, SystemClock, Timestamp};
use serde_json::json;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const BINARY: &str = env!("CARGO_BIN_EXE_partner-ledger");

/// Runs the CLI on the ledger file; its standard output.
fn cli(db: &Path, args: &[&str], input: Option<&str>) -> String {
    let mut child = Command::new(BINARY)
        .args(args)
        .arg("--db")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the partner-ledger binary runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.unwrap_or("").as_bytes()).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "partner-ledger {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// A key for `actor` made with `partner-ledger keys add`: (access key, secret key).
fn key(db: &Path, actor: &str) -> (String, String) {
    let out = cli(db, &["keys", "add", "--actor", actor], None);
    let field = |name: &str| out.lines().find_map(|line| line.strip_prefix(&format!("{name}: "))).unwrap().to_owned();
    (field("access_key"), field("secret_key"))
}

/// The demo ledger, plus what the test needs: a resale customer of D1 named for the test, a
/// coupon quota valid now, and two orders whose partner payment the customer requested.
fn demo_ledger(dir: &Path) -> PathBuf {
    let db = dir.join("demo.redb");
    cli(&db, &["demo", "--customers", "300"], None);
    let now = SystemClock.now().millis();
    let time = |offset_hours: i64| Timestamp::from_millis(now + offset_hours * 3_600_000).to_string();
    let lines = [
        json!({"op": "register_customer", "id": "bt-1", "actor": "partner:D1", "customer": "BTC1", "partner": "D1", "name": "Browser Test Ltd"}),
        json!({"op": "issue_quota", "id": "bt-2", "actor": "platform", "quota": "BT-Q1", "partner": "D1", "kind": "voucher", "amount": "10000",
            "valid_from": time(-1), "valid_until": time(24 * 30)}),
        json!({"op": "place_order", "id": "bt-3", "actor": "customer:BTC1", "order": "BT-O1", "customer": "BTC1", "amount": "120", "kind": "new", "service": "ecs"}),
        json!({"op": "place_order", "id": "bt-4", "actor": "customer:BTC1", "order": "BT-O2", "customer": "BTC1", "amount": "80", "kind": "new", "service": "obs"}),
        json!({"op": "request_partner_payment", "id": "bt-5", "actor": "customer:BTC1", "order": "BT-O1"}),
        json!({"op": "request_partner_payment", "id": "bt-6", "actor": "customer:BTC1", "order": "BT-O2"}),
    ];
    let input: String = lines.iter().map(|line| format!("{line}\n")).collect();
    let out = cli(&db, &["apply"], Some(&input));
    for line in out.lines() {
        assert!(line.contains(r#""ok":true"#), "setup command refused: {line}");
    }
    db
}

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_driver() -> Driver {
    for program in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(program).exists(),
            "{program} is missing: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run does"
        );
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver { child, port };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on port {port} within 10 s");
}

async fn browser(driver: &Driver, profile: &Path) -> Client {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1366,1600",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut args = args;
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), json!({"binary": CHROMIUM, "args": args}));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session starts through chromedriver")
}

/// The browser, where screenshots go, and the console's address.
struct Visit {
    client: Client,
    base: String,
    shots: PathBuf,
    count: usize,
}

impl Visit {
    async fn open(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap_or_else(|error| panic!("{path}: {error}"));
    }

    /// Saves the page as `NN-name.png`.
    async fn shot(&mut self, name: &str) {
        self.count += 1;
        let png = self.client.screenshot().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(self.shots.join(format!("{:02}-{name}.png", self.count)), png).unwrap();
    }

    async fn text(&self, id: &str) -> String {
        match self.client.find(Locator::Id(id)).await {
            Ok(element) => element.text().await.unwrap(),
            Err(error) => panic!("#{id}: {error}\n{}: {}", self.path().await, self.source().await),
        }
    }

    async fn type_into(&self, id: &str, text: &str) {
        let field = self.client.find(Locator::Id(id)).await.unwrap_or_else(|error| panic!("#{id}: {error}"));
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Clicks a button that submits a form, and waits until the next page has replaced this one.
    async fn click(&self, id: &str) {
        let before = self.client.find(Locator::Css("html")).await.unwrap();
        self.client.find(Locator::Id(id)).await.unwrap_or_else(|error| panic!("#{id}: {error}")).click().await.unwrap();
        for _ in 0..200 {
            if before.tag_name().await.is_err() {
                self.client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("main")).await.expect("the next page");
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("#{id}: no new page within 10 s");
    }

    /// Clicks an element that does not leave the page (a checkbox, an option).
    async fn click_css(&self, selector: &str) {
        self.client.find(Locator::Css(selector)).await.unwrap_or_else(|error| panic!("{selector}: {error}")).click().await.unwrap();
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    async fn sign_in(&mut self, (access, secret): &(String, String), name: &str) {
        self.open("/console/").await;
        assert_eq!(self.path().await, "/console/signin");
        self.type_into("access_key", access).await;
        self.type_into("secret_key", secret).await;
        self.shot(&format!("signin-{name}")).await;
        self.click("signin").await;
    }

    async fn sign_out(&mut self) {
        self.click("signout").await;
        assert_eq!(self.path().await, "/console/signin");
        assert_eq!(self.text("signin-note").await, "You are signed out.");
    }
}

fn shots_folder() -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("test-output/browser");
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

#[test]
fn a_distributor_a_manager_and_a_customer_use_the_console_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_ledger(dir.path());
    let (distributor, manager, customer) = (key(&db, "partner:D1"), key(&db, "operator:D1.cm1"), key(&db, "customer:BTC1"));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let path = db.clone();
        let served = Served::start(Box::new(move || Ledger::open(&path)), Limits::default()).await;
        let driver = start_driver().await;
        let client = browser(&driver, &dir.path().join("chromium-profile")).await;
        let mut visit = Visit { client, base: format!("http://{}", served.addr), shots: shots_folder(), count: 0 };

        distributor_flow(&mut visit, &distributor).await;
        manager_flow(&mut visit, &manager).await;
        customer_flow(&mut visit, &customer).await;

        visit.client.close().await.unwrap();
        drop(driver);
        served.stop().await;
    });
    let ledger = Ledger::open(&db).unwrap();
    ledger.verify().expect("the journal verifies after the browser's commands");
}

async fn distributor_flow(visit: &mut Visit, key: &(String, String)) {
    visit.sign_in(key, "distributor").await;
    assert_eq!(visit.path().await, "/console/overview");
    assert_eq!(visit.text("signed-in-as").await, "partner:D1");
    visit.shot("overview").await;

    // Allocate, with the confirmation step, and see the customer's allocated balance change.
    visit.open("/console/customers/BTC1").await;
    assert_eq!(visit.text("balance-allocated").await, "0.00");
    visit.shot("customer-detail").await;
    visit.type_into("allocate-amount", "250").await;
    visit.type_into("allocate-memo", "browser test").await;
    visit.click("allocate-submit").await;
    assert_eq!(visit.text("confirm-amount").await, "250");
    assert_eq!(visit.text("confirm-allocated").await, "0.00");
    visit.shot("allocate-confirm").await;
    visit.click("confirm-submit").await;
    assert_eq!(visit.path().await, "/console/customers/BTC1");
    assert!(visit.text("flash").await.starts_with("Allocation: done"), "{}", visit.text("flash").await);
    assert_eq!(visit.text("balance-allocated").await, "250.00");
    visit.shot("customer-allocated").await;

    // A refusal is shown next to its field with the SPEC code and message.
    visit.type_into("recover-amount", "999999").await;
    visit.click("recover-submit").await;
    visit.click("confirm-submit").await;
    assert!(visit.text("recover-amount-error").await.starts_with("insufficient_funds (CBC.99005003)"));
    assert_eq!(visit.text("balance-allocated").await, "250.00");
    visit.shot("recover-refused").await;

    // Partner payments: reject one, pay the other.
    visit.open("/console/payments").await;
    visit.shot("payments").await;
    visit.type_into("reject-BT-O1-reason", "not in this month's budget").await;
    visit.click("reject-BT-O1-submit").await;
    assert!(visit.text("flash").await.starts_with("Partner payment rejected: done"));
    visit.click("pay-BT-O2-submit").await;
    assert!(visit.text("flash").await.starts_with("Paid for the customer: done"));
    let awaiting = visit.text("payments").await;
    assert!(!awaiting.contains("BT-O1") && !awaiting.contains("BT-O2"), "both requests left the list: {awaiting}");
    visit.shot("payments-done").await;

    // Issue a coupon from the test's quota.
    visit.open("/console/coupons").await;
    visit.type_into("issue-coupon-coupon", "BT-CPN1").await;
    visit.click_css("#issue-coupon-quota option[value='BT-Q1']").await;
    visit.type_into("issue-coupon-customer", "BTC1").await;
    visit.type_into("issue-coupon-face_value", "50").await;
    visit.click("issue-coupon-submit").await;
    assert!(visit.text("flash").await.starts_with("Coupon issued: done"), "{}", visit.source().await);
    visit.shot("coupons").await;
    visit.open("/console/customers/BTC1?coupons_page=1").await;
    assert!(visit.text("coupons").await.contains("BT-CPN1"));

    // The dashboard: the chart inline, payable and paid per customer.
    visit.open("/console/dashboard?cycle=2026-11").await;
    visit.client.find(Locator::Css("#trend svg")).await.expect("the trend chart is inline SVG");
    assert!(!visit.text("totals-payable").await.is_empty());
    visit.shot("dashboard").await;

    for page in ["customers", "funds", "withdrawals", "invoices", "operators"] {
        visit.open(&format!("/console/{page}")).await;
        visit.client.find(Locator::Css("main h1")).await.unwrap_or_else(|error| panic!("{page}: {error}"));
        visit.shot(page).await;
    }
    visit.sign_out().await;
    visit.shot("signed-out").await;
    visit.open("/console/overview").await;
    assert_eq!(visit.path().await, "/console/signin", "signed out: no page without a session");
}

async fn manager_flow(visit: &mut Visit, key: &(String, String)) {
    visit.sign_in(key, "manager").await;
    assert_eq!(visit.path().await, "/console/customers");
    visit.shot("manager-customers").await;
    visit.open("/console/customers/BTC1").await;
    assert!(visit.text("page-error").await.starts_with("access_denied (CBC.0151)"), "{}", visit.source().await);
    visit.shot("manager-refused").await;
    visit.open("/console/dashboard?cycle=2026-11").await;
    visit.shot("manager-dashboard").await;
    visit.sign_out().await;
}

async fn customer_flow(visit: &mut Visit, key: &(String, String)) {
    visit.sign_in(key, "customer").await;
    assert_eq!(visit.path().await, "/console/overview");
    assert_eq!(visit.text("balance-allocated").await, "250.00");
    visit.shot("customer-balance").await;
    // Pay the rejected order with the coupon the distributor issued: the coupon first, then allocated money.
    visit.open("/console/orders").await;
    visit.shot("customer-orders").await;
    visit.click_css("#pay-BT-O1 input[value='BT-CPN1']").await;
    visit.click("pay-BT-O1-submit").await;
    assert!(visit.text("flash").await.starts_with("Order paid: done"), "{}", visit.source().await);
    visit.shot("customer-paid").await;
    visit.open("/console/overview").await;
    assert_eq!(visit.text("balance-allocated").await, "180.00", "120.00 = 50.00 coupon + 70.00 allocated");
    for page in ["bills", "coupons", "invoices"] {
        visit.open(&format!("/console/{page}")).await;
        visit.shot(&format!("customer-{page}")).await;
    }
    visit.sign_out().await;
}
