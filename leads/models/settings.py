from django.conf import settings as django_settings
from django.db import models

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


class TenantSettings(models.Model):
    """The tenant's configuration: one row per schema (pk=1). A null flag means
    'use the environment default'."""

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
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "tenant settings"
        verbose_name_plural = "tenant settings"

    def __str__(self):
        return "Tenant settings"

    @classmethod
    def current(cls) -> "TenantSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    def weights(self) -> dict:
        return {**DEFAULT_SCORING_WEIGHTS, **(self.scoring_weights or {})}

    def enrichment_enabled(self) -> bool:
        return django_settings.ENABLE_ENRICHMENT if self.enable_enrichment is None else self.enable_enrichment

    def verification_enabled(self) -> bool:
        return django_settings.ENABLE_VERIFICATION if self.enable_verification is None else self.enable_verification
