"""Exports against other transactions changing their leads at the same time.

Each change runs on a second connection, in a thread, at a chosen moment of the
export: after its leads are frozen, or while a chunk is with the destination. The
export holds its leads locked from then until it records them, so the change either
waits for it (and sees the leads exported) or, for an API push between chunks, the
export skips the changed lead."""
import csv
import io
import json
import threading
import time

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from werkzeug import Response

from leads.models import AuditEvent, ExportIssue, Lead, LeadDelivery, LeadStatus
from leads.services import exports
from leads.services.exports import export_create, export_run
from leads.services.suppression import lead_erase
from processing.deduplication import merge_into
from tests.leads.exports_support import (  # noqa: F401
    LIVE_SCHEMA, approved_leads, export_file_text, live, media_root, set_credentials,
)


class Elsewhere:
    """``change`` run in a thread on its own connection to tenant A (autocommit)."""

    def __init__(self, change):
        self.change, self.result, self.error, self.pid = change, None, None, None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            with schema_context(LIVE_SCHEMA):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    self.pid = cursor.fetchone()[0]
                self._started.set()
                self.result = self.change()
        except BaseException as exc:
            self.error = exc
        finally:
            self._started.set()
            connection.close()

    def start_and_wait(self):
        """Start the change; return once it has finished or waits for a lock."""
        self._thread.start()
        self._started.wait(10)
        deadline = time.monotonic() + 10
        while self._thread.is_alive() and time.monotonic() < deadline:
            with connection.cursor() as cursor:  # pg_blocking_pids reads the live lock table
                cursor.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [self.pid])
                if cursor.fetchone()[0]:
                    return
            time.sleep(0.02)

    def join(self):
        self._thread.join(10)
        assert not self._thread.is_alive(), "the change never finished"
        if self.error is not None:
            raise self.error
        return self.result


def after_freeze(monkeypatch, change) -> Elsewhere:
    """Run ``change`` elsewhere as soon as the export has frozen its leads."""
    elsewhere = Elsewhere(change)
    freeze = exports._freeze

    def freeze_then_change(*args, **kwargs):
        total = freeze(*args, **kwargs)
        elsewhere.start_and_wait()
        return total

    monkeypatch.setattr(exports, "_freeze", freeze_then_change)
    return elsewhere


def merge(duplicate_id: int, survivor_id: int):
    return merge_into(duplicate=Lead.objects.get(pk=duplicate_id), survivor=Lead.objects.get(pk=survivor_id),
                      actor="user:ann")


def events_of(lead_id: int) -> list[tuple[str, str, str]]:
    return list(AuditEvent.objects.filter(lead_id=lead_id).order_by("id").values_list("action", "from_status", "to_status"))


# --- file exports: the change waits for the export ---------------------------------


def test_a_lead_erased_during_a_file_export_is_erased_after_it_and_leaves_nothing(live, media_root, monkeypatch):
    leads = approved_leads(3)
    erased = leads[1]
    erasure = after_freeze(monkeypatch, lambda: lead_erase(email=erased.email))
    export = export_run(export_id=export_create(format="instantly_csv").pk)
    assert erasure.join() == 1
    assert (export.status, export.sent_count) == ("done", 3), export.error_message
    assert erased.email in export_file_text(export)  # it was sent before it was erased
    assert not Lead.objects.filter(pk=erased.pk).exists()
    assert not LeadDelivery.objects.filter(lead_id=erased.pk).exists()
    assert not AuditEvent.objects.filter(lead_id=erased.pk).exists()
    assert LeadDelivery.objects.filter(export=export).count() == 2
    assert set(Lead.objects.values_list("status", flat=True)) == {LeadStatus.EXPORTED}


def test_a_lead_merged_during_a_file_export_is_merged_after_it(live, media_root, monkeypatch):
    duplicate, survivor = approved_leads(2)
    merging = after_freeze(monkeypatch, lambda: merge(duplicate.pk, survivor.pk))
    export = export_run(export_id=export_create(format="instantly_csv").pk)
    merging.join()
    assert (export.status, export.sent_count) == ("done", 2), export.error_message
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.duplicate_of_id) == (LeadStatus.DUPLICATE, survivor.pk)
    assert [action for action, _, _ in events_of(duplicate.pk)] == ["exported", "merged"]
    assert events_of(duplicate.pk)[0] == ("exported", LeadStatus.APPROVED, LeadStatus.EXPORTED)
    assert LeadDelivery.objects.filter(lead=duplicate, export=export).exists()


def test_a_status_change_during_a_file_export_never_turns_into_exported(live, media_root, monkeypatch):
    leads = approved_leads(3)
    archiving = after_freeze(monkeypatch, lambda: Lead.objects.filter(pk=leads[0].pk).update(status=LeadStatus.ARCHIVED))
    export = export_run(export_id=export_create(format="instantly_csv").pk)
    assert archiving.join() == 1
    rows = list(csv.reader(io.StringIO(export_file_text(export))))[1:]
    # Every lead in the file was exported from approved, with its event and delivery.
    assert len(rows) == export.sent_count == 3
    assert AuditEvent.objects.filter(action="exported", from_status=LeadStatus.APPROVED).count() == 3
    assert LeadDelivery.objects.filter(export=export).count() == 3
    assert Lead.objects.get(pk=leads[0].pk).status == LeadStatus.ARCHIVED  # changed after the export


# --- API pushes ----------------------------------------------------------------------


@pytest.fixture
def instantly(live, httpserver, settings):
    settings.INSTANTLY_BASE_URL = httpserver.url_for("/").rstrip("/")
    set_credentials(instantly_api_key="inst-key")
    return httpserver


def creating_all(during=None):
    """Instantly's bulk-add answer, adding every lead; ``during`` runs before it answers."""
    def handler(request):
        if during is not None:
            during()
        leads = request.get_json()["leads"]
        created = [{"id": f"lead-{i}", "index": i, "email": lead["email"]} for i, lead in enumerate(leads)]
        return Response(json.dumps({"status": "success", "created_leads": created, "leads_uploaded": len(created)}),
                        content_type="application/json")
    return handler


def pushed_emails(server) -> list[str]:
    return [lead["email"] for request, _ in server.log for lead in request.get_json()["leads"]]


def push():
    return export_run(export_id=export_create(format="instantly", destination="camp-1").pk)


def test_a_lead_merged_after_a_push_froze_it_is_skipped_and_not_sent(instantly, monkeypatch):
    duplicate, survivor = approved_leads(2)
    merging = after_freeze(monkeypatch, lambda: merge(duplicate.pk, survivor.pk))
    instantly.expect_request("/api/v2/leads/add").respond_with_handler(creating_all())
    export = push()
    merging.join()
    assert pushed_emails(instantly) == [survivor.email]
    assert (export.sent_count, export.skipped_count, export.total_count) == (1, 1, 2)
    issue = ExportIssue.objects.get(export=export)
    assert (issue.lead_id, issue.email, issue.reason) == (
        duplicate.pk, duplicate.email, "now 'duplicate': changed after the export started")
    duplicate.refresh_from_db()
    assert duplicate.status == LeadStatus.DUPLICATE
    assert not LeadDelivery.objects.filter(lead=duplicate).exists()
    assert "exported" not in [action for action, _, _ in events_of(duplicate.pk)]


def test_a_lead_erased_after_a_push_froze_it_is_skipped_without_its_email(instantly, monkeypatch):
    kept, erased = approved_leads(2)
    erasure = after_freeze(monkeypatch, lambda: lead_erase(email=erased.email))
    instantly.expect_request("/api/v2/leads/add").respond_with_handler(creating_all())
    export = push()
    assert erasure.join() == 1
    assert pushed_emails(instantly) == [kept.email]
    assert (export.sent_count, export.skipped_count) == (1, 1)
    issue = ExportIssue.objects.get(export=export)
    assert (issue.lead_id, issue.email, issue.reason) == (erased.pk, "", "deleted after the export started")
    assert not LeadDelivery.objects.filter(lead_id=erased.pk).exists()


def test_a_lead_merged_while_its_chunk_is_sent_is_merged_after_it(instantly, monkeypatch):
    duplicate, survivor = approved_leads(2)
    merging = Elsewhere(lambda: merge(duplicate.pk, survivor.pk))

    def merge_meanwhile():
        try:
            merging.start_and_wait()
        finally:
            connection.close()  # the server thread's own connection

    instantly.expect_request("/api/v2/leads/add").respond_with_handler(creating_all(during=merge_meanwhile))
    export = push()
    merging.join()
    assert (export.sent_count, export.skipped_count) == (2, 0)
    duplicate.refresh_from_db()
    assert duplicate.status == LeadStatus.DUPLICATE
    assert [action for action, _, _ in events_of(duplicate.pk)] == ["exported", "merged"]
    assert LeadDelivery.objects.filter(lead=duplicate, export=export).exists()
