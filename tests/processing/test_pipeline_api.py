"""POST /api/v1/pipeline/process, GET /pipeline/jobs/{id}, POST /pipeline/process/{id}."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from leads.models import AuditEvent, Lead, LeadStatus
from processing.models import PipelineJob
from tests.factories import make_user
from tests.processing.conftest import bulk_leads, purge_broker, run_queued_tasks


@pytest.fixture
def broker():
    purge_broker()
    yield
    purge_broker()


def login(host: str, role: str) -> Client:
    schema = "tenant_a" if host.startswith("a.") else "tenant_b"
    client = Client(HTTP_HOST=host)
    with schema_context(schema):
        client.force_login(make_user(role))
    return client


@pytest.fixture
def reviewer_a(tenant_a):
    return login("a.localhost", "reviewer")


def test_process_queues_matching_leads_and_job_reports_progress(reviewer_a, broker, settings,
                                                               django_capture_on_commit_callbacks):
    settings.BATCH_SIZE = 2
    with schema_context("tenant_a"):
        web = bulk_leads(3, prefix="web", source="web")
        bulk_leads(2, prefix="csv", source="csv")
        bulk_leads(1, prefix="done", source="web", status=LeadStatus.PENDING_REVIEW)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = reviewer_a.post("/api/v1/pipeline/process", {"source": "web", "status": "new"},
                                   content_type="application/json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["queued"] == 3
    assert len(callbacks) == 1  # chunks are queued only once the job row is committed

    job_url = f"/api/v1/pipeline/jobs/{body['job_id']}"
    progress = reviewer_a.get(job_url).json()
    assert (progress["status"], progress["queued"], progress["done"], progress["failed"]) == ("queued", 3, 0, 0)
    assert progress["filters"]["source"] == "web"

    ran = run_queued_tasks()
    assert [args[:2] for _, args, _ in ran] == [("tenant_a", web[:2]), ("tenant_a", web[2:])]

    progress = reviewer_a.get(job_url).json()
    assert (progress["status"], progress["done"], progress["finished"]) == ("done", 3, 3)
    assert progress["finished_at"] is not None
    with schema_context("tenant_a"):
        assert set(Lead.objects.filter(pk__in=web).values_list("status", flat=True)) == {LeadStatus.PENDING_REVIEW}
        assert Lead.objects.filter(source="csv", status=LeadStatus.NEW).count() == 2


def test_process_filters_by_ids_created_range_and_limit(reviewer_a, broker):
    with schema_context("tenant_a"):
        ids = bulk_leads(6)
        Lead.objects.filter(pk__in=ids[:2]).update(created_at=timezone.now() - timedelta(days=10))
    old = reviewer_a.post("/api/v1/pipeline/process",
                          {"created_before": (timezone.now() - timedelta(days=5)).isoformat()},
                          content_type="application/json")
    assert old.json()["queued"] == 2
    picked = reviewer_a.post("/api/v1/pipeline/process", {"ids": ids[2:], "limit": 3},
                             content_type="application/json")
    assert picked.status_code == 202 and picked.json()["queued"] == 3
    with schema_context("tenant_a"):
        assert PipelineJob.objects.get(pk=picked.json()["job_id"]).filters["ids"] == ids[2:]


def test_nothing_to_process_gives_a_finished_job(reviewer_a, broker):
    response = reviewer_a.post("/api/v1/pipeline/process", {"source": "nowhere"}, content_type="application/json")
    assert response.status_code == 202
    assert response.json()["queued"] == 0
    assert reviewer_a.get(f"/api/v1/pipeline/jobs/{response.json()['job_id']}").json()["status"] == "done"


@pytest.mark.parametrize("payload, field", [
    ({"status": "approved"}, "status"),
    ({"status": ["new", "bogus"]}, "status"),
    ({"ids": ["x"]}, "ids"),
    ({"ids": []}, "ids"),
    ({"limit": 0}, "limit"),
    ({"created_after": "yesterday"}, "created_after"),
    ({"created_after": "2026-02-01T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"}, "created_before"),
])
def test_bad_filters_get_field_errors(reviewer_a, payload, field):
    response = reviewer_a.post("/api/v1/pipeline/process", payload, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and field in body["errors"]
    with schema_context("tenant_a"):
        assert not PipelineJob.objects.exists()


def test_process_one_lead_now_returns_it_processed(reviewer_a):
    with schema_context("tenant_a"):
        lead_id = bulk_leads(1)[0]
    response = reviewer_a.post(f"/api/v1/pipeline/process/{lead_id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"]) == (lead_id, LeadStatus.PENDING_REVIEW)
    with schema_context("tenant_a"):
        event = AuditEvent.objects.get(lead_id=lead_id, to_status=LeadStatus.PENDING_REVIEW)
        assert event.actor.startswith("user:reviewer")
        assert Lead.objects.get(pk=lead_id).claimed_by == ""


def test_process_one_refuses_reviewed_missing_and_busy_leads(reviewer_a):
    from processing.claims import claim_batch

    with schema_context("tenant_a"):
        approved = bulk_leads(1, prefix="ok", status=LeadStatus.APPROVED)[0]
        busy = bulk_leads(1, prefix="busy")[0]
        claim_batch(limit=1, worker="other-worker", lease_seconds=600, lead_ids=[busy])
    response = reviewer_a.post(f"/api/v1/pipeline/process/{approved}")
    assert response.status_code == 409
    assert "approved" in response.json()["detail"]
    assert reviewer_a.post("/api/v1/pipeline/process/999999").status_code == 404
    response = reviewer_a.post(f"/api/v1/pipeline/process/{busy}")
    assert response.status_code == 409
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=busy).status == LeadStatus.NEW


def test_viewer_may_read_jobs_but_not_start_them(tenant_a):
    viewer = login("a.localhost", "viewer")
    with schema_context("tenant_a"):
        job = PipelineJob.objects.create(queued=1, chunks=1)
        lead_id = bulk_leads(1)[0]
    assert viewer.post("/api/v1/pipeline/process", {}, content_type="application/json").status_code == 403
    assert viewer.post(f"/api/v1/pipeline/process/{lead_id}").status_code == 403
    assert viewer.get(f"/api/v1/pipeline/jobs/{job.pk}").status_code == 200


def test_anonymous_is_refused(tenant_a):
    client = Client(HTTP_HOST="a.localhost")
    assert client.post("/api/v1/pipeline/process", {}, content_type="application/json").status_code in (401, 403)
    assert client.get("/api/v1/pipeline/jobs/1").status_code in (401, 403)


def test_tenant_a_jobs_leads_and_sessions_are_refused_on_b(reviewer_a, tenant_b):
    with schema_context("tenant_a"):
        lead_id = bulk_leads(1)[0]
        job = PipelineJob.objects.create(queued=1, chunks=1)
    with schema_context("tenant_b"):
        assert not PipelineJob.objects.filter(pk=job.pk).exists()
        assert not Lead.objects.filter(pk=lead_id).exists()
    # A's session cookie means nothing on B's host.
    stolen = Client(HTTP_HOST="b.localhost")
    stolen.cookies["sessionid"] = reviewer_a.cookies["sessionid"].value
    assert stolen.get(f"/api/v1/pipeline/jobs/{job.pk}").status_code in (401, 403)
    assert stolen.post(f"/api/v1/pipeline/process/{lead_id}").status_code in (401, 403)
    # B's own reviewer does not see A's job or lead either.
    reviewer_b = login("b.localhost", "reviewer")
    assert reviewer_b.get(f"/api/v1/pipeline/jobs/{job.pk}").status_code == 404
    assert reviewer_b.post(f"/api/v1/pipeline/process/{lead_id}").status_code == 404
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=lead_id).status == LeadStatus.NEW
