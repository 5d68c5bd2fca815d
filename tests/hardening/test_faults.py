"""Faults: the database restarts mid-batch, Redis is unreachable, a provider answers
5xx for minutes. After each, a count reconciliation (tests/hardening/reconcile.py)
shows every accepted lead stored exactly once and in a final or retryable state.
(A killed worker: tests/processing/test_worker_crash.py, which reconciles too.)
"""
import csv
import json
import shutil
import socket
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.hardening.private_pg import PrivatePostgres

ROWS = 4000
CHUNK = 200
TENANT = "fault"
HOST = "fault.localhost"


# --- PostgreSQL restarted in the middle of a batch ---------------------------

@pytest.fixture(scope="module")
def private_pg():
    # Not under pytest's tmp folder: that one is private to root, and the server
    # runs as pgserver's own user when the tests run as root.
    folder = Path(tempfile.mkdtemp(prefix="lh-fault-pg-"))
    folder.chmod(0o755)
    pg = PrivatePostgres(folder / "data")
    try:
        pg.manage("migrate_schemas", "--shared", "--noinput")
        pg.manage("createcachetable")
        pg.manage("add_tenant", TENANT, "--domain", HOST, "--admin-email", "admin@fault.test",
                  "--password", "pw-admin-123", "--lead-quota", "0")
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _csv(path, rows: int) -> list[str]:
    ids = [f"ext-{i:05d}" for i in range(rows)]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["external_id", "email", "first_name", "last_name", "company"])
        for i, ext in enumerate(ids):
            w.writerow([ext, f"person{i}@firm{i}.example.com", "Pat", f"Lee{i}", f"Firm {i}"])
    return ids


def _wait_then_restart(pg: PrivatePostgres, proc, sql: str, at_least: int, timeout: float = 120) -> int:
    """Restart the server once ``sql`` counts ``at_least`` while ``proc`` still runs."""
    deadline = time.monotonic() + timeout
    with pg.connect() as conn:
        while time.monotonic() < deadline:
            seen = conn.execute(sql).fetchone()[0]
            if seen >= at_least:
                break
            assert proc.poll() is None, f"finished before the restart: {proc.communicate()}"
            time.sleep(0.02)
        else:
            pytest.fail(f"the run never reached {at_least}")
    assert proc.poll() is None, "finished before the restart"
    pg.restart()
    return seen


def _reconcile_remote(pg: PrivatePostgres, external_ids: list[str], source: str) -> dict:
    """The reconciliation helper, run by the product against the private server."""
    code = (
        "import json, sys; from tests.hardening.reconcile import reconcile; "
        f"ids = json.load(open({json.dumps(str(pg.server.pgdata.parent / 'ids.json'))})); "
        f"r = reconcile({TENANT!r}, external_ids=ids, source={source!r}); "
        "print(json.dumps({'ok': r.ok, 'accepted': r.accepted, 'stored': r.stored, 'lost': len(r.lost), "
        "'duplicated': len(r.duplicated), 'unexpected': len(r.unexpected), 'stuck': len(r.stuck), "
        "'leased': r.leased, 'by_status': r.by_status}))"
    )
    (pg.server.pgdata.parent / "ids.json").write_text(json.dumps(external_ids))
    return json.loads(pg.manage("shell", "-c", code).stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_postgres_restart_mid_import_and_mid_processing_loses_nothing(private_pg, tmp_path):
    pg = private_pg
    table = f'"{TENANT}"."leads_lead"'
    path = tmp_path / "leads.csv"
    ids = _csv(path, ROWS)

    # 1. The import commits chunk by chunk; the restart kills it between two chunks
    # or in the middle of one.
    proc = pg.popen("manage.py", "import_leads", str(path), "--tenant", TENANT, "--source", "crm",
                    "--chunk-size", str(CHUNK), "--no-progress")
    _wait_then_restart(pg, proc, f"SELECT count(*) FROM {table}", at_least=2 * CHUNK)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, "the import cannot have finished: its connection was cut"
    assert "Traceback" not in err or "OperationalError" in err or "InterfaceError" in err, err[-2000:]

    # Nothing half-written: only whole chunks are stored, and the batch record
    # agrees with them and says it failed.
    stored = pg.scalar(f"SELECT count(*) FROM {table}")
    assert 0 < stored < ROWS and stored % CHUNK == 0, stored
    status, created, processed = pg.connect().execute(
        f'SELECT status, created_count, processed_rows FROM "{TENANT}"."leads_importbatch"').fetchone()
    assert (status, created, processed) == ("failed", stored, stored)
    committed = set(r[0] for r in pg.connect().execute(f"SELECT external_id FROM {table}"))
    assert committed == set(ids[:stored])

    # A re-run of the same file completes the rest: the committed rows update, none doubles.
    rerun = pg.manage("import_leads", str(path), "--tenant", TENANT, "--source", "crm", "--chunk-size", str(CHUNK),
                      "--no-progress")
    assert f"{ROWS - stored} were created, {stored} updated" in rerun.stdout, rerun.stdout
    result = _reconcile_remote(pg, ids, "crm")
    assert result["ok"] and result["stored"] == ROWS, result

    # 2. The pipeline commits one chunk per transaction; restart it half-way.
    proc = pg.popen("manage.py", "process_leads", "--tenant", TENANT, "--no-progress", BATCH_SIZE=str(CHUNK))
    _wait_then_restart(pg, proc, f"SELECT count(*) FROM {table} WHERE status = 'pending_review'", at_least=CHUNK)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "CommandError: tenant 'fault'" in err, err[-2000:]
    done = pg.scalar(f"SELECT count(*) FROM {table} WHERE status = 'pending_review'")
    assert 0 < done < ROWS and done % CHUNK == 0, done
    # Each processed lead has its audited transition; no unprocessed one has any.
    audited = pg.scalar(f"""SELECT count(DISTINCT lead_id) FROM "{TENANT}"."leads_auditevent"
                            WHERE to_status = 'pending_review'""")
    assert audited == done
    result = _reconcile_remote(pg, ids, "crm")
    assert result["ok"], result  # the rest is retryable: awaiting a stage, no lease left

    pg.manage("process_leads", "--tenant", TENANT, "--no-progress", BATCH_SIZE=str(CHUNK))
    result = _reconcile_remote(pg, ids, "crm")
    assert result["ok"] and result["by_status"] == {"pending_review": ROWS}, result
    # Every lead moved to pending_review exactly once, across both runs.
    assert pg.scalar(f"""SELECT count(*) FROM (SELECT lead_id FROM "{TENANT}"."leads_auditevent"
                         WHERE to_status = 'pending_review' GROUP BY lead_id HAVING count(*) > 1) d""") == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_web_workers_answer_right_after_a_database_restart(private_pg):
    """Gunicorn keeps connections open (CONN_MAX_AGE); after the server restarts
    those connections are dead. The first request on each must not be a 500:
    the connection is health-checked and replaced."""
    pg = private_pg
    key = pg.manage("create_api_key", "--tenant", TENANT, "--name", "fault").stdout.strip().split()[-1]
    port = _free_port()
    server = pg.popen("-m", "gunicorn", "leadhub.wsgi:application", "--bind", f"127.0.0.1:{port}",
                      "--workers", "1", "--log-level", "warning", DB_CONN_MAX_AGE="600")
    base = f"http://127.0.0.1:{port}"
    headers = {"Host": HOST, "Authorization": f"Api-Key {key}"}
    try:
        for _ in range(120):
            try:
                requests.get(f"{base}/healthz", headers={"Host": HOST}, timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.25)
        assert requests.get(f"{base}/api/v1/leads?page_size=1", headers=headers, timeout=10).status_code == 200
        pg.restart()
        answers = [requests.get(f"{base}/api/v1/leads?page_size=1", headers=headers, timeout=10).status_code
                   for _ in range(3)]
        assert answers == [200, 200, 200]
    finally:
        server.terminate()
        server.communicate(timeout=30)


# --- Shared helpers for the in-process fault tests ----------------------------

def _api_client(schema: str, host: str, name: str = "faults"):
    from django.test import Client
    from django_tenants.utils import schema_context

    from leads.models import ApiKey

    with schema_context(schema):
        _, key = ApiKey.objects.create_key(name=name, scopes="read,write")
    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Api-Key {key}")


SURNAMES = ("Abbott", "Brennan", "Castillo", "Dvorak", "Eriksen", "Fujita", "Galloway", "Hartmann", "Iwu",
            "Jankowski", "Kowalczyk", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quintero",
            "Rasmussen", "Schreiber", "Tanaka")
COMPANIES = ("Acme", "Borealis", "Cobalt", "Driftwood", "Ember", "Fjord", "Granite", "Halcyon", "Ironbark",
             "Juniper", "Kestrel", "Lumen", "Monsoon", "Nimbus", "Obsidian", "Pinnacle", "Quarry", "Redwood",
             "Sequoia", "Tundra")


def _rows(prefix: str, n: int) -> list[dict]:
    """Distinct people (the pipeline would merge look-alikes as duplicates)."""
    return [{"external_id": f"{prefix}-{i}", "email": f"{SURNAMES[i].lower()}@{COMPANIES[i].lower()}.example.com",
             "first_name": "Pat", "last_name": SURNAMES[i], "company": f"{COMPANIES[i]} Labs"} for i in range(n)]


def _post_batch(client, source: str, rows: list[dict], **headers):
    return client.post("/api/v1/leads/batch", {"source": source, "leads": rows},
                       content_type="application/json", **headers)


# --- Redis unreachable ------------------------------------------------------

def test_api_keeps_answering_with_redis_unreachable_and_status_says_degraded(tenant_a, tenant_b, settings):
    """Throttles count in the database cache, idempotent retries replay, and
    /api/v1/status reports the cache as degraded (ok, but not on Redis)."""
    from django.core.cache import caches
    from django.test import override_settings

    from tests.hardening.reconcile import assert_reconciled
    from tests.tenants.test_cache_fallback import DEAD_REDIS

    rates = {**settings.LEADHUB_THROTTLE_RATES, "api_key": "4/min"}
    with override_settings(CACHES=DEAD_REDIS, LEADHUB_THROTTLE_RATES=rates):
        client = _api_client("tenant_a", "a.localhost")
        rows = _rows("redis", 3)
        first = _post_batch(client, "redis-down", rows, HTTP_IDEMPOTENCY_KEY="batch-1")
        assert first.status_code == 200, first.content
        assert first.json()["summary"]["created"] == 3
        retry = _post_batch(client, "redis-down", rows, HTTP_IDEMPOTENCY_KEY="batch-1")
        assert retry.status_code == 200 and retry["Idempotent-Replayed"] == "true"
        assert retry.json() == first.json()

        status = client.get("/api/v1/status")
        assert status.status_code == 200
        body = status.json()
        assert body["cache"]["ok"] is True and body["cache"]["degraded"] is True
        assert body["cache"]["serving"] == "database (redis unreachable)"
        assert body["degraded"] == ["cache"]
        assert body["database"]["ok"] and body["leads"]["total"] == 3
        assert caches["default"].degraded

        assert client.get("/api/v1/leads").status_code == 200
        throttled = client.get("/api/v1/leads")  # fifth request in the minute at 4/min
        assert throttled.status_code == 429
        assert "detail" in throttled.json()
        # The throttle counts per key in tenant A's keys: another key (tenant B) is not throttled.
        assert _api_client("tenant_b", "b.localhost").get("/api/v1/leads").status_code == 200

    assert_reconciled("tenant_a", external_ids=[r["external_id"] for r in rows], source="redis-down")


def test_status_says_not_degraded_when_the_cache_is_as_configured(client_a, tenant_a):
    from tests.factories import make_user

    from django_tenants.utils import schema_context

    with schema_context("tenant_a"):
        client_a.force_login(make_user("viewer"))
    body = client_a.get("/api/v1/status").json()
    assert body["cache"]["ok"] is True and body["cache"]["degraded"] is False
    assert body["degraded"] == []


# --- A provider answering 5xx for minutes -------------------------------------

@pytest.fixture
def fake_time(monkeypatch):
    """One fake clock for Django (timezone.now) and the provider clients (their
    backoff sleeps advance it): minutes pass in a test without waiting."""
    import datetime as dt

    from django.utils import timezone

    from processing.providers.base import Clock, FakeClock

    clock = FakeClock(start=time.time())
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime.fromtimestamp(clock.now, tz=dt.timezone.utc))
    monkeypatch.setattr(Clock, "time", lambda self: clock.time())
    monkeypatch.setattr(Clock, "sleep", lambda self, seconds: clock.sleep(seconds))
    return clock


@pytest.fixture
def providers_on_httpserver(settings, httpserver):
    from processing.providers.base import reset_limiters
    from tests.processing.conftest import ZB_KEY

    settings.ZEROBOUNCE_BASE_URL = settings.CLEARBIT_BASE_URL = httpserver.url_for("").rstrip("/")
    settings.ZEROBOUNCE_API_KEY, settings.CLEARBIT_API_KEY = ZB_KEY, ""
    settings.PROVIDER_TIMEOUT, settings.PROVIDER_RETRIES, settings.PROVIDER_BACKOFF = 0.5, 2, 1.0
    settings.PROVIDER_RETRY_MINUTES = 2
    settings.VERIFY_MX = False
    reset_limiters()
    yield httpserver
    reset_limiters()


def test_provider_answering_503_for_minutes_keeps_leads_retryable_then_recovery_finishes_them(
        tenant_a, providers_on_httpserver, fake_time):
    """Batch runs (what the schedule does) over ten minutes of ZeroBounce answering
    503: each run retries with backoff, then defers the leads; no lead errors out
    or is lost. When the provider answers again, the next run finishes them all."""
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from leads.models import Lead, LeadStatus
    from processing.batch import awaiting_lead_ids, process_chunk_now
    from processing.claims import AWAITING_STATUSES
    from tests.hardening.reconcile import assert_reconciled
    from tests.processing.conftest import FakeZeroBounce

    httpserver = providers_on_httpserver
    client = _api_client("tenant_a", "a.localhost")
    rows = _rows("outage", 20)
    assert _post_batch(client, "outage", rows).json()["summary"]["created"] == 20
    ext_ids = [r["external_id"] for r in rows]
    for path in ("/v2/validate", "/v2/validatebatch"):  # single look-ups or a batch, by volume
        httpserver.expect_request(path).respond_with_data("maintenance", status=503)

    def batch_run() -> int:
        with schema_context("tenant_a"):
            ids = awaiting_lead_ids()
            if ids:
                process_chunk_now(lead_ids=ids, actor="schedule:batch")
            return len(ids)

    calls, started = 0, fake_time.time()
    for minute in range(5):  # a run every ~2 minutes for 10 minutes
        assert batch_run() == 20
        asked = sum(1 for req, _ in httpserver.log if req.path.startswith("/v2/validate"))
        assert asked > calls, "each run asks the provider again"
        calls = asked
        with schema_context("tenant_a"):
            leads = list(Lead.objects.filter(source="outage"))
            assert {l.status for l in leads} <= set(AWAITING_STATUSES), {l.status for l in leads}
            assert all(l.next_attempt_at and l.next_attempt_at > timezone.now() for l in leads)
            assert all(l.error_message == "" and l.verification == {} for l in leads)
        assert_reconciled("tenant_a", external_ids=ext_ids, source="outage")
        fake_time.advance(60)
        assert batch_run() == 0, "a lead was retried before its next attempt was due"
        fake_time.advance(61)
    assert fake_time.time() - started >= 600  # ten minutes of outage, no real waiting
    assert calls >= 5 * 3  # every run: first try + PROVIDER_RETRIES

    httpserver.clear()
    FakeZeroBounce().install(httpserver)
    assert batch_run() == 20
    with schema_context("tenant_a"):
        assert set(Lead.objects.filter(source="outage").values_list("status", flat=True)) == {LeadStatus.PENDING_REVIEW}
    result = assert_reconciled("tenant_a", external_ids=ext_ids, source="outage")
    assert result.by_status == {LeadStatus.PENDING_REVIEW: 20}
