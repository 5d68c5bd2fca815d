"""Count reconciliation after a fault: what the product accepted is stored
exactly once, in its own tenant, and no lead is stuck half-way.

Every fault test (database restart, Redis down, provider outage, killed worker)
ends with ``assert_reconciled``. A lead is acceptable in a *final* status
(the pipeline has nothing more to do: pending review and later, duplicate,
archived) or a *retryable* one (awaiting a stage, or in error, with no lease
left behind: a batch run or a retry will pick it up).
"""
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django_tenants.utils import schema_context

from leads.models import Lead, LeadStatus
from processing.claims import PROCESSABLE_STATUSES

FINAL_STATUSES = frozenset({
    LeadStatus.PENDING_REVIEW, LeadStatus.APPROVED, LeadStatus.REJECTED, LeadStatus.EXPORTED,
    LeadStatus.DUPLICATE, LeadStatus.ARCHIVED,
})
RETRYABLE_STATUSES = frozenset(PROCESSABLE_STATUSES)


@dataclass
class Reconciliation:
    schema: str
    accepted: int
    stored: int
    lost: list = field(default_factory=list)        # accepted, not stored
    duplicated: list = field(default_factory=list)  # stored more than once
    unexpected: list = field(default_factory=list)  # stored, never accepted
    stuck: dict = field(default_factory=dict)       # lead id -> status neither final nor retryable
    leased: int = 0                                 # leads still holding a lease
    by_status: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.unexpected or self.stuck or self.leased)


def reconcile(schema: str, *, external_ids=None, lead_ids=None, source: str | None = None,
              allow_leases: bool = False) -> Reconciliation:
    """Compare what ``schema`` stores with what was accepted into it.

    Give the accepted rows as ``external_ids`` (matched on Lead.external_id,
    within ``source`` when given) or as ``lead_ids`` (the ids the API or the
    test created). Leads outside the accepted set but inside ``source`` count
    as unexpected; with ``lead_ids`` and no source, every other lead of the
    schema does.
    """
    with schema_context(schema):
        leads = Lead.objects.all()
        if source is not None:
            leads = leads.filter(source=source)
        if external_ids is not None:
            accepted = Counter(external_ids)
            stored = Counter(leads.values_list("external_id", flat=True))
            key_filter = Q(external_id__in=list(accepted))
        else:
            accepted = Counter(lead_ids)
            stored = Counter(leads.values_list("id", flat=True))
            key_filter = Q(pk__in=list(accepted))
        result = Reconciliation(schema=schema, accepted=len(accepted), stored=sum(stored.values()))
        result.lost = sorted(k for k in accepted if k not in stored)
        result.duplicated = sorted(k for k, n in stored.items() if n > 1 and k in accepted)
        result.unexpected = sorted(k for k in stored if k not in accepted)
        mine = leads.filter(key_filter)
        allowed = FINAL_STATUSES | RETRYABLE_STATUSES
        result.stuck = dict(mine.exclude(status__in=allowed).values_list("id", "status"))
        if not allow_leases:
            result.leased = mine.filter(Q(claimed_until__isnull=False) | ~Q(claimed_by="")).count()
        result.by_status = dict(mine.order_by().values_list("status").annotate(n=Count("id")))
    return result


def assert_reconciled(schema: str, **kwargs) -> Reconciliation:
    """``reconcile`` and fail with a readable summary unless every accepted
    lead is present exactly once, nothing else is, and none is stuck or leased."""
    result = reconcile(schema, **kwargs)
    assert result.ok, (
        f"{schema}: accepted {result.accepted}, stored {result.stored}; lost {result.lost[:10]} "
        f"({len(result.lost)}), duplicated {result.duplicated[:10]} ({len(result.duplicated)}), "
        f"unexpected {result.unexpected[:10]} ({len(result.unexpected)}), stuck {dict(list(result.stuck.items())[:10])}, "
        f"leased {result.leased}; by status {result.by_status}")
    return result
