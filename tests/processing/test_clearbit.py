"""The Clearbit client against a local server: every documented status code."""
import base64
import json
import time

import pytest
from werkzeug import Response

from processing.providers.base import ConfigurationError, RateLimited, TransientError
from processing.providers.clearbit import Clearbit, map_person_company
from tests.processing.conftest import CB_KEY, clearbit_company, clearbit_person


@pytest.fixture
def client(httpserver, clock):
    return Clearbit(api_key=CB_KEY, base_url=httpserver.url_for("").rstrip("/"), clock=clock)


def test_combined_find_uses_basic_auth_with_the_key_as_user_name(httpserver, client):
    token = base64.b64encode(f"{CB_KEY}:".encode()).decode()
    httpserver.expect_request(
        "/v2/combined/find", query_string={"email": "alex@acme.com"}, headers={"Authorization": f"Basic {token}"}
    ).respond_with_json(clearbit_person("alex@acme.com"))
    outcome = client.enrich([("email", "alex@acme.com")])
    assert outcome.error is None
    answer = outcome.results[("email", "alex@acme.com")]
    assert answer["person"]["name"]["givenName"] == "Alex"
    assert answer["company"]["domain"] == "acme.com"
    assert outcome.credits == 1


def test_company_by_domain(httpserver, client):
    httpserver.expect_request("/v2/companies/find", query_string={"domain": "acme.com"}).respond_with_json(clearbit_company("acme.com"))
    outcome = client.enrich([("domain", "acme.com")])
    assert outcome.results[("domain", "acme.com")] == {"person": None, "company": clearbit_company("acme.com")}


def test_mapping_covers_person_and_company():
    fields = map_person_company(**clearbit_person("alex@acme.com"))
    assert fields["first_name"] == "Alex" and fields["last_name"] == "Maccaw"
    assert fields["title"] == "Head of Growth" and fields["seniority"] == "director" and fields["role"] == "marketing"
    assert fields["linkedin_url"] == "https://www.linkedin.com/in/alexmaccaw"
    assert fields["city"] == "San Francisco" and fields["country"] == "United States"
    assert fields["company"] == "Acme" and fields["company_domain"] == "acme.com" and fields["website"] == "https://acme.com"
    assert fields["industry"] == "Internet Software & Services" and fields["sector"] == "Information Technology"
    assert fields["employees"] == 120 and fields["employees_range"] == "51-250"
    assert fields["annual_revenue"] == "$10M-$50M" and fields["tech"] == ["google_apps", "hubspot"]


def test_202_means_queued(httpserver, client):
    httpserver.expect_request("/v2/combined/find").respond_with_json({}, status=202)
    outcome = client.enrich([("email", "alex@acme.com")])
    assert outcome.queued == {("email", "alex@acme.com")} and outcome.results == {} and outcome.error is None


def test_404_is_no_match_not_an_error(httpserver, client):
    httpserver.expect_request("/v2/combined/find").respond_with_json(
        {"error": {"type": "unknown_record", "message": "Unknown email address"}}, status=404)
    outcome = client.enrich([("email", "ghost@acme.com")])
    assert outcome.results == {("email", "ghost@acme.com"): None} and outcome.error is None
    assert outcome.credits == 0


@pytest.mark.parametrize("code", [401, 402, 403])
def test_account_problems_stop_the_run(httpserver, client, code):
    httpserver.expect_request("/v2/combined/find").respond_with_json({"error": {"type": "auth"}}, status=code)
    outcome = client.enrich([("email", "a@acme.com"), ("email", "b@acme.com")])
    assert isinstance(outcome.error, ConfigurationError) and "configuration problem" in str(outcome.error)
    assert len(httpserver.log) == 1  # the second lookup was not attempted
    assert CB_KEY not in str(outcome.error)


def test_422_rejects_only_that_lookup(httpserver, client):
    httpserver.expect_request("/v2/combined/find", query_string={"email": "bad@"}).respond_with_json(
        {"error": {"type": "email_invalid", "message": "Invalid email."}}, status=422)
    httpserver.expect_request("/v2/combined/find").respond_with_json(clearbit_person("ok@acme.com"))
    outcome = client.enrich([("email", "bad@"), ("email", "ok@acme.com")])
    assert outcome.rejected == {("email", "bad@"): "clearbit: invalid email (Invalid email.)"}
    assert ("email", "ok@acme.com") in outcome.results and outcome.error is None


def test_429_honours_retry_after(httpserver, client):
    httpserver.expect_request("/v2/combined/find").respond_with_data("", status=429, headers={"Retry-After": "30"})
    outcome = client.enrich([("email", "a@acme.com"), ("email", "b@acme.com")])
    assert isinstance(outcome.error, RateLimited) and outcome.error.retry_after == 30
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_5xx_retries_with_back_off_then_gives_up(httpserver, client, clock, code):
    httpserver.expect_request("/v2/combined/find").respond_with_data("", status=code)
    outcome = client.enrich([("email", "a@acme.com"), ("email", "b@acme.com")])
    assert isinstance(outcome.error, TransientError) and f"HTTP {code}" in str(outcome.error)
    assert len(httpserver.log) == 3 and clock.slept == [1.0, 2.0]


def test_malformed_json_is_transient(httpserver, client):
    httpserver.expect_request("/v2/combined/find").respond_with_data("<html>oops", content_type="application/json")
    outcome = client.enrich([("email", "a@acme.com")])
    assert isinstance(outcome.error, TransientError) and outcome.results == {}


def test_slow_response_past_the_timeout_is_transient(httpserver, settings, clock):
    settings.PROVIDER_TIMEOUT = 0.1
    settings.PROVIDER_RETRIES = 1

    def slow(request):
        time.sleep(0.3)
        return Response(json.dumps(clearbit_person("a@acme.com")), content_type="application/json")

    httpserver.expect_request("/v2/combined/find").respond_with_handler(slow)
    client = Clearbit(api_key=CB_KEY, base_url=httpserver.url_for("").rstrip("/"), clock=clock)
    outcome = client.enrich([("email", "a@acme.com")])
    assert isinstance(outcome.error, TransientError) and "timed out" in str(outcome.error)


def test_unexpected_shapes_do_not_crash_the_mapping():
    assert map_person_company({"name": "Alex", "employment": None, "geo": []}, {"metrics": "n/a"}) == {}
