"""Serializers of the lead API (list, detail, inline edit, review) and of ingestion."""
from rest_framework import serializers

from leads.models import AuditEvent, ImportBatch, Lead
from leads.models.lead import CONTACT_FIELDS
from leads.services.ingest import MAX_BATCH_ROWS

LEAD_FIELDS = (
    "id", *CONTACT_FIELDS, "custom_fields", "status", "status_changed_at", "score", "score_breakdown",
    "normalized", "duplicate_of", "possible_duplicate_of", "verification_status", "verification", "enrichment",
    "error_stage", "error_message", "source", "external_id", "batch", "reviewed_at", "review_note",
    "exported_at", "created_at", "updated_at",
)


class LeadSerializer(serializers.ModelSerializer):
    """A lead as the API shows it in lists; every field is read-only here."""

    class Meta:
        model = Lead
        fields = LEAD_FIELDS
        read_only_fields = LEAD_FIELDS


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ("id", "action", "actor", "from_status", "to_status", "changes", "note", "created_at")
        read_only_fields = fields


class MergedDuplicateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = ("id", "email", "full_name", "first_name", "last_name", "company", "source", "external_id",
                  "created_at")
        read_only_fields = fields


class LeadDetailSerializer(LeadSerializer):
    """One lead with its history (audit events, newest first) and the duplicates merged into it."""

    history = AuditEventSerializer(source="events", many=True, read_only=True)
    duplicates = MergedDuplicateSerializer(many=True, read_only=True)
    raw = serializers.JSONField(read_only=True)

    class Meta(LeadSerializer.Meta):
        fields = (*LEAD_FIELDS, "raw", "merge_history", "history", "duplicates")
        read_only_fields = fields


class LeadEditSerializer(serializers.Serializer):
    """Inline edit: contact fields and custom fields only; naming anything else is refused."""

    custom_fields = serializers.DictField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in CONTACT_FIELDS:
            max_length = Lead._meta.get_field(name).max_length
            field_class = serializers.EmailField if name == "email" else serializers.CharField
            self.fields[name] = field_class(required=False, allow_blank=True, max_length=max_length)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected an object of fields to change."]})
        unknown = sorted(set(data) - set(self.fields))
        errors = {}
        for name in unknown:
            if name in LeadDetailSerializer.Meta.fields or hasattr(Lead, name):
                errors[name] = ["This field is read-only; only contact fields and custom_fields can be edited."]
            else:
                errors[name] = ["Unknown field."]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors.update(exc.detail)
            value = None
        if errors:
            raise serializers.ValidationError(errors)
        if not value:
            raise serializers.ValidationError({"non_field_errors": ["Name at least one field to change."]})
        return value


class ReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=("approved", "rejected"))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class LeadBatchSerializer(serializers.Serializer):
    """Body of ``POST /leads/batch`` (validated row by row; documented here)."""

    source = serializers.CharField(max_length=100, required=False, default="api")
    leads = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=MAX_BATCH_ROWS)


class RowResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=("created", "updated", "duplicate", "invalid"))
    id = serializers.IntegerField(required=False)
    duplicate_of = serializers.IntegerField(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class SummarySerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    invalid = serializers.IntegerField()


class BatchResultSerializer(serializers.Serializer):
    batch = serializers.IntegerField(allow_null=True)
    source = serializers.CharField()
    dry_run = serializers.BooleanField()
    summary = SummarySerializer()
    rows = RowResultSerializer(many=True)


class ImportBatchSerializer(serializers.ModelSerializer):
    errors_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportBatch
        fields = ("id", "kind", "source", "filename", "status", "dry_run", "total_rows", "processed_rows",
                  "created_count", "updated_count", "duplicate_count", "invalid_count", "error_message",
                  "actor", "created_at", "finished_at", "errors_url")
        read_only_fields = fields

    def get_errors_url(self, batch) -> str:
        return f"/api/v1/imports/{batch.pk}/errors.csv"


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    source = serializers.CharField(max_length=100, required=False, default="csv")


class DryRunReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    total_rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    invalid = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())


class LoginSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=512, trim_whitespace=False, style={"input_type": "password"})


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
