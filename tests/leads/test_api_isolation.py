"""Tenant A's credentials and ids get nothing on tenant B's host, on every route."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from leads.models import ImportBatch, Lead
from tests.factories import make_lead, make_user
from tests.leads.conftest import Api, jwt_for, make_api_key

pytestmark = pytest.mark.usefixtures("fresh_throttles")

# (method, path template, body); {lead} and {batch} are ids that exist in tenant A only.
ROUTES = [
    ("get", "/api/v1/leads", None),
    ("get", "/api/v1/leads/{lead}", None),
    ("patch", "/api/v1/leads/{lead}", {"title": "x"}),
    ("put", "/api/v1/leads/{lead}/review", {"decision": "approved"}),
    ("post", "/api/v1/leads/batch", {"source": "x", "leads": [{"email": "intruder@x.com"}]}),
    ("post", "/api/v1/leads/import", "csv"),
    ("get", "/api/v1/imports", None),
    ("get", "/api/v1/imports/{batch}", None),
    ("get", "/api/v1/imports/{batch}/errors.csv", None),
]
ID_ROUTES = [r for r in ROUTES if "{" in r[1]]


@pytest.fixture
def a_ids(tenant_a, tenant_b):
    """A lead and an import batch of tenant A whose ids do not exist in tenant B."""
    with schema_context("tenant_a"):
        lead = make_lead(status="pending_review")
        batch = ImportBatch.objects.create(source="a-only")
    with schema_context("tenant_b"):
        Lead.objects.filter(pk=lead.pk).delete()
        ImportBatch.objects.filter(pk=batch.pk).delete()
    return {"lead": lead.pk, "batch": batch.pk}


def call(api: Api, method: str, path: str, body):
    if body == "csv":
        return api.client.post(path, {"file": SimpleUploadedFile("x.csv", b"email\nintruder@x.com\n")},
                               **api.headers)
    return getattr(api, method)(path, body) if body is not None else getattr(api, method)(path)


def credentials_of_a(kind: str) -> Api:
    if kind == "jwt":
        return Api("b.localhost", f"Bearer {jwt_for('tenant_a', 'admin@a.test', 'pw-admin-123')['access']}")
    if kind == "api_key":
        return Api("b.localhost", f"Api-Key {make_api_key('tenant_a')}")
    # a session cookie of tenant A, replayed on B's host
    api = Api("a.localhost")
    with schema_context("tenant_a"):
        api.client.force_login(make_user("admin"))
    cookie = api.client.cookies
    other = Api("b.localhost")
    other.client.cookies = cookie
    return other


@pytest.mark.parametrize("kind", ["jwt", "api_key", "session"])
@pytest.mark.parametrize("method, path, body", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_credentials_of_tenant_a_are_refused_on_tenant_b(a_ids, kind, method, path, body):
    api = credentials_of_a(kind)
    with schema_context("tenant_b"):
        before = Lead.objects.count()
    response = call(api, method, path.format(**a_ids), body)
    assert response.status_code == 401, (kind, path, response.content)
    with schema_context("tenant_b"):
        assert Lead.objects.count() == before


@pytest.mark.parametrize("method, path, body", ID_ROUTES, ids=[f"{m} {p}" for m, p, _ in ID_ROUTES])
def test_ids_of_tenant_a_are_not_found_on_tenant_b(a_ids, method, path, body):
    b_admin = Api("b.localhost", f"Bearer {jwt_for('tenant_b', 'admin@b.test', 'pw-admin-123')['access']}")
    response = call(b_admin, method, path.format(**a_ids), body)
    assert response.status_code == 404, (path, response.content)
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=a_ids["lead"]).status == "pending_review"


def test_refresh_token_of_a_is_refused_on_b(tenant_a, tenant_b):
    refresh = jwt_for("tenant_a", "admin@a.test", "pw-admin-123")["refresh"]
    assert Api("b.localhost").post("/api/v1/auth/refresh", {"refresh": refresh}).status_code == 401


def test_credentials_of_a_do_not_sign_in_on_b(tenant_a, tenant_b):
    response = Api("b.localhost").post("/api/v1/auth/login", {"email": "admin@a.test", "password": "pw-admin-123"})
    assert response.status_code == 401


def test_a_reads_its_own_lead_with_the_same_credentials_kinds(a_ids):
    """The refusals above are about the tenant, not broken credentials."""
    jwt = jwt_for("tenant_a", "admin@a.test", "pw-admin-123")["access"]
    for api in (Api("a.localhost", f"Bearer {jwt}"), Api("a.localhost", f"Api-Key {make_api_key('tenant_a')}")):
        assert api.get(f"/api/v1/leads/{a_ids['lead']}").status_code == 200


