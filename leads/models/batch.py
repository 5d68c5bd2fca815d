from django.conf import settings
from django.db import models


class ImportBatch(models.Model):
    """One ingestion request or file, with its progress counts."""

    class Kind(models.TextChoices):
        API = "api", "API batch"
        CSV = "csv", "CSV file"
        WEBHOOK = "webhook", "Webhook"
        COMMAND = "command", "Command"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.API)
    source = models.CharField(max_length=100, default="api")
    filename = models.CharField(max_length=255, blank=True, default="")
    # The file's header in its order (JSON objects do not keep key order), for the refused-rows download.
    columns = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    dry_run = models.BooleanField(default=False)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    invalid_count = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"Import {self.pk} ({self.kind}, {self.source})"


class ImportRowError(models.Model):
    """A refused row, kept so it can be downloaded, fixed and re-imported."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField()
    raw = models.JSONField(default=dict)
    errors = models.JSONField(default=dict)

    class Meta:
        ordering = ["batch", "row_number"]
