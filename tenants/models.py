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
