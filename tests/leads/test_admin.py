"""Django admin: the operator's system admin on the public host, each tenant's admin on its host."""
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django_q.models import Schedule
from django_tenants.utils import schema_context, schema_exists

from leads.models import ApiKey, AuditEvent, TenantSettings
from tenants.models import GlobalDefaults, Tenant
from tests.leads.settings_support import as_role, logged_in, media_root, people_a, png_bytes  # noqa: F401

User = get_user_model()


@pytest.fixture
def operator_client(db):
    with schema_context("public"):
        operator = User.objects.create_superuser(username="op@leadhub.test", email="op@leadhub.test", password="pw-op-12345")
    return logged_in("localhost", operator)


SETTINGS_FORM = {
    "scoring_weights": "{}", "icp_rules": "{}", "default_region": "US", "fuzzy_match_threshold": "0.92",
    "fuzzy_review_threshold": "0.8", "retention_days": "", "enable_enrichment": "unknown",
    "enable_verification": "unknown", "product_name": "LeadHub", "primary_color": "#2563eb",
}


def settings_url():
    with schema_context("tenant_a"):
        return f"/admin/leads/tenantsettings/{TenantSettings.current().pk}/change/"


# --- the tenant's admin -----------------------------------------------------------------------------

def test_settings_changelist_opens_the_single_row(as_role):
    response = as_role("admin").get("/admin/leads/tenantsettings/")
    assert response.status_code == 302
    assert response["Location"] == settings_url()


def test_admin_changes_weights_and_it_is_audited(as_role, people_a):
    response = as_role("admin").post(settings_url(), {**SETTINGS_FORM, "scoring_weights": '{"seniority": 40}'})
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    with schema_context("tenant_a"):
        assert TenantSettings.current().weights()["seniority"] == 40
        event = AuditEvent.objects.get(action="settings_changed")
        assert event.changes == {"scoring_weights": [{}, {"seniority": 40}]}
        assert event.actor == f"user:{people_a['admin'].username}"


@pytest.mark.parametrize("field, value, fragment", [
    ("scoring_weights", '{"shoe_size": 3}', "unknown factor"),
    ("fuzzy_review_threshold", "0.99", "lower than fuzzy_match_threshold"),
    ("default_region", "XX", "ISO 3166"),
    ("icp_rules", '{"sources": ["referral"]}', "fit from 0 to 1"),
])
def test_admin_refuses_what_the_api_refuses(as_role, field, value, fragment):
    response = as_role("admin").post(settings_url(), {**SETTINGS_FORM, field: value})
    assert response.status_code == 200
    assert fragment in " ".join(response.context["adminform"].form.errors[field])
    with schema_context("tenant_a"):
        assert not AuditEvent.objects.filter(action="settings_changed").exists()


def test_admin_uploads_a_logo_and_refuses_an_svg(as_role, media_root):
    client = as_role("admin")
    svg = SimpleUploadedFile("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", content_type="image/svg+xml")
    response = client.post(settings_url(), {**SETTINGS_FORM, "logo": svg})
    assert response.status_code == 200
    assert "logo" in response.context["adminform"].form.errors
    png = SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")
    assert client.post(settings_url(), {**SETTINGS_FORM, "logo": png}).status_code == 302
    with schema_context("tenant_a"):
        assert TenantSettings.current().logo.name.startswith("tenant_a/branding/")


def test_admin_creates_an_api_key_shown_once_then_revokes_it(as_role):
    client = as_role("admin")
    response = client.post("/admin/leads/apikey/add/", {"name": "Zapier", "scope_choices": ["read"], "expiry_date_0": "",
                                                        "expiry_date_1": ""}, follow=True)
    text = response.content.decode()
    match = re.search(r"is: ([A-Za-z0-9]{8}\.[A-Za-z0-9]+)", text)
    assert match, text[:2000]
    key = match.group(1)
    with schema_context("tenant_a"):
        stored = ApiKey.objects.get(name="Zapier")
        assert stored.scope_list() == ["read"]
        assert ApiKey.objects.is_valid(key)
    # Never again: not on the list nor on the key's page.
    assert key not in client.get("/admin/leads/apikey/").content.decode()
    assert key not in client.get(f"/admin/leads/apikey/{stored.pk}/change/").content.decode()
    client.post("/admin/leads/apikey/", {"action": "revoke", "_selected_action": [stored.pk]})
    with schema_context("tenant_a"):
        assert not ApiKey.objects.is_valid(key)
        assert list(AuditEvent.objects.filter(object_type="api_key").order_by("id").values_list("action", flat=True)) == [
            "api_key_created", "api_key_revoked"]


def test_admin_creates_a_user_with_a_role_and_changes_it(as_role):
    client = as_role("admin")
    response = client.post("/admin/auth/user/add/", {"email": "new@a.test", "role": "reviewer",
                                                     "password1": "a-long-pass-991", "password2": "a-long-pass-991"})
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    with schema_context("tenant_a"):
        user = User.objects.get(username="new@a.test")
        assert list(user.groups.values_list("name", flat=True)) == ["reviewer"]
        assert not user.is_staff
    response = client.post(f"/admin/auth/user/{user.pk}/change/", {
        "username": "new@a.test", "email": "new@a.test", "first_name": "", "last_name": "", "role": "admin",
        "is_active": "on", "last_login_0": "", "last_login_1": "", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"})
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    with schema_context("tenant_a"):
        user.refresh_from_db()
        assert user.is_staff and list(user.groups.values_list("name", flat=True)) == ["admin"]
        assert list(AuditEvent.objects.filter(object_type="user").values_list("action", flat=True).order_by("id")) == [
            "user_created", "user_changed"]


def test_audit_log_is_read_only_and_filterable(as_role):
    client = as_role("admin")
    client.patch("/api/v1/settings", {"product_name": "X"}, content_type="application/json")
    with schema_context("tenant_a"):
        AuditEvent.objects.create(action="reviewed", actor="user:someone", object_type="lead", object_id="1")
        event = AuditEvent.objects.get(action="settings_changed")
    listing = client.get("/admin/leads/auditevent/?action=settings_changed").content.decode()
    assert "settings_changed" in listing and "user:someone" not in listing
    assert client.get("/admin/leads/auditevent/add/").status_code == 403
    client.post(f"/admin/leads/auditevent/{event.pk}/change/", {"action": "forged"})
    assert client.post(f"/admin/leads/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    with schema_context("tenant_a"):
        assert AuditEvent.objects.get(pk=event.pk).action == "settings_changed"


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
@pytest.mark.parametrize("path", ["/admin/", "/admin/leads/tenantsettings/", "/admin/leads/apikey/add/",
                                  "/admin/auth/user/", "/admin/leads/auditevent/"])
def test_reviewers_and_viewers_have_no_admin(as_role, role, path):
    response = as_role(role).get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("path", ["/admin/tenants/tenant/", "/admin/tenants/domain/", "/admin/tenants/globaldefaults/",
                                  "/admin/django_q/schedule/", "/admin/django_q/success/"])
def test_tenant_admins_never_see_shared_tables(as_role, path):
    with schema_context("public"):
        Schedule.objects.create(name="someone-elses-job", func="math.floor")
    client = as_role("admin")
    assert client.get(path).status_code in (403, 404)
    index = client.get("/admin/").content.decode()
    assert "Tenants" not in index and "someone-elses-job" not in index and "Scheduled tasks" not in index


def test_tenant_a_admin_session_means_nothing_on_b(people_a):
    client = logged_in("a.localhost", people_a["admin"])
    client.defaults["HTTP_HOST"] = "b.localhost"
    assert client.get("/admin/leads/tenantsettings/").status_code == 302


# --- the operator's system admin on the public host ------------------------------------------------------

def test_adding_a_tenant_in_admin_provisions_it(operator_client):
    response = operator_client.post("/admin/tenants/tenant/add/", {
        "schema_name": "globex", "name": "Globex", "domain": "globex.localhost", "admin_email": "boss@globex.test",
        "admin_password": "", "plan": "starter", "lead_quota": "1000"}, follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Password (shown once):" in text
    assert schema_exists("globex")
    tenant = Tenant.objects.get(schema_name="globex")
    assert [d.domain for d in tenant.domains.all()] == ["globex.localhost"]
    with schema_context("globex"):
        assert User.objects.get(username="boss@globex.test").groups.filter(name="admin").exists()


def test_admin_add_form_refuses_a_taken_slug(operator_client):
    response = operator_client.post("/admin/tenants/tenant/add/", {
        "schema_name": "tenant_a", "name": "Dup", "domain": "dup.localhost", "admin_email": "x@y.test",
        "plan": "starter", "lead_quota": "10"})
    assert response.status_code == 200
    assert "already taken" in str(response.context["adminform"].form.errors)


def test_suspend_action_in_admin(operator_client, client_a):
    tenant = Tenant.objects.get(schema_name="tenant_a")
    operator_client.post("/admin/tenants/tenant/", {"action": "suspend", "_selected_action": [tenant.pk]})
    assert client_a.get("/login/").status_code == 403
    operator_client.post("/admin/tenants/tenant/", {"action": "reactivate", "_selected_action": [tenant.pk]})
    assert client_a.get("/login/").status_code == 200


def test_global_defaults_in_admin_are_validated(operator_client):
    response = operator_client.get("/admin/tenants/globaldefaults/")
    assert response.status_code == 302
    form = {**SETTINGS_FORM, "scoring_weights": '{"nope": 1}'}
    response = operator_client.post(response["Location"], form)
    assert response.status_code == 200
    assert "unknown factor" in str(response.context["adminform"].form.errors["scoring_weights"])
    response = operator_client.post(f"/admin/tenants/globaldefaults/1/change/", {**SETTINGS_FORM, "product_name": "Ops"})
    assert response.status_code == 302
    assert GlobalDefaults.objects.get(pk=1).product_name == "Ops"


def test_operator_sees_schedules_and_task_results(operator_client):
    with schema_context("public"):
        Schedule.objects.create(name="batch-processing", func="math.floor")
    assert "batch-processing" in operator_client.get("/admin/django_q/schedule/").content.decode()
    assert operator_client.get("/admin/django_q/success/").status_code == 200
    assert operator_client.get("/admin/django_q/failure/").status_code == 200
    index = operator_client.get("/admin/").content.decode()
    assert "Tenants" in index and "Scheduled tasks" in index and "Global defaults" in index


def test_role_groups_cannot_be_edited_from_a_tenant(as_role):
    assert as_role("admin").get("/admin/auth/group/").status_code in (403, 404)


def test_operator_index_has_no_tenant_only_models(operator_client):
    index = operator_client.get("/admin/").content.decode()
    assert "/admin/leads/lead/" not in index and "/admin/leads/tenantsettings/" not in index
    assert operator_client.get("/admin/leads/lead/").status_code in (403, 404)


def test_tenant_change_page_shows_usage_and_domains(operator_client):
    tenant = Tenant.objects.get(schema_name="tenant_b")
    page = operator_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").content.decode()
    assert "b.localhost" in page
    assert "of 1000000" in page


def test_changing_plan_in_admin_is_audited_in_the_tenant(operator_client):
    tenant = Tenant.objects.get(schema_name="tenant_b")
    response = operator_client.post(f"/admin/tenants/tenant/{tenant.pk}/change/", {
        "name": tenant.name, "plan": "growth", "lead_quota": "2000",
        "domains-TOTAL_FORMS": "1", "domains-INITIAL_FORMS": "1", "domains-MIN_NUM_FORMS": "0",
        "domains-MAX_NUM_FORMS": "1000", "domains-0-id": str(tenant.domains.get().pk), "domains-0-tenant": str(tenant.pk),
        "domains-0-domain": "b.localhost", "domains-0-is_primary": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert Tenant.objects.get(pk=tenant.pk).lead_quota == 2000
    with schema_context("tenant_b"):
        assert AuditEvent.objects.get(action="tenant_changed").changes == {
            "plan": ["starter", "growth"], "lead_quota": [1000000, 2000]}


def test_tenant_admin_pages_render(as_role, people_a, media_root):
    client = as_role("admin")
    with schema_context("tenant_a"):
        key = ApiKey.objects.create_key(name="k")[0]
    pages = [settings_url(), "/admin/leads/apikey/", "/admin/leads/apikey/add/", f"/admin/leads/apikey/{key.pk}/change/",
             "/admin/auth/user/", "/admin/auth/user/add/", f"/admin/auth/user/{people_a['viewer'].pk}/change/",
             "/admin/leads/auditevent/", "/admin/"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
    assert "viewer" in client.get("/admin/auth/user/").content.decode()


def test_operator_admin_pages_render(operator_client):
    for page in ("/admin/", "/admin/tenants/tenant/", "/admin/tenants/tenant/add/", "/admin/tenants/domain/",
                 "/admin/auth/user/", "/admin/django_q/schedule/"):
        assert operator_client.get(page).status_code == 200, page


def test_renaming_a_key_in_admin_is_audited(as_role):
    with schema_context("tenant_a"):
        key = ApiKey.objects.create_key(name="old name")[0]
    response = as_role("admin").post(f"/admin/leads/apikey/{key.pk}/change/", {
        "name": "new name", "expiry_date_0": "", "expiry_date_1": ""})
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    with schema_context("tenant_a"):
        assert ApiKey.objects.get(pk=key.pk).name == "new name"
        assert AuditEvent.objects.get(action="api_key_changed").changes == {"name": ["old name", "new name"]}
