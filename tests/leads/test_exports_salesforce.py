"""Salesforce upsert through sObject Collections: OAuth token, 200 records a call,
per-record failures, token refresh on 401, required-field defaults."""
import json

import pytest
from werkzeug import Response

from leads.models import ExportIssue, Lead, LeadDelivery, LeadStatus
from leads.services.exports import export_create, export_run
from tests.factories import make_lead
from tests.leads.exports_support import approved_leads, set_credentials

UPSERT = "/services/data/v60.0/composite/sobjects/Lead/LeadHub_Id__c"
TOKEN = "/services/oauth2/token"


@pytest.fixture
def salesforce(httpserver):
    set_credentials(salesforce_instance_url="", salesforce_token_url=httpserver.url_for(TOKEN),
                    salesforce_client_id="cid", salesforce_client_secret="csecret-789",
                    salesforce_external_id_field="LeadHub_Id__c", salesforce_api_version="60.0")
    return httpserver


def token_answer(server, token):
    return {"access_token": token, "instance_url": server.url_for("/").rstrip("/"), "token_type": "Bearer",
            "issued_at": "1700000000000", "signature": "sig"}


def upsert_results(fail_emails=()):
    """One result per record, in order; a listed email fails with DUPLICATES_DETECTED."""
    def handler(request):
        results = []
        for i, record in enumerate(request.get_json()["records"]):
            if record.get("Email") in fail_emails:
                results.append({"success": False, "errors": [{
                    "statusCode": "DUPLICATES_DETECTED", "message": "Use one of these records?", "fields": []}]})
            else:
                results.append({"id": f"00Q{i:015d}", "success": True, "errors": [], "created": True})
        return Response(json.dumps(results), content_type="application/json")
    return handler


def push(**kwargs):
    export = export_create(format="salesforce", **kwargs)
    return export_run(export_id=export.pk)


def test_upsert_body_defaults_and_partial_failure(in_tenant_a, salesforce):
    salesforce.expect_request(TOKEN, method="POST").respond_with_json(token_answer(salesforce, "tok-1"))
    salesforce.expect_request(UPSERT, method="PATCH", headers={"Authorization": "Bearer tok-1"}
                              ).respond_with_handler(upsert_results(fail_emails={"dup@x.com"}))
    good = make_lead(status="approved", email="ok@x.com", first_name="Ann", last_name="", full_name="Ann Lee",
                     company="", title="CTO")
    dup = make_lead(status="approved", email="dup@x.com", last_name="", full_name="", company="Dup Inc")
    export = push()

    token_request = salesforce.log[0][0]
    assert token_request.form.to_dict() == {"grant_type": "client_credentials", "client_id": "cid", "client_secret": "csecret-789"}
    body = salesforce.log[1][0].get_json()
    assert body["allOrNone"] is False
    assert body["records"][0] == {"attributes": {"type": "Lead"}, "LeadHub_Id__c": str(good.pk), "FirstName": "Ann",
                                  "LastName": "Ann Lee", "Company": "[not provided]", "Title": "CTO", "Email": "ok@x.com"}
    assert body["records"][1]["LastName"] == "[not provided]" and body["records"][1]["Company"] == "Dup Inc"

    assert (export.status, export.sent_count, export.failed_count) == ("done", 1, 1)
    issue = ExportIssue.objects.get(export=export)
    assert (issue.lead_id, issue.outcome) == (dup.pk, "failed")
    assert issue.reason == "DUPLICATES_DETECTED: Use one of these records?"
    assert Lead.objects.get(pk=good.pk).status == LeadStatus.EXPORTED
    assert Lead.objects.get(pk=dup.pk).status == LeadStatus.APPROVED
    assert LeadDelivery.objects.get().remote_id == "00Q000000000000000"


def test_expired_token_is_refreshed_once_and_the_call_retried(in_tenant_a, salesforce):
    salesforce.expect_ordered_request(TOKEN).respond_with_json(token_answer(salesforce, "tok-old"))
    salesforce.expect_ordered_request(UPSERT, headers={"Authorization": "Bearer tok-old"}).respond_with_json(
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], status=401)
    salesforce.expect_ordered_request(TOKEN).respond_with_json(token_answer(salesforce, "tok-new"))
    salesforce.expect_ordered_request(UPSERT, headers={"Authorization": "Bearer tok-new"}
                                      ).respond_with_handler(upsert_results())
    make_lead(status="approved")
    export = push()
    assert (export.status, export.sent_count) == ("done", 1)
    assert len(salesforce.log) == 4


def test_at_most_200_records_a_call(in_tenant_a, salesforce):
    salesforce.expect_request(TOKEN).respond_with_json(token_answer(salesforce, "tok"))
    salesforce.expect_request(UPSERT).respond_with_handler(upsert_results())
    approved_leads(201)
    export = push()
    sizes = [len(req.get_json()["records"]) for req, _ in salesforce.log if req.method == "PATCH"]
    assert sizes == [200, 1] and export.sent_count == 201


def test_bad_credentials_fail_the_export(in_tenant_a, salesforce):
    salesforce.expect_request(TOKEN).respond_with_json(
        {"error": "invalid_client", "error_description": "invalid client credentials"}, status=400)
    make_lead(status="approved")
    export = push()
    assert export.status == "failed" and "refused the OAuth credentials" in export.error_message
    assert "csecret-789" not in export.error_message
    assert Lead.objects.get().status == LeadStatus.APPROVED
