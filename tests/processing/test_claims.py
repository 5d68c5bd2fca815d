"""claim_batch: disjoint claims under concurrency, leases that expire."""
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from leads.models import Lead, LeadStatus
from processing import pipeline
from processing.claims import claim_batch, release
from processing.pipeline import process_leads
from tests.processing.conftest import bulk_leads


def test_two_connections_claiming_at_once_never_get_the_same_lead(live):
    with schema_context("tenant_a"):
        ids = bulk_leads(40)
    claimed = {}
    first_holds_locks = threading.Event()
    second_done = threading.Event()

    def second():
        try:
            with schema_context("tenant_a"):
                claimed["second"] = claim_batch(limit=30, worker="w2", lease_seconds=60)
        finally:
            connection.close()
            second_done.set()

    with schema_context("tenant_a"):
        with transaction.atomic():
            # The first claimer's rows stay locked (uncommitted) while the second claims.
            claimed["first"] = claim_batch(limit=30, worker="w1", lease_seconds=60)
            first_holds_locks.set()
            thread = threading.Thread(target=second)
            thread.start()
            # SKIP LOCKED: the second claimer must not wait for our commit.
            assert second_done.wait(timeout=10), "second claimer blocked on locked rows"
        thread.join()
        assert len(claimed["first"]) == 30
        assert len(claimed["second"]) == 10
        assert set(claimed["first"]).isdisjoint(claimed["second"])
        assert set(claimed["first"]) | set(claimed["second"]) == set(ids)
        owners = dict(Lead.objects.filter(pk__in=ids).values_list("id", "claimed_by"))
        assert {owners[i] for i in claimed["first"]} == {"w1"}
        assert {owners[i] for i in claimed["second"]} == {"w2"}


def test_leased_leads_are_not_claimed_again_until_the_lease_expires(live):
    with schema_context("tenant_a"):
        ids = bulk_leads(5)
        assert claim_batch(limit=10, worker="dead-worker", lease_seconds=300) == ids
        assert claim_batch(limit=10, worker="other", lease_seconds=300) == []
        # The dead worker's lease runs out.
        Lead.objects.filter(pk__in=ids[:3]).update(claimed_until=timezone.now() - timedelta(seconds=1))
        assert claim_batch(limit=10, worker="other", lease_seconds=300) == ids[:3]
        assert set(Lead.objects.filter(pk__in=ids[:3]).values_list("claimed_by", flat=True)) == {"other"}


def test_claim_respects_statuses_ids_due_time_and_limit(in_tenant_a):
    ids = bulk_leads(6)
    Lead.objects.filter(pk=ids[0]).update(status=LeadStatus.PENDING_REVIEW)
    Lead.objects.filter(pk=ids[1]).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    Lead.objects.filter(pk=ids[2]).update(next_attempt_at=timezone.now() - timedelta(minutes=1))
    assert claim_batch(limit=2, worker="w", lease_seconds=60, lead_ids=ids[:4]) == [ids[2], ids[3]]
    assert claim_batch(limit=10, worker="w", lease_seconds=60) == ids[4:]


def test_release_only_drops_the_callers_own_lease(in_tenant_a):
    ids = bulk_leads(2)
    claim_batch(limit=1, worker="mine", lease_seconds=60, lead_ids=ids[:1])
    claim_batch(limit=1, worker="theirs", lease_seconds=60, lead_ids=ids[1:])
    assert release(lead_ids=ids, worker="mine") == 1
    rows = dict(Lead.objects.filter(pk__in=ids).values_list("id", "claimed_by"))
    assert rows == {ids[0]: "", ids[1]: "theirs"}
    assert Lead.objects.get(pk=ids[0]).claimed_until is None


def test_claims_stay_inside_the_current_tenant(tenant_a, tenant_b):
    with schema_context("tenant_b"):
        b_ids = bulk_leads(3)
    with schema_context("tenant_a"):
        a_ids = bulk_leads(2)
        assert claim_batch(limit=10, worker="w", lease_seconds=60) == a_ids
    with schema_context("tenant_b"):
        assert set(Lead.objects.filter(pk__in=b_ids).values_list("claimed_by", flat=True)) == {""}


def test_zero_limit_or_empty_ids_claims_nothing(in_tenant_a):
    bulk_leads(2)
    assert claim_batch(limit=0, worker="w", lease_seconds=60) == []
    assert claim_batch(limit=5, worker="w", lease_seconds=60, lead_ids=[]) == []


def test_the_chunk_write_drops_the_holders_lease_and_leaves_anothers(in_tenant_a):
    ids = bulk_leads(3)
    claim_batch(limit=2, worker="mine", lease_seconds=60, lead_ids=ids[:2])
    claim_batch(limit=1, worker="theirs", lease_seconds=60, lead_ids=ids[2:])
    process_leads(ids, lease_holder="mine")
    rows = {pk: (status, owner, until is not None) for pk, status, owner, until in
            Lead.objects.filter(pk__in=ids).values_list("id", "status", "claimed_by", "claimed_until")}
    assert rows == {ids[0]: (LeadStatus.PENDING_REVIEW, "", False), ids[1]: (LeadStatus.PENDING_REVIEW, "", False),
                    ids[2]: (LeadStatus.PENDING_REVIEW, "theirs", True)}


def test_a_failed_lead_is_written_with_its_lease_dropped(in_tenant_a, monkeypatch):
    ids = bulk_leads(2)
    claim_batch(limit=2, worker="mine", lease_seconds=60, lead_ids=ids)

    def normalize_fails_for_the_first(leads, *, default_region):
        if any(lead.pk == ids[0] for lead in leads):
            raise ValueError("unreadable")

    monkeypatch.setattr(pipeline, "_normalize", normalize_fails_for_the_first)
    process_leads(ids, lease_holder="mine")
    rows = dict(Lead.objects.filter(pk__in=ids).values_list("id", "status"))
    assert rows[ids[0]] == LeadStatus.ERROR
    assert not Lead.objects.filter(pk__in=ids).exclude(claimed_by="").exists()
    assert not Lead.objects.filter(pk__in=ids, claimed_until__isnull=False).exists()


def test_the_claim_reads_the_index_of_unfinished_leads_only(in_tenant_a):
    """lead_status_next_idx holds only leads with stages ahead (or a retry): leads
    gone on to review or export cost it no write, and a claim still finds the few
    waiting ones through it rather than by reading every lead."""
    from leads.models.lead import UNFINISHED_STATUSES

    bulk_leads(3000, status=LeadStatus.PENDING_REVIEW)
    bulk_leads(5, prefix="waiting", status=LeadStatus.NORMALIZED)
    with CaptureQueriesContext(connection) as queries:
        assert len(claim_batch(limit=10, worker="w1", lease_seconds=60)) == 5
    claim_sql = next(q["sql"] for q in queries if "SKIP LOCKED" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("EXPLAIN " + claim_sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT count(*) FROM leads_lead WHERE status = ANY(%s)", [list(UNFINISHED_STATUSES)])
        unfinished = cursor.fetchone()[0]
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'lead_status_next_idx'")
        indexed = cursor.fetchone()[0]
    assert "lead_status_next_idx" in plan
    assert indexed == unfinished == 5
