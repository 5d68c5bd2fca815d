"""Acceptance: a real django-q2 cluster loses one worker to SIGKILL mid-run, and
still every lead of two tenants reaches its final state exactly once.

The cluster runs as ``manage.py qcluster`` in a child process on the test
database, so the rows are committed (``live`` fixture) and wiped afterwards.
With the ORM broker the killed task is handed out again after TASK_RETRY; the
Redis broker has no receipts and loses it, so the next batch run (the
schedule's job, run here by hand once the lease expired) picks the leads up.
Either way, leases in the database are what keep a lead from being processed
twice, not the broker.

CRASH_TEST_LEADS sets the number of leads (default 5,000, split over the two tenants).
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.db.models import Count
from django.utils import timezone
from django_tenants.utils import schema_context

from leads.models import AuditEvent, Lead
from processing.claims import AWAITING_STATUSES
from tests.hardening.reconcile import assert_reconciled
from tests.processing.conftest import SCHEMAS, bulk_leads
from tests.tenants.test_provisioning import _test_database_url

ROOT = Path(__file__).resolve().parents[2]
LEADS = int(os.environ.get("CRASH_TEST_LEADS", "5000"))
DUPLICATES = LEADS // 50  # per tenant: repeats of earlier leads' emails, for the merge stage
TIMEOUT, LEASE, RETRY = 10, 12, 15


def child_env(broker: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "Q_SYNC")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "leadhub.test_settings", "LEADHUB_TESTING": "1",
        "DATABASE_URL": _test_database_url(),
        "TASK_TIMEOUT": str(TIMEOUT), "CLAIM_LEASE_SECONDS": str(LEASE), "TASK_RETRY": str(RETRY),
        "BATCH_SIZE": "200", "BATCH_WORKERS": "2", "LOG_LEVEL": "INFO",
    })
    if broker == "redis":
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return env


def manage(env: dict, *args: str) -> str:
    proc = subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def queue_batch_run(env: dict) -> None:
    manage(env, "shell", "-c", "from processing.tasks import run_batch_processing; print(run_batch_processing())")


def pending(schema: str) -> int:
    """Leads that still have to be processed (not deferred to a later attempt)."""
    with schema_context(schema):
        return Lead.objects.filter(status__in=AWAITING_STATUSES).exclude(next_attempt_at__gt=timezone.now()).count()


def held_leases() -> list[tuple[str, str]]:
    """(schema, claimed_by) of leases currently held on awaiting leads."""
    found = []
    for schema in SCHEMAS:
        with schema_context(schema):
            owners = (Lead.objects.filter(status__in=AWAITING_STATUSES).exclude(claimed_by="")
                      .values_list("claimed_by", flat=True).distinct())
            found += [(schema, owner) for owner in owners]
    return found


def grandparent(pid: int) -> int | None:
    def ppid(p):
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
    try:
        return ppid(ppid(pid))
    except (FileNotFoundError, TypeError):
        return None


def kill_a_busy_worker(cluster: subprocess.Popen, deadline: float) -> tuple[str, str, int]:
    """SIGKILL a worker of ``cluster`` while it holds a lease, until one kill
    lands before the worker committed. Returns (schema, dead lease, leads it held)."""
    tried = set()
    while time.monotonic() < deadline:
        for schema, owner in held_leases():
            pid = int(owner.split(":")[1])
            if owner in tried or grandparent(pid) != cluster.pid:  # only our cluster's workers
                continue
            tried.add(owner)
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
            with schema_context(schema):
                stranded = Lead.objects.filter(claimed_by=owner, status__in=AWAITING_STATUSES).count()
            if stranded:
                return schema, owner, stranded
        time.sleep(0.02)
    pytest.fail("no worker could be killed while it held leads")


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_killed_worker_loses_nothing_and_repeats_nothing(live, broker):
    if broker == "redis" and not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set")
    env = child_env(broker)
    half = LEADS // 2
    ids = {}
    for schema in SCHEMAS:
        with schema_context(schema):
            # The last leads repeat the first ones' emails: the pipeline merges them.
            ids[schema] = set(bulk_leads(half - DUPLICATES, prefix=schema))
            ids[schema] |= set(bulk_leads(DUPLICATES, prefix=schema))
    if broker == "redis":
        import redis

        redis.Redis.from_url(env["REDIS_URL"]).delete("django_q:leadhub:q")

    log = tempfile.NamedTemporaryFile("w+", prefix="qcluster-", suffix=".log", delete=False)
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], env=env, cwd=ROOT,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    started = time.monotonic()
    try:
        queue_batch_run(env)
        schema, dead_lease, stranded = kill_a_busy_worker(cluster, deadline=time.monotonic() + 60)
        killed_at = time.monotonic()

        swept = False
        deadline = time.monotonic() + 180
        while any(pending(s) for s in SCHEMAS):
            assert cluster.poll() is None, "the cluster itself died"
            assert time.monotonic() < deadline, f"leads left unprocessed: { {s: pending(s) for s in SCHEMAS} }"
            if broker == "redis" and not swept and time.monotonic() > killed_at + LEASE + 2:
                queue_batch_run(env)  # the next scheduled batch run
                swept = True
            time.sleep(0.5)
        elapsed = time.monotonic() - started
    finally:
        cluster.send_signal(signal.SIGTERM)  # the cluster stops its own workers
        try:
            cluster.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait()
        log.seek(0)
        cluster_log = log.read()
        log.close()
        os.unlink(log.name)

    assert "after death" in cluster_log, cluster_log[-3000:]
    if broker == "orm":
        assert not swept  # the broker handed the dead worker's task out again by itself
    print(f"\n{broker}: {LEADS} leads, killed {dead_lease} holding {stranded} leads in {schema}, "
          f"all final after {elapsed:.1f} s")

    for schema in SCHEMAS:
        # The shared count reconciliation: every lead once, final or retryable, no lease left.
        assert_reconciled(schema, lead_ids=ids[schema])
        with schema_context(schema):
            leads = Lead.objects.all()
            # Each tenant has exactly its own leads, all processed, none still leased.
            assert set(leads.values_list("id", flat=True)) == ids[schema]
            assert pending(schema) == 0
            assert not leads.exclude(claimed_by="").exists()
            assert not leads.filter(claimed_until__isnull=False).exists()
            # Every transition happened once: no lead moved (or merged) twice.
            repeated = (AuditEvent.objects.filter(object_type="lead").exclude(to_status="").order_by()
                        .values("lead_id", "from_status", "to_status").annotate(n=Count("id")).filter(n__gt=1))
            assert list(repeated) == []
            final = dict(leads.values_list("id", "status"))
            reached = dict(AuditEvent.objects.filter(object_type="lead").values("lead_id")
                           .annotate(n=Count("id")).values_list("lead_id", "n"))
            assert set(reached) == ids[schema], "a lead has no audited transition"
            # Each repeated email merged exactly once: one survivor per email, each
            # duplicate in exactly one survivor's merge history, once.
            merged = [entry["duplicate_id"] for history in leads.exclude(merge_history=[])
                      .values_list("merge_history", flat=True) for entry in history if entry.get("action") == "merged"]
            duplicates = set(leads.filter(status="duplicate").values_list("id", flat=True))
            assert len(duplicates) == DUPLICATES
            assert sorted(merged) == sorted(duplicates)
            assert not leads.exclude(status="duplicate").values("email_key").annotate(n=Count("id")) \
                .filter(n__gt=1).exists()
            last = {}
            # The last status change of each lead is its final status (merge events
            # on a survivor carry no status change).
            for lead_id, to_status in AuditEvent.objects.filter(object_type="lead").exclude(to_status="") \
                    .order_by("created_at", "id").values_list("lead_id", "to_status"):
                last[lead_id] = to_status
            assert last == final
