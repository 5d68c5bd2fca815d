"""Per-tenant provider configuration, usage accounting and the result cache.

All three live in the tenant schema: one tenant's keys, spending and cached
answers are invisible to every other tenant.
"""
import datetime as dt

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import models
from django.utils import timezone

from leadhub.crypto import decrypt_secret, encrypt_secret, mask_secret


class ProviderKind(models.TextChoices):
    ENRICHMENT = "enrichment", "Enrichment"
    VERIFICATION = "verification", "Verification"


class ProviderName(models.TextChoices):
    OFFLINE = "offline", "Offline verifier"
    ZEROBOUNCE = "zerobounce", "ZeroBounce"
    CLEARBIT = "clearbit", "Clearbit (Breeze Intelligence)"


# Which stage each provider serves, and its place in the default waterfall.
PROVIDER_KIND = {
    ProviderName.OFFLINE: ProviderKind.VERIFICATION,
    ProviderName.ZEROBOUNCE: ProviderKind.VERIFICATION,
    ProviderName.CLEARBIT: ProviderKind.ENRICHMENT,
}
DEFAULT_POSITION = {ProviderName.OFFLINE: 0, ProviderName.ZEROBOUNCE: 10, ProviderName.CLEARBIT: 10}
PAID_PROVIDERS = {ProviderName.ZEROBOUNCE, ProviderName.CLEARBIT}
ENV_KEY_SETTING = {ProviderName.ZEROBOUNCE: "ZEROBOUNCE_API_KEY", ProviderName.CLEARBIT: "CLEARBIT_API_KEY"}


class ProviderConfig(models.Model):
    """One provider for this tenant: on/off, order in its stage's waterfall,
    API key (encrypted), optional monthly credit budget, and its health."""

    name = models.CharField(max_length=30, choices=ProviderName.choices, unique=True)
    enabled = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=10, help_text="lower runs first within its stage")
    api_key_encrypted = models.TextField(blank=True, default="", editable=False)
    monthly_credit_budget = models.PositiveIntegerField(
        null=True, blank=True, help_text="stop paid calls once this many credits were spent this month (empty: no limit)"
    )

    # Health, shown in /api/v1/status and admin.
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True, help_text="set by a 429 Retry-After")
    credits_remaining = models.BigIntegerField(null=True, blank=True)
    credits_checked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = "provider"

    def __str__(self):
        return self.get_name_display()

    @property
    def kind(self) -> str:
        return PROVIDER_KIND[self.name]

    @property
    def paid(self) -> bool:
        return self.name in PAID_PROVIDERS

    def set_api_key(self, value: str) -> None:
        self.api_key_encrypted = encrypt_secret(value.strip())

    def tenant_api_key(self) -> str:
        try:
            return decrypt_secret(self.api_key_encrypted)
        except InvalidToken:
            return ""

    def api_key(self) -> str:
        """The tenant's key, else the environment default."""
        return self.tenant_api_key() or getattr(settings, ENV_KEY_SETTING.get(self.name, ""), "") or ""

    def key_unreadable(self) -> bool:
        if not self.api_key_encrypted:
            return False
        try:
            decrypt_secret(self.api_key_encrypted)
            return False
        except InvalidToken:
            return True

    def masked_api_key(self) -> str:
        if self.tenant_api_key():
            return mask_secret(self.tenant_api_key())
        env_key = getattr(settings, ENV_KEY_SETTING.get(self.name, ""), "") or ""
        return f"{mask_secret(env_key)} (environment)" if env_key else ""

    masked_api_key.short_description = "API key"


def month_start(when: dt.datetime | None = None) -> dt.date:
    when = timezone.localdate(when) if when else timezone.localdate()
    return when.replace(day=1)


class ProviderUsage(models.Model):
    """Calls made and credits spent per provider per calendar month."""

    provider = models.CharField(max_length=30, choices=ProviderName.choices)
    month = models.DateField()
    calls = models.BigIntegerField(default=0)
    credits = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-month", "provider"]
        constraints = [models.UniqueConstraint(fields=["provider", "month"], name="provider_usage_month_uniq")]
        verbose_name_plural = "provider usage"

    def __str__(self):
        return f"{self.provider} {self.month:%Y-%m}"


class CacheKind(models.TextChoices):
    VERIFICATION = "verification", "Verification (per email)"
    PERSON = "person", "Person (per email)"
    COMPANY = "company", "Company (per domain)"


class ProviderResult(models.Model):
    """A provider's answer, cached so a re-import spends no credit twice.

    ``data`` is None for a cached "no match". A temporary answer
    (``final=False``, e.g. greylisted) expires soon and counts its re-checks.
    """

    kind = models.CharField(max_length=20, choices=CacheKind.choices)
    key = models.CharField(max_length=320)
    provider = models.CharField(max_length=30)
    data = models.JSONField(null=True, blank=True)
    final = models.BooleanField(default=True)
    checks = models.PositiveSmallIntegerField(default=1)
    fetched_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="provider_result_kind_key_uniq")]
        indexes = [models.Index(fields=["expires_at"], name="provider_result_expires_idx")]

    def __str__(self):
        return f"{self.kind}:{self.key}"


class ProviderRateSlot(models.Model):
    """One of a rate limit's N slots (e.g. ZeroBounce's 5 batch calls a minute).

    A call takes the slot used longest ago, if that was at least a period ago,
    with ``FOR UPDATE SKIP LOCKED``: every worker of the tenant shares the limit
    without waiting on another's transaction. ``last_used`` is in the clock's
    seconds so tests can drive it with a fake clock.
    """

    limit_name = models.CharField(max_length=50)
    slot = models.PositiveSmallIntegerField()
    last_used = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["limit_name", "slot"], name="provider_rate_slot_uniq")]

    def __str__(self):
        return f"{self.limit_name}#{self.slot}"
