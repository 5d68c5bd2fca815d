"""Reviewing leads: approve or reject what the pipeline put in front of a person."""
from django.db import transaction
from django.utils import timezone

from leads.models import AuditEvent, Lead, LeadStatus
from leads.services.audit import actor_label

DECISIONS = (LeadStatus.APPROVED, LeadStatus.REJECTED)


class ReviewConflict(Exception):
    """The lead is not waiting for review (already decided, or not yet processed)."""


@transaction.atomic
def lead_review(*, lead_id: int, decision: str, note: str = "", user=None, api_key=None) -> Lead:
    """Approve or reject one lead in ``pending_review``; records reviewer, time and note.

    Raises Lead.DoesNotExist, ValueError (bad decision) or ReviewConflict.
    """
    reviewed = leads_review_bulk(lead_ids=[lead_id], decision=decision, note=note, user=user, api_key=api_key)
    if not reviewed:
        lead = Lead.objects.get(pk=lead_id)  # raises DoesNotExist for a foreign or unknown id
        raise ReviewConflict(f"lead {lead.pk} is '{lead.status}', only leads in 'pending_review' can be reviewed")
    return reviewed[0]


@transaction.atomic
def leads_review_bulk(*, lead_ids: list[int], decision: str, note: str = "", user=None, api_key=None) -> list[Lead]:
    """Approve or reject every lead of ``lead_ids`` that is in ``pending_review``; the
    others are left alone. Returns the reviewed leads. One UPDATE, one audit insert."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
    now = timezone.now()
    leads = list(
        Lead.objects.select_for_update().filter(pk__in=lead_ids, status=LeadStatus.PENDING_REVIEW).order_by("pk")
    )
    if not leads:
        return []
    reviewer = user if user is not None and getattr(user, "is_authenticated", False) else None
    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
        status=decision, status_changed_at=now, reviewed_by=reviewer, reviewed_at=now, review_note=note
    )
    actor = actor_label(user=user, api_key=api_key)
    AuditEvent.objects.bulk_create(
        AuditEvent(lead_id=lead.pk, object_type="lead", object_id=str(lead.pk), action="reviewed", actor=actor,
                   user=reviewer, from_status=LeadStatus.PENDING_REVIEW, to_status=decision, note=note)
        for lead in leads
    )
    for lead in leads:
        lead.status, lead.status_changed_at, lead.reviewed_by, lead.reviewed_at, lead.review_note = (
            decision, now, reviewer, now, note)
    return leads
