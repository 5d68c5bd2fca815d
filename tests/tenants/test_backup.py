"""backup_tenant / restore_tenant round trip. pg_dump reads committed rows only, so these
tests commit their own tenants and drop them afterwards. (Not transactional_db: its
flush would empty the public tables that hold every other test's tenants.)"""
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.forms.models import model_to_dict
from django_tenants.utils import schema_context, schema_exists

from leads.models import Lead, LeadStatus
from tenants.models import Tenant
from tenants.services import tenant_create

SRC, COPY = "bk_src", "bk_copy"


def _drop_backup_tenants():
    connection.set_schema_to_public()
    for slug in (SRC, COPY):
        Tenant.objects.filter(schema_name=slug).delete()
        if schema_exists(slug):
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA "{slug}" CASCADE')


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Autocommit database access (pg_dump must see the rows); cleans up after itself."""
    with django_db_blocker.unblock():
        _drop_backup_tenants()
        try:
            yield
        finally:
            _drop_backup_tenants()


@pytest.fixture
def source_tenant(committed, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    tenant_create(slug=SRC, name="Backup Source", domain="bk-src.localhost", admin_email="a@bk.test", admin_password="pw-backup-1")
    with schema_context(SRC):
        Lead.objects.bulk_create(
            Lead(email=f"p{i}@bk.test", first_name="Zoë", last_name=f"Person{i}", source="bk", raw={"i": i, "emoji": "🚀"},
                 status=LeadStatus.PENDING_REVIEW if i % 2 else LeadStatus.NEW, score=i, custom_fields={"k": str(i)})
            for i in range(50)
        )
    logo = settings.MEDIA_ROOT / SRC / "branding" / "logo.png"
    logo.parent.mkdir(parents=True)
    logo.write_bytes(b"\x89PNG fake logo bytes")


def _leads(schema):
    with schema_context(schema):
        return [model_to_dict(lead) for lead in Lead.objects.order_by("pk")]


def test_backup_and_restore_round_trip_keeps_every_lead_and_file(source_tenant, settings, tmp_path):
    backup = tmp_path / "src.tar.gz"
    call_command("backup_tenant", SRC, str(backup))
    call_command("restore_tenant", str(backup), "--as", COPY)

    original, restored = _leads(SRC), _leads(COPY)
    assert len(original) == 50
    assert restored == original
    copy = Tenant.objects.get(schema_name=COPY)
    assert copy.name == "Backup Source"
    assert copy.domains.get().domain == f"{COPY}.localhost"  # the backup's own domain is taken by the source
    assert (settings.MEDIA_ROOT / COPY / "branding" / "logo.png").read_bytes() == b"\x89PNG fake logo bytes"
    # The restored tenant is served on its own host, with its own users.
    from django.contrib.auth import authenticate

    with schema_context(COPY):
        assert authenticate(username="a@bk.test", password="pw-backup-1") is not None
        Lead.objects.filter(pk=original[0]["id"]).update(first_name="Changed")
    assert _leads(SRC)[0]["first_name"] == "Zoë"


def test_restore_refuses_a_taken_slug(source_tenant, tmp_path):
    backup = tmp_path / "src.tar.gz"
    call_command("backup_tenant", SRC, str(backup))
    with pytest.raises(CommandError, match=f"slug '{SRC}' is already taken"):
        call_command("restore_tenant", str(backup), "--as", SRC)


def test_backup_of_unknown_tenant_fails_clearly(db, tmp_path):
    with pytest.raises(CommandError, match="no tenant 'nope'"):
        call_command("backup_tenant", "nope", str(tmp_path / "x.tar.gz"))
