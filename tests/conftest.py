"""Shared fixtures: two tenants created once per session, and clients on their hosts.

``tenant_a`` lives at ``a.localhost``, ``tenant_b`` at ``b.localhost``; each has an
admin user ``admin@a.test`` / ``admin@b.test`` with password ``pw-admin-123``.
"""
import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Tenant

PASSWORD = "pw-admin-123"
TENANTS = {"tenant_a": "a.localhost", "tenant_b": "b.localhost"}


def ensure_test_tenants():
    """Create the two test tenants, or restore their public rows after a
    transactional test flushed the public tables (their schemas survive a flush)."""
    from tenants.models import Domain
    from tenants.services import ensure_public_tenant, tenant_create
    from django_tenants.utils import schema_exists

    with schema_context(get_public_schema_name()):
        ensure_public_tenant()
        for slug, host in TENANTS.items():
            if Tenant.objects.filter(schema_name=slug).exists():
                continue
            if schema_exists(slug):
                tenant = Tenant.objects.create(schema_name=slug, name=slug.replace("_", " ").title())
                Domain.objects.create(domain=host, tenant=tenant, is_primary=True)
            else:
                tenant_create(slug=slug, name=slug.replace("_", " ").title(), domain=host,
                              admin_email=f"admin@{host[0]}.test", admin_password=PASSWORD)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        ensure_test_tenants()
        connection.set_schema_to_public()


@pytest.fixture
def public_schema(db):
    with schema_context(get_public_schema_name()):
        yield


def _tenant(slug):
    with schema_context(get_public_schema_name()):
        if not Tenant.objects.filter(schema_name=slug).exists():
            ensure_test_tenants()
        return Tenant.objects.get(schema_name=slug)


@pytest.fixture
def tenant_a(db):
    return _tenant("tenant_a")


@pytest.fixture
def tenant_b(db):
    return _tenant("tenant_b")


@pytest.fixture
def in_tenant_a(tenant_a):
    """Run the test body inside tenant A's schema."""
    with schema_context("tenant_a"):
        yield tenant_a


@pytest.fixture
def in_tenant_b(tenant_b):
    with schema_context("tenant_b"):
        yield tenant_b


@pytest.fixture
def client_a(tenant_a):
    return Client(HTTP_HOST=TENANTS["tenant_a"])


@pytest.fixture
def client_b(tenant_b):
    return Client(HTTP_HOST=TENANTS["tenant_b"])


@pytest.fixture
def public_client(db):
    return Client(HTTP_HOST="localhost")


@pytest.fixture(autouse=True)
def _back_to_public():
    """Requests leave the connection on the last tenant's schema; start each test on public."""
    yield
    connection.set_schema_to_public()
