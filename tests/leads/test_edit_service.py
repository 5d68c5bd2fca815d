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


def test_phone_is_stored_as_typed_and_normalized_to_e164(in_tenant_a):
    user = make_user("reviewer")
    lead = make_lead(phone="")
    updated = lead_update_contact(lead_id=lead.pk, changes={"phone": "415 555 2671"}, user=user)
    lead.refresh_from_db()
    assert lead.phone == updated.phone == "415 555 2671"
    assert lead.normalized["phone"] == "+14155552671"
    event = AuditEvent.objects.get(lead=lead, action="edited")
    assert event.changes == {"phone": ["", "415 555 2671"]} and event.user == user


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
