"""Editing a lead's contact fields by hand (the review page's inline edit, the API's PATCH)."""
import copy
import importlib

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction

from leads.models import Lead, TenantSettings
from leads.models.lead import CONTACT_FIELDS
from leads.services.audit import actor_label, audit_event

_url = URLValidator(schemes=["http", "https"])


def _normalizer():
    """processing.normalization.normalize_lead when the normalization stage provides it."""
    try:
        module = importlib.import_module("processing.normalization")
    except ImportError:
        return None
    return getattr(module, "normalize_lead", None)


def _check_url(value: str) -> None:
    # People type "acme.com"; accept it the way a browser would.
    _url(value if "://" in value else f"https://{value}")


def _check_phone(value: str, region: str) -> None:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError("Enter a phone number, e.g. +1 415 555 2671.") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValidationError("This phone number has the wrong number of digits.")


def validate_contact_changes(changes: dict, *, region: str = "US") -> dict[str, str]:
    """Clean ``changes`` ({field: value}); returns the cleaned values (stripped strings).

    Raises ValidationError with a {field: [messages]} dict for unknown fields, values too
    long for their column, malformed emails, URLs and phone numbers. Empty values clear a field.
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for field, value in changes.items():
        if field not in CONTACT_FIELDS:
            errors.setdefault(field, []).append("This field cannot be edited.")
            continue
        value = "" if value is None else str(value).strip()
        try:
            Lead._meta.get_field(field).clean(value, None)
            if value:
                if field == "email":
                    validate_email(value)
                elif field in ("website", "linkedin_url"):
                    _check_url(value)
                elif field == "phone":
                    _check_phone(value, region)
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)
            continue
        cleaned[field] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def _normalize_phone_fallback(lead: Lead, region: str) -> None:
    """Without the normalization stage: store the phone in E.164, as that stage does."""
    if lead.phone:
        number = phonenumbers.parse(lead.phone, region)
        lead.phone = lead.phone_key = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    else:
        lead.phone_key = ""


def _row(lead: Lead) -> dict:
    # deep copies: a normalizer may change the JSON columns in place
    return {f.attname: copy.deepcopy(getattr(lead, f.attname)) for f in Lead._meta.concrete_fields if not f.primary_key}


@transaction.atomic
def lead_update_contact(*, lead_id: int, changes: dict, user=None, api_key=None) -> Lead:
    """Change some contact fields of one lead and re-normalize it (the values as received
    stay in ``lead.raw``; the contact fields hold the normalized values). The review
    page's inline edit and the API's PATCH both come here, so the match keys are never
    left stale by an edit.

    ``changes`` may also hold ``custom_fields`` (an object, merged into the stored one).
    Only columns whose value ends up different are written; when nothing changes (say a
    phone typed differently that normalizes to the stored number) nothing is written and
    no event recorded. One "edited" AuditEvent records {field: [before, after]} for every
    contact field (and custom_fields) that changed, with the user or API key as actor.
    Raises Lead.DoesNotExist (unknown or foreign id) and ValidationError ({field: [messages]},
    including an email another surviving lead already has).
    """
    changes = dict(changes)
    custom = changes.pop("custom_fields", None)
    if custom is not None and not isinstance(custom, dict):
        raise ValidationError({"custom_fields": ["Must be an object."]})
    region = TenantSettings.current().default_region or "US"
    cleaned = validate_contact_changes(changes, region=region)
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    merged_custom = {**(lead.custom_fields or {}), **custom} if custom else lead.custom_fields
    if merged_custom == lead.custom_fields and all(getattr(lead, field) == value for field, value in cleaned.items()):
        return lead
    before = _row(lead)
    for field, value in cleaned.items():
        setattr(lead, field, value)
    lead.custom_fields = merged_custom

    if cleaned:
        normalize_lead = _normalizer()
        if normalize_lead is not None:
            normalize_lead(lead, default_region=region)
        elif "phone" in cleaned:
            _normalize_phone_fallback(lead, region)
    after = _row(lead)
    changed = [name for name, value in after.items() if before[name] != value and name != "updated_at"]
    diff = {field: [before[field], after[field]] for field in (*CONTACT_FIELDS, "custom_fields") if field in changed}
    if not diff:
        return Lead.objects.get(pk=lead.pk)
    try:
        with transaction.atomic():
            # Only what changed: the edited fields and what normalization re-derived.
            lead.save(update_fields=[*changed, "updated_at"])
    except IntegrityError as exc:
        if "email" in str(exc):
            raise ValidationError({"email": ["Another lead already has this email address."]}) from exc
        raise
    audit_event(action="edited", actor=actor_label(user=user, api_key=api_key), lead=lead, changes=diff,
                user=user if getattr(user, "is_authenticated", False) else None)
    return lead
