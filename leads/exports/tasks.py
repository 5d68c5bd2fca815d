"""django-q2 entry point for exports that run in the background."""
from django_tenants.utils import schema_context


def export_run_task(schema_name: str, export_id: int) -> dict:
    """Run export ``export_id`` of tenant ``schema_name`` (safe to deliver twice)."""
    from leads.services.exports import export_run

    with schema_context(schema_name):
        export = export_run(export_id=export_id)
        return {"export": export.pk, "status": export.status, "sent": export.sent_count}
