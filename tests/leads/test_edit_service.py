"""lead_update_contact: validation, narrow writes, audit, normalization."""
import pytest
from django.core.exceptions import ValidationError

from leads.models import AuditEvent, Lead, LeadStatus
from leads.services.edit import lead_update_contact
from tests.factories import make_lead, make_user


def test_unknown_or_derived_fields_are_refused(in_tenant_a):
    lead = make_lead(status=LeadStatus.PENDING_REVIEW)
    with pytest.raises(ValidationError) as exc:
        lead_update_contact(lead_id=lead.pk, changes={"status": "approved", "score": 100, "city": "Rome"})
    assert set(exc.value.message_dict) == {"status", "score"}
    lead.refresh_from_db()
    assert (lead.status, lead.city) == (LeadStatus.PENDING_REVIEW, "")


def test_nothing_changed_writes_nothing(in_tenant_a):
    lead = make_lead(city="Rome")
    before = Lead.objects.get(pk=lead.pk).updated_at
    lead_update_contact(lead_id=lead.pk, changes={"city": " Rome "})
    assert Lead.objects.get(pk=lead.pk).updated_at == before
    assert not AuditEvent.objects.filter(lead=lead).exists()


def test_phone_is_normalized_to_e164_and_audited(in_tenant_a):
    user = make_user("reviewer")
    lead = make_lead(phone="", email="pat@company.com", first_name="Pat", last_name="Lee", company="Co")
    updated = lead_update_contact(lead_id=lead.pk, changes={"phone": "415 555 2671"}, user=user)
    lead.refresh_from_db()
    assert lead.phone == lead.phone_key == updated.phone == "+14155552671"
    event = AuditEvent.objects.get(lead=lead, action="edited")
    assert event.changes["phone"] == ["", "+14155552671"] and event.user == user


def test_a_phone_typed_differently_but_the_same_changes_nothing(in_tenant_a):
    lead = make_lead(phone="")
    lead_update_contact(lead_id=lead.pk, changes={"phone": "415 555 2671"})
    lead_update_contact(lead_id=lead.pk, changes={"phone": "(415) 555-2671"})
    assert AuditEvent.objects.filter(lead=lead, action="edited").count() == 1


def test_the_tenant_region_reads_national_numbers(in_tenant_a):
    from leads.models import TenantSettings

    settings = TenantSettings.current()
    settings.default_region = "GB"
    settings.save()
    try:
        lead = make_lead(phone="")
        assert lead_update_contact(lead_id=lead.pk, changes={"phone": "020 7946 0958"}).phone == "+442079460958"
    finally:
        settings.default_region = "US"
        settings.save()


def test_only_changed_columns_are_written(in_tenant_a):
    lead = make_lead(company="Old Co", city="Rome")
    # Another writer changes the status meanwhile; the edit must not put the old status back.
    stale = Lead.objects.get(pk=lead.pk)
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.APPROVED)
    lead_update_contact(lead_id=stale.pk, changes={"company": "New Co"})
    lead.refresh_from_db()
    assert (lead.company, lead.city, lead.status) == ("New Co", "Rome", LeadStatus.APPROVED)


def test_unknown_lead_raises_does_not_exist(in_tenant_a):
    with pytest.raises(Lead.DoesNotExist):
        lead_update_contact(lead_id=987654321, changes={"city": "x"})
