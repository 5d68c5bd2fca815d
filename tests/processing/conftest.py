"""Fixtures for the processing tests.

Pipeline: ``keyed_lead`` makes leads whose normalized key columns are set directly.

Background processing: committed data and a broker drained in-process.

Most tests here run inside the usual rolled-back test transaction. Tests that
need rows other connections (threads, a real cluster) can see use ``live``:
it gives autocommit database access and wipes what the test wrote in the two
session tenants and in django-q2's tables afterwards.
"""
import itertools
import pydoc

import pytest
import pytest_django.fixtures
from django.db import connection
from django_tenants.utils import schema_context

from leads.models import AuditEvent, Lead, LeadStatus, TenantSettings

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
