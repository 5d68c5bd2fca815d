"""GET /api/v1/status and manage.py leadhub_status."""
import json
import os
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django_tenants.utils import schema_context

from leads.models import LeadStatus
from processing.schedules import BATCH_SCHEDULE_NAME
from tests.factories import make_user
from tests.processing.conftest import bulk_leads
from tests.processing.test_worker_crash import child_env

ROOT = Path(__file__).resolve().parents[2]


def viewer(host="a.localhost", schema="tenant_a") -> Client:
    client = Client(HTTP_HOST=host)
    with schema_context(schema):
        client.force_login(make_user("viewer"))
    return client


def test_status_reports_parts_schedules_and_this_tenants_counts(tenant_a, tenant_b):
    call_command("setup_schedules")
    with schema_context("tenant_a"):
        bulk_leads(3)
        bulk_leads(2, prefix="rev", status=LeadStatus.PENDING_REVIEW)
    with schema_context("tenant_b"):
        bulk_leads(7)
    response = viewer().get("/api/v1/status")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] and body["cache"]["ok"] and body["broker"]["ok"]
    assert body["broker"]["kind"] == ("redis" if os.environ.get("REDIS_URL") else "orm")
    assert isinstance(body["broker"]["queue_depth"], int)
    assert body["tenant"] == "tenant_a"
    assert body["leads"]["new"] == 3 and body["leads"]["pending_review"] == 2 and body["leads"]["total"] == 5
    assert body["leads"]["approved"] == 0
    assert sorted(p["name"] for p in body["providers"]) == ["clearbit", "offline", "zerobounce"]
    assert all("healthy" in p and "credits" in p for p in body["providers"])
    batch = next(s for s in body["schedules"] if s["name"] == BATCH_SCHEDULE_NAME)
    assert batch["cron"] and batch["next_run"] and batch["last_run"] is None


def test_status_reports_a_stopped_cluster_as_stopped(tenant_a):
    body = viewer().get("/api/v1/status").json()
    assert body["cluster"] == {"status": "stopped", "workers": 0, "clusters": []}


def test_status_needs_a_tenant_user_and_shows_only_that_tenant(tenant_a, tenant_b):
    with schema_context("tenant_b"):
        bulk_leads(4)
    assert Client(HTTP_HOST="a.localhost").get("/api/v1/status").status_code in (401, 403)
    a_viewer = viewer()
    stolen = Client(HTTP_HOST="b.localhost")
    stolen.cookies["sessionid"] = a_viewer.cookies["sessionid"].value
    assert stolen.get("/api/v1/status").status_code in (401, 403)
    assert a_viewer.get("/api/v1/status").json()["leads"]["total"] == 0
    assert viewer("b.localhost", "tenant_b").get("/api/v1/status").json()["leads"]["total"] == 4


def test_last_run_of_a_schedule_is_reported_with_its_result(live):
    from django_q.models import Schedule, Task
    from django.utils import timezone

    call_command("setup_schedules")
    with schema_context("public"):
        s = Schedule.objects.get(name=BATCH_SCHEDULE_NAME)
        Task.objects.create(id="abc123", name="batch", func=s.func, started=timezone.now(),
                            stopped=timezone.now(), success=True, result={"tenant_a": 2})
        Schedule.objects.filter(pk=s.pk).update(task="abc123")
    out = StringIO()
    call_command("leadhub_status", "--json", stdout=out)
    report = json.loads(out.getvalue())
    batch = next(s for s in report["schedules"] if s["name"] == BATCH_SCHEDULE_NAME)
    assert batch["last_run"]["success"] is True and "'tenant_a': 2" in batch["last_run"]["result"]
    assert set(report["leads"]) >= {"tenant_a", "tenant_b"}


def test_leadhub_status_prints_the_report(tenant_a, capsys):
    with schema_context("tenant_a"):
        bulk_leads(2)
    call_command("leadhub_status", "--tenant", "tenant_a")
    out = capsys.readouterr().out
    assert "database   ok" in out
    assert "cluster    stopped, 0 workers" in out
    assert "tenant_a: 2 (new 2)" in out


def test_leadhub_status_refuses_unknown_tenant(db):
    with pytest.raises(CommandError, match="no tenant with schema 'nope'"):
        call_command("leadhub_status", "--tenant", "nope")


@pytest.mark.slow
def test_running_cluster_is_reported_with_its_workers(live):
    # Same broker and cache as this process, so the heartbeat is visible here.
    env = child_env("redis" if os.environ.get("REDIS_URL") else "orm")
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        client = viewer()
        deadline = time.monotonic() + 30
        while True:
            body = client.get("/api/v1/status").json()["cluster"]
            # "Starting" already counts as running, before the workers are up.
            if (body["status"] == "running" and body["workers"] == 2) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert body["status"] == "running"
        assert body["workers"] == 2
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait()
    deadline = time.monotonic() + 15
    while client.get("/api/v1/status").json()["cluster"]["status"] != "stopped":
        assert time.monotonic() < deadline, "a stopped cluster still reported as running"
        time.sleep(0.5)


def test_leadhub_status_exits_nonzero_with_one_line_when_the_database_is_down():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "leadhub.test_settings", "LEADHUB_TESTING": "1",
           "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    env.pop("REDIS_URL", None)
    proc = subprocess.run([sys.executable, "manage.py", "leadhub_status"], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CommandError: database unreachable:")
