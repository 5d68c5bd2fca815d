"""Tenant isolation at the database and cache level."""
import pytest
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import schema_context

from leads.models import Lead


def test_rows_written_in_a_are_invisible_from_b(tenant_a, tenant_b):
    with schema_context("tenant_a"):
        lead = Lead.objects.create(email="secret@a.test", source="t")
        assert Lead.objects.filter(email="secret@a.test").count() == 1
    with schema_context("tenant_b"):
        assert not Lead.objects.filter(email="secret@a.test").exists()
        with pytest.raises(Lead.DoesNotExist):
            Lead.objects.get(pk=lead.pk)


def test_orm_in_b_cannot_reach_a_schema(tenant_a, tenant_b):
    """The ORM only names unqualified tables; B's search path never contains A's schema."""
    assert "." not in Lead._meta.db_table
    with schema_context("tenant_b"):
        with connection.cursor() as cursor:
            cursor.execute("SHOW search_path")
            search_path = cursor.fetchone()[0]
        assert "tenant_a" not in search_path
        assert search_path.split(",")[0].strip() == "tenant_b"
        # Even a lookup spelled with A's schema in a value stays a value, not SQL.
        assert not Lead.objects.filter(email='"tenant_a".leads_lead').exists()


def test_cache_entries_are_per_tenant(tenant_a, tenant_b):
    with schema_context("tenant_a"):
        cache.set("isolation-probe", "from-a", 30)
    with schema_context("tenant_b"):
        assert cache.get("isolation-probe") is None
        cache.set("isolation-probe", "from-b", 30)
    with schema_context("tenant_a"):
        assert cache.get("isolation-probe") == "from-a"
