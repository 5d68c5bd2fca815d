"""Read queries shared by the review pages (and usable by the API).

Everything here is aggregated in PostgreSQL: the pages never loop over leads in Python,
so they stay fast with hundreds of thousands of rows in a tenant.
"""
import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

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
    # COUNT(*), not COUNT(id): PostgreSQL can then answer from a status index alone.
    counts = dict(Lead.objects.order_by().values_list("status").annotate(n=Count("*")))
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

SCORE_BUCKETS = 10

# One index-only scan of the leads in the range, hashed at once into two sets of groups:
# (day, source) for the daily chart, and small (source, status, bucket, invalid) groups.
# The per-source table, the funnel and the score distribution then come from those few
# hundred groups with GROUPING SETS, so the FILTERed sums never run per lead.
_ANALYTICS_SQL = """
WITH leads AS (
    SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, source, status, score,
           -- LEAST/GREATEST skip NULLs: keep unscored leads out of every bucket explicitly
           CASE WHEN score IS NOT NULL
                THEN GREATEST(LEAST(width_bucket(score, 0, 100, %(buckets)s), %(buckets)s), 1) END AS bucket,
           verification_status = 'invalid' AS invalid
    FROM {table}
    WHERE created_at >= %(start)s AND created_at < %(end)s
), g AS (
    SELECT grouping(day) = 0 AS daily, day, source, status, bucket, invalid,
           count(*) AS n, sum(score) AS score_sum, count(score) AS scored
    FROM leads
    GROUP BY GROUPING SETS ((day, source), (source, status, bucket, invalid))
)
SELECT 'daily' AS kind, day, source, NULL AS status, NULL::int AS bucket, n::int AS leads,
       NULL::float AS avg_score, 0 AS approved, 0 AS reviewed, 0 AS duplicates, 0 AS invalid_emails
FROM g WHERE daily
UNION ALL
SELECT CASE WHEN grouping(source) = 0 THEN 'source' WHEN grouping(status) = 0 THEN 'status' ELSE 'bucket' END,
       NULL, source, status, bucket,
       sum(n)::int,
       round(sum(score_sum)::numeric / nullif(sum(scored), 0), 1)::float,
       coalesce(sum(n) FILTER (WHERE status = ANY(%(approved)s)), 0)::int,
       coalesce(sum(n) FILTER (WHERE status = ANY(%(reviewed)s)), 0)::int,
       coalesce(sum(n) FILTER (WHERE status = %(duplicate)s), 0)::int,
       coalesce(sum(n) FILTER (WHERE invalid), 0)::int
FROM g WHERE NOT daily
GROUP BY GROUPING SETS ((source), (status), (bucket))
"""


def _rate_value(part: int, whole: int) -> float | None:
    return None if not whole else round(part * 100.0 / whole, 1)


def analytics(*, date_from: dt.date, date_to: dt.date) -> dict[str, list[dict]]:
    """Every table of the analytics page for the leads created in the range, from one query.

    - ``daily``: [{day, source, leads}] ordered by day then source (days in the current
      time zone);
    - ``sources``: [{source, leads, avg_score, approval_rate, duplicate_rate,
      invalid_email_rate}], most leads first; approval rate is approved (or exported) of the
      reviewed leads, the other rates are of all leads, in percent (None when undefined);
    - ``funnel``: [{status, label, leads}] in life-cycle order, zeros included;
    - ``scores``: [{bucket, label, leads}] for ten buckets of 10 points (0-9 ... 90-100);
      a score below 0 counts in the first bucket, 100 in the last; unscored leads are left out.
    """
    params = {
        "tz": timezone.get_current_timezone_name(), "buckets": SCORE_BUCKETS,
        "start": _day_start(date_from), "end": _day_start(date_to + dt.timedelta(days=1)),
        "approved": [str(s) for s in APPROVED_STATUSES], "reviewed": [str(s) for s in REVIEWED_STATUSES],
        "duplicate": str(LeadStatus.DUPLICATE),
    }
    with connection.cursor() as cursor:
        cursor.execute(_ANALYTICS_SQL.format(table=connection.ops.quote_name(Lead._meta.db_table)), params)
        columns = [c.name for c in cursor.description]
        rows = [dict(zip(columns, values)) for values in cursor.fetchall()]

    daily = sorted(({"day": r["day"], "source": r["source"], "leads": r["leads"]} for r in rows if r["kind"] == "daily"),
                   key=lambda r: (r["day"], r["source"]))
    sources = sorted(
        ({"source": r["source"], "leads": r["leads"], "avg_score": r["avg_score"],
          "approval_rate": _rate_value(r["approved"], r["reviewed"]),
          "duplicate_rate": _rate_value(r["duplicates"], r["leads"]),
          "invalid_email_rate": _rate_value(r["invalid_emails"], r["leads"])}
         for r in rows if r["kind"] == "source"),
        key=lambda r: (-r["leads"], r["source"]),
    )
    by_status = {r["status"]: r["leads"] for r in rows if r["kind"] == "status"}
    by_bucket = {r["bucket"]: r["leads"] for r in rows if r["kind"] == "bucket" and r["bucket"] is not None}
    width = 100 // SCORE_BUCKETS
    return {
        "daily": daily,
        "sources": sources,
        "funnel": [{"status": s.value, "label": s.label, "leads": by_status.get(s.value, 0)} for s in STATUS_ORDER],
        "scores": [
            {"bucket": b, "label": f"{(b - 1) * width}-{b * width - 1 if b < SCORE_BUCKETS else 100}",
             "leads": by_bucket.get(b, 0)}
            for b in range(1, SCORE_BUCKETS + 1)
        ],
    }
