from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models


class AuditEvent(models.Model):
    """Who did what, when: lead transitions and edits, reviews, merges, settings, keys, exports.

    The trail is append-only and written in bulk, several rows per lead as the
    pipeline moves it along, so every index and check here is paid per row on
    every stage. Hence: the references to the lead and the user are kept by Django
    (deleting through the ORM still sets them to NULL, and nothing deletes leads or
    users in raw SQL) instead of a constraint checked per row at commit; lead events
    are found through ``lead`` alone; time gets a BRIN index (rows arrive in time
    order), which costs next to nothing to keep up. Autovacuum summarizes each of
    its block ranges once filled (``autosummarize``), so a look-up of the last
    minutes (``/metrics``) reads those blocks only, not every range written since
    the last vacuum.
    """

    # audit_lead_idx (lead, created_at) serves the reference too
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="events",
                             db_index=False, db_constraint=False)
    object_type = models.CharField(max_length=50, default="lead")
    object_id = models.CharField(max_length=64, blank=True, default="")
    action = models.CharField(max_length=50)
    actor = models.CharField(max_length=150, help_text="user:<email>, api_key:<prefix>, pipeline, system")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False,
                             db_constraint=False)
    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20, blank=True, default="")
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [before, after]}")
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "created_at"], name="audit_lead_idx"),
            models.Index(fields=["user"], name="audit_user_idx", condition=models.Q(user__isnull=False)),
            # Exports, settings, keys, erasures; a lead's events are found by lead_id.
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx",
                         condition=~models.Q(object_type="lead")),
            BrinIndex(fields=["created_at"], name="audit_created_brin", autosummarize=True),
            models.Index(fields=["action", "created_at"], name="audit_action_idx"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}:{self.object_id}"
