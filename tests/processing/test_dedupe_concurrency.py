"""Two OS processes with leads sharing keys never leave two survivors."""
import os
import subprocess
import sys
import time
import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from leads.models import Lead, LeadStatus
from leads.models.lead import SURVIVING_STATUSES
from tests.tenants.test_provisioning import _test_database_url

pytestmark = pytest.mark.slow


def _run_two(args_one, args_two):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "leadhub.test_settings", "DATABASE_URL": _test_database_url()}
    start_at = f"{time.time() + 2.5:.3f}"
    procs = [subprocess.Popen([sys.executable, "-m", "tests.processing.concurrency_worker", args[0], start_at, *args[1:]],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for args in (args_one, args_two)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err


def _cleanup(sql, params):
    # The test's own transaction cannot undo what the workers committed.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "leadhub.test_settings", "DATABASE_URL": _test_database_url()}
    code = ("import django;django.setup();from django.db import connection;c=connection.cursor();"
            f"c.execute('SET search_path TO tenant_a');c.execute({sql!r}, {params!r})")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


@pytest.mark.django_db
def test_two_ingesting_processes_with_the_same_emails_leave_one_survivor_each():
    tag = uuid.uuid4().hex[:8]
    try:
        _run_two(["ingest", f"{tag}", "50"], ["ingest", f"{tag}", "50"])
        with schema_context("tenant_a"):
            leads = Lead.objects.filter(source=f"conc-{tag}")
            assert leads.count() == 100
            survivors = leads.filter(status__in=SURVIVING_STATUSES)
            assert survivors.count() == 50
            assert survivors.values("email_key").distinct().count() == 50
            dups = leads.filter(status=LeadStatus.DUPLICATE)
            assert all(d.duplicate_of.status != LeadStatus.DUPLICATE for d in dups)
    finally:
        _cleanup("DELETE FROM leads_lead WHERE source = %s", [f"conc-{tag}"])


@pytest.mark.django_db
def test_two_pipeline_processes_deduping_matching_leads_leave_one_survivor():
    tag = uuid.uuid4().hex[:8]
    # Committed by a worker so that both processes see them.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "leadhub.test_settings", "DATABASE_URL": _test_database_url()}
    code = (
        "import django;django.setup();from django_tenants.utils import schema_context;"
        "import hashlib;from tests.processing.conftest import keyed_lead\n"
        "co=lambda i: hashlib.sha1(f'{i}'.encode()).hexdigest()[:12]\n"
        "with schema_context('tenant_a'):\n"
        f"  a=[keyed_lead(first_name='Robert', last_name='Stone', company=co(i), source='conc-{tag}').pk for i in range(40)]\n"
        f"  b=[keyed_lead(first_name='Bob', last_name='Stone', company=co(i), source='conc-{tag}').pk for i in range(40)]\n"
        "  print(','.join(map(str,a)));print(','.join(map(str,b)))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60, capture_output=True, text=True)
    ids_a, ids_b = out.stdout.strip().splitlines()[-2:]
    try:
        _run_two(["process", ids_a], ["process", ids_b])
        with schema_context("tenant_a"):
            for i, (a, b) in enumerate(zip(ids_a.split(","), ids_b.split(","))):
                pair = Lead.objects.filter(pk__in=[int(a), int(b)])
                survivors = [l for l in pair if l.status != LeadStatus.DUPLICATE]
                assert len(survivors) == 1, f"pair {i}: {[(l.pk, l.status) for l in pair]}"
                assert survivors[0].status == LeadStatus.PENDING_REVIEW
                dup = next(l for l in pair if l.status == LeadStatus.DUPLICATE)
                assert dup.duplicate_of_id == survivors[0].pk
    finally:
        _cleanup("DELETE FROM leads_auditevent WHERE lead_id IN (SELECT id FROM leads_lead WHERE source = %s)", [f"conc-{tag}"])
        _cleanup("DELETE FROM leads_lead WHERE source = %s", [f"conc-{tag}"])
