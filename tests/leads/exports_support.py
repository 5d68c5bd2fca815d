"""Fixtures and helpers shared by the export tests (imported by tests/leads/test_exports_*.py)."""
import itertools

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from leads.models import AuditEvent, Export, ExportIssue, ExportSettings, Lead, LeadDelivery, SuppressionEntry


_bulk_seq = itertools.count(1)


@pytest.fixture
def media_root(settings, tmp_path):
    """Export files go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


class FakeClock:
    """Time that only moves when slept; records every sleep."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def export_file_text(export: Export, encoding: str = "utf-8") -> str:
    with export.file.open("rb") as handle:
        return handle.read().decode(encoding)


def set_credentials(**values) -> ExportSettings:
    creds = ExportSettings.current()
    for key, value in values.items():
        setattr(creds, key, value)
    creds.save()
    return creds


def approved_leads(count: int, **fields):
    """``count`` approved leads in one INSERT."""
    from leads.models import Lead

    start = next(_bulk_seq) * 100_000
    leads = [Lead(status="approved", email=f"bulk{start + i}@example{i % 7}.com", first_name="Bo",
                  last_name=f"Bulk{i}", company=f"Bulk Co {i}", source="test", **fields) for i in range(count)]
    return Lead.objects.bulk_create(leads)


LIVE_SCHEMA = "tenant_a"


def _wipe() -> None:
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table)
                       for m in (AuditEvent, ExportIssue, LeadDelivery, Export, Lead, SuppressionEntry))
    with schema_context(LIVE_SCHEMA), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} CASCADE")


@pytest.fixture
def live(django_db_setup, django_db_blocker, monkeypatch):
    """Autocommit access to tenant A, for tests where a second connection must see
    the rows; every export of two or more leads writes its file apart. The rows are
    wiped afterwards."""
    from leads.services import exports
    from tests.conftest import ensure_test_tenants

    monkeypatch.setattr(exports, "PARALLEL_FILE_MIN_LEADS", 2)
    with django_db_blocker.unblock():
        ensure_test_tenants()
        _wipe()
        try:
            with schema_context(LIVE_SCHEMA):
                yield
        finally:
            connection.set_schema_to_public()
            _wipe()
