"""CSV export of n approved leads: rows per second and the process's memory while exporting.

Figures: ``export_csv_rows_per_s`` (target >= 50,000) and ``export_peak_rss_mb`` (the
highest resident set size sampled during the export; it should not grow with n)."""
import tempfile
import threading
import time

from django.test import override_settings
from django_tenants.utils import schema_context

from tests.bench.support import bench_tenant, print_table

def _rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class _PeakRss:
    """Samples the resident set size every 20 ms in a thread."""

    def __init__(self):
        self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_mb())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def _backend_cpu_s() -> tuple[int, float]:
    """(pid, CPU seconds so far) of this thread's PostgreSQL backend; (0, 0.0) when the
    database runs elsewhere (its /proc is not ours)."""
    import os

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0.0
    return pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _create_leads(n: int) -> None:
    """n approved leads in one INSERT ... SELECT from generate_series (bulk_create of
    100,000 objects would take longer than the export being measured)."""
    from django.db import connection
    from django.utils import timezone
    from psycopg.types.json import Jsonb

    from leads.models import Lead, LeadStatus

    varying = {
        "email": "'lead' || i || '@company' || (i %% 997) || '.com'",
        "last_name": "'Bench' || i",
        "company": "'Company ' || (i %% 997)",
        "website": "'https://company' || (i %% 997) || '.com'",
        "custom_fields": "jsonb_build_object('industry', 'SaaS', 'personalization', 'Hi ' || i)",
    }
    fixed = {"status": LeadStatus.APPROVED, "source": "bench", "first_name": "Alex", "title": "Head of Sales",
             "phone": "+14155550100"}
    now = timezone.now()
    columns, expressions, params = [], [], []
    for field in Lead._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.name in varying:
            expressions.append(varying[field.name])
            continue
        if field.name in fixed:
            value = fixed[field.name]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        elif field.null:
            value = None
        else:
            value = field.get_default()
        expressions.append("%s")
        params.append(Jsonb(value) if field.get_internal_type() == "JSONField" else value)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {Lead._meta.db_table} ({', '.join(columns)}) "
                       f"SELECT {', '.join(expressions)} FROM generate_series(1, %s) AS i", [*params, n])
        cursor.execute(f"ANALYZE {Lead._meta.db_table}")


class _StepTimes:
    """Wall seconds spent in some functions of the export service (patched for the run)."""

    def __init__(self, module, names: dict[str, str]):
        self.module, self.names = module, names
        self.seconds = dict.fromkeys(names.values(), 0.0)
        self._saved = {}

    def _timed(self, label, function):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
        return timed

    def __enter__(self):
        for dotted, label in self.names.items():
            owner, _, attr = dotted.rpartition(".")
            target = getattr(self.module, owner) if owner else self.module
            self._saved[dotted] = (target, attr, getattr(target, attr))
            setattr(target, attr, self._timed(label, getattr(target, attr)))
        return self

    def __exit__(self, *exc):
        for target, attr, original in self._saved.values():
            setattr(target, attr, original)


def run(n: int) -> dict[str, float]:
    from leads.services import exports
    from leads.services.exports import export_create, export_run

    steps = _StepTimes(exports, {
        "_freeze": "freezing and locking the candidates (one INSERT ... SELECT)",
        "_FileWriter.run": "writing the file (COPY; alongside the marking)",
        "_mark_sent": "marking leads exported (3 statements)",
    })
    # CPU of the database process that writes the file (a second one when it runs
    # alongside the marking).
    file_cpu = {}
    write = exports._FileWriter.run

    def cpu_timed_write(self):
        pid, cpu_before = _backend_cpu_s()
        try:
            return write(self)
        finally:
            file_cpu[pid] = _backend_cpu_s()[1] - cpu_before

    with bench_tenant("bench_export"), schema_context("bench_export"), tempfile.TemporaryDirectory() as media:
        started = time.perf_counter()
        _create_leads(n)
        created_s = time.perf_counter() - started
        with override_settings(MEDIA_ROOT=media):
            before = _rss_mb()
            main_pid, db_cpu = _backend_cpu_s()
            exports._FileWriter.run = cpu_timed_write
            try:
                with steps, _PeakRss() as rss:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    export = export_run(export_id=export_create(format="instantly_csv").pk)
                    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            finally:
                exports._FileWriter.run = write
            db_cpu = _backend_cpu_s()[1] - db_cpu + sum(s for pid, s in file_cpu.items() if pid != main_pid)
            size_mb = export.file.size / 1024 / 1024
        assert export.status == "done" and export.sent_count == n, (export.status, export.error_message)
    rate = round(n / elapsed)
    seconds = steps.seconds
    file_s = seconds["writing the file (COPY; alongside the marking)"]
    # The file is written while the leads are marked: the rest is what neither covers.
    rest_s = elapsed - sum(s for label, s in seconds.items() if "file" not in label)
    print_table([
        ("leads", f"{n:,}"),
        ("creating them", f"{created_s:.1f} s"),
        ("CSV export (file + marking leads exported)", f"{elapsed:.2f} s"),
        *((f"  {label}", f"{s:.2f} s") for label, s in seconds.items()),
        ("  the rest (counting, skip records, commit with its deferred checks)", f"{rest_s:.2f} s"),
        ("  CPU time of this process", f"{cpu:.2f} s"),
        ("  CPU time of its database processes", f"{db_cpu:.2f} s"),
        ("export_csv_rows_per_s (target >= 50,000)", f"{rate:,}"),
        ("export_csv_file_rows_per_s (selecting + writing the file)", f"{round(n / file_s):,}"),
        ("file size", f"{size_mb:.1f} MB"),
        ("RSS before the export", f"{before:.0f} MB"),
        ("export_peak_rss_mb", f"{rss.peak:.0f} MB"),
    ], ("measure", "value"))
    return {"export_csv_rows_per_s": rate, "export_csv_file_rows_per_s": round(n / file_s),
            "export_peak_rss_mb": round(rss.peak, 1), "export_csv_rows_per_cpu_s": round(n / (cpu + db_cpu))}
