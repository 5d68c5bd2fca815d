"""Fixtures and helpers shared by the export tests (imported by tests/leads/test_exports_*.py)."""
import itertools

import pytest

from leads.models import Export, ExportSettings


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
