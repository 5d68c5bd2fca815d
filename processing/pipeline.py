"""The lead pipeline: the one way a lead is processed, whoever asks (API, command, task).

Contract (other parts rely on these two functions):

``prepare_incoming(leads)`` runs inline at ingestion on *unsaved* Lead objects,
before they are inserted: normalization and exact-key deduplication. It sets the
derived fields and status (``normalized``, or ``duplicate`` with ``duplicate_of``).

``process_leads(lead_ids, actor=...)`` runs the remaining stages on saved leads
(whatever status they are in) and returns counts by resulting status.

Stages, in life-cycle order (ARCHITECTURE.md):

    new --normalize--> normalized --dedupe--> (duplicate | normalized)
        --enrich--> enriched --verify--> verified --score--> pending_review

A lead starts at the stage its status calls for; a lead in ``error`` starts over
at the stage that failed (``error_stage``). Leads past ``verified`` (in review,
decided, exported, duplicates, archived) are left alone, so running again changes
nothing. Each chunk of ``settings.BATCH_SIZE`` leads is one transaction; a stage
that raises for one lead sends that lead to ``error`` and the others go on.
"""
import contextlib
import gc
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import compress
from operator import is_not, itemgetter

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from leads.models import AuditEvent, Lead, LeadStatus, TenantSettings
from processing import enrichment, verification
from processing.bulk import AUDIT_COLUMNS, EventRow, bulk_update_values, copy_rows, load_instances
from processing.claims import PROCESSABLE_STATUSES
from processing.deduplication import SURVIVORSHIP_FIELDS, dedupe_incoming, dedupe_leads
from processing.models.providers import ProviderKind
from processing.providers.registry import provider_configs
from processing.scoring import score_leads
from processing.timing import STAGE_SECONDS, timed as _timed  # noqa: F401 (STAGE_SECONDS is read by benchmarks)

NORMALIZE, DEDUPE, ENRICH, VERIFY, SCORE = "normalize", "dedupe", "enrich", "verify", "score"
STAGES = (NORMALIZE, DEDUPE, ENRICH, VERIFY, SCORE)
# The stage a lead in each status goes to next: one for each of claims.AWAITING_STATUSES
# (a lead in error goes back to the stage that failed).
NEXT_STAGE = {
    LeadStatus.NEW: NORMALIZE,
    LeadStatus.NORMALIZED: DEDUPE,
    LeadStatus.ENRICHED: VERIFY,
    LeadStatus.VERIFIED: SCORE,
}
# The status a lead has after passing each stage.
STATUS_AFTER = {
    NORMALIZE: LeadStatus.NORMALIZED,
    DEDUPE: LeadStatus.NORMALIZED,
    ENRICH: LeadStatus.ENRICHED,
    VERIFY: LeadStatus.VERIFIED,
    SCORE: LeadStatus.PENDING_REVIEW,
}

# Everything a stage may change; written once per chunk.
WRITTEN_FIELDS = [
    *SURVIVORSHIP_FIELDS, "normalized", "status", "status_changed_at", "possible_duplicate_of", "merge_history",
    "score", "score_breakdown", "enrichment", "enriched_at", "verification", "verification_status", "verified_at",
    "error_stage", "error_message", "attempts", "next_attempt_at", "updated_at",
]
_TRACKED_FIELDS = [name for name in WRITTEN_FIELDS if name != "updated_at"]
_WRITTEN_ATTNAMES = [Lead._meta.get_field(name).attname for name in _TRACKED_FIELDS]
_written_values = itemgetter(*_WRITTEN_ATTNAMES)
# Positions of the contact, key and merge columns among them.
_CONTACT_COLUMNS = {i for i, name in enumerate(_TRACKED_FIELDS) if name in (*SURVIVORSHIP_FIELDS, "normalized",
                                                                              "merge_history")}
ERROR_FIELDS = ["status", "status_changed_at", "error_stage", "error_message", "attempts", "updated_at"]
# What no stage reads: the row as received, the claim, review and export
# bookkeeping, and updated_at (set at the write). Left out of the chunk load (raw
# and custom_fields are a third of a lead's bytes); they stay deferred, so
# reading one still works.
UNREAD_FIELDS = ("raw", "custom_fields", "batch", "claimed_by", "claimed_until", "reviewed_by", "reviewed_at",
                 "review_note", "exported_at", "export_destination", "created_at", "updated_at")
LEASE_FIELDS = ["claimed_by", "claimed_until"]
# A worker's chunk also reads the lease, to drop its own in the chunk's write.
UNREAD_BY_LEASE_HOLDER = tuple(name for name in UNREAD_FIELDS if name not in LEASE_FIELDS)


def transition_row(lead_id: int, from_status: str, to_status: str, *, actor: str, note: str, at) -> tuple:
    """A ``status_changed`` audit event as a row of ``AUDIT_COLUMNS``."""
    return (lead_id, "lead", str(lead_id), "status_changed", actor, None, from_status, to_status, "{}", note, at)


def write_events(events: list[EventRow], *, now, rows: Sequence[tuple] = ()) -> None:
    """Insert audit events, and audit rows already laid out as ``AUDIT_COLUMNS``,
    in one COPY (see processing.bulk)."""
    for event in events:
        event.created_at = event.created_at or now
    copy_rows(AuditEvent, AUDIT_COLUMNS, [*(event.row() for event in events), *rows])


def _normalize(leads: Sequence[Lead], *, default_region: str) -> None:
    # Imported here: normalization is its own module with its own release pace,
    # and the pipeline must import even while it is being rebuilt.
    from processing.normalization import normalize_leads

    normalize_leads(list(leads), default_region=default_region)


def prepare_incoming(leads: list[Lead], *, external_ids_checked: bool = False, normalized: bool = False,
                     settings: TenantSettings | None = None) -> None:
    """Inline stage at ingestion: normalization and exact-key deduplication of
    *unsaved* leads, against the database and within the list. Sets the derived
    fields and ``status`` (``normalized``, or ``duplicate`` with ``duplicate_of``;
    an in-list survivor is an unsaved object of the list, so insert non-duplicates
    first). Takes advisory locks on the keys: call it inside the transaction that
    inserts the leads, so two concurrent ingestions never leave two survivors.
    ``external_ids_checked``: the caller already looked up every
    ``(source, external_id)`` and gave a lead whose pair is stored that lead's pk
    (the ingestion service does), so deduplication does not look them up again.
    ``normalized``: the caller already ran ``normalize_leads`` on them (the
    ingestion service does it before taking any lock, see ``prepare_rows``).
    ``settings``: the tenant's settings, when the caller has them at hand."""
    tenant_settings = settings or TenantSettings.current()
    if not normalized:
        with _timed(NORMALIZE):
            _normalize(leads, default_region=tenant_settings.default_region)
    for lead in leads:
        lead.status = LeadStatus.NORMALIZED
    with _timed("exact_dedupe"):
        dedupe_incoming(leads, settings=tenant_settings, external_ids_checked=external_ids_checked)


def process_leads(lead_ids: Iterable[int], *, actor: str = "pipeline", lease_holder: str | None = None,
                  finish: Callable[[dict[str, int]], None] | None = None) -> dict[str, int]:
    """Move the given leads through the stages up to ``pending_review``, in chunks
    of ``settings.BATCH_SIZE`` (one transaction each, two when a provider stage
    calls a remote provider: see ``_process_chunk``). Returns counts by resulting
    status of the leads it processed (leads it had nothing to do for are not
    counted). ``lease_holder``: the worker that claimed the leads
    (processing.claims); its leases on the leads processed are dropped by the
    chunk's own write rather than by one more update of every lead. ``finish``
    is called with the counts inside the last transaction, so what it writes
    commits together with the last chunk."""
    ids = sorted(set(lead_ids))
    tenant_settings = TenantSettings.current()
    remote = remote_providers(tenant_settings)
    counts: Counter = Counter()
    size = django_settings.BATCH_SIZE
    starts = range(0, len(ids), size)
    for start in starts:
        last = start == starts[-1]
        with _collector_paused():
            counts.update(_process_chunk(
                ids[start:start + size], tenant_settings=tenant_settings, actor=actor, lease_holder=lease_holder,
                remote_providers=remote,
                finish=(lambda chunk_counts: finish(dict(counts + chunk_counts))) if finish and last else None))
    if finish is not None and not ids:
        with transaction.atomic():
            finish({})
    return dict(counts)


def remote_providers(tenant_settings: TenantSettings) -> bool:
    """Whether the tenant's enrichment or verification stage may call a remote
    provider: a paid provider that is on and has a key, or MX look-ups."""
    kinds = {kind for kind, on in ((ProviderKind.ENRICHMENT, tenant_settings.enrichment_enabled()),
                                   (ProviderKind.VERIFICATION, tenant_settings.verification_enabled())) if on}
    if not kinds:
        return False
    if ProviderKind.VERIFICATION in kinds and django_settings.VERIFY_MX:
        return True
    return any(config.enabled and config.paid and config.kind in kinds and config.api_key()
               for config in provider_configs())


@contextlib.contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector for one chunk. A chunk allocates
    tens of thousands of objects (leads, candidates, blocks, score breakdowns)
    that live until its end, so the collector would run hundreds of times per
    chunk, each time walking the process's long-lived objects (the memo caches of
    normalization and matching: 40 % of the pipeline's CPU time in the benchmark)
    and freeing nothing. Reference counting still frees everything as usual; what
    is cyclic waits for the collector's next run, right after the chunk."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Run:
    """One chunk's bookkeeping: where each lead is, which transitions happened.
    (``lead.id`` rather than ``lead.pk`` in here: the property costs a call, and
    these run several times per lead.)"""

    def __init__(self, leads: list[Lead], actor: str):
        self.now = timezone.now()
        self.actor = actor
        self.stage: dict[int, str] = {}
        self.failed: dict[int, Lead] = {}
        self.deferred: dict[int, Lead] = {}
        self.events: list[EventRow] = []
        # Status changes as audit rows ready for COPY (see write_events).
        self.transitions: list[tuple] = []
        for lead in leads:
            if lead.status == LeadStatus.ERROR:
                stage = lead.error_stage if lead.error_stage in STAGES else NORMALIZE
                if stage == DEDUPE and not lead.normalized:
                    stage = NORMALIZE  # its normalization was not kept (see _process_chunk)
                self.stage[lead.id] = stage
            else:
                self.stage[lead.id] = NEXT_STAGE[lead.status]

    def next_transaction(self) -> None:
        """Forget what the previous transaction wrote (its events and failures);
        where each remaining lead stands is kept."""
        self.failed, self.deferred, self.events, self.transitions = {}, {}, [], []

    def at(self, leads: Iterable[Lead], stage: str) -> list[Lead]:
        return [l for l in leads if self.stage.get(l.id) == stage]

    def transition(self, lead: Lead, to_status: str, *, stage: str, note: str = "") -> None:
        if lead.status != to_status:
            self.transitions.append(transition_row(lead.id, lead.status, to_status, actor=self.actor,
                                                   note=note or f"stage {stage}", at=self.now))
            lead.status = to_status
            lead.status_changed_at = self.now

    def passed(self, leads: Iterable[Lead], stage: str, note: str = "") -> None:
        following = STAGES[STAGES.index(stage) + 1] if stage != SCORE else None
        to_status, note = STATUS_AFTER[stage], f"stage {stage}" + (f": {note}" if note else "")
        for lead in leads:
            if lead.status != to_status:
                self.transition(lead, to_status, stage=stage, note=note)
            if lead.error_stage:
                lead.error_stage, lead.error_message = "", ""
            lead.next_attempt_at = None
            self.stage[lead.id] = following

    def fail(self, lead: Lead, stage: str, message: str) -> None:
        self.transition(lead, LeadStatus.ERROR, stage=stage, note=message[:500])
        lead.error_stage, lead.error_message = stage, message
        lead.attempts = (lead.attempts or 0) + 1
        self.failed[lead.id] = lead
        self.stage.pop(lead.id, None)

    def defer(self, lead: Lead) -> None:
        self.deferred[lead.id] = lead
        self.stage.pop(lead.id, None)


def _isolated(fn: Callable[[list[Lead]], object], leads: list[Lead]) -> tuple[list[Lead], list[tuple[Lead, str]]]:
    """Run ``fn`` over the leads; when it raises, run it lead by lead to find the
    ones that fail (each attempt in a savepoint so a database error stays local)."""
    try:
        with transaction.atomic():
            fn(leads)
        return leads, []
    except Exception as exc:
        if len(leads) == 1:
            return [], [(leads[0], f"{type(exc).__name__}: {exc}"[:2000])]
    ok, failed = [], []
    for lead in leads:
        try:
            with transaction.atomic():
                fn([lead])
            ok.append(lead)
        except Exception as exc:  # the lead's own failure, recorded on it
            failed.append((lead, f"{type(exc).__name__}: {exc}"[:2000]))
    return ok, failed


def _provider_stage(run: _Run, leads: list[Lead], stage: str, fn) -> None:
    todo = run.at(leads, stage)
    if not todo:
        return
    results = []
    ok, failed = _isolated(lambda group: results.append(fn(group)), todo)
    for lead, message in failed:
        run.fail(lead, stage, message)
    passed, deferred, stage_failed = [], [], []
    for result in results:
        passed += result.passed
        deferred += result.deferred
        stage_failed += result.failed
    for lead, message in stage_failed:
        run.fail(lead, stage, str(message))
    for lead in deferred:
        run.defer(lead)
    note = next((result.note for result in results if result.note), "")
    run.passed([l for l in passed if l.id not in run.failed and l.id not in run.deferred], stage, note=note)


def _process_chunk(ids: list[int], *, tenant_settings: TenantSettings, actor: str, lease_holder: str | None,
                   remote_providers: bool, finish: Callable[[Counter], None] | None = None) -> Counter:
    """One chunk: normally one transaction. When a provider stage will call a
    remote provider, what normalization and deduplication decided is committed
    first, in a transaction of its own: deduplication holds advisory locks on the
    chunk's match keys until its transaction ends, and every ingestion into the
    tenant waits on them, so they must not be held while providers answer
    (seconds per call, minutes with retries). The leases stay until the second
    transaction's write. ``finish`` runs in the last transaction, with the counts."""
    with transaction.atomic():
        with _timed("load"):
            leads = load_instances(Lead, ids, skip=UNREAD_BY_LEASE_HOLDER if lease_holder else UNREAD_FIELDS,
                                   where="AND status = ANY(%s)", params=[list(PROCESSABLE_STATUSES)])
        if not leads:
            return _finished(leads, finish)
        run = _Run(leads, actor)
        # What each lead holds now, to write only the columns some stage changed:
        # a lead coming from ingestion is already normalized, and rewriting its
        # ~25 contact and key columns costs more than the rest of the update.
        # Stages assign new values (never mutate a loaded dict or list in place),
        # so identity or equality tells what changed.
        loaded = [_written_values(lead.__dict__) for lead in leads]
        _settle(run, leads, tenant_settings=tenant_settings, actor=actor)
        if not (remote_providers and (run.at(leads, ENRICH) or run.at(leads, VERIFY))):
            _provider_and_score_stages(run, leads, tenant_settings=tenant_settings)
            _write(run, leads, loaded, lease_holder=lease_holder)
            return _finished(leads, finish)
        _write(run, leads, loaded, lease_holder=None)
    rest = [lead for lead in leads if run.stage.get(lead.id) in (ENRICH, VERIFY, SCORE)]
    with transaction.atomic():
        run.next_transaction()
        loaded = [_written_values(lead.__dict__) for lead in rest]
        _provider_and_score_stages(run, rest, tenant_settings=tenant_settings)
        _write(run, rest, loaded, lease_holder=lease_holder)
        return _finished(leads, finish)


def _finished(leads: list[Lead], finish: Callable[[Counter], None] | None) -> Counter:
    counts = Counter(lead.status for lead in leads)
    if finish is not None:
        finish(counts)
    return counts


def _settle(run: _Run, leads: list[Lead], *, tenant_settings: TenantSettings, actor: str) -> None:
    """The normalize and dedupe stages."""
    todo = run.at(leads, NORMALIZE)
    if todo:
        with _timed(NORMALIZE):
            ok, failed = _isolated(
                lambda group: _normalize(group, default_region=tenant_settings.default_region), todo)
        for lead, message in failed:
            run.fail(lead, NORMALIZE, message)
        run.passed(ok, NORMALIZE)

    todo = run.at(leads, DEDUPE)
    if todo:
        merged_away: list[Lead] = []

        def dedupe(group):
            gone, events = dedupe_leads(group, settings=tenant_settings, actor=actor)
            merged_away.extend(gone)
            run.events.extend(events)

        with _timed(DEDUPE):
            ok, failed = _isolated(dedupe, todo)
        for lead, message in failed:
            run.fail(lead, DEDUPE, message)
        gone_ids = {l.id for l in merged_away}
        for lead in merged_away:
            run.stage.pop(lead.id, None)
        run.passed([l for l in ok if l.id not in gone_ids], DEDUPE)


def _provider_and_score_stages(run: _Run, leads: list[Lead], *, tenant_settings: TenantSettings) -> None:
    with _timed(ENRICH):
        _provider_stage(run, leads, ENRICH, lambda group: enrichment.enrich_leads(group, settings=tenant_settings))
    with _timed(VERIFY):
        _provider_stage(run, leads, VERIFY, lambda group: verification.verify_leads(group, settings=tenant_settings))

    todo = run.at(leads, SCORE)
    if todo:
        with _timed(SCORE):
            ok, failed = _isolated(lambda group: score_leads(group, settings=tenant_settings), todo)
        for lead, message in failed:
            run.fail(lead, SCORE, message)
        run.passed(ok, SCORE)


def _write(run: _Run, leads: list[Lead], loaded: list[tuple], *, lease_holder: str | None) -> None:
    """Write what the stages changed, and the audit events; with ``lease_holder``,
    drop that worker's leases on the leads too."""
    with _timed("write"):
        lease = LEASE_FIELDS if lease_holder else []
        for lead in leads:
            lead.updated_at = run.now
            # A lease another worker took meanwhile (ours expired) is written back as read.
            if lease and lead.claimed_by == lease_holder:
                lead.claimed_by, lead.claimed_until = "", None
        # A lead that failed before it was deduplicated keeps what it had (its new
        # keys could clash with a survivor's): only its error is written. One that
        # failed later keeps the stages it passed, so a retry starts where it failed.
        early = {pk for pk, lead in run.failed.items() if lead.error_stage in (NORMALIZE, DEDUPE)}
        changed = _changed_columns(leads, loaded)
        # Leads merged away first: the unique email index allows one survivor.
        # The rest in two statements, so the common update stays narrow (status,
        # verification, score): leads whose contact data changed (normalized
        # now, or filled by a merge), then the others.
        duplicates = [l for l in leads if l.status == LeadStatus.DUPLICATE]
        rest = [l for l in leads if l.status != LeadStatus.DUPLICATE and l.id not in early]
        reshaped = [l for l in rest if changed[l.id] & _CONTACT_COLUMNS]
        plain = [l for l in rest if not changed[l.id] & _CONTACT_COLUMNS]
        for group in (duplicates, reshaped, plain):
            bulk_update_values(Lead, group, _fields(group, changed) + lease)
        bulk_update_values(Lead, [run.failed[pk] for pk in early], ERROR_FIELDS + lease)
        write_events(run.events, now=run.now, rows=run.transitions)


def _changed_columns(leads: list[Lead], loaded: list[tuple]) -> dict[int, set[int]]:
    """Per lead, the positions in WRITTEN_FIELDS of the values that differ from
    ``loaded``. Stages assign new values, so most columns still hold the very
    object loaded: an identity test in C sorts those out, ``!=`` checks the rest."""
    changed = {}
    positions = range(len(_WRITTEN_ATTNAMES))
    for lead, before in zip(leads, loaded):
        after = _written_values(lead.__dict__)
        changed[lead.id] = {i for i in compress(positions, map(is_not, before, after)) if before[i] != after[i]}
    return changed


def _fields(leads: list[Lead], changed: dict[int, set[int]]) -> list[str]:
    """The WRITTEN_FIELDS some of ``leads`` changed, and ``updated_at``: one column
    list for the group keeps it one statement."""
    columns = set().union(*(changed[lead.id] for lead in leads)) if leads else set()
    return [_TRACKED_FIELDS[i] for i in sorted(columns)] + ["updated_at"]


def rescore_leads(lead_ids: Sequence[int], *, tenant_settings: TenantSettings | None = None) -> int:
    """Score the given leads again with the current weights and rules (after the
    tenant changed them), whatever their status; writes only score and
    breakdown, set-based per chunk. Returns how many scores changed."""
    tenant_settings = tenant_settings or TenantSettings.current()
    changed = 0
    size = django_settings.BATCH_SIZE
    ids = sorted(set(lead_ids))
    for start in range(0, len(ids), size):
        with transaction.atomic():
            leads = list(Lead.objects.filter(pk__in=ids[start:start + size]).order_by("pk"))
            before = {l.pk: (l.score, l.score_breakdown) for l in leads}
            score_leads(leads, settings=tenant_settings)
            dirty = [l for l in leads if before[l.pk] != (l.score, l.score_breakdown)]
            bulk_update_values(Lead, dirty, ["score", "score_breakdown"])
            changed += len(dirty)
    return changed
