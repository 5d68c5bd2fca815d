from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import AuditEvent, Lead, LeadStatus, TenantSettings
from processing import enrichment, pipeline
from processing.pipeline import process_leads, rescore_leads
from processing.stages import StageResult
from tests.processing.conftest import keyed_lead

pytestmark = pytest.mark.django_db


def _people(n, **fields):
    return [keyed_lead(first_name=f"Person{chr(65 + i)}", last_name=f"Family{chr(75 + i)}x", company=f"Firm {chr(65 + i)}",
                       email=f"p{i}@firm{chr(65 + i)}.com".lower(), **fields) for i in range(n)]


def _transitions(lead):
    return list(AuditEvent.objects.filter(lead=lead, action="status_changed").order_by("id")
                .values_list("from_status", "to_status"))


def test_normalized_leads_go_through_the_stages_in_order(in_tenant_a):
    lead, = _people(1)
    counts = process_leads([lead.pk])
    lead.refresh_from_db()
    assert counts == {LeadStatus.PENDING_REVIEW: 1}
    assert lead.status == LeadStatus.PENDING_REVIEW and lead.score is not None and lead.score_breakdown
    assert _transitions(lead) == [("normalized", "enriched"), ("enriched", "verified"), ("verified", "pending_review")]
    assert set(AuditEvent.objects.filter(lead=lead).values_list("actor", flat=True)) == {"pipeline"}


def test_disabled_stages_pass_leads_through(in_tenant_a):
    s = TenantSettings.current()
    s.enable_enrichment, s.enable_verification = False, False
    s.save()
    lead, = _people(1)
    process_leads([lead.pk])
    lead.refresh_from_db()
    assert lead.status == LeadStatus.PENDING_REVIEW and lead.enrichment == {} and lead.verification_status == ""
    # The history says the lead only passed through: nothing was enriched or verified.
    notes = list(AuditEvent.objects.filter(lead=lead, action="status_changed").order_by("id")
                 .values_list("to_status", "note"))
    assert notes == [("enriched", "stage enrich: enrichment is off"), ("verified", "stage verify: verification is off"),
                     ("pending_review", "stage score")]


def test_a_stage_that_did_its_work_says_only_its_name(in_tenant_a):
    lead, = _people(1)
    process_leads([lead.pk])
    notes = dict(AuditEvent.objects.filter(lead=lead, action="status_changed").values_list("to_status", "note"))
    assert notes["verified"] == "stage verify"  # the offline verifier ran


def test_one_failing_lead_goes_to_error_and_the_rest_go_on(in_tenant_a, monkeypatch):
    leads = _people(4)
    bad = leads[2]

    def flaky_enrich(group, *, settings):
        if any(l.pk == bad.pk for l in group):
            raise RuntimeError("provider said 500")
        return StageResult(passed=list(group))

    monkeypatch.setattr(enrichment, "enrich_leads", flaky_enrich)
    counts = process_leads([l.pk for l in leads])
    assert counts == {LeadStatus.PENDING_REVIEW: 3, LeadStatus.ERROR: 1}
    bad.refresh_from_db()
    assert (bad.status, bad.error_stage, bad.attempts) == (LeadStatus.ERROR, "enrich", 1)
    assert "provider said 500" in bad.error_message
    assert _transitions(bad) == [("normalized", "error")]

    # Retry: starts over at the stage that failed, and clears the error.
    monkeypatch.undo()
    assert process_leads([bad.pk]) == {LeadStatus.PENDING_REVIEW: 1}
    bad.refresh_from_db()
    assert (bad.status, bad.error_stage, bad.error_message) == (LeadStatus.PENDING_REVIEW, "", "")
    assert _transitions(bad)[1] == ("error", "enriched")


def test_stage_reported_failures_and_deferrals(in_tenant_a, monkeypatch):
    failing, deferred, fine = _people(3)
    later = timezone.now() + timedelta(hours=1)

    def verify(group, *, settings):
        result = StageResult()
        for lead in group:
            if lead.pk == failing.pk:
                result.failed.append((lead, "mailbox check refused"))
            elif lead.pk == deferred.pk:
                lead.next_attempt_at = later
                result.deferred.append(lead)
            else:
                result.passed.append(lead)
        return result

    monkeypatch.setattr(pipeline.verification, "verify_leads", verify)
    process_leads([failing.pk, deferred.pk, fine.pk])
    for lead in (failing, deferred, fine):
        lead.refresh_from_db()
    assert (failing.status, failing.error_stage, failing.error_message) == ("error", "verify", "mailbox check refused")
    assert deferred.status == LeadStatus.ENRICHED and deferred.next_attempt_at == later
    assert fine.status == LeadStatus.PENDING_REVIEW


def test_running_again_changes_nothing(in_tenant_a):
    leads = _people(3)
    process_leads([l.pk for l in leads])
    snapshot = list(Lead.objects.filter(pk__in=[l.pk for l in leads]).order_by("pk").values())
    events = AuditEvent.objects.count()
    assert process_leads([l.pk for l in leads]) == {}
    assert list(Lead.objects.filter(pk__in=[l.pk for l in leads]).order_by("pk").values()) == snapshot
    assert AuditEvent.objects.count() == events


def test_fuzzy_duplicates_are_merged_during_processing(in_tenant_a):
    older = keyed_lead(first_name="William", last_name="Hart", company="Acme", email="whart@gmail.com")
    newer = keyed_lead(first_name="Bill", last_name="Hart", company="Acme Inc", phone="+14155550100")
    counts = process_leads([older.pk, newer.pk])
    assert counts == {LeadStatus.PENDING_REVIEW: 1, LeadStatus.DUPLICATE: 1}
    older.refresh_from_db()
    newer.refresh_from_db()
    assert newer.status == LeadStatus.DUPLICATE and newer.duplicate_of_id == older.pk
    assert older.phone == "+14155550100"
    assert AuditEvent.objects.filter(lead=newer, action="merged", to_status="duplicate").exists()


def test_uncertain_match_is_flagged_and_goes_on(in_tenant_a):
    older = keyed_lead(first_name="Priya", last_name="Natarajan")
    newer = keyed_lead(first_name="Priya", last_name="Natarajan")
    process_leads([older.pk, newer.pk])
    newer.refresh_from_db()
    assert newer.status == LeadStatus.PENDING_REVIEW and newer.possible_duplicate_of_id == older.pk


def test_chunks_follow_batch_size(in_tenant_a, settings):
    settings.BATCH_SIZE = 2
    leads = _people(5)
    assert process_leads([l.pk for l in leads]) == {LeadStatus.PENDING_REVIEW: 5}


def test_rescore_applies_new_weights(in_tenant_a):
    lead, = _people(1)
    process_leads([lead.pk])
    lead.refresh_from_db()
    before = lead.score
    s = TenantSettings.current()
    s.scoring_weights = {"email_valid": 30}
    s.save()
    assert rescore_leads([lead.pk]) == 1
    lead.refresh_from_db()
    assert lead.score == before + 10 and lead.status == LeadStatus.PENDING_REVIEW
    assert rescore_leads([lead.pk]) == 0


def test_other_tenants_leads_are_not_touched(in_tenant_a):
    lead, = _people(1)
    from django_tenants.utils import schema_context

    with schema_context("tenant_b"):
        assert process_leads([lead.pk]) == {}
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NORMALIZED


# ------------------------------------------------------------ with normalization

def test_new_lead_is_normalized_then_processed(in_tenant_a):
    lead = Lead.objects.create(email="  Ann.Lee+news@GoogleMail.com ", first_name="ANN", last_name="LEE",
                               phone="(415) 555-0100", company="Acme, Inc.", title="VP Sales", source="api")
    process_leads([lead.pk])
    lead.refresh_from_db()
    assert lead.status == LeadStatus.PENDING_REVIEW
    assert lead.email_key == "annlee@gmail.com" and lead.phone_key == "+14155550100"
    assert lead.first_name == "Ann" and lead.seniority and lead.score is not None
    assert _transitions(lead)[0] == ("new", "normalized")


def test_new_lead_with_the_email_of_a_surviving_lead_is_merged(in_tenant_a):
    survivor = keyed_lead(email="ann@acme.com", first_name="Ann", last_name="Lee", company="Acme",
                          status=LeadStatus.APPROVED)
    lead = Lead.objects.create(email="ANN@acme.com", first_name="Ann", last_name="Lee", phone="+1 415 555 0100")
    assert process_leads([lead.pk]) == {LeadStatus.DUPLICATE: 1}
    lead.refresh_from_db()
    survivor.refresh_from_db()
    assert lead.duplicate_of_id == survivor.pk and survivor.status == LeadStatus.APPROVED
    assert survivor.phone_key == "+14155550100"


def test_prepare_incoming_normalizes_and_finds_exact_duplicates(in_tenant_a):
    saved = keyed_lead(email="bob@acme.com", first_name="Bob", last_name="Stone")
    rows = [Lead(email="BOB@acme.com ", first_name="bob", last_name="stone"),
            Lead(email="new.person@gmail.com", first_name="New", last_name="Person"),
            Lead(email="newperson+x@gmail.com", first_name="New", last_name="Person")]
    pipeline.prepare_incoming(rows)
    assert rows[0].status == LeadStatus.DUPLICATE and rows[0].duplicate_of == saved
    assert rows[1].status == LeadStatus.NORMALIZED and rows[1].email_key == "newperson@gmail.com"
    assert rows[2].status == LeadStatus.DUPLICATE and rows[2].duplicate_of is rows[1]


def test_a_new_lead_failing_after_normalization_keeps_it_and_retries_from_the_failed_stage(in_tenant_a, monkeypatch):
    lead = Lead.objects.create(email="Kim@Example-Corp.com", first_name="kim", last_name="park")

    def broken_verify(group, *, settings):
        raise ConnectionError("verifier unreachable")

    monkeypatch.setattr(pipeline.verification, "verify_leads", broken_verify)
    assert process_leads([lead.pk]) == {LeadStatus.ERROR: 1}
    lead.refresh_from_db()
    assert (lead.status, lead.error_stage) == (LeadStatus.ERROR, "verify")
    assert lead.email_key == "kim@example-corp.com" and lead.first_name == "Kim"
    monkeypatch.undo()
    assert process_leads([lead.pk]) == {LeadStatus.PENDING_REVIEW: 1}
    assert _transitions(lead)[-2:] == [("error", "verified"), ("verified", "pending_review")]
