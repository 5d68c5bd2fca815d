import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import schema_context

from leads.models import Lead, LeadStatus, TenantSettings
from tests.processing.conftest import keyed_lead
from tests.tenants.test_provisioning import _test_database_url

pytestmark = pytest.mark.django_db


def _lead(i, **fields):
    return keyed_lead(first_name=f"Cmd{chr(65 + i)}", last_name=f"Runner{chr(65 + i)}q", email=f"cmd{i}@co{i}.test",
                      company=f"Co {chr(65 + i)}", **fields)


def test_processes_one_tenant_and_reports_counts(tenant_a, tenant_b, capsys):
    with schema_context("tenant_a"):
        a_ids = [_lead(i).pk for i in range(3)]
    with schema_context("tenant_b"):
        b_id = _lead(9).pk
    call_command("process_leads", "--tenant", "tenant_a", "--no-progress")
    assert "tenant_a: 3 leads processed: 3 pending_review" in capsys.readouterr().out
    with schema_context("tenant_a"):
        assert set(Lead.objects.filter(pk__in=a_ids).values_list("status", flat=True)) == {LeadStatus.PENDING_REVIEW}
    with schema_context("tenant_b"):
        assert Lead.objects.get(pk=b_id).status == LeadStatus.NORMALIZED


def test_all_tenants_and_status_filter(tenant_a, tenant_b, capsys):
    with schema_context("tenant_a"):
        error = _lead(1, status=LeadStatus.ERROR, error_stage="score", error_message="boom")
        waiting = _lead(2)
    with schema_context("tenant_b"):
        other = _lead(3)
    call_command("process_leads", "--all-tenants", "--status", "error", "--no-progress")
    with schema_context("tenant_a"):
        error.refresh_from_db()
        waiting.refresh_from_db()
        assert error.status == LeadStatus.PENDING_REVIEW and error.error_message == ""
        assert waiting.status == LeadStatus.NORMALIZED
    call_command("process_leads", "--all-tenants", "--no-progress")
    with schema_context("tenant_b"):
        assert Lead.objects.get(pk=other.pk).status == LeadStatus.PENDING_REVIEW


def test_rescore_after_weights_change(tenant_a, capsys):
    with schema_context("tenant_a"):
        lead = _lead(4)
        call_command("process_leads", "--tenant", "tenant_a", "--no-progress")
        lead.refresh_from_db()
        before = lead.score
        s = TenantSettings.current()
        s.scoring_weights = {"completeness": 30}
        s.save()
    call_command("process_leads", "--tenant", "tenant_a", "--rescore", "--no-progress")
    assert "1 scores changed" in capsys.readouterr().out
    with schema_context("tenant_a"):
        lead.refresh_from_db()
        assert lead.score > before and lead.status == LeadStatus.PENDING_REVIEW


def test_unknown_tenant_is_refused(db):
    with pytest.raises(CommandError, match="no tenant 'nope'"):
        call_command("process_leads", "--tenant", "nope")


def test_command_line_exits_nonzero_with_one_line_reason(db):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "leadhub.test_settings", "DATABASE_URL": _test_database_url()}
    proc = subprocess.run([sys.executable, "manage.py", "process_leads", "--tenant", "nope"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == ["CommandError: no tenant 'nope'"]
