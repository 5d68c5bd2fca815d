"""GET/PATCH /api/v1/leads and PUT /leads/{id}/review."""
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from leads.models import AuditEvent, Lead, LeadStatus
from tests.factories import make_lead
from tests.leads.conftest import session_api

pytestmark = pytest.mark.usefixtures("fresh_throttles")


@pytest.fixture
def leads_a(tenant_a):
    with schema_context("tenant_a"):
        Lead.objects.all().delete()
        return {
            "hot": make_lead(email="hot@acme.com", company="Acme", status=LeadStatus.PENDING_REVIEW, score=90,
                             source="web"),
            "cold": make_lead(email="cold@globex.com", company="Globex", status=LeadStatus.NEW, score=10,
                              source="csv"),
            "mid": make_lead(email="mid@initech.com", company="Initech", first_name="Milton",
                             status=LeadStatus.NORMALIZED, score=50, source="web"),
        }


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_list_filters_and_orders(api_a, leads_a):
    hot, cold, mid = leads_a["hot"].pk, leads_a["cold"].pk, leads_a["mid"].pk
    assert ids(api_a.get("/api/v1/leads")) == [mid, cold, hot]
    assert ids(api_a.get("/api/v1/leads?status=new,normalized")) == [mid, cold]
    assert ids(api_a.get("/api/v1/leads?status=new&status=pending_review")) == [cold, hot]
    assert ids(api_a.get("/api/v1/leads?source=web&ordering=-score")) == [hot, mid]
    assert ids(api_a.get("/api/v1/leads?score_min=40&score_max=60")) == [mid]
    assert ids(api_a.get("/api/v1/leads?q=milton")) == [mid]
    assert ids(api_a.get("/api/v1/leads?q=GLOBEX")) == [cold]
    assert ids(api_a.get("/api/v1/leads?ordering=score")) == [cold, mid, hot]
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert ids(api_a.client.get("/api/v1/leads", {"created_after": future})) == []
    assert len(ids(api_a.client.get("/api/v1/leads", {"created_before": future}))) == 3


def test_list_filter_by_batch(api_a, leads_a):
    batch_id = api_a.post("/api/v1/leads/batch", {"source": "b", "leads": [{"email": "inbatch@x.com"}]}).json()["batch"]
    rows = api_a.get(f"/api/v1/leads?batch={batch_id}").json()["results"]
    assert [r["email"] for r in rows] == ["inbatch@x.com"]


def test_bad_filter_value_is_a_400(api_a, leads_a):
    response = api_a.get("/api/v1/leads?status=nonsense")
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_page_size_is_capped(api_a, tenant_a):
    with schema_context("tenant_a"):
        Lead.objects.bulk_create([Lead(email=f"p{i}@x.com", source="page") for i in range(205)])
    body = api_a.get("/api/v1/leads?page_size=1000").json()
    assert len(body["results"]) == 200 and body["count"] >= 205 and body["next"]


def test_list_rows_have_the_documented_fields(api_a, leads_a):
    row = api_a.get("/api/v1/leads").json()["results"][0]
    for name in ("email", "custom_fields", "status", "score", "score_breakdown", "normalized", "duplicate_of",
                 "possible_duplicate_of", "verification", "enrichment", "error_stage", "error_message", "source",
                 "external_id", "batch", "created_at", "updated_at"):
        assert name in row


def test_detail_has_history_and_merged_duplicates(api_a, leads_a):
    hot = leads_a["hot"]
    with schema_context("tenant_a"):
        dup = make_lead(email="hot2@acme.com", status=LeadStatus.DUPLICATE, duplicate_of=hot)
        AuditEvent.objects.create(lead=hot, action="status_changed", actor="pipeline", to_status="pending_review")
    body = api_a.get(f"/api/v1/leads/{hot.pk}").json()
    assert [d["id"] for d in body["duplicates"]] == [dup.pk]
    assert body["history"][0]["action"] == "status_changed"
    assert body["raw"] == hot.raw


def test_unknown_lead_is_a_404(api_a, leads_a):
    response = api_a.get("/api/v1/leads/999999999")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_patch_edits_contact_fields_and_audits_before_and_after(api_a, leads_a):
    lead = leads_a["cold"]
    response = api_a.patch(f"/api/v1/leads/{lead.pk}", {"title": "CFO", "company": "Globex Corp",
                                                       "custom_fields": {"tier": "a"}})
    assert response.status_code == 200, response.content
    assert (response.json()["title"], response.json()["company"]) == ("CFO", "Globex Corp")
    with schema_context("tenant_a"):
        event = AuditEvent.objects.get(lead=lead, action="edited")
        assert event.changes["company"] == ["Globex", "Globex Corp"]
        assert event.changes["title"][1] == "CFO"
        assert event.actor.startswith("user:") and event.user_id is not None
        assert Lead.objects.get(pk=lead.pk).custom_fields == {"tier": "a"}


@pytest.mark.parametrize("field", ["status", "score", "duplicate_of", "email_key", "raw", "source"])
def test_patch_of_a_read_only_field_is_a_400_naming_it(api_a, leads_a, field):
    lead = leads_a["cold"]
    response = api_a.patch(f"/api/v1/leads/{lead.pk}", {field: "x", "title": "ignored"})
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert field in response.json()["detail"]
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=lead.pk).title == lead.title


def test_patch_validates_email(api_a, leads_a):
    response = api_a.patch(f"/api/v1/leads/{leads_a['cold'].pk}", {"email": "nope"})
    assert response.status_code == 400 and "email" in response.json()["errors"]


def test_viewer_can_read_but_not_edit(viewer_a, leads_a):
    api = session_api("tenant_a", viewer_a)
    assert api.get(f"/api/v1/leads/{leads_a['cold'].pk}").status_code == 200
    assert api.patch(f"/api/v1/leads/{leads_a['cold'].pk}", {"title": "x"}).status_code == 403
    assert api.put(f"/api/v1/leads/{leads_a['hot'].pk}/review", {"decision": "approved"}).status_code == 403


def test_review_approves_a_pending_lead(api_a, leads_a, reviewer_a):
    hot = leads_a["hot"]
    response = api_a.put(f"/api/v1/leads/{hot.pk}/review", {"decision": "approved", "note": "good fit"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    with schema_context("tenant_a"):
        stored = Lead.objects.get(pk=hot.pk)
        assert (stored.reviewed_by_id, stored.review_note) == (reviewer_a.pk, "good fit")


def test_review_of_a_lead_not_pending_is_a_409(api_a, leads_a):
    response = api_a.put(f"/api/v1/leads/{leads_a['cold'].pk}/review", {"decision": "rejected"})
    assert response.status_code == 409
    assert "pending_review" in response.json()["detail"]


def test_review_needs_a_valid_decision(api_a, leads_a):
    response = api_a.put(f"/api/v1/leads/{leads_a['hot'].pk}/review", {"decision": "maybe"})
    assert response.status_code == 400 and "decision" in response.json()["errors"]


def test_api_key_with_write_scope_can_review(keyapi_a, leads_a):
    response = keyapi_a.put(f"/api/v1/leads/{leads_a['hot'].pk}/review", {"decision": "rejected"})
    assert response.status_code == 200
    with schema_context("tenant_a"):
        assert AuditEvent.objects.get(lead=leads_a["hot"], action="reviewed").actor.startswith("api_key:")
