//! The BSS door: bills.

use super::{Answer, BssError, Call};
use crate::error::ErrorCode;

pub(crate) async fn list_customer_bills_fee_records(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_customer_bills_fee_records"))
}

pub(crate) async fn list_sub_customer_bill_detail(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_sub_customer_bill_detail"))
}

pub(crate) async fn list_customerself_resource_records(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_customerself_resource_records"))
}

pub(crate) async fn show_customer_monthly_sum(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO show_customer_monthly_sum"))
}

pub(crate) async fn list_subcustomer_monthly_bills(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_subcustomer_monthly_bills"))
}

pub(crate) async fn list_consume_sub_customers(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_consume_sub_customers"))
}
