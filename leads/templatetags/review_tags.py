"""Template helpers of the review pages."""
import re

from django import template
from django.db import connection
from django_tenants.utils import get_public_schema_name

from leads.models import TenantSettings

register = template.Library()

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_BRANDING = {"product_name": "LeadHub", "primary_color": "#2563eb", "logo_url": ""}


def _text_color(background: str) -> str:
    """Black or white, whichever contrasts more with the tenant's colour (WCAG luminance)."""
    r, g, b = (int(background[i:i + 2], 16) / 255 for i in (1, 3, 5))
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


@register.simple_tag(takes_context=True)
def branding(context) -> dict:
    """The tenant's product name, colour (with a readable text colour) and logo, if any.
    Read once per request, however often the layout asks."""
    request = context.get("request")
    cached = getattr(request, "_leadhub_branding", None)
    if cached is not None:
        return cached
    values = _branding()
    if request is not None:
        request._leadhub_branding = values
    return values


def _branding() -> dict:
    values = dict(DEFAULT_BRANDING)
    if connection.schema_name != get_public_schema_name():
        obj = TenantSettings.current()
        values["product_name"] = obj.product_name or values["product_name"]
        if _HEX.match(obj.primary_color or ""):
            values["primary_color"] = obj.primary_color
        # logo_url arrives with the tenant settings' logo upload; until then there is none.
        logo_url = getattr(obj, "logo_url", "")
        values["logo_url"] = (logo_url() if callable(logo_url) else logo_url) or ""
    values["text_color"] = _text_color(values["primary_color"])
    return values


@register.filter
def status_label(value: str) -> str:
    from leads.models import LeadStatus

    try:
        return LeadStatus(value).label
    except ValueError:
        return value
