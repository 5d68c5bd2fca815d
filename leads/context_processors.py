from django_tenants.utils import get_public_schema_name


def branding(request) -> dict:
    """The tenant's product name, colour and logo URL for templates (nothing on the public host)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return {}
    from leads.models import TenantSettings

    current = TenantSettings.current()
    return {"branding": {"product_name": current.product_name, "primary_color": current.primary_color,
                         "logo_url": current.logo_url}}
