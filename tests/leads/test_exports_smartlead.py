"""Smartlead push: lead_list limit, 10 requests per 2 seconds (fake clock), 429 retry,
added/skipped counters, and the query-string key kept out of logs and errors."""
import json
import logging

import pytest
from werkzeug import Response

from leads.exports import smartlead
from leads.models import Export, Lead, LeadDelivery, LeadStatus
from leads.services.exports import export_create, export_run
from tests.leads.exports_support import FakeClock, approved_leads, set_credentials

KEY = "sl-secret-key-456"


@pytest.fixture
def smartlead_server(httpserver, settings):
    settings.SMARTLEAD_BASE_URL = httpserver.url_for("/").rstrip("/")
    set_credentials(smartlead_api_key=KEY)
    return httpserver


def added(skip: int = 0, times: list | None = None, clock: FakeClock | None = None):
    def handler(request):
        if times is not None:
            times.append(clock.now)
        count = len(request.get_json()["lead_list"])
        return Response(json.dumps({
            "ok": True, "upload_count": count - skip, "total_leads": count, "already_added_to_campaign": skip,
            "duplicate_count": 0, "invalid_email_count": 0, "unsubscribed_leads": [],
        }), content_type="application/json")
    return handler


def push(clock=None, **kwargs) -> Export:
    export = export_create(format="smartlead", destination="42", **kwargs)
    return export_run(export_id=export.pk, clock=clock or FakeClock())


def test_push_sends_lead_list_and_settings_with_key_in_query(in_tenant_a, smartlead_server):
    approved_leads(2, title="VP Sales", city="Berlin", country="Germany", custom_fields={"tier": "A"})
    smartlead_server.expect_request("/api/v1/campaigns/42/leads", method="POST", query_string={"api_key": KEY}
                                    ).respond_with_handler(added(skip=1))
    export = push()
    body = smartlead_server.log[0][0].get_json()
    assert body["settings"] == {"ignore_global_block_list": False, "ignore_unsubscribe_list": False,
                                "ignore_duplicate_leads_in_other_campaign": False}
    first = body["lead_list"][0]
    assert first["location"] == "Berlin, Germany" and first["custom_fields"] == {"tier": "A", "job_title": "VP Sales"}
    assert set(first) >= {"email", "first_name", "last_name", "company_name"}
    assert (export.status, export.sent_count) == ("done", 2)
    assert (export.details["smartlead_added"], export.details["smartlead_skipped"]) == (1, 1)
    assert Lead.objects.filter(status=LeadStatus.EXPORTED, export_destination="smartlead:42").count() == 2


def test_lead_list_holds_at_most_400(in_tenant_a, smartlead_server):
    approved_leads(401)
    smartlead_server.expect_request("/api/v1/campaigns/42/leads").respond_with_handler(added())
    push()
    assert [len(req.get_json()["lead_list"]) for req, _ in smartlead_server.log] == [400, 1]


def test_never_more_than_10_requests_in_2_seconds(in_tenant_a, smartlead_server, monkeypatch):
    monkeypatch.setattr(smartlead, "MAX_LEADS_PER_REQUEST", 1)
    approved_leads(25)
    clock, times = FakeClock(), []
    smartlead_server.expect_request("/api/v1/campaigns/42/leads").respond_with_handler(added(times=times, clock=clock))
    export = push(clock=clock)
    assert export.sent_count == 25 and len(times) == 25
    for i in range(len(times) - 10):
        assert times[i + 10] - times[i] >= 2.0  # the 11th request comes 2 s after the 1st
    assert clock.now - 1000.0 >= 4.0 and clock.sleeps  # waited on the fake clock, not for real


def test_429_waits_and_retries(in_tenant_a, smartlead_server):
    approved_leads(1)
    clock = FakeClock()
    smartlead_server.expect_ordered_request("/api/v1/campaigns/42/leads").respond_with_response(
        Response('{"message": "Rate limit exceeded"}', status=429, headers={"Retry-After": "3"}))
    smartlead_server.expect_ordered_request("/api/v1/campaigns/42/leads").respond_with_handler(added())
    export = push(clock=clock)
    assert export.status == "done" and export.sent_count == 1
    assert 3.0 in clock.sleeps and len(smartlead_server.log) == 2


def test_failure_after_a_chunk_keeps_what_was_sent(in_tenant_a, smartlead_server, monkeypatch, settings):
    settings.EXPORT_CHUNK_SIZE = 2
    monkeypatch.setattr(smartlead, "MAX_LEADS_PER_REQUEST", 2)
    approved_leads(4)
    smartlead_server.expect_ordered_request("/api/v1/campaigns/42/leads").respond_with_handler(added())
    smartlead_server.expect_ordered_request("/api/v1/campaigns/42/leads").respond_with_data("boom", status=500)
    export = push()
    assert export.status == "failed" and export.sent_count == 2
    assert Lead.objects.filter(status=LeadStatus.EXPORTED).count() == 2 and LeadDelivery.objects.count() == 2
    # A new run sends only the two that did not go.
    smartlead_server.clear_all_handlers()
    smartlead_server.clear_log()
    smartlead_server.expect_request("/api/v1/campaigns/42/leads").respond_with_handler(added())
    retry = push(filters={"status": ["approved", "exported"]})
    assert (retry.sent_count, retry.skipped_count) == (2, 2)


def test_key_is_scrubbed_from_errors_and_logs(in_tenant_a, smartlead_server, caplog):
    approved_leads(1)
    smartlead_server.expect_request("/api/v1/campaigns/42/leads").respond_with_data(
        f"invalid request for api_key={KEY}", status=400)
    with caplog.at_level(logging.DEBUG):
        export = push()
    assert export.status == "failed" and "Smartlead answered 400" in export.error_message
    assert KEY not in export.error_message
    # The local test server (werkzeug) logs its own access lines: only ours count.
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
    assert "/api/v1/campaigns/42/leads" in ours  # urllib3 did log the request line ...
    assert KEY not in ours  # ... without the key


def test_unreachable_server_error_has_no_key(in_tenant_a, settings):
    set_credentials(smartlead_api_key=KEY)
    settings.SMARTLEAD_BASE_URL = "http://127.0.0.1:9"  # discard port: connection refused
    approved_leads(1)
    export = push()
    assert export.status == "failed" and "could not be reached" in export.error_message
    assert KEY not in export.error_message
