"""Fixtures for the API tests: callers of tenant A and B (session, JWT, API key)."""
import json

import pytest
from django.core.cache import cache
from django.test import Client
from django_tenants.utils import schema_context

from leads.services.apikeys import api_key_create
from tests.factories import make_user

HOSTS = {"tenant_a": "a.localhost", "tenant_b": "b.localhost"}


class Api:
    """A test client on one tenant host that speaks JSON and carries credentials."""

    def __init__(self, host: str, authorization: str | None = None):
        self.client = Client(HTTP_HOST=host)
        self.headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    def _call(self, method, path, data=None, headers=None, **kwargs):
        extra = {**self.headers, **(headers or {})}
        if data is not None and "content_type" not in kwargs:
            kwargs["content_type"] = "application/json"
            data = json.dumps(data)
        return getattr(self.client, method)(path, data, **kwargs, **extra) if data is not None else \
            getattr(self.client, method)(path, **kwargs, **extra)

    def get(self, path, params=None, **kw):
        return self._call("get", path, params, content_type=None, **kw) if params else self._call("get", path, **kw)

    def post(self, path, data=None, **kw):
        return self._call("post", path, data, **kw)

    def patch(self, path, data=None, **kw):
        return self._call("patch", path, data, **kw)

    def put(self, path, data=None, **kw):
        return self._call("put", path, data, **kw)


@pytest.fixture
def fresh_throttles(settings, db):
    """Rate limits high enough not to interfere, and no counts left by earlier tests."""
    settings.LEADHUB_THROTTLE_RATES = {"api_key": "10000/min", "user": "10000/min", "login": "10000/min",
                                       "login_email": "10000/min"}
    cache.clear()
    yield
    cache.clear()


def _user(schema, role):
    with schema_context(schema):
        return make_user(role)


@pytest.fixture
def reviewer_a(tenant_a):
    return _user("tenant_a", "reviewer")


@pytest.fixture
def viewer_a(tenant_a):
    return _user("tenant_a", "viewer")


@pytest.fixture
def api_a(reviewer_a):
    """A reviewer of tenant A signed in with a session."""
    return session_api("tenant_a", reviewer_a)


def session_api(schema: str, user) -> Api:
    api = Api(HOSTS[schema])
    with schema_context(schema):
        api.client.force_login(user)
    return api


def jwt_for(schema: str, email: str, password: str) -> dict:
    response = Client(HTTP_HOST=HOSTS[schema]).post(
        "/api/v1/auth/login", json.dumps({"email": email, "password": password}), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def jwt_a(tenant_a, fresh_throttles):
    return jwt_for("tenant_a", "admin@a.test", "pw-admin-123")


def make_api_key(schema: str, scopes=("read", "write"), **kwargs) -> str:
    with schema_context(schema):
        _key, clear = api_key_create(name="test", scopes=list(scopes), **kwargs)
    return clear


@pytest.fixture
def key_a(tenant_a):
    return make_api_key("tenant_a")


@pytest.fixture
def keyapi_a(key_a):
    return Api(HOSTS["tenant_a"], f"Api-Key {key_a}")
