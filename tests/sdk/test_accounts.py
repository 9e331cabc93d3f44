"""Accounts: customers, resellers, balances, allocation and recovery, adjust and change records."""
from decimal import Decimal

from huaweicloudsdkbss.v2 import *

from harness import SdkTestCase


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
