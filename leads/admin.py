from django.contrib import admin

from leads.models import AuditEvent, ImportBatch, Lead, TenantSettings


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("id", "email", "full_name", "company", "status", "score", "source", "created_at")
    list_filter = ("status", "source")
    search_fields = ("email", "full_name", "first_name", "last_name", "company")
    readonly_fields = ("raw", "normalized", "score_breakdown", "enrichment", "verification", "merge_history", "created_at", "updated_at")
    raw_id_fields = ("duplicate_of", "possible_duplicate_of", "batch", "reviewed_by")


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "source", "status", "total_rows", "created_count", "invalid_count", "created_at")
    list_filter = ("kind", "status")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "object_type", "object_id", "from_status", "to_status")
    list_filter = ("action", "object_type")
    search_fields = ("actor", "object_id", "note")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TenantSettings)
class TenantSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "default_region", "product_name", "updated_at")
