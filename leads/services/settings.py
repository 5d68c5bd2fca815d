"""Changing a tenant's settings: validated by TenantSettings.clean(), audited with before/after."""
from django.db import transaction
from django.db.models.fields.files import FieldFile

from leads.models import TenantSettings
from leads.services.audit import actor_label, audit_event

# What people may change (the API and admin); provider keys are stored by processing's own model.
EDITABLE_FIELDS = (
    "default_region", "scoring_weights", "icp_rules", "fuzzy_match_threshold", "fuzzy_review_threshold",
    "enable_enrichment", "enable_verification", "retention_days", "product_name", "primary_color", "logo",
)


def _plain(value):
    # Audit rows are JSON: a file is recorded by its stored name.
    if isinstance(value, FieldFile) or hasattr(value, "read"):
        return getattr(value, "name", "") or ""
    return value


@transaction.atomic
def tenant_settings_update(*, values: dict, user=None, api_key=None) -> TenantSettings:
    """Apply ``values`` (field -> new value, fields from EDITABLE_FIELDS) to the current tenant's
    settings after full validation, and record one ``settings_changed`` audit event holding
    ``{field: [before, after]}`` for the fields that really changed.

    Raises django.core.exceptions.ValidationError (message_dict: field -> messages) and
    changes nothing when any value is invalid; ValueError for a field outside EDITABLE_FIELDS.
    """
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    current = TenantSettings.objects.select_for_update().get(pk=TenantSettings.current().pk)
    before = {field: _plain(getattr(current, field)) for field in values}
    old_logo = current.logo.name if current.logo else ""
    for field, value in values.items():
        setattr(current, field, value)
    current.full_clean()
    current.save()
    after = {field: _plain(getattr(current, field)) for field in values}
    changes = {field: [before[field], after[field]] for field in values if before[field] != after[field]}
    if changes:
        audit_event(action="settings_changed", actor=actor_label(user=user, api_key=api_key), object_type="settings",
                    object_id=str(current.pk), changes=changes, user=_person(user))
    if "logo" in changes and old_logo:
        # The old file goes only once the new settings are committed.
        storage = current.logo.storage
        transaction.on_commit(lambda: storage.delete(old_logo))
    return current


def _person(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None
