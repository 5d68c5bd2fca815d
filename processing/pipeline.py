"""The lead pipeline: the one way a lead is processed, whoever asks (API, command, task).

Contract (other parts rely on these two functions):

``prepare_incoming(leads)`` runs inline at ingestion on *unsaved* Lead objects,
before they are inserted: normalization and exact-key deduplication. It sets the
derived fields and status (``normalized``, or ``duplicate`` with ``duplicate_of``).

``process_leads(lead_ids, actor=...)`` runs the remaining stages on saved leads
(whatever status they are in) and returns counts by resulting status.
"""
from collections import Counter
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from leads.models import Lead, LeadStatus
from leads.services.audit import audit_transitions


def prepare_incoming(leads: list[Lead]) -> None:
    """Inline stage at ingestion (normalization and exact-key deduplication)."""


def process_leads(lead_ids: Iterable[int], *, actor: str = "pipeline") -> dict[str, int]:
    """Move the given leads through the stages up to ``pending_review``."""
    ids = list(lead_ids)
    with transaction.atomic():
        leads = list(Lead.objects.select_for_update().filter(pk__in=ids, status__in=[LeadStatus.NEW, LeadStatus.NORMALIZED]))
        before = {lead.pk: lead.status for lead in leads}
        now = timezone.now()
        for lead in leads:
            lead.status = LeadStatus.PENDING_REVIEW
            lead.status_changed_at = now
        Lead.objects.bulk_update(leads, ["status", "status_changed_at"])
        audit_transitions(leads, from_status=before, to_status=LeadStatus.PENDING_REVIEW, actor=actor)
    return dict(Counter(lead.status for lead in leads))
