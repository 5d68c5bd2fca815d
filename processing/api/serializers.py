from rest_framework import serializers

from leads.models import Lead
from processing.claims import AWAITING_STATUSES, PROCESSABLE_STATUSES
from processing.models import PipelineJob

MAX_IDS = 10_000


class ProcessRequestSerializer(serializers.Serializer):
    """Filters of POST /pipeline/process. ``status`` defaults to every status
    that still awaits a stage; ``error`` may be named to retry failed leads."""

    status = serializers.ListField(
        child=serializers.ChoiceField(choices=PROCESSABLE_STATUSES), required=False, allow_empty=False,
    )
    source = serializers.CharField(required=False, allow_blank=False, max_length=100)
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                allow_empty=False, max_length=MAX_IDS)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def to_internal_value(self, data):
        # Accept a single status as a plain string too.
        if type(data) is dict and isinstance(data.get("status"), str):  # JSON body; form data uses getlist
            data = {**data, "status": [data["status"]]}
        return super().to_internal_value(data)

    def validate(self, attrs):
        after, before = attrs.get("created_after"), attrs.get("created_before")
        if after and before and after >= before:
            raise serializers.ValidationError({"created_before": ["Must be later than created_after."]})
        attrs.setdefault("status", list(AWAITING_STATUSES))
        return attrs


class PipelineJobSerializer(serializers.ModelSerializer):
    finished = serializers.SerializerMethodField()

    class Meta:
        model = PipelineJob
        fields = ["id", "status", "filters", "actor", "queued", "done", "failed", "skipped", "finished",
                  "error", "created_at", "started_at", "progress_at", "finished_at"]

    def get_finished(self, job) -> int:
        return job.done + job.failed + job.skipped


class ProcessedLeadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = ["id", "status", "email", "first_name", "last_name", "full_name", "company", "title",
                  "source", "score", "duplicate_of", "error_stage", "error_message", "attempts",
                  "next_attempt_at", "status_changed_at", "created_at", "updated_at"]
