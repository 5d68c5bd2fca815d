import pytest

from leads.models import AuditEvent, Lead, LeadStatus
from leads.services.review import ReviewConflict, lead_review, leads_review_bulk
from tests.factories import make_lead, make_user


def test_approve_records_reviewer_note_and_audit(in_tenant_a):
    user = make_user("reviewer")
    lead = make_lead(status=LeadStatus.PENDING_REVIEW)
    reviewed = lead_review(lead_id=lead.pk, decision="approved", note="good fit", user=user)
    assert reviewed.status == LeadStatus.APPROVED
    lead.refresh_from_db()
    assert (lead.status, lead.reviewed_by, lead.review_note) == (LeadStatus.APPROVED, user, "good fit")
    event = AuditEvent.objects.get(lead=lead, action="reviewed")
    assert (event.from_status, event.to_status, event.actor) == ("pending_review", "approved", f"user:{user.username}")


def test_review_outside_pending_review_is_a_conflict(in_tenant_a):
    lead = make_lead(status=LeadStatus.APPROVED)
    with pytest.raises(ReviewConflict, match="only leads in 'pending_review'"):
        lead_review(lead_id=lead.pk, decision="rejected")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.APPROVED


def test_bad_decision_is_refused(in_tenant_a):
    lead = make_lead(status=LeadStatus.PENDING_REVIEW)
    with pytest.raises(ValueError):
        lead_review(lead_id=lead.pk, decision="maybe")


def test_bulk_review_skips_leads_not_pending(in_tenant_a):
    pending = [make_lead(status=LeadStatus.PENDING_REVIEW) for _ in range(2)]
    other = make_lead(status=LeadStatus.NEW)
    done = leads_review_bulk(lead_ids=[p.pk for p in pending] + [other.pk], decision="rejected", note="spam")
    assert sorted(l.pk for l in done) == sorted(p.pk for p in pending)
    assert Lead.objects.filter(status=LeadStatus.REJECTED).count() == 2
    assert Lead.objects.get(pk=other.pk).status == LeadStatus.NEW


def test_foreign_tenant_lead_id_is_not_found(tenant_a, tenant_b):
    from django_tenants.utils import schema_context

    with schema_context("tenant_a"):
        lead = make_lead(status=LeadStatus.PENDING_REVIEW)
    with schema_context("tenant_b"):
        with pytest.raises(Lead.DoesNotExist):
            lead_review(lead_id=lead.pk, decision="approved")
