"""Managing a tenant's API keys: the key is returned once, at creation; only its hash is kept."""
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from leads.models import ApiKey
from leads.models.apikey import SCOPES
from leads.services.audit import actor_label, audit_event


class ApiKeyInvalid(ValueError):
    """A bad name, scope list or expiry. ``errors`` maps field -> messages; str() is one line."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))


def _person(user):
    return user if user is not None and getattr(user, "is_authenticated", False) and getattr(user, "pk", None) else None


def api_key_errors(*, name: str, scopes: list[str], expiry_date: datetime | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not (name or "").strip():
        errors["name"] = ["a name is required"]
    elif len(name.strip()) > 50:
        errors["name"] = ["at most 50 characters"]
    unknown = [s for s in scopes if s not in SCOPES]
    if not scopes:
        errors["scopes"] = [f"choose at least one of {', '.join(SCOPES)}"]
    elif unknown:
        errors["scopes"] = [f"unknown scope(s) {', '.join(unknown)}; scopes must be among {', '.join(SCOPES)}"]
    if expiry_date is not None and expiry_date <= timezone.now():
        errors["expiry_date"] = ["must be in the future"]
    return errors


@transaction.atomic
def api_key_create(*, name: str, scopes: list[str], expiry_date: datetime | None = None,
                   user=None, api_key=None, created_by=None, actor: str | None = None) -> tuple[ApiKey, str]:
    """Create a key in the current tenant's schema. Returns (ApiKey, plain key): the plain key
    exists only in this return value. ``user``/``api_key`` name who asked (or pass ``actor``,
    e.g. "system:create_api_key"). Audited as ``api_key_created``. Raises ApiKeyInvalid."""
    scopes = list(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    errors = api_key_errors(name=name, scopes=scopes, expiry_date=expiry_date)
    if errors:
        raise ApiKeyInvalid(errors)
    person = _person(user) or created_by
    created, key = ApiKey.objects.create_key(name=name.strip(), scopes=",".join(s for s in SCOPES if s in scopes),
                                             expiry_date=expiry_date, created_by=person)
    audit_event(action="api_key_created", actor=actor or actor_label(user=user, api_key=api_key),
                object_type="api_key", object_id=created.prefix, user=person, note=f"{created.name} ({created.scopes})",
                changes={"name": [None, created.name], "scopes": [None, created.scope_list()],
                         "expiry_date": [None, expiry_date.isoformat() if expiry_date else None]})
    return created, key


@transaction.atomic
def api_key_revoke(*, key: ApiKey, user=None, api_key=None) -> ApiKey:
    """Revoke for good (the library refuses un-revoking). Revoking twice is a no-op, audited once."""
    if key.revoked:
        return key
    ApiKey.objects.filter(pk=key.pk).update(revoked=True)
    key.revoked = True
    audit_event(action="api_key_revoked", actor=actor_label(user=user, api_key=api_key), object_type="api_key",
                object_id=key.prefix, user=_person(user), changes={"revoked": [False, True]})
    return key
