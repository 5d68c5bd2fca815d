"""Audit trail: one event per change, written in bulk."""
from collections.abc import Iterable

from leads.models import AuditEvent


def actor_label(user=None, api_key=None, default: str = "system") -> str:
    if api_key is not None:
        return f"api_key:{api_key.prefix}"
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.get_username()}"
    return default


def audit_transitions(leads: Iterable, *, from_status: dict[int, str] | None = None, to_status: str,
                      actor: str, action: str = "status_changed", note: str = "", user=None) -> int:
    """Record one status-change event per lead (bulk insert). Returns how many were written."""
    from_status = from_status or {}
    events = [
        AuditEvent(
            lead_id=lead.pk, object_type="lead", object_id=str(lead.pk), action=action, actor=actor,
            user=user, from_status=from_status.get(lead.pk, ""), to_status=to_status, note=note,
        )
        for lead in leads
    ]
    AuditEvent.objects.bulk_create(events, batch_size=2000)
    return len(events)


def audit_event(*, action: str, actor: str, lead=None, object_type: str = "lead", object_id: str = "",
                changes: dict | None = None, note: str = "", user=None, from_status: str = "", to_status: str = "") -> AuditEvent:
    return AuditEvent.objects.create(
        lead=lead, object_type=object_type, object_id=object_id or (str(lead.pk) if lead else ""),
        action=action, actor=actor, user=user, changes=changes or {}, note=note,
        from_status=from_status, to_status=to_status,
    )
