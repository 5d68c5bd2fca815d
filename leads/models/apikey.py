from django.conf import settings
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

# read: GET endpoints; write: leads, reviews, exports; admin: settings, users and keys.
SCOPES = ("read", "write", "admin")


class ApiKey(AbstractAPIKey):
    """A machine's key, stored hashed in its tenant's schema (shown once on creation)."""

    scopes = models.CharField(max_length=100, default="read,write", help_text="comma-separated: read, write, admin")
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = BaseAPIKeyManager()

    # Lets permission checks tell a key from a user's token.
    is_api_key = True

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def scope_list(self) -> list[str]:
        return [s.strip() for s in self.scopes.split(",") if s.strip()]
