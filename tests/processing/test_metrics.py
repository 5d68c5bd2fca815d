"""/metrics: Prometheus text, operators only."""
import pytest
from django.test import Client
from django_tenants.utils import schema_context
from prometheus_client.parser import text_string_to_metric_families

from leads.models import LeadStatus
from processing import tasks
from tests.factories import make_user
from tests.processing.conftest import bulk_leads


def scrape(client=None, **extra):
    return (client or Client(HTTP_HOST="localhost")).get("/metrics", **extra)


def samples(response) -> dict:
    out = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = "operator-secret-token"
    settings.METRICS_ALLOWED_IPS = []
    return "operator-secret-token"


@pytest.fixture
def no_settled_counts(tenant_a, tenant_b):
    """The settled counts live in the cache, which a test's rollback does not undo."""
    from django.core.cache import cache

    from processing.metrics import TRANSITIONS_CACHE_KEY

    def forget():
        for schema in ("tenant_a", "tenant_b"):
            with schema_context(schema):
                cache.delete(TRANSITIONS_CACHE_KEY)

    forget()
    yield
    forget()


def test_metrics_with_token_report_transitions_counts_queue_and_cluster(public_client, token, no_settled_counts):
    with schema_context("tenant_a"):
        ids = bulk_leads(3)
        bulk_leads(1, prefix="err", status=LeadStatus.ERROR)
    tasks.process_chunk("tenant_a", ids)
    response = scrape(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    got = samples(response)
    def moved(tenant, **where):
        return sum(v for (name, labels), v in got.items() if name == "leadhub_lead_transitions_total"
                   and dict(labels)["tenant"] == tenant and all(dict(labels)[k] == w for k, w in where.items()))

    # Each of the 3 leads left "new" once and entered review once, whatever stages lie between.
    assert moved("tenant_a", from_status="new") == 3
    assert moved("tenant_a", to_status="pending_review") == 3
    assert moved("tenant_b") == 0
    # The chunk's time in each stage, as the worker recorded it.
    assert got[("leadhub_stage_duration_seconds_count", (("stage", "normalize"), ("tenant", "tenant_a")))] == 1
    assert got[("leadhub_stage_duration_seconds_sum", (("stage", "normalize"), ("tenant", "tenant_a")))] > 0
    assert got[("leadhub_leads", (("status", "pending_review"), ("tenant", "tenant_a")))] == 3
    assert got[("leadhub_leads", (("status", "error"), ("tenant", "tenant_a")))] == 1
    assert got[("leadhub_leads", (("status", "new"), ("tenant", "tenant_b")))] == 0
    from processing.status import broker_kind

    assert ("leadhub_queue_depth", (("broker", broker_kind()),)) in got
    assert got[("leadhub_cluster_up", ())] == 0


def test_metrics_count_task_failures_and_durations(public_client, token):
    from django.utils import timezone
    from datetime import timedelta
    from django_q.models import Task

    now = timezone.now()
    with schema_context("public"):
        Task.objects.create(id="t1", name="a", func="processing.tasks.process_chunk", started=now - timedelta(seconds=3),
                            stopped=now, success=True)
        Task.objects.create(id="t2", name="b", func="processing.tasks.process_chunk", started=now - timedelta(seconds=1),
                            stopped=now, success=False, result="UnknownTenant")
    got = samples(scrape(HTTP_AUTHORIZATION=f"Bearer {token}"))
    func = (("func", "processing.tasks.process_chunk"),)
    assert got[("leadhub_task_failures_total", func)] == 1
    assert got[("leadhub_task_duration_seconds_count", func)] == 2
    assert got[("leadhub_task_duration_seconds_sum", func)] == pytest.approx(4.0)


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "operator-secret-token", "Basic b3A6cHc="])
def test_metrics_refuse_without_the_operator_token(public_client, token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = scrape(**extra)
    assert response.status_code == 401
    assert b"leadhub_" not in response.content


def test_metrics_readable_from_an_allowed_address_only(public_client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/24", "192.0.2.7"]
    assert scrape(REMOTE_ADDR="10.0.0.99").status_code == 200
    assert scrape(REMOTE_ADDR="192.0.2.7").status_code == 200
    assert scrape(REMOTE_ADDR="192.0.2.8").status_code == 401
    # A client cannot talk its way in with a forwarded-for header.
    assert scrape(REMOTE_ADDR="192.0.2.8", HTTP_X_FORWARDED_FOR="10.0.0.1").status_code == 401


def test_metrics_closed_when_nothing_is_configured(public_client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert scrape(HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_metrics_are_not_served_on_tenant_hosts_even_to_tenant_admins(tenant_a, token):
    client = Client(HTTP_HOST="a.localhost")
    with schema_context("tenant_a"):
        client.force_login(make_user("admin"))
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 404


def test_every_metric_the_grafana_dashboard_queries_is_exposed(public_client, token, monkeypatch):
    import json
    import re
    from pathlib import Path

    # Provider figures appear for tenants that have providers configured.
    monkeypatch.setattr("processing.status.provider_health", lambda: [
        {"name": "clearbit", "healthy": False, "credits": None, "usage_month": {"calls": 3, "credits": 3}}])
    text = scrape(HTTP_AUTHORIZATION=f"Bearer {token}").content.decode()
    suffixes = {"counter": [""], "summary": ["_count", "_sum"], "gauge": [""]}  # counters are typed with _total
    exposed = {name + suffix for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
               for suffix in suffixes[kind]}
    # In-flight tasks exist only for the ORM broker (Redis has no receipts).
    exposed.add("leadhub_queue_in_flight")
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docker/grafana/dashboards/leadhub-processing.json").read_text())
    queried = {name for panel in dashboard["panels"] for t in panel["targets"]
               for name in re.findall(r"leadhub_[a-z_]+", t["expr"])}
    assert queried and queried <= exposed, queried - exposed


def _events(pairs, *, minutes_ago: float) -> None:
    from django.utils import timezone

    from leads.models import AuditEvent

    made = AuditEvent.objects.bulk_create([
        AuditEvent(object_type="lead", action="status_changed", actor="pipeline", from_status=f, to_status=t)
        for f, t in pairs])
    AuditEvent.objects.filter(pk__in=[e.pk for e in made]).update(
        created_at=timezone.now() - timezone.timedelta(minutes=minutes_ago))


def test_transitions_are_read_once_they_settle_and_then_kept(no_settled_counts, settings):
    from leads.models import AuditEvent
    from processing.metrics import transition_counts

    settings.TASK_TIMEOUT = 600  # events older than 11 minutes are settled
    with schema_context("tenant_a"):
        _events([("new", "normalized")] * 2, minutes_ago=120)
        _events([("normalized", "enriched")], minutes_ago=1)
        assert transition_counts() == {("new", "normalized"): 2, ("normalized", "enriched"): 1}

        # The settled events are not read again (the counter keeps them even once
        # they are gone); recent ones are read at every scrape.
        AuditEvent.objects.filter(to_status="normalized").delete()
        _events([("new", "normalized")], minutes_ago=2)
        assert transition_counts() == {("new", "normalized"): 3, ("normalized", "enriched"): 1}
    with schema_context("tenant_b"):
        assert transition_counts() == {}
