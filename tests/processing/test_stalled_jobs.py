"""A pipeline job whose chunks were lost says so ("stalled") instead of running forever."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from leads.models import Lead, LeadStatus
from processing import tasks
from processing.batch import ChunkResult, _job_progress, mark_stalled_jobs
from processing.models import PipelineJob
from tests.factories import make_user
from tests.processing.conftest import bulk_leads, purge_broker, run_queued_tasks


def _job(*, chunks=2, chunks_finished=1, status="running", reported_minutes_ago=None, created_minutes_ago=0):
    job = PipelineJob.objects.create(queued=chunks * 10, chunks=chunks, chunks_finished=chunks_finished,
                                     done=chunks_finished * 10, status=status)
    now = timezone.now()
    PipelineJob.objects.filter(pk=job.pk).update(
        created_at=now - timedelta(minutes=created_minutes_ago),
        progress_at=None if reported_minutes_ago is None else now - timedelta(minutes=reported_minutes_ago))
    return job


def _status(job) -> str:
    job.refresh_from_db()
    return job.status


@pytest.fixture
def viewer_a(tenant_a):
    client = Client(HTTP_HOST="a.localhost")
    with schema_context("tenant_a"):
        client.force_login(make_user("viewer"))
    return client


def test_a_job_nobody_heard_from_for_an_hour_reads_as_stalled(viewer_a, settings):
    settings.JOB_STALL_MINUTES = 60
    with schema_context("tenant_a"):
        silent = _job(reported_minutes_ago=61, created_minutes_ago=90)
        busy = _job(reported_minutes_ago=5, created_minutes_ago=90)
        never_started = _job(chunks_finished=0, status="queued", created_minutes_ago=61)
        just_queued = _job(chunks_finished=0, status="queued", created_minutes_ago=5)
        finished = _job(chunks=1, chunks_finished=1, status="done", reported_minutes_ago=600, created_minutes_ago=600)
    answers = {name: viewer_a.get(f"/api/v1/pipeline/jobs/{job.pk}").json()
               for name, job in [("silent", silent), ("busy", busy), ("never_started", never_started),
                                 ("just_queued", just_queued), ("finished", finished)]}
    assert {name: body["status"] for name, body in answers.items()} == {
        "silent": "stalled", "busy": "running", "never_started": "stalled", "just_queued": "queued",
        "finished": "done"}
    assert answers["silent"]["progress_at"] is not None and answers["silent"]["finished_at"] is None


def test_a_chunk_reporting_late_puts_a_stalled_job_back_and_finishes_it(tenant_a, settings):
    settings.JOB_STALL_MINUTES = 60
    with schema_context("tenant_a"):
        job = _job(reported_minutes_ago=90, created_minutes_ago=120)
        assert mark_stalled_jobs() == 1 and _status(job) == "stalled"
        _job_progress(job.pk, ChunkResult(claimed=10, done=10, failed=0, skipped=0))
        job.refresh_from_db()
        assert (job.status, job.done, job.chunks_finished) == ("done", 20, 2) and job.finished_at is not None


def test_the_scheduled_batch_run_marks_stalled_jobs_and_processes_their_leads_in_each_tenant(
        tenant_a, tenant_b, settings, django_capture_on_commit_callbacks):
    settings.JOB_STALL_MINUTES = 60
    purge_broker()
    with schema_context("tenant_a"):
        lost_a = _job(reported_minutes_ago=61, created_minutes_ago=61)
        # The lost chunk's lead: its lease has expired, so the batch run takes it.
        [lead_id] = bulk_leads(1, status=LeadStatus.NORMALIZED)
        Lead.objects.filter(pk=lead_id).update(claimed_by="gone:1:x", claimed_until=timezone.now() - timedelta(minutes=1))
    with schema_context("tenant_b"):
        lost_b = _job(chunks_finished=0, status="queued", created_minutes_ago=61)
        alive_b = _job(reported_minutes_ago=1, created_minutes_ago=61)
    connection.set_schema_to_public()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            tasks.run_batch_processing()
        run_queued_tasks()  # a worker takes the queued chunks off the broker
    finally:
        purge_broker()
    with schema_context("tenant_a"):
        assert _status(lost_a) == "stalled"
        lead = Lead.objects.get(pk=lead_id)
        assert (lead.status, lead.claimed_by) == (LeadStatus.PENDING_REVIEW, "")
    with schema_context("tenant_b"):
        assert (_status(lost_b), _status(alive_b)) == ("stalled", "running")
