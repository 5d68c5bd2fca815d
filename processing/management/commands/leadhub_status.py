import json

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django_tenants.utils import schema_context

from processing import batch
from processing.status import lead_counts, system_status


class Command(BaseCommand):
    help = ("Print what GET /api/v1/status reports: database, cache, broker, cluster and workers, queue depth, "
            "schedules with next and last run, and lead counts by status (every active tenant, or --tenant).")

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="schema name of one tenant (default: every active tenant)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **opts):
        try:
            self._report(opts)
        except DatabaseError as exc:
            raise CommandError(f"database unreachable: {str(exc).strip().splitlines()[0] if str(exc) else exc!r}")

    def _report(self, opts):
        if opts["tenant"]:
            try:
                batch.tenant_state(opts["tenant"])
            except batch.UnknownTenant as exc:
                raise CommandError(str(exc))
            schemas = [opts["tenant"]]
        else:
            schemas = batch.active_schemas()
        report = system_status(with_leads=False)
        if not report["database"]["ok"]:
            raise CommandError(f"database unreachable: {report['database'].get('error', '')}")
        report["leads"] = {}
        for schema in schemas:
            with schema_context(schema):
                report["leads"][schema] = lead_counts()
        if opts["json"]:
            self.stdout.write(json.dumps(report, indent=2, default=str))
            return
        self._print(report)

    def _print(self, r: dict) -> None:
        def ok(part):
            return "ok" if part.get("ok") else f"DOWN ({part.get('error', '')})"

        w = self.stdout.write
        w(f"database   {ok(r['database'])}")
        degraded = f" DEGRADED: {r['cache'].get('serving', 'fallback')}" if r["cache"].get("degraded") else ""
        w(f"cache      {ok(r['cache'])}{degraded}")
        b = r["broker"]
        extra = f", {b['in_flight']} in flight" if "in_flight" in b else ""
        w(f"broker     {b['kind']} {ok(b)}; queue depth {b.get('queue_depth', '?')}{extra}")
        c = r["cluster"]
        w(f"cluster    {c['status']}, {c['workers']} workers")
        for cl in c["clusters"]:
            w(f"           {cl['id']} on {cl['host']}: {cl['status']}, {cl['workers']} workers, "
              f"{cl['reincarnations']} reincarnations")
        w("schedules")
        if not r["schedules"]:
            w("           none (run manage.py setup_schedules)")
        for s in r["schedules"]:
            last = s["last_run"]
            last_text = "never" if not last else (
                f"{last.get('stopped') or last.get('started') or ''} "
                f"{'ok' if last.get('success') else 'FAILED' if last.get('success') is False else ''} "
                f"{last.get('result', '')}")
            w(f"           {s['name']}: cron '{s['cron']}', next {s['next_run']}, last {last_text}")
        if "providers" in r:
            w(f"providers  {json.dumps(r['providers'], default=str)}")
        w("leads")
        for schema, counts in r["leads"].items():
            nonzero = ", ".join(f"{k} {v}" for k, v in counts.items() if v and k != "total")
            w(f"           {schema}: {counts['total']} ({nonzero or 'none'})")
