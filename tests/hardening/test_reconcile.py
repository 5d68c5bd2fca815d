"""The count reconciliation used after every fault test finds what it must find."""
from django.utils import timezone

from leads.models import LeadStatus
from tests.factories import make_lead
from tests.hardening.reconcile import reconcile


def test_clean_tenant_reconciles(in_tenant_a):
    a = make_lead(external_id="x-1", status=LeadStatus.PENDING_REVIEW)
    b = make_lead(external_id="x-2", status=LeadStatus.NORMALIZED)  # retryable: awaiting a stage
    c = make_lead(external_id="x-3", status=LeadStatus.ERROR)       # retryable: a retry takes it
    r = reconcile("tenant_a", external_ids=["x-1", "x-2", "x-3"], source="test")
    assert r.ok and r.stored == 3
    assert reconcile("tenant_a", lead_ids=[a.pk, b.pk, c.pk]).ok


def test_lost_duplicated_unexpected_and_leased_leads_are_reported(in_tenant_a, tenant_b):
    make_lead(external_id="x-1", source="crm")
    make_lead(external_id="x-1", source="web")       # the same row stored twice
    make_lead(external_id="x-9", source="crm")       # never accepted
    make_lead(external_id="x-2", source="crm", claimed_by="host:1:abc",
              claimed_until=timezone.now())          # a lease left behind
    r = reconcile("tenant_a", external_ids=["x-1", "x-2", "x-3"])
    assert not r.ok
    assert r.lost == ["x-3"] and r.duplicated == ["x-1"] and r.unexpected == ["x-9"] and r.leased == 1
    # Another tenant's schema holds none of them: all lost there.
    assert reconcile("tenant_b", external_ids=["x-1", "x-2"]).lost == ["x-1", "x-2"]
