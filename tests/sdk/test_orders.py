"""Orders: listing and details (plain, combined and expired orders), payment with coupons and a
business discount, cancellation, unsubscription and refund details, through the unmodified SDK."""
from decimal import Decimal

from huaweicloudsdkbss.v2 import *

from harness import SdkTestCase

# Placed at the seed's time, so its 7-day payment deadline has long passed: Huawei shows it cancelled.
EXPIRED_ORDER = {"op": "place_order", "id": "ord-seed-9", "actor": "platform", "order": "OX", "customer": "C1", "amount": "5", "kind": "new", "service": "ecs"}


def place(order, customer, amount, kind="new", service="ecs"):
    return {"op": "place_order", "id": f"ord-place-{order}", "order": order, "customer": customer, "amount": amount, "kind": kind, "service": service}


class OrdersTest(SdkTestCase):
    EXTRA_SEED = [
        {"op": "allocate", "id": "ord-seed-1", "actor": "partner:D1", "to": "customer:C1", "amount": "1000"},
        {"op": "issue_quota", "id": "ord-seed-2", "actor": "platform", "quota": "Q1", "partner": "D1", "kind": "voucher", "amount": "500",
         "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2027-12-31T16:00:00Z"},
        {"op": "issue_coupon", "id": "ord-seed-3", "actor": "partner:D1", "coupon": "K1", "quota": "Q1", "customer": "C1", "face_value": "50", "services": ["ecs"]},
        {"op": "grant_discount", "id": "ord-seed-4", "actor": "platform", "discount": "DS1", "customer": "C1", "ratio": "0.80",
         "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2027-12-31T16:00:00Z"},
        EXPIRED_ORDER,
    ]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Placed now (the server's clock), so they are payable for 7 days.
        lines = [
            place("OP1", "C1", "100"), place("OP2", "C1", "20", "renew", "obs"), place("OP3", "C1", "30", "change"),
            place("OP4", "C1", "35"), place("OU1", "C1", "80"), place("ORF", "C1", "60", service="rds"), place("OD1", "C1", "50"),
            place("OC2", "C2", "12"), place("OPP", "C1", "45"), place("OC3", "C3", "15"), place("OC4", "C4", "25"),
            {"op": "place_combined_order", "id": "ord-place-G1", "combined": "G1", "customer": "C1",
             "orders": [{"order": "OG1", "amount": "40", "kind": "new", "service": "ecs"}, {"order": "OG2", "amount": "60", "kind": "renew", "service": "rds"}]},
        ]
        for answer in cls.server.commands("platform", lines):
            assert answer["ok"], answer
        for answer in cls.server.commands("customer:C1", [{"op": "pay_order", "id": "ord-pay-OU1", "order": "OU1"}, {"op": "pay_order", "id": "ord-pay-ORF", "order": "ORF"}]):
            assert answer["ok"], answer

    def order(self, order):
        return self.server.commands("platform", [{"op": "order", "order": order}])[0]["result"]

    def listing(self, actor, **query):
        return self.client(actor).list_customer_orders(ListCustomerOrdersRequest(limit=100, **query))

    # pay_orders

    def test_pay_with_a_voucher_draws_the_coupon_then_allocated(self):
        c1 = self.client("customer:C1")
        body = PayCustomerOrderV3Req(order_id="OP1", use_coupon="YES", use_discount="NO", coupon_infos=[CouponSimpleInfoOrderPayV3(id="K1", type=301)])
        c1.pay_orders(PayOrdersRequest(body=body))
        self.assertEqual(self.order("OP1")["paid"], {"due": "100.00", "discount": "0.00", "coupon": "50.00", "allocated": "50.00", "cash": "0.00", "credit": "0.00"})
        details = c1.show_customer_order_details(ShowCustomerOrderDetailsRequest(order_id="OP1"))
        info = details.order_info
        self.assertEqual((info.order_id, info.customer_id, info.status, info.order_type), ("OP1", "C1", 5, 1))
        self.assertIsInstance(info.status, int)
        self.assertEqual(info.amount_info.coupon_amount, 50.0)
        self.assertIsInstance(info.amount_info.coupon_amount, float)
        self.assertEqual((info.amount_after_discount, info.official_amount, info.currency, info.measure_id), (100.0, 100.0, "CNY", 1))
        self.assertRegex(info.payment_time, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertIsNone(info.pending_payment_end_time)
        self.assertEqual(details.total_count, 1)
        self.assertEqual([(item.order_id, item.official_amount) for item in details.order_line_items], [("OP1", 100.0)])

    def test_pay_with_a_voucher_for_another_service_is_coupon_not_usable(self):
        body = PayCustomerOrderV3Req(order_id="OP2", use_coupon="YES", use_discount="NO", coupon_infos=[CouponSimpleInfoOrderPayV3(id="K1", type=301)])
        self.assertFails(400, "CBC.99003112", self.client("customer:C1").pay_orders, PayOrdersRequest(body=body), code_name="coupon_not_usable")
        self.assertEqual(self.order("OP2")["status"], "pending_payment")

    def test_pay_with_a_discount_coupon_or_two_discounts_is_invalid_request(self):
        c1 = self.client("customer:C1")
        body = PayCustomerOrderV3Req(order_id="OP2", use_coupon="YES", use_discount="NO", coupon_infos=[CouponSimpleInfoOrderPayV3(id="K1", type=300)])
        self.assertFails(400, "CBC.0100", c1.pay_orders, PayOrdersRequest(body=body), code_name="invalid_request")
        two = [DiscountSimpleInfoV3(id="DS1", type=2), DiscountSimpleInfoV3(id="DS2", type=2)]
        body = PayCustomerOrderV3Req(order_id="OP2", use_coupon="NO", use_discount="YES", discount_infos=two)
        self.assertFails(400, "CBC.0100", c1.pay_orders, PayOrdersRequest(body=body), code_name="invalid_request")
        self.assertEqual(self.order("OP2")["status"], "pending_payment")

    def test_pay_by_a_partner_is_access_denied(self):
        body = PayCustomerOrderV3Req(order_id="OP4", use_coupon="NO", use_discount="NO")
        self.assertFails(403, "CBC.0151", self.client("partner:D1").pay_orders, PayOrdersRequest(body=body), code_name="access_denied")

    def test_pay_with_a_business_discount_shows_it_among_the_discounts(self):
        c1 = self.client("customer:C1")
        body = PayCustomerOrderV3Req(order_id="OD1", use_coupon="NO", use_discount="YES", discount_infos=[DiscountSimpleInfoV3(id="DS1", type=2)])
        c1.pay_orders(PayOrdersRequest(body=body))
        info = self.listing("customer:C1", order_id="OD1").order_infos[0]
        self.assertEqual((info.amount_after_discount, info.official_amount, info.status), (40.0, 50.0, 5))
        self.assertEqual([(item.discount_type, item.discount_amount) for item in info.amount_info.discounts], [("605", 10.0)])
        self.assertEqual((info.agent_pay_info.is_agent_pay, info.agent_pay_info.paying_agent_id), (False, None))

    def test_an_order_asked_of_the_partner_shows_agent_pay_info(self):
        self.assertTrue(self.server.commands("customer:C1", [{"op": "request_partner_payment", "id": "ord-ask-OPP", "order": "OPP"}])[0]["ok"])
        asked = self.listing("partner:D1", order_id="OPP").order_infos[0].agent_pay_info
        self.assertEqual((asked.is_agent_pay, asked.paying_agent_id), (True, "D1"))
        self.assertTrue(self.server.commands("operator:D1_FIN", [{"op": "pay_order", "id": "ord-pay-OPP", "order": "OPP", "payer": "partner"}])[0]["ok"])
        paid = self.listing("customer:C1", order_id="OPP").order_infos[0]
        self.assertEqual((paid.status, paid.agent_pay_info.is_agent_pay, paid.agent_pay_info.paying_agent_id), (5, True, "D1"))
        self.assertIsInstance(paid.agent_pay_info.is_agent_pay, bool)

    # cancel_customer_order

    def test_cancel_then_cancel_again_is_order_state(self):
        c1 = self.client("customer:C1")
        c1.cancel_customer_order(CancelCustomerOrderRequest(body=CancelCustomerOrderReq(order_id="OP3")))
        self.assertEqual(self.order("OP3")["status"], "cancelled")
        info = self.listing("customer:C1", order_id="OP3").order_infos[0]
        self.assertEqual((info.status, info.order_type), (4, 3))
        request = CancelCustomerOrderRequest(body=CancelCustomerOrderReq(order_id="OP3"))
        invoker = c1.cancel_customer_order_invoker(request).add_header("X-Client-Request-Id", "ord-cancel-again")
        self.assertFails(400, "CBC.99003106", invoker.invoke, code_name="order_state")

    def test_cancel_of_another_customers_order_is_access_denied(self):
        request = CancelCustomerOrderRequest(body=CancelCustomerOrderReq(order_id="OC4"))
        self.assertFails(403, "CBC.0151", self.client("customer:C1").cancel_customer_order, request, code_name="access_denied")
        self.assertEqual(self.order("OC4")["status"], "pending_payment")

    # cancel_resources_subscription and show_refund_order_details

    def test_unsubscribe_refunds_a_paid_order_and_reports_a_pending_one(self):
        body = UnsubscribeResourcesReq(resource_ids=["OU1", "OP4"], unsubscribe_type=1, unsubscribe_reason_type=5, unsubscribe_reason="test")
        answer = self.client("customer:C1").cancel_resources_subscription(CancelResourcesSubscriptionRequest(body=body))
        self.assertEqual(answer.order_ids, ["OU1:refund"])
        self.assertEqual([(fail.resource_id, fail.error_code) for fail in answer.fail_resource_infos], [("OP4", "CBC.99003106")])
        self.assertTrue(answer.fail_resource_infos[0].error_msg.startswith("order_state:"))
        self.assertEqual((self.order("OU1")["status"], self.order("OU1")["refunded"]), ("unsubscribed", "80.00"))
        self.assertEqual(self.order("OP4")["status"], "pending_payment")
        info = self.listing("customer:C1", order_id="OU1").order_infos[0]
        self.assertEqual(info.status, 5)

    def test_unsubscribe_of_renewed_periods_only_is_invalid_request(self):
        body = UnsubscribeResourcesReq(resource_ids=["OU1"], unsubscribe_type=2)
        request = CancelResourcesSubscriptionRequest(body=body)
        self.assertFails(400, "CBC.0100", self.client("customer:C1").cancel_resources_subscription, request, code_name="invalid_request")

    def test_refund_details_read_the_refund_bill(self):
        c1 = self.client("customer:C1")
        body = UnsubscribeResourcesReq(resource_ids=["ORF"], unsubscribe_type=1)
        self.assertEqual(c1.cancel_resources_subscription(CancelResourcesSubscriptionRequest(body=body)).order_ids, ["ORF:refund"])
        for actor, customer in (("customer:C1", None), ("partner:D1", "C1")):
            answer = self.client(actor).show_refund_order_details(ShowRefundOrderDetailsRequest(order_id="ORF:refund", customer_id=customer))
            self.assertEqual(answer.total_count, 1)
            refund = answer.refund_infos[0]
            self.assertEqual((refund.id, refund.customer_id, refund.base_order_id, refund.service_type_code, refund.measure_id), ("ORF:refund", "C1", "ORF", "rds", "1"))
            self.assertEqual(refund.amount, Decimal("-60.00"))
            self.assertIsInstance(refund.amount, Decimal)
        none = c1.show_refund_order_details(ShowRefundOrderDetailsRequest(order_id="OP4"))
        self.assertEqual((none.total_count, none.refund_infos), (0, []))

    def test_refund_details_of_an_unknown_or_foreign_order_fail(self):
        request = ShowRefundOrderDetailsRequest(order_id="NOPE:refund")
        self.assertFails(400, "CBC.0100", self.client("customer:C1").show_refund_order_details, request, code_name="not_found")
        request = ShowRefundOrderDetailsRequest(order_id="ORF:refund")
        self.assertFails(403, "CBC.0151", self.client("customer:C4").show_refund_order_details, request, code_name="access_denied")

    # list_customer_orders and show_customer_order_details

    def test_a_customer_lists_its_own_orders_with_the_combined_one_as_one(self):
        answer = self.listing("customer:C1")
        ids = [info.order_id for info in answer.order_infos]
        self.assertEqual(answer.total_count, len(ids))
        self.assertTrue({"OX", "OP1", "OP2", "OP3", "OP4", "OU1", "ORF", "OD1", "G1"} <= set(ids), ids)
        self.assertFalse({"OG1", "OG2", "OC2", "OC3", "OC4"} & set(ids))
        self.assertEqual(ids.index("OX"), 0, "oldest first")
        combined = answer.order_infos[ids.index("G1")]
        self.assertEqual((combined.official_amount, combined.amount_after_discount, combined.status), (100.0, 100.0, 6))
        self.assertEqual([(sub.order_id, sub.order_type, sub.official_amount) for sub in combined.sub_order_infos], [("OG1", 1, 40.0), ("OG2", 2, 60.0)])
        self.assertEqual(self.listing("customer:C1", order_by="-createTime").order_infos[-1].order_id, "OX")
        self.assertEqual([info.order_id for info in self.listing("customer:C4").order_infos], ["OC4"])
        paid = self.listing("customer:C1", payment_time_begin="2026-01-06T00:00:00Z").order_infos
        self.assertTrue({"OU1", "ORF"} <= {info.order_id for info in paid})
        self.assertTrue(all(info.status == 5 and info.payment_time >= "2026-01-06T00:00:00Z" for info in paid))
        self.assertEqual(self.listing("customer:C1", payment_time_end="2026-01-06T00:00:00Z").total_count, 0)
        self.assertTrue(all(isinstance(info.create_time, str) and len(info.create_time) == 20 for info in answer.order_infos))
        self.assertEqual(answer.order_infos[ids.index("OX")].create_time, "2026-01-05T00:00:00Z")
        self.assertEqual(self.listing("customer:C1", create_time_end="2026-01-04T23:59:59Z").total_count, 0)
        self.assertIn("OX", [info.order_id for info in self.listing("customer:C1", create_time_begin="2026-01-05T00:00:00Z", create_time_end="2026-01-05T00:00:00Z").order_infos])

    def test_an_order_past_its_deadline_shows_cancelled(self):
        info = self.listing("customer:C1", order_id="OX").order_infos[0]
        self.assertEqual((info.status, info.official_amount, info.payment_time), (4, 5.0, None))
        self.assertIn("OX", [info.order_id for info in self.listing("customer:C1", status=4).order_infos])

    def test_a_partner_lists_its_customers_orders_and_a_resellers_by_indirect_partner_id(self):
        mine = {info.order_id: info for info in self.listing("partner:D1").order_infos}
        self.assertIn("OP4", mine)
        self.assertEqual(mine["OP4"].customer_id, "C1")
        self.assertFalse({"OC2", "OC3", "OC4"} & set(mine), "no referral order it was not asked to pay, no reseller's, no other partner's")
        pending = self.listing("partner:D1", status=6, customer_id="C1").order_infos
        self.assertTrue(pending and all(info.status == 6 for info in pending))
        self.assertEqual([info.order_id for info in self.listing("partner:D1", indirect_partner_id="R1").order_infos], ["OC3"])
        self.assertEqual([info.order_id for info in self.listing("partner:R1").order_infos], ["OC3"])
        self.assertEqual([info.order_id for info in self.listing("operator:D1_FIN", order_id="OP4").order_infos], ["OP4"])
        paged = self.client("partner:D1").list_customer_orders(ListCustomerOrdersRequest(offset=1, limit=2))
        self.assertEqual((paged.total_count, len(paged.order_infos)), (len(mine), 2))

    def test_listing_another_partners_customer_or_by_a_malformed_creation_time_fails(self):
        d1 = self.client("partner:D1")
        self.assertFails(403, "CBC.0151", d1.list_customer_orders, ListCustomerOrdersRequest(customer_id="C4"), code_name="access_denied")
        self.assertFails(400, "CBC.0100", d1.list_customer_orders, ListCustomerOrdersRequest(create_time_begin="2026-01-01"), code_name="invalid_request")

    def test_details_of_a_combined_order_list_its_members(self):
        details = self.client("partner:D1").show_customer_order_details(ShowCustomerOrderDetailsRequest(order_id="G1"))
        self.assertEqual(details.total_count, 2)
        info = details.order_info
        self.assertEqual((info.order_id, info.status, info.official_amount), ("G1", 6, 100.0))
        self.assertRegex(info.pending_payment_end_time, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual([sub.order_id for sub in info.sub_order_infos], ["OG1", "OG2"])
        self.assertEqual([(item.order_line_item_id, item.service_type_code, item.amount_after_discount) for item in details.order_line_items],
                         [("OG1", "ecs", 40.0), ("OG2", "rds", 60.0)])

    def test_details_of_an_unknown_or_foreign_order_fail(self):
        c4 = self.client("customer:C4")
        self.assertFails(400, "CBC.0100", c4.show_customer_order_details, ShowCustomerOrderDetailsRequest(order_id="NOPE"), code_name="not_found")
        self.assertFails(403, "CBC.0151", c4.show_customer_order_details, ShowCustomerOrderDetailsRequest(order_id="OP1"), code_name="access_denied")
