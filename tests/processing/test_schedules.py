"""Schedules: idempotent setup from settings, scheduled runs across tenants, cleanup."""
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from croniter import croniter
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule
from django_tenants.utils import schema_context

from leads.models import AuditEvent, Lead, LeadStatus, TenantSettings
from processing import tasks
from processing.schedules import BATCH_SCHEDULE_NAME, CLEANUP_SCHEDULE_NAME
from tenants.models import Tenant
from tests.processing.conftest import bulk_leads, run_queued_tasks
from tests.tenants.test_provisioning import _test_database_url

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def schedules():
    with schema_context("public"):
        return {s.name: s for s in Schedule.objects.all()}


def test_setup_twice_leaves_exactly_one_schedule_per_job_with_cron_and_next_run(public_schema, settings):
    settings.BATCH_SCHEDULE = "0 0,6,12,18 * * *"
    settings.CLEANUP_SCHEDULE = "0 2 * * *"
    Schedule.objects.all().delete()
    before = timezone.now()
    call_command("setup_schedules")
    first = {s.name: s.pk for s in Schedule.objects.all()}
    call_command("setup_schedules")
    rows = list(Schedule.objects.all())
    assert sorted(s.name for s in rows) == [BATCH_SCHEDULE_NAME, CLEANUP_SCHEDULE_NAME]
    assert {s.name: s.pk for s in rows} == first
    by_name = {s.name: s for s in rows}
    for name, cron, func in [(BATCH_SCHEDULE_NAME, "0 0,6,12,18 * * *", "processing.tasks.run_batch_processing"),
                             (CLEANUP_SCHEDULE_NAME, "0 2 * * *", "processing.tasks.cleanup")]:
        s = by_name[name]
        assert (s.func, s.cron, s.schedule_type, s.repeats) == (func, cron, Schedule.CRON, -1)
        assert s.next_run == croniter(cron, before).get_next(datetime)
        assert s.next_run > before


def test_changed_cron_updates_the_schedule_in_place(public_schema, settings):
    call_command("setup_schedules")
    pk = Schedule.objects.get(name=BATCH_SCHEDULE_NAME).pk
    settings.BATCH_SCHEDULE = "*/15 * * * *"
    call_command("setup_schedules")
    s = Schedule.objects.get(name=BATCH_SCHEDULE_NAME)
    assert (s.pk, s.cron) == (pk, "*/15 * * * *")
    assert timezone.now() < s.next_run <= timezone.now() + timedelta(minutes=15)
    assert s.next_run.minute % 15 == 0


def test_disabling_batch_processing_removes_its_schedule_only(public_schema, settings):
    call_command("setup_schedules")
    settings.ENABLE_BATCH_PROCESSING = False
    call_command("setup_schedules")
    assert set(Schedule.objects.values_list("name", flat=True)) == {CLEANUP_SCHEDULE_NAME}
    settings.ENABLE_BATCH_PROCESSING = True
    call_command("setup_schedules")
    assert Schedule.objects.filter(name=BATCH_SCHEDULE_NAME).count() == 1


def test_duplicate_schedules_made_by_hand_are_collapsed(public_schema):
    call_command("setup_schedules")
    Schedule.objects.create(name=BATCH_SCHEDULE_NAME, func="processing.tasks.run_batch_processing",
                            schedule_type=Schedule.CRON, cron="0 * * * *")
    call_command("setup_schedules")
    assert Schedule.objects.filter(name=BATCH_SCHEDULE_NAME).count() == 1


def test_invalid_cron_fails_with_reason_and_changes_nothing(public_schema, settings):
    call_command("setup_schedules")
    settings.CLEANUP_SCHEDULE = "every night"
    with pytest.raises(CommandError, match="invalid cron expression .*'every night'"):
        call_command("setup_schedules")
    assert Schedule.objects.get(name=CLEANUP_SCHEDULE_NAME).cron == "0 2 * * *"


def test_bootstrap_demo_sets_up_the_schedules(public_schema):
    Schedule.objects.all().delete()
    call_command("bootstrap_demo")
    assert set(Schedule.objects.values_list("name", flat=True)) == {BATCH_SCHEDULE_NAME, CLEANUP_SCHEDULE_NAME}


def _command(*args, **env_overrides):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "leadhub.test_settings", "LEADHUB_TESTING": "1",
           "DATABASE_URL": _test_database_url(), **env_overrides}
    return subprocess.run([sys.executable, "manage.py", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def test_environment_change_then_rerun_updates_instead_of_adding(live):
    first = _command("setup_schedules", BATCH_SCHEDULE="0 3 * * *")
    assert first.returncode == 0, first.stderr
    assert f"{BATCH_SCHEDULE_NAME}: created" in first.stdout
    again = _command("setup_schedules", BATCH_SCHEDULE="0 3 * * *")
    assert f"{BATCH_SCHEDULE_NAME}: unchanged" in again.stdout
    changed = _command("setup_schedules", BATCH_SCHEDULE="30 4 * * 1")
    assert f"{BATCH_SCHEDULE_NAME}: updated" in changed.stdout
    rows = [s for s in schedules().values() if s.name == BATCH_SCHEDULE_NAME]
    assert [s.cron for s in rows] == ["30 4 * * 1"]
    assert rows[0].next_run.weekday() == 0 and (rows[0].next_run.hour, rows[0].next_run.minute) == (4, 30)
    off = _command("setup_schedules", ENABLE_BATCH_PROCESSING="false")
    assert off.returncode == 0 and f"{BATCH_SCHEDULE_NAME}: removed" in off.stdout
    assert BATCH_SCHEDULE_NAME not in schedules()
    bad = _command("setup_schedules", CLEANUP_SCHEDULE="61 * * * *")
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines() == ["CommandError: invalid cron expression for 'leadhub: cleanup': '61 * * * *'"]


def _fire_batch_schedule():
    """Make the batch schedule due and let django-q2's scheduler create its task, as the cluster does."""
    from django_q.scheduler import scheduler

    with schema_context("public"):
        Schedule.objects.filter(name=BATCH_SCHEDULE_NAME).update(next_run=timezone.now() - timedelta(seconds=1))
        scheduler()
        assert Schedule.objects.get(name=BATCH_SCHEDULE_NAME).next_run > timezone.now()


def _statuses(schema, ids):
    with schema_context(schema):
        return set(Lead.objects.filter(pk__in=ids).values_list("status", flat=True))


def test_scheduled_run_processes_every_active_tenant_and_skips_inactive(live, settings):
    settings.BATCH_SIZE = 4
    call_command("setup_schedules")
    with schema_context("tenant_a"):
        a_ids = bulk_leads(10, prefix="a")
    with schema_context("tenant_b"):
        b_ids = bulk_leads(5, prefix="b")

    _fire_batch_schedule()
    ran = run_queued_tasks()

    funcs = [func for func, _, _ in ran]
    assert funcs.count("processing.tasks.run_batch_processing") == 1
    assert funcs.count("processing.tasks.process_chunk") == 3 + 2  # ceil(10/4) + ceil(5/4)
    assert _statuses("tenant_a", a_ids) == {LeadStatus.PENDING_REVIEW}
    assert _statuses("tenant_b", b_ids) == {LeadStatus.PENDING_REVIEW}

    with schema_context("public"):
        Tenant.objects.filter(schema_name="tenant_b").update(is_active=False)
    try:
        with schema_context("tenant_a"):
            a_new = bulk_leads(3, prefix="a2")
        with schema_context("tenant_b"):
            b_new = bulk_leads(3, prefix="b2")
        _fire_batch_schedule()
        ran = run_queued_tasks()
        assert [args[0] for func, args, _ in ran if func.endswith("process_chunk")] == ["tenant_a"]
        assert _statuses("tenant_a", a_new) == {LeadStatus.PENDING_REVIEW}
        assert _statuses("tenant_b", b_new) == {LeadStatus.NEW}
    finally:
        with schema_context("public"):
            Tenant.objects.filter(schema_name="tenant_b").update(is_active=True)


def ours(per_schema: dict) -> dict:
    """The test tenants' part of a per-tenant result (other session tenants, e.g. the
    browser tests' one, may exist while these run)."""
    return {schema: n for schema, n in per_schema.items() if schema in ("tenant_a", "tenant_b")}


def test_cleanup_archives_exactly_the_leads_past_retention(tenant_a, tenant_b, settings):
    settings.LEAD_RETENTION_DAYS = 30
    now = timezone.now()
    with schema_context("tenant_a"):
        stale = bulk_leads(3, prefix="stale", status=LeadStatus.ERROR)
        recent = bulk_leads(2, prefix="recent", status=LeadStatus.ERROR)
        old_review = bulk_leads(2, prefix="rev", status=LeadStatus.PENDING_REVIEW)
        Lead.objects.filter(pk__in=stale + old_review).update(status_changed_at=now - timedelta(days=31))
        Lead.objects.filter(pk__in=recent).update(status_changed_at=now - timedelta(days=29))
    with schema_context("tenant_b"):
        b_stale = bulk_leads(1, prefix="bstale", status=LeadStatus.ERROR)
        Lead.objects.filter(pk__in=b_stale).update(status_changed_at=now - timedelta(days=400))
    connection.set_schema_to_public()

    assert ours(tasks.cleanup()) == {"tenant_a": 3, "tenant_b": 1}

    assert _statuses("tenant_a", stale) == {LeadStatus.ARCHIVED}
    assert _statuses("tenant_a", recent) == {LeadStatus.ERROR}
    assert _statuses("tenant_a", old_review) == {LeadStatus.PENDING_REVIEW}
    with schema_context("tenant_a"):
        run = AuditEvent.objects.get(action="cleanup")
        assert run.changes == {"archived": 3, "retention_days": 30}
        assert AuditEvent.objects.filter(action="archived", from_status="error", to_status="archived").count() == 3
    # A second run finds nothing more and says so.
    assert ours(tasks.cleanup()) == {"tenant_a": 0, "tenant_b": 0}


def test_cleanup_uses_the_tenants_own_retention(tenant_a, settings):
    settings.LEAD_RETENTION_DAYS = 365
    with schema_context("tenant_a"):
        TenantSettings.objects.update_or_create(pk=1, defaults={"retention_days": 10})
        ids = bulk_leads(2, prefix="tr", status=LeadStatus.ERROR)
        Lead.objects.filter(pk__in=ids).update(status_changed_at=timezone.now() - timedelta(days=11))
    connection.set_schema_to_public()
    assert tasks.cleanup()["tenant_a"] == 2
    assert _statuses("tenant_a", ids) == {LeadStatus.ARCHIVED}


def test_cleanup_skips_suspended_tenants(tenant_b, settings):
    settings.LEAD_RETENTION_DAYS = 1
    with schema_context("tenant_b"):
        ids = bulk_leads(1, status=LeadStatus.ERROR)
        Lead.objects.filter(pk__in=ids).update(status_changed_at=timezone.now() - timedelta(days=5))
    with schema_context("public"):
        Tenant.objects.filter(schema_name="tenant_b").update(is_active=False)
    assert "tenant_b" not in tasks.cleanup()
    assert _statuses("tenant_b", ids) == {LeadStatus.ERROR}


def test_migrating_the_public_schema_sets_up_the_schedules(public_schema):
    Schedule.objects.all().delete()
    call_command("migrate_schemas", schema_name="public", interactive=False, verbosity=0)
    assert set(Schedule.objects.values_list("name", flat=True)) == {BATCH_SCHEDULE_NAME, CLEANUP_SCHEDULE_NAME}


def test_migrating_a_tenant_schema_leaves_the_schedules_alone(public_schema):
    Schedule.objects.all().delete()
    call_command("migrate_schemas", schema_name="tenant_a", interactive=False, verbosity=0)
    with schema_context("public"):
        assert not Schedule.objects.exists()
