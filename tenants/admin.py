from django.contrib import admin
from django_tenants.admin import TenantAdminMixin
from django_tenants.utils import get_public_schema_name

from tenants.models import Domain, Tenant


def on_public_host(request) -> bool:
    return request.tenant.schema_name == get_public_schema_name()


class PublicOnlyAdmin(admin.ModelAdmin):
    """Tenants and domains are managed from the public host only: a tenant admin's
    search path also reaches the public tables, so every permission checks the host."""

    def has_module_permission(self, request):
        return on_public_host(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return on_public_host(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return on_public_host(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return on_public_host(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return on_public_host(request) and super().has_delete_permission(request, obj)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(TenantAdminMixin, PublicOnlyAdmin):
    list_display = ("schema_name", "name", "plan", "lead_quota", "is_active", "created_on")
    list_filter = ("plan", "is_active")
    search_fields = ("schema_name", "name")
    inlines = [DomainInline]


@admin.register(Domain)
class DomainAdmin(PublicOnlyAdmin):
    list_display = ("domain", "tenant", "is_primary")
