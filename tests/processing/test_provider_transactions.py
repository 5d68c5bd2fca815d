"""A chunk that waits on a remote provider holds no lock that ingestion needs.

Deduplication takes advisory locks on the chunk's match keys, and ingestion takes
the same locks to deduplicate what it stores. With a remote provider to call, the
chunk commits what deduplication decided before it calls out, so a request
arriving meanwhile is stored at once instead of waiting for the provider.
"""
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from leads.models import AuditEvent, Lead, LeadStatus, TenantSettings
from leads.services.ingest import ingest_leads
from processing.batch import process_chunk_now
from processing.models import PipelineJob, ProviderConfig, ProviderRateSlot, ProviderResult, ProviderUsage
from processing.pipeline import remote_providers
from tests.processing.conftest import CB_KEY, FakeClearbit, keyed_lead


@pytest.fixture
def enrichment_on(live, settings):
    """Enrichment with a Clearbit key in tenant A, committed, and put back afterwards."""
    settings.CLEARBIT_API_KEY = CB_KEY
    settings.PROVIDER_TIMEOUT = 30  # the fake provider holds its answer while a request comes in
    with schema_context("tenant_a"):
        before = TenantSettings.current().enable_enrichment
        TenantSettings.objects.filter(pk=1).update(enable_enrichment=True)
    yield
    with schema_context("tenant_a"):
        TenantSettings.objects.filter(pk=1).update(enable_enrichment=before)
        for model in (ProviderResult, ProviderUsage, ProviderRateSlot, ProviderConfig):
            model.objects.all().delete()


def test_ingestion_is_not_held_up_by_a_chunk_waiting_on_a_provider(enrichment_on, httpserver):
    clearbit = FakeClearbit()
    during_call = {}

    def combined(request):
        # Someone posts the same person while the chunk waits for this answer. On
        # its own connection (this server's thread), waiting at most 3 s for a lock.
        try:
            with schema_context("tenant_a"):
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '3s'")
                during_call["results"] = ingest_leads(rows=[{"email": "Alex@Acme.com", "first_name": "Alex"}],
                                                      source="webhook")
        except Exception as exc:
            during_call["error"] = exc
        finally:
            connection.close()
        return clearbit.combined(request)

    httpserver.expect_request("/v2/combined/find").respond_with_handler(combined)
    with schema_context("tenant_a"):
        lead = keyed_lead(email="alex@acme.com", first_name="Alex")
        job = PipelineJob.objects.create(queued=1, chunks=1)
        result = process_chunk_now(lead_ids=[lead.pk], job_id=job.pk)

        assert "error" not in during_call, during_call.get("error")
        [row] = during_call["results"]
        assert (row.outcome, row.duplicate_of) == ("duplicate", lead.pk)
        assert clearbit.looked_up == ["alex@acme.com"]
        assert result.done == 1 and result.failed == 0
        lead = Lead.objects.get(pk=lead.pk)
        assert lead.status == LeadStatus.PENDING_REVIEW and lead.last_name == "Maccaw"
        assert (lead.claimed_by, lead.claimed_until) == ("", None)
        moves = list(AuditEvent.objects.filter(lead_id=lead.pk).exclude(to_status="").order_by("id")
                     .values_list("from_status", "to_status"))
        assert moves == [("normalized", "enriched"), ("enriched", "verified"), ("verified", "pending_review")]
        job.refresh_from_db()
        assert (job.status, job.done, job.chunks_finished) == ("done", 1, 1)


def test_a_failure_after_the_providers_keeps_what_was_committed_before(enrichment_on, httpserver, monkeypatch):
    clearbit = FakeClearbit().install(httpserver)
    monkeypatch.setattr("processing.pipeline._write", _fail_second_write())
    with schema_context("tenant_a"):
        lead = keyed_lead(email="Kim@Acme.com ", first_name=" kim", last_name="LEE", status=LeadStatus.NEW)
        job = PipelineJob.objects.create(queued=1, chunks=1)
        with pytest.raises(RuntimeError, match="the database went away"):
            process_chunk_now(lead_ids=[lead.pk], job_id=job.pk)

        assert clearbit.looked_up == ["kim@acme.com"]
        lead = Lead.objects.get(pk=lead.pk)
        # Normalization's outcome was committed before the provider was called; what
        # came after was not. The lead is free for the next run, which goes on from there.
        assert (lead.status, lead.email, lead.first_name) == (LeadStatus.NORMALIZED, "kim@acme.com", "Kim")
        assert lead.enrichment == {} and (lead.claimed_by, lead.claimed_until) == ("", None)
        moves = list(AuditEvent.objects.filter(lead_id=lead.pk).exclude(to_status="")
                     .values_list("from_status", "to_status"))
        assert moves == [("new", "normalized")]
        job.refresh_from_db()
        assert (job.status, job.failed) == ("failed", 1) and "database went away" in job.error


def _fail_second_write():
    from processing import pipeline

    real, calls = pipeline._write, []

    def write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    return write


def test_remote_providers_need_a_stage_on_and_a_key(enrichment_on, settings):
    with schema_context("tenant_a"):
        current = TenantSettings.current()
        assert remote_providers(current)
        settings.CLEARBIT_API_KEY = ""
        assert not remote_providers(current)  # the offline verifier calls nobody
        settings.VERIFY_MX = True
        assert remote_providers(current)  # ... unless it looks up MX records
        current.enable_verification = False
        assert not remote_providers(current)
