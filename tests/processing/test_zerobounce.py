"""The ZeroBounce v2 client against a local server speaking its documented shapes."""
import json
import logging
import time

import pytest
from werkzeug import Response

from processing.providers.base import ConfigurationError, RateLimited, Throttled, TransientError
from processing.providers.zerobounce import ZeroBounce
from tests.processing.conftest import ZB_KEY, FakeZeroBounce


@pytest.fixture
def client(httpserver, clock):
    return ZeroBounce(api_key=ZB_KEY, base_url=httpserver.url_for("").rstrip("/"), clock=clock, schema="tenant_a")


def test_single_check_sends_the_documented_parameters(httpserver, client):
    httpserver.expect_request(
        "/v2/validate", query_string={"api_key": ZB_KEY, "email": "ann@acme.com", "ip_address": ""}
    ).respond_with_json(FakeZeroBounce.answer("ann@acme.com"))
    outcome = client.verify(["ann@acme.com"])
    assert outcome.error is None
    verdict = outcome.results["ann@acme.com"]
    assert (verdict.status, verdict.sub_status, verdict.final) == ("valid", "", True)
    assert outcome.calls == 1 and outcome.credits == 1


@pytest.mark.parametrize("status, sub_status, final", [
    ("valid", "", True),
    ("invalid", "mailbox_not_found", True),
    ("invalid", "possible_typo", True),
    ("catch-all", "", True),
    ("spamtrap", "", True),
    ("abuse", "", True),
    ("do_not_mail", "role_based", True),
    ("do_not_mail", "disposable", True),
    ("unknown", "mail_server_did_not_respond", False),
    ("unknown", "", False),
    ("valid", "greylisted", False),
    ("invalid", "mail_server_temporary_error", False),
    ("Something_New", "", False),  # an unexpected status is treated as unknown, never as invalid
])
def test_status_and_sub_status_map_onto_the_verdict(httpserver, client, status, sub_status, final):
    answer = {**FakeZeroBounce.answer("x@acme.com"), "status": status, "sub_status": sub_status}
    httpserver.expect_request("/v2/validate").respond_with_json(answer)
    verdict = client.verify(["x@acme.com"]).results["x@acme.com"]
    assert verdict.final is final
    assert verdict.status == (status.lower() if status != "Something_New" else "unknown")
    assert verdict.sub_status == sub_status


def test_did_you_mean_is_surfaced(httpserver, client):
    httpserver.expect_request("/v2/validate").respond_with_json(
        {**FakeZeroBounce.answer("ann@gmial.com"), "status": "invalid", "sub_status": "possible_typo", "did_you_mean": "ann@gmail.com"})
    verdict = client.verify(["ann@gmial.com"]).results["ann@gmial.com"]
    assert verdict.did_you_mean == "ann@gmail.com"


def test_batches_hold_at_most_200_emails_in_the_documented_body(httpserver, client, clock):
    fake = FakeZeroBounce(clock).install(httpserver)
    emails = [f"p{i}@acme.com" for i in range(450)]
    outcome = client.verify(emails)
    assert outcome.error is None
    assert set(outcome.results) == set(emails)
    batches = [json.loads(req.get_data()) for req, _ in httpserver.log if req.path == "/v2/validatebatch"]
    assert [len(b["email_batch"]) for b in batches] == [200, 200, 50]
    assert all(b["api_key"] == ZB_KEY for b in batches)
    assert batches[0]["email_batch"][0] == {"email_address": "p0@acme.com", "ip_address": ""}
    assert sorted(fake.looked_up) == sorted(emails)


def test_more_than_five_batches_wait_for_the_next_minute(httpserver, client, clock):
    fake = FakeZeroBounce(clock).install(httpserver)
    emails = [f"p{i}@acme.com" for i in range(1201)]

    first = client.verify(emails)
    assert len(fake.batch_times) == 5 and len(first.results) == 1000
    assert isinstance(first.error, Throttled) and first.error.retry_after == pytest.approx(60)

    rest = [e for e in emails if e not in first.results]
    clock.advance(30)
    assert isinstance(client.verify(rest).error, Throttled)
    assert len(fake.batch_times) == 5  # nothing sent while the minute is not over

    clock.advance(30)
    second = client.verify(rest)
    assert second.error is None and len(second.results) == 201
    # Any 60 seconds hold at most 5 batch calls.
    times = fake.batch_times
    assert len(times) == 7
    assert all(times[i + 5] - times[i] >= 60 for i in range(len(times) - 5))


def test_rate_limit_is_per_tenant(httpserver, clock):
    FakeZeroBounce(clock).install(httpserver)
    base = httpserver.url_for("").rstrip("/")
    emails = [f"p{i}@acme.com" for i in range(1001)]
    a = ZeroBounce(api_key=ZB_KEY, base_url=base, clock=clock, schema="tenant_a").verify(emails)
    b = ZeroBounce(api_key="other", base_url=base, clock=clock, schema="tenant_b").verify(emails[:400])
    assert isinstance(a.error, Throttled)
    assert b.error is None and len(b.results) == 400


@pytest.mark.parametrize("code", [401, 402, 403])
def test_account_problems_are_configuration_errors(httpserver, client, code):
    httpserver.expect_request("/v2/validatebatch").respond_with_json({"error": "nope"}, status=code)
    outcome = client.verify(["a@acme.com", "b@acme.com"])
    assert isinstance(outcome.error, ConfigurationError)
    assert outcome.results == {}


def test_invalid_key_answer_is_a_configuration_error_without_the_key(httpserver, client):
    httpserver.expect_request("/v2/validate").respond_with_json(
        {"error": f"Invalid API Key or your account ran out of credits (api_key={ZB_KEY})"})
    outcome = client.verify(["a@acme.com"])
    assert isinstance(outcome.error, ConfigurationError)
    assert ZB_KEY not in str(outcome.error)


def test_batch_error_for_all_is_a_provider_error(httpserver, client):
    httpserver.expect_request("/v2/validatebatch").respond_with_json(
        {"email_batch": [], "errors": [{"error": "Invalid API Key or your account ran out of credits", "email_address": "all"}]})
    assert isinstance(client.verify(["a@acme.com", "b@acme.com"]).error, ConfigurationError)


def test_429_honours_retry_after(httpserver, client):
    httpserver.expect_request("/v2/validate").respond_with_data("slow down", status=429, headers={"Retry-After": "120"})
    outcome = client.verify(["a@acme.com"])
    assert isinstance(outcome.error, RateLimited) and outcome.error.retry_after == 120
    assert outcome.calls == 1  # a 429 is not hammered with retries


def test_5xx_is_retried_with_back_off_on_the_clock_then_given_up(httpserver, client, clock):
    httpserver.expect_request("/v2/validate").respond_with_data("oops", status=503)
    outcome = client.verify(["a@acme.com"])
    assert isinstance(outcome.error, TransientError)
    assert outcome.calls == 3
    assert clock.slept == [1.0, 2.0]  # exponential back-off, on the fake clock


def test_5xx_then_success_recovers_within_the_run(httpserver, client):
    httpserver.expect_oneshot_request("/v2/validate").respond_with_data("oops", status=502)
    httpserver.expect_request("/v2/validate").respond_with_json(FakeZeroBounce.answer("a@acme.com"))
    outcome = client.verify(["a@acme.com"])
    assert outcome.error is None and outcome.results["a@acme.com"].status == "valid"


def test_malformed_json_is_a_transient_error(httpserver, client):
    httpserver.expect_request("/v2/validate").respond_with_data("{not json", content_type="application/json")
    outcome = client.verify(["a@acme.com"])
    assert isinstance(outcome.error, TransientError) and "unreadable" in str(outcome.error)


def test_slow_response_past_the_timeout_is_a_transient_error(httpserver, settings, clock):
    settings.PROVIDER_TIMEOUT = 0.1
    settings.PROVIDER_RETRIES = 1

    def slow(request):
        time.sleep(0.3)
        return Response(json.dumps(FakeZeroBounce.answer("a@acme.com")), content_type="application/json")

    httpserver.expect_request("/v2/validate").respond_with_handler(slow)
    client = ZeroBounce(api_key=ZB_KEY, base_url=httpserver.url_for("").rstrip("/"), clock=clock)
    outcome = client.verify(["a@acme.com"])
    assert isinstance(outcome.error, TransientError) and "timed out" in str(outcome.error)


def test_credits_are_read_from_getcredits(httpserver, client):
    httpserver.expect_request("/v2/getcredits", query_string={"api_key": ZB_KEY}).respond_with_json({"Credits": "2375"})
    assert client.credits() == 2375


def test_credits_minus_one_means_the_key_is_wrong(httpserver, client):
    httpserver.expect_request("/v2/getcredits").respond_with_json({"Credits": "-1"})
    with pytest.raises(ConfigurationError):
        client.credits()


def test_the_api_key_never_reaches_logs_or_errors(httpserver, caplog, clock, settings):
    settings.PROVIDER_RETRIES = 1
    caplog.set_level(logging.DEBUG)
    # A port nobody listens on: requests' exception text carries the full URL.
    dead = ZeroBounce(api_key=ZB_KEY, base_url="http://127.0.0.1:9", clock=clock)
    dead_outcome = dead.verify(["a@acme.com"])
    httpserver.expect_request("/v2/validate").respond_with_data("oops", status=500)
    live = ZeroBounce(api_key=ZB_KEY, base_url=httpserver.url_for("").rstrip("/"), clock=clock)
    live_outcome = live.verify(["a@acme.com"])

    assert isinstance(dead_outcome.error, TransientError) and isinstance(live_outcome.error, TransientError)
    # werkzeug's records come from the stand-in provider itself, not from our side.
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
    assert "api_key=***" in ours  # urllib3's request line was logged, scrubbed
    for text in (ours, str(dead_outcome.error), repr(dead_outcome.error), str(live_outcome.error), repr(dead)):
        assert ZB_KEY not in text
    assert dead_outcome.error.__cause__ is None and dead_outcome.error.__suppress_context__


def test_batch_answer_with_missing_addresses_leaves_them_unanswered(httpserver, client):
    httpserver.expect_request("/v2/validatebatch").respond_with_json(
        {"email_batch": [FakeZeroBounce.answer("a@acme.com"), "garbage"], "errors": []})
    outcome = client.verify(["a@acme.com", "b@acme.com"])
    assert set(outcome.results) == {"a@acme.com"} and outcome.error is None
