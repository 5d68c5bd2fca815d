"""Analytics: per-day, per-source, funnel and score figures, date range, CSV downloads."""
import csv
import datetime as dt
import io

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from leads.models import Lead, LeadStatus


@pytest.fixture
def data_a(tenant_a):
    """Two sources over two days, plus one lead outside the default 30-day range."""
    today = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday = today - dt.timedelta(days=1)
    rows = [
        # source, status, score, verification, created
        ("api", LeadStatus.APPROVED, 80, "valid", today),
        ("api", LeadStatus.EXPORTED, 95, "valid", today),
        ("api", LeadStatus.REJECTED, 30, "invalid", yesterday),
        ("api", LeadStatus.PENDING_REVIEW, 100, "valid", yesterday),
        ("csv", LeadStatus.DUPLICATE, None, "", today),
        ("csv", LeadStatus.REJECTED, 5, "invalid", today),
        ("csv", LeadStatus.REJECTED, -10, "invalid", yesterday),
        ("old", LeadStatus.APPROVED, 50, "valid", today - dt.timedelta(days=60)),
    ]
    with schema_context("tenant_a"):
        Lead.objects.all().delete()
        leads = Lead.objects.bulk_create(
            Lead(source=s, status=st, score=sc, verification_status=v, email=f"a{i}@x.test")
            for i, (s, st, sc, v, _) in enumerate(rows))
        for lead, row in zip(leads, rows):  # created_at is auto_now_add: set it afterwards
            Lead.objects.filter(pk=lead.pk).update(created_at=row[4])
    return {"today": today.date(), "yesterday": yesterday.date()}


def test_per_source_table(page_viewer, data_a):
    response = page_viewer.get("/analytics/")
    assert response.status_code == 200
    sources = {row["source"]: row for row in response.context["sources"]}
    assert set(sources) == {"api", "csv"}  # "old" is outside the last 30 days
    api, csv_ = sources["api"], sources["csv"]
    assert (api["leads"], api["avg_score"]) == (4, pytest.approx(76.3))
    assert api["approval_rate"] == pytest.approx(66.7)  # 2 approved or exported of 3 reviewed
    assert (api["duplicate_rate"], api["invalid_email_rate"]) == (0, 25)
    assert csv_["approval_rate"] == 0 and csv_["duplicate_rate"] == pytest.approx(33.3)
    assert csv_["invalid_email_rate"] == pytest.approx(66.7)


def test_leads_per_day_by_source(page_viewer, data_a):
    response = page_viewer.get("/analytics/")
    daily = {(row["day"], row["source"]): row["leads"] for row in response.context["daily"]}
    assert daily == {(data_a["yesterday"], "api"): 2, (data_a["yesterday"], "csv"): 1,
                     (data_a["today"], "api"): 2, (data_a["today"], "csv"): 2}
    chart = response.context["charts"]["daily"]
    assert chart["labels"] == [data_a["yesterday"].isoformat(), data_a["today"].isoformat()]
    assert chart["datasets"] == [{"label": "api", "data": [2, 2]}, {"label": "csv", "data": [1, 2]}]


def test_funnel_and_score_distribution(page_viewer, data_a):
    response = page_viewer.get("/analytics/")
    funnel = {row["status"]: row["leads"] for row in response.context["funnel"]}
    assert funnel["approved"] == 1 and funnel["rejected"] == 3 and funnel["duplicate"] == 1 and funnel["new"] == 0
    scores = {row["label"]: row["leads"] for row in response.context["scores"]}
    assert len(scores) == 10
    # -10 and 5 fall in the first bucket, 100 in the last with 95
    assert scores["0-9"] == 2 and scores["30-39"] == 1 and scores["80-89"] == 1 and scores["90-100"] == 2
    assert sum(scores.values()) == 6  # the unscored duplicate is not in the distribution


def test_date_range_filter(page_viewer, data_a):
    day = data_a["yesterday"].isoformat()
    response = page_viewer.get("/analytics/", {"date_from": day, "date_to": day})
    assert {row["source"]: row["leads"] for row in response.context["sources"]} == {"api": 2, "csv": 1}
    wide = page_viewer.get("/analytics/", {"date_from": (data_a["today"] - dt.timedelta(days=90)).isoformat()})
    assert "old" in {row["source"] for row in wide.context["sources"]}


def test_bad_date_range_is_400(page_viewer, data_a):
    response = page_viewer.get("/analytics/", {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert response.status_code == 400
    assert "Must be on or after the start date." in response.content.decode()
    assert page_viewer.get("/analytics/", {"date_from": "yesterday"}).status_code == 400
    assert page_viewer.get("/analytics/sources.csv", {"date_from": "nope"}).status_code == 400


def test_page_embeds_chart_data_and_chart_js(page_viewer, data_a):
    html = page_viewer.get("/analytics/").content.decode()
    assert '<script id="chart-data" type="application/json">' in html
    assert "/static/vendor/chart-4.6.1.umd.min.js" in html
    for name in ("daily", "funnel", "scores"):
        assert f'<canvas id="chart-{name}"' in html


@pytest.mark.parametrize("table, header", [
    ("daily", ["day", "source", "leads"]),
    ("sources", ["source", "leads", "avg_score", "approval_rate", "duplicate_rate", "invalid_email_rate"]),
    ("funnel", ["status", "leads"]),
    ("scores", ["label", "leads"]),
])
def test_each_table_downloads_as_csv(page_viewer, data_a, table, header):
    response = page_viewer.get(f"/analytics/{table}.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == header and len(rows) > 1


def test_sources_csv_matches_the_page_and_the_range(page_viewer, data_a):
    day = data_a["today"].isoformat()
    response = page_viewer.get("/analytics/sources.csv", {"date_from": day, "date_to": day})
    rows = {r["source"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert rows["api"]["leads"] == "2" and rows["api"]["approval_rate"] == "100.0"
    assert rows["csv"]["leads"] == "2"


def test_csv_cells_cannot_become_spreadsheet_formulas(page_viewer, tenant_a):
    with schema_context("tenant_a"):
        Lead.objects.create(source="=HYPERLINK(\"http://x\")", status=LeadStatus.NEW, email="f@x.test")
    body = page_viewer.get("/analytics/sources.csv").content.decode()
    assert "'=HYPERLINK" in body


def test_unknown_csv_table_is_404(page_viewer, data_a):
    assert page_viewer.get("/analytics/leads.csv").status_code == 404


def test_analytics_of_tenant_b_does_not_count_tenant_a(data_a, tenant_b):
    from django.test import Client

    from tests.factories import make_user

    with schema_context("tenant_b"):
        Lead.objects.all().delete()
        client = Client(HTTP_HOST="b.localhost")
        client.force_login(make_user("viewer"))
    response = client.get("/analytics/")
    assert response.context["sources"] == []
    assert sum(row["leads"] for row in response.context["funnel"]) == 0
