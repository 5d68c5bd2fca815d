"""django-q2 entry point for exports that run in the background."""
import logging

from django_tenants.utils import schema_context

logger = logging.getLogger(__name__)


def export_run_task(schema_name: str, export_id: int) -> dict:
    """Run export ``export_id`` of tenant ``schema_name`` (safe to deliver twice).

    The tenant is checked in the public schema first, as for the pipeline tasks: an unknown
    schema (or public) raises UnknownTenant instead of running against whatever tables the
    search path happens to find; a suspended tenant's export is skipped."""
    from leads.services.exports import export_run
    from processing.batch import tenant_state

    if not tenant_state(schema_name):
        logger.info("tenant %s is suspended; export %s skipped", schema_name, export_id)
        return {"export": export_id, "status": "skipped", "sent": 0}
    with schema_context(schema_name):
        export = export_run(export_id=export_id)
        return {"export": export.pk, "status": export.status, "sent": export.sent_count}
