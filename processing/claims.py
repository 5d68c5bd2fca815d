"""Leases on leads: which worker may process which lead, and until when.

A worker claims a chunk of leads before it processes them. The claim is one
``SELECT … FOR UPDATE SKIP LOCKED`` feeding an ``UPDATE … RETURNING id``: two
workers (or two clusters, or a task the broker handed out twice) that claim at
the same moment get disjoint sets, because each skips the rows the other has
locked, and a row already leased to someone else is not selected at all until
its lease runs out. A worker that dies keeps its lease until ``claimed_until``;
after that the leads are claimable again, so nothing stays stuck.
"""
from collections.abc import Iterable
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from leads.models import Lead, LeadStatus
from leads.models.lead import UNFINISHED_STATUSES

# What a person may ask to (re)process: leads with stages ahead, and leads in error
# (a retry). The claim index (lead_status_next_idx) holds exactly these.
PROCESSABLE_STATUSES: tuple[str, ...] = tuple(UNFINISHED_STATUSES)
# Statuses of leads that still have pipeline stages ahead of them. Leads in
# these statuses with no (or an expired) lease and no future next_attempt_at
# are what a batch run picks up.
AWAITING_STATUSES: tuple[str, ...] = tuple(s for s in PROCESSABLE_STATUSES if s != LeadStatus.ERROR)


def claim_batch(*, limit: int, worker: str, lease_seconds: int,
                statuses: Iterable[str] = AWAITING_STATUSES,
                lead_ids: Iterable[int] | None = None) -> list[int]:
    """Lease up to ``limit`` unclaimed leads in ``statuses`` to ``worker``.

    Only leads whose lease is absent or expired and whose ``next_attempt_at``
    is absent or due are taken; with ``lead_ids`` only those leads are
    candidates. Rows locked by a concurrent claimer are skipped, never waited
    for. Returns the claimed ids (ascending), committed before returning, so
    other workers see the lease at once.
    """
    if limit <= 0:
        return []
    table = connection.ops.quote_name(Lead._meta.db_table)
    params: list = [list(statuses)]
    only_ids = ""
    if lead_ids is not None:
        ids = list(lead_ids)
        if not ids:
            return []
        only_ids = "AND id = ANY(%s)"
        params.append(ids)
    now = timezone.now()
    # A materialized CTE runs the locking SELECT exactly once; as a plain
    # ``id IN (subquery)`` the planner may re-run it and exceed LIMIT.
    sql = f"""
        WITH picked AS MATERIALIZED (
            SELECT id FROM {table}
            WHERE status = ANY(%s) {only_ids}
              AND (claimed_until IS NULL OR claimed_until < %s)
              AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
            ORDER BY id
            LIMIT %s
            FOR UPDATE SKIP LOCKED
        )
        UPDATE {table} AS lead SET claimed_by = %s, claimed_until = %s
        FROM picked WHERE lead.id = picked.id
        RETURNING lead.id
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [*params, now, now, limit, worker, now + timedelta(seconds=lease_seconds)])
        return sorted(row[0] for row in cursor.fetchall())


def release(*, lead_ids: Iterable[int], worker: str) -> int:
    """Drop ``worker``'s lease on the given leads (leases held by others are
    left alone). Returns how many leases were released."""
    ids = list(lead_ids)
    if not ids:
        return 0
    return Lead.objects.filter(pk__in=ids, claimed_by=worker).update(claimed_by="", claimed_until=None)
