"""manage.py export_leads."""
import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from leads.models import Lead, LeadStatus
from tests.factories import make_lead
from tests.leads.exports_support import media_root  # noqa: F401


def test_command_writes_the_file_and_marks_leads(tenant_a, media_root, tmp_path, capsys):
    with schema_context("tenant_a"):
        make_lead(status="approved", email="cmd@x.com")
    out = tmp_path / "out.csv"
    call_command("export_leads", "--tenant", "tenant_a", "--format", "instantly_csv", "-o", str(out))
    assert "cmd@x.com" in out.read_text()
    assert "1 sent, 0 skipped" in capsys.readouterr().out
    with schema_context("tenant_a"):
        assert Lead.objects.get(email="cmd@x.com").status == LeadStatus.EXPORTED
    call_command("export_leads", "--tenant", "tenant_a", "--format", "instantly_csv", "--status", "approved,exported")
    assert "0 sent, 1 skipped" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--tenant", "nobody", "--format", "instantly_csv"], "No tenant 'nobody'"),
    (["--tenant", "tenant_a", "--format", "csv", "--template", "nope"], "template: Choose a CSV template"),
    (["--tenant", "tenant_a", "--format", "smartlead", "-o", "x.csv"], "-o needs a file format"),
    (["--tenant", "tenant_a", "--format", "instantly_csv", "--status", "new"], "filters.status"),
])
def test_command_fails_with_a_one_line_reason(tenant_a, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_leads", *args)
