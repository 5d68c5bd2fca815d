"""Request rate limits, counted in the shared cache (keys carry the tenant schema).

Rates come from ``settings.LEADHUB_THROTTLE_RATES`` at request time, so they can be
tuned per deployment through the environment.
"""
from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from leadhub.clients import client_ip


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_ident(self, request):
        # The address the sign-in page counts by too (DRF's own trusts X-Forwarded-For
        # unless NUM_PROXIES is set, and reads that setting once per process).
        return client_ip(request)

    def get_rate(self):
        return settings.LEADHUB_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        # DRF reads the rate once per throttle instance; read it per request.
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class ApiKeyRateThrottle(_SettingsRateThrottle):
    """Per API key."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        api_key = getattr(request, "auth", None)
        if not getattr(api_key, "is_api_key", False):
            return None
        return f"throttle:{self.scope}:{api_key.pk}"


class UserRateThrottle(_SettingsRateThrottle):
    """Per signed-in person (JWT or session)."""

    scope = "user"

    def get_cache_key(self, request, view):
        if getattr(getattr(request, "auth", None), "is_api_key", False):
            return None
        user = request.user
        if not getattr(user, "is_authenticated", False) or user.pk is None:
            return None
        return f"throttle:{self.scope}:{user.pk}"


class LoginRateThrottle(_SettingsRateThrottle):
    """Login attempts per client address (the same for known and unknown emails)."""

    scope = "login"

    def get_cache_key(self, request, view):
        return f"throttle:{self.scope}:{self.get_ident(request)}"


class LoginEmailRateThrottle(_SettingsRateThrottle):
    """Login attempts per email address, whoever sends them."""

    scope = "login_email"

    def get_cache_key(self, request, view):
        email = ""
        if isinstance(getattr(request, "data", None), dict):
            email = str(request.data.get("email", "")).strip().lower()
        if not email:
            return None
        return f"throttle:{self.scope}:{email}"
