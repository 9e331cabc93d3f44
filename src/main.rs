//! The `partner-ledger` command line.

fn main() -> std::process::ExitCode {
    partner_ledger_cli::main()
}

#[path = "cli/mod.rs"]
mod partner_ledger_cli;
