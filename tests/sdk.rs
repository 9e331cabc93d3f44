//! Huawei's own Python SDK (`huaweicloudsdkbss` 3.1.219, unmodified) drives `partner-ledger serve`:
//! tests/sdk/*.py, over plain HTTP and over TLS with a self-signed certificate made here.
//!
//! The SDK is installed into a virtual environment (`target/sdk-venv`, or `$SDK_VENV`) on first
//! use. A missing Python or SDK fails the test: it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

const PACKAGES: [&str; 2] = ["huaweicloudsdkbss==3.1.219", "huaweicloudsdkcore==3.1.219"];

/// One venv for both tests: made once, under a lock.
static VENV: Mutex<Option<PathBuf>> = Mutex::new(None);

fn venv() -> PathBuf {
    let mut made = VENV.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(path) = made.as_ref() {
        return path.clone();
    }
    let dir = std::env::var_os("SDK_VENV").map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sdk-venv"), PathBuf::from);
    let python = dir.join("bin/python");
    let installed = python.exists()
        && Command::new(&python)
            .args(["-c", "import huaweicloudsdkbss, huaweicloudsdkcore, requests"])
            .status()
            .is_ok_and(|status| status.success());
    if !installed {
        let status = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&dir)
            .status()
            .expect("python3 is needed for the SDK suite (install it: .ci/run does)");
        assert!(status.success(), "python3 -m venv {} failed", dir.display());
        let status = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(PACKAGES)
            .status()
            .expect("pip runs");
        assert!(status.success(), "pip install {PACKAGES:?} failed: the SDK suite needs PyPI");
    }
    *made = Some(python.clone());
    python
}

fn run_suite(tls: Option<(&Path, &Path)>) {
    let python = venv();
    let mut command = Command::new(&python);
    command
        .args(["-m", "unittest", "discover", "-v", "-s"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk"))
        .args(["-p", "test_*.py"])
        .env("PARTNER_LEDGER_BIN", env!("CARGO_BIN_EXE_partner-ledger"))
        .env_remove("SDK_TLS_CERT")
        .env_remove("SDK_TLS_KEY");
    if let Some((cert, key)) = tls {
        command.env("SDK_TLS_CERT", cert).env("SDK_TLS_KEY", key);
    }
    let output = command.output().expect("the SDK suite runs");
    let log = String::from_utf8_lossy(&output.stderr);
    eprintln!("{log}");
    assert!(output.status.success(), "the SDK suite failed ({}):\n{log}", if tls.is_some() { "TLS" } else { "plain HTTP" });
    assert!(log.contains("\nOK"), "the suite ran no test or did not finish: {log}");
}

#[test]
fn huawei_sdk_suite_over_plain_http() {
    run_suite(None);
}

#[test]
fn huawei_sdk_suite_over_tls_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    run_suite(Some((&cert, &key)));
}

#[test]
fn keys_are_added_listed_and_revoked_from_the_command_line_without_showing_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.redb");
    let cli = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_partner-ledger")).args(args).arg("--db").arg(&db).output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let register = dir.path().join("register.jsonl");
    std::fs::write(&register, r#"{"op":"register_partner","id":"r1","actor":"platform","partner":"P1","kind":"solution_provider"}"#)
        .unwrap();
    let applied = Command::new(env!("CARGO_BIN_EXE_partner-ledger")).arg("apply").arg("--db").arg(&db).arg(&register).output().unwrap();
    assert!(applied.status.success());
    let (ok, out, _) = cli(&["keys", "add", "--actor", "partner:P1"]);
    assert!(ok, "{out}");
    let field = |name: &str| out.lines().find_map(|line| line.strip_prefix(&format!("{name}: "))).unwrap().to_owned();
    let (access, secret) = (field("access_key"), field("secret_key"));
    assert_eq!((access.len(), secret.len(), field("domain_id")), (20, 40, "P1".to_owned()));
    let (ok, listed, _) = cli(&["keys", "list"]);
    assert!(ok && listed.contains(&access) && listed.contains("active") && !listed.contains(&secret), "{listed}");
    let (ok, _, error) = cli(&["keys", "add", "--actor", "customer:NOBODY"]);
    assert!(!ok && error.contains("not registered"), "{error}");
    let (ok, revoked, _) = cli(&["keys", "revoke", &access]);
    assert!(ok && revoked.contains("revoked"), "{revoked}");
    let (_, listed, _) = cli(&["keys", "list"]);
    assert!(listed.contains("revoked 20"), "{listed}");
    let (ok, _, error) = cli(&["keys", "revoke", "NOSUCHKEY"]);
    assert!(!ok && error.contains("no access key"), "{error}");
}
