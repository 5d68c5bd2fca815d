"""Server time of the review queue and analytics pages with 100,000 leads in the tenant.

Figures (median of several requests through the Django test client, so server time only;
target <= 300 ms each): queue_page_ms (first page of the queue), analytics_page_ms
(analytics over every lead: the date range covers all 100,000), plus
analytics_default_range_page_ms (the page as it opens: the last 30 days) and
queue_filtered_page_ms (source, score and search filters).
"""
import random

from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.bench.support import bench_tenant, median_ms, print_table, timed

SOURCES = ["api", "csv", "webinar", "linkedin", "referral", "webhook", "event", "partner"]
STATUSES = (["pending_review"] * 40 + ["approved"] * 25 + ["rejected"] * 15 + ["exported"] * 5
            + ["duplicate"] * 8 + ["new"] * 4 + ["error"] * 3)
VERIFICATION = ["valid"] * 7 + ["invalid"] * 2 + ["catch-all"]
REPEAT = 7


def _fill(n: int) -> None:
    from leads.models import Lead

    rng = random.Random(7)
    batch = []
    for i in range(n):
        status = rng.choice(STATUSES)
        batch.append(Lead(
            source=rng.choice(SOURCES), status=status, email=f"person{i}@company{i % 5000}.com",
            first_name="Pat", last_name=f"Person{i}", company=f"Company {i % 5000}",
            score=None if status == "new" else rng.randint(0, 100),
            verification_status="" if status == "new" else rng.choice(VERIFICATION),
        ))
        if len(batch) == 5000:
            Lead.objects.bulk_create(batch)
            batch = []
    if batch:
        Lead.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        # created_at is auto_now_add: spread the leads over the last 90 days in one statement.
        cursor.execute("UPDATE leads_lead SET created_at = %s - (id %% 90) * interval '1 day' - (id %% 24) * interval '1 hour'",
                       [timezone.now()])
        # As autovacuum would after a bulk load: fresh statistics and a visibility map, so the
        # analytics scan can stay index-only.
        cursor.execute("VACUUM ANALYZE leads_lead")


def run(n: int) -> dict:
    n = max(n, 100_000)  # the figure is for 100,000 leads
    with bench_tenant("bench_pages", "bench-pages.localhost") as tenant:
        domain = tenant.domains.first().domain
        with schema_context(tenant.schema_name):
            from tests.factories import make_user

            _fill(n)
            user = make_user("reviewer")
            client = Client(HTTP_HOST=domain)
            client.force_login(user)
        pages = {"queue_page_ms": "/", "analytics_page_ms": "/analytics/?date_from=2000-01-01",
                 "analytics_default_range_page_ms": "/analytics/"}
        figures, rows = {}, []
        for key, path in pages.items():
            assert client.get(path).status_code == 200  # warm-up (and settings row)
            times = timed(lambda: client.get(path), repeat=REPEAT)
            figures[key] = median_ms(times)
            rows.append((path, n, REPEAT, figures[key], round(max(times) * 1000, 1)))
        filtered = "/?source=webinar&score_min=50&q=company1"
        times = timed(lambda: client.get(filtered), repeat=REPEAT)
        figures["queue_filtered_page_ms"] = median_ms(times)
        rows.append((filtered, n, REPEAT, figures["queue_filtered_page_ms"], round(max(times) * 1000, 1)))
        print_table(rows, ("page", "leads", "requests", "median ms", "max ms"))
    return figures
