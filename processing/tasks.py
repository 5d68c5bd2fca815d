"""django-q2 entry points. Each takes a schema name and primitive ids only,
checks the tenant from the public schema, then enters ``schema_context`` before
touching tenant data: a worker's connection carries the previous task's schema
otherwise, and an unknown tenant must fail rather than run in public."""
import logging

from django.conf import settings
from django_tenants.utils import schema_context

from leads.models import TenantSettings
from processing import batch

logger = logging.getLogger(__name__)


def run_batch_processing() -> dict[str, int]:
    """Scheduled fan-out: for every active tenant, queue one ``process_chunk``
    per BATCH_SIZE leads awaiting processing (those of lost chunks included),
    after marking the jobs whose chunks were lost ``stalled``. Returns chunks
    queued per schema."""
    queued = {}
    for schema in batch.active_schemas():
        with schema_context(schema):
            batch.mark_stalled_jobs()
            ids = batch.awaiting_lead_ids()
            queued[schema] = batch.queue_chunks(schema=schema, lead_ids=ids) if ids else 0
    logger.info("batch processing queued %s", queued)
    return queued


def process_chunk(schema: str, lead_ids: list[int], job_id: int | None = None, retry_errors: bool = False) -> dict:
    """Process one chunk of one tenant's leads (see batch.process_chunk_now)."""
    if not batch.tenant_state(schema):
        logger.info("tenant %s is suspended; chunk of %d leads skipped", schema, len(lead_ids))
        return {"skipped": "tenant inactive"}
    with schema_context(schema):
        return batch.process_chunk_now(lead_ids=lead_ids, job_id=job_id, retry_errors=retry_errors).as_dict()


def cleanup() -> dict[str, int]:
    """Scheduled: archive leads left in error longer than the tenant's retention
    (tenant setting, else LEAD_RETENTION_DAYS) in every active tenant. Returns
    how many were archived per schema."""
    archived = {}
    for schema in batch.active_schemas():
        with schema_context(schema):
            retention = TenantSettings.current().retention()
            archived[schema] = batch.archive_stale_errors(retention_days=retention)
            batch.prune_stage_timings(older_than_days=settings.STAGE_TIMING_DAYS)
    logger.info("cleanup archived %s", archived)
    return archived
