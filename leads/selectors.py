"""Read queries shared by the review pages (and usable by the API).

Everything here is aggregated in PostgreSQL: the pages never loop over leads in Python,
so they stay fast with hundreds of thousands of rows in a tenant.
"""
import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, F, FloatField, Func, IntegerField, Q, QuerySet, Value
from django.db.models.functions import Cast, Greatest, Least, NullIf, Round, TruncDate

from leads.models import AuditEvent, Lead, LeadStatus

# The life cycle in the order a lead goes through it; used for the funnel and the header.
STATUS_ORDER = [
    LeadStatus.NEW, LeadStatus.NORMALIZED, LeadStatus.ENRICHED, LeadStatus.VERIFIED,
    LeadStatus.PENDING_REVIEW, LeadStatus.APPROVED, LeadStatus.REJECTED, LeadStatus.EXPORTED,
    LeadStatus.DUPLICATE, LeadStatus.ERROR, LeadStatus.ARCHIVED,
]
# A lead that was approved and then exported still counts as approved.
APPROVED_STATUSES = [LeadStatus.APPROVED, LeadStatus.EXPORTED]
REVIEWED_STATUSES = [LeadStatus.APPROVED, LeadStatus.EXPORTED, LeadStatus.REJECTED]
SEARCH_FIELDS = ("email", "first_name", "last_name", "full_name", "company")


@dataclass(frozen=True)
class QueueFilters:
    status: str = LeadStatus.PENDING_REVIEW
    source: str = ""
    score_min: int | None = None
    score_max: int | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    q: str = ""


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.timezone.utc)


def _created_range(created_from: dt.date | None, created_to: dt.date | None) -> Q:
    """Inclusive date range on created_at, as a sargable range (uses the created_at indexes)."""
    cond = Q()
    if created_from:
        cond &= Q(created_at__gte=_day_start(created_from))
    if created_to:
        cond &= Q(created_at__lt=_day_start(created_to + dt.timedelta(days=1)))
    return cond


def queue_leads(*, filters: QueueFilters) -> QuerySet[Lead]:
    """Leads matching the queue filters, highest score first (unscored last, then oldest first)."""
    qs = Lead.objects.all()
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.score_min is not None:
        qs = qs.filter(score__gte=filters.score_min)
    if filters.score_max is not None:
        qs = qs.filter(score__lte=filters.score_max)
    qs = qs.filter(_created_range(filters.created_from, filters.created_to))
    if filters.q:
        term = Q()
        for field in SEARCH_FIELDS:
            term |= Q(**{f"{field}__icontains": filters.q})
        qs = qs.filter(term)
    return qs.only(
        "id", "email", "first_name", "last_name", "full_name", "company", "title", "source", "status",
        "score", "verification_status", "created_at", "possible_duplicate_of_id",
    ).order_by(F("score").desc(nulls_last=True), "id")


def status_counts() -> dict[str, int]:
    """{status: count} for every status (zeros included), one GROUP BY."""
    counts = dict(Lead.objects.order_by().values_list("status").annotate(n=Count("id")))
    return {status.value: counts.get(status.value, 0) for status in STATUS_ORDER}


def lead_sources() -> list[str]:
    return list(Lead.objects.order_by("source").values_list("source", flat=True).distinct())


def lead_for_detail(*, lead_id: int) -> Lead:
    """The lead with what the detail page shows next to it. Raises Lead.DoesNotExist."""
    return Lead.objects.select_related("duplicate_of", "possible_duplicate_of", "reviewed_by", "batch").get(pk=lead_id)


def lead_possible_duplicates(*, lead: Lead) -> list[Lead]:
    """Leads flagged as possibly the same person, in both directions of the link."""
    qs = Lead.objects.filter(possible_duplicate_of=lead)
    if lead.possible_duplicate_of_id:
        qs = qs | Lead.objects.filter(pk=lead.possible_duplicate_of_id)
    return list(qs.exclude(pk=lead.pk).order_by("id")[:50])


def lead_merged_duplicates(*, lead: Lead) -> list[Lead]:
    return list(Lead.objects.filter(duplicate_of=lead).order_by("id")[:100])


def lead_audit_history(*, lead: Lead, limit: int = 200) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(lead=lead).order_by("-created_at", "-id")[:limit])


# --- Analytics ----------------------------------------------------------------

def _rate(part, whole):
    """part / whole as a percentage with one decimal, NULL when whole is 0 (computed in SQL)."""
    return Round(Cast(part, FloatField()) * 100.0 / NullIf(Cast(whole, FloatField()), 0.0), 1)


def leads_per_day_by_source(*, date_from: dt.date, date_to: dt.date) -> list[dict]:
    """[{day, source, leads}] ordered by day then source."""
    return list(
        Lead.objects.filter(_created_range(date_from, date_to))
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values("day", "source")
        .annotate(leads=Count("id"))
        .order_by("day", "source")
    )


def source_stats(*, date_from: dt.date, date_to: dt.date) -> list[dict]:
    """Per source: leads, average score, approval rate (of reviewed), duplicate rate and
    invalid-email rate (of all leads), one GROUP BY with FILTERed aggregates."""
    return list(
        Lead.objects.filter(_created_range(date_from, date_to))
        .order_by()
        .values("source")
        .annotate(
            leads=Count("id"),
            avg_score=Round(Avg("score"), 1),
            approved=Count("id", filter=Q(status__in=APPROVED_STATUSES)),
            reviewed=Count("id", filter=Q(status__in=REVIEWED_STATUSES)),
            duplicates=Count("id", filter=Q(status=LeadStatus.DUPLICATE)),
            invalid_emails=Count("id", filter=Q(verification_status="invalid")),
        )
        .annotate(
            approval_rate=_rate(F("approved"), F("reviewed")),
            duplicate_rate=_rate(F("duplicates"), F("leads")),
            invalid_email_rate=_rate(F("invalid_emails"), F("leads")),
        )
        .order_by("-leads", "source")
    )


def status_funnel(*, date_from: dt.date, date_to: dt.date) -> list[dict]:
    """[{status, label, leads}] in life-cycle order, zeros included."""
    counts = dict(
        Lead.objects.filter(_created_range(date_from, date_to)).order_by()
        .values_list("status").annotate(n=Count("id"))
    )
    return [{"status": s.value, "label": s.label, "leads": counts.get(s.value, 0)} for s in STATUS_ORDER]


SCORE_BUCKETS = 10


class WidthBucket(Func):
    function = "width_bucket"
    output_field = IntegerField()


def score_distribution(*, date_from: dt.date, date_to: dt.date) -> list[dict]:
    """Scored leads in ten buckets of 10 points (0-9 ... 90-100); scores below 0 land in
    the first bucket and 100 in the last. [{bucket, label, leads}], empty buckets included."""
    rows = dict(
        Lead.objects.filter(_created_range(date_from, date_to), score__isnull=False)
        .annotate(bucket=Greatest(Least(WidthBucket(F("score"), Value(0), Value(100), Value(SCORE_BUCKETS)),
                                        Value(SCORE_BUCKETS)), Value(1)))
        .order_by()
        .values_list("bucket")
        .annotate(n=Count("id"))
    )
    width = 100 // SCORE_BUCKETS
    return [
        {"bucket": b, "label": f"{(b - 1) * width}-{b * width - 1 if b < SCORE_BUCKETS else 100}", "leads": rows.get(b, 0)}
        for b in range(1, SCORE_BUCKETS + 1)
    ]
