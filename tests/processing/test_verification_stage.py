"""The verification stage: waterfall, deferral on provider trouble, re-checks, budget."""
import datetime as dt
import json

import pytest
from django.utils import timezone

from leads.models import Lead
from processing.models import ProviderConfig, ProviderUsage
from processing.providers import provider_status
from processing.providers.registry import provider_configs
from processing.verification import verify_leads
from tests.factories import make_lead
from tests.processing.conftest import ZB_KEY, unsaved_leads


def _status(name):
    return next(row for row in provider_status() if row["name"] == name)


def test_disabled_stage_passes_every_lead_untouched(stage_settings, zerobounce, clock):
    stage_settings.enable_verification = False
    leads = unsaved_leads(["a@acme.com", "not-an-email"])
    result = verify_leads(leads, settings=stage_settings, clock=clock)
    assert result.passed == leads and not result.deferred and not result.failed
    assert all(lead.verification == {} and lead.verification_status == "" for lead in leads)
    assert zerobounce.looked_up == []


def test_tenant_flag_off_wins_over_environment(stage_settings, settings, zerobounce, clock):
    settings.ENABLE_VERIFICATION = True
    stage_settings.enable_verification = False
    assert verify_leads(unsaved_leads(["a@acme.com"]), settings=stage_settings, clock=clock).passed


def test_without_a_paid_provider_the_offline_checks_are_the_answer(stage_settings, clock):
    leads = unsaved_leads(["ann@acme.com", "temp@mailinator.com"]) + [Lead(email="broken", email_key="broken")]
    result = verify_leads(leads, settings=stage_settings, clock=clock)
    assert result.passed == leads
    assert [lead.verification_status for lead in leads] == ["unverified", "do_not_mail", "invalid"]
    assert leads[1].verification["sub_status"] == "disposable" and leads[1].verification["provider"] == "offline"
    assert all(lead.verified_at for lead in leads)


def test_hopeless_addresses_never_reach_the_paid_provider(stage_settings, zerobounce, clock):
    leads = unsaved_leads(["ann@acme.com", "bad1@acme.com", "temp@mailinator.com", "ann@gmial.com", "info@acme.com"])
    result = verify_leads(leads, settings=stage_settings, clock=clock)
    assert sorted(zerobounce.looked_up) == ["ann@acme.com", "bad1@acme.com", "info@acme.com"]
    assert len(result.passed) == 5
    by_email = {lead.email: lead for lead in leads}
    assert by_email["ann@acme.com"].verification_status == "valid"
    assert by_email["bad1@acme.com"].verification["sub_status"] == "mailbox_not_found"
    assert by_email["ann@gmial.com"].verification["did_you_mean"] == "ann@gmail.com"
    assert by_email["info@acme.com"].verification["role_account"] is True  # offline fact kept beside the paid verdict


def test_verification_record_has_the_documented_shape(stage_settings, zerobounce, clock):
    lead = unsaved_leads(["typo1@acme.com"])[0]
    verify_leads([lead], settings=stage_settings, clock=clock)
    assert {"status", "sub_status", "provider", "checked_at", "did_you_mean"} <= set(lead.verification)
    assert lead.verification["provider"] == "zerobounce"
    assert lead.verification["did_you_mean"] == "typo1@example.com"
    assert lead.verification_status == "invalid" and lead.verified_at is not None


def test_201_emails_go_out_as_two_batches(stage_settings, zerobounce, httpserver, clock):
    leads = unsaved_leads([f"p{i}@acme.com" for i in range(201)])
    result = verify_leads(leads, settings=stage_settings, clock=clock)
    sizes = [len(json.loads(r.get_data())["email_batch"]) for r, _ in httpserver.log if r.path == "/v2/validatebatch"]
    assert sizes == [200, 1] and len(result.passed) == 201


def test_sixth_batch_in_a_minute_is_deferred_then_done(stage_settings, zerobounce, clock):
    leads = unsaved_leads([f"p{i}@acme.com" for i in range(1001)])
    first = verify_leads(leads, settings=stage_settings, clock=clock)
    assert len(first.passed) == 1000 and len(first.deferred) == 1
    waiting = first.deferred[0]
    assert waiting.next_attempt_at is not None and waiting.verification == {}
    clock.advance(60)
    second = verify_leads([waiting], settings=stage_settings, clock=clock)
    assert second.passed == [waiting] and waiting.verification_status == "valid"
    # Our own limiter is not a provider problem.
    assert _status("zerobounce")["healthy"] is True


def test_temporary_answers_are_rechecked_later_not_condemned(stage_settings, zerobounce, settings, clock):
    lead = unsaved_leads(["grey1@acme.com"])[0]
    first = verify_leads([lead], settings=stage_settings, clock=clock)
    assert first.deferred == [lead] and not first.failed
    assert lead.next_attempt_at > timezone.now() + dt.timedelta(minutes=settings.VERIFY_RECHECK_MINUTES - 1)
    assert lead.verification["sub_status"] == "greylisted" and "recheck_at" in lead.verification

    # Before the re-check time: still waiting, no credit spent.
    again = verify_leads([lead], settings=stage_settings, clock=clock)
    assert again.deferred == [lead] and zerobounce.looked_up == ["grey1@acme.com"]


def test_after_the_recheck_limit_a_temporary_answer_stands(stage_settings, zerobounce, settings, clock):
    settings.VERIFY_RECHECK_MINUTES = 0
    settings.VERIFY_RECHECK_LIMIT = 2
    lead = unsaved_leads(["grey1@acme.com"])[0]
    outcomes = [verify_leads([lead], settings=stage_settings, clock=clock) for _ in range(3)]
    assert [bool(o.deferred) for o in outcomes] == [True, True, False]
    assert outcomes[2].passed == [lead] and lead.verification_status == "unknown"
    assert len(zerobounce.looked_up) == 3


def test_outage_leaves_every_lead_retryable_and_recovery_completes_them(stage_settings, httpserver, settings, clock):
    settings.ZEROBOUNCE_API_KEY = ZB_KEY
    saved = [make_lead(email=f"p{i}@acme.com", email_key=f"p{i}@acme.com", status="enriched") for i in range(30)]
    httpserver.expect_request("/v2/validatebatch").respond_with_data("down", status=503)

    result = verify_leads(saved, settings=stage_settings, clock=clock)
    assert len(result.deferred) == 30 and not result.passed and not result.failed
    Lead.objects.bulk_update(result.deferred, ["next_attempt_at", "verification", "verification_status"])
    stored = list(Lead.objects.filter(pk__in=[lead.pk for lead in saved]))
    assert len(stored) == 30
    assert all(lead.status == "enriched" and lead.verification == {} and lead.next_attempt_at for lead in stored)
    status = _status("zerobounce")
    assert status["healthy"] is False and "503" in status["last_error"]

    httpserver.clear()
    from tests.processing.conftest import FakeZeroBounce
    FakeZeroBounce(clock).install(httpserver)
    recovered = verify_leads(stored, settings=stage_settings, clock=clock)
    assert len(recovered.passed) == 30 and all(lead.verification_status == "valid" for lead in stored)
    assert _status("zerobounce")["healthy"] is True


def test_configuration_problem_leaves_leads_untouched_and_shows_in_status(stage_settings, httpserver, settings, clock):
    settings.ZEROBOUNCE_API_KEY = ZB_KEY
    httpserver.expect_request("/v2/validatebatch").respond_with_json({"error": "Unauthorized"}, status=401)
    leads = unsaved_leads(["a@acme.com", "b@acme.com"])
    result = verify_leads(leads, settings=stage_settings, clock=clock)
    assert result.deferred == leads and all(lead.verification == {} for lead in leads)
    status = _status("zerobounce")
    assert status["healthy"] is False and "configuration problem" in status["last_error"]
    assert ZB_KEY not in json.dumps(provider_status())


def test_429_pauses_the_provider_until_retry_after(stage_settings, httpserver, settings, clock):
    settings.ZEROBOUNCE_API_KEY = ZB_KEY
    httpserver.expect_request("/v2/validatebatch").respond_with_data("", status=429, headers={"Retry-After": "600"})
    leads = unsaved_leads(["a@acme.com", "b@acme.com"])
    result = verify_leads(leads, settings=stage_settings, clock=clock)
    assert result.deferred == leads
    assert all(lead.next_attempt_at >= timezone.now() + dt.timedelta(seconds=590) for lead in leads)
    calls = len(httpserver.log)
    verify_leads(leads, settings=stage_settings, clock=clock)
    assert len(httpserver.log) == calls  # paused: no call before Retry-After


def test_monthly_budget_stops_paid_calls_with_a_visible_reason(stage_settings, zerobounce, clock):
    provider_configs()
    ProviderConfig.objects.filter(name="zerobounce").update(monthly_credit_budget=3)
    leads = unsaved_leads([f"p{i}@acme.com" for i in range(5)])
    result = verify_leads(leads, settings=stage_settings, clock=clock)
    assert len(zerobounce.looked_up) == 3 and len(result.passed) == 5
    over = [lead for lead in leads if lead.verification["provider"] == "offline"]
    assert len(over) == 2 and "budget" in over[0].verification["notes"][0]
    assert ProviderUsage.objects.get(provider="zerobounce").credits == 3
    assert "budget" in _status("zerobounce")["blocked_reason"]

    verify_leads(unsaved_leads(["new@acme.com"]), settings=stage_settings, clock=clock)
    assert len(zerobounce.looked_up) == 3


def test_usage_and_credits_are_counted(stage_settings, zerobounce, clock):
    verify_leads(unsaved_leads([f"p{i}@acme.com" for i in range(3)] + ["grey1@acme.com"]), settings=stage_settings, clock=clock)
    usage = ProviderUsage.objects.get(provider="zerobounce")
    assert usage.calls == 1 and usage.credits == 3  # unknown answers are not charged
    status = _status("zerobounce")
    assert status["credits"] == 5000 and status["usage_month"] == {"calls": 1, "credits": 3}


def test_disabled_paid_provider_is_skipped(stage_settings, zerobounce, clock):
    provider_configs()
    ProviderConfig.objects.filter(name="zerobounce").update(enabled=False)
    leads = unsaved_leads(["a@acme.com"])
    assert verify_leads(leads, settings=stage_settings, clock=clock).passed == leads
    assert zerobounce.looked_up == [] and leads[0].verification_status == "unverified"


@pytest.mark.parametrize("email", ["", "   "])
def test_lead_without_email_passes(stage_settings, zerobounce, clock, email):
    lead = Lead(email=email, phone="+15550100")
    result = verify_leads([lead], settings=stage_settings, clock=clock)
    assert result.passed == [lead] and lead.verification["sub_status"] == "no_email"


def test_batch_limit_is_shared_by_every_worker_of_the_tenant(stage_settings, zerobounce, clock):
    # Two runs with separate clients (as two worker processes would have) share the 5 a minute.
    first = verify_leads(unsaved_leads([f"a{i}@acme.com" for i in range(600)]), settings=stage_settings, clock=clock)
    second = verify_leads(unsaved_leads([f"b{i}@acme.com" for i in range(600)]), settings=stage_settings, clock=clock)
    assert len(first.passed) == 600 and len(second.passed) == 400 and len(second.deferred) == 200
    assert len(zerobounce.batch_times) == 5


def test_batch_limit_is_per_tenant(tenant_a, tenant_b, httpserver, settings, clock):
    from django_tenants.utils import schema_context

    from leads.models import TenantSettings
    from tests.processing.conftest import FakeZeroBounce

    settings.ZEROBOUNCE_API_KEY = ZB_KEY
    fake = FakeZeroBounce(clock).install(httpserver)
    with schema_context("tenant_a"):
        a = verify_leads(unsaved_leads([f"a{i}@acme.com" for i in range(1001)]), settings=TenantSettings.current(), clock=clock)
    with schema_context("tenant_b"):
        b = verify_leads(unsaved_leads([f"b{i}@acme.com" for i in range(400)]), settings=TenantSettings.current(), clock=clock)
    assert len(a.deferred) == 1 and len(b.passed) == 400 and len(fake.batch_times) == 7


def test_an_address_missing_from_the_answer_waits_instead_of_passing(stage_settings, httpserver, settings, clock):
    from tests.processing.conftest import FakeZeroBounce

    settings.ZEROBOUNCE_API_KEY = ZB_KEY
    httpserver.expect_request("/v2/validatebatch").respond_with_json(
        {"email_batch": [FakeZeroBounce.answer("a@acme.com")], "errors": []})
    a, b = unsaved_leads(["a@acme.com", "b@acme.com"])
    result = verify_leads([a, b], settings=stage_settings, clock=clock)
    assert result.passed == [a] and result.deferred == [b] and b.verification == {}
