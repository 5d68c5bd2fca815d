"""The `duplicate` outcome: ingestion reports what prepare_incoming decided.

TEST-ONLY STAND-IN: until the pipeline's exact-key deduplication lands,
``processing.pipeline.prepare_incoming`` is replaced here by a minimal exact-email
matcher that follows its contract (sets email_key and status, ``duplicate_of`` to a
saved survivor or to an earlier unsaved lead of the same call). Once the real
function is in, these tests should run against it unchanged.
"""
import pytest
from django_tenants.utils import schema_context

from leads.models import Lead, LeadStatus
from leads.models.lead import SURVIVING_STATUSES
from tests.factories import make_lead

pytestmark = pytest.mark.usefixtures("fresh_throttles")


def _exact_email_prepare(leads, **_options):  # same keywords as the real one
    seen = {}
    keys = {lead.email.lower() for lead in leads if lead.email}
    survivors = {
        lead.email_key: lead
        for lead in Lead.objects.filter(email_key__in=keys, status__in=SURVIVING_STATUSES)
    }
    for lead in leads:
        lead.email_key = lead.email.lower()
        survivor = survivors.get(lead.email_key) or seen.get(lead.email_key)
        if survivor is not None and survivor is not lead and (survivor.pk is None or survivor.pk != lead.pk):
            lead.status, lead.duplicate_of = LeadStatus.DUPLICATE, survivor
        else:
            lead.status = LeadStatus.NORMALIZED
            seen.setdefault(lead.email_key, lead)


@pytest.fixture
def exact_dedupe(monkeypatch):
    monkeypatch.setattr("processing.pipeline.prepare_incoming", _exact_email_prepare)


def test_duplicates_are_reported_with_the_surviving_lead(api_a, exact_dedupe):
    with schema_context("tenant_a"):
        existing = make_lead(email="dup@x.com", email_key="dup@x.com", status=LeadStatus.NORMALIZED)
    response = api_a.post("/api/v1/leads/batch", {"source": "d", "leads": [
        {"email": "DUP@x.com"}, {"email": "new@x.com"}, {"email": "new@x.com", "company": "Again"}]})
    assert response.status_code == 200, response.content
    rows = response.json()["rows"]
    assert [r["outcome"] for r in rows] == ["duplicate", "created", "duplicate"]
    assert rows[0]["duplicate_of"] == existing.pk
    assert rows[2]["duplicate_of"] == rows[1]["id"]
    assert response.json()["summary"]["duplicate"] == 2
    with schema_context("tenant_a"):
        stored = {lead.pk: lead for lead in Lead.objects.filter(pk__in=[r["id"] for r in rows])}
        assert stored[rows[0]["id"]].duplicate_of_id == existing.pk
        assert stored[rows[0]["id"]].status == LeadStatus.DUPLICATE
        assert stored[rows[2]["id"]].duplicate_of_id == rows[1]["id"]
        assert stored[rows[1]["id"]].status == LeadStatus.NORMALIZED


def test_resending_a_lead_with_its_external_id_does_not_make_it_its_own_duplicate(api_a, exact_dedupe):
    payload = {"source": "s", "leads": [{"email": "self@x.com", "external_id": "42"}]}
    first = api_a.post("/api/v1/leads/batch", payload).json()["rows"][0]
    second = api_a.post("/api/v1/leads/batch", payload).json()["rows"][0]
    assert (first["outcome"], second["outcome"], second["id"]) == ("created", "updated", first["id"])


def _pipeline_deduplicates() -> bool:
    """Whether the real prepare_incoming marks exact duplicates (not on every branch yet)."""
    from processing.pipeline import prepare_incoming

    first, second = Lead(email="probe@dedupe.test"), Lead(email="probe@dedupe.test")
    prepare_incoming([first, second])
    return second.status == LeadStatus.DUPLICATE


def test_real_pipeline_duplicates_are_reported_with_the_survivor(api_a):
    """The same behaviour through the real inline stage, with nothing replaced."""
    with schema_context("tenant_a"):
        if not _pipeline_deduplicates():
            pytest.skip("processing.pipeline.prepare_incoming does not deduplicate on this branch yet")
    first = api_a.post("/api/v1/leads/batch", {"source": "real", "leads": [{"email": "Real.Person@Example.com"}]})
    survivor = first.json()["rows"][0]["id"]
    response = api_a.post("/api/v1/leads/batch", {"source": "real", "leads": [
        {"email": "real.person@example.com", "company": "Again"},
        {"email": "other.person@example.com"},
        {"email": "OTHER.person@example.com"},
    ]})
    assert response.status_code == 200, response.content
    rows = response.json()["rows"]
    assert [r["outcome"] for r in rows] == ["duplicate", "created", "duplicate"]
    assert rows[0]["duplicate_of"] == survivor
    assert rows[2]["duplicate_of"] == rows[1]["id"]
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=rows[2]["id"]).duplicate_of_id == rows[1]["id"]
