"""Roles (admin, reviewer, viewer) over /api/v1/users, the permission classes and admin access."""
import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from leads.models import ApiKey, AuditEvent
from leads.permissions import IsReviewer, IsTenantAdmin, IsViewer, user_role
from tests.leads.settings_support import admin_b, as_role, logged_in, people_a  # noqa: F401

User = get_user_model()
URL = "/api/v1/users"

# (method, path, body) for each kind of action this part of the API offers.
ADMIN_ACTIONS = [
    ("get", "/api/v1/settings", None),
    ("patch", "/api/v1/settings", {"product_name": "Renamed"}),
    ("get", "/api/v1/api-keys", None),
    ("post", "/api/v1/api-keys", {"name": "k"}),
    ("get", "/api/v1/users", None),
    ("post", "/api/v1/users", {"email": "new@a.test", "password": "a-long-pass-991", "role": "viewer"}),
]


@pytest.mark.parametrize("role, allowed", [("admin", True), ("reviewer", False), ("viewer", False)])
@pytest.mark.parametrize("method, path, body", ADMIN_ACTIONS)
def test_role_matrix_for_settings_keys_and_users(as_role, role, allowed, method, path, body):
    client = as_role(role)
    kwargs = {"content_type": "application/json", "data": body} if body is not None else {}
    response = getattr(client, method)(path, **kwargs)
    if allowed:
        assert response.status_code in (200, 201), response.content
    else:
        assert response.status_code == 403
        assert response.json()["detail"]


@pytest.mark.parametrize("role, status", [("admin", 200), ("reviewer", 302), ("viewer", 302)])
def test_only_admins_reach_django_admin(as_role, role, status):
    response = as_role(role).get("/admin/")
    assert response.status_code == status
    if status == 302:
        assert "/admin/login/" in response["Location"]


def test_admin_creates_a_user_with_a_role(as_role, people_a):
    response = as_role("admin").post(URL, {"email": "New.Person@A.test", "password": "a-long-pass-991",
                                           "role": "reviewer", "first_name": "New"}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["email"], body["role"], body["is_active"]) == ("new.person@a.test", "reviewer", True)
    assert "password" not in body
    with schema_context("tenant_a"):
        user = User.objects.get(pk=body["id"])
        assert user.check_password("a-long-pass-991")
        assert not user.is_staff
        event = AuditEvent.objects.get(action="user_created")
        assert event.changes["role"] == [None, "reviewer"]
        assert event.actor == f"user:{people_a['admin'].username}"


@pytest.mark.parametrize("body, field", [
    ({"email": "not-an-email", "password": "a-long-pass-991", "role": "viewer"}, "email"),
    ({"email": "x@a.test", "password": "a-long-pass-991", "role": "owner"}, "role"),
    ({"email": "x@a.test", "password": "123", "role": "viewer"}, "password"),
    ({"email": "x@a.test", "role": "viewer"}, "password"),
])
def test_bad_user_input_gets_field_messages(as_role, body, field):
    response = as_role("admin").post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_duplicate_email_is_refused(as_role, people_a):
    response = as_role("admin").post(URL, {"email": people_a["viewer"].email, "password": "a-long-pass-991",
                                           "role": "viewer"}, content_type="application/json")
    assert response.status_code == 400
    assert "already exists" in response.json()["errors"]["email"][0]


def test_promoting_to_admin_opens_django_admin_and_demoting_closes_it(as_role, people_a):
    viewer = people_a["viewer"]
    response = as_role("admin").patch(f"{URL}/{viewer.pk}", {"role": "admin"}, content_type="application/json")
    assert response.json()["role"] == "admin"
    promoted = logged_in("a.localhost", viewer)
    assert promoted.get("/admin/").status_code == 200
    assert promoted.get("/api/v1/settings").status_code == 200
    as_role("admin").patch(f"{URL}/{viewer.pk}", {"role": "viewer"}, content_type="application/json")
    assert promoted.get("/admin/").status_code == 302
    assert promoted.get("/api/v1/settings").status_code == 403
    with schema_context("tenant_a"):
        changes = [e.changes["role"] for e in AuditEvent.objects.filter(action="user_changed").order_by("id")]
        assert changes == [["viewer", "admin"], ["admin", "viewer"]]


def test_deactivated_user_loses_access_and_is_kept(as_role, people_a):
    reviewer_client = as_role("reviewer")
    reviewer = people_a["reviewer"]
    assert as_role("admin").delete(f"{URL}/{reviewer.pk}").status_code == 204
    with schema_context("tenant_a"):
        assert User.objects.get(pk=reviewer.pk).is_active is False
        assert AuditEvent.objects.get(action="user_changed").changes == {"is_active": [True, False]}
    assert reviewer_client.get("/api/v1/api-keys").status_code in (401, 403)
    assert reviewer_client.get("/admin/").status_code == 302


def test_last_active_admin_cannot_be_demoted_or_deactivated(as_role, people_a):
    client = as_role("admin")
    with schema_context("tenant_a"):
        # Leave exactly one active admin: people_a["admin"].
        User.objects.filter(groups__name="admin").exclude(pk=people_a["admin"].pk).update(is_active=False)
        User.objects.filter(is_superuser=True).exclude(pk=people_a["admin"].pk).update(is_active=False)
    me = people_a["admin"].pk
    response = client.patch(f"{URL}/{me}", {"role": "viewer"}, content_type="application/json")
    assert response.status_code == 409
    assert "last active admin" in response.json()["detail"]
    assert client.delete(f"{URL}/{me}").status_code == 409
    with schema_context("tenant_a"):
        assert user_role(User.objects.get(pk=me)) == "admin"


def test_patch_refuses_unknown_fields_and_roles(as_role, people_a):
    client = as_role("admin")
    viewer = people_a["viewer"].pk
    assert "is_superuser" in client.patch(f"{URL}/{viewer}", {"is_superuser": True},
                                          content_type="application/json").json()["errors"]
    assert "role" in client.patch(f"{URL}/{viewer}", {"role": "owner"}, content_type="application/json").json()["errors"]


def test_users_are_per_tenant(as_role, people_a, admin_b):
    client_b = logged_in("b.localhost", admin_b)
    emails = {row["email"] for row in client_b.get(URL).json()["results"]}
    assert people_a["viewer"].email not in emails
    # An id from A names nobody (or somebody else) on B: never A's user.
    for method in ("get", "delete"):
        response = getattr(client_b, method)(f"{URL}/{people_a['viewer'].pk}")
        assert response.status_code == 404 or people_a["viewer"].email not in response.content.decode()
    with schema_context("tenant_a"):
        assert User.objects.get(pk=people_a["viewer"].pk).is_active


def _request(method: str, api_key):
    request = getattr(APIRequestFactory(), method)("/")
    drf_request = APIView().initialize_request(request)
    drf_request._user, drf_request._auth = None, api_key
    drf_request._authenticator = object()
    return drf_request


@pytest.mark.parametrize("scopes, method, cls, allowed", [
    ("read", "get", IsViewer, True),
    ("read", "post", IsViewer, False),
    ("read,write", "post", IsReviewer, True),
    ("read,write", "patch", IsTenantAdmin, False),
    ("read,write", "get", IsTenantAdmin, False),
    ("read,write,admin", "patch", IsTenantAdmin, True),
])
def test_api_keys_act_by_scope_and_need_admin_scope_for_admin_actions(tenant_a, scopes, method, cls, allowed):
    key = ApiKey(name="k", scopes=scopes)
    assert cls().has_permission(_request(method, key), None) is allowed


EVERY_ROUTE = [
    ("get", "/api/v1/settings"), ("patch", "/api/v1/settings"), ("put", "/api/v1/settings/logo"),
    ("delete", "/api/v1/settings/logo"), ("get", "/api/v1/api-keys"), ("post", "/api/v1/api-keys"),
    ("get", "/api/v1/api-keys/abcdefgh"), ("delete", "/api/v1/api-keys/abcdefgh"), ("get", "/api/v1/users"),
    ("post", "/api/v1/users"), ("get", "/api/v1/users/1"), ("patch", "/api/v1/users/1"), ("delete", "/api/v1/users/1"),
]


@pytest.mark.parametrize("method, path", EVERY_ROUTE)
def test_a_session_of_tenant_a_opens_nothing_on_b(people_a, method, path):
    client = logged_in("a.localhost", people_a["admin"])
    client.defaults["HTTP_HOST"] = "b.localhost"
    response = getattr(client, method)(path, data={}, content_type="application/json")
    assert response.status_code in (401, 403)
    with schema_context("tenant_b"):
        assert not AuditEvent.objects.exists()
