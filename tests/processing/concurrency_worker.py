"""A separate OS process for the concurrency tests: its own database connection,
committing real rows in the test database.

    python -m tests.processing.concurrency_worker ingest <start_at> <tag> <n>
    python -m tests.processing.concurrency_worker process <start_at> <id,id,...>
"""
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.test_settings")


def main(argv: list[str]) -> int:
    import django

    django.setup()
    from django.db import transaction
    from django_tenants.utils import schema_context

    from leads.models import Lead
    from processing.deduplication import dedupe_incoming
    from processing.pipeline import process_leads
    from tests.processing.conftest import keyed_lead

    mode, start_at = argv[0], float(argv[1])
    with schema_context("tenant_a"):
        Lead.objects.exists()  # connect before the start line
        time.sleep(max(0.0, start_at - time.time()))
        if mode == "ingest":
            tag, n = argv[2], int(argv[3])
            with transaction.atomic():
                leads = [keyed_lead(save=False, email=f"p{i}-{tag}@acme.test", first_name="Pat", last_name=f"P{i}",
                                    source=f"conc-{tag}") for i in range(n)]
                dedupe_incoming(leads)
                time.sleep(0.2)  # widen the window between the look-up and the insert
                Lead.objects.bulk_create([l for l in leads if l.duplicate_of is None])
                Lead.objects.bulk_create([l for l in leads if l.duplicate_of is not None])
        else:
            process_leads([int(x) for x in argv[2].split(",")], actor="worker")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
