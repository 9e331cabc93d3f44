//! The BSS door: orders.

use super::{Answer, BssError, Call};
use crate::error::ErrorCode;

pub(crate) async fn list_customer_orders(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_customer_orders"))
}

pub(crate) async fn show_customer_order_details(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO show_customer_order_details"))
}

pub(crate) async fn pay_orders(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO pay_orders"))
}

pub(crate) async fn cancel_customer_order(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO cancel_customer_order"))
}

pub(crate) async fn cancel_resources_subscription(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO cancel_resources_subscription"))
}

pub(crate) async fn show_refund_order_details(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO show_refund_order_details"))
}
