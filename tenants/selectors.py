"""Reads about tenants shared by the system API, admin and background schedules."""
from django.db.models import Count
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Tenant


def active_tenant_schemas() -> list[str]:
    """Schema names of the tenants that are not suspended (what scheduled fan-outs should visit)."""
    with schema_context(get_public_schema_name()):
        return list(
            Tenant.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name())
            .order_by("schema_name").values_list("schema_name", flat=True)
        )


def tenant_usage(*, tenants) -> list[dict]:
    """Lead counts per status for each tenant, read from each schema (one GROUP BY per tenant).

    Returns [{"tenant", "lead_quota", "leads_total", "quota_used", "leads_by_status"}].
    """
    from leads.models import Lead, LeadStatus

    usage = []
    for tenant in tenants:
        with schema_context(tenant.schema_name):
            counts = dict(Lead.objects.order_by().values_list("status").annotate(n=Count("id")))
        by_status = {status: counts.get(status, 0) for status in LeadStatus.values}
        total = sum(by_status.values())
        usage.append({
            "tenant": tenant.schema_name,
            "lead_quota": tenant.lead_quota,
            "leads_total": total,
            "quota_used": round(total / tenant.lead_quota, 4) if tenant.lead_quota else None,
            "leads_by_status": by_status,
        })
    return usage
