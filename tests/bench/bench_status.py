"""GET /api/v1/status with n leads in the tenant (target: under 200 ms at 100,000)."""
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from tests.bench.support import bench_tenant, median_ms, print_table, timed


def _fill(n: int) -> None:
    from leads.models import Lead

    statuses = ["new", "normalized", "pending_review", "approved", "rejected", "duplicate", "error", "exported"]
    for start in range(0, n, 5000):
        Lead.objects.bulk_create([
            Lead(email=f"p{i}@bench{i % 500}.com", first_name="Pat", last_name=f"P{i}", company=f"Co {i % 500}",
                 source="bench", status=statuses[i % len(statuses)], score=i % 100)
            for i in range(start, min(n, start + 5000))
        ])
    with connection.cursor() as cursor:
        # What autovacuum does on a live table: lets the GROUP BY use an index-only scan.
        cursor.execute("VACUUM ANALYZE leads_lead")


def run(n: int) -> dict:
    from django.core.management import call_command

    from tests.factories import make_user

    with bench_tenant("bench_status", domain="bench-status.localhost") as tenant:
        with schema_context(tenant.schema_name):
            _fill(n)
            client = Client(HTTP_HOST="bench-status.localhost")
            client.force_login(make_user("viewer"))
        with schema_context("public"):
            call_command("setup_schedules", verbosity=0)
        response = client.get("/api/v1/status")
        assert response.status_code == 200, response.content
        assert response.json()["leads"]["total"] == n
        times = timed(lambda: client.get("/api/v1/status"), repeat=15)
        with schema_context(tenant.schema_name):
            from processing.status import lead_counts

            counts_times = timed(lead_counts, repeat=15)
            from leads.models import Lead
            from django.db.models import Count

            plan = Lead.objects.order_by().values_list("status").annotate(n=Count("*")).explain()
            print("lead counts plan:", " | ".join(line.strip() for line in plan.splitlines()))
    figures = {"status_api_ms": median_ms(times), "status_lead_counts_ms": median_ms(counts_times)}
    print_table([(f"GET /api/v1/status, {n} leads", figures["status_api_ms"]),
                 ("lead counts query alone", figures["status_lead_counts_ms"])], ("what", "median ms"))
    return figures
