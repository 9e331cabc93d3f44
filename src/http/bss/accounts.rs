//! The BSS door: accounts.

use super::{Answer, BssError, Call, reply};
use crate::error::ErrorCode;
use serde::Serialize;
use serde_json::{Value, json};

pub(crate) async fn create_sub_customer(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO create_sub_customer"))
}

pub(crate) async fn list_sub_customers(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_sub_customers"))
}

pub(crate) async fn list_indirect_partners(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_indirect_partners"))
}

pub(crate) async fn list_partner_balances(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_partner_balances"))
}

pub(crate) async fn show_customer_account_balances(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO show_customer_account_balances"))
}

pub(crate) async fn list_customers_balances_detail(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_customers_balances_detail"))
}

/// Moves money between the caller (or `indirect_partner_id`) and a customer or reseller:
/// `allocate` / `recover`, whose transfer id is the request id.
async fn transfer(call: &Call, op: &str, counterparty: String) -> Result<String, BssError> {
    let mut fields = json!({"op": op, "amount": call.body_amount("amount")?});
    fields[if op == "allocate" { "to" } else { "from" }] = json!(counterparty);
    if let Some(partner) = call.indirect_partner()? {
        fields["partner"] = json!(partner);
    }
    let result = call.command(fields).await?;
    Ok(result.get("transfer").and_then(Value::as_str).unwrap_or(call.request_id.as_str()).to_owned())
}

#[derive(Serialize)]
struct TransferId {
    transfer_id: String,
}

pub(crate) async fn update_customer_account_amount(call: Call) -> Answer {
    let customer = format!("customer:{}", call.body_required("customer_id")?);
    reply(&TransferId { transfer_id: transfer(&call, "allocate", customer).await? })
}

pub(crate) async fn reclaim_to_partner_account(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO reclaim_to_partner_account"))
}

pub(crate) async fn update_indirect_partner_account(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO update_indirect_partner_account"))
}

pub(crate) async fn reclaim_indirect_partner_account(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO reclaim_indirect_partner_account"))
}

pub(crate) async fn list_partner_adjust_records(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_partner_adjust_records"))
}

pub(crate) async fn list_partner_account_change_records(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_partner_account_change_records"))
}

pub(crate) async fn list_customer_account_change_records(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_customer_account_change_records"))
}
