//! `apply` whose results cannot be written (its reader went away: `apply … | head`) stops after
//! the batch it was running, exits non-zero and says why; what it applied is a prefix of its
//! input, durable and verified, and resending the input answers that prefix as duplicates and the
//! rest as an uninterrupted run does (docs/decisions.md).
#[path = "common/backends.rs"]
mod backends;

use backends::workload;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_partner-ledger"))
}

fn apply(db: &Path, input: &Path) -> Output {
    let output = binary().args(["apply", "--batch", "50", "--db"]).arg(db).arg(input).output().expect("run apply");
    assert!(output.status.success(), "apply: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn answers(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout).lines().map(|line| serde_json::from_str(line).expect("a JSON result line")).collect()
}

/// What identifies an answer whatever the wall clock: success, seq and error code.
fn gist(answer: &Value) -> (Value, Value, Value) {
    (answer["ok"].clone(), answer["seq"].clone(), answer["error"]["code"].clone())
}

#[test]
fn apply_stops_after_the_batch_in_hand_when_its_results_cannot_be_written() {
    const LINES: usize = 3_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("input.jsonl");
    std::fs::write(&input, workload(10, LINES).join("\n") + "\n").expect("write the input");
    let reference = answers(&apply(&dir.path().join("reference.redb"), &input));
    assert_eq!(reference.len(), LINES);

    let db = dir.path().join("cut.redb");
    let mut child = binary()
        .args(["apply", "--batch", "50", "--db"])
        .arg(&db)
        .arg(&input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn apply");
    let mut results = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    results.read_line(&mut first).expect("the first result line");
    assert_eq!(gist(&serde_json::from_str(&first).expect("JSON")), gist(&reference[0]));
    drop(results);
    let cut = child.wait_with_output().expect("apply ends");
    let stderr = String::from_utf8_lossy(&cut.stderr);
    assert!(!cut.status.success() && cut.status.code() != Some(101), "{:?}: {stderr}", cut.status);
    assert!(stderr.contains("writing results") && !stderr.contains("panicked"), "{stderr}");

    let verify = binary().args(["verify", "--db"]).arg(&db).output().expect("run verify");
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));

    let again = answers(&apply(&db, &input));
    assert_eq!(again.len(), LINES);
    let held = again.iter().rposition(|answer| answer["duplicate"] == true).map_or(0, |last| last + 1);
    assert!(held > 0, "the first batch was applied: its result was read");
    assert!(held < LINES, "apply went on to the end although nobody read its results");
    for (index, (answer, original)) in again.iter().zip(&reference).enumerate() {
        if index < held && original["seq"].is_u64() {
            assert_eq!((&answer["duplicate"], &answer["seq"]), (&Value::Bool(true), &original["seq"]), "line {index}: {answer}");
        } else if index < held {
            // Refused where it stood; sent again after later lines, it is refused again (its
            // `at` is now behind the journal).
            assert_eq!(answer["ok"], false, "line {index}: {answer} (uninterrupted: {original})");
        } else {
            assert_eq!(gist(answer), gist(original), "line {index}: {answer} (uninterrupted: {original})");
            assert_ne!(answer["duplicate"], true, "line {index} was not applied before: {answer}");
        }
    }
}
