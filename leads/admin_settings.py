"""Tenant admin for settings, API keys, users with roles and the audit log.

Every change goes through the same services as the API, so admin and API validate alike and
every change lands in the audit log. Only the tenant's admins reach Django admin: the admin
role makes a user staff of its own schema; reviewers and viewers are not staff.
"""
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey as LibraryAPIKey

from leads.models import ApiKey, AuditEvent, TenantSettings
from leads.models.apikey import SCOPES
from leads.permissions import ROLES, user_role
from leads.services.apikeys import api_key_create, api_key_errors, api_key_revoke
from leads.services.audit import actor_label, audit_event
from leads.services.settings import EDITABLE_FIELDS, tenant_settings_update
from leads.services.users import LastAdminError, user_create, user_update
from leadhub.admin_site import on_public_host

User = get_user_model()


# --- settings (one row) --------------------------------------------------------------------------

class TenantSettingsAdmin(admin.ModelAdmin):
    fieldsets = (
        ("Scoring", {"fields": ("scoring_weights", "icp_rules")}),
        ("Data", {"fields": ("default_region", "fuzzy_match_threshold", "fuzzy_review_threshold", "retention_days")}),
        ("Features", {"fields": ("enable_enrichment", "enable_verification"),
                      "description": "Empty means: the operator's default, else the environment's."}),
        ("Branding", {"fields": ("product_name", "primary_color", "logo")}),
    )

    def has_add_permission(self, request, *args):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        return redirect("admin:leads_tenantsettings_change", TenantSettings.current().pk)

    def save_model(self, request, obj, form, change):
        values = {}
        for field in form.changed_data:
            if field in EDITABLE_FIELDS:
                value = form.cleaned_data[field]
                values[field] = "" if value is False else value  # False: "clear" ticked on the logo
        if values:
            tenant_settings_update(values=values, user=request.user)


# --- API keys ------------------------------------------------------------------------------------

class ApiKeyForm(forms.ModelForm):
    scope_choices = forms.MultipleChoiceField(
        label="Scopes", choices=[(s, s) for s in SCOPES], widget=forms.CheckboxSelectMultiple, initial=["read", "write"],
        help_text="read: GET; write: leads, reviews, exports; admin: settings, users and keys")

    class Meta:
        model = ApiKey
        fields = ["name", "expiry_date"]

    def clean(self):
        data = super().clean()
        if self.instance._state.adding:
            # The service's own rules, so admin and API refuse alike.
            errors = api_key_errors(name=data.get("name", ""), scopes=data.get("scope_choices", []),
                                    expiry_date=data.get("expiry_date"))
            for field, messages_ in errors.items():
                self.add_error("scope_choices" if field == "scopes" else field, messages_)
        return data


class ApiKeyAdmin(APIKeyModelAdmin):
    list_display = ("prefix", "name", "scopes", "created", "expiry_date", "_has_expired", "last_used_at", "revoked", "created_by")
    list_filter = ("revoked", "created")
    search_fields = ("name", "prefix")
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "scope_choices", "expiry_date"]
        return ["prefix", "name", "scopes", "expiry_date", "created", "last_used_at", "created_by", "revoked"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # Revocation is the action below (audited, irreversible); scopes are fixed at creation.
        return ("prefix", "scopes", "created", "last_used_at", "created_by", "revoked") + (
            ("name", "expiry_date") if obj.revoked else ())

    def save_model(self, request, obj, form, change):
        if change:
            before = ApiKey.objects.get(pk=obj.pk)
            changes = {f: [str(getattr(before, f) or ""), str(getattr(obj, f) or "")] for f in ("name", "expiry_date")
                       if getattr(before, f) != getattr(obj, f)}
            obj.save(update_fields=["name", "expiry_date"])
            if changes:
                audit_event(action="api_key_changed", actor=actor_label(user=request.user), object_type="api_key",
                            object_id=obj.prefix, user=request.user, changes=changes)
            return
        created, key = api_key_create(name=form.cleaned_data["name"], scopes=form.cleaned_data["scope_choices"],
                                      expiry_date=form.cleaned_data.get("expiry_date"), user=request.user)
        obj.pk, obj.id, obj.prefix = created.pk, created.pk, created.prefix
        obj._state.adding = False
        self.message_user(request, f"The API key '{created.name}' is: {key} — store it now: it will not be shown again.",
                          messages.WARNING)

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the audit trail keeps naming the key

    @admin.action(description="Revoke the selected keys (cannot be undone)")
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked=False):
            api_key_revoke(key=key, user=request.user)
        self.message_user(request, "Revoked.")


# --- users with roles ----------------------------------------------------------------------------------

class RoleCreationForm(UserCreationForm):
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES], initial="viewer")
    email = forms.EmailField()

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("email",)

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(username=email).exists():
            raise ValidationError("a user with this email already exists")
        return email

    def save(self, commit=True):
        # TenantUserAdmin.save_model creates the user through the service.
        return self.instance


class RoleChangeForm(UserChangeForm):
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["role"].initial = user_role(self.instance) or "viewer"


class TenantUserAdmin(UserAdmin):
    """On a tenant host: people with one role each. On the public host: Django's own user admin."""

    tenant_list_display = ("email", "first_name", "last_name", "role", "is_active", "last_login")
    tenant_fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("role", "is_active")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    tenant_add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),)

    @admin.display(description="Role")
    def role(self, obj):
        return user_role(obj) or "-"

    def get_list_display(self, request):
        return self.tenant_list_display if not on_public_host(request) else super().get_list_display(request)

    def get_list_filter(self, request):
        return ("is_active", "groups") if not on_public_host(request) else super().get_list_filter(request)

    def get_fieldsets(self, request, obj=None):
        if on_public_host(request):
            return super().get_fieldsets(request, obj)
        return self.tenant_add_fieldsets if obj is None else self.tenant_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if on_public_host(request) or obj is None:
            return super().get_readonly_fields(request, obj)
        return ("username", "last_login", "date_joined")

    def get_form(self, request, obj=None, **kwargs):
        if not on_public_host(request):
            kwargs["form"] = RoleCreationForm if obj is None else RoleChangeForm
        return super().get_form(request, obj, **kwargs)

    def has_delete_permission(self, request, obj=None):
        # Deactivate instead: audit events keep pointing at the person.
        return on_public_host(request) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if on_public_host(request):
            return super().save_model(request, obj, form, change)
        data = form.cleaned_data
        if not change:
            created = user_create(email=data["email"], role=data["role"], password=data["password1"],
                                  actor_user=request.user)
            obj.pk, obj.id, obj.username = created.pk, created.pk, created.username
            obj._state.adding = False
            return
        try:
            user_update(user=obj, role=data["role"], is_active=data["is_active"], first_name=data["first_name"],
                        last_name=data["last_name"], actor_user=request.user)
        except LastAdminError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        if "email" in form.changed_data:
            type(obj).objects.filter(pk=obj.pk).update(email=data["email"])

    def save_related(self, request, form, formsets, change):
        if on_public_host(request):
            super().save_related(request, form, formsets, change)
        # On a tenant host the role (groups) is set by the service.


# --- audit log -------------------------------------------------------------------------------------------

class AuditEventAdmin(admin.ModelAdmin):
    """Read-only, filterable by action, kind of object, actor and day."""

    list_display = ("created_at", "actor", "action", "object_type", "object_id", "from_status", "to_status")
    list_filter = ("action", "object_type", ("created_at", admin.DateFieldListFilter))
    search_fields = ("actor", "object_id", "note")
    date_hierarchy = "created_at"
    # Newest first, read backwards along the primary key: ids grow with time, and
    # created_at only has a BRIN index (see AuditEvent).
    ordering = ("-id",)
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _rewrap(site: admin.AdminSite, model, mixin) -> None:
    model_admin = type(site._registry[model])
    if not issubclass(model_admin, mixin):
        site.unregister(model)
        site.register(model, type(f"{mixin.__name__}{model_admin.__name__}", (mixin, model_admin), {}))


def register(site: admin.AdminSite) -> None:
    from django.contrib.auth.models import Group

    from leadhub.admin_site import PublicOnlyMixin

    for model in (TenantSettings, AuditEvent, User, LibraryAPIKey):
        if site.is_registered(model):
            site.unregister(model)
    # Roles are groups the services rely on by name: set them on the user, never rename them.
    if site.is_registered(Group):
        _rewrap(site, Group, PublicOnlyMixin)
    site.register(TenantSettings, TenantSettingsAdmin)
    site.register(AuditEvent, AuditEventAdmin)
    site.register(ApiKey, ApiKeyAdmin)
    site.register(User, TenantUserAdmin)
