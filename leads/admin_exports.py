"""Admin for exports: history (read only), CSV templates, the suppression list and
destination credentials."""
from django import forms
from django.contrib import admin

from leadhub.crypto import mask_secret
from leads.exports.fields import EXPORT_FIELDS
from leads.models import CsvTemplate, CsvTemplateColumn, Export, ExportIssue, ExportSettings, LeadDelivery, SuppressionEntry


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ExportIssueInline(admin.TabularInline):
    model = ExportIssue
    fields = ("lead_id", "email", "outcome", "reason")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Export)
class ExportAdmin(ReadOnlyAdmin):
    list_display = ("id", "format", "destination", "status", "total_count", "sent_count", "skipped_count",
                    "failed_count", "actor", "created_at")
    list_filter = ("format", "status")
    search_fields = ("destination", "actor")
    inlines = [ExportIssueInline]


@admin.register(LeadDelivery)
class LeadDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("lead", "destination", "export", "remote_id", "delivered_at")
    list_filter = ("destination",)
    raw_id_fields = ("lead", "export")


class CsvTemplateColumnForm(forms.ModelForm):
    field = forms.CharField(help_text=f"one of: {', '.join(EXPORT_FIELDS)}, or custom_fields.<key>")

    class Meta:
        model = CsvTemplateColumn
        fields = ("position", "header", "field", "default")


class CsvTemplateColumnInline(admin.TabularInline):
    model = CsvTemplateColumn
    form = CsvTemplateColumnForm
    extra = 3


@admin.register(CsvTemplate)
class CsvTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "delimiter", "encoding", "updated_at")
    inlines = [CsvTemplateColumnInline]


@admin.register(SuppressionEntry)
class SuppressionEntryAdmin(admin.ModelAdmin):
    list_display = ("kind", "value", "reason", "created_at")
    list_filter = ("kind",)
    search_fields = ("value", "reason")
    fields = ("kind", "value", "reason")

    def get_readonly_fields(self, request, obj=None):
        return ("kind", "value") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        # An erasure hash is all that stops the person from being imported again.
        if obj is not None and obj.kind == SuppressionEntry.Kind.ERASED:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


SECRET_FIELDS = ("instantly_api_key", "smartlead_api_key", "salesforce_client_secret")


class ExportSettingsForm(forms.ModelForm):
    """The secrets are write-only, like a provider's API key: the page never holds
    them, an empty box keeps the stored value, and a tick box removes it."""

    clear_instantly_api_key = forms.BooleanField(required=False, label="Remove the Instantly API key")
    clear_smartlead_api_key = forms.BooleanField(required=False, label="Remove the Smartlead API key")
    clear_salesforce_client_secret = forms.BooleanField(required=False, label="Remove the Salesforce client secret")

    class Meta:
        model = ExportSettings
        fields = "__all__"
        widgets = {name: forms.PasswordInput(render_value=False) for name in SECRET_FIELDS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            stored = getattr(self.instance, name)
            self.fields[name].help_text = (f"stored: {mask_secret(stored)}; leave empty to keep it" if stored
                                           else "not set: the environment's value is used")

    def clean(self):
        data = super().clean()
        for name in SECRET_FIELDS:
            if data.get(f"clear_{name}"):
                data[name] = ""
            elif not data.get(name):
                data[name] = getattr(self.instance, name)
        return data


@admin.register(ExportSettings)
class ExportSettingsAdmin(admin.ModelAdmin):
    form = ExportSettingsForm
    list_display = ("__str__", "updated_at")
    fieldsets = (
        ("Instantly", {"fields": ("instantly_api_key", "clear_instantly_api_key")}),
        ("Smartlead", {"fields": ("smartlead_api_key", "clear_smartlead_api_key")}),
        ("Salesforce", {"fields": ("salesforce_instance_url", "salesforce_token_url", "salesforce_client_id",
                                   "salesforce_client_secret", "clear_salesforce_client_secret",
                                   "salesforce_external_id_field", "salesforce_api_version")}),
    )

    def has_add_permission(self, request):
        return not ExportSettings.objects.exists()
