"""The tenant's branding in the pages' header."""
import pytest
from django_tenants.utils import schema_context

from leads.models import TenantSettings


@pytest.fixture
def branded_a(tenant_a):
    with schema_context("tenant_a"):
        settings = TenantSettings.current()
        before = (settings.product_name, settings.primary_color)
        TenantSettings.objects.filter(pk=settings.pk).update(product_name="Acme Leads", primary_color="#facc15")
    yield
    with schema_context("tenant_a"):
        TenantSettings.objects.filter(pk=settings.pk).update(product_name=before[0], primary_color=before[1])


def test_header_shows_the_tenant_name_and_colour_with_readable_text(page_viewer, branded_a):
    html = page_viewer.get("/").content.decode()
    assert "<title>Review queue · Acme Leads</title>" in html
    assert '<a class="brand" href="/">' in html and "Acme Leads" in html
    # yellow is light: the header text turns black to keep its contrast
    assert "--brand: #facc15; --brand-text: #000000;" in html


def test_other_tenant_keeps_its_own_branding(client_b, branded_a, tenant_b):
    from django.test import Client

    from tests.factories import make_user

    with schema_context("tenant_b"):
        client = Client(HTTP_HOST="b.localhost")
        client.force_login(make_user("viewer"))
    html = client.get("/").content.decode()
    assert "Acme Leads" not in html
    assert "--brand-text: #ffffff;" in html


def test_sign_in_page_is_branded_too(client_a, branded_a):
    assert "Acme Leads" in client_a.get("/login/").content.decode()
