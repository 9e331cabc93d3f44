"""The door itself, through the SDK: signatures, replays, request ids, operations not served, the
JSON-lines door signed by the SDK's own signer."""
import json
from decimal import Decimal

from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkbss.v2 import *

from harness import SdkTestCase


def allocated(server, customer):
    answer = server.commands("partner:D1", [{"op": "balance", "party": f"customer:{customer}"}])
    return Decimal(answer[0]["result"]["allocated"])


class DoorTest(SdkTestCase):
    def test_a_wrong_secret_key_is_401_and_changes_nothing(self):
        key = self.server.keys["partner:D1"]
        forged = BssClient.new_builder().with_credentials(GlobalCredentials(key["access_key"], "not-the-secret", key["domain_id"])) \
            .with_endpoint(self.server.endpoint).with_http_config(self.server.config()).build()
        before = allocated(self.server, "C1")
        request = UpdateCustomerAccountAmountRequest(body=AdjustAccountReq(customer_id="C1", amount=Decimal("1.11")))
        self.assertFails(401, "APIGW.0301", forged.update_customer_account_amount, request)
        self.assertEqual(allocated(self.server, "C1"), before)

    def test_a_foreign_domain_id_is_refused(self):
        key = self.server.keys["partner:D1"]
        foreign = BssClient.new_builder().with_credentials(GlobalCredentials(key["access_key"], key["secret_key"], "P1")) \
            .with_endpoint(self.server.endpoint).with_http_config(self.server.config()).build()
        request = UpdateCustomerAccountAmountRequest(body=AdjustAccountReq(customer_id="C1", amount=Decimal("1.12")))
        error = self.assertFails(401, "APIGW.0301", foreign.update_customer_account_amount, request)
        self.assertIn("X-Domain-Id", error.error_msg)

    def test_a_byte_identical_retry_is_a_duplicate_applied_once(self):
        before = allocated(self.server, "C1")
        body = json.dumps({"customer_id": "C1", "amount": Decimal("2.22")}, default=str).replace('"2.22"', "2.22").encode()
        date = {"X-Sdk-Date": "20991231T000000Z"}
        # A date far from the server's clock is refused ...
        self.assertEqual(self.server.signed("partner:D1", "POST", "/v2/accounts/partner-accounts/adjust-amount", body=body, headers=date).status_code, 401)
        # ... and two sends of the same signed bytes (as the SDK's retry sends them) apply once.
        import datetime
        now = {"X-Sdk-Date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")}
        first = self.server.signed("partner:D1", "POST", "/v2/accounts/partner-accounts/adjust-amount", body=body, headers=now)
        retry = self.server.signed("partner:D1", "POST", "/v2/accounts/partner-accounts/adjust-amount", body=body, headers=now)
        self.assertEqual((first.status_code, retry.status_code), (200, 200), retry.text)
        self.assertEqual(first.json()["transfer_id"], retry.json()["transfer_id"])
        self.assertEqual(allocated(self.server, "C1"), before + Decimal("2.22"))

    def test_x_client_request_id_names_the_request_through_the_sdk_invoker(self):
        d1 = self.client("partner:D1")
        before = allocated(self.server, "C1")
        request = UpdateCustomerAccountAmountRequest(body=AdjustAccountReq(customer_id="C1", amount=Decimal("3.33")))
        for _ in range(2):
            answer = d1.update_customer_account_amount_invoker(request).add_header("X-Client-Request-Id", "door-req-1").invoke()
            self.assertEqual(answer.transfer_id, "door-req-1")
        self.assertEqual(allocated(self.server, "C1"), before + Decimal("3.33"))
        other = UpdateCustomerAccountAmountRequest(body=AdjustAccountReq(customer_id="C1", amount=Decimal("3.34")))
        invoker = d1.update_customer_account_amount_invoker(other).add_header("X-Client-Request-Id", "door-req-1")
        self.assertFails(400, "CBC.0100", invoker.invoke, code_name="id_reused")

    def test_operations_not_served_answer_404_cbc_0100(self):
        d1 = self.client("partner:D1")
        error = self.assertFails(404, "CBC.0100", d1.list_stored_value_cards, ListStoredValueCardsRequest(status=1))
        self.assertIn("not served by partner-ledger", error.error_msg)
        c1 = self.client("customer:C1")
        renew = RenewalResourcesRequest(body=RenewalResourcesReq(resource_ids=["R1"], period_type=2, period_num=1))
        self.assertFails(404, "CBC.0100", c1.renewal_resources, renew)

    def test_the_json_lines_door_takes_the_keys_actor_and_refuses_another(self):
        answers = self.server.commands("partner:D1", [
            {"op": "allocate", "id": "door-line-1", "to": "customer:C1", "amount": "4.44"},
            {"op": "allocate", "id": "door-line-2", "actor": "partner:P1", "to": "customer:C4", "amount": "4.44"},
            {"op": "allocate", "id": "door-line-1", "to": "customer:C1", "amount": "4.44"},
        ])
        self.assertEqual([answer["ok"] for answer in answers], [True, False, True])
        self.assertEqual(answers[1]["error"]["code"], "access_denied")
        self.assertTrue(answers[2]["duplicate"])

    def test_health_answers_without_a_signature(self):
        import requests
        health = requests.get(f"{self.server.endpoint}/v1/health", verify=self.server.config().ssl_ca_cert or True, timeout=10)
        self.assertEqual(health.status_code, 200)
        self.assertEqual(health.json()["status"], "ok")
