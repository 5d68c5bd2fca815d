"""Fixtures of the review pages' tests: signed-in clients of tenant A with each role."""
import pytest
from django.test import Client
from django_tenants.utils import schema_context

from tests.factories import make_user


def _signed_in(role: str) -> Client:
    with schema_context("tenant_a"):
        user = make_user(role)
        client = Client(HTTP_HOST="a.localhost")
        client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def reviewer_a(tenant_a):
    return _signed_in("reviewer")


@pytest.fixture
def viewer_a(tenant_a):
    return _signed_in("viewer")


@pytest.fixture
def admin_a(tenant_a):
    return _signed_in("admin")
