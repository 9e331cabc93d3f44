//! `partner-ledger export`: the journal, read through `Ledger::for_each_transaction`, written as an
//! hledger journal, a Beancount file or CSV (one row per posting). The mapping of accounts and
//! dates is documented in `docs/cli.md`; in short:
//!
//! - dates are the **UTC+8** calendar day (the day of the billing cycles); the exact UTC time is
//!   kept as the `at` tag (hledger) or metadata (Beancount), and as the CSV `at` column;
//! - hledger accounts are the ledger's own names (`platform:bank`, `partner:P1:cash`,
//!   `customer:C1:coupon:K1`), except that a `:` inside a quota or coupon id is written `/` (ids
//!   never contain `/`), so each ledger account is exactly one hledger account;
//! - Beancount accounts are `<Root>:<Owner>:<Id>:<Account>[:<Id>]`, with ids escaped by
//!   [`beancount_component`];
//! - transactions without postings (registrations, orders placed, withdrawals requested…) are
//!   left out of hledger and Beancount; CSV has one row per posting, so they have no rows either.

use clap::{Args, ValueEnum};
use partner_ledger::{Account, AccountKind, Command, Party, StoreError, Timestamp, Transaction};
use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// UTC+8, in milliseconds: export dates are calendar days of the billing cycles.
const DATE_OFFSET_MILLIS: i64 = 8 * 3_600 * 1_000;

/// The export formats.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An hledger journal (`hledger -f FILE bal`).
    Hledger,
    /// A Beancount ledger (`bean-check FILE`).
    Beancount,
    /// CSV, one row per posting: seq, at, request, actor, op, account, asset, amount.
    Csv,
}

/// `export` arguments.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// The ledger file.
    #[arg(long, default_value = super::DEFAULT_DB)]
    pub db: PathBuf,
    /// Write here instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Why an export stopped.
enum ExportError {
    Store(StoreError),
    Write(std::io::Error),
}

impl From<StoreError> for ExportError {
    fn from(error: StoreError) -> ExportError {
        ExportError::Store(error)
    }
}

impl From<std::io::Error> for ExportError {
    fn from(error: std::io::Error) -> ExportError {
        ExportError::Write(error)
    }
}

pub fn run(args: &ExportArgs) -> Result<ExitCode, String> {
    let ledger = super::tables::open_existing(&args.db)?;
    // A file export is written beside its target and renamed into place once complete, so a
    // failed export never leaves a truncated file that looks whole.
    let partial = args.output.as_ref().map(|path| {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        path.with_file_name(name)
    });
    let sink: Box<dyn Write> = match &partial {
        Some(path) => Box::new(std::fs::File::create(path).map_err(|error| format!("{}: {error}", path.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(sink);
    let mut writer = Writer { format: args.format, opened: HashSet::new(), started: false };
    let result = ledger.for_each_transaction(|transaction| writer.transaction(&mut out, transaction)).and_then(|()| {
        writer.finish(&mut out)?;
        out.flush().map_err(ExportError::from)
    });
    drop(out);
    if let (Some(partial), Some(output)) = (&partial, &args.output) {
        if result.is_err() {
            let _ = std::fs::remove_file(partial);
        } else {
            std::fs::rename(partial, output).map_err(|error| format!("{}: {error}", output.display()))?;
        }
    }
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(ExportError::Store(error)) => Err(format!("reading the journal: {error}")),
        Err(ExportError::Write(error)) => Err(format!("writing the export: {error}")),
    }
}

struct Writer {
    format: Format,
    /// Accounts already declared (hledger) or opened (Beancount).
    opened: HashSet<String>,
    /// The header has been written.
    started: bool,
}

impl Writer {
    fn transaction(&mut self, out: &mut impl Write, transaction: &Transaction) -> Result<(), ExportError> {
        if !self.started {
            self.header(out, transaction)?;
            self.started = true;
        }
        match self.format {
            Format::Csv => csv_rows(out, transaction)?,
            _ if transaction.effects.postings.is_empty() => {}
            Format::Hledger => self.hledger_transaction(out, transaction)?,
            Format::Beancount => self.beancount_transaction(out, transaction)?,
        }
        Ok(())
    }

    /// Writes the header of an empty journal.
    fn finish(&mut self, out: &mut impl Write) -> Result<(), ExportError> {
        if !self.started {
            self.started = true;
            self.header_lines(out, "1970-01-01")?;
        }
        Ok(())
    }

    fn header(&mut self, out: &mut impl Write, first: &Transaction) -> Result<(), ExportError> {
        self.header_lines(out, &date(first.at))
    }

    fn header_lines(&mut self, out: &mut impl Write, first_date: &str) -> Result<(), ExportError> {
        match self.format {
            Format::Csv => writeln!(out, "seq,at,request,actor,op,account,asset,amount")?,
            Format::Hledger => {
                writeln!(out, "; partner-ledger journal export for hledger.")?;
                writeln!(out, "; Dates are UTC+8 calendar days (the billing cycles' days); the `at` tag is the exact UTC time.")?;
                writeln!(out, "; A ':' inside a quota or coupon id is written '/'. Transactions without postings are left out.")?;
                writeln!(out, "; CNY is money; CPN is coupon value, never money.")?;
                writeln!(out)?;
                writeln!(out, "commodity 0.00 CNY")?;
                writeln!(out, "commodity 0.00 CPN")?;
            }
            Format::Beancount => {
                writeln!(out, "; partner-ledger journal export for Beancount (docs/cli.md explains the account names).")?;
                writeln!(out, "; Dates are UTC+8 calendar days; the `at` metadata is the exact UTC time. Signs are the ledger's:")?;
                writeln!(out, "; a positive balance is value held by the account's owner. Transactions without postings are left out.")?;
                writeln!(out)?;
                writeln!(out, "option \"title\" \"partner-ledger\"")?;
                writeln!(out, "option \"operating_currency\" \"CNY\"")?;
                writeln!(out)?;
                writeln!(out, "{first_date} commodity CNY")?;
                writeln!(out, "  name: \"money (yuan)\"")?;
                writeln!(out, "{first_date} commodity CPN")?;
                writeln!(out, "  name: \"coupon value (never money)\"")?;
            }
        }
        Ok(())
    }

    /// Declares each account before its first use (with its type, so `hledger bs`/`is` work
    /// and `hledger check --strict` passes), then writes the transaction.
    fn hledger_transaction(&mut self, out: &mut impl Write, transaction: &Transaction) -> Result<(), ExportError> {
        writeln!(out)?;
        for posting in &transaction.effects.postings {
            let name = hledger_account(&posting.account);
            if self.opened.insert(name.clone()) {
                writeln!(out, "account {name}  ; type:{}", hledger_type(root_of(&posting.account)))?;
            }
        }
        writeln!(
            out,
            "{} {} {}  ; seq:{}, at:{}, actor:{}",
            date(transaction.at),
            transaction.command.op(),
            transaction.request,
            transaction.seq,
            transaction.at,
            transaction.actor
        )?;
        for posting in &transaction.effects.postings {
            let name = hledger_account(&posting.account);
            let amount = format!("{} {}", posting.amount, posting.account.asset().name());
            match member_op(transaction, posting.part) {
                Some(op) => writeln!(out, "    {name:<50}  {amount:>22}  ; op:{op}")?,
                None => writeln!(out, "    {name:<50}  {amount:>22}")?,
            }
        }
        Ok(())
    }

    fn beancount_transaction(&mut self, out: &mut impl Write, transaction: &Transaction) -> Result<(), ExportError> {
        let day = date(transaction.at);
        writeln!(out)?;
        for posting in &transaction.effects.postings {
            let name = beancount_account(&posting.account);
            if self.opened.insert(name.clone()) {
                writeln!(out, "{day} open {name} {}", posting.account.asset().name())?;
            }
        }
        writeln!(out, "{day} * \"{} {}\"", transaction.command.op(), transaction.request)?;
        writeln!(out, "  seq: {}", transaction.seq)?;
        writeln!(out, "  at: \"{}\"", transaction.at)?;
        writeln!(out, "  request: \"{}\"", transaction.request)?;
        writeln!(out, "  actor: \"{}\"", transaction.actor)?;
        for posting in &transaction.effects.postings {
            let name = beancount_account(&posting.account);
            writeln!(out, "  {name:<50} {:>18} {}", posting.amount, posting.account.asset().name())?;
            if let Some(op) = member_op(transaction, posting.part) {
                writeln!(out, "    op: \"{op}\"")?;
            }
        }
        Ok(())
    }
}

/// The UTC+8 calendar day of an instant, `YYYY-MM-DD`.
fn date(at: Timestamp) -> String {
    let shifted = Timestamp::from_millis(at.millis().saturating_add(DATE_OFFSET_MILLIS)).to_string();
    shifted[..10].to_owned()
}

/// The op of the member of an atomic group that produced a posting; `None` outside groups.
fn member_op(transaction: &Transaction, part: u16) -> Option<&'static str> {
    match &transaction.command {
        Command::Atomic { commands } => Some(commands.get(usize::from(part)).map_or("atomic", Command::op)),
        _ => None,
    }
}

/// The hledger account of a ledger account: its own name, with `:` inside ids written `/`.
pub fn hledger_account(account: &Account) -> String {
    let kind = match &account.kind {
        AccountKind::Quota(id) => format!("quota:{}", id.as_str().replace(':', "/")),
        AccountKind::Coupon(id) => format!("coupon:{}", id.as_str().replace(':', "/")),
        _ => return account.to_string(),
    };
    format!("{}:{kind}", account.owner)
}

/// A Beancount account name component for an id: letters and digits as they are, `-` → `--`,
/// `_` → `-U`, `.` → `-D`, `:` → `-C`; when the result would not start with a capital letter or
/// a digit, `0-0` goes in front (`-0` is no escape, so this cannot be mistaken for an id).
pub fn beancount_component(id: &str) -> String {
    let mut component = String::with_capacity(id.len() + 3);
    for c in id.chars() {
        match c {
            '-' => component.push_str("--"),
            '_' => component.push_str("-U"),
            '.' => component.push_str("-D"),
            ':' => component.push_str("-C"),
            c => component.push(c),
        }
    }
    if !component.starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        component.insert_str(0, "0-0");
    }
    component
}

/// The Beancount account of a ledger account (docs/cli.md has the table).
pub fn beancount_account(account: &Account) -> String {
    let (root, owner) = (root_of(account), owner_path(&account.owner));
    let kind = match &account.kind {
        AccountKind::Bank => "Bank".to_owned(),
        AccountKind::Revenue => "Revenue".to_owned(),
        AccountKind::CouponIssuance => "CouponIssuance".to_owned(),
        AccountKind::CouponRedeemed => "CouponRedeemed".to_owned(),
        AccountKind::CouponExpired => "CouponExpired".to_owned(),
        AccountKind::Cash => "Cash".to_owned(),
        AccountKind::Credit => "Credit".to_owned(),
        AccountKind::Arrears => "Arrears".to_owned(),
        AccountKind::Allocated => "Allocated".to_owned(),
        AccountKind::Quota(id) => format!("Quota:{}", beancount_component(id.as_str())),
        AccountKind::Coupon(id) => format!("Coupon:{}", beancount_component(id.as_str())),
    };
    format!("{root}:{owner}:{kind}")
}

/// The account's class: the Beancount root, and the hledger account type.
fn root_of(account: &Account) -> &'static str {
    match (&account.owner, &account.kind) {
        (Party::Platform, AccountKind::Bank | AccountKind::CouponIssuance) => "Equity",
        (Party::Platform, AccountKind::Revenue | AccountKind::CouponExpired) => "Income",
        (Party::Platform, _) => "Expenses",
        (_, AccountKind::Credit | AccountKind::Arrears) => "Liabilities",
        _ => "Assets",
    }
}

/// hledger's account type letter for a class.
fn hledger_type(root: &str) -> &'static str {
    match root {
        "Assets" => "A",
        "Liabilities" => "L",
        "Equity" => "E",
        "Income" => "R",
        _ => "X",
    }
}

fn owner_path(owner: &Party) -> String {
    match owner {
        Party::Platform => "Platform".to_owned(),
        Party::Partner(id) => format!("Partner:{}", beancount_component(id.as_str())),
        Party::Customer(id) => format!("Customer:{}", beancount_component(id.as_str())),
        Party::Operator(id) => format!("Operator:{}", beancount_component(id.as_str())),
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (ids and parties never do).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

fn csv_rows(out: &mut impl Write, transaction: &Transaction) -> Result<(), ExportError> {
    for posting in &transaction.effects.postings {
        let op = member_op(transaction, posting.part).unwrap_or_else(|| transaction.command.op());
        let fields = [
            transaction.seq.to_string(),
            transaction.at.to_string(),
            transaction.request.to_string(),
            transaction.actor.to_string(),
            op.to_owned(),
            posting.account.to_string(),
            posting.account.asset().name().to_owned(),
            posting.amount.to_string(),
        ];
        writeln!(out, "{}", fields.iter().map(|field| csv_field(field)).collect::<Vec<_>>().join(","))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a component back to the id (the documented inverse), for the round-trip test.
    fn decode(component: &str) -> Option<String> {
        let body = component.strip_prefix("0-0").unwrap_or(component);
        let mut id = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c == '-' {
                id.push(match chars.next()? {
                    '-' => '-',
                    'U' => '_',
                    'D' => '.',
                    'C' => ':',
                    _ => return None,
                });
            } else {
                id.push(c);
            }
        }
        Some(id)
    }

    #[test]
    fn beancount_components_are_valid_and_reversible() {
        for id in ["P1", "acme.cloud", "_x", "-", "a-b_c.d:e", "0-U", "Q::1", "0", "x--y", "Z-C"] {
            let component = beancount_component(id);
            assert!(component.starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit()), "{component}");
            assert!(component.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{component}");
            assert_eq!(decode(&component).as_deref(), Some(id), "{component}");
        }
        assert_eq!(beancount_component("acme.cloud"), "0-0acme-Dcloud");
        assert_ne!(beancount_component("_"), beancount_component("0-U"));
    }

    #[test]
    fn dates_are_utc_plus_8_days() {
        assert_eq!(date(Timestamp::parse("2026-01-31T16:00:00Z").unwrap()), "2026-02-01");
        assert_eq!(date(Timestamp::parse("2026-01-31T15:59:59Z").unwrap()), "2026-01-31");
    }
}
