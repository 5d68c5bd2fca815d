"""System API on the public host, for superusers of the public schema."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from leads.models import AuditEvent, LeadStatus
from tenants.models import GlobalDefaults, Tenant
from tests.factories import make_lead
from tests.leads.settings_support import as_role, logged_in, people_a  # noqa: F401

User = get_user_model()


@pytest.fixture
def operator(db):
    with schema_context("public"):
        return User.objects.create_superuser(username="op@leadhub.test", email="op@leadhub.test", password="pw-op-12345")


@pytest.fixture
def system(operator):
    return logged_in("localhost", operator)


def test_lists_tenants_with_plan_quota_and_domains(system):
    response = system.get("/api/v1/tenants")
    assert response.status_code == 200
    rows = {row["slug"]: row for row in response.json()}
    assert rows["tenant_a"]["domains"] == ["a.localhost"]
    assert rows["tenant_a"]["is_active"] is True
    assert "public" not in rows


def test_create_provisions_schema_domain_and_first_admin(system):
    response = system.post("/api/v1/tenants", {"slug": "acme", "name": "Acme", "domain": "Acme.Localhost",
                                               "admin_email": "boss@acme.test", "plan": "growth", "lead_quota": 5000},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["slug"], body["plan"], body["lead_quota"], body["domains"]) == ("acme", "growth", 5000, ["acme.localhost"])
    assert body["admin_password"]  # generated, shown once
    assert schema_exists("acme")
    with schema_context("acme"):
        assert User.objects.get(username="boss@acme.test").check_password(body["admin_password"])
    login = Client(HTTP_HOST="acme.localhost").post(
        "/admin/login/", {"username": "boss@acme.test", "password": body["admin_password"], "next": "/admin/"})
    assert login.status_code == 302 and login["Location"] == "/admin/"
    assert system.get("/api/v1/tenants/acme").json()["name"] == "Acme"


@pytest.mark.parametrize("body, field", [
    ({"slug": "tenant_a", "domain": "x.localhost"}, "slug"),
    ({"slug": "public", "domain": "x.localhost"}, "slug"),
    ({"slug": "Bad-Slug", "domain": "x.localhost"}, "slug"),
    ({"slug": "fresh", "domain": "a.localhost"}, "domain"),
    ({"slug": "fresh", "domain": "x.localhost", "plan": "platinum"}, "plan"),
    ({"slug": "fresh", "domain": "x.localhost", "lead_quota": -1}, "lead_quota"),
])
def test_bad_tenant_input_creates_nothing(system, body, field):
    before = Tenant.objects.count()
    response = system.post("/api/v1/tenants", {"admin_email": "x@y.test", **body}, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Tenant.objects.count() == before
    assert not schema_exists("fresh")


def test_suspend_and_reactivate(system, as_role):
    client = as_role("viewer")
    assert system.post("/api/v1/tenants/tenant_a/suspend").json()["is_active"] is False
    assert client.get("/").status_code == 403
    assert system.post("/api/v1/tenants/tenant_a/reactivate").json()["is_active"] is True
    assert client.get("/").status_code == 200


def test_change_plan_and_quota(system):
    response = system.patch("/api/v1/tenants/tenant_b", {"plan": "enterprise", "lead_quota": 0},
                            content_type="application/json")
    assert response.status_code == 200
    assert Tenant.objects.get(schema_name="tenant_b").plan == "enterprise"
    with schema_context("tenant_b"):
        event = AuditEvent.objects.get(action="tenant_changed")
        assert event.changes == {"plan": ["starter", "enterprise"], "lead_quota": [1000000, 0]}
        assert event.actor == "system:op@leadhub.test"
    assert system.patch("/api/v1/tenants/tenant_b", {"is_active": False},
                        content_type="application/json").status_code == 400


def test_usage_counts_leads_per_status_from_each_schema(system):
    with schema_context("tenant_a"):
        make_lead(status=LeadStatus.NEW)
        make_lead(status=LeadStatus.APPROVED)
        make_lead(status=LeadStatus.APPROVED)
    with schema_context("tenant_b"):
        make_lead(status=LeadStatus.REJECTED)
    a = system.get("/api/v1/tenants/tenant_a/usage").json()
    assert a["leads_total"] == 3
    assert a["leads_by_status"]["approved"] == 2
    assert a["leads_by_status"]["new"] == 1
    assert a["leads_by_status"]["rejected"] == 0
    every = {row["tenant"]: row for row in system.get("/api/v1/tenants/usage").json()}
    assert every["tenant_b"]["leads_total"] == 1
    assert every["tenant_b"]["leads_by_status"]["rejected"] == 1


def test_global_defaults_are_validated_and_reach_tenants(system, as_role):
    response = system.patch("/api/v1/global-defaults", {"scoring_weights": {"nope": 1}, "default_region": "ZZ"},
                            content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"scoring_weights", "default_region"}
    response = system.patch("/api/v1/global-defaults", {"scoring_weights": {"industry": 12}, "enable_verification": False},
                            content_type="application/json")
    assert response.status_code == 200, response.content
    assert GlobalDefaults.objects.get(pk=1).scoring_weights == {"industry": 12}
    tenant_view = as_role("admin").get("/api/v1/settings").json()
    assert tenant_view["effective_weights"]["industry"] == 12
    assert tenant_view["effective"]["enable_verification"] is False


def test_not_for_anonymous_or_staff_who_are_not_superusers(public_client, db):
    assert public_client.get("/api/v1/tenants").status_code in (401, 403)
    with schema_context("public"):
        staff = User.objects.create_user(username="staff@leadhub.test", password="pw-staff-123", is_staff=True)
    client = logged_in("localhost", staff)
    assert client.get("/api/v1/tenants").status_code == 403
    assert client.post("/api/v1/tenants/tenant_a/suspend").status_code == 403
    assert Tenant.objects.get(schema_name="tenant_a").is_active


def test_tenant_admins_cannot_reach_the_system_api(as_role):
    """A tenant superuser on a tenant host: the routes do not exist there."""
    client = as_role("admin")
    for path in ("/api/v1/tenants", "/api/v1/global-defaults", "/api/v1/tenants/tenant_b/suspend"):
        assert client.get(path).status_code == 404
        assert client.post(path).status_code in (404, 405)
    assert Tenant.objects.get(schema_name="tenant_b").is_active


def test_tenant_credentials_mean_nothing_on_the_public_host(public_client, as_role):
    """An API key or JWT header on the public host is not looked up in tenant tables (no 500)."""
    for header in ("Api-Key abcdefgh.notakey", "Bearer not.a.jwt"):
        response = public_client.get("/api/v1/tenants", HTTP_AUTHORIZATION=header)
        assert response.status_code in (401, 403)
    # A tenant admin's session cookie belongs to the tenant's schema, not the public one.
    client = as_role("admin")
    client.defaults["HTTP_HOST"] = "localhost"
    assert client.get("/api/v1/tenants").status_code in (401, 403)
    assert Tenant.objects.get(schema_name="tenant_b").is_active


# --- Operators' JWTs --------------------------------------------------------------

def _login(host: str, email: str, password: str):
    return Client(HTTP_HOST=host).post("/api/v1/auth/login", {"email": email, "password": password},
                                       content_type="application/json")


@pytest.fixture
def operator_tokens(operator, fresh_throttles):
    response = _login("localhost", "op@leadhub.test", "pw-op-12345")
    assert response.status_code == 200, response.content
    return response.json()


def test_an_operator_scripts_the_system_api_with_a_jwt(operator_tokens):
    api = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {operator_tokens['access']}")
    assert "tenant_a" in {row["slug"] for row in api.get("/api/v1/tenants").json()}
    response = api.post("/api/v1/tenants/tenant_b/suspend")
    assert response.status_code == 200, response.content
    assert not Tenant.objects.get(schema_name="tenant_b").is_active
    api.post("/api/v1/tenants/tenant_b/reactivate")

    # Rotation: the new refresh token works once, the old one never again.
    refresh = Client(HTTP_HOST="localhost").post("/api/v1/auth/refresh", {"refresh": operator_tokens["refresh"]},
                                                 content_type="application/json")
    assert refresh.status_code == 200 and refresh.json()["access"]
    again = Client(HTTP_HOST="localhost").post("/api/v1/auth/refresh", {"refresh": operator_tokens["refresh"]},
                                               content_type="application/json")
    assert again.status_code == 401


def test_operator_tokens_mean_nothing_on_tenant_hosts(operator_tokens, tenant_a):
    api = Client(HTTP_HOST="a.localhost", HTTP_AUTHORIZATION=f"Bearer {operator_tokens['access']}")
    assert api.get("/api/v1/leads").status_code == 401
    refresh = Client(HTTP_HOST="a.localhost").post("/api/v1/auth/refresh", {"refresh": operator_tokens["refresh"]},
                                                   content_type="application/json")
    assert refresh.status_code == 401


def test_tenant_tokens_and_users_mean_nothing_to_the_system_api(tenant_a, fresh_throttles, db):
    tenant_tokens = _login("a.localhost", "admin@a.test", "pw-admin-123")
    assert tenant_tokens.status_code == 200
    api = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {tenant_tokens.json()['access']}")
    assert api.get("/api/v1/tenants").status_code == 401
    # The tenant's admin is no user of the public schema.
    assert _login("localhost", "admin@a.test", "pw-admin-123").status_code == 401


def test_a_public_user_who_is_not_a_superuser_gets_a_token_but_no_system_api(fresh_throttles, db):
    with schema_context("public"):
        User.objects.create_user(username="staff@leadhub.test", email="staff@leadhub.test", password="pw-staff-123",
                                 is_staff=True)
    tokens = _login("localhost", "staff@leadhub.test", "pw-staff-123")
    assert tokens.status_code == 200
    api = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    assert api.get("/api/v1/tenants").status_code == 403
    assert api.post("/api/v1/tenants/tenant_a/suspend").status_code == 403


@pytest.mark.parametrize("path", ["/api/v1/tenants/tenant_a", "/api/v1/global-defaults"])
@pytest.mark.parametrize("body", ["0.0", "[]", '"x"'])
def test_a_patch_body_that_is_not_an_object_is_a_400(system, path, body):
    response = system.patch(path, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["non_field_errors"]
    assert Tenant.objects.get(schema_name="tenant_a").name
