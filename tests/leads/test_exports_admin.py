"""Admin: CSV templates with their columns, the suppression list, export history, credentials."""
import pytest
from django_tenants.utils import schema_context

from leads.models import CsvTemplate, SuppressionEntry
from leads.services.suppression import lead_erase


@pytest.fixture
def admin_a(client_a):
    from django.contrib.auth import get_user_model

    with schema_context("tenant_a"):
        client_a.force_login(get_user_model().objects.get(username="admin@a.test"))
    return client_a


@pytest.mark.parametrize("model", ["export", "leaddelivery", "csvtemplate", "suppressionentry", "exportsettings"])
def test_admin_pages_open(admin_a, model):
    assert admin_a.get(f"/admin/leads/{model}/").status_code == 200


def test_template_with_columns_is_edited_in_admin(admin_a):
    form = {
        "name": "Pipedrive", "delimiter": ";", "encoding": "utf-8-sig",
        "columns-TOTAL_FORMS": "2", "columns-INITIAL_FORMS": "0", "columns-MIN_NUM_FORMS": "0", "columns-MAX_NUM_FORMS": "1000",
        "columns-0-position": "0", "columns-0-header": "Mail", "columns-0-field": "email", "columns-0-default": "",
        "columns-1-position": "1", "columns-1-header": "Sector", "columns-1-field": "custom_fields.sector",
        "columns-1-default": "unknown",
    }
    response = admin_a.post("/admin/leads/csvtemplate/add/", form)
    assert response.status_code == 302, response.content[:2000]
    with schema_context("tenant_a"):
        template = CsvTemplate.objects.get(name="Pipedrive")
        assert [(c.header, c.field, c.default) for c in template.columns.all()] == [
            ("Mail", "email", ""), ("Sector", "custom_fields.sector", "unknown")]


def test_template_column_with_unknown_field_is_refused(admin_a):
    form = {
        "name": "Bad", "delimiter": ",", "encoding": "utf-8",
        "columns-TOTAL_FORMS": "1", "columns-INITIAL_FORMS": "0", "columns-MIN_NUM_FORMS": "0", "columns-MAX_NUM_FORMS": "1000",
        "columns-0-position": "0", "columns-0-header": "X", "columns-0-field": "password", "columns-0-default": "",
    }
    response = admin_a.post("/admin/leads/csvtemplate/add/", form)
    assert response.status_code == 200 and b"Unknown lead field" in response.content
    with schema_context("tenant_a"):
        assert not CsvTemplate.objects.filter(name="Bad").exists()


def test_suppression_added_in_admin_is_normalized_and_erasures_cannot_be_deleted(admin_a):
    response = admin_a.post("/admin/leads/suppressionentry/add/", {"kind": "email", "value": " Boss@Corp.COM ", "reason": "asked"})
    assert response.status_code == 302
    with schema_context("tenant_a"):
        assert SuppressionEntry.objects.get(kind="email").value == "boss@corp.com"
        lead_erase(email="gone@corp.com")
        erased = SuppressionEntry.objects.get(kind="erased")
    assert admin_a.post(f"/admin/leads/suppressionentry/{erased.pk}/delete/", {"post": "yes"}).status_code == 403
    with schema_context("tenant_a"):
        assert SuppressionEntry.objects.filter(pk=erased.pk).exists()
