"""Provider stages against a local stand-in server: offline checks, a cold
ZeroBounce run (1,000 addresses = the 5 batches a minute allows), the same
addresses again from the tenant's cache, and Clearbit cold vs cached.

Figures: offline_verify_per_s, verify_cold_leads_per_s, verify_cached_leads_per_s,
enrich_cold_leads_per_s, enrich_cached_leads_per_s.
"""
import time

from django.test.utils import override_settings
from django_tenants.utils import schema_context
from pytest_httpserver import HTTPServer

from tests.bench.support import bench_tenant, print_table


def run(n: int) -> dict[str, float]:
    from leads.models import TenantSettings
    from processing.enrichment import enrich_leads
    from processing.providers.base import FakeClock
    from processing.providers.offline import check_email
    from processing.verification import verify_leads
    from tests.processing.conftest import FakeClearbit, FakeZeroBounce, unsaved_leads

    figures = {}
    emails = [f"person{i}@company{i % 997}.com" for i in range(min(n, 10_000))]
    started = time.perf_counter()
    for email in emails:
        check_email(email)
    figures["offline_verify_per_s"] = round(len(emails) / (time.perf_counter() - started))

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        clock = FakeClock()
        FakeZeroBounce(clock).install(server)
        FakeClearbit().install(server)
        base = server.url_for("").rstrip("/")
        with override_settings(ZEROBOUNCE_BASE_URL=base, CLEARBIT_BASE_URL=base, ZEROBOUNCE_API_KEY="bench-zb",
                               CLEARBIT_API_KEY="bench-cb", PROVIDER_BACKOFF=0), bench_tenant("bench_providers"):
            with schema_context("bench_providers"):
                tenant_settings = TenantSettings.current()
                tenant_settings.enable_enrichment = tenant_settings.enable_verification = True
                batch = emails[:1000]
                for key, fn in (("verify", verify_leads), ("enrich", enrich_leads)):
                    for run_name in ("cold", "cached"):
                        leads = unsaved_leads(batch)
                        started = time.perf_counter()
                        fn(leads, settings=tenant_settings, clock=clock)
                        figures[f"{key}_{run_name}_leads_per_s"] = round(len(leads) / (time.perf_counter() - started))
                        clock.advance(60)
    finally:
        server.stop()
    print_table([(k, v) for k, v in figures.items()], ("figure", "value"))
    return figures
