//! The daily consumption trend of a partner's customers in one UTC+8 billing cycle, drawn as a
//! hand-written SVG (no plotting dependency). Shared by `partner-ledger chart` and the console's
//! consumption dashboard: both gather the same queries (`consumption_summary` for the customers and
//! totals, `bills` per customer) and hand the rows to [`Trend`].
//!
//! Each bill falls on the UTC+8 calendar day of its time and counts as the summary counts it:
//! payments and usage are consumption, refunds are refunds (negative), compensations and deductions
//! are adjustments; net = consumption + refunds + adjustments, so the days add up to the summary's
//! totals ([`Trend::check_totals`]). Every text in the SVG is escaped.

use crate::{Amount, Timestamp};
use serde_json::Value;
use std::fmt::Write as _;

/// UTC+8, in milliseconds.
const CYCLE_OFFSET_MILLIS: i64 = 8 * 3_600 * 1_000;
const DAY_MILLIS: i64 = 86_400_000;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 540.0;
const LEFT: f64 = 96.0;
const RIGHT: f64 = 28.0;
const TOP: f64 = 112.0;
const BOTTOM: f64 = 64.0;

const CONSUMPTION_COLOUR: &str = "#3b75af";
const REFUNDS_COLOUR: &str = "#e4572e";
const NET_COLOUR: &str = "#1b7f3b";

/// One day's sums, in fen.
#[derive(Clone, Copy, Default, Debug, PartialEq)]
pub struct Day {
    /// Payments and usage, at what was due.
    pub consumption: i128,
    /// Refunds (negative).
    pub refunds: i128,
    /// Compensations and deductions.
    pub adjustments: i128,
}

impl Day {
    /// consumption + refunds + adjustments.
    pub fn net(&self) -> i128 {
        self.consumption + self.refunds + self.adjustments
    }
}

/// What the chart shows.
pub struct Trend {
    /// The partner, as written (`partner:D1`).
    pub partner: String,
    /// The `YYYY-MM` cycle.
    pub cycle: String,
    /// Customers counted.
    pub customers: usize,
    /// Bills counted.
    pub bills: usize,
    /// One entry per day of the cycle.
    pub days: Vec<Day>,
}

impl Trend {
    /// An empty trend of `customers` customers over the days of `cycle`; `None` when the cycle is
    /// not `YYYY-MM`.
    pub fn new(partner: &str, cycle: &str, customers: usize) -> Option<Trend> {
        let days = days_in_cycle(cycle)?;
        Some(Trend {
            partner: format!("partner:{partner}"),
            cycle: cycle.to_owned(),
            customers,
            bills: 0,
            days: vec![Day::default(); days],
        })
    }

    /// Counts one row of a `bills` answer on its day.
    ///
    /// # Errors
    /// A message when the bill has no time or amount, or falls outside the cycle.
    pub fn add_bill(&mut self, bill: &Value) -> Result<(), String> {
        add_bill(self, bill)
    }

    /// Checks that the days add up to the `totals` of the cycle's `consumption_summary`.
    ///
    /// # Errors
    /// A message naming the first sum that differs.
    pub fn check_totals(&self, totals: &Value) -> Result<(), String> {
        let sum = |pick: fn(&Day) -> i128| self.days.iter().map(pick).sum::<i128>();
        let expected = [("consumption", sum(|day| day.consumption)), ("refunds", sum(|day| day.refunds)), ("net", sum(Day::net))];
        for (key, total) in expected {
            if totals[key].as_str() != Some(Amount::from_minor(total).to_string().as_str()) {
                return Err(format!("the days' {key} ({}) do not add up to the summary's ({})", Amount::from_minor(total), totals[key]));
            }
        }
        Ok(())
    }
}

fn add_bill(trend: &mut Trend, bill: &Value) -> Result<(), String> {
    let at = bill["at"].as_str().and_then(|at| Timestamp::parse(at).ok()).ok_or_else(|| format!("bill without a time: {bill}"))?;
    let day = day_of_cycle(at);
    let amount = fen(&bill["amount"]).ok_or_else(|| format!("bill without an amount: {bill}"))?;
    let slot = trend.days.get_mut(day.wrapping_sub(1)).ok_or_else(|| format!("bill outside the cycle: {bill}"))?;
    match bill["bill_type"].as_str() {
        Some("refund") => slot.refunds += amount,
        Some("compensation" | "deduction") => slot.adjustments += amount,
        _ => slot.consumption += amount,
    }
    trend.bills += 1;
    Ok(())
}

/// The day of the month (1-based) of an instant's UTC+8 calendar date.
fn day_of_cycle(at: Timestamp) -> usize {
    let local = Timestamp::from_millis(at.millis() + CYCLE_OFFSET_MILLIS).to_string();
    local[8..10].parse().unwrap_or(0)
}

/// Days in a `YYYY-MM` cycle.
pub fn days_in_cycle(cycle: &str) -> Option<usize> {
    let (year, month) = cycle.split_once('-')?;
    let (year, month): (i64, i64) = (year.parse().ok()?, month.parse().ok()?);
    let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    let start = Timestamp::parse(&format!("{year:04}-{month:02}-01T00:00:00Z")).ok()?;
    let end = Timestamp::parse(&format!("{next_year:04}-{next_month:02}-01T00:00:00Z")).ok()?;
    usize::try_from((end.millis() - start.millis()) / DAY_MILLIS).ok()
}

/// An amount string in fen.
fn fen(value: &Value) -> Option<i128> {
    let text = value.as_str()?;
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    let (units, fraction) = digits.split_once('.')?;
    let magnitude = units.parse::<i128>().ok()? * 100 + fraction.parse::<i128>().ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` intervals.
fn nice_step(span: f64, ticks: f64) -> f64 {
    let raw = span / ticks;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().map(|factor| factor * magnitude).find(|step| *step >= raw).unwrap_or(10.0 * magnitude);
    step.max(0.01)
}

/// The amount axis: of the "nice" steps (1, 2, 2.5 or 5 times a power of ten) giving 4 to 10
/// intervals, the one that wastes the least room around `low..=high` (ties: nearest 6 intervals).
fn axis(low: f64, high: f64) -> (f64, f64, f64) {
    let exponent = (high - low).log10().floor() as i32;
    let mut best: Option<(f64, f64, f64)> = None;
    let mut best_key = (f64::INFINITY, f64::INFINITY);
    for power in exponent - 2..=exponent + 1 {
        for factor in [1.0, 2.0, 2.5, 5.0] {
            let step = factor * 10f64.powi(power);
            if step < 0.01 {
                continue;
            }
            let (axis_low, axis_high) = ((low / step + 1e-9).floor() * step, (high / step - 1e-9).ceil() * step);
            let intervals = ((axis_high - axis_low) / step).round();
            if !(4.0..=10.0).contains(&intervals) {
                continue;
            }
            let key = (((axis_high - axis_low) / (high - low) * 1e6).round(), (intervals - 6.0).abs());
            if key < best_key {
                best_key = key;
                best = Some((axis_low, axis_high, step));
            }
        }
    }
    best.unwrap_or_else(|| {
        let step = nice_step(high - low, 8.0);
        ((low / step).floor() * step, (high / step).ceil() * step, step)
    })
}

/// A tick label: thousands grouped, decimals only when the step needs them.
fn tick_label(value: f64, step: f64) -> String {
    if value.abs() < step * 1e-6 {
        return "0".to_owned();
    }
    let whole = |value: f64| (value - value.round()).abs() < 1e-6;
    let decimals = if whole(step) {
        0
    } else if whole(step * 10.0) {
        1
    } else {
        2
    };
    let text = format!("{:.*}", decimals, value.abs());
    let (integer, fraction) = text.split_once('.').map_or((text.as_str(), None), |(integer, fraction)| (integer, Some(fraction)));
    let mut grouped = String::new();
    for (index, digit) in integer.chars().enumerate() {
        if index > 0 && (integer.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if value < 0.0 && text.bytes().any(|b| (b'1'..=b'9').contains(&b)) { "−" } else { "" };
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

fn money(fen: i128) -> String {
    Amount::from_minor(fen).to_string()
}

/// The whole SVG document (an XML declaration, then [`svg_element`]).
pub fn svg(trend: &Trend) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", svg_element(trend))
}

/// The `<svg>` element alone, to place inside an HTML page.
pub fn svg_element(trend: &Trend) -> String {
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let yuan = |fen: i128| fen as f64 / 100.0;
    let values = trend.days.iter().flat_map(|day| [yuan(day.consumption), yuan(day.refunds), yuan(day.net())]);
    let (low, high) = values.fold((0.0f64, 0.0f64), |(low, high), value| (low.min(value), high.max(value)));
    let high = if high <= low { low + 1.0 } else { high };
    let (axis_low, axis_high, step) = axis(low, high);
    let y = |value: f64| TOP + plot_height * (axis_high - value) / (axis_high - axis_low);
    let slot = plot_width / trend.days.len().max(1) as f64;
    let x_center = |index: usize| LEFT + slot * (index as f64 + 0.5);
    let bar_width = (slot * 0.62).max(1.0);

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"#
    );
    let title = format!("Consumption of the customers of {} — cycle {} (UTC+8)", trend.partner, trend.cycle);
    let _ = writeln!(out, "  <title>{}</title>", escape(&title));
    let _ = writeln!(out, r##"  <rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##);
    // Long partner ids shrink the title rather than run off the canvas.
    let title_size = (20.0 * 74.0 / title.chars().count().max(1) as f64).min(20.0);
    let _ = writeln!(
        out,
        r##"  <text id="title" x="{LEFT}" y="34" font-size="{title_size:.1}" font-weight="bold" fill="#222222">{}</text>"##,
        escape(&title)
    );
    let total = |pick: fn(&Day) -> i128| money(trend.days.iter().map(pick).sum());
    let subtitle = format!(
        "{} · {} · consumption {} · refunds {} · net {} CNY",
        plural(trend.customers, "customer"),
        plural(trend.bills, "bill"),
        total(|day| day.consumption),
        total(|day| day.refunds),
        total(Day::net)
    );
    let _ = writeln!(out, r##"  <text id="subtitle" x="{LEFT}" y="58" font-size="13" fill="#555555">{}</text>"##, escape(&subtitle));
    legend(&mut out);

    // Grid and amount axis.
    let _ = writeln!(out, r##"  <g id="y-axis" font-size="12" fill="#444444" text-anchor="end">"##);
    let ticks = ((axis_high - axis_low) / step).round() as i64;
    for tick in 0..=ticks {
        let value = axis_low + step * tick as f64;
        let at = y(value);
        let _ = writeln!(
            out,
            r##"    <line x1="{LEFT}" y1="{at:.1}" x2="{:.1}" y2="{at:.1}" stroke="#e3e3e3" stroke-width="1"/>"##,
            LEFT + plot_width
        );
        let _ = writeln!(out, r#"    <text x="{:.1}" y="{:.1}">{}</text>"#, LEFT - 8.0, at + 4.0, tick_label(value, step));
    }
    let _ = writeln!(
        out,
        r#"    <text x="{:.1}" y="{:.1}" transform="rotate(-90 {:.1} {:.1})" text-anchor="middle" font-size="13">amount (CNY)</text>"#,
        24.0,
        TOP + plot_height / 2.0,
        24.0,
        TOP + plot_height / 2.0
    );
    let _ = writeln!(out, "  </g>");

    // Bars: consumption above zero, refunds below it.
    let zero = y(0.0);
    let bar = |out: &mut String, index: usize, value: i128, colour: &str, label: &str| {
        if value == 0 {
            return;
        }
        let (top, bottom) = if value > 0 { (y(yuan(value)), zero) } else { (zero, y(yuan(value))) };
        let _ = writeln!(
            out,
            r#"    <rect x="{:.1}" y="{top:.1}" width="{bar_width:.1}" height="{:.1}" fill="{colour}"><title>{} day {}: {label} {} CNY</title></rect>"#,
            x_center(index) - bar_width / 2.0,
            (bottom - top).max(0.5),
            escape(&trend.cycle),
            index + 1,
            money(value)
        );
    };
    let _ = writeln!(out, r#"  <g id="series-consumption">"#);
    for (index, day) in trend.days.iter().enumerate() {
        bar(&mut out, index, day.consumption, CONSUMPTION_COLOUR, "consumption");
    }
    let _ = writeln!(out, "  </g>");
    let _ = writeln!(out, r#"  <g id="series-refunds">"#);
    for (index, day) in trend.days.iter().enumerate() {
        bar(&mut out, index, day.refunds, REFUNDS_COLOUR, "refunds");
    }
    let _ = writeln!(out, "  </g>");

    // Zero line and plot frame.
    let _ = writeln!(
        out,
        r##"  <line id="zero-line" x1="{LEFT}" y1="{zero:.1}" x2="{:.1}" y2="{zero:.1}" stroke="#333333" stroke-width="1.2"/>"##,
        LEFT + plot_width
    );
    let _ =
        writeln!(out, r##"  <line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}" stroke="#333333" stroke-width="1"/>"##, TOP + plot_height);

    // Net: a line through the days with a dot on each.
    let points: Vec<String> =
        trend.days.iter().enumerate().map(|(index, day)| format!("{:.1},{:.1}", x_center(index), y(yuan(day.net())))).collect();
    let _ = writeln!(out, r#"  <g id="series-net">"#);
    let _ = writeln!(
        out,
        r#"    <polyline points="{}" fill="none" stroke="{NET_COLOUR}" stroke-width="2.2" stroke-linejoin="round"/>"#,
        points.join(" ")
    );
    for (index, day) in trend.days.iter().enumerate() {
        let _ = writeln!(
            out,
            r##"    <circle cx="{:.1}" cy="{:.1}" r="3" fill="{NET_COLOUR}" stroke="#ffffff" stroke-width="1"><title>{} day {}: net {} CNY</title></circle>"##,
            x_center(index),
            y(yuan(day.net())),
            escape(&trend.cycle),
            index + 1,
            money(day.net())
        );
    }
    let _ = writeln!(out, "  </g>");

    // Day axis.
    let base = TOP + plot_height;
    let _ = writeln!(
        out,
        r##"  <line x1="{LEFT}" y1="{base:.1}" x2="{:.1}" y2="{base:.1}" stroke="#333333" stroke-width="1"/>"##,
        LEFT + plot_width
    );
    let _ = writeln!(out, r##"  <g id="x-axis" font-size="11" fill="#444444" text-anchor="middle">"##);
    let every = if slot >= 18.0 { 1 } else { 2 };
    for index in (0..trend.days.len()).filter(|index| index % every == 0) {
        let _ = writeln!(
            out,
            r##"    <line x1="{0:.1}" y1="{base:.1}" x2="{0:.1}" y2="{1:.1}" stroke="#333333" stroke-width="1"/>"##,
            x_center(index),
            base + 4.0
        );
        let _ = writeln!(out, r#"    <text x="{:.1}" y="{:.1}">{}</text>"#, x_center(index), base + 17.0, index + 1);
    }
    let _ = writeln!(
        out,
        r#"    <text x="{:.1}" y="{:.1}" font-size="13">day of {} (UTC+8)</text>"#,
        LEFT + plot_width / 2.0,
        HEIGHT - 16.0,
        escape(&trend.cycle)
    );
    let _ = writeln!(out, "  </g>");
    if trend.bills == 0 {
        let _ = writeln!(
            out,
            r##"  <text x="{:.1}" y="{:.1}" font-size="16" fill="#888888" text-anchor="middle">no bills in this cycle</text>"##,
            LEFT + plot_width / 2.0,
            TOP + plot_height / 2.0
        );
    }
    let _ = writeln!(out, "</svg>");
    out
}

/// `1 bill`, `2 bills`.
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 { format!("1 {noun}") } else { format!("{count} {noun}s") }
}

fn legend(out: &mut String) {
    let y = 86.0;
    let _ = writeln!(out, r##"  <g id="legend" font-size="13" fill="#222222">"##);
    let mut x = LEFT;
    let series = [
        ("consumption (payments and usage)", CONSUMPTION_COLOUR, false),
        ("refunds (below zero)", REFUNDS_COLOUR, false),
        ("net (consumption + refunds + adjustments)", NET_COLOUR, true),
    ];
    for (label, colour, line) in series {
        if line {
            let _ = writeln!(out, r#"    <line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="2.2"/>"#, x + 22.0);
            let _ = writeln!(out, r##"    <circle cx="{}" cy="{y}" r="3" fill="{colour}" stroke="#ffffff" stroke-width="1"/>"##, x + 11.0);
        } else {
            let _ = writeln!(out, r#"    <rect x="{}" y="{}" width="14" height="14" fill="{colour}"/>"#, x + 4.0, y - 7.0);
        }
        let _ = writeln!(out, r#"    <text x="{}" y="{}">{label}</text>"#, x + 28.0, y + 4.5);
        x += 28.0 + 7.4 * label.len() as f64 + 30.0;
    }
    let _ = writeln!(out, "  </g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_and_days() {
        assert_eq!(days_in_cycle("2026-02"), Some(28));
        assert_eq!(days_in_cycle("2024-02"), Some(29));
        assert_eq!(days_in_cycle("2026-12"), Some(31));
        assert_eq!(day_of_cycle(Timestamp::parse("2026-01-31T20:00:00Z").unwrap()), 1);
        assert_eq!(day_of_cycle(Timestamp::parse("2026-01-05T10:00:00Z").unwrap()), 5);
    }

    #[test]
    fn ticks_are_nice() {
        assert_eq!(nice_step(1000.0, 6.0), 200.0);
        assert_eq!(nice_step(3620.0, 8.0), 500.0);
        assert_eq!(axis(-2100.0, 9600.0), (-2500.0, 10000.0, 2500.0));
        assert_eq!(axis(0.0, 1.0), (0.0, 1.0, 0.2));
        assert_eq!(axis(-120.0, 3500.0), (-500.0, 3500.0, 500.0));
        assert_eq!(tick_label(12500.0, 2500.0), "12,500");
        assert_eq!(tick_label(-2.5, 2.5), "−2.5");
        assert_eq!(tick_label(0.0, 0.5), "0");
        assert_eq!(tick_label(1.5, 0.5), "1.5");
    }
}
