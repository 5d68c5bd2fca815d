"""Fixtures for processing tests.

Pipeline tests: leads whose normalized key columns are set directly.
Provider tests: a local HTTP server speaking the providers' documented shapes,
a fake clock and short timeouts. Nothing reaches the internet."""
import itertools
import json
import pydoc

import pytest
import pytest_django.fixtures
from django.db import connection
from django_tenants.utils import schema_context
from werkzeug import Response

from leads.models import AuditEvent, Lead, LeadStatus, TenantSettings
from processing.providers.base import FakeClock, reset_limiters

ZB_KEY = "zb-secret-key-0123456789"
CB_KEY = "sk_clearbit_secret_987654"


@pytest.fixture(autouse=True)
def _provider_settings(settings, httpserver):
    base = httpserver.url_for("").rstrip("/")
    settings.ZEROBOUNCE_BASE_URL = base
    settings.CLEARBIT_BASE_URL = base
    settings.ZEROBOUNCE_API_KEY = ""
    settings.CLEARBIT_API_KEY = ""
    settings.PROVIDER_TIMEOUT = 0.5
    settings.PROVIDER_RETRIES = 2
    settings.PROVIDER_BACKOFF = 1.0
    settings.VERIFY_MX = False
    reset_limiters()
    yield
    reset_limiters()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def stage_settings(in_tenant_a):
    """Tenant A's settings with both stages on."""
    obj = TenantSettings.current()
    obj.enable_enrichment = True
    obj.enable_verification = True
    obj.save()
    return obj


class FakeZeroBounce:
    """Answers /v2/validate, /v2/validatebatch and /v2/getcredits like ZeroBounce v2.

    The answer for an address is chosen by its local part: ``bad*`` invalid,
    ``grey*`` unknown/greylisted, ``catch*`` catch-all, ``trap*`` spamtrap,
    ``typo*`` invalid/possible_typo with a suggestion; anything else valid.
    """

    def __init__(self, clock=None):
        self.looked_up: list[str] = []
        self.batch_times: list[float] = []
        self.clock = clock

    @staticmethod
    def answer(email: str) -> dict:
        local = email.split("@")[0]
        status, sub, suggestion = "valid", "", None
        for prefix, s, ss in (("bad", "invalid", "mailbox_not_found"), ("grey", "unknown", "greylisted"),
                              ("catch", "catch-all", ""), ("trap", "spamtrap", ""), ("typo", "invalid", "possible_typo"),
                              ("role", "do_not_mail", "role_based")):
            if local.startswith(prefix):
                status, sub = s, ss
        if sub == "possible_typo":
            suggestion = email.split("@")[0] + "@example.com"
        return {
            "address": email, "status": status, "sub_status": sub, "free_email": False, "did_you_mean": suggestion,
            "account": local, "domain": email.split("@")[-1], "domain_age_days": "9000", "smtp_provider": "",
            "mx_found": "true", "mx_record": "mx.example.com", "firstname": None, "lastname": None, "gender": None,
            "country": None, "region": None, "city": None, "zipcode": None, "processed_at": "2026-11-29 01:00:00.000",
        }

    def validate(self, request):
        email = request.args["email"]
        self.looked_up.append(email)
        return Response(json.dumps(self.answer(email)), content_type="application/json")

    def validatebatch(self, request):
        body = request.get_json()
        assert body["api_key"]
        emails = [item["email_address"] for item in body["email_batch"]]
        assert len(emails) <= 200
        self.looked_up.extend(emails)
        if self.clock is not None:
            self.batch_times.append(self.clock.time())
        return Response(json.dumps({"email_batch": [self.answer(e) for e in emails], "errors": []}),
                        content_type="application/json")

    def install(self, httpserver):
        httpserver.expect_request("/v2/validate", method="GET").respond_with_handler(self.validate)
        httpserver.expect_request("/v2/validatebatch", method="POST").respond_with_handler(self.validatebatch)
        httpserver.expect_request("/v2/getcredits", method="GET").respond_with_json({"Credits": "5000"})
        return self


@pytest.fixture
def zerobounce(httpserver, settings, clock):
    settings.ZEROBOUNCE_API_KEY = ZB_KEY
    return FakeZeroBounce(clock).install(httpserver)


def clearbit_person(email: str) -> dict:
    local, domain = email.split("@")
    return {
        "person": {
            "id": "p-1", "name": {"fullName": "Alex Maccaw", "givenName": "Alex", "familyName": "Maccaw"},
            "email": email, "location": "San Francisco, CA, US",
            "geo": {"city": "San Francisco", "state": "California", "stateCode": "CA", "country": "United States", "countryCode": "US"},
            "employment": {"domain": domain, "name": "Acme", "title": "Head of Growth", "role": "marketing",
                           "subRole": "growth", "seniority": "director"},
            "linkedin": {"handle": "in/alexmaccaw"},
        },
        "company": clearbit_company(domain),
    }


def clearbit_company(domain: str) -> dict:
    return {
        "id": "c-1", "name": "Acme", "legalName": "Acme Inc.", "domain": domain,
        "category": {"sector": "Information Technology", "industryGroup": "Software & Services", "industry": "Internet Software & Services",
                     "subIndustry": "Internet Software & Services", "sicCode": "73", "naicsCode": "54"},
        "metrics": {"employees": 120, "employeesRange": "51-250", "annualRevenue": None, "estimatedAnnualRevenue": "$10M-$50M"},
        "geo": {"city": "Berlin", "country": "Germany", "countryCode": "DE"},
        "tech": ["google_apps", "hubspot"],
    }


class FakeClearbit:
    """Answers /v2/combined/find and /v2/companies/find like Clearbit."""

    def __init__(self):
        self.looked_up: list[str] = []

    def combined(self, request):
        email = request.args["email"]
        self.looked_up.append(email)
        if email.startswith("nomatch"):
            return Response(json.dumps({"error": {"type": "unknown_record", "message": "Unknown email address"}}), status=404, content_type="application/json")
        return Response(json.dumps(clearbit_person(email)), content_type="application/json")

    def company(self, request):
        domain = request.args["domain"]
        self.looked_up.append(domain)
        return Response(json.dumps(clearbit_company(domain)), content_type="application/json")

    def install(self, httpserver):
        httpserver.expect_request("/v2/combined/find").respond_with_handler(self.combined)
        httpserver.expect_request("/v2/companies/find").respond_with_handler(self.company)
        return self


@pytest.fixture
def clearbit(httpserver, settings):
    settings.CLEARBIT_API_KEY = CB_KEY
    return FakeClearbit().install(httpserver)


def unsaved_leads(emails, **fields) -> list[Lead]:
    """Leads as a stage receives them (the stages work on objects; the pipeline saves)."""
    return [Lead(email=e, email_key=e.lower(), domain=e.split("@")[-1], **fields) for e in emails]


# Background processing fixtures.
#
# committed data and a broker drained in-process.
#
# Most tests here run inside the usual rolled-back test transaction. Tests that
# need rows other connections (threads, a real cluster) can see use ``live``:
# it gives autocommit database access and wipes what the test wrote in the two
# session tenants and in django-q2's tables afterwards.

SCHEMAS = ("tenant_a", "tenant_b")


def _needs_database(original):
    # pytest-django creates the test database only when some selected test asks
    # for db/transactional_db; a run of only ``live`` tests must get one too.
    def wrapper(test):
        if "live" in getattr(test, "fixturenames", ()):
            return ("default",), False
        return original(test)
    return wrapper


pytest_django.fixtures._get_databases_for_test = _needs_database(pytest_django.fixtures._get_databases_for_test)


def bulk_leads(count: int, *, prefix: str = "lead", **fields) -> list[int]:
    """Insert ``count`` leads in the current schema in one statement; returns their ids."""
    fields.setdefault("status", LeadStatus.NEW)
    fields.setdefault("source", "test")
    leads = [
        Lead(email=f"{prefix}{i}@example{i % 97}.com", first_name="Pat", last_name=f"{prefix}{i}",
             raw={"email": f"{prefix}{i}@example{i % 97}.com"}, **fields)
        for i in range(count)
    ]
    return [lead.pk for lead in Lead.objects.bulk_create(leads, batch_size=2000)]


def wipe() -> None:
    from django_q.models import OrmQ, Schedule, Task

    from processing.models import PipelineJob, StageTiming

    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in (AuditEvent, PipelineJob, StageTiming, Lead))
    for schema in SCHEMAS:
        with schema_context(schema), connection.cursor() as cursor:
            # Rows of other tests never outlive their transaction, so these
            # tables hold only what a ``live`` test wrote.
            cursor.execute(f"TRUNCATE {tables} CASCADE")
    with schema_context("public"):
        Schedule.objects.all().delete()
        Task.objects.all().delete()
        OrmQ.objects.all().delete()


def purge_broker() -> None:
    from django_q.brokers import get_broker

    get_broker().purge_queue()


@pytest.fixture
def live(django_db_setup, django_db_blocker):
    """Autocommit access to the test database; everything written is wiped afterwards."""
    with django_db_blocker.unblock():
        # A transactional test earlier in the session may have flushed the
        # public tables (tenants, domains): put the test tenants back first.
        from tests.conftest import ensure_test_tenants

        ensure_test_tenants()
        wipe()
        purge_broker()
        try:
            yield
        finally:
            connection.set_schema_to_public()
            wipe()
            purge_broker()


def run_queued_tasks(limit: int = 10_000) -> list[tuple[str, tuple, object]]:
    """Play a worker: take every task off the configured broker and run it,
    each starting on the public schema as a fresh worker connection would.
    Returns (func, args, result) for each task run."""
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    broker = get_broker()
    ran = []
    while len(ran) < limit:
        batch = broker.dequeue()
        if not batch:
            break
        for ack_id, payload in batch:
            task = SignedPackage.loads(payload)
            func = task["func"] if callable(task["func"]) else pydoc.locate(task["func"])
            connection.set_schema_to_public()
            ran.append((task["func"], tuple(task["args"]), func(*task["args"], **task["kwargs"])))
            broker.acknowledge(ack_id)
    return ran


_seq = itertools.count(1)


def keyed_lead(*, save: bool = True, **fields) -> Lead:
    """A normalized lead with match keys derived the simple way (tests set what
    matters to them; normalization has its own tests)."""
    first = fields.setdefault("first_name", "")
    last = fields.setdefault("last_name", "")
    fields.setdefault("status", LeadStatus.NORMALIZED)
    fields.setdefault("source", "test")
    email = fields.get("email", "")
    fields.setdefault("email_key", email.lower())
    fields.setdefault("name_key", last.lower())
    company = fields.get("company", "")
    fields.setdefault("company_key", company.lower().replace(" inc", "").replace(",", "").strip())
    fields.setdefault("phone_key", fields.get("phone", ""))
    fields.setdefault("normalized", {"email_valid": bool(email), "is_free": email.endswith("@gmail.com"),
                                     "is_role": False, "is_disposable": False, "phone_valid": bool(fields.get("phone"))})
    lead = Lead(**fields)
    if save:
        lead.save()
    return lead


@pytest.fixture
def tenant_settings(in_tenant_a):
    return TenantSettings.current()
