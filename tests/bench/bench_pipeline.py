"""End-to-end pipeline throughput: N synthetic messy leads (``--n``, default
100,000) through the ingestion service (``ingest_leads``: validation, normalize,
exact dedupe, insert, audit events) and process_leads
(fuzzy dedupe, enrichment off, verification's offline pass, scoring) in a fresh
bench tenant. Leads are generated and ingested in chunks of BATCH_SIZE, so memory
should stay flat whatever N: RSS is sampled after each tenth of the work.

Two runs over the same leads, each in its own tenant:

- one after the other (ingest everything, then process everything, in this
  process): ``pipeline_leads_per_s`` is N over the whole, less the time the
  benchmark spends making up the synthetic rows (reported apart); the per-stage
  figures, CPU seconds and RSS samples come from it;
- side by side, as LeadHub is deployed: ingestion in this process while a
  background worker process (``tests.bench.pipeline_worker``: the batch run and
  its chunk tasks, leases included) processes the leads as they land.
  ``pipeline_side_by_side_leads_per_s`` is N over the time from the first row
  sent to the last lead scored.
"""
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from collections import Counter

import psutil
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django_tenants.utils import schema_context

from processing.timing import STAGE_CPU_SECONDS, STAGE_SECONDS
from tests.bench.support import bench_tenant, peak_rss_mb, print_table


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _cpu_s(backend_pid: int) -> tuple[float, float]:
    """CPU seconds of this process and of its PostgreSQL backend: on a shared
    machine wall time says more about the neighbours than about the code."""
    own = psutil.Process().cpu_times()
    try:
        db = psutil.Process(backend_pid).cpu_times()
        db_s = db.user + db.system
    except psutil.Error:  # a database on another host: count this process only
        db_s = 0.0
    return own.user + own.system, db_s


class _Stopwatch:
    """Wall and CPU seconds spent in ``call``, summed."""

    def __init__(self):
        self.seconds = self.cpu_seconds = 0.0

    def call(self, fn):
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            return fn()
        finally:
            self.seconds += time.perf_counter() - started
            self.cpu_seconds += time.process_time() - cpu_started


def run(n: int) -> dict:
    from leads.models import Lead, LeadStatus, TenantSettings
    from processing import pipeline
    from leads.services.ingest import ingest_leads, summarize
    from tests.bench.leadgen import LeadGenerator

    settings.DEBUG = False  # no query log: it would grow with N
    size = settings.BATCH_SIZE
    gen = LeadGenerator(seed=100_000, dup_rate=0.15)
    rows = gen.rows(n)
    rss = []
    pipeline.STAGE_SECONDS.clear()
    STAGE_CPU_SECONDS.clear()
    with bench_tenant("bench_pipeline"), schema_context("bench_pipeline"):
        s = TenantSettings.current()
        s.enable_enrichment, s.enable_verification = False, True
        s.save()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        cpu_started = _cpu_s(backend)
        started = time.perf_counter()
        ingested = 0
        outcomes: Counter = Counter()
        generating = _Stopwatch()  # making up the rows is the benchmark's work, not LeadHub's
        while chunk := generating.call(lambda: list(itertools.islice(rows, size))):
            outcomes.update(summarize(ingest_leads(rows=chunk, source="bench", actor="bench")))
            ingested += len(chunk)
            if ingested % max(n // 10, size) < size:
                rss.append(_rss_mb())
        ingest_s = time.perf_counter() - started - generating.seconds
        cpu_ingested = _cpu_s(backend)
        cpu_ingested = (cpu_ingested[0] - generating.cpu_seconds, cpu_ingested[1])
        gen.entities.clear()  # the generator's memory is not the pipeline's
        # Process as the background worker does: ids of one chunk at a time.
        mark = time.perf_counter()
        last = 0
        done = 0
        while True:
            ids = list(Lead.objects.filter(pk__gt=last, status=LeadStatus.NORMALIZED)
                       .order_by("pk").values_list("pk", flat=True)[:size])
            if not ids:
                break
            pipeline.process_leads(ids, actor="bench")
            last = ids[-1]
            done += len(ids)
            if done % max(n // 10, size) < size:
                rss.append(_rss_mb())
        process_s = time.perf_counter() - mark
        total_s = time.perf_counter() - started - generating.seconds
        cpu_done = _cpu_s(backend)
        cpu_done = (cpu_done[0] - generating.cpu_seconds, cpu_done[1])
        cpu_s = sum(cpu_done) - sum(cpu_started)
        ingest_cpu = [b - a for a, b in zip(cpu_started, cpu_ingested)]
        process_cpu = [b - a for a, b in zip(cpu_ingested, cpu_done)]
        counts = dict(Lead.objects.order_by().values_list("status").annotate(n=Count("id")))
    stages = dict(pipeline.STAGE_SECONDS)
    stages_cpu = dict(STAGE_CPU_SECONDS)
    per_s = lambda secs: round(n / secs) if secs else 0  # noqa: E731
    live = _side_by_side(n, size)
    figures = {
        "pipeline_leads_per_s": per_s(total_s),
        "pipeline_side_by_side_leads_per_s": per_s(live["total_s"]),
        "pipeline_leads_per_cpu_s": per_s(cpu_s),
        "stage_ingest_leads_per_s": per_s(ingest_s),
        "stage_process_leads_per_s": per_s(process_s),
        "stage_process_leads_per_cpu_s": per_s(sum(process_cpu)),
        "stage_normalize_leads_per_s": per_s(stages.get("normalize", 0)),
        "stage_exact_dedupe_leads_per_s": per_s(stages.get("exact_dedupe", 0)),
        "stage_fuzzy_dedupe_leads_per_s": per_s(stages.get("dedupe", 0)),
        "stage_score_leads_per_s": per_s(stages.get("score", 0)),
        "stage_write_leads_per_s": per_s(stages.get("write", 0)),
        "peak_rss_mb": max(peak_rss_mb(), live["worker_peak_rss_mb"]),
        "rss_growth_mb": round(rss[-1] - rss[0], 1) if len(rss) > 1 else 0.0,
    }
    rows_out = [(k, v) for k, v in figures.items()]
    rows_out += [(f"seconds in {k} (app CPU)", f"{v:.1f} ({stages_cpu.get(k, 0):.1f})") for k, v in sorted(stages.items())]
    rows_out += [("leads", n), ("seconds total", f"{total_s:.1f}"),
                 ("seconds generating the synthetic rows (not counted)", f"{generating.seconds:.1f}"),
                 ("CPU seconds (app + db backend)", f"{cpu_s:.1f}"),
                 ("CPU seconds ingesting (app, db)", "{:.1f}, {:.1f}".format(*ingest_cpu)),
                 ("CPU seconds processing (app, db)", "{:.1f}, {:.1f}".format(*process_cpu)), ("ingest outcomes", str(dict(outcomes))), ("statuses", str(counts)),
                 ("RSS samples (MB)", " ".join(f"{x:.0f}" for x in rss)),
                 ("side by side: seconds total / ingesting", f"{live['total_s']:.1f} / {live['ingest_s']:.1f}"),
                 ("side by side: seconds in exact_dedupe (key locks included)", f"{live['exact_dedupe_s']:.1f}"),
                 ("side by side: worker", json.dumps(live["worker"])),
                 ("side by side: statuses", str(live["statuses"]))]
    print_table(rows_out, ("figure", "value"))
    return figures


def _side_by_side(n: int, size: int) -> dict:
    """Ingest N leads here while a worker process processes them; returns timings."""
    from leads.models import Lead, TenantSettings
    from leads.services.ingest import ingest_leads
    from tests.bench.leadgen import LeadGenerator

    schema = "bench_pipeline_live"
    rows = LeadGenerator(seed=100_000, dup_rate=0.15).rows(n)
    with bench_tenant(schema), schema_context(schema), tempfile.TemporaryDirectory() as tmp:
        s = TenantSettings.current()
        s.enable_enrichment, s.enable_verification = False, True
        s.save()
        done = Path(tmp) / "ingestion-over"
        worker = subprocess.Popen([sys.executable, "-m", "tests.bench.pipeline_worker", schema, str(done), str(size)],
                                  cwd=Path(__file__).resolve().parents[2], env=os.environ.copy(),
                                  stdout=subprocess.PIPE, text=True)
        try:
            started = time.perf_counter()
            exact_dedupe_before = STAGE_SECONDS["exact_dedupe"]
            while chunk := list(itertools.islice(rows, size)):
                ingest_leads(rows=chunk, source="bench", actor="bench")
            ingest_s = time.perf_counter() - started
            exact_dedupe_s = STAGE_SECONDS["exact_dedupe"] - exact_dedupe_before
            done.touch()
            out, _ = worker.communicate(timeout=3600)
            total_s = time.perf_counter() - started
        finally:
            if worker.poll() is None:
                worker.kill()
        if worker.returncode != 0:
            raise RuntimeError(f"pipeline worker failed with exit code {worker.returncode}")
        report = json.loads(out.strip().splitlines()[-1])
        statuses = dict(Lead.objects.order_by().values_list("status").annotate(n=Count("id")))
    return {"total_s": total_s, "ingest_s": ingest_s, "exact_dedupe_s": exact_dedupe_s, "worker": report,
            "statuses": statuses,
            "worker_peak_rss_mb": report["peak_rss_mb"]}
