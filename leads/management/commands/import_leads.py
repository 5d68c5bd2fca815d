import os

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_public_schema_name, schema_context
from tqdm import tqdm

from leads.models import ImportBatch
from leads.services.csv_import import CHUNK_ROWS, CsvError, import_csv
from tenants.models import Tenant


class _CountingReader:
    """Wraps a binary file to tell the progress bar how many bytes were read."""

    def __init__(self, raw, bar):
        self.raw, self.bar = raw, bar

    def read(self, size=-1):
        data = self.raw.read(size)
        self.bar.update(len(data))
        return data


class Command(BaseCommand):
    help = "Import a CSV file of leads into a tenant (streamed, in committed chunks)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the CSV file")
        parser.add_argument("--tenant", required=True, help="tenant slug (schema name)")
        parser.add_argument("--source", default="csv", help="source recorded on every lead (default: csv)")
        parser.add_argument("--dry-run", action="store_true", help="report what would happen, write nothing")
        parser.add_argument("--chunk-size", type=int, default=CHUNK_ROWS, help="rows per committed chunk")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **opts):
        slug, path = opts["tenant"], opts["file"]
        with schema_context(get_public_schema_name()):
            if slug == get_public_schema_name() or not Tenant.objects.filter(schema_name=slug).exists():
                raise CommandError(f"unknown tenant '{slug}'")
        if not os.path.isfile(path):
            raise CommandError(f"no such file: {path}")
        if opts["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        size = os.path.getsize(path)
        with open(path, "rb") as raw, tqdm(total=size, unit="B", unit_scale=True, desc="import",
                                           disable=opts["no_progress"], file=self.stderr._out) as bar:
            try:
                with schema_context(slug):
                    report = import_csv(binary=_CountingReader(raw, bar), source=opts["source"],
                                        actor="system:import_leads", filename=os.path.basename(path),
                                        dry_run=opts["dry_run"], kind=ImportBatch.Kind.COMMAND,
                                        chunk_rows=opts["chunk_size"])
            except CsvError as exc:
                raise CommandError(f"{path}: {exc}") from None
        c = report.counts
        verb = "would be" if report.dry_run else "were"
        self.stdout.write(
            f"{report.total_rows} rows: {c['created']} {verb} created, {c['updated']} updated, "
            f"{c['duplicate']} duplicates, {c['invalid']} refused"
            + (f" ({report.quota_refused} over the lead quota)" if report.quota_refused else "")
        )
        if report.dry_run:
            for error in report.errors[:20]:
                reasons = "; ".join(f"{k}: {' '.join(v)}" for k, v in error["errors"].items())
                self.stdout.write(f"  row {error['row']}: {reasons}")
            if c["invalid"] > 20:
                self.stdout.write(f"  ... and {c['invalid'] - 20} more")
            self.stdout.write("Dry run: nothing was written.")
        else:
            self.stdout.write(f"Import batch {report.batch.pk}.")
            if c["invalid"]:
                self.stdout.write(f"Refused rows: GET /api/v1/imports/{report.batch.pk}/errors.csv")
