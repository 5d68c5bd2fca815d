"""Ingest raw rows the way the ingestion service does: prepare_incoming on unsaved
leads, one INSERT ... SELECT FROM jsonb_populate_recordset for the survivors, then
the duplicates (an in-batch duplicate points at a survivor inserted just before)."""
from django.db import transaction
from django.utils import timezone

from leads.models import Lead
from processing.bulk import bulk_insert_values
from processing.pipeline import prepare_incoming

ROW_FIELDS = ("email", "first_name", "last_name", "full_name", "phone", "company", "title", "website",
              "street", "city", "postal_code", "country", "source")


def ingest_rows(rows: list[dict]) -> list[Lead]:
    now = timezone.now()
    leads = [Lead(raw=row, created_at=now, updated_at=now, status_changed_at=now,
                  **{k: row.get(k, "") for k in ROW_FIELDS}) for row in rows]
    with transaction.atomic():
        prepare_incoming(leads)
        bulk_insert_values(Lead, [l for l in leads if l.duplicate_of is None])
        duplicates = [l for l in leads if l.duplicate_of is not None]
        for lead in duplicates:
            lead.duplicate_of = lead.duplicate_of  # takes the survivor's id, now that it has one
        bulk_insert_values(Lead, duplicates)
    return leads
