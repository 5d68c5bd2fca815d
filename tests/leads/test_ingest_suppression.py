"""Ingestion refuses suppressed people: an email on the do-not-contact list, on a
listed domain, or erased under GDPR is an `invalid` row with the reason, and nothing
of it is stored (API batch, CSV upload, dry run)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from leads.models import ImportRowError, Lead
from leads.services.suppression import REASONS, lead_erase, suppression_add
from tests.factories import make_lead

pytestmark = pytest.mark.usefixtures("fresh_throttles")

ERASED = REASONS["erased"]
LISTED = REASONS["email"]
DOMAIN = REASONS["domain"]


@pytest.fixture
def suppressed(tenant_a):
    with schema_context("tenant_a"):
        make_lead(email="gone@erased.test")
        lead_erase(email="gone@erased.test")
        suppression_add(kind="email", value="stop@listed.test", reason="asked us to stop")
        suppression_add(kind="domain", value="competitor.test")


def test_batch_refuses_erased_listed_and_domain_emails_with_their_reason(api_a, suppressed):
    response = api_a.post("/api/v1/leads/batch", {"source": "n8n", "leads": [
        {"email": "Gone@Erased.test", "first_name": "Back"},
        {"email": "ok@fine.test"},
        {"email": "stop@listed.test", "external_id": "x-1"},
        {"email": "anyone@competitor.test", "company": "Competitor"},
    ]})
    assert response.status_code == 200, response.content
    rows = response.json()["rows"]
    assert [r["outcome"] for r in rows] == ["invalid", "created", "invalid", "invalid"]
    assert rows[0]["errors"] == {"email": [ERASED]}
    assert rows[2]["errors"] == {"email": [LISTED]}
    assert rows[3]["errors"] == {"email": [DOMAIN]}
    assert response.json()["summary"] == {"created": 1, "updated": 0, "duplicate": 0, "invalid": 3}
    with schema_context("tenant_a"):
        assert list(Lead.objects.filter(source="n8n").values_list("email", flat=True)) == ["ok@fine.test"]


def test_batch_of_only_suppressed_rows_stores_nothing(api_a, suppressed):
    response = api_a.post("/api/v1/leads/batch", {"source": "only", "leads": [{"email": "gone@erased.test"}]})
    assert response.status_code == 400
    assert response.json()["rows"][0]["errors"] == {"email": [ERASED]}
    with schema_context("tenant_a"):
        assert not Lead.objects.filter(source="only").exists()


def test_an_update_by_external_id_to_a_suppressed_email_is_refused(api_a, suppressed):
    first = api_a.post("/api/v1/leads/batch", {"source": "crm", "leads": [{"email": "a@fine.test", "external_id": "7"}]})
    lead_id = first.json()["rows"][0]["id"]
    again = api_a.post("/api/v1/leads/batch", {"source": "crm", "leads": [
        {"email": "stop@listed.test", "external_id": "7"}]})
    assert again.json()["rows"][0] == {"index": 0, "outcome": "invalid", "errors": {"email": [LISTED]}}
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=lead_id).email == "a@fine.test"


def test_dry_run_reports_suppressed_rows(api_a, suppressed):
    response = api_a.post("/api/v1/leads/batch?dry_run=1", {"source": "dry", "leads": [
        {"email": "gone@erased.test"}, {"email": "fresh@fine.test"}]})
    assert [r["outcome"] for r in response.json()["rows"]] == ["invalid", "created"]
    assert response.json()["rows"][0]["errors"] == {"email": [ERASED]}


def test_csv_import_refuses_suppressed_rows_and_keeps_them_with_the_reason(api_a, suppressed):
    content = ("Email,Name,Company\n"
               "gone@erased.test,Gone Again,Acme\n"
               "fine@ok.test,Fine Person,Acme\n"
               "boss@competitor.test,Boss,Competitor\n").encode()
    response = api_a.client.post("/api/v1/leads/import", {"file": SimpleUploadedFile("l.csv", content, "text/csv"),
                                                          "source": "csv-supp"}, **api_a.headers)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["created_count"], body["invalid_count"]) == (1, 2)
    with schema_context("tenant_a"):
        assert list(Lead.objects.filter(batch_id=body["id"]).values_list("email", flat=True)) == ["fine@ok.test"]
        refused = {e.row_number: e.errors for e in ImportRowError.objects.filter(batch_id=body["id"])}
    assert refused == {2: {"email": [ERASED]}, 4: {"email": [DOMAIN]}}  # file lines (the header is 1)
    errors_csv = b"".join(api_a.get(f"/api/v1/imports/{body['id']}/errors.csv").streaming_content).decode()
    assert "erased (GDPR)" in errors_csv and "gone@erased.test" in errors_csv


def test_suppression_of_tenant_a_does_not_refuse_in_tenant_b(suppressed, tenant_b):
    from tests.leads.conftest import make_api_key, Api

    api_b = Api("b.localhost", f"Api-Key {make_api_key('tenant_b')}")
    response = api_b.post("/api/v1/leads/batch", {"source": "b", "leads": [{"email": "stop@listed.test"}]})
    assert response.json()["rows"][0]["outcome"] == "created"
