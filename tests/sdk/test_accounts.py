"""Accounts: customers, resellers, balances, allocation and recovery, adjust and change records."""
import re
from decimal import Decimal

from huaweicloudsdkbss.v2 import *

from harness import ACTORS, SdkTestCase, Server


class AllocationTest(SdkTestCase):
    def test_allocate_to_a_resale_customer_answers_the_transfer_id(self):
        d1 = self.client("partner:D1")
        answer = d1.update_customer_account_amount(UpdateCustomerAccountAmountRequest(body=AdjustAccountReq(customer_id="C1", amount=Decimal("100.50"))))
        self.assertTrue(answer.transfer_id.startswith("bss-"))
        lines = self.server.commands("partner:D1", [{"op": "balance", "party": "customer:C1"}])
        self.assertEqual(lines[0]["result"]["allocated"], "100.50")

    def test_allocate_beyond_available_cash_is_insufficient_funds(self):
        d1 = self.client("partner:D1")
        request = UpdateCustomerAccountAmountRequest(body=AdjustAccountReq(customer_id="C1", amount=Decimal("99999999")))
        self.assertFails(400, "CBC.99005003", d1.update_customer_account_amount, request, code_name="insufficient_funds")


# Seeded on top of SEED, all at 2026-01-05: C5 (resale of D1, funded 12.34) and C4 (resale of P1,
# funded 40). No test below moves money of C4, C5, P1 or C2, so their figures are fixed.
ACCOUNT_SEED = [
    {"op": "register_customer", "id": "acc-1", "actor": "partner:D1", "customer": "C5", "partner": "D1", "name": "Customer Five", "external_id": "X-C5"},
    {"op": "allocate", "id": "acc-2", "actor": "partner:D1", "to": "customer:C5", "amount": "12.34", "memo": "seed budget"},
    {"op": "allocate", "id": "acc-3", "actor": "partner:P1", "to": "customer:C4", "amount": "40"},
]


def balance(server, actor, party):
    return server.commands(actor, [{"op": "balance", "party": party}])[0]["result"]


class CustomersTest(SdkTestCase):
    # D1_CM manages C1 (from the UTC+8 day after 2026-01-05).
    EXTRA_SEED = [
        *ACCOUNT_SEED,
        {"op": "register_operator", "id": "acc-4", "actor": "partner:D1", "operator": "D1_CM", "partner": "D1", "roles": ["customer_manager"]},
        {"op": "assign_customer_manager", "id": "acc-5", "actor": "partner:D1", "customer": "C1", "operator": "D1_CM"},
    ]

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.EXTRA_SEED, actors=[*ACTORS, "operator:D1_CM"])

    def list_ids(self, actor, **filters):
        answer = self.client(actor).list_sub_customers(ListSubCustomersRequest(body=QuerySubCustomerListReq(limit=100, **filters)))
        return answer, [info.customer_id for info in answer.customer_infos]

    def test_create_sub_customer_registers_a_resale_customer_under_a_derived_id(self):
        d1 = self.client("partner:D1")
        body = CreateCustomerV2Req(domain_name="Acme Cloud", xaccount_id="HW-100", xaccount_type="partner_platform")
        created = d1.create_sub_customer(CreateSubCustomerRequest(body=body))
        self.assertIsInstance(created.domain_id, str)
        self.assertRegex(created.domain_id, r"^[0-9a-f]{32}$")
        self.assertEqual(created.domain_name, "Acme Cloud")
        answer, ids = self.list_ids("partner:D1", customer_id=created.domain_id)
        self.assertEqual((answer.count, ids), (1, [created.domain_id]))
        info = answer.customer_infos[0]
        self.assertEqual((info.account_name, info.customer, info.xaccount_id, info.association_type), ("Acme Cloud", "Acme Cloud", "HW-100", "2"))
        self.assertRegex(info.associated_on, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(info.account_managers, [])
        self.assertIsNone(info.label)
        record = balance(self.server, "platform", f"customer:{created.domain_id}")
        self.assertEqual(record["allocated"], "0.00")

    def test_create_sub_customer_with_cooperation_type_1_is_referral_and_a_retry_answers_the_same_id(self):
        d1 = self.client("partner:D1")
        body = CreateCustomerV2Req(domain_name="Referred Ltd", xaccount_id="HW-200", xaccount_type="partner_platform", cooperation_type="1")
        first = d1.create_sub_customer_invoker(CreateSubCustomerRequest(body=body)).add_header("X-Client-Request-Id", "acc-create-referral").invoke()
        again = d1.create_sub_customer_invoker(CreateSubCustomerRequest(body=body)).add_header("X-Client-Request-Id", "acc-create-referral").invoke()
        self.assertEqual(first.domain_id, again.domain_id)
        answer, ids = self.list_ids("partner:D1", association_type="1")
        self.assertIn(first.domain_id, ids)
        self.assertIn("C2", ids)
        self.assertNotIn("C1", ids)
        self.assertTrue(all(info.association_type == "1" for info in answer.customer_infos))

    def test_create_sub_customer_with_an_xaccount_id_already_registered_is_99000050(self):
        d1 = self.client("partner:D1")
        body = CreateCustomerV2Req(domain_name="Copy of One", xaccount_id="X-C1", xaccount_type="partner_platform")
        self.assertFails(400, "CBC.99000050", d1.create_sub_customer, CreateSubCustomerRequest(body=body), code_name="already_exists")

    def test_create_sub_customer_by_a_customer_is_access_denied(self):
        c1 = self.client("customer:C1")
        body = CreateCustomerV2Req(domain_name="Nope", xaccount_id="HW-300", xaccount_type="partner_platform")
        self.assertFails(403, "CBC.0151", c1.create_sub_customer, CreateSubCustomerRequest(body=body), code_name="access_denied")

    def test_list_sub_customers_lists_own_customers_and_a_resellers_by_indirect_partner_id(self):
        answer, ids = self.list_ids("partner:D1")
        self.assertIn("C1", ids)
        self.assertIn("C2", ids)
        self.assertNotIn("C3", ids)
        self.assertIsInstance(answer.count, int)
        self.assertEqual(answer.count, len(ids))
        one = next(info for info in answer.customer_infos if info.customer_id == "C1")
        self.assertEqual((one.account_name, one.xaccount_id, one.association_type, one.associated_on), ("Customer One", "X-C1", "2", "2026-01-05T00:00:00Z"))
        answer, ids = self.list_ids("partner:D1", indirect_partner_id="R1")
        self.assertEqual((answer.count, ids), (1, ["C3"]))

    def test_list_sub_customers_by_a_customer_manager_lists_its_managed_customers(self):
        answer, ids = self.list_ids("operator:D1_CM")
        self.assertEqual((answer.count, ids), (1, ["C1"]))
        self.assertEqual([manager.account_name for manager in answer.customer_infos[0].account_managers], ["D1_CM"])
        answer, ids = self.list_ids("partner:D1", customer_id="C1")
        self.assertEqual([manager.account_name for manager in answer.customer_infos[0].account_managers], ["D1_CM"])
        cm = self.client("operator:D1_CM")
        self.assertFails(403, "CBC.0151", cm.list_partner_balances, ListPartnerBalancesRequest(), code_name="access_denied")

    def test_list_sub_customers_filters_by_name_and_time_and_pages(self):
        answer, ids = self.list_ids("partner:D1", account_name="Five")
        self.assertEqual((answer.count, ids), (1, ["C5"]))
        answer, ids = self.list_ids("partner:D1", associated_on_begin="2026-01-05T00:00:00Z", associated_on_end="2026-01-05T00:00:00Z")
        self.assertEqual(ids, ["C1", "C2", "C5"])
        page = self.client("partner:D1").list_sub_customers(ListSubCustomersRequest(body=QuerySubCustomerListReq(offset=1, limit=1,
                                                                                                             associated_on_end="2026-01-06T00:00:00Z")))
        self.assertEqual((page.count, [info.customer_id for info in page.customer_infos]), (3, ["C2"]))
        answer, ids = self.list_ids("partner:D1", label="vip")
        self.assertEqual((answer.count, ids), (0, []))

    def test_list_sub_customers_by_a_customer_is_access_denied_and_a_bad_association_type_invalid(self):
        c1 = self.client("customer:C1")
        self.assertFails(403, "CBC.0151", c1.list_sub_customers, ListSubCustomersRequest(body=QuerySubCustomerListReq()), code_name="access_denied")
        d1 = self.client("partner:D1")
        request = ListSubCustomersRequest(body=QuerySubCustomerListReq(association_type="9"))
        self.assertFails(400, "CBC.0100", d1.list_sub_customers, request, code_name="invalid_request")

    def test_list_indirect_partners_lists_the_distributors_resellers(self):
        answer = self.client("partner:D1").list_indirect_partners(ListIndirectPartnersRequest(body=QueryIndirectPartnersReq()))
        self.assertEqual(answer.count, 1)
        self.assertIsInstance(answer.count, int)
        reseller = answer.indirect_partners[0]
        self.assertEqual((reseller.indirect_partner_id, reseller.account_name, reseller.associated_on), ("R1", "R1", "2026-01-05T00:00:00Z"))
        none = self.client("operator:D1_FIN").list_indirect_partners(ListIndirectPartnersRequest(body=QueryIndirectPartnersReq(indirect_partner_id="R9")))
        self.assertEqual((none.count, none.indirect_partners), (0, []))

    def test_list_indirect_partners_by_a_customer_is_access_denied(self):
        c1 = self.client("customer:C1")
        request = ListIndirectPartnersRequest(body=QueryIndirectPartnersReq())
        self.assertFails(403, "CBC.0151", c1.list_indirect_partners, request, code_name="access_denied")


class BalancesTest(SdkTestCase):
    EXTRA_SEED = ACCOUNT_SEED

    def test_list_partner_balances_answers_cash_and_credit_as_floats(self):
        answer = self.client("partner:P1").list_partner_balances(ListPartnerBalancesRequest())
        cash, credit = answer.account_balances
        self.assertEqual((cash.account_type, cash.amount, cash.designated_amount, cash.currency, cash.measure_id), (1, 49960.0, 0.0, "CNY", 1))
        self.assertIsInstance(cash.amount, float)
        self.assertIsInstance(cash.account_type, int)
        self.assertEqual(cash.account_id, "partner:P1:cash")
        self.assertEqual((credit.account_type, credit.amount, credit.credit_amount), (2, 0.0, 0.0))
        self.assertIsNone(credit.designated_amount)

    def test_list_partner_balances_of_an_operators_partner_and_a_reseller(self):
        answer = self.client("operator:D1_FIN").list_partner_balances(ListPartnerBalancesRequest())
        credit = answer.account_balances[1]
        self.assertEqual((credit.account_id, credit.amount, credit.credit_amount), ("partner:D1:credit", 5000.0, 5000.0))
        reseller = self.client("partner:D1").list_partner_balances(ListPartnerBalancesRequest(indirect_partner_id="R1"))
        self.assertEqual(reseller.account_balances[0].account_id, "partner:R1:cash")
        self.assertIsInstance(reseller.account_balances[0].amount, float)

    def test_list_partner_balances_of_another_partner_is_access_denied(self):
        d1 = self.client("partner:D1")
        self.assertFails(403, "CBC.0151", d1.list_partner_balances, ListPartnerBalancesRequest(indirect_partner_id="P1"), code_name="access_denied")
        c1 = self.client("customer:C1")
        self.assertFails(403, "CBC.0151", c1.list_partner_balances, ListPartnerBalancesRequest(), code_name="access_denied")

    def test_show_customer_account_balances_of_a_funded_resale_customer(self):
        answer = self.client("customer:C4").show_customer_account_balances(ShowCustomerAccountBalancesRequest())
        self.assertEqual([(row.account_type, row.amount) for row in answer.account_balances], [(0, Decimal("0.00")), (1, Decimal("40.00"))])
        self.assertIsInstance(answer.account_balances[1].amount, Decimal)
        self.assertEqual(answer.account_balances[1].account_id, "customer:C4:allocated")
        self.assertEqual((answer.debt_amount, answer.measure_id, answer.currency), (Decimal("0.00"), 1, "CNY"))
        self.assertIsInstance(answer.debt_amount, Decimal)

    def test_show_customer_account_balances_of_an_unfunded_resale_customer_shows_its_allocated_account(self):
        answer = self.client("customer:C3").show_customer_account_balances(ShowCustomerAccountBalancesRequest())
        self.assertEqual([(row.account_type, row.account_id) for row in answer.account_balances], [(0, "customer:C3:cash"), (1, "customer:C3:allocated")])

    def test_show_customer_account_balances_of_a_referral_customer_has_only_its_cash(self):
        answer = self.client("customer:C2").show_customer_account_balances(ShowCustomerAccountBalancesRequest())
        self.assertEqual(len(answer.account_balances), 1)
        cash = answer.account_balances[0]
        self.assertEqual((cash.account_type, cash.amount, cash.designated_amount), (0, Decimal("300.00"), Decimal("0.00")))

    def test_show_customer_account_balances_by_a_partner_is_access_denied(self):
        d1 = self.client("partner:D1")
        self.assertFails(403, "CBC.0151", d1.show_customer_account_balances, ShowCustomerAccountBalancesRequest(), code_name="access_denied")

    def test_list_customers_balances_detail_leaves_referral_customers_out(self):
        body = QueryCustomersBalancesReq(customer_infos=[CustomerInfoV2(customer_id="C5"), CustomerInfoV2(customer_id="C2")])
        answer = self.client("partner:D1").list_customers_balances_detail(ListCustomersBalancesDetailRequest(body=body))
        self.assertEqual(len(answer.customer_balances), 1)
        row = answer.customer_balances[0]
        self.assertEqual((row.customer_id, row.amount, row.debt_amount, row.currency, row.measure_id), ("C5", Decimal("12.34"), Decimal("0.00"), "CNY", 1))
        self.assertIsInstance(row.amount, Decimal)
        body = QueryCustomersBalancesReq(customer_infos=[CustomerInfoV2(customer_id="C3")], indirect_partner_id="R1")
        reseller = self.client("partner:D1").list_customers_balances_detail(ListCustomersBalancesDetailRequest(body=body))
        self.assertEqual([row.customer_id for row in reseller.customer_balances], ["C3"])

    def test_list_customers_balances_detail_of_another_partners_customer_is_access_denied(self):
        d1 = self.client("partner:D1")
        body = QueryCustomersBalancesReq(customer_infos=[CustomerInfoV2(customer_id="C5"), CustomerInfoV2(customer_id="C4")])
        request = ListCustomersBalancesDetailRequest(body=body)
        self.assertFails(403, "CBC.0151", d1.list_customers_balances_detail, request, code_name="access_denied")


class TransfersTest(SdkTestCase):
    EXTRA_SEED = ACCOUNT_SEED

    def adjust_record(self, actor, trans_id):
        answer = self.client(actor).list_partner_adjust_records(ListPartnerAdjustRecordsRequest(trans_id=trans_id))
        self.assertEqual(answer.total_count, 1)
        return answer.records[0]

    def test_reclaim_to_partner_account_recovers_allocated_funds(self):
        d1 = self.client("partner:D1")
        d1.update_customer_account_amount(UpdateCustomerAccountAmountRequest(body=AdjustAccountReq(customer_id="C1", amount=Decimal("77.70"))))
        before = balance(self.server, "partner:D1", "customer:C1")["allocated"]
        answer = d1.reclaim_to_partner_account(ReclaimToPartnerAccountRequest(body=ReclaimToPartnerAccountBalancesReq(customer_id="C1", amount=Decimal("7.70"))))
        self.assertIsInstance(answer.trans_id, str)
        self.assertTrue(answer.trans_id.startswith("bss-"))
        self.assertEqual(Decimal(balance(self.server, "partner:D1", "customer:C1")["allocated"]), Decimal(before) - Decimal("7.70"))
        record = self.adjust_record("partner:D1", answer.trans_id)
        self.assertEqual((record.customer_id, record.operation_type, record.amount), ("C1", "SOURCE_OPERATION_BERETRIEVE", "7.70"))

    def test_reclaim_to_partner_account_beyond_allocated_is_insufficient_funds(self):
        d1 = self.client("partner:D1")
        request = ReclaimToPartnerAccountRequest(body=ReclaimToPartnerAccountBalancesReq(customer_id="C1", amount=Decimal("99999998")))
        self.assertFails(400, "CBC.99005003", d1.reclaim_to_partner_account, request, code_name="insufficient_funds")

    def test_reclaim_from_a_referral_customer_is_refused(self):
        d1 = self.client("partner:D1")
        request = ReclaimToPartnerAccountRequest(body=ReclaimToPartnerAccountBalancesReq(customer_id="C2", amount=Decimal("1.00")))
        self.assertFails(400, "CBC.99000014", d1.reclaim_to_partner_account, request, code_name="not_resale_customer")

    def test_update_indirect_partner_account_funds_the_reseller(self):
        before = Decimal(balance(self.server, "partner:D1", "partner:R1")["cash"])
        answer = self.client("partner:D1").update_indirect_partner_account(
            UpdateIndirectPartnerAccountRequest(body=AdjustToIndirectPartnerReq(indirect_partner_id="R1", amount=Decimal("200.00"))))
        self.assertTrue(answer.transfer_id.startswith("bss-"))
        self.assertEqual(Decimal(balance(self.server, "partner:D1", "partner:R1")["cash"]), before + Decimal("200.00"))
        record = self.adjust_record("partner:D1", answer.transfer_id)
        self.assertEqual((record.customer_id, record.operation_type, record.amount, record.measure_id), ("R1", "SOURCE_OPERATION_BEADJUST", "200.00", 1))

    def test_update_indirect_partner_account_of_another_distributors_reseller_is_refused(self):
        p1 = self.client("partner:P1")
        request = UpdateIndirectPartnerAccountRequest(body=AdjustToIndirectPartnerReq(indirect_partner_id="R1", amount=Decimal("1.25")))
        self.assertFails(400, "CBC.99000037", p1.update_indirect_partner_account, request, code_name="not_your_reseller")

    def test_reclaim_indirect_partner_account_takes_back_reseller_cash(self):
        d1 = self.client("partner:D1")
        d1.update_indirect_partner_account(UpdateIndirectPartnerAccountRequest(body=AdjustToIndirectPartnerReq(indirect_partner_id="R1", amount=Decimal("60.00"))))
        before = Decimal(balance(self.server, "partner:D1", "partner:R1")["cash"])
        answer = d1.reclaim_indirect_partner_account(
            ReclaimIndirectPartnerAccountRequest(body=ReclaimIndirectPartnerAccountReq(indirect_partner_id="R1", amount=Decimal("15.50"))))
        self.assertTrue(answer.trans_id.startswith("bss-"))
        self.assertEqual(Decimal(balance(self.server, "partner:D1", "partner:R1")["cash"]), before - Decimal("15.50"))
        record = self.adjust_record("operator:D1_FIN", answer.trans_id)
        self.assertEqual((record.customer_id, record.operation_type, record.amount), ("R1", "SOURCE_OPERATION_BERETRIEVE", "15.50"))

    def test_reclaim_indirect_partner_account_beyond_its_cash_is_insufficient_funds(self):
        d1 = self.client("partner:D1")
        request = ReclaimIndirectPartnerAccountRequest(body=ReclaimIndirectPartnerAccountReq(indirect_partner_id="R1", amount=Decimal("99999997")))
        self.assertFails(400, "CBC.99005003", d1.reclaim_indirect_partner_account, request, code_name="insufficient_funds")


class RecordsTest(SdkTestCase):
    EXTRA_SEED = ACCOUNT_SEED

    def test_list_partner_adjust_records_by_customer_and_operation_type(self):
        d1 = self.client("partner:D1")
        answer = d1.list_partner_adjust_records(ListPartnerAdjustRecordsRequest(customer_id="C5", operation_type="SOURCE_OPERATION_BEADJUST"))
        self.assertEqual(answer.total_count, 1)
        self.assertIsInstance(answer.total_count, int)
        record = answer.records[0]
        self.assertEqual(
            (record.customer_id, record.operation_type, record.amount, record.currency, record.operation_time, record.measure_id, record.trans_id, record.memo),
            ("C5", "SOURCE_OPERATION_BEADJUST", "12.34", "CNY", "2026-01-05T00:00:00Z", 1, "acc-2", "seed budget"),
        )
        self.assertIsInstance(record.amount, str)
        none = d1.list_partner_adjust_records(ListPartnerAdjustRecordsRequest(customer_id="C5", operation_type="SOURCE_OPERATION_BERETRIEVE"))
        self.assertEqual((none.total_count, none.records), (0, []))
        later = d1.list_partner_adjust_records(ListPartnerAdjustRecordsRequest(customer_id="C5", operation_time_begin="2026-01-06T00:00:00Z"))
        self.assertEqual(later.total_count, 0)
        # A distributor's own records only: P1's allocation to C4 is not D1's.
        p1 = self.client("partner:P1").list_partner_adjust_records(ListPartnerAdjustRecordsRequest())
        self.assertEqual([(record.customer_id, record.trans_id) for record in p1.records], [("C4", "acc-3")])

    def test_list_partner_adjust_records_with_an_unknown_operation_type_is_invalid(self):
        d1 = self.client("partner:D1")
        request = ListPartnerAdjustRecordsRequest(operation_type="SOURCE_OPERATION_BOGUS")
        self.assertFails(400, "CBC.0100", d1.list_partner_adjust_records, request, code_name="invalid_request")
        request = ListPartnerAdjustRecordsRequest(indirect_partner_id="P1")
        self.assertFails(403, "CBC.0151", d1.list_partner_adjust_records, request, code_name="access_denied")

    def test_list_partner_account_change_records_of_the_cash_account(self):
        p1 = self.client("partner:P1")
        answer = p1.list_partner_account_change_records(ListPartnerAccountChangeRecordsRequest(balance_type="BALANCE_TYPE_DEBIT"))
        self.assertEqual((answer.total_count, answer.currency), (2, "CNY"))
        recharge, allocation = answer.records
        self.assertEqual((recharge.trade_id, recharge.trade_detail_type, recharge.change_amount, recharge.balance_after_change, recharge.type),
                         ("seed-9", "recharge", "50000.00", "50000.00", "1"))
        self.assertIsNone(recharge.customer_id)
        self.assertEqual((allocation.trade_id, allocation.change_amount, allocation.balance_after_change, allocation.type, allocation.customer_id),
                         ("acc-3", "-40.00", "49960.00", "2", "C4"))
        self.assertEqual(allocation.trade_time, "2026-01-05T00:00:00Z")
        self.assertTrue(re.fullmatch(r"\d+", allocation.account_change_id))
        only = p1.list_partner_account_change_records(ListPartnerAccountChangeRecordsRequest(balance_type="BALANCE_TYPE_DEBIT", trade_type="allocate"))
        self.assertEqual((only.total_count, [record.trade_id for record in only.records]), (1, ["acc-3"]))
        paged = p1.list_partner_account_change_records(ListPartnerAccountChangeRecordsRequest(balance_type="BALANCE_TYPE_DEBIT", offset=1, limit=1))
        self.assertEqual((paged.total_count, [record.trade_id for record in paged.records]), (2, ["acc-3"]))
        credit = p1.list_partner_account_change_records(ListPartnerAccountChangeRecordsRequest(balance_type="BALANCE_TYPE_CREDIT"))
        self.assertEqual((credit.total_count, credit.records), (0, []))

    def test_list_partner_account_change_records_with_an_unknown_balance_type_is_invalid(self):
        p1 = self.client("partner:P1")
        request = ListPartnerAccountChangeRecordsRequest(balance_type="BALANCE_TYPE_BONUS")
        self.assertFails(400, "CBC.0100", p1.list_partner_account_change_records, request, code_name="invalid_request")
        request = ListPartnerAccountChangeRecordsRequest(balance_type="BALANCE_TYPE_DEBIT", indirect_partner_id="P1")
        self.assertFails(403, "CBC.0151", self.client("partner:D1").list_partner_account_change_records, request, code_name="access_denied")

    def test_list_customer_account_change_records_of_the_calling_customer(self):
        c2 = self.client("customer:C2")
        answer = c2.list_customer_account_change_records(ListCustomerAccountChangeRecordsRequest(balance_type="BALANCE_TYPE_DEBIT"))
        self.assertEqual((answer.total_count, answer.currency), (1, "CNY"))
        record = answer.records[0]
        self.assertEqual((record.trade_id, record.trade_detail_type, record.change_amount, record.balance_after_change, record.revenue_expense_type, record.bill_cycle),
                         ("seed-10", "recharge", "300.00", "300.00", "1", "2026-01"))
        self.assertIsInstance(record.change_amount, str)
        expenses = c2.list_customer_account_change_records(ListCustomerAccountChangeRecordsRequest(balance_type="BALANCE_TYPE_DEBIT", revenue_expense_type="2"))
        self.assertEqual((expenses.total_count, expenses.records), (0, []))
        by_id = c2.list_customer_account_change_records(ListCustomerAccountChangeRecordsRequest(balance_type="BALANCE_TYPE_DEBIT", trade_id="seed-10"))
        self.assertEqual(by_id.total_count, 1)

    def test_list_customer_account_change_records_by_a_partner_is_access_denied(self):
        d1 = self.client("partner:D1")
        request = ListCustomerAccountChangeRecordsRequest(balance_type="BALANCE_TYPE_DEBIT")
        self.assertFails(403, "CBC.0151", d1.list_customer_account_change_records, request, code_name="access_denied")
        c2 = self.client("customer:C2")
        request = ListCustomerAccountChangeRecordsRequest(balance_type="BALANCE_TYPE_CASH")
        self.assertFails(400, "CBC.0100", c2.list_customer_account_change_records, request, code_name="invalid_request")
