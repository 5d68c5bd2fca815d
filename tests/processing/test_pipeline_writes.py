"""The chunk write of process_leads: only what a stage changed is written, the
audit trail is complete, and merges still fill the survivor."""
import pytest

from leads.models import AuditEvent, Lead, LeadStatus
from processing import pipeline
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
