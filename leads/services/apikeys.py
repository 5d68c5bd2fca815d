"""API keys for machines: created per tenant, shown once, stored hashed."""
from datetime import datetime

from leads.models import ApiKey
from leads.models.apikey import SCOPES
from leads.services.audit import audit_event


def api_key_create(*, name: str, scopes: list[str], expiry_date: datetime | None = None,
                   created_by=None, actor: str = "system") -> tuple[ApiKey, str]:
    """Create a key in the current tenant's schema; returns (ApiKey, the key in clear).

    The clear key is not stored anywhere: show it once. Raises ValueError for an
    empty name or an unknown scope.
    """
    name = name.strip()
    if not name:
        raise ValueError("a name is required")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scopes must be among {', '.join(SCOPES)} (got {', '.join(scopes) or 'none'})")
    api_key, key = ApiKey.objects.create_key(name=name[:50], scopes=",".join(s for s in SCOPES if s in scopes),
                                             expiry_date=expiry_date, created_by=created_by)
    audit_event(action="api_key_created", actor=actor, object_type="api_key", object_id=api_key.prefix,
                note=f"{api_key.name} ({api_key.scopes})")
    return api_key, key
