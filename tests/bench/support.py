"""Helpers shared by the benchmarks."""
import contextlib
import statistics
import time

from django.db import connection
from django_tenants.utils import schema_context, schema_exists


@contextlib.contextmanager
def bench_tenant(slug: str, domain: str | None = None):
    """A fresh tenant for one benchmark, dropped afterwards."""
    from tenants.models import Tenant
    from tenants.services import ensure_public_tenant, tenant_create

    domain = domain or f"{slug.replace('_', '-')}.localhost"  # host names cannot hold underscores
    with schema_context("public"):
        ensure_public_tenant()
        _drop(slug)
        tenant_create(slug=slug, name=slug, domain=domain, admin_email=f"admin@{slug}.test",
                      admin_password="bench-pass-123", lead_quota=0)
        tenant = Tenant.objects.get(schema_name=slug)
    try:
        yield tenant
    finally:
        with schema_context("public"):
            _drop(slug)


def _drop(slug: str) -> None:
    from tenants.models import Tenant

    Tenant.objects.filter(schema_name=slug).delete()
    if schema_exists(slug):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{slug}" CASCADE')


def timed(fn, repeat: int = 5) -> list[float]:
    """Wall times in seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def median_ms(times: list[float]) -> float:
    return round(statistics.median(times) * 1000, 1)


def peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def print_table(rows: list[tuple], headers: tuple) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*headers))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))
