"""File exports (Instantly CSV and custom templates): content, encodings, formula
injection, the once-per-destination rule and the lead bookkeeping."""
import csv
import io

import pytest

from leads.models import AuditEvent, CsvTemplate, CsvTemplateColumn, Export, ExportIssue, Lead, LeadDelivery, LeadStatus
from leads.services.exports import ExportInvalid, export_create, export_run
from tests.factories import make_lead, make_user
from tests.leads.exports_support import export_file_text, media_root  # noqa: F401


def run(**kwargs) -> Export:
    export = export_create(**kwargs)
    return export_run(export_id=export.pk)


def rows_of(export: Export, encoding="utf-8", delimiter=","):
    return list(csv.reader(io.StringIO(export_file_text(export, encoding)), delimiter=delimiter))


def make_template(name="crm", columns=(("E-mail", "email", ""), ("Firma", "company", "n/a")), **fields):
    template = CsvTemplate.objects.create(name=name, **fields)
    for position, (header, field, default) in enumerate(columns):
        CsvTemplateColumn.objects.create(template=template, position=position, header=header, field=field, default=default)
    return template


def test_instantly_csv_has_the_importer_columns_and_custom_variables(in_tenant_a, media_root):
    make_lead(status="approved", email="ann@acme.com", first_name="Ann", last_name="Lee", company="Acme",
              title="CTO", phone="+14155550100", website="https://acme.com",
              custom_fields={"personalization": "Loved your talk", "industry": "SaaS"})
    export = run(format="instantly_csv")
    rows = rows_of(export)
    assert rows[0] == ["email", "first_name", "last_name", "company_name", "job_title", "phone", "website",
                       "personalization", "industry"]
    # The E.164 phone number is a plain number, not a formula: it stays as is.
    assert rows[1] == ["ann@acme.com", "Ann", "Lee", "Acme", "CTO", "+14155550100", "https://acme.com",
                       "Loved your talk", "SaaS"]
    assert (export.status, export.sent_count, export.total_count) == ("done", 1, 1)
    assert export.file.name.startswith("tenant_a/exports/")


def test_only_approved_leads_by_default_and_they_become_exported(in_tenant_a, media_root):
    user = make_user("reviewer")
    approved = make_lead(status=LeadStatus.APPROVED)
    make_lead(status=LeadStatus.PENDING_REVIEW)
    make_lead(status=LeadStatus.REJECTED)
    export = run(format="instantly_csv", user=user)
    assert export.sent_count == 1 and len(rows_of(export)) == 2
    approved.refresh_from_db()
    assert approved.status == LeadStatus.EXPORTED
    assert approved.export_destination == "instantly_csv" and approved.exported_at is not None
    event = AuditEvent.objects.get(lead=approved, action="exported")
    assert (event.from_status, event.to_status, event.actor) == ("approved", "exported", f"user:{user.username}")
    assert export.created_by == user


def test_exporting_twice_to_one_destination_sends_nothing_the_second_time(in_tenant_a, media_root):
    leads = [make_lead(status="approved") for _ in range(3)]
    first = run(format="instantly_csv", filters={"status": ["approved", "exported"]})
    second = run(format="instantly_csv", filters={"status": ["approved", "exported"]})
    assert first.sent_count == 3
    assert (second.sent_count, second.skipped_count) == (0, 3)
    assert len(rows_of(second)) == 1  # the header only
    reasons = set(ExportIssue.objects.filter(export=second).values_list("reason", flat=True))
    assert reasons == {"already sent to instantly_csv"}
    assert LeadDelivery.objects.filter(lead__in=leads).count() == 3


def test_force_sends_again_and_another_destination_is_separate(in_tenant_a, media_root):
    make_lead(status="approved")
    run(format="instantly_csv")
    forced = run(format="instantly_csv", filters={"status": "exported"}, force=True)
    other = run(format="instantly_csv", destination="agency-b", filters={"status": "exported"})
    assert forced.sent_count == 1 and other.sent_count == 1
    assert Lead.objects.get().export_destination == "instantly_csv:agency-b"


def test_template_columns_defaults_delimiter_and_bom(in_tenant_a, media_root):
    make_template(delimiter=";", encoding="utf-8-sig",
                  columns=(("E-mail", "email", ""), ("Firma", "company", "n/a"), ("Branche", "custom_fields.industry", "?")))
    make_lead(status="approved", email="jörg@müller.de", company="", custom_fields={"industry": "Maschinenbau"})
    export = run(format="csv", template="crm")
    with export.file.open("rb") as handle:
        raw = handle.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with the BOM
    assert raw.decode("utf-8-sig").splitlines() == ["E-mail;Firma;Branche", "jörg@müller.de;n/a;Maschinenbau"]
    assert export.destination == "csv:crm"


def test_plain_utf8_has_no_bom_and_legacy_encoding_replaces_what_it_cannot_hold(in_tenant_a, media_root):
    make_template(name="plain")
    make_template(name="legacy", encoding="cp1252")
    make_lead(status="approved", company="Zürich 東京")
    with_plain = run(format="csv", template="plain", filters={"status": ["approved", "exported"]})
    legacy = run(format="csv", template="legacy", filters={"status": ["approved", "exported"]})
    assert not with_plain.file.open("rb").read().startswith(b"\xef\xbb\xbf")
    assert rows_of(legacy, "cp1252")[1][1] == "Zürich ??"


@pytest.mark.parametrize("value,expected", [
    ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"),
    ("+SUM(A1:A2)", "'+SUM(A1:A2)"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1)", "'@SUM(1)"),
    ("Acme = best", "Acme = best"),
    ("+44 20 7946 0958", "+44 20 7946 0958"),
])
def test_cells_that_start_a_formula_are_neutralised(in_tenant_a, media_root, value, expected):
    make_lead(status="approved", company=value, first_name=value)
    export = run(format="instantly_csv")
    row = rows_of(export)[1]
    assert row[1] == expected and row[3] == expected


def test_template_header_is_neutralised_too(in_tenant_a, media_root):
    make_template(name="evil", columns=(("=cmd()", "email", ""),))
    make_lead(status="approved")
    assert rows_of(run(format="csv", template="evil"))[0] == ["'=cmd()"]


def test_bad_requests_get_field_errors(in_tenant_a):
    with pytest.raises(ExportInvalid) as excinfo:
        export_create(format="csv", template="nope", filters={"status": "pending_review", "colour": "red", "min_score": "x"})
    assert set(excinfo.value.errors) == {"template", "filters.status", "filters.colour", "filters.min_score"}
    with pytest.raises(ExportInvalid) as excinfo:
        export_create(format="smartlead", destination="")
    assert "destination" in excinfo.value.errors
    with pytest.raises(ExportInvalid) as excinfo:
        export_create(format="fax")
    assert "format" in excinfo.value.errors


def test_filters_pick_leads(in_tenant_a, media_root):
    make_lead(status="approved", source="webinar", score=80)
    make_lead(status="approved", source="webinar", score=20)
    make_lead(status="approved", source="fair", score=90)
    export = run(format="instantly_csv", filters={"source": "webinar", "min_score": 50})
    assert export.total_count == 1 and export.sent_count == 1


def test_running_an_export_twice_does_nothing_more(in_tenant_a, media_root):
    make_lead(status="approved")
    export = export_create(format="instantly_csv")
    export_run(export_id=export.pk)
    again = export_run(export_id=export.pk)
    assert (again.status, again.sent_count) == ("done", 1)
    assert LeadDelivery.objects.count() == 1


@pytest.mark.parametrize("filters,error_key", [
    ({"created_after": "2026-02-30"}, "filters.created_after"),
    ({"created_before": "yesterday"}, "filters.created_before"),
    ({"ids": "1,2"}, "filters.ids"),
    ({"status": []}, "filters.status"),
])
def test_bad_filters_are_refused_by_name(in_tenant_a, filters, error_key):
    with pytest.raises(ExportInvalid) as excinfo:
        export_create(format="instantly_csv", filters=filters)
    assert error_key in excinfo.value.errors


def test_date_and_id_filters(in_tenant_a, media_root):
    from datetime import timedelta

    from django.utils import timezone

    old = make_lead(status="approved")
    Lead.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    recent = make_lead(status="approved")
    other = make_lead(status="approved")
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    export = run(format="instantly_csv", filters={"created_after": since, "ids": [old.pk, recent.pk]})
    assert export.sent_count == 1
    assert Lead.objects.get(pk=recent.pk).status == LeadStatus.EXPORTED
    assert Lead.objects.get(pk=other.pk).status == LeadStatus.APPROVED


def test_a_file_that_cannot_be_written_marks_nothing(in_tenant_a, media_root, settings, monkeypatch):
    from leads.exports.csvfile import CsvDestination

    settings.EXPORT_CHUNK_SIZE = 1
    make_lead(status="approved")
    make_lead(status="approved")
    write = CsvDestination._write
    calls = []

    def write_then_fill_the_disk(self, lines):
        calls.append(1)
        if len(calls) == 2:  # the second lead's row, while the database is still sending
            raise OSError(28, "No space left on device")
        return write(self, lines)

    monkeypatch.setattr(CsvDestination, "_write", write_then_fill_the_disk)
    export = run(format="instantly_csv")
    assert export.status == "failed" and "No space left on device" in export.error_message
    assert not export.file and export.sent_count == 0
    assert not LeadDelivery.objects.exists()
    assert set(Lead.objects.values_list("status", flat=True)) == {LeadStatus.APPROVED}


def test_deleting_a_lead_or_an_export_keeps_the_delivery_records_consistent(in_tenant_a, media_root):
    # LeadDelivery's references are kept by Django's on_delete, not by database constraints.
    gone, kept = make_lead(status="approved"), make_lead(status="approved")
    export = run(format="instantly_csv")
    assert LeadDelivery.objects.filter(export=export).count() == 2
    Lead.objects.filter(pk=gone.pk).delete()
    assert list(LeadDelivery.objects.values_list("lead_id", flat=True)) == [kept.pk]
    Export.objects.filter(pk=export.pk).delete()
    assert LeadDelivery.objects.get().export_id is None
