"""A large file export outside any open transaction writes its file from a second
connection while the first marks the leads. That connection sees committed rows
only, so these tests commit theirs (``live``) and wipe them afterwards."""
import csv
import io

from leads.exports.csvfile import CsvDestination
from leads.models import AuditEvent, Lead, LeadDelivery, LeadStatus
from leads.services import exports
from leads.services.exports import export_create, export_run
from tests.leads.exports_support import approved_leads, live, media_root  # noqa: F401

def test_the_file_written_apart_holds_the_leads_and_they_are_marked(live, media_root, monkeypatch):
    leads = approved_leads(3, custom_fields={"industry": "SaaS"})
    started = []
    start = exports._FileWriter.start
    monkeypatch.setattr(exports._FileWriter, "start", lambda self, **kw: (started.append(1), start(self, **kw)))
    export = export_run(export_id=export_create(format="instantly_csv").pk)
    assert started  # the file was written by the second connection
    assert (export.status, export.sent_count) == ("done", 3), export.error_message
    with export.file.open("rb") as handle:
        rows = list(csv.reader(io.StringIO(handle.read().decode())))
    assert rows[0][-1] == "industry"
    assert [row[0] for row in rows[1:]] == [lead.email for lead in leads]
    assert set(Lead.objects.values_list("status", flat=True)) == {LeadStatus.EXPORTED}
    assert AuditEvent.objects.filter(action="exported").count() == 3
    assert LeadDelivery.objects.filter(export=export).count() == 3


def test_a_file_written_apart_that_fails_marks_nothing(live, media_root, monkeypatch):
    approved_leads(3)

    def fill_the_disk(self, lines):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(CsvDestination, "_write", fill_the_disk)
    export = export_run(export_id=export_create(format="instantly_csv").pk)
    assert export.status == "failed" and "No space left on device" in export.error_message
    assert not export.file and export.sent_count == 0
    assert not LeadDelivery.objects.exists() and not AuditEvent.objects.filter(action="exported").exists()
    assert set(Lead.objects.values_list("status", flat=True)) == {LeadStatus.APPROVED}


def test_above_the_maximum_the_file_is_written_in_the_marking_connection(live, media_root, monkeypatch):
    # The id list handed to a second connection grows with the export: large ones keep memory flat.
    approved_leads(3)
    monkeypatch.setattr(exports, "PARALLEL_FILE_MAX_LEADS", 2)
    started = []
    monkeypatch.setattr(exports._FileWriter, "start", lambda self, **kw: started.append(1))
    export = export_run(export_id=export_create(format="instantly_csv").pk)
    assert not started
    assert (export.status, export.sent_count) == ("done", 3), export.error_message
    assert set(Lead.objects.values_list("status", flat=True)) == {LeadStatus.EXPORTED}
