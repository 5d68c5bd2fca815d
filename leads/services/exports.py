"""Exports: choose the leads, send them to one destination, remember who got what.

``export_create`` validates a request and stores a pending Export; ``export_start``
runs it now or queues it for a worker; ``export_run`` does the work. A lead goes to a
destination at most once (LeadDelivery), unless the export is forced; suppressed leads
never leave.
"""
import contextlib
import logging
import os
import threading
from datetime import datetime, timedelta, timezone as dt_timezone

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Case, CharField, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_tenants.utils import schema_context
from psycopg.types.json import Jsonb

from leads.exports.base import ChunkResult, Destination, ExportError
from leads.models import (
    AuditEvent, CsvTemplate, Export, ExportCandidate, ExportFormat, ExportIssue, ExportSettings, Lead, LeadDelivery, LeadStatus,
)
from leads.models.exports import FILE_FORMATS
from leads.services.audit import actor_label
from leads.services.suppression import suppressed_q

logger = logging.getLogger(__name__)

EXPORTABLE_STATUSES = (LeadStatus.APPROVED, LeadStatus.EXPORTED)
FILTER_KEYS = ("status", "source", "min_score", "verification_status", "created_after", "created_before", "ids")
# Formats whose destination is a campaign id the caller must give.
NEEDS_DESTINATION = (ExportFormat.INSTANTLY, ExportFormat.SMARTLEAD)


class ExportInvalid(Exception):
    """The export request is invalid; ``errors`` maps field -> messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("Invalid export request.")
        self.errors = errors


# --- choosing leads ----------------------------------------------------------------


def leads_for_export(filters: dict) -> QuerySet:
    """The leads matching validated ``filters`` (default: approved), in id order."""
    qs = Lead.objects.filter(status__in=filters.get("status") or [LeadStatus.APPROVED])
    if filters.get("source"):
        qs = qs.filter(source=filters["source"])
    if filters.get("min_score") is not None:
        qs = qs.filter(score__gte=filters["min_score"])
    if filters.get("verification_status"):
        qs = qs.filter(verification_status=filters["verification_status"])
    if filters.get("created_after"):
        qs = qs.filter(created_at__gte=filters["created_after"])
    if filters.get("created_before"):
        qs = qs.filter(created_at__lt=filters["created_before"])
    if filters.get("ids"):
        qs = qs.filter(pk__in=filters["ids"])
    return qs.order_by("pk")


def clean_filters(raw: dict | None) -> tuple[dict, dict[str, list[str]]]:
    """(JSON-safe filters, errors keyed ``filters.<name>``)."""
    raw = raw or {}
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, dict):
        return {}, {"filters": ["Must be an object."]}
    for key in raw:
        if key not in FILTER_KEYS:
            errors[f"filters.{key}"] = [f"Unknown filter. Use {', '.join(FILTER_KEYS)}."]
    clean: dict = {}
    status = raw.get("status", [LeadStatus.APPROVED])
    status = [status] if isinstance(status, str) else status
    if not isinstance(status, list) or not status or any(s not in EXPORTABLE_STATUSES for s in status):
        errors["filters.status"] = ["Only approved or exported leads can be exported."]
    else:
        clean["status"] = sorted(set(status))
    for key in ("source", "verification_status"):
        if raw.get(key) not in (None, ""):
            clean[key] = str(raw[key])
    if raw.get("min_score") not in (None, ""):
        try:
            clean["min_score"] = int(raw["min_score"])
        except (TypeError, ValueError):
            errors["filters.min_score"] = ["Must be a whole number."]
    for key in ("created_after", "created_before"):
        if raw.get(key) not in (None, ""):
            value = str(raw[key])
            try:
                parsed = parse_datetime(value) or (parse_date(value) and datetime.fromisoformat(value))
            except ValueError:  # well formed but impossible, e.g. 2026-02-30
                parsed = None
            if not parsed:
                errors[f"filters.{key}"] = ["Use an ISO date or date-time (2026-01-31 or 2026-01-31T12:00:00Z)."]
            else:
                if timezone.is_naive(parsed):
                    parsed = timezone.make_aware(parsed, dt_timezone.utc)
                clean[key] = parsed.isoformat()
    if raw.get("ids") not in (None, []):
        ids = raw["ids"]
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            errors["filters.ids"] = ["Must be a list of lead ids."]
        else:
            clean["ids"] = ids
    return clean, errors


def destination_key(*, format: str, destination: str, template: CsvTemplate | None) -> str:
    """The name leads are deduplicated on: the same campaign is the same destination."""
    if format == ExportFormat.CSV:
        return f"csv:{destination or template.name}"
    if format == ExportFormat.SALESFORCE:
        return f"salesforce:{destination or 'Lead'}"
    if format == ExportFormat.INSTANTLY_CSV:
        return f"instantly_csv:{destination}" if destination else "instantly_csv"
    return f"{format}:{destination}"


# --- creating and starting --------------------------------------------------------


def export_create(*, format: str, destination: str = "", template: str = "", filters: dict | None = None,
                  force: bool = False, user=None, api_key=None) -> Export:
    """Validate an export request and store it as pending (nothing is sent yet).

    Raises ExportInvalid with field errors."""
    errors: dict[str, list[str]] = {}
    destination = (destination or "").strip()
    if format not in ExportFormat.values:
        errors["format"] = [f"Unknown format. Use one of {', '.join(ExportFormat.values)}."]
    if format in NEEDS_DESTINATION and not destination:
        errors["destination"] = [f"The {format} campaign id is required."]
    if format == ExportFormat.SMARTLEAD and destination and not destination.isdigit():
        errors["destination"] = ["Smartlead campaign ids are numbers."]
    template_obj = None
    if format == ExportFormat.CSV:
        template_obj = CsvTemplate.objects.filter(name=template).first() if template else None
        if template_obj is None:
            names = ", ".join(CsvTemplate.objects.values_list("name", flat=True)) or "none defined yet (see admin)"
            errors["template"] = [f"Choose a CSV template by name: {names}."]
        elif not template_obj.columns.exists():
            errors["template"] = [f"The template '{template}' has no columns."]
    clean, filter_errors = clean_filters(filters)
    errors.update(filter_errors)
    if len(destination) > 150:
        errors["destination"] = ["At most 150 characters."]
    if errors:
        raise ExportInvalid(errors)
    key = destination_key(format=format, destination=destination, template=template_obj)
    return Export.objects.create(
        format=format, destination=key, template=template_obj, filters=clean, force=bool(force),
        total_count=leads_for_export(clean).count(),
        # Only a person is stored as creator; an API key caller is authenticated but no User.
        created_by=user if isinstance(user, get_user_model()) and user.is_authenticated else None,
        actor=actor_label(user=user, api_key=api_key),
    )


def export_start(*, export: Export, background: bool | None = None) -> bool:
    """Run the export now, or queue it for a worker when it is large (more than
    EXPORT_INLINE_MAX_LEADS leads) or ``background`` is true. Returns True when queued.
    The task is queued after the surrounding transaction commits."""
    if background is None:
        background = export.total_count > settings.EXPORT_INLINE_MAX_LEADS
    if not background:
        export_run(export_id=export.pk)
        export.refresh_from_db()
        return False
    from django_q.tasks import async_task

    schema, export_id = connection.schema_name, export.pk
    transaction.on_commit(lambda: async_task("leads.exports.tasks.export_run_task", schema, export_id,
                                             task_name=f"export-{schema}-{export_id}"))
    return True


# --- running ----------------------------------------------------------------------


def build_destination(export: Export, *, leads: QuerySet, clock=None, session=None) -> Destination:
    """The Destination object for an export, with the tenant's credentials."""
    from leads.exports import csvfile, instantly, salesforce, smartlead

    if export.format == ExportFormat.INSTANTLY_CSV:
        return csvfile.instantly_csv(custom_keys=custom_field_keys(leads))
    if export.format == ExportFormat.CSV:
        if export.template is None:
            raise ExportError("The CSV template of this export was deleted.")
        return csvfile.template_csv(export.template)
    creds = ExportSettings.current()
    target = export.destination.partition(":")[2]
    timeout = settings.EXPORT_HTTP_TIMEOUT
    if export.format == ExportFormat.INSTANTLY:
        return instantly.InstantlyDestination(base_url=settings.INSTANTLY_BASE_URL, api_key=creds.value("instantly_api_key"),
                                              campaign_id=target, session=session, timeout=timeout)
    if export.format == ExportFormat.SMARTLEAD:
        return smartlead.SmartleadDestination(base_url=settings.SMARTLEAD_BASE_URL, api_key=creds.value("smartlead_api_key"),
                                              campaign_id=target, clock=clock, session=session, timeout=timeout)
    return salesforce.SalesforceDestination(
        instance_url=creds.value("salesforce_instance_url"), token_url=creds.value("salesforce_token_url"),
        client_id=creds.value("salesforce_client_id"), client_secret=creds.value("salesforce_client_secret"),
        external_id_field=creds.value("salesforce_external_id_field"), api_version=creds.value("salesforce_api_version"),
        session=session, timeout=timeout,
    )


def custom_field_keys(leads: QuerySet) -> list[str]:
    """Every custom field key used by ``leads`` (one query), sorted."""
    sql, params = leads.order_by().values("custom_fields").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT jsonb_object_keys(sub.custom_fields) FROM ({sql}) sub "
                       f"WHERE jsonb_typeof(sub.custom_fields) = 'object'", params)
        return sorted(row[0] for row in cursor.fetchall())


def export_run(*, export_id: int, clock=None, session=None) -> Export:
    """Send a pending export's leads to its destination and record the outcome.

    Skips suppressed leads and (unless forced) leads already sent to the destination,
    each with its reason. Sent leads become ``exported`` (from ``approved``) with
    exported_at and export_destination. File exports are all-or-nothing; API exports
    record each accepted chunk at once, so a failure half-way never causes a resend.
    A second call for the same export does nothing. Returns the export."""
    # A run whose worker died long ago (beyond the task timeout) may be taken over.
    stale = timezone.now() - timedelta(seconds=settings.Q_CLUSTER.get("retry", 3600))
    claimed = Export.objects.filter(
        Q(status=Export.Status.PENDING) | Q(status=Export.Status.RUNNING, started_at__lt=stale), pk=export_id,
    ).update(status=Export.Status.RUNNING, started_at=timezone.now())
    export = Export.objects.get(pk=export_id)
    if not claimed:
        return export
    try:
        _run(export, clock=clock, session=session)
    except ExportError as exc:
        _finish(export, status=Export.Status.FAILED, error=str(exc))
    except Exception as exc:
        logger.exception("export %s failed", export.pk)
        _finish(export, status=Export.Status.FAILED, error=f"Unexpected error: {type(exc).__name__}")
        raise
    export.refresh_from_db()
    return export


def _lock_destination(export: Export) -> None:
    """Until the current transaction ends, no other export writes to this tenant's
    destination: two at once could both find the same leads not yet sent."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{connection.schema_name}:export:{export.destination}"])


def _without_jit() -> None:
    """Until the current transaction ends, PostgreSQL compiles no query to machine code.
    Export statements read each lead once, in one pass: JIT compilation of such a
    statement costs more than it saves (about 1 s of 1.3 s choosing 100,000 leads)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")


def _candidates(export: Export) -> QuerySet:
    """The filtered leads, each with why it must be skipped (NULL: send it)."""
    skip_when = [When(suppressed_q(), then=Value("on the do-not-contact list"))]
    if not export.force:
        delivered = Exists(LeadDelivery.objects.filter(lead=OuterRef("pk"), destination=export.destination))
        skip_when.append(When(delivered, then=Value(f"already sent to {export.destination}")))
    return leads_for_export(export.filters).annotate(skip_reason=Case(*skip_when, default=None, output_field=CharField()))


def _freeze(export: Export, *, target: str, columns: str, select: str, lock: bool = False) -> int:
    """Copy the export's candidates (id, skip reason, status) into ``target`` in one
    scan; returns how many. With ``lock``, the leads stay locked until the current
    transaction ends (see _run_file).

    The leads are then read from that fixed id list while the export inserts
    deliveries and updates leads; a live NOT EXISTS against the delivery table the
    same export is filling can turn quadratic."""
    candidates = _candidates(export)
    if lock:
        candidates = candidates.select_for_update(no_key=True, of=("self",))
    sql, params = candidates.order_by().values("pk", "skip_reason", "status").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {target} ({columns}) SELECT {select} FROM ({sql}) sub", params)
        total = cursor.rowcount
    Export.objects.filter(pk=export.pk).update(total_count=total)
    return total


def _run(export: Export, *, clock, session) -> None:
    if export.format in FILE_FORMATS:
        try:
            _run_file(export)
        except OSError as exc:  # disk full, storage unreachable: nothing was marked
            raise ExportError(f"The export file could not be written: {exc.strerror or exc}") from exc
    else:
        _run_push(export, clock=clock, session=session)


def _run_file(export: Export) -> None:
    """All or nothing, in one transaction: the candidates are frozen, the file is
    written (by PostgreSQL: COPY) and its leads are marked in three statements.

    The freeze locks the leads it takes (FOR NO KEY UPDATE, the lock the marking's
    UPDATE takes anyway), so that the file and the marking hold the same leads in the
    same state: an edit, merge, erasure or other export that would change one
    of them waits until this export ends, and then sees it exported. Marking only
    what is still approved instead would leave leads that are in the file but not
    recorded as sent. The lock costs one write per lead (about 0.1 s of database
    time for 100,000 leads) and lets the marking take each lead's status from the
    frozen table instead of reading the leads again.

    Marking is most of the work, all of it in this connection's database process.
    Unless the caller has a transaction open (another connection would not see its
    rows), a large file is written meanwhile from a second connection, in a thread,
    so that the two run on two cores; the file reads the committed leads, as it
    would before the marking here."""
    table = f"export_ids_{export.pk}"
    ids_sql = f"SELECT id FROM pg_temp.{table} WHERE skip_reason IS NULL"
    apart = not connection.in_atomic_block
    writer = None
    try:
        with transaction.atomic():
            _lock_destination(export)
            _without_jit()
            with connection.cursor() as cursor:
                # No primary key: the ids are the leads' own, and every statement that
                # reads them joins by hash or merge (an index would only slow the freeze).
                cursor.execute(f"CREATE TEMPORARY TABLE {table} (id bigint, skip_reason text, status text) ON COMMIT DROP")
            total = _freeze(export, target=f"pg_temp.{table}", columns="id, skip_reason, status",
                            select="sub.pk, sub.skip_reason, sub.status", lock=True)
            skipped = _record_skipped(export, f"SELECT id, skip_reason FROM pg_temp.{table} WHERE skip_reason IS NOT NULL")
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE pg_temp.{table}")
                if apart and PARALLEL_FILE_MIN_LEADS <= total - skipped <= PARALLEL_FILE_MAX_LEADS:
                    # The other connection cannot read this one's temporary table: it
                    # gets the ids as one text (in any order: the file's query sorts).
                    cursor.execute(f"SELECT string_agg(id::text, ',') FROM ({ids_sql}) ids")
                    writer = _FileWriter(export, ids_sql="SELECT id FROM pg_temp.export_file_ids")
                    writer.start(id_list=cursor.fetchone()[0])
            if writer is None:
                writer = _FileWriter(export, ids_sql=ids_sql)
                writer.run()
            with connection.cursor() as cursor:
                # Not forced: the frozen set holds no lead already sent here, and the
                # destination lock keeps it so until commit.
                sent = _mark_sent(cursor, export, now=timezone.now(), params=[], fresh=not export.force,
                                  source=f"SELECT id, '' AS remote_id, status FROM pg_temp.{table} WHERE skip_reason IS NULL")
            writer.finish()  # raises what the file writing raised: nothing is marked then
            _store_file(export, writer.destination.path)
            _add_counts(export, sent=sent)
    finally:
        if writer is not None:
            writer.discard()
    _finish(export, status=Export.Status.DONE)


# Below this many leads a second connection costs more than writing the file
# alongside the marking saves. Above the maximum the file is written in the
# marking's connection: the id list handed to the other one costs memory (about
# 8 bytes per lead, held several times over while it is sent: 1,000,000 leads
# took the export's peak from 97 to 142 MB), and an export's memory must not grow
# with its size.
PARALLEL_FILE_MIN_LEADS = 5000
PARALLEL_FILE_MAX_LEADS = 200_000


class _FileWriter:
    """Writes a file export's leads (ids from ``ids_sql``) to its destination's file,
    here (``run``) or in a thread with its own connection (``start``)."""

    def __init__(self, export: Export, *, ids_sql: str):
        self.export, self.ids_sql = export, ids_sql
        self.schema = connection.schema_name
        self.destination: Destination | None = None
        self.error: BaseException | None = None
        self._id_list: str | None = None
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        leads = Lead.objects.filter(pk__in=RawSQL(self.ids_sql, ())).order_by("pk")
        self.destination = build_destination(self.export, leads=leads)
        self.destination.open()
        _write_file(self.destination, leads, ids_sql=self.ids_sql)
        self.destination.close(success=True)

    def start(self, *, id_list: str) -> None:
        """Run in a thread, on the ids of ``id_list`` (comma-separated), which the
        thread's connection loads into its own temporary table export_file_ids."""
        self._id_list = id_list  # not a thread argument: those live as long as the thread
        self._thread = threading.Thread(target=self._run_apart, name=f"export-{self.export.pk}-file", daemon=True)
        self._thread.start()

    def _run_apart(self) -> None:
        try:
            with schema_context(self.schema), transaction.atomic():
                _without_jit()
                with connection.cursor() as cursor:
                    cursor.execute("CREATE TEMPORARY TABLE export_file_ids ON COMMIT DROP AS "
                                   "SELECT unnest(string_to_array(%s, ','))::bigint AS id", [self._id_list])
                    self._id_list = None
                    cursor.execute("ANALYZE pg_temp.export_file_ids")
                self.run()
        except BaseException as exc:  # handed to the caller by finish()
            self.error = exc
        finally:
            connection.close()  # this thread's own connection

    def finish(self) -> None:
        if self._thread is not None:
            self._thread.join()
        if self.error is not None:
            raise self.error

    def discard(self) -> None:
        """Wait for the thread, then remove the temporary file (stored by now, or failed)."""
        if self._thread is not None:
            self._thread.join()
        if self.destination is not None:
            self.destination.close(success=False)
            if self.destination.path:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.destination.path)


def _write_file(destination: Destination, leads: QuerySet, *, ids_sql: str) -> None:
    """Pass the leads to the file destination in chunks of EXPORT_CHUNK_SIZE, in id order.

    When every column has an SQL version, the database makes the finished cells and
    the CSV rows (COPY TO STDOUT), streamed into the file: no per-lead Python work
    but ending the line, constant memory. Otherwise lead dicts, formatted in Python."""
    chunk_size = settings.EXPORT_CHUNK_SIZE
    statement = destination.copy_sql(lead_table=Lead._meta.db_table, ids_sql=ids_sql)
    if statement is not None:
        # psycopg binds COPY parameters client-side; Django's debug cursor would take none.
        with connection.cursor() as cursor, cursor.cursor.copy(*statement) as copy:
            destination.write_copied(copy, chunk_size=chunk_size)
        return
    chunk: list[dict] = []
    for row in leads.values(*destination.fields).iterator(chunk_size=chunk_size):
        chunk.append(row)
        if len(chunk) >= chunk_size:
            destination.send(chunk)
            chunk = []
    if chunk:
        destination.send(chunk)


def _run_push(export: Export, *, clock, session) -> None:
    """Chunk by chunk, each in its own short transaction: read a batch the destination
    takes in one request, send it, record what it accepted, commit. A failure stops
    the export but keeps what was already accepted, so nothing is ever sent twice.

    A chunk's leads are locked when it reads them, until it is recorded, and only
    those still in one of the export's statuses are sent: a lead archived, merged or
    erased since the freeze is skipped with what happened to it."""
    candidate_table = ExportCandidate._meta.db_table
    details: dict[str, int] = {}
    destination = build_destination(export, leads=Lead.objects.none(), clock=clock, session=session)
    try:
        with transaction.atomic():
            _without_jit()
            ExportCandidate.objects.filter(export=export).delete()  # left by a run whose worker died
            _freeze(export, target=candidate_table, columns="export_id, lead_id, skip_reason",
                    select=f"{int(export.pk)}, sub.pk, sub.skip_reason")
            _record_skipped(export, f"SELECT lead_id AS id, skip_reason FROM {candidate_table} "
                                    f"WHERE export_id = {int(export.pk)} AND skip_reason IS NOT NULL")
        destination.open()
        chunk_size = max(1, min(settings.EXPORT_CHUNK_SIZE, destination.batch_size))
        pending = ExportCandidate.objects.filter(export=export, skip_reason__isnull=True).order_by("lead_id")
        statuses = export.filters.get("status") or [LeadStatus.APPROVED]
        fields = dict.fromkeys(("id", "status", *destination.fields))  # what the lock reads is what is sent
        last = 0
        while ids := list(pending.filter(lead_id__gt=last).values_list("lead_id", flat=True)[:chunk_size]):
            last = ids[-1]
            with transaction.atomic():
                _lock_destination(export)
                rows = list(Lead.objects.select_for_update(no_key=True).filter(pk__in=ids, status__in=statuses)
                            .order_by("pk").values(*fields))
                status_of = {row["id"]: row["status"] for row in rows}
                if len(status_of) < len(ids):
                    _record_changed(export, [i for i in ids if i not in status_of], details)
                if not export.force:
                    # Another export may have sent some of them since the snapshot.
                    taken = set(LeadDelivery.objects.filter(lead_id__in=status_of, destination=export.destination)
                                .values_list("lead_id", flat=True))
                    if taken:
                        _record(export, ChunkResult(skipped=[(i, f"already sent to {export.destination}") for i in sorted(taken)]),
                                details, rows=rows)
                        rows = [row for row in rows if row["id"] not in taken]
                if rows:
                    _record(export, destination.send(rows), details, rows=rows, status_of=status_of)
        destination.close(success=True)
    finally:
        ExportCandidate.objects.filter(export=export).delete()
        if details:
            export.refresh_from_db(fields=["details"])
            Export.objects.filter(pk=export.pk).update(details={**export.details, **details})
    _finish(export, status=Export.Status.DONE)


def _record_changed(export: Export, lead_ids: list[int], details: dict[str, int]) -> None:
    """Skip the leads of a chunk that left the export's statuses (or were deleted) since the freeze."""
    current = {pk: (status, email)
               for pk, status, email in Lead.objects.filter(pk__in=lead_ids).values_list("pk", "status", "email")}
    skipped = [(i, f"now '{current[i][0]}': changed after the export started" if i in current
                else "deleted after the export started") for i in lead_ids]
    _record(export, ChunkResult(skipped=skipped), details, rows=[{"id": i, "email": current[i][1]} for i in current])


def _record_skipped(export: Export, source: str) -> int:
    """Store an issue for every (id, skip_reason) of ``source`` and count them; returns how many."""
    issue_table, lead_table = ExportIssue._meta.db_table, Lead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {issue_table} (export_id, lead_id, email, outcome, reason) "
            f"SELECT %s, src.id, l.email, %s, src.skip_reason FROM ({source}) src JOIN {lead_table} l ON l.id = src.id "
            f"ORDER BY src.id",
            [export.pk, ExportIssue.Outcome.SKIPPED],
        )
        skipped = cursor.rowcount
    if skipped:
        _add_counts(export, skipped=skipped)
    return skipped


def _store_file(export: Export, path: str) -> None:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    name = f"export-{export.pk}-{export.format}-{stamp}.csv"
    with open(path, "rb") as handle:
        export.file.save(name, File(handle), save=False)
    Export.objects.filter(pk=export.pk).update(file=export.file.name)


def _finish(export: Export, *, status: str, error: str = "") -> None:
    Export.objects.filter(pk=export.pk).update(status=status, error_message=error[:2000], finished_at=timezone.now())
    AuditEvent.objects.create(object_type="export", object_id=str(export.pk), action=f"export_{status}",
                              actor=export.actor or "system", user=export.created_by, note=error[:500],
                              changes={"destination": export.destination, "format": export.format})


def _add_counts(export: Export, *, sent: int = 0, skipped: int = 0, failed: int = 0) -> None:
    Export.objects.filter(pk=export.pk).update(
        sent_count=F("sent_count") + sent, skipped_count=F("skipped_count") + skipped, failed_count=F("failed_count") + failed)


def _record(export: Export, result: ChunkResult, details: dict[str, int], *, rows: list[dict],
            status_of: dict[int, str] | None = None) -> None:
    """Bookkeeping for one chunk, set-based: deliveries upserted, leads marked exported
    (with an audit event for each approved -> exported), issues stored, counts added.
    ``status_of`` maps each sent lead to its status, read under the lock the caller holds.

    Runs in the caller's chunk transaction, without a savepoint of its own: updating
    the locked leads from a savepoint would make PostgreSQL keep the chunk's lock
    beside the update, as a MultiXact per lead."""
    for key, value in result.details.items():
        details[key] = details.get(key, 0) + value
    now = timezone.now()
    issue_table = ExportIssue._meta.db_table
    with connection.cursor() as cursor:
        if result.sent:
            _mark_sent(cursor, export, now=now,
                       source="SELECT d.id, d.remote_id, d.status FROM unnest(%s::bigint[], %s::text[], %s::text[]) "
                              "AS d(id, remote_id, status)",
                       params=[[lead_id for lead_id, _ in result.sent], [remote_id for _, remote_id in result.sent],
                               [status_of[lead_id] for lead_id, _ in result.sent]])
        for outcome, items in ((ExportIssue.Outcome.SKIPPED, result.skipped), (ExportIssue.Outcome.FAILED, result.failed)):
            if items:
                emails = {row["id"]: row["email"] for row in rows}
                cursor.execute(
                    f"INSERT INTO {issue_table} (export_id, lead_id, email, outcome, reason) "
                    f"SELECT %s, d.id, d.email, %s, d.reason FROM unnest(%s::bigint[], %s::text[], %s::text[]) "
                    f"AS d(id, email, reason)",
                    [export.pk, outcome, [i for i, _ in items], [emails.get(i, "") for i, _ in items],
                     [reason[:1000] for _, reason in items]],
                )
        _add_counts(export, sent=len(result.sent), skipped=len(result.skipped), failed=len(result.failed))


def _mark_sent(cursor, export: Export, *, now, source: str, params: list, fresh: bool = False) -> int:
    """Record the leads of ``source`` (SQL yielding ``id, remote_id, status``) as sent:
    delivery upserted, approved -> exported with an audit event, exported_at and
    destination set. Three statements, whatever the number of leads. Returns how many.

    The caller holds a lock on these leads, taken when it read them, and ``status``
    is what it read: no other transaction can have changed or deleted them since, so
    the audit events come from ``source`` alone, without reading the leads again.

    ``fresh``: the caller guarantees none of them has a delivery to this destination
    yet, so a plain INSERT does (a speculative ON CONFLICT insert costs more per row)."""
    lead_table, audit_table, delivery_table = Lead._meta.db_table, AuditEvent._meta.db_table, LeadDelivery._meta.db_table
    upsert = "" if fresh else (
        "ON CONFLICT (lead_id, destination) DO UPDATE SET export_id = EXCLUDED.export_id, "
        "remote_id = EXCLUDED.remote_id, delivered_at = EXCLUDED.delivered_at")
    cursor.execute(
        f"INSERT INTO {delivery_table} (lead_id, destination, export_id, remote_id, delivered_at) "
        f"SELECT src.id, %s, %s, src.remote_id, %s FROM ({source}) AS src {upsert}",
        [export.destination, export.pk, now, *params],
    )
    count = cursor.rowcount
    cursor.execute(
        f"INSERT INTO {audit_table} (lead_id, object_type, object_id, action, actor, user_id, from_status, "
        f"to_status, changes, note, created_at) "
        f"SELECT src.id, 'lead', src.id::text, 'exported', %s, %s, %s, %s, %s, '', %s "
        f"FROM ({source}) AS src WHERE src.status = %s",
        [export.actor or "system", export.created_by_id, LeadStatus.APPROVED, LeadStatus.EXPORTED,
         Jsonb({"export_destination": [None, export.destination]}), now, *params, LeadStatus.APPROVED],
    )
    cursor.execute(
        f"UPDATE {lead_table} l SET "
        f"status_changed_at = CASE WHEN l.status = %s THEN %s ELSE l.status_changed_at END, "
        f"status = %s, exported_at = %s, export_destination = %s, updated_at = %s "
        f"FROM ({source}) AS src WHERE src.id = l.id",
        [LeadStatus.APPROVED, now, LeadStatus.EXPORTED, now, export.destination, now, *params],
    )
    return count
