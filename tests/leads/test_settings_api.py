"""GET/PATCH /api/v1/settings: validation shared with admin, audit with before/after, fallbacks."""
import pytest
from django_tenants.utils import schema_context

from leads.models import AuditEvent, TenantSettings
from leads.models.settings import DEFAULT_SCORING_WEIGHTS
from tenants.models import GlobalDefaults
from tests.leads.settings_support import admin_b, as_role, logged_in, people_a  # noqa: F401

URL = "/api/v1/settings"


def patch(client, body):
    return client.patch(URL, body, content_type="application/json")


def test_admin_reads_settings_with_effective_weights(as_role):
    response = as_role("admin").get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["default_region"] == "US"
    assert body["effective_weights"] == DEFAULT_SCORING_WEIGHTS
    assert "provider_keys" not in body


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_reviewers_and_viewers_cannot_read_or_change_settings(as_role, role):
    client = as_role(role)
    assert client.get(URL).status_code == 403
    assert patch(client, {"product_name": "Hacked"}).status_code == 403
    with schema_context("tenant_a"):
        assert TenantSettings.current().product_name == "LeadHub"


def test_anonymous_is_refused(client_a):
    assert client_a.get(URL).status_code in (401, 403)


def test_patched_weights_are_what_weights_reads(as_role):
    response = patch(as_role("admin"), {"scoring_weights": {"seniority": 30, "free_mail": -25}})
    assert response.status_code == 200, response.content
    assert response.json()["effective_weights"]["seniority"] == 30
    with schema_context("tenant_a"):
        current = TenantSettings.current()
        assert current.scoring_weights == {"seniority": 30, "free_mail": -25}
        assert current.weights() == {**DEFAULT_SCORING_WEIGHTS, "seniority": 30, "free_mail": -25}


def test_change_is_audited_with_who_and_before_after(as_role, people_a):
    patch(as_role("admin"), {"default_region": "GB", "fuzzy_review_threshold": 0.75})
    with schema_context("tenant_a"):
        event = AuditEvent.objects.get(action="settings_changed")
        assert event.actor == f"user:{people_a['admin'].username}"
        assert event.user_id == people_a["admin"].pk
        assert event.changes == {"default_region": ["US", "GB"], "fuzzy_review_threshold": [0.8, 0.75]}


def test_unchanged_values_write_no_audit_event(as_role):
    assert patch(as_role("admin"), {"default_region": "US"}).status_code == 200
    with schema_context("tenant_a"):
        assert not AuditEvent.objects.filter(action="settings_changed").exists()


@pytest.mark.parametrize("body, field, fragment", [
    ({"scoring_weights": {"shoe_size": 5}}, "scoring_weights", "unknown factor 'shoe_size'"),
    ({"scoring_weights": {"seniority": 500}}, "scoring_weights", "from -100 to 100"),
    ({"scoring_weights": {"seniority": 2.5}}, "scoring_weights", "integer"),
    ({"scoring_weights": {"seniority": True}}, "scoring_weights", "integer"),
    ({"scoring_weights": [1, 2]}, "scoring_weights", "object"),
    ({"icp_rules": {"seniorities": "vp"}}, "icp_rules", "list of non-empty strings"),
    ({"icp_rules": {"favourite_colour": ["red"]}}, "icp_rules", "unknown rule"),
    ({"icp_rules": {"sources": ["referral"]}}, "icp_rules", "label -> fit from 0 to 1"),
    ({"icp_rules": {"seniority_fit": {"vp": 2}}}, "icp_rules", "label -> fit from 0 to 1"),
    ({"icp_rules": {"employees_min": -5}}, "icp_rules", "whole number"),
    ({"icp_rules": {"employees_min": 500, "employees_max": 50}}, "icp_rules", "must not exceed"),
    ({"default_region": "ZZ"}, "default_region", "ISO 3166"),
    ({"default_region": "gb"}, "default_region", "ISO 3166"),
    ({"fuzzy_match_threshold": 1.5}, "fuzzy_match_threshold", "from 0 to 1"),
    ({"fuzzy_review_threshold": 0.95}, "fuzzy_review_threshold", "lower than fuzzy_match_threshold"),
    ({"retention_days": 0}, "retention_days", "from 1 to 3650"),
    ({"primary_color": "blue"}, "primary_color", "#2563eb"),
    ({"product_name": "  "}, "product_name", ""),
    ({"provider_keys": {"clearbit": "sk"}}, "provider_keys", "unknown or read-only"),
    ({"updated_at": "2020-01-01T00:00:00Z"}, "updated_at", "unknown or read-only"),
])
def test_bad_values_get_400_with_field_messages_and_change_nothing(as_role, body, field, fragment):
    response = patch(as_role("admin"), body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["detail"]
    assert field in payload["errors"]
    assert fragment in " ".join(payload["errors"][field])
    with schema_context("tenant_a"):
        assert TenantSettings.current().scoring_weights == {}
        assert not AuditEvent.objects.filter(action="settings_changed").exists()


def test_valid_icp_rules_are_stored(as_role):
    # The shape processing/scoring.py reads.
    rules = {"seniorities": ["vp", "director"], "seniority_fit": {"vp": 1.0, "director": 0.8},
             "departments": ["sales"], "industries": ["Software"], "sources": {"referral": 1, "csv": 0.5},
             "employees_min": 50, "employees_max": 500}
    response = patch(as_role("admin"), {"icp_rules": rules})
    assert response.status_code == 200, response.content
    with schema_context("tenant_a"):
        assert TenantSettings.current().icp() == rules


def test_flags_fall_back_to_global_defaults_then_environment(as_role, settings):
    settings.ENABLE_ENRICHMENT = False
    client = as_role("admin")
    assert client.get(URL).json()["effective"]["enable_enrichment"] is False
    with schema_context("public"):
        GlobalDefaults.objects.create(pk=1, enable_enrichment=True, scoring_weights={"source": 9}, retention_days=30,
                                      icp_rules={"departments": ["sales"]})
    body = client.get(URL).json()
    assert body["effective"]["enable_enrichment"] is True
    assert body["effective"]["icp_rules"] == {"departments": ["sales"]}
    assert body["effective"]["retention_days"] == 30
    assert body["effective_weights"]["source"] == 9
    # The tenant's own value wins over the operator's.
    body = patch(client, {"enable_enrichment": False, "scoring_weights": {"source": 1}}).json()
    assert body["effective"]["enable_enrichment"] is False
    assert body["effective_weights"]["source"] == 1


def test_new_tenant_settings_start_from_global_defaults(tenant_a):
    with schema_context("public"):
        GlobalDefaults.objects.create(pk=1, default_region="DE", product_name="Agency CRM")
    with schema_context("tenant_a"):
        TenantSettings.objects.all().delete()
        current = TenantSettings.current()
        assert (current.default_region, current.product_name) == ("DE", "Agency CRM")


def test_settings_are_per_tenant(as_role, admin_b):
    patch(as_role("admin"), {"product_name": "Acme Leads"})
    response = logged_in("b.localhost", admin_b).get(URL)
    assert response.json()["product_name"] == "LeadHub"
    with schema_context("tenant_b"):
        assert not AuditEvent.objects.filter(action="settings_changed").exists()


def test_a_session_of_tenant_a_is_refused_on_b(people_a):
    client = logged_in("a.localhost", people_a["admin"])
    client.defaults["HTTP_HOST"] = "b.localhost"
    assert client.get(URL).status_code in (401, 403)
    assert patch(client, {"product_name": "Hijack"}).status_code in (401, 403)
    with schema_context("tenant_b"):
        assert TenantSettings.current().product_name == "LeadHub"
