"""Destination credentials: encrypted in the database, write-only in admin, per tenant."""
import pytest
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context

from leads.models import ExportSettings

SECRETS = {"instantly_api_key": "inst-key-0123456789", "smartlead_api_key": "smart-key-9876543210",
           "salesforce_client_secret": "sf-secret-5555aaaa"}


def _stored(schema: str) -> dict[str, str]:
    """The secret columns as PostgreSQL holds them."""
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(SECRETS)} FROM leads_exportsettings WHERE id = 1")
        return dict(zip(SECRETS, cursor.fetchone()))


@pytest.fixture
def admin_a(client_a):
    from django.contrib.auth import get_user_model

    with schema_context("tenant_a"):
        client_a.force_login(get_user_model().objects.get(username="admin@a.test"))
    return client_a


def _form(**values) -> dict:
    """The admin change form as a browser posts it: the secret boxes come back empty."""
    form = {"salesforce_instance_url": "https://acme.my.salesforce.com", "salesforce_token_url": "",
            "salesforce_client_id": "client-1", "salesforce_external_id_field": "", "salesforce_api_version": "",
            **{name: "" for name in SECRETS}}
    form.update(values)
    return form


def test_secrets_are_encrypted_in_the_database_and_plain_in_use(tenant_a):
    with schema_context("tenant_a"):
        creds = ExportSettings.current()
        for name, value in SECRETS.items():
            setattr(creds, name, value)
        creds.save()
        stored = _stored("tenant_a")
        for name, value in SECRETS.items():
            assert stored[name] and value not in stored[name], name
        again = ExportSettings.current()
        assert {name: again.value(name) for name in SECRETS} == SECRETS


def test_a_value_stored_before_encryption_is_read_and_encrypted_on_save(tenant_a):
    with schema_context("tenant_a"):
        ExportSettings.current()
        with connection.cursor() as cursor:
            cursor.execute("UPDATE leads_exportsettings SET instantly_api_key = 'legacy-plain-key' WHERE id = 1")
        creds = ExportSettings.current()
        assert creds.instantly_api_key == "legacy-plain-key"
        creds.save()
        assert "legacy-plain-key" not in _stored("tenant_a")["instantly_api_key"]
        assert ExportSettings.current().instantly_api_key == "legacy-plain-key"


def test_a_secret_that_no_longer_decrypts_reads_as_unset(tenant_a, settings, caplog):
    settings.INSTANTLY_API_KEY = "environment-key"
    with schema_context("tenant_a"):
        creds = ExportSettings.current()
        creds.instantly_api_key = "old-key-0000"
        creds.save()
        with override_settings(SECRET_KEY="a-rotated-secret-key-" + "x" * 40):
            creds = ExportSettings.current()
            assert creds.instantly_api_key == ""
            assert creds.value("instantly_api_key") == "environment-key"
    assert "instantly_api_key cannot be decrypted" in caplog.text and "old-key-0000" not in caplog.text


def test_admin_never_sends_a_secret_back_and_an_empty_box_keeps_it(admin_a):
    with schema_context("tenant_a"):
        creds = ExportSettings.current()
        creds.instantly_api_key = SECRETS["instantly_api_key"]
        creds.save()
    page = admin_a.get("/admin/leads/exportsettings/1/change/").content.decode()
    assert SECRETS["instantly_api_key"] not in page
    assert "stored: ••••6789" in page  # only the last four characters, to recognise it

    response = admin_a.post("/admin/leads/exportsettings/1/change/",
                            _form(smartlead_api_key=SECRETS["smartlead_api_key"]))
    assert response.status_code == 302, response.content[:2000]
    with schema_context("tenant_a"):
        creds = ExportSettings.current()
        assert creds.instantly_api_key == SECRETS["instantly_api_key"]  # kept
        assert creds.smartlead_api_key == SECRETS["smartlead_api_key"]  # set
        assert creds.salesforce_client_id == "client-1"


def test_admin_tick_box_removes_a_secret(admin_a):
    with schema_context("tenant_a"):
        creds = ExportSettings.current()
        creds.instantly_api_key, creds.smartlead_api_key = SECRETS["instantly_api_key"], SECRETS["smartlead_api_key"]
        creds.save()
    response = admin_a.post("/admin/leads/exportsettings/1/change/", _form(clear_instantly_api_key="on"))
    assert response.status_code == 302, response.content[:2000]
    with schema_context("tenant_a"):
        creds = ExportSettings.current()
        assert creds.instantly_api_key == "" and creds.smartlead_api_key == SECRETS["smartlead_api_key"]
    assert _stored("tenant_a")["instantly_api_key"] == ""


def test_one_tenants_credentials_are_not_another_tenants(tenant_a, tenant_b):
    with schema_context("tenant_a"):
        creds = ExportSettings.current()
        creds.instantly_api_key = SECRETS["instantly_api_key"]
        creds.save()
    with schema_context("tenant_b"):
        assert ExportSettings.current().value("instantly_api_key") == ""
