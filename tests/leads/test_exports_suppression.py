"""Do-not-contact list and GDPR erasure: suppressed and erased people are never
exported, and the check ingestion calls refuses an erased email with a clear reason."""
from leads.models import AuditEvent, ExportIssue, Lead, SuppressionEntry
from leads.services.exports import export_create, export_run
from leads.services.suppression import (
    email_hash, lead_erase, suppressed_emails, suppression_add, suppression_reasons,
)
from tests.factories import make_lead
from tests.leads.exports_support import export_file_text, media_root  # noqa: F401


def run_csv(**kwargs):
    export = export_create(format="instantly_csv", **kwargs)
    return export_run(export_id=export.pk)


def test_suppressed_email_and_domain_are_never_exported(in_tenant_a, media_root):
    keep = make_lead(status="approved", email="keep@fine.com")
    blocked = make_lead(status="approved", email="Stop@Me.com")
    on_domain = make_lead(status="approved", email="anyone@competitor.io")
    suppression_add(kind="email", value=" stop@me.COM ", reason="asked us to stop")
    suppression_add(kind="domain", value="@Competitor.io")
    export = run_csv()
    text = export_file_text(export)
    assert "keep@fine.com" in text and "Stop@Me.com" not in text and "competitor.io" not in text
    assert (export.sent_count, export.skipped_count) == (1, 2)
    skipped = dict(ExportIssue.objects.filter(export=export).values_list("lead_id", "reason"))
    assert skipped == {blocked.pk: "on the do-not-contact list", on_domain.pk: "on the do-not-contact list"}
    blocked.refresh_from_db()
    assert blocked.status == "approved" and keep.pk not in skipped


def test_suppressed_emails_function_for_ingestion(in_tenant_a):
    suppression_add(kind="email", value="no@x.com")
    suppression_add(kind="domain", value="blocked.org")
    lead_erase(email="gone@y.com")
    given = ["NO@x.com", "a@blocked.org", "Gone@Y.com ", "fine@x.com", ""]
    assert suppressed_emails(given) == {"NO@x.com", "a@blocked.org", "Gone@Y.com "}
    reasons = suppression_reasons(given)
    assert "erased" in reasons["Gone@Y.com "] and "may not be imported again" in reasons["Gone@Y.com "]
    assert reasons["NO@x.com"] == "This email is on the do-not-contact list."
    assert "domain" in reasons["a@blocked.org"]
    assert suppressed_emails([]) == set()


def test_erasure_deletes_the_lead_and_keeps_only_a_hash(in_tenant_a, media_root):
    lead = make_lead(status="approved", email="Erase.Me@corp.com", first_name="Erin")
    AuditEvent.objects.create(lead=lead, action="edited", actor="user:x", changes={"first_name": ["E", "Erin"]})
    deleted = lead_erase(email="erase.me@CORP.com ")
    assert deleted == 1
    assert not Lead.objects.filter(pk=lead.pk).exists()
    entry = SuppressionEntry.objects.get(kind="erased")
    assert entry.value == email_hash("erase.me@corp.com") and "corp.com" not in entry.value
    assert not SuppressionEntry.objects.filter(value__icontains="erase.me").exists()
    # The history keeps that something happened, not who it was.
    assert not AuditEvent.objects.filter(changes__has_key="first_name").exists()
    assert AuditEvent.objects.filter(action="erased", object_type="erasure").exists()


def test_an_erased_email_that_comes_back_is_not_exported(in_tenant_a, media_root):
    # Ingestion refuses it (suppressed_emails); should a copy arrive another way, export still holds it back.
    lead_erase(email="back@again.com")
    make_lead(status="approved", email="Back@Again.com")
    export = run_csv()
    assert export.sent_count == 0 and export.skipped_count == 1
    assert "back@again.com" not in export_file_text(export).lower()


def test_erasure_replaces_a_plain_suppression_entry(in_tenant_a):
    suppression_add(kind="email", value="p@q.com")
    lead_erase(email="p@q.com")
    assert list(SuppressionEntry.objects.values_list("kind", flat=True)) == ["erased"]
    assert suppressed_emails(["p@q.com"]) == {"p@q.com"}


def test_suppression_is_per_tenant(tenant_a, tenant_b):
    from django_tenants.utils import schema_context

    with schema_context("tenant_a"):
        suppression_add(kind="email", value="only@a.com")
        lead_erase(email="erased@a.com")
    with schema_context("tenant_b"):
        assert suppressed_emails(["only@a.com", "erased@a.com"]) == set()
