"""With Redis unreachable the cache degrades to the database and keeps per-tenant keys."""
import pytest
from django.core.cache import caches
from django.test import override_settings
from django_tenants.utils import schema_context

DEAD_REDIS = {
    "default": {"BACKEND": "leadhub.cache.FallbackCache", "OPTIONS": {"PRIMARY": "redis", "FALLBACK": "database", "RETRY_AFTER": 30}},
    "redis": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    },
    "database": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "leadhub_cache",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
    },
}


@pytest.fixture
def dead_redis(db):
    with override_settings(CACHES=DEAD_REDIS):
        yield caches["default"]


def test_cache_serves_from_database_when_redis_is_down(dead_redis, tenant_a, tenant_b):
    with schema_context("tenant_a"):
        dead_redis.set("k", "a-value", 60)
        assert dead_redis.get("k") == "a-value"
        assert dead_redis.degraded
        assert dead_redis.add("counter", 1)
        assert dead_redis.incr("counter") == 2
        assert dead_redis.get("counter") == 2
    with schema_context("tenant_b"):
        assert dead_redis.get("k") is None  # still isolated per tenant


def test_health_says_degraded_but_answers_200(dead_redis, client_a):
    response = client_a.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["cache"] == "degraded"
    assert response.json()["status"] == "degraded"
