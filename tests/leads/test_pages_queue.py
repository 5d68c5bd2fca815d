"""The review queue: order, filters, pagination, counts, polling partial, bulk review."""
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from leads.models import AuditEvent, Lead, LeadStatus
from tests.factories import make_lead

PENDING = LeadStatus.PENDING_REVIEW


@pytest.fixture
def leads_a(tenant_a):
    with schema_context("tenant_a"):
        Lead.objects.all().delete()
        return {
            "low": make_lead(status=PENDING, score=20, source="csv", email="low@x.test", company="Lowco"),
            "high": make_lead(status=PENDING, score=90, source="api", email="high@x.test", company="Highco"),
            "mid": make_lead(status=PENDING, score=55, source="api", email="mid@x.test", company="Midco"),
            "unscored": make_lead(status=PENDING, score=None, source="api", email="none@x.test"),
            "approved": make_lead(status=LeadStatus.APPROVED, score=99, source="api", email="done@x.test"),
        }


def _ids(response) -> list[int]:
    return [lead.pk for lead in response.context["leads"]]


def test_queue_lists_pending_leads_highest_score_first(page_reviewer, leads_a):
    response = page_reviewer.get("/")
    assert response.status_code == 200
    assert _ids(response) == [leads_a[k].pk for k in ("high", "mid", "low", "unscored")]
    assert b"done@x.test" not in response.content


def test_header_counts_leads_by_status(page_reviewer, leads_a):
    response = page_reviewer.get("/")
    assert response.context["counts"]["pending_review"] == 4
    assert response.context["counts"]["approved"] == 1
    html = response.content.decode()
    assert '<span class="count" data-status="pending_review">4</span>' in html


def test_keyboard_shortcuts_are_shown(page_reviewer, leads_a):
    html = page_reviewer.get("/").content.decode()
    for key in ("j", "k", "a", "r", "e"):
        assert f"<kbd>{key}</kbd>" in html


@pytest.mark.parametrize("query, expected", [
    ({"source": "csv"}, ["low"]),
    ({"score_min": "50"}, ["high", "mid"]),
    ({"score_min": "50", "score_max": "60"}, ["mid"]),
    ({"q": "MIDCO"}, ["mid"]),
    ({"q": "high@x"}, ["high"]),
    ({"status": "approved"}, ["approved"]),
    ({"status": "", "score_min": "90"}, ["approved", "high"]),
])
def test_filters(page_reviewer, leads_a, query, expected):
    response = page_reviewer.get("/", query)
    assert response.status_code == 200
    assert _ids(response) == [leads_a[k].pk for k in expected]


def test_created_range_filter(page_reviewer, leads_a):
    with schema_context("tenant_a"):
        old = timezone.now() - dt.timedelta(days=10)
        Lead.objects.filter(pk=leads_a["low"].pk).update(created_at=old)
    day = (timezone.now() - dt.timedelta(days=10)).date()
    response = page_reviewer.get("/", {"created_from": day.isoformat(), "created_to": day.isoformat()})
    assert _ids(response) == [leads_a["low"].pk]
    response = page_reviewer.get("/", {"created_from": (day + dt.timedelta(days=1)).isoformat()})
    assert leads_a["low"].pk not in _ids(response)


@pytest.mark.parametrize("query, field", [
    ({"score_min": "abc"}, "score_min"),
    ({"score_min": "80", "score_max": "10"}, "score_max"),
    ({"created_from": "2026-02-30"}, "created_from"),
    ({"status": "bogus"}, "status"),
])
def test_bad_filters_answer_400_with_the_field_error(page_reviewer, leads_a, query, field):
    response = page_reviewer.get("/", query)
    assert response.status_code == 400
    assert field in response.context["form"].errors


def test_queue_is_paginated(page_reviewer, tenant_a):
    with schema_context("tenant_a"):
        Lead.objects.all().delete()
        Lead.objects.bulk_create(Lead(status=PENDING, score=i % 100, email=f"p{i}@x.test", source="bulk")
                                 for i in range(120))
    first = page_reviewer.get("/")
    assert len(first.context["leads"]) == 50
    assert first.context["page"].paginator.num_pages == 3
    third = page_reviewer.get("/", {"page": 3, "source": "bulk"})
    assert len(third.context["leads"]) == 20
    assert 'href="?page=2&amp;source=bulk"' in third.content.decode()


def test_polling_partial_shows_new_leads_and_counts(page_reviewer, leads_a):
    first = page_reviewer.get("/queue/rows", HTTP_HX_REQUEST="true")
    assert b"arrived@x.test" not in first.content
    with schema_context("tenant_a"):
        make_lead(status=PENDING, score=70, email="arrived@x.test")
    response = page_reviewer.get("/queue/rows", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "arrived@x.test" in html
    assert "<html" not in html  # a fragment, not a page
    assert 'id="status-counts"' in html and 'hx-swap-oob="true"' in html
    assert '<span class="count" data-status="pending_review">5</span>' in html


def test_queue_page_polls_the_partial_with_its_filters(page_reviewer, leads_a):
    html = page_reviewer.get("/", {"source": "api"}).content.decode()
    assert 'hx-get="/queue/rows?source=api' in html
    assert 'hx-trigger="every 10s' in html


def test_bulk_reject_with_note(page_reviewer, leads_a):
    ids = [leads_a["low"].pk, leads_a["mid"].pk]
    response = page_reviewer.post("/queue/review", {"ids": ids, "decision": "rejected", "note": "spam list",
                                                  "next": "/?source=api"})
    assert response.status_code == 302 and response["Location"] == "/?source=api"
    with schema_context("tenant_a"):
        rejected = Lead.objects.filter(pk__in=ids)
        assert {lead.status for lead in rejected} == {LeadStatus.REJECTED}
        assert {lead.review_note for lead in rejected} == {"spam list"}
        assert {lead.reviewed_by_id for lead in rejected} == {page_reviewer.user.pk}
        assert AuditEvent.objects.filter(lead_id__in=ids, action="reviewed", to_status="rejected").count() == 2
        assert Lead.objects.get(pk=leads_a["high"].pk).status == PENDING
    page = page_reviewer.get("/")
    assert "Rejected 2 leads." in page.content.decode()


def test_bulk_approve_skips_leads_no_longer_pending(page_reviewer, leads_a):
    ids = [leads_a["high"].pk, leads_a["approved"].pk]
    page_reviewer.post("/queue/review", {"ids": ids, "decision": "approved"})
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=leads_a["high"].pk).status == LeadStatus.APPROVED
    assert "Approved 1 lead. 1 skipped" in page_reviewer.get("/").content.decode()


def test_bulk_review_without_selection_changes_nothing(page_reviewer, leads_a):
    response = page_reviewer.post("/queue/review", {"decision": "approved"})
    assert response.status_code == 302
    assert "Select at least one lead." in page_reviewer.get("/").content.decode()
    with schema_context("tenant_a"):
        assert Lead.objects.filter(status=PENDING).count() == 4


def test_bulk_review_with_bad_decision_changes_nothing(page_reviewer, leads_a):
    page_reviewer.post("/queue/review", {"decision": "exported", "ids": [leads_a["high"].pk]})
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=leads_a["high"].pk).status == PENDING


def test_bulk_review_ignores_ids_of_another_tenant(page_reviewer, tenant_b):
    with schema_context("tenant_b"):
        foreign = make_lead(status=PENDING)
    with schema_context("tenant_a"):
        Lead.objects.filter(pk=foreign.pk).delete()  # make sure the same id does not exist in A
    page_reviewer.post("/queue/review", {"ids": [foreign.pk], "decision": "rejected"})
    with schema_context("tenant_b"):
        assert Lead.objects.get(pk=foreign.pk).status == PENDING


def test_row_buttons_review_one_lead_and_go_back_to_the_queue(page_reviewer, leads_a):
    html = page_reviewer.get("/").content.decode()
    assert f'formaction="/leads/{leads_a["high"].pk}/review"' in html
    response = page_reviewer.post(f"/leads/{leads_a['high'].pk}/review",
                               {"decision": "approved", "note": "", "next": "/", "ids": [leads_a["low"].pk]})
    assert response["Location"] == "/"
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=leads_a["high"].pk).status == LeadStatus.APPROVED
        # the selection of the surrounding bulk form is not part of a single review
        assert Lead.objects.get(pk=leads_a["low"].pk).status == PENDING


def test_queue_query_count_does_not_grow_with_leads(page_reviewer, leads_a):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert page_reviewer.get("/").status_code == 200
        return sum(1 for q in ctx.captured_queries if not q["sql"].startswith("SET search_path"))

    queries()  # the first request creates the tenant's settings row
    few = queries()
    with schema_context("tenant_a"):
        Lead.objects.bulk_create(Lead(status=PENDING, score=i, email=f"more{i}@x.test", source=f"s{i % 7}")
                                 for i in range(60))
    assert queries() == few <= 10
