from django.contrib import admin

from leads.models import ImportBatch, Lead


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


# Settings, API keys, users with roles and the audit log: leads/admin_settings.py.
from leads import admin_settings  # noqa: E402

admin_settings.register(admin.site)
from leads import admin_exports  # noqa: E402,F401  (exports, templates, suppression list)
