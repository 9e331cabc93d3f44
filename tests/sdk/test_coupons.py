"""Coupons and quotas: quota listings, issuing and reclaiming quotas to resellers, their records,
issuing, reclaiming and listing coupons, the coupons usable for an order, and coupon records."""
import re
from decimal import Decimal

from huaweicloudsdkbss.v2 import *

from harness import SdkTestCase

LONG = {"valid_from": "2026-01-01T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"}

HEX32 = re.compile(r"^[0-9a-f]{32}$")


class CouponsTest(SdkTestCase):
    EXTRA_SEED = [
        {"op": "issue_quota", "id": "cq-1", "actor": "platform", "quota": "Q1", "partner": "D1", "kind": "voucher", "amount": "1000", **LONG},
        {"op": "issue_quota", "id": "cq-2", "actor": "platform", "quota": "QC", "partner": "D1", "kind": "cash_coupon", "amount": "500", **LONG},
        {"op": "issue_quota", "id": "cq-3", "actor": "platform", "quota": "QX", "partner": "D1", "kind": "voucher", "amount": "70",
         "valid_from": "2025-01-01T00:00:00Z", "valid_until": "2026-03-01T00:00:00Z"},
        {"op": "issue_quota", "id": "cq-4", "actor": "platform", "quota": "QP", "partner": "P1", "kind": "voucher", "amount": "300", **LONG},
        {"op": "issue_quota", "id": "cq-5", "actor": "partner:D1", "quota": "Q2", "partner": "R1", "kind": "voucher", "amount": "200", "from_quota": "Q1",
         "at": "2026-01-06T00:00:00Z"},
        {"op": "issue_coupon", "id": "cq-6", "actor": "partner:D1", "coupon": "K1", "quota": "Q1", "customer": "C1", "face_value": "50", "services": ["ecs"],
         "at": "2026-01-07T00:00:00Z"},
        {"op": "issue_coupon", "id": "cq-7", "actor": "partner:R1", "coupon": "K3", "quota": "Q2", "customer": "C3", "face_value": "20", "at": "2026-01-07T00:00:00Z"},
        {"op": "place_order", "id": "cq-8", "actor": "customer:C1", "order": "OE", "customer": "C1", "amount": "80", "kind": "new", "service": "ecs",
         "at": "2026-01-08T00:00:00Z"},
        {"op": "place_order", "id": "cq-9", "actor": "customer:C1", "order": "OR", "customer": "C1", "amount": "90", "kind": "new", "service": "rds",
         "at": "2026-01-08T00:00:00Z"},
    ]

    def quota(self, actor, quota):
        rows = self.server.commands(actor, [{"op": "quotas", "limit": 100}])[0]["result"]["quotas"]
        return next(row for row in rows if row["quota"] == quota)

    # list_quota_coupons

    def test_list_quota_coupons_shows_own_quotas_of_the_type_with_types(self):
        d1 = self.client("partner:D1")
        answer = d1.list_quota_coupons(ListQuotaCouponsRequest(body=QueryCouponQuotasReqExt(quota_ids=["Q1", "QX", "QC", "Q2"])))
        # quota_type defaults to 0 (vouchers); Q2 is R1's, not D1's own.
        self.assertEqual(answer.total_count, 2)
        self.assertEqual([quota.quota_id for quota in answer.quotas], ["Q1", "QX"])
        q1, qx = answer.quotas
        self.assertEqual(q1.quota_type, 0)
        self.assertIsInstance(q1.quota_value, Decimal)
        self.assertEqual(q1.quota_value, Decimal("1000.00"))
        self.assertIsInstance(q1.balance, Decimal)
        self.assertEqual(q1.quota_status, 0)
        self.assertEqual(q1.create_time, "2026-01-05T00:00:00Z")
        self.assertEqual(q1.effective_time, "2026-01-01T00:00:00Z")
        self.assertEqual(q1.expire_time, "2030-01-01T00:00:00Z")
        self.assertEqual((q1.measure_id, q1.currency), (1, "CNY"))
        self.assertEqual(qx.quota_status, 3)
        self.assertEqual(qx.balance, Decimal("70.00"))

    def test_list_quota_coupons_filters_type_and_status(self):
        d1 = self.client("partner:D1")
        cash = d1.list_quota_coupons(ListQuotaCouponsRequest(body=QueryCouponQuotasReqExt(quota_type=1)))
        self.assertEqual([quota.quota_id for quota in cash.quotas], ["QC"])
        self.assertEqual(cash.quotas[0].quota_type, 1)
        expired = d1.list_quota_coupons(ListQuotaCouponsRequest(body=QueryCouponQuotasReqExt(quota_status_list=[3], limit=5)))
        self.assertEqual([quota.quota_id for quota in expired.quotas], ["QX"])
        reseller = d1.list_quota_coupons(ListQuotaCouponsRequest(body=QueryCouponQuotasReqExt(indirect_partner_id="R1", quota_ids=["Q2"])))
        self.assertEqual([quota.quota_id for quota in reseller.quotas], ["Q2"])
        created = d1.list_quota_coupons(ListQuotaCouponsRequest(body=QueryCouponQuotasReqExt(create_time_begin="2026-01-05T00:00:00Z",
                                                                                             create_time_end="2026-01-05T00:00:00Z")))
        self.assertEqual([quota.quota_id for quota in created.quotas], ["Q1", "QX"])
        effective = d1.list_quota_coupons(ListQuotaCouponsRequest(body=QueryCouponQuotasReqExt(effective_time_begin="2025-06-01T00:00:00Z")))
        self.assertEqual([quota.quota_id for quota in effective.quotas], ["Q1"])
        paged = d1.list_quota_coupons(ListQuotaCouponsRequest(body=QueryCouponQuotasReqExt(offset=1, limit=1)))
        self.assertEqual((paged.total_count, [quota.quota_id for quota in paged.quotas]), (2, ["QX"]))

    def test_list_quota_coupons_of_another_partner_is_access_denied(self):
        d1 = self.client("partner:D1")
        request = ListQuotaCouponsRequest(body=QueryCouponQuotasReqExt(indirect_partner_id="P1"))
        self.assertFails(403, "CBC.0151", d1.list_quota_coupons, request, code_name="access_denied")

    # list_issued_coupon_quotas

    def test_list_issued_coupon_quotas_shows_the_resellers_quota(self):
        d1 = self.client("partner:D1")
        answer = d1.list_issued_coupon_quotas(ListIssuedCouponQuotasRequest(quota_id="Q2"))
        self.assertEqual(answer.total_count, 1)
        q2 = answer.quotas[0]
        self.assertEqual((q2.quota_id, q2.indirect_partner_id, q2.parent_quota_id, q2.quota_type, q2.quota_status), ("Q2", "R1", "Q1", 0, 0))
        self.assertIsInstance(q2.quota_value, Decimal)
        self.assertEqual(q2.quota_value, Decimal("200.00"))
        self.assertEqual(q2.create_time, "2026-01-06T00:00:00Z")
        self.assertIsInstance(q2.last_update_time, str)
        # A reseller issued nothing; D1's own quotas are not "issued".
        self.assertEqual(self.client("partner:R1").list_issued_coupon_quotas(ListIssuedCouponQuotasRequest()).total_count, 0)
        own = d1.list_issued_coupon_quotas(ListIssuedCouponQuotasRequest(parent_quota_id="QC"))
        self.assertEqual(own.quotas, [])

    def test_list_issued_coupon_quotas_of_a_foreign_reseller_is_access_denied(self):
        p1 = self.client("partner:P1")
        request = ListIssuedCouponQuotasRequest(indirect_partner_id="R1")
        self.assertFails(403, "CBC.0151", p1.list_issued_coupon_quotas, request, code_name="access_denied")

    # update_coupon_quotas

    def test_update_coupon_quotas_issues_per_reseller_and_fails_items_one_by_one(self):
        d1 = self.client("partner:D1")
        before = Decimal(self.quota("partner:D1", "Q1")["balance"])
        request = UpdateCouponQuotasRequest(body=AdjustCouponQuotasReq(quota_id="Q1", indirect_partner_ids=["R1", "P1"], quota_amount=Decimal("10.25")))
        answer = d1.update_coupon_quotas_invoker(request).add_header("X-Client-Request-Id", "cq-update-1").invoke()
        self.assertEqual([info.id for info in answer.simple_quota_infos], ["R1"])
        new_quota = answer.simple_quota_infos[0].quota_id
        self.assertRegex(new_quota, HEX32)
        self.assertEqual(len(answer.error_details), 1)
        self.assertEqual(answer.error_details[0].id, "P1")
        self.assertEqual(answer.error_details[0].error_code, "CBC.99000037")
        self.assertTrue(answer.error_details[0].error_msg.startswith("not_your_reseller:"))
        issued = self.quota("partner:D1", new_quota)
        self.assertEqual((issued["partner"], issued["kind"], issued["balance"], issued["parent_quota"]), ("R1", "voucher", "10.25", "Q1"))
        # The same request id again is a duplicate: the same quota, nothing issued twice.
        again = d1.update_coupon_quotas_invoker(request).add_header("X-Client-Request-Id", "cq-update-1").invoke()
        self.assertEqual(again.simple_quota_infos[0].quota_id, new_quota)
        self.assertEqual(Decimal(self.quota("partner:D1", "Q1")["balance"]), before - Decimal("10.25"))

    def test_update_coupon_quotas_without_resellers_is_invalid_request(self):
        d1 = self.client("partner:D1")
        request = UpdateCouponQuotasRequest(body=AdjustCouponQuotasReq(quota_id="Q1", indirect_partner_ids=[], quota_amount=Decimal("3")))
        self.assertFails(400, "CBC.0100", d1.update_coupon_quotas, request, code_name="invalid_request")

    def test_update_coupon_quotas_beyond_the_parent_balance_is_quota_insufficient(self):
        d1 = self.client("partner:D1")
        request = UpdateCouponQuotasRequest(body=AdjustCouponQuotasReq(quota_id="Q1", indirect_partner_ids=["R1"], quota_amount=Decimal("999999")))
        answer = d1.update_coupon_quotas(request)
        self.assertEqual(answer.simple_quota_infos, [])
        self.assertEqual([(detail.id, detail.error_code) for detail in answer.error_details], [("R1", "CBC.99000013")])

    # reclaim_coupon_quotas

    def test_reclaim_coupon_quotas_reclaims_each_and_reports_the_unknown(self):
        lines = self.server.commands("partner:D1", [{"op": "issue_quota", "id": "cq-r-1", "quota": "QR1", "partner": "R1", "kind": "voucher",
                                                      "amount": "30", "from_quota": "Q1"}])
        self.assertTrue(lines[0]["ok"], lines)
        d1 = self.client("partner:D1")
        answer = d1.reclaim_coupon_quotas(ReclaimCouponQuotasRequest(body=ReclaimCouponQuotasReq(quota_ids=["QR1", "NOPE"], remark="end of campaign")))
        self.assertEqual([info.quota_id for info in answer.simple_quota_infos], ["QR1"])
        self.assertIsInstance(answer.simple_quota_infos[0].quota_balance, Decimal)
        self.assertEqual(answer.simple_quota_infos[0].quota_balance, Decimal("0.00"))
        self.assertEqual([(detail.id, detail.error_code) for detail in answer.error_details], [("NOPE", "CBC.0100")])
        self.assertTrue(answer.error_details[0].error_msg.startswith("not_found:"))
        self.assertEqual(self.quota("partner:D1", "QR1")["status"], "reclaimed")
        listed = d1.list_issued_coupon_quotas(ListIssuedCouponQuotasRequest(quota_id="QR1"))
        self.assertEqual(listed.quotas[0].quota_status, 6)

    def test_reclaim_coupon_quotas_without_ids_is_invalid_request(self):
        d1 = self.client("partner:D1")
        request = ReclaimCouponQuotasRequest(body=ReclaimCouponQuotasReq(quota_ids=[]))
        self.assertFails(400, "CBC.0100", d1.reclaim_coupon_quotas, request, code_name="invalid_request")

    # list_coupon_quotas_records

    def test_list_coupon_quotas_records_shows_the_issue_to_the_reseller(self):
        d1 = self.client("partner:D1")
        answer = d1.list_coupon_quotas_records(ListCouponQuotasRecordsRequest(quota_id="Q2"))
        self.assertEqual(answer.total_count, 1)
        record = answer.records[0]
        self.assertEqual((record.operation_type, record.quota_id, record.parent_quota_id, record.indirect_partner_id, record.result),
                         ("10", "Q2", "Q1", "R1", "0"))
        self.assertIsInstance(record.amount, Decimal)
        self.assertEqual(record.amount, Decimal("200.00"))
        self.assertEqual(record.operation_time, "2026-01-06T00:00:00Z")
        self.assertEqual(record.id, "cq-5:Q2")
        reclaims = d1.list_coupon_quotas_records(ListCouponQuotasRecordsRequest(quota_id="Q2", operation_type="11"))
        self.assertEqual(reclaims.total_count, 0)

    def test_list_coupon_quotas_records_of_a_foreign_reseller_is_access_denied(self):
        p1 = self.client("partner:P1")
        request = ListCouponQuotasRecordsRequest(indirect_partner_id="R1")
        self.assertFails(403, "CBC.0151", p1.list_coupon_quotas_records, request, code_name="access_denied")

    # create_partner_coupons

    def test_create_partner_coupons_issues_per_customer_and_fails_items_one_by_one(self):
        d1 = self.client("partner:D1")
        body = CreatePartnerCouponsReq(quota_id="Q1", customer_ids=["C1", "C2"], face_value=Decimal("12.34"), cloud_service_types=["obs"],
                                       expire_time="2029-01-01T00:00:00Z")
        answer = d1.create_partner_coupons(CreatePartnerCouponsRequest(body=body))
        self.assertEqual([info.id for info in answer.coupon_infos], ["C1"])
        coupon = answer.coupon_infos[0].coupon_id
        self.assertRegex(coupon, HEX32)
        self.assertEqual([(detail.id, detail.error_code) for detail in answer.error_details], [("C2", "CBC.99000014")])
        self.assertTrue(answer.error_details[0].error_msg.startswith("not_resale_customer:"))
        rows = self.server.commands("customer:C1", [{"op": "coupons", "customer": "C1", "limit": 100}])[0]["result"]["coupons"]
        row = next(row for row in rows if row["coupon"] == coupon)
        self.assertEqual((row["face_value"], row["services"], row["valid_until"], row["quota"]), ("12.34", ["obs"], "2029-01-01T00:00:00Z", "Q1"))

    def test_create_partner_coupons_limited_to_products_is_invalid_request(self):
        d1 = self.client("partner:D1")
        body = CreatePartnerCouponsReq(quota_id="Q1", customer_ids=["C1"], face_value=Decimal("5"), product_ids=["p-1"])
        self.assertFails(400, "CBC.0100", d1.create_partner_coupons, CreatePartnerCouponsRequest(body=body), code_name="invalid_request")

    def test_create_partner_coupons_from_another_partners_quota_fails_the_item(self):
        d1 = self.client("partner:D1")
        body = CreatePartnerCouponsReq(quota_id="QP", customer_ids=["C4"], face_value=Decimal("1.5"))
        answer = d1.create_partner_coupons(CreatePartnerCouponsRequest(body=body))
        self.assertEqual(answer.coupon_infos, [])
        self.assertEqual([(detail.id, detail.error_code) for detail in answer.error_details], [("C4", "CBC.0151")])

    # reclaim_partner_coupons

    def test_reclaim_partner_coupons_returns_the_value_and_a_second_reclaim_fails(self):
        lines = self.server.commands("partner:D1", [{"op": "issue_coupon", "id": "cq-k-1", "coupon": "KR", "quota": "Q1", "customer": "C1",
                                                      "face_value": "7.77"}])
        self.assertTrue(lines[0]["ok"], lines)
        d1 = self.client("partner:D1")
        before = Decimal(self.quota("partner:D1", "Q1")["balance"])
        answer = d1.reclaim_partner_coupons(ReclaimPartnerCouponsRequest(body=ReclaimPartnerCouponsReq(coupon_id="KR")))
        self.assertIsInstance(answer, ReclaimPartnerCouponsResponse)
        self.assertEqual(answer.status_code, 200)
        self.assertEqual(Decimal(self.quota("partner:D1", "Q1")["balance"]), before + Decimal("7.77"))
        listed = d1.list_issued_partner_coupons(ListIssuedPartnerCouponsRequest(coupon_id="KR"))
        self.assertEqual((listed.user_coupons[0].status, listed.user_coupons[0].balance), (5, Decimal("0.00")))
        records = d1.list_partner_coupons_record(ListPartnerCouponsRecordRequest(coupon_ids=["KR"]))
        self.assertEqual([(record.operation_type, record.operation_amount) for record in records.records],
                         [("1", Decimal("7.77")), ("2", Decimal("7.77"))])
        # Byte-identical within one second would be a duplicate: a second reclaim names its own request id.
        second = d1.reclaim_partner_coupons_invoker(ReclaimPartnerCouponsRequest(body=ReclaimPartnerCouponsReq(coupon_id="KR")))
        second.add_header("X-Client-Request-Id", "cq-reclaim-again")
        self.assertFails(400, "CBC.99003112", second.invoke, code_name="coupon_not_reclaimable")

    def test_reclaim_partner_coupons_of_an_unknown_coupon_is_not_found(self):
        d1 = self.client("partner:D1")
        request = ReclaimPartnerCouponsRequest(body=ReclaimPartnerCouponsReq(coupon_id="NO_SUCH_COUPON"))
        self.assertFails(400, "CBC.0100", d1.reclaim_partner_coupons, request, code_name="not_found")

    # list_issued_partner_coupons

    def test_list_issued_partner_coupons_shows_the_coupon_with_types(self):
        d1 = self.client("partner:D1")
        answer = d1.list_issued_partner_coupons(ListIssuedPartnerCouponsRequest(coupon_id="K1"))
        self.assertEqual(answer.total_count, 1)
        k1 = answer.user_coupons[0]
        self.assertEqual((k1.coupon_id, k1.customer_id, k1.status, k1.coupon_type, k1.measure_id, k1.is_frozen), ("K1", "C1", 2, 1, 1, "0"))
        self.assertIsInstance(k1.face_value, Decimal)
        self.assertEqual(k1.face_value, Decimal("50.00"))
        self.assertIsInstance(k1.balance, Decimal)
        self.assertEqual(k1.balance, Decimal("50.00"))
        self.assertEqual(k1.create_time, "2026-01-07T00:00:00Z")
        self.assertEqual((k1.effective_time, k1.expire_time), ("2026-01-01T00:00:00Z", "2030-01-01T00:00:00Z"))
        self.assertEqual([(limit.limit_key, limit.value1) for limit in k1.use_limits], [("cloud_service_types", "ecs")])
        self.assertIsNone(k1.last_used_time)
        # D1's own listing leaves out R1's coupons; indirect_partner_id shows them.
        self.assertNotIn("K3", [coupon.coupon_id for coupon in d1.list_issued_partner_coupons(ListIssuedPartnerCouponsRequest(limit=100)).user_coupons])
        r1 = d1.list_issued_partner_coupons(ListIssuedPartnerCouponsRequest(indirect_partner_id="R1"))
        self.assertEqual([coupon.coupon_id for coupon in r1.user_coupons], ["K3"])
        created = d1.list_issued_partner_coupons(ListIssuedPartnerCouponsRequest(create_time_begin="2026-01-07T00:00:00Z",
                                                                                 create_time_end="2026-01-07T00:00:00Z"))
        self.assertEqual([coupon.coupon_id for coupon in created.user_coupons], ["K1"])

    def test_list_issued_partner_coupons_by_order_is_invalid_request(self):
        d1 = self.client("partner:D1")
        request = ListIssuedPartnerCouponsRequest(order_id="OE")
        self.assertFails(400, "CBC.0100", d1.list_issued_partner_coupons, request, code_name="invalid_request")

    def test_list_issued_partner_coupons_of_a_referral_customer_is_access_denied(self):
        d1 = self.client("partner:D1")
        request = ListIssuedPartnerCouponsRequest(customer_id="C2")
        self.assertFails(403, "CBC.0151", d1.list_issued_partner_coupons, request, code_name="access_denied")

    # list_sub_customer_coupons

    def test_list_sub_customer_coupons_for_the_customer_and_the_partner(self):
        c1 = self.client("customer:C1")
        answer = c1.list_sub_customer_coupons(ListSubCustomerCouponsRequest(coupon_id="K1"))
        self.assertIsInstance(answer.count, int)
        self.assertEqual(answer.count, 1)
        k1 = answer.user_coupons[0]
        self.assertEqual((k1.coupon_id, k1.customer_id, k1.status, k1.coupon_type, k1.coupon_version, k1.currency), ("K1", "C1", 2, 1, 2, "CNY"))
        self.assertIsInstance(k1.face_value, float)
        self.assertEqual(k1.face_value, 50.0)
        self.assertIsInstance(k1.balance, float)
        self.assertEqual(k1.valid_time, "2026-01-01T00:00:00Z")
        self.assertIsNone(k1.source_id)
        d1 = self.client("partner:D1")
        by_source = d1.list_sub_customer_coupons(ListSubCustomerCouponsRequest(source_id="D1", coupon_id="K1"))
        self.assertEqual([(coupon.coupon_id, coupon.source_id) for coupon in by_source.user_coupons], [("K1", "D1")])
        self.assertEqual(d1.list_sub_customer_coupons(ListSubCustomerCouponsRequest(source_id="R1", coupon_id="K1")).count, 0)
        self.assertEqual(c1.list_sub_customer_coupons(ListSubCustomerCouponsRequest(promotion_plan_id="plan-1")).count, 0)
        self.assertEqual(c1.list_sub_customer_coupons(ListSubCustomerCouponsRequest(coupon_id="K1", status=5)).count, 0)

    def test_list_sub_customer_coupons_by_source_for_a_customer_is_invalid_request(self):
        c1 = self.client("customer:C1")
        request = ListSubCustomerCouponsRequest(source_id="D1")
        self.assertFails(400, "CBC.0100", c1.list_sub_customer_coupons, request, code_name="invalid_request")

    # list_order_coupons_by_order_id

    def test_list_order_coupons_by_order_id_lists_the_coupons_that_may_pay(self):
        c1 = self.client("customer:C1")
        ecs = c1.list_order_coupons_by_order_id(ListOrderCouponsByOrderIdRequest(order_id="OE"))
        self.assertIsInstance(ecs.count, int)
        self.assertIn("K1", [coupon.coupon_id for coupon in ecs.user_coupons])
        self.assertEqual(ecs.count, len(ecs.user_coupons))
        k1 = next(coupon for coupon in ecs.user_coupons if coupon.coupon_id == "K1")
        self.assertEqual((k1.status, k1.coupon_type, k1.coupon_group, k1.coupon_version), (2, 1, 0, 2))
        self.assertIsInstance(k1.face_value, float)
        self.assertEqual(k1.balance, 50.0)
        rds = c1.list_order_coupons_by_order_id(ListOrderCouponsByOrderIdRequest(order_id="OR"))
        self.assertNotIn("K1", [coupon.coupon_id for coupon in rds.user_coupons])
        self.assertTrue(all(coupon.status == 2 for coupon in rds.user_coupons))

    def test_list_order_coupons_by_order_id_of_an_unknown_order_is_not_found(self):
        c1 = self.client("customer:C1")
        request = ListOrderCouponsByOrderIdRequest(order_id="NO_SUCH_ORDER")
        self.assertFails(400, "CBC.0100", c1.list_order_coupons_by_order_id, request, code_name="not_found")

    # list_partner_coupons_record

    def test_list_partner_coupons_record_shows_the_issue(self):
        d1 = self.client("partner:D1")
        answer = d1.list_partner_coupons_record(ListPartnerCouponsRecordRequest(coupon_ids=["K1"], operation_types=["1", "2"]))
        self.assertEqual(answer.total_count, 1)
        record = answer.records[0]
        self.assertEqual((record.id, record.operation_type, record.quota_id, record.quota_type, record.coupon_id, record.customer_id, record.result),
                         ("cq-6:K1", "1", "Q1", 0, "K1", "C1", "0"))
        self.assertIsInstance(record.operation_amount, Decimal)
        self.assertEqual(record.operation_amount, Decimal("50.00"))
        self.assertEqual(record.operation_time, "2026-01-07T00:00:00Z")
        self.assertEqual(d1.list_partner_coupons_record(ListPartnerCouponsRecordRequest(coupon_ids=["K1"], operation_types=["4"])).total_count, 0)
        self.assertEqual(d1.list_partner_coupons_record(ListPartnerCouponsRecordRequest(coupon_ids=["K1"], result="-1")).total_count, 0)
        reseller = d1.list_partner_coupons_record(ListPartnerCouponsRecordRequest(indirect_partner_id="R1"))
        self.assertEqual([record.coupon_id for record in reseller.records], ["K3"])

    def test_list_partner_coupons_record_of_a_foreign_reseller_is_access_denied(self):
        p1 = self.client("partner:P1")
        request = ListPartnerCouponsRecordRequest(indirect_partner_id="R1")
        self.assertFails(403, "CBC.0151", p1.list_partner_coupons_record, request, code_name="access_denied")

    def test_a_finance_operator_lists_its_partners_quotas(self):
        operator = self.client("operator:D1_FIN")
        answer = operator.list_quota_coupons(ListQuotaCouponsRequest(body=QueryCouponQuotasReqExt(quota_ids=["Q1", "Q2"])))
        self.assertEqual([quota.quota_id for quota in answer.quotas], ["Q1"])
