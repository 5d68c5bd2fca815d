"""What the operator needs to know at a glance: is everything reachable, is the
cluster running, what is queued and scheduled, and where the tenant's leads are.

``system_status()`` covers the installation; ``lead_counts()`` the current
tenant schema. Every probe catches its own failure so one broken part shows
as broken instead of taking the report down.
"""
import logging
import time
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django_tenants.utils import get_public_schema_name, schema_context

from leads.models import Lead, LeadStatus

logger = logging.getLogger(__name__)
ALIVE = ("Starting", "Idle", "Working")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def broker_kind() -> str:
    q = settings.Q_CLUSTER
    if q.get("sqs"):
        return "sqs"
    if q.get("redis"):
        return "redis"
    if q.get("orm"):
        return "orm"
    return "unknown"


def database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


def cache_status() -> dict:
    """Whether the cache answers, and whether it is degraded: the FallbackCache
    serving from the database cache because Redis is unreachable (everything
    works, slower; the operator should bring Redis back)."""
    key = "leadhub:status-probe"
    try:
        cache.set(key, "ok", 10)
        ok = cache.get(key) == "ok"
        out = {"ok": ok, "backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
               "degraded": bool(getattr(cache, "degraded", False))}
        if hasattr(cache, "backend_name"):
            out["serving"] = cache.backend_name()
        return out
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


def broker_status() -> dict:
    """Broker kind, reachability and how many tasks wait (and, for the ORM
    broker, how many are handed out and not yet acknowledged)."""
    from django_q.brokers import get_broker

    out = {"kind": broker_kind()}
    try:
        broker = get_broker()
        out["ok"] = bool(broker.ping())
        out["queue_depth"] = broker.queue_size()
        if out["kind"] == "orm":
            out["in_flight"] = broker.lock_size()
    except Exception as exc:
        out.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    return out


def cluster_status() -> dict:
    """Clusters that reported a heartbeat in the last seconds. A stopped (or
    dead) cluster stops refreshing its short-lived stat and drops out."""
    from django_q.status import Stat

    try:
        # Stats go through the cache, whose keys carry the schema: the
        # cluster writes them from public.
        with schema_context(get_public_schema_name()):
            stats = Stat.get_all()
    except Exception as exc:
        return {"status": "unknown", "workers": 0, "clusters": [], "error": f"{type(exc).__name__}: {exc}"}
    clusters = [
        {"id": str(s.cluster_id), "host": s.host, "status": str(s.status), "workers": len(s.workers),
         "reincarnations": s.reincarnations, "uptime_s": round(s.uptime(), 1) if s.tob else None}
        for s in stats
    ]
    alive = [c for c in clusters if c["status"] in ALIVE]
    return {
        "status": "running" if alive else "stopped",
        "workers": sum(c["workers"] for c in alive),
        "clusters": clusters,
    }


def schedule_status() -> list[dict]:
    """Each schedule with its cron, next run and last run's outcome."""
    from django_q.models import Schedule, Task

    with schema_context(get_public_schema_name()):
        schedules = list(Schedule.objects.order_by("name"))
        tasks = {t.id: t for t in Task.objects.filter(id__in=[s.task for s in schedules if s.task])}
    out = []
    for s in schedules:
        task = tasks.get(s.task)
        last = None
        if task is not None:
            last = {"started": _iso(task.started), "stopped": _iso(task.stopped), "success": task.success,
                    "result": repr(task.result)[:300]}
        elif s.task:
            last = {"task": s.task, "success": None, "result": "not finished (or result not kept)"}
        out.append({"name": s.name, "func": s.func, "cron": s.cron, "next_run": _iso(s.next_run), "last_run": last})
    return out


def lead_counts() -> dict[str, int]:
    """Leads of the current tenant by status, every status listed (zeros too).
    One GROUP BY over the (status, …) index."""
    counts = dict.fromkeys(LeadStatus.values, 0)
    rows = Lead.objects.order_by().values_list("status").annotate(n=Count("*"))
    counts.update({status: n for status, n in rows})
    counts["total"] = sum(counts.values())
    return counts


def provider_health() -> list[dict] | dict:
    """Health, credits and usage of the current tenant's providers (empty on public)."""
    from processing.providers import provider_status

    try:
        return provider_status()
    except Exception as exc:
        logger.exception("provider status failed")
        return {"error": f"{type(exc).__name__}: {exc}"}


def system_status(*, with_leads: bool = True) -> dict:
    """The whole report for the current schema (lead counts when in a tenant)."""
    started = time.perf_counter()
    report = {
        "database": database_status(),
        "cache": cache_status(),
        "broker": broker_status(),
        "cluster": cluster_status(),
        "schedules": schedule_status(),
    }
    if with_leads and connection.schema_name != get_public_schema_name():
        report["tenant"] = connection.schema_name
        report["leads"] = lead_counts()
    report["providers"] = provider_health()
    report["ok"] = report["database"]["ok"] and report["cache"]["ok"] and report["broker"].get("ok", False)
    # Working but not as configured (e.g. Redis down, database cache standing in).
    report["degraded"] = [name for name in ("cache",) if report[name].get("degraded")]
    report["took_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return report
