import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from tenants.models import Domain, Tenant


def test_add_tenant_then_healthz_on_new_domain(db, capsys):
    call_command("add_tenant", "acme", "--domain", "acme.localhost", "--admin-email", "boss@acme.test")
    out = capsys.readouterr().out
    assert "Password (shown once):" in out
    assert schema_exists("acme")
    response = Client(HTTP_HOST="acme.localhost").get("/healthz")
    assert response.status_code == 200
    assert response.json()["tenant"] == "acme"
    with schema_context("acme"):
        from django.contrib.auth import get_user_model

        admin = get_user_model().objects.get(username="boss@acme.test")
        assert admin.groups.filter(name="admin").exists()


def test_add_tenant_with_given_password_does_not_print_it(db, capsys):
    call_command("add_tenant", "beta", "--domain", "beta.localhost", "--admin-email", "x@beta.test", "--password", "s3cret-pass-99")
    out = capsys.readouterr().out
    assert "s3cret-pass-99" not in out
    from django.contrib.auth import authenticate

    with schema_context("beta"):
        assert authenticate(username="x@beta.test", password="s3cret-pass-99") is not None


@pytest.mark.parametrize(
    "args, reason",
    [
        (["gamma", "--domain", "a.localhost"], "domain 'a.localhost' is already taken"),
        (["tenant_a", "--domain", "new.localhost"], "slug 'tenant_a' is already taken"),
        (["public", "--domain", "p.localhost"], "'public' is a reserved name"),
        (["Bad-Slug", "--domain", "bad.localhost"], "invalid slug 'Bad-Slug'"),
    ],
)
def test_add_tenant_refuses_and_creates_nothing(db, args, reason):
    tenants_before = Tenant.objects.count()
    domains_before = Domain.objects.count()
    with pytest.raises(CommandError, match=reason):
        call_command("add_tenant", *args, "--admin-email", "x@y.test")
    assert Tenant.objects.count() == tenants_before
    assert Domain.objects.count() == domains_before
    if args[0] not in ("tenant_a", "public"):
        assert not schema_exists(args[0].lower())


def test_add_tenant_exits_nonzero_with_one_line_reason(db):
    import subprocess, sys, os

    # Through the real command line: exit status and a one-line reason on stderr.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "leadhub.test_settings"}
    env.setdefault("LEADHUB_TESTING", "1")
    # The test database is what holds a.localhost; point the child at it.
    env["DATABASE_URL"] = _test_database_url()
    proc = subprocess.run(
        [sys.executable, "manage.py", "add_tenant", "dup", "--domain", "a.localhost", "--admin-email", "x@y.test"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == ["CommandError: domain 'a.localhost' is already taken"]


def _test_database_url() -> str:
    s = connection.settings_dict
    host = s["HOST"] or "localhost"
    if host.startswith("/"):
        from urllib.parse import quote

        return f"postgres://{s['USER']}@{quote(host, safe='')}/{s['NAME']}"
    return f"postgres://{s['USER']}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


def test_bootstrap_demo_is_idempotent(db, capsys):
    call_command("bootstrap_demo")
    first = capsys.readouterr().out
    assert "Created demo tenant" in first
    with schema_context("demo"):
        from leads.models import Lead

        count = Lead.objects.count()
        assert count > 0
        # The sample leads went through the pipeline: the review queue is not empty.
        assert Lead.objects.filter(status="pending_review").exists()
    call_command("bootstrap_demo")
    second = capsys.readouterr().out
    assert "already exists; nothing changed" in second
    with schema_context("demo"):
        assert Lead.objects.count() == count
