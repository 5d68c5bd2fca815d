"""/metrics in the Prometheus text format, for operators.

Figures are read from the database at scrape time (audit events, leads,
django-q2's task results, the broker) rather than kept in process counters:
the web server runs several processes and workers die and restart, so only
the database has the whole picture.
"""
import hmac
import ipaddress
import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Sum
from django.db.models.functions import Extract
from django.http import HttpResponse
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from leads.models import AuditEvent
from processing import batch, status
from processing.models import StageTiming

logger = logging.getLogger(__name__)


TRANSITIONS_CACHE_KEY = "metrics:lead-transitions"


def transition_counts() -> dict[tuple[str, str], int]:
    """The current tenant's lead transitions by (from status, to status), from the
    audit trail, without reading the whole trail at every scrape.

    Events are never changed once written, and the transaction that writes one
    commits within a task's time limit of the event's ``created_at``. So the events
    older than that (TASK_TIMEOUT plus a minute) are counted once, and the count is
    kept in the tenant's cache with the time it reaches; each scrape adds the
    events that have settled since and reads only the newer ones itself. A
    transaction that ran longer than the limit would go uncounted; a lost cache
    entry means one full count again."""
    horizon = timezone.now() - timedelta(seconds=settings.TASK_TIMEOUT + 60)
    state = cache.get(TRANSITIONS_CACHE_KEY)
    since, settled = state if state else (None, {})
    if since is None or since < horizon:
        for key, n in _transitions(since, horizon).items():
            settled[key] = settled.get(key, 0) + n
        cache.set(TRANSITIONS_CACHE_KEY, (horizon, settled), timeout=None)
    else:
        horizon = since
    counts = dict(settled)
    for key, n in _transitions(horizon, None).items():
        counts[key] = counts.get(key, 0) + n
    return counts


def _transitions(since, until) -> dict[tuple[str, str], int]:
    events = AuditEvent.objects.filter(object_type="lead").exclude(to_status="")
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    rows = events.order_by().values_list("from_status", "to_status").annotate(n=Count("*"))
    return {(from_status, to_status): n for from_status, to_status, n in rows}


class LeadHubCollector:
    def collect(self):
        transitions = CounterMetricFamily(
            "leadhub_lead_transitions", "Leads moved from one status (stage) to another, from the audit trail",
            labels=["tenant", "from_status", "to_status"])
        leads = GaugeMetricFamily("leadhub_leads", "Leads by status", labels=["tenant", "status"])
        stages = SummaryMetricFamily("leadhub_stage_duration_seconds",
                                     "Time background chunks spent in each pipeline stage (count = chunk passes)",
                                     labels=["tenant", "stage"])
        provider_rows = []
        for schema in batch.active_schemas():
            with schema_context(schema):
                provider_rows += [(schema, row) for row in status.provider_health() if isinstance(row, dict)]
                for (from_status, to_status), n in sorted(transition_counts().items()):
                    transitions.add_metric([schema, from_status or "none", to_status], n)
                for stage, n, seconds in (StageTiming.objects.order_by().values_list("stage")
                                          .annotate(n=Count("*"), seconds=Sum("seconds"))):
                    stages.add_metric([schema, stage], count_value=n, sum_value=seconds or 0.0)
                for state, n in status.lead_counts().items():
                    if state != "total":
                        leads.add_metric([schema, state], n)
        yield transitions
        yield leads
        yield stages
        yield from self._tasks()
        yield from self._queue_and_cluster()
        yield from self._providers(provider_rows)

    def _tasks(self):
        from django_q.models import Task

        durations = SummaryMetricFamily("leadhub_task_duration_seconds",
                                        "Run time of finished background tasks (a process_chunk is one pipeline pass "
                                        "over a chunk of leads)", labels=["func"])
        outcomes = CounterMetricFamily("leadhub_tasks", "Finished background tasks by outcome (results kept)",
                                       labels=["func", "outcome"])
        failures = CounterMetricFamily("leadhub_task_failures", "Background tasks that failed (results kept)",
                                       labels=["func"])
        with schema_context(get_public_schema_name()):
            rows = (Task.objects.order_by().values("func", "success")
                    .annotate(n=Count("*"), seconds=Sum(Extract(F("stopped") - F("started"), "epoch"))))
            per_func: dict[str, list[float]] = {}
            for row in rows:
                outcomes.add_metric([row["func"], "success" if row["success"] else "failure"], row["n"])
                if not row["success"]:
                    failures.add_metric([row["func"]], row["n"])
                total = per_func.setdefault(row["func"], [0, 0.0])
                total[0] += row["n"]
                total[1] += float(row["seconds"] or 0)
            for func, (count, seconds) in per_func.items():
                durations.add_metric([func], count_value=count, sum_value=seconds)
        yield durations
        yield outcomes
        yield failures

    def _queue_and_cluster(self):
        broker = status.broker_status()
        depth = GaugeMetricFamily("leadhub_queue_depth", "Tasks waiting in the broker", labels=["broker"])
        depth.add_metric([broker["kind"]], broker.get("queue_depth", 0))
        yield depth
        if "in_flight" in broker:
            yield GaugeMetricFamily("leadhub_queue_in_flight", "Tasks handed to a worker, not yet acknowledged",
                                    value=broker["in_flight"])
        cluster = status.cluster_status()
        yield GaugeMetricFamily("leadhub_cluster_up", "1 when a cluster sent a heartbeat recently",
                                value=1 if cluster["status"] == "running" else 0)
        yield GaugeMetricFamily("leadhub_cluster_workers", "Worker processes of the running clusters",
                                value=cluster["workers"])
        reincarnations = GaugeMetricFamily("leadhub_cluster_reincarnations",
                                           "Worker processes restarted after dying, per running cluster",
                                           labels=["cluster"])
        for c in cluster["clusters"]:
            reincarnations.add_metric([c["id"]], c["reincarnations"])
        yield reincarnations

    def _providers(self, rows: list[tuple[str, dict]]):
        """Per tenant and provider: healthy (0/1), credits left, calls and credits used this month."""
        healthy = GaugeMetricFamily("leadhub_provider_healthy", "1 when the provider's last call succeeded",
                                    labels=["tenant", "provider"])
        credits = GaugeMetricFamily("leadhub_provider_credits", "Credits left at the provider, when known",
                                    labels=["tenant", "provider"])
        calls = GaugeMetricFamily("leadhub_provider_calls", "Provider calls this month (resets monthly)", labels=["tenant", "provider"])
        spent = GaugeMetricFamily("leadhub_provider_credits_spent", "Provider credits spent this month (resets monthly)",
                                  labels=["tenant", "provider"])
        for schema, row in rows:
            labels = [schema, row["name"]]
            healthy.add_metric(labels, 1 if row.get("healthy") else 0)
            if isinstance(row.get("credits"), (int, float)):
                credits.add_metric(labels, row["credits"])
            usage = row.get("usage_month") or {}
            calls.add_metric(labels, usage.get("calls", 0))
            spent.add_metric(labels, usage.get("credits", 0))
        yield from (healthy, credits, calls, spent)


def _allowed(request) -> bool:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    token = settings.METRICS_TOKEN
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    # REMOTE_ADDR only: a forwarded-for header is whatever the client says it is.
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for allowed in settings.METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS entry %r is not an address or network", allowed)
    return False


def metrics_view(request):
    if not _allowed(request):
        response = HttpResponse("metrics need an operator token or an allowed address\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LeadHubCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
