"""The exports API: roles, error shape, downloads, background runs and tenant isolation."""
import pytest
from django.test import Client
from django_tenants.utils import schema_context

from leads.exports.tasks import export_run_task
from leads.models import Export, Lead, LeadStatus, SuppressionEntry
from leads.services.exports import export_create
from tests.factories import make_lead, make_user
from tests.leads.exports_support import media_root  # noqa: F401


def client_for(host: str, schema: str, role: str) -> Client:
    client = Client(HTTP_HOST=host)
    with schema_context(schema):
        client.force_login(make_user(role))
    return client


@pytest.fixture
def reviewer_a(tenant_a):
    return client_for("a.localhost", "tenant_a", "reviewer")


def test_post_exports_approved_leads_and_download_the_file(reviewer_a, media_root):
    with schema_context("tenant_a"):
        make_lead(status="approved", email="ann@acme.com")
        make_lead(status="pending_review", email="later@acme.com")
    response = reviewer_a.post("/api/v1/exports", {"format": "instantly_csv"}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["sent_count"], body["destination"]) == ("done", 1, "instantly_csv")
    download = reviewer_a.get(body["download_url"])
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    content = b"".join(download.streaming_content).decode()
    assert "ann@acme.com" in content and "later@acme.com" not in content

    listing = reviewer_a.get("/api/v1/exports").json()
    assert listing["results"][0]["id"] == body["id"]
    detail = reviewer_a.get(f"/api/v1/exports/{body['id']}").json()
    assert detail["issues"] == [] and detail["total_count"] == 1


def test_detail_lists_skipped_leads_with_reasons(reviewer_a, media_root):
    with schema_context("tenant_a"):
        lead = make_lead(status="approved", email="no@thanks.com")
        SuppressionEntry.objects.create(kind="email", value="no@thanks.com")
    export_id = reviewer_a.post("/api/v1/exports", {"format": "instantly_csv"}, content_type="application/json").json()["id"]
    detail = reviewer_a.get(f"/api/v1/exports/{export_id}").json()
    assert detail["issues"] == [{"lead_id": lead.pk, "email": "no@thanks.com", "outcome": "skipped",
                                 "reason": "on the do-not-contact list"}]


def test_bad_request_uses_the_error_shape(reviewer_a):
    response = reviewer_a.post("/api/v1/exports", {"format": "csv", "template": "missing", "filters": {"status": "new"}},
                               content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and set(body["errors"]) == {"template", "filters.status"}
    response = reviewer_a.post("/api/v1/exports", {"format": "telex"}, content_type="application/json")
    assert response.status_code == 400 and "format" in response.json()["errors"]


def test_viewers_and_strangers_cannot_export(tenant_a):
    viewer = client_for("a.localhost", "tenant_a", "viewer")
    assert viewer.post("/api/v1/exports", {"format": "instantly_csv"}, content_type="application/json").status_code == 403
    assert viewer.get("/api/v1/exports").status_code == 403
    assert Client(HTTP_HOST="a.localhost").get("/api/v1/exports").status_code == 401


def test_tenant_a_export_is_not_found_on_tenant_b(reviewer_a, tenant_b, media_root):
    with schema_context("tenant_a"):
        make_lead(status="approved")
    export_id = reviewer_a.post("/api/v1/exports", {"format": "instantly_csv"}, content_type="application/json").json()["id"]
    with schema_context("tenant_b"):
        Export.objects.filter(pk=export_id).delete()  # B's own sequence could have reached the same number
    reviewer_b = client_for("b.localhost", "tenant_b", "reviewer")
    assert reviewer_b.get(f"/api/v1/exports/{export_id}").status_code == 404
    assert reviewer_b.get(f"/api/v1/exports/{export_id}/download").status_code == 404
    assert reviewer_b.get("/api/v1/exports").json()["count"] == 0
    # A's session is not valid on B's host either: B sees an anonymous caller.
    assert reviewer_a.get(f"/api/v1/exports/{export_id}", HTTP_HOST="b.localhost").status_code == 401


def test_download_refuses_a_file_outside_the_tenant_folder(reviewer_a, media_root):
    with schema_context("tenant_a"):
        export = Export.objects.create(format="instantly_csv", destination="instantly_csv", status="done",
                                       file="tenant_b/exports/export-1.csv")
    assert reviewer_a.get(f"/api/v1/exports/{export.pk}/download").status_code == 404


def test_large_export_is_queued_and_run_by_the_worker(reviewer_a, media_root, settings, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    from django_q.conf import Conf

    settings.EXPORT_INLINE_MAX_LEADS = 1
    monkeypatch.setattr(Conf, "SYNC", True)  # django-q2 runs the task in-process, as a worker would
    with schema_context("tenant_a"):
        make_lead(status="approved")
        make_lead(status="approved")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = reviewer_a.post("/api/v1/exports", {"format": "instantly_csv"}, content_type="application/json")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert len(callbacks) == 1  # queued only once the request's transaction commits
    callbacks[0]()
    detail = reviewer_a.get(f"/api/v1/exports/{response.json()['id']}").json()
    assert (detail["status"], detail["sent_count"]) == ("done", 2)


def test_task_enters_the_tenant_schema_from_public(tenant_a, media_root):
    with schema_context("tenant_a"):
        make_lead(status="approved")
        export = export_create(format="instantly_csv")
    # The connection is on public here, like a worker's.
    result = export_run_task("tenant_a", export.pk)
    assert result["status"] == "done" and result["sent"] == 1
    with schema_context("tenant_a"):
        assert Lead.objects.get().status == LeadStatus.EXPORTED
        assert Export.objects.get(pk=export.pk).file.name.startswith("tenant_a/exports/")


def test_suppression_endpoints(reviewer_a):
    created = reviewer_a.post("/api/v1/suppressions", {"kind": "domain", "value": "Spam.example"},
                              content_type="application/json")
    assert created.status_code == 201 and created.json()["value"] == "spam.example"
    bad = reviewer_a.post("/api/v1/suppressions", {"kind": "email", "value": "not-an-email"}, content_type="application/json")
    assert bad.status_code == 400 and "value" in bad.json()["errors"]
    erased_kind = reviewer_a.post("/api/v1/suppressions", {"kind": "erased", "value": "x"}, content_type="application/json")
    assert erased_kind.status_code == 400
    listing = reviewer_a.get("/api/v1/suppressions").json()
    assert [e["value"] for e in listing["results"]] == ["spam.example"]
    assert reviewer_a.delete(f"/api/v1/suppressions/{created.json()['id']}").status_code == 204
    assert reviewer_a.get("/api/v1/suppressions").json()["count"] == 0


def test_erasure_is_for_admins_and_its_record_cannot_be_deleted(tenant_a):
    with schema_context("tenant_a"):
        make_lead(status="approved", email="forget@me.com")
    reviewer = client_for("a.localhost", "tenant_a", "reviewer")
    assert reviewer.post("/api/v1/erasure", {"email": "forget@me.com"}, content_type="application/json").status_code == 403
    admin = client_for("a.localhost", "tenant_a", "admin")
    response = admin.post("/api/v1/erasure", {"email": "forget@me.com"}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"erased_leads": 1}
    assert admin.post("/api/v1/erasure", {}, content_type="application/json").status_code == 400
    with schema_context("tenant_a"):
        entry = SuppressionEntry.objects.get(kind="erased")
        assert not Lead.objects.filter(email="forget@me.com").exists()
    assert admin.delete(f"/api/v1/suppressions/{entry.pk}").status_code == 409


def test_suppression_entries_of_a_are_invisible_on_b(reviewer_a, tenant_b):
    entry_id = reviewer_a.post("/api/v1/suppressions", {"kind": "email", "value": "a@a.com"},
                               content_type="application/json").json()["id"]
    with schema_context("tenant_b"):
        SuppressionEntry.objects.filter(pk=entry_id).delete()
    reviewer_b = client_for("b.localhost", "tenant_b", "reviewer")
    assert reviewer_b.delete(f"/api/v1/suppressions/{entry_id}").status_code == 404
    assert reviewer_b.get("/api/v1/suppressions").json()["count"] == 0


def test_openapi_schema_documents_the_export_endpoints(reviewer_a):
    response = reviewer_a.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/exports", "/api/v1/exports/{export_id}", "/api/v1/exports/{export_id}/download",
            "/api/v1/suppressions", "/api/v1/erasure"} <= set(paths)
    assert "requestBody" in paths["/api/v1/exports"]["post"]
