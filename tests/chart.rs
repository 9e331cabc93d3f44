//! `partner-ledger chart` writes a well-formed SVG of a partner's customers' daily consumption in
//! one UTC+8 cycle: three series (consumption, refunds, net) with a legend, labelled axes, a
//! title naming partner and cycle, and values that add up to the `consumption_summary` totals.
mod scenario;

use scenario::{build, path, run, run_ok};

/// A small well-formedness check: one root element, tags nest and close, attributes are quoted
/// and unique, `&` only starts a known entity, and `<` never appears in text or attributes.
fn assert_well_formed(xml: &str) {
    let body = xml.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>").expect("an XML declaration").trim();
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let Some(open) = rest.find('<') else {
            check_text(rest);
            assert!(rest.trim().is_empty(), "text after the root element: {rest:?}");
            break;
        };
        check_text(&rest[..open]);
        assert!(!stack.is_empty() || rest[..open].trim().is_empty(), "text outside the root: {:?}", &rest[..open]);
        let close = rest[open..].find('>').expect("an unclosed tag") + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let expected = stack.pop().unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(name.trim(), expected, "mismatched closing tag");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name: String = tag.chars().take_while(|c| !c.is_whitespace()).collect();
        assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'), "bad tag name {name:?}");
        check_attributes(&tag[name.len()..]);
        if stack.is_empty() {
            roots += 1;
        }
        if !self_closing {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    assert_eq!(roots, 1, "exactly one root element");
}

fn check_text(text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        let entity = &rest[at..];
        assert!(["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].iter().any(|known| entity.starts_with(known)), "bare & in {text:?}");
        rest = &rest[at + 1..];
    }
    assert!(!text.contains('<'));
}

fn check_attributes(mut rest: &str) {
    let mut seen = std::collections::BTreeSet::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return;
        }
        let equals = rest.find('=').unwrap_or_else(|| panic!("attribute without a value: {rest:?}"));
        let name = rest[..equals].trim();
        assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'), "bad attribute name {name:?}");
        assert!(seen.insert(name.to_owned()), "attribute {name} twice");
        rest = rest[equals + 1..].trim_start();
        let quote = rest.chars().next().expect("a quoted value");
        assert!(quote == '"' || quote == '\'', "unquoted attribute {name}");
        let end = rest[1..].find(quote).expect("a closing quote") + 1;
        check_text(&rest[1..end]);
        rest = &rest[end + 1..];
    }
}

/// The text of the element whose start tag contains `marker`, up to its closing `</tag>`.
fn element<'a>(svg: &'a str, marker: &str, tag: &str) -> &'a str {
    let start = svg.find(marker).unwrap_or_else(|| panic!("no {marker} in the SVG"));
    let end = svg[start..].find(&format!("</{tag}>")).expect("closing tag") + start;
    &svg[start..end]
}

#[test]
fn the_chart_is_well_formed_svg_with_three_series_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    let output = dir.path().join("sp9.svg");
    let printed = run_ok(&["chart", "--partner", "SP.9", "--cycle", "2026-01", "--output", path(&output), "--db", path(&db)]);
    // U.5 became SP.9's customer in February: listed, with no January bills.
    assert!(printed.contains("3 customers, 6 bills; consumption 4250.12, refunds -120.00, net 4109.62 CNY"), "{printed}");
    let svg = std::fs::read_to_string(&output).unwrap();
    assert_well_formed(&svg);
    assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));

    let title = element(&svg, "id=\"title\"", "text");
    assert!(title.contains("partner:SP.9") && title.contains("2026-01"), "{title}");
    assert!(element(&svg, "id=\"subtitle\"", "text").contains("net 4109.62 CNY"));
    let legend = element(&svg, "id=\"legend\"", "g");
    for label in ["consumption", "refunds", "net"] {
        assert!(legend.contains(&format!(">{label} (")), "legend lacks {label}");
    }

    // Day 12: Ref-3's usage of 3500.00; day 6: O:3 (200.00) and day 10: C4's usage (250.12);
    // day 8: the refund of 120.00; day 18: a compensation, which only moves the net.
    let consumption = element(&svg, "id=\"series-consumption\"", "g");
    assert_eq!(consumption.matches("<rect").count(), 4, "{consumption}");
    for (day, amount) in [(6, "200.00"), (10, "250.12"), (12, "3500.00"), (15, "300.00")] {
        assert!(consumption.contains(&format!("2026-01 day {day}: consumption {amount} CNY")), "day {day}: {consumption}");
    }
    let refunds = element(&svg, "id=\"series-refunds\"", "g");
    assert_eq!(refunds.matches("<rect").count(), 1);
    assert!(refunds.contains("2026-01 day 8: refunds -120.00 CNY"), "{refunds}");
    let net = element(&svg, "id=\"series-net\"", "g");
    let points = net.split("points=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a polyline");
    assert_eq!(points.split_whitespace().count(), 31, "one net point per day of January");
    assert!(net.contains("2026-01 day 18: net -20.50 CNY"), "{net}");

    // Axes: every day of the month, amounts with a zero line, both axis titles.
    let days = element(&svg, "id=\"x-axis\"", "g");
    for day in 1..=31 {
        assert!(days.contains(&format!(">{day}</text>")), "day {day} unlabelled");
    }
    assert!(days.contains("day of 2026-01 (UTC+8)"));
    let amounts = element(&svg, "id=\"y-axis\"", "g");
    assert!(amounts.contains(">0</text>") && amounts.contains(">3,500</text>") && amounts.contains(">−500</text>"), "{amounts}");
    assert!(amounts.contains("amount (CNY)"));
    assert!(svg.contains("id=\"zero-line\""));
}

#[test]
fn days_are_utc8_days_and_an_empty_cycle_still_draws() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    // 2026-01-31T20:00:00Z is day 1 of the February cycle in UTC+8.
    let february = dir.path().join("feb.svg");
    run_ok(&["chart", "--partner", "partner:dist_1", "--cycle", "2026-02", "--output", path(&february), "--db", path(&db)]);
    let svg = std::fs::read_to_string(&february).unwrap();
    assert_well_formed(&svg);
    assert!(svg.contains("2026-02 day 1: consumption 7.00 CNY"), "{svg}");
    let days = element(&svg, "id=\"x-axis\"", "g");
    assert!(days.contains(">28</text>") && !days.contains(">29</text>"), "February 2026 has 28 days");

    let empty = dir.path().join("empty.svg");
    run_ok(&["chart", "--partner", "Res-1.a", "--cycle", "2026-05", "--output", path(&empty), "--db", path(&db)]);
    let svg = std::fs::read_to_string(&empty).unwrap();
    assert_well_formed(&svg);
    assert!(svg.contains("no bills in this cycle"));

    // Refusals: an unknown partner, a malformed cycle; no file is written.
    let refused = dir.path().join("refused.svg");
    let (ok, _, stderr) = run(&["chart", "--partner", "nobody", "--cycle", "2026-01", "--output", path(&refused), "--db", path(&db)]);
    assert!(!ok && stderr.contains("not_found"), "{stderr}");
    let (ok, _, stderr) = run(&["chart", "--partner", "SP.9", "--cycle", "2026-1", "--output", path(&refused), "--db", path(&db)]);
    assert!(!ok && stderr.contains("invalid_request"), "{stderr}");
    assert!(!refused.exists());
}
