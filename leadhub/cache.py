"""A cache that uses Redis while it answers and the database cache while it does not.

When a Redis call fails, the cache marks Redis down for a few seconds and serves
every call from the database cache meanwhile, so throttles, idempotency records
and cached look-ups keep working (slower) instead of failing requests. Both
underlying caches key by tenant schema (django_tenants.cache.make_key).
"""
import logging
import time

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache

logger = logging.getLogger(__name__)

try:  # the errors a Redis outage raises
    from django_redis.exceptions import ConnectionInterrupted
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    OUTAGE_ERRORS = (ConnectionInterrupted, RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
except ImportError:  # pragma: no cover
    OUTAGE_ERRORS = (ConnectionError, TimeoutError)

_DELEGATED = ("add", "get", "set", "touch", "delete", "get_many", "has_key", "incr", "decr",
              "set_many", "delete_many", "clear", "get_or_set")


class FallbackCache(BaseCache):
    def __init__(self, location, params):
        super().__init__(params)
        options = params.get("OPTIONS", {})
        self.primary_alias = options.get("PRIMARY", "redis")
        self.fallback_alias = options.get("FALLBACK", "database")
        self.retry_after = options.get("RETRY_AFTER", 5)
        self._down_until = 0.0

    @property
    def degraded(self) -> bool:
        return time.monotonic() < self._down_until

    def backend_name(self) -> str:
        return "database (redis unreachable)" if self.degraded else "redis"

    def _call(self, method: str, *args, **kwargs):
        if not self.degraded:
            try:
                return getattr(caches[self.primary_alias], method)(*args, **kwargs)
            except OUTAGE_ERRORS as exc:
                logger.warning("cache: redis unreachable (%s); using the database cache for %ss", exc.__class__.__name__, self.retry_after)
                self._down_until = time.monotonic() + self.retry_after
        return getattr(caches[self.fallback_alias], method)(*args, **kwargs)


def _delegate(name):
    def method(self, *args, **kwargs):
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    return method


for _name in _DELEGATED:
    setattr(FallbackCache, _name, _delegate(_name))
