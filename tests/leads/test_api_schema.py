"""The OpenAPI schema describes every ingestion, lead and auth endpoint; docs render offline."""
import pytest
import yaml
from django.test import Client

ENDPOINTS = {
    "/api/v1/auth/login": {"post"},
    "/api/v1/auth/refresh": {"post"},
    "/api/v1/leads/batch": {"post"},
    "/api/v1/leads/import": {"post"},
    "/api/v1/leads": {"get"},
    "/api/v1/leads/{id}": {"get", "patch"},
    "/api/v1/leads/{id}/review": {"put"},
    "/api/v1/imports": {"get"},
    "/api/v1/imports/{id}": {"get"},
    "/api/v1/imports/{id}/errors.csv": {"get"},
}


@pytest.fixture
def schema(tenant_a):
    response = Client(HTTP_HOST="a.localhost").get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_every_endpoint_is_described(schema):
    paths = {p.replace("{pk}", "{id}"): ops for p, ops in schema["paths"].items()}
    for path, methods in ENDPOINTS.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))


def test_bodies_errors_and_security_are_described(schema):
    batch = schema["paths"]["/api/v1/leads/batch"]["post"]
    assert "LeadBatch" in str(batch["requestBody"])
    assert {"200", "400", "403", "429"} <= set(batch["responses"])
    assert {"jwtAuth", "apiKeyAuth"} <= set(schema["components"]["securitySchemes"])
    assert "multipart/form-data" in schema["paths"]["/api/v1/leads/import"]["post"]["requestBody"]["content"]
    login = schema["paths"]["/api/v1/auth/login"]["post"]
    assert "401" in login["responses"]
    params = {p["name"] for p in schema["paths"]["/api/v1/leads"]["get"]["parameters"]}
    assert {"status", "source", "score_min", "score_max", "created_after", "batch", "q", "ordering",
            "page_size"} <= params


def test_docs_page_uses_the_bundled_assets(tenant_a):
    response = Client(HTTP_HOST="a.localhost").get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar" in html and "cdn" not in html.lower()
