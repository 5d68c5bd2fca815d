"""Background processing services: fan-out, chunk processing, cleanup.

django-q2 tasks (processing/tasks.py) are thin wrappers around these; the
services assume the caller already runs in the right tenant schema, except
the tenant helpers at the top which work from the public schema.
"""
import logging
import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce, Now
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from leads.models import AuditEvent, Lead, LeadStatus
from leads.services.audit import audit_transitions
from processing.claims import AWAITING_STATUSES, PROCESSABLE_STATUSES, claim_batch, release
from processing.models import PipelineJob
from processing.pipeline import process_leads

logger = logging.getLogger(__name__)

PROCESS_CHUNK = "processing.tasks.process_chunk"


class UnknownTenant(LookupError):
    """A task named a schema that has no tenant (deleted, or a typo)."""


def tenant_state(schema: str) -> bool:
    """True when ``schema`` is an active tenant, False when it is suspended.

    Raises UnknownTenant for the public schema or a schema without a tenant,
    so a task never falls back to running in public."""
    from tenants.models import Tenant

    if schema == get_public_schema_name():
        raise UnknownTenant("tasks never run in the public schema")
    with schema_context(get_public_schema_name()):
        active = Tenant.objects.filter(schema_name=schema).values_list("is_active", flat=True).first()
    if active is None:
        raise UnknownTenant(f"no tenant with schema {schema!r}")
    return active


def active_schemas() -> list[str]:
    """Schema names of the active tenants, public excluded."""
    from tenants.models import Tenant

    with schema_context(get_public_schema_name()):
        return list(
            Tenant.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name())
            .order_by("schema_name").values_list("schema_name", flat=True)
        )


def worker_label() -> str:
    """Who holds a lease: host, process id and a per-chunk nonce. The pid lets
    an operator (or a test) find the process that holds a stale lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_seconds() -> int:
    return settings.CLAIM_LEASE_SECONDS


def awaiting_lead_ids(*, limit: int | None = None) -> list[int]:
    """Ids of leads a batch run should process: awaiting a stage, not leased
    (or lease expired), and due (no next_attempt_at in the future)."""
    now = timezone.now()
    qs = (
        Lead.objects.filter(status__in=AWAITING_STATUSES)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("id").values_list("id", flat=True)
    )
    return list(qs[:limit] if limit else qs)


def chunked(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def queue_chunks(*, schema: str, lead_ids: list[int], job_id: int | None = None,
                 chunk_size: int | None = None, group: str = "", retry_errors: bool = False) -> int:
    """Queue one ``process_chunk`` task per ``chunk_size`` leads, after the
    current transaction commits (a worker must never see uncommitted rows).
    Returns the number of chunks queued."""
    from django_q.tasks import async_task

    chunks = chunked(lead_ids, chunk_size or settings.BATCH_SIZE)
    group = group or f"batch:{schema}"

    def enqueue():
        for ids in chunks:
            async_task(PROCESS_CHUNK, schema, ids, job_id=job_id, retry_errors=retry_errors, group=group,
                       task_name=f"process {len(ids)} leads in {schema}")

    transaction.on_commit(enqueue)
    return len(chunks)


@dataclass
class ChunkResult:
    claimed: int
    done: int
    failed: int
    skipped: int

    def as_dict(self) -> dict:
        return {"claimed": self.claimed, "done": self.done, "failed": self.failed, "skipped": self.skipped}


def process_chunk_now(*, lead_ids: Iterable[int], job_id: int | None = None, actor: str = "pipeline",
                      worker: str | None = None, retry_errors: bool = False) -> ChunkResult:
    """Claim the given leads, run the pipeline on those claimed, release them.

    The release of the leases and the job's counters commit in the transaction
    that writes the chunk (its last one, when deduplication is committed before
    remote providers are called: see ``processing.pipeline._process_chunk``): a
    worker killed half-way leaves no half-processed stage and no counted progress,
    only leases that expire after CLAIM_LEASE_SECONDS, after which the next
    attempt (broker retry or the next batch run) takes the leads again where
    they stand. Leads already leased to someone else, or no longer awaiting
    processing, are skipped; with ``retry_errors`` leads in ``error`` are taken too.
    """
    ids = list(lead_ids)
    worker = worker or worker_label()
    statuses = PROCESSABLE_STATUSES if retry_errors else AWAITING_STATUSES
    claimed = claim_batch(limit=len(ids), worker=worker, lease_seconds=lease_seconds(), lead_ids=ids,
                          statuses=statuses)
    skipped = len(ids) - len(claimed)
    before = dict(_stage_seconds())
    results: list[ChunkResult] = []

    def finish(counts: dict[str, int]) -> None:
        _record_stage_timings(before)
        # The chunk's write dropped the leases of the leads it processed; this
        # drops those of leads it had nothing to do for (no longer awaiting).
        release(lead_ids=claimed, worker=worker)
        failed = int(counts.get(LeadStatus.ERROR, 0))
        results.append(ChunkResult(claimed=len(claimed), done=len(claimed) - failed, failed=failed, skipped=skipped))
        if job_id is not None:
            _job_progress(job_id, results[-1])

    try:
        process_leads(claimed, actor=actor, lease_holder=worker, finish=finish)
    except Exception as exc:
        # Give the leads back at once so the next run retries them, and
        # count the chunk against its job; the task itself still fails.
        release(lead_ids=claimed, worker=worker)
        if job_id is not None:
            _job_progress(job_id, ChunkResult(claimed=len(claimed), done=0, failed=len(claimed), skipped=skipped),
                          error=f"{type(exc).__name__}: {exc}")
        raise
    return results[-1]


def _stage_seconds():
    # The pipeline keeps per-process stage timers (processing.pipeline.STAGE_SECONDS).
    from processing import pipeline

    return getattr(pipeline, "STAGE_SECONDS", {})


def _record_stage_timings(before: dict) -> None:
    """Store what this chunk added to the pipeline's stage timers."""
    from processing.models import StageTiming

    after = _stage_seconds()
    rows = [StageTiming(stage=stage, seconds=after[stage] - before.get(stage, 0.0))
            for stage in after if after[stage] - before.get(stage, 0.0) > 0]
    StageTiming.objects.bulk_create(rows)


def prune_stage_timings(*, older_than_days: int) -> int:
    from processing.models import StageTiming

    return StageTiming.objects.filter(created_at__lt=timezone.now() - timedelta(days=older_than_days)).delete()[0]


def _job_progress(job_id: int, result: ChunkResult, error: str = "") -> None:
    """Add one finished chunk to its job (atomic increments: chunks of one job
    finish concurrently on several workers). The job ends ``done``, or
    ``failed`` when any chunk raised, once every chunk has reported."""
    update = dict(
        done=F("done") + result.done, failed=F("failed") + result.failed, skipped=F("skipped") + result.skipped,
        chunks_finished=F("chunks_finished") + 1, started_at=Coalesce(F("started_at"), Now()), progress_at=Now(),
    )
    if error:
        update["error"] = error
    jobs = PipelineJob.objects.filter(pk=job_id)
    jobs.update(**update)
    jobs.filter(status__in=(PipelineJob.Status.QUEUED, PipelineJob.Status.STALLED)).update(
        status=PipelineJob.Status.RUNNING)
    jobs.filter(chunks_finished__gte=F("chunks"), status=PipelineJob.Status.RUNNING).update(
        status=Case(When(error="", then=Value(PipelineJob.Status.DONE)), default=Value(PipelineJob.Status.FAILED)),
        finished_at=Now(),
    )


def mark_stalled_jobs(*, job_ids: list[int] | None = None) -> int:
    """Mark ``stalled`` the unfinished jobs (all, or those of ``job_ids``) whose
    chunks have not all reported and of which none has reported, nor was the job
    created, in the last JOB_STALL_MINUTES. No chunk runs that long (TASK_TIMEOUT,
    and the ORM broker's re-deliveries), so the missing ones are lost: a worker
    was killed or timed out, or the broker lost the task. Their leads' leases
    expire and the next batch run processes them. Returns how many were marked."""
    cutoff = timezone.now() - timedelta(minutes=settings.JOB_STALL_MINUTES)
    jobs = PipelineJob.objects.filter(status__in=(PipelineJob.Status.QUEUED, PipelineJob.Status.RUNNING),
                                      chunks_finished__lt=F("chunks"))
    if job_ids is not None:
        jobs = jobs.filter(pk__in=job_ids)
    return jobs.alias(last=Coalesce("progress_at", "created_at")).filter(last__lt=cutoff).update(
        status=PipelineJob.Status.STALLED)


@dataclass
class JobFilters:
    """What a person asked to process (validated by the API)."""

    statuses: list[str]
    source: str = ""
    ids: list[int] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    limit: int | None = None

    def as_json(self) -> dict:
        return {
            "status": self.statuses, "source": self.source or None, "ids": self.ids,
            "created_after": self.created_after.isoformat() if self.created_after else None,
            "created_before": self.created_before.isoformat() if self.created_before else None,
            "limit": self.limit,
        }


def leads_matching(filters: JobFilters) -> list[int]:
    """Ids of the leads a job would process: the filters, not leased, due, oldest first."""
    now = timezone.now()
    qs = (Lead.objects.filter(status__in=filters.statuses)
          .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
          .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)))
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.ids is not None:
        qs = qs.filter(pk__in=filters.ids)
    if filters.created_after:
        qs = qs.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        qs = qs.filter(created_at__lt=filters.created_before)
    qs = qs.order_by("id").values_list("id", flat=True)
    return list(qs[:filters.limit] if filters.limit else qs)


def job_start(*, schema: str, filters: JobFilters, actor: str) -> PipelineJob:
    """Create a PipelineJob for the leads matching ``filters`` and queue its
    chunks (after commit). A job with nothing to do is created finished."""
    with transaction.atomic():
        ids = leads_matching(filters)
        chunks = chunked(ids, settings.BATCH_SIZE)
        now = timezone.now()
        job = PipelineJob.objects.create(
            filters=filters.as_json(), actor=actor, queued=len(ids), chunks=len(chunks),
            status=PipelineJob.Status.QUEUED if ids else PipelineJob.Status.DONE,
            finished_at=None if ids else now,
        )
        if ids:
            retry_errors = LeadStatus.ERROR in filters.statuses
            queue_chunks(schema=schema, lead_ids=ids, job_id=job.pk, group=f"job:{schema}:{job.pk}",
                         retry_errors=retry_errors)
    return job


class NothingToProcess(Exception):
    """The lead is in a status the pipeline does not take (reviewed, archived...)."""


class LeadBusy(Exception):
    """Another worker holds the lead's lease right now."""


def process_one_now(*, lead_id: int, actor: str) -> Lead:
    """Process one lead synchronously (awaiting, or in error: a retry) and
    return it reloaded. Raises Lead.DoesNotExist, NothingToProcess or LeadBusy."""
    lead = Lead.objects.get(pk=lead_id)
    if lead.status not in PROCESSABLE_STATUSES:
        raise NothingToProcess(f"lead is {lead.status}; nothing to process")
    # A person asked for it now: a future next_attempt_at does not hold it back.
    Lead.objects.filter(pk=lead_id, next_attempt_at__gt=timezone.now()).update(next_attempt_at=None)
    result = process_chunk_now(lead_ids=[lead_id], actor=actor, retry_errors=True)
    if not result.claimed:
        raise LeadBusy("lead is being processed by a worker; try again shortly")
    return Lead.objects.get(pk=lead_id)


def archive_stale_errors(*, retention_days: int, actor: str = "system:cleanup") -> int:
    """Archive the leads that have been in ``error`` for longer than
    ``retention_days`` (by ``status_changed_at``), audit each transition and
    record the run's count as one ``cleanup`` event. Returns the count."""
    cutoff = timezone.now() - timedelta(days=retention_days)
    with transaction.atomic():
        stale = list(
            Lead.objects.select_for_update(skip_locked=True)
            .filter(status=LeadStatus.ERROR, status_changed_at__lt=cutoff).only("id")
        )
        ids = [lead.pk for lead in stale]
        if ids:
            Lead.objects.filter(pk__in=ids).update(
                status=LeadStatus.ARCHIVED, status_changed_at=timezone.now(), claimed_by="", claimed_until=None,
            )
            audit_transitions(stale, from_status={pk: LeadStatus.ERROR for pk in ids},
                              to_status=LeadStatus.ARCHIVED, actor=actor, action="archived",
                              note=f"in error for more than {retention_days} days")
        AuditEvent.objects.create(
            object_type="cleanup", action="cleanup", actor=actor,
            changes={"archived": len(ids), "retention_days": retention_days},
            note=f"archived {len(ids)} leads in error for more than {retention_days} days",
        )
    return len(ids)
