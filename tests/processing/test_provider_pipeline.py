"""Providers through the real pipeline (process_leads): outage, recovery, scoring inputs."""
from django.utils import timezone

from leads.models import Lead, LeadStatus, TenantSettings
from processing.pipeline import process_leads
from tests.processing.conftest import CB_KEY, ZB_KEY, FakeClearbit, FakeZeroBounce, keyed_lead


def _leads(n):
    return [keyed_lead(first_name="Pat", last_name=f"Lee{i}x", company=f"Firm {i}", email=f"pat{i}@firm{i}.com")
            for i in range(n)]


def test_zerobounce_outage_keeps_leads_retryable_and_recovery_finishes_them(in_tenant_a, httpserver, settings):
    settings.ZEROBOUNCE_API_KEY = ZB_KEY
    settings.PROVIDER_BACKOFF = 0  # the real clock: no waiting between retries in this test
    leads = _leads(12)
    ids = [lead.pk for lead in leads]
    httpserver.expect_request("/v2/validatebatch").respond_with_data("maintenance", status=503)

    process_leads(ids)
    stored = list(Lead.objects.filter(pk__in=ids))
    assert len(stored) == 12
    assert {lead.status for lead in stored} == {LeadStatus.ENRICHED}  # waiting before verification
    assert all(lead.next_attempt_at and lead.next_attempt_at > timezone.now() for lead in stored)
    assert all(lead.verification == {} and lead.error_message == "" for lead in stored)

    httpserver.clear()
    FakeZeroBounce().install(httpserver)
    process_leads(ids)
    stored = list(Lead.objects.filter(pk__in=ids))
    assert {lead.status for lead in stored} == {LeadStatus.PENDING_REVIEW}
    assert all(lead.verification_status == "valid" and lead.verification["provider"] == "zerobounce" for lead in stored)
    assert all(any(f["factor"] == "email_verified" and f["points"] > 0 for f in lead.score_breakdown) for lead in stored)


def test_enriched_company_size_reaches_scoring(in_tenant_a, httpserver, settings):
    settings.CLEARBIT_API_KEY = CB_KEY
    FakeClearbit().install(httpserver)
    s = TenantSettings.current()
    s.enable_enrichment = True
    s.save()
    lead = _leads(1)[0]
    process_leads([lead.pk])
    lead.refresh_from_db()
    assert lead.status == LeadStatus.PENDING_REVIEW
    assert lead.enrichment["company"]["employees"] == 120 and lead.seniority
    assert lead.company == "Firm 0"  # entered by a person: kept
    assert any(f["factor"] == "company_size" for f in lead.score_breakdown)
