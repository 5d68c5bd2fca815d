"""Changing one lead by hand."""
from django.db import transaction

from leads.models import Lead
from leads.models.lead import CONTACT_FIELDS
from leads.services.audit import actor_label, audit_event

EDITABLE_FIELDS = (*CONTACT_FIELDS, "custom_fields")


@transaction.atomic
def lead_update_contact(*, lead_id: int, changes: dict, user=None, api_key=None) -> Lead:
    """Apply an inline edit of contact fields (and custom fields, merged) to one lead.

    Records an ``edited`` audit event with ``{field: [before, after]}`` for the values
    that really changed. Raises Lead.DoesNotExist, or ValueError for a field that
    cannot be edited.
    """
    bad = sorted(set(changes) - set(EDITABLE_FIELDS))
    if bad:
        raise ValueError(f"not editable: {', '.join(bad)}")
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    diff = {}
    for name, value in changes.items():
        if name == "custom_fields":
            value = {**lead.custom_fields, **value}
        before = getattr(lead, name)
        if before != value:
            diff[name] = [before, value]
            setattr(lead, name, value)
    if diff:
        lead.save(update_fields=[*diff, "updated_at"])
        reviewer = user if user is not None and getattr(user, "pk", None) is not None else None
        audit_event(action="edited", actor=actor_label(user=user, api_key=api_key), lead=lead, changes=diff,
                    user=reviewer)
    return lead
