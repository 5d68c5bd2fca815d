"""Seconds spent per pipeline step in this process, for benchmarks and operators:
wall clock (``STAGE_SECONDS``) and this process's CPU time (``STAGE_CPU_SECONDS``,
without the database's share, and steadier than wall clock on a busy machine)."""
import contextlib
import time
from collections import Counter

STAGE_SECONDS: Counter = Counter()
STAGE_CPU_SECONDS: Counter = Counter()


@contextlib.contextmanager
def timed(step: str):
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        STAGE_SECONDS[step] += time.perf_counter() - started
        STAGE_CPU_SECONDS[step] += time.process_time() - cpu_started
