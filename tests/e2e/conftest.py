"""Browser tests: Debian's Chromium driven by Playwright against a live server.

The server runs in a thread and has its own database connection, so the data it serves
must be committed: these fixtures write outside the test transaction (a dedicated ``e2e``
tenant, created once and dropped at the end) instead of using ``transactional_db``, whose
flush would also empty the shared tenants of the rest of the suite.
"""
import os

import pytest
from django.db import connection, connections
from django_tenants.utils import schema_context, schema_exists

from tests.e2e.support import CHROMIUM, HOST, PASSWORD, SLUG

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)", allow_module_level=True)


def _drop_tenant() -> None:
    from tenants.models import Tenant

    with schema_context("public"):
        Tenant.objects.filter(schema_name=SLUG).delete()
        if schema_exists(SLUG):
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA "{SLUG}" CASCADE')


@pytest.fixture(scope="session")
def e2e_tenant(django_db_setup, django_db_blocker):
    from tenants.services import ensure_public_tenant, tenant_create

    with django_db_blocker.unblock():
        with schema_context("public"):
            ensure_public_tenant()
        _drop_tenant()
        with schema_context("public"):
            tenant_create(slug=SLUG, name="E2E", domain=HOST, admin_email="admin@e2e.test",
                          admin_password="pw-e2e-admin-1")
        connection.set_schema_to_public()
    yield SLUG
    with django_db_blocker.unblock():
        _drop_tenant()



@pytest.fixture(scope="session")
def server(e2e_tenant, django_db_blocker):
    from pytest_django.live_server_helper import LiveServer

    # ALLOWED_HOSTS already holds ".localhost"; the server listens on the loopback address
    # that Chromium resolves *.localhost to.
    with django_db_blocker.unblock():
        live = LiveServer("127.0.0.1")
    yield f"http://{HOST}:{live.thread.port}"
    live.stop()


@pytest.fixture(autouse=True)
def _db_open_for_the_server(django_db_blocker):
    """The blocker is process-wide: keep it open so the server thread can answer."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread, which makes Django refuse
    # ORM calls from the test body; the tests' own ORM calls are plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()
        # Django keeps a separate connection for code run while Playwright's loop is
        # current; close it here, or the test database could not be dropped at the end.
        connections.close_all()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def reviewer(e2e_tenant):
    """A reviewer of the e2e tenant, and an empty queue to fill."""
    from leads.models import AuditEvent, Lead
    from tests.factories import make_user

    with schema_context(SLUG):
        AuditEvent.objects.all().delete()
        Lead.objects.all().delete()
        from django.contrib.auth import get_user_model

        get_user_model().objects.filter(email="reviewer@e2e.test").delete()
        user = make_user("reviewer", email="reviewer@e2e.test", password=PASSWORD)
    return user
