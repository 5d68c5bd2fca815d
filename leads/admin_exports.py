"""Admin for exports: history (read only), CSV templates, the suppression list and
destination credentials."""
from django import forms
from django.contrib import admin

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
    class Meta:
        model = ExportSettings
        fields = "__all__"
        widgets = {name: forms.PasswordInput(render_value=True) for name in SECRET_FIELDS}


@admin.register(ExportSettings)
class ExportSettingsAdmin(admin.ModelAdmin):
    form = ExportSettingsForm
    list_display = ("__str__", "updated_at")
    fieldsets = (
        ("Instantly", {"fields": ("instantly_api_key",)}),
        ("Smartlead", {"fields": ("smartlead_api_key",)}),
        ("Salesforce", {"fields": ("salesforce_instance_url", "salesforce_token_url", "salesforce_client_id",
                                   "salesforce_client_secret", "salesforce_external_id_field", "salesforce_api_version")}),
    )

    def has_add_permission(self, request):
        return not ExportSettings.objects.exists()
