"""Instantly API v2 push against a local server speaking its documented shapes."""
import json

import pytest
from werkzeug import Response

from leads.exports import instantly
from leads.models import ExportIssue, Lead, LeadDelivery, LeadStatus
from leads.services.exports import export_create, export_run
from tests.factories import make_lead
from tests.leads.exports_support import approved_leads, set_credentials

KEY = "inst-secret-key-123"


@pytest.fixture
def instantly_server(httpserver, settings):
    settings.INSTANTLY_BASE_URL = httpserver.url_for("/").rstrip("/")
    return httpserver


def answer_creating_all_but(skip_emails=()):
    """Instantly's bulk-add answer: created_leads lists what it added, by request index."""
    def handler(request):
        body = request.get_json()
        created = [{"id": f"lead-{i}", "index": i, "email": lead["email"]}
                   for i, lead in enumerate(body["leads"]) if lead["email"] not in skip_emails]
        return Response(json.dumps({
            "status": "success", "total_sent": len(body["leads"]), "leads_uploaded": len(created),
            "skipped_count": len(body["leads"]) - len(created), "in_blocklist": 0, "invalid_email_count": 0,
            "duplicated_leads": 0, "remaining_in_plan": 5000, "created_leads": created,
        }), content_type="application/json")
    return handler


def push(**kwargs):
    export = export_create(format="instantly", destination="camp-1", **kwargs)
    return export_run(export_id=export.pk)


def test_push_sends_documented_body_and_bearer_key(in_tenant_a, instantly_server):
    set_credentials(instantly_api_key=KEY)
    make_lead(status="approved", email="ann@acme.com", first_name="Ann", last_name="Lee", company="Acme",
              title="CTO", phone="+14155550100", custom_fields={"personalization": "Hi Ann", "tier": 1})
    instantly_server.expect_request("/api/v2/leads/add", method="POST", headers={"Authorization": f"Bearer {KEY}"}
                                    ).respond_with_handler(answer_creating_all_but())
    export = push()
    body = instantly_server.log[0][0].get_json()
    assert body["campaign_id"] == "camp-1" and body["skip_if_in_workspace"] is True
    assert body["leads"] == [{"email": "ann@acme.com", "first_name": "Ann", "last_name": "Lee", "company_name": "Acme",
                              "phone": "+14155550100", "personalization": "Hi Ann",
                              "custom_variables": {"tier": 1, "job_title": "CTO"}}]
    assert (export.status, export.sent_count) == ("done", 1)
    lead = Lead.objects.get()
    assert (lead.status, lead.export_destination) == (LeadStatus.EXPORTED, "instantly:camp-1")
    assert LeadDelivery.objects.get().remote_id == "lead-0"


def test_leads_instantly_skips_are_recorded_and_not_marked(in_tenant_a, instantly_server):
    set_credentials(instantly_api_key=KEY)
    make_lead(status="approved", email="new@x.com")
    known = make_lead(status="approved", email="known@x.com")
    instantly_server.expect_request("/api/v2/leads/add").respond_with_handler(answer_creating_all_but({"known@x.com"}))
    export = push()
    assert (export.sent_count, export.skipped_count) == (1, 1)
    assert export.details["instantly_skipped_count"] == 1
    issue = ExportIssue.objects.get(export=export)
    assert (issue.lead_id, issue.email, issue.outcome) == (known.pk, "known@x.com", "skipped")
    assert "skipped by Instantly" in issue.reason
    known.refresh_from_db()
    assert known.status == LeadStatus.APPROVED


def test_large_exports_are_chunked(in_tenant_a, instantly_server, monkeypatch):
    set_credentials(instantly_api_key=KEY)
    monkeypatch.setattr(instantly, "MAX_LEADS_PER_REQUEST", 2)
    approved_leads(5)
    instantly_server.expect_request("/api/v2/leads/add").respond_with_handler(answer_creating_all_but())
    export = push()
    assert [len(req.get_json()["leads"]) for req, _ in instantly_server.log] == [2, 2, 1]
    assert export.sent_count == 5


def test_second_push_to_same_campaign_sends_nothing(in_tenant_a, instantly_server):
    set_credentials(instantly_api_key=KEY)
    approved_leads(3)
    instantly_server.expect_request("/api/v2/leads/add").respond_with_handler(answer_creating_all_but())
    first = push()
    second = push(filters={"status": ["approved", "exported"]})
    assert len(instantly_server.log) == 1
    assert (first.sent_count, second.sent_count, second.skipped_count) == (3, 0, 3)


def test_refused_key_fails_the_export_and_marks_nothing(in_tenant_a, instantly_server):
    set_credentials(instantly_api_key=KEY)
    make_lead(status="approved")
    instantly_server.expect_request("/api/v2/leads/add").respond_with_json({"error": "Unauthorized"}, status=401)
    export = push()
    assert export.status == "failed" and "refused the API key" in export.error_message
    assert Lead.objects.get().status == LeadStatus.APPROVED and not LeadDelivery.objects.exists()


def test_missing_key_fails_with_a_clear_reason(in_tenant_a, instantly_server, settings):
    settings.INSTANTLY_API_KEY = ""
    set_credentials(instantly_api_key="")
    make_lead(status="approved")
    export = push()
    assert export.status == "failed" and "No Instantly API key" in export.error_message
    assert not instantly_server.log


def test_tenant_b_never_uses_tenant_a_credentials(tenant_a, tenant_b, instantly_server, settings):
    from django_tenants.utils import schema_context

    settings.INSTANTLY_API_KEY = ""
    with schema_context("tenant_a"):
        set_credentials(instantly_api_key=KEY)
    with schema_context("tenant_b"):
        make_lead(status="approved")
        export = push()
    assert export.status == "failed" and "No Instantly API key" in export.error_message
    assert not instantly_server.log


def test_a_run_abandoned_by_a_dead_worker_is_taken_over(in_tenant_a, instantly_server, settings):
    from datetime import timedelta

    from django.utils import timezone

    from leads.models import Export, ExportCandidate

    set_credentials(instantly_api_key=KEY)
    make_lead(status="approved")
    instantly_server.expect_request("/api/v2/leads/add").respond_with_handler(answer_creating_all_but())
    export = export_create(format="instantly", destination="camp-1")
    ExportCandidate.objects.create(export=export, lead_id=1)  # left over by the dead run
    Export.objects.filter(pk=export.pk).update(status="running", started_at=timezone.now() - timedelta(seconds=30))
    assert export_run(export_id=export.pk).status == "running"  # still fresh: not taken over
    Export.objects.filter(pk=export.pk).update(started_at=timezone.now() - timedelta(days=1))
    again = export_run(export_id=export.pk)
    assert (again.status, again.sent_count) == ("done", 1)
    assert not ExportCandidate.objects.exists()
