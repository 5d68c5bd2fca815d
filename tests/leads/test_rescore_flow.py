"""Changing scoring weights in admin, then re-scoring, changes the scores a reviewer sees in the queue."""
import re

from django.core.management import call_command
from django_tenants.utils import schema_context

from leads.models import Lead, LeadStatus
from leads.services.ingest import ingest_leads
from processing.pipeline import process_leads
from tests.leads.settings_support import as_role, people_a  # noqa: F401  (fixtures)
from tests.leads.test_admin import SETTINGS_FORM, settings_url

ROWS = [
    {"email": "cto@globex-rescore.com", "first_name": "Ada", "last_name": "Chief", "company": "Globex", "title": "CTO",
     "phone": "+14155550123"},
    {"email": "intern@initech-rescore.com", "first_name": "Bo", "last_name": "Junior", "company": "Initech",
     "title": "Intern"},
]


def queue_scores(client) -> dict[str, int]:
    """email -> score as rendered in the queue page."""
    html = client.get("/").content.decode()
    scores = {}
    for row in re.findall(r"<tr.*?</tr>", html, re.S):
        email = re.search(r"[\w.+-]+@[\w-]+\.com", row)
        score = re.search(r'class="num score">(\d+)<', row)
        if email and score:
            scores[email.group(0)] = int(score.group(1))
    return scores


def test_new_weights_and_rescore_change_the_queue(as_role):  # noqa: F811
    with schema_context("tenant_a"):
        ingest_leads(rows=ROWS, source="rescore", batch=None, actor="test")
        process_leads(Lead.objects.filter(source="rescore").values_list("pk", flat=True))
        assert set(Lead.objects.filter(source="rescore").values_list("status", flat=True)) == {LeadStatus.PENDING_REVIEW}
    reviewer = as_role("reviewer")
    before = queue_scores(reviewer)
    assert set(before) == {r["email"] for r in ROWS}

    # Seniority now counts for nothing, phone for a lot.
    response = as_role("admin").post(settings_url(), {**SETTINGS_FORM, "scoring_weights": '{"seniority": 0, "phone_valid": 40}'})
    assert response.status_code == 302
    assert queue_scores(reviewer) == before  # nothing changes until the leads are re-scored

    call_command("process_leads", "--tenant", "tenant_a", "--rescore")
    after = queue_scores(reviewer)
    assert after != before
    assert after["cto@globex-rescore.com"] - after["intern@initech-rescore.com"] != \
        before["cto@globex-rescore.com"] - before["intern@initech-rescore.com"]
