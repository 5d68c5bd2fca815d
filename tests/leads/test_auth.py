"""People sign in with JWTs bound to their tenant; machines use hashed, scoped API keys."""
import io
from datetime import timedelta

import jwt as pyjwt
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tenants.utils import schema_context

from leads.models import ApiKey
from tests.factories import make_user
from tests.leads.conftest import Api, jwt_for, make_api_key

pytestmark = pytest.mark.usefixtures("fresh_throttles")
LOGIN, REFRESH = "/api/v1/auth/login", "/api/v1/auth/refresh"


def test_login_returns_tokens_carrying_the_tenant_schema(tenant_a):
    tokens = jwt_for("tenant_a", "admin@a.test", "pw-admin-123")
    for token in (tokens["access"], tokens["refresh"]):
        assert pyjwt.decode(token, options={"verify_signature": False})["schema"] == "tenant_a"
    api = Api("a.localhost", f"Bearer {tokens['access']}")
    assert api.get("/api/v1/leads").status_code == 200


def test_login_is_case_insensitive_on_email(tenant_a):
    assert jwt_for("tenant_a", "Admin@A.test", "pw-admin-123")["access"]


def test_wrong_password_and_unknown_user_get_the_same_answer(tenant_a):
    api = Api("a.localhost")
    wrong = api.post(LOGIN, {"email": "admin@a.test", "password": "nope"})
    unknown = api.post(LOGIN, {"email": "ghost@a.test", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_inactive_user_cannot_sign_in(tenant_a):
    with schema_context("tenant_a"):
        user = make_user("viewer", password="pw-x-12345")
        user.is_active = False
        user.save()
    response = Api("a.localhost").post(LOGIN, {"email": user.email, "password": "pw-x-12345"})
    assert response.status_code == 401


def test_login_needs_both_fields(tenant_a):
    response = Api("a.localhost").post(LOGIN, {"email": "admin@a.test"})
    assert response.status_code == 400
    assert "password" in response.json()["errors"]


def test_token_of_tenant_a_is_refused_on_tenant_b_even_with_the_same_user_id(tenant_a, tenant_b):
    tokens = jwt_for("tenant_a", "admin@a.test", "pw-admin-123")
    user_id = pyjwt.decode(tokens["access"], options={"verify_signature": False})["user_id"]
    with schema_context("tenant_b"):
        from django.contrib.auth import get_user_model

        assert get_user_model().objects.filter(pk=user_id).exists()
    response = Api("b.localhost", f"Bearer {tokens['access']}").get("/api/v1/leads")
    assert response.status_code == 401
    assert Api("b.localhost").post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401


def test_refresh_rotates_and_blacklists_the_old_token(tenant_a):
    tokens = jwt_for("tenant_a", "admin@a.test", "pw-admin-123")
    api = Api("a.localhost")
    rotated = api.post(REFRESH, {"refresh": tokens["refresh"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh"] != tokens["refresh"]
    assert pyjwt.decode(new["access"], options={"verify_signature": False})["schema"] == "tenant_a"
    assert Api("a.localhost", f"Bearer {new['access']}").get("/api/v1/leads").status_code == 200
    reused = api.post(REFRESH, {"refresh": tokens["refresh"]})
    assert reused.status_code == 401
    assert reused.json()["detail"]
    assert api.post(REFRESH, {"refresh": new["refresh"]}).status_code == 200


def test_garbage_token_is_a_401_in_the_error_shape(tenant_a):
    response = Api("a.localhost", "Bearer not.a.jwt").get("/api/v1/leads")
    assert response.status_code == 401
    assert set(response.json()) >= {"detail", "errors"}


def test_no_credentials_is_a_401(tenant_a):
    assert Api("a.localhost").get("/api/v1/leads").status_code == 401


def test_login_attempts_are_throttled(tenant_a, settings):
    settings.LEADHUB_THROTTLE_RATES = {**settings.LEADHUB_THROTTLE_RATES, "login": "3/min"}
    api = Api("a.localhost")
    codes = [api.post(LOGIN, {"email": f"x{i}@a.test", "password": "bad"}).status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]
    response = api.post(LOGIN, {"email": "admin@a.test", "password": "pw-admin-123"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_login_attempts_per_email_are_throttled(tenant_a, settings):
    settings.LEADHUB_THROTTLE_RATES = {**settings.LEADHUB_THROTTLE_RATES, "login_email": "2/min"}
    api = Api("a.localhost")
    codes = [api.post(LOGIN, {"email": "victim@a.test", "password": f"guess{i}"}).status_code for i in range(3)]
    assert codes == [401, 401, 429]


# --- API keys ---------------------------------------------------------------------

def test_api_key_is_stored_hashed_and_works(tenant_a):
    key = make_api_key("tenant_a")
    with schema_context("tenant_a"):
        stored = ApiKey.objects.get(prefix=key.split(".")[0])
        assert key not in stored.hashed_key and stored.last_used_at is None
    assert Api("a.localhost", f"Api-Key {key}").get("/api/v1/leads").status_code == 200
    with schema_context("tenant_a"):
        stored.refresh_from_db()
        assert stored.last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute(tenant_a):
    key = make_api_key("tenant_a")
    api = Api("a.localhost", f"Api-Key {key}")
    api.get("/api/v1/leads")
    with schema_context("tenant_a"):
        first = ApiKey.objects.get(prefix=key.split(".")[0]).last_used_at
    api.get("/api/v1/leads")
    with schema_context("tenant_a"):
        assert ApiKey.objects.get(prefix=key.split(".")[0]).last_used_at == first


def test_revoked_expired_and_wrong_keys_are_refused(tenant_a):
    revoked = make_api_key("tenant_a")
    expired = make_api_key("tenant_a", expiry_date=timezone.now() + timedelta(seconds=1))
    with schema_context("tenant_a"):
        ApiKey.objects.filter(prefix=revoked.split(".")[0]).update(revoked=True)
        ApiKey.objects.filter(prefix=expired.split(".")[0]).update(expiry_date=timezone.now() - timedelta(days=1))
    good = make_api_key("tenant_a")
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    for key in (revoked, expired, tampered, "nonsense"):
        response = Api("a.localhost", f"Api-Key {key}").get("/api/v1/leads")
        assert response.status_code == 401, key
        assert response.json()["detail"]


def test_create_api_key_command_prints_the_key_alone_on_the_last_line(tenant_a):
    out = io.StringIO()
    call_command("create_api_key", tenant="tenant_a", name="n8n", scopes="read", expires="30d", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    assert " " not in key and "." in key
    with schema_context("tenant_a"):
        stored = ApiKey.objects.get(prefix=key.split(".")[0])
        assert stored.name == "n8n" and stored.scope_list() == ["read"]
        assert timedelta(days=29) < stored.expiry_date - timezone.now() < timedelta(days=31)
    api = Api("a.localhost", f"Api-Key {key}")
    assert api.get("/api/v1/leads").status_code == 200
    assert api.post("/api/v1/leads/batch", {"leads": [{"email": "w@x.com"}]}).status_code == 403


@pytest.mark.parametrize("options, message", [
    ({"tenant": "nope", "name": "x"}, "unknown tenant"),
    ({"tenant": "tenant_a", "name": "x", "scopes": "admin"}, "scopes"),
    ({"tenant": "tenant_a", "name": "x", "expires": "yesterday"}, "expires"),
    ({"tenant": "tenant_a", "name": "x", "expires": "2001-01-01"}, "past"),
])
def test_create_api_key_refuses_bad_options(tenant_a, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_api_key", **options, stdout=io.StringIO())
