"""The background worker of bench_pipeline's side-by-side run, in its own process.

It does what the scheduled batch run and its chunk tasks do, over and over: list
the leads awaiting processing (``processing.batch.awaiting_lead_ids``), then
process them chunk by chunk through the function the django-q2 chunk task calls
(``processing.batch.process_chunk_now``: claim with a lease, process_leads,
release), until ingestion says it is over (a file appears) and nothing is left.
Ends with one JSON line of its figures, wall seconds per pipeline step included
(``dedupe_locks`` is mostly waiting: ingestion locks the same key buckets).

    python -m tests.bench.pipeline_worker SCHEMA DONE_FILE CHUNK_SIZE
"""
import json
import os
import resource
import sys
import time


def main(schema: str, done_path: str, size: int) -> None:
    import django

    django.setup()
    import psutil
    from django.conf import settings
    from django.db import connection
    from django_tenants.utils import schema_context

    from processing.batch import awaiting_lead_ids, chunked, process_chunk_now
    from processing.timing import STAGE_SECONDS

    settings.DEBUG = False
    processed = chunks = idle = 0
    with schema_context(schema):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = psutil.Process(cursor.fetchone()[0])
        while True:
            # Read the flag before looking: every lead committed before it was set is then seen.
            ingestion_over = os.path.exists(done_path)
            ids = awaiting_lead_ids()
            for chunk in chunked(ids, size):
                processed += process_chunk_now(lead_ids=chunk, actor="bench").claimed
                chunks += 1
            if ids:
                continue
            if ingestion_over:
                break
            else:
                idle += 1
                time.sleep(0.02)
        db = backend.cpu_times()
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"processed": processed, "chunks": chunks, "idle_polls": idle,
                      "app_cpu_s": own.ru_utime + own.ru_stime, "db_cpu_s": db.user + db.system,
                      "peak_rss_mb": round(own.ru_maxrss / 1024, 1),
                      "stage_seconds": {step: round(s, 1) for step, s in sorted(STAGE_SECONDS.items())}}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
