"""Bills: fee records, resource fee records, monthly sums and customers with consumption, read
through the unmodified SDK from bills that paid orders, a refund, usage and a compensation made."""
from decimal import Decimal

from huaweicloudsdkbss.v2 import *

from harness import SdkTestCase


def at(day, hour="01"):
    return f"2026-01-{day}T{hour}:00:00Z"


class BillsTest(SdkTestCase):
    # Cycle 2026-01: C1 (resale of D1) pays O-B1 (ecs, new, 120) and O-B2 (obs, renew, 80) from its
    # allocation, unsubscribes O-B2 for 30, uses 12.34567891 of ecs on 8 January UTC+8 and is
    # compensated 5; C2 (referral of D1) pays O-B3 (ecs, 50) itself; C3 (resale of R1) pays O-B4
    # (rds, 60); C5 (of D1) has no bill. Cycle 2026-02: C1 uses 7 of ecs.
    EXTRA_SEED = [
        {"op": "register_customer", "id": "b-1", "actor": "partner:D1", "at": at("05"), "customer": "C5", "partner": "D1"},
        {"op": "allocate", "id": "b-2", "actor": "partner:D1", "at": at("05"), "to": "customer:C1", "amount": "1000"},
        {"op": "place_order", "id": "b-3", "actor": "customer:C1", "at": at("05", "02"), "order": "O-B1", "customer": "C1", "amount": "120", "kind": "new", "service": "ecs"},
        {"op": "pay_order", "id": "b-4", "actor": "customer:C1", "at": at("05", "02"), "order": "O-B1"},
        {"op": "place_order", "id": "b-5", "actor": "customer:C1", "at": at("05", "03"), "order": "O-B2", "customer": "C1", "amount": "80", "kind": "renew", "service": "obs"},
        {"op": "pay_order", "id": "b-6", "actor": "customer:C1", "at": at("05", "03"), "order": "O-B2"},
        {"op": "unsubscribe", "id": "b-7", "actor": "customer:C1", "at": at("06", "02"), "order": "O-B2", "refund": "30"},
        {"op": "consume", "id": "b-8", "actor": "platform", "at": at("07", "20"), "customer": "C1", "amount": "12.34567891", "service": "ecs"},
        {"op": "adjust", "id": "b-9", "actor": "platform", "at": at("08", "02"), "party": "customer:C1", "direction": "compensate", "amount": "5", "reason": "SLA credit"},
        {"op": "place_order", "id": "b-10", "actor": "customer:C2", "at": at("09"), "order": "O-B3", "customer": "C2", "amount": "50", "kind": "new", "service": "ecs"},
        {"op": "pay_order", "id": "b-11", "actor": "customer:C2", "at": at("09"), "order": "O-B3"},
        {"op": "allocate", "id": "b-12", "actor": "partner:D1", "at": at("10"), "to": "partner:R1", "amount": "500"},
        {"op": "allocate", "id": "b-13", "actor": "partner:R1", "at": at("10"), "to": "customer:C3", "amount": "200"},
        {"op": "place_order", "id": "b-14", "actor": "customer:C3", "at": at("10"), "order": "O-B4", "customer": "C3", "amount": "60", "kind": "new", "service": "rds"},
        {"op": "pay_order", "id": "b-15", "actor": "customer:C3", "at": at("10"), "order": "O-B4"},
        {"op": "consume", "id": "b-16", "actor": "platform", "at": "2026-02-03T04:00:00Z", "customer": "C1", "amount": "7", "service": "ecs"},
    ]

    C1_BILLS = ["O-B1", "O-B2", "O-B2:refund", "b-8", "b-9"]

    def fee_records(self, actor, **query):
        return self.client(actor).list_customer_bills_fee_records(ListCustomerBillsFeeRecordsRequest(**query))

    def test_customer_fee_records_are_its_bills_of_the_cycle(self):
        answer = self.fee_records("customer:C1", bill_cycle="2026-01")
        self.assertEqual(answer.total_count, 5)
        self.assertEqual(answer.currency, "CNY")
        self.assertEqual([record.id for record in answer.records], self.C1_BILLS)
        paid = answer.records[0]
        self.assertEqual((paid.trade_id, paid.customer_id, paid.bill_cycle, paid.service_type_code), ("O-B1", "C1", "2026-01", "ecs"))
        self.assertEqual((paid.bill_type, paid.charging_mode, paid.status, paid.provider_type), (1, 1, 1, 1))
        self.assertIsInstance(paid.bill_type, int)
        self.assertEqual(paid.trade_time, "2026-01-05T02:00:00Z")
        for name in ["official_amount", "consume_amount", "cash_amount"]:
            self.assertIsInstance(getattr(paid, name), Decimal)
            self.assertEqual(getattr(paid, name), Decimal("120.00"))
        self.assertEqual((paid.credit_amount, paid.coupon_amount, paid.debt_amount, paid.writeoff_amount), (Decimal("0.00"),) * 4)
        refund = answer.records[2]
        self.assertEqual((refund.bill_type, refund.charging_mode, refund.service_type_code), (4, 1, "obs"))
        self.assertEqual((refund.consume_amount, refund.cash_amount), (Decimal("-30.00"), Decimal("-30.00")))
        usage = answer.records[3]
        self.assertEqual((usage.bill_type, usage.charging_mode, usage.service_type_code), (5, 3, None))
        self.assertEqual(usage.official_amount, Decimal("12.34567891"))
        self.assertEqual(usage.consume_amount, Decimal("12.34"))
        self.assertEqual(usage.erase_amount, Decimal("0.00567891"))
        compensation = answer.records[4]
        self.assertEqual((compensation.bill_type, compensation.charging_mode, compensation.consume_amount), (9, 3, Decimal("-5.00")))

    def test_fee_record_filters_and_paging(self):
        ids = lambda **query: [record.id for record in self.fee_records("customer:C1", bill_cycle="2026-01", **query).records]
        self.assertEqual(ids(bill_type=4), ["O-B2:refund"])
        self.assertEqual(ids(charging_mode=3), ["b-8", "b-9"])
        self.assertEqual(ids(service_type_code="obs"), ["O-B2", "O-B2:refund"])
        self.assertEqual(ids(trade_id="b-8"), ["b-8"])
        self.assertEqual(ids(bill_date_begin="2026-01-08", bill_date_end="2026-01-08"), ["b-8", "b-9"])
        page = self.fee_records("customer:C1", bill_cycle="2026-01", offset=1, limit=2)
        self.assertEqual((page.total_count, [record.id for record in page.records]), (5, ["O-B2", "O-B2:refund"]))
        self.assertEqual(ids(), self.C1_BILLS)
        self.assertEqual([record.id for record in self.fee_records("customer:C1", bill_cycle="2026-02").records], ["b-16"])

    def test_a_partner_reads_its_referral_customers_fee_records(self):
        answer = self.fee_records("partner:D1", bill_cycle="2026-01", sub_customer_id="C2")
        self.assertEqual([(record.id, record.customer_id) for record in answer.records], [("O-B3", "C2")])
        self.assertEqual((answer.records[0].consume_amount, answer.records[0].cash_amount), (Decimal("50.00"), Decimal("50.00")))
        # The partner may not read the order it did not pay, so the service stays unknown to it.
        self.assertIsNone(answer.records[0].service_type_code)
        self.assertEqual(self.fee_records("customer:C2", bill_cycle="2026-01").records[0].service_type_code, "ecs")

    def test_fee_records_refusals_reach_the_caller(self):
        c1 = self.client("customer:C1")
        self.assertFails(400, "CBC.0100", c1.list_customer_bills_fee_records, ListCustomerBillsFeeRecordsRequest(), code_name="invalid_request")
        request = ListCustomerBillsFeeRecordsRequest(bill_cycle="2026-1")
        self.assertFails(400, "CBC.0100", c1.list_customer_bills_fee_records, request, code_name="invalid_request")
        request = ListCustomerBillsFeeRecordsRequest(bill_cycle="2026-01", sub_customer_id="C2")
        self.assertFails(403, "CBC.0151", c1.list_customer_bills_fee_records, request, code_name="access_denied")

    def detail(self, actor, **query):
        return self.client(actor).list_sub_customer_bill_detail(ListSubCustomerBillDetailRequest(**query))

    def test_sub_customer_bill_detail_of_a_resale_customer(self):
        answer = self.detail("partner:D1", bill_cycle="2026-01", customer_id="C1")
        self.assertEqual((answer.total_count, answer.currency), (5, "CNY"))
        self.assertEqual([record.id for record in answer.fee_records], self.C1_BILLS)
        paid = answer.fee_records[0]
        self.assertEqual((paid.association_type, paid.partner_id, paid.resource_id, paid.service_type_code), ("2", "D1", "O-B1", "ecs"))
        self.assertEqual((paid.bill_detail_type, paid.charging_mode, paid.order_type), (1, 1, 1))
        self.assertIsInstance(paid.payment_amount, Decimal)
        self.assertEqual(paid.payment_amount, Decimal("120.00"))
        usage = answer.fee_records[3]
        self.assertEqual((usage.resource_id, usage.order_type, usage.bill_detail_type), (None, None, 5))
        self.assertEqual((usage.official_amount, usage.payment_amount), (Decimal("12.34567891"), Decimal("12.34")))
        refunds = self.detail("operator:D1_FIN", bill_cycle="2026-01", customer_id="C1", bill_detail_type=4)
        self.assertEqual([(record.id, record.resource_id, record.payment_amount) for record in refunds.fee_records], [("O-B2:refund", "O-B2", Decimal("-30.00"))])
        self.assertEqual(self.detail("partner:D1", bill_cycle="2026-01", customer_id="C1", association_type="1").total_count, 0)

    def test_sub_customer_bill_detail_of_referral_and_indirect_customers(self):
        referral = self.detail("partner:D1", bill_cycle="2026-01", customer_id="C2")
        self.assertEqual([(record.id, record.association_type, record.payment_amount) for record in referral.fee_records], [("O-B3", "1", Decimal("50.00"))])
        indirect = self.detail("partner:D1", bill_cycle="2026-01", customer_id="C3", indirect_partner_id="R1")
        self.assertEqual([(record.id, record.partner_id, record.service_type_code) for record in indirect.fee_records], [("O-B4", "R1", "rds")])
        self.assertEqual(self.detail("partner:D1", bill_cycle="2026-01", customer_id="C1", indirect_partner_id="R1").total_count, 0)

    def test_sub_customer_bill_detail_refusals_reach_the_caller(self):
        p1 = self.client("partner:P1")
        request = ListSubCustomerBillDetailRequest(bill_cycle="2026-01", customer_id="C1")
        self.assertFails(403, "CBC.0151", p1.list_sub_customer_bill_detail, request, code_name="access_denied")
        d1 = self.client("partner:D1")
        request = ListSubCustomerBillDetailRequest(bill_cycle="2026-01")
        self.assertFails(400, "CBC.0100", d1.list_sub_customer_bill_detail, request, code_name="invalid_request")

    def resource_records(self, actor, **query):
        return self.client(actor).list_customerself_resource_records(ListCustomerselfResourceRecordsRequest(**query))

    def test_customerself_resource_records(self):
        answer = self.resource_records("customer:C1", cycle="2026-01")
        self.assertEqual((answer.total_count, answer.currency), (5, "CNY"))
        refund = answer.fee_records[2]
        self.assertEqual((refund.order_id, refund.relative_order_id, refund.resource_id), ("O-B2:refund", "O-B2", "O-B2"))
        self.assertEqual((refund.charge_mode, refund.bill_type, refund.bill_date, refund.cloud_service_type), ("1", 4, "2026-01-06", "obs"))
        self.assertIsInstance(refund.amount, Decimal)
        self.assertEqual(refund.amount, Decimal("-30.00"))
        usage = answer.fee_records[3]
        # 20:00 UTC on 7 January is 8 January in UTC+8.
        self.assertEqual((usage.bill_date, usage.charge_mode, usage.order_id, usage.measure_id), ("2026-01-08", "3", None, 1))
        self.assertEqual((usage.amount, usage.official_amount, usage.cash_amount), (Decimal("12.34"), Decimal("12.34567891"), Decimal("12.34")))
        on_demand = self.resource_records("customer:C1", cycle="2026-01", charge_mode="3")
        self.assertEqual([record.trade_id for record in on_demand.fee_records], ["b-8", "b-9"])

    def test_customerself_resource_records_refusals_reach_the_caller(self):
        c1 = self.client("customer:C1")
        request = ListCustomerselfResourceRecordsRequest(cycle="2026-13")
        self.assertFails(400, "CBC.0100", c1.list_customerself_resource_records, request, code_name="invalid_request")
        request = ListCustomerselfResourceRecordsRequest(cycle="2026-01", statistic_type=1)
        self.assertFails(400, "CBC.0100", c1.list_customerself_resource_records, request, code_name="invalid_request")
        request = ListCustomerselfResourceRecordsRequest(cycle="2026-01", sub_customer_id="C3")
        self.assertFails(403, "CBC.0151", c1.list_customerself_resource_records, request, code_name="access_denied")

    def test_customer_monthly_sum_per_service_mode_and_type(self):
        c1 = self.client("customer:C1")
        answer = c1.show_customer_monthly_sum(ShowCustomerMonthlySumRequest(bill_cycle="2026-01"))
        groups = [(s.service_type_code, s.charging_mode, s.bill_type, s.consume_amount) for s in answer.bill_sums]
        self.assertEqual(groups, [("ecs", 1, 1, Decimal("120.00")), ("obs", 1, 1, Decimal("80.00")), ("obs", 1, 2, Decimal("-30.00")),
                                  (None, 3, 1, Decimal("12.34")), (None, 3, 3, Decimal("-5.00"))])
        self.assertEqual(answer.total_count, 5)
        usage = answer.bill_sums[3]
        self.assertEqual((usage.official_amount, usage.truncated_amount, usage.customer_id, usage.measure_id), (Decimal("12.34567891"), Decimal("0.00567891"), "C1", 1))
        self.assertIsInstance(answer.consume_amount, Decimal)
        self.assertEqual((answer.consume_amount, answer.cash_amount, answer.debt_amount, answer.currency), (Decimal("177.34"), Decimal("177.34"), Decimal("0.00"), "CNY"))
        obs = c1.show_customer_monthly_sum(ShowCustomerMonthlySumRequest(bill_cycle="2026-01", service_type_code="obs", limit=1))
        self.assertEqual((obs.total_count, len(obs.bill_sums), obs.consume_amount), (2, 1, Decimal("50.00")))
        february = c1.show_customer_monthly_sum(ShowCustomerMonthlySumRequest(bill_cycle="2026-02"))
        self.assertEqual([(s.consume_amount, s.cash_amount) for s in february.bill_sums], [(Decimal("7.00"), Decimal("7.00"))])

    def test_customer_monthly_sum_refusals_reach_the_caller(self):
        c1 = self.client("customer:C1")
        self.assertFails(400, "CBC.0100", c1.show_customer_monthly_sum, ShowCustomerMonthlySumRequest(), code_name="invalid_request")
        request = ShowCustomerMonthlySumRequest(bill_cycle="2026-01", sub_customer_id="C4")
        self.assertFails(403, "CBC.0151", c1.show_customer_monthly_sum, request, code_name="access_denied")

    def monthly(self, actor, **query):
        return self.client(actor).list_subcustomer_monthly_bills(ListSubcustomerMonthlyBillsRequest(**query))

    def test_subcustomer_monthly_bills_of_a_partner(self):
        answer = self.monthly("partner:D1", cycle="2026-01", charge_mode="1")
        groups = [(s.customer_id, s.cloud_service_type, s.bill_type, s.charge_mode, s.amount) for s in answer.bill_sums]
        self.assertEqual(groups, [("C1", "ecs", "0", "1", Decimal("120.00")), ("C1", "obs", "0", "1", Decimal("80.00")),
                                  ("C1", "obs", "1", "1", Decimal("-30.00")), ("C2", None, "0", "1", Decimal("50.00"))])
        self.assertEqual((answer.count, answer.currency), (4, "CNY"))
        details = [(d.balance_type, d.amount, d.bill_type) for d in answer.bill_sums[0].account_details]
        self.assertEqual(details, [("BALANCE_TYPE_DEBIT", Decimal("120.00"), "0")])
        self.assertIsInstance(answer.bill_sums[0].amount, Decimal)
        on_demand = self.monthly("operator:D1_FIN", cycle="2026-01", charge_mode="3")
        self.assertEqual([(s.customer_id, s.bill_type, s.amount) for s in on_demand.bill_sums], [("C1", "0", Decimal("12.34")), ("C1", "2", Decimal("-5.00"))])
        self.assertEqual([s.customer_id for s in self.monthly("partner:D1", cycle="2026-01", charge_mode="1", customer_id="C2").bill_sums], ["C2"])
        refunds = self.monthly("partner:D1", cycle="2026-01", charge_mode="1", bill_type="1")
        self.assertEqual([(s.customer_id, s.amount) for s in refunds.bill_sums], [("C1", Decimal("-30.00"))])
        indirect = self.monthly("partner:D1", cycle="2026-01", charge_mode="1", indirect_partner_id="R1")
        self.assertEqual([(s.customer_id, s.cloud_service_type, s.amount) for s in indirect.bill_sums], [("C3", "rds", Decimal("60.00"))])

    def test_subcustomer_monthly_bills_refusals_reach_the_caller(self):
        p1 = self.client("partner:P1")
        request = ListSubcustomerMonthlyBillsRequest(cycle="2026-01", charge_mode="1", customer_id="C1")
        self.assertFails(403, "CBC.0151", p1.list_subcustomer_monthly_bills, request, code_name="access_denied")
        request = ListSubcustomerMonthlyBillsRequest(cycle="2026-01")
        self.assertFails(400, "CBC.0100", p1.list_subcustomer_monthly_bills, request, code_name="invalid_request")

    def consumers(self, actor, **body):
        answer = self.client(actor).list_consume_sub_customers(ListConsumeSubCustomersRequest(body=ListConsumeSubCustomersReq(**body)))
        return answer.total_count, [customer.customer_id for customer in answer.sub_customers]

    def test_consume_sub_customers_are_those_with_bills_in_the_cycle(self):
        self.assertEqual(self.consumers("partner:D1", bill_cycle="2026-01"), (2, ["C1", "C2"]))
        self.assertEqual(self.consumers("partner:D1", bill_cycle="2026-01", offset=1, limit=1), (2, ["C2"]))
        self.assertEqual(self.consumers("operator:D1_FIN", bill_cycle="2026-02"), (1, ["C1"]))
        self.assertEqual(self.consumers("partner:R1", bill_cycle="2026-01"), (1, ["C3"]))
        self.assertEqual(self.consumers("partner:P1", bill_cycle="2026-01"), (0, []))

    def test_consume_sub_customers_refusals_reach_the_caller(self):
        d1 = self.client("partner:D1")
        request = ListConsumeSubCustomersRequest(body=ListConsumeSubCustomersReq())
        self.assertFails(400, "CBC.0100", d1.list_consume_sub_customers, request, code_name="invalid_request")
        request = ListConsumeSubCustomersRequest(body=ListConsumeSubCustomersReq(bill_cycle="2026/01"))
        self.assertFails(400, "CBC.0100", d1.list_consume_sub_customers, request, code_name="invalid_request")
        # A customer has no customers: the engine's consumption_summary wants a partner.
        c1 = self.client("customer:C1")
        request = ListConsumeSubCustomersRequest(body=ListConsumeSubCustomersReq(bill_cycle="2026-01"))
        self.assertFails(400, "CBC.0100", c1.list_consume_sub_customers, request, code_name="invalid_request")
