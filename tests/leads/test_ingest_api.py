"""POST /api/v1/leads/batch: per-row results, limits, idempotency, upsert, quota."""
import json

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from leads.models import AuditEvent, ImportBatch, ImportRowError, Lead
from leads.models.lead import NORMALIZED_DEFAULTS
from leads.services.ingest import _lead_factory, validate_row
from processing.normalization import NORMALIZED_KEYS, normalize_lead
from tenants.models import Tenant

pytestmark = pytest.mark.usefixtures("fresh_throttles")
URL = "/api/v1/leads/batch"


def lead(n, **extra):
    return {"email": f"p{n}@corp{n}.com", "first_name": "Pat", "last_name": f"N{n}", "company": f"Corp {n}", **extra}


def test_mixed_batch_stores_valid_rows_and_reports_every_row(api_a):
    rows = [
        lead(1),
        {"email": "not-an-email", "company": "X"},
        {"first_name": "Nobody"},
        {"phone": "+1 415 555 0100"},
        {"company": "Only Company Ltd"},
        {"linkedin_url": "https://linkedin.com/in/x", "Favourite Color": "blue"},
    ]
    response = api_a.post(URL, {"source": "n8n", "leads": rows})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["index"] for r in body["rows"]] == list(range(6))
    assert [r["outcome"] for r in body["rows"]] == ["created", "invalid", "invalid", "created", "created", "created"]
    assert body["rows"][1]["errors"] == {"email": ["Enter a valid email address."]}
    assert "non_field_errors" in body["rows"][2]["errors"]
    assert body["summary"] == {"created": 4, "updated": 0, "duplicate": 0, "invalid": 2}
    with schema_context("tenant_a"):
        stored = Lead.objects.filter(source="n8n")
        assert stored.count() == 4
        linked = stored.get(pk=body["rows"][5]["id"])
        assert linked.custom_fields == {"Favourite Color": "blue"}
        assert linked.raw == rows[5]
        assert linked.batch_id == body["batch"]
        batch = ImportBatch.objects.get(pk=body["batch"])
        assert (batch.total_rows, batch.created_count, batch.invalid_count, batch.status) == (6, 4, 2, "done")
        assert ImportRowError.objects.filter(batch=batch).count() == 2
        assert AuditEvent.objects.filter(lead__source="n8n", action="created").count() == 4


def test_raw_keeps_the_row_exactly_and_aliases_fill_contact_fields(api_a):
    row = {"E-mail": " Jane@Acme.com ", "Job Title": "CTO", "Company Name": "Acme", "Phone Number": 4155550100,
           "custom_fields": {"tier": "gold"}, "Nested": {"a": [1, 2]}}
    response = api_a.post(URL, {"source": "alias", "leads": [row]})
    assert response.status_code == 200, response.content
    with schema_context("tenant_a"):
        stored = Lead.objects.get(pk=response.json()["rows"][0]["id"])
    assert stored.raw == row
    # Contact fields may be normalized inline (lower-case email, E.164 phone); raw keeps what was sent.
    assert (stored.email.lower(), stored.title, stored.company) == ("jane@acme.com", "CTO", "Acme")
    assert "".join(c for c in stored.phone if c.isdigit()).endswith("4155550100")
    assert stored.custom_fields == {"tier": "gold", "Nested": {"a": [1, 2]}}


def test_1001_rows_are_refused_and_nothing_is_stored(api_a):
    response = api_a.post(URL, {"source": "big", "leads": [lead(i) for i in range(1001)]})
    assert response.status_code == 400
    body = response.json()
    assert "1000" in body["errors"]["leads"][0]
    assert set(body) >= {"detail", "errors"}
    with schema_context("tenant_a"):
        assert not Lead.objects.filter(source="big").exists()
        assert not ImportBatch.objects.filter(source="big").exists()


@pytest.mark.parametrize("payload, content_type, status", [
    ("{not json", "application/json", 400),
    ("email=a@b.com", "application/x-www-form-urlencoded", 415),
    ('{"source": "x", "leads": []}', "application/json", 400),
    ('{"source": "x", "leads": {"email": "a@b.com"}}', "application/json", 400),
    ('[{"email": "a@b.com"}]', "application/json", 400),
])
def test_malformed_bodies_get_a_clear_4xx_and_store_nothing(api_a, payload, content_type, status):
    with schema_context("tenant_a"):
        before = Lead.objects.count()
    response = api_a.client.post(URL, payload, content_type=content_type)
    assert response.status_code == status
    assert response.json()["detail"]
    assert "errors" in response.json()
    with schema_context("tenant_a"):
        assert Lead.objects.count() == before


def test_every_row_invalid_is_a_400_with_rows(api_a):
    response = api_a.post(URL, {"source": "bad", "leads": [{"first_name": "x"}, {"email": "nope"}]})
    assert response.status_code == 400
    assert [r["outcome"] for r in response.json()["rows"]] == ["invalid", "invalid"]


def test_retry_with_same_idempotency_key_stores_nothing_twice(api_a):
    payload = {"source": "retry", "leads": [lead(10), lead(11)]}
    first = api_a.post(URL, payload, headers={"HTTP_IDEMPOTENCY_KEY": "abc-123"})
    second = api_a.post(URL, payload, headers={"HTTP_IDEMPOTENCY_KEY": "abc-123"})
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    with schema_context("tenant_a"):
        assert Lead.objects.filter(source="retry").count() == 2
        assert ImportBatch.objects.filter(source="retry").count() == 1


def test_idempotency_key_reused_for_another_body_is_refused(api_a):
    api_a.post(URL, {"source": "k", "leads": [lead(12)]}, headers={"HTTP_IDEMPOTENCY_KEY": "same"})
    response = api_a.post(URL, {"source": "k", "leads": [lead(13)]}, headers={"HTTP_IDEMPOTENCY_KEY": "same"})
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["errors"]


def test_same_source_and_external_id_updates_instead_of_duplicating(api_a):
    first = api_a.post(URL, {"source": "crm", "leads": [lead(20, external_id="ext-1", title="Engineer")]})
    assert first.json()["rows"][0]["outcome"] == "created"
    lead_id = first.json()["rows"][0]["id"]
    second = api_a.post(URL, {"source": "crm", "leads": [
        {"external_id": "ext-1", "email": "p20@corp20.com", "title": "CTO", "extra": "x"}]})
    row = second.json()["rows"][0]
    assert (row["outcome"], row["id"]) == ("updated", lead_id)
    with schema_context("tenant_a"):
        assert Lead.objects.filter(source="crm", external_id="ext-1").count() == 1
        stored = Lead.objects.get(pk=lead_id)
        assert stored.title == "CTO"
        assert stored.company == "Corp 20"  # not sent again: kept
        assert stored.custom_fields == {"extra": "x"}
    # another source with the same external id is another lead
    other = api_a.post(URL, {"source": "web", "leads": [lead(21, external_id="ext-1")]})
    assert other.json()["rows"][0]["outcome"] == "created"


def test_repeated_external_id_in_one_request_is_created_then_updated(api_a):
    response = api_a.post(URL, {"source": "dup", "leads": [
        lead(30, external_id="e", title="A"), lead(30, external_id="e", title="B")]})
    rows = response.json()["rows"]
    assert [r["outcome"] for r in rows] == ["created", "updated"]
    assert rows[0]["id"] == rows[1]["id"]
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=rows[0]["id"]).title == "B"


def test_dry_run_reports_and_writes_nothing(api_a):
    api_a.post(URL, {"source": "dry", "leads": [lead(40, external_id="d1")]})
    with schema_context("tenant_a"):
        before = (Lead.objects.count(), ImportBatch.objects.count(), AuditEvent.objects.count())
    response = api_a.post(URL + "?dry_run=1", {"source": "dry", "leads": [
        lead(40, external_id="d1"), lead(41), {"email": "bad"}]})
    body = response.json()
    assert response.status_code == 200
    assert body["dry_run"] is True and body["batch"] is None
    assert [r["outcome"] for r in body["rows"]] == ["updated", "created", "invalid"]
    with schema_context("tenant_a"):
        assert (Lead.objects.count(), ImportBatch.objects.count(), AuditEvent.objects.count()) == before


@pytest.fixture
def quota_a(tenant_a):
    """Sets tenant A's quota to (current leads + n) for the test."""
    original = tenant_a.lead_quota

    def set_room(n):
        with schema_context("tenant_a"):
            count = Lead.objects.count()
        with schema_context("public"):
            Tenant.objects.filter(pk=tenant_a.pk).update(lead_quota=count + n)
        return count + n

    yield set_room
    with schema_context("public"):
        Tenant.objects.filter(pk=tenant_a.pk).update(lead_quota=original)


def test_quota_refuses_rows_beyond_it_with_a_clear_403(api_a, quota_a):
    quota = quota_a(2)
    response = api_a.post(URL, {"source": "quota", "leads": [lead(50), lead(51), lead(52), lead(53)]})
    assert response.status_code == 403
    body = response.json()
    assert body["refused"] == 2 and body["quota"] == quota
    assert str(quota) in body["detail"] and "2 rows refused" in body["detail"]
    assert "quota" in body["errors"]
    assert [r["outcome"] for r in body["rows"]] == ["created", "created", "invalid", "invalid"]
    with schema_context("tenant_a"):
        assert Lead.objects.filter(source="quota").count() == 2


def test_updates_are_allowed_when_the_quota_is_full(api_a, quota_a):
    api_a.post(URL, {"source": "q2", "leads": [lead(60, external_id="q")]})
    quota_a(0)
    response = api_a.post(URL, {"source": "q2", "leads": [lead(60, external_id="q", title="New")]})
    assert response.status_code == 200
    assert response.json()["rows"][0]["outcome"] == "updated"


def test_user_rate_limit_answers_429_with_retry_after(api_a, settings):
    settings.LEADHUB_THROTTLE_RATES = {**settings.LEADHUB_THROTTLE_RATES, "user": "2/min"}
    codes = [api_a.get("/api/v1/leads").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    response = api_a.get("/api/v1/leads")
    assert int(response["Retry-After"]) > 0
    assert response.json()["detail"]


def test_api_key_rate_limit_is_per_key(keyapi_a, settings, tenant_a):
    from tests.leads.conftest import Api, make_api_key

    settings.LEADHUB_THROTTLE_RATES = {**settings.LEADHUB_THROTTLE_RATES, "api_key": "1/min"}
    assert keyapi_a.get("/api/v1/leads").status_code == 200
    limited = keyapi_a.get("/api/v1/leads")
    assert limited.status_code == 429 and "Retry-After" in limited
    other = Api("a.localhost", f"Api-Key {make_api_key('tenant_a')}")
    assert other.get("/api/v1/leads").status_code == 200


def test_viewer_cannot_ingest(viewer_a):
    from tests.leads.conftest import session_api

    api = session_api("tenant_a", viewer_a)
    assert api.post(URL, {"source": "v", "leads": [lead(70)]}).status_code == 403


def test_read_only_api_key_cannot_ingest_but_can_read(tenant_a):
    from tests.leads.conftest import Api, make_api_key

    api = Api("a.localhost", f"Api-Key {make_api_key('tenant_a', scopes=('read',))}")
    assert api.get("/api/v1/leads").status_code == 200
    assert api.post(URL, {"source": "r", "leads": [lead(71)]}).status_code == 403


@pytest.mark.parametrize("email, valid", [
    ("a@b.co", True), ("first.last+tag@sub.example.com", True), ("user@bücher.de", True), ("x@[127.0.0.1]", True),
    ("no-at-sign", False), ("a@b", False), ("two@@at.com", False), ("sp ace@x.com", False), ("a@-bad-.com", False),
    ("a..b@x.com", False), (".a@x.com", False), ("a.@x.com", False), ("a@x..com", False), ("a@x.c", False),
    ("a@x.com.", False), ("o'brien@x.ie", True), ("a%b@x.com", True), ("a@x-y.co.uk", True), ("a@x.123", False),
    ('"quoted"@x.com', True), ('"quoted name"@x.com', False), ("a@localhost", True), ("A_B-C+D@X.COM", True),
])
def test_email_rules_match_djangos_validator(email, valid):
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from leads.services.ingest import is_valid_email

    try:
        validate_email(email)
        django_says = True
    except ValidationError:
        django_says = False
    assert is_valid_email(email) is valid is django_says


def test_idempotency_keys_expire_after_a_day(api_a):
    from datetime import timedelta

    from django.utils import timezone

    from leads.models import IdempotentRequest

    payload = {"source": "old-key", "leads": [lead(90, external_id="ok-1")]}
    api_a.post(URL, payload, headers={"HTTP_IDEMPOTENCY_KEY": "old"})
    with schema_context("tenant_a"):
        IdempotentRequest.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    again = api_a.post(URL, payload, headers={"HTTP_IDEMPOTENCY_KEY": "old"})
    assert "Idempotent-Replayed" not in again
    assert again.json()["rows"][0]["outcome"] == "updated"  # external_id still prevents a duplicate


def _normalized_in_memory(row: dict) -> dict:
    fields, errors = validate_row(row)
    assert not errors
    lead = _lead_factory().build(fields)
    normalize_lead(lead, default_region="US")
    return lead.normalized


@pytest.mark.parametrize("row", [
    lead(1, phone="+44 20 7946 0958", website="corp1.com", country="UK"),
    {"email": "Info@Gmial.com", "full_name": "Dr. Ann \"Annie\" Lee Jr.", "phone": "not a number x12"},
    {"company": "Only Company Ltd"},
])
def test_new_leads_store_normalized_without_default_flags_and_read_back_whole(api_a, row):
    expected = _normalized_in_memory(row)
    response = api_a.post(URL, {"source": "compact", "leads": [row]})
    lead_id = response.json()["rows"][0]["id"]
    with schema_context("tenant_a"):
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT normalized::text FROM "{Lead._meta.db_table}" WHERE id = %s', [lead_id])
            stored = json.loads(cursor.fetchone()[0])
        assert stored == {k: v for k, v in expected.items() if k not in NORMALIZED_DEFAULTS or v != NORMALIZED_DEFAULTS[k]}
        assert len(stored) < len(NORMALIZED_KEYS)
        assert Lead.objects.get(pk=lead_id).normalized == expected
    # The API shows the whole document, in the order a document stored whole reads back in.
    body = api_a.get(f"/api/v1/leads/{lead_id}").json()
    assert body["normalized"] == expected
    assert list(body["normalized"]) == sorted(NORMALIZED_KEYS, key=lambda key: (len(key), key))


def test_a_normalized_document_not_written_by_normalization_reads_back_as_stored(api_a):
    with schema_context("tenant_a"):
        stored = Lead.objects.create(email="plain@corp.com", normalized={"email_valid": True})
        assert Lead.objects.get(pk=stored.pk).normalized == {"email_valid": True}
        empty = Lead.objects.create(email="empty@corp.com")
        assert Lead.objects.get(pk=empty.pk).normalized == {}


def test_a_normalized_document_with_other_keys_is_filled_in_jsonb_order(api_a):
    with schema_context("tenant_a"):
        stored = Lead.objects.create(email="extra@corp.com", normalized={"version": 1, "is_free": True, "zz_later": 2})
        normalized = Lead.objects.get(pk=stored.pk).normalized
    assert normalized == {**NORMALIZED_DEFAULTS, "version": 1, "is_free": True, "zz_later": 2}
    assert list(normalized) == sorted(normalized, key=lambda key: (len(key), key))
