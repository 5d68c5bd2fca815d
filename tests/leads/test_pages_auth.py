"""Sign in, sign out, throttling, roles, and sessions that stay on their tenant."""
import pytest
from django.core.cache import cache
from django.test import Client
from django_tenants.utils import schema_context

from leads.models import LeadStatus
from tests.factories import make_lead

PAGES = ["/", "/analytics/", "/queue/rows", "/analytics/sources.csv"]


@pytest.fixture(autouse=True)
def _clear_throttle(tenant_a, tenant_b):
    """Forget failed sign-ins of the test client's address (and only those)."""
    emails = ("admin@a.test", "admin@b.test", "nobody@a.test", "ghost@a.test")
    for schema in ("tenant_a", "tenant_b"):
        with schema_context(schema):
            cache.delete_many(["signin-fail-ip:127.0.0.1", *(f"signin-fail:127.0.0.1:{e}" for e in emails)])
    yield


@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_a_signed_in_user(client_a, path):
    response = client_a.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_lead_page_needs_a_signed_in_user(client_a, tenant_a):
    with schema_context("tenant_a"):
        lead = make_lead(status=LeadStatus.PENDING_REVIEW)
    assert client_a.get(f"/leads/{lead.pk}/")["Location"].startswith("/login/")
    response = client_a.post(f"/leads/{lead.pk}/review", {"decision": "approved"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    with schema_context("tenant_a"):
        lead.refresh_from_db()
    assert lead.status == LeadStatus.PENDING_REVIEW


def test_htmx_poll_without_session_asks_for_a_redirect(client_a):
    response = client_a.get("/queue/rows", HTTP_HX_REQUEST="true")
    assert response.status_code == 401
    assert response["HX-Redirect"] == "/login/"


def test_sign_in_with_the_tenant_admin_and_land_on_the_queue(client_a):
    page = client_a.get("/login/")
    assert page.status_code == 200
    assert b'<label for="id_email">Email</label>' in page.content
    response = client_a.post("/login/", {"email": "Admin@A.test", "password": "pw-admin-123"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client_a.get("/").status_code == 200


def test_sign_in_goes_back_to_next_but_never_off_site(client_a):
    response = client_a.post("/login/", {"email": "admin@a.test", "password": "pw-admin-123", "next": "/analytics/"})
    assert response["Location"] == "/analytics/"
    client = Client(HTTP_HOST="a.localhost")
    response = client.post("/login/", {"email": "admin@a.test", "password": "pw-admin-123",
                                        "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_wrong_password_and_unknown_user_get_the_same_answer(client_a):
    wrong = client_a.post("/login/", {"email": "admin@a.test", "password": "nope"})
    unknown = client_a.post("/login/", {"email": "nobody@a.test", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 400
    assert b"The email or password is not correct." in wrong.content
    assert b"The email or password is not correct." in unknown.content
    assert client_a.get("/")["Location"].startswith("/login/")


def test_sign_in_requires_csrf_token(tenant_a):
    client = Client(HTTP_HOST="a.localhost", enforce_csrf_checks=True)
    response = client.post("/login/", {"email": "admin@a.test", "password": "pw-admin-123"})
    assert response.status_code == 403


def test_repeated_failures_are_throttled_even_with_the_right_password(client_a):
    for _ in range(5):
        assert client_a.post("/login/", {"email": "admin@a.test", "password": "bad"}).status_code == 400
    response = client_a.post("/login/", {"email": "admin@a.test", "password": "pw-admin-123"})
    assert response.status_code == 429
    assert b"Too many sign-in attempts" in response.content
    assert client_a.get("/")["Location"].startswith("/login/")


def test_unknown_emails_are_throttled_the_same_way(client_a):
    for _ in range(5):
        client_a.post("/login/", {"email": "ghost@a.test", "password": "bad"})
    assert client_a.post("/login/", {"email": "ghost@a.test", "password": "bad"}).status_code == 429


def test_throttle_of_one_tenant_does_not_lock_the_other(client_a, client_b):
    for _ in range(5):
        client_a.post("/login/", {"email": "admin@a.test", "password": "bad"})
    assert client_b.post("/login/", {"email": "admin@b.test", "password": "pw-admin-123"}).status_code == 302


def test_sign_out_ends_the_session(page_reviewer):
    assert page_reviewer.get("/").status_code == 200
    assert page_reviewer.get("/logout/").status_code == 405  # a link cannot sign someone out
    assert page_reviewer.post("/logout/")["Location"] == "/login/"
    assert page_reviewer.get("/")["Location"].startswith("/login/")


def test_a_user_of_tenant_a_cannot_sign_in_on_b(client_b):
    response = client_b.post("/login/", {"email": "admin@a.test", "password": "pw-admin-123"})
    assert response.status_code == 400


def test_session_cookie_of_tenant_a_is_worthless_on_b(page_admin, tenant_b):
    with schema_context("tenant_a"):
        secret = make_lead(email="secret@a-only.test", status=LeadStatus.PENDING_REVIEW)
    assert b"secret@a-only.test" in page_admin.get("/").content
    cookie = page_admin.cookies["sessionid"].value
    thief = Client(HTTP_HOST="b.localhost")
    thief.cookies["sessionid"] = cookie
    for path in ("/", "/analytics/", f"/leads/{secret.pk}/"):
        response = thief.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path
        assert b"secret@a-only.test" not in response.content
    response = thief.post(f"/leads/{secret.pk}/review", {"decision": "rejected"})
    assert response.status_code in (302, 403)
    with schema_context("tenant_a"):
        secret.refresh_from_db()
    assert secret.status == LeadStatus.PENDING_REVIEW


def test_user_without_a_role_is_refused(tenant_a):
    with schema_context("tenant_a"):
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create_user(username="norole@a.test", email="norole@a.test", password="x")
        client = Client(HTTP_HOST="a.localhost")
        client.force_login(user)
    assert client.get("/").status_code == 403


@pytest.mark.parametrize("fixture", ["page_viewer", "page_reviewer", "page_admin"])
def test_every_role_can_read_the_pages(request, fixture):
    client = request.getfixturevalue(fixture)
    for path in ("/", "/analytics/", "/analytics/funnel.csv"):
        assert client.get(path).status_code == 200, path


def test_viewer_cannot_review_or_edit(page_viewer):
    with schema_context("tenant_a"):
        lead = make_lead(status=LeadStatus.PENDING_REVIEW, phone="")
    assert page_viewer.post(f"/leads/{lead.pk}/review", {"decision": "approved"}).status_code == 403
    assert page_viewer.post("/queue/review", {"decision": "approved", "ids": [lead.pk]}).status_code == 403
    assert page_viewer.get(f"/leads/{lead.pk}/edit").status_code == 403
    assert page_viewer.post(f"/leads/{lead.pk}/edit", {"phone": "+14155552671"}).status_code == 403
    page = page_viewer.get(f"/leads/{lead.pk}/").content.decode()
    assert "Approve" not in page and "Edit contact" not in page
    with schema_context("tenant_a"):
        lead.refresh_from_db()
    assert (lead.status, lead.phone) == (LeadStatus.PENDING_REVIEW, "")
