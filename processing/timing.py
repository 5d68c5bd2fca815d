"""Seconds spent per pipeline step in this process, for benchmarks and operators."""
import contextlib
import time
from collections import Counter

STAGE_SECONDS: Counter = Counter()


@contextlib.contextmanager
def timed(step: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS[step] += time.perf_counter() - started
