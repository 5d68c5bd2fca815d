"""A reviewer's day in a real browser: sign in, review with the keyboard and in bulk,
fix a phone number inline, read the analytics."""
import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from leads.models import Lead, LeadStatus
from tests.e2e.support import PASSWORD, SLUG, shot, sign_in
from tests.factories import make_lead

pytestmark = pytest.mark.e2e
PENDING = LeadStatus.PENDING_REVIEW


@pytest.fixture
def queue_leads(reviewer):
    with schema_context(SLUG):
        return {
            "top": make_lead(status=PENDING, score=91, email="top@acme.test", full_name="Tess Top", source="webinar",
                             score_breakdown=[{"factor": "seniority", "points": 15, "reason": "VP"}]),
            "second": make_lead(status=PENDING, score=64, email="second@beta.test", full_name="Sam Second", source="api"),
            "third": make_lead(status=PENDING, score=40, email="third@gamma.test", full_name="Theo Third", source="csv"),
        }


def _status(lead) -> str:
    with schema_context(SLUG):
        return Lead.objects.get(pk=lead.pk).status


def test_sign_in(page, server, reviewer):
    page.goto(f"{server}/")
    assert "/login/" in page.url
    shot(page, "signin")
    page.get_by_label("Email").fill("reviewer@e2e.test")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "The email or password is not correct."
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}/")
    assert page.get_by_role("heading", name="Review queue").is_visible()
    assert "reviewer@e2e.test" in page.locator("header").inner_text()
    # On a phone the page reflows: no sideways scrolling of the page itself.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "queue-mobile")


def test_approve_the_top_lead_with_the_keyboard(page, server, queue_leads):
    sign_in(page, server)
    assert "j" in page.locator("#shortcuts").inner_text()
    page.keyboard.press("j")
    current = page.locator("#queue-rows tr.current")
    assert current.get_attribute("data-lead-id") == str(queue_leads["top"].pk)
    shot(page, "queue")
    page.keyboard.press("a")
    page.get_by_text(f"Approved lead {queue_leads['top'].pk}").wait_for()
    assert _status(queue_leads["top"]) == LeadStatus.APPROVED
    assert _status(queue_leads["second"]) == PENDING
    # the approved lead left the queue; the next one is now on top
    assert page.locator("#queue-rows tr").first.get_attribute("data-lead-id") == str(queue_leads["second"].pk)
    assert page.locator('.count[data-status="pending_review"]').inner_text() == "2"
    # e opens the current lead's contact form
    page.keyboard.press("j")
    page.keyboard.press("e")
    page.wait_for_url(f"{server}/leads/{queue_leads['second'].pk}/edit")
    assert page.get_by_label("Phone", exact=True).is_visible()


def test_new_leads_appear_without_a_reload(page, server, queue_leads):
    sign_in(page, server)
    page.evaluate("window.notReloaded = true")
    with schema_context(SLUG):
        arrived = make_lead(status=PENDING, score=99, email="arrived@delta.test", full_name="Ada Arrived")
    # htmx polls the rows every 10 s; the new top lead and the new count show up in place
    page.locator(f'#queue-rows tr[data-lead-id="{arrived.pk}"]').wait_for(timeout=20_000)
    assert page.locator("#queue-rows tr").first.get_attribute("data-lead-id") == str(arrived.pk)
    assert page.locator('.count[data-status="pending_review"]').inner_text() == "4"
    assert page.evaluate("window.notReloaded") is True


def test_bulk_reject_two_leads(page, server, queue_leads):
    sign_in(page, server)
    page.get_by_label(f"Select lead {queue_leads['second'].pk}").check()
    page.get_by_label(f"Select lead {queue_leads['third'].pk}").check()
    page.get_by_label("Note for the decision").fill("bought list")
    page.get_by_label("Note for the decision").press("Enter")  # must not submit anything
    page.wait_for_timeout(300)
    assert _status(queue_leads["second"]) == PENDING
    shot(page, "queue-bulk")
    page.get_by_role("button", name="Reject selected").click()
    page.get_by_text("Rejected 2 leads.").wait_for()
    with schema_context(SLUG):
        rejected = Lead.objects.filter(pk__in=[queue_leads["second"].pk, queue_leads["third"].pk])
        assert {(lead.status, lead.review_note) for lead in rejected} == {(LeadStatus.REJECTED, "bought list")}
    assert _status(queue_leads["top"]) == PENDING


def test_edit_a_phone_number_inline_and_see_it_normalized(page, server, queue_leads):
    lead = queue_leads["second"]
    sign_in(page, server, f"/leads/{lead.pk}/")
    page.get_by_role("link", name="Edit contact").click()
    phone = page.get_by_label("Phone", exact=True)
    phone.fill("call me maybe")
    page.get_by_role("button", name="Save contact").click()
    page.locator("#error-phone").wait_for()
    assert "Enter a phone number" in page.locator("#error-phone").inner_text()
    assert page.url.endswith(f"/leads/{lead.pk}/")  # swapped in place, no navigation
    shot(page, "lead-edit-error")
    page.get_by_label("Phone", exact=True).fill("(415) 555-2671")
    page.get_by_role("button", name="Save contact").click()
    page.get_by_text("Contact details saved.").wait_for()
    assert page.locator('[data-normalized="phone"]').inner_text() == "+14155552671"
    shot(page, "lead-detail")
    with schema_context(SLUG):
        fresh = Lead.objects.get(pk=lead.pk)
    assert fresh.phone == fresh.phone_key == "+14155552671"


def test_analytics_charts_are_drawn_from_real_data(page, server, reviewer):
    now = timezone.now()
    with schema_context(SLUG):
        for i, (source, status, score) in enumerate([
            ("api", LeadStatus.APPROVED, 88), ("api", LeadStatus.REJECTED, 35), ("csv", PENDING, 61),
            ("csv", LeadStatus.DUPLICATE, None), ("webinar", LeadStatus.APPROVED, 95),
        ]):
            lead = make_lead(source=source, status=status, score=score)
            Lead.objects.filter(pk=lead.pk).update(created_at=now - dt.timedelta(days=i % 3))
    sign_in(page, server, "/analytics/")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-daily'))")
    daily = page.evaluate("""() => Chart.getChart(document.getElementById('chart-daily')).data.datasets
                                 .map(d => [d.label, d.data.reduce((a, b) => a + b, 0)])""")
    assert dict(daily) == {"api": 2, "csv": 2, "webinar": 1}
    funnel = page.evaluate("() => Chart.getChart(document.getElementById('chart-funnel')).data.datasets[0].data")
    assert sum(funnel) == 5
    scores = page.evaluate("() => Chart.getChart(document.getElementById('chart-scores')).data.datasets[0].data")
    assert sum(scores) == 4
    assert page.locator("#chart-daily").bounding_box()["height"] > 100
    assert page.get_by_role("link", name="Download CSV").count() == 4
    shot(page, "analytics")


def test_the_e2e_host_serves_only_its_own_users(db, e2e_tenant):
    """Also makes pytest-django set up the test database when this module runs alone
    (the browser tests themselves do not use the `db` fixture, see conftest)."""
    from django.test import Client

    client = Client(HTTP_HOST="e2e.localhost")
    assert client.post("/login/", {"email": "admin@a.test", "password": "pw-admin-123"}).status_code == 400
    assert client.post("/login/", {"email": "admin@e2e.test", "password": "pw-e2e-admin-1"}).status_code == 302
