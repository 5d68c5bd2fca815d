"""Security settings as production runs them: headers, cookies, HSTS, password rules, JWT
lifetimes and rotation, brute-force throttling, and no configured secret in any log line."""
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client, override_settings
from django_tenants.utils import schema_context

from leads.models import ExportSettings, Lead
from tests.factories import make_lead
from tests.leads.conftest import Api, jwt_for, make_api_key

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE, "SESSION_COOKIE_HTTPONLY": s.SESSION_COOKIE_HTTPONLY,
    "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
    "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS, "SECURE_HSTS_INCLUDE_SUBDOMAINS": s.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "SECURE_CONTENT_TYPE_NOSNIFF": s.SECURE_CONTENT_TYPE_NOSNIFF, "SECURE_REFERRER_POLICY": s.SECURE_REFERRER_POLICY,
    "X_FRAME_OPTIONS": s.X_FRAME_OPTIONS, "SECURE_PROXY_SSL_HEADER": s.SECURE_PROXY_SSL_HEADER,
    "PASSWORD_HASHERS": s.PASSWORD_HASHERS[0],
    "AUTH_PASSWORD_VALIDATORS": [v["NAME"].rsplit(".", 1)[1] for v in s.AUTH_PASSWORD_VALIDATORS],
    "ACCESS_MIN": s.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() / 60,
    "REFRESH_DAYS": s.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds() / 86400,
    "ROTATE": s.SIMPLE_JWT["ROTATE_REFRESH_TOKENS"], "BLACKLIST": s.SIMPLE_JWT["BLACKLIST_AFTER_ROTATION"],
    "LOGIN_RATES": [s.LEADHUB_THROTTLE_RATES["login"], s.LEADHUB_THROTTLE_RATES["login_email"]],
    "MIDDLEWARE": s.MIDDLEWARE,
}))
"""


def _production_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LEADHUB_TESTING", "DEBUG", "SECURE_COOKIES",
                                                            "SECURE_HSTS_SECONDS", "JWT_ACCESS_MINUTES",
                                                            "JWT_REFRESH_DAYS")}
    env.update({"DJANGO_SETTINGS_MODULE": "leadhub.settings", "DEBUG": "false",
                "SECRET_KEY": "production-probe-secret-key-with-enough-length-and-entropy-0123456789abcdef",
                "PYTHONPATH": str(ROOT)}, **extra)
    return env


@pytest.fixture(scope="module")
def production():
    """The settings as a production process reads them (DEBUG off, no test mode)."""
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=_production_env(), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_production_mode_turns_on_secure_cookies_hsts_and_headers(production):
    assert production["DEBUG"] is False
    assert production["SESSION_COOKIE_SECURE"] and production["SESSION_COOKIE_HTTPONLY"]
    assert production["CSRF_COOKIE_SECURE"]
    assert production["SECURE_HSTS_SECONDS"] >= 31536000 and production["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"]
    assert production["SECURE_REFERRER_POLICY"] == "same-origin"
    assert production["X_FRAME_OPTIONS"] == "DENY"
    assert production["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert "django.middleware.security.SecurityMiddleware" in production["MIDDLEWARE"]
    assert "django.middleware.clickjacking.XFrameOptionsMiddleware" in production["MIDDLEWARE"]
    assert "MD5" not in production["PASSWORD_HASHERS"]  # the fast hasher is for tests only


def test_production_mode_passes_djangos_deploy_checks():
    out = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                         env=_production_env(), capture_output=True, text=True, timeout=120)
    # Documented choices, not oversights: W008 (SECURE_SSL_REDIRECT off: the TLS proxy redirects)
    # and W021 (no HSTS preload: joining the browsers' preload list is the operator's decision).
    allowed = ("security.W008", "security.W021")
    problems = [line for line in (out.stdout + out.stderr).splitlines()
                if "security.W" in line and not any(code in line for code in allowed)]
    assert out.returncode in (0, 1), out.stderr[-2000:]
    assert not problems, out.stdout + out.stderr


def test_password_validators_and_jwt_lifetimes_in_production(production):
    assert {"UserAttributeSimilarityValidator", "MinimumLengthValidator", "CommonPasswordValidator",
            "NumericPasswordValidator"} <= set(production["AUTH_PASSWORD_VALIDATORS"])
    assert production["ACCESS_MIN"] <= 15
    assert production["REFRESH_DAYS"] <= 7
    assert production["ROTATE"] and production["BLACKLIST"]


PRODUCTION_HTTP = dict(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True, SECURE_HSTS_SECONDS=31536000,
                       SECURE_HSTS_INCLUDE_SUBDOMAINS=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))


@override_settings(**PRODUCTION_HTTP)
def test_responses_carry_the_security_headers(tenant_a):
    client = Client(HTTP_HOST="a.localhost", HTTP_X_FORWARDED_PROTO="https")
    for path in ("/login/", "/api/v1/leads", "/healthz"):
        response = client.get(path)
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert response["Referrer-Policy"] == "same-origin", path
        assert response["Strict-Transport-Security"].startswith("max-age=31536000"), path
        assert "includeSubDomains" in response["Strict-Transport-Security"]
    assert client.get("/login/")["X-Frame-Options"] == "DENY"


@override_settings(**PRODUCTION_HTTP)
def test_session_and_csrf_cookies_are_secure_and_the_session_httponly(tenant_a):
    client = Client(HTTP_HOST="a.localhost", HTTP_X_FORWARDED_PROTO="https", HTTP_REFERER="https://a.localhost/login/",
                    enforce_csrf_checks=True)
    page = client.get("/login/")
    csrf = page.cookies["csrftoken"]
    assert csrf["secure"]
    response = client.post("/login/", {"email": "admin@a.test", "password": "pw-admin-123",
                                       "csrfmiddlewaretoken": csrf.value})
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
    assert session["samesite"] in ("Lax", "Strict")


@pytest.mark.parametrize("password", ["password", "12345678", "short", "admin-new@a.test"])
def test_a_weak_password_is_refused_when_creating_a_user(tenant_a, fresh_throttles, password):
    admin = Api("a.localhost", f"Api-Key {make_api_key('tenant_a', scopes=('read', 'write', 'admin'))}")
    response = admin.post("/api/v1/users", {"email": "admin-new@a.test", "role": "viewer", "password": password})
    assert response.status_code == 400, response.content
    assert "password" in response.json()["errors"]
    with schema_context("tenant_a"):
        from django.contrib.auth import get_user_model
        assert not get_user_model().objects.filter(email="admin-new@a.test").exists()


def test_a_strong_password_is_accepted(tenant_a, fresh_throttles):
    admin = Api("a.localhost", f"Api-Key {make_api_key('tenant_a', scopes=('read', 'write', 'admin'))}")
    response = admin.post("/api/v1/users", {"email": "strong@a.test", "role": "viewer",
                                            "password": "Correct-Horse-Battery-42"})
    assert response.status_code == 201, response.content


def test_refresh_tokens_rotate_and_a_used_one_is_blacklisted(tenant_a, fresh_throttles):
    tokens = jwt_for("tenant_a", "admin@a.test", "pw-admin-123")
    api = Api("a.localhost")
    first = api.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]})
    assert first.status_code == 200, first.content
    assert first.json()["refresh"] != tokens["refresh"]  # rotated
    again = api.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]})
    assert again.status_code == 401  # the used refresh token is blacklisted
    assert api.post("/api/v1/auth/refresh", {"refresh": first.json()["refresh"]}).status_code == 200


def test_an_expired_access_token_is_refused(tenant_a, fresh_throttles):
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    access = jwt_for("tenant_a", "admin@a.test", "pw-admin-123")["access"]
    assert Api("a.localhost", f"Bearer {access}").get("/api/v1/leads").status_code == 200
    token = AccessToken(access)
    token.set_exp(lifetime=timedelta(seconds=-1))  # same claims and signature key, expired
    assert Api("a.localhost", f"Bearer {token}").get("/api/v1/leads").status_code == 401


@pytest.fixture
def real_login_rates(settings, db):
    """The production login rates, counted from zero."""
    settings.LEADHUB_THROTTLE_RATES = {**settings.LEADHUB_THROTTLE_RATES, "login": "20/min", "login_email": "10/min"}
    cache.clear()
    yield
    cache.clear()


def test_api_login_is_throttled_after_repeated_failures(tenant_a, real_login_rates):
    api = Api("a.localhost")
    codes = [api.post("/api/v1/auth/login", {"email": "admin@a.test", "password": f"wrong-{i}"}).status_code
             for i in range(12)]
    assert codes[0] == 401 and 429 in codes, codes
    # Throttled means throttled: even the right password is refused until the window passes.
    assert api.post("/api/v1/auth/login", {"email": "admin@a.test", "password": "pw-admin-123"}).status_code == 429


def test_page_sign_in_is_throttled_after_repeated_failures(tenant_a, real_login_rates):
    client = Client(HTTP_HOST="a.localhost")
    codes = [client.post("/login/", {"email": "admin@a.test", "password": f"wrong-{i}"}).status_code
             for i in range(7)]
    assert codes[0] == 400 and codes[-1] == 429, codes
    response = client.post("/login/", {"email": "admin@a.test", "password": "pw-admin-123"})
    assert response.status_code == 429 and "sessionid" not in response.cookies


def test_throttling_counts_per_tenant(tenant_a, tenant_b, real_login_rates):
    """Failures on A's host do not lock anyone out of B."""
    a = Api("a.localhost")
    for i in range(12):
        a.post("/api/v1/auth/login", {"email": "admin@a.test", "password": f"wrong-{i}"})
    assert Api("b.localhost").post("/api/v1/auth/login",
                                   {"email": "admin@b.test", "password": "pw-admin-123"}).status_code == 200


# --- secrets never in logs -------------------------------------------------------------------

ZB_SECRET = "zb-live-SECRET-4f1d2c9e8b7a"
CB_SECRET = "sk_live_SECRET_clearbit_77aa"
INSTANTLY_SECRET = "inst-SECRET-key-55cc01"
SMARTLEAD_SECRET = "sl-SECRET-key-93bd12"
LOGIN_PASSWORD = "pw-admin-123"


def test_configured_secrets_never_appear_in_logs(tenant_a, fresh_throttles, settings, httpserver, caplog, tmp_path):
    from werkzeug import Response

    settings.MEDIA_ROOT = str(tmp_path)
    base = httpserver.url_for("").rstrip("/")
    settings.ZEROBOUNCE_BASE_URL = settings.CLEARBIT_BASE_URL = base
    settings.INSTANTLY_BASE_URL = settings.SMARTLEAD_BASE_URL = base
    settings.ZEROBOUNCE_API_KEY, settings.CLEARBIT_API_KEY = ZB_SECRET, CB_SECRET
    settings.ENABLE_ENRICHMENT = settings.ENABLE_VERIFICATION = True
    settings.PROVIDER_TIMEOUT, settings.PROVIDER_RETRIES, settings.PROVIDER_BACKOFF = 0.5, 1, 0.0
    settings.EXPORT_HTTP_TIMEOUT = 0.5

    # Every provider and destination call fails: 401 for some paths, 500 for the others.
    def failing(request):
        status = 401 if "getcredits" in request.path or "leads/add" in request.path else 500
        return Response(json.dumps({"error": "nope", "echo": request.url}), status=status,
                        content_type="application/json")

    httpserver.expect_request("").respond_with_handler(failing)
    httpserver.no_handler_status_code = 500

    from processing.providers.base import reset_limiters
    reset_limiters()
    with schema_context("tenant_a"):
        from leads.models import TenantSettings
        current = TenantSettings.current()
        current.enable_enrichment = current.enable_verification = True
        current.save()
        creds = ExportSettings.current()
        creds.instantly_api_key, creds.smartlead_api_key = INSTANTLY_SECRET, SMARTLEAD_SECRET
        creds.save()
        leads = [make_lead(email=f"secret{i}@acme-secrets.com", status="new") for i in range(3)]
        approved = make_lead(email="approved@acme-secrets.com", status="approved")
    api_key = make_api_key("tenant_a", scopes=("read", "write", "admin"))

    caplog.set_level(logging.DEBUG)  # the root logger and everything under it
    from processing.pipeline import process_leads
    with schema_context("tenant_a"):
        process_leads([lead.pk for lead in leads], actor="test")
    keyed = Api("a.localhost", f"Api-Key {api_key}")
    assert keyed.get("/api/v1/leads").status_code == 200
    assert keyed.get("/api/v1/status").status_code == 200
    assert Api("a.localhost", f"Api-Key {api_key[:-3]}xyz").get("/api/v1/leads").status_code == 401
    assert Api("a.localhost", "Api-Key not-a-real-key").get("/api/v1/leads").status_code == 401
    for fmt, destination in (("instantly", "camp-1"), ("smartlead", "42")):
        keyed.post("/api/v1/exports", {"format": fmt, "destination": destination})
    Api("a.localhost").post("/api/v1/auth/login", {"email": "admin@a.test", "password": LOGIN_PASSWORD})
    Api("a.localhost").post("/api/v1/auth/login", {"email": "admin@a.test", "password": LOGIN_PASSWORD + "x"})
    Client(HTTP_HOST="a.localhost").post("/login/", {"email": "admin@a.test", "password": LOGIN_PASSWORD + "y"})

    assert len(httpserver.log) >= 3  # the providers and destinations really were called (and failed)
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=approved.pk).status == "approved"  # nothing was exported
    # "werkzeug" is the fake provider's own access log (the remote side, which does see the key);
    # every other record is LeadHub's or a library's inside LeadHub.
    ours = [r for r in caplog.records if not r.name.startswith("werkzeug")]
    text = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in ours)
    assert any(r.name.startswith("urllib3") for r in ours), "no HTTP call was logged at DEBUG"
    assert any("failed" in r.getMessage() for r in ours), "no provider failure was logged"
    for secret in (ZB_SECRET, CB_SECRET, INSTANTLY_SECRET, SMARTLEAD_SECRET, api_key, LOGIN_PASSWORD,
                   django_settings.SECRET_KEY):
        assert secret not in text, f"a configured secret appears in the logs: {secret[:6]}…"
