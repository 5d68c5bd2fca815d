"""manage.py export_leads --tenant acme --format instantly_csv -o leads.csv"""
import shutil

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_public_schema_name, schema_context

from leads.models import ExportFormat
from leads.models.exports import FILE_FORMATS
from leads.services.exports import ExportInvalid, export_create, export_run


class Command(BaseCommand):
    help = "Export a tenant's approved leads to a file or a destination (skips leads already sent there)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant schema name (slug)")
        parser.add_argument("--format", required=True, choices=ExportFormat.values)
        parser.add_argument("--destination", default="", help="campaign id (instantly, smartlead) or a label")
        parser.add_argument("--template", default="", help="CSV template name (format csv)")
        parser.add_argument("--status", default="approved", help="comma-separated: approved, exported")
        parser.add_argument("--source", default="")
        parser.add_argument("--min-score", type=int, default=None)
        parser.add_argument("--force", action="store_true", help="send again leads already sent to this destination")
        parser.add_argument("-o", "--output", default="", help="also write the file here (file formats)")

    def handle(self, *args, **opts):
        from tenants.models import Tenant

        with schema_context(get_public_schema_name()):
            if not Tenant.objects.filter(schema_name=opts["tenant"]).exclude(schema_name=get_public_schema_name()).exists():
                raise CommandError(f"No tenant '{opts['tenant']}'.")
        if opts["output"] and opts["format"] not in FILE_FORMATS:
            raise CommandError(f"-o needs a file format ({', '.join(FILE_FORMATS)}); {opts['format']} pushes to an API.")
        filters = {"status": [s.strip() for s in opts["status"].split(",") if s.strip()]}
        if opts["source"]:
            filters["source"] = opts["source"]
        if opts["min_score"] is not None:
            filters["min_score"] = opts["min_score"]
        with schema_context(opts["tenant"]):
            try:
                export = export_create(format=opts["format"], destination=opts["destination"], template=opts["template"],
                                       filters=filters, force=opts["force"])
            except ExportInvalid as exc:
                raise CommandError("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items())) from None
            export = export_run(export_id=export.pk)
            if export.status != export.Status.DONE:
                raise CommandError(f"Export {export.pk} failed: {export.error_message}")
            if opts["output"]:
                with export.file.open("rb") as src, open(opts["output"], "wb") as dst:
                    shutil.copyfileobj(src, dst)
        self.stdout.write(
            f"Export {export.pk} to {export.destination}: {export.sent_count} sent, {export.skipped_count} skipped, "
            f"{export.failed_count} failed" + (f"; file {opts['output'] or export.file.name}" if export.file else "")
        )
