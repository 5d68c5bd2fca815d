from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_public_schema_name, schema_context
from tqdm import tqdm

from leads.models import Lead, LeadStatus
from processing.pipeline import process_leads, rescore_leads

DEFAULT_STATUSES = [LeadStatus.NEW, LeadStatus.NORMALIZED, LeadStatus.ENRICHED, LeadStatus.VERIFIED]
RESCORE_STATUSES = [LeadStatus.PENDING_REVIEW, LeadStatus.APPROVED, LeadStatus.REJECTED, LeadStatus.EXPORTED]


class Command(BaseCommand):
    help = ("Run the pipeline in the foreground over a tenant's leads (default: those in "
            f"{', '.join(DEFAULT_STATUSES)}; add --status error to retry failed ones), "
            "or --rescore leads after the scoring weights changed.")

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--tenant", help="tenant schema name (slug)")
        who.add_argument("--all-tenants", action="store_true")
        parser.add_argument("--status", action="append", choices=LeadStatus.values,
                            help="only leads in this status (repeatable)")
        parser.add_argument("--rescore", action="store_true",
                            help=f"score again (default statuses: {', '.join(RESCORE_STATUSES)}); no other stage runs")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **opts):
        from tenants.models import Tenant

        with schema_context(get_public_schema_name()):
            tenants = Tenant.objects.exclude(schema_name=get_public_schema_name()).order_by("schema_name")
            if opts["tenant"]:
                tenants = tenants.filter(schema_name=opts["tenant"])
                if not tenants.exists():
                    raise CommandError(f"no tenant '{opts['tenant']}'")
            schemas = list(tenants.values_list("schema_name", flat=True))
        for schema in schemas:
            try:
                self._run(schema, opts)
            except Exception as exc:  # one line, not a traceback, for the operator
                raise CommandError(f"tenant '{schema}': {type(exc).__name__}: {exc}".splitlines()[0]) from exc

    def _run(self, schema: str, opts) -> None:
        rescore = opts["rescore"]
        statuses = opts["status"] or (RESCORE_STATUSES if rescore else DEFAULT_STATUSES)
        size = settings.BATCH_SIZE
        with schema_context(schema):
            ids = list(Lead.objects.filter(status__in=statuses).order_by("pk").values_list("pk", flat=True))
            totals: dict[str, int] = {}
            changed = 0
            bar = tqdm(total=len(ids), desc=f"{schema} {'rescore' if rescore else 'process'}", unit="lead",
                       disable=opts["no_progress"], file=self.stderr._out)
            for start in range(0, len(ids), size):
                chunk = ids[start:start + size]
                if rescore:
                    changed += rescore_leads(chunk)
                else:
                    for status, count in process_leads(chunk, actor="command:process_leads").items():
                        totals[status] = totals.get(status, 0) + count
                bar.update(len(chunk))
            bar.close()
        if rescore:
            self.stdout.write(f"{schema}: {len(ids)} leads rescored, {changed} scores changed")
        else:
            summary = ", ".join(f"{count} {status}" for status, count in sorted(totals.items())) or "nothing to do"
            self.stdout.write(f"{schema}: {len(ids)} leads processed: {summary}")
