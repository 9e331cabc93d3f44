//! The BSS door: coupons.

use super::{Answer, BssError, Call};
use crate::error::ErrorCode;

pub(crate) async fn list_quota_coupons(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_quota_coupons"))
}

pub(crate) async fn list_issued_coupon_quotas(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_issued_coupon_quotas"))
}

pub(crate) async fn update_coupon_quotas(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO update_coupon_quotas"))
}

pub(crate) async fn reclaim_coupon_quotas(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO reclaim_coupon_quotas"))
}

pub(crate) async fn list_coupon_quotas_records(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_coupon_quotas_records"))
}

pub(crate) async fn create_partner_coupons(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO create_partner_coupons"))
}

pub(crate) async fn reclaim_partner_coupons(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO reclaim_partner_coupons"))
}

pub(crate) async fn list_issued_partner_coupons(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_issued_partner_coupons"))
}

pub(crate) async fn list_sub_customer_coupons(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_sub_customer_coupons"))
}

pub(crate) async fn list_order_coupons_by_order_id(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_order_coupons_by_order_id"))
}

pub(crate) async fn list_partner_coupons_record(_call: Call) -> Answer {
    Err(BssError::code(ErrorCode::NotFound, "TODO list_partner_coupons_record"))
}
