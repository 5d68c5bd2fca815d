"""Task entry points: the right schema whatever the connection was on, clear failures."""
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from leads.models import AuditEvent, Lead, LeadStatus
from processing import tasks
from processing.batch import UnknownTenant
from processing.models import PipelineJob
from tenants.models import Tenant
from tests.processing.conftest import bulk_leads


def test_task_called_on_public_processes_in_its_tenants_schema(tenant_a, tenant_b):
    with schema_context("tenant_a"):
        a_ids = bulk_leads(3, prefix="a")
    with schema_context("tenant_b"):
        b_ids = bulk_leads(3, prefix="b")
    connection.set_schema_to_public()

    result = tasks.process_chunk("tenant_a", a_ids)

    assert result == {"claimed": 3, "done": 3, "failed": 0, "skipped": 0}
    assert connection.schema_name == "public"  # the worker's connection is handed back as it was
    with schema_context("tenant_a"):
        assert set(Lead.objects.filter(pk__in=a_ids).values_list("status", flat=True)) == {LeadStatus.PENDING_REVIEW}
        assert set(Lead.objects.filter(pk__in=a_ids).values_list("claimed_by", flat=True)) == {""}
        assert AuditEvent.objects.filter(lead_id__in=a_ids, to_status=LeadStatus.PENDING_REVIEW).count() == 3
    with schema_context("tenant_b"):
        # Same ids may exist in B (own sequence): they must be untouched.
        assert set(Lead.objects.filter(pk__in=b_ids).values_list("status", flat=True)) == {LeadStatus.NEW}
        assert not AuditEvent.objects.exists()


def test_task_left_on_another_tenants_schema_still_uses_its_own(tenant_a, tenant_b):
    with schema_context("tenant_a"):
        a_ids = bulk_leads(2, prefix="a")
    with schema_context("tenant_b"):
        b_ids = bulk_leads(2, prefix="b")
        # A previous task left the worker connection on tenant_b.
        tasks.process_chunk("tenant_a", a_ids)
        assert set(Lead.objects.filter(pk__in=b_ids).values_list("status", flat=True)) == {LeadStatus.NEW}
    with schema_context("tenant_a"):
        assert set(Lead.objects.filter(pk__in=a_ids).values_list("status", flat=True)) == {LeadStatus.PENDING_REVIEW}


@pytest.mark.parametrize("schema", ["gone_tenant", "public"])
def test_task_for_unknown_tenant_fails_clearly_and_touches_nothing(tenant_a, schema):
    with schema_context("tenant_a"):
        ids = bulk_leads(2)
    connection.set_schema_to_public()
    with pytest.raises(UnknownTenant):
        tasks.process_chunk(schema, ids)
    with schema_context("tenant_a"):
        assert set(Lead.objects.filter(pk__in=ids).values_list("status", flat=True)) == {LeadStatus.NEW}


def test_task_for_suspended_tenant_is_skipped(tenant_b):
    with schema_context("public"):
        Tenant.objects.filter(schema_name="tenant_b").update(is_active=False)
    with schema_context("tenant_b"):
        ids = bulk_leads(2)
    assert tasks.process_chunk("tenant_b", ids) == {"skipped": "tenant inactive"}
    with schema_context("tenant_b"):
        assert set(Lead.objects.filter(pk__in=ids).values_list("status", flat=True)) == {LeadStatus.NEW}


def test_chunk_skips_leads_leased_to_another_worker_or_already_processed(in_tenant_a):
    from processing.claims import claim_batch

    ids = bulk_leads(4)
    claim_batch(limit=1, worker="someone-else", lease_seconds=600, lead_ids=ids[:1])
    Lead.objects.filter(pk=ids[1]).update(status=LeadStatus.PENDING_REVIEW)
    result = tasks.process_chunk("tenant_a", ids)
    assert result == {"claimed": 2, "done": 2, "failed": 0, "skipped": 2}
    assert Lead.objects.get(pk=ids[0]).status == LeadStatus.NEW
    assert AuditEvent.objects.filter(lead_id=ids[1]).count() == 0


def test_chunk_reports_progress_to_its_job(in_tenant_a):
    ids = bulk_leads(5)
    job = PipelineJob.objects.create(queued=5, chunks=2)
    tasks.process_chunk("tenant_a", ids[:3], job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.chunks_finished, job.finished_at) == ("running", 3, 1, None)
    assert job.started_at is not None
    tasks.process_chunk("tenant_a", ids[3:], job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.failed, job.skipped) == ("done", 5, 0, 0)
    assert job.finished_at is not None


def test_fan_out_queues_one_chunk_per_batch_size_per_active_tenant(tenant_a, tenant_b, settings,
                                                                  django_capture_on_commit_callbacks, monkeypatch):
    settings.BATCH_SIZE = 2
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kw: queued.append((func, args)))
    with schema_context("tenant_a"):
        a_ids = bulk_leads(5)
        Lead.objects.filter(pk=a_ids[0]).update(status=LeadStatus.PENDING_REVIEW)
    with schema_context("tenant_b"):
        b_ids = bulk_leads(1)
    connection.set_schema_to_public()
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.run_batch_processing()
        # Other session tenants (the browser tests' one) may exist: look at ours only.
        assert {k: v for k, v in result.items() if k in ("tenant_a", "tenant_b")} == {"tenant_a": 2, "tenant_b": 1}
    ours = [(f, a[0], a[1]) for f, a in queued if a[0] in ("tenant_a", "tenant_b")]
    assert ours == [
        ("processing.tasks.process_chunk", "tenant_a", a_ids[1:3]),
        ("processing.tasks.process_chunk", "tenant_a", a_ids[3:5]),
        ("processing.tasks.process_chunk", "tenant_b", b_ids),
    ]
