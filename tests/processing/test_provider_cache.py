"""Cost control and isolation: cached answers, encrypted keys, tenants kept apart."""
import json

from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import schema_context

from leadhub.crypto import decrypt_secret
from leads.models import TenantSettings
from processing.enrichment import enrich_leads
from processing.models import ProviderConfig, ProviderResult
from processing.providers import provider_status
from processing.providers.registry import provider_configs
from processing.verification import verify_leads
from tests.processing.conftest import CB_KEY, ZB_KEY, FakeClearbit, FakeZeroBounce, unsaved_leads

EMAILS = [f"person{i}@company{i % 97}.com" for i in range(1000)]


def test_verifying_the_same_1000_emails_twice_looks_each_up_once(stage_settings, zerobounce, httpserver, clock, settings):
    settings.PROVIDER_TIMEOUT = 5  # a timed-out call on a busy machine is retried and counted twice
    first = verify_leads(unsaved_leads(EMAILS), settings=stage_settings, clock=clock)
    clock.advance(60)  # not needed by the cache; keeps the batch limiter out of the picture
    # A re-import: new lead objects, same addresses (case differs: the cache is per canonical email).
    second = verify_leads(unsaved_leads([e.upper() for e in EMAILS]), settings=stage_settings, clock=clock)
    assert len(first.passed) == len(second.passed) == 1000
    assert len(zerobounce.looked_up) == 1000
    assert sum(1 for r, _ in httpserver.log if r.path == "/v2/validatebatch") == 5
    assert all(lead.verification["cached"] for lead in second.passed)


def test_enriching_the_same_1000_emails_twice_looks_each_up_once(stage_settings, clearbit, clock, settings):
    settings.PROVIDER_TIMEOUT = 5  # a timed-out call on a busy machine is retried and counted twice
    enrich_leads(unsaved_leads(EMAILS), settings=stage_settings, clock=clock)
    first_run = len(clearbit.looked_up)
    again = unsaved_leads(EMAILS)
    enrich_leads(again, settings=stage_settings, clock=clock)
    assert len(clearbit.looked_up) == first_run  # the second run asks the provider nothing
    assert sorted(set(clearbit.looked_up)) == sorted(EMAILS) and first_run == 1000
    assert all(lead.company == "Acme" for lead in again)


def test_a_company_learnt_from_an_email_serves_domain_only_leads(stage_settings, clearbit, clock):
    from leads.models import Lead

    enrich_leads(unsaved_leads(["alex@acme.com"]), settings=stage_settings, clock=clock)
    lead = Lead(domain="acme.com")
    enrich_leads([lead], settings=stage_settings, clock=clock)
    assert clearbit.looked_up == ["alex@acme.com"] and lead.company == "Acme"


def test_expired_answers_are_looked_up_again(stage_settings, zerobounce, settings, clock):
    settings.PROVIDER_CACHE_TTL_DAYS = 0
    verify_leads(unsaved_leads(["a@acme.com", "b@acme.com"]), settings=stage_settings, clock=clock)
    verify_leads(unsaved_leads(["a@acme.com", "b@acme.com"]), settings=stage_settings, clock=clock)
    assert len(zerobounce.looked_up) == 4


def test_the_cache_survives_in_the_database(stage_settings, zerobounce, clock):
    verify_leads(unsaved_leads(["a@acme.com"]), settings=stage_settings, clock=clock)
    row = ProviderResult.objects.get(kind="verification", key="a@acme.com")
    assert row.provider == "zerobounce" and row.data["status"] == "valid" and row.final


def test_api_keys_are_stored_encrypted_and_shown_masked(in_tenant_a):
    config = provider_configs()[0].__class__.objects.get(name="zerobounce")
    config.set_api_key(ZB_KEY)
    config.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key_encrypted FROM processing_providerconfig WHERE name = 'zerobounce'")
        stored = cursor.fetchone()[0]
    assert ZB_KEY not in stored and decrypt_secret(stored) == ZB_KEY
    config.refresh_from_db()
    assert config.api_key() == ZB_KEY
    assert config.masked_api_key() == "••••6789"
    assert ZB_KEY not in json.dumps(provider_status())


def test_tenant_key_overrides_the_environment_key(in_tenant_a, settings):
    settings.ZEROBOUNCE_API_KEY = "env-key-aaaa"
    config = next(c for c in provider_configs() if c.name == "zerobounce")
    assert config.api_key() == "env-key-aaaa" and config.masked_api_key().endswith("(environment)")
    config.set_api_key("tenant-key-bbbb")
    assert config.api_key() == "tenant-key-bbbb"


def test_tenant_a_cache_and_keys_are_invisible_in_tenant_b(tenant_a, tenant_b, httpserver, clock):
    fake = FakeZeroBounce(clock).install(httpserver)
    with schema_context("tenant_a"):
        config = next(c for c in provider_configs() if c.name == "zerobounce")
        config.set_api_key(ZB_KEY)
        config.save()
        settings_a = TenantSettings.current()
        verify_leads(unsaved_leads(["shared@acme.com"]), settings=settings_a, clock=clock)
        assert len(fake.looked_up) == 1

    with schema_context("tenant_b"):
        assert not ProviderResult.objects.exists()
        status = {row["name"]: row for row in provider_status()}
        assert status["zerobounce"]["configured"] is False and status["zerobounce"]["api_key"] == ""
        # B has no key of its own: A's key is not used and nothing is sent.
        lead = unsaved_leads(["shared@acme.com"])[0]
        verify_leads([lead], settings=TenantSettings.current(), clock=clock)
        assert len(fake.looked_up) == 1 and lead.verification["provider"] == "offline"

        config = next(c for c in provider_configs() if c.name == "zerobounce")
        config.set_api_key("tenant-b-key-5555")
        config.save()
        verify_leads(unsaved_leads(["shared@acme.com"]), settings=TenantSettings.current(), clock=clock)
        # B pays for its own look-up: A's cached answer is not B's.
        assert len(fake.looked_up) == 2
    bodies = [json.loads(r.get_data()) for r, _ in httpserver.log if r.path == "/v2/validatebatch"]
    keys = [r.args.get("api_key") for r, _ in httpserver.log if r.path == "/v2/validate"] + [b["api_key"] for b in bodies]
    assert keys == [ZB_KEY, "tenant-b-key-5555"]


def test_admin_shows_only_the_masked_key_of_its_own_tenant(tenant_a, tenant_b, client_a, client_b):
    with schema_context("tenant_a"):
        config = next(c for c in provider_configs() if c.name == "clearbit")
        config.set_api_key(CB_KEY)
        config.save()
        client_a.force_login(get_user_model().objects.get(username="admin@a.test"))
    with schema_context("tenant_b"):
        provider_configs()
        client_b.force_login(get_user_model().objects.get(username="admin@b.test"))

    page_a = client_a.get("/admin/processing/providerconfig/").content.decode()
    assert "••••7654" in page_a and CB_KEY not in page_a
    page_b = client_b.get("/admin/processing/providerconfig/").content.decode()
    assert "••••7654" not in page_b and CB_KEY not in page_b
    # A's admin session is refused on B's host.
    assert client_a.get("/admin/processing/providerconfig/", HTTP_HOST="b.localhost").status_code == 302


def test_admin_sets_a_key_without_ever_echoing_it(tenant_a, client_a):
    with schema_context("tenant_a"):
        config = next(c for c in provider_configs() if c.name == "zerobounce")
        client_a.force_login(get_user_model().objects.get(username="admin@a.test"))
    url = f"/admin/processing/providerconfig/{config.pk}/change/"
    response = client_a.post(url, {"enabled": "on", "position": "10", "monthly_credit_budget": "100", "api_key": "typed-in-key-4321"})
    assert response.status_code == 302
    with schema_context("tenant_a"):
        config = ProviderConfig.objects.get(pk=config.pk)
        assert config.api_key() == "typed-in-key-4321" and config.monthly_credit_budget == 100
    page = client_a.get(url).content.decode()
    assert "typed-in-key-4321" not in page and "••••4321" in page
    # Saving again with the field left empty keeps the key.
    client_a.post(url, {"enabled": "on", "position": "10", "monthly_credit_budget": "100", "api_key": ""})
    with schema_context("tenant_a"):
        assert ProviderConfig.objects.get(pk=config.pk).api_key() == "typed-in-key-4321"


def test_clearbit_cache_is_per_tenant(tenant_a, tenant_b, httpserver, settings, clock):
    settings.CLEARBIT_API_KEY = CB_KEY  # the same environment key for both tenants
    fake = FakeClearbit().install(httpserver)
    for schema in ("tenant_a", "tenant_b"):
        with schema_context(schema):
            s = TenantSettings.current()
            s.enable_enrichment = True
            enrich_leads(unsaved_leads(["alex@acme.com"]), settings=s, clock=clock)
    assert fake.looked_up == ["alex@acme.com", "alex@acme.com"]


def test_a_key_stored_under_another_secret_key_is_reported_not_used(in_tenant_a, settings):
    config = next(c for c in provider_configs() if c.name == "clearbit")
    config.set_api_key(CB_KEY)
    config.save()
    settings.SECRET_KEY = "rotated-secret-key-for-this-test"
    config.refresh_from_db()
    assert config.api_key() == "" and config.key_unreadable()
    status = next(row for row in provider_status() if row["name"] == "clearbit")
    assert "cannot be decrypted" in status["blocked_reason"] and status["configured"] is False


def test_provider_status_lists_every_provider_with_its_health(in_tenant_a):
    rows = provider_status()
    assert [row["name"] for row in rows] == ["offline", "clearbit", "zerobounce"]
    offline = rows[0]
    assert offline["kind"] == "verification" and offline["enabled"] and offline["configured"] and offline["healthy"]
    assert {"last_error", "credits", "usage_month", "monthly_credit_budget", "blocked_reason", "api_key"} <= set(offline)


def test_provider_status_is_empty_on_the_public_schema(public_schema):
    assert provider_status() == []


def test_provider_rows_are_created_once_then_only_read(tenant_a, django_assert_num_queries):
    with schema_context("tenant_a"):
        ProviderConfig.objects.filter(name="clearbit").delete()
        names = [c.name for c in provider_configs()]
        assert sorted(names) == ["clearbit", "offline", "zerobounce"]  # the missing one is back
        with django_assert_num_queries(1):  # every stage of every chunk asks: one read, no insert
            assert [c.name for c in provider_configs()] == names
