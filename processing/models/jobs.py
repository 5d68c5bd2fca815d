from django.db import models


class PipelineJob(models.Model):
    """A processing run started through the API: what was asked and how far it got.

    ``queued`` leads were handed to background chunks; each chunk adds to
    ``done`` (processed: reached review, duplicate, or deferred for a later
    attempt), ``failed`` (ended in ``error``) or ``skipped`` (already taken
    by another worker or no longer awaiting processing). The job is finished
    when the three add up to ``queued``.

    ``stalled``: chunks are missing and none has reported for JOB_STALL_MINUTES
    (a worker was killed or timed out, or the broker lost the task; their leads
    go back to the scheduled batch run). A chunk that reports after all puts the
    job back to ``running``.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        STALLED = "stalled", "Stalled"

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    filters = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=150, blank=True, default="")
    queued = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    chunks = models.PositiveIntegerField(default=0)
    chunks_finished = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True, help_text="when a chunk last reported")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"PipelineJob {self.pk} ({self.status}): {self.done + self.failed + self.skipped}/{self.queued}"
