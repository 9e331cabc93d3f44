//! Aligned text tables and the amount arithmetic of their totals rows.

use super::Paging;
use partner_ledger::Amount;
use serde_json::Value;

/// A cell's text: strings as they are, null as `-`, anything else as JSON.
pub(super) fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// An amount string in minor units; `None` when it is not one.
pub(super) fn minor(value: &Value) -> Option<i128> {
    let text = value.as_str()?;
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (units, fraction) = digits.split_once('.')?;
    if fraction.len() != 2 {
        return None;
    }
    let magnitude = units.parse::<i128>().ok()?.checked_mul(100)?.checked_add(fraction.parse::<i128>().ok()?)?;
    Some(if negative { -magnitude } else { magnitude })
}

pub(super) fn money(minor: i128) -> String {
    Amount::from_minor(minor).to_string()
}

/// The sum of `key` over `rows`, formatted like the ledger's amounts.
pub(super) fn sum(rows: &[Value], key: &str) -> String {
    money(rows.iter().filter_map(|row| minor(&row[key])).sum())
}

/// Columns: left-aligned text or right-aligned numbers.
#[derive(Clone, Copy, PartialEq)]
pub enum Align {
    Left,
    Right,
}

/// An aligned text table: a header row, a rule, the rows, and an optional totals row under a rule.
pub struct Table {
    columns: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
    total: Option<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&'static str, Align)]) -> Table {
        Table { columns: columns.to_vec(), rows: Vec::new(), total: None }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    pub fn total(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.total = Some(cells);
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|(name, _)| width(name)).collect();
        for cells in self.rows.iter().chain(self.total.iter()) {
            for (column, cell) in cells.iter().enumerate() {
                widths[column] = widths[column].max(width(cell));
            }
        }
        let line = |cells: &[String]| -> String {
            let mut out = String::from("  ");
            for (column, cell) in cells.iter().enumerate() {
                let pad = " ".repeat(widths[column] - width(cell));
                match self.columns[column].1 {
                    Align::Left => out.push_str(&format!("{cell}{pad}")),
                    Align::Right => out.push_str(&format!("{pad}{cell}")),
                }
                out.push_str("  ");
            }
            format!("{}\n", out.trim_end())
        };
        let rule = || format!("  {}\n", widths.iter().map(|width| "-".repeat(*width)).collect::<Vec<_>>().join("  "));
        let headers: Vec<String> = self.columns.iter().map(|(name, _)| (*name).to_owned()).collect();
        let mut out = line(&headers);
        out.push_str(&rule());
        for cells in &self.rows {
            out.push_str(&line(cells));
        }
        if let Some(total) = &self.total {
            out.push_str(&rule());
            out.push_str(&line(total));
        }
        out
    }
}

/// Display width: East Asian wide characters (memos, reasons) take two columns.
fn width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            let code = c as u32;
            let wide = matches!(code, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F
                | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
            if wide { 2 } else { 1 }
        })
        .sum()
}

/// "rows 1 to 10 of 42" and how to see more.
pub(super) fn page_note(result: &Value, list: &str, paging: &Paging) -> String {
    let total = result["total_count"].as_u64().unwrap_or(0);
    let shown = result[list].as_array().map_or(0, Vec::len) as u64;
    let offset = if paging.all { 0 } else { paging.offset.unwrap_or(0) };
    if total == 0 {
        return "\nno rows\n".to_owned();
    }
    if shown == 0 {
        return format!("\nno rows at offset {offset} ({total} in all)\n");
    }
    let mut note = format!("\nrows {} to {} of {total}", offset + 1, offset + shown);
    if offset + shown < total {
        note.push_str(&format!("; more with --offset {} or --all", offset + shown));
    }
    note.push('\n');
    note
}

pub(super) fn cells(row: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|key| text(&row[*key])).collect()
}

pub(super) fn list<'a>(result: &'a Value, key: &str) -> &'a [Value] {
    result[key].as_array().map_or(&[], Vec::as_slice)
}

/// Whether any row carries `key` (columns a newer ledger adds are shown only when present).
pub(super) fn any_has(rows: &[Value], key: &str) -> bool {
    rows.iter().any(|row| row.get(key).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_parse_and_sum_exactly() {
        assert_eq!(minor(&json!("-12.30")), Some(-1230));
        assert_eq!(minor(&json!("0.05")), Some(5));
        assert_eq!(minor(&json!("x")), None);
        assert_eq!(sum(&[json!({"a": "1.10"}), json!({"a": "-0.20"})], "a"), "0.90");
    }

    #[test]
    fn tables_align_amounts_right() {
        let mut table = Table::new(&[("name", Align::Left), ("amount", Align::Right)]);
        table.row(vec!["a".into(), "1.00".into()]);
        table.row(vec!["客户".into(), "100.00".into()]);
        table.total(vec!["total".into(), "101.00".into()]);
        let text = table.render();
        assert_eq!(text, "  name   amount\n  -----  ------\n  a        1.00\n  客户   100.00\n  -----  ------\n  total  101.00\n");
    }
}
