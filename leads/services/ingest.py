"""Ingestion: the one way leads enter LeadHub (API batch, CSV import, command, samples).

``ingest_leads`` validates each row on its own, runs the inline pipeline stage
(``processing.pipeline.prepare_incoming``) on the unsaved leads, then stores every
accepted row in one set-based upsert keyed by ``(source, external_id)``.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import operator
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.core.validators import EmailValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, F, JSONField
from django.db.models.base import ModelState
from django.utils import timezone

from leads.models import ImportBatch, ImportRowError, Lead, LeadStatus, TenantSettings
from leads.models.lead import CONTACT_FIELDS, compact_normalized
from leads.textsafety import storable, unstorable_reason, unstorable_text_errors
from processing.bulk import bound_cursor, json_text
from processing.deduplication import text_array
from processing.normalization import normalize_leads
from processing.timing import timed

MAX_BATCH_ROWS = 1000
# Unique constraints a concurrent ingestion can trip between our look-ups and our
# writes; the call then starts over and finds the other request's rows.
_RACE_CONSTRAINTS = ("lead_surviving_email_key_uniq", "lead_source_external_id_uniq")


class Outcome:
    CREATED = "created"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    INVALID = "invalid"


# Header and key aliases, compared after lower-casing and dropping everything that is
# not a letter or digit ("E-mail" -> "email", "Job Title" -> "jobtitle").
ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "mail", "workemail", "businessemail", "emailid", "contactemail"),
    "first_name": ("firstname", "first", "givenname", "fname", "forename"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname"),
    "full_name": ("fullname", "name", "contactname", "personname", "leadname"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "mobilenumber", "cell",
              "cellphone", "workphone", "directphone", "phoneno"),
    "company": ("company", "companyname", "organization", "organisation", "account", "accountname", "employer",
                "business", "businessname"),
    "title": ("title", "jobtitle", "position", "role", "jobrole", "designation"),
    "website": ("website", "url", "web", "site", "companywebsite", "websiteurl", "companyurl", "homepage"),
    "linkedin_url": ("linkedinurl", "linkedin", "linkedinprofile", "linkedinprofileurl", "personlinkedinurl"),
    "street": ("street", "streetaddress", "address", "address1", "addressline1"),
    "city": ("city", "town"),
    "state": ("state", "region", "province", "stateprovince", "stateregion"),
    "postal_code": ("postalcode", "zip", "zipcode", "postcode"),
    "country": ("country", "countryname", "countrycode"),
    "external_id": ("externalid", "id", "leadid", "recordid", "contactid"),
    "custom_fields": ("customfields",),
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
_NON_ALNUM = re.compile(r"[^a-z0-9]")

REACH_FIELDS = ("email", "phone", "linkedin_url", "company")
_MAX_LENGTH = {name: Lead._meta.get_field(name).max_length for name in CONTACT_FIELDS}
_MAX_LENGTH["external_id"] = Lead._meta.get_field("external_id").max_length
# Django's EmailValidator rules, with its lazily compiled patterns resolved once:
# through the lazy proxies they cost more than the rest of a row's validation.
_EMAIL_USER_RE = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
_EMAIL_DOMAIN_RE = re.compile(EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags)
_EMAIL_LITERAL_RE = re.compile(EmailValidator.literal_regex.pattern, EmailValidator.literal_regex.flags)


# The everyday shape of an address, a strict subset of what Django accepts: checked
# first because it is several times cheaper than Django's full patterns.
_EMAIL_COMMON_RE = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def is_valid_email(value: str) -> bool:
    """Django's EmailValidator rules (IDN domains included)."""
    if not value or "@" not in value or len(value) > 320:
        return False
    if _EMAIL_COMMON_RE.fullmatch(value):
        return True
    user, domain = value.rsplit("@", 1)
    if not _EMAIL_USER_RE.match(user):
        return False
    if domain == "localhost" or _EMAIL_DOMAIN_RE.match(domain):
        return True
    if domain.startswith("["):
        return bool(_EMAIL_LITERAL_RE.match(domain))
    try:
        return bool(_EMAIL_DOMAIN_RE.match(domain.encode("idna").decode("ascii")))
    except UnicodeError:
        return False

# Columns an upsert may refresh on an existing lead; a blank incoming value keeps the
# stored one, so a partial re-send does not wipe what is known.
_DERIVED_TEXT = ("email_key", "phone_key", "linkedin_key", "company_key", "domain", "name_key", "seniority",
                 "department", "country_code")


class _LeadFactory:
    """Builds unsaved Lead objects from a template of defaults.

    Lead is wide (about 60 columns) and Model.__init__ sets each one through
    setattr and signals; at 20,000 rows per second that alone would cost more than
    the insert. No signal receivers are attached to Lead's init, and the result is an
    ordinary unsaved instance (``_state.adding`` is true, attributes in ``__dict__``).
    """

    def __init__(self):
        self.template = {}
        self.fresh = []  # mutable defaults must not be shared between leads
        for f in Lead._meta.concrete_fields:
            default = None if f.primary_key else f.get_default()
            self.template[f.attname] = default
            if isinstance(default, (dict, list)):
                self.fresh.append((f.attname, type(default)))

    def build(self, values: dict) -> Lead:
        lead = Lead.__new__(Lead)
        lead._state = ModelState()
        attrs = lead.__dict__
        attrs.update(self.template)
        for name, kind in self.fresh:
            attrs[name] = kind()
        attrs.update(values)
        return lead


@functools.cache
def _lead_factory() -> _LeadFactory:
    return _LeadFactory()


@functools.lru_cache(maxsize=4096)
def canonical_field(key: str) -> str | None:
    """The Lead field a payload key or CSV header means, or None for a custom field."""
    return _ALIAS_TO_FIELD.get(_NON_ALNUM.sub("", str(key).lower()))


@dataclass
class RowResult:
    index: int
    outcome: str
    id: int | None = None
    duplicate_of: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        data: dict = {"index": self.index, "outcome": self.outcome}
        if self.id is not None:
            data["id"] = self.id
        if self.duplicate_of is not None:
            data["duplicate_of"] = self.duplicate_of
        if self.errors:
            data["errors"] = self.errors
        return data


class QuotaExceeded(Exception):
    """Some rows were refused because the tenant's lead quota is reached."""

    def __init__(self, *, quota: int, refused: int):
        self.quota, self.refused = quota, refused
        super().__init__(
            f"Lead quota of {quota} leads reached: {refused} row{'s' if refused != 1 else ''} refused."
        )


def _text(value) -> str | None:
    """A scalar as stripped text; None for a value that is not a scalar."""
    if value is None or value is True or value is False:
        return "" if value is None else None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return None


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def validate_row(row) -> tuple[dict, dict[str, list[str]]]:
    """Map a payload row onto Lead fields: returns (fields, errors).

    ``fields`` holds contact fields, ``external_id`` and ``custom_fields`` (every
    unknown key, with its original name). A row needs an email, a phone, a
    linkedin_url or a company.
    """
    if not isinstance(row, dict):
        return {}, {"non_field_errors": ["Expected an object with lead fields."]}
    # NUL or lone surrogates (CSV cells, commands). One scan of the joined text
    # clears an all-text row; only a row that fails it (or holds other values) is
    # walked field by field for the messages.
    try:
        clean = unstorable_reason("".join(row) + "".join(row.values())) is None
    except TypeError:
        clean = False
    if not clean:
        unstorable = unstorable_text_errors(row)
        if unstorable:
            return {}, unstorable
    fields: dict = {}
    custom: dict = {}
    errors: dict[str, list[str]] = {}
    for key, value in row.items():
        name = canonical_field(key)
        is_text = type(value) is str  # the usual case (every CSV cell), checked inline
        if name is None:
            custom[str(key)] = value if is_text else _jsonable(value)
            continue
        if name == "custom_fields":
            if isinstance(value, dict):
                custom.update(value)
            elif value not in (None, ""):
                errors.setdefault(str(key), []).append("Must be an object.")
            continue
        text = value.strip() if is_text else _text(value)
        if text is None:
            errors.setdefault(name, []).append("Must be a string.")
            continue
        if not text and fields.get(name):
            continue  # an empty alias column must not blank a filled one
        if len(text) > _MAX_LENGTH[name]:
            errors.setdefault(name, []).append(f"Ensure this field has no more than {_MAX_LENGTH[name]} characters.")
            continue
        fields[name] = text
    email = fields.get("email")
    if email and "email" not in errors and not is_valid_email(email):
        errors["email"] = ["Enter a valid email address."]
    if not errors and not any(fields.get(name) for name in REACH_FIELDS):
        errors["non_field_errors"] = ["A lead needs an email, a phone, a linkedin_url or a company."]
    fields["custom_fields"] = custom
    return fields, errors


def lead_quota() -> int:
    """The current tenant's lead quota (0 = unlimited)."""
    tenant = getattr(connection, "tenant", None)
    quota = getattr(tenant, "lead_quota", None)
    if quota is None:
        from tenants.models import Tenant

        quota = Tenant.objects.filter(schema_name=connection.schema_name).values_list("lead_quota", flat=True).first()
    return quota or 0


def ingest_leads(*, rows: list, source: str, batch: ImportBatch | None = None, actor: str = "system",
                 dry_run: bool = False, first_index: int = 0, quota: int | None = None,
                 refuse: set[int] | None = None, finish_batch: bool = False) -> list[RowResult]:
    """Validate and store ``rows`` (dicts as received) for ``source``; one result per row.

    - A valid row becomes a Lead: ``raw`` is the row unchanged, known keys (and their
      aliases) fill the contact fields, unknown keys go to ``custom_fields``.
    - ``processing.pipeline.prepare_incoming`` runs on the unsaved leads; a lead it
      marks ``duplicate`` is reported with the survivor's id. It may point
      ``duplicate_of`` at another unsaved lead of the same call; leads that carry a
      ``pk`` are existing leads about to be updated (so it can skip matching itself).
    - A row whose ``(source, external_id)`` exists updates that lead (non-blank values
      win, custom fields are merged, status is kept unless it became a duplicate).
    - A row whose email is suppressed (do-not-contact list, or erased under GDPR) is
      refused (``invalid``, the reason under ``email``): nothing of it is stored.
    - New leads beyond the tenant's quota are refused (``invalid`` with a ``quota``
      error); the caller learns how many from ``quota_refused(results)``.
    - Writes (leads, audit events, refused rows of ``batch``, ``batch`` counters) are
      committed when this returns. ``dry_run`` does the same work and rolls it back.
    - ``first_index`` numbers the results (CSV chunks continue where the last ended);
      ``refuse`` holds offsets of rows the caller already knows are malformed;
      ``finish_batch`` marks ``batch`` done with these counts.

    It is ``prepare_rows`` (no database access) followed by ``store_rows``; the CSV
    import calls the two itself to prepare one chunk while the previous one is written.
    """
    with cyclic_gc_paused():
        prepared = prepare_rows(rows=rows, source=source, batch=batch, first_index=first_index, refuse=refuse,
                                default_region=TenantSettings.current().default_region)
        results = store_rows(prepared, batch=batch, actor=actor, dry_run=dry_run, quota=quota,
                             finish_batch=finish_batch)
        del prepared  # freed while the collector is still off (see cyclic_gc_paused)
    return results


@contextlib.contextmanager
def cyclic_gc_paused():
    """Pause Python's cyclic garbage collector during an ingestion.

    Ingestion allocates many short-lived objects per row, and allocation bursts
    trigger collector passes, the full ones over every object of the process: a
    third of a CSV import's CPU time. Ingestion makes no reference cycles (its
    objects are freed by reference counting as each chunk ends; a test checks that
    the cyclic garbage an import leaves does not grow with the rows), so memory
    stays flat without them. The collector is back on, as it was, at the end."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class PreparedRows:
    """Rows validated, built into unsaved leads and normalized (``prepare_rows``)."""
    rows: list
    source: str
    first_index: int
    refuse: set[int] | None
    default_region: str
    results: list[RowResult]
    accepted: list[tuple[RowResult, Lead]]
    emails: list[str]  # each accepted row's email as given, for the suppression list


def prepare_rows(*, rows: list, source: str, batch: ImportBatch | None = None, first_index: int = 0,
                 refuse: set[int] | None = None, default_region: str) -> PreparedRows:
    """The part of an ingestion that needs no database: validate each row, build its
    unsaved Lead and normalize it (``default_region``: the tenant's phone region).
    ``store_rows`` does the rest."""
    source = (source or "api").strip()[:100] or "api"
    results: list[RowResult] = []
    accepted: list[tuple[RowResult, Lead]] = []
    factory = _lead_factory()
    batch_id = batch.pk if batch is not None else None
    new_status = LeadStatus.NEW
    for offset, row in enumerate(rows):
        result = RowResult(index=first_index + offset, outcome=Outcome.INVALID)
        results.append(result)
        if refuse and offset in refuse:
            result.errors = {"non_field_errors": ["This row has more values than the header has columns."]}
            continue
        fields, errors = validate_row(row)
        if errors:
            result.errors = errors
            continue
        fields.update(raw=row, source=source, batch_id=batch_id, status=new_status)
        accepted.append((result, factory.build(fields)))
    # Suppression is checked on the address as given (normalization may rewrite it).
    emails = [lead.email for _result, lead in accepted]
    with timed("normalize"):  # the pipeline's normalize stage, run inline
        normalize_leads([lead for _result, lead in accepted], default_region=default_region)
    return PreparedRows(rows, source, first_index, refuse, default_region, results, accepted, emails)


def store_rows(prepared: PreparedRows, *, batch: ImportBatch | None = None, actor: str = "system",
               dry_run: bool = False, quota: int | None = None, finish_batch: bool = False,
               _retry: bool = True) -> list[RowResult]:
    """Store what ``prepare_rows`` accepted (see ``ingest_leads``) and return one result
    per row. Runs the database part: suppression, quota, exact deduplication, writes."""
    results, rows, first_index = prepared.results, prepared.rows, prepared.first_index
    accepted = _refuse_suppressed(prepared.accepted, prepared.emails)
    now = timezone.now()
    if accepted:
        if dry_run:
            with transaction.atomic():
                _store(accepted, source=prepared.source, actor=actor, now=now, quota=quota)
                transaction.set_rollback(True)
            for result, _lead in accepted:
                if result.outcome != Outcome.UPDATED:
                    result.id = None  # rolled back: the id was never really given
        else:
            try:
                with transaction.atomic():
                    _store(accepted, source=prepared.source, actor=actor, now=now, quota=quota)
                    _record_batch(batch, results, rows, first_index, finish=finish_batch)
            except IntegrityError as exc:
                # A concurrent request stored the same person between deduplication
                # and the insert: start again, its row is visible now.
                if not _retry or not any(name in str(exc) for name in _RACE_CONSTRAINTS):
                    raise
                again = prepare_rows(rows=rows, source=prepared.source, batch=batch, first_index=first_index,
                                     refuse=prepared.refuse, default_region=prepared.default_region)
                return store_rows(again, batch=batch, actor=actor, quota=quota, finish_batch=finish_batch,
                                  _retry=False)
            return results
    if not dry_run:
        with transaction.atomic():
            _record_batch(batch, results, rows, first_index, finish=finish_batch)
    return results


def _refuse_suppressed(accepted: list[tuple[RowResult, Lead]], emails: list[str]) -> list[tuple[RowResult, Lead]]:
    """Rows whose email (``emails``: each row's as given) is on the do-not-contact
    list or was erased (GDPR) become ``invalid`` with the list's reason under
    ``email``; the others are returned. One query for the whole call."""
    from leads.services.suppression import suppression_reasons

    given = [email for email in emails if email]
    reasons = suppression_reasons(given) if given else {}
    if not reasons:
        return accepted
    kept = []
    for (result, lead), email in zip(accepted, emails):
        reason = reasons.get(email) if email else None
        if reason:
            result.errors = {"email": [reason]}
        else:
            kept.append((result, lead))
    return kept


def quota_refused(results: list[RowResult]) -> int:
    return sum(1 for r in results if "quota" in r.errors)


def summarize(results: list[RowResult]) -> dict[str, int]:
    counts = {Outcome.CREATED: 0, Outcome.UPDATED: 0, Outcome.DUPLICATE: 0, Outcome.INVALID: 0}
    for result in results:
        counts[result.outcome] += 1
    return counts


def _store(accepted: list[tuple[RowResult, Lead]], *, source: str, actor: str, now, quota: int | None) -> None:
    from processing.pipeline import prepare_incoming

    # Several rows of one call with the same external id: the last one's data is
    # stored (one row can only be upserted once per statement), and each row is
    # reported as if sent one after the other (created, then updated).
    by_key: dict[str, int] = {}
    for position, (_result, lead) in enumerate(accepted):
        if lead.external_id:
            by_key[lead.external_id] = position
    keep = [pos for pos, (_r, lead) in enumerate(accepted) if not lead.external_id or by_key[lead.external_id] == pos]

    # Serialise concurrent ingestion into one tenant while quota is counted.
    if quota is None:
        quota = lead_quota()
    existing = _existing_ids(source, list(by_key)) if by_key else {}
    if quota:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"lead-quota:{connection.schema_name}"])
        room = max(quota - Lead.objects.count(), 0)
        admitted = []
        for pos in keep:
            lead = accepted[pos][1]
            if lead.external_id and lead.external_id in existing:
                admitted.append(pos)
            elif room > 0:
                room -= 1
                admitted.append(pos)
            else:
                message = f"Lead quota of {quota} leads reached; this row was not stored."
                for result, other in accepted:
                    if other is lead or (lead.external_id and other.external_id == lead.external_id):
                        result.outcome = Outcome.INVALID
                        result.errors = {"quota": [message]}
        keep = admitted
    if not keep:
        return

    leads = [accepted[pos][1] for pos in keep]
    for lead in leads:
        # "id" rather than "pk": the pk property costs a call per access, and this is per row.
        lead.id = existing.get(lead.external_id) if lead.external_id else None
        lead.created_at = lead.updated_at = lead.status_changed_at = now
    # The stored (source, external_id) pairs were looked up above: not again.
    prepare_incoming(leads, external_ids_checked=True, normalized=True)

    # New leads get their ids from the sequence first, in list order: a duplicate of
    # a lead new in this very call then links to it before anything is written, and
    # the new rows go in by COPY. Stored leads are updated first, so one that became
    # a duplicate leaves the unique email index before its survivor arrives.
    new = [lead for lead in leads if lead.id is None]
    stored = [lead for lead in leads if lead.id is not None]
    for lead, lead_id in zip(new, _take_ids(len(new))):
        lead.id = lead_id
    survivor_field = Lead._meta.get_field("duplicate_of")
    for lead in leads:
        if lead.status == LeadStatus.DUPLICATE:  # only deduplication links a survivor
            survivor = survivor_field.get_cached_value(lead, None)
            if survivor is not None:
                lead.duplicate_of_id = survivor.id
    rows = {id(lead): row for lead, row in zip(stored, _upsert(stored, now=now) if stored else [])}
    _copy_new(new)
    for lead in new:
        rows[id(lead)] = (lead.id, True, lead.status, lead.duplicate_of_id)
    returned = [rows[id(lead)] for lead in leads]
    _analyze_new_table(len(returned))

    outcome_by_key: dict[str, tuple[int, str, int | None]] = {}
    events = []
    for pos, lead, (lead_id, inserted, status, duplicate_of_id) in zip(keep, leads, returned):
        lead.id = lead_id
        if status == LeadStatus.DUPLICATE and lead.status == LeadStatus.DUPLICATE:
            outcome = Outcome.DUPLICATE
            duplicate_of_id = lead.duplicate_of_id or duplicate_of_id
        else:
            outcome = Outcome.CREATED if inserted else Outcome.UPDATED
        events.append((lead_id, "created" if inserted else "updated", status))
        if lead.external_id:
            outcome_by_key[lead.external_id] = (lead_id, outcome, duplicate_of_id if outcome == Outcome.DUPLICATE else None)
        else:
            result = accepted[pos][0]
            result.outcome, result.id = outcome, lead_id
            result.duplicate_of = duplicate_of_id if outcome == Outcome.DUPLICATE else None
    seen: set[str] = set()
    for result, lead in accepted:
        key = lead.external_id
        if not key or result.errors or key not in outcome_by_key:
            continue
        lead_id, outcome, duplicate_of_id = outcome_by_key[key]
        if outcome == Outcome.CREATED and key in seen:
            outcome = Outcome.UPDATED  # the first row with this key created the lead
        seen.add(key)
        result.outcome, result.id, result.duplicate_of = outcome, lead_id, duplicate_of_id
    _audit_ingested(events, actor=actor, now=now)


def _existing_ids(source: str, external_ids: list[str]) -> dict[str, int]:
    """``{external_id: id}`` of the stored leads of ``source`` with these ids."""
    # One array parameter; the "<> ''" lets PostgreSQL use the partial unique index
    # (it cannot prove that from an array of more than 100 values).
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT external_id, id FROM "{Lead._meta.db_table}" '
            "WHERE source = %s AND external_id = ANY(%s::text[]) AND external_id <> ''",
            [source, text_array(external_ids)],
        )
        return dict(cursor.fetchall())


# A first ingestion this large into a lead table PostgreSQL has never analyzed
# gets the table analyzed before it commits (see _analyze_new_table).
ANALYZE_NEW_TABLE_ROWS = 500


def _analyze_new_table(written: int) -> None:
    """ANALYZE the tenant's lead table if it has no statistics yet and this call
    wrote ``ANALYZE_NEW_TABLE_ROWS`` or more leads.

    Without statistics the planner rates every index of a new table alike and
    the foreign-key checks that run at commit (one per audit event, on the lead's
    id) were planned on ``lead_queue_order_idx``, whose id is its last column: a
    full index scan per event, cached for the connection's life, so each import
    chunk committed slower than the last (a 5,000-row chunk took 2 s to commit
    at 25,000 leads). ANALYZE sees this transaction's own rows and invalidates
    the cached plans; it runs once per tenant, autovacuum keeps it up after.
    """
    if written < ANALYZE_NEW_TABLE_ROWS:
        return
    table = Lead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples < 0 FROM pg_class WHERE oid = %s::regclass", [f'"{table}"'])
        row = cursor.fetchone()
        if row and row[0]:
            cursor.execute(f'ANALYZE "{table}"')


def _take_ids(count: int) -> list[int]:
    """``count`` ids from the lead table's sequence, ascending."""
    if not count:
        return []
    # One text value rather than thousands of rows: far less to convert on this side.
    # The sequence is looked up once (MATERIALIZED): looked up for every id it cost
    # 3 us an id, ten times what nextval itself costs.
    with connection.cursor() as cursor:
        cursor.execute("WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) "
                       "SELECT string_agg(nextval(s.seq)::text, ',') FROM s, generate_series(1, %s)",
                       [f'"{Lead._meta.db_table}"', count])
        return sorted(map(int, cursor.fetchone()[0].split(",")))


@functools.cache
def _copy_layout() -> tuple[str, operator.itemgetter, operator.itemgetter, operator.itemgetter]:
    """The COPY column list and a getter for each kind of column: plain values, JSON
    columns, then ``normalized`` and timestamps (the order of a COPY's columns is free)."""
    fields = Lead._meta.concrete_fields
    normalized = Lead._meta.get_field("normalized")
    json_fields = [f for f in fields if isinstance(f, JSONField) and f is not normalized]
    stamp_fields = [f for f in fields if isinstance(f, DateTimeField)]
    plain_fields = [f for f in fields if f not in json_fields and f not in stamp_fields and f is not normalized]
    columns = ", ".join(f'"{f.column}"' for f in (*plain_fields, *json_fields, normalized, *stamp_fields))
    return columns, *(operator.itemgetter(*(f.attname for f in group))
                      for group in (plain_fields, json_fields, stamp_fields))


def _copy_new(leads: list[Lead]) -> None:
    """Insert new leads (ids already set) with COPY: PostgreSQL reads text rows far
    faster than it expands a JSON document into records, and psycopg escapes each
    row in C. JSON columns travel as their JSON text, ``normalized`` without its
    default flags (``compact_normalized``)."""
    if not leads:
        return
    columns, plain, json_values, stamp_values = _copy_layout()
    # The leads of one call share their timestamps: each set is turned into text once
    # (adapting three datetimes cost more than the rest of the row).
    stamps: dict[tuple, tuple] = {}
    with bound_cursor() as cursor:  # search_path; Django's IntegrityError
        with cursor.copy(f'COPY "{Lead._meta.db_table}" ({columns}) FROM STDIN') as copy:
            for lead in leads:
                attrs = lead.__dict__
                when = stamp_values(attrs)
                text = stamps.get(when)
                if text is None:
                    text = stamps[when] = tuple(value.isoformat() if value is not None else None for value in when)
                # Most JSON columns of a new lead are empty: no need to encode those.
                cells = [json_text(value) if value else _EMPTY_JSON.get(type(value)) or json_text(value)
                         for value in json_values(attrs)]
                copy.write_row((*plain(attrs), *cells, json_text(compact_normalized(attrs["normalized"])), *text))


_EMPTY_JSON = {dict: "{}", list: "[]"}


def _upsert(leads: list[Lead], *, now) -> list[tuple]:
    """One INSERT ... ON CONFLICT for every lead (ingestion sends the stored ones;
    new ones go through ``_copy_new``); rows come back in input order as
    (id, inserted, status, duplicate_of_id).

    The leads travel as one JSON array expanded by jsonb_populate_recordset over a
    base row of defaults, so each element carries only the values that differ from
    the defaults (a third of the columns, typically): less to send and to parse.
    """
    table = Lead._meta.db_table
    columns = [f for f in Lead._meta.concrete_fields if not f.primary_key]
    names = [f.column for f in columns]
    template = _lead_factory().template
    base = {f.column: template[f.attname] for f in columns}
    base.update(created_at=now, updated_at=now, status_changed_at=now)
    base_items = [(f.attname, f.column, base[f.column]) for f in columns]
    survivor_field = Lead._meta.get_field("duplicate_of")
    payload = []
    for lead in leads:
        attrs = lead.__dict__
        values = {column: value for attname, column, default in base_items
                  if (value := attrs[attname]) is not default and value != default}
        survivor = survivor_field.get_cached_value(lead, None)
        if survivor is not None and survivor.pk is None:
            values.pop("duplicate_of_id", None)  # linked after the insert
        payload.append(values)
    col_list = ", ".join(f'"{n}"' for n in names)
    contact = [*CONTACT_FIELDS, *_DERIVED_TEXT]
    sets = [f'"{c}" = CASE WHEN EXCLUDED."{c}" <> \'\' THEN EXCLUDED."{c}" ELSE l."{c}" END'
            for c in contact if c in names]
    became_duplicate = (
        f"EXCLUDED.status = '{LeadStatus.DUPLICATE.value}' AND EXCLUDED.duplicate_of_id IS NOT NULL "
        "AND EXCLUDED.duplicate_of_id <> l.id"
    )
    sets += [
        '"raw" = EXCLUDED."raw"',
        '"custom_fields" = l."custom_fields" || EXCLUDED."custom_fields"',
        '"normalized" = l."normalized" || EXCLUDED."normalized"',
        '"batch_id" = COALESCE(EXCLUDED."batch_id", l."batch_id")',
        '"updated_at" = EXCLUDED."updated_at"',
        f'"status" = CASE WHEN {became_duplicate} THEN EXCLUDED.status ELSE l.status END',
        f'"duplicate_of_id" = CASE WHEN {became_duplicate} THEN EXCLUDED.duplicate_of_id ELSE l.duplicate_of_id END',
        f'"status_changed_at" = CASE WHEN {became_duplicate} THEN EXCLUDED.status_changed_at ELSE l.status_changed_at END',
    ]
    sql = (
        f'INSERT INTO "{table}" AS l ({col_list}) '
        f'SELECT {col_list} FROM jsonb_populate_recordset(jsonb_populate_record(NULL::"{table}", %s::jsonb), '
        "%s::jsonb) WITH ORDINALITY AS r "
        "ORDER BY r.ordinality "
        "ON CONFLICT (source, external_id) WHERE external_id <> '' "
        f"DO UPDATE SET {', '.join(sets)} "
        "RETURNING id, (xmax = 0) AS inserted, status, duplicate_of_id"
    )
    # Server-side binding: the payload (hundreds of KB) travels as a parameter
    # instead of being quoted into the SQL text and parsed again by the server.
    with bound_cursor() as cursor:
        cursor.execute(sql, [json_text(base), json_text(payload)])
        return cursor.fetchall()


def _audit_ingested(events: list[tuple[int, str, str]], *, actor: str, now) -> None:
    if not events:
        return
    from leads.models import AuditEvent

    # Actions and statuses are plain lowercase words, so the array literals need no
    # quoting: joining them is far cheaper than adapting 3 x 5,000 list items.
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{AuditEvent._meta.db_table}" '
            "(lead_id, object_type, object_id, action, actor, from_status, to_status, changes, note, created_at) "
            "SELECT e.id, 'lead', e.id::text, e.action, %s, '', e.status, '{}'::jsonb, %s, %s "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS e(id, action, status)",
            [actor, "ingested", now, _array_literal(str(e[0]) for e in events),
             _array_literal(e[1] for e in events), _array_literal(e[2] for e in events)],
        )


def _array_literal(words) -> str:
    """A PostgreSQL array literal of values that need no quoting (numbers, plain words)."""
    return "{" + ",".join(words) + "}"


def _record_batch(batch: ImportBatch | None, results: list[RowResult], rows: list, first_index: int,
                  finish: bool = False) -> None:
    """Refused rows and progress counters of ``batch`` (one insert, one update)."""
    if batch is None or batch.pk is None:
        return
    refused = [r for r in results if r.outcome == Outcome.INVALID]
    if refused:
        ImportRowError.objects.bulk_create(
            [ImportRowError(batch_id=batch.pk, row_number=r.index + 1, raw=_json_safe(rows[r.index - first_index]),
                            errors=r.errors) for r in refused],
            batch_size=2000,
        )
    counts = summarize(results)
    ImportBatch.objects.filter(pk=batch.pk).update(
        total_rows=F("total_rows") + len(results),
        processed_rows=F("processed_rows") + len(results),
        created_count=F("created_count") + counts[Outcome.CREATED],
        updated_count=F("updated_count") + counts[Outcome.UPDATED],
        duplicate_count=F("duplicate_count") + counts[Outcome.DUPLICATE],
        invalid_count=F("invalid_count") + counts[Outcome.INVALID],
        **({"status": ImportBatch.Status.DONE, "finished_at": timezone.now()} if finish else {}),
    )


def _json_safe(row):
    # A refused row is kept as evidence; characters jsonb refuses are replaced, not dropped.
    if isinstance(row, dict):
        return storable(row)
    return {"value": storable(row)}
