"""The enrichment stage: fill only what is empty, never fail a lead for a provider's trouble."""
import datetime as dt

from django.utils import timezone

from leads.models import Lead
from processing.enrichment import enrich_leads
from processing.providers import provider_status
from tests.factories import make_lead
from tests.processing.conftest import CB_KEY, FakeClearbit, clearbit_person, unsaved_leads


def _status(name):
    return next(row for row in provider_status() if row["name"] == name)


def test_disabled_stage_passes_every_lead(stage_settings, clearbit, clock):
    stage_settings.enable_enrichment = False
    leads = unsaved_leads(["alex@acme.com"])
    result = enrich_leads(leads, settings=stage_settings, clock=clock)
    assert result.passed == leads and leads[0].enrichment == {} and clearbit.looked_up == []


def test_no_key_means_no_enrichment_and_no_call(stage_settings, httpserver, clock):
    leads = unsaved_leads(["alex@acme.com"])
    assert enrich_leads(leads, settings=stage_settings, clock=clock).passed == leads
    assert httpserver.log == [] and leads[0].enrichment == {}


def test_fills_empty_fields_and_never_overwrites_what_a_person_entered(stage_settings, clearbit, clock):
    lead = unsaved_leads(["alex@acme.com"], title="Chief Tinkerer", first_name="Al")[0]
    result = enrich_leads([lead], settings=stage_settings, clock=clock)
    assert result.passed == [lead]
    assert lead.title == "Chief Tinkerer" and lead.first_name == "Al"        # kept
    assert lead.last_name == "Maccaw" and lead.company == "Acme"             # filled
    assert lead.linkedin_url == "https://www.linkedin.com/in/alexmaccaw" and lead.city == "San Francisco"
    assert lead.seniority == "director" and lead.department == "marketing"
    fields = lead.enrichment["fields"]
    assert fields["title"]["value"] == "Head of Growth" and fields["title"]["applied"] is False
    assert fields["last_name"]["applied"] is True
    for field in fields.values():
        assert field["provider"] == "clearbit" and field["fetched_at"]
    assert lead.enrichment["provider"] == "clearbit" and lead.enrichment["fetched_at"]
    company = lead.enrichment["company"]
    assert company["employees"] == 120 and company["employees_range"] == "51-250"
    assert company["industry"] == "Internet Software & Services" and company["domain"] == "acme.com"
    assert lead.enrichment["person"]["seniority"] == "director"
    assert lead.enriched_at is not None


def test_domain_only_lead_gets_the_company(stage_settings, clearbit, clock):
    lead = Lead(company="", domain="acme.com")
    enrich_leads([lead], settings=stage_settings, clock=clock)
    assert clearbit.looked_up == ["acme.com"] and lead.company == "Acme" and lead.website == "https://acme.com"
    assert lead.enrichment["person"] == {} and lead.enrichment["company"]["name"] == "Acme"


def test_202_then_200_across_two_runs(stage_settings, httpserver, settings, clock):
    settings.CLEARBIT_API_KEY = CB_KEY
    httpserver.expect_oneshot_request("/v2/combined/find").respond_with_json({}, status=202)
    httpserver.expect_request("/v2/combined/find").respond_with_json(clearbit_person("alex@acme.com"))
    lead = unsaved_leads(["alex@acme.com"])[0]

    first = enrich_leads([lead], settings=stage_settings, clock=clock)
    assert first.deferred == [lead] and not first.failed
    assert lead.next_attempt_at > timezone.now() and lead.enrichment == {} and lead.last_name == ""

    second = enrich_leads([lead], settings=stage_settings, clock=clock)
    assert second.passed == [lead] and lead.last_name == "Maccaw"


def test_no_match_passes_and_is_remembered(stage_settings, clearbit, clock):
    leads = unsaved_leads(["nomatch@acme.com"])
    assert enrich_leads(leads, settings=stage_settings, clock=clock).passed == leads
    assert leads[0].enrichment == {} and leads[0].enriched_at
    enrich_leads(unsaved_leads(["nomatch@acme.com"]), settings=stage_settings, clock=clock)
    assert clearbit.looked_up == ["nomatch@acme.com"]  # a "no match" costs nothing the second time


def test_422_fails_only_that_lead(stage_settings, httpserver, settings, clock):
    settings.CLEARBIT_API_KEY = CB_KEY
    httpserver.expect_request("/v2/combined/find", query_string={"email": "x@bad"}).respond_with_json(
        {"error": {"type": "email_invalid", "message": "Invalid email."}}, status=422)
    FakeClearbit().install(httpserver)
    bad, good = Lead(email="x@bad", email_key="x@bad"), unsaved_leads(["alex@acme.com"])[0]
    result = enrich_leads([bad, good], settings=stage_settings, clock=clock)
    assert result.failed == [(bad, "clearbit: invalid email (Invalid email.)")]
    assert result.passed == [good] and good.last_name == "Maccaw"
    assert _status("clearbit")["healthy"] is True


def test_configuration_problem_leaves_leads_untouched(stage_settings, httpserver, settings, clock):
    settings.CLEARBIT_API_KEY = CB_KEY
    httpserver.expect_request("/v2/combined/find").respond_with_json({"error": {"type": "auth_required"}}, status=402)
    leads = unsaved_leads(["a@acme.com", "b@acme.com", "c@acme.com"])
    result = enrich_leads(leads, settings=stage_settings, clock=clock)
    assert result.deferred == leads and all(lead.enrichment == {} for lead in leads)
    assert len(httpserver.log) == 1
    status = _status("clearbit")
    assert not status["healthy"] and "configuration problem (HTTP 402)" in status["last_error"]
    assert CB_KEY not in str(provider_status())


def test_429_defers_until_retry_after(stage_settings, httpserver, settings, clock):
    settings.CLEARBIT_API_KEY = CB_KEY
    httpserver.expect_request("/v2/combined/find").respond_with_data("", status=429, headers={"Retry-After": "90"})
    lead = unsaved_leads(["a@acme.com"])[0]
    assert enrich_leads([lead], settings=stage_settings, clock=clock).deferred == [lead]
    assert lead.next_attempt_at >= timezone.now() + dt.timedelta(seconds=80)


def test_outage_then_recovery(stage_settings, httpserver, settings, clock):
    settings.CLEARBIT_API_KEY = CB_KEY
    saved = [make_lead(email=f"p{i}@acme.com", email_key=f"p{i}@acme.com", last_name="", company="", status="normalized")
             for i in range(10)]
    httpserver.expect_request("/v2/combined/find").respond_with_data("", status=500)
    result = enrich_leads(saved, settings=stage_settings, clock=clock)
    assert len(result.deferred) == 10 and not result.passed and not result.failed
    assert len(httpserver.log) == 3  # one lookup, retried, then the run stops asking
    Lead.objects.bulk_update(result.deferred, ["next_attempt_at", "enrichment"])
    stored = list(Lead.objects.filter(pk__in=[lead.pk for lead in saved]))
    assert len(stored) == 10 and all(lead.enrichment == {} and lead.next_attempt_at for lead in stored)

    httpserver.clear()
    FakeClearbit().install(httpserver)
    recovered = enrich_leads(stored, settings=stage_settings, clock=clock)
    assert len(recovered.passed) == 10 and all(lead.company == "Acme" for lead in stored)


def test_a_long_run_stops_asking_after_its_time_budget(stage_settings, httpserver, settings, clock):
    settings.CLEARBIT_API_KEY = CB_KEY
    settings.PROVIDER_RUN_SECONDS = 10

    def slow_answer(request):
        clock.advance(4)  # each lookup "takes" 4 seconds on the fake clock
        return FakeClearbit().combined(request)

    httpserver.expect_request("/v2/combined/find").respond_with_handler(slow_answer)
    leads = unsaved_leads([f"p{i}@acme.com" for i in range(6)])
    result = enrich_leads(leads, settings=stage_settings, clock=clock)
    assert len(result.passed) == 3 and len(result.deferred) == 3
    assert all(lead.enrichment == {} and lead.next_attempt_at for lead in result.deferred)
    assert _status("clearbit")["healthy"] is True
