from django.db import connection
from django.test import Client


def test_healthz_on_tenant_host_checks_database_and_cache(client_a):
    response = client_a.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["tenant"] == "tenant_a"
    assert body["checks"] == {"database": "ok", "cache": "ok"}


def test_healthz_on_public_host(public_client):
    response = public_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["tenant"] == "public"


def test_unknown_host_gets_clear_404_page(db):
    response = Client(HTTP_HOST="nobody.localhost").get("/")
    assert response.status_code == 404
    assert b"No workspace at this address" in response.content
    assert b"nobody.localhost" in response.content


def test_healthz_names_failing_cache(client_a, monkeypatch):
    from django.core.cache import cache

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "set", broken)
    response = client_a.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["cache"]


def test_healthz_names_failing_database(client_a, monkeypatch):
    from leadhub import views

    class BrokenConnection:
        schema_name = "tenant_a"

        def cursor(self):
            raise RuntimeError("database down")

    monkeypatch.setattr(views, "connection", BrokenConnection())
    response = client_a.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


def test_request_id_is_echoed_or_generated(client_a):
    assert client_a.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    generated = client_a.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")["X-Request-ID"]
    assert generated and " " not in generated
