"""Do-not-contact: the suppression list and GDPR erasure.

Ingestion must call ``suppression_reasons`` (or ``suppressed_emails``) before storing
leads, and refuse the rows it names with the reason given: that is what keeps an erased person from coming back.
Exports exclude suppressed leads themselves (``suppressed_q``).
"""
import hashlib

from django.db import connection, transaction
from django.db.models import CharField, Exists, F, Func, OuterRef, Q, Value
from django.db.models.functions import Lower, Trim

from leads.models import AuditEvent, ExportIssue, Lead, SuppressionEntry
from leads.services.audit import actor_label
from processing.deduplication import text_array

Kind = SuppressionEntry.Kind
REASONS = {
    Kind.ERASED: "This person asked to be erased (GDPR); their data may not be imported again.",
    Kind.EMAIL: "This email is on the do-not-contact list.",
    Kind.DOMAIN: "This email's domain is on the do-not-contact list.",
}


class SuppressionInvalid(ValueError):
    """The value is not a usable email or domain."""


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def email_hash(email: str) -> str:
    """SHA-256 (hex) of the normalized email: what erasure keeps."""
    return hashlib.sha256(normalize_email(email).encode("utf-8")).hexdigest()


def _domain_of(email: str) -> str:
    return email.rpartition("@")[2]


def suppressed_emails(emails: list[str]) -> set[str]:
    """The given emails (as given) that must not be stored or contacted: listed
    themselves, on a listed domain, or erased (matched by hash). One query."""
    return set(suppression_reasons(emails))


def suppression_reasons(emails: list[str]) -> dict[str, str]:
    """{email as given: why it is refused} for the suppressed ones among ``emails``.
    Ingestion shows the reason on the refused row. Two queries: which kinds of
    entry the list holds, then the matches among those kinds."""
    wanted: dict[str, list[str]] = {}
    for email in emails:
        key = normalize_email(email)
        if key:
            wanted.setdefault(key, []).append(email)
    if not wanted:
        return {}
    # Most tenants list few kinds, or none: hashing thousands of emails (or
    # collecting their domains) for a kind with no entry is wasted work.
    listed = _listed_kinds()
    if not listed:
        return {}
    hashes = {email_hash(key): key for key in wanted} if Kind.ERASED in listed else {}
    domains = {_domain_of(key) for key in wanted} if Kind.DOMAIN in listed else ()
    # One array parameter per kind: ingestion asks about thousands of emails at a
    # time, and an IN list of thousands of parameters cost more to build than to run
    # (the arrays go as literals: adapting them item by item cost more again).
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT kind, value FROM "{SuppressionEntry._meta.db_table}" '
            "WHERE (kind = %s AND value = ANY(%s::text[])) OR (kind = %s AND value = ANY(%s::text[])) "
            "OR (kind = %s AND value = ANY(%s::text[]))",
            [Kind.EMAIL, text_array(wanted if Kind.EMAIL in listed else ()), Kind.DOMAIN, text_array(domains),
             Kind.ERASED, text_array(hashes)],
        )
        rows = cursor.fetchall()
    by_key: dict[str, str] = {}
    blocked_domains = set()
    for kind, value in rows:
        if kind == Kind.EMAIL:
            by_key.setdefault(value, REASONS[Kind.EMAIL])
        elif kind == Kind.DOMAIN:
            blocked_domains.add(value)
        else:
            by_key[hashes[value]] = REASONS[Kind.ERASED]  # the strongest reason wins
    reasons = {}
    for key, originals in wanted.items():
        reason = by_key.get(key) or (REASONS[Kind.DOMAIN] if _domain_of(key) in blocked_domains else "")
        for original in originals if reason else ():
            reasons[original] = reason
    return reasons


def _listed_kinds() -> set[str]:
    """The kinds of entry the tenant's suppression list holds (one index probe each)."""
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT k.kind FROM unnest(%s::text[]) AS k(kind) WHERE EXISTS '
            f'(SELECT 1 FROM "{SuppressionEntry._meta.db_table}" AS s WHERE s.kind = k.kind)',
            [text_array(Kind.values)],
        )
        return {kind for (kind,) in cursor.fetchall()}


class _Sha256Hex(Func):
    # PostgreSQL's built-in sha256() (Django's SHA256 needs the pgcrypto extension).
    template = "encode(sha256(convert_to(%(expressions)s, 'UTF8')), 'hex')"
    output_field = CharField()


def suppressed_q() -> Q:
    """A Lead filter matching suppressed leads, evaluated in the database."""
    email = Lower(Trim(OuterRef("email")))
    domain = Func(email, Value("@"), Value(2), function="SPLIT_PART")
    return (
        Q(Exists(SuppressionEntry.objects.filter(kind=Kind.EMAIL, value=email)))
        | Q(Exists(SuppressionEntry.objects.filter(kind=Kind.DOMAIN, value=domain)))
        | Q(Exists(SuppressionEntry.objects.filter(kind=Kind.ERASED, value=_Sha256Hex(email))))
    )


def _normalize_value(kind: str, value: str) -> str:
    try:
        return SuppressionEntry.normalize(kind, value)
    except ValueError as exc:
        raise SuppressionInvalid(str(exc)) from None


def suppression_add(*, kind: str, value: str, reason: str = "", user=None) -> SuppressionEntry:
    """Add an email or domain (idempotent: an existing entry is returned as is)."""
    value = _normalize_value(kind, value)
    entry, _ = SuppressionEntry.objects.get_or_create(kind=kind, value=value,
                                                      defaults={"reason": reason, "created_by": _user(user)})
    return entry


def _user(user):
    # A person only: an API key caller (ApiKeyPrincipal) is authenticated but is no User row.
    return user if getattr(user, "pk", None) is not None and getattr(user, "is_authenticated", False) else None


@transaction.atomic
def lead_erase(*, email: str, user=None, api_key=None, note: str = "") -> int:
    """GDPR erasure: delete every lead with this email, scrub the personal data its
    history kept, and keep only the email's SHA-256 in the suppression list so a
    re-import is refused. Returns how many leads were deleted (0 still records the hash)."""
    key = normalize_email(email)
    if "@" not in key:
        raise SuppressionInvalid("Enter the email address to erase.")
    digest = email_hash(key)
    leads = Lead.objects.annotate(_key=Lower(Trim(F("email")))).filter(_key=key)
    # Locked first: a transaction that holds one of these leads (an export recording
    # it as sent) commits before the history below is read, so none of its rows is missed.
    lead_ids = list(leads.select_for_update().values_list("pk", flat=True))
    # Audit rows and export issues may hold the email or other contact data.
    AuditEvent.objects.filter(lead_id__in=lead_ids).update(changes={}, note="", lead=None)
    ExportIssue.objects.filter(Q(lead_id__in=lead_ids) | Q(email__iexact=key)).update(email="")
    Lead.objects.filter(pk__in=lead_ids).delete()
    SuppressionEntry.objects.filter(kind=Kind.EMAIL, value=key).delete()  # the plain email must not stay either
    SuppressionEntry.objects.get_or_create(kind=Kind.ERASED, value=digest,
                                           defaults={"reason": "GDPR erasure", "created_by": _user(user)})
    AuditEvent.objects.create(object_type="erasure", object_id=digest[:16], action="erased",
                              actor=actor_label(user=user, api_key=api_key), user=_user(user),
                              changes={"leads_deleted": len(lead_ids)}, note=note)
    return len(lead_ids)
