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
