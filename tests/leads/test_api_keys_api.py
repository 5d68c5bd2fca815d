"""GET/POST /api/v1/api-keys and DELETE /api/v1/api-keys/{id}: shown once, hashed, revocable, audited."""
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from leads.models import ApiKey, AuditEvent
from tests.leads.settings_support import admin_b, as_role, logged_in, people_a  # noqa: F401

URL = "/api/v1/api-keys"


def create(client, **body):
    return client.post(URL, {"name": "CRM sync", **body}, content_type="application/json")


def test_created_key_is_shown_once_and_stored_hashed(as_role, people_a):
    client = as_role("admin")
    response = create(client, scopes=["read"])
    assert response.status_code == 201, response.content
    body = response.json()
    key = body["key"]
    assert key.startswith(body["prefix"] + ".")
    assert body["scopes"] == ["read"]
    assert body["created_by"] == people_a["admin"].email
    with schema_context("tenant_a"):
        stored = ApiKey.objects.get(prefix=body["id"])
        assert key not in (stored.hashed_key, stored.id)
        assert ApiKey.objects.is_valid(key)
    listing = client.get(URL).json()
    assert [row["id"] for row in listing["results"]] == [body["id"]]
    assert "key" not in listing["results"][0]
    assert key not in client.get(f"{URL}/{body['id']}").content.decode()


def test_revoking_stops_the_key_and_keeps_the_row(as_role):
    client = as_role("admin")
    body = create(client).json()
    assert client.delete(f"{URL}/{body['id']}").status_code == 204
    with schema_context("tenant_a"):
        assert not ApiKey.objects.is_valid(body["key"])
        assert ApiKey.objects.get(prefix=body["id"]).revoked
    assert client.get(f"{URL}/{body['id']}").json()["revoked"] is True
    # Twice is harmless and audited once.
    assert client.delete(f"{URL}/{body['id']}").status_code == 204
    with schema_context("tenant_a"):
        assert AuditEvent.objects.filter(action="api_key_revoked", object_id=body["id"]).count() == 1


def test_expired_key_is_not_valid(as_role):
    body = create(as_role("admin"), expiry_date=(timezone.now() + timedelta(seconds=2)).isoformat()).json()
    with schema_context("tenant_a"):
        ApiKey.objects.filter(prefix=body["id"]).update(expiry_date=timezone.now() - timedelta(seconds=1))
        assert not ApiKey.objects.is_valid(body["key"])
    assert as_role("admin").get(f"{URL}/{body['id']}").json()["has_expired"] is True


def test_creation_and_revocation_are_audited(as_role, people_a):
    client = as_role("admin")
    body = create(client, scopes=["read", "write"]).json()
    client.delete(f"{URL}/{body['id']}")
    with schema_context("tenant_a"):
        created = AuditEvent.objects.get(action="api_key_created")
        assert created.object_id == body["id"]
        assert created.actor == f"user:{people_a['admin'].username}"
        assert created.changes["scopes"] == [None, ["read", "write"]]
        assert body["key"] not in str(created.changes)
        revoked = AuditEvent.objects.get(action="api_key_revoked")
        assert revoked.changes == {"revoked": [False, True]}


@pytest.mark.parametrize("body, field", [
    ({"scopes": ["delete_everything"]}, "scopes"),
    ({"scopes": []}, "scopes"),
    ({"name": ""}, "name"),
    ({"name": "x" * 51}, "name"),
    ({"expiry_date": "2001-01-01T00:00:00Z"}, "expiry_date"),
    ({"expiry_date": "next tuesday"}, "expiry_date"),
])
def test_bad_input_is_refused_with_field_messages(as_role, body, field):
    response = create(as_role("admin"), **body)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    with schema_context("tenant_a"):
        assert not ApiKey.objects.exists()


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_only_admins_manage_keys(as_role, role):
    key = create(as_role("admin")).json()
    client = as_role(role)
    assert client.get(URL).status_code == 403
    assert create(client).status_code == 403
    assert client.delete(f"{URL}/{key['id']}").status_code == 403
    with schema_context("tenant_a"):
        assert ApiKey.objects.count() == 1
        assert not ApiKey.objects.get().revoked


def test_tenant_b_cannot_see_or_revoke_a_keys(as_role, admin_b):
    key = create(as_role("admin")).json()
    client_b = logged_in("b.localhost", admin_b)
    assert client_b.get(URL).json()["results"] == []
    assert client_b.get(f"{URL}/{key['id']}").status_code == 404
    assert client_b.delete(f"{URL}/{key['id']}").status_code == 404
    with schema_context("tenant_a"):
        assert ApiKey.objects.is_valid(key["key"])
    with schema_context("tenant_b"):
        # A's key means nothing in B's schema.
        assert not ApiKey.objects.is_valid(key["key"])


# --- against the real Api-Key authentication ----------------------------------------------------------

def machine(host: str, key: str):
    from django.test import Client

    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Api-Key {key}")


def test_revoked_key_is_refused_by_the_api(as_role):
    client = as_role("admin")
    body = create(client, scopes=["read"]).json()
    caller = machine("a.localhost", body["key"])
    assert caller.get("/api/v1/leads").status_code == 200
    client.delete(f"{URL}/{body['id']}")
    assert caller.get("/api/v1/leads").status_code == 401


def test_last_use_is_shown_in_the_list(as_role):
    client = as_role("admin")
    body = create(client, scopes=["read"]).json()
    assert client.get(f"{URL}/{body['id']}").json()["last_used_at"] is None
    machine("a.localhost", body["key"]).get("/api/v1/leads")
    assert client.get(f"{URL}/{body['id']}").json()["last_used_at"] is not None


def test_only_a_key_with_the_admin_scope_manages_the_tenant(as_role):
    client = as_role("admin")
    plain = machine("a.localhost", create(client, scopes=["read", "write"]).json()["key"])
    for path in ("/api/v1/settings", URL, "/api/v1/users"):
        assert plain.get(path).status_code == 403
    admin_key = create(client, scopes=["read", "admin"]).json()
    caller = machine("a.localhost", admin_key["key"])
    response = caller.patch("/api/v1/settings", {"scoring_weights": {"industry": 7}}, content_type="application/json")
    assert response.status_code == 200, response.content
    with schema_context("tenant_a"):
        event = AuditEvent.objects.get(action="settings_changed")
        assert event.actor == f"api_key:{admin_key['id']}"
        assert event.user_id is None
    new_key = caller.post(URL, {"name": "made by a machine"}, content_type="application/json").json()
    with schema_context("tenant_a"):
        assert AuditEvent.objects.get(action="api_key_created", object_id=new_key["id"]).actor == f"api_key:{admin_key['id']}"


def test_a_key_of_tenant_a_is_refused_on_b(as_role):
    key = create(as_role("admin"), scopes=["read", "write", "admin"]).json()["key"]
    caller = machine("b.localhost", key)
    for path in ("/api/v1/leads", "/api/v1/settings", URL, "/api/v1/users"):
        assert caller.get(path).status_code == 401
