from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django_tenants.admin import TenantAdminMixin
from django_tenants.utils import get_public_schema_name

from leadhub.admin_site import PublicOnlyMixin, on_public_host
from tenants.models import Domain, GlobalDefaults, Tenant
from tenants.selectors import tenant_usage
from tenants.services import TenantError, tenant_create, tenant_set_active, tenant_update, validate_slug


# Shared tables (tenants, domains, defaults, django-q2 schedules and tasks) are reachable
# through a tenant's search path too; the admin site (leadhub/admin_site.py) keeps every
# admin of a public-only app to the public host.
class PublicOnlyAdmin(PublicOnlyMixin, admin.ModelAdmin):
    pass


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class TenantCreateForm(forms.ModelForm):
    """Adding a tenant provisions it: schema (migrated), primary domain and first admin."""

    schema_name = forms.CharField(label="Slug", help_text="schema name and identifier, e.g. acme")
    domain = forms.CharField(help_text="host name, e.g. acme.localhost")
    admin_email = forms.EmailField(help_text="the tenant's first admin")
    admin_password = forms.CharField(required=False, widget=forms.PasswordInput,
                                     help_text="empty: a password is generated and shown once")

    class Meta:
        model = Tenant
        fields = ["schema_name", "name", "plan", "lead_quota"]

    def clean_schema_name(self):
        slug = self.cleaned_data["schema_name"]
        try:
            validate_slug(slug)
        except TenantError as exc:
            raise ValidationError(str(exc))
        if Tenant.objects.filter(schema_name=slug).exists():
            raise ValidationError(f"slug '{slug}' is already taken")
        return slug

    def clean_domain(self):
        domain = self.cleaned_data["domain"].strip().lower()
        if Domain.objects.filter(domain=domain).exists():
            raise ValidationError(f"domain '{domain}' is already taken")
        return domain


@admin.register(Tenant)
class TenantAdmin(TenantAdminMixin, PublicOnlyAdmin):
    list_display = ("schema_name", "name", "plan", "lead_quota", "is_active", "created_on")
    list_filter = ("plan", "is_active")
    search_fields = ("schema_name", "name")
    actions = ["suspend", "reactivate"]

    def get_inlines(self, request, obj):
        return [DomainInline] if obj is not None else []

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TenantCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["schema_name", "name", "domain", "admin_email", "admin_password", "plan", "lead_quota"]
        return ["schema_name", "name", "plan", "lead_quota", "is_active", "usage"]

    def get_readonly_fields(self, request, obj=None):
        # Suspension goes through the actions so it is audited in the tenant's log.
        return ("schema_name", "is_active", "usage") if obj is not None else ()

    @admin.display(description="Leads")
    def usage(self, obj):
        row = tenant_usage(tenants=[obj])[0]
        counts = ", ".join(f"{status}: {n}" for status, n in row["leads_by_status"].items() if n)
        return f"{row['leads_total']} of {obj.lead_quota or 'unlimited'}" + (f" ({counts})" if counts else "")

    def save_model(self, request, obj, form, change):
        if change:
            values = {f: form.cleaned_data[f] for f in form.changed_data if f in ("name", "plan", "lead_quota")}
            tenant_update(tenant=obj, actor=f"system:{request.user.get_username()}", **values)
            return
        data = form.cleaned_data
        result = tenant_create(slug=data["schema_name"], name=data["name"], domain=data["domain"],
                               admin_email=data["admin_email"], admin_password=data["admin_password"] or None,
                               plan=data["plan"], lead_quota=data["lead_quota"])
        # The admin goes on with `obj` (change message, redirect): make it the saved row.
        obj.pk = obj.id = result.tenant.pk
        obj._state.adding = False
        message = f"Tenant '{result.tenant.schema_name}' is ready at http://{result.domain}/ with admin {result.admin_email}."
        if not data["admin_password"]:
            message += f" Password (shown once): {result.admin_password}"
        self.message_user(request, message, messages.WARNING if not data["admin_password"] else messages.SUCCESS)

    def has_delete_permission(self, request, obj=None):
        # Dropping a schema loses the tenant's data: suspend instead (schemas are dropped by hand).
        return False

    def _set_active(self, request, queryset, is_active: bool):
        for tenant in queryset.exclude(schema_name=get_public_schema_name()):
            tenant_set_active(tenant=tenant, is_active=is_active, actor=f"system:{request.user.get_username()}")
        self.message_user(request, f"{queryset.count()} tenant(s) {'reactivated' if is_active else 'suspended'}.")

    @admin.action(description="Suspend the selected tenants (their hosts answer 403)")
    def suspend(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(description="Reactivate the selected tenants")
    def reactivate(self, request, queryset):
        self._set_active(request, queryset, True)


@admin.register(Domain)
class DomainAdmin(PublicOnlyAdmin):
    list_display = ("domain", "tenant", "is_primary")


@admin.register(GlobalDefaults)
class GlobalDefaultsAdmin(PublicOnlyAdmin):
    """One row: the values a tenant's settings fall back to (validated like tenant settings)."""

    def has_add_permission(self, request, *args):
        return super().has_add_permission(request) and not GlobalDefaults.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        from django.shortcuts import redirect

        if not on_public_host(request):
            return super().changelist_view(request, extra_context)
        obj, _ = GlobalDefaults.objects.get_or_create(pk=1)
        return redirect("admin:tenants_globaldefaults_change", obj.pk)

