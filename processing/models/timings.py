from django.db import models


class StageTiming(models.Model):
    """Seconds one background chunk spent in one pipeline stage.

    Written by the worker in the chunk's transaction, read by /metrics: worker
    processes come and go, so their in-memory timers are not scrapeable.
    Rows older than STAGE_TIMING_DAYS are dropped by the cleanup schedule.
    """

    stage = models.CharField(max_length=30)
    seconds = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["stage"], name="stage_timing_stage_idx")]

    def __str__(self):
        return f"{self.stage}: {self.seconds:.3f} s"
