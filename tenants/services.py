"""Provisioning tenants: one schema, one domain and one admin user per customer."""
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Domain, Tenant

SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
RESERVED_SLUGS = {"public", "information_schema", "www", "admin", "api", "static", "media"}
ROLE_NAMES = ("admin", "reviewer", "viewer")


class TenantError(Exception):
    """A provisioning request that cannot be honoured; the message is for the user."""


@dataclass
class ProvisionedTenant:
    tenant: Tenant
    domain: str
    admin_email: str
    admin_password: str | None  # None when the admin already existed


def ensure_public_tenant() -> Tenant:
    """The public tenant and its host names, created when missing."""
    with schema_context(get_public_schema_name()):
        tenant, _ = Tenant.objects.get_or_create(
            schema_name=get_public_schema_name(), defaults={"name": "LeadHub"}
        )
        for index, host in enumerate(settings.PUBLIC_DOMAINS):
            Domain.objects.get_or_create(
                domain=host, defaults={"tenant": tenant, "is_primary": index == 0}
            )
        return tenant


def validate_slug(slug: str) -> None:
    if slug in RESERVED_SLUGS or slug.startswith("pg_"):
        raise TenantError(f"'{slug}' is a reserved name")
    if not SLUG_RE.match(slug):
        raise TenantError(
            f"invalid slug '{slug}': use 2-41 lowercase letters, digits or underscores, starting with a letter"
        )


def tenant_create(
    *,
    slug: str,
    name: str,
    domain: str,
    admin_email: str,
    admin_password: str | None = None,
    plan: str = Tenant.Plan.STARTER,
    lead_quota: int | None = None,
) -> ProvisionedTenant:
    """Create the tenant's schema (migrated), its primary domain and its admin user.

    Raises TenantError, before anything is created, for a bad or taken slug or domain.
    """
    validate_slug(slug)
    domain = domain.strip().lower()
    if not domain:
        raise TenantError("a domain is required")
    with schema_context(get_public_schema_name()):
        ensure_public_tenant()
        if Tenant.objects.filter(schema_name=slug).exists():
            raise TenantError(f"slug '{slug}' is already taken")
        if Domain.objects.filter(domain=domain).exists():
            raise TenantError(f"domain '{domain}' is already taken")
        extra = {"lead_quota": lead_quota} if lead_quota is not None else {}
        # Schema creation runs migrations; keep tenant, domain and schema together.
        with transaction.atomic():
            tenant = Tenant(schema_name=slug, name=name or slug, plan=plan, **extra)
            tenant.save()
            Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
    password = admin_password or secrets.token_urlsafe(12)
    with schema_context(slug):
        _ensure_roles()
        user_create_admin(email=admin_email, password=password)
    return ProvisionedTenant(tenant, domain, admin_email, password)


def _ensure_roles() -> None:
    for role in ROLE_NAMES:
        Group.objects.get_or_create(name=role)


def user_create_admin(*, email: str, password: str):
    """A tenant admin: staff (Django admin of its own schema) and in the 'admin' role."""
    User = get_user_model()
    user = User.objects.create_user(
        username=email.lower(), email=email.lower(), password=password, is_staff=True, is_superuser=True
    )
    user.groups.add(Group.objects.get(name="admin"))
    return user


def tenant_set_active(*, tenant: Tenant, is_active: bool, actor: str = "system") -> Tenant:
    """Suspend (is_active=False) or reactivate a tenant; records it in the tenant's audit log.

    A suspended tenant's host answers 403 (tenants.middleware), so its users, JWTs and API
    keys stop working; scheduled fan-outs skip it (tenants.selectors.active_tenant_schemas).
    Raises TenantError for the public tenant.
    """
    if tenant.schema_name == get_public_schema_name():
        raise TenantError("the public tenant cannot be suspended")
    if tenant.is_active == is_active:
        return tenant
    with schema_context(get_public_schema_name()):
        Tenant.objects.filter(pk=tenant.pk).update(is_active=is_active)
    tenant.is_active = is_active
    from leads.services.audit import audit_event

    with schema_context(tenant.schema_name):
        audit_event(action="tenant_reactivated" if is_active else "tenant_suspended", actor=actor,
                    object_type="tenant", object_id=tenant.schema_name,
                    changes={"is_active": [not is_active, is_active]})
    return tenant


def tenant_update(*, tenant: Tenant, actor: str = "system", **values) -> Tenant:
    """Change a tenant's ``name``, ``plan`` or ``lead_quota``; the change (before/after) is
    recorded in the tenant's own audit log. Raises TenantError for another field or a bad plan."""
    unknown = set(values) - {"name", "plan", "lead_quota"}
    if unknown:
        raise TenantError(f"cannot change {', '.join(sorted(unknown))} here")
    if "plan" in values and values["plan"] not in Tenant.Plan.values:
        raise TenantError(f"plan must be one of {', '.join(Tenant.Plan.values)}")
    with schema_context(get_public_schema_name()):
        current = Tenant.objects.get(pk=tenant.pk)
        changes = {f: [getattr(current, f), v] for f, v in values.items() if getattr(current, f) != v}
        if changes:
            Tenant.objects.filter(pk=tenant.pk).update(**{f: v for f, (_, v) in changes.items()})
    for field, (_, value) in changes.items():
        setattr(tenant, field, value)
    if changes:
        from leads.services.audit import audit_event

        with schema_context(tenant.schema_name):
            audit_event(action="tenant_changed", actor=actor, object_type="tenant", object_id=tenant.schema_name,
                        changes=changes)
    return tenant
