"""PATCH /api/v1/leads/{id} goes through the review page's edit service: the edited
values are normalized again, so the match keys are never left stale, and the edit is
audited with the caller (user or API key) as actor."""
import pytest
from django_tenants.utils import schema_context

from leads.models import AuditEvent, Lead, LeadStatus
from tests.factories import make_lead
from tests.leads.conftest import HOSTS, Api

pytestmark = pytest.mark.usefixtures("fresh_throttles")


@pytest.fixture
def lead_a(tenant_a):
    with schema_context("tenant_a"):
        return make_lead(email="old@acme.com", email_key="old@acme.com", phone="", phone_key="", company="Acme",
                         company_key="acme", status=LeadStatus.NORMALIZED, custom_fields={"tier": "b", "keep": 1})


def test_patch_renormalizes_email_and_phone_so_the_keys_follow(api_a, lead_a):
    response = api_a.patch(f"/api/v1/leads/{lead_a.pk}", {"email": " New.Person@ACME.com ", "phone": "(415) 555-2671"})
    assert response.status_code == 200, response.content
    with schema_context("tenant_a"):
        stored = Lead.objects.get(pk=lead_a.pk)
    assert (stored.email, stored.email_key) == ("new.person@acme.com", "new.person@acme.com")
    assert (stored.phone, stored.phone_key) == ("+14155552671", "+14155552671")
    assert stored.normalized["phone_valid"] is True
    assert response.json()["email"] == "new.person@acme.com"


def test_patch_company_recomputes_the_company_key(api_a, lead_a):
    assert api_a.patch(f"/api/v1/leads/{lead_a.pk}", {"company": "Globex Corporation"}).status_code == 200
    with schema_context("tenant_a"):
        stored = Lead.objects.get(pk=lead_a.pk)
    assert stored.company_key and stored.company_key != "acme"
    assert "globex" in stored.company_key


def test_patch_by_api_key_is_audited_with_the_key_and_merges_custom_fields(keyapi_a, lead_a):
    response = keyapi_a.patch(f"/api/v1/leads/{lead_a.pk}", {"title": "VP Sales", "custom_fields": {"tier": "a"}})
    assert response.status_code == 200, response.content
    with schema_context("tenant_a"):
        stored = Lead.objects.get(pk=lead_a.pk)
        event = AuditEvent.objects.get(lead=lead_a, action="edited")
    assert stored.custom_fields == {"tier": "a", "keep": 1}
    assert stored.seniority == "vp"  # derived from the new title
    assert event.actor.startswith("api_key:") and event.user_id is None
    assert event.changes["title"] == ["", "VP Sales"]
    assert event.changes["custom_fields"] == [{"tier": "b", "keep": 1}, {"tier": "a", "keep": 1}]


def test_patch_with_an_unreadable_phone_is_a_400_in_the_api_error_shape(api_a, lead_a):
    response = api_a.patch(f"/api/v1/leads/{lead_a.pk}", {"phone": "call me maybe"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"detail", "errors"} and "phone" in body["errors"] and "phone" in body["detail"]
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=lead_a.pk).phone == ""


def test_patch_to_the_email_of_another_surviving_lead_is_a_400(api_a, lead_a):
    with schema_context("tenant_a"):
        make_lead(email="taken@acme.com", email_key="taken@acme.com", status=LeadStatus.NORMALIZED)
    response = api_a.patch(f"/api/v1/leads/{lead_a.pk}", {"email": "taken@acme.com"})
    assert response.status_code == 400
    assert response.json()["errors"]["email"] == ["Another lead already has this email address."]


def test_patch_with_custom_fields_that_are_not_an_object_is_a_400(api_a, lead_a):
    response = api_a.patch(f"/api/v1/leads/{lead_a.pk}", {"custom_fields": ["x"]})
    assert response.status_code == 400 and "custom_fields" in response.json()["errors"]


def test_patch_of_tenant_a_lead_on_tenant_b_host_is_refused(lead_a, tenant_b):
    from tests.leads.conftest import make_api_key

    with schema_context("tenant_b"):
        Lead.objects.filter(pk=lead_a.pk).delete()  # ids are per schema: make sure B has none with this one
    api_b = Api(HOSTS["tenant_b"], f"Api-Key {make_api_key('tenant_b')}")
    assert api_b.patch(f"/api/v1/leads/{lead_a.pk}", {"title": "x"}).status_code == 404
    with schema_context("tenant_a"):
        assert Lead.objects.get(pk=lead_a.pk).title == ""
