"""Fixtures for the settings, roles and API-key tests: people of each role in tenant A (and B)."""
import io

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from tests.factories import make_user


@pytest.fixture
def people_a(tenant_a):
    """{role: user} in tenant A, plus 'other_admin' so the first admin is never the last one."""
    with schema_context("tenant_a"):
        return {role: make_person(role) for role in ("admin", "reviewer", "viewer")} | {"other_admin": make_person("admin")}


def make_person(role: str):
    """make_user plus what the admin role carries (staff and superuser of its own schema),
    as tenants.services.user_create_admin and leads.services.users do."""
    user = make_user(role)
    if role == "admin":
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


@pytest.fixture
def admin_b(tenant_b):
    with schema_context("tenant_b"):
        return make_person("admin")


SCHEMAS = {"a.localhost": "tenant_a", "b.localhost": "tenant_b", "localhost": "public"}


def logged_in(host: str, user) -> Client:
    """A client on ``host`` with a session for ``user`` (stored in that host's schema)."""
    client = Client(HTTP_HOST=host)
    with schema_context(SCHEMAS[host]):
        client.force_login(user)
    return client


@pytest.fixture
def as_role(people_a):
    """as_role("viewer") -> a client on a.localhost logged in as that role."""
    def make(role: str) -> Client:
        return logged_in("a.localhost", people_a[role])
    return make


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def png_bytes(size=(8, 8), color=(200, 30, 30), fmt="PNG") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()
