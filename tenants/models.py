from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Tenant(TenantMixin):
    """A customer. ``schema_name`` is its slug: ``demo`` lives in schema ``demo``."""

    class Plan(models.TextChoices):
        FREE = "free", "Free"
        STARTER = "starter", "Starter"
        GROWTH = "growth", "Growth"
        ENTERPRISE = "enterprise", "Enterprise"

    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.STARTER)
    lead_quota = models.PositiveIntegerField(
        default=1_000_000, help_text="Most leads this tenant may store; 0 means unlimited."
    )
    is_active = models.BooleanField(default=True, help_text="Off means suspended.")
    created_on = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True
    auto_drop_schema = False

    def __str__(self):
        return f"{self.name} ({self.schema_name})"

    @property
    def slug(self) -> str:
        return self.schema_name


class Domain(DomainMixin):
    def __str__(self):
        return self.domain


class GlobalDefaults(models.Model):
    """The operator's defaults for every tenant's settings (public schema, one row, pk=1).

    A new tenant's settings start from these values; the nullable switches and the
    scoring weights are read at run time, so TenantSettings falls back to them (and
    then to the environment) for as long as the tenant leaves its own value unset.
    """

    default_region = models.CharField(max_length=2, default="US", help_text="ISO country code used to read phone numbers")
    scoring_weights = models.JSONField(default=dict, blank=True, help_text="factor -> points, over the built-in defaults")
    icp_rules = models.JSONField(default=dict, blank=True, help_text="ideal customer rules used when a tenant has none")
    fuzzy_match_threshold = models.FloatField(default=0.92)
    fuzzy_review_threshold = models.FloatField(default=0.80)
    enable_enrichment = models.BooleanField(null=True, blank=True, help_text="empty: ENABLE_ENRICHMENT")
    enable_verification = models.BooleanField(null=True, blank=True, help_text="empty: ENABLE_VERIFICATION")
    retention_days = models.PositiveIntegerField(null=True, blank=True, help_text="empty: LEAD_RETENTION_DAYS")
    product_name = models.CharField(max_length=100, default="LeadHub")
    primary_color = models.CharField(max_length=7, default="#2563eb")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "global defaults"
        verbose_name_plural = "global defaults"

    def __str__(self):
        return "Global defaults"

    def clean(self):
        from django.core.exceptions import ValidationError

        from leads.validators import settings_errors

        errors = settings_errors(self)
        if errors:
            raise ValidationError(errors)

    @classmethod
    def current(cls) -> "GlobalDefaults":
        """The row, or unsaved built-in defaults when the operator never saved any (no write:
        this is read from tenant schemas too, through the search path)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)
