"""The chunk load and write of process_leads: only what a stage changed is
written, the audit trail is complete, merges still fill the survivor and
snapshot the whole duplicate, and what the load leaves out is still there."""
import gc

import pytest

from leads.models import AuditEvent, Lead, LeadStatus
from processing import pipeline
from processing.bulk import AUDIT_COLUMNS, load_instances
from processing.pipeline import process_leads
from tests.processing.conftest import keyed_lead

pytestmark = pytest.mark.django_db


def test_a_column_no_stage_changed_is_not_overwritten(in_tenant_a, monkeypatch):
    """A reviewer's edit that lands while the chunk is being processed survives:
    the pipeline writes the columns its stages changed, not the whole stale row."""
    lead = keyed_lead(first_name="Ada", last_name="Lovelace", company="Analytical", email="ada@analytical.io",
                      title="Engineer")
    real_score = pipeline.score_leads

    def score_while_someone_edits(leads, *, settings):
        Lead.objects.filter(pk=lead.pk).update(title="Chief Engineer")  # another writer, same transaction here
        real_score(leads, settings=settings)

    monkeypatch.setattr(pipeline, "score_leads", score_while_someone_edits)
    process_leads([lead.pk])
    lead.refresh_from_db()
    assert lead.title == "Chief Engineer"
    assert lead.status == LeadStatus.PENDING_REVIEW and lead.score is not None and lead.score_breakdown
    assert lead.verification_status and lead.verified_at is not None


def test_new_leads_get_their_normalized_columns_written(in_tenant_a):
    lead = Lead.objects.create(email="  Grace.Hopper@Navy.MIL ", first_name="GRACE", last_name="HOPPER",
                               company="US Navy Inc.", status=LeadStatus.NEW, source="test")
    process_leads([lead.pk])
    lead.refresh_from_db()
    assert lead.status == LeadStatus.PENDING_REVIEW
    assert lead.email == "grace.hopper@navy.mil" and lead.email_key == "grace.hopper@navy.mil"
    assert (lead.first_name, lead.last_name) == ("Grace", "Hopper")
    assert lead.normalized and lead.company_key


def test_every_transition_of_a_chunk_is_in_the_audit_trail(in_tenant_a):
    leads = [keyed_lead(first_name=f"P{i}", last_name=f"Person{i}", company=f"Firm{i}", email=f"p{i}@firm{i}.com")
             for i in range(5)]
    older = keyed_lead(first_name="William", last_name="Hart", company="Acme", email="whart@gmail.com")
    newer = keyed_lead(first_name="Bill", last_name="Hart", company="Acme Inc", phone="+14155550100")
    process_leads([l.pk for l in leads] + [older.pk, newer.pk], actor="user:ops@a.test")
    for lead in [*leads, older]:
        assert list(AuditEvent.objects.filter(lead=lead, action="status_changed").order_by("id")
                    .values_list("from_status", "to_status", "actor", "object_id")) == [
            ("normalized", "enriched", "user:ops@a.test", str(lead.pk)),
            ("enriched", "verified", "user:ops@a.test", str(lead.pk)),
            ("verified", "pending_review", "user:ops@a.test", str(lead.pk)),
        ]
    merged = AuditEvent.objects.get(lead=newer, action="merged")
    assert merged.changes == {"duplicate_of": [None, older.pk]} and merged.created_at is not None
    survivor = AuditEvent.objects.get(lead=older, action="merge_survivor")
    assert survivor.changes["phone"] == ["", "+14155550100"] and survivor.note == f"merged lead {newer.pk}"
    older.refresh_from_db()
    assert older.phone == "+14155550100" and older.merge_history[-1]["duplicate_id"] == newer.pk


def test_audit_rows_are_laid_out_as_the_audit_table():
    assert AUDIT_COLUMNS == tuple(f.attname for f in AuditEvent._meta.concrete_fields if not f.primary_key)


def test_chunk_load_defers_what_no_stage_reads_and_still_serves_it(in_tenant_a):
    lead = keyed_lead(first_name="Ada", last_name="Lovelace", email="ada@analytical.io",
                      raw={"Email": "ada@analytical.io", "big": 2**70}, merge_history=[{"action": "merged"}])
    loaded, = load_instances(Lead, [lead.pk], skip=pipeline.UNREAD_FIELDS)
    assert loaded.get_deferred_fields() == {Lead._meta.get_field(name).attname for name in pipeline.UNREAD_FIELDS}
    assert loaded.normalized == lead.normalized and loaded.merge_history == [{"action": "merged"}]
    assert loaded.raw == {"Email": "ada@analytical.io", "big": 2**70}  # read on demand, beyond orjson's integers


def test_a_duplicate_merged_in_processing_keeps_its_whole_row_in_the_snapshot(in_tenant_a):
    older = keyed_lead(first_name="William", last_name="Hart", company="Acme", email="whart@gmail.com")
    newer = keyed_lead(first_name="Bill", last_name="Hart", company="Acme Inc", phone="+14155550100",
                       raw={"name": "Bill Hart", "phone": "+1 415 555 0100"}, custom_fields={"crm": "7"})
    process_leads([older.pk, newer.pk])
    older.refresh_from_db()
    snapshot = older.merge_history[-1]["snapshot"]
    assert snapshot["raw"] == {"name": "Bill Hart", "phone": "+1 415 555 0100"}
    assert snapshot["custom_fields"] == {"crm": "7"} and snapshot["created_at"]


def test_processing_leaves_the_garbage_collector_as_it_found_it(in_tenant_a):
    lead = keyed_lead(first_name="Ada", last_name="Lovelace", email="ada@analytical.io")
    process_leads([lead.pk])
    assert gc.isenabled()
    gc.disable()
    try:
        process_leads([lead.pk])
        assert not gc.isenabled()
    finally:
        gc.enable()
