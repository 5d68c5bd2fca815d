"""A suspended tenant answers 403 everywhere but /healthz; reactivation restores everything."""
import pytest
from django_tenants.utils import schema_context

from leads.models import AuditEvent
from leads.services.apikeys import api_key_create
from tenants.models import Tenant
from tenants.selectors import active_tenant_schemas
from tenants.services import TenantError, tenant_set_active
from tests.leads.settings_support import as_role, people_a  # noqa: F401


def suspend(slug="tenant_a", active=False):
    with schema_context("public"):
        tenant_set_active(tenant=Tenant.objects.get(schema_name=slug), is_active=active, actor="system:op")


def test_suspended_tenant_api_answers_403_with_a_clear_message(as_role):
    client = as_role("admin")
    assert client.get("/api/v1/settings").status_code == 200
    suspend()
    response = client.get("/api/v1/settings")
    assert response.status_code == 403
    assert "suspended" in response.json()["detail"]
    assert response.json()["errors"] == {}


def test_suspended_tenant_pages_and_admin_answer_403(as_role, client_a):
    suspend()
    for client, path in ((client_a, "/"), (as_role("admin"), "/admin/"), (client_a, "/admin/login/")):
        response = client.get(path)
        assert response.status_code == 403
        assert b"suspended" in response.content


def test_health_check_stays_open(client_a):
    suspend()
    assert client_a.get("/healthz").status_code == 200


def test_api_keys_stop_at_the_same_check_and_work_again_after_reactivation(tenant_a, client_a):
    with schema_context("tenant_a"):
        _, key = api_key_create(name="machine", scopes=["read"])
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}"}
    assert client_a.get("/api/v1/leads", **headers).status_code == 200
    suspend()
    response = client_a.get("/api/v1/leads", **headers)
    assert response.status_code == 403
    assert "suspended" in response.json()["detail"]
    suspend(active=True)
    assert client_a.get("/api/v1/leads", **headers).status_code == 200


def test_jwts_stop_too(tenant_a, client_a, fresh_throttles):
    login = client_a.post("/api/v1/auth/login", {"email": "admin@a.test", "password": "pw-admin-123"},
                          content_type="application/json")
    assert login.status_code == 200, login.content
    headers = {"HTTP_AUTHORIZATION": f"Bearer {login.json()['access']}"}
    assert client_a.get("/api/v1/settings", **headers).status_code == 200
    suspend()
    assert client_a.get("/api/v1/settings", **headers).status_code == 403
    assert client_a.post("/api/v1/auth/login", {"email": "admin@a.test", "password": "pw-admin-123"},
                         content_type="application/json").status_code == 403


def test_other_tenants_are_untouched(as_role, client_b):
    suspend()
    assert client_b.get("/login/").status_code == 200


def test_reactivation_restores_everything(as_role, client_a):
    client = as_role("admin")
    suspend()
    assert client.get("/api/v1/settings").status_code == 403
    suspend(active=True)
    assert client.get("/api/v1/settings").status_code == 200
    assert client_a.get("/login/").status_code == 200
    assert "tenant_a" in active_tenant_schemas()


def test_schedules_skip_suspended_tenants(tenant_a):
    assert {"tenant_a", "tenant_b"} <= set(active_tenant_schemas())
    suspend()
    assert "tenant_a" not in active_tenant_schemas()
    assert "tenant_b" in active_tenant_schemas()
    assert "public" not in active_tenant_schemas()


def test_suspension_and_reactivation_are_in_the_tenant_audit_log(tenant_a):
    suspend()
    suspend(active=True)
    with schema_context("tenant_a"):
        actions = list(AuditEvent.objects.filter(object_type="tenant").order_by("id").values_list("action", "actor"))
    assert actions == [("tenant_suspended", "system:op"), ("tenant_reactivated", "system:op")]


def test_public_tenant_cannot_be_suspended(db):
    with schema_context("public"):
        with pytest.raises(TenantError):
            tenant_set_active(tenant=Tenant.objects.get(schema_name="public"), is_active=False)
