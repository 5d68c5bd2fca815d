"""One Django admin serving both kinds of host.

The public host and the tenant hosts share ``admin.site``, but their tables do
not: a model of a tenant-only app has no table in the public schema, and a model
of a public-only app (tenants, django-q2) must never be reachable by a tenant's
admins through the search path. Every registration therefore gets the host check
that fits its app, whoever registers it.
"""
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django_tenants.utils import get_public_schema_name


def on_public_host(request) -> bool:
    tenant = getattr(request, "tenant", None)
    return tenant is None or tenant.schema_name == get_public_schema_name()


class _HostCheck:
    shown_on_public: bool

    def _host_ok(self, request) -> bool:
        return on_public_host(request) == self.shown_on_public

    def has_module_permission(self, request):
        return self._host_ok(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._host_ok(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self._host_ok(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._host_ok(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._host_ok(request) and super().has_delete_permission(request, obj)


class PublicOnlyMixin(_HostCheck):
    """For an admin that must stay on the public host although its app is in both lists."""

    shown_on_public = True


class TenantOnlyMixin(_HostCheck):
    shown_on_public = False


def _labels(app_names: list[str]) -> set[str]:
    by_name = {config.name: config.label for config in apps.get_app_configs()}
    return {by_name.get(name, name.rsplit(".", 1)[-1]) for name in app_names}


class LeadHubAdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options):
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else list(model_or_iterable)
        shared, tenant = _labels(settings.SHARED_APPS), _labels(settings.TENANT_APPS)
        for model in models:
            label = model._meta.app_label
            base = admin_class or admin.ModelAdmin
            if issubclass(base, _HostCheck):
                pass  # re-registered subclass of an admin that is already checked
            elif label in tenant and label not in shared:
                base = type(base.__name__, (TenantOnlyMixin, base), {})
            elif label in shared and label not in tenant:
                base = type(base.__name__, (PublicOnlyMixin, base), {})
            super().register(model, base, **options)
