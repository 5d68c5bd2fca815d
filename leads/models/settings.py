import secrets
from pathlib import PurePosixPath

from django.conf import settings as django_settings
from django.db import connection, models

DEFAULT_SCORING_WEIGHTS = {
    "email_valid": 20,
    "email_verified": 15,
    "free_mail": -10,
    "disposable": -30,
    "role_account": -10,
    "phone_valid": 10,
    "seniority": 15,
    "department": 10,
    "company_size": 10,
    "industry": 5,
    "completeness": 10,
    "source": 5,
}


# Copied from GlobalDefaults when a tenant's settings row is first created. The rest
# (weights, ICP rules, switches, retention) fall back to GlobalDefaults at run time.
SEEDED_FROM_GLOBAL = ("default_region", "fuzzy_match_threshold", "fuzzy_review_threshold",
                      "product_name", "primary_color")


def logo_upload_to(instance, filename: str) -> str:
    """<schema>/branding/logo-<random>.<ext>: per tenant, and not guessable. The file is only
    ever served by the tenant's own host (leads.branding_views), never from MEDIA_URL."""
    ext = PurePosixPath(filename).suffix.lower()[:6] or ".img"
    return f"{connection.schema_name}/branding/logo-{secrets.token_urlsafe(12)}{ext}"


class TenantSettings(models.Model):
    """The tenant's configuration: one row per schema (pk=1). A null switch or retention means
    'the operator's GlobalDefaults, else the environment'; see weights(), icp(), *_enabled()."""

    default_region = models.CharField(max_length=2, default="US", help_text="ISO country code used to read phone numbers")
    scoring_weights = models.JSONField(default=dict, blank=True, help_text="factor -> points; missing factors use defaults")
    icp_rules = models.JSONField(default=dict, blank=True, help_text="ideal customer: seniorities, departments, industries, employee range, sources")
    fuzzy_match_threshold = models.FloatField(default=0.92)
    fuzzy_review_threshold = models.FloatField(default=0.80)
    enable_enrichment = models.BooleanField(null=True, blank=True)
    enable_verification = models.BooleanField(null=True, blank=True)
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    product_name = models.CharField(max_length=100, default="LeadHub")
    primary_color = models.CharField(max_length=7, default="#2563eb")
    logo = models.ImageField(upload_to=logo_upload_to, blank=True, default="", max_length=200,
                             help_text="PNG, JPEG, GIF or WebP; shown on the review pages and in emails")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "tenant settings"
        verbose_name_plural = "tenant settings"

    def __str__(self):
        return "Tenant settings"

    @classmethod
    def current(cls) -> "TenantSettings":
        obj = cls.objects.filter(pk=1).first()
        if obj is None:
            defaults = cls._global()
            obj, _ = cls.objects.get_or_create(pk=1, defaults={f: getattr(defaults, f) for f in SEEDED_FROM_GLOBAL})
        return obj

    @staticmethod
    def _global():
        from tenants.models import GlobalDefaults

        return GlobalDefaults.current()

    def _globals(self):
        # Read once per instance: the pipeline asks several times per batch.
        if not hasattr(self, "_global_defaults"):
            self._global_defaults = self._global()
        return self._global_defaults

    def clean(self):
        from django.core.exceptions import ValidationError

        from leads.validators import settings_errors, validate_logo

        errors = settings_errors(self)
        if self.logo and not self.logo._committed:
            # Only a new upload is checked; the stored file was checked when it arrived.
            try:
                validate_logo(self.logo.file)
            except ValidationError as exc:
                errors["logo"] = list(exc.messages)
        if errors:
            raise ValidationError(errors)

    def weights(self) -> dict:
        """Built-in defaults, then the operator's global weights, then the tenant's own."""
        return {**DEFAULT_SCORING_WEIGHTS, **(self._globals().scoring_weights or {}), **(self.scoring_weights or {})}

    def icp(self) -> dict:
        """The tenant's ideal-customer rules, or the operator's when the tenant set none."""
        return self.icp_rules or self._globals().icp_rules or {}

    def _flag(self, field: str, env_default):
        # tenant value, else the operator's global default, else the environment
        for value in (getattr(self, field), getattr(self._globals(), field)):
            if value is not None:
                return value
        return env_default

    def enrichment_enabled(self) -> bool:
        return self._flag("enable_enrichment", django_settings.ENABLE_ENRICHMENT)

    def verification_enabled(self) -> bool:
        return self._flag("enable_verification", django_settings.ENABLE_VERIFICATION)

    def retention(self) -> int:
        """Days a lead in error is kept before it is archived."""
        return self._flag("retention_days", django_settings.LEAD_RETENTION_DAYS)

    @property
    def logo_url(self) -> str:
        """Where the tenant's own pages and emails load the logo from ('' when there is none)."""
        if not self.logo:
            return ""
        return f"/branding/logo?v={int(self.updated_at.timestamp()) if self.updated_at else 0}"
